//! Thumbor 7.8's upload API (`thumbor/handlers/upload.py`, `image_resource.py`), with
//! UPLOAD_ENABLED:
//! - `POST /image`: the image as the body (a `Slug` header names it) or as the `media` file
//!   of a form → 201, `Location: <request uri>/<32 hex id>/<filename>` (a random UUID4 id; the
//!   filename is UPLOAD_DEFAULT_FILENAME plus an extension when the upload names none);
//! - `GET`/`HEAD /image/<id>[/…]` → the stored original (the id is cut to MAX_ID_LENGTH, 32,
//!   so the whole Location works), 404 when there is none;
//! - `PUT /image/<id>` → 204 replaces (UPLOAD_PUT_ALLOWED, else 405);
//! - `DELETE /image/<id>` → 204, 404 when there is none (UPLOAD_DELETE_ALLOWED, else 405);
//! - any other method → 405; over UPLOAD_MAX_SIZE → 412; not an image → 415.

use super::{authorised, multipart, validate};
use crate::cache::Rendered;
use crate::error::PictorError;
use crate::server::app::App;
use crate::server::{request_body, response};
use crate::source::stored::StoredOriginals;
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use sha1::{Digest, Sha1};

/// Thumbor's MAX_ID_LENGTH: names under `/image/` are cut to this many characters.
const MAX_ID_LENGTH: usize = 32;

pub async fn handle(
    app: &App,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, PictorError> {
    let storage = app
        .loader
        .storage()
        .ok_or_else(|| PictorError::Internal("uploads are on without a storage".into()))?;
    let path = req.uri().path();
    let method = req.method().clone();
    if path == "/image" {
        return match method {
            Method::POST => post(app, storage, req).await,
            _ => Err(not_allowed(&method, "POST")),
        };
    }
    let id = image_id(&path["/image/".len()..]);
    match method {
        Method::GET | Method::HEAD => get(app, storage, &id, &req).await,
        Method::PUT => {
            if !app.config.upload.put_allowed {
                return Err(PictorError::MethodNotAllowed(
                    "replacing uploads is off (UPLOAD_PUT_ALLOWED)".into(),
                ));
            }
            put(app, storage, &id, req).await
        }
        Method::DELETE => {
            if !app.config.upload.delete_allowed {
                return Err(PictorError::MethodNotAllowed(
                    "removing uploads is off (UPLOAD_DELETE_ALLOWED)".into(),
                ));
            }
            delete(app, storage, &id, req.headers()).await
        }
        _ => Err(not_allowed(&method, "GET, HEAD, PUT or DELETE")),
    }
}

fn not_allowed(method: &Method, allowed: &str) -> PictorError {
    PictorError::MethodNotAllowed(format!("{method} here; use {allowed}"))
}

/// The stored name of `/image/<rest>`: percent-decoded (as Tornado decodes path arguments),
/// then cut to MAX_ID_LENGTH characters.
fn image_id(rest: &str) -> String {
    percent_encoding::percent_decode_str(rest)
        .decode_utf8_lossy()
        .chars()
        .take(MAX_ID_LENGTH)
        .collect()
}

/// With UPLOAD_REQUIRE_KEY, a write needs an app's key.
fn check_key(app: &App, headers: &http::HeaderMap) -> Result<(), PictorError> {
    if app.config.upload.require_key {
        authorised(app, headers)?;
    }
    Ok(())
}

/// The request body, refused as it streams in once over the upload limit: 412 (Thumbor's
/// answer) over UPLOAD_MAX_SIZE, 413 over MAX_SOURCE_BYTES when UPLOAD_MAX_SIZE is 0.
async fn read_upload(app: &App, body: Incoming) -> Result<Bytes, PictorError> {
    let upload = &app.config.upload;
    let limit = upload.byte_limit(app.config.source.max_source_bytes);
    let limits = crate::server::settings::ConnectionLimits {
        max_request_body_bytes: limit,
        ..app.config.connections.clone()
    };
    match request_body::read_capped(body, &limits).await {
        Err(PictorError::BodyTooLarge(_)) if upload.max_size != 0 => {
            Err(PictorError::PreconditionFailed(format!(
                "the upload is over UPLOAD_MAX_SIZE={}",
                upload.max_size
            )))
        }
        other => other,
    }
}

async fn post(
    app: &App,
    storage: &StoredOriginals,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, PictorError> {
    check_key(app, req.headers())?;
    let (parts, body) = req.into_parts();
    let header = |name: header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let content_type = header(header::CONTENT_TYPE).map(str::to_string);
    let slug = parts
        .headers
        .get("slug")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let body = read_upload(app, body).await?;
    // A form with a `media` file is read as the file; anything else is the image itself.
    let form_file = content_type
        .as_deref()
        .and_then(multipart::boundary)
        .and_then(|boundary| {
            multipart::find_file(&body, &boundary, "media")
                .map(|part| (body.slice_ref(part.body), part.filename))
        });
    let (image, filename) = match form_file {
        Some((image, filename)) => (image, Some(filename)),
        None => (body, slug),
    };
    let probe = validate::check_image(app, &image).await?;
    let filename = match filename.filter(|f| !f.is_empty()) {
        Some(name) => name,
        None => {
            let extension = content_type
                .as_deref()
                .and_then(|t| python_extension(t.split(';').next().unwrap_or("").trim()))
                .or_else(|| thumbor_mime(&image).and_then(python_extension))
                .unwrap_or("");
            format!("{}{extension}", app.config.upload.default_filename)
        }
    };
    let id = super::random_id()?;
    let area = storage.upload_area();
    super::moderation::moderate_upload(app, area, &id, &image, &probe, None).await?;
    area.put(&id, image, probe.format.mime(), Default::default())
        .await?;
    tracing::info!(id, format = probe.format.name(), "upload stored");
    if storage.incoming().is_none() {
        super::prerender_presets(app, &id, "").await;
    }
    let base = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/image");
    Ok(response::empty(
        StatusCode::CREATED,
        Some(header_value(&format!("{base}/{id}/{filename}"))),
    ))
}

async fn get(
    app: &App,
    storage: &StoredOriginals,
    id: &str,
    req: &Request<Incoming>,
) -> Result<Response<Full<Bytes>>, PictorError> {
    let Some(object) = storage.get(id, app.config.source.max_source_bytes).await? else {
        return Err(PictorError::NotFound("no image at the given URL".into()));
    };
    super::moderation::check_original(app, id, &object.body).await?;
    let rendered = Rendered {
        content_type: crate::imaging::decode::sniff(&object.body)
            .map(|f| f.mime())
            .unwrap_or("application/octet-stream"),
        etag: format!("\"{:x}\"", Sha1::digest(&object.body)),
        body: object.body,
        vary_accept: false,
        max_age: None,
    };
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    Ok(response::image(
        &app.config,
        &rendered,
        req.method() == Method::HEAD,
        if_none_match,
    ))
}

async fn put(
    app: &App,
    storage: &StoredOriginals,
    id: &str,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, PictorError> {
    check_key(app, req.headers())?;
    let image = read_upload(app, req.into_body()).await?;
    let probe = validate::check_image(app, &image).await?;
    // With UPLOAD_ACTIVATION a replacement, too, waits in the incoming area for activation.
    let area = storage.upload_area();
    super::moderation::moderate_upload(app, area, id, &image, &probe, None).await?;
    area.put(id, image, probe.format.mime(), Default::default())
        .await?;
    forget(app, id);
    if storage.incoming().is_none() {
        // Results stored for the image it replaces are current to result storage (kept until
        // RESULT_STORAGE_EXPIRATION_SECONDS, as in Thumbor), so only missing ones render.
        super::prerender_presets(app, id, "").await;
    }
    Ok(response::empty(StatusCode::NO_CONTENT, None))
}

async fn delete(
    app: &App,
    storage: &StoredOriginals,
    id: &str,
    headers: &http::HeaderMap,
) -> Result<Response<Full<Bytes>>, PictorError> {
    check_key(app, headers)?;
    let incoming = storage.incoming();
    let in_incoming = match incoming {
        Some(area) => area.head(id).await?.is_some(),
        None => false,
    };
    if !in_incoming && storage.head(id).await?.is_none() {
        return Err(PictorError::NotFound("no image at the given URL".into()));
    }
    storage.delete(id).await?;
    super::moderation::forget_upload(storage, id).await?;
    if let Some(area) = incoming {
        area.delete(id).await?;
        super::moderation::forget_upload(area, id).await?;
    }
    forget(app, id);
    Ok(response::empty(StatusCode::NO_CONTENT, None))
}

/// Drops what this instance keeps in memory of the image `id` (its original and renders), so
/// a replaced or removed upload is not served from memory. (Results in RESULT_STORAGE are
/// kept until RESULT_STORAGE_EXPIRATION_SECONDS, as in Thumbor.)
fn forget(app: &App, id: &str) {
    app.sources.invalidate_image(id);
    app.cache.invalidate_image(id);
}

/// Thumbor's own sniffing (`BaseEngine.get_mimetype`), which knows fewer formats than
/// pictor's: what it does not know gets no extension.
fn thumbor_mime(bytes: &[u8]) -> Option<&'static str> {
    use crate::imaging::ImageFormat;
    match crate::imaging::decode::sniff(bytes)? {
        ImageFormat::Bmp | ImageFormat::Psd => None,
        ImageFormat::Jp2 if !bytes.starts_with(b"\x00\x00\x00\x0c") => None,
        format => Some(format.mime()),
    }
}

/// Python's `mimetypes.guess_extension(type, strict=False)` for the types an upload can name
/// (Thumbor's `.jpe` already read as `.jpg`).
fn python_extension(content_type: &str) -> Option<&'static str> {
    Some(match content_type.to_ascii_lowercase().as_str() {
        "image/jpeg" | "image/pjpeg" => ".jpg",
        "image/png" => ".png",
        "image/gif" => ".gif",
        "image/webp" => ".webp",
        "image/avif" => ".avif",
        "image/tiff" => ".tiff",
        "image/bmp" => ".bmp",
        "image/heif" => ".heif",
        "image/heic" => ".heic",
        "image/jp2" => ".jp2",
        "image/svg+xml" => ".svg",
        "image/x-icon" | "image/vnd.microsoft.icon" => ".ico",
        "application/octet-stream" => ".bin",
        "text/plain" => ".txt",
        "text/html" => ".html",
        "application/json" => ".json",
        "application/pdf" => ".pdf",
        _ => return None,
    })
}

/// `Location` as a header value: bytes a header cannot hold (controls, non-ASCII) escaped.
fn header_value(location: &str) -> HeaderValue {
    let text =
        percent_encoding::utf8_percent_encode(location, percent_encoding::CONTROLS).to_string();
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("/image"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_under_image_are_cut_to_32() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(image_id(&format!("{id}/cat.jpg")), id);
        assert_eq!(image_id("a%20b"), "a b");
        assert_eq!(image_id(""), "");
    }

    #[test]
    fn locations_are_header_values() {
        assert_eq!(header_value("/image/x/a b.jpg"), "/image/x/a b.jpg");
        assert_eq!(header_value("/image/x/é\n.jpg"), "/image/x/%C3%A9%0A.jpg");
    }
}
