//! Step `decode`: the original's pixels at the shrink-on-load scale, with the mapping from the
//! plan to them. On the planes road a JPEG decodes to its YCbCr planes; one that is not YCbCr
//! (gray, CMYK, RGB-coded) turns to the RGB road here. A vector original is drawn at the size
//! `shrink_on_load` chose. Orientation is left for the small
//! output. Skipped after `trim`, which decoded the pixels before planning.

use super::context::{filled, Pixels, RenderContext, Road};
use super::coordinates::PlanToPixels;
use super::jpeg_planes;
use crate::imaging::decode;
use crate::imaging::geometry::Size;
use crate::imaging::ImagingError;

pub(super) fn applies(context: &RenderContext<'_>) -> bool {
    matches!(context.pixels, Pixels::None)
}

pub(super) fn run(context: &mut RenderContext<'_>) -> Result<(), ImagingError> {
    let span = tracing::Span::current();
    span.record("shrink", context.shrink);
    if context.road == Road::JpegPlanes {
        if jpeg_planes::decode(context)? {
            span.record("planes", true);
            return Ok(());
        }
        context.road = Road::Rgb;
    }
    let header = filled(&context.header, "probe")?;
    let setup = filled(&context.setup, "prepare")?;
    let options = context.job.decode_options(context.shrink);
    let image = match context.draw_size {
        Some(size) => {
            decode::draw_at_size(context.source, header, &options, (size.width, size.height))?
        }
        None => decode::decode_probed(context.source, header, &options)?,
    };
    let decoded = Size::new(image.width, image.height);
    context.mapping = Some(PlanToPixels::decoded(
        header,
        setup,
        context.shrink,
        decoded,
    ));
    context.pixels = Pixels::Rgb(image);
    Ok(())
}
