//! The threads background renders' CPU steps run on (the header probe and the render of a
//! pre-heat path), at the operating system's idle priority (SCHED_IDLE on Linux). Admission
//! keeps background work from taking a slot a visitor waits for, but a render slot is not a
//! CPU: with more slots than cores, a background render running beside visitors' renders
//! would take its share of the CPU from them. At idle priority it only gets the CPU time they
//! leave. One thread per BACKGROUND_RENDERS slot, so a background step never waits for one.

use crate::error::PictorError;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

type Step = Box<dyn FnOnce() + Send>;

/// The idle-priority threads, fed through one channel.
pub struct IdleThreads {
    steps: Mutex<mpsc::Sender<Step>>,
}

impl IdleThreads {
    pub fn new(count: usize) -> IdleThreads {
        let (sender, receiver) = mpsc::channel::<Step>();
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..count.max(1) {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("pictor-background-{index}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // The lock is held only while waiting for the next step.
                        let step = match receiver.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(poisoned) => poisoned.into_inner().recv(),
                        };
                        match step {
                            Ok(step) => step(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "cannot start a background render thread");
            }
        }
        IdleThreads {
            steps: Mutex::new(sender),
        }
    }

    /// Runs `step` on an idle-priority thread and waits for its result. The caller catches
    /// panics inside `step` (it runs on a thread that must survive them).
    pub async fn run<T: Send + 'static>(
        &self,
        step: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PictorError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let boxed: Step = Box::new(move || {
            let _ = done.send(step());
        });
        let sent = match self.steps.lock() {
            Ok(sender) => sender.send(boxed),
            Err(poisoned) => poisoned.into_inner().send(boxed),
        };
        sent.map_err(|_| PictorError::Internal("background render threads are gone".into()))?;
        result
            .await
            .map_err(|_| PictorError::Internal("background render step was dropped".into()))
    }
}

/// Moves the calling thread to the idle scheduling class (Linux); elsewhere it keeps its
/// priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` is a valid, initialised sched_param that outlives the call; pid 0 is
        // the calling thread; SCHED_IDLE needs no privilege and takes priority 0.
        let refused = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0;
        if refused {
            tracing::warn!(
                error = %std::io::Error::last_os_error(),
                "background renders run at normal priority: SCHED_IDLE refused"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_steps_and_returns_their_results() {
        let threads = IdleThreads::new(1);
        assert_eq!(threads.run(|| 6 * 7).await.unwrap(), 42);
        let name = threads
            .run(|| std::thread::current().name().map(str::to_string))
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("pictor-background-0"));
        #[cfg(target_os = "linux")]
        {
            // SAFETY: sched_getscheduler only reads the calling thread's policy.
            let policy = threads
                .run(|| unsafe { libc::sched_getscheduler(0) })
                .await
                .unwrap();
            assert_eq!(policy, libc::SCHED_IDLE);
        }
    }
}
