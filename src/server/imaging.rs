//! The imaging handler: parse and authorize the path, answer from the memory cache, then from
//! result storage, or load the original (and filter assets), render it on the bounded CPU
//! pool, and keep the result in both. Background work (pre-heat, presets of uploads,
//! regenerate) takes the same walk without the caches ([`render_for_storage`], called by
//! `jobs::render_path`), usually at background priority.

use super::admission::{IdleGate, Priority};
use super::app::App;
use crate::cache::focal_points::OriginalFocalPoints;
use crate::cache::{self, FocalPointCache, Rendered};
use crate::error::PictorError;
use crate::imaging::detect::DetectionMemo;
use crate::imaging::filters::FocalPoint;
use crate::imaging::pipeline::BetweenSteps;
use crate::imaging::{self, RenderJob};
use crate::metrics::Refusal;
use crate::upload::moderation::{self, Treatment};
use crate::url::{self, ImageRequest};
use bytes::Bytes;
use sha1::{Digest, Sha1};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Answers one imaging path. `accept` is the client's Accept header; `from_verified_origin`
/// says the request came through the CDN (see `access`).
pub async fn process_image(
    app: &App,
    path: &str,
    accept: Option<&str>,
    from_verified_origin: bool,
) -> Result<Arc<Rendered>, PictorError> {
    let request = super::access::authorized_request(&app.config, path, from_verified_origin)?;
    // Thumbor 7.8 tests Accept with a substring match (q-values ignored).
    let accepts = Accepts {
        webp: app.config.imaging.auto_webp && accept.is_some_and(|a| a.contains("image/webp")),
        avif: app.config.imaging.auto_avif && accept.is_some_and(|a| a.contains("image/avif")),
    };
    let key = cache_key(&request, accepts);
    let metrics = &crate::metrics::METRICS;
    if let Some(hit) = app.cache.get(&key).await {
        metrics.memory_cache_hits.fetch_add(1, Ordering::Relaxed);
        return Ok(hit);
    }
    metrics.memory_cache_misses.fetch_add(1, Ordering::Relaxed);
    let timeout = Duration::from_secs(app.config.admission.request_timeout_seconds);
    // Result storage keys results by path and WebP negotiation only: AVIF answers skip it.
    let stored = app.result_storage.applies_to(&request) && !accepts.avif;
    // A preset's result is named by its presets' definitions, not by the path as sent.
    let stored_path = request.result_name(path).to_string();
    // Set by a render of an upload that moderation holds: such a render is kept nowhere, so
    // the first request after its verdict renders anew.
    let held = AtomicBool::new(false);
    let rendered = app
        .cache
        .get_or_render(key.clone(), async {
            if stored {
                if let Some(hit) = app.result_storage.get(&stored_path, accepts.webp).await {
                    return Ok(hit);
                }
            }
            let render = render_uncached(app, request, accepts, Priority::Urgent, timeout, &held);
            let rendered = tokio::time::timeout(timeout, render)
                .await
                .unwrap_or_else(|_| {
                    metrics.record_refusal(Refusal::Deadline);
                    Err(not_done_in_time(timeout))
                })?;
            if stored && !held.load(Ordering::Relaxed) {
                app.result_storage
                    .put(&stored_path, accepts.webp, &rendered);
            }
            Ok(rendered)
        })
        .await?;
    if held.load(Ordering::Relaxed) {
        app.cache.invalidate(&key).await;
    }
    Ok(rendered)
}

/// Renders `request` (already authorized and expanded) without the caches, as a request whose
/// Accept allows WebP (when `accepts_webp` and AUTO_WEBP) and nothing else negotiable would get
/// it, under REQUEST_TIMEOUT_SECONDS and the same admission as visitors' renders (at
/// `priority`): for pre-rendering into result storage (`jobs::render_path`). A render of an
/// upload moderation holds is a 451: its blurred stand-in is not to be stored.
///
/// A background render's deadline runs from when it gets its slot: it may wait behind visitors
/// for as long as they keep the pool busy.
pub async fn render_for_storage(
    app: &App,
    request: ImageRequest,
    accepts_webp: bool,
    priority: Priority,
) -> Result<Rendered, PictorError> {
    let accepts = Accepts {
        webp: accepts_webp && app.config.imaging.auto_webp,
        avif: false,
    };
    let timeout = Duration::from_secs(app.config.admission.request_timeout_seconds);
    let held = AtomicBool::new(false);
    let render = render_uncached(app, request, accepts, priority, timeout, &held);
    let outcome = if priority == Priority::Urgent {
        tokio::time::timeout(timeout, render).await
    } else {
        // The deadline is set when the slot is granted (`render_uncached`).
        Ok(render.await)
    };
    let rendered = outcome.unwrap_or_else(|_| Err(not_done_in_time(timeout)))?;
    if held.load(Ordering::Relaxed) {
        // Its blurred stand-in is kept nowhere; the next run renders the judged image.
        return Err(PictorError::Withheld(
            "held: the upload's moderation verdict is pending".into(),
        ));
    }
    Ok(rendered)
}

/// The 504 of a render not done within REQUEST_TIMEOUT_SECONDS.
fn not_done_in_time(timeout: Duration) -> PictorError {
    PictorError::GatewayTimeout(format!(
        "not done within REQUEST_TIMEOUT_SECONDS={}",
        timeout.as_secs()
    ))
}

/// A meta answer wrapped as JSONP: `callback({...});` served as `text/javascript`.
pub fn wrap_jsonp(rendered: &Rendered, callback: &str) -> Rendered {
    let mut body = Vec::with_capacity(rendered.body.len() + callback.len() + 3);
    body.extend_from_slice(callback.as_bytes());
    body.push(b'(');
    body.extend_from_slice(&rendered.body);
    body.extend_from_slice(b");");
    let body = Bytes::from(body);
    Rendered {
        etag: format!("\"{:x}\"", Sha1::digest(&body)),
        body,
        content_type: "text/javascript",
        vary_accept: rendered.vary_accept,
        max_age: rendered.max_age,
    }
}

/// Which negotiable formats the client's Accept allows (only those whose AUTO_* is on).
#[derive(Debug, Clone, Copy)]
struct Accepts {
    webp: bool,
    avif: bool,
}

/// The same path can render differently only by the negotiated format (and, with presets, by
/// their definitions, which the preset's result key holds).
fn cache_key(request: &ImageRequest, accepts: Accepts) -> String {
    let name = request.result_name(&request.signed_path);
    let mut key = String::with_capacity(name.len() + 11);
    key.push_str(name);
    if accepts.webp {
        key.push_str("|webp");
    }
    if accepts.avif {
        key.push_str("|avif");
    }
    key
}

async fn render_uncached(
    app: &App,
    mut request: ImageRequest,
    accepts: Accepts,
    priority: Priority,
    timeout: Duration,
    held: &AtomicBool,
) -> Result<Rendered, PictorError> {
    // An urgent render's deadline runs from now (the visitor waits from now); a background
    // one's from when it gets its slot.
    let deadline = OnceLock::new();
    if priority == Priority::Urgent {
        let _ = deadline.set(Instant::now() + timeout);
    }
    // Pre-load phase: `extract_focal()` swaps a nested Thumbor URL for the original it points
    // at (so every loader, and meta's `url`, sees the original) and keeps its crop as a focal
    // point instead of applying it. What is loaded here and in `load_assets` is what
    // `url::confine::loaded_names` lists for `/sign`'s prefix check: keep the two in step.
    if let Some(original) = request.filter_list.resolve_extract_focal(&request.image) {
        request.image = original;
    }
    // Each filter image is a load and a decode of its own: bound them before loading anything.
    let asset_urls = request.filter_list.asset_urls();
    if asset_urls.len() > app.config.admission.max_filter_assets {
        return Err(PictorError::BadRequest(format!(
            "{} watermark/frame images, more than MAX_FILTER_ASSETS={}",
            asset_urls.len(),
            app.config.admission.max_filter_assets
        )));
    }
    let image_url = request.image_url();
    let original = app
        .sources
        .load(&app.loader, &image_url)
        .instrument(tracing::info_span!("load", image = %image_url))
        .await?;
    let treatment = moderation::treatment(app, &image_url, &original).await?;
    let moderation_blur = treatment != Treatment::Sharp;
    if treatment == (Treatment::Blurred { held: true }) {
        held.store(true, Ordering::Relaxed);
    }
    let source = original.bytes;
    let assets = load_assets(app, asset_urls).await?;
    let settings = app.config.imaging.clone();
    let focal_points_key =
        cache::focal_points::original_key(&request, &settings, &image_url, &source);
    // Records beside the results follow the results' rule (unsafe paths only when asked).
    let stored = app.result_storage.applies_to(&request);
    let mut stored_focal_points = None;
    if let (true, Some(key)) = (stored, &focal_points_key) {
        // Another instance may have detected this original already.
        if app.focal_points.get(key).is_none() {
            stored_focal_points = app.result_storage.get_focal_points(key).await;
            if let Some(points) = &stored_focal_points {
                app.focal_points.insert(key.clone(), points.clone());
            }
        }
    }
    let work = Arc::new(RenderWork {
        source,
        request,
        settings,
        accepts,
        assets,
        deadline,
        timeout,
        focal_points: app.focal_points.clone(),
        focal_points_key,
        stored_focal_points,
        moderation_blur,
        idle_gate: match priority {
            Priority::Urgent => None,
            Priority::Background => app.admission.idle_gate(),
        },
    });
    let (mut rendered, detected) = render_on_pool(app, work, priority).await?;
    if held.load(Ordering::Relaxed) {
        // A temporary result, as Thumbor's renders whose detection failed.
        rendered.max_age = Some(app.config.cache.max_age_temp_image);
    }
    if let (true, Some((key, points))) = (stored, detected) {
        app.result_storage.put_focal_points(&key, &points);
    }
    Ok(rendered)
}

/// Images that filters need (watermark, frame), loaded with the same loader. A watermark
/// that cannot be loaded is the client's problem: 400, as Thumbor.
async fn load_assets(app: &App, urls: Vec<String>) -> Result<HashMap<String, Bytes>, PictorError> {
    let mut assets = HashMap::new();
    for url in urls {
        if assets.contains_key(&url) {
            continue;
        }
        let quoted = url::parse::python_quote(&url, b"/");
        match app.sources.load(&app.loader, &quoted).await {
            Ok(original) => {
                assets.insert(url, original.bytes);
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

/// Everything a render needs, owned, so the blocking pool's tasks can share it.
struct RenderWork {
    source: Bytes,
    /// The request, its image unwrapped and its `extract_focal()` points resolved.
    request: ImageRequest,
    settings: imaging::settings::ImagingSettings,
    accepts: Accepts,
    assets: HashMap<String, Bytes>,
    /// Set when the render's clock starts: at once for urgent renders, when the slot is taken
    /// for background ones.
    deadline: OnceLock<Instant>,
    /// REQUEST_TIMEOUT_SECONDS, for a deadline set later.
    timeout: Duration,
    focal_points: FocalPointCache,
    /// The original's key in `focal_points` when the render detects (`smart` with DETECTORS).
    focal_points_key: Option<String>,
    /// The original's points as result storage holds them, read for this render (they serve it
    /// even when the memory cache is off).
    stored_focal_points: Option<Vec<FocalPoint>>,
    /// Moderation flagged (or holds) the original: blurred.
    moderation_blur: bool,
    /// A background render's wait between steps while visitors' renders run.
    idle_gate: Option<IdleGate>,
}

impl RenderWork {
    fn job<'a>(&'a self, memo: Option<&'a OriginalFocalPoints<'a>>) -> RenderJob<'a> {
        RenderJob {
            request: &self.request,
            settings: &self.settings,
            accepts_webp: self.accepts.webp,
            accepts_avif: self.accepts.avif,
            assets: &self.assets,
            deadline: self.deadline.get().copied(),
            detection_memo: memo.map(|memo| memo as &dyn DetectionMemo),
            moderation_blur: self.moderation_blur,
            between_steps: self
                .idle_gate
                .as_ref()
                .map(|gate| gate as &dyn BetweenSteps),
        }
    }

    /// The 504 of a render whose deadline passed before it started a step.
    fn check_deadline(&self) -> Result<(), PictorError> {
        // Not counted as a deadline refusal: the request's own timeout already counted it.
        if self
            .deadline
            .get()
            .is_some_and(|deadline| Instant::now() >= *deadline)
        {
            return Err(imaging::ImagingError::Abandoned.into());
        }
        Ok(())
    }
}

/// Runs a render on the blocking pool in two admitted steps. Under a render slot: the header
/// probe and the memory estimate (a hostile header can take long to read, so never on the async
/// runtime and never unbounded in number). Then, with the estimated memory taken from the
/// budget: the render itself and the ETag's hash of the result. Each step's task owns its
/// permit, so a render abandoned by its request (the deadline's 504) still holds the slot only
/// until its next step boundary.
///
/// Besides the result: the original's focal points and key when this render detected them
/// (then the caller stores them beside the results).
async fn render_on_pool(
    app: &App,
    work: Arc<RenderWork>,
    priority: Priority,
) -> Result<(Rendered, Option<(String, Vec<FocalPoint>)>), PictorError> {
    let slot = app
        .admission
        .slot_for(priority)
        .instrument(tracing::info_span!("queue"))
        .await?;
    let _ = work.deadline.set(Instant::now() + work.timeout);
    work.check_deadline()?;
    let probing = work.clone();
    let (slot, header, estimate) =
        on_pool(app, priority, tracing::info_span!("estimate"), move || {
            probing.check_deadline()?;
            let job = probing.job(None);
            let header = imaging::pipeline::probe_header(&probing.source, job.settings)?;
            let estimate = imaging::estimate::render_memory_bytes(&probing.source, &header, &job)?;
            Ok((slot, header, estimate))
        })
        .await?;
    let permit = app
        .admission
        .memory(slot, estimate)
        .instrument(tracing::info_span!("queue"))
        .await?;
    on_pool(app, priority, tracing::info_span!("render"), move || {
        let _permit = permit;
        work.check_deadline()?;
        let memo = work.focal_points_key.clone().map(|key| {
            work.focal_points
                .memo(key, work.stored_focal_points.clone())
        });
        let output =
            imaging::pipeline::render_probed(&work.source, &header, &work.job(memo.as_ref()))?;
        let detected = memo.and_then(OriginalFocalPoints::into_detected);
        let body = Bytes::from(output.body);
        let etag = format!("\"{:x}\"", Sha1::digest(&body));
        let rendered = Rendered {
            body,
            content_type: output.content_type,
            vary_accept: output.vary_accept,
            max_age: output.max_age,
            etag,
        };
        Ok((rendered, detected))
    })
    .await
}

/// Runs `step` inside `span`: an urgent render's on the blocking pool, a background one's on
/// the idle-priority threads. A panic inside it becomes a 500 for this request only.
async fn on_pool<T: Send + 'static>(
    app: &App,
    priority: Priority,
    span: tracing::Span,
    step: impl FnOnce() -> Result<T, PictorError> + Send + 'static,
) -> Result<T, PictorError> {
    match priority {
        Priority::Urgent => on_blocking_pool(span, step).await,
        Priority::Background => {
            let caught = app
                .idle_threads
                .run(move || {
                    let _entered = span.enter();
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(step))
                })
                .await?;
            caught.unwrap_or_else(|panic| {
                Err(PictorError::Internal(format!(
                    "render panicked: {}",
                    panic_message(&panic)
                )))
            })
        }
    }
}

/// Runs `step` on the blocking pool inside `span`. A panic inside it becomes a 500 for this
/// request only.
async fn on_blocking_pool<T: Send + 'static>(
    span: tracing::Span,
    step: impl FnOnce() -> Result<T, PictorError> + Send + 'static,
) -> Result<T, PictorError> {
    let task = tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(step))
    });
    match task.await {
        Ok(Ok(result)) => result,
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
