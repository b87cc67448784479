//! YUV → RGB for decoded AV1 pictures: the CICP matrix (BT.601, BT.709, BT.2020, SMPTE 240,
//! FCC, YCgCo, identity/GBR), limited or full range, 8/10/12-bit samples narrowed to 8 bits,
//! every chroma subsampling (nearest chroma sample), and alpha planes.

use super::av1::{Picture, Subsampling};

/// How Y'CbCr relates to R'G'B'.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Matrix {
    /// Luma weights of red and blue (green is the rest).
    Weights {
        kr: f32,
        kb: f32,
    },
    /// Y = G, U = B, V = R (lossless AVIF uses this).
    Identity,
    YCgCo,
}

impl Matrix {
    /// The matrix for a CICP `matrix_coefficients` code point. Unspecified (2), reserved and
    /// the chromaticity-derived ones fall back to BT.601, as AVIF readers commonly do.
    pub fn from_cicp(code: u16) -> Matrix {
        match code {
            0 => Matrix::Identity,
            1 => Matrix::Weights {
                kr: 0.2126,
                kb: 0.0722,
            },
            4 => Matrix::Weights { kr: 0.30, kb: 0.11 },
            7 => Matrix::Weights {
                kr: 0.212,
                kb: 0.087,
            },
            8 => Matrix::YCgCo,
            9 | 10 => Matrix::Weights {
                kr: 0.2627,
                kb: 0.0593,
            },
            _ => Matrix::Weights {
                kr: 0.299,
                kb: 0.114,
            },
        }
    }
}

/// Maps coded sample values to 0.0..=1.0 (luma) and -0.5..=0.5 (chroma).
#[derive(Debug, Clone, Copy)]
struct Range {
    luma_offset: f32,
    luma_scale: f32,
    chroma_scale: f32,
    chroma_mid: f32,
}

impl Range {
    fn new(bit_depth: u8, full_range: bool) -> Range {
        let max = f32::from((1u16 << bit_depth) - 1);
        let step = f32::from(1u16 << (bit_depth - 8));
        let chroma_mid = f32::from(1u16 << (bit_depth - 1));
        if full_range {
            Range {
                luma_offset: 0.0,
                luma_scale: 1.0 / max,
                chroma_scale: 1.0 / max,
                chroma_mid,
            }
        } else {
            Range {
                luma_offset: 16.0 * step,
                luma_scale: 1.0 / (219.0 * step),
                chroma_scale: 1.0 / (224.0 * step),
                chroma_mid,
            }
        }
    }

    #[inline]
    fn luma(&self, value: u16) -> f32 {
        (f32::from(value) - self.luma_offset) * self.luma_scale
    }

    #[inline]
    fn chroma(&self, value: u16) -> f32 {
        (f32::from(value) - self.chroma_mid) * self.chroma_scale
    }
}

#[inline]
fn to_u8(value: f32) -> u8 {
    (value.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
}

/// Where a decoded picture goes in the output canvas.
#[derive(Debug)]
pub struct Canvas<'a> {
    pub pixels: &'a mut [u8],
    pub width: usize,
    pub height: usize,
    pub channels: usize,
}

/// Writes `picture` as RGB into `canvas` with its top-left corner at (left, top), clipped to
/// the canvas.
pub fn write_colour(
    picture: &Picture,
    matrix: Matrix,
    canvas: &mut Canvas,
    left: usize,
    top: usize,
) {
    let range = Range::new(picture.bit_depth, picture.full_range);
    let (Some(luma), chroma) = (picture.plane(0), picture.plane(1).zip(picture.plane(2))) else {
        return;
    };
    let (shift_x, shift_y) = picture.subsampling.shifts();
    let monochrome = picture.subsampling == Subsampling::Monochrome || chroma.is_none();
    let width = picture.width.min(canvas.width.saturating_sub(left));
    let height = picture.height.min(canvas.height.saturating_sub(top));
    for y in 0..height {
        let row_start = ((top + y) * canvas.width + left) * canvas.channels;
        let row = &mut canvas.pixels[row_start..row_start + width * canvas.channels];
        for (x, pixel) in row.chunks_exact_mut(canvas.channels).enumerate() {
            let luma_value = luma.sample(x, y);
            let rgb = match (monochrome, chroma) {
                (false, Some((u_plane, v_plane))) => {
                    let (cx, cy) = (x >> shift_x, y >> shift_y);
                    convert(
                        matrix,
                        &range,
                        luma_value,
                        u_plane.sample(cx, cy),
                        v_plane.sample(cx, cy),
                    )
                }
                _ => {
                    let gray = to_u8(range.luma(luma_value));
                    [gray, gray, gray]
                }
            };
            pixel[..3].copy_from_slice(&rgb);
        }
    }
}

#[inline]
fn convert(matrix: Matrix, range: &Range, y: u16, u: u16, v: u16) -> [u8; 3] {
    match matrix {
        Matrix::Weights { kr, kb } => {
            let (luma, cb, cr) = (range.luma(y), range.chroma(u), range.chroma(v));
            let kg = 1.0 - kr - kb;
            let r = luma + (2.0 - 2.0 * kr) * cr;
            let b = luma + (2.0 - 2.0 * kb) * cb;
            let g = luma - (kr * (2.0 - 2.0 * kr) * cr + kb * (2.0 - 2.0 * kb) * cb) / kg;
            [to_u8(r), to_u8(g), to_u8(b)]
        }
        // Every plane carries a colour channel at luma's scale.
        Matrix::Identity => [
            to_u8(range.luma(v)),
            to_u8(range.luma(y)),
            to_u8(range.luma(u)),
        ],
        Matrix::YCgCo => {
            let (luma, cg, co) = (range.luma(y), range.chroma(u), range.chroma(v));
            let t = luma - cg;
            [to_u8(t + co), to_u8(luma + cg), to_u8(t - co)]
        }
    }
}

/// Writes the luma of an alpha picture into the last channel of `canvas` at (left, top).
pub fn write_alpha(picture: &Picture, canvas: &mut Canvas, left: usize, top: usize) {
    let Some(plane) = picture.plane(0) else {
        return;
    };
    let range = Range::new(picture.bit_depth, picture.full_range);
    let last = canvas.channels - 1;
    let width = picture.width.min(canvas.width.saturating_sub(left));
    let height = picture.height.min(canvas.height.saturating_sub(top));
    for y in 0..height {
        let row_start = ((top + y) * canvas.width + left) * canvas.channels;
        let row = &mut canvas.pixels[row_start..row_start + width * canvas.channels];
        for (x, pixel) in row.chunks_exact_mut(canvas.channels).enumerate() {
            pixel[last] = to_u8(range.luma(plane.sample(x, y)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_range_bt601_primaries_come_out_right() {
        let bt601 = Matrix::from_cicp(6);
        let range = Range::new(8, false);
        // Studio-swing white, black and pure red (Y'CbCr of BT.601).
        assert_eq!(convert(bt601, &range, 235, 128, 128), [255, 255, 255]);
        assert_eq!(convert(bt601, &range, 16, 128, 128), [0, 0, 0]);
        let red = convert(bt601, &range, 81, 90, 240);
        assert!(red[0] >= 253 && red[1] <= 2 && red[2] <= 2, "{red:?}");
    }

    #[test]
    fn full_range_ten_bit_and_identity() {
        let range = Range::new(10, true);
        let bt709 = Matrix::from_cicp(1);
        assert_eq!(convert(bt709, &range, 1023, 512, 512), [255, 255, 255]);
        assert_eq!(convert(bt709, &range, 0, 512, 512), [0, 0, 0]);
        let range = Range::new(8, true);
        // Identity: V is red, Y green, U blue.
        assert_eq!(convert(Matrix::Identity, &range, 20, 30, 10), [10, 20, 30]);
    }

    #[test]
    fn bt709_and_bt601_differ_on_colour() {
        let range = Range::new(8, true);
        let a = convert(Matrix::from_cicp(1), &range, 128, 60, 200);
        let b = convert(Matrix::from_cicp(5), &range, 128, 60, 200);
        assert_ne!(a, b);
    }
}
