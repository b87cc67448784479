//! Thumbor's filters: the `filters:` list parsed with Thumbor's splitting and parameter rules,
//! and the effect of each filter in its phase (pre-load, after-load, post-transform).
//! One file per filter family lives beside this one.

use super::{Image, ImageFormat, ImagingError};
use std::collections::HashMap;

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

/// The parsed `filters:` segment, in URL order. Unknown filters and filters whose parameters
/// do not parse are dropped, as Thumbor does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterList {
    // filled in by the filter implementation
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

impl FilterList {
    /// Parses the text after `filters:` (already percent-decoded once).
    pub fn parse(filters: &str) -> FilterList {
        let _ = filters;
        FilterList::default()
    }

    pub fn is_empty(&self) -> bool {
        true
    }

    pub fn pre_load(&self) -> PreLoadEffects {
        PreLoadEffects::default()
    }

    pub fn output_overrides(&self) -> OutputOverrides {
        OutputOverrides::default()
    }

    /// The literal `cover()` is present (first frame of an animated GIF only).
    pub fn has_cover(&self) -> bool {
        false
    }

    /// URLs of images the filters need loaded (watermark, frame).
    pub fn asset_urls(&self) -> Vec<String> {
        Vec::new()
    }

    /// After-load phase: `no_upscale()` clamps the requested size to the image's.
    /// `image_size` is the (oriented) source size.
    pub fn after_load(&self, width: &mut u32, height: &mut u32, image_size: (u32, u32)) {
        let _ = (width, height, image_size);
    }

    /// Post-transform phase: every pixel/geometry filter in URL order, on every frame.
    pub fn post_transform(
        &self,
        image: &mut Image,
        ctx: &PostTransformContext<'_>,
    ) -> Result<(), ImagingError> {
        let _ = (image, ctx);
        Ok(())
    }
}
