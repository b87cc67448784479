//! The ordered list of steps a render walks: decode (with shrink-on-load), orientation, trim,
//! manual crop, target size, focal point, auto-crop or fit-in, resize, flip, post-transform
//! filters, format choice and encode — or the meta JSON instead of the encode.

use super::filters::FilterList;
use super::ImagingError;
use crate::url::ImageRequest;
use std::collections::HashMap;

/// Configuration that shapes renders (built from `crate::config::Config`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagingSettings {
    /// QUALITY (default 80).
    pub quality: u8,
    /// WEBP_QUALITY (None: QUALITY).
    pub webp_quality: Option<u8>,
    /// PROGRESSIVE_JPEG (default true).
    pub progressive_jpeg: bool,
    /// PNG_COMPRESSION_LEVEL (default 6).
    pub png_compression_level: u8,
    /// WEBP_METHOD (libwebp 0..=6, default 4).
    pub webp_method: u8,
    /// AUTO_WEBP (default false).
    pub auto_webp: bool,
    /// AUTO_PNG_TO_JPG (default false).
    pub auto_png_to_jpg: bool,
    /// RESPECT_ORIENTATION (default false).
    pub respect_orientation: bool,
    /// MAX_WIDTH / MAX_HEIGHT (0 = off).
    pub max_width: u32,
    pub max_height: u32,
    /// MAX_PIXELS (default 75,000,000): originals and outputs over it are refused.
    pub max_pixels: u64,
    /// ALLOW_ANIMATED_GIFS (default true).
    pub allow_animated_gifs: bool,
}

impl Default for ImagingSettings {
    fn default() -> Self {
        ImagingSettings {
            quality: 80,
            webp_quality: None,
            progressive_jpeg: true,
            png_compression_level: 6,
            webp_method: 4,
            auto_webp: false,
            auto_png_to_jpg: false,
            respect_orientation: false,
            max_width: 0,
            max_height: 0,
            max_pixels: 75_000_000,
            allow_animated_gifs: true,
        }
    }
}

/// Everything a render needs besides the original's bytes.
pub struct RenderJob<'a> {
    pub request: &'a ImageRequest,
    pub filters: &'a FilterList,
    pub settings: &'a ImagingSettings,
    /// The client's Accept header contains `image/webp` (substring test, as Thumbor 7.8).
    pub accepts_webp: bool,
    /// Bytes of watermark/frame images, keyed by the URL written in the filter.
    pub assets: &'a HashMap<String, bytes::Bytes>,
}

/// The answer of a render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOutput {
    pub body: Vec<u8>,
    /// `image/...` or `application/json` for meta.
    pub content_type: &'static str,
    /// Send `Vary: Accept` (AUTO_WEBP on, no valid format(), not animated GIF output).
    pub vary_accept: bool,
    /// A `max_age()` filter override of MAX_AGE.
    pub max_age: Option<u32>,
}

/// Runs one request through the pipeline.
pub fn render(source: &[u8], job: &RenderJob<'_>) -> Result<RenderOutput, ImagingError> {
    let _ = (source, job);
    todo!("pipeline::render")
}
