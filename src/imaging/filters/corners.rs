//! `round_corner(a[|b],r,g,b[,transparent])`: paints the outside of elliptical corners with a
//! colour (or makes it transparent), with the anti-aliasing of Thumbor's C extension — its
//! float arithmetic, its one-pixel-narrower right-hand corners and its edge blending, which
//! darkens the image pixel next to the curve rather than fading alpha.

use super::super::{Image, ImagingError, PixelLayout};
use super::params::{parse_digits, Params};
use super::{AssetLoader, FilterCall, PostTransformContext};

/// How much of the corner colour the outermost anti-aliased pixel takes.
const AA_AMOUNT: f32 = 0.75;

/// One frame being painted. Pixels are addressed by their linear index (`y*width + x`) as the
/// C code does, so an x of `width` is the first pixel of the next row; indices outside the
/// frame are skipped.
struct Painter<'a> {
    pixels: &'a mut [u8],
    width: i64,
    channels: usize,
    color: [u8; 3],
    transparent: bool,
}

impl Painter<'_> {
    fn offset(&self, y: i64, x: i64) -> Option<usize> {
        let index = y.checked_mul(self.width)?.checked_add(x)?;
        let at = usize::try_from(index).ok()?.checked_mul(self.channels)?;
        (at + self.channels <= self.pixels.len()).then_some(at)
    }

    fn paint(&mut self, y: i64, x: i64) {
        if let Some(at) = self.offset(y, x) {
            self.pixels[at..at + 3].copy_from_slice(&self.color);
            if self.transparent && self.channels == 4 {
                self.pixels[at + 3] = 0;
            }
        }
    }

    fn read(&self, y: i64, x: i64) -> [f32; 3] {
        match self.offset(y, x) {
            Some(at) => [
                f32::from(self.pixels[at]),
                f32::from(self.pixels[at + 1]),
                f32::from(self.pixels[at + 2]),
            ],
            None => [0.0; 3],
        }
    }

    /// Blends the pixel at (`y`, `x`) from the image pixel at (`from_y`, `from_x`): the image
    /// colour weighted by `1−aa`, plus the corner colour weighted by `aa` unless transparent.
    fn blend(&mut self, y: i64, x: i64, from_y: i64, from_x: i64, aa: f32) {
        let source = self.read(from_y, from_x);
        let Some(at) = self.offset(y, x) else {
            return;
        };
        for ((out, value), color) in self.pixels[at..at + 3]
            .iter_mut()
            .zip(source)
            .zip(self.color)
        {
            let mut blended = value * (1.0 - aa);
            if !self.transparent {
                blended += f32::from(color) * aa;
            }
            *out = blended.clamp(0.0, 255.0) as u8;
        }
    }
}

/// `round_corner`. Radii are capped at half the width/height; a zero radius paints nothing.
pub fn round_corner(
    image: &mut Image,
    a_radius: i64,
    b_radius: i64,
    color: [i64; 3],
    transparent: bool,
) -> Result<(), ImagingError> {
    let color = color.map(u8::try_from);
    let color = match color {
        [Ok(r), Ok(g), Ok(b)] => [r, g, b],
        _ => {
            return Err(ImagingError::BadRequest(
                "round_corner: colour components must be 0..=255".into(),
            ))
        }
    };
    if transparent {
        super::ensure_rgba(image);
    }
    let width = i64::from(image.width);
    let height = i64::from(image.height);
    let a_radius = a_radius.min(width / 2);
    let b_radius = b_radius.min(height / 2);
    if a_radius <= 0 || b_radius <= 0 {
        return Ok(());
    }
    let channels = image.layout.channels();
    let transparent = transparent && image.layout == PixelLayout::Rgba8;
    for frame in &mut image.frames {
        let mut painter = Painter {
            pixels: &mut frame.pixels,
            width,
            channels,
            color,
            transparent,
        };
        paint_corners(
            &mut painter,
            width,
            height,
            a_radius as f32,
            b_radius as f32,
        );
    }
    Ok(())
}

fn paint_corners(painter: &mut Painter<'_>, width: i64, height: i64, a_rad: f32, b_rad: f32) {
    let (a64, b64) = (f64::from(a_rad), f64::from(b_rad));

    // Rows from the corner's tip inward: fill outside the ellipse, then anti-alias the pixels
    // just outside the curve along the row.
    let mut y: i64 = 0;
    while y as f32 <= b_rad {
        let x = (-(a64 * f64::from(b_rad * b_rad - (y * y) as f32).sqrt()) / b64) as f32;
        let y_top = (b_rad - y as f32) as i64;
        let y_bottom = ((height as f32 - b_rad) + y as f32 - 1.0) as i64;
        let end_x = (x + a_rad) as i64;
        for curr_x in 0..end_x.max(0) {
            painter.paint(y_top, curr_x);
            painter.paint(y_bottom, curr_x);
            if curr_x > 0 {
                painter.paint(y_top, width - curr_x);
                painter.paint(y_bottom, width - curr_x);
            }
        }

        let mut pixel_count_x: i64 = 0;
        let mut aa_x = (x - 1.0) as i64;
        while aa_x as f32 >= -a_rad {
            let aa_y = ((b64 * f64::from(a_rad * a_rad - (aa_x * aa_x) as f32).sqrt()) / a64 + 1.0)
                as f32 as i64;
            if aa_y != y {
                break;
            }
            pixel_count_x += 1;
            aa_x -= 1;
        }
        let mut aa_x = (x - pixel_count_x as f32) as i64;
        if (aa_x as f32) < -a_rad {
            aa_x += 1;
        }
        let mut idx: i64 = 1;
        while (aa_x as f32) < x {
            let aa_x_adj = (aa_x as f32 + a_rad) as i64;
            let aa = 1.0 - (idx as f32 / pixel_count_x as f32) * AA_AMOUNT;
            painter.blend(y_top, aa_x_adj, y_top, end_x, aa);
            painter.blend(y_bottom, aa_x_adj, y_bottom, end_x, aa);
            painter.blend(y_top, width - aa_x_adj, y_top, width - end_x, aa);
            painter.blend(y_bottom, width - aa_x_adj, y_bottom, width - end_x, aa);
            aa_x += 1;
            idx += 1;
        }
        y += 1;
    }

    // Columns: anti-alias the pixels just outside the curve along each column, where the
    // curve is steep.
    let mut x: f32 = 0.0;
    while x >= -a_rad {
        let y = ((b64 * f64::from(a_rad * a_rad - x * x).sqrt()) / a64) as f32;
        let mut pixel_count_y: i64 = 0;
        let mut aa_y = (y + 1.0) as i64;
        while (aa_y as f32) < b_rad {
            let aa_x = (-((a64 * f64::from(b_rad * b_rad - (aa_y * aa_y) as f32).sqrt()) / b64)
                - 1.0) as f32 as i64;
            if aa_x != x as i64 {
                break;
            }
            pixel_count_y += 1;
            aa_y += 1;
        }
        let end_x = (x + a_rad) as i64;
        let y_top = (b_rad - y) as i64;
        let y_bottom = ((height as f32 - b_rad) + y - 1.0) as i64;
        let left_x = (x + a_rad) as i64;
        let right_x = (width as f32 - a_rad - x) as i64;
        let mut idx: i64 = 1;
        let mut aa_y = (y + pixel_count_y as f32) as i64;
        if aa_y as f32 > b_rad {
            aa_y -= 1;
        }
        while aa_y as f32 > y {
            let aa = 1.0 - (idx as f32 / pixel_count_y as f32) * AA_AMOUNT;
            let row_top = (b_rad - aa_y as f32) as i64;
            let row_bottom = ((height as f32 - b_rad) + aa_y as f32 - 1.0) as i64;
            painter.blend(row_top, left_x, y_top, end_x, aa);
            painter.blend(row_bottom, left_x, y_bottom, end_x, aa);
            painter.blend(row_top, right_x, y_top, width - end_x, aa);
            painter.blend(row_bottom, right_x, y_bottom, width - end_x, aa);
            aa_y -= 1;
            idx += 1;
        }
        x -= 1.0;
    }
}

/// `round_corner(a|b,r,g,b[,transparent])`: the radii text is `a` or `a|b` (b defaults to a).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RoundCorner {
    pub(super) a_radius: i64,
    pub(super) b_radius: i64,
    pub(super) color: [i64; 3],
    pub(super) transparent: bool,
}

impl FilterCall for RoundCorner {
    fn build(params: &Params<'_>) -> Option<Self> {
        let mut radii = params.text(0)?.split('|');
        let a_radius = parse_digits(radii.next()?)?;
        let b_radius = match radii.next() {
            Some(radius) => parse_digits(radius)?,
            None => a_radius,
        };
        Some(RoundCorner {
            a_radius,
            b_radius,
            color: [params.int(1)?, params.int(2)?, params.int(3)?],
            transparent: params.boolean_or(4, false)?,
        })
    }

    fn post_transform(
        &self,
        image: &mut Image,
        _ctx: &PostTransformContext<'_>,
        _load: &AssetLoader<'_>,
    ) -> Result<(), ImagingError> {
        round_corner(
            image,
            self.a_radius,
            self.b_radius,
            self.color,
            self.transparent,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::{ImageFormat, SourceInfo};
    use super::*;

    fn white(width: u32, height: u32) -> Image {
        let pixels = vec![255; (width * height * 3) as usize];
        let source = SourceInfo::plain(ImageFormat::Png, width, height);
        Image::still(width, height, PixelLayout::Rgb8, pixels, source)
    }

    #[test]
    fn corners_are_painted_and_centre_kept() {
        let mut image = white(40, 30);
        round_corner(&mut image, 10, 10, [255, 0, 0], false).unwrap();
        let px = |x: usize, y: usize| {
            let at = (y * 40 + x) * 3;
            image.frames[0].pixels[at..at + 3].to_vec()
        };
        assert_eq!(px(0, 0), vec![255, 0, 0]);
        assert_eq!(px(0, 29), vec![255, 0, 0]);
        assert_eq!(px(39, 0), vec![255, 0, 0]);
        assert_eq!(px(39, 29), vec![255, 0, 0]);
        assert_eq!(px(20, 15), vec![255, 255, 255]);
        assert_eq!(px(20, 0), vec![255, 255, 255]);
        assert_eq!(px(0, 15), vec![255, 255, 255]);
    }

    #[test]
    fn transparent_corners_force_alpha() {
        let mut image = white(20, 20);
        round_corner(&mut image, 5, 5, [0, 0, 0], true).unwrap();
        assert_eq!(image.layout, PixelLayout::Rgba8);
        assert_eq!(image.frames[0].pixels[3], 0);
        let centre = (10 * 20 + 10) * 4;
        assert_eq!(
            &image.frames[0].pixels[centre..centre + 4],
            &[255, 255, 255, 255]
        );
    }

    #[test]
    fn degenerate_sizes_do_not_panic() {
        for (w, h, a, b) in [
            (1, 1, 50, 50),
            (2, 1, 1, 1),
            (1, 7, 3, 3),
            (3, 3, 0, 5),
            (5, 5, 2, 0),
        ] {
            let mut image = white(w, h);
            round_corner(&mut image, a, b, [1, 2, 3], false).unwrap();
            let mut image = white(w, h);
            round_corner(&mut image, a, b, [1, 2, 3], true).unwrap();
        }
        assert!(round_corner(&mut white(4, 4), 1, 1, [256, 0, 0], false).is_err());
    }
}
