//! JPEG output with libjpeg-turbo's fast defaults (no trellis), optimized Huffman tables and
//! 4:2:0 chroma, as Pillow does with Thumbor's `optimize=True`: progressive colour images through
//! the planes writer (the same bytes as mozjpeg), the rest through mozjpeg. Alpha is
//! dropped like Pillow's `convert("RGB")`; gray originals that are still gray are written as
//! one-channel JPEGs, as Pillow keeps mode L.

use super::{embeddable_icc, is_gray, EncodeSettings};
use crate::imaging::jpeg::icc::icc_marker_payloads;
use crate::imaging::jpeg::planes::YccImage;
use crate::imaging::jpeg::planes_writer::{self, JPEG_MAX_SIDE};
use crate::imaging::{Image, ImagingError, PixelLayout};
use mozjpeg::ColorSpace;
use std::borrow::Cow;
use std::panic::{self, AssertUnwindSafe};

pub(super) fn encode(image: &Image, settings: &EncodeSettings) -> Result<Vec<u8>, ImagingError> {
    if image.width > JPEG_MAX_SIDE || image.height > JPEG_MAX_SIDE {
        return Err(ImagingError::Encode(format!(
            "{}x{} is too large for JPEG",
            image.width, image.height
        )));
    }
    let pixels = &image.frames[0].pixels;
    let gray = image.source.grayscale && is_gray(image);
    let channels = image.layout.channels();
    if !gray && settings.progressive_jpeg {
        // The same bytes mozjpeg writes, in half the time (see planes_writer).
        let planes = YccImage::from_rgb(pixels, channels, image.width, image.height);
        let icc = embeddable_icc(image, settings, b"RGB ");
        return planes_writer::encode(&planes, settings.quality.clamp(1, 100), icc);
    }
    let (colour_space, samples): (ColorSpace, Cow<'_, [u8]>) = if gray {
        let luma = pixels.chunks_exact(channels).map(|p| p[0]).collect();
        (ColorSpace::JCS_GRAYSCALE, Cow::Owned(luma))
    } else if image.layout == PixelLayout::Rgba8 {
        let rgb = pixels
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        (ColorSpace::JCS_RGB, Cow::Owned(rgb))
    } else {
        (ColorSpace::JCS_RGB, Cow::Borrowed(&pixels[..]))
    };
    let icc = embeddable_icc(image, settings, if gray { b"GRAY" } else { b"RGB " });

    let compress = || -> std::io::Result<Vec<u8>> {
        let mut compress = mozjpeg::Compress::new(colour_space);
        compress.set_size(image.width as usize, image.height as usize);
        // Resets every parameter, so it comes first.
        compress.set_fastest_defaults();
        compress.set_quality(f32::from(settings.quality.clamp(1, 100)));
        compress.set_optimize_coding(true);
        if settings.progressive_jpeg {
            compress.set_progressive_mode();
        }
        if !gray {
            compress.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
        }
        let mut started = compress.start_compress(Vec::with_capacity(samples.len() / 8))?;
        if let Some(icc) = icc {
            for payload in icc_marker_payloads(icc) {
                started.write_marker(mozjpeg::Marker::APP(2), &payload);
            }
        }
        started.write_scanlines(&samples)?;
        started.finish()
    };
    // libjpeg reports errors by unwinding through mozjpeg's error manager.
    match panic::catch_unwind(AssertUnwindSafe(compress)) {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(ImagingError::Encode(format!("jpeg: {e}"))),
        Err(_) => Err(ImagingError::Encode("jpeg: libjpeg failed".into())),
    }
}
