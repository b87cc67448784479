//! `pictor regenerate`: renders presets of every original into result storage, so visitors
//! (and the CDN in front) find them rendered. The walk over the originals is `originals`
//! (a folder or a bucket, page by page), the resumable record of what is done `checkpoint`,
//! the progress display `progress`. One path is rendered by `jobs::render_path`, as the
//! background queue renders it; `--enqueue` puts the paths on the fleet's queue instead.

pub mod checkpoint;
pub mod originals;
pub mod progress;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use futures_util::StreamExt;

use super::render_path::{render_into_result_storage, stored_path};
use super::settings::QueueKind;
use super::StoredOutcome;
use crate::server::admission::Priority;
use crate::server::app::App;

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
    /// `--enqueue`: put the paths on the fleet's background queue (BACKGROUND_QUEUE=sqs)
    /// instead of rendering them here.
    pub enqueue: bool,
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
    /// With `--enqueue`: the paths put on the background queue.
    pub queued: Option<usize>,
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
    if options.enqueue {
        if app.background.settings().queue != QueueKind::Sqs {
            return Err(
                "--enqueue puts the work on the fleet's queue: set BACKGROUND_QUEUE=sqs \
                        (an in-process queue would end with this command)"
                    .into(),
            );
        }
        if options.force || options.resume || options.limit.is_some() {
            return Err(
                "--enqueue sends every path to the workers, which skip what is current: \
                        it takes no --force, --resume or --limit"
                    .into(),
            );
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
    if options.enqueue {
        return enqueue(&app, names.len(), paths, &stop).await;
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
                // Urgent: this command serves no visitors, so its renders need not yield.
                let outcome =
                    render_into_result_storage(&app, &path, force, Priority::Urgent).await;
                (path, key, outcome)
            }
        })
        .buffer_unordered(options.jobs.max(1));
    while let Some((path, key, outcome)) = results.next().await {
        match outcome {
            Ok(outcome) => {
                match outcome {
                    StoredOutcome::Rendered => summary.rendered += 1,
                    StoredOutcome::AlreadyStored => summary.skipped += 1,
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

/// Paths sent to the shared queue at once: one job each (SQS takes them 10 to a request).
const ENQUEUE_CHUNK: usize = 500;

/// `--enqueue`: sends `paths` to the fleet's queue, `ENQUEUE_CHUNK` at a time, until done or
/// `stop`. What the fleet's workers then do is counted by their `/metrics`.
async fn enqueue(
    app: &App,
    originals: usize,
    paths: Vec<String>,
    stop: &AtomicBool,
) -> Result<Summary, String> {
    let mut summary = Summary {
        originals,
        queued: Some(0),
        ..Summary::default()
    };
    let mut queued = 0;
    for chunk in paths.chunks(ENQUEUE_CHUNK) {
        if stop.load(Ordering::Relaxed) {
            summary.stopped = true;
            break;
        }
        app.background
            .submit(chunk.to_vec())
            .await
            .map_err(|e| format!("{queued} of {} paths queued, then: {e}", paths.len()))?;
        queued += chunk.len();
        summary.queued = Some(queued);
    }
    Ok(summary)
}

impl Summary {
    /// The closing lines: the counts, then each failure with its reason.
    pub fn lines(&self) -> Vec<String> {
        if let Some(queued) = self.queued {
            return vec![format!(
                "regenerate: {} originals: {queued} paths queued on BACKGROUND_QUEUE_URL for the \
                 fleet's workers{}",
                self.originals,
                if self.stopped {
                    "; stopped early: the rest were not queued"
                } else {
                    ""
                }
            )];
        }
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
