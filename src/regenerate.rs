//! `pictor regenerate`: renders presets of every original into result storage, so visitors
//! (and the CDN in front) find them rendered. The walk over the originals is `originals`
//! (a folder or a bucket, page by page), the resumable record of what is done `checkpoint`,
//! the progress display `progress`. One path is rendered by [`render_into_result_storage`],
//! which a background queue can call the same way.

pub mod checkpoint;
pub mod originals;
pub mod progress;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use futures_util::StreamExt;

use crate::error::PictorError;
use crate::server::App;
use crate::url::{self, signature};

/// What [`render_into_result_storage`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Rendered and stored.
    Rendered,
    /// A current result was stored already (and `force` was off): nothing rendered.
    Current,
}

/// The name result storage keeps the result of `path` under (as after the signature;
/// presets allowed), as a visitor's request would store it: for a preset path, its result key
/// (presets and their definitions' fingerprint, no signature); for any other path, the path
/// signed with SECURITY_KEY.
pub fn stored_path(app: &App, path: &str) -> Result<(String, url::ImageRequest), PictorError> {
    let path = path.trim_start_matches('/');
    let hash = signature::sign(app.config.access.security_key.as_bytes(), path);
    let request = url::parse_path(&format!("/{hash}/{path}"))?;
    let request = app.config.presets.expand(request)?;
    let name = match &request.preset {
        Some(preset) => preset.result_key.clone(),
        None => format!("/{hash}/{path}"),
    };
    Ok((name, request))
}

/// Renders `path` (as after the signature, e.g. `preset:thumb/photos/a.jpg`) into result
/// storage, and with AUTO_WEBP its WebP variant too, unless a current result is stored already
/// and `force` is off. Uses the server's render (admission, deadline, focal points) but not its
/// caches.
pub async fn render_into_result_storage(
    app: &App,
    path: &str,
    force: bool,
) -> Result<Outcome, PictorError> {
    if !app.result_storage.is_on() {
        return Err(PictorError::BadRequest(
            "no RESULT_STORAGE to render into".into(),
        ));
    }
    let (name, request) = stored_path(app, path)?;
    let variants: &[bool] = if app.config.imaging.auto_webp {
        &[false, true]
    } else {
        &[false]
    };
    let mut outcome = Outcome::Current;
    for &webp in variants {
        if !force && app.result_storage.contains(&name, webp).await? {
            continue;
        }
        let rendered =
            crate::server::imaging::render_for_storage(app, request.clone(), webp).await?;
        app.result_storage.store(&name, webp, &rendered).await?;
        outcome = Outcome::Rendered;
    }
    Ok(outcome)
}

/// What `pictor regenerate` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--preset`: these presets only (all when empty).
    pub presets: Vec<String>,
    /// `--prefix`: originals whose names start with this only.
    pub prefix: String,
    /// `--since`: originals written at or after this only.
    pub since: Option<SystemTime>,
    /// `--force`: render even what is current.
    pub force: bool,
    /// `--jobs`: renders at once.
    pub jobs: usize,
    /// `--resume`: skip what the checkpoint says a previous run did.
    pub resume: bool,
    /// `--state`: the checkpoint file.
    pub state: PathBuf,
    /// `--limit`: stop (as if interrupted) after this many paths.
    pub limit: Option<usize>,
}

/// How a run ended, with its counts.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub originals: usize,
    pub rendered: usize,
    /// Current already (in result storage).
    pub skipped: usize,
    /// Done by the run the checkpoint records.
    pub resumed: usize,
    /// `(path, reason)`.
    pub failed: Vec<(String, String)>,
    /// Stopped before the end (`--limit` or a signal); the checkpoint is kept.
    pub stopped: bool,
}

/// Walks the originals and renders the chosen presets of each, `options.jobs` at once, until
/// done or `stop` is set (then the paths in flight finish and the checkpoint is written).
pub async fn run(
    app: Arc<App>,
    options: &Options,
    stop: Arc<AtomicBool>,
) -> Result<Summary, String> {
    if app.config.presets.is_empty() {
        return Err("PRESETS is not set: there is nothing to regenerate".into());
    }
    if !app.result_storage.is_on() {
        return Err("RESULT_STORAGE is not set: there is nowhere to render into".into());
    }
    for name in &options.presets {
        if app.config.presets.options(name).is_none() {
            return Err(format!("--preset {name}: not in PRESETS"));
        }
    }
    let walk = originals::Walk::from_config(&app.config)?;
    let names = walk
        .names(&options.prefix, options.since)
        .await
        .map_err(|e| format!("listing the originals failed: {e}"))?;
    let mut paths = Vec::new();
    for name in &names {
        for path in app.config.presets.paths_for(name) {
            let chosen = options.presets.is_empty()
                || options
                    .presets
                    .iter()
                    .any(|preset| path.starts_with(&format!("preset:{preset}/")));
            if chosen {
                paths.push(path);
            }
        }
    }
    let done: HashSet<String> = if options.resume {
        checkpoint::read(&options.state)
            .map_err(|e| format!("--state {}: {e}", options.state.display()))?
    } else {
        HashSet::new()
    };
    let mut summary = Summary {
        originals: names.len(),
        ..Summary::default()
    };
    let mut record = checkpoint::Checkpoint::new(options.state.clone(), done.clone());
    let mut work = Vec::with_capacity(paths.len());
    for path in paths {
        let key = stored_path(&app, &path)
            .map(|(name, _)| name)
            .unwrap_or_else(|_| path.clone());
        if done.contains(&key) {
            summary.resumed += 1;
        } else {
            work.push((path, key));
        }
    }
    let limited = options.limit.is_some_and(|limit| limit < work.len());
    if let Some(limit) = options.limit {
        work.truncate(limit);
    }
    let mut progress = progress::Progress::new(work.len() as u64);
    let force = options.force;
    let mut results = futures_util::stream::iter(work)
        .take_while(|_| std::future::ready(!stop.load(Ordering::Relaxed)))
        .map(|(path, key)| {
            let app = app.clone();
            async move {
                let outcome = render_into_result_storage(&app, &path, force).await;
                (path, key, outcome)
            }
        })
        .buffer_unordered(options.jobs.max(1));
    while let Some((path, key, outcome)) = results.next().await {
        match outcome {
            Ok(outcome) => {
                match outcome {
                    Outcome::Rendered => summary.rendered += 1,
                    Outcome::Current => summary.skipped += 1,
                }
                record.done(key);
            }
            Err(e) => summary.failed.push((path, e.to_string())),
        }
        progress.tick(summary.rendered, summary.skipped, summary.failed.len());
        if record.due() {
            record
                .write()
                .map_err(|e| format!("--state {}: {e}", options.state.display()))?;
        }
    }
    progress.finish();
    summary.stopped = limited || stop.load(Ordering::Relaxed);
    if summary.stopped {
        record
            .write()
            .map_err(|e| format!("--state {}: {e}", options.state.display()))?;
    } else {
        // Everything was done: the next run starts over (and skips what is current).
        record
            .remove()
            .map_err(|e| format!("--state {}: {e}", options.state.display()))?;
    }
    Ok(summary)
}

impl Summary {
    /// The closing lines: the counts, then each failure with its reason.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "regenerate: {} originals: {} rendered, {} skipped (current), {} resumed (done before), {} failed{}",
            self.originals,
            self.rendered,
            self.skipped,
            self.resumed,
            self.failed.len(),
            if self.stopped {
                "; stopped early: run again with --resume to finish"
            } else {
                ""
            }
        )];
        for (path, reason) in &self.failed {
            lines.push(format!("failed {path}: {reason}"));
        }
        lines
    }
}
