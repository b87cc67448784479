//! Thumbor's size arithmetic, pure and exact: manual crop clamping, target dimensions,
//! focal points from alignment, auto-crop, fit-in variants — with Python's rounding rules
//! (half-to-even `round`, floor division, `int()` truncation) so output sizes match Thumbor.
//! [`plan`] strings them together in Thumbor's order (spec §3.1 step 12d) into one [`Plan`].

use super::filters::{FocalPoint, RequestSize};
use crate::url::{CropBox, Dimension, FitIn, HAlign, VAlign};

/// Python's `round(x)` on a float: half to even.
fn py_round(x: f64) -> f64 {
    x.round_ties_even()
}

/// Python's `round(x, 2)`: the exact binary value rounded to 2 decimals, ties to even.
/// Rust's fixed-precision formatting is exact in the same way, so go through it.
fn py_round_2(x: f64) -> f64 {
    format!("{x:.2}").parse().unwrap_or(x)
}

/// Python's float floor division `a // b` (computed through `fmod` as CPython does, which
/// differs from `floor(a / b)` when the quotient rounds up to an integer).
fn py_floor_div(a: f64, b: f64) -> f64 {
    let modulo = a % b;
    let mut div = (a - modulo) / b;
    if modulo != 0.0 && ((b < 0.0) != (modulo < 0.0)) {
        div -= 1.0;
    }
    if div == 0.0 {
        return 0.0_f64.copysign(a / b);
    }
    let floor = div.floor();
    if div - floor > 0.5 {
        floor + 1.0
    } else {
        floor
    }
}

/// A number as Thumbor's Python code holds it. Meta JSON prints `100` and `100.0` differently,
/// so the distinction is kept wherever a value ends up in the meta operations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PyNumber {
    Int(i64),
    Float(f64),
}

impl PyNumber {
    pub fn value(self) -> f64 {
        match self {
            PyNumber::Int(i) => i as f64,
            PyNumber::Float(f) => f,
        }
    }

    /// Python's `int(x)`: truncation toward zero.
    pub fn trunc(self) -> i64 {
        match self {
            PyNumber::Int(i) => i,
            PyNumber::Float(f) => f.trunc() as i64,
        }
    }

    /// `self - other` with Python's int/float promotion.
    pub fn minus(self, other: PyNumber) -> PyNumber {
        match (self, other) {
            (PyNumber::Int(a), PyNumber::Int(b)) => PyNumber::Int(a - b),
            (a, b) => PyNumber::Float(a.value() - b.value()),
        }
    }

    /// Python's `max(self, other)`: the first argument unless the second is strictly greater.
    fn py_max(self, other: PyNumber) -> PyNumber {
        if other.value() > self.value() {
            other
        } else {
            self
        }
    }

    /// Python's `min(self, other)`: the first argument unless the second is strictly smaller.
    fn py_min(self, other: PyNumber) -> PyNumber {
        if other.value() < self.value() {
            other
        } else {
            self
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Size {
    pub fn new(width: u32, height: u32) -> Size {
        Size { width, height }
    }

    pub fn transposed(self) -> Size {
        Size::new(self.height, self.width)
    }

    pub fn pixels(self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// A rectangle of whole pixels inside an image, right/bottom exclusive, never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelRect {
    pub left: u32,
    pub top: u32,
    pub right: u32,
    pub bottom: u32,
}

impl PixelRect {
    pub fn full(size: Size) -> PixelRect {
        PixelRect {
            left: 0,
            top: 0,
            right: size.width,
            bottom: size.height,
        }
    }

    pub fn size(self) -> Size {
        Size::new(self.right - self.left, self.bottom - self.top)
    }

    /// The largest non-empty rectangle inside `bounds` (a non-empty size) that is closest to
    /// the Thumbor values given (which may be empty, negative or outside the image on
    /// extreme aspect ratios, where Thumbor itself would produce a 0-pixel image).
    fn clamped(left: i64, top: i64, right: i64, bottom: i64, bounds: Size) -> PixelRect {
        let (left, right) = clamp_span(left, right, bounds.width);
        let (top, bottom) = clamp_span(top, bottom, bounds.height);
        PixelRect {
            left,
            top,
            right,
            bottom,
        }
    }

    /// This rectangle, given in the coordinates of the rectangle `inner_of`, in the outer ones.
    fn offset_by(self, outer: PixelRect) -> PixelRect {
        PixelRect {
            left: outer.left + self.left,
            top: outer.top + self.top,
            right: outer.left + self.right,
            bottom: outer.top + self.bottom,
        }
    }
}

/// `[start, end)` clamped into `[0, extent)` and at least one pixel wide.
fn clamp_span(start: i64, end: i64, extent: u32) -> (u32, u32) {
    let extent = i64::from(extent.max(1));
    let start = start.clamp(0, extent - 1);
    let end = end.clamp(start + 1, extent);
    (start as u32, end as u32)
}

/// A manual crop as Thumbor holds it while the request travels: URL integers, possibly
/// rescaled by `normalize_crops` (floats) and shifted by trim (possibly negative).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ManualCrop {
    pub left: PyNumber,
    pub top: PyNumber,
    pub right: PyNumber,
    pub bottom: PyNumber,
}

impl ManualCrop {
    pub fn from_url(crop: CropBox) -> ManualCrop {
        ManualCrop {
            left: PyNumber::Int(i64::from(crop.left)),
            top: PyNumber::Int(i64::from(crop.top)),
            right: PyNumber::Int(i64::from(crop.right)),
            bottom: PyNumber::Int(i64::from(crop.bottom)),
        }
    }

    /// Trim cut `(dx, dy)` off the top-left: crop coordinates refer to the trimmed image
    /// (spec §3.6).
    pub fn shifted(self, dx: u32, dy: u32) -> ManualCrop {
        let dx = PyNumber::Int(i64::from(dx));
        let dy = PyNumber::Int(i64::from(dy));
        ManualCrop {
            left: self.left.minus(dx),
            top: self.top.minus(dy),
            right: self.right.minus(dx),
            bottom: self.bottom.minus(dy),
        }
    }
}

/// §3.2: clamps the manual crop into the image. `None` when it is empty after clamping:
/// Thumbor then silently drops it.
pub fn clamp_manual_crop(crop: ManualCrop, size: Size) -> Option<ManualCrop> {
    let limit = |value: PyNumber, maximum: u32| {
        value
            .py_max(PyNumber::Int(0))
            .py_min(PyNumber::Int(i64::from(maximum)))
    };
    let clamped = ManualCrop {
        left: limit(crop.left, size.width),
        top: limit(crop.top, size.height),
        right: limit(crop.right, size.width),
        bottom: limit(crop.bottom, size.height),
    };
    if clamped.left.value() >= clamped.right.value()
        || clamped.top.value() >= clamped.bottom.value()
    {
        return None;
    }
    Some(clamped)
}

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

/// One operation as Thumbor's meta (JSON) engine records it, with Thumbor's values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MetaOperation {
    Crop {
        left: PyNumber,
        top: PyNumber,
        right: PyNumber,
        bottom: PyNumber,
    },
    Resize {
        width: PyNumber,
        height: PyNumber,
    },
    FlipHorizontally,
    FlipVertically,
    AutoPngToJpgConversion,
}

impl MetaOperation {
    fn crop(crop: ThumborCrop) -> MetaOperation {
        MetaOperation::Crop {
            left: PyNumber::Int(crop.left),
            top: PyNumber::Int(crop.top),
            right: PyNumber::Int(crop.right),
            bottom: PyNumber::Int(crop.bottom),
        }
    }
}

/// The size meta reports as `target`: the last crop's or resize's size, else `size`.
pub fn meta_target(operations: &[MetaOperation], size: Size) -> (PyNumber, PyNumber) {
    let mut target = (
        PyNumber::Int(i64::from(size.width)),
        PyNumber::Int(i64::from(size.height)),
    );
    for operation in operations {
        match *operation {
            MetaOperation::Crop {
                left,
                top,
                right,
                bottom,
            } => target = (right.minus(left), bottom.minus(top)),
            MetaOperation::Resize { width, height } => target = (width, height),
            _ => {}
        }
    }
    target
}

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
#[path = "geometry_tests.rs"]
mod tests;
