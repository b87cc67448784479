//! Step `orient`: the EXIF orientation still pending on the pixels, applied to the small output
//! (after the crop + resize, where it costs least). Nothing is pending after `trim` (which
//! oriented before trimming) or on the planes road (which is taken only for upright originals).

use super::context::{filled, Pixels, RenderContext};
use crate::imaging::transform;
use crate::imaging::ImagingError;

pub(super) fn applies(context: &RenderContext<'_>) -> bool {
    matches!(context.pixels, Pixels::Rgb(_))
}

pub(super) fn run(context: &mut RenderContext<'_>) -> Result<(), ImagingError> {
    let orientation = filled(&context.mapping, "decode")?.pending_orientation();
    if let Pixels::Rgb(image) = &mut context.pixels {
        transform::orient(image, orientation);
    }
    Ok(())
}
