//! Step `shrink_on_load`: decode a JPEG (DCT scaling) or WebP (libwebp's scaled decode) at 1/2,
//! 1/4 or 1/8 when the shrunk image is still at least [`SHRINK_ON_LOAD_MARGIN`] (JPEG) or
//! [`WEBP_SHRINK_ON_LOAD_MARGIN`] (WebP) times the output on both axes (2725x2225 -> 720x588
//! decodes at 1/2). Never with trim (decoded before planning) or debug (its outlines need
//! full-size pixels). Animated WebPs ignore it and decode at full size.
//!
//! A vector original (SVG) is not shrunk but drawn at a size of its own choosing: the whole
//! picture at the scale that gives the planned region the output's resolution (the larger of
//! the two axes' ratios, so the final resize only ever shrinks, by less than a pixel's worth),
//! never drawn small and upscaled. The drawing holds at most as many pixels as the larger of
//! the intrinsic size and the output, so a tiny crop zoomed far in is drawn at that bound and
//! upscaled the rest of the way.

use super::context::RenderContext;
use super::coordinates::PlanToPixels;
use super::geometry_setup::GeometrySetup;
use crate::imaging::decode::{self, Probe};
use crate::imaging::geometry::{Plan, Size};
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
    if decode::is_vector(context.header()?.format) {
        context.draw_size = choose_draw_size(
            context.header()?,
            context.setup()?,
            context.plan()?,
            context.job.request,
        );
        return Ok(());
    }
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

/// The size to draw a vector original at for `plan` (see the module doc); `None` to draw it
/// at its intrinsic size (debug outlines, or a drawing that would come out the same).
pub(super) fn choose_draw_size(
    header: &Probe,
    setup: &GeometrySetup,
    plan: &Plan,
    request: &ImageRequest,
) -> Option<Size> {
    if request.trim.is_some() || request.debug {
        return None;
    }
    let original = PlanToPixels::original(setup);
    let region = original.region(plan.crop);
    let output = original.stored_size(plan.output);
    if region.width <= 0.0 || region.height <= 0.0 {
        return None;
    }
    let intrinsic = (f64::from(header.width), f64::from(header.height));
    let mut scale =
        (f64::from(output.width) / region.width).max(f64::from(output.height) / region.height);
    let bound = (intrinsic.0 * intrinsic.1).max(plan.output.pixels() as f64);
    let drawn_pixels = intrinsic.0 * scale * intrinsic.1 * scale;
    if drawn_pixels > bound {
        scale *= (bound / drawn_pixels).sqrt();
    }
    let side = |intrinsic: f64| (intrinsic * scale).round().clamp(1.0, f64::from(u32::MAX)) as u32;
    let size = Size::new(side(intrinsic.0), side(intrinsic.1));
    (size != Size::new(header.width, header.height)).then_some(size)
}
