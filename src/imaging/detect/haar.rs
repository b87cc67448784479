//! OpenCV's Haar cascade detector (`CascadeClassifier::detectMultiScale` with a "new"-format
//! HAAR cascade), reimplemented to give OpenCV's boxes: Thumbor's profile and glasses
//! detectors run OpenCV's `haarcascade_profileface.xml` and `haarcascade_eye_tree_eyeglasses.xml`
//! this way, and so does pictor, with the same cascades (`models/`, converted to a token text
//! by `models/convert_haar_cascade.py`).
//!
//! What OpenCV does, and this module with it:
//! - scales: window sizes `round(window * 1.2^k)` from the smallest at least `min_size` up to
//!   the image; for each, the image is scaled down by the factor (`resize`, OpenCV's bilinear),
//!   never the features;
//! - windows every 2 pixels below a factor of 2 and every pixel from 2 up, skipping the next
//!   one when a window fails the first stage; each window's features are divided by its
//!   standard deviation (over the window less a 1-pixel border), and nearly flat windows
//!   are rejected outright;
//! - stages of boosted trees (stumps or deeper) over HAAR features of 2-3 weighted rectangles,
//!   upright (`integral`'s sums) or turned 45° (its tilted sums), in OpenCV's float and double
//!   arithmetic, so the comparisons with thresholds fall the same way;
//! - the accepted windows are grouped (`group`), then clipped to the image.

mod group;
mod integral;
mod model;
mod resize;

pub use model::CascadeError;

use integral::Integrals;
use model::Model;
use std::sync::LazyLock;

/// A box in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
}

/// OpenCV's `haarcascade_profileface.xml` (Intel License Agreement; `models/README.md`):
/// Thumbor's `PROFILE_DETECTOR_CASCADE_FILE`.
static PROFILE_FACE_TEXT: &str = include_str!("../../../models/haarcascade_profileface.txt");

/// OpenCV's `haarcascade_eye_tree_eyeglasses.xml` (Intel License Agreement;
/// `models/README.md`): Thumbor's `GLASSES_DETECTOR_CASCADE_FILE`.
static EYEGLASSES_TEXT: &str = include_str!("../../../models/haarcascade_eye_tree_eyeglasses.txt");

static PROFILE_FACE: LazyLock<Option<Cascade>> =
    LazyLock::new(|| Cascade::parse(PROFILE_FACE_TEXT).ok());
static EYEGLASSES: LazyLock<Option<Cascade>> =
    LazyLock::new(|| Cascade::parse(EYEGLASSES_TEXT).ok());

/// The profile-face cascade, read once per process (`None` if it did not read; its tests
/// make sure it does).
pub fn profile_face() -> Option<&'static Cascade> {
    PROFILE_FACE.as_ref()
}

/// The eyes-behind-glasses cascade, read once per process.
pub fn eyeglasses() -> Option<&'static Cascade> {
    EYEGLASSES.as_ref()
}

/// Thumbor's detection parameters: `detectMultiScale(gray, 1.2, 4, minSize=...)`.
pub const THUMBOR_SCALE_FACTOR: f64 = 1.2;
pub const THUMBOR_MIN_NEIGHBORS: usize = 4;

/// OpenCV's `GROUP_EPS`.
const GROUP_EPS: f64 = 0.2;

/// The offsets of a feature's rectangle corners from a window's top-left entry of the table
/// it reads, and their weights.
#[derive(Debug, Clone)]
struct PlacedFeature {
    tilted: bool,
    offsets: [[usize; 4]; 3],
    weights: [f32; 3],
}

/// A cascade ready to evaluate.
#[derive(Debug, Clone)]
pub struct Cascade {
    model: Model,
    has_tilted: bool,
}

/// The window at one position of one scale, with the tables it reads.
struct Window<'a> {
    tables: &'a Integrals,
    base: usize,
    features: &'a [PlacedFeature],
    norm_factor: f32,
}

impl Window<'_> {
    /// A feature's value as OpenCV computes it: float weights times integer sums, summed in
    /// float, times the window's normalisation factor.
    fn feature(&self, index: usize) -> f32 {
        let feature = &self.features[index];
        let table: &[i32] = if feature.tilted {
            &self.tables.tilted
        } else {
            &self.tables.sum
        };
        let rect_sum = |corners: &[usize; 4]| -> f32 {
            let at = |offset: usize| table[self.base + offset];
            at(corners[0])
                .wrapping_sub(at(corners[1]))
                .wrapping_sub(at(corners[2]))
                .wrapping_add(at(corners[3])) as f32
        };
        let [w0, w1, w2] = feature.weights;
        let mut value = w0 * rect_sum(&feature.offsets[0]) + w1 * rect_sum(&feature.offsets[1]);
        if w2 != 0.0 {
            value += w2 * rect_sum(&feature.offsets[2]);
        }
        value * self.norm_factor
    }
}

/// What `run_at` says of a window.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Accepted,
    /// Rejected by the first stage: OpenCV then also skips the next position.
    RejectedAtFirstStage,
    Rejected,
}

impl Cascade {
    /// Reads a cascade from the token text of `models/convert_haar_cascade.py`.
    pub fn parse(text: &str) -> Result<Cascade, CascadeError> {
        let model = model::parse(text)?;
        let has_tilted = model.features.iter().any(|feature| feature.tilted);
        Ok(Cascade { model, has_tilted })
    }

    /// The features placed in tables of `stride` entries a row.
    fn place_features(&self, stride: usize) -> Vec<PlacedFeature> {
        self.model
            .features
            .iter()
            .map(|feature| {
                let mut offsets = [[0usize; 4]; 3];
                let mut weights = [0f32; 3];
                for (k, rect) in feature.rects.iter().enumerate() {
                    let (x, y) = (rect.x as usize, rect.y as usize);
                    let (w, h) = (rect.width as usize, rect.height as usize);
                    let at = |column: usize, row: usize| row * stride + column;
                    // The model reader made sure no corner leaves the window.
                    offsets[k] = if feature.tilted {
                        [
                            at(x, y),
                            at(x - h.min(x), y + h),
                            at(x + w, y + w),
                            at(x + w - h.min(x + w), y + w + h),
                        ]
                    } else {
                        [at(x, y), at(x + w, y), at(x, y + h), at(x + w, y + h)]
                    };
                    weights[k] = rect.weight;
                }
                PlacedFeature {
                    tilted: feature.tilted,
                    offsets,
                    weights,
                }
            })
            .collect()
    }

    /// OpenCV's `runAt`: the window's normalisation, then the stages.
    fn run_at(
        &self,
        tables: &Integrals,
        base: usize,
        features: &[PlacedFeature],
        norm: &[usize; 4],
    ) -> Verdict {
        let (window_w, window_h) = (self.model.window_width, self.model.window_height);
        let sum = tables.sum[base + norm[0]]
            .wrapping_sub(tables.sum[base + norm[1]])
            .wrapping_sub(tables.sum[base + norm[2]])
            .wrapping_add(tables.sum[base + norm[3]]);
        let squares = tables.squares[base + norm[0]]
            .wrapping_sub(tables.squares[base + norm[1]])
            .wrapping_sub(tables.squares[base + norm[2]])
            .wrapping_add(tables.squares[base + norm[3]]);
        let area = f64::from((window_w - 2) * (window_h - 2));
        let spread = area * f64::from(squares) - f64::from(sum) * f64::from(sum);
        if spread <= 0.0 {
            return Verdict::Rejected;
        }
        let norm_factor = (1.0 / spread.sqrt()) as f32;
        // A nearly flat window is no object.
        if area * f64::from(norm_factor) >= 0.1 {
            return Verdict::Rejected;
        }
        let window = Window {
            tables,
            base,
            features,
            norm_factor,
        };
        let model = &self.model;
        for (index, stage) in model.stages.iter().enumerate() {
            let mut total = 0f64;
            for tree in &model.trees[stage.first..stage.first + stage.count] {
                let nodes = &model.nodes[tree.first_node..tree.first_node + tree.node_count];
                let mut at = 0usize;
                let leaf = loop {
                    let node = &nodes[at];
                    let value = window.feature(node.feature);
                    let next = if value < node.threshold {
                        node.left
                    } else {
                        node.right
                    };
                    // Children only point forward (the reader checked), so this ends.
                    if next > 0 {
                        at = next as usize;
                    } else {
                        break next.unsigned_abs() as usize;
                    }
                };
                total += f64::from(model.leaves[tree.first_leaf + leaf]);
            }
            if total < f64::from(stage.threshold) {
                return if index == 0 {
                    Verdict::RejectedAtFirstStage
                } else {
                    Verdict::Rejected
                };
            }
        }
        Verdict::Accepted
    }

    /// The objects in an 8-bit gray image (`gray.len() == width * height`), as OpenCV's
    /// `detectMultiScale(gray, scale_factor, min_neighbors, minSize=(min_size, min_size))`
    /// finds them (sorted by position; OpenCV's order depends on its threads).
    pub fn detect_multi_scale(
        &self,
        gray: &[u8],
        width: usize,
        height: usize,
        scale_factor: f64,
        min_neighbors: usize,
        min_size: usize,
    ) -> Vec<Rect> {
        if gray.len() != width * height
            || scale_factor.partial_cmp(&1.0) != Some(std::cmp::Ordering::Greater)
        {
            return Vec::new();
        }
        let (window_w, window_h) = (
            self.model.window_width as usize,
            self.model.window_height as usize,
        );
        let round = |value: f64| value.round_ties_even();
        let mut scales: Vec<f32> = Vec::new();
        let mut factor = 1.0f64;
        // Bounded: the window grows by the factor each turn until it outgrows the image.
        while scales.len() < 1024 {
            let (w, h) = (
                round(window_w as f64 * factor),
                round(window_h as f64 * factor),
            );
            if w > width as f64 || h > height as f64 {
                break;
            }
            if w >= min_size as f64 && h >= min_size as f64 {
                scales.push(factor as f32);
            }
            factor *= scale_factor;
        }
        let Some(&first) = scales.first() else {
            return Vec::new();
        };
        let scaled_size = |scale: f32| {
            (
                (width as f32 / scale).round_ties_even() as usize,
                (height as f32 / scale).round_ties_even() as usize,
            )
        };
        // One row length for every scale's tables (the first scale is the largest), so the
        // features are placed once.
        let stride = scaled_size(first).0 + 1;
        let features = self.place_features(stride);
        let norm = {
            let (x, y, w, h) = (1, 1, window_w - 2, window_h - 2);
            let at = |column: usize, row: usize| row * stride + column;
            [at(x, y), at(x + w, y), at(x, y + h), at(x + w, y + h)]
        };
        // OpenCV splits the rows of every scale into as many stripes as the first scale has
        // 32-column blocks, and its stripe height can leave the last rows of a scale out.
        let working = |size: usize, window: usize| (size + 1).saturating_sub(window);
        let stripes = working(scaled_size(first).0, window_w).div_ceil(32);
        let mut candidates = Vec::new();
        for &scale in &scales {
            let (scaled_w, scaled_h) = scaled_size(scale);
            if scaled_w == 0 || scaled_h == 0 || scaled_w + 1 > stride {
                continue;
            }
            let scaled = resize::resize_linear(gray, width, height, scaled_w, scaled_h);
            let tables = Integrals::new(&scaled, scaled_w, scaled_h, stride, self.has_tilted);
            let step = if scale >= 2.0 { 1 } else { 2 };
            let (span_w, span_h) = (working(scaled_w, window_w), working(scaled_h, window_h));
            let stripe = ((span_h / step).div_ceil(stripes.max(1))).max(1) * step;
            let last_row = span_h.min(stripes * stripe);
            let box_w = (window_w as f32 * scale).round_ties_even() as i32;
            let box_h = (window_h as f32 * scale).round_ties_even() as i32;
            for y in (0..last_row).step_by(step) {
                let mut x = 0;
                while x < span_w {
                    match self.run_at(&tables, y * stride + x, &features, &norm) {
                        Verdict::Accepted => candidates.push(Rect {
                            x: (x as f32 * scale).round_ties_even() as i32,
                            y: (y as f32 * scale).round_ties_even() as i32,
                            width: box_w,
                            height: box_h,
                        }),
                        Verdict::RejectedAtFirstStage => x += step,
                        Verdict::Rejected => {}
                    }
                    x += step;
                }
            }
        }
        let mut found: Vec<Rect> = group::group_rectangles(&candidates, min_neighbors, GROUP_EPS)
            .into_iter()
            .filter_map(|rect| clip(rect, width as i32, height as i32))
            .collect();
        found.sort();
        found
    }
}

/// `rect` cut to the image; `None` when nothing of it is left.
fn clip(rect: Rect, width: i32, height: i32) -> Option<Rect> {
    let (x0, y0) = (rect.x.max(0), rect.y.max(0));
    let x1 = (rect.x.saturating_add(rect.width)).min(width);
    let y1 = (rect.y.saturating_add(rect.height)).min(height);
    (x1 > x0 && y1 > y0).then_some(Rect {
        x: x0,
        y: y0,
        width: x1 - x0,
        height: y1 - y0,
    })
}

#[cfg(test)]
mod tests;
