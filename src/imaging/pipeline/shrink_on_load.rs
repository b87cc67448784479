//! Step `shrink_on_load`: decode a JPEG (DCT scaling) or WebP (libwebp's scaled decode) at 1/2,
//! 1/4 or 1/8 when the shrunk image is still at least [`SHRINK_ON_LOAD_MARGIN`] (JPEG) or
//! [`WEBP_SHRINK_ON_LOAD_MARGIN`] (WebP) times the output on both axes (2725x2225 -> 720x588
//! decodes at 1/2). Never with trim (decoded before planning) or debug (its outlines need
//! full-size pixels). Animated WebPs ignore it and decode at full size.

use super::context::RenderContext;
use super::coordinates::PlanToPixels;
use super::geometry_setup::GeometrySetup;
use crate::imaging::decode::Probe;
use crate::imaging::geometry::Plan;
use crate::imaging::{ImageFormat, ImagingError};
use crate::url::ImageRequest;

/// How many times the output size shrink-on-load must leave for the final Lanczos3 pass.
/// libjpeg's scaled IDCT is itself a good low-pass filter, so a small margin keeps the output
/// within 44–52 dB PSNR of a full-size decode + Lanczos3 (measured on the corpus, see
/// `quality_tests`); at 1.0 (sharp's and PIL `draft()`'s rule) it drops to ~35 dB, because the
/// final pass then has nothing left to filter.
const SHRINK_ON_LOAD_MARGIN: f64 = 1.3;

/// The same for WebP: libwebp's scaled decode is a plain area average of the full-size
/// decode, a weaker low-pass than DCT scaling, so it needs the 2x of issue 7's rule (at 1.7x,
/// 1024x772 -> 300 wide fell to 39.6 dB).
const WEBP_SHRINK_ON_LOAD_MARGIN: f64 = 2.0;

pub(super) fn applies(context: &RenderContext<'_>) -> bool {
    context.job.request.trim.is_none()
}

pub(super) fn run(context: &mut RenderContext<'_>) -> Result<(), ImagingError> {
    context.shrink = choose_shrink(
        context.header()?,
        context.setup()?,
        context.plan()?,
        context.job.request,
    );
    Ok(())
}

/// The shrink-on-load factor (1, 2, 4 or 8) for `plan`.
pub(super) fn choose_shrink(
    header: &Probe,
    setup: &GeometrySetup,
    plan: &Plan,
    request: &ImageRequest,
) -> u32 {
    let margin = match header.format {
        ImageFormat::Jpeg => SHRINK_ON_LOAD_MARGIN,
        ImageFormat::Webp => WEBP_SHRINK_ON_LOAD_MARGIN,
        _ => return 1,
    };
    if request.trim.is_some() || request.debug {
        return 1;
    }
    let original = PlanToPixels::original(setup);
    let region = original.region(plan.crop);
    let output = original.stored_size(plan.output);
    let factor =
        (region.width / f64::from(output.width)).min(region.height / f64::from(output.height));
    [8, 4, 2]
        .into_iter()
        .find(|&shrink| factor >= f64::from(shrink) * margin)
        .unwrap_or(1)
}
