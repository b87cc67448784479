//! Step `plan`: `geometry::plan` on the picture the transformer starts from (the oriented,
//! normalized original, or the trimmed pixels), and outputs over MAX_PIXELS refused before they
//! are allocated (`/99999x99999/` is a 400 at once, not an 80 GB allocation). Also the planned
//! output size and the animation budget the memory estimate checks before admitting a render.

use super::context::RenderContext;
use super::geometry_setup::{geometry_setup, GeometrySetup};
use super::RenderJob;
use crate::imaging::decode::{self, Probe};
use crate::imaging::geometry::{self, Plan, PlanInput, Size};
use crate::imaging::settings::ImagingSettings;
use crate::imaging::ImagingError;
use crate::url::ImageRequest;

pub(super) fn applies(_: &RenderContext<'_>) -> bool {
    true
}

pub(super) fn run(context: &mut RenderContext<'_>) -> Result<(), ImagingError> {
    let setup = context.setup()?;
    let picture = match &context.mapping {
        // Trimmed: the plan is made on the trimmed pixels.
        Some(mapping) => mapping.oriented_space(),
        None => setup.working_size(),
    };
    let plan = plan_geometry(setup, picture, context.job.request);
    refuse_oversized_output(&plan, context.job.settings)?;
    context.plan = Some(plan);
    Ok(())
}

/// `geometry::plan` of `setup` on a picture of size `picture`.
pub(super) fn plan_geometry(setup: &GeometrySetup, picture: Size, request: &ImageRequest) -> Plan {
    let plan_input = PlanInput {
        source: picture,
        width: setup.width,
        height: setup.height,
        fit_in: request.fit_in,
        manual_crop: setup.manual_crop,
        halign: request.halign,
        valign: request.valign,
        flip_horizontal: request.flip_horizontal,
        flip_vertical: request.flip_vertical,
        debug: request.debug,
        stretch: setup.pre_load.stretch,
        focal_points: &setup.pre_load.focal_points,
    };
    geometry::plan(&plan_input)
}

fn refuse_oversized_output(plan: &Plan, settings: &ImagingSettings) -> Result<(), ImagingError> {
    if plan.output.pixels() > settings.max_pixels {
        return Err(ImagingError::TooLarge(format!(
            "output {}x{} is over MAX_PIXELS {}",
            plan.output.width, plan.output.height, settings.max_pixels
        )));
    }
    Ok(())
}

/// Refuses an animated output whose frames together hold more pixels than an animated source
/// may (`decode::animation_pixel_budget`): a 1x1 GIF of 100 frames asked at 4000x4000 would
/// otherwise build 1.6 G pixels of output frames from 100 bytes of input.
pub(crate) fn refuse_oversized_animation(
    frames: u64,
    output: Size,
    settings: &ImagingSettings,
) -> Result<(), ImagingError> {
    let budget = decode::animation_pixel_budget(settings.max_pixels);
    if frames > 1 && frames.saturating_mul(output.pixels()) > budget {
        return Err(ImagingError::TooLarge(format!(
            "{frames} output frames of {}x{} are over MAX_PIXELS {} together",
            output.width, output.height, settings.max_pixels
        )));
    }
    Ok(())
}

/// The output size the geometry plans for this header, before any post-transform filter,
/// for the memory estimate. With `trim` it is the plan of the untrimmed image (the trimmed one
/// is only known from pixels); the real output is checked again once decoded.
pub(crate) fn planned_output(header: &Probe, job: &RenderJob<'_>) -> Size {
    let setup = geometry_setup(header, job);
    plan_geometry(&setup, setup.working_size(), job.request).output
}
