//! Step `encode`: the output pixels written in the decided format with the request's quality,
//! ICC and `max_bytes` settings (or the planes written as they are, on the planes road).

use super::context::{filled, Pixels, RenderContext};
use super::{jpeg_planes, output_format, RenderOutput};
use crate::imaging::encode::{self, EncodeSettings};
use crate::imaging::{Image, ImageFormat, ImagingError};

pub(super) fn applies(context: &RenderContext<'_>) -> bool {
    !context.job.request.meta
}

pub(super) fn run(context: &mut RenderContext<'_>) -> Result<(), ImagingError> {
    let format = filled(&context.output_format, "format")?.format;
    tracing::Span::current().record("format", format.name());
    let output = match &context.pixels {
        Pixels::Rgb(image) => encode_image(context, image, format)?,
        Pixels::ResizedPlanes {
            planes,
            icc_profile,
        } => jpeg_planes::encode(context, planes, icc_profile.as_deref())?,
        Pixels::None | Pixels::JpegPlanes(_) => return Err(ImagingError::StepOrder("crop_resize")),
    };
    context.output = Some(output);
    Ok(())
}

fn encode_image(
    context: &RenderContext<'_>,
    image: &Image,
    format: ImageFormat,
) -> Result<RenderOutput, ImagingError> {
    let job = context.job;
    let overrides = &context.overrides;
    let settings = EncodeSettings {
        quality: output_format::quality(format, overrides, job.settings),
        progressive_jpeg: job.settings.progressive_jpeg,
        png_compression_level: job.settings.png_compression_level,
        webp_method: job.settings.webp_method,
        keep_icc: !overrides.strip_icc,
        avif_speed: job.settings.avif_speed,
    };
    let body = match overrides.max_bytes {
        Some(max_bytes) => encode_within(image, format, settings, max_bytes)?,
        None => encode::encode(image, format, &settings)?,
    };
    let animated_gif = format == ImageFormat::Gif && image.is_animated();
    Ok(RenderOutput {
        body,
        content_type: format.mime(),
        vary_accept: output_format::vary_accept(job, overrides, animated_gif),
        max_age: overrides.max_age,
    })
}

/// `max_bytes(n)` for JPEG and WebP: lower the quality by 25 % steps until it fits; below
/// quality 10, give up and keep the first encode. (Thumbor then tries to climb back, but
/// its climb always lands on the initial quality, which did not fit, so the first fitting
/// encode is what it returns.)
fn encode_within(
    image: &Image,
    format: ImageFormat,
    settings: EncodeSettings,
    max_bytes: u64,
) -> Result<Vec<u8>, ImagingError> {
    let initial = encode::encode(image, format, &settings)?;
    let fits = |bytes: &[u8]| bytes.len() as u64 <= max_bytes;
    if !matches!(format, ImageFormat::Jpeg | ImageFormat::Webp) || fits(&initial) {
        return Ok(initial);
    }
    let mut quality = u32::from(settings.quality);
    loop {
        quality = quality * 3 / 4;
        if quality < 10 {
            return Ok(initial);
        }
        let attempt = EncodeSettings {
            quality: quality as u8,
            ..settings.clone()
        };
        let bytes = encode::encode(image, format, &attempt)?;
        if fits(&bytes) {
            return Ok(bytes);
        }
    }
}
