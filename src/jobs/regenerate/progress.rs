//! How far `regenerate` is: a progress bar with rate and ETA (indicatif) when standard error is
//! a terminal, plain lines otherwise (the first path, then at most one line every few seconds,
//! and the last), so logs of unattended runs stay short.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Plain progress lines at most this often.
const LINE_INTERVAL: Duration = Duration::from_secs(5);

pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    done: u64,
    started: Instant,
    last_line: Option<Instant>,
}

impl Progress {
    /// Progress over `total` paths.
    pub fn new(total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            let style = ProgressStyle::with_template(
                "{elapsed_precise} [{wide_bar}] {pos}/{len} {per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Progress {
            bar,
            total,
            done: 0,
            started: Instant::now(),
            last_line: None,
        }
    }

    /// One more path done; the counts so far.
    pub fn tick(&mut self, rendered: usize, skipped: usize, failed: usize) {
        self.done += 1;
        let counts = format!("{rendered} rendered, {skipped} skipped, {failed} failed");
        if let Some(bar) = &self.bar {
            bar.set_message(counts);
            bar.inc(1);
            return;
        }
        let due = self
            .last_line
            .is_none_or(|at| at.elapsed() >= LINE_INTERVAL)
            || self.done == self.total;
        if !due {
            return;
        }
        self.last_line = Some(Instant::now());
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = self.done as f64 / seconds;
        let left = self.total.saturating_sub(self.done) as f64 / rate.max(f64::MIN_POSITIVE);
        eprintln!(
            "regenerate: {}/{} ({counts}), {rate:.1}/s, eta {:.0}s",
            self.done, self.total, left
        );
    }

    /// Clears the bar (the summary follows).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
