//! HEIC/HEIF originals (HEVC-coded still images: iPhone photos, grids of tiles, alpha, 10-bit)
//! through the system libheif with its built-in libde265 decoder, narrowed to RGB8/RGBA8.
//!
//! Orientation: libheif applies the file's transformations (`clap` crop, `irot` rotation,
//! `imir` mirror) while decoding, and the size its handle reports is the transformed one, so
//! the probe reports that upright size with orientation 1. The EXIF orientation a HEIC may
//! also carry is ignored, as pillow-heif (Thumbor's HEIF plugin) does: the HEIF standard makes
//! `irot`/`imir` the normative transformation and EXIF metadata descriptive only, and pillow-heif
//! resets the EXIF orientation to 1 on open, so Thumbor's own EXIF rotation never turns a
//! HEIC twice. Only the primary image is decoded (a burst or a collection of several top-level
//! images is served as its primary one, as Thumbor does); an ICC profile (`colr` `prof`/`rICC`)
//! is kept, an `nclx` colour description is used by libheif for the YCbCr → RGB conversion.
//!
//! Limits: the header probe reads the container only (no coded data), so MAX_PIXELS and the
//! memory estimate are checked before any decode; libheif's own image size limit is lowered to
//! the largest side MAX_PIXELS allows, and its other security limits (items, extents, box
//! nesting, a 512 MB memory block) stay on. libheif cannot be stopped part-way, so the render
//! deadline is checked before decoding.

mod libheif;

use super::{DecodeOptions, Probe};
use crate::imaging::{Frame, Image, ImageFormat, ImagingError, PixelLayout, SourceInfo};
use libheif::{Context, HeifError};

/// Bytes libheif and libde265 hold per pixel beside the RGB(A) frame returned, for the render
/// memory estimate: the decoded YCbCr planes (16-bit samples for 10-bit files, 4:4:4 at most:
/// 6 B), the alpha plane (2 B), libheif's interleaved RGBA copy that is then copied out (4 B),
/// and libde265's reference picture of the tile being decoded.
pub(super) const SCRATCH_BYTES_PER_PIXEL: u64 = 14;

/// What the header says about the primary image, read without decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// The displayed size: after `clap`, `irot` and `imir`.
    pub width: u32,
    pub height: u32,
    /// Top-level images in the file (1 for a photo); only the primary one is decoded.
    pub top_level_images: u32,
    pub has_alpha: bool,
    /// Bits per luma sample as coded (8 or 10 for phones), 0 when libheif cannot tell.
    pub bit_depth: u8,
}

fn undecodable(e: impl std::fmt::Display) -> ImagingError {
    ImagingError::Undecodable(format!("heif: {e}"))
}

/// libheif's refusals under its security limits are sizes or counts over a limit: 400 as
/// `TooLarge`; every other error is an undecodable file.
fn from_libheif(e: HeifError) -> ImagingError {
    if e.is_security_limit() {
        ImagingError::TooLarge(format!("heif: {e}"))
    } else {
        undecodable(e)
    }
}

/// Checks the container with pictor's own reader before libheif sees the file.
///
/// Only HEVC: libheif also decodes AV1 (it links dav1d and aom), JPEG and other codings inside
/// a HEIF container; the fuzzer found an `av01` item that smashes libheif 1.15's stack on its
/// way to the AV1 decoder, and pictor's own AVIF reader handles the same file cleanly. So
/// libheif gets `hvc1`, or a grid, overlay or identity image of `hvc1` items.
///
/// A grid no larger than it says: libheif allocates a grid's output at the size its
/// descriptor declares, not the `ispe` size the probe reads, so a 2.6 KB file whose 30x30 grid
/// declared 26477x26980 had it fill 2.8 GB (the fuzzer again). A grid declaring more pixels
/// than its `ispe` (or no `ispe`) is refused. A container the reader cannot read is refused too.
fn check_container(bytes: &[u8]) -> Result<(), ImagingError> {
    let primary = super::heif_container::primary_image(bytes)
        .map_err(|e| undecodable(format!("its container cannot be read ({e})")))?;
    let codings = &primary.codings;
    let derived = |kind: &[u8; 4]| matches!(kind, b"grid" | b"iovl" | b"iden");
    let not_hevc = codings
        .iter()
        .find(|kind| *kind != b"hvc1" && !derived(kind))
        // A derived image made of nothing coded is not HEVC either.
        .or_else(|| codings.first().filter(|_| !codings.contains(b"hvc1")));
    if let Some(kind) = not_hevc {
        return Err(undecodable(format!(
            "the primary image is coded as {:?}, not HEVC",
            String::from_utf8_lossy(kind)
        )));
    }
    if let Some((width, height)) = primary.grid_size {
        let pixels = |(w, h): (u32, u32)| u64::from(w) * u64::from(h);
        let declared = primary.declared_size.map_or(0, pixels);
        if pixels((width, height)) > declared {
            return Err(undecodable(format!(
                "its grid declares {width}x{height}, more than the image's own size"
            )));
        }
    }
    Ok(())
}

/// Reads the container of `bytes` and the primary image's header, refusing sides over
/// `max_side` (libheif's check, while it parses).
pub(crate) fn read_header(bytes: &[u8], max_side: u64) -> Result<Header, ImagingError> {
    check_container(bytes)?;
    let context = Context::read(bytes, max_side).map_err(from_libheif)?;
    let primary = context.primary_image().map_err(from_libheif)?;
    header_of(&context, &primary)
}

fn header_of(
    context: &Context<'_>,
    primary: &libheif::ImageHandle<'_>,
) -> Result<Header, ImagingError> {
    let (width, height) = primary.size();
    let (Ok(width), Ok(height)) = (u32::try_from(width), u32::try_from(height)) else {
        return Err(undecodable("the primary image has no size"));
    };
    Ok(Header {
        width,
        height,
        top_level_images: context.top_level_images(),
        has_alpha: primary.has_alpha(),
        bit_depth: u8::try_from(primary.luma_bits()).unwrap_or(0),
    })
}

/// Header-only: the container and the primary image's properties, no coded data.
pub(super) fn probe(bytes: &[u8]) -> Result<Probe, ImagingError> {
    let header = read_header(bytes, u64::MAX)?;
    Ok(Probe {
        format: ImageFormat::Heif,
        width: header.width,
        height: header.height,
        orientation: 1,
    })
}

pub(super) fn decode(
    bytes: &[u8],
    header: &Probe,
    options: &DecodeOptions,
) -> Result<Image, ImagingError> {
    check_container(bytes)?;
    // No side of an image within MAX_PIXELS is longer than MAX_PIXELS.
    let context = Context::read(bytes, options.max_pixels).map_err(from_libheif)?;
    let primary = context.primary_image().map_err(from_libheif)?;
    let facts = header_of(&context, &primary)?;
    if (facts.width, facts.height) != (header.width, header.height) {
        return Err(undecodable("size changed between probe and decode"));
    }
    let icc_profile = primary.icc_profile().map_err(from_libheif)?;
    let (mut pixels, width, height) = primary.decode_rgb8(facts.has_alpha).map_err(from_libheif)?;
    if (width, height) != (header.width, header.height) {
        return Err(undecodable(format!(
            "{} ({width}x{height}, header {}x{})",
            super::SIZE_DIFFERS_FROM_PROBE,
            header.width,
            header.height
        )));
    }
    if facts.has_alpha && primary.is_premultiplied_alpha() {
        unpremultiply(&mut pixels);
    }
    Ok(Image {
        width,
        height,
        layout: if facts.has_alpha {
            PixelLayout::Rgba8
        } else {
            PixelLayout::Rgb8
        },
        frames: vec![Frame {
            pixels,
            delay_ms: 0,
        }],
        source: SourceInfo {
            icc_profile,
            ..SourceInfo::plain(ImageFormat::Heif, width, height)
        },
    })
}

/// Straight alpha from premultiplied RGBA (the frames pictor passes around are straight).
fn unpremultiply(rgba: &mut [u8]) {
    for pixel in rgba.chunks_exact_mut(4) {
        let alpha = u32::from(pixel[3]);
        if alpha == 0 || alpha == 255 {
            continue;
        }
        for sample in &mut pixel[..3] {
            let straight = (u32::from(*sample) * 255 + alpha / 2) / alpha;
            *sample = straight.min(255) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::unpremultiply;

    #[test]
    fn premultiplied_samples_become_straight() {
        let mut pixels = [
            64, 32, 0, 128, 10, 20, 30, 255, 0, 0, 0, 0, 200, 10, 10, 100,
        ];
        unpremultiply(&mut pixels);
        assert_eq!(
            pixels,
            [128, 64, 0, 128, 10, 20, 30, 255, 0, 0, 0, 0, 255, 26, 26, 100]
        );
    }
}
