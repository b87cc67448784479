//! Process-wide counters and histograms in Prometheus text format: requests by status class,
//! per-stage latency (fed by a `tracing` layer from the existing spans), cache tiers, queue
//! depth, in-flight renders, origin bytes and refusals by limit.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tracing::span;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A cumulative-on-export latency histogram with fixed buckets.
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    const fn new() -> Histogram {
        Histogram {
            counts: [const { AtomicU64::new(0) }; BUCKETS.len() + 1],
            sum_micros: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, seconds: f64) {
        let index = BUCKETS
            .iter()
            .position(|&upper| seconds <= upper)
            .unwrap_or(BUCKETS.len());
        self.counts[index].fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (i, upper) in BUCKETS.iter().enumerate() {
            cumulative += self.counts[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{upper}\"}} {cumulative}");
        }
        cumulative += self.counts[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
    }
}

/// The stages of `pictor_stage_seconds`, timed from `tracing` spans (see [`stage_index`]).
pub const STAGES: [&str; 7] = [
    "load",
    "queue",
    "decode",
    "transform",
    "filters",
    "encode",
    "render",
];

/// Which stage a span belongs to: spans named like a stage, and the pipeline's geometric
/// steps (orientation, trim, crop + resize, MAX_WIDTH normalize) as `transform`.
fn stage_index(span_name: &str) -> Option<usize> {
    let stage = match span_name {
        "orient" | "trim" | "crop_resize" | "normalize" => "transform",
        other => other,
    };
    STAGES.iter().position(|s| *s == stage)
}

/// Why a request was refused by a limit.
#[derive(Debug, Clone, Copy)]
pub enum Refusal {
    QueueFull,
    MemoryBudget,
    /// Any 400 for being over a limit (MAX_PIXELS, the memory budget).
    TooLarge,
    Deadline,
}

pub struct Metrics {
    requests_by_class: [AtomicU64; 5],
    request_seconds: Histogram,
    stage_seconds: [Histogram; STAGES.len()],
    pub memory_cache_hits: AtomicU64,
    pub memory_cache_misses: AtomicU64,
    pub memory_cache_bytes: AtomicU64,
    pub result_storage_hits: AtomicU64,
    pub result_storage_misses: AtomicU64,
    pub source_cache_hits: AtomicU64,
    pub source_cache_misses: AtomicU64,
    pub origin_bytes: AtomicU64,
    pub origin_fetches: AtomicU64,
    /// Smart-crop detections run (one per original while its focal points are kept).
    pub smart_detections: AtomicU64,
    pub queued_renders: AtomicU64,
    pub running_renders: AtomicU64,
    /// Background paths (pre-heat, presets of uploads) rendered into result storage.
    pub background_renders: AtomicU64,
    /// Background paths found in result storage already (a lookup, no render).
    pub background_already_stored: AtomicU64,
    /// Background paths that failed (bad path, missing original, storage down...).
    pub background_failed: AtomicU64,
    /// Paths waiting in this instance's in-process background queue.
    pub background_queued: AtomicU64,
    refusals: [AtomicU64; 4],
}

pub static METRICS: Metrics = Metrics {
    requests_by_class: [const { AtomicU64::new(0) }; 5],
    request_seconds: Histogram::new(),
    stage_seconds: [const { Histogram::new() }; STAGES.len()],
    memory_cache_hits: AtomicU64::new(0),
    memory_cache_misses: AtomicU64::new(0),
    memory_cache_bytes: AtomicU64::new(0),
    result_storage_hits: AtomicU64::new(0),
    result_storage_misses: AtomicU64::new(0),
    source_cache_hits: AtomicU64::new(0),
    source_cache_misses: AtomicU64::new(0),
    origin_bytes: AtomicU64::new(0),
    origin_fetches: AtomicU64::new(0),
    smart_detections: AtomicU64::new(0),
    queued_renders: AtomicU64::new(0),
    running_renders: AtomicU64::new(0),
    background_renders: AtomicU64::new(0),
    background_already_stored: AtomicU64::new(0),
    background_failed: AtomicU64::new(0),
    background_queued: AtomicU64::new(0),
    refusals: [const { AtomicU64::new(0) }; 4],
};

impl Metrics {
    pub fn record_request(&self, status: u16, seconds: f64) {
        let class = usize::from((status / 100).clamp(1, 5)) - 1;
        self.requests_by_class[class].fetch_add(1, Ordering::Relaxed);
        self.request_seconds.observe(seconds);
    }

    pub fn record_refusal(&self, why: Refusal) {
        self.refusals[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The histogram a span of this name feeds, if any.
    pub fn stage(&self, span_name: &str) -> Option<&Histogram> {
        stage_index(span_name).map(|i| &self.stage_seconds[i])
    }

    /// The Prometheus text exposition of everything above.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        let gauge = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        };
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);

        out.push_str("# HELP pictor_requests_total Requests answered, by status class.\n");
        out.push_str("# TYPE pictor_requests_total counter\n");
        for (i, class) in ["1xx", "2xx", "3xx", "4xx", "5xx"].iter().enumerate() {
            let _ = writeln!(
                out,
                "pictor_requests_total{{class=\"{class}\"}} {}",
                load(&self.requests_by_class[i])
            );
        }
        out.push_str("# HELP pictor_request_seconds Whole-request latency.\n");
        out.push_str("# TYPE pictor_request_seconds histogram\n");
        self.request_seconds
            .write(&mut out, "pictor_request_seconds", "route=\"all\"");
        out.push_str("# HELP pictor_stage_seconds Latency per pipeline stage.\n");
        out.push_str("# TYPE pictor_stage_seconds histogram\n");
        for (i, stage) in STAGES.iter().enumerate() {
            self.stage_seconds[i].write(
                &mut out,
                "pictor_stage_seconds",
                &format!("stage=\"{stage}\""),
            );
        }
        out.push_str("# HELP pictor_cache_requests_total Cache lookups by tier and result.\n");
        out.push_str("# TYPE pictor_cache_requests_total counter\n");
        for (tier, hits, misses) in [
            ("memory", &self.memory_cache_hits, &self.memory_cache_misses),
            (
                "result_storage",
                &self.result_storage_hits,
                &self.result_storage_misses,
            ),
            ("source", &self.source_cache_hits, &self.source_cache_misses),
        ] {
            let _ = writeln!(
                out,
                "pictor_cache_requests_total{{tier=\"{tier}\",result=\"hit\"}} {}",
                load(hits)
            );
            let _ = writeln!(
                out,
                "pictor_cache_requests_total{{tier=\"{tier}\",result=\"miss\"}} {}",
                load(misses)
            );
        }
        gauge(
            &mut out,
            "pictor_memory_cache_bytes",
            "Bytes held by the in-memory result cache.",
            load(&self.memory_cache_bytes),
        );
        gauge(
            &mut out,
            "pictor_queued_renders",
            "Renders waiting for a slot or memory.",
            load(&self.queued_renders),
        );
        gauge(
            &mut out,
            "pictor_running_renders",
            "Renders running now.",
            load(&self.running_renders),
        );
        gauge(
            &mut out,
            "pictor_background_queued_paths",
            "Paths waiting in this instance's in-process background queue.",
            load(&self.background_queued),
        );
        out.push_str(
            "# HELP pictor_background_paths_total Background paths (pre-heat, presets of uploads, regenerate --enqueue) by outcome.\n",
        );
        out.push_str("# TYPE pictor_background_paths_total counter\n");
        for (outcome, count) in [
            ("rendered", &self.background_renders),
            ("already_stored", &self.background_already_stored),
            ("failed", &self.background_failed),
        ] {
            let _ = writeln!(
                out,
                "pictor_background_paths_total{{outcome=\"{outcome}\"}} {}",
                load(count)
            );
        }
        counter(
            &mut out,
            "pictor_origin_bytes_total",
            "Bytes of originals loaded from the origin.",
            load(&self.origin_bytes),
        );
        counter(
            &mut out,
            "pictor_origin_fetches_total",
            "Originals loaded from the origin.",
            load(&self.origin_fetches),
        );
        counter(
            &mut out,
            "pictor_smart_detections_total",
            "Smart-crop detections run (once per original while its focal points are kept).",
            load(&self.smart_detections),
        );
        out.push_str("# HELP pictor_refused_total Requests refused by a limit.\n");
        out.push_str("# TYPE pictor_refused_total counter\n");
        for (i, reason) in ["queue_full", "memory_budget", "too_large", "deadline"]
            .iter()
            .enumerate()
        {
            let _ = writeln!(
                out,
                "pictor_refused_total{{reason=\"{reason}\"}} {}",
                load(&self.refusals[i])
            );
        }
        out
    }
}

/// A `tracing` layer that times spans named like a stage and feeds `pictor_stage_seconds`.
pub struct StageTimingLayer;

struct SpanStart(Instant);

impl<S> tracing_subscriber::Layer<S> for StageTimingLayer
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        if METRICS.stage(attrs.metadata().name()).is_some() {
            if let Some(span) = ctx.span(id) {
                span.extensions_mut().insert(SpanStart(Instant::now()));
            }
        }
    }

    fn on_close(&self, id: span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(histogram) = METRICS.stage(span.name()) else {
            return;
        };
        let elapsed = span
            .extensions()
            .get::<SpanStart>()
            .map(|start| start.0.elapsed().as_secs_f64());
        if let Some(seconds) = elapsed {
            histogram.observe(seconds);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let h = Histogram::new();
        h.observe(0.0005);
        h.observe(0.02);
        h.observe(50.0);
        let mut out = String::new();
        h.write(&mut out, "x", "a=\"b\"");
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.001\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.025\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"10\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("x_count{a=\"b\"} 3\n"), "{out}");
    }

    #[test]
    fn stage_spans_are_timed() {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry().with(StageTimingLayer);
        let before = METRICS
            .stage("encode")
            .unwrap()
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum::<u64>();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("encode");
            let _e = span.enter();
        });
        let after = METRICS
            .stage("encode")
            .unwrap()
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum::<u64>();
        assert_eq!(after, before + 1);
        let text = METRICS.render();
        assert!(text.contains("pictor_stage_seconds_count{stage=\"encode\"}"));
        assert!(text.contains("# TYPE pictor_requests_total counter"));
    }
}
