//! The integral images a cascade reads, with OpenCV's definitions (`cv::integral`), each
//! `(height + 1)` rows of `stride` entries (`stride > width`), so one set of feature offsets
//! serves every scale:
//! - `sum[Y][X]`: the pixels above and left of (X, Y);
//! - `squares[Y][X]`: the same for the squared pixels, kept modulo 2^32 as OpenCV's 32-bit
//!   table does (a window's sum of squares, at most 255² per pixel, is exact after the
//!   wrapping subtraction);
//! - `tilted[Y][X]`: the pixels of the triangle above (X - 1, Y - 1) that widens by one pixel
//!   on each side per row up, `y < Y, |x - X + 1| <= Y - y - 1`, for the 45° features.

/// The three tables of one scaled image.
pub(super) struct Integrals {
    pub sum: Vec<i32>,
    pub squares: Vec<u32>,
    /// Empty when the cascade has no tilted feature.
    pub tilted: Vec<i32>,
}

impl Integrals {
    /// The tables of a `width` x `height` gray image (`gray.len() == width * height`,
    /// `stride > width`).
    pub fn new(gray: &[u8], width: usize, height: usize, stride: usize, with_tilted: bool) -> Self {
        debug_assert!(stride > width && gray.len() == width * height);
        let rows = height + 1;
        let mut sum = vec![0i32; rows * stride];
        let mut squares = vec![0u32; rows * stride];
        for y in 0..height {
            let (mut row_sum, mut row_squares) = (0i32, 0u32);
            let above = y * stride;
            let here = (y + 1) * stride;
            for x in 0..width {
                let value = gray[y * width + x];
                row_sum += i32::from(value);
                row_squares = row_squares.wrapping_add(u32::from(value) * u32::from(value));
                sum[here + x + 1] = sum[above + x + 1] + row_sum;
                squares[here + x + 1] = squares[above + x + 1].wrapping_add(row_squares);
            }
        }
        let tilted = if with_tilted {
            tilted_sum(gray, width, height, stride)
        } else {
            Vec::new()
        };
        Integrals {
            sum,
            squares,
            tilted,
        }
    }
}

/// The tilted table. A triangle is the union of the two one row up and one column to each
/// side, less their overlap (the triangle two rows up) and plus the two pixels on the axis the
/// union misses: T(X, Y) = T(X-1, Y-1) + T(X+1, Y-1) - T(X, Y-2) + I(X-1, Y-1) + I(X-1, Y-2).
/// Triangles left and right of the picture still hold its pixels, so the rows are computed
/// `height` columns wider on each side than the table keeps.
fn tilted_sum(gray: &[u8], width: usize, height: usize, stride: usize) -> Vec<i32> {
    let rows = height + 1;
    let margin = height + 1;
    let wide = width + 1 + 2 * margin;
    // Column c of a wide row is X = c - margin.
    let pixel = |x: isize, y: isize| -> i64 {
        if x < 0 || y < 0 || x >= width as isize || y >= height as isize {
            0
        } else {
            i64::from(gray[y as usize * width + x as usize])
        }
    };
    let mut table = vec![0i32; rows * stride];
    let mut two_up = vec![0i64; wide];
    let mut one_up = vec![0i64; wide];
    let mut current = vec![0i64; wide];
    for row in 1..rows {
        let y = row as isize;
        for column in 0..wide {
            let x = column as isize - margin as isize;
            let left = if column > 0 { one_up[column - 1] } else { 0 };
            let right = if column + 1 < wide {
                one_up[column + 1]
            } else {
                0
            };
            current[column] =
                left + right - two_up[column] + pixel(x - 1, y - 1) + pixel(x - 1, y - 2);
        }
        for x in 0..=width {
            table[row * stride + x] = current[x + margin] as i32;
        }
        std::mem::swap(&mut two_up, &mut one_up);
        std::mem::swap(&mut one_up, &mut current);
    }
    table
}
