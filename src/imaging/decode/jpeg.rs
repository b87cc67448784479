//! JPEG: the header probe and the RGB decode, both through libjpeg (mozjpeg's libjpeg-turbo,
//! driven by [`crate::imaging::jpeg::libjpeg`]), so the size every limit is checked against is the size
//! libjpeg will decode — a marker walk of our own once read a different frame header than
//! libjpeg from a file that puts `FF 00` before a fake one. DCT-domain shrink-on-load, gray
//! widened to RGB by libjpeg, and CMYK/YCCK turned into sRGB through moxcms with the
//! embedded ICC profile (or a naive formula without one).
//!
//! Warnings (truncated data, bad Huffman codes) are not errors: libjpeg fills what is missing
//! and we keep the picture, as Pillow does with `LOAD_TRUNCATED_IMAGES`.

use super::{exif, DecodeOptions, Probe};
use crate::imaging::jpeg::libjpeg::{self, dct_shrink, icc_profile, Decompressor, JpegLimits};
use crate::imaging::{Image, ImageFormat, ImagingError, PixelLayout, SourceInfo};
use mozjpeg_sys as ffi;
use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};

const APP1: u8 = 0xE1;
const APP2: u8 = 0xE2;
const APP14: u8 = 0xEE;

/// The memory libjpeg may take to read a header: its tables and the saved EXIF markers.
const HEADER_MEMORY: u64 = 16 << 20;

/// Size (libjpeg's `jpeg_read_header`) and orientation (the first EXIF APP1 segment).
pub(super) fn probe(bytes: &[u8]) -> Result<Probe, ImagingError> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(ImagingError::Undecodable("jpeg: no SOI marker".into()));
    }
    let limits = JpegLimits {
        max_scans: 0,
        deadline: None,
        max_memory: HEADER_MEMORY,
    };
    panic::catch_unwind(AssertUnwindSafe(|| {
        let mut decompressor = Decompressor::new(&limits);
        let cinfo = decompressor.read_header(bytes, &[APP1]);
        let orientation = libjpeg::saved_markers(cinfo, APP1)
            .into_iter()
            .find(|data| data.starts_with(b"Exif\0\0"))
            .map_or(1, exif::orientation);
        Probe {
            format: ImageFormat::Jpeg,
            width: cinfo.image_width,
            height: cinfo.image_height,
            orientation,
        }
    }))
    .map_err(libjpeg::failure)
}

/// Decodes at `1/shrink` scale (1, 2, 4 or 8; other values round down to one of those),
/// within the options' pixel, scan and deadline limits.
pub(super) fn decode(
    bytes: &[u8],
    header: &Probe,
    options: &DecodeOptions,
) -> Result<Image, ImagingError> {
    let shrink = dct_shrink(options.shrink);
    let limits =
        JpegLimits::for_pixels(options.max_pixels, options.max_jpeg_scans, options.deadline);
    let decoded = panic::catch_unwind(AssertUnwindSafe(|| {
        decode_with_libjpeg(bytes, shrink, &limits)
    }))
    .map_err(libjpeg::failure)?;
    let expected = (
        header.width.div_ceil(shrink),
        header.height.div_ceil(shrink),
    );
    if (decoded.width, decoded.height) != expected {
        return Err(ImagingError::Undecodable(format!(
            "jpeg: {}",
            super::SIZE_DIFFERS_FROM_PROBE
        )));
    }
    Ok(Image::still(
        decoded.width,
        decoded.height,
        PixelLayout::Rgb8,
        decoded.rgb,
        SourceInfo {
            format: ImageFormat::Jpeg,
            width: header.width,
            height: header.height,
            orientation: header.orientation,
            icc_profile: decoded.icc_profile,
            palette: false,
            grayscale: decoded.grayscale,
            loop_count: None,
        },
    ))
}

struct DecodedJpeg {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
    icc_profile: Option<Vec<u8>>,
    grayscale: bool,
}

fn decode_with_libjpeg(bytes: &[u8], shrink: u32, limits: &JpegLimits) -> DecodedJpeg {
    let mut decompressor = Decompressor::new(limits);
    let cinfo = decompressor.read_header(bytes, &[APP2, APP14]);
    let icc_profile = icc_profile(cinfo);
    let adobe = libjpeg::saved_markers(cinfo, APP14)
        .iter()
        .any(|data| data.starts_with(b"Adobe"));
    let cmyk = matches!(
        cinfo.jpeg_color_space,
        ffi::J_COLOR_SPACE::JCS_CMYK | ffi::J_COLOR_SPACE::JCS_YCCK
    );
    let grayscale = cinfo.jpeg_color_space == ffi::J_COLOR_SPACE::JCS_GRAYSCALE;
    // Only 1/2/4/8 reach here, so the numerator over 8 is exact.
    cinfo.scale_num = 8 / shrink;
    cinfo.scale_denom = 8;
    // libjpeg widens gray to RGB itself; CMYK and YCCK come out as CMYK.
    cinfo.out_color_space = if cmyk {
        ffi::J_COLOR_SPACE::JCS_CMYK
    } else {
        ffi::J_COLOR_SPACE::JCS_RGB
    };
    // SAFETY: the header has been read and the output parameters set; a fatal error (or the
    // progress monitor's scan limit or deadline) unwinds to `decode`.
    unsafe { ffi::jpeg_start_decompress(cinfo) };
    let (width, height) = (cinfo.output_width, cinfo.output_height);
    let components = cinfo.output_components as usize;
    let row_len = width as usize * components;
    let mut samples = vec![0u8; row_len * height as usize];
    while cinfo.output_scanline < height {
        let row = cinfo.output_scanline as usize;
        let mut row_pointer = [samples[row * row_len..].as_mut_ptr()];
        // SAFETY: the pointer addresses one row of `row_len` bytes inside `samples` (row <
        // height), which is what one scanline of `output_components` samples needs.
        let read = unsafe { ffi::jpeg_read_scanlines(cinfo, row_pointer.as_mut_ptr(), 1) };
        if read == 0 {
            break;
        }
    }
    // No jpeg_finish_decompress: it would only look for the EOI marker; missing trailing
    // data is already filled in by libjpeg and the result is kept.
    if cmyk {
        if adobe {
            // Photoshop (the Adobe marker) stores CMYK inverted.
            samples.iter_mut().for_each(|v| *v = 255 - *v);
        }
        DecodedJpeg {
            width,
            height,
            rgb: cmyk_to_srgb(&samples, icc_profile.as_deref()),
            // The pixels are sRGB now: the CMYK profile no longer describes them.
            icc_profile: None,
            grayscale: false,
        }
    } else {
        DecodedJpeg {
            width,
            height,
            rgb: samples,
            icc_profile,
            grayscale,
        }
    }
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
