//! The memory resvg takes beside the canvas while it draws, read off the converted drawing
//! before a pixel is drawn.
//!
//! resvg draws a group with opacity, a clip path, a mask, a filter or a blend mode into a layer
//! of its own (its bounding box on the canvas, cut to five times the canvas each way), and
//! holds the layers of every such group it is inside; a clip path or a mask takes another
//! pixmap the layer's size, a filter one per primitive plus two. A pattern is drawn into a tile
//! as large as its rectangle on the canvas, which resvg does not cut at all: a
//! `<pattern width="100000">` asks for gigabytes. [`peak_bytes`] adds these up along the
//! deepest chain, so the drawing can be refused before resvg allocates any of them.

use resvg::tiny_skia::{Rect, Transform};
use resvg::usvg;
use std::collections::HashMap;

/// Bytes per pixel of every layer, tile and mask.
const BYTES_PER_PIXEL: u64 = 4;

/// The most bytes resvg may hold at once while it draws `tree` with `transform` onto a canvas
/// of `width` x `height`, besides the canvas itself.
pub(super) fn peak_bytes(
    tree: &usvg::Tree,
    transform: Transform,
    (width, height): (u32, u32),
) -> u64 {
    let mut walk = Walk {
        transform,
        layer_bounds: layer_bounds(width, height),
        subroots: HashMap::new(),
    };
    walk.peak(tree.root())
}

/// resvg cuts a layer to the canvas grown by twice its size on every side.
fn layer_bounds(width: u32, height: u32) -> Option<Rect> {
    let (w, h) = (width as f32, height as f32);
    Rect::from_xywh(-2.0 * w, -2.0 * h, 5.0 * w, 5.0 * h)
}

struct Walk {
    transform: Transform,
    /// None only for an empty canvas, which nothing is drawn on.
    layer_bounds: Option<Rect>,
    /// The peak of each clip path, mask, pattern or filter image content already walked, by
    /// address: usvg shares one converted copy among all the elements that reference it.
    subroots: HashMap<usize, u64>,
}

impl Walk {
    /// The most bytes held at once while the children of `group` are drawn.
    fn peak(&mut self, group: &usvg::Group) -> u64 {
        let mut worst = 0u64;
        for node in group.children() {
            let own = match node {
                usvg::Node::Group(group) if group.should_isolate() => self.layer_bytes(group),
                usvg::Node::Path(path) => self.pattern_tile_bytes(path),
                _ => 0,
            };
            let mut inner = 0u64;
            if let usvg::Node::Group(group) = node {
                inner = self.peak(group);
            }
            node.subroots(|subroot| inner = inner.max(self.subroot_peak(subroot)));
            worst = worst.max(own.saturating_add(inner));
        }
        worst
    }

    fn subroot_peak(&mut self, subroot: &usvg::Group) -> u64 {
        let key = std::ptr::from_ref(subroot) as usize;
        if let Some(&peak) = self.subroots.get(&key) {
            return peak;
        }
        let peak = self.peak(subroot);
        self.subroots.insert(key, peak);
        peak
    }

    /// The pixels of `bounds` (in the drawing's units) on the canvas, cut as resvg cuts a layer.
    fn layer_pixels(&self, bounds: Rect) -> u64 {
        let Some(on_canvas) = bounds.transform(self.transform) else {
            return 0;
        };
        let Some(cut) = self
            .layer_bounds
            .and_then(|bounds| on_canvas.intersect(&bounds))
        else {
            return 0;
        };
        let side = |v: f32| f64::from(v).ceil().max(1.0);
        (side(cut.width()) * side(cut.height())) as u64
    }

    /// A group's layer, and the pixmaps of the same size its clip paths, masks and filter
    /// primitives take.
    fn layer_bytes(&self, group: &usvg::Group) -> u64 {
        let layer = self
            .layer_pixels(group.abs_layer_bounding_box().to_rect())
            .saturating_mul(BYTES_PER_PIXEL);
        let mut pixmaps = 1u64;
        let mut clip = group.clip_path();
        while let Some(path) = clip {
            pixmaps += 1;
            clip = path.clip_path();
        }
        let mut mask = group.mask();
        while let Some(m) = mask {
            pixmaps += 1;
            mask = m.mask();
        }
        for filter in group.filters() {
            pixmaps = pixmaps.saturating_add(filter.primitives().len() as u64 + 2);
        }
        layer.saturating_mul(pixmaps)
    }

    /// The tiles of a path's pattern fill and stroke: the pattern's rectangle at the scale it
    /// is drawn, uncut.
    fn pattern_tile_bytes(&self, path: &usvg::Path) -> u64 {
        let paints = [
            path.fill().map(usvg::Fill::paint),
            path.stroke().map(usvg::Stroke::paint),
        ];
        paints
            .into_iter()
            .flatten()
            .filter_map(|paint| match paint {
                usvg::Paint::Pattern(pattern) => Some(pattern),
                _ => None,
            })
            .map(|pattern| {
                let (sx, sy) = self
                    .transform
                    .pre_concat(path.abs_transform())
                    .pre_concat(pattern.transform())
                    .get_scale();
                let rect = pattern.rect();
                let side = |length: f32, scale: f32| f64::from(length * scale).round().max(0.0);
                let pixels = side(rect.width(), sx) * side(rect.height(), sy);
                (pixels as u64).saturating_mul(BYTES_PER_PIXEL)
            })
            .fold(0, u64::saturating_add)
    }
}
