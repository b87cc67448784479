//! Placing one image on another at an offset, clipped to the destination: a plain copy
//! (PIL's `paste`) or alpha compositing "over" (Thumbor's `_composite` with `merge`), for RGB
//! or RGBA destinations and sources (an RGB source is opaque).

/// A mutable view of one frame.
pub struct Canvas<'a> {
    pub pixels: &'a mut [u8],
    pub width: usize,
    pub height: usize,
    /// 3 (RGB, opaque) or 4 (RGBA).
    pub channels: usize,
}

/// An image to be placed.
pub struct Layer<'a> {
    pub pixels: &'a [u8],
    pub width: usize,
    pub height: usize,
    /// 3 (RGB, opaque) or 4 (RGBA).
    pub channels: usize,
}

/// The rows and columns where `layer` at (`x`, `y`) overlaps the canvas:
/// (canvas x, canvas y, layer x, layer y, width, height).
fn overlap(canvas: &Canvas<'_>, layer: &Layer<'_>, x: i64, y: i64) -> Option<[usize; 6]> {
    let left = x.max(0);
    let top = y.max(0);
    let right = (x + layer.width as i64).min(canvas.width as i64);
    let bottom = (y + layer.height as i64).min(canvas.height as i64);
    if left >= right || top >= bottom {
        return None;
    }
    Some([
        left as usize,
        top as usize,
        (left - x) as usize,
        (top - y) as usize,
        (right - left) as usize,
        (bottom - top) as usize,
    ])
}

/// Alpha-composites `layer` over the canvas (non-premultiplied "over", results truncated
/// like the C extension). An RGB canvas is opaque and stays opaque.
pub fn composite_over(canvas: &mut Canvas<'_>, layer: &Layer<'_>, x: i64, y: i64) {
    if layer.channels == 3 {
        // An opaque layer covers whatever is below it.
        paste(canvas, layer, x, y);
        return;
    }
    let Some([cx, cy, lx, ly, width, height]) = overlap(canvas, layer, x, y) else {
        return;
    };
    let channels = canvas.channels;
    let canvas_stride = canvas.width * channels;
    let layer_stride = layer.width * 4;
    for row in 0..height {
        let canvas_start = (cy + row) * canvas_stride + cx * channels;
        let layer_start = (ly + row) * layer_stride + lx * 4;
        let destination = &mut canvas.pixels[canvas_start..canvas_start + width * channels];
        let source = &layer.pixels[layer_start..layer_start + width * 4];
        if channels == 4 {
            for (dst, src) in destination.chunks_exact_mut(4).zip(source.chunks_exact(4)) {
                blend_rgba(dst, src);
            }
        } else {
            for (dst, src) in destination.chunks_exact_mut(3).zip(source.chunks_exact(4)) {
                blend_rgb(dst, src);
            }
        }
    }
}

/// Thumbor's `_composite` in doubles: with transparencies `ts = 1−αs`, `td = 1−αd`,
/// `out = (αs·cs + αd·cd·ts) / (1 − ts·td)` and `αout = 1 − ts·td`.
#[inline]
fn blend_rgba(dst: &mut [u8], src: &[u8]) {
    let source_transparency = f64::from(255 - src[3]) / 255.0;
    let destination_transparency = f64::from(255 - dst[3]) / 255.0;
    let transparency = source_transparency * destination_transparency;
    let coverage = 1.0 - transparency;
    let scale = if coverage <= 1.0e-12 {
        1.0
    } else {
        1.0 / coverage
    };
    for c in 0..3 {
        let value = scale
            * ((1.0 - source_transparency) * f64::from(src[c])
                + (1.0 - destination_transparency) * f64::from(dst[c]) * source_transparency);
        dst[c] = value.clamp(0.0, 255.0) as u8;
    }
    dst[3] = (255.0 - 255.0 * transparency).clamp(0.0, 255.0) as u8;
}

/// The same with an opaque destination (`td = 0`).
#[inline]
fn blend_rgb(dst: &mut [u8], src: &[u8]) {
    let source_transparency = f64::from(255 - src[3]) / 255.0;
    for c in 0..3 {
        let value = (1.0 - source_transparency) * f64::from(src[c])
            + f64::from(dst[c]) * source_transparency;
        dst[c] = value.clamp(0.0, 255.0) as u8;
    }
}

/// Copies `layer` onto the canvas, replacing pixels (alpha included for RGBA canvases; an RGB
/// layer is opaque, an RGBA layer on an RGB canvas loses its alpha like PIL's paste into RGB).
pub fn paste(canvas: &mut Canvas<'_>, layer: &Layer<'_>, x: i64, y: i64) {
    let Some([cx, cy, lx, ly, width, height]) = overlap(canvas, layer, x, y) else {
        return;
    };
    let (cc, lc) = (canvas.channels, layer.channels);
    let canvas_stride = canvas.width * cc;
    let layer_stride = layer.width * lc;
    for row in 0..height {
        let canvas_start = (cy + row) * canvas_stride + cx * cc;
        let layer_start = (ly + row) * layer_stride + lx * lc;
        let destination = &mut canvas.pixels[canvas_start..canvas_start + width * cc];
        let source = &layer.pixels[layer_start..layer_start + width * lc];
        if cc == lc {
            destination.copy_from_slice(source);
        } else if cc == 3 {
            for (dst, src) in destination.chunks_exact_mut(3).zip(source.chunks_exact(4)) {
                dst.copy_from_slice(&src[..3]);
            }
        } else {
            for (dst, src) in destination.chunks_exact_mut(4).zip(source.chunks_exact(3)) {
                dst[..3].copy_from_slice(src);
                dst[3] = 255;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_blends_and_clips() {
        // 2x1 RGBA canvas: opaque blue, transparent.
        let mut pixels = vec![0, 0, 255, 255, 0, 0, 0, 0];
        let layer_pixels = [255, 0, 0, 128];
        let layer = Layer {
            pixels: &layer_pixels,
            width: 1,
            height: 1,
            channels: 4,
        };
        let mut canvas = Canvas {
            pixels: &mut pixels,
            width: 2,
            height: 1,
            channels: 4,
        };
        composite_over(&mut canvas, &layer, 0, 0);
        composite_over(&mut canvas, &layer, 1, 0);
        composite_over(&mut canvas, &layer, 2, 0); // outside: nothing
        composite_over(&mut canvas, &layer, -1, 0); // outside: nothing
                                                    // Over opaque blue: red 255·128/255 = 128, blue 255·127/255 = 127, alpha 255.
        assert_eq!(&pixels[..4], &[128, 0, 127, 255]);
        // Over transparent: the layer itself.
        assert_eq!(&pixels[4..], &[255, 0, 0, 128]);
    }

    #[test]
    fn paste_replaces_with_offsets() {
        let mut pixels = vec![9u8; 3 * 3 * 3];
        let layer_pixels: Vec<u8> = (0..16).collect();
        let layer = Layer {
            pixels: &layer_pixels,
            width: 2,
            height: 2,
            channels: 4,
        };
        let mut canvas = Canvas {
            pixels: &mut pixels,
            width: 3,
            height: 3,
            channels: 3,
        };
        paste(&mut canvas, &layer, 2, -1);
        // Only layer pixel (0,1) = [8,9,10,11] lands, at canvas (2,0).
        assert_eq!(&pixels[6..9], &[8, 9, 10]);
        assert_eq!(pixels.iter().filter(|&&v| v == 9).count(), 27 - 3 + 1);
    }
}
