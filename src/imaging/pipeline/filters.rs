//! Step `filters`: the post-transform filters in URL order, on the output pixels. Thumbor skips
//! them for GIF sources; pictor applies them (a documented difference). The planes road is
//! taken only when no filter changes pixels.

use super::context::{filled, Pixels, RenderContext};
use crate::imaging::filters::PostTransformContext;
use crate::imaging::ImagingError;

pub(super) fn applies(context: &RenderContext<'_>) -> bool {
    matches!(context.pixels, Pixels::Rgb(_))
}

pub(super) fn run(context: &mut RenderContext<'_>) -> Result<(), ImagingError> {
    let job = context.job;
    let plan = filled(&context.plan, "plan")?;
    if let Pixels::Rgb(image) = &mut context.pixels {
        let filter_context = PostTransformContext {
            request: plan.request,
            fit_in: job.request.fit_in.is_some(),
            assets: job.assets,
            focal_points: &plan.focal_points,
        };
        job.filters().post_transform(image, &filter_context)?;
    }
    Ok(())
}
