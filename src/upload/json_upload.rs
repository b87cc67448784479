//! `POST /uploads`: apps that post base64 (`{"data": {"image": "<base64>"}, "metadata":
//! {...}}`) with their API key (SIGNING_API_KEYS). The original is stored under
//! `<app prefix>/<hex digest of its bytes>.<extension>` (UPLOAD_ID_HASH: md5, as the buckets
//! of such apps are keyed, or sha256), so the same bytes give the same name and are stored
//! once. The answer names the image and gives a signed URL of the original and, with PRESETS,
//! of each preset of it.

use super::validate;
use crate::error::PictorError;
use crate::server::app::App;
use crate::server::{request_body, response};
use crate::url::signature;
use base64::Engine;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Most bytes of `metadata` kept (as S3 user metadata, whose whole limit is 2 KB).
const MAX_METADATA_BYTES: usize = 1024;
/// Room in the body for the JSON around the base64 text.
const JSON_OVERHEAD_BYTES: u64 = 16 * 1024;

#[derive(Deserialize)]
struct UploadBody {
    data: UploadData,
    #[serde(default)]
    metadata: Option<Value>,
}

#[derive(Deserialize)]
struct UploadData {
    image: String,
}

pub async fn handle(
    app: &App,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, PictorError> {
    let (signing_app, storage) = super::post_for_app(app, &req, "JSON uploads")?;
    let limit = app
        .config
        .upload
        .byte_limit(app.config.source.max_source_bytes);
    // The base64 of `limit` bytes, and the JSON around it; refused as it streams in past that.
    let limits = crate::server::settings::ConnectionLimits {
        max_request_body_bytes: limit.div_ceil(3) * 4 + JSON_OVERHEAD_BYTES,
        ..app.config.connections.clone()
    };
    let body = request_body::read_capped(req.into_body(), &limits).await?;
    let parsed: UploadBody = serde_json::from_slice(&body).map_err(|_| {
        PictorError::BadRequest(r#"expected {"data": {"image": "<base64>"}}"#.into())
    })?;
    drop(body);
    let metadata = match parsed.metadata {
        None | Some(Value::Null) => None,
        Some(value @ Value::Object(_)) => {
            let text = value.to_string();
            if text.len() > MAX_METADATA_BYTES {
                return Err(PictorError::BadRequest(format!(
                    "metadata is over {MAX_METADATA_BYTES} bytes"
                )));
            }
            Some((value, text))
        }
        Some(_) => {
            return Err(PictorError::BadRequest(
                "metadata must be a JSON object".into(),
            ))
        }
    };
    let image = decode_base64(&parsed.data.image)?;
    if image.len() as u64 > limit {
        return Err(PictorError::BodyTooLarge(limit));
    }
    let image = Bytes::from(image);
    let probe = validate::check_image(app, &image).await?;
    let name = format!(
        "{}{}.{}",
        signing_app.image_prefix,
        digest(app.config.upload.id_hash, &image),
        validate::extension(probe.format)
    );
    // Stored once: already active, or still waiting in the incoming area (UPLOAD_ACTIVATION).
    let stored = match storage.head(&name).await? {
        Some(_) => true,
        None => match storage.incoming() {
            Some(area) => area.head(&name).await?.is_some(),
            None => false,
        },
    };
    let created = match stored {
        true => false,
        false => {
            let mut attributes = BTreeMap::new();
            attributes.insert("pictor-app".to_string(), signing_app.name.clone());
            if let Some((_, text)) = &metadata {
                attributes.insert("pictor-metadata".to_string(), text.clone());
            }
            let area = storage.upload_area();
            super::moderation::moderate_upload(
                app,
                area,
                &name,
                &image,
                &probe,
                Some(&signing_app.name),
            )
            .await?;
            area.put(&name, image, probe.format.mime(), attributes)
                .await?;
            tracing::info!(name, app = signing_app.name, "JSON upload stored");
            true
        }
    };
    let signed = format!(
        "/{}/{name}",
        signature::sign(app.config.access.security_key.as_bytes(), &name)
    );
    let mut answer = json!({
        "id": name,
        "path": name,
        "signed": signed,
        "created": created,
        "content_type": probe.format.mime(),
        "width": probe.width,
        "height": probe.height,
    });
    if let Some(base) = &app.config.access.public_base_url {
        answer["url"] = json!(format!("{base}{signed}"));
    }
    if !app.config.presets.is_empty() {
        let key = app.config.access.security_key.as_bytes();
        answer["presets"] = json!(app.config.presets.signed_paths(key, &name));
    }
    if created && storage.incoming().is_none() {
        if let Some(job) = super::prerender_presets(app, &name, &signing_app.name).await {
            answer["prerender_job"] = job.into();
        }
    }
    if let Some((value, _)) = metadata {
        answer["metadata"] = value;
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(response::json(status, &answer))
}

/// The image's bytes from base64 (standard alphabet, padding optional; a `data:…;base64,`
/// URL prefix is allowed, as browsers' `readAsDataURL` makes).
fn decode_base64(text: &str) -> Result<Vec<u8>, PictorError> {
    let text = match text.strip_prefix("data:") {
        Some(rest) => rest
            .split_once(',')
            .filter(|(kind, _)| kind.ends_with(";base64"))
            .map(|(_, data)| data)
            .ok_or_else(|| PictorError::BadRequest("a data URL that is not base64".into()))?,
        None => text,
    };
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine
        .decode(text.trim())
        .map_err(|e| PictorError::BadRequest(format!("data.image is not base64: {e}")))
}

/// The hex digest naming an upload.
fn digest(hash: super::settings::IdHash, bytes: &[u8]) -> String {
    use super::settings::IdHash;
    let raw: Vec<u8> = match hash {
        IdHash::Md5 => {
            use md5::Digest;
            md5::Md5::digest(bytes).to_vec()
        }
        IdHash::Sha256 => {
            use sha2::Digest;
            sha2::Sha256::digest(bytes).to_vec()
        }
    };
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upload::settings::IdHash;

    #[test]
    fn digests() {
        assert_eq!(
            digest(IdHash::Md5, b"abc"),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            digest(IdHash::Sha256, b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn base64_forms() {
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert_eq!(decode_base64("aGk").unwrap(), b"hi");
        assert_eq!(decode_base64("data:image/png;base64,aGk=").unwrap(), b"hi");
        assert!(decode_base64("data:image/png,hi").is_err());
        assert!(decode_base64("not base64!").is_err());
    }
}
