//! The JPEG planes road's crop + resize: each plane of a raw-decoded JPEG read over the plan's
//! region (in decoded pixels) and resampled on its own — Y to the output, Cb and Cr together to
//! its 4:2:0 half, box-halved first when the output is much smaller — ready for the planes
//! writer. The kernel is the RGB road's (`transform::ResamplingFilter`).

use super::planes::{JpegPlanes, Plane, YccImage};
use crate::imaging::geometry::Size;
use crate::imaging::transform::{Region, ResamplingFilter};
use crate::imaging::ImagingError;
use fast_image_resize as fir;

/// The planar twin of `transform::crop_resize` for the JPEG → JPEG path: reads `region` (in decoded
/// pixels) of each plane of a raw-decoded JPEG and resamples Y to `output` and Cb/Cr to its
/// 4:2:0 half, ready for the planes writer. Resampling YCbCr instead of RGB gives the same
/// picture (the conversion is linear) without converting either way.
pub fn crop_resize_planes(
    decoded: &JpegPlanes,
    region: Region,
    output: Size,
    filter: ResamplingFilter,
) -> Result<YccImage, ImagingError> {
    let mut image = YccImage::new(output.width, output.height);
    let (chroma_width, chroma_height) = image.chroma_size();
    let [luma, cb, cr] = &mut image.planes;
    let [source_luma, source_cb, source_cr] = &decoded.planes;

    let (luma_x, luma_y) = decoded.sampling[0];
    let luma_region = region.scaled(luma_x, luma_y);
    let resized = resample_plane(source_luma, luma_region, output, filter)?;
    copy_into_plane(&resized, luma);

    // A 4:2:0 sample stands for two output pixels each way (for an odd side, the last one for
    // the last pixel and its edge copy), so chroma reads that many pixels' share of the region.
    let (chroma_x, chroma_y) = decoded.sampling[1];
    let chroma_region = Region {
        left: region.left * chroma_x,
        top: region.top * chroma_y,
        width: region.width * chroma_x * f64::from(chroma_width * 2) / f64::from(output.width),
        height: region.height * chroma_y * f64::from(chroma_height * 2) / f64::from(output.height),
    };
    let chroma_output = Size::new(chroma_width, chroma_height);
    let pairs = resample_chroma(source_cb, source_cr, chroma_region, chroma_output, filter)?;
    let rows = cb
        .data
        .chunks_exact_mut(cb.stride)
        .zip(cr.data.chunks_exact_mut(cr.stride));
    for ((cb_row, cr_row), pair_row) in rows.zip(pairs.chunks_exact(chroma_width as usize * 2)) {
        for ((b, r), pair) in cb_row
            .iter_mut()
            .zip(cr_row.iter_mut())
            .zip(pair_row.chunks_exact(2))
        {
            (*b, *r) = (pair[0], pair[1]);
        }
    }
    for plane in &mut image.planes {
        plane.replicate_edges();
    }
    Ok(image)
}

/// How much smaller than the source region the output must stay for the chroma planes to be
/// box-halved before the resize: the DCT shrink-on-load margin, applied after the halving.
const CHROMA_HALVING_MARGIN: f64 = 2.0 * 1.3;

/// Whether chroma `region` resampled to `output` is box-halved first (see
/// [`CHROMA_HALVING_MARGIN`]); the JPEG decoder asks too, to decode such chroma halved.
pub fn chroma_is_halved(region: Region, output: Size) -> bool {
    region.width >= f64::from(output.width) * CHROMA_HALVING_MARGIN
        && region.height >= f64::from(output.height) * CHROMA_HALVING_MARGIN
}

/// Cb and Cr resampled together, as two-channel pixels (fast_image_resize does two channels
/// in about the time of one); when the output is much smaller, from 2x2 averages of the
/// planes, a quarter of the samples. Returns interleaved Cb, Cr pairs of `output` size.
fn resample_chroma(
    cb: &Plane,
    cr: &Plane,
    region: Region,
    output: Size,
    filter: ResamplingFilter,
) -> Result<Vec<u8>, ImagingError> {
    let region = region.clamped_to(Size::new(cb.width as u32, cb.height as u32));
    let (pairs, size, region) = if chroma_is_halved(region, output) {
        let (pairs, size) = halved_pairs(cb, cr);
        (pairs, size, region.scaled(0.5, 0.5))
    } else {
        let pairs = cb
            .data
            .iter()
            .zip(&cr.data)
            .take(cb.stride * cb.height)
            .flat_map(|(&b, &r)| [b, r])
            .collect();
        (pairs, Size::new(cb.stride as u32, cb.height as u32), region)
    };
    resample(&pairs, size, fir::PixelType::U8x2, region, output, filter)
}

/// 2x2 averages of the meaningful samples of two equally sized planes, interleaved.
fn halved_pairs(cb: &Plane, cr: &Plane) -> (Vec<u8>, Size) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { halved_pairs_avx2(cb, cr) };
    }
    halved_pairs_portable(cb, cr)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn halved_pairs_avx2(cb: &Plane, cr: &Plane) -> (Vec<u8>, Size) {
    halved_pairs_portable(cb, cr)
}

#[inline(always)]
fn halved_pairs_portable(cb: &Plane, cr: &Plane) -> (Vec<u8>, Size) {
    let (width, height) = (cb.width.div_ceil(2), cb.height.div_ceil(2));
    let mut pairs = vec![0u8; width * height * 2];
    // An odd side's last average reads the edge copies in the padding (rows always have one;
    // a column has one unless the stride ends right there, and then the edge is doubled).
    fn row(plane: &Plane, y: usize, samples: usize) -> &[u8] {
        let start = y.min(plane.rows - 1) * plane.stride;
        &plane.data[start..start + samples.min(plane.stride)]
    }
    let average = |a: u8, b: u8, c: u8, d: u8| {
        ((u16::from(a) + u16::from(b) + u16::from(c) + u16::from(d) + 2) >> 2) as u8
    };
    for (y, out) in pairs.chunks_exact_mut(width * 2).enumerate() {
        let (b0, b1) = (row(cb, 2 * y, width * 2), row(cb, 2 * y + 1, width * 2));
        let (r0, r1) = (row(cr, 2 * y, width * 2), row(cr, 2 * y + 1, width * 2));
        let quads = b0
            .chunks_exact(2)
            .zip(b1.chunks_exact(2))
            .zip(r0.chunks_exact(2).zip(r1.chunks_exact(2)));
        for (out, ((b0, b1), (r0, r1))) in out.chunks_exact_mut(2).zip(quads) {
            out[0] = average(b0[0], b0[1], b1[0], b1[1]);
            out[1] = average(r0[0], r0[1], r1[0], r1[1]);
        }
        if b0.len() % 2 == 1 {
            let last = b0.len() - 1;
            out[width * 2 - 2] = average(b0[last], b0[last], b1[last], b1[last]);
            out[width * 2 - 1] = average(r0[last], r0[last], r1[last], r1[last]);
        }
    }
    (pairs, Size::new(width as u32, height as u32))
}

/// Resamples `region` of one plane into a tightly packed `output`.
fn resample_plane(
    plane: &Plane,
    region: Region,
    output: Size,
    filter: ResamplingFilter,
) -> Result<Vec<u8>, ImagingError> {
    let region = region.clamped_to(Size::new(plane.width as u32, plane.height as u32));
    // Rows are `stride` apart, so the resizer sees a stride-wide image; the columns past
    // `width` are edge copies, read only by the kernel's tail at the right edge.
    let rows = &plane.data[..plane.stride * plane.height];
    let size = Size::new(plane.stride as u32, plane.height as u32);
    resample(rows, size, fir::PixelType::U8, region, output, filter)
}

/// One fast_image_resize pass over `pixels` (`size`, tightly packed), or a copy when the
/// region is whole pixels of the output's size.
fn resample(
    pixels: &[u8],
    size: Size,
    pixel_type: fir::PixelType,
    region: Region,
    output: Size,
    filter: ResamplingFilter,
) -> Result<Vec<u8>, ImagingError> {
    let channels = pixel_type.size();
    if let Some(rect) = region.as_exact_rect() {
        if rect.size() == output {
            let row_bytes = output.width as usize * channels;
            let mut copied = Vec::with_capacity(row_bytes * output.height as usize);
            for y in rect.top..rect.bottom {
                let start = (y as usize * size.width as usize + rect.left as usize) * channels;
                copied.extend_from_slice(&pixels[start..start + row_bytes]);
            }
            return Ok(copied);
        }
    }
    let view = fir::images::ImageRef::new(size.width, size.height, pixels, pixel_type)
        .map_err(|e| ImagingError::Undecodable(format!("plane buffer: {e}")))?;
    let mut resized = fir::images::Image::new(output.width, output.height, pixel_type);
    // Two channels are Cb and Cr, not luma and alpha: no premultiplication.
    let options = fir::ResizeOptions::new()
        .resize_alg(filter.algorithm())
        .crop(region.left, region.top, region.width, region.height)
        .use_alpha(false);
    fir::Resizer::new()
        .resize(&view, &mut resized, &options)
        .map_err(|e| ImagingError::Encode(format!("resize: {e}")))?;
    Ok(resized.into_vec())
}

/// Tightly packed rows into the meaningful part of `plane`.
fn copy_into_plane(packed: &[u8], plane: &mut Plane) {
    let width = plane.width;
    for (row, packed_row) in plane
        .data
        .chunks_exact_mut(plane.stride)
        .zip(packed.chunks_exact(width))
    {
        row[..width].copy_from_slice(packed_row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::geometry::PixelRect;

    #[test]
    fn chroma_halving_averages_and_interleaves() {
        // 3x3 meaningful samples in a 3-wide, 4-row buffer: the odd column has no padding to
        // read, so its average doubles the edge; the odd row reads the replicated padding row.
        let mut cb = Plane::new(3, 3, 3, 4);
        cb.data
            .copy_from_slice(&[0, 4, 8, 12, 16, 20, 24, 28, 32, 0, 0, 0]);
        cb.replicate_edges();
        let mut cr = cb.clone();
        cr.data.iter_mut().for_each(|v| *v = 255 - *v);
        let (pairs, size) = halved_pairs(&cb, &cr);
        assert_eq!(size, Size::new(2, 2));
        let cb_values: Vec<u8> = pairs.iter().step_by(2).copied().collect();
        let cr_values: Vec<u8> = pairs.iter().skip(1).step_by(2).copied().collect();
        // (0+4+12+16+2)/4, (8+8+20+20+2)/4, (24+28+24+28+2)/4, (32+32+32+32+2)/4
        assert_eq!(cb_values, [8, 14, 26, 32]);
        assert_eq!(cr_values, [247, 241, 229, 223]);
        assert_eq!(halved_pairs_portable(&cb, &cr), (pairs, size));
    }

    /// Cb/Cr pairs are two independent channels: a Cr of 0 must not wipe out Cb, as it would if
    /// the second channel were taken for alpha and premultiplied.
    #[test]
    fn chroma_pairs_are_not_premultiplied() {
        let (width, height) = (40u32, 30u32);
        let mut pairs = Vec::new();
        for x in 0..width * height {
            // Cb varies, Cr is 0 on the left half and 255 on the right.
            pairs.extend_from_slice(&[(x % 200) as u8 + 20, if x % width < 20 { 0 } else { 255 }]);
        }
        let whole = Region::from_rect(PixelRect::full(Size::new(width, height)));
        let resized = resample(
            &pairs,
            Size::new(width, height),
            fir::PixelType::U8x2,
            whole,
            Size::new(10, 8),
            ResamplingFilter::Lanczos3,
        )
        .unwrap();
        // Away from the Cr edge, Cb keeps its level (20..220) under Cr = 0.
        for row in resized.chunks_exact(20) {
            let (cb, cr) = (row[0], row[1]);
            assert_eq!(cr, 0);
            assert!(cb >= 15, "Cb {cb} under Cr 0");
        }
    }
}
