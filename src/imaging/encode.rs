//! Choosing the output format (format() filter, AUTO_WEBP and Accept, source format) and
//! encoding frames to JPEG, PNG, GIF (animated) and WebP.

use super::{Image, ImageFormat, ImagingError};

/// Encoder knobs, already resolved from config and filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeSettings {
    /// 1..=100; for WebP 100 means lossless (as Pillow).
    pub quality: u8,
    pub progressive_jpeg: bool,
    /// 0..=9 like zlib / Pillow's compress_level.
    pub png_compression_level: u8,
    /// libwebp method 0 (fast) ..= 6 (small).
    pub webp_method: u8,
    /// Embed the source ICC profile (Thumbor keeps it unless `strip_icc()`).
    pub keep_icc: bool,
}

/// Inputs of Thumbor's `define_image_type` (spec §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatContext {
    /// A valid `format()` filter.
    pub requested: Option<ImageFormat>,
    pub source: ImageFormat,
    pub animated: bool,
    pub width: u32,
    pub height: u32,
    pub auto_webp: bool,
    pub accepts_webp: bool,
    /// AUTO_PNG_TO_JPG (or the `autojpg` override) and the image has no transparency.
    pub png_to_jpg: bool,
}

/// The output format for a render, by Thumbor's rules.
pub fn choose_output_format(ctx: &FormatContext) -> ImageFormat {
    let _ = ctx;
    todo!("encode::choose_output_format")
}

/// Encodes `image` (every frame, for GIF/animated output) in `format`.
pub fn encode(
    image: &Image,
    format: ImageFormat,
    settings: &EncodeSettings,
) -> Result<Vec<u8>, ImagingError> {
    let _ = (image, format, settings);
    todo!("encode::encode")
}
