//! The JPEG → JPEG road: a JPEG original decoded straight to its YCbCr planes, resized plane by
//! plane (`planes_resize`) and written back as a progressive JPEG, with no colour
//! conversion on the way. Here are its types, both of its decoders and its writer:
//!
//! - [`planes`]: the plane types — a decoded original's planes at their own sampling
//!   (`JpegPlanes`) and the 4:2:0 planes the writer takes (`YccImage`);
//! - [`planes_resize`]: the crop + resize of the planes, plane by plane;
//! - `baseline_decoder`: pictor's own decoder for single-scan baseline files at 1/2, 1/4 and
//!   1/8 scale, the common case;
//! - `libjpeg_planes_decoder`: libjpeg's raw-data decode, for every other YCbCr file and any
//!   file the baseline decoder declines;
//! - `planes_writer`: the progressive JPEG writer, byte for byte what mozjpeg writes;
//! - `libjpeg`: libjpeg's decompressor under pictor's scan, memory and deadline limits;
//! - `icc`: ICC profiles in APP2 markers, joined when read and split when written.
//!
//! The RGB road's JPEG files stay with the other formats, in `decode/jpeg.rs` (header probe
//! and RGB decode) and `encode/jpeg.rs` (mozjpeg): they are entries of the per-format dispatch
//! in `decode` and `encode` and take those modules' `Probe`, `DecodeOptions` and
//! `EncodeSettings`, so moved here they would make this folder and those modules import each
//! other. They use `libjpeg`, `icc` and the planes writer from here; nothing here uses them.

mod baseline_decoder;
pub(crate) mod icc;
pub(crate) mod libjpeg;
mod libjpeg_planes_decoder;
pub mod planes;
pub mod planes_resize;
pub(crate) mod planes_writer;

use super::decode::{self, DecodeOptions, Probe, SIZE_DIFFERS_FROM_PROBE};
use super::ImagingError;
use planes::JpegPlanes;

pub use planes_writer::encode as encode_planes;

/// A JPEG original as its YCbCr planes at `1/shrink` scale, for the JPEG → JPEG path; `None`
/// when the file is not three-component YCbCr (the caller then uses [`decode::decode`]). The
/// size limits were checked on the header by the caller. `halve_full_chroma` allows 4:4:4
/// chroma to come out at half the luma plane's size (when the output's 4:2:0 chroma is that
/// much smaller anyway); see `JpegPlanes::sampling` for what came out.
///
/// Baseline files at 1/2 and smaller go through `baseline_decoder`; the rest, and any file it
/// declines, through libjpeg.
pub fn decode_planes(
    bytes: &[u8],
    shrink: u32,
    halve_full_chroma: bool,
) -> Result<Option<JpegPlanes>, ImagingError> {
    let header = decode::probe(bytes)?;
    let options = DecodeOptions {
        shrink,
        ..DecodeOptions::new(u64::MAX)
    };
    decode_planes_limited(bytes, &header, &options, halve_full_chroma)
}

/// [`decode_planes`] under `options`' scan, memory and deadline limits, for an original whose
/// header probe (and pixel limit) the caller has already checked. Whichever decoder runs, its
/// planes must have the size the probe implies, or the file is refused.
pub fn decode_planes_limited(
    bytes: &[u8],
    header: &Probe,
    options: &DecodeOptions,
    halve_full_chroma: bool,
) -> Result<Option<JpegPlanes>, ImagingError> {
    let shrink = libjpeg::dct_shrink(options.shrink);
    let planes = match (shrink > 1)
        .then(|| {
            baseline_decoder::decode(
                bytes,
                shrink,
                halve_full_chroma,
                (header.width, header.height),
            )
        })
        .flatten()
    {
        Some(planes) => Some(planes),
        None => {
            let limits = libjpeg::JpegLimits::for_pixels(
                options.max_pixels,
                options.max_jpeg_scans,
                options.deadline,
            );
            libjpeg_planes_decoder::decode(bytes, shrink, &limits)?
        }
    };
    if let Some(planes) = &planes {
        let expected = (
            header.width.div_ceil(shrink),
            header.height.div_ceil(shrink),
        );
        if (planes.width, planes.height) != expected {
            return Err(ImagingError::Undecodable(format!(
                "jpeg: {SIZE_DIFFERS_FROM_PROBE}"
            )));
        }
    }
    Ok(planes)
}

/// [`decode_planes`] through libjpeg only (the tests and benches compare the two decoders).
pub fn decode_planes_with_libjpeg(
    bytes: &[u8],
    shrink: u32,
) -> Result<Option<JpegPlanes>, ImagingError> {
    let limits = libjpeg::JpegLimits::for_pixels(u64::MAX, 0, None);
    libjpeg_planes_decoder::decode(bytes, shrink, &limits)
}
