//! Filters that draw another image onto the result: `watermark(url,x,y,alpha[,w_ratio,h_ratio])`
//! and `frame(url)` (an Android nine-patch stretched around the image). The other image's bytes
//! come from the server (`PostTransformContext::assets`); they are decoded here, and the drawing
//! works on decoded images.

use super::super::decode::{decode, DecodeOptions};
use super::super::{Image, ImagingError, PixelLayout};
use super::composite::{composite_over, Canvas, Layer};
use super::params::{parse_digits, ParamValue, Params};
use super::{
    ensure_rgba, resize, AssetLoader, FilterCall, PostTransformContext, MAX_CANVAS_PIXELS,
};
use std::collections::HashMap;

/// Decodes the asset fetched for `url` (first frame only). A missing or undecodable asset is
/// the client's problem: 400, as Thumbor answers for a watermark it cannot load.
pub fn load_asset(
    assets: &HashMap<String, bytes::Bytes>,
    url: &str,
) -> Result<Image, ImagingError> {
    let bytes = assets
        .get(url)
        .ok_or_else(|| ImagingError::BadRequest(format!("image {url:?} was not loaded")))?;
    let options = DecodeOptions {
        first_frame_only: true,
        ..DecodeOptions::new(MAX_CANVAS_PIXELS)
    };
    decode(bytes, &options)
        .map_err(|e| ImagingError::BadRequest(format!("image {url:?} cannot be used: {e}")))
}

/// The first frame of `image` as RGBA pixels.
fn first_frame_rgba(mut image: Image) -> Result<(Vec<u8>, u32, u32), ImagingError> {
    ensure_rgba(&mut image);
    let (width, height) = (image.width, image.height);
    let frame = image
        .frames
        .into_iter()
        .next()
        .ok_or_else(|| ImagingError::BadRequest("image has no frames".into()))?;
    Ok((frame.pixels, width, height))
}

/// Where and how a watermark is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WatermarkPlacement {
    pub x: WatermarkPosition,
    pub y: WatermarkPosition,
    /// 0 (opaque) ..= 100 (invisible): the watermark's alpha is lowered by `255*alpha/100`.
    pub alpha: i64,
    /// Fractions (percent/100) of the image size the watermark must fit in.
    pub width_ratio: Option<f64>,
    pub height_ratio: Option<f64>,
}

/// The watermark size that fits `w_ratio`·W × `h_ratio`·H keeping its aspect ratio
/// (Thumbor's `calc_watermark_size`, Python's half-even `round`).
pub fn watermark_size(
    image_size: (u32, u32),
    mark_size: (u32, u32),
    width_ratio: Option<f64>,
    height_ratio: Option<f64>,
) -> (f64, f64) {
    let (mark_w, mark_h) = (f64::from(mark_size.0), f64::from(mark_size.1));
    let mut max_w = width_ratio
        .map(|r| f64::from(image_size.0) * r)
        .unwrap_or(0.0);
    let mut max_h = height_ratio
        .map(|r| f64::from(image_size.1) * r)
        .unwrap_or(0.0);
    if max_w == 0.0 {
        max_w = mark_w * max_h / mark_h;
    }
    if max_h == 0.0 {
        max_h = mark_h * max_w / mark_w;
    }
    if mark_w / max_w >= mark_h / max_h {
        (
            max_w.round_ties_even(),
            (mark_h * max_w / mark_w).round_ties_even(),
        )
    } else {
        (
            (mark_w * max_h / mark_h).round_ties_even(),
            max_h.round_ties_even(),
        )
    }
}

/// A position on one axis after percentages are resolved.
enum Axis {
    At(i64),
    Repeat,
}

/// Thumbor's `detect_and_get_ratio_position`: `Np` becomes `round(length·N/100 + 1e-5)`
/// pixels, keeping the sign (and so the far-edge meaning).
fn resolve_percent(position: WatermarkPosition, length: i64) -> WatermarkPosition {
    match position {
        WatermarkPosition::Percent {
            from_far_edge,
            value,
        } => {
            let resolved = (length as f64 * value as f64 / 100.0 + 1e-5).round_ties_even() as i64;
            WatermarkPosition::Pixels {
                from_far_edge,
                value: if from_far_edge { -resolved } else { resolved },
            }
        }
        other => other,
    }
}

/// Resolves `Np`, `-N`, `center` against the image length and the watermark length.
fn resolve_axis(position: WatermarkPosition, length: i64, mark_length: i64) -> Axis {
    match resolve_percent(position, length) {
        WatermarkPosition::Repeat => Axis::Repeat,
        WatermarkPosition::Center => Axis::At(((length - mark_length) as f64 / 2.0) as i64),
        WatermarkPosition::Pixels {
            from_far_edge: true,
            value,
        } => Axis::At((length - mark_length) + value),
        WatermarkPosition::Pixels { value, .. } | WatermarkPosition::Percent { value, .. } => {
            Axis::At(value)
        }
    }
}

/// Tiling along one axis: (count, gap) as Thumbor derives it from `divmod`.
fn tiling(length: i64, mark_length: i64) -> (i64, i64) {
    if (length as f64) / (mark_length as f64) < 2.0 {
        (((length as f64) / (mark_length as f64)).ceil() as i64, 10)
    } else {
        (
            length.div_euclid(mark_length),
            length.rem_euclid(mark_length),
        )
    }
}

/// The top-left corners where the watermark is drawn.
fn placements(x: Axis, y: Axis, image_size: (i64, i64), mark_size: (i64, i64)) -> Vec<(i64, i64)> {
    let (width, height) = image_size;
    let (mark_w, mark_h) = mark_size;
    let spacing = |(count, gap): (i64, i64)| gap.div_euclid(count.max(2) - 1);
    match (x, y) {
        (Axis::At(x), Axis::At(y)) => vec![(x, y)],
        (Axis::Repeat, Axis::Repeat) => {
            let mut repeat_x = tiling(width, mark_w);
            let mut repeat_y = tiling(height, mark_h);
            if repeat_x.0.saturating_mul(repeat_y.0) > 100 {
                let count_x = repeat_x.0.min(6);
                let count_y = repeat_y.0.min(6);
                repeat_x = (count_x, width - count_x * mark_w);
                repeat_y = (count_y, height - count_y * mark_h);
            }
            let (space_x, space_y) = (spacing(repeat_x), spacing(repeat_y));
            let mut spots = Vec::new();
            for i in 0..repeat_x.0.max(0) {
                for j in 0..repeat_y.0.max(0) {
                    spots.push((i * space_x + i * mark_w, j * space_y + j * mark_h));
                }
            }
            spots
        }
        (Axis::Repeat, Axis::At(y)) => {
            let repeat_x = tiling(width, mark_w);
            let space_x = spacing(repeat_x);
            (0..repeat_x.0.max(0))
                .map(|i| (i * space_x + i * mark_w, y))
                .collect()
        }
        (Axis::At(x), Axis::Repeat) => {
            let repeat_y = tiling(height, mark_h);
            let space_y = spacing(repeat_y);
            (0..repeat_y.0.max(0))
                .map(|j| (x, j * space_y + j * mark_h))
                .collect()
        }
    }
}

/// Draws `mark` on every frame of `image`, alpha-composited.
pub fn watermark(
    image: &mut Image,
    mark: Image,
    placement: &WatermarkPlacement,
) -> Result<(), ImagingError> {
    let (mut mark_pixels, mut mark_w, mut mark_h) = first_frame_rgba(mark)?;
    let alpha_drop = 255 * placement.alpha.clamp(0, i64::from(i32::MAX)) / 100;
    for pixel in mark_pixels.chunks_exact_mut(4) {
        pixel[3] = (i64::from(pixel[3]) - alpha_drop).clamp(0, 255) as u8;
    }
    if placement.width_ratio.is_some() || placement.height_ratio.is_some() {
        let (new_w, new_h) = watermark_size(
            (image.width, image.height),
            (mark_w, mark_h),
            placement.width_ratio,
            placement.height_ratio,
        );
        if !(new_w >= 1.0 && new_h >= 1.0 && new_w * new_h <= MAX_CANVAS_PIXELS as f64) {
            return Err(ImagingError::BadRequest(format!(
                "watermark size {new_w}x{new_h} is not usable"
            )));
        }
        let (new_w, new_h) = (new_w as u32, new_h as u32);
        mark_pixels = resize::resize_pixels(
            &mark_pixels,
            PixelLayout::Rgba8,
            (mark_w, mark_h),
            (new_w, new_h),
        )?;
        (mark_w, mark_h) = (new_w, new_h);
    }
    if mark_w == 0 || mark_h == 0 {
        return Err(ImagingError::BadRequest("empty watermark".into()));
    }
    let image_size = (i64::from(image.width), i64::from(image.height));
    let mark_size = (i64::from(mark_w), i64::from(mark_h));
    let x = resolve_axis(placement.x, image_size.0, mark_size.0);
    let y = resolve_axis(placement.y, image_size.1, mark_size.1);
    let spots = placements(x, y, image_size, mark_size);

    let layer = Layer {
        pixels: &mark_pixels,
        width: mark_w as usize,
        height: mark_h as usize,
        channels: 4,
    };
    let channels = image.layout.channels();
    let (width, height) = (image.width as usize, image.height as usize);
    for frame in &mut image.frames {
        let mut canvas = Canvas {
            pixels: &mut frame.pixels,
            width,
            height,
            channels,
        };
        for &(x, y) in &spots {
            composite_over(&mut canvas, &layer, x, y);
        }
    }
    Ok(())
}

/// A nine-patch: its RGBA pixels including the one-pixel marker border.
struct NinePatch {
    pixels: Vec<u8>,
    width: usize,
    height: usize,
}

impl NinePatch {
    fn at(&self, x: usize, y: usize) -> &[u8] {
        let offset = (y * self.width + x) * 4;
        &self.pixels[offset..offset + 4]
    }

    /// Opaque black marks a stretchable row/column (or, on the right/bottom border, the
    /// content area).
    fn is_stretchy(&self, x: usize, y: usize) -> bool {
        self.at(x, y) == [0, 0, 0, 255]
    }

    fn inner_columns(&self) -> std::ops::Range<usize> {
        1..self.width.saturating_sub(1)
    }

    fn inner_rows(&self) -> std::ops::Range<usize> {
        1..self.height.saturating_sub(1)
    }

    /// Thumbor's `get_padding`: (left, top, right, bottom) from the bottom and right markers.
    fn padding(&self) -> (usize, usize, usize, usize) {
        if self.width < 3 || self.height < 3 {
            return (0, 0, 0, 0);
        }
        let (last_x, last_y) = (self.width - 1, self.height - 1);
        let left = self
            .inner_columns()
            .find(|&x| self.is_stretchy(x, last_y))
            .map_or(0, |x| x - 1);
        let right = self
            .inner_columns()
            .rev()
            .find(|&x| self.is_stretchy(x, last_y))
            .map_or(0, |x| self.width - 2 - x);
        let top = self
            .inner_rows()
            .find(|&y| self.is_stretchy(last_x, y))
            .map_or(0, |y| y - 1);
        let bottom = self
            .inner_rows()
            .rev()
            .find(|&y| self.is_stretchy(last_x, y))
            .map_or(0, |y| self.height - 2 - y);
        (left, top, right, bottom)
    }

    /// Bilinear sample of channel `c` between (x, y) and its right/lower neighbours.
    fn sample(&self, x: usize, y: usize, x_fraction: f64, y_fraction: f64, c: usize) -> f64 {
        let a = self.at(x, y)[c];
        let x1 = (x + 1).min(self.width - 1);
        let y1 = (y + 1).min(self.height - 1);
        let b = self.at(x1, y)[c];
        let cc = self.at(x, y1)[c];
        let d = self.at(x1, y1)[c];
        if a == b && a == cc && a == d {
            return f64::from(a);
        }
        let combined = f64::from(a) * (1.0 - x_fraction) * (1.0 - y_fraction)
            + f64::from(b) * x_fraction * (1.0 - y_fraction)
            + f64::from(cc) * (1.0 - x_fraction) * y_fraction
            + f64::from(d) * x_fraction * y_fraction;
        f64::from(combined.clamp(0.0, 255.0) as u8)
    }

    /// Draws the source cell (sx, sy, sw, sh) stretched over the target cell, composited on
    /// the opaque RGB target. Cells that do not fit are skipped.
    #[allow(clippy::too_many_arguments)]
    fn paste_cell(
        &self,
        source: (usize, usize, usize, usize),
        target: &mut [u8],
        target_w: usize,
        target_h: usize,
        cell: (usize, usize, usize, usize),
    ) {
        let (sx, sy, sw, sh) = source;
        let (tx, ty, tw, th) = cell;
        if tx + tw > target_w || ty + th > target_h || tw == 0 || th == 0 {
            return;
        }
        let x_ratio = (sw as f64 - 1.0) / tw as f64;
        let y_ratio = (sh as f64 - 1.0) / th as f64;
        for y in 0..th {
            let source_y = (y_ratio * y as f64) as usize;
            let y_fraction = y_ratio * y as f64 - source_y as f64;
            let row = (ty + y) * target_w * 3;
            for x in 0..tw {
                let source_x = (x_ratio * x as f64) as usize;
                let x_fraction = x_ratio * x as f64 - source_x as f64;
                let (px, py) = (sx + source_x, sy + source_y);
                let transparency = (255.0 - self.sample(px, py, x_fraction, y_fraction, 3)) / 255.0;
                let at = row + (tx + x) * 3;
                for c in 0..3 {
                    let value = self.sample(px, py, x_fraction, y_fraction, c);
                    let blended =
                        (1.0 - transparency) * value + f64::from(target[at + c]) * transparency;
                    target[at + c] = blended.clamp(0.0, 255.0) as u8;
                }
            }
        }
    }

    /// Runs of equal stretchiness along the top marker row (or left marker column).
    fn runs(&self, horizontal: bool) -> Vec<(usize, usize, bool)> {
        let (range, stretchy): (std::ops::Range<usize>, Box<dyn Fn(usize) -> bool + '_>) =
            if horizontal {
                (self.inner_columns(), Box::new(|x| self.is_stretchy(x, 0)))
            } else {
                (self.inner_rows(), Box::new(|y| self.is_stretchy(0, y)))
            };
        let mut runs: Vec<(usize, usize, bool)> = Vec::new();
        for index in range {
            let flag = stretchy(index);
            match runs.last_mut() {
                Some((_, length, last_flag)) if *last_flag == flag => *length += 1,
                _ => runs.push((index, 1, flag)),
            }
        }
        runs
    }

    /// Fills the opaque RGB `target` with the nine-patch scaled to its size.
    fn draw(&self, target: &mut [u8], target_w: usize, target_h: usize) {
        let columns = self.runs(true);
        let rows = self.runs(false);
        let stretch_sum = |runs: &[(usize, usize, bool)]| -> usize {
            runs.iter().filter(|r| r.2).map(|r| r.1).sum()
        };
        let (stretchy_w, stretchy_h) = (stretch_sum(&columns), stretch_sum(&rows));
        let fixed_w = columns.iter().map(|r| r.1).sum::<usize>() - stretchy_w;
        let fixed_h = rows.iter().map(|r| r.1).sum::<usize>() - stretchy_h;
        let target_stretchy_w = target_w.saturating_sub(fixed_w);
        let target_stretchy_h = target_h.saturating_sub(fixed_h);
        let scaled = |length: usize, stretchy: bool, total: usize, target_total: usize| {
            if stretchy {
                (length as f64 / total as f64 * target_total as f64 + 0.5) as usize
            } else {
                length
            }
        };
        let mut target_y = 0;
        for &(source_y, source_h, row_stretchy) in &rows {
            let cell_h = scaled(source_h, row_stretchy, stretchy_h, target_stretchy_h);
            let mut target_x = 0;
            for &(source_x, source_w, column_stretchy) in &columns {
                let cell_w = scaled(source_w, column_stretchy, stretchy_w, target_stretchy_w);
                self.paste_cell(
                    (source_x, source_y, source_w, source_h),
                    target,
                    target_w,
                    target_h,
                    (target_x, target_y, cell_w, cell_h),
                );
                target_x += cell_w;
            }
            target_y += cell_h;
        }
    }
}

/// `frame(url)`: the image is flattened onto white, padded by the nine-patch's content
/// markers, then the nine-patch is drawn over it stretched to the new size. The result is
/// opaque (RGB).
pub fn frame(image: &mut Image, nine_patch: Image) -> Result<(), ImagingError> {
    let (pixels, np_w, np_h) = first_frame_rgba(nine_patch)?;
    let patch = NinePatch {
        pixels,
        width: np_w as usize,
        height: np_h as usize,
    };
    let (left, top, right, bottom) = patch.padding();
    let new_w = image.width as usize + left + right;
    let new_h = image.height as usize + top + bottom;
    if (new_w as u64) * (new_h as u64) > MAX_CANVAS_PIXELS {
        return Err(ImagingError::TooLarge(
            "frame canvas over the pixel limit".into(),
        ));
    }
    let channels = image.layout.channels();
    let (width, height) = (image.width as usize, image.height as usize);
    for frame in &mut image.frames {
        let mut canvas_pixels = vec![255u8; new_w * new_h * 3];
        let mut canvas = Canvas {
            pixels: &mut canvas_pixels,
            width: new_w,
            height: new_h,
            channels: 3,
        };
        let layer = Layer {
            pixels: &frame.pixels,
            width,
            height,
            channels,
        };
        composite_over(&mut canvas, &layer, left as i64, top as i64);
        patch.draw(&mut canvas_pixels, new_w, new_h);
        frame.pixels = canvas_pixels;
    }
    image.width = new_w as u32;
    image.height = new_h as u32;
    image.layout = PixelLayout::Rgb8;
    Ok(())
}

/// A horizontal or vertical watermark position as written: a number of pixels (a leading `-`
/// counts from the far edge, even for `-0`), a percentage (`Np`), `center` or `repeat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WatermarkPosition {
    Pixels { from_far_edge: bool, value: i64 },
    Percent { from_far_edge: bool, value: i64 },
    Center,
    Repeat,
}

/// `watermark(url,x,y,alpha[,w_ratio,h_ratio])`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Watermark {
    pub(super) url: String,
    pub(super) placement: WatermarkPlacement,
}

impl FilterCall for Watermark {
    fn build(params: &Params<'_>) -> Option<Self> {
        Some(Watermark {
            url: params.text(0)?.to_string(),
            placement: WatermarkPlacement {
                x: parse_watermark_position(params.text(1)?)?,
                y: parse_watermark_position(params.text(2)?)?,
                alpha: params.int(3)?,
                width_ratio: parse_watermark_ratio(params.get(4))?,
                height_ratio: parse_watermark_ratio(params.get(5))?,
            },
        })
    }

    fn post_transform(
        &self,
        image: &mut Image,
        _ctx: &PostTransformContext<'_>,
        load: &AssetLoader<'_>,
    ) -> Result<(), ImagingError> {
        let mark = load(&self.url)?;
        watermark(image, mark, &self.placement)
    }

    fn asset_url(&self) -> Option<&str> {
        Some(&self.url)
    }
}

/// `frame(url)`: the nine-patch image at `url`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Frame(pub(super) String);

impl FilterCall for Frame {
    fn build(params: &Params<'_>) -> Option<Self> {
        Some(Frame(params.text(0)?.to_string()))
    }

    fn post_transform(
        &self,
        image: &mut Image,
        _ctx: &PostTransformContext<'_>,
        load: &AssetLoader<'_>,
    ) -> Result<(), ImagingError> {
        let nine_patch = load(&self.0)?;
        frame(image, nine_patch)
    }

    fn asset_url(&self) -> Option<&str> {
        Some(&self.0)
    }
}

fn parse_watermark_position(text: &str) -> Option<WatermarkPosition> {
    match text {
        "center" => return Some(WatermarkPosition::Center),
        "repeat" => return Some(WatermarkPosition::Repeat),
        _ => {}
    }
    let (from_far_edge, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    match rest.strip_suffix('p') {
        Some(digits) => Some(WatermarkPosition::Percent {
            from_far_edge,
            value: parse_digits(digits)?,
        }),
        None => {
            let value = parse_digits(rest)?;
            Some(WatermarkPosition::Pixels {
                from_far_edge,
                value: if from_far_edge { -value } else { value },
            })
        }
    }
}

/// `w_ratio`/`h_ratio`: a percentage, `none`, or absent. `0` counts as absent (Python's
/// `0.0` is falsy). Returns `Some(None)` for "no ratio".
fn parse_watermark_ratio(value: Option<&ParamValue>) -> Option<Option<f64>> {
    let Some(value) = value else {
        return Some(None);
    };
    let text = value.as_str()?;
    if text == "none" {
        return Some(None);
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let magnitude = parse_digits(digits)? as f64 / 100.0;
    let ratio = if negative { -magnitude } else { magnitude };
    Some(if ratio == 0.0 { None } else { Some(ratio) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgba_image(width: u32, height: u32, pixels: Vec<u8>) -> Image {
        use super::super::super::{ImageFormat, SourceInfo};
        let layout = if pixels.len() == (width * height * 4) as usize {
            PixelLayout::Rgba8
        } else {
            PixelLayout::Rgb8
        };
        let source = SourceInfo::plain(ImageFormat::Png, width, height);
        Image::still(width, height, layout, pixels, source)
    }

    /// A 5x5 nine-patch: stretchable middle column and row, content markers giving one pixel
    /// of padding on each side; red corners, green edges, transparent centre.
    #[test]
    fn frame_pads_and_stretches_the_nine_patch() {
        const CLEAR: [u8; 4] = [0, 0, 0, 0];
        const MARK: [u8; 4] = [0, 0, 0, 255];
        const RED: [u8; 4] = [255, 0, 0, 255];
        const GREEN: [u8; 4] = [0, 255, 0, 255];
        #[rustfmt::skip]
        let patch = [
            CLEAR, CLEAR, MARK,  CLEAR, CLEAR,
            CLEAR, RED,   GREEN, RED,   CLEAR,
            MARK,  GREEN, CLEAR, GREEN, MARK,
            CLEAR, RED,   GREEN, RED,   CLEAR,
            CLEAR, CLEAR, MARK,  CLEAR, CLEAR,
        ];
        let nine_patch = rgba_image(5, 5, patch.concat());
        let mut image = rgba_image(4, 3, [0u8, 0, 255].repeat(12));
        frame(&mut image, nine_patch).unwrap();
        assert_eq!(
            (image.width, image.height, image.layout),
            (6, 5, PixelLayout::Rgb8)
        );
        let px = |x: usize, y: usize| {
            let at = (y * 6 + x) * 3;
            image.frames[0].pixels[at..at + 3].to_vec()
        };
        for (x, y) in [(0, 0), (5, 0), (0, 4), (5, 4)] {
            assert_eq!(px(x, y), vec![255, 0, 0], "corner {x},{y}");
        }
        for (x, y) in [(1, 0), (4, 0), (0, 1), (0, 3), (5, 2), (2, 4)] {
            assert_eq!(px(x, y), vec![0, 255, 0], "edge {x},{y}");
        }
        for (x, y) in [(1, 1), (4, 3), (2, 2)] {
            assert_eq!(px(x, y), vec![0, 0, 255], "centre {x},{y}");
        }
    }

    /// Padding comes from the content guides on the right column and bottom row: here 2 left
    /// and 1 right (bottom guides at x = 3..=4 of a 7-wide patch), 1 top and 2 bottom (right
    /// guides at y = 2..=3), so a 10x8 image becomes exactly 13x11.
    #[test]
    fn frame_padding_is_read_from_the_content_guides() {
        const CLEAR: [u8; 4] = [0, 0, 0, 0];
        const MARK: [u8; 4] = [0, 0, 0, 255];
        let mut patch = [CLEAR; 49];
        for x in [3, 4] {
            patch[6 * 7 + x] = MARK;
        }
        for y in [2, 3] {
            patch[y * 7 + 6] = MARK;
        }
        // A stretchable middle, so the patch is a real nine-patch.
        patch[3] = MARK;
        patch[3 * 7] = MARK;
        let nine_patch = rgba_image(7, 7, patch.concat());
        let mut image = rgba_image(10, 8, [9u8, 9, 9].repeat(80));
        frame(&mut image, nine_patch).unwrap();
        assert_eq!((image.width, image.height), (13, 11));
        // The image sits at (left, top) = (2, 1) on the white padding.
        let px = |x: usize, y: usize| {
            let at = (y * 13 + x) * 3;
            image.frames[0].pixels[at..at + 3].to_vec()
        };
        assert_eq!(px(2, 1), vec![9, 9, 9]);
        assert_eq!(px(11, 8), vec![9, 9, 9]);
        assert_eq!(px(1, 1), vec![255, 255, 255]);
        assert_eq!(px(12, 10), vec![255, 255, 255]);
    }

    #[test]
    fn watermark_alpha_and_position() {
        // A 2x2 white image, a 1x1 opaque black mark at -0 (far edge) with alpha 50:
        // 255*50/100 = 127 → mark alpha 128 → 255·127/255 = 127.
        let mut image = rgba_image(2, 2, vec![255; 12]);
        let mark = rgba_image(1, 1, vec![0, 0, 0, 255]);
        let placement = WatermarkPlacement {
            x: WatermarkPosition::Pixels {
                from_far_edge: true,
                value: 0,
            },
            y: WatermarkPosition::Pixels {
                from_far_edge: false,
                value: 0,
            },
            alpha: 50,
            width_ratio: None,
            height_ratio: None,
        };
        watermark(&mut image, mark, &placement).unwrap();
        assert_eq!(
            image.frames[0].pixels,
            vec![255, 255, 255, 127, 127, 127, 255, 255, 255, 255, 255, 255]
        );
    }

    #[test]
    fn missing_asset_is_a_bad_request() {
        let assets = HashMap::new();
        assert!(matches!(
            load_asset(&assets, "nope.png"),
            Err(ImagingError::BadRequest(_))
        ));
    }

    // tests/filters/test_watermark.py test_watermark_filter_calculated_resizing with the
    // SOURCE_IMAGE_SIZES x WATERMARK_IMAGE_SIZES x RATIOS of watermark_fixtures.py.
    #[test]
    fn watermark_size_fits_the_ratio_box() {
        let sources = [(800u32, 600u32), (600, 600), (600, 800)];
        let marks = [
            (1200u32, 900u32),
            (900, 900),
            (900, 1200),
            (1200, 500),
            (700, 400),
            (400, 700),
            (800, 600),
            (600, 600),
            (500, 300),
            (300, 300),
            (300, 500),
        ];
        let ratios: [(Option<u32>, Option<u32>); 25] = [
            (Some(300), None),
            (Some(200), None),
            (Some(100), None),
            (Some(50), None),
            (Some(25), None),
            (None, Some(300)),
            (None, Some(200)),
            (None, Some(100)),
            (None, Some(50)),
            (None, Some(25)),
            (Some(300), Some(300)),
            (Some(200), Some(200)),
            (Some(100), Some(100)),
            (Some(50), Some(50)),
            (Some(25), Some(25)),
            (Some(300), Some(25)),
            (Some(300), Some(50)),
            (Some(300), Some(100)),
            (Some(300), Some(200)),
            (Some(25), Some(300)),
            (Some(50), Some(300)),
            (Some(100), Some(300)),
            (Some(200), Some(300)),
            (Some(25), Some(50)),
            (Some(50), Some(25)),
        ];
        for image in sources {
            for mark in marks {
                for (wr, hr) in ratios {
                    let max_w =
                        wr.map_or(f64::INFINITY, |r| f64::from(image.0) * f64::from(r) / 100.0);
                    let max_h =
                        hr.map_or(f64::INFINITY, |r| f64::from(image.1) * f64::from(r) / 100.0);
                    let (w, h) = watermark_size(
                        image,
                        mark,
                        wr.map(|r| f64::from(r) / 100.0),
                        hr.map(|r| f64::from(r) / 100.0),
                    );
                    let case = format!("{image:?} {mark:?} {wr:?} {hr:?} -> {w}x{h}");
                    assert!(w <= max_w && h <= max_h, "fits: {case}");
                    assert!(w == max_w || h == max_h, "fills: {case}");
                    let ratio = f64::from(mark.0) / f64::from(mark.1);
                    assert!((1.0 - (w / h) / ratio).abs() <= 0.02, "ratio: {case}");
                }
            }
        }
        // 50% of 800 wide for a 30x30 mark → 400x400.
        assert_eq!(
            watermark_size((800, 533), (30, 30), Some(0.5), None),
            (400.0, 400.0)
        );
    }

    // POSITIONS of tests/fixtures/watermark_fixtures.py: (length, position, expected).
    #[test]
    fn percent_positions() {
        use WatermarkPosition::*;
        let percent = |from_far_edge, value| Percent {
            from_far_edge,
            value,
        };
        let pixels = |from_far_edge, value| Pixels {
            from_far_edge,
            value,
        };
        let rows = [
            (800, percent(true, 20), pixels(true, -160)),
            (800, percent(false, 30), pixels(false, 240)),
            (800, percent(false, 230), pixels(false, 1840)),
            (50, percent(false, 37), pixels(false, 19)),
            (55, percent(false, 53), pixels(false, 29)),
            (55, percent(true, 53), pixels(true, -29)),
            (800, Center, Center),
            (800, pixels(false, 30), pixels(false, 30)),
            (800, pixels(true, -40), pixels(true, -40)),
            (800, Repeat, Repeat),
        ];
        for (length, position, expected) in rows {
            assert_eq!(
                resolve_percent(position, length),
                expected,
                "{length} {position:?}"
            );
        }
        // -30p of 533 with a 30 px mark: 533 - 30 - 160.
        assert!(matches!(
            resolve_axis(percent(true, 30), 533, 30),
            Axis::At(343)
        ));
        assert!(matches!(resolve_axis(Center, 800, 31), Axis::At(384)));
        // int() truncates toward zero: (10 - 31) / 2 = -10.5 → -10.
        assert!(matches!(resolve_axis(Center, 10, 31), Axis::At(-10)));
    }

    #[test]
    fn tiling_positions() {
        // 100 wide, 30 px mark: divmod = (3, 10) → gap 10 // 2 = 5: x = 0, 35, 70.
        let spots = placements(Axis::Repeat, Axis::At(7), (100, 50), (30, 30));
        assert_eq!(spots, vec![(0, 7), (35, 7), (70, 7)]);
        // Mark wider than half the image: ceil(50/30) = 2 tiles with a gap of 10.
        let spots = placements(Axis::At(0), Axis::Repeat, (10, 50), (30, 30));
        assert_eq!(spots, vec![(0, 0), (0, 40)]);
        // More than 100 tiles on both axes: capped at 6x6.
        let spots = placements(Axis::Repeat, Axis::Repeat, (800, 533), (30, 30));
        assert_eq!(spots.len(), 36);
    }
}
