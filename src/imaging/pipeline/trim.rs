//! Step `trim`: Thumbor trims the loaded, normalized and oriented image, so with `trim` all of
//! that happens on real pixels before planning: decode at full size, `normalize()`, orient,
//! trim. The manual crop then refers to the trimmed image, and meta records the trim's crop.
//! The plan is made on the trimmed pixels, which `decode` then leaves as they are.

use super::context::{filled, Pixels, RenderContext};
use super::coordinates::PlanToPixels;
use crate::imaging::decode;
use crate::imaging::geometry::{MetaOperation, PixelRect, PyNumber, Size};
use crate::imaging::transform::{self, Region};
use crate::imaging::ImagingError;

pub(super) fn applies(context: &RenderContext<'_>) -> bool {
    context.job.request.trim.is_some()
}

pub(super) fn run(context: &mut RenderContext<'_>) -> Result<(), ImagingError> {
    let job = context.job;
    let header = filled(&context.header, "probe")?;
    let setup = context
        .setup
        .as_mut()
        .ok_or(ImagingError::StepOrder("prepare"))?;
    let mut image = {
        let _span = tracing::info_span!("decode").entered();
        decode::decode_probed(context.source, header, &job.decode_options(1))?
    };
    if let Some(normalized) = setup.normalized {
        let _span = tracing::info_span!("normalize").entered();
        let whole = Region::from_rect(PixelRect::full(Size::new(image.width, image.height)));
        image = transform::crop_resize(&image, whole, normalized, job.settings.resampling_filter)?;
    }
    {
        let _span = tracing::info_span!("orient").entered();
        transform::orient(&mut image, setup.orientation);
    }
    if let Some(trim) = job.request.trim {
        if let Some(rect) = transform::trim_box(&image, trim.position, trim.tolerance) {
            image = transform::crop(&image, rect);
            setup.manual_crop = setup.manual_crop.map(|c| c.shifted(rect.left, rect.top));
            setup.leading_operations.push(MetaOperation::Crop {
                left: PyNumber::Int(i64::from(rect.left)),
                top: PyNumber::Int(i64::from(rect.top)),
                right: PyNumber::Int(i64::from(rect.right)),
                bottom: PyNumber::Int(i64::from(rect.bottom)),
            });
        }
    }
    context.mapping = Some(PlanToPixels::same_pixels(Size::new(
        image.width,
        image.height,
    )));
    context.pixels = Pixels::Rgb(image);
    Ok(())
}
