//! What the steps of a render share: the job, the header (read once), the geometry set-up and
//! plan, the road, the pixels with the mapping from plan coordinates to them, the output format
//! (decided once) and the answer. Each field is filled in by one step; a later step that finds
//! one missing reports the step that should have filled it (`ImagingError::StepOrder`, a bug).

use super::coordinates::PlanToPixels;
use super::geometry_setup::GeometrySetup;
use super::{RenderJob, RenderOutput};
use crate::imaging::decode::Probe;
use crate::imaging::filters::OutputOverrides;
use crate::imaging::geometry::{Plan, Size};
use crate::imaging::jpeg::planes::{JpegPlanes, YccImage};
use crate::imaging::{Image, ImageFormat, ImagingError};

/// Which road the pixels take between decode and encode (see the `pipeline` module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Road {
    Rgb,
    JpegPlanes,
}

/// The pixels of the render, as far as it got.
#[derive(Default)]
pub(super) enum Pixels {
    /// Nothing decoded yet.
    #[default]
    None,
    /// RGB(A) frames: every format on the RGB road (decoded before planning with `trim`).
    Rgb(Image),
    /// A JPEG original's YCbCr planes at their own sampling, as decoded (planes road).
    JpegPlanes(JpegPlanes),
    /// The output's 4:2:0 planes, cropped and resized, for the JPEG writer, with the
    /// original's ICC profile (planes road).
    ResizedPlanes {
        planes: YccImage,
        icc_profile: Option<Vec<u8>>,
    },
}

/// The output format and what meta says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OutputFormat {
    pub format: ImageFormat,
    /// A PNG written as JPEG by AUTO_PNG_TO_JPG (meta records the conversion).
    pub converted_png: bool,
}

pub(super) struct RenderContext<'a> {
    pub source: &'a [u8],
    pub job: &'a RenderJob<'a>,
    /// The filters' overrides of encoding and response headers.
    pub overrides: OutputOverrides,
    /// `probe`.
    pub header: Option<Probe>,
    /// `prepare`; `trim` updates the manual crop and the leading meta operations.
    pub setup: Option<GeometrySetup>,
    /// `plan`.
    pub plan: Option<Plan>,
    /// `shrink_on_load`: decode at 1/shrink (1, 2, 4 or 8).
    pub shrink: u32,
    /// `shrink_on_load`, for a vector original: the size to draw the whole picture at, so
    /// that the planned region comes out at (at least) the output size.
    pub draw_size: Option<Size>,
    /// `road`, and `decode` when a JPEG turns out not to be YCbCr.
    pub road: Road,
    /// `trim` or `decode`, then `crop_resize`.
    pub pixels: Pixels,
    /// How the plan's coordinates reach `pixels` (`trim` or `decode`).
    pub mapping: Option<PlanToPixels>,
    /// `road` (planes road) or `format`.
    pub output_format: Option<OutputFormat>,
    /// `meta` or `encode`.
    pub output: Option<RenderOutput>,
}

/// The value a step before this one should have set, or the step-order bug it is.
pub(super) fn filled<'v, T>(
    value: &'v Option<T>,
    step: &'static str,
) -> Result<&'v T, ImagingError> {
    value.as_ref().ok_or(ImagingError::StepOrder(step))
}

impl<'a> RenderContext<'a> {
    /// A render of `source` for `job`; `header` when the caller already probed it.
    pub fn new(source: &'a [u8], job: &'a RenderJob<'a>, header: Option<Probe>) -> Self {
        RenderContext {
            source,
            job,
            overrides: job.filters().output_overrides(),
            header,
            setup: None,
            plan: None,
            shrink: 1,
            draw_size: None,
            road: Road::Rgb,
            pixels: Pixels::None,
            mapping: None,
            output_format: None,
            output: None,
        }
    }

    /// Abandons the render once its deadline has passed (the client already got its 504).
    pub fn check_deadline(&self) -> Result<(), ImagingError> {
        match self.job.deadline {
            Some(deadline) if std::time::Instant::now() >= deadline => Err(ImagingError::Abandoned),
            _ => Ok(()),
        }
    }

    pub fn header(&self) -> Result<&Probe, ImagingError> {
        filled(&self.header, "probe")
    }

    pub fn setup(&self) -> Result<&GeometrySetup, ImagingError> {
        filled(&self.setup, "prepare")
    }

    pub fn plan(&self) -> Result<&Plan, ImagingError> {
        filled(&self.plan, "plan")
    }

    /// The answer of the finished render.
    pub fn into_output(self) -> Result<RenderOutput, ImagingError> {
        self.output.ok_or(ImagingError::StepOrder("encode"))
    }
}
