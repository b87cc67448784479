//! The imaging handler: parse and authorize the path, answer from the cache, or load the
//! original (and filter assets), render it on the bounded CPU pool, and cache the result.

use super::App;
use crate::cache::Rendered;
use crate::error::PictorError;
use crate::imaging::filters::FilterList;
use crate::imaging::{self, RenderJob};
use crate::url::{self, signature, ImageRequest};
use bytes::Bytes;
use sha1::{Digest, Sha1};
use std::collections::HashMap;
use std::sync::Arc;
use tracing::Instrument;

/// Answers one imaging path. `accept` is the client's Accept header.
pub async fn process_image(
    app: &App,
    path: &str,
    accept: Option<&str>,
) -> Result<Arc<Rendered>, PictorError> {
    let request = url::parse_path(path)?;
    signature::authorize(
        &request,
        &[app.config.security_key.as_bytes()],
        app.config.allow_unsafe_url,
    )?;
    // Thumbor 7.8 tests Accept with a substring match (q-values ignored).
    let accepts_webp =
        app.config.imaging.auto_webp && accept.is_some_and(|a| a.contains("image/webp"));
    let key = cache_key(&request, accepts_webp);
    app.cache
        .get_or_render(key, render_uncached(app, request, accepts_webp))
        .await
}

/// The same path can render differently only by the negotiated format.
fn cache_key(request: &ImageRequest, accepts_webp: bool) -> String {
    let mut key = String::with_capacity(request.signed_path.len() + 6);
    key.push_str(&request.signed_path);
    if accepts_webp {
        key.push_str("|webp");
    }
    key
}

async fn render_uncached(
    app: &App,
    request: ImageRequest,
    accepts_webp: bool,
) -> Result<Rendered, PictorError> {
    let filters = FilterList::parse(request.filters.as_deref().unwrap_or(""));
    let image_url = request.image_url();
    let source = app
        .loader
        .load(&image_url)
        .instrument(tracing::info_span!("load", image = %image_url))
        .await?;
    let assets = load_assets(app, &filters).await?;
    let output = render_on_pool(app, source, request, filters, accepts_webp, assets).await?;
    let body = Bytes::from(output.body);
    let etag = format!("\"{:x}\"", Sha1::digest(&body));
    Ok(Rendered {
        body,
        content_type: output.content_type,
        vary_accept: output.vary_accept,
        max_age: output.max_age,
        etag,
    })
}

/// Images that filters need (watermark, frame), loaded with the same loader. A watermark
/// that cannot be loaded is the client's problem: 400, as Thumbor.
async fn load_assets(
    app: &App,
    filters: &FilterList,
) -> Result<HashMap<String, Bytes>, PictorError> {
    let mut assets = HashMap::new();
    for url in filters.asset_urls() {
        if assets.contains_key(&url) {
            continue;
        }
        let quoted = url::parse::python_quote(&url, b"/");
        match app.loader.load(&quoted).await {
            Ok(bytes) => {
                assets.insert(url, bytes);
            }
            Err(e) => {
                return Err(PictorError::BadRequest(format!(
                    "filter image {url} could not be loaded: {e}"
                )))
            }
        }
    }
    Ok(assets)
}

/// Runs the CPU-bound render on the blocking pool, at most MAX_CONCURRENT_RENDERS at once.
/// A panic inside the render becomes a 500 for this request only.
async fn render_on_pool(
    app: &App,
    source: Bytes,
    request: ImageRequest,
    filters: FilterList,
    accepts_webp: bool,
    assets: HashMap<String, Bytes>,
) -> Result<imaging::RenderOutput, PictorError> {
    let permit = app
        .render_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| PictorError::Overloaded("render pool closed".into()))?;
    let settings = app.config.imaging.clone();
    let span = tracing::info_span!("render");
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let _entered = span.enter();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            imaging::render(
                &source,
                &RenderJob {
                    request: &request,
                    filters: &filters,
                    settings: &settings,
                    accepts_webp,
                    assets: &assets,
                },
            )
        }))
    });
    match task.await {
        Ok(Ok(result)) => result.map_err(PictorError::from),
        Ok(Err(panic)) => Err(PictorError::Internal(format!(
            "render panicked: {}",
            panic_message(&panic)
        ))),
        Err(join_error) => Err(PictorError::Internal(format!(
            "render task failed: {join_error}"
        ))),
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}
