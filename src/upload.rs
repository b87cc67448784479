//! Taking originals in: Thumbor's upload API (`/image`, `/image/<id>`: `thumbor_api`) and the
//! JSON upload of apps that post base64 (`/uploads`: `json_upload`) and browser-to-S3 upload
//! grants (`/uploads/grants`: `grants`); with UPLOAD_ACTIVATION uploads land in an incoming
//! area and `activation` (`/images/<id>/activate`) makes them public. Every upload is read with
//! a size cap while it streams in and checked (`validate`) before anything is stored; what is
//! stored goes to the storage of originals (`source::stored`), which the loader reads first, so
//! an upload renders like any image. With MODERATION_WEBHOOK_URL, `moderation` has every new
//! upload judged by a classifier and keeps the verdict in a sidecar beside it. `settings` reads
//! the UPLOAD_* keys; `multipart` reads the form uploads of `POST /image`.

pub mod activation;
pub mod grants;
pub mod json_upload;
pub mod moderation;
pub mod multipart;
pub mod settings;
pub mod thumbor_api;
pub mod validate;

use crate::error::PictorError;
use crate::server::app::App;
use crate::server::response;
use crate::server::settings::SigningApp;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use std::io::Read;

/// Whether `path` is an upload endpoint on this server: `/image…` with UPLOAD_ENABLED, and
/// `/uploads` (and `/uploads/grants`) when apps have keys (SIGNING_API_KEYS) and there is a storage of originals.
pub fn handles(app: &App, path: &str) -> bool {
    let config = &app.config;
    (config.upload.enabled && (path == "/image" || path.starts_with("/image/")))
        || ((path == "/uploads" || path == "/uploads/grants")
            && !config.access.signing_apps.is_empty()
            && app.loader.storage().is_some())
        || (config.upload.activation
            && path.starts_with("/images/")
            && path.ends_with("/activate")
            && app.loader.storage().is_some())
}

/// Answers an upload endpoint's request (`handles` said it is one).
pub async fn handle(app: &App, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let answer = if path == "/uploads" {
        json_upload::handle(app, req).await
    } else if path == "/uploads/grants" {
        grants::handle(app, req).await
    } else if path.starts_with("/images/") {
        activation::handle(app, req).await
    } else {
        thumbor_api::handle(app, req).await
    };
    answer.unwrap_or_else(|e| refusal(&path, &e))
}

/// Queues every preset of the upload `name` (PRESETS) for rendering into result storage in the
/// background, so its first visitors (and the CDN) find them rendered; the job is `owner`'s
/// (an app name; empty for Thumbor's API). Called once the upload is active: at once without
/// UPLOAD_ACTIVATION, at its activation with it. Nothing without PRESETS or RESULT_STORAGE.
/// A queue that refuses
/// (full, or SQS unreachable) does not fail the upload: the presets then render at their first
/// request. Returns the job's id.
pub(crate) async fn prerender_presets(app: &App, name: &str, owner: &str) -> Option<String> {
    let presets = &app.config.presets;
    if presets.is_empty() || !app.result_storage.is_on() {
        return None;
    }
    match app
        .background
        .submit_for(owner, presets.paths_for(name))
        .await
    {
        Ok(job) => {
            tracing::info!(name, %job, "presets of the upload queued");
            Some(job.to_string())
        }
        Err(e) => {
            tracing::warn!(name, error = %e, "presets of the upload not queued; they render on demand");
            None
        }
    }
}

/// The app whose key the request presents; 401 without one.
fn authorised<'a>(app: &'a App, headers: &http::HeaderMap) -> Result<&'a SigningApp, PictorError> {
    crate::server::signing::app_for_key(&app.config, headers)
        .ok_or_else(|| PictorError::Unauthorized("missing or wrong API key".into()))
}

/// A UUID4 as 32 hex digits (Python's `uuid.uuid4().hex`), from the kernel's random source.
pub(crate) fn random_id() -> Result<String, PictorError> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| PictorError::Internal(format!("no random source: {e}")))?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// An upload refused: the status of its error and one line saying why (4xx name the limit or
/// the check that failed; 5xx only the public reason).
fn refusal(path: &str, e: &PictorError) -> Response<Full<Bytes>> {
    let status = e.status();
    if status.is_server_error() {
        tracing::warn!(path, error = %e, "upload failed");
        return response::error(e);
    }
    tracing::info!(path, error = %e, "upload refused");
    let mut r = response::json(status, &serde_json::json!({ "error": e.to_string() }));
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer"),
        );
    }
    r
}

/// The opening of the POST-only JSON endpoints: the method, the app whose API key the request
/// carries, and the storage of originals it writes to (`endpoint` names it in the error).
fn post_for_app<'a>(
    app: &'a App,
    req: &Request<Incoming>,
    endpoint: &str,
) -> Result<(&'a SigningApp, &'a crate::source::stored::StoredOriginals), PictorError> {
    require_post(req.method())?;
    let signing_app = authorised(app, req.headers())?;
    let storage = app
        .loader
        .storage()
        .ok_or_else(|| PictorError::Internal(format!("{endpoint} without a storage")))?;
    Ok((signing_app, storage))
}

/// The 405 of the POST-only upload endpoints for any other method.
fn require_post(method: &http::Method) -> Result<(), PictorError> {
    if method == http::Method::POST {
        return Ok(());
    }
    Err(PictorError::MethodNotAllowed(format!(
        "{method} here; use POST"
    )))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_uuid4_hex() {
        let id = super::random_id().unwrap();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(&id[12..13], "4");
        assert_ne!(id, super::random_id().unwrap());
    }
}
