//! Sniffing originals by magic bytes, probing their size from the header alone (so limits are
//! checked before any pixel memory is spent), and decoding them to 8-bit RGB(A) frames —
//! at a reduced DCT scale for JPEG when the caller asks for it, and at any size the caller
//! asks for a vector original (SVG, [`draw_at_size`]).
//!
//! Per format: JPEG through mozjpeg (libjpeg-turbo; DCT scaling, CMYK through moxcms), PNG
//! through the `png` crate, GIF through the `gif` crate (frames composited here), still WebP
//! through libwebp (`webp` crate) and animated WebP through image-webp, TIFF and BMP through
//! `image`, JPEG 2000 (JP2 and raw J2K) through hayro-jpeg2000, PSD composites read here,
//! JPEG XL through jxl-oxide, SVG through usvg/resvg behind our own XML limits, and (with the
//! `avif` feature) AVIF through our container reader and rav1d, HEIC/HEIF through the system
//! libheif (with libde265), as Thumbor with its pillow-heif plugin reads it.

#[cfg(feature = "avif")]
mod avif;
mod exif;
mod gif;
mod heic;
// Read for AVIF (its whole container) and for HEIC (the primary image's coding only).
#[cfg_attr(not(feature = "avif"), allow(dead_code))]
mod heif_container;
mod jp2;
mod jp2_codestream;
mod jpeg;
mod jxl;
mod other;
mod png;
mod psd;
mod svg;
mod webp;

#[cfg(test)]
mod codec_tests;
#[cfg(test)]
mod format_tests;
#[cfg(test)]
mod tests;

/// The error text of a decode refused because the decoder produced another size than the header
/// probe read: the probe and the decoder saw different files. The differential fuzz target
/// (`probe_decode`) treats it as a finding.
pub const SIZE_DIFFERS_FROM_PROBE: &str = "decoded size differs from the header";

use super::{Image, ImageFormat, ImagingError};

/// The format of `bytes` by magic number (spec §5.6), `None` when nothing matches.
/// (Thumbor treats an unknown format as JPEG; the caller decides.)
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

    let at = |start: usize, len: usize| bytes.get(start..start + len);
    if bytes.starts_with(b"GIF8") {
        Some(ImageFormat::Gif)
    } else if bytes.starts_with(PNG_SIGNATURE) {
        Some(ImageFormat::Png)
    } else if bytes.starts_with(b"\xff\xd8") {
        Some(ImageFormat::Jpeg)
    } else if at(8, 4) == Some(b"WEBP") {
        Some(ImageFormat::Webp)
    } else if bytes.starts_with(jxl::CODESTREAM_SIGNATURE)
        || bytes.starts_with(jxl::CONTAINER_SIGNATURE)
    {
        Some(ImageFormat::Jxl)
    } else if bytes.starts_with(b"\x00\x00\x00\x0c") {
        Some(ImageFormat::Jp2)
    } else if at(4, 8) == Some(b"ftypavif") || at(4, 8) == Some(b"ftypavis") {
        Some(ImageFormat::Avif)
    } else if at(4, 4) == Some(b"ftyp") {
        heif_brand_format(bytes)
    } else if bytes.starts_with(b"\x00\x00\x00 ftyp") || bytes.starts_with(b"\x1a\x45\xdf\xa3") {
        // mp4 / webm: Thumbor knows them, but only for its video engines.
        None
    } else if bytes.starts_with(b"II*\x00") || bytes.starts_with(b"MM\x00*") {
        Some(ImageFormat::Tiff)
    } else if looks_like_svg(bytes) {
        Some(ImageFormat::Svg)
    } else if bytes.starts_with(b"BM") {
        // Not in Thumbor's list (PIL still opens BMPs there, as "unknown → .jpg").
        Some(ImageFormat::Bmp)
    } else if bytes.starts_with(b"8BPS") {
        // Not in Thumbor's list either; PIL opens Photoshop files as "unknown → .jpg".
        Some(ImageFormat::Psd)
    } else if bytes.starts_with(b"\xff\x4f\xff\x51") {
        // A raw JPEG 2000 codestream (SOC + SIZ): unknown to Thumbor's sniffing, opened by PIL.
        Some(ImageFormat::Jp2)
    } else {
        None
    }
}

/// The HEIF family's `ftyp` brands that hold HEVC images (still: `heic`, `heix`, `heim`,
/// `heis`; sequences: `hevc`, `hevx`, `hevm`, `hevs`) and the structural brands any HEIF may
/// have as its major brand (`mif1`, `msf1`, `mif2`).
const HEVC_BRANDS: [&[u8]; 8] = [
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs",
];
const STRUCTURAL_HEIF_BRANDS: [&[u8]; 3] = [b"mif1", b"msf1", b"mif2"];

/// An ISOBMFF file's format by its `ftyp` box (`bytes[4..8]` is `ftyp`): HEIF by an HEVC major
/// brand, or by a structural major brand (`mif1`...) unless the compatible brands name AVIF and
/// no HEVC brand (an AV1 image written with `mif1` first is AVIF, for the AVIF reader). mp4
/// and other brands are not images (`None`).
fn heif_brand_format(bytes: &[u8]) -> Option<ImageFormat> {
    let major = bytes.get(8..12)?;
    if HEVC_BRANDS.contains(&major) {
        return Some(ImageFormat::Heif);
    }
    if !STRUCTURAL_HEIF_BRANDS.contains(&major) {
        return None;
    }
    let box_size = bytes.get(0..4).map_or(0, |size| {
        u32::from_be_bytes([size[0], size[1], size[2], size[3]]) as usize
    });
    // Compatible brands follow the major brand and the minor version, to the box's end.
    let compatible = bytes.get(16..box_size.min(bytes.len())).unwrap_or(&[]);
    let has = |brands: &[&[u8]]| compatible.chunks_exact(4).any(|b| brands.contains(&b));
    if has(&[b"avif", b"avis"]) && !has(&HEVC_BRANDS) {
        Some(ImageFormat::Avif)
    } else {
        Some(ImageFormat::Heif)
    }
}

/// Thumbor's SVG test: an `<svg` tag within the first 2 KB (NULs removed) with a quoted
/// `http…svg…` attribute value, i.e. the SVG namespace declaration.
fn looks_like_svg(bytes: &[u8]) -> bool {
    use std::sync::OnceLock;
    static SVG_TAG: OnceLock<Option<regex::bytes::Regex>> = OnceLock::new();
    let head: Vec<u8> = bytes
        .iter()
        .take(2048)
        .copied()
        .filter(|&b| b != 0)
        .collect();
    SVG_TAG
        .get_or_init(|| {
            regex::bytes::Regex::new(r#"(?i-u)<svg\s[^>]*(["'])http[^"']*svg[^"']*"#).ok()
        })
        .as_ref()
        .is_some_and(|re| re.is_match(&head))
}

/// What the header says, read without decoding pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub format: ImageFormat,
    /// Size as stored (before EXIF orientation).
    pub width: u32,
    pub height: u32,
    /// EXIF orientation 1..=8 (1 when absent or invalid).
    pub orientation: u8,
}

/// Reads format, size and orientation from the header only.
pub fn probe(bytes: &[u8]) -> Result<Probe, ImagingError> {
    std::panic::catch_unwind(|| probe_format(bytes))
        .unwrap_or_else(|_| Err(ImagingError::Undecodable("header reader failed".into())))
}

fn probe_format(bytes: &[u8]) -> Result<Probe, ImagingError> {
    // Thumbor's rule: whatever is not recognised is handed to the JPEG reader.
    let format = sniff(bytes).unwrap_or(ImageFormat::Jpeg);
    let probe = match format {
        ImageFormat::Jpeg => jpeg::probe(bytes)?,
        ImageFormat::Png => png::probe(bytes)?,
        ImageFormat::Gif => gif::probe(bytes)?,
        ImageFormat::Webp => webp::probe(bytes)?,
        ImageFormat::Tiff | ImageFormat::Bmp => other::probe(bytes, format)?,
        ImageFormat::Jp2 => jp2::probe(bytes)?,
        ImageFormat::Psd => psd::probe(bytes)?,
        ImageFormat::Jxl => jxl::probe(bytes)?,
        #[cfg(feature = "avif")]
        ImageFormat::Avif => avif::probe(bytes)?,
        #[cfg(not(feature = "avif"))]
        ImageFormat::Avif => return Err(unsupported(format)),
        ImageFormat::Svg => svg::probe(bytes)?,
        ImageFormat::Heif => heic::probe(bytes)?,
    };
    if probe.width == 0 || probe.height == 0 {
        return Err(ImagingError::Undecodable(format!(
            "{} header declares an empty image",
            format.name()
        )));
    }
    Ok(probe)
}

/// The most frames a decode of `bytes` can yield, read from the container without decoding
/// (1 for still formats): for the render memory estimate, so it is an upper bound. A decode
/// of a GIF stops at the first block the scan also stops at.
pub fn frame_count(bytes: &[u8], header: &Probe) -> u64 {
    match header.format {
        ImageFormat::Gif => gif::frame_count(bytes),
        ImageFormat::Webp => webp::frame_count(bytes),
        ImageFormat::Jxl => jxl::frame_count(bytes),
        _ => 1,
    }
    .max(1)
}

/// How to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Refuse (TooLarge) anything whose header declares more pixels than this per frame.
    pub max_pixels: u64,
    /// Shrink-on-load denominator: 1, 2, 4 or 8. Honoured by JPEG (DCT scaling) and still
    /// WebP (libwebp's rescaler); other formats decode at full size. The decoded size is
    /// `ceil(w / shrink) x ceil(h / shrink)`.
    pub shrink: u32,
    /// Decode only the first frame of an animated image.
    pub first_frame_only: bool,
    /// Scans libjpeg may read from one JPEG before it is refused (MAX_JPEG_SCANS; 0: none).
    pub max_jpeg_scans: u32,
    /// The render's deadline: decoders that can be stopped part-way (libjpeg, AVIF grids)
    /// stop there with `Abandoned`.
    pub deadline: Option<std::time::Instant>,
}

impl DecodeOptions {
    /// Full-size decode of every frame under `max_pixels`, MAX_JPEG_SCANS' default and no
    /// deadline.
    pub fn new(max_pixels: u64) -> DecodeOptions {
        DecodeOptions {
            max_pixels,
            shrink: 1,
            first_frame_only: false,
            max_jpeg_scans: DEFAULT_MAX_JPEG_SCANS,
            deadline: None,
        }
    }

    fn past_deadline(&self) -> bool {
        self.deadline
            .is_some_and(|deadline| std::time::Instant::now() >= deadline)
    }
}

/// MAX_JPEG_SCANS' default: encoders write up to ~12 scans (mozjpeg's progressive
/// script has 10, libjpeg's 10, Photoshop's 3–5); a hundred leaves room for odd scripts while
/// a scan bomb of thousands of 14-byte refinement scans is refused.
pub const DEFAULT_MAX_JPEG_SCANS: u32 = 100;

/// Decodes an original into RGB8 or RGBA8 frames. Orientation is *not* applied (the pipeline
/// does it, so it can happen after shrink-on-load); `Image::source` carries it.
///
/// Animated originals (GIF, WebP) are refused as `TooLarge` when `frames * canvas area` would
/// exceed `max_pixels` — see [`animation_pixel_budget`].
pub fn decode(bytes: &[u8], options: &DecodeOptions) -> Result<Image, ImagingError> {
    decode_probed(bytes, &probe(bytes)?, options)
}

/// [`decode`] for a caller that already holds the header probe of `bytes` (the pipeline
/// probes once per render; a JPEG probe is a libjpeg header read, not free).
pub fn decode_probed(
    bytes: &[u8],
    header: &Probe,
    options: &DecodeOptions,
) -> Result<Image, ImagingError> {
    check_pixel_limit(header.width, header.height, options.max_pixels)?;
    if options.past_deadline() {
        return Err(ImagingError::Abandoned);
    }
    // libjpeg's errors are caught where they happen and the Rust decoders are fuzzed; this is
    // the last line of defence, so that one hostile file cannot take a worker down.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decode_format(bytes, header, options)
    }))
    .unwrap_or_else(|_| {
        Err(ImagingError::Undecodable(format!(
            "{} decoder failed",
            header.format.name()
        )))
    })
}

fn decode_format(
    bytes: &[u8],
    header: &Probe,
    options: &DecodeOptions,
) -> Result<Image, ImagingError> {
    let image = match header.format {
        ImageFormat::Jpeg => jpeg::decode(bytes, header, options)?,
        ImageFormat::Png => png::decode(bytes, header, options)?,
        ImageFormat::Gif => gif::decode(bytes, header, options)?,
        ImageFormat::Webp => webp::decode(bytes, header, options)?,
        ImageFormat::Tiff | ImageFormat::Bmp => other::decode(bytes, header, options)?,
        ImageFormat::Jp2 => jp2::decode(bytes, header, options)?,
        ImageFormat::Psd => psd::decode(bytes, header, options)?,
        ImageFormat::Jxl => jxl::decode(bytes, header, options)?,
        #[cfg(feature = "avif")]
        ImageFormat::Avif => avif::decode(bytes, header, options)?,
        #[cfg(not(feature = "avif"))]
        ImageFormat::Avif => return Err(unsupported(header.format)),
        ImageFormat::Svg => svg::decode(bytes, header, options)?,
        ImageFormat::Heif => heic::decode(bytes, header, options)?,
    };
    // Limits were checked against the probe: a decoder that produced another size (a file
    // read differently by the probe and the decoder) is refused, whatever it allocated.
    let shrink = match header.format {
        ImageFormat::Jpeg => crate::imaging::jpeg::libjpeg::dct_shrink(options.shrink),
        _ => options.shrink.max(1),
    };
    let within_shrink = |decoded: u32, stored: u32| {
        decoded == stored || (decoded < stored && decoded >= stored.div_ceil(shrink))
    };
    if !within_shrink(image.width, header.width) || !within_shrink(image.height, header.height) {
        return Err(ImagingError::Undecodable(format!(
            "{}: {SIZE_DIFFERS_FROM_PROBE} ({}x{}, header {}x{})",
            header.format.name(),
            image.width,
            image.height,
            header.width,
            header.height
        )));
    }
    // Everything downstream indexes frames by this arithmetic: never hand out a short one.
    let frame_len = image.width as usize * image.height as usize * image.layout.channels();
    if image.frames.is_empty() || image.frames.iter().any(|f| f.pixels.len() != frame_len) {
        return Err(ImagingError::Undecodable(format!(
            "{} decoder returned inconsistent frames",
            header.format.name()
        )));
    }
    Ok(image)
}

/// Whether `format` is drawn rather than decoded: it has no pixel size of its own, so the
/// render draws it at the size it needs with [`draw_at_size`].
pub fn is_vector(format: ImageFormat) -> bool {
    format == ImageFormat::Svg
}

/// Draws a vector original (see [`is_vector`]) whose header is `header` over exactly
/// `width` x `height` pixels (its aspect ratio is the caller's business), under the same
/// limits and guards as [`decode_probed`].
pub fn draw_at_size(
    bytes: &[u8],
    header: &Probe,
    options: &DecodeOptions,
    (width, height): (u32, u32),
) -> Result<Image, ImagingError> {
    if !is_vector(header.format) {
        return Err(ImagingError::Undecodable(format!(
            "{} originals are not drawn",
            header.format.name()
        )));
    }
    check_pixel_limit(width, height, options.max_pixels)?;
    if options.past_deadline() {
        return Err(ImagingError::Abandoned);
    }
    let image = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        svg::draw(bytes, header, options, (width, height))
    }))
    .unwrap_or_else(|_| Err(ImagingError::Undecodable("svg renderer failed".into())))?;
    let frame_len = width as usize * height as usize * image.layout.channels();
    if (image.width, image.height) != (width, height)
        || image.frames.len() != 1
        || image.frames[0].pixels.len() != frame_len
    {
        return Err(ImagingError::Undecodable(
            "svg renderer returned an inconsistent frame".into(),
        ));
    }
    Ok(image)
}

/// The SVG reader's checks before drawing (XML node limit, nesting depth, the converted
/// drawing's size) and the intrinsic size, for the `svg` fuzz target.
pub fn read_svg_header(bytes: &[u8]) -> Result<(u32, u32), ImagingError> {
    svg::probe(bytes).map(|probe| (probe.width, probe.height))
}

/// Parses a HEIF/AVIF container and resolves its coded items (the grid's tiles, the alpha
/// item) without decoding any AV1 data: the container reader alone, for its fuzz target.
#[cfg(feature = "avif")]
pub fn read_heif_container(bytes: &[u8]) -> Result<usize, ImagingError> {
    avif::read_container(bytes)
}

/// The HEIC reader's header read through libheif (container, primary image's size, top-level
/// image count, alpha, bit depth), refusing sides over `max_side`: for the `heic` fuzz target.
/// Returns (width, height, top-level images).
pub fn read_heic_header(bytes: &[u8], max_side: u64) -> Result<(u32, u32, u32), ImagingError> {
    heic::read_header(bytes, max_side).map(|h| (h.width, h.height, h.top_level_images))
}

/// Our read of a JPEG 2000 codestream's SIZ marker (tile count, components): the checks made
/// before hayro sees the file, for the `jpeg2000` fuzz target.
pub fn read_jpeg2000_header(bytes: &[u8]) -> Result<u64, ImagingError> {
    jp2_codestream::read(bytes).map(|header| header.tiles)
}

/// The most pixels all frames of one animation may hold together once composited: the same
/// as one still image at MAX_PIXELS, so an animation never costs more memory than the largest
/// still original we accept (75 M pixels by default: 1000x1000 x 75 frames, 400x400 x 468).
pub fn animation_pixel_budget(max_pixels: u64) -> u64 {
    max_pixels
}

/// Bytes per pixel a decoder holds on top of the RGB(A) frame it returns, at its peak, for
/// the render memory estimate: most write straight into the frame, these do not.
pub fn decoder_scratch_bytes_per_pixel(format: ImageFormat) -> u64 {
    match format {
        // hayro-jpeg2000 keeps one f32 plane per component (up to 5) and an interleaved copy.
        ImageFormat::Jp2 => 25,
        // rav1d's picture at worst: 16-bit 4:4:4 planes, and the alpha picture.
        ImageFormat::Avif => 8,
        // The composite's channel planes, before they are interleaved.
        ImageFormat::Psd => 4,
        ImageFormat::Jxl => jxl::SCRATCH_BYTES_PER_PIXEL,
        ImageFormat::Svg => svg::SCRATCH_BYTES_PER_PIXEL,
        ImageFormat::Heif => heic::SCRATCH_BYTES_PER_PIXEL,
        _ => 0,
    }
}

fn check_pixel_limit(width: u32, height: u32, max_pixels: u64) -> Result<(), ImagingError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(ImagingError::TooLarge(format!(
            "{width}x{height} is {pixels} pixels, over the limit of {max_pixels}"
        )));
    }
    Ok(())
}

#[cfg(not(feature = "avif"))]
fn unsupported(format: ImageFormat) -> ImagingError {
    ImagingError::Undecodable(format!("{} originals are not supported", format.name()))
}

/// Widens gray to RGB, gray+alpha to RGBA.
fn gray_to_rgb(gray: &[u8]) -> Vec<u8> {
    gray.iter().flat_map(|&v| [v, v, v]).collect()
}

fn gray_alpha_to_rgba(gray_alpha: &[u8]) -> Vec<u8> {
    gray_alpha
        .chunks_exact(2)
        .flat_map(|p| [p[0], p[0], p[0], p[1]])
        .collect()
}

/// Drops the alpha channel of an RGBA buffer.
fn rgba_to_rgb(rgba: &[u8]) -> Vec<u8> {
    rgba.chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect()
}
