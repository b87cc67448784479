//! Background work: paths to render into result storage without a visitor waiting (pre-heat
//! now; presets after an upload and `regenerate --enqueue` later). A job is a list of paths
//! written as after the signature (`300x200/a.jpg`); [`Background::submit`] queues them and
//! answers a [`JobId`] at once, workers render them through the normal imaging path at
//! background priority (`server::admission`: never ahead of a visitor, at most
//! BACKGROUND_RENDERS slots), and [`Background::status`] counts what became of them.
//!
//! The queue is in process (bounded by BACKGROUND_QUEUE_SIZE) unless BACKGROUND_QUEUE=sqs
//! (`sqs`), where every instance of a fleet consumes one backlog.

pub mod message;
pub mod settings;
pub mod status;

use crate::error::PictorError;
use crate::metrics::METRICS;
use crate::server::imaging::{render_to_storage, StoredOutcome};
use crate::server::App;
use settings::BackgroundSettings;
use status::{JobStatus, JobTable, PathOutcome};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// A job's name: 16 hex digits, unique within an instance's lifetime and unlikely to repeat
/// across a fleet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobId(pub String);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl JobId {
    fn new() -> JobId {
        use std::hash::BuildHasher;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let sequence = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        // RandomState is seeded from the OS once per process: ids of two instances differ.
        let hash = std::hash::RandomState::new().hash_one((sequence, nanos, std::process::id()));
        JobId(format!("{hash:016x}"))
    }
}

/// One path of one job, waiting.
#[derive(Debug, Clone)]
struct Task {
    job: String,
    path: String,
}

/// The in-process backlog: bounded, all of a job's paths queued or none.
struct InProcessQueue {
    tasks: Mutex<VecDeque<Task>>,
    ready: Notify,
    capacity: usize,
}

/// The background queue and the jobs this instance accepted.
pub struct Background {
    settings: BackgroundSettings,
    jobs: Mutex<JobTable>,
    queue: InProcessQueue,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; a poisoned one still holds consistent data.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Background {
    pub fn new(settings: &BackgroundSettings) -> Background {
        Background {
            settings: settings.clone(),
            jobs: Mutex::new(JobTable::default()),
            queue: InProcessQueue {
                tasks: Mutex::new(VecDeque::new()),
                ready: Notify::new(),
                capacity: settings.queue_size,
            },
        }
    }

    /// Queues `paths` (as after the signature) as one job owned by no app (uploads,
    /// regenerate). See [`Background::submit_for`].
    pub fn submit(&self, paths: Vec<String>) -> Result<JobId, PictorError> {
        self.submit_for("", paths)
    }

    /// Queues `paths` as one job whose status only `owner` (an app name) may read. All paths
    /// are queued or none: a full queue is a 503 (`Overloaded`).
    pub fn submit_for(&self, owner: &str, paths: Vec<String>) -> Result<JobId, PictorError> {
        let id = JobId::new();
        let mut tasks = lock(&self.queue.tasks);
        if tasks.len() + paths.len() > self.queue.capacity {
            return Err(PictorError::Overloaded(format!(
                "background queue full: {} paths waiting, BACKGROUND_QUEUE_SIZE={}",
                tasks.len(),
                self.queue.capacity
            )));
        }
        lock(&self.jobs).insert(&id.0, owner, paths.len());
        tasks.extend(paths.into_iter().map(|path| Task {
            job: id.0.clone(),
            path,
        }));
        METRICS
            .background_queued
            .store(tasks.len() as u64, Ordering::Relaxed);
        drop(tasks);
        self.queue.ready.notify_waiters();
        Ok(id)
    }

    /// What became of job `id` so far, if `owner` submitted it here and it is still kept.
    pub fn status(&self, id: &str, owner: &str) -> Option<JobStatus> {
        lock(&self.jobs).status(id, owner)
    }

    /// Starts the workers: BACKGROUND_RENDERS of them, each rendering one path at a time, so
    /// background work never waits for more slots than it may hold.
    pub fn start_workers(app: &Arc<App>) {
        for _ in 0..app.config.background.background_renders {
            let app = app.clone();
            tokio::spawn(async move { in_process_worker(app).await });
        }
    }

    /// The next queued task, waiting for one.
    async fn next_task(&self) -> Task {
        loop {
            // Registered before looking, so a submit between the look and the wait still wakes
            // this worker.
            let ready = self.queue.ready.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            {
                let mut tasks = lock(&self.queue.tasks);
                if let Some(task) = tasks.pop_front() {
                    METRICS
                        .background_queued
                        .store(tasks.len() as u64, Ordering::Relaxed);
                    return task;
                }
            }
            ready.await;
        }
    }

    fn record(&self, task: &Task, outcome: PathOutcome) {
        lock(&self.jobs).record(&task.job, &task.path, outcome);
    }

    /// BACKGROUND_QUEUE and its keys.
    pub fn settings(&self) -> &BackgroundSettings {
        &self.settings
    }
}

async fn in_process_worker(app: Arc<App>) {
    loop {
        let task = app.background.next_task().await;
        let outcome = render_path(&app, &task.path).await;
        app.background.record(&task, outcome);
    }
}

/// Renders one path into result storage and counts the outcome in /metrics.
async fn render_path(app: &App, path: &str) -> PathOutcome {
    match render_to_storage(app, path).await {
        Ok(StoredOutcome::Rendered) => {
            METRICS.background_renders.fetch_add(1, Ordering::Relaxed);
            PathOutcome::Rendered
        }
        Ok(StoredOutcome::AlreadyStored) => {
            METRICS
                .background_already_stored
                .fetch_add(1, Ordering::Relaxed);
            PathOutcome::AlreadyStored
        }
        Err(e) => {
            METRICS.background_failed.fetch_add(1, Ordering::Relaxed);
            tracing::info!(path, error = %e, "background render failed");
            PathOutcome::Failed(failure_reason(&e))
        }
    }
}

/// The reason a job's status gives for a failed path: the error's own words where they say
/// only what the path asked for, the public line where they could name loader roots or origins.
fn failure_reason(e: &PictorError) -> String {
    match e {
        PictorError::NotFound(_)
        | PictorError::BadGateway(_)
        | PictorError::GatewayTimeout(_)
        | PictorError::Internal(_) => format!("{}: {}", e.status().as_u16(), e.public_reason()),
        _ => format!("{}: {e}", e.status().as_u16()),
    }
}
