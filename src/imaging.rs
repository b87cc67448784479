//! Everything that touches pixels: decoding originals (`decode`), the smart-crop detectors
//! that find focal points (`detect`, not yet called by the pipeline), the ordered transformation
//! steps (`pipeline`, with its pure size arithmetic in `geometry`), filters (`filters`),
//! encoders (`encode`), the JPEG → JPEG road through YCbCr planes (`jpeg`), the memory
//! estimate of a render (`estimate`) and the settings that shape renders with the code that
//! reads their keys (`settings`). Nothing here does I/O or knows about HTTP.

pub mod decode;
pub mod detect;
pub mod encode;
pub mod estimate;
pub mod filters;
pub mod geometry;
pub mod jpeg;
pub mod pipeline;
pub mod placeholder;
pub mod settings;
pub mod transform;

pub use pipeline::{render, RenderJob, RenderOutput};

/// Image container formats pictor recognises (by magic bytes, §5.6 of the spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Gif,
    Webp,
    Tiff,
    Bmp,
    Avif,
    Heif,
    Jp2,
    /// Photoshop: not in Thumbor's sniffing list (it reaches PIL as an "unknown" original).
    Psd,
    Svg,
    /// JPEG XL (bare codestream or container): unknown to Thumbor.
    Jxl,
}

impl ImageFormat {
    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Gif => "image/gif",
            ImageFormat::Webp => "image/webp",
            ImageFormat::Tiff => "image/tiff",
            ImageFormat::Bmp => "image/bmp",
            ImageFormat::Avif => "image/avif",
            ImageFormat::Heif => "image/heif",
            ImageFormat::Jp2 => "image/jp2",
            ImageFormat::Psd => "image/vnd.adobe.photoshop",
            ImageFormat::Svg => "image/svg+xml",
            ImageFormat::Jxl => "image/jxl",
        }
    }

    /// The name used in cache keys and logs (`format()` filter spelling).
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
            ImageFormat::Gif => "gif",
            ImageFormat::Webp => "webp",
            ImageFormat::Tiff => "tiff",
            ImageFormat::Bmp => "bmp",
            ImageFormat::Avif => "avif",
            ImageFormat::Heif => "heif",
            ImageFormat::Jp2 => "jp2",
            ImageFormat::Psd => "psd",
            ImageFormat::Svg => "svg",
            ImageFormat::Jxl => "jxl",
        }
    }
}

/// How the bytes of a frame are laid out. Everything is decoded to 8-bit RGB or RGBA: fewer
/// layouts keep every filter and the resizer to two code paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelLayout {
    Rgb8,
    Rgba8,
}

impl PixelLayout {
    pub fn channels(self) -> usize {
        match self {
            PixelLayout::Rgb8 => 3,
            PixelLayout::Rgba8 => 4,
        }
    }
}

/// One frame of an image: `width * height * channels` bytes, rows top to bottom, no padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub pixels: Vec<u8>,
    /// Display time of this frame (animated GIF/WebP); 0 for still images.
    pub delay_ms: u32,
}

/// Facts about the original that survive transformation and matter when encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// The sniffed format of the original.
    pub format: ImageFormat,
    /// The original's size as stored (before any shrink-on-load or orientation).
    pub width: u32,
    pub height: u32,
    /// EXIF orientation 1..=8 (1 when absent or invalid).
    pub orientation: u8,
    /// The ICC profile of the original (kept on output unless `strip_icc()`).
    pub icc_profile: Option<Vec<u8>>,
    /// The original was a palette image (PNG P mode / GIF): re-quantize for PNG/GIF output.
    pub palette: bool,
    /// The original was grayscale (JPEG L, PNG L/LA): encoders may write it back as gray.
    pub grayscale: bool,
    /// Animation loop count (0 = forever) when the original was animated.
    pub loop_count: Option<u16>,
}

/// A decoded image: one or more frames of identical size and layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub layout: PixelLayout,
    /// At least one frame. Animated originals keep every frame.
    pub frames: Vec<Frame>,
    pub source: SourceInfo,
}

impl SourceInfo {
    /// Facts for an original with nothing special about it: upright, no ICC profile, not
    /// palette or grayscale, not animated.
    pub fn plain(format: ImageFormat, width: u32, height: u32) -> SourceInfo {
        SourceInfo {
            format,
            width,
            height,
            orientation: 1,
            icc_profile: None,
            palette: false,
            grayscale: false,
            loop_count: None,
        }
    }
}

impl Image {
    /// A single-frame image. `pixels` must hold `width * height * layout.channels()` bytes.
    pub fn still(
        width: u32,
        height: u32,
        layout: PixelLayout,
        pixels: Vec<u8>,
        source: SourceInfo,
    ) -> Image {
        Image {
            width,
            height,
            layout,
            frames: vec![Frame {
                pixels,
                delay_ms: 0,
            }],
            source,
        }
    }

    pub fn is_animated(&self) -> bool {
        self.frames.len() > 1
    }

    /// Bytes per row of a frame.
    pub fn stride(&self) -> usize {
        self.width as usize * self.layout.channels()
    }

    /// True if any pixel of any frame is not fully opaque.
    pub fn has_transparency(&self) -> bool {
        self.layout == PixelLayout::Rgba8
            && self
                .frames
                .iter()
                .any(|f| f.pixels.chunks_exact(4).any(|p| p[3] != 255))
    }
}

/// Errors from decoding, transforming or encoding. Mapped to HTTP status in `crate::error`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ImagingError {
    #[error("undecodable image: {0}")]
    Undecodable(String),
    #[error("image too large: {0}")]
    TooLarge(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("encode failed: {0}")]
    Encode(String),
    /// The render passed its deadline and was stopped between steps.
    #[error("render abandoned after its deadline")]
    Abandoned,
    /// A pipeline step found the work of an earlier step missing: a bug in the step list.
    #[error("render step out of order: {0} has not run")]
    StepOrder(&'static str),
}

impl From<ImagingError> for crate::error::PictorError {
    fn from(e: ImagingError) -> Self {
        use crate::error::PictorError;
        match e {
            ImagingError::Undecodable(m) => PictorError::Undecodable(m),
            ImagingError::TooLarge(m) => PictorError::TooLarge(m),
            ImagingError::BadRequest(m) => PictorError::BadRequest(m),
            ImagingError::Encode(m) => PictorError::Internal(m),
            ImagingError::Abandoned => {
                PictorError::GatewayTimeout("render abandoned after its deadline".into())
            }
            ImagingError::StepOrder(_) => PictorError::Internal(e.to_string()),
        }
    }
}
