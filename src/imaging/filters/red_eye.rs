//! `red_eye()`: removes red-eye inside the regions of interest the request carries — points
//! from `focal()` ("Explicit") and, once a face detector exists, "Face Detection" points.
//! Without such points it does nothing (Thumbor: no-op without OpenCV or faces).
//!
//! Thumbor finds eyes inside each face with a Haar cascade and cleans the largest red blob of
//! each eye. pictor has no eye detector yet ([`EyeFinder`] is the hook), so inside a region it
//! cleans every red blob at least an eighth the size of the largest (eyes come in similar
//! pairs; small red specks are left alone). A blob is: red > 2·mean(green, blue) and
//! red > 60; it is filled, closed with a 5x5 cross, grown 3 px downward (what Thumbor's
//! `dilate(mask, (3,3))` really does), and its pixels take the grey mean(green, blue).

use super::super::{Image, ImagingError};
use super::params::Params;
use super::{AssetLoader, FilterCall, FocalPoint, PostTransformContext};

/// A rectangle in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
}

/// Finds eye rectangles inside a face rectangle. The default finder has no model and returns
/// the whole region, letting the blob selection find the pupils.
pub trait EyeFinder {
    fn eyes(&self, image: &Image, frame: usize, face: Rect) -> Vec<Rect>;
}

struct WholeRegion;

impl EyeFinder for WholeRegion {
    fn eyes(&self, _image: &Image, _frame: usize, face: Rect) -> Vec<Rect> {
        vec![face]
    }
}

/// The origins whose rectangles `red_eye` works in.
const REGION_ORIGINS: [&str; 2] = ["Explicit", "Face Detection"];

pub fn red_eye(image: &mut Image, focal_points: &[FocalPoint]) {
    red_eye_with(image, focal_points, &WholeRegion);
}

pub fn red_eye_with(image: &mut Image, focal_points: &[FocalPoint], finder: &dyn EyeFinder) {
    let regions: Vec<Rect> = focal_points
        .iter()
        .filter(|p| REGION_ORIGINS.contains(&p.origin))
        .filter_map(|p| region_of(p, image.width as usize, image.height as usize))
        .collect();
    if regions.is_empty() {
        return;
    }
    let (width, channels) = (image.width as usize, image.layout.channels());
    for index in 0..image.frames.len() {
        let eyes: Vec<Rect> = regions
            .iter()
            .flat_map(|&face| finder.eyes(image, index, face))
            .collect();
        let pixels = &mut image.frames[index].pixels;
        for eye in eyes {
            clean_region(pixels, width, channels, eye);
        }
    }
}

/// The focal point's rectangle (`int(x − w/2)`, `int(y − h/2)`, w, h) clipped to the image.
fn region_of(point: &FocalPoint, width: usize, height: usize) -> Option<Rect> {
    let left = (point.x - point.width / 2.0).trunc().max(0.0);
    let top = (point.y - point.height / 2.0).trunc().max(0.0);
    let right = (point.x - point.width / 2.0).trunc() + point.width;
    let bottom = (point.y - point.height / 2.0).trunc() + point.height;
    let right = right.min(width as f64);
    let bottom = bottom.min(height as f64);
    if !(right > left && bottom > top) {
        return None;
    }
    Some(Rect {
        x: left as usize,
        y: top as usize,
        width: (right - left) as usize,
        height: (bottom - top) as usize,
    })
}

/// Cleans the red blobs of one rectangle of a frame.
fn clean_region(pixels: &mut [u8], image_width: usize, channels: usize, rect: Rect) {
    let (w, h) = (rect.width, rect.height);
    let at = |x: usize, y: usize| ((rect.y + y) * image_width + rect.x + x) * channels;
    // Mean of green and blue with OpenCV's saturating 8-bit add.
    let mut grey = vec![0u8; w * h];
    let mut red = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            let p = at(x, y);
            let mean = (u16::from(pixels[p + 1]) + u16::from(pixels[p + 2])).min(255) / 2;
            grey[y * w + x] = mean as u8;
            let r = f32::from(pixels[p]);
            red[y * w + x] = r > 2.0 * f32::from(mean) && r > 60.0;
        }
    }
    let mut mask = select_blobs(&red, w, h);
    mask = erode_cross(&dilate_cross(&mask, w, h), w, h);
    for _ in 0..3 {
        mask = grow_down(&mask, w, h);
    }
    for y in 0..h {
        for x in 0..w {
            if mask[y * w + x] {
                let p = at(x, y);
                let value = grey[y * w + x];
                pixels[p..p + 3].copy_from_slice(&[value, value, value]);
            }
        }
    }
}

/// The 8-connected blobs of `mask` at least an eighth the size of the largest, with their
/// holes filled.
fn select_blobs(mask: &[bool], w: usize, h: usize) -> Vec<bool> {
    let mut labels = vec![0u32; w * h];
    let mut sizes: Vec<usize> = vec![0];
    let mut stack = Vec::new();
    for start in 0..w * h {
        if !mask[start] || labels[start] != 0 {
            continue;
        }
        let label = sizes.len() as u32;
        sizes.push(0);
        labels[start] = label;
        stack.push(start);
        while let Some(index) = stack.pop() {
            sizes[label as usize] += 1;
            let (x, y) = (index % w, index / w);
            for ny in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                    let n = ny * w + nx;
                    if mask[n] && labels[n] == 0 {
                        labels[n] = label;
                        stack.push(n);
                    }
                }
            }
        }
    }
    let largest = sizes.iter().copied().max().unwrap_or(0);
    if largest == 0 {
        return vec![false; w * h];
    }
    let keep: Vec<bool> = sizes.iter().map(|&s| s > 0 && s * 8 >= largest).collect();
    let selected: Vec<bool> = labels.iter().map(|&l| keep[l as usize]).collect();
    fill_holes(&selected, w, h)
}

/// Marks as set every pixel not reachable from the border through unset pixels (4-connected).
fn fill_holes(mask: &[bool], w: usize, h: usize) -> Vec<bool> {
    let mut outside = vec![false; w * h];
    let mut stack: Vec<usize> = Vec::new();
    for x in 0..w {
        stack.push(x);
        stack.push((h - 1) * w + x);
    }
    for y in 0..h {
        stack.push(y * w);
        stack.push(y * w + w - 1);
    }
    while let Some(index) = stack.pop() {
        if mask[index] || outside[index] {
            continue;
        }
        outside[index] = true;
        let (x, y) = (index % w, index / w);
        if x > 0 {
            stack.push(index - 1);
        }
        if x + 1 < w {
            stack.push(index + 1);
        }
        if y > 0 {
            stack.push(index - w);
        }
        if y + 1 < h {
            stack.push(index + w);
        }
    }
    outside.iter().map(|&o| !o).collect()
}

const CROSS: [(isize, isize); 9] = [
    (0, -2),
    (0, -1),
    (-2, 0),
    (-1, 0),
    (0, 0),
    (1, 0),
    (2, 0),
    (0, 1),
    (0, 2),
];

fn morph(mask: &[bool], w: usize, h: usize, dilate: bool) -> Vec<bool> {
    let mut out = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            let mut any = false;
            let mut all = true;
            for (dx, dy) in CROSS {
                let (nx, ny) = (x as isize + dx, y as isize + dy);
                // Outside the region counts as neither set nor unset (OpenCV's default).
                if nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                    continue;
                }
                let value = mask[ny as usize * w + nx as usize];
                any |= value;
                all &= value;
            }
            out[y * w + x] = if dilate { any } else { all };
        }
    }
    out
}

fn dilate_cross(mask: &[bool], w: usize, h: usize) -> Vec<bool> {
    morph(mask, w, h, true)
}

fn erode_cross(mask: &[bool], w: usize, h: usize) -> Vec<bool> {
    morph(mask, w, h, false)
}

/// Dilation by the two-pixel vertical element: a pixel is set if it or the one above is.
fn grow_down(mask: &[bool], w: usize, h: usize) -> Vec<bool> {
    let mut out = mask.to_vec();
    for y in 1..h {
        for x in 0..w {
            out[y * w + x] |= mask[(y - 1) * w + x];
        }
    }
    out
}

/// `red_eye()`: cleans the regions of the explicit and detected focal points.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RedEye;

impl FilterCall for RedEye {
    fn build(_params: &Params<'_>) -> Option<Self> {
        Some(RedEye)
    }

    fn post_transform(
        &self,
        image: &mut Image,
        ctx: &PostTransformContext<'_>,
        _load: &AssetLoader<'_>,
    ) -> Result<(), ImagingError> {
        red_eye(image, ctx.focal_points);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_keep_the_large_ones_and_fill_holes() {
        // 8x6: a 4x4 ring (12 px around a 2x2 hole) and a lone pixel far away.
        #[rustfmt::skip]
        let mask = [
            1,1,1,1,0,0,0,0,
            1,0,0,1,0,0,0,0,
            1,0,0,1,0,0,0,0,
            1,1,1,1,0,0,0,0,
            0,0,0,0,0,0,0,0,
            0,0,0,0,0,0,0,1,
        ].map(|v| v == 1);
        let selected = select_blobs(&mask, 8, 6);
        let count = selected.iter().filter(|&&v| v).count();
        // The ring with its hole (16 px); the speck is under an eighth of 12.
        assert_eq!(count, 16);
        assert!(selected[8 + 1]);
        assert!(!selected[5 * 8 + 7]);
    }

    #[test]
    fn grow_down_extends_one_row() {
        let mask = [true, false, false, false];
        assert_eq!(grow_down(&mask, 2, 2), vec![true, false, true, false]);
    }
}
