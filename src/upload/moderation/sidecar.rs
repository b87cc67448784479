//! The metadata sidecar of an upload: `<stored key of the original>.json` beside it in storage
//! (`<root>/<id>.json` on S3, `<xx>/<sha1 rest>.json` in a folder), written before the original
//! so the original is never served without it. It says what the upload is (content type, size,
//! dimensions, SHA-256, app, when it was uploaded) and its moderation verdict. The reader is a
//! parser of stored bytes (anyone with write access to the bucket can put anything there):
//! bounded in size, strict in shape, and fuzzed (`fuzz/fuzz_targets/moderation_sidecar.rs`).

use crate::error::PictorError;
use crate::source::stored::StoredOriginals;
use serde::{Deserialize, Serialize};

/// A sidecar is a few hundred bytes; anything larger under its name is not one.
pub const MAX_SIDECAR_BYTES: u64 = 64 * 1024;
/// At most this many classifier labels are kept, each cut to `MAX_LABEL_CHARS`.
pub const MAX_LABELS: usize = 32;
pub const MAX_LABEL_CHARS: usize = 100;

/// The moderation state of an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Approved,
    Flagged,
    /// The classifier failed or timed out with MODERATION_FAIL=closed: served as flagged until
    /// `pictor moderate --retry` gets a verdict.
    Pending,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Approved => "approved",
            Status::Flagged => "flagged",
            Status::Pending => "pending",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Moderation {
    pub status: Status,
    /// The classifier's labels (empty when approved without any, or pending).
    #[serde(default)]
    pub labels: Vec<String>,
    /// When the classifier answered (RFC 3339, UTC); `None` while pending.
    pub checked_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    /// The image's name (the upload id, or the JSON upload's `<prefix>/<digest>.<ext>`).
    pub id: String,
    pub content_type: String,
    /// Bytes of the original.
    pub size: u64,
    pub width: u32,
    pub height: u32,
    /// `sha256:<hex>` of the original's bytes.
    pub hash: String,
    /// The app whose key uploaded it (JSON uploads), when known.
    pub app: Option<String>,
    /// RFC 3339, UTC.
    pub uploaded_at: String,
    pub moderation: Moderation,
}

/// Why stored bytes are not a sidecar.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SidecarError {
    #[error("sidecar over {MAX_SIDECAR_BYTES} bytes")]
    TooLarge,
    #[error("not a sidecar: {0}")]
    Malformed(String),
}

impl Sidecar {
    /// Reads stored bytes: at most MAX_SIDECAR_BYTES of JSON in exactly this shape, with at
    /// most MAX_LABELS labels.
    pub fn parse(bytes: &[u8]) -> Result<Sidecar, SidecarError> {
        if bytes.len() as u64 > MAX_SIDECAR_BYTES {
            return Err(SidecarError::TooLarge);
        }
        let sidecar: Sidecar =
            serde_json::from_slice(bytes).map_err(|e| SidecarError::Malformed(e.to_string()))?;
        if sidecar.moderation.labels.len() > MAX_LABELS {
            return Err(SidecarError::Malformed(format!(
                "more than {MAX_LABELS} labels"
            )));
        }
        Ok(sidecar)
    }

    /// The stored form (what `parse` reads back).
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain strings and numbers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A classifier's labels as kept: at most MAX_LABELS, each at most MAX_LABEL_CHARS characters
/// without control characters.
pub fn bounded_labels(labels: impl IntoIterator<Item = String>) -> Vec<String> {
    labels
        .into_iter()
        .take(MAX_LABELS)
        .map(|label| {
            label
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_LABEL_CHARS)
                .collect()
        })
        .collect()
}

/// What is known in memory of an original's moderation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not moderated: moderation is off, or the original is not an upload in storage.
    None,
    /// A stored original without a (readable) sidecar: moderated at its first load.
    Unchecked,
    Judged(Status),
}

/// The verdict in the sidecar of the stored image `name`.
pub async fn read_verdict(storage: &StoredOriginals, name: &str) -> Result<Verdict, PictorError> {
    Ok(
        match read_sidecar(storage, &storage.sidecar_key(name)).await? {
            Some(sidecar) => Verdict::Judged(sidecar.moderation.status),
            None => Verdict::Unchecked,
        },
    )
}

/// The sidecar under `key`; `None` when there is none or what is there is not one (then the
/// image is moderated again and the sidecar rewritten).
pub(super) async fn read_sidecar(
    storage: &StoredOriginals,
    key: &str,
) -> Result<Option<Sidecar>, PictorError> {
    let object = match storage.get_at(key, MAX_SIDECAR_BYTES).await {
        Ok(object) => object,
        Err(PictorError::TooLarge(_)) => {
            tracing::warn!(
                key,
                "moderation sidecar over its size limit; moderating again"
            );
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let Some(object) = object else {
        return Ok(None);
    };
    match Sidecar::parse(&object.body) {
        Ok(sidecar) => Ok(Some(sidecar)),
        Err(e) => {
            tracing::warn!(key, error = %e, "unreadable moderation sidecar; moderating again");
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Sidecar {
        Sidecar {
            id: "0123456789abcdef0123456789abcdef".into(),
            content_type: "image/jpeg".into(),
            size: 1234,
            width: 300,
            height: 200,
            hash: "sha256:00".into(),
            app: Some("blog".into()),
            uploaded_at: "2026-12-07T06:00:00Z".into(),
            moderation: Moderation {
                status: Status::Flagged,
                labels: vec!["nudity".into()],
                checked_at: Some("2026-12-07T06:00:01Z".into()),
            },
        }
    }

    #[test]
    fn round_trip_and_shape() {
        let sidecar = sample();
        let bytes = sidecar.to_bytes();
        assert_eq!(Sidecar::parse(&bytes).unwrap(), sidecar);
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.contains(r#""moderation":{"status":"flagged","labels":["nudity"],"checked_at":"2026-12-07T06:00:01Z"}"#),
            "{text}"
        );
    }

    #[test]
    fn refuses_what_is_not_a_sidecar() {
        assert!(matches!(
            Sidecar::parse(b"\xff\xd8\xff"),
            Err(SidecarError::Malformed(_))
        ));
        let text = String::from_utf8(sample().to_bytes()).unwrap();
        for bad in [
            text.replace("flagged", "maybe"),
            text.replace(r#""size":1234"#, r#""size":-1"#),
            text.replace(r#""id""#, r#""other":1,"id""#),
        ] {
            assert!(Sidecar::parse(bad.as_bytes()).is_err(), "{bad}");
        }
        let mut many = sample();
        many.moderation.labels = vec!["x".into(); MAX_LABELS + 1];
        assert!(Sidecar::parse(&many.to_bytes()).is_err());
        let huge = vec![b' '; MAX_SIDECAR_BYTES as usize + 1];
        assert_eq!(Sidecar::parse(&huge), Err(SidecarError::TooLarge));
    }

    #[test]
    fn labels_are_bounded() {
        let labels = bounded_labels(std::iter::repeat_n("a\nb".repeat(100), MAX_LABELS + 5));
        assert_eq!(labels.len(), MAX_LABELS);
        assert!(labels
            .iter()
            .all(|l| l.chars().count() == MAX_LABEL_CHARS && !l.contains('\n')));
    }
}
