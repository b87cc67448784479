//! Hostile clients at the connection level: half-sent headers, silent and idle connections,
//! more connections than MAX_CONNECTIONS, oversized and slow request bodies, and a shutdown
//! with a render still running. Each test runs the real binary with short limits and checks
//! that the server gives up on the hostile client in time while answering everyone else.

mod common;
use common::{corpus, Server};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const HEALTHCHECK: &[u8] = b"GET /healthcheck HTTP/1.1\r\nHost: test\r\n\r\n";

/// How long after a limit the server may take to act on it (timer, scheduling, a busy CI box).
const MARGIN: Duration = Duration::from_secs(4);

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

/// Waits until the server closes `stream` (end of file or a reset) and returns how long that
/// took; fails if the server sends anything or keeps the connection past `limit`.
fn wait_closed(stream: &TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut reader = stream;
    let mut buf = [0u8; 256];
    match reader.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!(
            "expected the connection closed, got {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            panic!("connection still open after {limit:?}")
        }
        Err(_) => {} // reset: closed too
    }
    started.elapsed()
}

/// Reads one response (status line, headers, Content-Length body) from a kept-alive
/// connection; returns the status and the body.
fn read_response(reader: &mut BufReader<&TcpStream>) -> (u16, Vec<u8>) {
    let mut status_line = String::new();
    reader.read_line(&mut status_line).expect("status line");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header line");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("body");
    (status, body)
}

/// One healthcheck on a kept-alive connection.
fn healthcheck_on(stream: &TcpStream) -> u16 {
    let mut writer = stream;
    writer.write_all(HEALTHCHECK).unwrap();
    read_response(&mut BufReader::new(stream)).0
}

/// Another client, on its own connection, is answered.
fn others_are_served(server: &Server) {
    assert_eq!(server.get("/healthcheck").status, 200);
}

#[test]
fn half_sent_headers_are_closed_after_the_header_timeout() {
    let server = Server::corpus(&[
        ("HTTP_HEADER_READ_TIMEOUT_SECONDS", "1"),
        ("HTTP_IDLE_TIMEOUT_SECONDS", "60"),
    ]);
    let started = Instant::now();
    let mut half_sent = Vec::new();
    for _ in 0..20 {
        let mut stream = connect(&server);
        stream
            .write_all(b"GET /healthcheck HTTP/1.1\r\nHost: te")
            .unwrap();
        half_sent.push(stream);
    }
    // A slowloris: one more header byte every 200 ms never earns more time.
    let mut trickling = connect(&server);
    let trickler = std::thread::spawn(move || {
        for byte in b"GET /healthcheck HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if trickling.write_all(&[*byte]).is_err() {
                return true; // the server closed it
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        false
    });
    others_are_served(&server);
    for stream in &half_sent {
        wait_closed(stream, Duration::from_secs(1) + MARGIN);
    }
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed before the timeout"
    );
    assert!(
        trickler.join().unwrap(),
        "a header sent one byte at a time outlived the header timeout"
    );
    others_are_served(&server);

    // The same holds for a later request on a kept-alive connection: the header clock starts
    // at its first byte.
    let kept = connect(&server);
    assert_eq!(healthcheck_on(&kept), 200);
    (&kept).write_all(b"GET /healthcheck HTTP/1.1\r\n").unwrap();
    let took = wait_closed(&kept, Duration::from_secs(1) + MARGIN);
    assert!(took < Duration::from_secs(1) + MARGIN, "{took:?}");
}

#[test]
fn silent_connections_are_closed_after_the_header_timeout() {
    let server = Server::corpus(&[("HTTP_HEADER_READ_TIMEOUT_SECONDS", "1")]);
    let silent: Vec<TcpStream> = (0..20).map(|_| connect(&server)).collect();
    // The start of an HTTP/2 preface that never finishes.
    let mut preface = connect(&server);
    preface.write_all(b"PRI * HTTP/2.0\r\n").unwrap();
    others_are_served(&server);
    for stream in silent.iter().chain([&preface]) {
        wait_closed(stream, Duration::from_secs(1) + MARGIN);
    }
    others_are_served(&server);
}

#[test]
fn idle_keep_alive_connections_are_closed_after_the_idle_timeout() {
    let server = Server::corpus(&[
        ("HTTP_HEADER_READ_TIMEOUT_SECONDS", "1"),
        ("HTTP_IDLE_TIMEOUT_SECONDS", "3"),
    ]);
    let stream = connect(&server);
    assert_eq!(healthcheck_on(&stream), 200);
    // Idle for longer than the header timeout is still within the idle timeout.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(healthcheck_on(&stream), 200);
    let idle_from = Instant::now();
    others_are_served(&server);
    wait_closed(&stream, Duration::from_secs(3) + MARGIN);
    assert!(
        idle_from.elapsed() >= Duration::from_millis(2500),
        "closed after {:?}, before the idle timeout",
        idle_from.elapsed()
    );
}

#[test]
fn connections_over_max_connections_are_refused_and_the_rest_served() {
    let server = Server::corpus(&[("MAX_CONNECTIONS", "4")]);
    let open: Vec<TcpStream> = (0..4).map(|_| connect(&server)).collect();
    // An answer on each proves the server holds it (accepted, a slot taken).
    for stream in &open {
        assert_eq!(healthcheck_on(stream), 200);
    }
    for _ in 0..3 {
        let extra = connect(&server);
        let mut writer = &extra;
        let _ = writer.write_all(HEALTHCHECK);
        let mut answer = Vec::new();
        let _ = (&extra).read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 503"),
            "a connection over MAX_CONNECTIONS got {answer:?}"
        );
    }
    // The connections already open are still served.
    for stream in &open {
        assert_eq!(healthcheck_on(stream), 200);
    }
    // Closing one frees its slot for a new client.
    let mut open = open;
    drop(open.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let fresh = connect(&server);
        let mut writer = &fresh;
        let served = writer.write_all(HEALTHCHECK).is_ok() && {
            let mut first = [0u8; 12];
            (&fresh).read_exact(&mut first).is_ok() && first.starts_with(b"HTTP/1.1 200")
        };
        if served {
            break;
        }
        assert!(Instant::now() < deadline, "no slot came free");
        std::thread::sleep(Duration::from_millis(100));
    }
}

const SIGNING_KEY: &str = "blog-0123456789abcdef";

fn signing_server(extra: &[(&str, &str)]) -> Server {
    let root = corpus().join("thumbor");
    let root = root.to_str().unwrap().to_string();
    let apps = format!("blog:{SIGNING_KEY}:*");
    let mut env: Vec<(&str, &str)> = vec![
        ("FILE_LOADER_ROOT_PATH", root.as_str()),
        ("SECURITY_KEY", "my-security-key"),
        ("ALLOW_UNSAFE_URL", "False"),
        ("SIGNING_API_KEYS", apps.as_str()),
    ];
    env.extend_from_slice(extra);
    Server::start(&env)
}

fn sign_head(extra_headers: &str) -> String {
    format!(
        "POST /sign HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {SIGNING_KEY}\r\n\
         Content-Type: application/json\r\n{extra_headers}\r\n"
    )
}

#[test]
fn oversized_sign_bodies_are_413_declared_or_chunked() {
    let server = signing_server(&[("MAX_REQUEST_BODY_BYTES", "1000")]);
    let url = r#"{"url": "300x200/images/image.jpg"}"#;

    // Within the cap: signed.
    let stream = connect(&server);
    let head = sign_head(&format!("Content-Length: {}\r\n", url.len()));
    (&stream).write_all(head.as_bytes()).unwrap();
    (&stream).write_all(url.as_bytes()).unwrap();
    assert_eq!(read_response(&mut BufReader::new(&stream)).0, 200);

    // A declared length over the cap is refused from the header, before any body is sent
    // (and a client that waits for 100 Continue never sends it).
    let stream = connect(&server);
    let head = sign_head("Content-Length: 5000\r\nExpect: 100-continue\r\n");
    (&stream).write_all(head.as_bytes()).unwrap();
    let (status, body) = read_response(&mut BufReader::new(&stream));
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    let reason = String::from_utf8_lossy(&body);
    assert!(reason.contains("1000 bytes"), "{reason}");

    // No length given (chunked): counted while it streams, refused at the cap.
    let stream = connect(&server);
    let mut request = sign_head("Transfer-Encoding: chunked\r\n").into_bytes();
    for _ in 0..3 {
        request.extend_from_slice(format!("{:x}\r\n", 500).as_bytes());
        request.extend_from_slice(&[b' '; 500]);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    (&stream).write_all(&request).unwrap();
    let (status, body) = read_response(&mut BufReader::new(&stream));
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    others_are_served(&server);
}

#[test]
fn slow_sign_bodies_are_408_after_the_body_timeout() {
    let server = signing_server(&[("HTTP_BODY_READ_TIMEOUT_SECONDS", "1")]);
    // Part of the body, then nothing.
    let stalled = connect(&server);
    (&stalled)
        .write_all(sign_head("Content-Length: 100\r\n").as_bytes())
        .unwrap();
    (&stalled).write_all(br#"{"url": "#).unwrap();
    // A byte every 250 ms: each read is quick, the whole body is not.
    let trickling = connect(&server);
    (&trickling)
        .write_all(sign_head("Content-Length: 100\r\n").as_bytes())
        .unwrap();
    let trickle_stream = trickling.try_clone().unwrap();
    let trickler = std::thread::spawn(move || {
        let mut writer = &trickle_stream;
        for _ in 0..40 {
            if writer.write_all(b" ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    });
    let started = Instant::now();
    others_are_served(&server);
    for stream in [&stalled, &trickling] {
        stream
            .set_read_timeout(Some(Duration::from_secs(1) + MARGIN))
            .unwrap();
        let (status, body) = read_response(&mut BufReader::new(stream));
        assert_eq!(status, 408, "{}", String::from_utf8_lossy(&body));
    }
    assert!(started.elapsed() < Duration::from_secs(1) + MARGIN);
    trickler.join().unwrap();
    others_are_served(&server);
}

/// A render that keeps a core busy for minutes in any build: a photo upscaled to 16 MP and
/// encoded as AVIF at the slowest encoder speed.
const SLOW_RENDER: &str = "/unsafe/4000x4000/filters:format(avif)/thumbor/images/image.jpg";

#[test]
fn shutdown_ends_within_its_timeout_while_a_render_runs() {
    let mut server = Server::corpus(&[
        ("SHUTDOWN_TIMEOUT_SECONDS", "1"),
        ("REQUEST_TIMEOUT_SECONDS", "600"),
        ("AVIF_SPEED", "1"),
        ("METRICS_BIND", "127.0.0.1:0"),
    ]);
    let metrics = Server::attach(server.metrics_addr.expect("metrics listener"));
    let render_client = connect(&server);
    let request = format!("GET {SLOW_RENDER} HTTP/1.1\r\nHost: test\r\n\r\n");
    (&render_client).write_all(request.as_bytes()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !metrics
        .get("/metrics")
        .body
        .split(|b| *b == b'\n')
        .any(|line| line == b"pictor_running_renders 1")
    {
        assert!(Instant::now() < deadline, "the render never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = server
        .terminate_within(Duration::from_secs(1) + MARGIN)
        .expect("still running after SHUTDOWN_TIMEOUT_SECONDS + margin");
    assert!(status.success(), "{status:?}");
    // The client whose render was abandoned sees its connection closed, not a hang.
    wait_closed(&render_client, MARGIN);
}

/// Reads and discards whatever the server sends until it closes `stream`; fails if it is
/// still open after `limit`. Returns how long that took.
fn drain_until_closed(stream: &TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut reader = stream;
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        assert!(!left.is_zero(), "connection still open after {limit:?}");
        stream.set_read_timeout(Some(left)).unwrap();
        match reader.read(&mut buf) {
            Ok(0) => return started.elapsed(),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("connection still open after {limit:?}")
            }
            Err(_) => return started.elapsed(),
        }
    }
}

/// One HTTP/2 frame: length, type, flags and stream id, then the payload.
fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut frame = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    frame.extend_from_slice(&[kind, flags]);
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// An HTTP/2 (prior knowledge) connection sending these SETTINGS and then
/// `GET http://test/healthcheck` on stream 1.
fn h2_healthcheck(server: &Server, settings: &[u8]) -> TcpStream {
    let stream = connect(server);
    let mut request = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    request.extend(h2_frame(0x4, 0, 0, settings));
    // HPACK without Huffman: :method GET, :scheme http, :path and :authority as literals.
    let mut block = vec![0x82, 0x86, 0x44, 12];
    block.extend_from_slice(b"/healthcheck");
    block.extend_from_slice(&[0x41, 4]);
    block.extend_from_slice(b"test");
    request.extend(h2_frame(0x1, 0x4 | 0x1, 1, &block)); // HEADERS, END_HEADERS | END_STREAM
    (&stream).write_all(&request).unwrap();
    stream
}

#[test]
fn http2_clients_that_do_not_take_their_response_are_closed_after_the_idle_timeout() {
    let server = Server::corpus(&[
        ("HTTP_HEADER_READ_TIMEOUT_SECONDS", "1"),
        ("HTTP_IDLE_TIMEOUT_SECONDS", "2"),
    ]);
    // SETTINGS_INITIAL_WINDOW_SIZE = 0: the server may send no response body at all.
    let stream = h2_healthcheck(&server, &[0x00, 0x04, 0, 0, 0, 0]);
    others_are_served(&server);
    drain_until_closed(&stream, Duration::from_secs(2) + MARGIN);
    others_are_served(&server);
}

#[test]
fn idle_http2_connections_are_closed_after_the_idle_timeout() {
    let server = Server::corpus(&[
        ("HTTP_HEADER_READ_TIMEOUT_SECONDS", "1"),
        ("HTTP_IDLE_TIMEOUT_SECONDS", "3"),
    ]);
    let stream = h2_healthcheck(&server, &[]);
    // Frames until the response HEADERS on stream 1, whose first field is :status 200
    // (static table index 8).
    let mut reader = &stream;
    loop {
        let mut head = [0u8; 9];
        reader.read_exact(&mut head).expect("frame header");
        let length = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0; length];
        reader.read_exact(&mut payload).expect("frame payload");
        let stream_id = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        if head[3] == 0x1 && stream_id == 1 {
            assert_eq!(payload.first(), Some(&0x88), "not a 200: {payload:?}");
            break;
        }
    }
    let idle_from = Instant::now();
    others_are_served(&server);
    drain_until_closed(&stream, Duration::from_secs(3) + MARGIN);
    assert!(
        idle_from.elapsed() >= Duration::from_millis(2500),
        "closed after {:?}, before the idle timeout",
        idle_from.elapsed()
    );
}
