//! What the request becomes before the transformer runs (spec §3.1 steps 5–10), in Thumbor's
//! order: the request clamped to MAX_WIDTH/MAX_HEIGHT, the pre-load filters, `normalize()`,
//! `no_upscale()` and the other after-load filters, and `normalize_crops`; plus the operations
//! meta records before the transformer's own. The `prepare` step makes it; `plan` and the
//! memory estimate read it.

use super::RenderJob;
use crate::imaging::decode::Probe;
use crate::imaging::filters::{FilterList, PreLoadEffects};
use crate::imaging::geometry::{self, ManualCrop, MetaOperation, Size};
use crate::imaging::transform::oriented_size;
use crate::url::Dimension;

/// The request as the transformer sees it, and what is known of the original before decoding.
#[derive(Debug, Clone)]
pub(super) struct GeometrySetup {
    /// The original's size as stored.
    pub stored: Size,
    /// `normalize()`'s downscale of the stored size, if any (stored orientation).
    pub normalized: Option<Size>,
    /// The EXIF orientation pictor applies (1 unless RESPECT_ORIENTATION).
    pub orientation: u8,
    pub width: Dimension,
    pub height: Dimension,
    pub manual_crop: Option<ManualCrop>,
    pub pre_load: PreLoadEffects,
    /// Meta operations recorded before the transformer's own (orientation flips, trim crop).
    pub leading_operations: Vec<MetaOperation>,
}

impl GeometrySetup {
    /// The stored-orientation size the plan's coordinates live in, before trim.
    pub fn stored_working_size(&self) -> Size {
        self.normalized.unwrap_or(self.stored)
    }

    /// The size the transformer starts from when there is no trim.
    pub fn working_size(&self) -> Size {
        oriented_size(self.stored_working_size(), self.orientation)
    }
}

/// The set-up of `job` for an original with `header`.
pub(super) fn geometry_setup(header: &Probe, job: &RenderJob<'_>) -> GeometrySetup {
    let settings = job.settings;
    let request = job.request;
    let width = geometry::clamp_request_dimension(request.width, settings.max_width);
    let height = geometry::clamp_request_dimension(request.height, settings.max_height);
    let pre_load = job.filters().pre_load();

    let stored = Size::new(header.width, header.height);
    let normalized = geometry::normalize_size(stored, settings.max_width, settings.max_height);
    let orientation = if settings.respect_orientation {
        header.orientation
    } else {
        1
    };
    let engine_size = normalized.unwrap_or(stored);
    let (width, height) = after_load_filters(
        job.filters(),
        width,
        height,
        oriented_size(engine_size, orientation),
    );
    let manual_crop = request
        .crop
        .map(ManualCrop::from_url)
        .map(|crop| match normalized {
            Some(size) => geometry::normalize_crop(crop, stored, size, width, height),
            None => crop,
        });

    let mut leading_operations = Vec::new();
    // Thumbor's meta engine records (and does not apply) the flips of reorientate().
    if matches!(orientation, 2 | 7) {
        leading_operations.push(MetaOperation::FlipHorizontally);
    }
    if matches!(orientation, 4 | 5) {
        leading_operations.push(MetaOperation::FlipVertically);
    }
    GeometrySetup {
        stored,
        normalized,
        orientation,
        width,
        height,
        manual_crop,
        pre_load,
        leading_operations,
    }
}

/// `no_upscale()` and any other after-load filter, on numeric sides (`orig` stays `orig`).
fn after_load_filters(
    filters: &FilterList,
    width: Dimension,
    height: Dimension,
    image_size: Size,
) -> (Dimension, Dimension) {
    let numeric = |dimension: Dimension, side: u32| match dimension {
        Dimension::Px(px) => px,
        Dimension::Orig => side,
    };
    let mut new_width = numeric(width, image_size.width);
    let mut new_height = numeric(height, image_size.height);
    filters.after_load(
        &mut new_width,
        &mut new_height,
        (image_size.width, image_size.height),
    );
    let keep_orig = |dimension: Dimension, px: u32| match dimension {
        Dimension::Orig => Dimension::Orig,
        Dimension::Px(_) => Dimension::Px(px),
    };
    (keep_orig(width, new_width), keep_orig(height, new_height))
}
