//! The attention detector (pictor's own; imgproxy's and imagor's "attention" strategy, after
//! libvips' smartcrop): for pictures with neither faces nor strong corners, the crop goes to
//! what draws the eye. Each pixel scores for edges (the luminance gradient), skin tones and
//! colour saturation; the scores are summed over a coarse grid, each cell is smoothed with its
//! neighbours (a region draws the eye more than a speck), and the best cell becomes one focal
//! point, labelled `Attention Detection`. A picture that scores nothing anywhere (flat colour)
//! has no point, and the chain moves on.

use super::super::filters::FocalPoint;

/// Cells along the picture's long side: coarse enough that a region wins over a speck, fine
/// enough that the crop lands on the region.
const GRID_LONG_SIDE: usize = 16;

/// How much a skin-toned pixel and a saturated pixel score against an edge of full strength.
const SKIN_WEIGHT: f32 = 1.6;
const SATURATION_WEIGHT: f32 = 0.5;

/// Below this total score a picture is taken as flat: no point.
const MIN_SCORE: f32 = 1.0;

/// The point the attention map puts the crop on, in the picture's pixels; `None` for flat
/// pictures. `gray` is the picture's luminance, one byte per pixel (the chain's PIL grayscale,
/// which every detector reads); `pixels` holds `channels` bytes per pixel (1, 2: gray; 3, 4:
/// RGB) for the colour scores.
pub fn attention_point(
    gray: &[u8],
    pixels: &[u8],
    channels: usize,
    width: u32,
    height: u32,
) -> Option<FocalPoint> {
    let (w, h) = (width as usize, height as usize);
    if w < 3 || h < 3 || channels == 0 || pixels.len() < w * h * channels || gray.len() < w * h {
        return None;
    }
    let luma = |at: usize| f32::from(gray[at]);
    let cell = (w.max(h)).div_ceil(GRID_LONG_SIDE).max(1);
    let (columns, rows) = (w.div_ceil(cell), h.div_ceil(cell));
    let mut grid = vec![0f32; columns * rows];
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let at = y * w + x;
            // Sobel magnitude over 0..=255 luminance, scaled so a hard black/white edge is ~1.
            let gx = (luma(at - w + 1) + 2.0 * luma(at + 1) + luma(at + w + 1))
                - (luma(at - w - 1) + 2.0 * luma(at - 1) + luma(at + w - 1));
            let gy = (luma(at + w - 1) + 2.0 * luma(at + w) + luma(at + w + 1))
                - (luma(at - w - 1) + 2.0 * luma(at - w) + luma(at - w + 1));
            let edge = ((gx * gx + gy * gy).sqrt() / 1020.0).min(1.0);
            let colour = if channels >= 3 {
                let p = &pixels[at * channels..at * channels + 3];
                colour_scores(p[0], p[1], p[2])
            } else {
                0.0
            };
            grid[(y / cell) * columns + x / cell] += edge + colour;
        }
    }
    // Each cell with its eight neighbours, so a region outscores an isolated busy cell.
    let smoothed: Vec<f32> = (0..rows)
        .flat_map(|row| (0..columns).map(move |column| (row, column)))
        .map(|(row, column)| {
            let mut sum = 0.0;
            for r in row.saturating_sub(1)..(row + 2).min(rows) {
                for c in column.saturating_sub(1)..(column + 2).min(columns) {
                    let weight = if r == row && c == column { 2.0 } else { 1.0 };
                    sum += weight * grid[r * columns + c];
                }
            }
            sum
        })
        .collect();
    let (best, score) =
        smoothed
            .iter()
            .enumerate()
            .fold((0, f32::MIN), |(best, top), (i, &score)| {
                if score > top {
                    (i, score)
                } else {
                    (best, top)
                }
            });
    if score < MIN_SCORE {
        return None;
    }
    let (row, column) = (best / columns, best % columns);
    let left = column * cell;
    let top = row * cell;
    let cell_width = cell.min(w - left);
    let cell_height = cell.min(h - top);
    Some(FocalPoint {
        x: (left + cell_width / 2) as f64,
        y: (top + cell_height / 2) as f64,
        width: cell_width as f64,
        height: cell_height as f64,
        weight: 1.0,
        origin: "Attention Detection",
    })
}

/// What a pixel's colour scores: skin tones strongly, other saturated colours less. Dark and
/// washed-out pixels score nothing (their hue says little).
fn colour_scores(red: u8, green: u8, blue: u8) -> f32 {
    let (r, g, b) = (f32::from(red), f32::from(green), f32::from(blue));
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    if max < 40.0 {
        return 0.0;
    }
    let saturation = (max - min) / max;
    // Skin: red over green over blue, by the margins skin has across complexions (the
    // normalised-RGB rule of thumb), moderately saturated.
    let sum = r + g + b;
    let (nr, ng) = (r / sum, g / sum);
    let skin = (r > g
        && g > b
        && (0.36..=0.55).contains(&nr)
        && (0.28..=0.36).contains(&ng)
        && (0.12..=0.65).contains(&saturation)) as u8 as f32;
    let vivid = if saturation > 0.35 { saturation } else { 0.0 };
    SKIN_WEIGHT * skin + SATURATION_WEIGHT * vivid
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The attention point of `pixels`, with the grayscale the chain would hand it.
    fn attention_of(pixels: &[u8], channels: usize, width: u32, height: u32) -> Option<FocalPoint> {
        let gray = super::super::feature::pil_grayscale(pixels, channels);
        attention_point(&gray, pixels, channels, width, height)
    }

    fn canvas(width: usize, height: usize, rgb: [u8; 3]) -> Vec<u8> {
        rgb.repeat(width * height)
    }

    fn fill_disc(
        pixels: &mut [u8],
        width: usize,
        centre: (usize, usize),
        radius: usize,
        rgb: [u8; 3],
    ) {
        let height = pixels.len() / 3 / width;
        for y in 0..height {
            for x in 0..width {
                let (dx, dy) = (x.abs_diff(centre.0), y.abs_diff(centre.1));
                if dx * dx + dy * dy <= radius * radius {
                    pixels[(y * width + x) * 3..][..3].copy_from_slice(&rgb);
                }
            }
        }
    }

    #[test]
    fn flat_pictures_have_no_point() {
        let grey = canvas(120, 80, [128, 128, 128]);
        assert_eq!(attention_of(&grey, 3, 120, 80), None);
        assert_eq!(attention_of(&[], 3, 0, 0), None);
        assert_eq!(attention_of(&grey[..10], 3, 120, 80), None);
    }

    /// A skin-toned disc on a dull background, off to the right: the point lands on it.
    #[test]
    fn skin_draws_the_point() {
        let (width, height) = (300, 200);
        let mut pixels = canvas(width, height, [90, 100, 95]);
        fill_disc(&mut pixels, width, (240, 60), 25, [224, 172, 140]);
        let point = attention_of(&pixels, 3, width as u32, height as u32).expect("a point");
        assert!((215.0..=265.0).contains(&point.x), "{point:?}");
        assert!((35.0..=85.0).contains(&point.y), "{point:?}");
        assert_eq!(point.origin, "Attention Detection");
    }

    /// A saturated blue patch and a busy striped patch on grey: the stripes' edges win over
    /// flat colour, and the patch wins over the background either way.
    #[test]
    fn edges_and_colour_draw_the_point() {
        let (width, height) = (320, 160);
        let mut pixels = canvas(width, height, [120, 120, 120]);
        fill_disc(&mut pixels, width, (60, 80), 20, [20, 40, 230]);
        let point = attention_of(&pixels, 3, width as u32, height as u32).expect("a point");
        assert!((30.0..=90.0).contains(&point.x), "{point:?}");
        for y in 50..110 {
            for x in 230..290 {
                let value = if (x / 3) % 2 == 0 { 250 } else { 10 };
                pixels[(y * width + x) * 3..][..3].fill(value);
            }
        }
        let point = attention_of(&pixels, 3, width as u32, height as u32).expect("a point");
        assert!((220.0..=300.0).contains(&point.x), "{point:?}");
        assert!((40.0..=120.0).contains(&point.y), "{point:?}");
        // Gray input: edges only.
        let gray: Vec<u8> = pixels.chunks_exact(3).map(|p| p[0]).collect();
        let point = attention_of(&gray, 1, width as u32, height as u32).expect("a point");
        assert!((220.0..=300.0).contains(&point.x), "{point:?}");
    }
}
