//! The moderation settings: MODERATION_WEBHOOK_URL (moderation is on when it is set),
//! MODERATION_ACTION, MODERATION_FAIL and MODERATION_TIMEOUT_SECONDS.

use crate::config::reader::{invalid, ConfigError, Reader};
use std::time::Duration;

/// What is served for a flagged (or held) image (`MODERATION_ACTION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModerationAction {
    /// Every render is strongly blurred.
    Blur,
    /// 451, with a one-line reason.
    Refuse,
}

/// What a classifier that fails or does not answer in time means (`MODERATION_FAIL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailMode {
    /// The upload is approved.
    Open,
    /// The upload is held ("pending", served as flagged) until `pictor moderate --retry`
    /// gets an answer.
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModerationSettings {
    /// MODERATION_WEBHOOK_URL: the classifier every new upload is posted to (http or https).
    pub webhook_url: Option<String>,
    /// MODERATION_ACTION: `blur` (default) or `refuse`.
    pub action: ModerationAction,
    /// MODERATION_FAIL: `closed` (default) or `open`.
    pub fail: FailMode,
    /// MODERATION_TIMEOUT_SECONDS: how long the classifier may take (default 10).
    pub timeout: Duration,
}

impl Default for ModerationSettings {
    fn default() -> Self {
        ModerationSettings {
            webhook_url: None,
            action: ModerationAction::Blur,
            fail: FailMode::Closed,
            timeout: Duration::from_secs(10),
        }
    }
}

impl ModerationSettings {
    pub fn from_keys(r: &Reader<'_>) -> Result<ModerationSettings, ConfigError> {
        let d = ModerationSettings::default();
        let webhook_url = r
            .optional_string("MODERATION_WEBHOOK_URL")
            .filter(|url| !url.is_empty());
        if let Some(url) = &webhook_url {
            let parsed = reqwest::Url::parse(url)
                .map_err(|e| invalid("MODERATION_WEBHOOK_URL", url, &format!("not a URL: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                return Err(invalid(
                    "MODERATION_WEBHOOK_URL",
                    url,
                    "expected an http:// or https:// URL",
                ));
            }
        }
        let action = match r.string("MODERATION_ACTION", "blur").as_str() {
            "blur" => ModerationAction::Blur,
            "refuse" => ModerationAction::Refuse,
            other => {
                return Err(invalid(
                    "MODERATION_ACTION",
                    other,
                    "expected blur or refuse",
                ))
            }
        };
        let fail = match r.string("MODERATION_FAIL", "closed").as_str() {
            "closed" => FailMode::Closed,
            "open" => FailMode::Open,
            other => return Err(invalid("MODERATION_FAIL", other, "expected open or closed")),
        };
        let timeout = r.seconds("MODERATION_TIMEOUT_SECONDS", d.timeout)?;
        Ok(ModerationSettings {
            webhook_url,
            action,
            fail,
            timeout,
        })
    }

    /// Whether uploads are moderated (a webhook is configured).
    pub fn enabled(&self) -> bool {
        self.webhook_url.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::reader::with_pairs;

    #[test]
    fn keys_and_defaults() {
        let d = with_pairs(&[], ModerationSettings::from_keys).unwrap();
        assert_eq!(d, ModerationSettings::default());
        assert!(!d.enabled());
        let s = with_pairs(
            &[
                ("MODERATION_WEBHOOK_URL", "http://127.0.0.1:9/classify"),
                ("MODERATION_ACTION", "refuse"),
                ("MODERATION_FAIL", "open"),
                ("MODERATION_TIMEOUT_SECONDS", "3"),
            ],
            ModerationSettings::from_keys,
        )
        .unwrap();
        assert!(s.enabled());
        assert_eq!(s.action, ModerationAction::Refuse);
        assert_eq!(s.fail, FailMode::Open);
        assert_eq!(s.timeout, Duration::from_secs(3));
        for bad in [
            ("MODERATION_WEBHOOK_URL", "ftp://x/"),
            ("MODERATION_WEBHOOK_URL", "not a url"),
            ("MODERATION_ACTION", "hide"),
            ("MODERATION_FAIL", "maybe"),
            ("MODERATION_TIMEOUT_SECONDS", "0"),
        ] {
            assert_eq!(
                with_pairs(&[bad], ModerationSettings::from_keys)
                    .unwrap_err()
                    .key,
                bad.0
            );
        }
    }
}
