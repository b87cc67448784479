//! OpenCV's `groupRectangles`: the windows the cascade accepts are clustered (two are alike
//! when each edge moves less than `eps` of their mean smaller side), each cluster with more
//! than `min_neighbors` members becomes its average box, and a box inside a larger one that
//! has more members (or when it has fewer than 3) is dropped.

use super::Rect;

/// Whether OpenCV's `SimilarRects` predicate holds for `a` and `b`.
fn similar(a: &Rect, b: &Rect, eps: f64) -> bool {
    let delta = eps * (f64::from(a.width.min(b.width)) + f64::from(a.height.min(b.height))) * 0.5;
    let close = |p: i32, q: i32| f64::from((p - q).abs()) <= delta;
    close(a.x, b.x)
        && close(a.y, b.y)
        && close(a.x + a.width, b.x + b.width)
        && close(a.y + a.height, b.y + b.height)
}

/// The connected components of the similarity relation, numbered in the order of their
/// first member (as `cv::partition` numbers them).
fn partition(rects: &[Rect], eps: f64) -> (Vec<usize>, usize) {
    let mut parent: Vec<usize> = (0..rects.len()).collect();
    fn root(parent: &mut [usize], mut at: usize) -> usize {
        while parent[at] != at {
            parent[at] = parent[parent[at]];
            at = parent[at];
        }
        at
    }
    for i in 0..rects.len() {
        for j in i + 1..rects.len() {
            if similar(&rects[i], &rects[j], eps) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    let mut label_of_root = vec![usize::MAX; rects.len()];
    let mut labels = Vec::with_capacity(rects.len());
    let mut count = 0;
    for i in 0..rects.len() {
        let r = root(&mut parent, i);
        if label_of_root[r] == usize::MAX {
            label_of_root[r] = count;
            count += 1;
        }
        labels.push(label_of_root[r]);
    }
    (labels, count)
}

/// OpenCV's `saturate_cast<int>` of a float: rounded half to even.
fn round_to_int(value: f32) -> i32 {
    value.round_ties_even() as i32
}

/// The grouped boxes of `rects` (OpenCV's `groupRectangles(rects, min_neighbors, eps)`).
pub(super) fn group_rectangles(rects: &[Rect], min_neighbors: usize, eps: f64) -> Vec<Rect> {
    if min_neighbors == 0 || rects.is_empty() {
        return rects.to_vec();
    }
    let (labels, count) = partition(rects, eps);
    let mut totals = vec![(0i64, 0i64, 0i64, 0i64); count];
    let mut members = vec![0usize; count];
    for (rect, &label) in rects.iter().zip(&labels) {
        let total = &mut totals[label];
        total.0 += i64::from(rect.x);
        total.1 += i64::from(rect.y);
        total.2 += i64::from(rect.width);
        total.3 += i64::from(rect.height);
        members[label] += 1;
    }
    let averages: Vec<Rect> = totals
        .iter()
        .zip(&members)
        .map(|(total, &n)| {
            // OpenCV multiplies by the float reciprocal, not divides.
            let share = 1.0f32 / n as f32;
            Rect {
                x: round_to_int(total.0 as f32 * share),
                y: round_to_int(total.1 as f32 * share),
                width: round_to_int(total.2 as f32 * share),
                height: round_to_int(total.3 as f32 * share),
            }
        })
        .collect();
    let mut kept = Vec::new();
    for (i, (inner, &n1)) in averages.iter().zip(&members).enumerate() {
        if n1 <= min_neighbors {
            continue;
        }
        let inside_a_stronger =
            averages
                .iter()
                .zip(&members)
                .enumerate()
                .any(|(j, (outer, &n2))| {
                    if j == i || n2 <= min_neighbors {
                        return false;
                    }
                    let dx = (f64::from(outer.width) * eps).round_ties_even() as i32;
                    let dy = (f64::from(outer.height) * eps).round_ties_even() as i32;
                    inner.x >= outer.x - dx
                        && inner.y >= outer.y - dy
                        && inner.x + inner.width <= outer.x + outer.width + dx
                        && inner.y + inner.height <= outer.y + outer.height + dy
                        && (n2 > n1.max(3) || n1 < 3)
                });
        if !inside_a_stronger {
            kept.push(*inner);
        }
    }
    kept
}
