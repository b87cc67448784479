//! YCbCr 4:2:0 planes: the pixel format of the JPEG → JPEG fast path, where a JPEG original is
//! decoded without colour conversion, each plane is resampled on its own and the planes go
//! straight into the JPEG writer. Planes are padded to whole 8x8 blocks by edge replication,
//! the layout libjpeg's raw-data interface and the writer both read.

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

    /// The size of the chroma planes' meaningful samples.
    pub fn chroma_size(&self) -> (u32, u32) {
        (self.width.div_ceil(2), self.height.div_ceil(2))
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
