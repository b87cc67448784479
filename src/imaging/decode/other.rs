//! TIFF and BMP through the `image` crate: its readers give size and orientation from the
//! headers, and decode (16-bit and gray included) which we then narrow to RGB8/RGBA8.

use super::{DecodeOptions, Probe};
use crate::imaging::{Image, ImageFormat, ImagingError, PixelLayout, SourceInfo};
use image::{ImageDecoder, ImageReader};
use std::io::Cursor;

fn image_format(format: ImageFormat) -> Result<image::ImageFormat, ImagingError> {
    match format {
        ImageFormat::Tiff => Ok(image::ImageFormat::Tiff),
        ImageFormat::Bmp => Ok(image::ImageFormat::Bmp),
        other => Err(ImagingError::Undecodable(format!(
            "{} is not decoded through image",
            other.name()
        ))),
    }
}

fn undecodable(format: ImageFormat) -> impl Fn(image::ImageError) -> ImagingError {
    move |e| ImagingError::Undecodable(format!("{}: {e}", format.name()))
}

fn reader(
    bytes: &[u8],
    format: ImageFormat,
    max_alloc: u64,
) -> Result<ImageReader<Cursor<&[u8]>>, ImagingError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format(format)?);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(max_alloc);
    reader.limits(limits);
    Ok(reader)
}

/// Header-only: the readers parse the IFD / BMP header but no pixel data.
pub(super) fn probe(bytes: &[u8], format: ImageFormat) -> Result<Probe, ImagingError> {
    const HEADER_ALLOC: u64 = 64 << 20;
    let mut decoder = reader(bytes, format, HEADER_ALLOC)?
        .into_decoder()
        .map_err(undecodable(format))?;
    let (width, height) = decoder.dimensions();
    let orientation = decoder.orientation().map_or(1, |o| o.to_exif());
    Ok(Probe {
        format,
        width,
        height,
        orientation,
    })
}

pub(super) fn decode(
    bytes: &[u8],
    header: &Probe,
    options: &DecodeOptions,
) -> Result<Image, ImagingError> {
    let format = header.format;
    // Room for the largest accepted image at 16 bits per RGBA channel, plus decoder state.
    let max_alloc = options
        .max_pixels
        .saturating_mul(8)
        .saturating_add(64 << 20);
    let mut decoder = reader(bytes, format, max_alloc)?
        .into_decoder()
        .map_err(undecodable(format))?;
    let icc_profile = decoder.icc_profile().ok().flatten();
    let color = decoder.color_type();
    let decoded = image::DynamicImage::from_decoder(decoder).map_err(undecodable(format))?;
    let (width, height) = (decoded.width(), decoded.height());
    let (layout, pixels) = if color.has_alpha() {
        (PixelLayout::Rgba8, decoded.into_rgba8().into_raw())
    } else {
        (PixelLayout::Rgb8, decoded.into_rgb8().into_raw())
    };
    Ok(Image::still(
        width,
        height,
        layout,
        pixels,
        SourceInfo {
            format,
            width: header.width,
            height: header.height,
            orientation: header.orientation,
            icc_profile,
            palette: false,
            grayscale: !color.has_color(),
            loop_count: None,
        },
    ))
}
