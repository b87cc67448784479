//! Moderation of uploads (MODERATION_WEBHOOK_URL): every new upload is posted to a classifier
//! as JSON (`id`, `content_type`, `preview`: a JPEG of at most 512x512, base64), which answers
//! `{"flagged": bool, "labels": [...]}`. The verdict goes into the upload's metadata sidecar
//! (`sidecar`), written before the original. Renders read it with the original (the source
//! cache keeps it) and a flagged upload is blurred at every size and format (the pipeline's
//! `moderation_blur` step) or refused with 451 (MODERATION_ACTION).
//!
//! When the classifier fails or does not answer within MODERATION_TIMEOUT_SECONDS,
//! MODERATION_FAIL decides: `open` approves, `closed` holds the upload as `pending`, served as
//! a flagged one, until `pictor moderate --retry` gets a verdict. Held renders are never kept
//! (memory cache, result storage) and are sent with MAX_AGE_TEMP_IMAGE (Thumbor's max-age of
//! temporary results), so the first request after the verdict changes renders anew, even when
//! another process (the retry) changed it.
//!
//! Uploads that arrive without pictor (browser-to-S3 grants write straight to the bucket) have
//! no sidecar: they are moderated at their first load, before anything of them is served.

pub mod settings;
pub mod sidecar;

use super::validate::on_blocking_pool;
use crate::error::PictorError;
use crate::imaging::decode::Probe;
use crate::imaging::{self, RenderJob};
use crate::server::app::App;
use crate::source::cache::Original;
use crate::source::stored::StoredOriginals;
use base64::Engine;
use bytes::Bytes;
use settings::{FailMode, ModerationAction, ModerationSettings};
use sidecar::{read_sidecar, Moderation, Sidecar, Status};
pub use sidecar::{read_verdict, Verdict};
use std::sync::OnceLock;
use std::time::SystemTime;

/// The preview the classifier gets: the upload fitted in 512x512 (never enlarged), as JPEG.
const PREVIEW_PATH: &str = "/unsafe/fit-in/512x512/filters:format(jpeg):quality(85)/preview";

/// The work the preview's panics name (a 500).
const PREVIEW_WORK: &str = "moderation preview";

/// The most bytes of a classifier's answer read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What a render does with an original's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Treatment {
    Sharp,
    /// Blurred (MODERATION_ACTION=blur); `held` while the verdict is pending (not kept).
    Blurred {
        held: bool,
    },
}

/// Moderates a new upload named `name` and writes its sidecar to `area` (where the original
/// goes next). Nothing without MODERATION_WEBHOOK_URL.
pub async fn moderate_upload(
    app: &App,
    area: &StoredOriginals,
    name: &str,
    image: &Bytes,
    probe: &Probe,
    app_name: Option<&str>,
) -> Result<(), PictorError> {
    if !app.config.moderation.enabled() {
        return Ok(());
    }
    let sidecar = judge(app, name, image, Some(probe), app_name).await?;
    area.put_json_at(&area.sidecar_key(name), Bytes::from(sidecar.to_bytes()))
        .await?;
    tracing::info!(
        name,
        status = sidecar.moderation.status.name(),
        "upload moderated"
    );
    Ok(())
}

/// Removes the sidecar of the stored image `name` from `area` (the image was removed).
pub async fn forget_upload(area: &StoredOriginals, name: &str) -> Result<(), PictorError> {
    area.delete_at(&area.sidecar_key(name)).await
}

/// What a render of `original` (loaded as `image_url`) does: sharp, blurred, or a 451.
/// An unchecked upload is moderated now; a held one has its sidecar read again (the retry
/// may have judged it since), and a changed verdict replaces the one kept in memory.
pub async fn treatment(
    app: &App,
    image_url: &str,
    original: &Original,
) -> Result<Treatment, PictorError> {
    let status = match (original.verdict, original.stored_name.as_deref()) {
        (Verdict::None, _) | (_, None) => return Ok(Treatment::Sharp),
        (Verdict::Judged(Status::Pending), Some(name)) => {
            let Some(storage) = app.loader.storage() else {
                return Ok(Treatment::Sharp);
            };
            let verdict = read_verdict(storage, name).await?;
            let status = match verdict {
                Verdict::Judged(status) => status,
                _ => moderate_stored(app, name, &original.bytes).await?,
            };
            if status != Status::Pending {
                app.sources
                    .set_verdict(image_url, Verdict::Judged(status))
                    .await;
                app.cache.invalidate_image(name);
            }
            status
        }
        (Verdict::Unchecked, Some(name)) => {
            let status = moderate_stored(app, name, &original.bytes).await?;
            app.sources
                .set_verdict(image_url, Verdict::Judged(status))
                .await;
            status
        }
        (Verdict::Judged(status), Some(_)) => status,
    };
    applied(&app.config.moderation, status)
}

/// Whether the stored original `name` (with `bytes`) may be served as it is (`GET
/// /image/<id>`): only an approved one; a 451 otherwise, whatever MODERATION_ACTION says
/// (the raw original cannot be blurred).
pub async fn check_original(app: &App, name: &str, bytes: &Bytes) -> Result<(), PictorError> {
    if !app.config.moderation.enabled() {
        return Ok(());
    }
    let Some(storage) = app.loader.storage() else {
        return Ok(());
    };
    let status = match read_verdict(storage, name).await? {
        Verdict::Judged(status) => status,
        _ => moderate_stored(app, name, bytes).await?,
    };
    match status {
        Status::Approved => Ok(()),
        status => Err(withheld(status)),
    }
}

fn applied(settings: &ModerationSettings, status: Status) -> Result<Treatment, PictorError> {
    match (status, settings.action) {
        (Status::Approved, _) => Ok(Treatment::Sharp),
        (_, ModerationAction::Refuse) => Err(withheld(status)),
        (status, ModerationAction::Blur) => Ok(Treatment::Blurred {
            held: status == Status::Pending,
        }),
    }
}

fn withheld(status: Status) -> PictorError {
    PictorError::Withheld(match status {
        Status::Pending => "held until moderation answers".into(),
        _ => "flagged by moderation".into(),
    })
}

/// Moderates a stored original that has no sidecar (a browser-to-S3 upload, or one stored
/// before moderation was on) and writes its sidecar beside it in the active storage.
async fn moderate_stored(app: &App, name: &str, bytes: &Bytes) -> Result<Status, PictorError> {
    let Some(storage) = app.loader.storage() else {
        return Ok(Status::Approved);
    };
    let sidecar = judge(app, name, bytes, None, None).await?;
    storage
        .put_json_at(&storage.sidecar_key(name), Bytes::from(sidecar.to_bytes()))
        .await?;
    tracing::info!(
        name,
        status = sidecar.moderation.status.name(),
        "stored original moderated at its first load"
    );
    Ok(sidecar.moderation.status)
}

/// The sidecar of the image `name`: its facts and the classifier's verdict (or what
/// MODERATION_FAIL makes of a failure). `probe` when the upload check already read the header.
async fn judge(
    app: &App,
    name: &str,
    image: &Bytes,
    probe: Option<&Probe>,
    app_name: Option<&str>,
) -> Result<Sidecar, PictorError> {
    let (preview, header) = preview(app, image).await?;
    let header = probe.cloned().unwrap_or(header);
    let content_type = header.format.mime();
    let moderation = verdict(
        &app.config.moderation,
        classify(&app.config.moderation, name, content_type, &preview).await,
    );
    Ok(Sidecar {
        id: name.to_string(),
        content_type: content_type.to_string(),
        size: image.len() as u64,
        width: header.width,
        height: header.height,
        hash: {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(image);
            format!(
                "sha256:{}",
                digest
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            )
        },
        app: app_name.map(str::to_string),
        uploaded_at: super::grants::iso8601(SystemTime::now()),
        moderation,
    })
}

/// The classifier's answer as a verdict; a failure as MODERATION_FAIL says.
fn verdict(
    settings: &ModerationSettings,
    answer: Result<(bool, Vec<String>), String>,
) -> Moderation {
    let now = Some(super::grants::iso8601(SystemTime::now()));
    match answer {
        Ok((flagged, labels)) => Moderation {
            status: if flagged {
                Status::Flagged
            } else {
                Status::Approved
            },
            labels: sidecar::bounded_labels(labels),
            checked_at: now,
        },
        Err(why) => {
            tracing::warn!(error = why, fail = ?settings.fail, "moderation webhook failed");
            match settings.fail {
                FailMode::Open => Moderation {
                    status: Status::Approved,
                    labels: Vec::new(),
                    checked_at: now,
                },
                FailMode::Closed => Moderation {
                    status: Status::Pending,
                    labels: Vec::new(),
                    checked_at: None,
                },
            }
        }
    }
}

/// The classifier's answer.
#[derive(serde::Deserialize)]
struct Answer {
    flagged: bool,
    #[serde(default)]
    labels: Vec<String>,
}

/// The webhook's client: no redirects, no proxy, the per-request timeout set by each call.
/// The URL is the operator's (MODERATION_WEBHOOK_URL), so the origin guards of the HTTP loader
/// (ALLOWED_SOURCES, private networks) do not apply.
fn client() -> Result<&'static reqwest::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .user_agent(concat!("pictor/", env!("CARGO_PKG_VERSION"), " moderation"))
                .build()
                .map_err(|e| format!("cannot build the webhook client: {e}"))
        })
        .as_ref()
        .map_err(String::clone)
}

/// Posts one upload to the classifier: `(flagged, labels)`, or why there is no answer (an
/// error, a status other than 2xx, a body that is not the expected JSON, a timeout).
pub async fn classify(
    settings: &ModerationSettings,
    id: &str,
    content_type: &str,
    preview_jpeg: &[u8],
) -> Result<(bool, Vec<String>), String> {
    let url = settings
        .webhook_url
        .as_deref()
        .ok_or_else(|| "no MODERATION_WEBHOOK_URL".to_string())?;
    let body = serde_json::json!({
        "id": id,
        "content_type": content_type,
        "preview": base64::engine::general_purpose::STANDARD.encode(preview_jpeg),
    });
    let call = async {
        let mut response = client()?
            .post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| crate::error::cause_chain(&e))?;
        if !response.status().is_success() {
            return Err(format!("the classifier answered {}", response.status()));
        }
        let mut answer = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| crate::error::cause_chain(&e))?
        {
            if answer.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(format!("the answer is over {MAX_ANSWER_BYTES} bytes"));
            }
            answer.extend_from_slice(&chunk);
        }
        let answer: Answer = serde_json::from_slice(&answer)
            .map_err(|e| format!(r#"expected {{"flagged": bool, "labels": [...]}}: {e}"#))?;
        Ok((answer.flagged, answer.labels))
    };
    match tokio::time::timeout(settings.timeout, call).await {
        Ok(answer) => answer,
        Err(_) => Err(format!(
            "no answer within MODERATION_TIMEOUT_SECONDS={}",
            settings.timeout.as_secs_f64()
        )),
    }
}

/// The classifier's preview of `image` and its header: rendered on the blocking pool under the
/// render admission (a slot, then the render's estimated memory), as every render is.
async fn preview(app: &App, image: &Bytes) -> Result<(Vec<u8>, Probe), PictorError> {
    let request = crate::url::parse_path(PREVIEW_PATH)?;
    let settings = app.config.imaging.clone();
    let slot = app.admission.slot().await?;
    let (probing, settings_for_probe, request_for_probe) =
        (image.clone(), settings.clone(), request.clone());
    let (slot, header, estimate) = on_blocking_pool(PREVIEW_WORK, move || {
        let job = RenderJob::new(&request_for_probe, &settings_for_probe);
        let header = imaging::pipeline::probe_header(&probing, &settings_for_probe)?;
        let estimate = imaging::estimate::render_memory_bytes(&probing, &header, &job)?;
        Ok((slot, header, estimate))
    })
    .await?;
    let permit = app.admission.memory(slot, estimate).await?;
    let image = image.clone();
    on_blocking_pool(PREVIEW_WORK, move || {
        let _permit = permit;
        let job = RenderJob::new(&request, &settings);
        let output = imaging::pipeline::render_probed(&image, &header, &job)?;
        Ok((output.body, header))
    })
    .await
}

/// What `pictor moderate --retry` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetrySummary {
    /// Sidecars read.
    pub examined: usize,
    /// Of them, pending ones sent to the classifier again.
    pub retried: usize,
    pub approved: usize,
    pub flagged: usize,
    /// Still pending (the classifier failed again).
    pub still_pending: usize,
    /// Sidecars that could not be read, or whose original is gone.
    pub skipped: usize,
    /// A listing stopped at MAX_LIST_KEYS: run again for the rest.
    pub truncated: bool,
}

/// Sends every pending upload (sidecars with status `pending`, in the active storage and the
/// incoming area) to the classifier again and writes the verdicts it gets. A running server
/// reads a held upload's sidecar on each request, so it serves the new verdict at once.
pub async fn retry_pending(app: &App) -> Result<RetrySummary, PictorError> {
    let mut summary = RetrySummary::default();
    let Some(storage) = app.loader.storage() else {
        return Ok(summary);
    };
    let areas = std::iter::once(storage).chain(storage.incoming());
    for area in areas {
        let (keys, truncated) = area.sidecar_keys().await?;
        summary.truncated |= truncated;
        for key in keys {
            summary.examined += 1;
            let Some(mut sidecar) = read_sidecar(area, &key).await? else {
                summary.skipped += 1;
                continue;
            };
            if sidecar.moderation.status != Status::Pending {
                continue;
            }
            summary.retried += 1;
            let original_key = key.strip_suffix(".json").unwrap_or(&key);
            let Some(original) = area
                .get_at(original_key, app.config.source.max_source_bytes)
                .await?
            else {
                summary.skipped += 1;
                continue;
            };
            let (preview, _) = preview(app, &original.body).await?;
            let answer = classify(
                &app.config.moderation,
                &sidecar.id,
                &sidecar.content_type,
                &preview,
            )
            .await;
            // A retry that fails again leaves the upload held, whatever MODERATION_FAIL says.
            let Ok(answer) = answer else {
                summary.still_pending += 1;
                continue;
            };
            sidecar.moderation = verdict(&app.config.moderation, Ok(answer));
            match sidecar.moderation.status {
                Status::Flagged => summary.flagged += 1,
                _ => summary.approved += 1,
            }
            area.put_json_at(&key, Bytes::from(sidecar.to_bytes()))
                .await?;
            tracing::info!(
                id = sidecar.id,
                status = sidecar.moderation.status.name(),
                "held upload moderated"
            );
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_follow_moderation_fail() {
        let mut settings = ModerationSettings::default();
        let flagged = verdict(&settings, Ok((true, vec!["nudity".into()])));
        assert_eq!(flagged.status, Status::Flagged);
        assert_eq!(flagged.labels, ["nudity"]);
        assert!(flagged.checked_at.is_some());
        assert_eq!(
            verdict(&settings, Ok((false, vec![]))).status,
            Status::Approved
        );
        let held = verdict(&settings, Err("down".into()));
        assert_eq!((held.status, held.checked_at), (Status::Pending, None));
        settings.fail = FailMode::Open;
        assert_eq!(
            verdict(&settings, Err("down".into())).status,
            Status::Approved
        );
    }

    #[test]
    fn actions() {
        let mut settings = ModerationSettings::default();
        assert_eq!(
            applied(&settings, Status::Approved).unwrap(),
            Treatment::Sharp
        );
        assert_eq!(
            applied(&settings, Status::Flagged).unwrap(),
            Treatment::Blurred { held: false }
        );
        assert_eq!(
            applied(&settings, Status::Pending).unwrap(),
            Treatment::Blurred { held: true }
        );
        settings.action = ModerationAction::Refuse;
        for status in [Status::Flagged, Status::Pending] {
            let e = applied(&settings, status).unwrap_err();
            assert_eq!(e.status(), http::StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS);
        }
    }
}
