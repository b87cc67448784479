//! What became of each job this instance accepted: counts of paths done (rendered or already
//! in result storage), failed (with a bounded list of one-line reasons) and pending. The table
//! keeps the newest [`MAX_JOBS`] jobs; older ones are forgotten (their status is then 404).

use serde::Serialize;
use std::collections::{HashMap, VecDeque};

/// Jobs whose status is kept.
pub const MAX_JOBS: usize = 1000;

/// Failures listed per job (all are counted).
pub const MAX_LISTED_FAILURES: usize = 20;

/// A failure reason is cut to this many bytes.
const MAX_REASON_BYTES: usize = 200;

/// How one path of a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathOutcome {
    /// Rendered and written to result storage.
    Rendered,
    /// Result storage already held it: a lookup, no render.
    AlreadyStored,
    /// Could not be rendered (or stored): one line saying why.
    Failed(String),
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Failure {
    pub path: String,
    pub reason: String,
}

/// The status `GET /preheat/<job>` answers.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct JobStatus {
    pub job: String,
    /// Paths whose result is in result storage (rendered now or found there).
    pub done: usize,
    pub failed: usize,
    pub pending: usize,
    /// The part of `done` that was already stored (a lookup, no render).
    pub already_stored: usize,
    /// The first [`MAX_LISTED_FAILURES`] failures.
    pub failures: Vec<Failure>,
    /// What the counts cover, when that is not the whole job (a fleet's shared queue).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

#[derive(Debug)]
struct Job {
    /// The app (API key name) that submitted it: only it may read the status.
    owner: String,
    status: JobStatus,
}

/// The jobs of this instance, newest last.
#[derive(Debug, Default)]
pub struct JobTable {
    jobs: HashMap<String, Job>,
    order: VecDeque<String>,
}

impl JobTable {
    /// Starts counting `paths` pending paths of a new job.
    pub fn insert(&mut self, id: &str, owner: &str, paths: usize) {
        while self.order.len() >= MAX_JOBS {
            if let Some(oldest) = self.order.pop_front() {
                self.jobs.remove(&oldest);
            }
        }
        self.order.push_back(id.to_string());
        self.jobs.insert(
            id.to_string(),
            Job {
                owner: owner.to_string(),
                status: JobStatus {
                    job: id.to_string(),
                    done: 0,
                    failed: 0,
                    pending: paths,
                    already_stored: 0,
                    failures: Vec::new(),
                    note: None,
                },
            },
        );
    }

    /// Counts one path of job `id` (nothing when the job was forgotten or is another
    /// instance's).
    pub fn record(&mut self, id: &str, path: &str, outcome: PathOutcome) {
        let Some(job) = self.jobs.get_mut(id) else {
            return;
        };
        let status = &mut job.status;
        status.pending = status.pending.saturating_sub(1);
        match outcome {
            PathOutcome::Rendered => status.done += 1,
            PathOutcome::AlreadyStored => {
                status.done += 1;
                status.already_stored += 1;
            }
            PathOutcome::Failed(reason) => {
                status.failed += 1;
                if status.failures.len() < MAX_LISTED_FAILURES {
                    status.failures.push(Failure {
                        path: path.to_string(),
                        reason: one_line(&reason),
                    });
                }
            }
        }
    }

    /// The status of job `id`, if `owner` submitted it and it is still kept.
    pub fn status(&self, id: &str, owner: &str) -> Option<JobStatus> {
        self.jobs
            .get(id)
            .filter(|job| job.owner == owner)
            .map(|job| job.status.clone())
    }

    /// Forgets job `id` (its paths could not be queued).
    pub fn remove(&mut self, id: &str) {
        self.jobs.remove(id);
        self.order.retain(|kept| kept != id);
    }
}

/// The first line of `reason`, at most [`MAX_REASON_BYTES`] long.
fn one_line(reason: &str) -> String {
    let line = reason.lines().next().unwrap_or("");
    let mut end = line.len().min(MAX_REASON_BYTES);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    line[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_outcomes_and_bounds_the_failure_list() {
        let mut table = JobTable::default();
        table.insert("j1", "app", 30);
        table.record("j1", "a", PathOutcome::Rendered);
        table.record("j1", "b", PathOutcome::AlreadyStored);
        for i in 0..25 {
            table.record("j1", &format!("bad{i}"), PathOutcome::Failed("x\ny".into()));
        }
        let status = table.status("j1", "app").unwrap();
        assert_eq!((status.done, status.failed, status.pending), (2, 25, 3));
        assert_eq!(status.already_stored, 1);
        assert_eq!(status.failures.len(), MAX_LISTED_FAILURES);
        assert_eq!(status.failures[0].reason, "x");
        assert!(table.status("j1", "other app").is_none());
        assert!(table.status("j2", "app").is_none());
    }

    #[test]
    fn keeps_only_the_newest_jobs() {
        let mut table = JobTable::default();
        for i in 0..=MAX_JOBS {
            table.insert(&i.to_string(), "app", 1);
        }
        assert!(table.status("0", "app").is_none());
        assert!(table.status(&MAX_JOBS.to_string(), "app").is_some());
        table.remove("1");
        assert!(table.status("1", "app").is_none());
    }
}
