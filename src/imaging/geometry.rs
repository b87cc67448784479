//! Thumbor's size arithmetic, pure and exact: manual crop clamping, target dimensions,
//! focal points from alignment, auto-crop, fit-in variants — with Python's rounding rules
//! (half-to-even `round`, floor division, `int()` truncation) so output sizes match Thumbor.
//! [`plan`] strings them together in Thumbor's order (spec §3.1 step 12d) into one [`Plan`].
//! The parts: `python_numbers` (Python's arithmetic), `rects` (sizes and crops),
//! `thumbor_sizes` (one function per rule of the spec) and `meta_operations` (what meta
//! records).

mod meta_operations;
mod python_numbers;
mod rects;
mod thumbor_sizes;

pub use meta_operations::{meta_target, MetaOperation};
pub use python_numbers::PyNumber;
pub use rects::{clamp_manual_crop, ManualCrop, PixelRect, Size};
pub use thumbor_sizes::{
    alignment_focal_point, auto_crop_box, center_of_mass, clamp_request_dimension, fit_in_resize,
    normalize_crop, normalize_size, proportion_size, proportional_height, proportional_width,
    target_dimensions, upscale_size, FitInOutcome, TargetSize, ThumborCrop,
};

use super::filters::{FocalPoint, RequestSize};
use crate::url::{Dimension, FitIn, HAlign, VAlign};

/// A debug outline (§3.7): PIL's `rectangle([x, y, x + width, y + height])`, edges inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DebugRectangle {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
}

/// Everything the geometry step needs to know, in the coordinates of the image the
/// transformer starts from (after normalize, orientation and trim).
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    pub source: Size,
    /// Request sides after the MAX_WIDTH/MAX_HEIGHT clamp and `no_upscale()`.
    pub width: Dimension,
    pub height: Dimension,
    pub fit_in: Option<FitIn>,
    /// After `normalize_crops` and the trim shift; `None` when absent.
    pub manual_crop: Option<ManualCrop>,
    pub halign: HAlign,
    pub valign: VAlign,
    pub flip_horizontal: bool,
    pub flip_vertical: bool,
    pub debug: bool,
    /// The `stretch()` pre-load filter.
    pub stretch: bool,
    /// Focal points from the pre-load filters (`focal`, `extract_focal`).
    pub focal_points: &'a [FocalPoint],
}

/// The whole geometry of a render, decided before any pixel moves.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The one region of the source to keep (manual crop and auto-crop combined); `None`
    /// keeps everything.
    pub crop: Option<PixelRect>,
    /// The size after crop and resize (before filters), at least 1x1.
    pub output: Size,
    /// Whether Thumbor resizes (the pixels are resampled from `crop` to `output`).
    pub resize: bool,
    pub flip_horizontal: bool,
    pub flip_vertical: bool,
    /// The request size the post-transform filters see.
    pub request: RequestSize,
    /// The focal points after the manual-crop adjustment (at least the alignment one).
    pub focal_points: Vec<FocalPoint>,
    /// Outlines to draw in debug mode, in output coordinates; debug skips resize and flips.
    pub debug_rectangles: Vec<DebugRectangle>,
    /// What Thumbor's meta engine records for this plan.
    pub operations: Vec<MetaOperation>,
}

/// Thumbor's `img_operation_worker` (§3.1 step 12d) as arithmetic: manual crop, target
/// size, focal points, then debug, fit-in or auto-crop + resize, then flips.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let mut operations = Vec::new();
    let full = PixelRect::full(input.source);

    // Manual crop (§3.2).
    let manual = input
        .manual_crop
        .and_then(|crop| clamp_manual_crop(crop, input.source));
    let mut region = full;
    if let Some(crop) = manual {
        operations.push(MetaOperation::Crop {
            left: crop.left,
            top: crop.top,
            right: crop.right,
            bottom: crop.bottom,
        });
        region = PixelRect::clamped(
            crop.left.trunc(),
            crop.top.trunc(),
            crop.right.trunc(),
            crop.bottom.trunc(),
            input.source,
        );
    }
    let cropped = region.size();

    // Target size (§3.3) and focal points (§3.4), on the cropped image.
    let target = target_dimensions(input.width, input.height, cropped);
    let focal_points = adjusted_focal_points(input, manual, cropped);

    let mut request_width = input.width;
    let mut request_height = input.height;
    let mut output = cropped;
    let mut resize = false;
    let mut debug_rectangles = Vec::new();
    let (mut flip_horizontal, mut flip_vertical) = (false, false);

    if input.debug {
        debug_rectangles = debug_outlines(input.focal_points, manual);
    } else {
        if let Some(mode) = input.fit_in {
            let outcome = fit_in_resize(cropped, target, request_width, request_height, mode);
            request_width = outcome.request_width;
            request_height = outcome.request_height;
            if let Some((width, height)) = outcome.resize {
                operations.push(MetaOperation::Resize { width, height });
                output = pil_resize_size(width, height);
                resize = true;
            }
        } else {
            if !input.stretch {
                let center = center_of_mass(&focal_points);
                if let Some(crop) = auto_crop_box(cropped, target, center) {
                    operations.push(MetaOperation::crop(crop));
                    let inner =
                        PixelRect::clamped(crop.left, crop.top, crop.right, crop.bottom, cropped);
                    region = inner.offset_by(region);
                    output = region.size();
                }
            }
            if !(target.width == f64::from(output.width)
                && target.height == f64::from(output.height))
            {
                let width = target_number(target.width);
                let height = target_number(target.height);
                operations.push(MetaOperation::Resize { width, height });
                output = pil_resize_size(width, height);
                resize = true;
            }
        }
        flip_horizontal = input.flip_horizontal;
        flip_vertical = input.flip_vertical;
        if flip_horizontal {
            operations.push(MetaOperation::FlipHorizontally);
        }
        if flip_vertical {
            operations.push(MetaOperation::FlipVertically);
        }
    }

    let request = RequestSize {
        width: resolved_side(request_width, output.width),
        height: resolved_side(request_height, output.height),
    };
    Plan {
        crop: (region != full).then_some(region),
        output,
        resize,
        flip_horizontal,
        flip_vertical,
        request,
        focal_points,
        debug_rectangles,
        operations,
    }
}

/// `target or 1`: a 0 target side becomes the int 1 (Thumbor's guard against 0-px images).
fn target_number(side: f64) -> PyNumber {
    if side == 0.0 {
        PyNumber::Int(1)
    } else {
        PyNumber::Float(side)
    }
}

/// PIL's `resize((int(w), int(h)))`; pictor never makes a 0-pixel side.
fn pil_resize_size(width: PyNumber, height: PyNumber) -> Size {
    let side = |n: PyNumber| n.trunc().clamp(1, i64::from(u32::MAX)) as u32;
    Size::new(side(width), side(height))
}

/// A request side as the filters read it: `orig` is the image's side.
fn resolved_side(dimension: Dimension, image_side: u32) -> u32 {
    match dimension {
        Dimension::Px(px) => px,
        Dimension::Orig => image_side,
    }
}

/// §3.4: request focal points inside the manual crop, shifted into it; otherwise the
/// alignment point of the cropped image.
fn adjusted_focal_points(
    input: &PlanInput<'_>,
    manual: Option<ManualCrop>,
    cropped: Size,
) -> Vec<FocalPoint> {
    let mut points: Vec<FocalPoint> = match manual {
        Some(crop) => input
            .focal_points
            .iter()
            .filter(|p| inside_crop(p, &crop))
            .map(|p| FocalPoint {
                x: p.x - crop.left.value(),
                y: p.y - crop.top.value(),
                ..p.clone()
            })
            .collect(),
        None => input.focal_points.to_vec(),
    };
    if points.is_empty() {
        points.push(alignment_focal_point(input.halign, input.valign, cropped));
    }
    points
}

fn inside_crop(point: &FocalPoint, crop: &ManualCrop) -> bool {
    !(point.x < crop.left.value()
        || point.x > crop.right.value()
        || point.y < crop.top.value()
        || point.y > crop.bottom.value())
}

/// §3.7: Thumbor outlines the request's focal points (not the alignment one). Points the
/// manual crop kept are shifted into it; the others keep their coordinates, as in Thumbor.
fn debug_outlines(points: &[FocalPoint], manual: Option<ManualCrop>) -> Vec<DebugRectangle> {
    points
        .iter()
        .map(|point| {
            let (mut x, mut y) = (point.x.trunc() as i64, point.y.trunc() as i64);
            if let Some(crop) = manual.filter(|crop| inside_crop(point, crop)) {
                x -= crop.left.trunc();
                y -= crop.top.trunc();
            }
            let width = if point.width <= 1.0 {
                10
            } else {
                point.width.trunc() as i64
            };
            let height = if point.height <= 1.0 {
                10
            } else {
                point.height.trunc() as i64
            };
            DebugRectangle {
                x: x - width.div_euclid(2),
                y: y - height.div_euclid(2),
                width,
                height,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
