//! The downscale `detectMultiScale` makes of the image for each scale: OpenCV's bit-exact
//! bilinear resize of 8-bit pixels (`INTER_LINEAR_EXACT`, which OpenCV 4's cascade detector
//! uses), to the bit. Source positions are computed in doubles, the two weights of each tap
//! are 8-bit fixed point (the far one rounded, the near one its complement to 1), the
//! horizontal pass keeps 8.8 fixed-point values and the vertical pass rounds 16.16 products
//! once. Checked against `cv2.resize(..., interpolation=cv2.INTER_LINEAR_EXACT)` and, through
//! the detections, against `detectMultiScale` itself.

/// The fixed-point one of the weights (8 fractional bits).
const ONE: u32 = 1 << 8;

/// For each output position along one axis: the first source position and the weights of it
/// and the next one (they sum to [`ONE`]). Positions before the first source pixel or from the
/// last one on take that pixel whole.
fn axis_weights(source: usize, target: usize) -> Vec<(usize, u32, u32)> {
    // OpenCV takes the scale from the sizes (the inverse of their ratio, in doubles).
    let scale = 1.0 / (target as f64 / source as f64);
    (0..target)
        .map(|at| {
            let position = scale * (at as f64 + 0.5) - 0.5;
            let first = position.floor();
            if first < 0.0 || source < 2 {
                (0, ONE, 0)
            } else if first >= (source - 1) as f64 {
                (source - 1, ONE, 0)
            } else {
                let far = ((position - first) * f64::from(ONE)).round_ties_even() as u32;
                (first as usize, ONE - far, far)
            }
        })
        .collect()
}

/// `gray` (`width` x `height`, both at least 1) resized to `target_width` x `target_height`.
pub(super) fn resize_linear(
    gray: &[u8],
    width: usize,
    height: usize,
    target_width: usize,
    target_height: usize,
) -> Vec<u8> {
    if (target_width, target_height) == (width, height) {
        return gray.to_vec();
    }
    let columns = axis_weights(width, target_width);
    let rows = axis_weights(height, target_height);
    // One horizontally resized source row, in 8.8 fixed point.
    let horizontal = |y: usize| -> Vec<u32> {
        let line = &gray[y * width..(y + 1) * width];
        columns
            .iter()
            .map(|&(x, near, far)| {
                let next = line[(x + 1).min(width - 1)];
                u32::from(line[x]) * near + u32::from(next) * far
            })
            .collect()
    };
    let mut out = Vec::with_capacity(target_width * target_height);
    let mut cached: Option<(usize, Vec<u32>, Vec<u32>)> = None;
    for &(y, near, far) in &rows {
        let (first, second) = match cached.take() {
            Some((at, first, second)) if at == y => (first, second),
            _ => (horizontal(y), horizontal((y + 1).min(height - 1))),
        };
        out.extend(
            first
                .iter()
                .zip(&second)
                .map(|(&a, &b)| ((a * near + b * far + (1 << 15)) >> 16).min(255) as u8),
        );
        cached = Some((y, first, second));
    }
    out
}
