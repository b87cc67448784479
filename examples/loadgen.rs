//! A small HTTP/1.1 load generator for loopback benchmarks (`benches/load.sh`,
//! `benches/compare.sh`): N keep-alive connections send GETs from a URL list, round-robin,
//! for a fixed time or a fixed count; prints status counts, throughput and latency
//! percentiles as one JSON line.
//!
//! cargo run --release --example loadgen -- --addr 127.0.0.1:8888 --paths paths.txt \
//!     --connections 32 --seconds 60 [--requests N] [--header 'Accept: image/webp']

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Args {
    addr: String,
    paths: Vec<String>,
    connections: usize,
    seconds: f64,
    requests: Option<usize>,
    headers: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: "127.0.0.1:8888".into(),
        paths: Vec::new(),
        connections: 16,
        seconds: 10.0,
        requests: None,
        headers: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => args.addr = value()?,
            "--paths" => {
                let file = value()?;
                let text = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
                args.paths = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(String::from)
                    .collect();
            }
            "--path" => args.paths.push(value()?),
            "--connections" => {
                args.connections = value()?.parse().map_err(|_| "bad --connections")?
            }
            "--seconds" => args.seconds = value()?.parse().map_err(|_| "bad --seconds")?,
            "--requests" => args.requests = Some(value()?.parse().map_err(|_| "bad --requests")?),
            "--header" => args.headers.push(value()?),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.paths.is_empty() {
        return Err("give --paths FILE or --path PATH".into());
    }
    Ok(args)
}

/// One response: status and the time from writing the request to reading the whole body.
async fn one_request(
    reader: &mut BufReader<TcpStream>,
    request: &[u8],
) -> std::io::Result<(u16, Duration, bool)> {
    let started = Instant::now();
    reader.get_mut().write_all(request).await?;
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let mut length = 0usize;
    let mut close = false;
    loop {
        line.clear();
        reader.read_line(&mut line).await?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            if k == "content-length" {
                length = v.trim().parse().unwrap_or(0);
            } else if k == "connection" && v.trim().eq_ignore_ascii_case("close") {
                close = true;
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).await?;
    Ok((status, started.elapsed(), close))
}

#[derive(Default)]
struct Tally {
    statuses: BTreeMap<u16, usize>,
    errors: usize,
    latencies_ok: Vec<Duration>,
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.connections {
        let (args, stop, next) = (args.clone(), stop.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut conn: Option<BufReader<TcpStream>> = None;
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if args.requests.is_some_and(|n| i >= n) {
                    break;
                }
                let path = &args.paths[i % args.paths.len()];
                let mut request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", args.addr);
                for h in &args.headers {
                    request.push_str(h);
                    request.push_str("\r\n");
                }
                request.push_str("\r\n");
                if conn.is_none() {
                    match TcpStream::connect(&args.addr).await {
                        Ok(s) => {
                            let _ = s.set_nodelay(true);
                            conn = Some(BufReader::new(s));
                        }
                        Err(_) => {
                            tally.errors += 1;
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    }
                }
                let Some(reader) = conn.as_mut() else {
                    continue;
                };
                match one_request(reader, request.as_bytes()).await {
                    Ok((status, latency, close)) => {
                        *tally.statuses.entry(status).or_default() += 1;
                        if status == 200 {
                            tally.latencies_ok.push(latency);
                        }
                        if close {
                            conn = None;
                        }
                    }
                    Err(_) => {
                        tally.errors += 1;
                        conn = None;
                    }
                }
            }
            tally
        }));
    }
    if args.requests.is_none() {
        tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
        stop.store(true, Ordering::Relaxed);
    }
    let mut total = Tally::default();
    for w in workers {
        if let Ok(t) = w.await {
            for (s, n) in t.statuses {
                *total.statuses.entry(s).or_default() += n;
            }
            total.errors += t.errors;
            total.latencies_ok.extend(t.latencies_ok);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    total.latencies_ok.sort();
    let pct = |p: f64| {
        if total.latencies_ok.is_empty() {
            return 0.0;
        }
        let i = ((total.latencies_ok.len() as f64 - 1.0) * p).round() as usize;
        total.latencies_ok[i].as_secs_f64() * 1000.0
    };
    let served = total.statuses.get(&200).copied().unwrap_or(0);
    let statuses: Vec<String> = total
        .statuses
        .iter()
        .map(|(s, n)| format!("\"{s}\":{n}"))
        .collect();
    println!(
        "{{\"seconds\":{elapsed:.2},\"served\":{served},\"req_per_s\":{:.1},\"p50_ms\":{:.2},\"p99_ms\":{:.2},\"errors\":{},\"statuses\":{{{}}}}}",
        served as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        total.errors,
        statuses.join(",")
    );
}
