//! Step `format`: the output format, decided once per render — here, from the final pixels'
//! size, frames and transparency, unless the `road` step already decided it — with the other
//! answers that follow from the request and the settings alone: the encoder's quality and
//! whether the response varies with `Accept`.

use super::context::{OutputFormat, Pixels, RenderContext};
use super::RenderJob;
use crate::imaging::decode::Probe;
use crate::imaging::encode::{self, FormatContext};
use crate::imaging::filters::OutputOverrides;
use crate::imaging::geometry::Size;
use crate::imaging::settings::ImagingSettings;
use crate::imaging::{ImageFormat, ImagingError};

pub(super) fn applies(context: &RenderContext<'_>) -> bool {
    context.output_format.is_none()
}

pub(super) fn run(context: &mut RenderContext<'_>) -> Result<(), ImagingError> {
    let Pixels::Rgb(image) = &context.pixels else {
        // The planes road decides the format on the `road` step.
        return Err(ImagingError::StepOrder("road"));
    };
    let chosen = decide(
        context.job,
        context.header()?,
        &context.overrides,
        Size::new(image.width, image.height),
        image.is_animated(),
        image.has_transparency(),
    );
    context.output_format = Some(chosen);
    Ok(())
}

/// The output format of an image of `size` (and whether it is a PNG turned into JPEG).
pub(super) fn decide(
    job: &RenderJob<'_>,
    header: &Probe,
    overrides: &OutputOverrides,
    size: Size,
    animated: bool,
    transparent: bool,
) -> OutputFormat {
    let png_to_jpg = png_to_jpg_enabled(job.settings, overrides) && !transparent;
    let format = encode::choose_output_format(&FormatContext {
        requested: overrides.format,
        source: header.format,
        animated,
        width: size.width,
        height: size.height,
        auto_webp: job.settings.auto_webp,
        accepts_webp: job.accepts_webp,
        auto_avif: job.settings.auto_avif,
        accepts_avif: job.accepts_avif,
        png_to_jpg,
    });
    let converted_png = overrides.format.is_none()
        && png_to_jpg
        && header.format == ImageFormat::Png
        && format == ImageFormat::Jpeg;
    OutputFormat {
        format,
        converted_png,
    }
}

/// AUTO_PNG_TO_JPG or its `autojpg` override, with 7.8.0's quirk: when the config is on,
/// *any* autojpg filter (even `autojpg(true)`) turns the conversion off.
pub(super) fn png_to_jpg_enabled(settings: &ImagingSettings, overrides: &OutputOverrides) -> bool {
    match overrides.autojpg {
        None => settings.auto_png_to_jpg,
        Some(_) if settings.auto_png_to_jpg => false,
        Some(value) => value,
    }
}

/// quality() filter, else WEBP_QUALITY for WebP, AVIF_QUALITY for AVIF, else QUALITY.
pub(super) fn quality(
    format: ImageFormat,
    overrides: &OutputOverrides,
    settings: &ImagingSettings,
) -> u8 {
    match (overrides.quality, format) {
        (Some(quality), _) => quality,
        (None, ImageFormat::Webp) => settings.webp_quality.unwrap_or(settings.quality),
        (None, ImageFormat::Avif) => settings.avif_quality.unwrap_or(settings.quality),
        (None, _) => settings.quality,
    }
}

/// `Vary: Accept` when AUTO_WEBP or AUTO_AVIF could have chosen the format.
pub(super) fn vary_accept(
    job: &RenderJob<'_>,
    overrides: &OutputOverrides,
    animated_gif: bool,
) -> bool {
    (job.settings.auto_webp || job.settings.auto_avif)
        && !overrides.format_is_valid
        && !animated_gif
}
