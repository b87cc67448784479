//! The one mapping from the plan's coordinates to pixels. The plan is made in the oriented
//! picture after `normalize()` (or after trim); the pixels it reads are the original's, in
//! stored orientation, maybe normalized away, maybe decoded at 1/2, 1/4 or 1/8. A
//! [`PlanToPixels`] knows the plan's space, the orientation still between the two and the scale
//! per axis; the shrink-on-load choice, the planes decoder's chroma choice, and both roads' crop
//! + resize all read their region through it.

use super::geometry_setup::GeometrySetup;
use crate::imaging::decode::Probe;
use crate::imaging::geometry::{PixelRect, Size};
use crate::imaging::transform::{self, oriented_size, Region};
use crate::imaging::ImageFormat;

/// How plan coordinates reach one set of pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct PlanToPixels {
    /// The size of the plan's coordinate space, in stored orientation.
    space: Size,
    /// The EXIF orientation between the pixels (stored) and the plan's picture: still to apply,
    /// after the crop + resize, on the small output.
    orientation: u8,
    /// Plan units (stored orientation) to pixels, per axis.
    scale: (f64, f64),
}

impl PlanToPixels {
    /// The original as stored, at full size: for the shrink-on-load choice, which is made
    /// before anything is decoded.
    pub fn original(setup: &GeometrySetup) -> PlanToPixels {
        let space = setup.stored_working_size();
        PlanToPixels {
            space,
            orientation: setup.orientation,
            scale: (
                f64::from(setup.stored.width) / f64::from(space.width),
                f64::from(setup.stored.height) / f64::from(space.height),
            ),
        }
    }

    /// The original as it will decode at `1/shrink` on both axes, before decoding it: for the
    /// planes decoder's choice of halving 4:4:4 chroma (only the decode itself tells the
    /// decoded size exactly).
    pub fn expected_decode(header: &Probe, setup: &GeometrySetup, shrink: u32) -> PlanToPixels {
        let space = setup.stored_working_size();
        let to_decoded = |original: u32, space: u32| {
            f64::from(original) / f64::from(space.max(1)) / f64::from(shrink)
        };
        PlanToPixels {
            space,
            orientation: setup.orientation,
            scale: (
                to_decoded(header.width, space.width),
                to_decoded(header.height, space.height),
            ),
        }
    }

    /// The original decoded at `decoded` size with `shrink`.
    pub fn decoded(
        header: &Probe,
        setup: &GeometrySetup,
        shrink: u32,
        decoded: Size,
    ) -> PlanToPixels {
        let space = setup.stored_working_size();
        let decode_scale = |decoded: u32, stored: u32| {
            if decoded == stored {
                1.0
            } else if header.format == ImageFormat::Jpeg && decoded == stored.div_ceil(shrink) {
                // libjpeg's scaled pixel i covers original pixels [i*s, (i+1)*s); libwebp's
                // rescaler spreads the whole width over the decoded one (the ratio below).
                1.0 / f64::from(shrink)
            } else {
                f64::from(decoded) / f64::from(stored)
            }
        };
        PlanToPixels {
            space,
            orientation: setup.orientation,
            scale: (
                f64::from(header.width) / f64::from(space.width)
                    * decode_scale(decoded.width, header.width),
                f64::from(header.height) / f64::from(space.height)
                    * decode_scale(decoded.height, header.height),
            ),
        }
    }

    /// Pixels that are the plan's space itself (the trimmed, oriented image).
    pub fn same_pixels(size: Size) -> PlanToPixels {
        PlanToPixels {
            space: size,
            orientation: 1,
            scale: (1.0, 1.0),
        }
    }

    /// The plan's picture size (oriented): what the plan is made on.
    pub fn oriented_space(&self) -> Size {
        oriented_size(self.space, self.orientation)
    }

    /// The orientation still to apply to the pixels after the crop + resize.
    pub fn pending_orientation(&self) -> u8 {
        self.orientation
    }

    /// The pixel region the plan's `crop` (the whole picture when `None`) reads.
    pub fn region(&self, crop: Option<PixelRect>) -> Region {
        let crop = crop.unwrap_or(PixelRect::full(self.oriented_space()));
        transform::unorient_region(
            Region::from_rect(crop),
            self.orientation,
            (f64::from(self.space.width), f64::from(self.space.height)),
        )
        .scaled(self.scale.0, self.scale.1)
    }

    /// An output of `oriented` size in the pixels' (stored) orientation.
    pub fn stored_size(&self, oriented: Size) -> Size {
        oriented_size(oriented, self.orientation)
    }
}
