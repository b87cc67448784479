//! JPEG straight to YCbCr planes through libjpeg's raw-data interface, for the JPEG → JPEG
//! fast path: the DCT-scaled blocks come out as they are, without upsampling or colour
//! conversion, and the planes go to the resizer and then to the planes writer. Only
//! three-component YCbCr files take this road; gray, CMYK, RGB-coded and oddly sampled files
//! answer `None` and are decoded to RGB by `decode/jpeg.rs`.
//!
//! libjpeg runs through [`super::libjpeg`]'s decompressor: fatal errors unwind and are caught
//! here, and the same scan, memory and deadline limits as the RGB path apply.

use super::libjpeg::{self, dct_shrink, icc_profile, Decompressor, JpegLimits, APP2};
use super::planes::{planes_path_takes, JpegPlanes, PlaneShape};
use crate::imaging::ImagingError;
use mozjpeg_sys as ffi;
use std::panic::{self, AssertUnwindSafe};

/// Decodes `bytes` to planes at `1/shrink` (1, 2, 4 or 8), or `None` when the file is not a
/// three-component YCbCr JPEG whose first component is Y at the highest sampling.
pub fn decode(
    bytes: &[u8],
    shrink: u32,
    limits: &JpegLimits,
) -> Result<Option<JpegPlanes>, ImagingError> {
    let scale_num = 8 / dct_shrink(shrink);
    panic::catch_unwind(AssertUnwindSafe(|| {
        decode_with_libjpeg(bytes, scale_num, limits)
    }))
    .map_err(libjpeg::failure)
}

fn decode_with_libjpeg(bytes: &[u8], scale_num: u32, limits: &JpegLimits) -> Option<JpegPlanes> {
    let mut decompressor = Decompressor::new(limits);
    let cinfo = decompressor.read_header(bytes, &[APP2]);
    let layout = PlaneLayout::of(cinfo, scale_num)?;
    let icc_profile = icc_profile(cinfo);

    cinfo.scale_num = scale_num;
    cinfo.scale_denom = 8;
    cinfo.raw_data_out = 1;
    // SAFETY: the header has been read; a fatal error unwinds to `decode`.
    unsafe { ffi::jpeg_start_decompress(cinfo) };
    if (cinfo.output_width, cinfo.output_height) != (layout.width, layout.height) {
        // libjpeg scaled differently from what the layout assumed: not a file for this path.
        return None;
    }

    let mut planes = layout.planes.map(PlaneShape::plane);
    let lines_per_call = cinfo.max_v_samp_factor as u32 * scale_num;
    // One raw pointer per plane buffer, taken once: every row pointer handed to libjpeg is
    // derived from it, so no later `&mut` reborrow of the buffer invalidates the pointers
    // libjpeg writes through. `planes` is not touched again until the loop is over.
    let plane_starts = planes.each_mut().map(|plane| plane.data.as_mut_ptr());
    for imcu_row in 0..layout.imcu_rows {
        // Every component's rows of this iMCU row (at most 4 x 8 of them).
        let mut row_pointers = [[std::ptr::null_mut::<u8>(); 32]; 3];
        for (((pointers, &start), shape), &rows_per_imcu) in row_pointers
            .iter_mut()
            .zip(&plane_starts)
            .zip(&layout.planes)
            .zip(&layout.rows_per_imcu)
        {
            let first = imcu_row * rows_per_imcu;
            for (row, pointer) in pointers.iter_mut().take(rows_per_imcu).enumerate() {
                // SAFETY: the plane holds `shape.rows` = imcu_rows x rows_per_imcu rows of
                // `shape.stride` bytes (PlaneShape::plane above), and `first + row` < rows, so the
                // offset stays inside the buffer `start` points into.
                *pointer = unsafe { start.add((first + row) * shape.stride) };
            }
        }
        let mut components = [
            row_pointers[0].as_mut_ptr(),
            row_pointers[1].as_mut_ptr(),
            row_pointers[2].as_mut_ptr(),
        ];
        // SAFETY: each component gets `rows_per_imcu` rows of `stride` bytes, which covers
        // the blocks libjpeg writes for one iMCU row (checked by PlaneLayout).
        let read =
            unsafe { ffi::jpeg_read_raw_data(cinfo, components.as_mut_ptr(), lines_per_call) };
        if read == 0 {
            break;
        }
    }
    // No jpeg_finish_decompress: it would only look for the EOI marker, and the pixels are
    // complete (a truncated file was already filled in, as on the RGB path). The padding
    // becomes edge copies, which the resizer's kernel may read at the right and bottom edges.
    for plane in &mut planes {
        plane.replicate_edges();
    }
    Some(JpegPlanes {
        width: layout.width,
        height: layout.height,
        planes,
        sampling: layout.sampling,
        icc_profile,
    })
}

/// How libjpeg will lay out each component at a DCT scale of `scale_num`/8 in raw-data mode,
/// computed as its `jpeg_calc_output_dimensions` does.
struct PlaneLayout {
    width: u32,
    height: u32,
    imcu_rows: usize,
    planes: [PlaneShape; 3],
    /// Rows of each plane in one iMCU row (what one `jpeg_read_raw_data` call fills).
    rows_per_imcu: [usize; 3],
    sampling: [(f64, f64); 3],
}

impl PlaneLayout {
    fn of(cinfo: &ffi::jpeg_decompress_struct, scale_num: u32) -> Option<PlaneLayout> {
        if cinfo.num_components != 3 || cinfo.jpeg_color_space != ffi::J_COLOR_SPACE::JCS_YCbCr {
            return None;
        }
        // SAFETY: after jpeg_read_header, comp_info holds num_components entries.
        let components = unsafe { std::slice::from_raw_parts(cinfo.comp_info, 3) };
        let (max_h, max_v) = (
            cinfo.max_h_samp_factor as u32,
            cinfo.max_v_samp_factor as u32,
        );
        let factors: [(u32, u32); 3] = std::array::from_fn(|i| {
            (
                components[i].h_samp_factor as u32,
                components[i].v_samp_factor as u32,
            )
        });
        if !planes_path_takes(&factors) {
            return None;
        }
        let (image_width, image_height) = (cinfo.image_width, cinfo.image_height);
        let min_size = scale_num;
        let imcu_rows = image_height.div_ceil(max_v * 8) as usize;
        let mut planes = [PlaneShape {
            width: 0,
            height: 0,
            stride: 0,
            rows: 0,
        }; 3];
        let mut rows_per_imcu = [0; 3];
        let mut sampling = [(1.0, 1.0); 3];
        for (index, &(h, v)) in factors.iter().enumerate() {
            // libjpeg scales chroma up by IDCT rather than upsampling when the ratios allow.
            let mut size = min_size;
            while size < 8
                && (max_h * min_size).is_multiple_of(h * size * 2)
                && (max_v * min_size).is_multiple_of(v * size * 2)
            {
                size *= 2;
            }
            rows_per_imcu[index] = (v * size) as usize;
            if rows_per_imcu[index] > 32 {
                return None;
            }
            planes[index] =
                PlaneShape::of_component((image_width, image_height), (h, v), (max_h, max_v), size);
            sampling[index] = (
                f64::from(h * size) / f64::from(max_h * min_size),
                f64::from(v * size) / f64::from(max_v * min_size),
            );
        }
        Some(PlaneLayout {
            width: planes[0].width as u32,
            height: planes[0].height as u32,
            imcu_rows,
            planes,
            rows_per_imcu,
            sampling,
        })
    }
}
