//! The steps that move pixels: EXIF orientation, flips, trim's bounding-box scan, crop and
//! resize in one fast_image_resize pass (RESAMPLING_FILTER, Lanczos3 by default, alpha
//! premultiplied), crops, and the debug outlines. (The JPEG planes road's resize, plane by
//! plane, is `jpeg::planes_resize`.)
//! Every step works on every frame of an animated image.

use super::geometry::{DebugRectangle, PixelRect, Size};
use super::{Frame, Image, ImagingError, PixelLayout};
use crate::url::TrimPosition;
use fast_image_resize as fir;

/// The kernel of the main resize (RESAMPLING_FILTER, or Thumbor's PILLOW_RESAMPLING_FILTER).
/// Lanczos3 is Pillow's LANCZOS, Thumbor's default; the others trade sharpness for speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResamplingFilter {
    Nearest,
    Box,
    Bilinear,
    Hamming,
    /// Catmull-Rom, what Pillow calls BICUBIC.
    Bicubic,
    Mitchell,
    Gaussian,
    #[default]
    Lanczos3,
}

impl ResamplingFilter {
    /// The names accepted in configuration: Pillow's (`LANCZOS`, `ANTIALIAS`, `BICUBIC`,
    /// `BILINEAR`, `HAMMING`, `BOX`, `NEAREST`) and imgproxy-style ones (`lanczos3`, `cubic`,
    /// `linear`, `catmullrom`, `mitchell`, `gaussian`), any case.
    pub fn from_name(name: &str) -> Option<ResamplingFilter> {
        let name = name.trim().to_ascii_lowercase();
        Some(match name.as_str() {
            "nearest" => ResamplingFilter::Nearest,
            "box" => ResamplingFilter::Box,
            "bilinear" | "linear" => ResamplingFilter::Bilinear,
            "hamming" => ResamplingFilter::Hamming,
            "bicubic" | "cubic" | "catmullrom" | "catmull-rom" => ResamplingFilter::Bicubic,
            "mitchell" => ResamplingFilter::Mitchell,
            "gaussian" => ResamplingFilter::Gaussian,
            "lanczos" | "lanczos3" | "antialias" => ResamplingFilter::Lanczos3,
            _ => return None,
        })
    }

    pub(crate) fn algorithm(self) -> fir::ResizeAlg {
        let convolution = |filter| fir::ResizeAlg::Convolution(filter);
        match self {
            ResamplingFilter::Nearest => fir::ResizeAlg::Nearest,
            ResamplingFilter::Box => convolution(fir::FilterType::Box),
            ResamplingFilter::Bilinear => convolution(fir::FilterType::Bilinear),
            ResamplingFilter::Hamming => convolution(fir::FilterType::Hamming),
            ResamplingFilter::Bicubic => convolution(fir::FilterType::CatmullRom),
            ResamplingFilter::Mitchell => convolution(fir::FilterType::Mitchell),
            ResamplingFilter::Gaussian => convolution(fir::FilterType::Gaussian),
            ResamplingFilter::Lanczos3 => convolution(
                fir::Filter::new("Lanczos3", lanczos3, 3.0)
                    .map_or(fir::FilterType::Lanczos3, fir::FilterType::Custom),
            ),
        }
    }
}

/// Lanczos3, `sinc(x) sinc(x/3)` on `-3 < x < 3`, read from a table of [`lanczos3_exact`]
/// with linear interpolation: the resizer evaluates the kernel a few thousand times per
/// resize and per axis, and with a sine each time that was ~3% of a small render. The table
/// is within 2e-6 of the exact kernel, far below the 1/16384 steps of fast_image_resize's
/// fixed-point weights.
fn lanczos3(x: f64) -> f64 {
    /// Table entries per unit of `x`.
    const STEPS: usize = 1024;
    static TABLE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    let x = x.abs();
    if x >= 3.0 {
        return 0.0;
    }
    let table = TABLE.get_or_init(|| {
        (0..=3 * STEPS + 1)
            .map(|i| lanczos3_exact(i as f64 / STEPS as f64) as f32)
            .collect()
    });
    let position = x * STEPS as f64;
    let index = position as usize;
    let (low, high) = (f64::from(table[index]), f64::from(table[index + 1]));
    low + (high - low) * (position - index as f64)
}

/// Lanczos3 with one sine instead of two: with `t = πx/3` and `s = sin t`,
/// `sin 3t = s (3 - 4s²)`, so the product is `s² (3 - 4s²) / 3t²`. Equal to the two-sine form
/// within 1e-15.
fn lanczos3_exact(x: f64) -> f64 {
    if x == 0.0 {
        return 1.0;
    }
    if !(-3.0..3.0).contains(&x) {
        return 0.0;
    }
    let t = x * std::f64::consts::FRAC_PI_3;
    let s2 = t.sin().powi(2);
    s2 * (3.0 - 4.0 * s2) / (3.0 * t * t)
}

/// A rectangle in (possibly fractional) pixel coordinates: the part of a source that a
/// resize reads. Fractions come from shrink-on-load and normalize, which scale coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

impl Region {
    pub fn from_rect(rect: PixelRect) -> Region {
        Region {
            left: f64::from(rect.left),
            top: f64::from(rect.top),
            width: f64::from(rect.right - rect.left),
            height: f64::from(rect.bottom - rect.top),
        }
    }

    pub fn scaled(self, scale_x: f64, scale_y: f64) -> Region {
        Region {
            left: self.left * scale_x,
            top: self.top * scale_y,
            width: self.width * scale_x,
            height: self.height * scale_y,
        }
    }

    /// Kept inside `0..width x 0..height` (rounding of scaled coordinates may overshoot by a
    /// hair) and at least a pixel's hundredth wide.
    pub fn clamped_to(self, size: Size) -> Region {
        let (max_w, max_h) = (f64::from(size.width), f64::from(size.height));
        let left = self.left.clamp(0.0, max_w - 0.01);
        let top = self.top.clamp(0.0, max_h - 0.01);
        Region {
            left,
            top,
            width: self.width.clamp(0.01, max_w - left),
            height: self.height.clamp(0.01, max_h - top),
        }
    }

    /// The region as whole pixels, when it is exactly that.
    pub fn as_exact_rect(self) -> Option<PixelRect> {
        let whole = |v: f64| v.fract() == 0.0 && v >= 0.0;
        if !(whole(self.left) && whole(self.top) && whole(self.width) && whole(self.height)) {
            return None;
        }
        Some(PixelRect {
            left: self.left as u32,
            top: self.top as u32,
            right: (self.left + self.width) as u32,
            bottom: (self.top + self.height) as u32,
        })
    }
}

/// Whether EXIF orientation `orientation` turns the image a quarter (width and height swap).
pub fn orientation_swaps_axes(orientation: u8) -> bool {
    matches!(orientation, 5..=8)
}

/// `size` as it looks after EXIF orientation `orientation`.
pub fn oriented_size(size: Size, orientation: u8) -> Size {
    if orientation_swaps_axes(orientation) {
        size.transposed()
    } else {
        size
    }
}

/// Where the oriented image's pixel `(x, y)` comes from in the stored image of `stored`
/// size. Thumbor's mapping (spec §3.1): 2 flip-H; 3 rotate 180; 4 flip-V; 5 transpose;
/// 6 rotate 90 clockwise; 7 transverse; 8 rotate 90 counter-clockwise.
fn stored_pixel(orientation: u8, x: u32, y: u32, stored: Size) -> (u32, u32) {
    let (last_x, last_y) = (stored.width - 1, stored.height - 1);
    match orientation {
        2 => (last_x - x, y),
        3 => (last_x - x, last_y - y),
        4 => (x, last_y - y),
        5 => (y, x),
        6 => (y, last_y - x),
        7 => (last_x - y, last_y - x),
        8 => (last_x - y, x),
        _ => (x, y),
    }
}

/// The region of the stored image that becomes `region` of the oriented image (the
/// continuous version of [`stored_pixel`]), so a crop can be read before orienting.
pub fn unorient_region(region: Region, orientation: u8, stored: (f64, f64)) -> Region {
    let (stored_w, stored_h) = stored;
    let Region {
        left,
        top,
        width,
        height,
    } = region;
    let (right, bottom) = (left + width, top + height);
    let (x0, y0, w, h) = match orientation {
        2 => (stored_w - right, top, width, height),
        3 => (stored_w - right, stored_h - bottom, width, height),
        4 => (left, stored_h - bottom, width, height),
        5 => (top, left, height, width),
        6 => (top, stored_h - right, height, width),
        7 => (stored_w - bottom, stored_h - right, height, width),
        8 => (stored_w - bottom, left, height, width),
        _ => (left, top, width, height),
    };
    Region {
        left: x0,
        top: y0,
        width: w,
        height: h,
    }
}

/// Applies EXIF orientation `orientation` to every frame.
pub fn orient(image: &mut Image, orientation: u8) {
    if !(2..=8).contains(&orientation) {
        return;
    }
    let stored = Size::new(image.width, image.height);
    let oriented = if orientation_swaps_axes(orientation) {
        stored.transposed()
    } else {
        stored
    };
    let channels = image.layout.channels();
    for frame in &mut image.frames {
        let mut pixels = vec![0u8; frame.pixels.len()];
        for y in 0..oriented.height {
            let row = y as usize * oriented.width as usize;
            for x in 0..oriented.width {
                let (sx, sy) = stored_pixel(orientation, x, y, stored);
                let from = (sy as usize * stored.width as usize + sx as usize) * channels;
                let to = (row + x as usize) * channels;
                pixels[to..to + channels].copy_from_slice(&frame.pixels[from..from + channels]);
            }
        }
        frame.pixels = pixels;
    }
    image.width = oriented.width;
    image.height = oriented.height;
}

/// Mirrors every frame left to right.
pub fn flip_horizontal(image: &mut Image) {
    let channels = image.layout.channels();
    let stride = image.stride();
    for frame in &mut image.frames {
        for row in frame.pixels.chunks_exact_mut(stride) {
            let width = row.len() / channels;
            for x in 0..width / 2 {
                let (a, b) = (x * channels, (width - 1 - x) * channels);
                for c in 0..channels {
                    row.swap(a + c, b + c);
                }
            }
        }
    }
}

/// Mirrors every frame top to bottom.
pub fn flip_vertical(image: &mut Image) {
    let stride = image.stride();
    let height = image.height as usize;
    for frame in &mut image.frames {
        for y in 0..height / 2 {
            let (upper, lower) = frame.pixels.split_at_mut((height - 1 - y) * stride);
            upper[y * stride..(y + 1) * stride].swap_with_slice(&mut lower[..stride]);
        }
    }
}

/// Trim's bounding box (spec §3.6) on the first frame, right/bottom exclusive; `None` when
/// nothing differs from the reference corner (Thumbor then ignores trim).
///
/// Thumbor's scan, kept exactly: `left` is the smallest first-differing x of any row, `top`
/// and `bottom` the first and last rows with a differing pixel, and `right` grows only by
/// scanning each row from the right down to (exclusive) max(first-differing x, right so far).
pub fn trim_box(image: &Image, position: TrimPosition, tolerance: u32) -> Option<PixelRect> {
    let channels = image.layout.channels();
    let (width, height) = (image.width as usize, image.height as usize);
    let pixels = &image.frames.first()?.pixels;
    if width == 0 || height == 0 {
        return None;
    }
    let reference_index = match position {
        TrimPosition::TopLeft => 0,
        TrimPosition::BottomRight => (height * width - 1) * channels,
    };
    let reference = &pixels[reference_index..reference_index + channels];
    // sqrt(sum) > tolerance  <=>  sum > tolerance² for integers.
    let limit = u64::from(tolerance) * u64::from(tolerance);
    let differs = |index: usize| {
        let pixel = &pixels[index * channels..(index + 1) * channels];
        let sum: u64 = pixel
            .iter()
            .zip(reference)
            .map(|(&a, &b)| {
                let d = i64::from(a) - i64::from(b);
                (d * d) as u64
            })
            .sum();
        sum > limit
    };

    let (mut left, mut top, mut right, mut bottom) = (width, height, 0usize, 0usize);
    for y in 0..height {
        let row = y * width;
        let first = (0..width).find(|&x| differs(row + x)).unwrap_or(width);
        if first < width {
            left = left.min(first);
            top = top.min(y);
            bottom = y;
        }
        let min_right = first.max(right);
        if let Some(x) = (min_right + 1..width).rev().find(|&x| differs(row + x)) {
            right = right.max(x);
        }
    }
    if right < left || bottom < top {
        return None;
    }
    Some(PixelRect {
        left: left as u32,
        top: top as u32,
        right: right as u32 + 1,
        bottom: bottom as u32 + 1,
    })
}

/// Copies `rect` out of every frame.
pub fn crop(image: &Image, rect: PixelRect) -> Image {
    let channels = image.layout.channels();
    let stride = image.stride();
    let size = rect.size();
    let row_bytes = size.width as usize * channels;
    let frames = image
        .frames
        .iter()
        .map(|frame| {
            let mut pixels = Vec::with_capacity(row_bytes * size.height as usize);
            for y in rect.top..rect.bottom {
                let start = y as usize * stride + rect.left as usize * channels;
                pixels.extend_from_slice(&frame.pixels[start..start + row_bytes]);
            }
            Frame {
                pixels,
                delay_ms: frame.delay_ms,
            }
        })
        .collect();
    Image {
        width: size.width,
        height: size.height,
        layout: image.layout,
        frames,
        source: image.source.clone(),
    }
}

/// Reads `region` of every frame and resamples it to `output` in one pass with `filter` (alpha
/// premultiplied). A whole-pixel region of the output's size is a plain copy.
pub fn crop_resize(
    image: &Image,
    region: Region,
    output: Size,
    filter: ResamplingFilter,
) -> Result<Image, ImagingError> {
    let region = region.clamped_to(Size::new(image.width, image.height));
    if let Some(rect) = region.as_exact_rect() {
        if rect.size() == output {
            return Ok(crop(image, rect));
        }
    }
    let pixel_type = match image.layout {
        PixelLayout::Rgb8 => fir::PixelType::U8x3,
        PixelLayout::Rgba8 => fir::PixelType::U8x4,
    };
    let options = fir::ResizeOptions::new()
        .resize_alg(filter.algorithm())
        .crop(region.left, region.top, region.width, region.height)
        .use_alpha(true);
    // One resizer per call, not per thread: its scratch buffers (a premultiplied copy of the
    // source for RGBA) would otherwise stay alive on every thread of the blocking pool that
    // ever ran a render — 1 GB of RSS after a few seconds of 2048x1536 RGBA renders.
    let mut resizer = fir::Resizer::new();
    let frames = image
        .frames
        .iter()
        .map(|frame| {
            let source =
                fir::images::ImageRef::new(image.width, image.height, &frame.pixels, pixel_type)
                    .map_err(|e| ImagingError::Undecodable(format!("frame buffer: {e}")))?;
            let mut target = fir::images::Image::new(output.width, output.height, pixel_type);
            resizer
                .resize(&source, &mut target, &options)
                .map_err(|e| ImagingError::Encode(format!("resize: {e}")))?;
            Ok(Frame {
                pixels: target.into_vec(),
                delay_ms: frame.delay_ms,
            })
        })
        .collect::<Result<Vec<_>, ImagingError>>()?;
    Ok(Image {
        width: output.width,
        height: output.height,
        layout: image.layout,
        frames,
        source: image.source.clone(),
    })
}

/// Thumbor's debug outline: PIL's default ink (white, opaque) on the 1-pixel border of
/// `[x, x + width] x [y, y + height]`, both ends inclusive, clipped to the image.
pub fn draw_outline(image: &mut Image, rectangle: &DebugRectangle) {
    let channels = image.layout.channels();
    let (width, height) = (i64::from(image.width), i64::from(image.height));
    let (x0, y0) = (rectangle.x, rectangle.y);
    let (x1, y1) = (
        rectangle.x + rectangle.width,
        rectangle.y + rectangle.height,
    );
    let inside = |x: i64, y: i64| x >= 0 && y >= 0 && x < width && y < height;
    for frame in &mut image.frames {
        let mut paint = |x: i64, y: i64| {
            if inside(x, y) {
                let at = (y * width + x) as usize * channels;
                frame.pixels[at..at + channels].fill(255);
            }
        };
        for x in x0.max(-1)..=x1.min(width) {
            paint(x, y0);
            paint(x, y1);
        }
        for y in y0.max(-1)..=y1.min(height) {
            paint(x0, y);
            paint(x1, y);
        }
    }
}

#[cfg(test)]
#[path = "transform_tests.rs"]
mod tests;
