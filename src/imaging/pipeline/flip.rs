//! Step `flip`: `debug` outlines of the focal points drawn on the output, then the plan's
//! horizontal and vertical flips (negative request sides). Never on the planes road, which is
//! taken only without them.

use super::context::{filled, Pixels, RenderContext};
use crate::imaging::transform;
use crate::imaging::ImagingError;

pub(super) fn applies(context: &RenderContext<'_>) -> bool {
    matches!(context.pixels, Pixels::Rgb(_))
}

pub(super) fn run(context: &mut RenderContext<'_>) -> Result<(), ImagingError> {
    let plan = filled(&context.plan, "plan")?;
    if let Pixels::Rgb(image) = &mut context.pixels {
        for rectangle in &plan.debug_rectangles {
            transform::draw_outline(image, rectangle);
        }
        if plan.flip_horizontal {
            transform::flip_horizontal(image);
        }
        if plan.flip_vertical {
            transform::flip_vertical(image);
        }
    }
    Ok(())
}
