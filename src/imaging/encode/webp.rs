//! WebP output through libwebp (`webp` crate): lossy at the requested quality and method,
//! lossless at quality 100 (Pillow's rule), alpha kept, and animated WebP for animated images.

use super::{EncodeSettings, WEBP_MAX_SIDE};
use crate::imaging::{Image, ImagingError, PixelLayout};
use std::panic::{self, AssertUnwindSafe};

/// libwebp's effort for lossless output (cwebp's default); Pillow would pass the quality, 100,
/// which is the slowest setting for a few percent of bytes.
const LOSSLESS_EFFORT: f32 = 75.0;

pub(super) fn encode(image: &Image, settings: &EncodeSettings) -> Result<Vec<u8>, ImagingError> {
    if image.width > WEBP_MAX_SIDE || image.height > WEBP_MAX_SIDE {
        return Err(ImagingError::Encode(format!(
            "{}x{} is too large for WebP",
            image.width, image.height
        )));
    }
    let mut config = webp::WebPConfig::new()
        .map_err(|()| ImagingError::Encode("webp: cannot initialise libwebp config".into()))?;
    config.method = i32::from(settings.webp_method.min(6));
    if settings.quality >= 100 {
        config.lossless = 1;
        config.quality = LOSSLESS_EFFORT;
    } else {
        config.lossless = 0;
        config.quality = f32::from(settings.quality.max(1));
        config.alpha_compression = 1;
    }
    let layout = match image.layout {
        PixelLayout::Rgb8 => webp::PixelLayout::Rgb,
        PixelLayout::Rgba8 => webp::PixelLayout::Rgba,
    };
    // The wrapper asserts on buffer sizes (checked already by `encode`); never unwind out.
    let encoded = panic::catch_unwind(AssertUnwindSafe(|| {
        if image.is_animated() {
            encode_animation(image, layout, &config)
        } else {
            webp::Encoder::new(&image.frames[0].pixels, layout, image.width, image.height)
                .encode_advanced(&config)
                .map(|memory| memory.to_vec())
                .map_err(|e| ImagingError::Encode(format!("webp: {e:?}")))
        }
    }));
    encoded.unwrap_or_else(|_| Err(ImagingError::Encode("webp: encoder panicked".into())))
}

/// Frames are placed at their start times. libwebp derives each frame's duration from the next
/// start time; the last frame gets the average duration of the others (the `webp` wrapper does
/// not pass the end time through).
fn encode_animation(
    image: &Image,
    layout: webp::PixelLayout,
    config: &webp::WebPConfig,
) -> Result<Vec<u8>, ImagingError> {
    let mut encoder = webp::AnimEncoder::new(image.width, image.height, config);
    // WebP counts plays like `SourceInfo::loop_count`; an unset count means one play.
    encoder.set_loop_count(i32::from(image.source.loop_count.unwrap_or(1)));
    let mut start_ms: i32 = 0;
    for frame in &image.frames {
        encoder.add_frame(webp::AnimFrame::new(
            &frame.pixels,
            layout,
            image.width,
            image.height,
            start_ms,
            None,
        ));
        start_ms = start_ms.saturating_add(i32::try_from(frame.delay_ms).unwrap_or(i32::MAX));
    }
    encoder
        .try_encode()
        .map(|memory| memory.to_vec())
        .map_err(|e| ImagingError::Encode(format!("webp animation: {e:?}")))
}
