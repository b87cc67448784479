//! Step `road`: a JPEG that becomes a progressive JPEG with nothing but a crop and resize on the
//! way takes the JPEG planes road (`jpeg_planes`); every other render the RGB road. For such a
//! render nothing after the resize can change what the output format depends on (its size,
//! frames and transparency), so the format is decided here, once, and the `format` step keeps
//! it.

use super::context::{RenderContext, Road};
use super::{jpeg_planes, output_format};
use crate::imaging::{ImageFormat, ImagingError};

pub(super) fn applies(context: &RenderContext<'_>) -> bool {
    // With trim the pixels are already decoded to RGB.
    context.job.request.trim.is_none()
}

pub(super) fn run(context: &mut RenderContext<'_>) -> Result<(), ImagingError> {
    if !jpeg_planes::nothing_between_resize_and_encode(context)? {
        return Ok(());
    }
    let header = context.header()?;
    let output = context.plan()?.output;
    let chosen = output_format::decide(
        context.job,
        header,
        &context.overrides,
        output,
        false,
        false,
    );
    context.output_format = Some(chosen);
    if chosen.format == ImageFormat::Jpeg {
        context.road = Road::JpegPlanes;
    }
    Ok(())
}
