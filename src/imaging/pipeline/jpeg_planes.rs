//! The JPEG planes road's variants of `decode`, `crop_resize` and `encode`: the original decoded
//! to YCbCr planes (at the shrink-on-load scale), each plane cropped and resized on its own, and
//! the planes written as they are by `jpeg::encode_planes`. It skips both colour conversions,
//! chroma upsampling and downsampling, and resizes half the samples an RGB resize would.

use super::context::{filled, Pixels, RenderContext};
use super::coordinates::PlanToPixels;
use super::geometry_setup::GeometrySetup;
use super::output_format;
use super::RenderOutput;
use crate::imaging::decode::Probe;
use crate::imaging::geometry::{Plan, Size};
use crate::imaging::jpeg::planes::{JpegPlanes, YccImage};
use crate::imaging::jpeg::{self, planes_resize};
use crate::imaging::transform::ResamplingFilter;
use crate::imaging::{encode, ImageFormat, ImagingError};

/// Whether the render is a JPEG written as a progressive JPEG with nothing between the resize
/// and the encode: no pixel filter, no orientation, flip or debug outline, no `max_bytes`
/// retries, no meta. (Whether the output is a JPEG is the `road` step's last question.)
pub(super) fn nothing_between_resize_and_encode(
    context: &RenderContext<'_>,
) -> Result<bool, ImagingError> {
    let job = context.job;
    let plan = context.plan()?;
    Ok(context.header()?.format == ImageFormat::Jpeg
        && job.settings.progressive_jpeg
        && !job.request.meta
        && !job.request.debug
        && context.setup()?.orientation == 1
        && !plan.flip_horizontal
        && !plan.flip_vertical
        && !job.filters().changes_pixels()
        && !job.moderation_blur
        && context.overrides.max_bytes.is_none())
}

/// Decodes the original to planes; `false` (nothing decoded) when it is not three-component
/// YCbCr.
pub(super) fn decode(context: &mut RenderContext<'_>) -> Result<bool, ImagingError> {
    let header = filled(&context.header, "probe")?;
    let setup = filled(&context.setup, "prepare")?;
    let plan = filled(&context.plan, "plan")?;
    let shrink = context.shrink;
    let halve_full_chroma = full_chroma_halved_on_decode(header, setup, plan, shrink);
    let options = context.job.decode_options(shrink);
    let Some(decoded) =
        jpeg::decode_planes_limited(context.source, header, &options, halve_full_chroma)?
    else {
        return Ok(false);
    };
    let size = Size::new(decoded.width, decoded.height);
    context.mapping = Some(PlanToPixels::decoded(header, setup, shrink, size));
    context.pixels = Pixels::JpegPlanes(decoded);
    Ok(true)
}

/// Whether 4:4:4 chroma may be decoded at half the luma plane's size: when the resize would
/// box-halve it anyway for the 4:2:0 output (the crop estimated in decoded pixels, which only
/// the decode itself tells exactly).
pub(super) fn full_chroma_halved_on_decode(
    header: &Probe,
    setup: &GeometrySetup,
    plan: &Plan,
    shrink: u32,
) -> bool {
    let region = PlanToPixels::expected_decode(header, setup, shrink).region(plan.crop);
    let (chroma_width, chroma_height) =
        jpeg::planes::chroma_size(plan.output.width, plan.output.height);
    planes_resize::chroma_is_halved(region, Size::new(chroma_width, chroma_height))
}

/// Each plane cropped and resized to the output.
pub(super) fn crop_resize(
    decoded: JpegPlanes,
    mapping: &PlanToPixels,
    plan: &Plan,
    filter: ResamplingFilter,
) -> Result<Pixels, ImagingError> {
    let region = mapping.region(plan.crop);
    let planes = planes_resize::crop_resize_planes(&decoded, region, plan.output, filter)?;
    Ok(Pixels::ResizedPlanes {
        planes,
        icc_profile: decoded.icc_profile,
    })
}

/// The planes written as a progressive JPEG, with the original's RGB ICC profile unless
/// `strip_icc()`.
pub(super) fn encode(
    context: &RenderContext<'_>,
    planes: &YccImage,
    icc_profile: Option<&[u8]>,
) -> Result<RenderOutput, ImagingError> {
    let overrides = &context.overrides;
    let quality = output_format::quality(ImageFormat::Jpeg, overrides, context.job.settings);
    let icc = icc_profile.filter(|icc| !overrides.strip_icc && encode::is_rgb_profile(icc));
    let body = jpeg::encode_planes(planes, quality.clamp(1, 100), icc)?;
    Ok(RenderOutput {
        body,
        content_type: ImageFormat::Jpeg.mime(),
        vary_accept: output_format::vary_accept(context.job, overrides, false),
        max_age: overrides.max_age,
    })
}
