//! OpenTelemetry trace export, black-box: a tiny OTLP/HTTP collector on loopback receives what
//! the real server exports for one image request, and the protobuf is decoded here to check
//! the resource, the span names and that the stage spans hang under the request span.
#![cfg(feature = "otel")]

mod common;

use common::Server;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An OTLP/HTTP collector: answers 200 to every `POST /v1/traces` and keeps the bodies.
struct Collector {
    addr: SocketAddr,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Collector {
    fn start() -> Collector {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = bodies.clone();
        // Lives as long as the test process; every connection is answered and closed.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if let Some(body) = read_post(stream) {
                    kept.lock().unwrap().push(body);
                }
            }
        });
        Collector { addr, bodies }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received so far.
    fn spans(&self) -> Vec<ExportedSpan> {
        let bodies = self.bodies.lock().unwrap();
        bodies.iter().flat_map(|body| decode_export(body)).collect()
    }

    fn resource_attributes(&self) -> Vec<(String, String)> {
        let bodies = self.bodies.lock().unwrap();
        bodies
            .iter()
            .flat_map(|body| decode_resources(body))
            .collect()
    }
}

/// Reads one HTTP/1.1 request (Content-Length or chunked body), answers 200 and closes.
/// Returns the body of a `POST /v1/traces`.
fn read_post(mut stream: TcpStream) -> Option<Vec<u8>> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut content_length = None;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => content_length = value.trim().parse::<usize>().ok(),
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(content_length.unwrap_or(0), 0);
        reader.read_exact(&mut body).ok()?;
    }
    let _ = stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n\
          Content-Length: 0\r\nConnection: close\r\n\r\n",
    );
    request_line.starts_with("POST /v1/traces ").then_some(body)
}

// --- a minimal protobuf reader, enough for ExportTraceServiceRequest ---

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

fn varint(buf: &mut &[u8]) -> u64 {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let Some((&byte, rest)) = buf.split_first() else {
            panic!("truncated varint");
        };
        *buf = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
    }
    value
}

/// The (field number, value) pairs of one message.
fn fields(mut buf: &[u8]) -> Vec<(u64, Field<'_>)> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let key = varint(&mut buf);
        let field = match key & 7 {
            0 => Field::Varint(varint(&mut buf)),
            1 => {
                buf = &buf[8..];
                Field::Fixed
            }
            2 => {
                let len = varint(&mut buf) as usize;
                let (bytes, rest) = buf.split_at(len);
                buf = rest;
                Field::Bytes(bytes)
            }
            5 => {
                buf = &buf[4..];
                Field::Fixed
            }
            other => panic!("unexpected wire type {other}"),
        };
        out.push((key >> 3, field));
    }
    out
}

fn messages(buf: &[u8], number: u64) -> Vec<&[u8]> {
    fields(buf)
        .into_iter()
        .filter_map(|(n, f)| match f {
            Field::Bytes(bytes) if n == number => Some(bytes),
            _ => None,
        })
        .collect()
}

fn text(buf: &[u8], number: u64) -> String {
    messages(buf, number)
        .first()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// KeyValue list entries whose AnyValue is a string.
fn string_attributes(buf: &[u8], number: u64) -> Vec<(String, String)> {
    messages(buf, number)
        .into_iter()
        .map(|kv| {
            let value = messages(kv, 2)
                .first()
                .map_or(String::new(), |v| text(v, 1));
            (text(kv, 1), value)
        })
        .collect()
}

#[derive(Debug, Clone)]
struct ExportedSpan {
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    name: String,
    kind: u64,
    attributes: Vec<(String, String)>,
}

/// ExportTraceServiceRequest { 1: ResourceSpans { 1: Resource, 2: ScopeSpans { 2: Span } } }.
fn decode_export(body: &[u8]) -> Vec<ExportedSpan> {
    let mut spans = Vec::new();
    for resource_spans in messages(body, 1) {
        for scope_spans in messages(resource_spans, 2) {
            for span in messages(scope_spans, 2) {
                let kind = fields(span)
                    .into_iter()
                    .find_map(|(n, f)| match f {
                        Field::Varint(v) if n == 6 => Some(v),
                        _ => None,
                    })
                    .unwrap_or(0);
                let id = |n| messages(span, n).first().map_or(String::new(), |b| hex(b));
                spans.push(ExportedSpan {
                    trace_id: id(1),
                    span_id: id(2),
                    parent_span_id: id(4),
                    name: text(span, 5),
                    kind,
                    attributes: string_attributes(span, 9),
                });
            }
        }
    }
    spans
}

fn decode_resources(body: &[u8]) -> Vec<(String, String)> {
    messages(body, 1)
        .into_iter()
        .flat_map(|resource_spans| messages(resource_spans, 1))
        .flat_map(|resource| string_attributes(resource, 1))
        .collect()
}

/// Waits (bounded) until the collector holds spans with every one of `names`.
fn wait_for_spans(collector: &Collector, names: &[&str], limit: Duration) -> Vec<ExportedSpan> {
    let deadline = Instant::now() + limit;
    loop {
        let spans = collector.spans();
        let complete = names.iter().all(|n| spans.iter().any(|s| s.name == *n));
        if complete || Instant::now() >= deadline {
            return spans;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The chain of span names from `span` up to its root, as far as the spans received reach.
fn ancestry(spans: &[ExportedSpan], span: &ExportedSpan) -> Vec<String> {
    let mut chain = vec![span.name.clone()];
    let mut parent = span.parent_span_id.clone();
    while let Some(up) = spans
        .iter()
        .find(|s| s.span_id == parent && !parent.is_empty())
    {
        chain.push(up.name.clone());
        parent = up.parent_span_id.clone();
    }
    chain
}

const IMAGE: &str = "/unsafe/300x200/thumbor/images/image.jpg";
const STAGES: [&str; 6] = ["request", "load", "queue", "render", "decode", "encode"];

fn start_server(collector: &Collector, schedule_delay_ms: &str) -> Server {
    let endpoint = collector.endpoint();
    Server::corpus(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", schedule_delay_ms),
        ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=ci"),
    ])
}

fn assert_request_trace(spans: &[ExportedSpan]) -> ExportedSpan {
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    for stage in STAGES {
        assert!(names.contains(&stage), "no {stage} span in {names:?}");
    }
    let request = spans.iter().find(|s| s.name == "request").cloned().unwrap();
    assert_eq!(request.kind, 2, "the request span is SPAN_KIND_SERVER");
    assert!(
        request
            .attributes
            .iter()
            .any(|(k, v)| k == "path" && v == "/unsafe/300x200/thumbor/images/image.jpg"),
        "request span attributes: {:?}",
        request.attributes
    );
    // The stages run on other tasks and on the blocking pool: each must still hang under the
    // request span, in the request's trace.
    for stage in ["load", "queue", "render", "decode", "encode"] {
        for span in spans.iter().filter(|s| s.name == stage) {
            let chain = ancestry(spans, span);
            assert_eq!(
                chain.last().map(String::as_str),
                Some("request"),
                "{stage} is not under the request span: {chain:?}"
            );
            assert_eq!(span.trace_id, request.trace_id, "{stage} in another trace");
        }
    }
    let decode = spans.iter().find(|s| s.name == "decode").unwrap();
    assert!(
        ancestry(spans, decode).contains(&"render".to_string()),
        "decode runs inside render"
    );
    request
}

#[test]
fn spans_are_exported_while_serving_with_the_resource() {
    let collector = Collector::start();
    let mut server = start_server(&collector, "100");
    let response = server.get(IMAGE);
    assert_eq!(response.status, 200);
    // A short OTEL_BSP_SCHEDULE_DELAY: the batch goes out while the server is still running.
    let spans = wait_for_spans(&collector, &STAGES, Duration::from_secs(10));
    let request = assert_request_trace(&spans);
    assert!(
        request.parent_span_id.is_empty(),
        "without traceparent the request span is a root"
    );
    let resource = collector.resource_attributes();
    assert!(
        resource.contains(&("service.name".into(), "pictor".into())),
        "{resource:?}"
    );
    assert!(
        resource.contains(&("deployment.environment".into(), "ci".into())),
        "OTEL_RESOURCE_ATTRIBUTES ignored: {resource:?}"
    );
    let status = server.terminate_within(Duration::from_secs(15));
    assert!(status.is_some_and(|s| s.success()), "exit: {status:?}");
}

#[test]
fn sigterm_flushes_the_last_spans_and_traceparent_is_the_parent() {
    let collector = Collector::start();
    // Far longer than the test: spans can only arrive through the flush on shutdown.
    let mut server = start_server(&collector, "600000");
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let traceparent = format!("00-{trace_id}-{caller_span}-01");
    let response = server.request("GET", IMAGE, &[("traceparent", traceparent.as_str())]);
    assert_eq!(response.status, 200);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        collector.spans().is_empty(),
        "spans arrived before the schedule delay"
    );
    let status = server.terminate_within(Duration::from_secs(15));
    assert!(status.is_some_and(|s| s.success()), "exit: {status:?}");
    // The flush is synchronous before exit; the bodies are in by now (small margin for the
    // collector thread to store the last one).
    let spans = wait_for_spans(&collector, &STAGES, Duration::from_secs(2));
    let request = assert_request_trace(&spans);
    assert_eq!(request.trace_id, trace_id, "traceparent's trace not joined");
    assert_eq!(request.parent_span_id, caller_span);
}
