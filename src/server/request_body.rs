//! Reading a request body into memory with a size cap and a deadline, for the endpoints that
//! take one (`POST /sign`). A client cannot make the server buffer more than
//! MAX_REQUEST_BODY_BYTES, nor hold a handler open by sending its body slowly.

use super::settings::ConnectionLimits;
use crate::error::PictorError;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Body;

/// The whole body, at most `limits.max_request_body_bytes` long, received within
/// `limits.body_read_timeout`.
///
/// A declared length over the cap (Content-Length, which hyper reports as the body's size hint)
/// is refused before a byte is read, so `Expect: 100-continue` clients never send it; bodies of
/// unknown length (chunked) are counted as they stream in and refused at the first byte over.
pub async fn read_capped<B>(body: B, limits: &ConnectionLimits) -> Result<Bytes, PictorError>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let max_bytes = limits.max_request_body_bytes;
    if body.size_hint().lower() > max_bytes {
        return Err(PictorError::BodyTooLarge(max_bytes));
    }
    let read = async {
        let mut body = std::pin::pin!(body);
        let mut collected = BytesMut::new();
        while let Some(frame) = body.as_mut().frame().await {
            let frame = frame.map_err(|e| {
                let e: Box<dyn std::error::Error + Send + Sync> = e.into();
                PictorError::BadRequest(format!("cannot read request body: {e}"))
            })?;
            // Trailers carry no payload; only data frames count against the cap.
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if (collected.len() + data.remaining()) as u64 > max_bytes {
                return Err(PictorError::BodyTooLarge(max_bytes));
            }
            collected.put(data);
        }
        Ok(collected.freeze())
    };
    tokio::time::timeout(limits.body_read_timeout, read)
        .await
        .map_err(|_| PictorError::BodyTimeout(limits.body_read_timeout))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{Full, StreamBody};
    use hyper::body::Frame;
    use std::convert::Infallible;
    use std::time::Duration;

    fn limits(max_request_body_bytes: u64, body_read_timeout: Duration) -> ConnectionLimits {
        ConnectionLimits {
            max_request_body_bytes,
            body_read_timeout,
            ..ConnectionLimits::default()
        }
    }

    type Frames = Vec<Result<Frame<Bytes>, Infallible>>;

    /// A body of unknown length (no size hint), as a chunked request is.
    fn chunked(
        chunks: Vec<&'static [u8]>,
    ) -> StreamBody<futures_util::stream::Iter<<Frames as IntoIterator>::IntoIter>> {
        let frames: Frames = chunks
            .into_iter()
            .map(|c| Ok(Frame::data(Bytes::from_static(c))))
            .collect();
        StreamBody::new(futures_util::stream::iter(frames))
    }

    #[tokio::test]
    async fn reads_bodies_up_to_the_cap() {
        let limits = limits(10, Duration::from_secs(5));
        let body = read_capped(Full::new(Bytes::from_static(b"0123456789")), &limits).await;
        assert_eq!(body.unwrap(), Bytes::from_static(b"0123456789"));
        let body = read_capped(chunked(vec![b"01234", b"56789"]), &limits).await;
        assert_eq!(body.unwrap(), Bytes::from_static(b"0123456789"));
    }

    #[tokio::test]
    async fn over_the_cap_is_413_declared_or_streamed() {
        let limits = limits(10, Duration::from_secs(5));
        let declared = read_capped(Full::new(Bytes::from_static(b"0123456789A")), &limits).await;
        assert!(matches!(declared, Err(PictorError::BodyTooLarge(10))));
        let streamed = read_capped(chunked(vec![b"01234", b"56789", b"A"]), &limits).await;
        let e = streamed.unwrap_err();
        assert_eq!(e.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn a_body_that_never_ends_is_408() {
        let limits = limits(10, Duration::from_millis(50));
        let never: StreamBody<futures_util::stream::Pending<Result<Frame<Bytes>, Infallible>>> =
            StreamBody::new(futures_util::stream::pending());
        let e = read_capped(never, &limits).await.unwrap_err();
        assert_eq!(e.status(), http::StatusCode::REQUEST_TIMEOUT);
    }
}
