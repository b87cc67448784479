//! Thumbor's feature detector: `cv2.goodFeaturesToTrack(gray, 20, 0.04, 1.0)` on the PIL
//! grayscale (`convert("L")`) of the image, reimplemented so that it finds the same corners in
//! the same order as OpenCV 4.x (checked against opencv-python-headless 4.14 and 5.1).
//!
//! OpenCV's detector (`featureselect.cpp`, with `corner.cpp` for the response) runs in these
//! steps, each mirrored by a function here:
//! 1. Sobel 3x3 derivatives scaled by 1/(4 · 3 · 255), BORDER_REFLECT_101 (`sobel_derivatives`);
//! 2. the products dx², dx·dy, dy² summed over 3x3 boxes, same border (`box_sum_3x3`);
//! 3. the smaller eigenvalue of each 2x2 structure matrix (`min_eigenvalues`);
//! 4. responses at or below `quality_level · max` dropped, the rest kept where they are the
//!    maximum of their 3x3 neighbourhood, skipping the one-pixel image border (`local_maxima`);
//! 5. sorted strongest first and thinned so no two corners are closer than `min_distance`
//!    (`keep_apart`).
//!
//! Exactness: OpenCV computes in float32 with a fixed order of operations, and on x86-64 with
//! AVX2 + FMA (Intel since 2013, AMD since 2015) its dispatched kernels use fused multiply-adds
//! in some vector loops and plain arithmetic in their scalar tails. Responses that tie or sit
//! right at the threshold decide which corners survive, so every step repeats that arithmetic
//! bit for bit (the comments name the OpenCV loop each formula copies), and the tests compare
//! every local maximum's response bits with OpenCV's. On an x86-64 CPU without AVX2 (or with
//! `cv2.setUseOptimized(False)`) OpenCV itself rounds some responses differently in the last
//! bit; on the test photo its corners stay the same. ARM builds of OpenCV were not compared.

/// A corner found by the feature detector, in the pixels of the image it ran on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Corner {
    pub x: f32,
    pub y: f32,
    /// The corner's minimum eigenvalue (OpenCV's `cornerMinEigenVal`): larger is stronger.
    pub response: f32,
}

/// Thumbor's arguments to `goodFeaturesToTrack` (thumbor/detectors/feature_detector).
pub const THUMBOR_MAX_CORNERS: usize = 20;
pub const THUMBOR_QUALITY_LEVEL: f64 = 0.04;
pub const THUMBOR_MIN_DISTANCE: f64 = 1.0;

/// Thumbor's feature detector on an 8-bit gray image (`width * height` bytes, rows top to
/// bottom): at most 20 corners, strongest first.
pub fn thumbor_feature_points(gray: &[u8], width: usize, height: usize) -> Vec<Corner> {
    good_features_to_track(
        gray,
        width,
        height,
        THUMBOR_MAX_CORNERS,
        THUMBOR_QUALITY_LEVEL,
        THUMBOR_MIN_DISTANCE,
    )
}

/// PIL's `Image.convert("L")` of interleaved 8-bit pixels: ITU-R 601-2 luma in 16-bit fixed
/// point, `L = (R·19595 + G·38470 + B·7471 + 0x8000) >> 16` (Pillow's `L24` macro in
/// `libImaging/Convert.c`, used by `rgb2l` and `rgba2l`). `channels` is 3 (RGB) or 4 (RGBA,
/// alpha ignored, as PIL ignores it); 1 (L) and 2 (LA) give the gray channel as it is, and 0
/// gives nothing. A partial last pixel is dropped.
pub fn pil_grayscale(pixels: &[u8], channels: usize) -> Vec<u8> {
    match channels {
        0 => Vec::new(),
        1 | 2 => pixels.chunks_exact(channels).map(|p| p[0]).collect(),
        _ => pixels
            .chunks_exact(channels)
            .map(|p| {
                let luma = u32::from(p[0]) * 19595
                    + u32::from(p[1]) * 38470
                    + u32::from(p[2]) * 7471
                    + 0x8000;
                // The weights sum to 65536, so the shifted value is at most 255.
                (luma >> 16) as u8
            })
            .collect(),
    }
}

/// OpenCV's `goodFeaturesToTrack(gray, max_corners, quality_level, min_distance)` with its
/// defaults (no mask, blockSize 3, Sobel aperture 3, minimum-eigenvalue response rather than
/// Harris) on an 8-bit gray image of `width * height` bytes: the corners strongest first, ties
/// broken as OpenCV breaks them (the later pixel in row order first).
///
/// `max_corners` 0 means no limit, as in OpenCV. Arguments OpenCV refuses with an assertion
/// (`quality_level` not above 0, `min_distance` below 0 or NaN) and a buffer shorter than
/// `width * height` give no corners; so does any image narrower or shorter than 3 pixels,
/// since OpenCV never reports a corner on the image border.
pub fn good_features_to_track(
    gray: &[u8],
    width: usize,
    height: usize,
    max_corners: usize,
    quality_level: f64,
    min_distance: f64,
) -> Vec<Corner> {
    let valid_arguments = quality_level > 0.0 && min_distance >= 0.0;
    let enough_pixels = width
        .checked_mul(height)
        .is_some_and(|pixels| gray.len() >= pixels);
    if !valid_arguments || !enough_pixels || width < 3 || height < 3 {
        return Vec::new();
    }
    let gray = &gray[..width * height];
    let responses = min_eigenvalues(gray, width, height);
    let mut candidates = local_maxima(&responses, width, height, quality_level);
    // OpenCV sorts pointers into the response image with `greaterThanPtr`: larger value first,
    // then the larger address, i.e. the later pixel in row order. Indices are distinct, so the
    // order is total and an unstable sort gives OpenCV's exact sequence.
    candidates.sort_unstable_by(|a, b| {
        b.response
            .total_cmp(&a.response)
            .then(b.index.cmp(&a.index))
    });
    keep_apart(&candidates, width, height, max_corners, min_distance)
}

/// A pixel that passed the threshold and is the maximum of its 3x3 neighbourhood.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    response: f32,
    /// `y * width + x`: OpenCV's tie-break compares these (as addresses).
    index: usize,
}

/// `cv::cornerMinEigenVal(gray, blockSize 3, ksize 3, BORDER_REFLECT_101)`: the smaller
/// eigenvalue of the gradients' 2x2 structure matrix at every pixel, as float32.
fn min_eigenvalues(gray: &[u8], width: usize, height: usize) -> Vec<f32> {
    let (dx, dy) = sobel_derivatives(gray, width, height);
    // cornerEigenValsVecs: per pixel dx·dx, dx·dy, dy·dy, rounded to float32 one by one.
    let xx: Vec<f32> = dx.iter().map(|&d| d * d).collect();
    let xy: Vec<f32> = dx.iter().zip(&dy).map(|(&a, &b)| a * b).collect();
    let yy: Vec<f32> = dy.iter().map(|&d| d * d).collect();
    let xx = box_sum_3x3(&xx, width, height);
    let xy = box_sum_3x3(&xy, width, height);
    let yy = box_sum_3x3(&yy, width, height);
    // calcMinEigenVal (its AVX loop and scalar tail agree, neither fuses): with a = xx/2,
    // c = yy/2 the smaller eigenvalue is (a + c) - sqrt((a - c)² + xy²).
    xx.iter()
        .zip(&xy)
        .zip(&yy)
        .map(|((&sum_xx, &b), &sum_yy)| {
            let a = sum_xx * 0.5;
            let c = sum_yy * 0.5;
            let t = a - c;
            (a + c) - (b * b + t * t).sqrt()
        })
        .collect()
}

/// Index `i` (at most one pixel outside `0..len`) mirrored back inside as BORDER_REFLECT_101
/// does: -1 → 1, len → len - 2; an axis one pixel long maps everything to 0.
fn reflect_101(i: isize, len: usize) -> usize {
    if len == 1 {
        0
    } else if i < 0 {
        i.unsigned_abs()
    } else if i as usize >= len {
        2 * (len - 1) - i as usize
    } else {
        i as usize
    }
}

/// The values left of, at and right of `x` in `row`, mirrored at the row's ends.
fn neighbours<T: Copy>(row: &[T], x: usize) -> (T, T, T) {
    let width = row.len();
    (
        row[reflect_101(x as isize - 1, width)],
        row[x],
        row[reflect_101(x as isize + 1, width)],
    )
}

/// The rows above and below `y` (mirrored at the image's edges) and row `y` itself.
fn row_neighbours<T>(plane: &[T], width: usize, y: usize) -> (&[T], &[T], &[T]) {
    let height = plane.len() / width;
    let row = |r: usize| &plane[r * width..(r + 1) * width];
    (
        row(reflect_101(y as isize - 1, height)),
        row(y),
        row(reflect_101(y as isize + 1, height)),
    )
}

/// `cv::Sobel(gray, CV_32F, 1, 0, 3, scale)` and `(…, 0, 1, 3, scale)` with
/// scale = 1 / (2^(ksize-1) · blockSize · 255) = 1 / 3060, BORDER_REFLECT_101.
///
/// OpenCV runs each as a separable filter, a row pass then a column pass, with the scale folded
/// into the smoothing kernel [1, 2, 1] as float32 weights `side` and `centre`:
/// - dx: row pass [-1, 0, 1] (an exact integer difference), column pass
///   `fma(side, above + below, centre · row)` (SymmColumnVec_32f; its scalar tail fuses the
///   same way);
/// - dy: row pass `fma(side, right, fma(centre, middle, side · left))` in the AVX2 loop over
///   the first `width / 32 * 32` columns (RowVec_8u32f, 32 bytes at a time), then unfused
///   `side · left + centre · middle + side · right` for the remaining columns (RowFilter's
///   scalar tail); column pass [-1, 0, 1], the difference below - above.
fn sobel_derivatives(gray: &[u8], width: usize, height: usize) -> (Vec<f32>, Vec<f32>) {
    let scale = 1.0 / (4.0 * 3.0 * 255.0);
    let side = scale as f32;
    let centre = (2.0 * scale) as f32;
    let fused_columns = width / 32 * 32;

    let pixels = width * height;
    let mut difference = vec![0f32; pixels];
    let mut smoothed = vec![0f32; pixels];
    for y in 0..height {
        let row = &gray[y * width..(y + 1) * width];
        let difference_row = &mut difference[y * width..(y + 1) * width];
        let smoothed_row = &mut smoothed[y * width..(y + 1) * width];
        for (x, (d, s)) in difference_row
            .iter_mut()
            .zip(smoothed_row.iter_mut())
            .enumerate()
        {
            let (left, middle, right) = neighbours(row, x);
            let (left, middle, right) = (f32::from(left), f32::from(middle), f32::from(right));
            *d = right - left;
            *s = if x < fused_columns {
                side.mul_add(right, centre.mul_add(middle, side * left))
            } else {
                side * left + centre * middle + side * right
            };
        }
    }

    let mut dx = vec![0f32; pixels];
    let mut dy = vec![0f32; pixels];
    for y in 0..height {
        let (difference_above, difference_row, difference_below) =
            row_neighbours(&difference, width, y);
        let (smoothed_above, _, smoothed_below) = row_neighbours(&smoothed, width, y);
        let dx_row = &mut dx[y * width..(y + 1) * width];
        let dy_row = &mut dy[y * width..(y + 1) * width];
        for (x, (gx, gy)) in dx_row.iter_mut().zip(dy_row.iter_mut()).enumerate() {
            let outer = difference_above[x] + difference_below[x];
            *gx = side.mul_add(outer, centre * difference_row[x]);
            *gy = smoothed_below[x] - smoothed_above[x];
        }
    }
    (dx, dy)
}

/// `cv::boxFilter(plane, CV_32F, 3x3, normalize = false, BORDER_REFLECT_101)`: the sum of each
/// 3x3 neighbourhood. OpenCV sums float32 input in float64 (RowSum<float, double>: left +
/// middle + right per row) and slides a running column sum down the image
/// (ColumnSum<double, float>: add the row entering the box, round the sum to float32, subtract
/// the row leaving it), so the rounding of each output depends on the rows above it; this
/// repeats that order.
fn box_sum_3x3(plane: &[f32], width: usize, height: usize) -> Vec<f32> {
    let mut row_sums = vec![0f64; width * height];
    for (row, sums) in plane
        .chunks_exact(width)
        .zip(row_sums.chunks_exact_mut(width))
    {
        for (x, sum) in sums.iter_mut().enumerate() {
            let (left, middle, right) = neighbours(row, x);
            *sum = f64::from(left) + f64::from(middle) + f64::from(right);
        }
    }
    // Row `i` of the border-extended image: row i - 1 of the plane, mirrored at its edges.
    let extended_row = |i: usize| {
        let y = reflect_101(i as isize - 1, height);
        &row_sums[y * width..(y + 1) * width]
    };

    let mut running = vec![0f64; width];
    for i in 0..2 {
        for (sum, &value) in running.iter_mut().zip(extended_row(i)) {
            *sum += value;
        }
    }
    let mut boxed = vec![0f32; width * height];
    for (y, out_row) in boxed.chunks_exact_mut(width).enumerate() {
        let entering = extended_row(y + 2);
        let leaving = extended_row(y);
        for (x, out) in out_row.iter_mut().enumerate() {
            let sum = running[x] + entering[x];
            *out = sum as f32;
            running[x] = sum - leaving[x];
        }
    }
    boxed
}

/// goodFeaturesToTrack's selection before sorting: responses not above
/// `(max response · quality_level) as f32` are zeroed (THRESH_TOZERO keeps only values strictly
/// above the threshold, rounded to float32 as `cv::threshold` does for a float image), and a
/// pixel is a candidate when its thresholded response is non-zero and equals the 3x3 dilation
/// there, i.e. no neighbour is larger. OpenCV scans rows and columns 1..len-1 only, so the
/// one-pixel border never yields a corner (and its dilation's border handling never matters).
fn local_maxima(
    responses: &[f32],
    width: usize,
    height: usize,
    quality_level: f64,
) -> Vec<Candidate> {
    let max_response = responses.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let threshold = (f64::from(max_response) * quality_level) as f32;
    let kept = |value: f32| if value > threshold { value } else { 0.0 };

    let mut candidates = Vec::new();
    for y in 1..height - 1 {
        let (above, row, below) = row_neighbours(responses, width, y);
        for x in 1..width - 1 {
            let value = kept(row[x]);
            if value == 0.0 {
                continue;
            }
            let is_maximum = [above, row, below].iter().all(|r| {
                r[x - 1..=x + 1]
                    .iter()
                    .all(|&neighbour| kept(neighbour) <= value)
            });
            if is_maximum {
                candidates.push(Candidate {
                    response: value,
                    index: y * width + x,
                });
            }
        }
    }
    candidates
}

/// goodFeaturesToTrack's last step over the sorted candidates: take each in turn unless an
/// already taken corner is closer than `min_distance` (squared distance < min_distance²), and
/// stop after `max_corners` (0: no limit). As in OpenCV, a `min_distance` below 1 checks
/// nothing, and from 1 up taken corners are looked up in a grid of cells
/// `round(min_distance)` pixels wide (the cell and its eight neighbours only).
fn keep_apart(
    candidates: &[Candidate],
    width: usize,
    height: usize,
    max_corners: usize,
    min_distance: f64,
) -> Vec<Corner> {
    let limit = if max_corners == 0 {
        usize::MAX
    } else {
        max_corners
    };
    let corner = |c: &Candidate| Corner {
        x: (c.index % width) as f32,
        y: (c.index / width) as f32,
        response: c.response,
    };
    if min_distance < 1.0 {
        return candidates.iter().take(limit).map(corner).collect();
    }

    // cvRound rounds half to even; a cell wider than the image is one cell.
    let cell_size = min_distance.round_ties_even().min(width.max(height) as f64) as usize;
    let grid_width = width.div_ceil(cell_size);
    let grid_height = height.div_ceil(cell_size);
    // Taken corners per cell as linked lists: `first_in_cell[cell]` and `next_in_cell[corner]`
    // index into `taken` (usize::MAX ends a list), so the grid costs no allocation per cell.
    let mut first_in_cell = vec![usize::MAX; grid_width * grid_height];
    let mut next_in_cell: Vec<usize> = Vec::new();
    let mut taken: Vec<Corner> = Vec::new();
    let min_distance_squared = min_distance * min_distance;

    for candidate in candidates {
        let found = corner(candidate);
        let (x, y) = (candidate.index % width, candidate.index / width);
        let (cell_x, cell_y) = (x / cell_size, y / cell_size);
        let too_close = (cell_y.saturating_sub(1)..=(cell_y + 1).min(grid_height - 1)).any(|cy| {
            (cell_x.saturating_sub(1)..=(cell_x + 1).min(grid_width - 1)).any(|cx| {
                let mut at = first_in_cell[cy * grid_width + cx];
                while at != usize::MAX {
                    // OpenCV: float dx = x - m.x, dy likewise; dx*dx + dy*dy in float32,
                    // compared with the double min_distance².
                    let dx = found.x - taken[at].x;
                    let dy = found.y - taken[at].y;
                    if f64::from(dx * dx + dy * dy) < min_distance_squared {
                        return true;
                    }
                    at = next_in_cell[at];
                }
                false
            })
        });
        if too_close {
            continue;
        }
        let cell = cell_y * grid_width + cell_x;
        next_in_cell.push(first_in_cell[cell]);
        first_in_cell[cell] = taken.len();
        taken.push(found);
        if taken.len() == limit {
            break;
        }
    }
    taken
}

#[cfg(test)]
#[path = "feature_tests.rs"]
mod tests;
