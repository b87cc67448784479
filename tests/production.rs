//! Black-box tests of behaviour under load and faults: admission control (503), deadlines
//! (504), graceful shutdown, and the metrics endpoint.

mod common;
use common::{corpus, Server};
use std::thread;
use std::time::Duration;

/// A large original (2725x2225 JPEG) so renders take a noticeable time.
const BIG: &str = "sharp/2569067123_aca715a2ee_o.jpg";

#[test]
fn a_full_queue_answers_503_with_retry_after_and_recovers() {
    let server = Server::corpus(&[
        ("MAX_CONCURRENT_RENDERS", "1"),
        ("MAX_QUEUED_RENDERS", "0"),
        ("MEMORY_CACHE_MB", "0"),
    ]);
    let server = std::sync::Arc::new(server);
    // Distinct heavy upscales (no merging): one runs, the others find no room.
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let server = server.clone();
            thread::spawn(move || server.get(&format!("/unsafe/{}x6000/{BIG}", 6000 + i)))
        })
        .collect();
    let responses: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok = responses.iter().filter(|r| r.status == 200).count();
    let shed: Vec<_> = responses.iter().filter(|r| r.status == 503).collect();
    assert!(
        ok >= 1,
        "statuses: {:?}",
        responses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(
        !shed.is_empty(),
        "statuses: {:?}",
        responses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(ok + shed.len(), 6);
    for r in shed {
        assert_eq!(r.header("retry-after"), Some("1"));
    }
    // Once the burst is over the server serves again.
    assert_eq!(
        server
            .get("/unsafe/100x100/thumbor/images/image.jpg")
            .status,
        200
    );
}

#[test]
fn a_render_over_the_memory_budget_is_a_400() {
    let server = Server::corpus(&[("RENDER_MEMORY_MB", "16")]);
    // 2725x2225 RGBA decode plus a working copy is ~48 MB.
    assert_eq!(server.get(&format!("/unsafe/100x100/{BIG}")).status, 400);
    assert_eq!(
        server
            .get("/unsafe/100x100/thumbor/images/image.jpg")
            .status,
        200
    );
}

#[test]
fn past_the_deadline_the_answer_is_504() {
    let server = Server::corpus(&[
        ("REQUEST_TIMEOUT_SECONDS", "1"),
        ("MAX_CONCURRENT_RENDERS", "1"),
        ("MEMORY_CACHE_MB", "0"),
    ]);
    // A 64-megapixel upscale with a wide blur takes far longer than a second.
    let r = server.get(&format!("/unsafe/8000x8000/filters:blur(100)/{BIG}"));
    assert_eq!(r.status, 504);
    assert!(r.header("cache-control").is_none());
}

#[test]
fn sigterm_drains_in_flight_requests_then_exits_zero() {
    let mut server = Server::corpus(&[("MEMORY_CACHE_MB", "0")]);
    let addr = server.addr;
    let in_flight = thread::spawn(move || {
        let probe = Server::attach(addr);
        probe.get(&format!("/unsafe/5000x5000/{BIG}"))
    });
    thread::sleep(Duration::from_millis(300));
    let status = server.terminate();
    assert!(status.success(), "exit status {status:?}");
    let r = in_flight.join().unwrap();
    assert_eq!(r.status, 200, "the in-flight request must finish");
    assert_eq!(r.image_size(), (5000, 5000));
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "still accepting"
    );
}

#[test]
fn metrics_are_served_off_the_public_port() {
    let server = Server::corpus(&[("METRICS_BIND", "127.0.0.1:0")]);
    let metrics_addr = server.metrics_addr.expect("metrics listener");
    assert_ne!(metrics_addr, server.addr);
    assert_eq!(
        server
            .get("/unsafe/100x100/thumbor/images/image.jpg")
            .status,
        200
    );
    assert_eq!(
        server
            .get("/unsafe/100x100/thumbor/images/image.jpg")
            .status,
        200
    );
    assert_eq!(server.get("/unsafe/thumbor/images/missing.jpg").status, 404);
    assert_eq!(
        server
            .get("/unsafe/99999x99999/thumbor/images/image.jpg")
            .status,
        400
    );
    let text = String::from_utf8(Server::attach(metrics_addr).get("/metrics").body).unwrap();
    let value = |line_start: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(line_start))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {line_start} in\n{text}"))
    };
    assert!(value("pictor_requests_total{class=\"2xx\"}") >= 2.0);
    assert!(value("pictor_requests_total{class=\"4xx\"}") >= 2.0);
    assert!(value("pictor_stage_seconds_count{stage=\"decode\"}") >= 1.0);
    assert!(value("pictor_stage_seconds_count{stage=\"encode\"}") >= 1.0);
    assert!(value("pictor_stage_seconds_count{stage=\"load\"}") >= 1.0);
    assert!(value("pictor_cache_requests_total{tier=\"memory\",result=\"hit\"}") >= 1.0);
    assert!(value("pictor_origin_bytes_total") >= 5319.0);
    assert!(value("pictor_refused_total{reason=\"too_large\"}") >= 1.0);
    assert_eq!(value("pictor_queued_renders"), 0.0);
    // Not on the public port.
    assert_eq!(server.get("/metrics").status, 400);
    let _ = corpus();
}
