//! A small HTTP/1.1 load generator for loopback benchmarks (`benches/load.sh`,
//! `benches/compare.sh`): N keep-alive connections send GETs from a URL list, round-robin,
//! for a fixed time or a fixed count; prints status counts, throughput and latency
//! percentiles as one JSON line.
//!
//! cargo run --release --example loadgen -- --addr 127.0.0.1:8888 --paths paths.txt \
//!     --connections 32 --seconds 60 [--requests N] [--header 'Accept: image/webp'] [--threads N]
//!
//! It shares the machine with the server it measures, so it is kept cheap per request: the
//! requests are built once, each connection reads into one reused buffer, and only the status
//! line, Content-Length and Connection are looked at. `--threads` sets its runtime's worker
//! threads (default: one per core).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Args {
    addr: String,
    paths: Vec<String>,
    connections: usize,
    seconds: f64,
    requests: Option<usize>,
    headers: Vec<String>,
    threads: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: "127.0.0.1:8888".into(),
        paths: Vec::new(),
        connections: 16,
        seconds: 10.0,
        requests: None,
        headers: Vec::new(),
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
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
            "--threads" => args.threads = value()?.parse().map_err(|_| "bad --threads")?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.paths.is_empty() {
        return Err("give --paths FILE or --path PATH".into());
    }
    if args.threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    Ok(args)
}

/// The full request for each path, built once.
fn build_requests(args: &Args) -> Vec<Vec<u8>> {
    args.paths
        .iter()
        .map(|path| {
            let mut request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", args.addr);
            for h in &args.headers {
                request.push_str(h);
                request.push_str("\r\n");
            }
            request.push_str("\r\n");
            request.into_bytes()
        })
        .collect()
}

/// One keep-alive connection and its read buffer (`buf[..filled]` holds unread bytes).
struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
    filled: usize,
}

/// What one response said that the tally needs.
struct Answer {
    status: u16,
    latency: Duration,
    close: bool,
}

fn find_header_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

/// Status, Content-Length and `Connection: close` from a response head.
fn parse_head(head: &[u8]) -> std::io::Result<(u16, usize, bool)> {
    let bad = || std::io::Error::other("bad response head");
    let status = head
        .get(9..12)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let (mut length, mut close) = (0usize, false);
    for line in head.split(|&b| b == b'\n').skip(1) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"content-length") {
            length = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse().ok())
                .ok_or_else(bad)?;
        } else if name.eq_ignore_ascii_case(b"connection") && value.eq_ignore_ascii_case(b"close") {
            close = true;
        }
    }
    Ok((status, length, close))
}

impl Connection {
    async fn open(addr: &str) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            buf: vec![0; 64 * 1024],
            filled: 0,
        })
    }

    /// Reads more bytes after `buf[..filled]`, growing the buffer when it is full.
    async fn fill(&mut self) -> std::io::Result<()> {
        if self.filled == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let n = self.stream.read(&mut self.buf[self.filled..]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.filled += n;
        Ok(())
    }

    /// Sends one request and reads its whole response (the body is read and dropped).
    async fn exchange(&mut self, request: &[u8]) -> std::io::Result<Answer> {
        let started = Instant::now();
        self.stream.write_all(request).await?;
        let head_len = loop {
            if let Some(end) = find_header_end(&self.buf[..self.filled]) {
                break end;
            }
            self.fill().await?;
        };
        let (status, length, close) = parse_head(&self.buf[..head_len])?;
        let mut body_left = length;
        let in_buffer = (self.filled - head_len).min(body_left);
        body_left -= in_buffer;
        let consumed = head_len + in_buffer;
        self.buf.copy_within(consumed..self.filled, 0);
        self.filled -= consumed;
        while body_left > 0 {
            let want = body_left.min(self.buf.len());
            let n = self.stream.read(&mut self.buf[..want]).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            body_left -= n;
        }
        Ok(Answer {
            status,
            latency: started.elapsed(),
            close,
        })
    }
}

#[derive(Default)]
struct Tally {
    statuses: BTreeMap<u16, usize>,
    errors: usize,
    latencies_ok: Vec<Duration>,
}

async fn connection_loop(
    args: Arc<Args>,
    requests: Arc<Vec<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    next: Arc<AtomicUsize>,
) -> Tally {
    let mut tally = Tally::default();
    let mut conn: Option<Connection> = None;
    while !stop.load(Ordering::Relaxed) {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if args.requests.is_some_and(|n| i >= n) {
            break;
        }
        let request = &requests[i % requests.len()];
        if conn.is_none() {
            match Connection::open(&args.addr).await {
                Ok(c) => conn = Some(c),
                Err(_) => {
                    tally.errors += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else {
            continue;
        };
        match c.exchange(request).await {
            Ok(answer) => {
                *tally.statuses.entry(answer.status).or_default() += 1;
                if answer.status == 200 {
                    tally.latencies_ok.push(answer.latency);
                }
                if answer.close {
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
}

fn main() {
    let args = match parse_args() {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(run(args)),
        Err(e) => {
            eprintln!("loadgen: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    }
}

async fn run(args: Arc<Args>) {
    let requests = Arc::new(build_requests(&args));
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..args.connections)
        .map(|_| {
            tokio::spawn(connection_loop(
                args.clone(),
                requests.clone(),
                stop.clone(),
                next.clone(),
            ))
        })
        .collect();
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
