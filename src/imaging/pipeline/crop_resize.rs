//! Step `crop_resize`: the plan's crop and output size in one pass over the decoded pixels
//! (`transform::crop_resize`, or plane by plane on the planes road), through the one
//! [`PlanToPixels`](super::coordinates::PlanToPixels) mapping. The output is still in the
//! pixels' stored orientation; `orient` turns it.

use super::context::{filled, Pixels, RenderContext};
use super::{jpeg_planes, plan};
use crate::imaging::geometry::{PixelRect, Size};
use crate::imaging::transform;
use crate::imaging::ImagingError;

pub(super) fn applies(_: &RenderContext<'_>) -> bool {
    true
}

pub(super) fn run(context: &mut RenderContext<'_>) -> Result<(), ImagingError> {
    let plan = filled(&context.plan, "plan")?;
    let mapping = filled(&context.mapping, "decode")?;
    let settings = context.job.settings;
    let filter = settings.resampling_filter;
    context.pixels = match std::mem::take(&mut context.pixels) {
        Pixels::Rgb(image) => {
            // Every decoded frame is resized to the output at once: refuse before allocating.
            plan::refuse_oversized_animation(image.frames.len() as u64, plan.output, settings)?;
            let region = mapping.region(plan.crop);
            let stored_output = mapping.stored_size(plan.output);
            let whole = PixelRect::full(Size::new(image.width, image.height));
            let untouched = region.as_exact_rect() == Some(whole) && stored_output == whole.size();
            if untouched {
                Pixels::Rgb(image)
            } else {
                Pixels::Rgb(transform::crop_resize(
                    &image,
                    region,
                    stored_output,
                    filter,
                )?)
            }
        }
        Pixels::JpegPlanes(decoded) => jpeg_planes::crop_resize(decoded, mapping, plan, filter)?,
        Pixels::None | Pixels::ResizedPlanes { .. } => {
            return Err(ImagingError::StepOrder("decode"))
        }
    };
    Ok(())
}
