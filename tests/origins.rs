//! Black-box tests of the origins: the HTTP loader against a local origin written here
//! (hyper), the S3 loader and S3 result storage against a real S3-compatible server (moto, via
//! scripts/s3-test-server.sh, or $PICTOR_S3_ENDPOINT), fallback chains, and request merging.
//! Everything listens on loopback only.

mod common;
use common::{corpus, Server};
#[path = "common/s3.rs"]
mod s3_harness;
use s3_harness::{block_on, s3, sdk, seed, unique_bucket, S3Endpoint, S3Server};

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// A local origin server.

/// Size of the body `/huge` streams (without a Content-Length).
const HUGE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Default)]
struct OriginState {
    hits: Mutex<HashMap<String, usize>>,
    user_agents: Mutex<Vec<String>>,
    accepts: Mutex<Vec<String>>,
    /// Bytes of `/huge` handed to the connection before the client went away.
    huge_sent: AtomicUsize,
}

struct Origin {
    addr: SocketAddr,
    state: Arc<OriginState>,
    _runtime: tokio::runtime::Runtime,
}

impl Origin {
    /// Starts the origin on `ip`:0 (127.0.0.1, or 127.0.0.2 to be a "different" host).
    fn start(ip: &str) -> Origin {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let state = Arc::new(OriginState::default());
        let ip: IpAddr = ip.parse().unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(SocketAddr::new(ip, 0)))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let image = Bytes::from(std::fs::read(corpus().join("thumbor/images/image.jpg")).unwrap());
        let accept_state = state.clone();
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = accept_state.clone();
                let image = image.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        let image = image.clone();
                        async move { Ok::<_, Infallible>(respond(req, &state, image).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Origin {
            addr,
            state,
            _runtime: runtime,
        }
    }

    /// `host:port` as it goes into a Thumbor URL.
    fn host(&self) -> String {
        self.addr.to_string()
    }

    fn hits(&self, path: &str) -> usize {
        self.state
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    fn total_hits(&self) -> usize {
        self.state.hits.lock().unwrap().values().sum()
    }
}

type OriginBody = BoxBody<Bytes, Infallible>;

fn full(status: u16, body: Bytes) -> Response<OriginBody> {
    Response::builder()
        .status(status)
        .header("content-type", "image/jpeg")
        .body(Full::new(body).boxed())
        .unwrap()
}

fn redirect(location: &str) -> Response<OriginBody> {
    Response::builder()
        .status(302)
        .header("location", location)
        .body(Full::new(Bytes::new()).boxed())
        .unwrap()
}

/// A body of `remaining` bytes in 64 KiB chunks, counting what it hands over.
struct CountingBody {
    remaining: usize,
    state: Arc<OriginState>,
}

impl hyper::body::Body for CountingBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let n = self.remaining.min(64 * 1024);
        self.remaining -= n;
        self.state.huge_sent.fetch_add(n, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![0xffu8; n])))))
    }
}

async fn respond(
    req: Request<Incoming>,
    state: &Arc<OriginState>,
    image: Bytes,
) -> Response<OriginBody> {
    let path = req.uri().path().to_string();
    *state.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    state.user_agents.lock().unwrap().push(header("user-agent"));
    state.accepts.lock().unwrap().push(header("accept"));
    if let Some(n) = path.strip_prefix("/redirect/") {
        let n: u32 = n.parse().unwrap_or(0);
        return if n == 0 {
            full(200, image)
        } else {
            redirect(&format!("/redirect/{}", n - 1))
        };
    }
    if path == "/to" {
        // /to?http://... redirects to the (percent-decoded) query.
        let query = req.uri().query().unwrap_or("");
        let target = percent_encoding::percent_decode_str(query).decode_utf8_lossy();
        return redirect(&target);
    }
    match path.as_str() {
        "/image.jpg" | "/a%20b.jpg" | "/a b.jpg" => full(200, image),
        "/merged.jpg" => {
            // Slow enough that concurrent requests overlap.
            tokio::time::sleep(Duration::from_millis(300)).await;
            full(200, image)
        }
        "/slow.jpg" => {
            tokio::time::sleep(Duration::from_secs(8)).await;
            full(200, image)
        }
        "/status/403" => full(403, Bytes::from_static(b"forbidden")),
        "/status/500" => full(500, Bytes::from_static(b"boom")),
        "/empty.jpg" => full(200, Bytes::new()),
        "/declared-huge.jpg" => Response::builder()
            .status(200)
            .header("content-length", (HUGE_BYTES as u64).to_string())
            .body(
                CountingBody {
                    remaining: HUGE_BYTES,
                    state: state.clone(),
                }
                .boxed(),
            )
            .unwrap(),
        "/huge.jpg" => Response::builder()
            .status(200)
            .body(
                CountingBody {
                    remaining: HUGE_BYTES,
                    state: state.clone(),
                }
                .boxed(),
            )
            .unwrap(),
        _ => full(404, Bytes::from_static(b"no such image")),
    }
}

/// pictor with the HTTP loader; loopback origins allowed unless `extra` says otherwise.
fn http_server(extra: &[(&str, &str)]) -> Server {
    let mut env: Vec<(&str, &str)> = vec![
        ("LOADER", "http"),
        ("HTTP_LOADER_ALLOW_PRIVATE_NETWORKS", "true"),
    ];
    for (k, v) in extra {
        env.retain(|(key, _)| key != k);
        env.push((k, v));
    }
    Server::start(&env)
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

// ---------------------------------------------------------------------------------------------
// HTTP loader.

#[test]
fn http_loader_accepts_thumbors_three_url_forms() {
    let origin = Origin::start("127.0.0.1");
    let server = http_server(&[("HTTP_LOADER_DEFAULT_USER_AGENT", "pictor-test/1")]);
    let host = origin.host();
    let encoded = format!("http%3A%2F%2F{}%2Fimage.jpg", host.replace(':', "%3A"));
    for path in [
        format!("/unsafe/100x100/{host}/image.jpg"),
        format!("/unsafe/100x100/http://{host}/image.jpg"),
        format!("/unsafe/100x100/{encoded}"),
        // A space in the origin path is sent quoted.
        format!("/unsafe/100x100/{host}/a%20b.jpg"),
    ] {
        let r = server.get(&path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.image_size(), (100, 100), "{path}");
    }
    // The fully encoded form is the raw-scheme form once Tornado-style decoding is done: the
    // source cache answers it without a second fetch.
    assert_eq!(origin.hits("/image.jpg"), 2);
    assert_eq!(origin.hits("/a%20b.jpg"), 1);
    let agents = origin.state.user_agents.lock().unwrap().clone();
    assert!(agents.iter().all(|a| a == "pictor-test/1"), "{agents:?}");
    let accepts = origin.state.accepts.lock().unwrap().clone();
    assert!(
        accepts.iter().all(|a| a == "image/*;q=0.9,*/*;q=0.1"),
        "{accepts:?}"
    );
}

/// `extract_focal()` with the HTTP loader: the original behind a nested Thumbor URL is fetched
/// (and only it), the nested crop steering the focal point.
#[test]
fn extract_focal_fetches_the_original_of_a_nested_thumbor_url() {
    let origin = Origin::start("127.0.0.1");
    let server = http_server(&[]);
    let host = origin.host();
    let extracted = server.get(&format!(
        "/unsafe/100x100/filters:extract_focal()/thumbor.host/unsafe/10x10:110x60/http://{host}/image.jpg"
    ));
    assert_eq!(extracted.status, 200);
    assert_eq!(extracted.image_size(), (100, 100));
    assert_eq!(origin.total_hits(), 1);
    assert_eq!(origin.hits("/image.jpg"), 1);
    let top = server.get(&format!("/unsafe/100x100/top/http://{host}/image.jpg"));
    assert_eq!(extracted.body, top.body);
}

#[test]
fn redirects_are_followed_up_to_the_limit() {
    let origin = Origin::start("127.0.0.1");
    let server = http_server(&[("HTTP_LOADER_MAX_REDIRECTS", "2")]);
    let host = origin.host();
    assert_eq!(
        server.get(&format!("/unsafe/{host}/redirect/2")).status,
        200
    );
    // One redirect too many: Thumbor answers the last 3xx as "not found".
    assert_eq!(
        server.get(&format!("/unsafe/{host}/redirect/3")).status,
        404
    );
    assert_eq!(origin.hits("/redirect/0"), 1);

    let no_follow = http_server(&[("HTTP_LOADER_FOLLOW_REDIRECTS", "False")]);
    assert_eq!(
        no_follow.get(&format!("/unsafe/{host}/redirect/1")).status,
        404
    );
}

#[test]
fn upstream_failures_map_to_thumbors_statuses_without_leaking_the_cause() {
    let origin = Origin::start("127.0.0.1");
    let server = http_server(&[]);
    let host = origin.host();
    for (path, want) in [
        ("status/403", 404),
        ("status/500", 404),
        ("missing.jpg", 404),
        ("empty.jpg", 502),
    ] {
        let r = server.get(&format!("/unsafe/{host}/{path}"));
        assert_eq!(r.status, want, "{path}");
        let body = String::from_utf8_lossy(&r.body);
        assert!(
            !body.contains("127.0.0.1") && !body.contains(path),
            "{path}: {body}"
        );
    }
    // Connection refused: 502 (Thumbor says 500).
    let r = server.get(&format!("/unsafe/127.0.0.1:{}/image.jpg", closed_port()));
    assert_eq!(r.status, 502);
    assert!(!String::from_utf8_lossy(&r.body).contains("refused"));
}

#[test]
fn slow_origin_is_a_gateway_timeout() {
    let origin = Origin::start("127.0.0.1");
    let server = http_server(&[("HTTP_LOADER_REQUEST_TIMEOUT", "1")]);
    let r = server.get(&format!("/unsafe/{}/slow.jpg", origin.host()));
    assert_eq!(r.status, 504);
}

#[test]
fn oversized_originals_are_refused_while_streaming() {
    let origin = Origin::start("127.0.0.1");
    let server = http_server(&[("MAX_SOURCE_BYTES", "1000000")]);
    let host = origin.host();
    // Declared too large: refused on the headers.
    assert_eq!(
        server
            .get(&format!("/unsafe/{host}/declared-huge.jpg"))
            .status,
        400
    );
    // Streamed without a length: refused once a MB has arrived, long before 64 MB are sent.
    origin.state.huge_sent.store(0, Ordering::SeqCst);
    assert_eq!(server.get(&format!("/unsafe/{host}/huge.jpg")).status, 400);
    // Give the origin a moment to notice the closed connection, then read its count.
    std::thread::sleep(Duration::from_millis(200));
    let sent = origin.state.huge_sent.load(Ordering::SeqCst);
    assert!(
        sent < HUGE_BYTES / 2,
        "origin sent {sent} of {HUGE_BYTES} bytes"
    );
}

#[test]
fn ssrf_guard_refuses_private_addresses_after_resolution_and_on_redirects() {
    let loopback = Origin::start("127.0.0.1");
    let guarded = http_server(&[("HTTP_LOADER_ALLOW_PRIVATE_NETWORKS", "False")]);
    let port = loopback.addr.port();
    for path in [
        format!("/unsafe/127.0.0.1:{port}/image.jpg"),
        format!("/unsafe/http://localhost:{port}/image.jpg"),
        format!("/unsafe/http://[::1]:{port}/image.jpg"),
        format!("/unsafe/http://0x7f.1:{port}/image.jpg"),
        format!("/unsafe/http://[::ffff:127.0.0.1]:{port}/image.jpg"),
    ] {
        assert_eq!(guarded.get(&path).status, 400, "{path}");
    }
    assert_eq!(loopback.total_hits(), 0);

    // An allowed origin (127.0.0.2 only) that redirects to a refused one.
    let allowed = Origin::start("127.0.0.2");
    let server = http_server(&[("HTTP_LOADER_ALLOW_PRIVATE_NETWORKS", "127.0.0.2/32")]);
    let host = allowed.host();
    assert_eq!(server.get(&format!("/unsafe/{host}/image.jpg")).status, 200);
    for target in [
        format!("http://127.0.0.1:{port}/image.jpg"),
        format!("http://localhost:{port}/image.jpg"),
    ] {
        let quoted = target.replace(':', "%253A").replace('/', "%252F");
        let path = format!("/unsafe/{host}/to%3F{quoted}");
        assert_eq!(server.get(&path).status, 400, "{path}");
    }
    assert_eq!(allowed.hits("/to"), 2);
    assert_eq!(loopback.total_hits(), 0);
}

#[test]
fn allowed_sources_refuse_other_hosts() {
    let origin = Origin::start("127.0.0.1");
    let server = http_server(&[("ALLOWED_SOURCES", "images.example.com,127\\.0\\.0\\.\\d+")]);
    assert_eq!(
        server
            .get(&format!("/unsafe/{}/image.jpg", origin.host()))
            .status,
        200
    );
    let strict = http_server(&[("ALLOWED_SOURCES", "images.example.com")]);
    assert_eq!(
        strict
            .get(&format!("/unsafe/{}/image.jpg", origin.host()))
            .status,
        400
    );
    assert_eq!(origin.hits("/image.jpg"), 1);
}

/// An allowed origin cannot redirect the fetch to a host ALLOWED_SOURCES does not list.
#[test]
fn allowed_sources_are_checked_on_every_redirect() {
    let listed = Origin::start("127.0.0.2");
    let unlisted = Origin::start("127.0.0.1");
    let server = http_server(&[("ALLOWED_SOURCES", "127.0.0.2")]);
    let host = listed.host();
    assert_eq!(
        server.get(&format!("/unsafe/{host}/redirect/1")).status,
        200
    );
    let target = format!("http://127.0.0.1:{}/image.jpg", unlisted.addr.port());
    let quoted = target.replace(':', "%253A").replace('/', "%252F");
    let path = format!("/unsafe/{host}/to%3F{quoted}");
    let r = server.get(&path);
    assert_eq!(r.status, 400, "{path}");
    assert_eq!(listed.hits("/to"), 1);
    assert_eq!(unlisted.total_hits(), 0);
}

#[test]
fn file_then_http_fallback_chain() {
    let origin = Origin::start("127.0.0.1");
    let root = corpus();
    let root = root.to_str().unwrap();
    for loader in ["file,http", "thumbor.loaders.file_loader_http_fallback"] {
        let server = http_server(&[("LOADER", loader), ("FILE_LOADER_ROOT_PATH", root)]);
        let local = server.get("/unsafe/50x50/thumbor/images/image.jpg");
        assert_eq!(local.status, 200, "{loader}");
        let remote = server.get(&format!("/unsafe/50x50/{}/image.jpg", origin.host()));
        assert_eq!(remote.status, 200, "{loader}");
        // Missing in the folder, then at the origin.
        let missing = format!("/unsafe/50x50/{}/nowhere.jpg", origin.host());
        assert_eq!(server.get(&missing).status, 404, "{loader}");
        // Missing in the folder, origin down: the last loader's answer.
        let down = format!("/unsafe/50x50/127.0.0.1:{}/nowhere.jpg", closed_port());
        assert_eq!(server.get(&down).status, 502, "{loader}");
    }
    assert_eq!(origin.hits("/image.jpg"), 2);
    assert_eq!(origin.hits("/nowhere.jpg"), 2);
}

/// Sends `paths` all at once from separate threads; returns the statuses.
fn concurrently(server: &Server, paths: Vec<String>) -> Vec<u16> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .into_iter()
            .map(|path| scope.spawn(move || server.get(&path).status))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn fifty_concurrent_identical_requests_fetch_the_origin_once() {
    let origin = Origin::start("127.0.0.1");
    let server = http_server(&[]);
    let path = format!("/unsafe/120x80/{}/merged.jpg", origin.host());
    let statuses = concurrently(&server, vec![path; 50]);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(origin.hits("/merged.jpg"), 1);

    // Different sizes of one original share one load (the source cache merges them), even
    // with the result cache off.
    let origin = Origin::start("127.0.0.1");
    let server = http_server(&[("MEMORY_CACHE_MB", "0"), ("MAX_QUEUED_RENDERS", "64")]);
    let paths = (0..20)
        .map(|i| format!("/unsafe/{}x{}/{}/merged.jpg", 40 + i, 30 + i, origin.host()))
        .collect();
    let statuses = concurrently(&server, paths);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(origin.hits("/merged.jpg"), 1);
}

// ---------------------------------------------------------------------------------------------
// S3: a real S3-compatible server (moto) on loopback.

fn photo() -> Vec<u8> {
    std::fs::read(corpus().join("thumbor/images/image.jpg")).unwrap()
}

/// pictor with the S3 loader on `bucket` of `endpoint`.
fn s3_server(endpoint: &S3Endpoint, bucket: &str, extra: &[(&str, &str)]) -> Server {
    let mut env: Vec<(&str, &str)> = vec![
        ("LOADER", "s3"),
        ("AWS_LOADER_BUCKET_NAME", bucket),
        ("AWS_LOADER_S3_ENDPOINT_URL", &endpoint.url),
        ("AWS_LOADER_S3_ACCESS_KEY_ID", &endpoint.access_key),
        ("AWS_LOADER_S3_SECRET_ACCESS_KEY", &endpoint.secret_key),
    ];
    for (k, v) in extra {
        env.retain(|(key, _)| key != k);
        env.push((k, v));
    }
    Server::start(&env)
}

#[test]
fn s3_loader_loads_and_misses() {
    let (endpoint, _server) = s3();
    let bucket = unique_bucket("originals");
    let photo = photo();
    seed(
        &endpoint,
        &bucket,
        &[
            ("shop/photos/cat.jpg", &photo),
            ("shop/photos/a b.jpg", &photo),
            // thumbor-aws's default AWS_LOADER_ROOT_PATH is `/st`: keys start with a slash.
            ("/st/photos/dog.jpg", &photo),
        ],
    );
    let server = s3_server(&endpoint, &bucket, &[("AWS_LOADER_ROOT_PATH", "shop")]);
    let r = server.get("/unsafe/100x50/photos/cat.jpg");
    assert_eq!(r.status, 200);
    assert_eq!(r.image_size(), (100, 50));
    assert_eq!(server.get("/unsafe/100x50/photos/a%20b.jpg").status, 200);
    let missing = server.get("/unsafe/100x50/photos/missing.jpg");
    assert_eq!(missing.status, 404);
    assert!(!String::from_utf8_lossy(&missing.body).contains(&bucket));

    let default_root = s3_server(&endpoint, &bucket, &[]);
    assert_eq!(default_root.get("/unsafe/photos/dog.jpg").status, 200);
    assert_eq!(default_root.get("/unsafe/photos/cat.jpg").status, 404);

    let wrong_bucket = s3_server(&endpoint, &unique_bucket("nobucket"), &[]);
    assert_eq!(wrong_bucket.get("/unsafe/photos/dog.jpg").status, 404);
}

#[test]
fn s3_wrong_credentials_are_not_found() {
    let (endpoint, _server) = s3();
    let bucket = unique_bucket("secured");
    seed(&endpoint, &bucket, &[("a.jpg", &photo())]);
    let right = s3_server(&endpoint, &bucket, &[("AWS_LOADER_ROOT_PATH", "")]);
    assert_eq!(right.get("/unsafe/a.jpg").status, 200);
    for (key, value) in [
        ("AWS_LOADER_S3_ACCESS_KEY_ID", "AKIANOTAREALKEY00000"),
        ("AWS_LOADER_S3_SECRET_ACCESS_KEY", "not-the-secret"),
    ] {
        let wrong = s3_server(
            &endpoint,
            &bucket,
            &[("AWS_LOADER_ROOT_PATH", ""), (key, value)],
        );
        assert_eq!(wrong.get("/unsafe/a.jpg").status, 404, "{key}");
    }
}

#[test]
fn s3_outage_is_502_or_504_then_recovers() {
    let mut s3 = S3Server::start(0, false);
    let bucket = unique_bucket("flaky");
    seed(&s3.endpoint, &bucket, &[("a.jpg", &photo())]);
    let endpoint = s3.endpoint.clone();
    let server = s3_server(
        &endpoint,
        &bucket,
        &[
            ("AWS_LOADER_ROOT_PATH", ""),
            ("AWS_LOADER_CONNECT_TIMEOUT", "1"),
            ("AWS_LOADER_REQUEST_TIMEOUT", "3"),
            // Every request goes to S3.
            ("SOURCE_CACHE_MB", "0"),
            ("MEMORY_CACHE_MB", "0"),
        ],
    );
    assert_eq!(server.get("/unsafe/20x20/a.jpg").status, 200);

    s3.kill();
    let down = server.get("/unsafe/20x20/a.jpg");
    assert!(matches!(down.status, 502 | 504), "{}", down.status);

    s3.restart();
    seed(&s3.endpoint, &bucket, &[("a.jpg", &photo())]);
    assert_eq!(server.get("/unsafe/20x20/a.jpg").status, 200);
}

fn object_exists(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> bool {
    block_on(async {
        client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .is_ok()
    })
}

#[test]
fn s3_result_storage_is_shared_by_instances() {
    let (endpoint, _server) = s3();
    let bucket = unique_bucket("results");
    seed(&endpoint, &bucket, &[]);
    let storage_env = |root: &str| -> Vec<(String, String)> {
        vec![
            ("LOADER".into(), "file".into()),
            ("FILE_LOADER_ROOT_PATH".into(), root.to_string()),
            ("RESULT_STORAGE".into(), "thumbor_aws.result_storage".into()),
            ("RESULT_STORAGE_STORES_UNSAFE".into(), "True".into()),
            ("AWS_RESULT_STORAGE_BUCKET_NAME".into(), bucket.clone()),
            (
                "AWS_RESULT_STORAGE_S3_ENDPOINT_URL".into(),
                endpoint.url.clone(),
            ),
            (
                "AWS_RESULT_STORAGE_S3_ACCESS_KEY_ID".into(),
                endpoint.access_key.clone(),
            ),
            (
                "AWS_RESULT_STORAGE_S3_SECRET_ACCESS_KEY".into(),
                endpoint.secret_key.clone(),
            ),
            ("METRICS_BIND".into(), "127.0.0.1:0".into()),
        ]
    };
    let start = |env: &[(String, String)]| {
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Server::start(&pairs)
    };
    let corpus_root = corpus();
    let renderer = start(&storage_env(corpus_root.to_str().unwrap()));
    let path = "/unsafe/fit-in/90x90/thumbor/images/image.jpg";
    let first = renderer.get(path);
    assert_eq!(first.status, 200);

    // The write does not delay the response: wait for it to land (bounded).
    let client = sdk(&endpoint);
    let key = "/rs/unsafe/fit-in/90x90/thumbor/images/image.jpg";
    let mut landed = false;
    for _ in 0..100 {
        if object_exists(&client, &bucket, key) {
            landed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(landed, "s3://{bucket}/{key} was never written");

    // A second instance that cannot load any original still serves the result.
    let empty = tempfile::tempdir().unwrap();
    let reader = start(&storage_env(empty.path().to_str().unwrap()));
    let second = reader.get(path);
    assert_eq!(second.status, 200);
    assert_eq!(second.body, first.body);
    assert_eq!(second.header("content-type"), Some("image/jpeg"));
    assert_eq!(second.header("etag"), first.header("etag"));
    let metrics = metrics_text(&reader);
    assert!(
        metrics.contains("pictor_cache_requests_total{tier=\"result_storage\",result=\"hit\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("pictor_origin_fetches_total 0"),
        "{metrics}"
    );
    assert_eq!(
        reader
            .get("/unsafe/fit-in/91x91/thumbor/images/image.jpg")
            .status,
        404
    );
}

#[test]
fn result_storage_outage_degrades_to_rendering() {
    let root = corpus();
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let server = Server::start(&[
        ("FILE_LOADER_ROOT_PATH", root.to_str().unwrap()),
        ("RESULT_STORAGE", "s3"),
        ("RESULT_STORAGE_STORES_UNSAFE", "True"),
        ("AWS_RESULT_STORAGE_S3_ENDPOINT_URL", &endpoint),
        ("AWS_RESULT_STORAGE_S3_ACCESS_KEY_ID", "x"),
        ("AWS_RESULT_STORAGE_S3_SECRET_ACCESS_KEY", "y"),
        ("AWS_RESULT_STORAGE_CONNECT_TIMEOUT", "1"),
    ]);
    for size in ["30x30", "31x31", "32x32"] {
        let r = server.get(&format!("/unsafe/{size}/thumbor/images/image.jpg"));
        assert_eq!(r.status, 200, "{size}");
    }
}

#[test]
fn file_result_storage_is_shared_by_instances() {
    let results = tempfile::tempdir().unwrap();
    let results = results.path().to_str().unwrap().to_string();
    let root = corpus();
    let empty = tempfile::tempdir().unwrap();
    let start = |files: &str| {
        Server::start(&[
            ("FILE_LOADER_ROOT_PATH", files),
            ("RESULT_STORAGE", "file"),
            ("RESULT_STORAGE_FILE_STORAGE_ROOT_PATH", &results),
            ("SECURITY_KEY", "k"),
        ])
    };
    let signed = |path: &str| format!("/{}/{path}", pictor::url::signature::sign(b"k", path));
    let renderer = start(root.to_str().unwrap());
    let path = signed("fit-in/64x64/thumbor/images/image.jpg");
    let first = renderer.get(&path);
    assert_eq!(first.status, 200);
    let reader = start(empty.path().to_str().unwrap());
    let mut second = reader.get(&path);
    for _ in 0..100 {
        if second.status == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        second = reader.get(&path);
    }
    assert_eq!(second.status, 200);
    assert_eq!(second.body, first.body);
    // Unsafe paths are not stored by default: the reader cannot serve them.
    let unsafe_path = "/unsafe/fit-in/65x65/thumbor/images/image.jpg";
    assert_eq!(renderer.get(unsafe_path).status, 200);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(reader.get(unsafe_path).status, 404);
}

fn metrics_text(server: &Server) -> String {
    use std::io::{Read, Write};
    let addr = server.metrics_addr.expect("METRICS_BIND");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}
