//! YCbCr planes: the pixel format of the JPEG → JPEG fast path, where a JPEG original is
//! decoded without colour conversion, each plane is resampled on its own and the planes go
//! straight into the JPEG writer. A decoded original comes as [`JpegPlanes`], each plane at the
//! file's own sampling (and which samplings the path takes, [`planes_path_takes`]); the writer
//! takes a [`YccImage`], always 4:2:0. Planes are padded to whole 8x8 blocks by edge
//! replication, the layout libjpeg's raw-data interface and the writer both read.

/// JPEG's zigzag position → natural (row-major) index inside an 8x8 block.
pub const NATURAL_ORDER: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// One component's samples. `width` x `height` are the meaningful samples; the buffer is
/// `stride` x `rows` with the right and bottom margins filled by [`Plane::replicate_edges`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plane {
    pub data: Vec<u8>,
    pub width: usize,
    pub height: usize,
    pub stride: usize,
    pub rows: usize,
}

impl Plane {
    /// A zeroed plane of `width` x `height` samples padded to `stride` x `rows`.
    pub fn new(width: usize, height: usize, stride: usize, rows: usize) -> Plane {
        debug_assert!(stride >= width && rows >= height);
        Plane {
            data: vec![0; stride * rows],
            width,
            height,
            stride,
            rows,
        }
    }

    /// Copies the last meaningful column into the right margin and the last meaningful row
    /// into the bottom margin, as libjpeg pads partial blocks (no ringing at the edges).
    pub fn replicate_edges(&mut self) {
        if self.width == 0 || self.height == 0 {
            return;
        }
        let (width, stride) = (self.width, self.stride);
        if width < stride {
            for row in self.data.chunks_exact_mut(stride).take(self.height) {
                let last = row[width - 1];
                row[width..].fill(last);
            }
        }
        let last_row = (self.height - 1) * stride;
        for row in self.height..self.rows {
            self.data
                .copy_within(last_row..last_row + stride, row * stride);
        }
    }
}

/// The size of one component's plane when each of its 8x8 blocks decodes to `block` x `block`
/// samples: the meaningful width and height as libjpeg's `jpeg_calc_output_dimensions` gives
/// them, and the buffer of whole MCUs around them (`stride` samples by `rows`). Both planes
/// decoders lay out their planes by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PlaneShape {
    pub width: usize,
    pub height: usize,
    pub stride: usize,
    pub rows: usize,
}

impl PlaneShape {
    /// The plane of a component sampled `(h, v)` in an `image`-sized frame whose largest
    /// sampling factors are `max`.
    pub fn of_component(
        image: (u32, u32),
        (h, v): (u32, u32),
        max: (u32, u32),
        block: u32,
    ) -> Self {
        let (max_h, max_v) = max;
        let mcu_columns = image.0.div_ceil(max_h * 8) as usize;
        let mcu_rows = image.1.div_ceil(max_v * 8) as usize;
        PlaneShape {
            width: (u64::from(image.0) * u64::from(h * block)).div_ceil(u64::from(max_h * 8))
                as usize,
            height: (u64::from(image.1) * u64::from(v * block)).div_ceil(u64::from(max_v * 8))
                as usize,
            stride: mcu_columns * (h * block) as usize,
            rows: mcu_rows * (v * block) as usize,
        }
    }

    /// A zeroed plane of this shape.
    pub fn plane(self) -> Plane {
        Plane::new(self.width, self.height, self.stride, self.rows)
    }
}

/// An image as three planes: Y at full size, Cb and Cr at half size rounded up (4:2:0, the
/// chroma sampling Thumbor's Pillow writes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YccImage {
    pub width: u32,
    pub height: u32,
    /// Y, Cb, Cr.
    pub planes: [Plane; 3],
}

impl YccImage {
    /// Zeroed planes for a `width` x `height` image, padded as the JPEG writer reads them:
    /// Y to whole 8x8 blocks, Cb/Cr to whole blocks of their half-size grid.
    pub fn new(width: u32, height: u32) -> YccImage {
        let (w, h) = (width as usize, height as usize);
        let luma = Plane::new(w, h, w.div_ceil(8) * 8, h.div_ceil(8) * 8);
        let chroma = || {
            Plane::new(
                w.div_ceil(2),
                h.div_ceil(2),
                w.div_ceil(16) * 8,
                h.div_ceil(16) * 8,
            )
        };
        YccImage {
            width,
            height,
            planes: [luma, chroma(), chroma()],
        }
    }

    /// Interleaved RGB (`channels` = 3) or RGBA (4, alpha ignored) pixels as libjpeg turns them
    /// into 4:2:0 planes before compressing: its fixed-point BT.601 conversion, then 2x2
    /// averages with the alternating rounding bias over rows whose right edge is replicated to
    /// whole MCUs, and the last chroma row repeated below the image. The JPEG written from these planes equals libjpeg's from the RGB pixels.
    pub fn from_rgb(pixels: &[u8], channels: usize, width: u32, height: u32) -> YccImage {
        let mut image = YccImage::new(width, height);
        let (w, h) = (width as usize, height as usize);
        if w == 0 || h == 0 {
            return image;
        }
        let [luma, cb, cr] = &mut image.planes;
        match channels {
            4 => convert_planes::<4>(pixels, w, h, luma, cb, cr),
            _ => convert_planes::<3>(pixels, w, h, luma, cb, cr),
        }
        // Below the image libjpeg repeats the last chroma row (its columns are already whole).
        for plane in [cb, cr] {
            let last = (plane.height - 1) * plane.stride;
            for row in plane.height..plane.rows {
                plane
                    .data
                    .copy_within(last..last + plane.stride, row * plane.stride);
            }
        }
        luma.replicate_edges();
        image
    }

    /// The size of the chroma planes' meaningful samples.
    pub fn chroma_size(&self) -> (u32, u32) {
        chroma_size(self.width, self.height)
    }
}

/// The 4:2:0 chroma size of a `width` x `height` image: half, rounded up.
pub fn chroma_size(width: u32, height: u32) -> (u32, u32) {
    (width.div_ceil(2), height.div_ceil(2))
}

/// A JPEG decoded to its planes at `1/shrink` scale.
#[derive(Debug)]
pub struct JpegPlanes {
    /// The decoded (scaled) image size: the Y plane's meaningful samples.
    pub width: u32,
    pub height: u32,
    /// Y, Cb, Cr; each plane's `width` x `height` are its meaningful samples.
    pub planes: [Plane; 3],
    /// Each plane's samples per decoded pixel, across and down: 1 for Y; for 4:2:0 chroma 1/2
    /// (libjpeg at 1/2, 1/4, 1/8 gives 1: it decodes chroma with a larger IDCT instead of
    /// upsampling it), for 4:4:4 chroma decoded halved 1/2.
    pub sampling: [(f64, f64); 3],
    pub icc_profile: Option<Vec<u8>>,
}

/// Whether the planes path takes a file with these (Y, Cb, Cr) sampling factors: Y must
/// carry the highest sampling and every factor divide it (4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1),
/// and Cb and Cr must match, since the resizer takes them as one two-channel image.
pub fn planes_path_takes(factors: &[(u32, u32); 3]) -> bool {
    let max_h = factors.iter().map(|&(h, _)| h).max().unwrap_or(0);
    let max_v = factors.iter().map(|&(_, v)| v).max().unwrap_or(0);
    let divides = |f: u32, max: u32| (1..=4).contains(&f) && max.is_multiple_of(f);
    factors[0] == (max_h, max_v)
        && factors[1] == factors[2]
        && factors
            .iter()
            .all(|&(h, v)| divides(h, max_h) && divides(v, max_v))
}

/// Y and the 2x2-averaged Cb/Cr rows of `pixels` (`N` bytes per pixel), with AVX2 when the CPU
/// has it (the same code compiled for wider vectors).
fn convert_planes<const N: usize>(
    pixels: &[u8],
    w: usize,
    h: usize,
    luma: &mut Plane,
    cb: &mut Plane,
    cr: &mut Plane,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { convert_planes_avx2::<N>(pixels, w, h, luma, cb, cr) };
        return;
    }
    convert_planes_portable::<N>(pixels, w, h, luma, cb, cr);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn convert_planes_avx2<const N: usize>(
    pixels: &[u8],
    w: usize,
    h: usize,
    luma: &mut Plane,
    cb: &mut Plane,
    cr: &mut Plane,
) {
    convert_planes_portable::<N>(pixels, w, h, luma, cb, cr);
}

#[inline(always)]
fn convert_planes_portable<const N: usize>(
    pixels: &[u8],
    w: usize,
    h: usize,
    luma: &mut Plane,
    cb: &mut Plane,
    cr: &mut Plane,
) {
    let padded_width = cb.stride * 2;
    // Full-resolution Cb and Cr of two source rows, right edge replicated.
    let mut cb_rows = vec![0u16; padded_width * 2];
    let mut cr_rows = vec![0u16; padded_width * 2];
    for chroma_row in 0..cb.height {
        for pair in 0..2 {
            let y = (chroma_row * 2 + pair).min(h - 1);
            let source = &pixels[y * w * N..(y + 1) * w * N];
            let luma_row = (y == chroma_row * 2 + pair)
                .then(|| &mut luma.data[y * luma.stride..y * luma.stride + w]);
            let cb_row = &mut cb_rows[pair * padded_width..(pair + 1) * padded_width];
            let cr_row = &mut cr_rows[pair * padded_width..(pair + 1) * padded_width];
            convert_row::<N>(source, luma_row, &mut cb_row[..w], &mut cr_row[..w]);
            let (last_cb, last_cr) = (cb_row[w - 1], cr_row[w - 1]);
            cb_row[w..].fill(last_cb);
            cr_row[w..].fill(last_cr);
        }
        for (rows, plane) in [(&cb_rows, &mut *cb), (&cr_rows, &mut *cr)] {
            let (top, bottom) = rows.split_at(padded_width);
            let out = &mut plane.data[chroma_row * plane.stride..(chroma_row + 1) * plane.stride];
            for (x, ((sample, t), b)) in out
                .iter_mut()
                .zip(top.chunks_exact(2))
                .zip(bottom.chunks_exact(2))
                .enumerate()
            {
                // libjpeg's bias alternates 1, 2 so that rounding does not drift.
                let sum = t[0] + t[1] + b[0] + b[1] + 1 + (x as u16 & 1);
                *sample = (sum >> 2) as u8;
            }
        }
    }
}

/// libjpeg's RGB → YCbCr for one row, in 16-bit fixed point (`FIX(x)` = x * 65536 rounded);
/// Cb and Cr are kept at full resolution for the 2x2 averaging.
#[inline(always)]
fn convert_row<const N: usize>(
    source: &[u8],
    luma: Option<&mut [u8]>,
    cb: &mut [u16],
    cr: &mut [u16],
) {
    const ONE_HALF: i32 = 1 << 15;
    const CHROMA_OFFSET: i32 = (128 << 16) + ONE_HALF - 1;
    let pixels = source.chunks_exact(N);
    if let Some(luma) = luma {
        for (y, p) in luma.iter_mut().zip(pixels.clone()) {
            let (r, g, b) = (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]));
            *y = ((19595 * r + 38470 * g + 7471 * b + ONE_HALF) >> 16) as u8;
        }
    }
    for ((cb, cr), p) in cb.iter_mut().zip(cr.iter_mut()).zip(pixels) {
        let (r, g, b) = (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]));
        *cb = ((-11059 * r - 21709 * g + 32768 * b + CHROMA_OFFSET) >> 16) as u16;
        *cr = ((32768 * r - 27439 * g - 5329 * b + CHROMA_OFFSET) >> 16) as u16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planes_are_padded_to_whole_blocks_of_their_grid() {
        let image = YccImage::new(721, 589);
        let [y, cb, cr] = &image.planes;
        assert_eq!((y.width, y.height, y.stride, y.rows), (721, 589, 728, 592));
        assert_eq!(
            (cb.width, cb.height, cb.stride, cb.rows),
            (361, 295, 368, 296)
        );
        assert_eq!(cb, cr);
        assert_eq!(image.chroma_size(), (361, 295));
    }

    #[test]
    fn edges_are_replicated_into_the_margins() {
        let mut plane = Plane::new(2, 2, 4, 3);
        plane.data[..2].copy_from_slice(&[1, 2]);
        plane.data[4..6].copy_from_slice(&[3, 4]);
        plane.replicate_edges();
        assert_eq!(plane.data, [1, 2, 2, 2, 3, 4, 4, 4, 3, 4, 4, 4]);
    }
}
