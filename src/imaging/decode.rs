//! Sniffing originals by magic bytes, probing their size from the header alone (so limits are
//! checked before any pixel memory is spent), and decoding them to 8-bit RGB(A) frames —
//! at a reduced DCT scale for JPEG when the caller asks for it.

use super::{Image, ImageFormat, ImagingError};

/// The format of `bytes` by magic number (spec §5.6), `None` when nothing matches.
/// (Thumbor treats an unknown format as JPEG; the caller decides.)
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    let _ = bytes;
    todo!("decode::sniff")
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
    let _ = bytes;
    todo!("decode::probe")
}

/// How to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Refuse (TooLarge) anything whose header declares more pixels than this per frame.
    pub max_pixels: u64,
    /// Shrink-on-load denominator: 1, 2, 4 or 8. Honoured by JPEG (DCT scaling); other
    /// formats decode at full size. The decoded size is `ceil(w / shrink) x ceil(h / shrink)`.
    pub shrink: u32,
    /// Decode only the first frame of an animated image.
    pub first_frame_only: bool,
}

/// Decodes an original into RGB8 or RGBA8 frames. Orientation is *not* applied (the pipeline
/// does it, so it can happen after shrink-on-load); `Image::source` carries it.
pub fn decode(bytes: &[u8], options: &DecodeOptions) -> Result<Image, ImagingError> {
    let _ = (bytes, options);
    todo!("decode::decode")
}
