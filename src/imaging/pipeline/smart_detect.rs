//! Step `detect`: with `smart` and `DETECTORS`, the focal points the detectors find become the
//! points the plan crops around, as Thumbor's smart detection does after orientation and trim.
//! `focal()`, `extract_focal()` and a manual crop win: with any of them nothing is detected.
//!
//! Detection runs on a copy at most [`DETECTION_SIDE`] pixels on its long side (a JPEG or WebP
//! decoded at a DCT/libwebp scale on the way), of the picture the plan is made on (oriented,
//! normalized, trimmed); its points are scaled back to that picture. Thumbor detects on the
//! full-size image: a corner found on the copy lands within a copy pixel of Thumbor's.

use super::context::{filled, Pixels, RenderContext};
use crate::imaging::decode::{self, DecodeOptions, Probe};
use crate::imaging::detect::{self, Detector};
use crate::imaging::filters::FocalPoint;
use crate::imaging::geometry::{PixelRect, Size};
use crate::imaging::transform::{self, Region, ResamplingFilter};
use crate::imaging::{Image, ImageFormat, ImagingError};

/// The long side of the copy the detectors see: detail enough for corners and faces, and a
/// detection cost of a few milliseconds whatever the original's size.
pub(super) const DETECTION_SIDE: u32 = 600;

pub(super) fn applies(context: &RenderContext<'_>) -> bool {
    let job = context.job;
    job.request.smart
        && !job.settings.detectors.is_empty()
        && context.setup.as_ref().is_some_and(|setup| {
            setup.pre_load.focal_points.is_empty() && setup.manual_crop.is_none()
        })
}

pub(super) fn run(context: &mut RenderContext<'_>) -> Result<(), ImagingError> {
    let mut detect = || detect_in_picture(context);
    let points = match context.job.detection_memo {
        Some(memo) => memo.focal_points(&mut detect)?,
        None => detect()?,
    };
    tracing::Span::current().record("points", points.len());
    let setup = context
        .setup
        .as_mut()
        .ok_or(ImagingError::StepOrder("prepare"))?;
    setup.pre_load.focal_points = points;
    Ok(())
}

/// The detectors' focal points in the pixels of the picture the plan is made on.
fn detect_in_picture(context: &RenderContext<'_>) -> Result<Vec<FocalPoint>, ImagingError> {
    let job = context.job;
    let detectors = &job.settings.detectors;
    let setup = filled(&context.setup, "prepare")?;
    let (points, detected_on, picture) = match (&context.pixels, &context.mapping) {
        // After trim: the trimmed pixels are the picture.
        (Pixels::Rgb(image), Some(mapping)) => {
            let (points, size) = detect_on_copy(image, detectors)?;
            (points, size, mapping.oriented_space())
        }
        _ => {
            let header = filled(&context.header, "probe")?;
            let shrink = detection_shrink(header);
            let options = DecodeOptions {
                first_frame_only: true,
                ..job.decode_options(shrink)
            };
            let mut image = decode::decode_probed(context.source, header, &options)?;
            transform::orient(&mut image, setup.orientation);
            let (points, size) = detect_on_copy(&image, detectors)?;
            (points, size, setup.working_size())
        }
    };
    let scale = (
        f64::from(picture.width) / f64::from(detected_on.width),
        f64::from(picture.height) / f64::from(detected_on.height),
    );
    // The centre of the copy's pixel, in the picture's pixels.
    let to_picture = |at: f64, scale: f64, side: u32| {
        ((at + 0.5) * scale - 0.5)
            .round()
            .clamp(0.0, f64::from(side.saturating_sub(1)))
    };
    Ok(points
        .into_iter()
        .map(|point| {
            // Corners are 1x1 points of weight 1; a face's box and weight scale with it.
            let sized = point.width > 1.0 || point.height > 1.0;
            let (width, height) = if sized {
                (
                    (point.width * scale.0).round().max(1.0),
                    (point.height * scale.1).round().max(1.0),
                )
            } else {
                (point.width, point.height)
            };
            FocalPoint {
                x: to_picture(point.x, scale.0, picture.width),
                y: to_picture(point.y, scale.1, picture.height),
                width,
                height,
                weight: if sized { width * height } else { point.weight },
                ..point
            }
        })
        .collect())
}

/// The DCT (JPEG) or libwebp (WebP) scale that still leaves the long side at least
/// [`DETECTION_SIDE`]; 1 for other formats.
fn detection_shrink(header: &Probe) -> u32 {
    if !matches!(header.format, ImageFormat::Jpeg | ImageFormat::Webp) {
        return 1;
    }
    let longest = header.width.max(header.height);
    [8, 4, 2]
        .into_iter()
        .find(|&shrink| longest / shrink >= DETECTION_SIDE)
        .unwrap_or(1)
}

/// The detectors' points on a copy of `image`'s first frame at most [`DETECTION_SIDE`] on its
/// long side, in the copy's pixels, and the copy's size.
fn detect_on_copy(
    image: &Image,
    detectors: &[Detector],
) -> Result<(Vec<FocalPoint>, Size), ImagingError> {
    let size = Size::new(image.width, image.height);
    let longest = size.width.max(size.height);
    if longest <= DETECTION_SIDE && image.frames.len() == 1 {
        return Ok((detect::focal_points(image, detectors), size));
    }
    let first_frame = Image {
        width: image.width,
        height: image.height,
        layout: image.layout,
        frames: image.frames.iter().take(1).cloned().collect(),
        source: image.source.clone(),
    };
    let scale = f64::from(DETECTION_SIDE.min(longest)) / f64::from(longest);
    let copy_size = Size::new(
        ((f64::from(size.width) * scale).round() as u32).max(1),
        ((f64::from(size.height) * scale).round() as u32).max(1),
    );
    let whole = Region::from_rect(PixelRect::full(size));
    // Bilinear: the detectors look for corners and faces, not fine texture.
    let copy = transform::crop_resize(&first_frame, whole, copy_size, ResamplingFilter::Bilinear)?;
    Ok((detect::focal_points(&copy, detectors), copy_size))
}
