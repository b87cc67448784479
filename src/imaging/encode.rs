//! Choosing the output format (format() filter, AUTO_WEBP and Accept, source format) and
//! encoding frames to JPEG, PNG, GIF (animated), WebP and (with the `avif` feature) AVIF.
//!
//! JPEG: progressive colour JPEGs (Thumbor's default) are written by the planes writer
//! ([`crate::imaging::jpeg`]) from libjpeg-identical YCbCr planes, byte for byte what mozjpeg writes in about half the time;
//! baseline and gray ones go through mozjpeg (libjpeg-turbo's fast settings, optimized Huffman,
//! 4:2:0).
//! PNG through the `png` crate (palette and gray written back when the source was so), GIF
//! through the `gif` crate (every frame, delays and loop kept), WebP through libwebp (animated
//! when the image is). Other formats are not written: the pipeline serves TIFF as PNG and
//! BMP/JP2/PSD as JPEG (see [`choose_output_format`]).

#[cfg(feature = "avif")]
mod avif;
mod gif;
mod jpeg;
mod png;
mod webp;

#[cfg(test)]
mod tests;

use super::{Image, ImageFormat, ImagingError, PixelLayout};

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
    /// ravif speed 1 (small) ..= 10 (fast), AVIF_SPEED.
    pub avif_speed: u8,
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
    /// AUTO_AVIF and the client's Accept contains `image/avif`.
    pub auto_avif: bool,
    pub accepts_avif: bool,
    /// AUTO_PNG_TO_JPG (or the `autojpg` override) and the image has no transparency.
    pub png_to_jpg: bool,
}

/// WebP cannot store a side longer than this; Thumbor does not auto-convert such images.
pub const WEBP_MAX_SIDE: u32 = 16383;

/// The output format for a render, by Thumbor's rules.
pub fn choose_output_format(ctx: &FormatContext) -> ImageFormat {
    // Thumbor: "without the encoder, avif and heif fall back to the source format".
    if let Some(requested) = ctx.requested.filter(|f| can_encode(*f)) {
        return requested;
    }
    if ctx.auto_webp
        && ctx.accepts_webp
        && !ctx.animated
        && ctx.width <= WEBP_MAX_SIDE
        && ctx.height <= WEBP_MAX_SIDE
    {
        return ImageFormat::Webp;
    }
    if ctx.auto_avif && ctx.accepts_avif && !ctx.animated && can_encode(ImageFormat::Avif) {
        return ImageFormat::Avif;
    }
    if ctx.png_to_jpg && ctx.source == ImageFormat::Png {
        return ImageFormat::Jpeg;
    }
    let from_source = match ctx.source {
        // Thumbor's PIL engine writes TIFF originals as PNG; SVG is rasterised to PNG first.
        ImageFormat::Tiff | ImageFormat::Svg => ImageFormat::Png,
        // Thumbor does not sniff BMP nor PSD: unknown originals are served as .jpg, and so
        // is JPEG 2000 (no engine extension for it) — transparency is dropped on the way, as
        // Thumbor's JPEG writer does.
        ImageFormat::Bmp | ImageFormat::Jp2 | ImageFormat::Psd => ImageFormat::Jpeg,
        // Unknown to Thumbor too, and not encodable here: JPEG, or GIF to keep an animation.
        ImageFormat::Jxl if ctx.animated => ImageFormat::Gif,
        ImageFormat::Jxl => ImageFormat::Jpeg,
        same @ (ImageFormat::Jpeg
        | ImageFormat::Png
        | ImageFormat::Gif
        | ImageFormat::Webp
        | ImageFormat::Avif
        | ImageFormat::Heif) => same,
    };
    if can_encode(from_source) {
        from_source
    } else {
        ImageFormat::Jpeg
    }
}

/// Encodes `image` (every frame, for GIF/animated output) in `format`. JPEG and PNG write the
/// first frame only.
pub fn encode(
    image: &Image,
    format: ImageFormat,
    settings: &EncodeSettings,
) -> Result<Vec<u8>, ImagingError> {
    check_frames(image)?;
    // The C encoders report errors through their own guards; this one covers the rest.
    std::panic::catch_unwind(|| match format {
        ImageFormat::Jpeg => jpeg::encode(image, settings),
        ImageFormat::Png => png::encode(image, settings),
        ImageFormat::Gif => gif::encode(image),
        ImageFormat::Webp => webp::encode(image, settings),
        #[cfg(feature = "avif")]
        ImageFormat::Avif => avif::encode(image, settings),
        other => Err(ImagingError::Encode(format!(
            "{} output is not supported",
            other.name()
        ))),
    })
    .unwrap_or_else(|_| {
        Err(ImagingError::Encode(format!(
            "{} encoder failed",
            format.name()
        )))
    })
}

/// Formats [`encode`] can write (AVIF needs the `avif` cargo feature).
pub fn can_encode(format: ImageFormat) -> bool {
    matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Gif | ImageFormat::Webp
    ) || (format == ImageFormat::Avif && cfg!(feature = "avif"))
}

fn check_frames(image: &Image) -> Result<(), ImagingError> {
    let frame_len = image.width as usize * image.height as usize * image.layout.channels();
    if image.width == 0 || image.height == 0 {
        return Err(ImagingError::Encode("cannot encode an empty image".into()));
    }
    if image.frames.is_empty() || image.frames.iter().any(|f| f.pixels.len() != frame_len) {
        return Err(ImagingError::Encode(format!(
            "frames do not match {}x{} {:?}",
            image.width, image.height, image.layout
        )));
    }
    Ok(())
}

/// The ICC profile to embed, if asked for and if it describes pixels of `colour_space`
/// (`b"RGB "` or `b"GRAY"`): a gray or CMYK profile on RGB pixels would make viewers misread
/// them.
fn embeddable_icc<'a>(
    image: &'a Image,
    settings: &EncodeSettings,
    colour_space: &[u8; 4],
) -> Option<&'a [u8]> {
    let icc = image.source.icc_profile.as_deref()?;
    (settings.keep_icc && profile_colour_space(icc) == Some(colour_space)).then_some(icc)
}

/// The data colour space an ICC profile declares (header bytes 16..20: `RGB `, `GRAY`, …).
fn profile_colour_space(icc: &[u8]) -> Option<&[u8; 4]> {
    icc.get(16..20)?.try_into().ok()
}

/// An RGB profile, the kind a colour JPEG can carry.
pub fn is_rgb_profile(icc: &[u8]) -> bool {
    profile_colour_space(icc) == Some(b"RGB ")
}

/// Every pixel of the first frame has R == G == B.
fn is_gray(image: &Image) -> bool {
    let channels = image.layout.channels();
    image.frames[0]
        .pixels
        .chunks_exact(channels)
        .all(|p| p[0] == p[1] && p[1] == p[2])
}

/// Every pixel of every frame is opaque (always true for RGB).
fn is_opaque(image: &Image) -> bool {
    image.layout == PixelLayout::Rgb8 || !image.has_transparency()
}
