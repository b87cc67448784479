//! Request path -> [`ImageRequest`], following libthumbor's regex exactly (spec §1).

use super::ImageRequest;
use crate::error::PictorError;

/// Parses a raw (percent-encoded, no query string) request path.
pub fn parse_path(path: &str) -> Result<ImageRequest, PictorError> {
    let _ = path;
    todo!("parse_path")
}

/// Python's `urllib.parse.quote(s, safe)`: percent-encodes the UTF-8 bytes of `s` except
/// ASCII letters, digits, `_.-~` and the bytes in `safe`.
pub fn python_quote(s: &str, safe: &[u8]) -> String {
    let _ = (s, safe);
    todo!("python_quote")
}
