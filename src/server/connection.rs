//! The life of one client connection: what it is doing (reading a request header, waiting
//! idle between requests, or serving a request) and when it has had long enough.
//!
//! hyper's own `header_read_timeout` is not used: it starts when hyper begins reading a header,
//! which on a kept-alive connection is the moment the previous response went out, so it would
//! also be the idle timeout; and it does not run while the HTTP/1-or-2 sniff of a new
//! connection waits for its first bytes, so a client that connects and sends nothing would be
//! kept forever. The [`watchdog`] here sees the connection from the socket up instead:
//!
//! - a new connection must deliver its first request header within HTTP_HEADER_READ_TIMEOUT
//!   of connecting (a silent client, a slow header, a slow HTTP/2 preface);
//! - between requests, a connection may sit idle for HTTP_IDLE_TIMEOUT; once bytes of the
//!   next HTTP/1 request arrive, its header must be complete within HTTP_HEADER_READ_TIMEOUT;
//! - while a request's handler runs nothing here applies: REQUEST_TIMEOUT_SECONDS bounds the
//!   handler and HTTP_BODY_READ_TIMEOUT_SECONDS the request body it reads;
//! - once every handler has answered, a response the client does not take (an HTTP/2 client
//!   that never opens its flow-control window, a reader that stops reading) may go
//!   HTTP_IDLE_TIMEOUT without a byte written.
//!
//! HTTP/2 connections carry PINGs and WINDOW_UPDATEs between requests, which are not the start
//! of a request, so on them only the idle rule applies after the first request.

use super::settings::ConnectionLimits;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Body, Frame, SizeHint};
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// "Not set" for the millisecond timestamps below.
const UNSET: u64 = u64::MAX;

/// The first bytes of an HTTP/2 prior-knowledge connection (RFC 9113 §3.4); no HTTP/1 method
/// starts like this.
const H2_PREFACE_START: &[u8; 4] = b"PRI ";

/// What one connection has been doing, shared by its socket wrapper ([`WatchedIo`]), its
/// requests ([`InFlight`]) and its [`watchdog`]. Times are milliseconds since `opened`.
pub struct ConnectionActivity {
    opened: Instant,
    /// Requests whose handler is running or whose response body hyper still holds.
    in_flight: AtomicUsize,
    /// Of those, the ones whose handler is still running.
    handlers_running: AtomicUsize,
    /// Whether any request has started on this connection.
    served_any: AtomicBool,
    /// The connection speaks HTTP/2 (it began with the preface).
    http2: AtomicBool,
    /// When the last request finished (or the connection opened).
    quiet_since_ms: AtomicU64,
    /// When the first byte arrived while no request was in flight: the start of the next
    /// request's header. UNSET until then.
    request_bytes_since_ms: AtomicU64,
    /// When the socket last accepted response bytes, or a handler last answered: a client
    /// still taking its response is being served.
    last_write_ms: AtomicU64,
    /// Wakes the watchdog when its deadline may have moved earlier or appeared.
    changed: Notify,
}

impl ConnectionActivity {
    pub fn new() -> Arc<ConnectionActivity> {
        Arc::new(ConnectionActivity {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            handlers_running: AtomicUsize::new(0),
            served_any: AtomicBool::new(false),
            http2: AtomicBool::new(false),
            quiet_since_ms: AtomicU64::new(0),
            request_bytes_since_ms: AtomicU64::new(UNSET),
            last_write_ms: AtomicU64::new(0),
            changed: Notify::new(),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(UNSET - 1)
    }

    fn at(&self, ms: u64) -> Instant {
        self.opened + Duration::from_millis(ms)
    }

    /// A request's header has been read and its handler is about to run; the returned guard
    /// ends the request when dropped (with the response body, or with the handler if the
    /// client goes away first).
    pub fn request_started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.handlers_running.fetch_add(1, Ordering::SeqCst);
        self.served_any.store(true, Ordering::SeqCst);
        self.request_bytes_since_ms.store(UNSET, Ordering::SeqCst);
        self.changed.notify_one();
        InFlight {
            activity: self.clone(),
            handler_running: true,
        }
    }

    fn saw_request_bytes(&self) {
        if self.in_flight.load(Ordering::SeqCst) == 0
            && self.request_bytes_since_ms.load(Ordering::Relaxed) == UNSET
        {
            self.request_bytes_since_ms
                .store(self.now_ms(), Ordering::SeqCst);
            self.changed.notify_one();
        }
    }

    /// When the connection is to be closed if nothing changes, and why; `None` while a
    /// handler runs.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<(Instant, &'static str)> {
        if self.handlers_running.load(Ordering::SeqCst) > 0 {
            return None;
        }
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return Some((
                self.at(self.last_write_ms.load(Ordering::SeqCst)) + limits.idle_timeout,
                "response not taken for HTTP_IDLE_TIMEOUT_SECONDS",
            ));
        }
        if !self.served_any.load(Ordering::SeqCst) {
            return Some((
                self.opened + limits.header_read_timeout,
                "no request header within HTTP_HEADER_READ_TIMEOUT_SECONDS",
            ));
        }
        let request_bytes_since = self.request_bytes_since_ms.load(Ordering::SeqCst);
        if request_bytes_since != UNSET && !self.http2.load(Ordering::SeqCst) {
            return Some((
                self.at(request_bytes_since) + limits.header_read_timeout,
                "request header not complete within HTTP_HEADER_READ_TIMEOUT_SECONDS",
            ));
        }
        let quiet_since = self
            .quiet_since_ms
            .load(Ordering::SeqCst)
            .max(self.last_write_ms.load(Ordering::SeqCst));
        Some((
            self.at(quiet_since) + limits.idle_timeout,
            "idle for HTTP_IDLE_TIMEOUT_SECONDS",
        ))
    }
}

/// One request in flight on a connection; see [`ConnectionActivity::request_started`].
pub struct InFlight {
    activity: Arc<ConnectionActivity>,
    handler_running: bool,
}

impl InFlight {
    /// The handler has answered; what is left is handing the response to the client.
    fn handler_finished(&mut self) {
        if std::mem::take(&mut self.handler_running) {
            let activity = &self.activity;
            // The idle clock of an untaken response starts from its answer.
            activity
                .last_write_ms
                .store(activity.now_ms(), Ordering::SeqCst);
            activity.handlers_running.fetch_sub(1, Ordering::SeqCst);
            activity.changed.notify_one();
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.handler_finished();
        let activity = &self.activity;
        activity
            .quiet_since_ms
            .store(activity.now_ms(), Ordering::SeqCst);
        if activity.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            activity.changed.notify_one();
        }
    }
}

/// A response body that keeps its request in flight until hyper has taken all of it.
pub struct TrackedBody {
    inner: Full<Bytes>,
    _in_flight: InFlight,
}

impl TrackedBody {
    pub fn new(inner: Full<Bytes>, mut in_flight: InFlight) -> TrackedBody {
        in_flight.handler_finished();
        TrackedBody {
            inner,
            _in_flight: in_flight,
        }
    }
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The client socket, noting in [`ConnectionActivity`] when request bytes arrive and response
/// bytes leave.
pub struct WatchedIo<T> {
    inner: T,
    activity: Arc<ConnectionActivity>,
    /// The connection's first bytes, until there are enough to tell HTTP/2 from HTTP/1.
    first_bytes: [u8; H2_PREFACE_START.len()],
    first_bytes_len: usize,
}

impl<T> WatchedIo<T> {
    pub fn new(inner: T, activity: Arc<ConnectionActivity>) -> WatchedIo<T> {
        WatchedIo {
            inner,
            activity,
            first_bytes: [0; H2_PREFACE_START.len()],
            first_bytes_len: 0,
        }
    }

    fn note_read(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let wanted = H2_PREFACE_START.len();
        if self.first_bytes_len < wanted {
            let take = (wanted - self.first_bytes_len).min(bytes.len());
            self.first_bytes[self.first_bytes_len..self.first_bytes_len + take]
                .copy_from_slice(&bytes[..take]);
            self.first_bytes_len += take;
            if self.first_bytes_len == wanted && &self.first_bytes == H2_PREFACE_START {
                self.activity.http2.store(true, Ordering::SeqCst);
            }
        }
        self.activity.saw_request_bytes();
    }

    fn note_written(&self, written: usize) {
        if written > 0 {
            self.activity
                .last_write_ms
                .store(self.activity.now_ms(), Ordering::SeqCst);
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WatchedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.note_read(&buf.filled()[before..]);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WatchedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(written)) = polled {
            this.note_written(written);
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, data);
        if let Poll::Ready(Ok(written)) = polled {
            this.note_written(written);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Resolves, with the reason, when the connection has overstayed one of its limits (see the
/// module notes); the caller then drops the connection, which closes the socket.
pub async fn watchdog(activity: &ConnectionActivity, limits: &ConnectionLimits) -> &'static str {
    loop {
        match activity.deadline(limits) {
            None => activity.changed.notified().await,
            Some((deadline, reason)) => {
                if Instant::now() >= deadline {
                    return reason;
                }
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => {}
                    _ = activity.changed.notified() => {}
                }
            }
        }
    }
}
