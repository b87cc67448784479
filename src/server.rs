//! The HTTP side: the accept loop (the shared state is [`app::App`]) (HTTP/1.1 keep-alive and h2c,
//! MAX_CONNECTIONS, each connection under its [`connection::watchdog`]), routing to the
//! healthcheck and imaging handlers, and shutdown within SHUTDOWN_TIMEOUT_SECONDS.

pub mod access;
pub mod admission;
pub mod app;
pub mod connection;
pub mod idle_threads;
pub mod imaging;
pub mod preheat;
pub mod request_body;
pub mod response;
pub mod settings;
pub mod signing;

pub use app::App;

use crate::config::Config;
use crate::error::PictorError;
use bytes::Bytes;
use futures_util::FutureExt;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tracing::Instrument;

/// The answer to a connection over MAX_CONNECTIONS, written without reading its request.
const BUSY_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 25\r\nRetry-After: 1\r\nConnection: close\r\n\r\nserver busy, retry later\n";

/// At most one "connection limit reached" warning this often, however many are refused.
const REFUSAL_WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting and lets
/// in-flight requests finish for up to SHUTDOWN_TIMEOUT_SECONDS. Connections still open then
/// are left to the caller, which drops them with the runtime (src/main.rs).
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = Arc::new(app.config.connections.clone());
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let connection_slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut refused_since_warning: u64 = 0;
    let mut last_warning: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of file descriptors and the like: keep serving the others.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // Over MAX_CONNECTIONS: answer at once and close, so the client (or its load
                // balancer) can go elsewhere, and every open connection keeps being served.
                let Ok(slot) = connection_slots.clone().try_acquire_owned() else {
                    let _ = stream.try_write(BUSY_RESPONSE);
                    drop(stream);
                    refused_since_warning += 1;
                    if last_warning.is_none_or(|at| at.elapsed() >= REFUSAL_WARNING_INTERVAL) {
                        tracing::warn!(
                            max_connections = limits.max_connections,
                            refused = refused_since_warning,
                            "MAX_CONNECTIONS reached: refusing new connections"
                        );
                        refused_since_warning = 0;
                        last_warning = Some(Instant::now());
                    }
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let activity = connection::ConnectionActivity::new();
                let app = app.clone();
                let service_activity = activity.clone();
                let service = hyper::service::service_fn(move |req| {
                    let app = app.clone();
                    let in_flight = service_activity.request_started();
                    async move {
                        let response = handle(app, req, peer).await;
                        Ok::<_, Infallible>(
                            response.map(|body| connection::TrackedBody::new(body, in_flight)),
                        )
                    }
                });
                let io = TokioIo::new(connection::WatchedIo::new(stream, activity.clone()));
                let conn = builder.serve_connection_with_upgrades(io, service);
                let conn = graceful.watch(conn.into_owned());
                let limits = limits.clone();
                tokio::spawn(async move {
                    let _slot = slot;
                    tokio::select! {
                        result = conn => {
                            if let Err(e) = result {
                                tracing::debug!(error = %e, "connection closed with error");
                            }
                        }
                        reason = connection::watchdog(&activity, &limits) => {
                            tracing::debug!(%peer, reason, "closing connection");
                        }
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!("shutting down: draining in-flight requests");
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("SHUTDOWN_TIMEOUT_SECONDS over; closing remaining connections");
    }
    Ok(())
}

/// Serves `GET /metrics` (Prometheus text format) on its own listener, off the public port.
pub async fn serve_metrics(app: Arc<App>, listener: TcpListener) {
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let app = app.clone();
            async move {
                Ok::<_, Infallible>(if req.uri().path() == "/metrics" {
                    response::metrics(&app.metrics_text())
                } else {
                    response::plain(StatusCode::NOT_FOUND, "not found")
                })
            }
        });
        let conn = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}

impl App {
    /// Current gauges plus every counter, in Prometheus text format.
    pub fn metrics_text(&self) -> String {
        use std::sync::atomic::Ordering::Relaxed;
        let m = &crate::metrics::METRICS;
        m.memory_cache_bytes
            .store(self.cache.weighted_size(), Relaxed);
        m.queued_renders
            .store(self.admission.queued() as u64, Relaxed);
        m.running_renders.store(
            self.admission
                .running(self.config.admission.max_concurrent_renders) as u64,
            Relaxed,
        );
        m.render()
    }
}

/// The JSONP callback for meta answers: `?callback=` or META_CALLBACK_NAME. Only plain
/// JavaScript identifiers are used, so the name cannot inject script.
fn jsonp_callback<'a>(query: Option<&'a str>, config: &'a Config) -> Option<&'a str> {
    let from_query = query.and_then(|q| {
        q.split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == "callback")
            .map(|(_, v)| v)
    });
    from_query
        .filter(|name| !name.is_empty())
        .or(config.server.meta_callback_name.as_deref())
        .filter(|name| {
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.'))
        })
}

/// Routes one request and writes the access-log line.
async fn handle(app: Arc<App>, req: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let version = req.version();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    // The parent of every span of this request (load, queue, render and the render's stages),
    // so an exported trace shows the whole walk. `otel.kind` marks it as the server side.
    let request_span = tracing::info_span!(
        "request",
        %method,
        path = %path,
        status = tracing::field::Empty,
        otel.kind = "server",
    );
    crate::telemetry::adopt_remote_parent(&request_span, req.headers());
    // A panic anywhere in the handler is this request's 500, never a dropped connection.
    let mut response = match std::panic::AssertUnwindSafe(route(&app, req))
        .catch_unwind()
        .instrument(request_span.clone())
        .await
    {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(parent: &request_span, path = %path, "handler panicked");
            response::plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    };
    request_span.record("status", response.status().as_u16());
    drop(request_span);
    // A body refused part-way (too large, too slow) leaves the rest of it unread on the
    // connection, so it cannot carry another request. (HTTP/2 frames each stream on its own
    // and forbids the header.)
    if matches!(
        response.status(),
        StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::PRECONDITION_FAILED
            | StatusCode::REQUEST_TIMEOUT
    ) && version < http::Version::HTTP_2
    {
        response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    crate::metrics::METRICS
        .record_request(response.status().as_u16(), started.elapsed().as_secs_f64());
    let bytes = response
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("0")
        .to_string();
    tracing::info!(
        target: "pictor::access",
        %peer,
        %method,
        path = %path,
        status = response.status().as_u16(),
        bytes = %bytes,
        ms = format_args!("{:.1}", started.elapsed().as_secs_f64() * 1000.0),
    );
    response
}

async fn route(app: &App, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let head = req.method() == Method::HEAD;
    if app.healthcheck.is_match(path) {
        return match *req.method() {
            Method::GET | Method::HEAD => response::healthcheck(head),
            _ => response::plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
        };
    }
    if crate::upload::handles(app, path) {
        return crate::upload::handle(app, req).await;
    }
    if preheat::handles(app, path) {
        return preheat::handle(app, req).await;
    }
    if path == "/sign" && !app.config.access.signing_apps.is_empty() {
        return signing::handle(&app.config, req).await;
    }
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return response::plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    }
    let from_verified_origin = access::origin_verified(&app.config, req.headers());
    if app.config.access.origin_verify.is_some() && !from_verified_origin {
        return response::plain(StatusCode::FORBIDDEN, "requests must come through the CDN");
    }
    let header =
        |name: http::header::HeaderName| req.headers().get(name).and_then(|v| v.to_str().ok());
    let accept = header(http::header::ACCEPT);
    let if_none_match = header(http::header::IF_NONE_MATCH);
    match imaging::process_image(app, path, accept, from_verified_origin).await {
        Ok(rendered) => {
            let callback = jsonp_callback(req.uri().query(), &app.config);
            match callback.filter(|_| rendered.content_type == "application/json") {
                Some(callback) => {
                    let wrapped = imaging::wrap_jsonp(&rendered, callback);
                    response::image(&app.config, &wrapped, head, if_none_match)
                }
                None => response::image(&app.config, &rendered, head, if_none_match),
            }
        }
        Err(e) => {
            if matches!(e, PictorError::TooLarge(_)) {
                crate::metrics::METRICS.record_refusal(crate::metrics::Refusal::TooLarge);
            }
            let status = e.status();
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                tracing::error!(path, error = %e, "request failed");
            } else if status.is_server_error() {
                tracing::warn!(path, error = %e, "request not served");
            } else {
                tracing::info!(path, error = %e, "request refused");
            }
            response::error(&e)
        }
    }
}
