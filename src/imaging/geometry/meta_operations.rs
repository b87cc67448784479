//! The operations Thumbor's meta (JSON) engine records for a render, and the `target` size it
//! reports from them.

use super::python_numbers::PyNumber;
use super::rects::Size;
use super::thumbor_sizes::ThumborCrop;

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
    pub(super) fn crop(crop: ThumborCrop) -> MetaOperation {
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
