//! Building responses: image headers a CDN can trust (Cache-Control, Expires, ETag, Vary),
//! conditional 304s, the healthcheck, and short plain-text errors.

use crate::cache::Rendered;
use crate::config::Config;
use crate::error::PictorError;
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;
use std::time::{Duration, SystemTime};

const SERVER: &str = concat!("pictor/", env!("CARGO_PKG_VERSION"));

fn builder(status: StatusCode) -> http::response::Builder {
    Response::builder()
        .status(status)
        .header(header::SERVER, SERVER)
}

fn finish(builder: http::response::Builder, body: Bytes) -> Response<Full<Bytes>> {
    builder
        .body(Full::new(body))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// A short plain-text answer (errors, 405).
pub fn plain(status: StatusCode, line: &str) -> Response<Full<Bytes>> {
    let body = Bytes::from(format!("{line}\n"));
    finish(
        builder(status)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .header(header::CONTENT_LENGTH, body.len()),
        body,
    )
}

/// The Prometheus text exposition.
pub fn metrics(text: &str) -> Response<Full<Bytes>> {
    let body = Bytes::from(text.to_string());
    finish(
        builder(StatusCode::OK)
            .header(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )
            .header(header::CONTENT_LENGTH, body.len()),
        body,
    )
}

/// A JSON answer (the signing endpoint).
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Full<Bytes>> {
    let body = Bytes::from(value.to_string());
    finish(
        builder(status)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CACHE_CONTROL, "no-store")
            .header(header::CONTENT_LENGTH, body.len()),
        body,
    )
}

/// An answer without a body (204; 201 with its `Location`), as Thumbor's upload API gives.
pub fn empty(status: StatusCode, location: Option<HeaderValue>) -> Response<Full<Bytes>> {
    let mut b = builder(status);
    if let Some(location) = location {
        b = b.header(header::LOCATION, location);
    }
    if status != StatusCode::NO_CONTENT {
        b = b.header(header::CONTENT_LENGTH, 0);
    }
    finish(b, Bytes::new())
}

pub fn error(e: &PictorError) -> Response<Full<Bytes>> {
    let mut response = plain(e.status(), e.public_reason());
    if e.status() == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

pub fn healthcheck(head: bool) -> Response<Full<Bytes>> {
    let body = Bytes::from_static(b"WORKING");
    finish(
        builder(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/html; charset=UTF-8")
            .header(header::CACHE_CONTROL, "no-cache")
            // Tornado tags every GET body; this is the SHA-1 of "WORKING".
            .header(header::ETAG, "\"92263e087855af5c050ad1ff7a821310056cdbbf\"")
            .header(header::CONTENT_LENGTH, body.len()),
        if head { Bytes::new() } else { body },
    )
}

/// The answer for a rendered image (or meta JSON). HEAD gets the same headers, no body.
pub fn image(
    config: &Config,
    rendered: &Rendered,
    head: bool,
    if_none_match: Option<&str>,
) -> Response<Full<Bytes>> {
    let mut b = builder(StatusCode::OK).header(header::CONTENT_TYPE, rendered.content_type);
    let max_age = rendered.max_age.unwrap_or(config.cache.max_age);
    if max_age > 0 {
        let expires = SystemTime::now() + Duration::from_secs(max_age.into());
        b = b
            .header(header::CACHE_CONTROL, format!("max-age={max_age},public"))
            .header(header::EXPIRES, httpdate::fmt_http_date(expires));
    }
    if rendered.vary_accept {
        b = b.header(header::VARY, "Accept");
    }
    if config.cache.enable_etags {
        if let Ok(v) = HeaderValue::from_str(&rendered.etag) {
            b = b.header(header::ETAG, v);
        }
        if if_none_match.is_some_and(|inm| etag_matches(inm, &rendered.etag)) {
            return finish(b.status(StatusCode::NOT_MODIFIED), Bytes::new());
        }
    }
    b = b.header(header::CONTENT_LENGTH, rendered.body.len());
    finish(
        b,
        if head {
            Bytes::new()
        } else {
            rendered.body.clone()
        },
    )
}

/// If-None-Match: `*`, or any listed tag equal to ours (weak comparison, as Tornado).
fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let ours = etag.trim_start_matches("W/");
    if_none_match
        .split(',')
        .map(|t| t.trim())
        .any(|t| t == "*" || t.trim_start_matches("W/") == ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_forms() {
        assert!(etag_matches("\"abc\"", "\"abc\""));
        assert!(etag_matches("\"x\", W/\"abc\"", "\"abc\""));
        assert!(etag_matches("*", "\"abc\""));
        assert!(!etag_matches("\"abd\"", "\"abc\""));
        assert!(!etag_matches("abc", "\"abc\""));
    }
}
