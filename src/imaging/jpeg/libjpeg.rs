//! libjpeg's decompressor as every JPEG read through libjpeg uses it — the header probe and the
//! RGB decode (`decode/jpeg.rs`) and the raw-planes decode ([`super::libjpeg_planes_decoder`])
//! — so that all three see the same file the same way, under the same limits, and read the DCT
//! scale and the ICC profile the same way:
//!
//! - fatal errors unwind out of `error_exit` (warnings are silenced: truncated data is filled in
//!   and kept, as Pillow does with `LOAD_TRUNCATED_IMAGES`); callers catch the unwind and turn
//!   it into an error with [`failure`];
//! - `max_memory_to_use` bounds the whole-image coefficient buffers a progressive or
//!   multi-scan file needs (past it, libjpeg asks for a backing store, which this build does
//!   not have, and fails);
//! - a progress monitor, which libjpeg calls once per iMCU row while it reads scans, stops a
//!   decode past the render's deadline or past `max_scans` scans: one 14-byte refinement scan
//!   repeated thousands of times costs a full pass over the image each, and libjpeg cannot
//!   otherwise be interrupted.

use super::icc::assemble_icc_profile;
use crate::imaging::ImagingError;
use mozjpeg_sys as ffi;
use std::ffi::{c_int, c_long, c_ulong, CStr};
use std::panic;
use std::time::Instant;

/// What one decode may spend.
#[derive(Debug, Clone, Copy)]
pub struct JpegLimits {
    /// Scans read before the decode is refused (0: no limit).
    pub max_scans: u32,
    /// The render's deadline: past it the decode stops (`Abandoned`).
    pub deadline: Option<Instant>,
    /// libjpeg's `max_memory_to_use`, in bytes (0: no limit).
    pub max_memory: u64,
}

impl JpegLimits {
    /// The limits for a decode of at most `max_pixels` pixels: coefficient buffers take up to
    /// 2 bytes per sample and three full-resolution components (4:4:4) are 6 bytes a pixel;
    /// CMYK four components, 8. The margin covers libjpeg's fixed tables.
    pub fn for_pixels(max_pixels: u64, max_scans: u32, deadline: Option<Instant>) -> JpegLimits {
        JpegLimits {
            max_scans,
            deadline,
            max_memory: max_pixels.saturating_mul(8).saturating_add(64 << 20),
        }
    }
}

/// Why a decode was stopped from inside libjpeg: carried by the unwind, read by [`failure`].
#[derive(Debug)]
enum Stopped {
    TooManyScans(u32),
    Deadline,
}

/// libjpeg's progress manager with our limits after it, so the monitor can find them from
/// the pointer libjpeg hands back.
#[repr(C)]
struct Progress {
    manager: ffi::jpeg_progress_mgr,
    max_scans: u32,
    deadline: Option<Instant>,
}

/// Owns libjpeg's decompressor, its error manager and progress monitor; destroying it frees
/// libjpeg's pools, also after an unwind.
pub struct Decompressor {
    cinfo: Box<ffi::jpeg_decompress_struct>,
    _error_manager: Box<ffi::jpeg_error_mgr>,
    _progress: Box<Progress>,
}

impl Decompressor {
    pub fn new(limits: &JpegLimits) -> Decompressor {
        let mut progress = Box::new(Progress {
            manager: ffi::jpeg_progress_mgr {
                progress_monitor: Some(monitor),
                pass_counter: 0,
                pass_limit: 0,
                completed_passes: 0,
                total_passes: 0,
            },
            max_scans: limits.max_scans,
            deadline: limits.deadline,
        });
        // SAFETY: both structs are plain C data for which all-zero is the state libjpeg's
        // constructors expect; the error manager and the progress manager are boxed, so the
        // pointers `cinfo` keeps to them stay valid for the decompressor's life. `mem` is set
        // by jpeg_create_decompress (it unwinds if it cannot allocate).
        unsafe {
            let mut error_manager: Box<ffi::jpeg_error_mgr> = Box::new(std::mem::zeroed());
            ffi::jpeg_std_error(&mut error_manager);
            error_manager.error_exit = Some(unwind_error_exit);
            error_manager.emit_message = Some(silence_message);
            error_manager.output_message = Some(silence_output);
            let mut cinfo: Box<ffi::jpeg_decompress_struct> = Box::new(std::mem::zeroed());
            cinfo.common.err = &mut *error_manager;
            ffi::jpeg_create_decompress(&mut *cinfo);
            cinfo.common.progress = &mut progress.manager;
            if let Some(mem) = cinfo.common.mem.as_mut() {
                mem.max_memory_to_use = c_long::try_from(limits.max_memory).unwrap_or(c_long::MAX);
            }
            Decompressor {
                cinfo,
                _error_manager: error_manager,
                _progress: progress,
            }
        }
    }

    /// Points libjpeg at `bytes`, keeps the APPn markers listed in `save` (up to 64 KB each),
    /// and reads the header up to the first scan. Unwinds on a fatal error.
    pub fn read_header(&mut self, bytes: &[u8], save: &[u8]) -> &mut ffi::jpeg_decompress_struct {
        let cinfo = &mut *self.cinfo;
        // SAFETY: callers keep `bytes` alive as long as the decompressor (both are locals of
        // one decode); libjpeg only reads it through the memory source.
        unsafe {
            ffi::jpeg_mem_src(cinfo, bytes.as_ptr(), bytes.len() as c_ulong);
            for &marker in save {
                ffi::jpeg_save_markers(cinfo, c_int::from(marker), 0xFFFF);
            }
            ffi::jpeg_read_header(cinfo, 1);
        }
        cinfo
    }
}

impl Drop for Decompressor {
    fn drop(&mut self) {
        // SAFETY: created by jpeg_create_decompress (destroy also copes with a failed create:
        // it only frees pools that exist).
        unsafe { ffi::jpeg_destroy_decompress(&mut self.cinfo) };
    }
}

/// The data of every saved marker of type `marker` (0xE0 + n for APPn), in file order.
pub fn saved_markers(cinfo: &ffi::jpeg_decompress_struct, marker: u8) -> Vec<&[u8]> {
    let mut found = Vec::new();
    let mut saved = cinfo.marker_list;
    // SAFETY: libjpeg's saved-marker list stays valid until the decompressor is destroyed,
    // which the borrow of `cinfo` outlives.
    while let Some(entry) = unsafe { saved.as_ref() } {
        if entry.marker == marker && !entry.data.is_null() {
            // SAFETY: libjpeg saved `data_length` bytes at `data` (checked non-null above).
            found.push(unsafe {
                std::slice::from_raw_parts(entry.data, entry.data_length as usize)
            });
        }
        saved = entry.next;
    }
    found
}

/// The marker type of APP2, where JPEG files carry their ICC profile.
pub const APP2: u8 = 0xE2;

/// The joined ICC_PROFILE APP2 chunks saved while reading the header (the caller asked
/// [`Decompressor::read_header`] to save [`APP2`]).
pub fn icc_profile(cinfo: &ffi::jpeg_decompress_struct) -> Option<Vec<u8>> {
    let chunks = saved_markers(cinfo, APP2)
        .into_iter()
        .filter_map(|data| data.strip_prefix(b"ICC_PROFILE\0"))
        .filter(|rest| rest.len() > 2)
        .map(|rest| (rest[0], &rest[2..]))
        .collect();
    assemble_icc_profile(chunks)
}

/// The DCT scale libjpeg can decode at for a requested `shrink`: 1, 2, 4 or 8, rounding down.
pub fn dct_shrink(shrink: u32) -> u32 {
    match shrink {
        0 | 1 => 1,
        2 | 3 => 2,
        4..=7 => 4,
        _ => 8,
    }
}

/// A libjpeg failure that unwound out of a decode, as the decode's error: the scan limit is
/// the client's problem (400), the deadline a 504, anything else an undecodable file.
pub fn failure(payload: Box<dyn std::any::Any + Send>) -> ImagingError {
    if let Some(stopped) = payload.downcast_ref::<Stopped>() {
        return match stopped {
            Stopped::TooManyScans(limit) => {
                ImagingError::TooLarge(format!("jpeg: more than MAX_JPEG_SCANS={limit} scans"))
            }
            Stopped::Deadline => ImagingError::Abandoned,
        };
    }
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("libjpeg failed");
    ImagingError::Undecodable(message.to_string())
}

/// Called by libjpeg once per iMCU row while it reads a scan (and once per output pass).
unsafe extern "C-unwind" fn monitor(cinfo: &mut ffi::jpeg_common_struct) {
    // SAFETY: libjpeg passes the struct whose `progress` field we set in Decompressor::new: a
    // pointer to the `manager` field at the start of a boxed, #[repr(C)] `Progress`.
    let progress = unsafe { &*(cinfo.progress as *const Progress) };
    if cinfo.is_decompressor == 0 {
        return;
    }
    // SAFETY: a decompressor's common fields are the first fields of its
    // jpeg_decompress_struct (libjpeg's j_common_ptr convention), which is what we created.
    let scans = unsafe {
        (*(cinfo as *mut ffi::jpeg_common_struct as *const ffi::jpeg_decompress_struct))
            .input_scan_number
    };
    if progress.max_scans > 0 && u32::try_from(scans).unwrap_or(0) > progress.max_scans {
        // resume_unwind skips the panic hook: a hostile upload is not worth a log line here.
        panic::resume_unwind(Box::new(Stopped::TooManyScans(progress.max_scans)));
    }
    if progress
        .deadline
        .is_some_and(|deadline| Instant::now() >= deadline)
    {
        panic::resume_unwind(Box::new(Stopped::Deadline));
    }
}

/// libjpeg's longest formatted message (JMSG_LENGTH_MAX).
const MESSAGE_LENGTH_MAX: usize = 200;

unsafe extern "C-unwind" fn unwind_error_exit(cinfo: &mut ffi::jpeg_common_struct) {
    let mut buffer = [0u8; MESSAGE_LENGTH_MAX];
    // SAFETY: libjpeg's format_message writes at most JMSG_LENGTH_MAX bytes, NUL-terminated;
    // mozjpeg-sys declares the buffer shorter than libjpeg's, so it is passed as a pointer.
    let message = unsafe {
        match cinfo.err.as_ref().and_then(|err| err.format_message) {
            Some(format) => {
                let format: unsafe extern "C-unwind" fn(&mut ffi::jpeg_common_struct, *mut u8) =
                    std::mem::transmute(format);
                format(cinfo, buffer.as_mut_ptr());
                CStr::from_bytes_until_nul(&buffer)
                    .map(|text| text.to_string_lossy().into_owned())
                    .unwrap_or_default()
            }
            None => String::new(),
        }
    };
    panic::resume_unwind(Box::new(format!("jpeg: {message}")));
}

unsafe extern "C-unwind" fn silence_message(_cinfo: &mut ffi::jpeg_common_struct, _level: c_int) {}

unsafe extern "C-unwind" fn silence_output(_cinfo: &mut ffi::jpeg_common_struct) {}
