//! A safe wrapper over rav1d (the Rust port of dav1d) through the dav1d-compatible functions
//! it exports: one coded AV1 still picture in, its planes out. All `unsafe` of the AVIF
//! decoder lives here, next to the reason each use is sound.
//!
//! rav1d exports these functions as `extern "C"`, so a panic inside rav1d would abort the
//! process instead of unwinding to `decode::decode`'s guard. rav1d is fuzzed upstream and
//! reports bad streams as error codes; what we hand it has been sized and bounded first.

use crate::imaging::ImagingError;
use rav1d::include::dav1d::data::Dav1dData;
use rav1d::include::dav1d::dav1d::{Dav1dContext, Dav1dSettings};
use rav1d::include::dav1d::headers::{
    DAV1D_PIXEL_LAYOUT_I400, DAV1D_PIXEL_LAYOUT_I420, DAV1D_PIXEL_LAYOUT_I422,
    DAV1D_PIXEL_LAYOUT_I444,
};
use rav1d::include::dav1d::picture::Dav1dPicture;
use rav1d::src::lib::{
    dav1d_close, dav1d_data_create, dav1d_data_unref, dav1d_default_settings, dav1d_get_picture,
    dav1d_open, dav1d_picture_unref, dav1d_send_data,
};
use std::mem::MaybeUninit;
use std::ptr::NonNull;

/// Send/receive rounds before giving up on a stream that never yields a picture. A still
/// image needs one or two; each round decodes at most one frame.
const MAX_ROUNDS: usize = 16;

fn failed(what: &str, code: i32) -> ImagingError {
    ImagingError::Undecodable(format!("avif: AV1 {what} failed ({code})"))
}

/// Chroma subsampling of a decoded picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subsampling {
    Monochrome,
    Yuv420,
    Yuv422,
    Yuv444,
}

impl Subsampling {
    /// Size of a chroma plane for a `width x height` luma plane.
    pub fn chroma_size(self, width: usize, height: usize) -> (usize, usize) {
        match self {
            Subsampling::Monochrome => (0, 0),
            Subsampling::Yuv420 => (width.div_ceil(2), height.div_ceil(2)),
            Subsampling::Yuv422 => (width.div_ceil(2), height),
            Subsampling::Yuv444 => (width, height),
        }
    }

    /// Shifts from luma to chroma coordinates (x, y).
    pub fn shifts(self) -> (u32, u32) {
        match self {
            Subsampling::Yuv420 => (1, 1),
            Subsampling::Yuv422 => (1, 0),
            Subsampling::Monochrome | Subsampling::Yuv444 => (0, 0),
        }
    }
}

/// One plane of samples: 8-bit, or 16-bit native-endian words for 10/12-bit pictures.
#[derive(Debug, Clone, Copy)]
pub struct Plane<'a> {
    bytes: &'a [u8],
    stride: usize,
    wide: bool,
}

impl Plane<'_> {
    /// The sample at (x, y); callers stay within the plane's size.
    #[inline]
    pub fn sample(&self, x: usize, y: usize) -> u16 {
        if self.wide {
            let at = y * self.stride + x * 2;
            self.bytes
                .get(at..at + 2)
                .map_or(0, |b| u16::from_ne_bytes([b[0], b[1]]))
        } else {
            self.bytes
                .get(y * self.stride + x)
                .copied()
                .map_or(0, u16::from)
        }
    }
}

/// A decoded picture, owned by rav1d until dropped.
pub struct Picture {
    picture: Dav1dPicture,
    pub width: usize,
    pub height: usize,
    pub bit_depth: u8,
    pub subsampling: Subsampling,
    /// CICP matrix coefficients and range from the AV1 sequence header.
    pub matrix_coefficients: u16,
    pub full_range: bool,
}

impl Drop for Picture {
    fn drop(&mut self) {
        // SAFETY: `picture` was filled by `dav1d_get_picture` and is released exactly once.
        unsafe { dav1d_picture_unref(Some(NonNull::from(&mut self.picture))) }
    }
}

impl Picture {
    /// Plane 0 (Y), 1 (U) or 2 (V); `None` for chroma of a monochrome picture.
    pub fn plane(&self, index: usize) -> Option<Plane<'_>> {
        let (width, height) = if index == 0 {
            (self.width, self.height)
        } else {
            self.subsampling.chroma_size(self.width, self.height)
        };
        if width == 0 || height == 0 {
            return None;
        }
        let data = self.picture.data.get(index).copied().flatten()?;
        let stride = usize::try_from(self.picture.stride[index.min(1)]).ok()?;
        let wide = self.bit_depth > 8;
        let row_bytes = width * if wide { 2 } else { 1 };
        if stride < row_bytes {
            return None;
        }
        let len = stride * (height - 1) + row_bytes;
        // SAFETY: rav1d allocates every plane of a picture it returns with `stride` bytes per
        // row for at least the plane's (padded) height, keeps it alive until
        // `dav1d_picture_unref` (our Drop), and never writes to a returned picture. `len` ends
        // within the last row.
        let bytes = unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<u8>(), len) };
        Some(Plane {
            bytes,
            stride,
            wide,
        })
    }
}

/// Owns a rav1d decoder context.
struct Decoder(Option<Dav1dContext>);

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: the context came from `dav1d_open` and is closed exactly once (dav1d_close
        // takes it out of the Option).
        unsafe { dav1d_close(Some(NonNull::from(&mut self.0))) }
    }
}

/// Owns coded data handed to rav1d.
struct Data(Dav1dData);

impl Drop for Data {
    fn drop(&mut self) {
        // SAFETY: the data came from `dav1d_data_create` (or is empty) and is released once.
        unsafe { dav1d_data_unref(Some(NonNull::from(&mut self.0))) }
    }
}

/// Decodes the first picture of `obus` (an AV1 item's data: a sequence of OBUs). Frames over
/// `max_pixels` are refused by rav1d before their memory is allocated.
pub fn decode(obus: &[u8], max_pixels: u64) -> Result<Picture, ImagingError> {
    let mut settings = MaybeUninit::<Dav1dSettings>::uninit();
    // SAFETY: dav1d_default_settings writes a complete Dav1dSettings.
    let mut settings = unsafe {
        dav1d_default_settings(NonNull::from(&mut settings).cast());
        settings.assume_init()
    };
    // Two threads and two frame contexts, whatever the machine: rav1d 1.1's single-frame-
    // context path panics on its own error handling (`on_error` unwraps the frame header that
    // `rav1d_decode_frame_exit` already took) whenever a frame fails to decode, and a panic
    // there aborts the process. The frame-threaded path reports the same failure as an error.
    settings.n_threads = 2;
    settings.max_frame_delay = 2;
    // The highest-quality layer of a layered (progressive) still, as AVIF readers show.
    settings.all_layers = 0;
    settings.frame_size_limit = u32::try_from(max_pixels).unwrap_or(u32::MAX);
    // SAFETY: the logger is a nullable cookie and a nullable callback; all zeroes is "no
    // logger", so rav1d does not write errors about hostile files to stderr.
    settings.logger = unsafe { std::mem::zeroed() };

    let mut decoder = Decoder(None);
    // SAFETY: both pointers are valid for the call; dav1d_open writes the context or None.
    let opened = unsafe {
        dav1d_open(
            Some(NonNull::from(&mut decoder.0)),
            Some(NonNull::from(&mut settings)),
        )
    };
    let context = match (opened.0, decoder.0) {
        (0, Some(context)) => context,
        (code, _) => return Err(failed("decoder setup", code)),
    };

    let mut data = Data(Dav1dData::default());
    // SAFETY: `data.0` is valid to write; on success the returned buffer holds `obus.len()`
    // bytes owned by `data` until it is unreferenced.
    let buffer = unsafe { dav1d_data_create(Some(NonNull::from(&mut data.0)), obus.len()) };
    if buffer.is_null() {
        return Err(failed("buffer allocation", 0));
    }
    // SAFETY: `buffer` has room for `obus.len()` bytes and does not overlap `obus`.
    unsafe { std::ptr::copy_nonoverlapping(obus.as_ptr(), buffer, obus.len()) };

    let again = -libc::EAGAIN;
    let mut picture = Dav1dPicture::default();
    for _ in 0..MAX_ROUNDS {
        if data.0.sz > 0 {
            // SAFETY: the context is open and `data.0` is valid to read and write.
            let sent = unsafe { dav1d_send_data(Some(context), Some(NonNull::from(&mut data.0))) };
            if sent.0 != 0 && sent.0 != again {
                return Err(failed("decoding", sent.0));
            }
        }
        // SAFETY: the context is open and `picture` is valid to write.
        let got = unsafe { dav1d_get_picture(Some(context), Some(NonNull::from(&mut picture))) };
        if got.0 == 0 {
            return into_picture(picture);
        }
        if got.0 != again {
            return Err(failed("decoding", got.0));
        }
    }
    Err(ImagingError::Undecodable(
        "avif: the AV1 data holds no picture".into(),
    ))
}

fn into_picture(picture: Dav1dPicture) -> Result<Picture, ImagingError> {
    let parameters = &picture.p;
    let subsampling = match parameters.layout {
        DAV1D_PIXEL_LAYOUT_I400 => Subsampling::Monochrome,
        DAV1D_PIXEL_LAYOUT_I420 => Subsampling::Yuv420,
        DAV1D_PIXEL_LAYOUT_I422 => Subsampling::Yuv422,
        DAV1D_PIXEL_LAYOUT_I444 => Subsampling::Yuv444,
        _ => Subsampling::Monochrome,
    };
    let (matrix_coefficients, full_range) = match picture.seq_hdr {
        Some(header) => {
            // SAFETY: a returned picture references its sequence header until it is
            // unreferenced, and `picture` is owned here until the end of this function.
            let header = unsafe { header.as_ref() };
            (header.mtrx as u16, header.color_range != 0)
        }
        None => (2, false),
    };
    let width = usize::try_from(parameters.w).unwrap_or(0);
    let height = usize::try_from(parameters.h).unwrap_or(0);
    let bit_depth = u8::try_from(parameters.bpc).unwrap_or(0);
    let picture = Picture {
        picture,
        width,
        height,
        bit_depth,
        subsampling,
        matrix_coefficients,
        full_range,
    };
    if width == 0 || height == 0 || !matches!(bit_depth, 8 | 10 | 12) {
        return Err(ImagingError::Undecodable(
            "avif: AV1 picture with an unusable size or depth".into(),
        ));
    }
    Ok(picture)
}
