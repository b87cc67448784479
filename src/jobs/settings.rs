//! The background queue's keys: how many slots background renders may hold, where the backlog
//! is kept (in process or an SQS queue shared by a fleet) and how large it may grow.

use crate::config::reader::{invalid, ConfigError, Reader};
use std::time::Duration;

/// Where the backlog of paths to render is kept (BACKGROUND_QUEUE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueKind {
    /// `process` (default): a bounded queue in this instance's memory.
    #[default]
    InProcess,
    /// `sqs`: an SQS queue every instance of a fleet consumes.
    Sqs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackgroundSettings {
    /// BACKGROUND_RENDERS: render slots background work may hold at once (default 1).
    pub background_renders: usize,
    /// BACKGROUND_WHEN_IDLE: a background render starts only while no visitor's render runs
    /// (default); off, also beside them (only while none waits).
    pub when_idle: bool,
    /// BACKGROUND_QUEUE: `process` or `sqs`.
    pub queue: QueueKind,
    /// BACKGROUND_QUEUE_SIZE: paths the in-process queue holds; more are a 503 on /preheat.
    pub queue_size: usize,
    /// BACKGROUND_QUEUE_URL: the SQS queue's URL (with BACKGROUND_QUEUE=sqs).
    pub queue_url: Option<String>,
    /// AWS_SQS_ENDPOINT_URL: an SQS-compatible endpoint (else AWS's for the region).
    pub sqs_endpoint_url: Option<String>,
    /// AWS_SQS_REGION_NAME.
    pub sqs_region: String,
    /// BACKGROUND_VISIBILITY_TIMEOUT_SECONDS: how long a received message stays hidden from
    /// the other instances; must be longer than REQUEST_TIMEOUT_SECONDS (a render's bound).
    pub visibility_timeout: Duration,
}

impl Default for BackgroundSettings {
    fn default() -> Self {
        BackgroundSettings {
            background_renders: 1,
            when_idle: true,
            queue: QueueKind::InProcess,
            queue_size: 10_000,
            queue_url: None,
            sqs_endpoint_url: None,
            sqs_region: "us-east-1".to_string(),
            visibility_timeout: Duration::from_secs(120),
        }
    }
}

impl BackgroundSettings {
    /// `request_timeout_seconds`: REQUEST_TIMEOUT_SECONDS, which the visibility timeout must
    /// exceed (else a render still running would be handed to another instance).
    pub fn from_keys(
        r: &Reader<'_>,
        request_timeout_seconds: u64,
    ) -> Result<BackgroundSettings, ConfigError> {
        let d = BackgroundSettings::default();
        let queue = match r.raw("BACKGROUND_QUEUE").map(str::to_ascii_lowercase) {
            None => QueueKind::InProcess,
            Some(v) if v.is_empty() || v == "process" => QueueKind::InProcess,
            Some(v) if v == "sqs" => QueueKind::Sqs,
            Some(v) => {
                return Err(invalid(
                    "BACKGROUND_QUEUE",
                    &v,
                    "expected `process` or `sqs`",
                ))
            }
        };
        let queue_url = r.optional_string("BACKGROUND_QUEUE_URL");
        if queue == QueueKind::Sqs && queue_url.is_none() {
            return Err(invalid(
                "BACKGROUND_QUEUE",
                "sqs",
                "needs BACKGROUND_QUEUE_URL (the SQS queue's URL)",
            ));
        }
        let sqs_endpoint_url = r.optional_string("AWS_SQS_ENDPOINT_URL");
        for (key, url) in [
            ("BACKGROUND_QUEUE_URL", &queue_url),
            ("AWS_SQS_ENDPOINT_URL", &sqs_endpoint_url),
        ] {
            if let Some(url) = url {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(invalid(key, url, "expected an http:// or https:// URL"));
                }
            }
        }
        let sqs_region = r.string("AWS_SQS_REGION_NAME", &d.sqs_region);
        if sqs_region.is_empty() {
            return Err(invalid("AWS_SQS_REGION_NAME", "", "must not be empty"));
        }
        let default_visibility = d
            .visibility_timeout
            .as_secs()
            .max(2 * request_timeout_seconds);
        let visibility_seconds = r.number(
            "BACKGROUND_VISIBILITY_TIMEOUT_SECONDS",
            default_visibility,
            1,
            // SQS's own maximum: 12 hours.
            43_200,
        )?;
        if visibility_seconds <= request_timeout_seconds {
            return Err(invalid(
                "BACKGROUND_VISIBILITY_TIMEOUT_SECONDS",
                &visibility_seconds.to_string(),
                "must be more than REQUEST_TIMEOUT_SECONDS (else a render still running is \
                 handed to another instance)",
            ));
        }
        Ok(BackgroundSettings {
            background_renders: r.number(
                "BACKGROUND_RENDERS",
                d.background_renders as u64,
                1,
                4096,
            )? as usize,
            when_idle: r.boolean("BACKGROUND_WHEN_IDLE", d.when_idle)?,
            queue,
            queue_size: r.number("BACKGROUND_QUEUE_SIZE", d.queue_size as u64, 1, 10_000_000)?
                as usize,
            queue_url,
            sqs_endpoint_url,
            sqs_region,
            visibility_timeout: Duration::from_secs(visibility_seconds),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::reader::with_pairs;

    fn read(pairs: &[(&str, &str)]) -> Result<BackgroundSettings, ConfigError> {
        with_pairs(pairs, |r| BackgroundSettings::from_keys(r, 30))
    }

    #[test]
    fn defaults_and_sqs_keys() {
        assert_eq!(read(&[]).unwrap(), BackgroundSettings::default());
        let sqs = read(&[
            ("BACKGROUND_QUEUE", "sqs"),
            ("BACKGROUND_QUEUE_URL", "http://127.0.0.1:5000/123/jobs"),
            ("AWS_SQS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("BACKGROUND_RENDERS", "2"),
        ])
        .unwrap();
        assert_eq!(sqs.queue, QueueKind::Sqs);
        assert_eq!(sqs.background_renders, 2);
        assert!(read(&[("BACKGROUND_QUEUE", "sqs")]).is_err());
        assert!(read(&[("BACKGROUND_QUEUE", "redis")]).is_err());
        assert!(read(&[("BACKGROUND_RENDERS", "0")]).is_err());
        assert!(read(&[("BACKGROUND_QUEUE_URL", "ftp://x")]).is_err());
    }

    #[test]
    fn visibility_must_outlast_a_render() {
        assert!(read(&[("BACKGROUND_VISIBILITY_TIMEOUT_SECONDS", "30")]).is_err());
        assert!(read(&[("BACKGROUND_VISIBILITY_TIMEOUT_SECONDS", "31")]).is_ok());
        let long = with_pairs(&[], |r| BackgroundSettings::from_keys(r, 100)).unwrap();
        assert_eq!(long.visibility_timeout, Duration::from_secs(200));
    }
}
