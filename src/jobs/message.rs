//! The two texts background work arrives as, both read from bytes others send: the body of
//! `POST /preheat` (`{"paths": [...]}`) and the body of a queue message (`{"job": "...",
//! "path": "..."}`). Both are bounded before anything is queued: at most
//! [`MAX_PATHS_PER_REQUEST`] paths per request, each at most [`MAX_PATH_BYTES`] long, written
//! as after the signature (no leading `unsafe/` or signature). Whether a path is in Thumbor's
//! grammar is the imaging path's business when it renders: a bad one is counted failed.

use serde::{Deserialize, Serialize};

/// Most paths one `POST /preheat` may carry (larger backlogs are posted in batches).
pub const MAX_PATHS_PER_REQUEST: usize = 1000;

/// Longest path accepted (an S3 result key is at most 1024 bytes; longer paths are hashed, but
/// nothing a CDN forwards is this long).
pub const MAX_PATH_BYTES: usize = 2048;

/// Longest job id a message may name (pictor's are 16 hex digits).
const MAX_JOB_ID_BYTES: usize = 64;

/// Why a body or message was refused: one line for the client or the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error(r#"expected {{"paths": ["300x200/a.jpg", ...]}}"#)]
    NotAPathList,
    #[error("no paths given")]
    Empty,
    #[error("{0} paths, more than {MAX_PATHS_PER_REQUEST} per request")]
    TooManyPaths(usize),
    #[error("path {0} is empty or over {MAX_PATH_BYTES} bytes")]
    BadLength(usize),
    #[error("path {0} starts with a signature or `unsafe/`: give the path after it")]
    Signed(usize),
    #[error("path {0} holds a control character")]
    ControlCharacter(usize),
    #[error("not a pictor queue message")]
    NotAMessage,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreheatBody {
    paths: Vec<String>,
}

/// The paths of a `POST /preheat` body, leading `/` removed, each checked.
pub fn parse_preheat_body(body: &[u8]) -> Result<Vec<String>, MessageError> {
    let parsed: PreheatBody =
        serde_json::from_slice(body).map_err(|_| MessageError::NotAPathList)?;
    if parsed.paths.is_empty() {
        return Err(MessageError::Empty);
    }
    if parsed.paths.len() > MAX_PATHS_PER_REQUEST {
        return Err(MessageError::TooManyPaths(parsed.paths.len()));
    }
    parsed
        .paths
        .into_iter()
        .enumerate()
        .map(|(index, path)| checked_path(index, path))
        .collect()
}

/// One path as a job names it: no leading `/` (any given are dropped), not empty, bounded, no signature segment, no
/// control characters (they would never arrive in a request line).
pub fn checked_path(index: usize, path: String) -> Result<String, MessageError> {
    let path = match path.strip_prefix('/') {
        Some(rest) => rest.trim_start_matches('/').to_string(),
        None => path,
    };
    if path.is_empty() || path.len() > MAX_PATH_BYTES {
        return Err(MessageError::BadLength(index));
    }
    if path.starts_with("unsafe/") || looks_signed(&path) {
        return Err(MessageError::Signed(index));
    }
    if path.chars().any(char::is_control) {
        return Err(MessageError::ControlCharacter(index));
    }
    Ok(path)
}

/// A first segment of 28 URL-safe base64 characters ending in `=` is a Thumbor signature.
fn looks_signed(path: &str) -> bool {
    let first = path.split('/').next().unwrap_or("");
    first.len() == 28
        && first.ends_with('=')
        && first[..27]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// One path of one job on a shared queue (the body of an SQS message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueMessage {
    /// The job it belongs to (counted by the instance that took the job).
    pub job: String,
    pub path: String,
}

impl QueueMessage {
    pub fn to_body(&self) -> String {
        // A struct of two strings always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A message body as another instance (or anyone with access to the queue) wrote it.
    pub fn parse(body: &str) -> Result<QueueMessage, MessageError> {
        let message: QueueMessage =
            serde_json::from_str(body).map_err(|_| MessageError::NotAMessage)?;
        if message.job.is_empty()
            || message.job.len() > MAX_JOB_ID_BYTES
            || !message.job.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(MessageError::NotAMessage);
        }
        let path = checked_path(0, message.path)?;
        Ok(QueueMessage {
            job: message.job,
            path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_path_list() {
        assert_eq!(
            parse_preheat_body(br#"{"paths": ["/300x200/a.jpg", "fit-in/10x10/b.png"]}"#),
            Ok(vec![
                "300x200/a.jpg".to_string(),
                "fit-in/10x10/b.png".to_string()
            ])
        );
    }

    #[test]
    fn refuses_what_is_not_a_bounded_list_of_unsigned_paths() {
        for (body, expected) in [
            (&b"[]"[..], MessageError::NotAPathList),
            (br#"{"paths": "a.jpg"}"#, MessageError::NotAPathList),
            (br#"{"paths": [1]}"#, MessageError::NotAPathList),
            (br#"{"paths": ["a"], "x": 1}"#, MessageError::NotAPathList),
            (br#"{"paths": []}"#, MessageError::Empty),
            (br#"{"paths": ["a", ""]}"#, MessageError::BadLength(1)),
            (br#"{"paths": ["unsafe/a.jpg"]}"#, MessageError::Signed(0)),
            (
                br#"{"paths": ["AAAAAAAAAAAAAAAAAAAAAAAAAAA=/a.jpg"]}"#,
                MessageError::Signed(0),
            ),
            (br#"{"paths": ["a\nb"]}"#, MessageError::ControlCharacter(0)),
        ] {
            assert_eq!(parse_preheat_body(body), Err(expected), "{body:?}");
        }
        let many = format!(r#"{{"paths": [{}]}}"#, vec![r#""a""#; 1001].join(","));
        assert_eq!(
            parse_preheat_body(many.as_bytes()),
            Err(MessageError::TooManyPaths(1001))
        );
        let long = format!(r#"{{"paths": ["{}"]}}"#, "a".repeat(MAX_PATH_BYTES + 1));
        assert_eq!(
            parse_preheat_body(long.as_bytes()),
            Err(MessageError::BadLength(0))
        );
    }

    #[test]
    fn queue_messages_round_trip_and_refuse_strangers() {
        let message = QueueMessage {
            job: "0123abcd".into(),
            path: "300x200/a.jpg".into(),
        };
        assert_eq!(QueueMessage::parse(&message.to_body()), Ok(message));
        for body in [
            "",
            "{}",
            r#"{"job": "a/b", "path": "a.jpg"}"#,
            r#"{"job": "", "path": "a.jpg"}"#,
            r#"{"job": "ab", "path": "unsafe/a.jpg"}"#,
            r#"{"job": "ab", "path": "a.jpg", "more": 1}"#,
        ] {
            assert!(QueueMessage::parse(body).is_err(), "{body}");
        }
    }
}
