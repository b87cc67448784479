//! A thin safe wrapper over the few libheif calls the HEIC reader makes (through
//! `libheif-sys` 1.16's bindings, linked against the system libheif, 1.15 on Debian bookworm):
//! read a file from memory, look at its primary image's header, decode it to interleaved 8-bit
//! RGB(A). Every pointer libheif hands out is owned by one value here and released in its
//! `Drop`; nothing past libheif 1.15's API is called.

use libheif_sys as ffi;
use std::ffi::CStr;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

/// libheif's own ceiling on an image side (its `MAX_IMAGE_WIDTH`/`HEIGHT` in 1.15): the limit
/// set on each context never loosens it.
const LIBHEIF_MAX_SIDE: u64 = 32_768;

/// A libheif error: its code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeifError {
    pub code: u32,
    pub subcode: u32,
    pub message: String,
}

impl HeifError {
    fn new(message: &str) -> HeifError {
        HeifError {
            code: 0,
            subcode: 0,
            message: message.to_owned(),
        }
    }

    /// Whether libheif refused the file under one of its security limits (an image side over
    /// the context's limit, too many items or extents...).
    pub fn is_security_limit(&self) -> bool {
        self.subcode == ffi::heif_suberror_code_heif_suberror_Security_limit_exceeded
    }
}

impl std::fmt::Display for HeifError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// `Ok` for libheif's success code, the error with its message otherwise.
fn check(error: ffi::heif_error) -> Result<(), HeifError> {
    if error.code == ffi::heif_error_code_heif_error_Ok {
        return Ok(());
    }
    let message = if error.message.is_null() {
        String::from("libheif error")
    } else {
        // SAFETY: libheif's error messages are NUL-terminated strings with static storage (or
        // owned by the context, which outlives this call); non-null was checked above.
        unsafe { CStr::from_ptr(error.message) }
            .to_string_lossy()
            .chars()
            .take(200)
            .collect()
    };
    Err(HeifError {
        code: error.code,
        subcode: error.subcode,
        message,
    })
}

/// `heif_init` once per process (it loads the built-in decoders; libheif counts the calls and
/// nothing here ever calls `heif_deinit`).
fn init() -> Result<(), HeifError> {
    static INIT: std::sync::OnceLock<Result<(), HeifError>> = std::sync::OnceLock::new();
    INIT.get_or_init(|| {
        // SAFETY: heif_init accepts NULL for default parameters and is safe to call from any
        // thread (it takes libheif's own lock); OnceLock makes it one call anyway.
        check(unsafe { ffi::heif_init(ptr::null_mut()) })
    })
    .clone()
}

/// A parsed HEIF file, borrowing the bytes it was read from (libheif reads them in place).
pub(crate) struct Context<'a> {
    raw: NonNull<ffi::heif_context>,
    _bytes: PhantomData<&'a [u8]>,
}

impl<'a> Context<'a> {
    /// Parses the container of `bytes` (boxes, items, properties; no coded data is decoded),
    /// with libheif's image size limit set to `max_side` (lowered to libheif's own ceiling) and
    /// tile decoding kept on the calling thread.
    pub fn read(bytes: &'a [u8], max_side: u64) -> Result<Context<'a>, HeifError> {
        init()?;
        // SAFETY: heif_context_alloc has no preconditions; NULL (out of memory) is checked.
        let raw = NonNull::new(unsafe { ffi::heif_context_alloc() })
            .ok_or_else(|| HeifError::new("libheif could not allocate a context"))?;
        let context = Context {
            raw,
            _bytes: PhantomData,
        };
        // libheif refuses sides >= the limit, so one more than the largest side accepted.
        let limit = max_side.saturating_add(1).min(LIBHEIF_MAX_SIDE);
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        // SAFETY: `raw` is a live context owned by `context`.
        unsafe { ffi::heif_context_set_maximum_image_size_limit(raw.as_ptr(), limit) };
        // Tiles decode on this thread (the render pool's), not on threads libheif would start.
        // SAFETY: as above.
        unsafe { ffi::heif_context_set_max_decoding_threads(raw.as_ptr(), 0) };
        // SAFETY: `bytes` is valid for `bytes.len()` bytes and outlives the context (the
        // lifetime 'a ties them); libheif only reads it. NULL options means the defaults.
        check(unsafe {
            ffi::heif_context_read_from_memory_without_copy(
                raw.as_ptr(),
                bytes.as_ptr().cast(),
                bytes.len(),
                ptr::null(),
            )
        })?;
        Ok(context)
    }

    /// The number of top-level images (a burst or a collection holds several; thumbnails,
    /// alpha and depth images and grid tiles are not counted).
    pub fn top_level_images(&self) -> u32 {
        // SAFETY: `raw` is a live context.
        let count = unsafe { ffi::heif_context_get_number_of_top_level_images(self.raw.as_ptr()) };
        u32::try_from(count).unwrap_or(0)
    }

    /// The primary image's handle.
    pub fn primary_image(&self) -> Result<ImageHandle<'_>, HeifError> {
        let mut raw = ptr::null_mut();
        // SAFETY: `raw` is a live context; the out-pointer is a valid place for a handle.
        check(unsafe { ffi::heif_context_get_primary_image_handle(self.raw.as_ptr(), &mut raw) })?;
        let raw =
            NonNull::new(raw).ok_or_else(|| HeifError::new("libheif returned no primary image"))?;
        Ok(ImageHandle {
            raw,
            _context: PhantomData,
        })
    }
}

impl Drop for Context<'_> {
    fn drop(&mut self) {
        // SAFETY: the context was allocated by heif_context_alloc and is freed once, here;
        // handles borrow the context, so none outlives it.
        unsafe { ffi::heif_context_free(self.raw.as_ptr()) };
    }
}

/// One image item of a context: its header, and its decode.
pub(crate) struct ImageHandle<'c> {
    raw: NonNull<ffi::heif_image_handle>,
    _context: PhantomData<&'c ()>,
}

impl ImageHandle<'_> {
    /// The size after the file's transformations (clean aperture, `irot`, `imir`): the size
    /// of what [`ImageHandle::decode_rgb8`] returns.
    pub fn size(&self) -> (i64, i64) {
        // SAFETY: `raw` is a live handle.
        let width = unsafe { ffi::heif_image_handle_get_width(self.raw.as_ptr()) };
        // SAFETY: as above.
        let height = unsafe { ffi::heif_image_handle_get_height(self.raw.as_ptr()) };
        (i64::from(width), i64::from(height))
    }

    pub fn has_alpha(&self) -> bool {
        // SAFETY: `raw` is a live handle.
        unsafe { ffi::heif_image_handle_has_alpha_channel(self.raw.as_ptr()) != 0 }
    }

    /// Whether the colour channels are stored premultiplied by alpha.
    pub fn is_premultiplied_alpha(&self) -> bool {
        // SAFETY: `raw` is a live handle.
        unsafe { ffi::heif_image_handle_is_premultiplied_alpha(self.raw.as_ptr()) != 0 }
    }

    /// Bits per luma sample as coded (8, 10, 12...); negative when libheif cannot tell.
    pub fn luma_bits(&self) -> i32 {
        // SAFETY: `raw` is a live handle.
        unsafe { ffi::heif_image_handle_get_luma_bits_per_pixel(self.raw.as_ptr()) }
    }

    /// The ICC profile (`colr` of type `prof` or `rICC`), if the image carries one.
    pub fn icc_profile(&self) -> Result<Option<Vec<u8>>, HeifError> {
        // SAFETY: `raw` is a live handle.
        let kind = unsafe { ffi::heif_image_handle_get_color_profile_type(self.raw.as_ptr()) };
        if kind != ffi::heif_color_profile_type_heif_color_profile_type_prof
            && kind != ffi::heif_color_profile_type_heif_color_profile_type_rICC
        {
            return Ok(None);
        }
        // SAFETY: `raw` is a live handle.
        let len = unsafe { ffi::heif_image_handle_get_raw_color_profile_size(self.raw.as_ptr()) };
        if len == 0 {
            return Ok(None);
        }
        let mut profile = vec![0u8; len];
        // SAFETY: `profile` holds exactly the size libheif reported for this profile, which it
        // copies there.
        check(unsafe {
            ffi::heif_image_handle_get_raw_color_profile(
                self.raw.as_ptr(),
                profile.as_mut_ptr().cast(),
            )
        })?;
        Ok(Some(profile))
    }

    /// Decodes the image with its transformations applied, converted to interleaved 8-bit RGB
    /// (or RGBA with `alpha`), rows top to bottom without padding: `width * height * 3` (or 4)
    /// bytes and the size.
    pub fn decode_rgb8(&self, alpha: bool) -> Result<(Vec<u8>, u32, u32), HeifError> {
        let options = DecodingOptions::new()?;
        let chroma = if alpha {
            ffi::heif_chroma_heif_chroma_interleaved_RGBA
        } else {
            ffi::heif_chroma_heif_chroma_interleaved_RGB
        };
        let mut raw = ptr::null_mut();
        // SAFETY: `self.raw` is a live handle, the out-pointer a valid place for an image and
        // `options` a live options struct allocated by libheif itself.
        check(unsafe {
            ffi::heif_decode_image(
                self.raw.as_ptr(),
                &mut raw,
                ffi::heif_colorspace_heif_colorspace_RGB,
                chroma,
                options.raw.as_ptr(),
            )
        })?;
        let image = DecodedImage {
            raw: NonNull::new(raw).ok_or_else(|| HeifError::new("libheif decoded no image"))?,
        };
        image.interleaved_rgb8(if alpha { 4 } else { 3 })
    }
}

impl Drop for ImageHandle<'_> {
    fn drop(&mut self) {
        // SAFETY: the handle came from libheif and is released once, here.
        unsafe { ffi::heif_image_handle_release(self.raw.as_ptr()) };
    }
}

/// libheif's decoding options, allocated by libheif (the struct grows between versions, so
/// only the library knows its size) and set to: transformations applied, HDR narrowed to 8 bits.
struct DecodingOptions {
    raw: NonNull<ffi::heif_decoding_options>,
}

impl DecodingOptions {
    fn new() -> Result<DecodingOptions, HeifError> {
        // SAFETY: heif_decoding_options_alloc has no preconditions; NULL is checked.
        let raw = NonNull::new(unsafe { ffi::heif_decoding_options_alloc() })
            .ok_or_else(|| HeifError::new("libheif could not allocate decoding options"))?;
        let options = DecodingOptions { raw };
        // SAFETY: `raw` points to a struct libheif allocated and filled with defaults; the
        // fields written exist from version 2 of the struct on (libheif 1.7), checked first.
        // Fields past 1.15's version 4 (the bindings' `color_conversion_options`) are never
        // touched: 1.15 allocates a shorter struct.
        unsafe {
            let fields = options.raw.as_ptr();
            if (*fields).version < 2 {
                return Err(HeifError::new("libheif is older than 1.7"));
            }
            (*fields).ignore_transformations = 0;
            (*fields).convert_hdr_to_8bit = 1;
        }
        Ok(options)
    }
}

impl Drop for DecodingOptions {
    fn drop(&mut self) {
        // SAFETY: allocated by heif_decoding_options_alloc, freed once, here.
        unsafe { ffi::heif_decoding_options_free(self.raw.as_ptr()) };
    }
}

/// A decoded image owned by libheif.
struct DecodedImage {
    raw: NonNull<ffi::heif_image>,
}

impl DecodedImage {
    /// Copies the interleaved plane out (dropping libheif's row padding), after checking that
    /// it is 8 bits per sample and as large as its stride says.
    fn interleaved_rgb8(&self, channels: usize) -> Result<(Vec<u8>, u32, u32), HeifError> {
        let channel = ffi::heif_channel_heif_channel_interleaved;
        // SAFETY: `raw` is a live image; these read its plane's header.
        let (width, height, bits) = unsafe {
            (
                ffi::heif_image_get_width(self.raw.as_ptr(), channel),
                ffi::heif_image_get_height(self.raw.as_ptr(), channel),
                ffi::heif_image_get_bits_per_pixel_range(self.raw.as_ptr(), channel),
            )
        };
        if bits != 8 {
            return Err(HeifError::new("libheif did not narrow the image to 8 bits"));
        }
        let (Ok(width), Ok(height)) = (u32::try_from(width), u32::try_from(height)) else {
            return Err(HeifError::new("libheif decoded no interleaved plane"));
        };
        let mut stride = 0;
        // SAFETY: `raw` is a live image; the out-pointer is a valid place for the stride.
        let plane =
            unsafe { ffi::heif_image_get_plane_readonly(self.raw.as_ptr(), channel, &mut stride) };
        let row = width as usize * channels;
        let stride = usize::try_from(stride).unwrap_or(0);
        if plane.is_null() || stride < row {
            return Err(HeifError::new("libheif decoded an inconsistent plane"));
        }
        let mut pixels = Vec::with_capacity(row * height as usize);
        for y in 0..height as usize {
            // SAFETY: libheif's interleaved plane holds `height` rows of `stride` bytes each,
            // the first `width * channels` of them samples (8 bits checked above); the image
            // is alive for the whole loop.
            let samples = unsafe { std::slice::from_raw_parts(plane.add(y * stride), row) };
            pixels.extend_from_slice(samples);
        }
        Ok((pixels, width, height))
    }
}

impl Drop for DecodedImage {
    fn drop(&mut self) {
        // SAFETY: the image came from heif_decode_image and is released once, here.
        unsafe { ffi::heif_image_release(self.raw.as_ptr()) };
    }
}
