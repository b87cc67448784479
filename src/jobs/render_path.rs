//! One path into result storage: the render every background job does (a pre-heat path, a
//! preset of a new upload, `pictor regenerate`). The path is signed with SECURITY_KEY and goes
//! through the same checks and render as a visitor's request (`server::access`,
//! `server::imaging`), but not through the memory cache; what is stored is what that request
//! would have stored, under the same name, so visitors and the CDN find it.

use super::{Background, BackgroundRenderer, StoredOutcome};
use crate::error::PictorError;
use crate::server::admission::Priority;
use crate::server::app::App;
use crate::url::{signature, ImageRequest};

/// The name result storage keeps the result of `path` under (as after the signature; presets
/// allowed), as a visitor's request would store it: for a preset path, its result key (presets
/// and their definitions' fingerprint, no signature); for any other path, the path signed with
/// SECURITY_KEY. With the request it names, checked as a visitor's would be.
pub fn stored_path(app: &App, path: &str) -> Result<(String, ImageRequest), PictorError> {
    let path = path.trim_start_matches('/');
    let signed = format!(
        "/{}/{path}",
        signature::sign(app.config.access.security_key.as_bytes(), path)
    );
    let request = crate::server::access::authorized_request(&app.config, &signed, false)?;
    let name = request.result_name(&signed).to_string();
    Ok((name, request))
}

/// Renders `path` (as after the signature, e.g. `preset:thumb/photos/a.jpg`) into result
/// storage, and with AUTO_WEBP its WebP variant too, unless a current result is stored already
/// (a HEAD, not a render) and `force` is off. Returns once the results are written. An upload
/// moderation holds (verdict pending) is a 451 failure: its blurred stand-in is stored nowhere.
pub async fn render_into_result_storage(
    app: &App,
    path: &str,
    force: bool,
    priority: Priority,
) -> Result<StoredOutcome, PictorError> {
    if !app.result_storage.is_on() {
        return Err(PictorError::BadRequest(
            "pre-rendering renders into result storage: set RESULT_STORAGE".into(),
        ));
    }
    let (name, request) = stored_path(app, path)?;
    if !app.result_storage.applies_to(&request) {
        return Err(PictorError::BadRequest(
            "result storage does not keep this path".into(),
        ));
    }
    let variants: &[bool] = if app.config.imaging.auto_webp {
        &[false, true]
    } else {
        &[false]
    };
    let mut outcome = StoredOutcome::AlreadyStored;
    for &webp in variants {
        if !force && app.result_storage.contains(&name, webp).await? {
            continue;
        }
        let rendered =
            crate::server::imaging::render_for_storage(app, request.clone(), webp, priority)
                .await?;
        app.result_storage.store(&name, webp, &rendered).await?;
        outcome = StoredOutcome::Rendered;
    }
    Ok(outcome)
}

/// The queue's workers render at background priority: never ahead of a visitor.
impl BackgroundRenderer for App {
    fn background(&self) -> &Background {
        &self.background
    }

    async fn render_to_storage(&self, path: &str) -> Result<StoredOutcome, PictorError> {
        render_into_result_storage(self, path, false, Priority::Background).await
    }
}
