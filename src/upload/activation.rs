//! `POST /images/<id>/activate` (UPLOAD_ACTIVATION): the owning API, holding API_SECRET_KEY
//! as a Bearer token, makes an upload public by moving it from the incoming area to the
//! storage the loader reads. The move is copy-then-delete, so it is idempotent: a retry, or a
//! second call, answers 200 again. Wrong or missing secret → 401; an id in neither area → 404.

use crate::error::PictorError;
use crate::server::app::App;
use crate::server::{request_body, response};
use crate::source::stored::Activation;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use subtle::ConstantTimeEq;

/// The id in `/images/<id>/activate` (percent-decoded; JSON upload ids hold slashes).
pub fn activation_id(path: &str) -> Option<String> {
    let id = path.strip_prefix("/images/")?.strip_suffix("/activate")?;
    let id = percent_encoding::percent_decode_str(id)
        .decode_utf8()
        .ok()?;
    (!id.is_empty()
        && !id.starts_with('/')
        && !id.split('/').any(|part| part == ".." || part == "."))
    .then(|| id.into_owned())
}

pub async fn handle(
    app: &App,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, PictorError> {
    super::require_post(req.method())?;
    check_secret(app, req.headers())?;
    let id = activation_id(req.uri().path())
        .ok_or_else(|| PictorError::BadRequest("expected /images/<id>/activate".into()))?;
    let storage = app
        .loader
        .storage()
        .ok_or_else(|| PictorError::Internal("activation without a storage".into()))?;
    // Nothing is read from the body, but it is drained within the usual bounds.
    request_body::read_capped(req.into_body(), &app.config.connections).await?;
    let activation = storage
        .activate(&id, app.config.source.max_source_bytes)
        .await?
        .ok_or_else(|| PictorError::NotFound("no upload with this id".into()))?;
    // A render of the id from before the move (a 404 or an older replacement) is not kept.
    app.sources.invalidate_image(&id);
    app.cache.invalidate_image(&id);
    let state = match activation {
        Activation::Moved => "activated",
        Activation::AlreadyActive => "already active",
    };
    tracing::info!(id, state, "upload activation");
    let mut answer = serde_json::json!({ "id": id, "active": true, "state": state });
    if let Some(job) = super::prerender_presets(app, &id, "").await {
        answer["prerender_job"] = job.into();
    }
    Ok(response::json(StatusCode::OK, &answer))
}

/// `Authorization: Bearer <API_SECRET_KEY>`, compared in constant time.
fn check_secret(app: &App, headers: &http::HeaderMap) -> Result<(), PictorError> {
    let secret = app.config.upload.api_secret_key.as_deref().unwrap_or("");
    let presented = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    if secret.is_empty()
        || presented.is_empty()
        || !bool::from(secret.as_bytes().ct_eq(presented.as_bytes()))
    {
        return Err(PictorError::Unauthorized(
            "missing or wrong API_SECRET_KEY".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::activation_id;

    #[test]
    fn ids_in_activation_paths() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            activation_id(&format!("/images/{id}/activate")).as_deref(),
            Some(id)
        );
        assert_eq!(
            activation_id("/images/blog/ab.jpg/activate").as_deref(),
            Some("blog/ab.jpg")
        );
        assert_eq!(
            activation_id("/images/blog%2Fab.jpg/activate").as_deref(),
            Some("blog/ab.jpg")
        );
        for bad in [
            "/images//activate",
            "/images/activate",
            "/images/../x/activate",
            "/images/a/activate/x",
        ] {
            assert_eq!(activation_id(bad), None, "{bad}");
        }
    }
}
