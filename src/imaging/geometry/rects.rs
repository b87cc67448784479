//! Sizes and rectangles: whole-pixel sizes and crops, and the manual crop as Thumbor carries
//! it (Python numbers, clamped into the image by §3.2's rules).

use super::python_numbers::PyNumber;
use crate::url::CropBox;

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
    pub(super) fn clamped(left: i64, top: i64, right: i64, bottom: i64, bounds: Size) -> PixelRect {
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
    pub(super) fn offset_by(self, outer: PixelRect) -> PixelRect {
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
