//! The check every upload passes before anything is stored: not empty, a format uploads take,
//! a header within MAX_PIXELS (frames of an animation counted together), and a decode that
//! succeeds (a truncated or corrupt file is refused here, not at its first render). The probe
//! and the decode are CPU work on hostile bytes, so they run on the blocking pool under the
//! render admission (a slot, then the decode's memory from RENDER_MEMORY_MB), never on the
//! async runtime.

use crate::error::PictorError;
use crate::imaging::decode::{self, DecodeOptions, Probe};
use crate::imaging::{ImageFormat, ImagingError};
use crate::server::app::App;
use bytes::Bytes;

/// The formats an upload may have: those pictor decodes and renders.
const ACCEPTED: [ImageFormat; 10] = [
    ImageFormat::Jpeg,
    ImageFormat::Png,
    ImageFormat::Gif,
    ImageFormat::Webp,
    ImageFormat::Avif,
    ImageFormat::Tiff,
    ImageFormat::Bmp,
    ImageFormat::Jp2,
    ImageFormat::Jxl,
    ImageFormat::Heif,
];

/// The extension a stored upload of `format` gets (JSON uploads' names, Location's default
/// filename): Python's `mimetypes.guess_extension`, as Thumbor uses.
pub fn extension(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "jpg",
        ImageFormat::Png => "png",
        ImageFormat::Gif => "gif",
        ImageFormat::Webp => "webp",
        ImageFormat::Avif => "avif",
        ImageFormat::Tiff => "tiff",
        ImageFormat::Bmp => "bmp",
        ImageFormat::Jp2 => "jp2",
        ImageFormat::Jxl => "jxl",
        ImageFormat::Heif => "heif",
        ImageFormat::Psd => "psd",
        ImageFormat::Svg => "svg",
    }
}

/// Checks `bytes` as an upload; the header probe on success.
pub async fn check_image(app: &App, bytes: &Bytes) -> Result<Probe, PictorError> {
    if bytes.is_empty() {
        return Err(PictorError::UnsupportedMediaType(
            "the upload is empty".into(),
        ));
    }
    let max_pixels = app.config.imaging.max_pixels;
    let max_jpeg_scans = app.config.imaging.max_jpeg_scans;
    let slot = app.admission.slot().await?;
    let probing = bytes.clone();
    let (slot, header, estimate) = on_blocking_pool("upload check", move || {
        let header = decode::probe(&probing).map_err(not_an_image)?;
        if !ACCEPTED.contains(&header.format) {
            return Err(PictorError::UnsupportedMediaType(format!(
                "{} images cannot be uploaded",
                header.format.name()
            )));
        }
        if !looks_complete(header.format, &probing) {
            return Err(PictorError::UnsupportedMediaType(format!(
                "the {} file is truncated",
                header.format.name()
            )));
        }
        let pixels = u64::from(header.width) * u64::from(header.height);
        if pixels > max_pixels {
            return Err(PictorError::TooLarge(format!(
                "{}x{} is {pixels} pixels, over MAX_PIXELS={max_pixels}",
                header.width, header.height
            )));
        }
        let frames = decode::frame_count(&probing, &header).max(1);
        if frames.saturating_mul(pixels) > decode::animation_pixel_budget(max_pixels) {
            return Err(PictorError::TooLarge(format!(
                "{frames} frames of {}x{} are over MAX_PIXELS={max_pixels} together",
                header.width, header.height
            )));
        }
        // The decoded frames, RGBA, plus the decoder's own scratch.
        let per_pixel = 4 + decode::decoder_scratch_bytes_per_pixel(header.format);
        Ok((slot, header, frames * pixels * per_pixel))
    })
    .await?;
    let permit = app.admission.memory(slot, estimate).await?;
    let bytes = bytes.clone();
    on_blocking_pool("upload check", move || {
        let _permit = permit;
        let mut options = DecodeOptions::new(max_pixels);
        options.max_jpeg_scans = max_jpeg_scans;
        decode::decode_probed(&bytes, &header, &options).map_err(not_an_image)?;
        Ok(header)
    })
    .await
}

/// Whether a file of `format` reaches its end marker. Renders read truncated files as far as
/// they go (as Thumbor does); an upload is kept for good, so one cut short is refused:
/// - JPEG: an EOI marker after the last scan's SOS (neither can occur inside entropy-coded
///   data, where 0xFF is stuffed);
/// - PNG: an IEND chunk;
/// - WebP: the RIFF container's declared size is all there.
///
/// Other formats are left to their decoders.
fn looks_complete(format: ImageFormat, bytes: &[u8]) -> bool {
    use memchr::memmem;
    match format {
        ImageFormat::Jpeg => {
            let last_scan = memmem::rfind(bytes, b"\xff\xda");
            let end = memmem::rfind(bytes, b"\xff\xd9");
            matches!((last_scan, end), (Some(scan), Some(end)) if end > scan)
        }
        ImageFormat::Png => memmem::find(bytes, b"IEND").is_some(),
        ImageFormat::Webp => bytes
            .get(4..8)
            .and_then(|size| size.try_into().ok())
            .map(u32::from_le_bytes)
            .is_some_and(|size| bytes.len() as u64 >= u64::from(size) + 8),
        _ => true,
    }
}

/// A probe or decode failure as the upload's answer: over a limit stays 400, anything the
/// decoder cannot read is Thumbor's 415.
fn not_an_image(e: ImagingError) -> PictorError {
    match e {
        ImagingError::TooLarge(why) => PictorError::TooLarge(why),
        ImagingError::Undecodable(why) | ImagingError::BadRequest(why) => {
            PictorError::UnsupportedMediaType(format!("not a readable image: {why}"))
        }
        other => other.into(),
    }
}

/// Runs `work` on the blocking pool (CPU work never runs on the runtime); a panic is this
/// call's 500, `"<what> failed"`.
pub(super) async fn on_blocking_pool<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> Result<T, PictorError> + Send + 'static,
) -> Result<T, PictorError> {
    match tokio::task::spawn_blocking(move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
    })
    .await
    {
        Ok(Ok(result)) => result,
        Ok(Err(_)) | Err(_) => Err(PictorError::Internal(format!("{what} failed"))),
    }
}
