//! How far from the canvas the drawing's shapes reach, in pixels, read off the converted
//! drawing before a pixel is drawn.
//!
//! tiny-skia fills an antialiased shape in fixed point: it takes the rows of the shape's whole
//! bounds (not cut to the canvas) and shifts them left by two bits for its four sub-rows. A
//! shape reaching 2^29 pixels above or below the canvas overflows that `i32`: a debug build
//! fails an assertion, a release build indexes far past the canvas and panics (the fuzzer found
//! it with one stretched `<path>`; upstream it is linebender/tiny-skia#167). resvg passes every
//! shape on unchanged, so [`farthest_reach`] follows resvg's transforms down to every shape, in
//! the drawing and in each clip path, mask, pattern tile and filter image it uses, and the
//! drawing is refused when one reaches [`MAX_REACH`]. Its hairline stroker overflows `f32` on
//! control points far out (the fuzzer again), which the same bound keeps out, since it reads
//! every point of a path.

use resvg::tiny_skia::{Point, Transform};
use resvg::usvg;
use std::collections::HashSet;

/// The farthest any shape may reach from the canvas origin, in pixels: 2^26, an eighth of
/// where tiny-skia's rows overflow. The margin covers what this walk leaves out: resvg moves a
/// layer, a filter image or a tile by at most a few canvas sizes. No real drawing comes near
/// it: that is a shape 67 million pixels long.
pub(super) const MAX_REACH: f32 = (1u32 << 26) as f32;

/// The farthest any shape of `tree` reaches from the canvas origin when resvg draws it with
/// `transform`, in pixels (infinite where the arithmetic overflows `f32`). Each node is
/// visited once per distinct transform it is drawn under: the drawing's own nodes once, a clip
/// path, mask or pattern once per transform it is used under, which is no more than usvg's
/// conversion and resvg's drawing already cost (the reference walk bounds the copies).
pub(super) fn farthest_reach(tree: &usvg::Tree, transform: Transform) -> f32 {
    let mut walk = Walk {
        farthest: 0.0,
        walked: HashSet::new(),
    };
    walk.children(tree.root(), transform);
    walk.farthest
}

struct Walk {
    farthest: f32,
    /// Subroots already walked, by address and the bits of the transform they were walked
    /// under: a clip path shared by a thousand identical copies is walked once.
    walked: HashSet<(usize, [u32; 6])>,
}

impl Walk {
    /// The children of `group`, drawn with `transform` (the group's own transform is the
    /// caller's business, as in resvg).
    fn children(&mut self, group: &usvg::Group, transform: Transform) {
        for node in group.children() {
            match node {
                usvg::Node::Group(group) => self.group(group, transform),
                usvg::Node::Path(path) => self.path(path, transform),
                usvg::Node::Image(image) => {
                    let bounds = image.bounding_box();
                    self.reach(
                        [bounds.left(), bounds.top(), bounds.right(), bounds.bottom()],
                        transform,
                    );
                    if let usvg::ImageKind::SVG(tree) = image.kind() {
                        self.subroot(tree.root(), transform);
                    }
                }
                usvg::Node::Text(text) => self.children(text.flattened(), transform),
            }
        }
    }

    /// A group as resvg draws it: its children, then its filter images, clip path and mask,
    /// all under the group's transform.
    fn group(&mut self, group: &usvg::Group, transform: Transform) {
        let transform = transform.pre_concat(group.transform());
        self.children(group, transform);
        for filter in group.filters() {
            for primitive in filter.primitives() {
                if let usvg::filter::Kind::Image(image) = primitive.kind() {
                    // Drawn into the filter region at the layer's scale; the region's own
                    // offset is cut to a few canvas sizes.
                    let (sx, sy) = transform.get_scale();
                    self.subroot(image.root(), Transform::from_scale(sx, sy));
                }
            }
        }
        let mut clip = group.clip_path();
        while let Some(path) = clip {
            self.subroot(path.root(), transform.pre_concat(path.transform()));
            clip = path.clip_path();
        }
        let mut mask = group.mask();
        while let Some(m) = mask {
            self.subroot(m.root(), transform);
            mask = m.mask();
        }
    }

    /// A path's fill and stroke, and the tiles of its pattern paints: a tile is drawn at the
    /// scale the pattern is seen at, from the tile's own corner.
    fn path(&mut self, path: &usvg::Path, transform: Transform) {
        // The bounds of every point, control points included (tiny-skia computes with all of
        // them, and usvg's tight and stroke boxes are wrong when the numbers overflow), grown
        // by what a stroke can add: half its width, times the miter limit at a sharp join.
        let bounds = path.data().bounds();
        let outset = path.stroke().map_or(0.0, |stroke| {
            stroke.width().get() * stroke.miterlimit().get().max(2.0)
        });
        self.reach(
            [
                bounds.left() - outset,
                bounds.top() - outset,
                bounds.right() + outset,
                bounds.bottom() + outset,
            ],
            transform,
        );
        let paints = [
            path.fill().map(usvg::Fill::paint),
            path.stroke().map(usvg::Stroke::paint),
        ];
        for paint in paints.into_iter().flatten() {
            if let usvg::Paint::Pattern(pattern) = paint {
                let (sx, sy) = transform.pre_concat(pattern.transform()).get_scale();
                self.subroot(pattern.root(), Transform::from_scale(sx, sy));
            }
        }
    }

    fn subroot(&mut self, root: &usvg::Group, transform: Transform) {
        let Transform {
            sx,
            kx,
            ky,
            sy,
            tx,
            ty,
        } = transform;
        let key = (
            std::ptr::from_ref(root) as usize,
            [sx, kx, ky, sy, tx, ty].map(f32::to_bits),
        );
        if self.walked.insert(key) {
            self.children(root, transform);
        }
    }

    /// Notes how far the rectangle `[left, top, right, bottom]` reaches once `transform` maps
    /// it onto the canvas.
    fn reach(&mut self, [left, top, right, bottom]: [f32; 4], transform: Transform) {
        let corners = [(left, top), (right, top), (left, bottom), (right, bottom)];
        for (x, y) in corners {
            let mut point = Point::from_xy(x, y);
            transform.map_point(&mut point);
            let far = if point.x.is_nan() || point.y.is_nan() {
                f32::INFINITY
            } else {
                point.x.abs().max(point.y.abs())
            };
            self.farthest = self.farthest.max(far);
        }
    }
}
