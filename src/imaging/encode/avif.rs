//! AVIF output through ravif (rav1e, with its assembly) behind the default-on `avif` cargo
//! feature: 8-bit, quality 1–100 like Thumbor's AVIF_QUALITY, speed 1–10 from AVIF_SPEED (10,
//! the fastest, by default), one thread per render like every other encoder. Alpha is kept;
//! ICC profiles are not embedded (the `image` wrapper cannot write them).

use super::EncodeSettings;
use crate::imaging::{Image, ImagingError, PixelLayout};
use image::codecs::avif::AvifEncoder;
use image::{ExtendedColorType, ImageEncoder};
use std::panic::{self, AssertUnwindSafe};

pub(super) fn encode(image: &Image, settings: &EncodeSettings) -> Result<Vec<u8>, ImagingError> {
    let colour = match image.layout {
        PixelLayout::Rgb8 => ExtendedColorType::Rgb8,
        PixelLayout::Rgba8 => ExtendedColorType::Rgba8,
    };
    let mut out = Vec::new();
    let encoder = AvifEncoder::new_with_speed_quality(
        &mut out,
        settings.avif_speed.clamp(1, 10),
        settings.quality.clamp(1, 100),
    )
    .with_num_threads(Some(1));
    // The wrapper asserts on the buffer length (checked by `encode` already); never unwind out.
    let written = panic::catch_unwind(AssertUnwindSafe(|| {
        encoder.write_image(&image.frames[0].pixels, image.width, image.height, colour)
    }));
    match written {
        Ok(Ok(())) => Ok(out),
        Ok(Err(e)) => Err(ImagingError::Encode(format!("avif: {e}"))),
        Err(_) => Err(ImagingError::Encode("avif: encoder panicked".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{choose_output_format, encode, FormatContext};
    use super::*;
    use crate::imaging::decode::sniff;
    use crate::imaging::{ImageFormat, SourceInfo};

    fn gradient(layout: PixelLayout) -> Image {
        let (width, height) = (64u32, 48u32);
        let channels = layout.channels();
        let mut pixels = Vec::with_capacity((width * height) as usize * channels);
        for y in 0..height {
            for x in 0..width {
                pixels.extend_from_slice(&[(x * 4) as u8, (y * 5) as u8, 128]);
                if channels == 4 {
                    pixels.push(if x < 32 { 255 } else { 64 });
                }
            }
        }
        Image::still(
            width,
            height,
            layout,
            pixels,
            SourceInfo {
                format: ImageFormat::Png,
                width,
                height,
                orientation: 1,
                icc_profile: None,
                palette: false,
                grayscale: false,
                loop_count: None,
            },
        )
    }

    fn settings(quality: u8) -> EncodeSettings {
        EncodeSettings {
            quality,
            progressive_jpeg: true,
            png_compression_level: 6,
            webp_method: 2,
            keep_icc: true,
            avif_speed: 10,
        }
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn writes_avif_with_alpha_only_when_there_is_alpha() {
        let rgb = encode(
            &gradient(PixelLayout::Rgb8),
            ImageFormat::Avif,
            &settings(80),
        )
        .unwrap();
        assert_eq!(sniff(&rgb), Some(ImageFormat::Avif));
        assert!(!contains(&rgb, b"auxiliary:alpha"));
        let rgba = encode(
            &gradient(PixelLayout::Rgba8),
            ImageFormat::Avif,
            &settings(80),
        )
        .unwrap();
        assert_eq!(sniff(&rgba), Some(ImageFormat::Avif));
        assert!(contains(&rgba, b"auxiliary:alpha"));
    }

    #[test]
    fn quality_changes_the_size() {
        let image = gradient(PixelLayout::Rgb8);
        let low = encode(&image, ImageFormat::Avif, &settings(20)).unwrap();
        let high = encode(&image, ImageFormat::Avif, &settings(95)).unwrap();
        assert!(low.len() < high.len(), "{} vs {}", low.len(), high.len());
    }

    #[test]
    fn auto_avif_follows_thumbor_order() {
        let base = FormatContext {
            requested: None,
            source: ImageFormat::Jpeg,
            animated: false,
            width: 800,
            height: 600,
            auto_webp: false,
            accepts_webp: false,
            auto_avif: true,
            accepts_avif: true,
            png_to_jpg: false,
        };
        assert_eq!(choose_output_format(&base), ImageFormat::Avif);
        // WebP is checked first; animations and clients without image/avif keep the source.
        let webp_too = FormatContext {
            auto_webp: true,
            accepts_webp: true,
            ..base
        };
        assert_eq!(choose_output_format(&webp_too), ImageFormat::Webp);
        let animated = FormatContext {
            source: ImageFormat::Gif,
            animated: true,
            ..base
        };
        assert_eq!(choose_output_format(&animated), ImageFormat::Gif);
        let no_accept = FormatContext {
            accepts_avif: false,
            ..base
        };
        assert_eq!(choose_output_format(&no_accept), ImageFormat::Jpeg);
        // format(avif) wins when the encoder is built in; AVIF beats AUTO_PNG_TO_JPG.
        let requested = FormatContext {
            requested: Some(ImageFormat::Avif),
            auto_avif: false,
            ..base
        };
        assert_eq!(choose_output_format(&requested), ImageFormat::Avif);
        let png = FormatContext {
            source: ImageFormat::Png,
            png_to_jpg: true,
            ..base
        };
        assert_eq!(choose_output_format(&png), ImageFormat::Avif);
    }
}
