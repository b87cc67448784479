//! A render is one ordered list of named steps over one [`RenderContext`] ([`STEPS`], below), as
//! imgproxy's `mainPipeline`: read the header (limits before pixels), prepare, trim, find the
//! focal points of a `smart` crop, plan the whole geometry (`geometry::plan`), choose
//! shrink-on-load and the road, decode, crop + resize in one pass, orient, draw debug outlines
//! and flip, run the post-transform filters, blur a flagged upload, decide the output format (once), and encode — or
//! write the meta JSON instead. The runner (`runner`) records a
//! tracing span per step and stops a render whose deadline has passed after every step.
//!
//! Two roads share the list. A JPEG that becomes a JPEG with nothing but a crop and resize on the
//! way takes the JPEG planes road: the `decode`, `crop_resize` and `encode` steps then work on
//! YCbCr planes (`jpeg_planes`) and the steps in between have nothing to do. Every other render
//! takes the RGB road. The road is data in the context, chosen by the `road` step.
//!
//! One file per step; `context` holds what the steps share, `geometry_setup` the request as the
//! transformer sees it, `coordinates` the one mapping from plan coordinates to decoded pixels,
//! and `meta_json` Thumbor's JSON layout. A step may use another step's helpers in one direction
//! only (`road`, `encode` and `jpeg_planes` ask `output_format`; `crop_resize` asks `plan` for
//! the animation budget): `python3 scripts/import_cycles.py` finds no circle between files.

mod context;
mod coordinates;
mod crop_resize;
mod decode;
mod encode;
mod filters;
mod flip;
mod geometry_setup;
mod jpeg_planes;
mod meta;
mod meta_json;
mod moderation_blur;
mod orient;
mod output_format;
mod plan;
mod prepare;
mod probe;
mod road;
mod runner;
mod shrink_on_load;
mod smart_detect;
mod trim;

use super::decode::{DecodeOptions, Probe};
use super::detect::DetectionMemo;
use super::filters::FilterList;
use super::settings::ImagingSettings;
use super::ImagingError;
use crate::url::ImageRequest;
use context::RenderContext;
use runner::Step;
use std::collections::HashMap;
use std::sync::LazyLock;

pub(crate) use plan::{planned_output, refuse_oversized_animation};
pub use probe::probe_header;

/// Everything a render needs besides the original's bytes.
pub struct RenderJob<'a> {
    /// The parsed request, with its filter list.
    pub request: &'a ImageRequest,
    pub settings: &'a ImagingSettings,
    /// The client's Accept header contains `image/webp` (substring test, as Thumbor 7.8).
    pub accepts_webp: bool,
    /// The client's Accept header contains `image/avif` (substring test, as Thumbor 7.8).
    pub accepts_avif: bool,
    /// Bytes of watermark/frame images, keyed by the URL written in the filter.
    pub assets: &'a HashMap<String, bytes::Bytes>,
    /// When the request's answer is no longer wanted (REQUEST_TIMEOUT_SECONDS): the render
    /// stops at the next step boundary instead of finishing work nobody will read.
    pub deadline: Option<std::time::Instant>,
    /// Focal points detected before for this original (the `detect` step asks it first).
    pub detection_memo: Option<&'a dyn DetectionMemo>,
    /// Moderation flagged (or holds) the original: the output is strongly blurred.
    pub moderation_blur: bool,
    /// Waited at between steps (after the deadline check): a background render waits there
    /// while visitors' renders run (`server::admission::IdleGate`).
    pub between_steps: Option<&'a dyn BetweenSteps>,
}

/// What a render waits for between its steps (see [`RenderJob::between_steps`]).
pub trait BetweenSteps: Sync {
    /// Returns when the render may go on, or at `deadline` (which then stops it).
    fn wait(&self, deadline: Option<std::time::Instant>);
}

/// No watermark or frame images.
static NO_ASSETS: LazyLock<HashMap<String, bytes::Bytes>> = LazyLock::new(HashMap::new);

impl<'a> RenderJob<'a> {
    /// A job for `request` with `settings`, as a client without `Accept` negotiation, no filter
    /// images and no deadline would ask; set the other fields with struct update syntax.
    pub fn new(request: &'a ImageRequest, settings: &'a ImagingSettings) -> RenderJob<'a> {
        RenderJob {
            request,
            settings,
            accepts_webp: false,
            accepts_avif: false,
            assets: &NO_ASSETS,
            deadline: None,
            detection_memo: None,
            moderation_blur: false,
            between_steps: None,
        }
    }

    /// The request's filters (parsed with its URL).
    pub fn filters(&self) -> &'a FilterList {
        &self.request.filter_list
    }

    /// The decoder's limits and choices for this job at `1/shrink`.
    pub fn decode_options(&self, shrink: u32) -> DecodeOptions {
        DecodeOptions {
            max_pixels: self.settings.max_pixels,
            shrink,
            // cover() asks for the first frame (Thumbor can only do it with gifsicle).
            first_frame_only: self.decodes_first_frame_only(),
            max_jpeg_scans: self.settings.max_jpeg_scans,
            deadline: self.deadline,
        }
    }

    /// Whether only the first frame of an animation is decoded (`cover()`, or animations off).
    pub fn decodes_first_frame_only(&self) -> bool {
        self.filters().has_cover() || !self.settings.allow_animated_gifs
    }
}

/// The answer of a render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOutput {
    pub body: Vec<u8>,
    /// `image/...` or `application/json` for meta.
    pub content_type: &'static str,
    /// Send `Vary: Accept` (AUTO_WEBP or AUTO_AVIF on, no valid format(), not animated GIF
    /// output).
    pub vary_accept: bool,
    /// A `max_age()` filter override of MAX_AGE.
    pub max_age: Option<u32>,
}

/// The steps of every render, in order. A step that does not apply to a render returns at
/// once (`trim` without `trim`, `orient` and `flip` on the planes road, `meta` without `meta`).
const STEPS: &[Step] = &[
    runner::step!("probe", probe),
    runner::step!("prepare", prepare),
    runner::step!("trim", trim),
    runner::step!("detect", smart_detect, points),
    runner::step!("plan", plan),
    runner::step!("shrink_on_load", shrink_on_load),
    runner::step!("road", road),
    runner::step!("decode", decode, shrink, planes),
    runner::step!("crop_resize", crop_resize),
    runner::step!("orient", orient),
    runner::step!("flip", flip),
    runner::step!("filters", filters),
    runner::step!("moderation_blur", moderation_blur),
    runner::step!("format", output_format),
    runner::step!("meta", meta),
    runner::step!("encode", encode, format),
];

/// Runs one request through the pipeline.
pub fn render(source: &[u8], job: &RenderJob<'_>) -> Result<RenderOutput, ImagingError> {
    let mut context = RenderContext::new(source, job, None);
    runner::run(&mut context, STEPS)?;
    context.into_output()
}

/// [`render`] for a source whose header [`probe_header`] already read (the server probes
/// once, to estimate the render's memory before admitting it).
pub fn render_probed(
    source: &[u8],
    header: &Probe,
    job: &RenderJob<'_>,
) -> Result<RenderOutput, ImagingError> {
    let mut context = RenderContext::new(source, job, Some(header.clone()));
    runner::run(&mut context, STEPS)?;
    context.into_output()
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod quality_tests;

#[cfg(test)]
mod planes_road_tests;

#[cfg(test)]
mod smart_tests;
