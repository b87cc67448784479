//! JPEG: header probing by walking the markers ourselves, and decoding through mozjpeg
//! (libjpeg-turbo) with DCT-domain shrink-on-load, gray widened to RGB, and CMYK/YCCK turned
//! into sRGB through moxcms with the embedded ICC profile (or a naive formula without one).
//!
//! libjpeg reports fatal errors by unwinding (mozjpeg's error manager); every call into it is
//! wrapped in `catch_unwind`. Warnings (truncated data, bad Huffman codes) are not errors:
//! libjpeg fills what is missing and we keep the picture, as Pillow does with
//! `LOAD_TRUNCATED_IMAGES`.

use super::{exif, Probe};
use crate::imaging::{Frame, Image, ImageFormat, ImagingError, PixelLayout, SourceInfo};
use mozjpeg::{ColorSpace, Marker};
use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};

const APP1: u8 = 0xE1;

/// Size and orientation from the markers before the first scan.
pub(super) fn probe(bytes: &[u8]) -> Result<Probe, ImagingError> {
    let bad = |why: &str| ImagingError::Undecodable(format!("jpeg: {why}"));
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(bad("no SOI marker"));
    }
    let mut orientation = None;
    let mut pos = 2;
    loop {
        // Like libjpeg, skip garbage before a marker and any 0xFF fill bytes.
        while bytes.get(pos).is_some_and(|&b| b != 0xFF) {
            pos += 1;
        }
        while bytes.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *bytes.get(pos).ok_or_else(|| bad("no frame header"))?;
        pos += 1;
        match marker {
            0x01 | 0xD0..=0xD8 => continue,
            0xD9 | 0xDA => return Err(bad("scan data before the frame header")),
            _ => {}
        }
        let length = bytes
            .get(pos..pos + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .ok_or_else(|| bad("truncated marker"))?;
        if length < 2 {
            return Err(bad("invalid marker length"));
        }
        let segment = &bytes[(pos + 2).min(bytes.len())..(pos + length).min(bytes.len())];
        if is_start_of_frame(marker) {
            if segment.len() < 6 {
                return Err(bad("truncated frame header"));
            }
            let height = u32::from(u16::from_be_bytes([segment[1], segment[2]]));
            let width = u32::from(u16::from_be_bytes([segment[3], segment[4]]));
            return Ok(Probe {
                format: ImageFormat::Jpeg,
                width,
                height,
                orientation: orientation.unwrap_or(1),
            });
        }
        if marker == APP1 && orientation.is_none() && segment.starts_with(b"Exif\0\0") {
            orientation = Some(exif::orientation(segment));
        }
        pos += length;
    }
}

/// SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
fn is_start_of_frame(marker: u8) -> bool {
    (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

/// Decodes at `1/shrink` scale (1, 2, 4 or 8; other values round down to one of those).
pub(super) fn decode(bytes: &[u8], header: &Probe, shrink: u32) -> Result<Image, ImagingError> {
    let shrink = dct_shrink(shrink);
    let decoded = panic::catch_unwind(AssertUnwindSafe(|| decode_with_libjpeg(bytes, shrink)))
        .map_err(libjpeg_failure)??;
    Ok(Image {
        width: decoded.width,
        height: decoded.height,
        layout: PixelLayout::Rgb8,
        frames: vec![Frame {
            pixels: decoded.rgb,
            delay_ms: 0,
        }],
        source: SourceInfo {
            format: ImageFormat::Jpeg,
            width: header.width,
            height: header.height,
            orientation: header.orientation,
            icc_profile: decoded.icc_profile,
            palette: false,
            grayscale: decoded.grayscale,
            loop_count: None,
        },
    })
}

/// The DCT scale libjpeg can decode at for a requested `shrink`: 1, 2, 4 or 8, rounding down.
pub(super) fn dct_shrink(shrink: u32) -> u32 {
    match shrink {
        0 | 1 => 1,
        2 | 3 => 2,
        4..=7 => 4,
        _ => 8,
    }
}

/// A libjpeg error that unwound out of a decode, as the decode's error.
pub(super) fn libjpeg_failure(payload: Box<dyn std::any::Any + Send>) -> ImagingError {
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("libjpeg failed");
    ImagingError::Undecodable(message.to_string())
}

struct DecodedJpeg {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
    icc_profile: Option<Vec<u8>>,
    grayscale: bool,
}

fn decode_with_libjpeg(bytes: &[u8], shrink: u32) -> Result<DecodedJpeg, ImagingError> {
    let libjpeg_error = |e: std::io::Error| ImagingError::Undecodable(format!("jpeg: {e}"));
    let mut decompress = mozjpeg::Decompress::with_markers(&[Marker::APP(2), Marker::APP(14)])
        .from_mem(bytes)
        .map_err(libjpeg_error)?;
    // Only 1/2/4/8 reach here, so the numerator over 8 is exact.
    decompress.scale((8 / shrink) as u8);

    let mut icc_chunks: Vec<(u8, &[u8])> = Vec::new();
    let mut adobe = false;
    for marker in decompress.markers() {
        match marker.marker {
            Marker::APP(2) => {
                if let Some(rest) = marker.data.strip_prefix(b"ICC_PROFILE\0") {
                    if rest.len() > 2 {
                        icc_chunks.push((rest[0], &rest[2..]));
                    }
                }
            }
            Marker::APP(14) => adobe |= marker.data.starts_with(b"Adobe"),
            _ => {}
        }
    }
    let icc_profile = assemble_icc_profile(icc_chunks);

    match decompress.color_space() {
        ColorSpace::JCS_CMYK | ColorSpace::JCS_YCCK => {
            let mut started = decompress
                .to_colorspace(ColorSpace::JCS_CMYK)
                .map_err(libjpeg_error)?;
            let (width, height) = (started.width(), started.height());
            let mut cmyk: Vec<u8> = started.read_scanlines().map_err(libjpeg_error)?;
            // Missing trailing data is already filled in by libjpeg; the result is kept.
            let _ = started.finish();
            if adobe {
                // Photoshop (the Adobe marker) stores CMYK inverted.
                cmyk.iter_mut().for_each(|v| *v = 255 - *v);
            }
            let rgb = cmyk_to_srgb(&cmyk, icc_profile.as_deref());
            Ok(DecodedJpeg {
                width: width as u32,
                height: height as u32,
                rgb,
                // The pixels are sRGB now: the CMYK profile no longer describes them.
                icc_profile: None,
                grayscale: false,
            })
        }
        jpeg_color_space => {
            let grayscale = jpeg_color_space == ColorSpace::JCS_GRAYSCALE;
            // libjpeg widens gray to RGB itself.
            let mut started = decompress.rgb().map_err(libjpeg_error)?;
            let (width, height) = (started.width(), started.height());
            let rgb: Vec<u8> = started.read_scanlines().map_err(libjpeg_error)?;
            let _ = started.finish();
            Ok(DecodedJpeg {
                width: width as u32,
                height: height as u32,
                rgb,
                icc_profile,
                grayscale,
            })
        }
    }
}

/// Joins `ICC_PROFILE` APP2 chunks in sequence order (profiles over 64 KB are split).
pub(super) fn assemble_icc_profile(mut chunks: Vec<(u8, &[u8])>) -> Option<Vec<u8>> {
    if chunks.is_empty() {
        return None;
    }
    chunks.sort_by_key(|(sequence, _)| *sequence);
    Some(
        chunks
            .into_iter()
            .flat_map(|(_, data)| data.iter().copied())
            .collect(),
    )
}

/// CMYK (0 = no ink) to sRGB: through the embedded profile when moxcms can use it, else with
/// the naive formula Pillow uses.
fn cmyk_to_srgb(cmyk: &[u8], icc_profile: Option<&[u8]>) -> Vec<u8> {
    let mut rgb = vec![0u8; cmyk.len() / 4 * 3];
    if let Some(transform) = icc_profile.and_then(cmyk_transform) {
        if transform.transform(cmyk, &mut rgb).is_ok() {
            return rgb;
        }
    }
    for (out, p) in rgb.chunks_exact_mut(3).zip(cmyk.chunks_exact(4)) {
        let white = 255 - u32::from(p[3]);
        for (o, &ink) in out.iter_mut().zip(&p[..3]) {
            *o = ((255 - u32::from(ink)) * white / 255) as u8;
        }
    }
    rgb
}

type CmykTransform = Arc<moxcms::Transform8BitExecutor>;
/// Keyed by (hash, length) of the profile; `None` remembers profiles moxcms cannot use.
type CmykTransformCache = HashMap<(u64, usize), Option<CmykTransform>>;

/// Building a transform from a large press profile costs ~15 ms; applying it ~1 ms per 85 k
/// pixels. A handful of profiles (SWOP, FOGRA…) cover nearly all CMYK files, so keep the last
/// few, keyed by a hash of the profile bytes.
fn cmyk_transform(icc_profile: &[u8]) -> Option<CmykTransform> {
    use std::hash::{Hash, Hasher};
    const CACHED_TRANSFORMS: usize = 8;
    static CACHE: OnceLock<Mutex<CmykTransformCache>> = OnceLock::new();

    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    icc_profile.hash(&mut hasher);
    let key = (hasher.finish(), icc_profile.len());
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    // A panic elsewhere cannot leave the map half-updated, so a poisoned lock is still usable.
    let lock = || {
        cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    if let Some(cached) = lock().get(&key) {
        return cached.clone();
    }
    let created = build_cmyk_transform(icc_profile);
    let mut cache = lock();
    if cache.len() >= CACHED_TRANSFORMS {
        cache.clear();
    }
    cache.insert(key, created.clone());
    created
}

fn build_cmyk_transform(icc_profile: &[u8]) -> Option<CmykTransform> {
    let profile = moxcms::ColorProfile::new_from_slice(icc_profile).ok()?;
    if profile.color_space != moxcms::DataColorSpace::Cmyk {
        return None;
    }
    // moxcms reads four-channel CMYK through its `Rgba` layout.
    profile
        .create_transform_8bit(
            moxcms::Layout::Rgba,
            &moxcms::ColorProfile::new_srgb(),
            moxcms::Layout::Rgb,
            moxcms::TransformOptions::default(),
        )
        .ok()
}
