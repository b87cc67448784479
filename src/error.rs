//! The typed errors of a request, and the one place they map to HTTP status codes.

use http::StatusCode;

/// Everything that can stop a request from producing an image.
#[derive(Debug, thiserror::Error)]
pub enum PictorError {
    /// The path does not match Thumbor's grammar, the signature is wrong or missing, or unsafe
    /// URLs are disabled. Thumbor answers all of these with 400.
    #[error("malformed url: {0}")]
    BadUrl(String),
    #[error("bad signature")]
    BadSignature,
    #[error("unsafe urls are disabled")]
    UnsafeDisabled,
    /// The original does not exist (or the path escapes the loader's root).
    #[error("source not found: {0}")]
    NotFound(String),
    /// The original exists but is not an image we can decode.
    #[error("cannot decode source: {0}")]
    Undecodable(String),
    /// The original or the requested output is over a configured limit (MAX_PIXELS, ...).
    #[error("over limit: {0}")]
    TooLarge(String),
    /// A request parameter is valid in the grammar but cannot be served (e.g. a watermark that
    /// cannot be loaded).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A `preset:` path naming a preset PRESETS does not define.
    #[error("unknown preset {0:?}")]
    UnknownPreset(String),
    /// PRESETS_ONLY is on and the path names no preset.
    #[error("PRESETS_ONLY: only preset paths (preset:<name>/<image>) are served")]
    PresetRequired,
    /// A request body over MAX_REQUEST_BODY_BYTES (from its Content-Length, or counted while it
    /// streams in).
    #[error("request body over {0} bytes")]
    BodyTooLarge(u64),
    /// A request body that did not arrive within HTTP_BODY_READ_TIMEOUT_SECONDS.
    #[error("request body not received within {0:?}")]
    BodyTimeout(std::time::Duration),
    /// An upload that is not an image pictor takes (not one at all, truncated, or a format
    /// uploads do not accept): Thumbor's 415.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// An upload over UPLOAD_MAX_SIZE: Thumbor's 412.
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// A method the endpoint does not take (or one turned off, such as PUT without
    /// UPLOAD_PUT_ALLOWED).
    #[error("method not allowed: {0}")]
    MethodNotAllowed(String),
    /// A missing or wrong API key.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The origin answered, but with nothing usable (empty body).
    #[error("bad gateway: {0}")]
    BadGateway(String),
    /// The origin did not answer in time.
    #[error("gateway timeout: {0}")]
    GatewayTimeout(String),
    /// An uploaded image its moderation verdict keeps from being served (flagged, or held until
    /// the classifier answers) with MODERATION_ACTION=refuse: 451.
    #[error("withheld: {0}")]
    Withheld(String),
    /// The server is full; the client should retry.
    #[error("overloaded: {0}")]
    Overloaded(String),
    /// A bug or an encoder failure; never the client's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl PictorError {
    /// The HTTP status Thumbor answers for this error (Thumbor behaviour notes §5.1).
    pub fn status(&self) -> StatusCode {
        match self {
            PictorError::BadUrl(_)
            | PictorError::BadSignature
            | PictorError::UnsafeDisabled
            | PictorError::Undecodable(_)
            | PictorError::TooLarge(_)
            | PictorError::BadRequest(_)
            | PictorError::UnknownPreset(_)
            | PictorError::PresetRequired => StatusCode::BAD_REQUEST,
            PictorError::NotFound(_) => StatusCode::NOT_FOUND,
            PictorError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PictorError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            PictorError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            PictorError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            PictorError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            PictorError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            PictorError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            PictorError::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            PictorError::Withheld(_) => StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS,
            PictorError::Overloaded(_) => StatusCode::SERVICE_UNAVAILABLE,
            PictorError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// One short line for the response body: says why, never leaks paths or origin details.
    pub fn public_reason(&self) -> &'static str {
        match self {
            PictorError::BadUrl(_) => "malformed url",
            PictorError::BadSignature => "bad signature",
            PictorError::UnsafeDisabled => "unsafe urls are disabled",
            PictorError::NotFound(_) => "source image not found",
            PictorError::Undecodable(_) => "source image could not be decoded",
            PictorError::TooLarge(_) => "image is over the configured limits",
            PictorError::BadRequest(_) => "bad request",
            PictorError::UnknownPreset(_) => "unknown preset",
            PictorError::PresetRequired => "only preset paths are served",
            PictorError::UnsupportedMediaType(_) => "not an image that can be uploaded",
            PictorError::PreconditionFailed(_) => "upload is over the size limit",
            PictorError::MethodNotAllowed(_) => "method not allowed",
            PictorError::Unauthorized(_) => "missing or wrong API key",
            PictorError::BodyTooLarge(_) => "request body is over the size limit",
            PictorError::BodyTimeout(_) => "request body was not received in time",
            PictorError::BadGateway(_) => "origin returned no usable image",
            PictorError::GatewayTimeout(_) => "origin timed out",
            PictorError::Withheld(_) => "image withheld by moderation",
            PictorError::Overloaded(_) => "server busy, retry later",
            PictorError::Internal(_) => "internal error",
        }
    }
}

pub type Result<T, E = PictorError> = std::result::Result<T, E>;

/// Errors are not `Clone` (they may wrap sources one day); merged waiters (of the result cache
/// and the source cache) get an equal copy.
pub(crate) fn clone_error(e: &PictorError) -> PictorError {
    match e {
        PictorError::BadUrl(m) => PictorError::BadUrl(m.clone()),
        PictorError::BadSignature => PictorError::BadSignature,
        PictorError::UnsafeDisabled => PictorError::UnsafeDisabled,
        PictorError::NotFound(m) => PictorError::NotFound(m.clone()),
        PictorError::Undecodable(m) => PictorError::Undecodable(m.clone()),
        PictorError::TooLarge(m) => PictorError::TooLarge(m.clone()),
        PictorError::BadRequest(m) => PictorError::BadRequest(m.clone()),
        PictorError::UnknownPreset(m) => PictorError::UnknownPreset(m.clone()),
        PictorError::PresetRequired => PictorError::PresetRequired,
        PictorError::UnsupportedMediaType(m) => PictorError::UnsupportedMediaType(m.clone()),
        PictorError::PreconditionFailed(m) => PictorError::PreconditionFailed(m.clone()),
        PictorError::MethodNotAllowed(m) => PictorError::MethodNotAllowed(m.clone()),
        PictorError::Unauthorized(m) => PictorError::Unauthorized(m.clone()),
        PictorError::BodyTooLarge(limit) => PictorError::BodyTooLarge(*limit),
        PictorError::BodyTimeout(limit) => PictorError::BodyTimeout(*limit),
        PictorError::BadGateway(m) => PictorError::BadGateway(m.clone()),
        PictorError::GatewayTimeout(m) => PictorError::GatewayTimeout(m.clone()),
        PictorError::Withheld(m) => PictorError::Withheld(m.clone()),
        PictorError::Overloaded(m) => PictorError::Overloaded(m.clone()),
        PictorError::Internal(m) => PictorError::Internal(m.clone()),
    }
}

/// `outer: inner: innermost`, without repeating a message that its source already says. Used
/// by every origin (HTTP loader, S3 store) to log the whole cause of a failure.
pub(crate) fn cause_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        let text = err.to_string();
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        current = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cause_chain_skips_repeats() {
        let inner = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(cause_chain(&inner), "refused");
    }
}
