//! The signing endpoint (`GET`/`POST /sign`): apps holding an API key get signed Thumbor paths
//! without ever holding SECURITY_KEY, each app limited to its own image prefix. With PRESETS,
//! `{"preset": "thumb", "image": "a.jpg"}` signs `preset:thumb/a.jpg`, and every path is
//! checked as the server will expand it (an unknown preset is a 400 here too).

use super::response;
use super::settings::SigningApp;
use crate::config::Config;
use crate::url::build::{build_path, StructuredOptions, PATH_TEXT_SAFE};
use crate::url::{self, signature};
use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use serde::Deserialize;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

/// Most URLs signed in one request.
const MAX_URLS: usize = 1000;

/// One thing to sign: path text (`300x200/smart/cat.jpg`), a preset of an image, or
/// structured options.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SignItem {
    Path(String),
    Preset(PresetOfImage),
    Structured(StructuredOptions),
}

/// `{"preset": "thumb", "image": "photos/a.jpg"}`: the image a plain name, encoded here.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetOfImage {
    preset: String,
    image: String,
}

/// The body forms of `POST /sign`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SignBody {
    One { url: String },
    Many { urls: Vec<SignItem> },
    Preset(PresetOfImage),
    Structured(StructuredOptions),
}

/// A refusal: status plus the JSON error message.
pub(super) struct Refusal(pub(super) StatusCode, pub(super) String);

pub async fn handle<B>(config: &Config, req: Request<B>) -> Response<Full<Bytes>>
where
    B: hyper::body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match sign_request(config, req).await {
        Ok(body) => response::json(StatusCode::OK, &body),
        Err(Refusal(status, message)) => {
            let mut r = response::json(status, &json!({ "error": message }));
            if status == StatusCode::UNAUTHORIZED {
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer"),
                );
            }
            r
        }
    }
}

async fn sign_request<B>(config: &Config, req: Request<B>) -> Result<Value, Refusal>
where
    B: hyper::body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let app = authenticate(config, req.headers())?;
    let (batch, items) = match *req.method() {
        Method::GET => (false, vec![SignItem::Path(query_url(req.uri().query())?)]),
        Method::POST => read_body(config, req).await?,
        _ => {
            return Err(Refusal(
                StatusCode::METHOD_NOT_ALLOWED,
                "use GET /sign?url=... or POST /sign".into(),
            ))
        }
    };
    if items.len() > MAX_URLS {
        return Err(bad(format!("at most {MAX_URLS} urls per request")));
    }
    let mut signed = Vec::with_capacity(items.len());
    for item in items {
        let path = item_path(item)?;
        check_image_prefix(config, app, &path)?;
        signed.push(format!(
            "/{}/{}",
            signature::sign(config.access.security_key.as_bytes(), &path),
            path
        ));
    }
    let full = |s: &String| {
        config
            .access
            .public_base_url
            .as_ref()
            .map(|base| format!("{base}{s}"))
    };
    Ok(if batch {
        let mut body = json!({ "signed": signed });
        if config.access.public_base_url.is_some() {
            body["urls"] = json!(signed.iter().filter_map(full).collect::<Vec<_>>());
        }
        body
    } else {
        let one = &signed[0];
        let mut body = json!({ "signed": one });
        if let Some(url) = full(one) {
            body["url"] = json!(url);
        }
        body
    })
}

fn bad(message: String) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, message)
}

/// `Authorization: Bearer <key>`, compared in constant time against every app's key.
fn authenticate<'c>(
    config: &'c Config,
    headers: &http::HeaderMap,
) -> Result<&'c SigningApp, Refusal> {
    app_for_key(config, headers)
        .ok_or_else(|| Refusal(StatusCode::UNAUTHORIZED, "missing or wrong API key".into()))
}

/// The app whose key `Authorization: Bearer <key>` presents (every key compared in constant
/// time); `None` when the header is missing or the key is no app's. Also the key check of the
/// upload endpoints.
pub fn app_for_key<'c>(config: &'c Config, headers: &http::HeaderMap) -> Option<&'c SigningApp> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)?;
    let mut found = None;
    for app in &config.access.signing_apps {
        if bool::from(app.key.as_bytes().ct_eq(presented.as_bytes())) {
            found = Some(app);
        }
    }
    found
}

fn query_url(query: Option<&str>) -> Result<String, Refusal> {
    query
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "url")
        .map(|(_, v)| {
            // Query strings encode spaces as '+'; the path text itself must keep its escapes.
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
        .ok_or_else(|| bad("missing ?url=".into()))
}

async fn read_body<B>(config: &Config, req: Request<B>) -> Result<(bool, Vec<SignItem>), Refusal>
where
    B: hyper::body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // MAX_REQUEST_BODY_BYTES (413) and HTTP_BODY_READ_TIMEOUT_SECONDS (408).
    let body = super::request_body::read_capped(req.into_body(), &config.connections)
        .await
        .map_err(|e| Refusal(e.status(), e.to_string()))?;
    let parsed: SignBody = serde_json::from_slice(&body).map_err(|_| {
        bad(r#"expected {"url": "..."}, {"urls": [...]} or structured options with "image""#.into())
    })?;
    Ok(match parsed {
        SignBody::One { url } => (false, vec![SignItem::Path(url)]),
        SignBody::Many { urls } => (true, urls),
        SignBody::Preset(preset) => (false, vec![SignItem::Preset(preset)]),
        SignBody::Structured(options) => (false, vec![SignItem::Structured(options)]),
    })
}

/// The path text to sign (no leading `/`, no signature), validated against the grammar.
fn item_path(item: SignItem) -> Result<String, Refusal> {
    let path = match item {
        SignItem::Path(text) => text.trim_start_matches('/').to_string(),
        SignItem::Structured(options) => build_path(&options.to_url_options().map_err(bad)?),
        SignItem::Preset(PresetOfImage { preset, image }) => format!(
            "preset:{preset}/{}",
            url::parse::python_quote(image.trim_start_matches('/'), PATH_TEXT_SAFE)
        ),
    };
    if path.is_empty() {
        return Err(bad("empty url".into()));
    }
    if path.starts_with("unsafe/") {
        return Err(bad("give the path without 'unsafe/' or a signature".into()));
    }
    Ok(path)
}

/// The app may only sign paths whose every loaded name (image, `extract_focal()` original,
/// watermark and frame images) lies under its prefix, as the loaders will see it
/// (`url::confine`). With presets, the path is checked as the server expands it. Also the
/// check of `POST /preheat`'s paths.
pub(super) fn check_image_prefix(
    config: &Config,
    app: &SigningApp,
    path: &str,
) -> Result<(), Refusal> {
    if app.image_prefix.is_empty() && config.presets.is_empty() {
        return Ok(());
    }
    // Parsed exactly as the signed path will be: the signature segment is consumed the same
    // way whether it is `unsafe` or a hash.
    let request = url::parse_path(&format!("/unsafe/{path}"))
        .map_err(|_| bad(format!("{path:?} is not a Thumbor path")))?;
    let request = config
        .presets
        .expand(request)
        .map_err(|e| bad(e.to_string()))?;
    if app.image_prefix.is_empty() {
        return Ok(());
    }
    url::confine::confine(&request, &app.image_prefix).map_err(|escape| {
        Refusal(
            StatusCode::FORBIDDEN,
            format!(
                "app {:?} may only sign images under {:?}: {escape}",
                app.name, app.image_prefix
            ),
        )
    })
}
