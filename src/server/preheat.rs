//! The pre-heat endpoint: `POST /preheat` with `{"paths": [...]}` (paths as after the
//! signature) queues them as one background job and answers 202 `{"job": "<id>"}` with a
//! `Location` at once; `GET /preheat/<id>` answers what became of them so far. Both need an
//! app's API key (`Authorization: Bearer`, as `/sign`); the paths are confined to the app's
//! image prefix as `/sign` confines what it signs, and a job's status is its app's alone.

use super::response;
use super::signing::{app_for_key, check_image_prefix, Refusal};
use super::App;
use crate::error::PictorError;
use crate::jobs::message::parse_preheat_body;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use serde_json::json;

/// Whether `path` is the pre-heat endpoint's (only when apps with API keys are configured).
pub fn handles(app: &App, path: &str) -> bool {
    !app.config.access.signing_apps.is_empty()
        && (path == "/preheat" || path.starts_with("/preheat/"))
}

pub async fn handle<B>(app: &App, req: Request<B>) -> Response<Full<Bytes>>
where
    B: hyper::body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match answer(app, req).await {
        Ok(response) => response,
        Err(Refusal(status, message)) => {
            let mut r = response::json(status, &json!({ "error": message }));
            if status == StatusCode::UNAUTHORIZED {
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            if status == StatusCode::SERVICE_UNAVAILABLE {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            r
        }
    }
}

/// A refusal carrying the error's status (error.rs) and its own words.
fn refusal(e: PictorError) -> Refusal {
    let message = match &e {
        PictorError::BadRequest(m) | PictorError::Overloaded(m) => m.clone(),
        other => other.to_string(),
    };
    Refusal(e.status(), message)
}

async fn answer<B>(app: &App, req: Request<B>) -> Result<Response<Full<Bytes>>, Refusal>
where
    B: hyper::body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let signing_app = app_for_key(&app.config, req.headers())
        .ok_or_else(|| refusal(PictorError::Unauthorized("missing or wrong API key".into())))?;
    let path = req.uri().path().to_string();
    match (req.method().clone(), path.strip_prefix("/preheat/")) {
        (Method::POST, None) => {
            if !app.result_storage.is_on() {
                return Err(refusal(PictorError::BadRequest(
                    "pre-heat renders into result storage: set RESULT_STORAGE".into(),
                )));
            }
            let body = super::request_body::read_capped(req.into_body(), &app.config.connections)
                .await
                .map_err(|e| Refusal(e.status(), e.to_string()))?;
            let paths = parse_preheat_body(&body)
                .map_err(|e| refusal(PictorError::BadRequest(e.to_string())))?;
            for path in &paths {
                check_image_prefix(&app.config, signing_app, path)?;
            }
            let job = app
                .background
                .submit_for(&signing_app.name, paths)
                .await
                .map_err(refusal)?;
            let mut r = response::json(StatusCode::ACCEPTED, &json!({ "job": job.0 }));
            if let Ok(location) = HeaderValue::from_str(&format!("/preheat/{job}")) {
                r.headers_mut().insert(header::LOCATION, location);
            }
            Ok(r)
        }
        (Method::GET, Some(id)) => match app.background.status(id, &signing_app.name) {
            Some(status) => Ok(response::json(
                StatusCode::OK,
                &serde_json::to_value(&status).unwrap_or_default(),
            )),
            None => Err(Refusal(
                StatusCode::NOT_FOUND,
                "no such job here (unknown, another app's, or forgotten)".into(),
            )),
        },
        _ => Err(refusal(PictorError::MethodNotAllowed(
            "use POST /preheat or GET /preheat/<job>".into(),
        ))),
    }
}
