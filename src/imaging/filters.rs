//! Thumbor's filters: the `filters:` segment of the URL, parsed with Thumbor's splitting and
//! parameter rules, and the effect of each filter in its phase.
//!
//! - `registry`: the one table of every filter pictor knows — name, parameter signature,
//!   phase and constructor. Adding a filter is one line there plus its type, implementing
//!   `FilterCall`, in its family's file.
//! - `list`: [`FilterList`], the parsed segment (built by the URL parser and carried in
//!   `ImageRequest`), and what each phase of the render asks of it.
//! - [`params`]: Thumbor's parameter grammar.
//! - one file per filter family (`color`, `blur`, `watermark`, ...) with each filter's
//!   parameters and effect.

mod blur;
mod color;
mod colors;
mod composite;
mod corners;
mod fill;
mod geometry;
mod list;
mod noise;
mod output;
pub mod params;
mod red_eye;
mod registry;
mod resize;
mod watermark;

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod registry_tests;
#[cfg(test)]
mod ssim;

use super::{Image, ImageFormat, ImagingError, PixelLayout};
use params::Params;
use std::collections::HashMap;
use std::fmt;

/// The Gaussian and the resizer on raw frames, for the pipeline's `moderation_blur` step.
pub(crate) use blur::blur_pixels;
pub use geometry::extract_focal;
pub use list::FilterList;
pub(crate) use resize::resize_pixels;

/// An axis-aligned point of interest with a weight (Thumbor's FocalPoint).
#[derive(Debug, Clone, PartialEq)]
pub struct FocalPoint {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    /// The weight (`z` in meta JSON).
    pub weight: f64,
    /// "alignment", "Explicit", "Original Extraction", ...
    pub origin: &'static str,
}

impl FocalPoint {
    /// Thumbor's `FocalPoint.from_square`: the centre of the rectangle (integer halves of the
    /// size, floored), weighted by its area.
    pub fn from_square(
        left: i64,
        top: i64,
        width: i64,
        height: i64,
        origin: &'static str,
    ) -> FocalPoint {
        FocalPoint {
            x: (left + width.div_euclid(2)) as f64,
            y: (top + height.div_euclid(2)) as f64,
            width: width as f64,
            height: height as f64,
            weight: width.saturating_mul(height) as f64,
            origin,
        }
    }
}

/// What the pre-load filters (`focal`, `stretch`, ...) contribute to the geometry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreLoadEffects {
    pub focal_points: Vec<FocalPoint>,
    pub stretch: bool,
}

/// Per-request overrides of encoding and response headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputOverrides {
    pub quality: Option<u8>,
    /// A valid `format()`; an invalid one is `None`.
    pub format: Option<ImageFormat>,
    /// True if a `format()` filter was present and valid (suppresses `Vary: Accept`).
    pub format_is_valid: bool,
    pub max_bytes: Option<u64>,
    pub max_age: Option<u32>,
    /// `autojpg(...)` present: Some(value).
    pub autojpg: Option<bool>,
    pub strip_icc: bool,
    pub strip_exif: bool,
    /// `blurhash(x,y)`: meta JSON carries a BlurHash with these components.
    pub blurhash: Option<(u32, u32)>,
    /// `thumbhash()`: meta JSON carries a ThumbHash.
    pub thumbhash: bool,
}

/// The request size the post-transform filters see (after fit-in adjusted it, spec §3.5 step 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestSize {
    pub width: u32,
    pub height: u32,
}

/// Context of the post-transform phase.
pub struct PostTransformContext<'a> {
    pub request: RequestSize,
    pub fit_in: bool,
    /// Bytes of images other filters need (watermark, frame), keyed by their URL as written in
    /// the filter. Fetched by the server before rendering; see [`FilterList::asset_urls`].
    pub assets: &'a HashMap<String, bytes::Bytes>,
    pub focal_points: &'a [FocalPoint],
}

/// The largest canvas (in pixels) a filter may create (`fill` on a huge fit-in box); Thumbor's
/// default MAX_PIXELS.
pub(crate) const MAX_CANVAS_PIXELS: u64 = 75_000_000;

/// How a post-transform filter gets the images it draws (watermark, frame): by URL as written
/// in the filter.
pub(crate) type AssetLoader<'a> = dyn Fn(&str) -> Result<Image, ImagingError> + 'a;

/// One parsed filter call: its parameters, and its effect in the phase its registry entry
/// names. Every hook does nothing by default; a filter implements the hook of its phase (and
/// [`FilterCall::asset_url`] if it draws another image). The list calls a hook only for the
/// calls of that phase.
pub(crate) trait FilterCall: fmt::Debug + Send + Sync + 'static {
    /// The call from its parameter values; `None` drops it, as Thumbor drops a filter whose
    /// arguments do not fit.
    fn build(params: &Params<'_>) -> Option<Self>
    where
        Self: Sized;

    /// Pre-load, before anything is loaded: the image to load instead of `image` (a nested
    /// Thumbor URL unwrapped by `extract_focal`), or `None` to keep it.
    fn resolve_image(&mut self, _image: &str) -> Option<String> {
        None
    }

    /// Pre-load: what the call adds to the geometry's inputs.
    fn pre_load(&self, _effects: &mut PreLoadEffects) {}

    /// After-load: adjusts the requested size given the (oriented) source size.
    fn after_load(&self, _width: &mut u32, _height: &mut u32, _image_size: (u32, u32)) {}

    /// Post-transform: the effect on the pixels, on every frame.
    fn post_transform(
        &self,
        _image: &mut Image,
        _ctx: &PostTransformContext<'_>,
        _load: &AssetLoader<'_>,
    ) -> Result<(), ImagingError> {
        Ok(())
    }

    /// Output: how the result is encoded or served.
    fn output(&self, _overrides: &mut OutputOverrides) {}

    /// The URL (as written) of an image the call draws, which the server fetches first.
    fn asset_url(&self) -> Option<&str> {
        None
    }
}

/// Converts every frame to RGBA (Thumbor's `enable_alpha`).
pub(crate) fn ensure_rgba(image: &mut Image) {
    if image.layout == PixelLayout::Rgba8 {
        return;
    }
    for frame in &mut image.frames {
        frame.pixels = rgb_to_rgba(&frame.pixels);
    }
    image.layout = PixelLayout::Rgba8;
}

pub(crate) fn rgb_to_rgba(rgb: &[u8]) -> Vec<u8> {
    let mut rgba = Vec::with_capacity(rgb.len() / 3 * 4);
    for pixel in rgb.chunks_exact(3) {
        rgba.extend_from_slice(&[pixel[0], pixel[1], pixel[2], 255]);
    }
    rgba
}
