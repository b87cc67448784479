//! The sizes Thumbor's transformer computes, one function per rule of the spec: target
//! dimensions (§3.3), the alignment focal point and centre of mass (§3.4), auto-crop (§3.4),
//! fit-in (§3.5), the request clamp, `normalize()` and `normalize_crops` (§3.1), and the sizes
//! of the `upscale()` and `proportion()` filters.

use super::python_numbers::{py_floor_div, py_round, py_round_2, PyNumber};
use super::rects::{ManualCrop, Size};
use crate::imaging::filters::{FocalPoint, RequestSize};
use crate::url::{Dimension, FitIn, HAlign, VAlign};

/// The size Thumbor aims for, as the floats `Transformer` keeps (§3.3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetSize {
    pub width: f64,
    pub height: f64,
}

/// `engine.get_proportional_width(new_height)`: `round(new_height * w / h, 0)`, half to even.
pub fn proportional_width(new_height: f64, source: Size) -> f64 {
    py_round(new_height * f64::from(source.width) / f64::from(source.height))
}

/// `engine.get_proportional_height(new_width)`: `round(new_width * h / w, 0)`, half to even.
pub fn proportional_height(new_width: f64, source: Size) -> f64 {
    py_round(new_width * f64::from(source.height) / f64::from(source.width))
}

/// The numeric value a request side stands for; `orig` is the source side (Thumbor would
/// crash on `orig` where it needs a number; pictor reads it as the source size instead).
fn dimension_value(dimension: Dimension, source_side: u32) -> f64 {
    match dimension {
        Dimension::Px(px) => f64::from(px),
        Dimension::Orig => f64::from(source_side),
    }
}

fn is_zero(dimension: Dimension) -> bool {
    dimension == Dimension::Px(0)
}

/// §3.3: the target size from the request sides and the (post-trim, post-crop) source size.
pub fn target_dimensions(width: Dimension, height: Dimension, source: Size) -> TargetSize {
    let source_width = f64::from(source.width);
    let source_height = f64::from(source.height);
    if is_zero(width) && is_zero(height) {
        return TargetSize {
            width: source_width,
            height: source_height,
        };
    }
    let target_width = match width {
        Dimension::Orig => source_width,
        Dimension::Px(0) => proportional_width(dimension_value(height, source.height), source),
        Dimension::Px(px) => f64::from(px),
    };
    let target_height = match height {
        Dimension::Orig => source_height,
        Dimension::Px(0) => proportional_height(dimension_value(width, source.width), source),
        Dimension::Px(px) => f64::from(px),
    };
    TargetSize {
        width: target_width,
        height: target_height,
    }
}

/// §3.4: the focal point Thumbor makes from the alignment when there is none. Right and
/// bottom land on `width`/`height`, one past the last pixel, exactly as Thumbor.
pub fn alignment_focal_point(halign: HAlign, valign: VAlign, size: Size) -> FocalPoint {
    let x_fraction = match halign {
        HAlign::Left => 0.0,
        HAlign::Center => 0.5,
        HAlign::Right => 1.0,
    };
    let y_fraction = match valign {
        VAlign::Top => 0.0,
        VAlign::Middle => 0.5,
        VAlign::Bottom => 1.0,
    };
    FocalPoint {
        x: (f64::from(size.width) * x_fraction).trunc(),
        y: (f64::from(size.height) * y_fraction).trunc(),
        width: 1.0,
        height: 1.0,
        weight: 1.0,
        origin: "alignment",
    }
}

/// §3.4: the weighted centre of the focal points, each coordinate floor-divided by the total
/// weight as Python's `//` on floats.
pub fn center_of_mass(points: &[FocalPoint]) -> (f64, f64) {
    let total_weight: f64 = points.iter().map(|p| p.weight).sum();
    let total_x: f64 = points.iter().map(|p| p.x * p.weight).sum();
    let total_y: f64 = points.iter().map(|p| p.y * p.weight).sum();
    if total_weight == 0.0 {
        // Thumbor divides by zero here (a 500); the image centre of the points is the
        // gentlest answer.
        return (0.0, 0.0);
    }
    (
        py_floor_div(total_x, total_weight),
        py_floor_div(total_y, total_weight),
    )
}

/// A crop as Thumbor computes it: integers that may, on degenerate sizes, be empty or
/// reach outside the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThumborCrop {
    pub left: i64,
    pub top: i64,
    pub right: i64,
    pub bottom: i64,
}

/// §3.4 `auto_crop`: the crop that gives `source` the target's aspect ratio around `center`,
/// or `None` when the ratios already agree to two decimals.
pub fn auto_crop_box(source: Size, target: TargetSize, center: (f64, f64)) -> Option<ThumborCrop> {
    let source_width = f64::from(source.width);
    let source_height = f64::from(source.height);
    let target_width_or_1 = if target.width == 0.0 {
        1.0
    } else {
        target.width
    };
    let target_height_or_1 = if target.height == 0.0 {
        1.0
    } else {
        target.height
    };
    if py_round_2(source_width / source_height)
        == py_round_2(target_width_or_1 / target_height_or_1)
    {
        return None;
    }

    let (crop_width, crop_height) = if target.width / source_width > target.height / source_height {
        let height = py_round(source_width * target.height / target_width_or_1);
        (source_width, height)
    } else {
        let width = py_round((target.width * source_height / target_height_or_1).ceil());
        (width, source_height)
    };

    let (focal_x, focal_y) = center;
    let left = py_round(
        (focal_x - crop_width / 2.0)
            .max(0.0)
            .min(source_width - crop_width),
    );
    let top = py_round(
        (focal_y - crop_height / 2.0)
            .max(0.0)
            .min(source_height - crop_height),
    );
    let left = left as i64;
    let top = top as i64;
    let right = (left + crop_width as i64).min(i64::from(source.width));
    let bottom = (top + crop_height as i64).min(i64::from(source.height));
    Some(ThumborCrop {
        left,
        top,
        right,
        bottom,
    })
}

/// What `fit_in_resize` decided (§3.5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitInOutcome {
    /// The resize Thumbor asks the engine for (`None`: plain fit-in never upscales), with its
    /// Python types: the side taken from the target is a float, the computed side an int.
    pub resize: Option<(PyNumber, PyNumber)>,
    /// The request sides afterwards (swapped by adaptive, widened to the resize by step 5):
    /// what `fill` and `upscale` read.
    pub request_width: Dimension,
    pub request_height: Dimension,
    /// The target after the adaptive swap.
    pub target: TargetSize,
}

/// §3.5 `fit_in_resize`, including the adaptive swap and the request-size adjustment.
pub fn fit_in_resize(
    source: Size,
    target: TargetSize,
    request_width: Dimension,
    request_height: Dimension,
    mode: FitIn,
) -> FitInOutcome {
    let source_width = f64::from(source.width);
    let source_height = f64::from(source.height);
    let (mut target, mut request_width, mut request_height) =
        (target, request_width, request_height);

    let orientations_differ = (source.width < source.height && target.width > target.height)
        || (source.width > source.height && target.width < target.height);
    if mode.adaptive && orientations_differ {
        std::mem::swap(&mut request_width, &mut request_height);
        target = TargetSize {
            width: target.height,
            height: target.width,
        };
    }

    let sign = if mode.full { -1.0 } else { 1.0 };
    if !mode.full && target.width >= source_width && target.height >= source_height {
        return FitInOutcome {
            resize: None,
            request_width,
            request_height,
            target,
        };
    }

    // `+ 1e-5` is Thumbor's way back to Python 2's half-up rounding of exact halves.
    let (resize_width, resize_height) =
        if source_width / target.width * sign >= source_height / target.height * sign {
            let height = py_round(source_height * target.width / source_width + 1e-5);
            (PyNumber::Float(target.width), PyNumber::Int(height as i64))
        } else {
            let width = py_round(source_width * target.height / source_height + 1e-5);
            (PyNumber::Int(width as i64), PyNumber::Float(target.height))
        };

    let requested_width = dimension_value(request_width, source.width);
    let requested_height = dimension_value(request_height, source.height);
    let widened = |requested: f64, resized: PyNumber| requested.max(resized.value()).trunc() as u32;
    FitInOutcome {
        resize: Some((resize_width, resize_height)),
        request_width: Dimension::Px(widened(requested_width, resize_width)),
        request_height: Dimension::Px(widened(requested_height, resize_height)),
        target,
    }
}

/// §3.1 step 5: a numeric request side over MAX_WIDTH/MAX_HEIGHT (when set) becomes the max.
pub fn clamp_request_dimension(dimension: Dimension, maximum: u32) -> Dimension {
    match dimension {
        Dimension::Px(px) if maximum > 0 && px > maximum => Dimension::Px(maximum),
        other => other,
    }
}

/// §3.1 step 8 `normalize()`: the load-time downscale for originals over MAX_WIDTH /
/// MAX_HEIGHT, on the stored (not yet oriented) size. `None` when Thumbor keeps the size,
/// including its quirk that equal overshoots on both axes mean no downscale.
pub fn normalize_size(stored: Size, max_width: u32, max_height: u32) -> Option<Size> {
    let width = i64::from(stored.width);
    let height = i64::from(stored.height);
    let (max_w, max_h) = (i64::from(max_width), i64::from(max_height));
    if width <= max_w && height <= max_h {
        return None;
    }
    let width_diff = width - max_w;
    let height_diff = height - max_h;
    // PIL truncates the proportional float with int(); at least one pixel is kept.
    if max_width > 0 && width_diff > height_diff {
        let new_height = proportional_height(f64::from(max_width), stored).trunc() as u32;
        return Some(Size::new(max_width, new_height.max(1)));
    }
    if max_height > 0 && height_diff > width_diff {
        let new_width = proportional_width(f64::from(max_height), stored).trunc() as u32;
        return Some(Size::new(new_width.max(1), max_height));
    }
    None
}

/// §3.1 step 10 `normalize_crops`: a manual crop written against the original is rescaled
/// (floor division) to the size `normalize()` produced. `normalized` is that size (stored
/// orientation, as Thumbor's engine still is at this point); the request sides are the ones
/// after MAX clamp and `no_upscale()`.
pub fn normalize_crop(
    crop: ManualCrop,
    original: Size,
    normalized: Size,
    request_width: Dimension,
    request_height: Dimension,
) -> ManualCrop {
    let mut actual_width = PyNumber::Int(i64::from(normalized.width));
    let mut actual_height = PyNumber::Int(i64::from(normalized.height));
    if !is_zero(request_width) {
        actual_height =
            PyNumber::Float(proportional_height(f64::from(normalized.width), normalized));
    } else if !is_zero(request_height) {
        actual_width =
            PyNumber::Float(proportional_width(f64::from(normalized.height), normalized));
    }
    if actual_width.value() == f64::from(original.width)
        && actual_height.value() == f64::from(original.height)
    {
        return crop;
    }
    let scale = |value: PyNumber, actual: PyNumber, original_side: u32| match (value, actual) {
        (PyNumber::Int(v), PyNumber::Int(a)) => {
            PyNumber::Int((v * a).div_euclid(i64::from(original_side)))
        }
        (v, a) => PyNumber::Float(py_floor_div(
            v.value() * a.value(),
            f64::from(original_side),
        )),
    };
    ManualCrop {
        left: scale(crop.left, actual_width, original.width),
        top: scale(crop.top, actual_height, original.height),
        right: scale(crop.right, actual_width, original.width),
        bottom: scale(crop.bottom, actual_height, original.height),
    }
}

/// The `upscale()` filter's new size (§3.7), `None` when it leaves the image alone.
pub fn upscale_size(image: Size, request: RequestSize) -> Option<Size> {
    if image.width >= request.width || image.height >= request.height {
        return None;
    }
    let (sw, sh) = (f64::from(image.width), f64::from(image.height));
    let (rw, rh) = (f64::from(request.width), f64::from(request.height));
    if sw / rw >= sh / rh {
        Some(Size::new(request.width, (sh * rw / sw).trunc() as u32))
    } else {
        Some(Size::new((sw * rh / sh).trunc() as u32, request.height))
    }
}

/// The `proportion(p)` filter's new size (§4.2), `None` when it leaves the image alone.
pub fn proportion_size(image: Size, proportion: f64) -> Option<Size> {
    if !(proportion > 0.0 && proportion <= 1.0) {
        return None;
    }
    let width = f64::from(image.width) * proportion;
    let height = f64::from(image.height) * proportion;
    if width < 1.0 || height < 1.0 {
        return None;
    }
    Some(Size::new(width.trunc() as u32, height.trunc() as u32))
}
