//! Colour filters that map pixel values in place: brightness, contrast, rgb, saturation,
//! colorize, equalize, grayscale and curve, with the integer arithmetic of Thumbor's C
//! extensions (truncating division, clamping to 0..=255). Alpha is never touched.

use super::super::{Image, ImagingError};
use super::params::Params;
use super::{AssetLoader, FilterCall, PostTransformContext};

/// Applies one lookup table per colour channel to every pixel of every frame.
fn apply_luts(image: &mut Image, luts: &[[u8; 256]; 3]) {
    let channels = image.layout.channels();
    for frame in &mut image.frames {
        match channels {
            3 => map_pixels::<3>(&mut frame.pixels, luts),
            _ => map_pixels::<4>(&mut frame.pixels, luts),
        }
    }
}

fn map_pixels<const N: usize>(pixels: &mut [u8], luts: &[[u8; 256]; 3]) {
    for pixel in pixels.chunks_exact_mut(N) {
        pixel[0] = luts[0][usize::from(pixel[0])];
        pixel[1] = luts[1][usize::from(pixel[1])];
        pixel[2] = luts[2][usize::from(pixel[2])];
    }
}

fn lut(f: impl Fn(i64) -> i64) -> [u8; 256] {
    let mut table = [0u8; 256];
    for (value, slot) in table.iter_mut().enumerate() {
        *slot = clamp_channel(f(value as i64));
    }
    table
}

fn clamp_channel(value: i64) -> u8 {
    value.clamp(0, 255) as u8
}

/// The C filters receive Python ints as C `int`.
fn c_int(value: i64) -> i64 {
    value.clamp(i64::from(i32::MIN), i64::from(i32::MAX))
}

/// `brightness(v)`: adds `255*v/100` (truncated) to R, G and B.
pub fn brightness(image: &mut Image, value: i64) {
    let delta = 255 * c_int(value) / 100;
    let table = lut(|c| c + delta);
    apply_luts(image, &[table, table, table]);
}

/// `contrast(v)`: f = (v+100)²/100; channel = f·(c−128)/100 + 128, all integer.
pub fn contrast(image: &mut Image, value: i64) {
    let shifted = c_int(value) + 100;
    let factor = shifted * shifted / 100;
    let table = lut(|c| factor * (c - 128) / 100 + 128);
    apply_luts(image, &[table, table, table]);
}

/// `rgb(r,g,b)`: adds `255*x/100` to each channel.
pub fn rgb(image: &mut Image, deltas: [i64; 3]) {
    let luts = deltas.map(|d| {
        let delta = 255 * c_int(d) / 100;
        lut(|c| c + delta)
    });
    apply_luts(image, &luts);
}

/// `colorize(rp,gp,bp,hex)`: channel = (c·(100−pct) + fill·pct)/100 in doubles, truncated.
pub fn colorize(image: &mut Image, percents: [i64; 3], color: &str) -> Result<(), ImagingError> {
    let fill = parse_hex_triplet(color).ok_or_else(|| {
        ImagingError::BadRequest(format!("colorize: {color:?} is not a 6-digit hex colour"))
    })?;
    let mut luts = [[0u8; 256]; 3];
    for channel in 0..3 {
        let pct = c_int(percents[channel]) as f64;
        let fill_value = f64::from(fill[channel]);
        luts[channel] = lut(|c| ((c as f64 * (100.0 - pct) + fill_value * pct) / 100.0) as i64);
    }
    apply_luts(image, &luts);
    Ok(())
}

/// Python's `bytearray.fromhex` for exactly three bytes (whitespace between bytes allowed).
fn parse_hex_triplet(text: &str) -> Option<[u8; 3]> {
    let mut bytes = Vec::with_capacity(3);
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        let Some(high) = chars.next() else { break };
        let low = chars.next()?;
        let value = (high.to_digit(16)? << 4) | low.to_digit(16)?;
        bytes.push(value as u8);
    }
    <[u8; 3]>::try_from(bytes).ok()
}

/// `saturation(c)`: p = √(0.299r² + 0.587g² + 0.114b²); channel = p + (channel−p)·c, in C
/// `float`, truncated.
pub fn saturation(image: &mut Image, change: f64) {
    let change = change as f32;
    let channels = image.layout.channels();
    for frame in &mut image.frames {
        for pixel in frame.pixels.chunks_exact_mut(channels) {
            let (r, g, b) = (
                f64::from(pixel[0]),
                f64::from(pixel[1]),
                f64::from(pixel[2]),
            );
            let p = (r * r * 0.299 + g * g * 0.587 + b * b * 0.114).sqrt() as f32;
            for value in &mut pixel[..3] {
                let adjusted = p + (f32::from(*value) - p) * change;
                *value = clamp_channel(i64::from(adjusted as i32));
            }
        }
    }
}

/// `equalize()`: per-channel histogram equalisation of every frame, including Thumbor's quirk
/// that the search for the minimal CDF stops at the first level where *any* channel has one.
pub fn equalize(image: &mut Image) {
    let channels = image.layout.channels();
    for frame in &mut image.frames {
        let area = (frame.pixels.len() / channels) as u64;
        let mut histograms = [[0u64; 256]; 3];
        for pixel in frame.pixels.chunks_exact(channels) {
            for channel in 0..3 {
                histograms[channel][usize::from(pixel[channel])] += 1;
            }
        }
        let mut cumulative = [[0u64; 256]; 3];
        for channel in 0..3 {
            let mut running = 0u64;
            for level in 0..256 {
                running += histograms[channel][level];
                if histograms[channel][level] > 0 {
                    cumulative[channel][level] = running;
                }
            }
        }
        let mut min_cdf = [0u64; 3];
        for level in 0..256 {
            if min_cdf.iter().any(|&m| m != 0) {
                break;
            }
            for (min, channel_cdf) in min_cdf.iter_mut().zip(&cumulative) {
                if *min == 0 && channel_cdf[level] != 0 {
                    *min = channel_cdf[level];
                }
            }
        }
        let mut luts = [[0u8; 256]; 3];
        for channel in 0..3 {
            let denominator = area as f32 - min_cdf[channel] as f32;
            for level in 0..256 {
                let value = (cumulative[channel][level] as f32 - min_cdf[channel] as f32)
                    / denominator
                    * 255.0;
                // The C code stores a float into an unsigned char; 0/0 (a one-colour image)
                // comes out as 0 on x86.
                luts[channel][level] = if value.is_finite() {
                    value.clamp(0.0, 255.0) as u8
                } else {
                    0
                };
            }
        }
        match channels {
            3 => map_pixels::<3>(&mut frame.pixels, &luts),
            _ => map_pixels::<4>(&mut frame.pixels, &luts),
        }
    }
}

/// `grayscale()`: PIL's `convert('L')` (ITU-R 601-2 luma, fixed point) written back to R, G
/// and B; alpha is kept (PIL's `LA`). The image is marked grayscale for the encoders.
pub fn grayscale(image: &mut Image) {
    let channels = image.layout.channels();
    for frame in &mut image.frames {
        for pixel in frame.pixels.chunks_exact_mut(channels) {
            let luma = (u32::from(pixel[0]) * 19595
                + u32::from(pixel[1]) * 38470
                + u32::from(pixel[2]) * 7471
                + 0x8000)
                >> 16;
            let luma = luma.min(255) as u8;
            pixel[0] = luma;
            pixel[1] = luma;
            pixel[2] = luma;
        }
    }
    image.source.grayscale = true;
}

/// The four tone curves of `curve(a,r,g,b)` as 256-entry tables.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveSet {
    all: [u8; 256],
    red: [u8; 256],
    green: [u8; 256],
    blue: [u8; 256],
}

impl CurveSet {
    /// Parses four `[(x,y),...]` lists (already validated by the filter regex).
    pub fn parse(all: &str, red: &str, green: &str, blue: &str) -> Option<CurveSet> {
        Some(CurveSet {
            all: spline_table(&parse_points(all)?),
            red: spline_table(&parse_points(red)?),
            green: spline_table(&parse_points(green)?),
            blue: spline_table(&parse_points(blue)?),
        })
    }
}

/// `[(x,y),(x,y)]` → points; values are cast to `unsigned char` like the C code does.
fn parse_points(text: &str) -> Option<Vec<(u8, u8)>> {
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    let mut points = Vec::new();
    for part in inner.split(')') {
        let part = part.trim_start_matches(',').trim_start_matches('(');
        if part.is_empty() {
            continue;
        }
        let (x, y) = part.split_once(',')?;
        points.push((wrap_u8(x)?, wrap_u8(y)?));
    }
    Some(points)
}

fn wrap_u8(digits: &str) -> Option<u8> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        digits
            .bytes()
            .fold(0u8, |acc, b| acc.wrapping_mul(10).wrapping_add(b - b'0')),
    )
}

/// A natural cubic spline through the points, sampled at 0..=255 (the C extension's
/// algorithm: tridiagonal second derivatives, values before the first point take the first
/// point's y, values from the last point on take the last y). An empty curve is the identity.
fn spline_table(points: &[(u8, u8)]) -> [u8; 256] {
    let mut table = [0u8; 256];
    if points.is_empty() {
        for (value, slot) in table.iter_mut().enumerate() {
            *slot = value as u8;
        }
        return table;
    }
    let second = second_derivatives(points);
    table.fill(points[0].1);
    for (index, pair) in points.windows(2).enumerate() {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        let h = f64::from(x1) - f64::from(x0);
        for x in x0..x1 {
            let t = (f64::from(x) - f64::from(x0)) / h;
            let (a, b) = (1.0 - t, t);
            let y = a * f64::from(y0)
                + b * f64::from(y1)
                + (h * h / 6.0)
                    * ((a * a * a - a) * second[index] + (b * b * b - b) * second[index + 1]);
            let rounded = y.round();
            table[usize::from(x)] = if rounded.is_nan() {
                0
            } else {
                rounded.clamp(0.0, 255.0) as u8
            };
        }
    }
    let (last_x, last_y) = points[points.len() - 1];
    for slot in table.iter_mut().skip(usize::from(last_x)) {
        *slot = last_y;
    }
    table
}

fn second_derivatives(points: &[(u8, u8)]) -> Vec<f64> {
    let n = points.len();
    let x = |i: usize| f64::from(points[i].0);
    let y = |i: usize| f64::from(points[i].1);
    // Rows of the tridiagonal system: (sub, diagonal, super).
    let mut matrix = vec![[0.0f64; 3]; n];
    let mut result = vec![0.0f64; n];
    matrix[0][1] = 1.0;
    for i in 1..n.saturating_sub(1) {
        matrix[i][0] = (x(i) - x(i - 1)) / 6.0;
        matrix[i][1] = (x(i + 1) - x(i - 1)) / 3.0;
        matrix[i][2] = (x(i + 1) - x(i)) / 6.0;
        result[i] = (y(i + 1) - y(i)) / (x(i + 1) - x(i)) - (y(i) - y(i - 1)) / (x(i) - x(i - 1));
    }
    matrix[n - 1][1] = 1.0;
    for i in 1..n {
        let k = matrix[i][0] / matrix[i - 1][1];
        matrix[i][1] -= k * matrix[i - 1][2];
        matrix[i][0] = 0.0;
        result[i] -= k * result[i - 1];
    }
    for i in (0..n.saturating_sub(1)).rev() {
        let k = matrix[i][2] / matrix[i + 1][1];
        matrix[i][1] -= k * matrix[i + 1][0];
        matrix[i][2] = 0.0;
        result[i] -= k * result[i + 1];
    }
    (0..n).map(|i| result[i] / matrix[i][1]).collect()
}

/// `curve(a,r,g,b)`: each channel through its own curve, then through the all-channel curve.
pub fn curve(image: &mut Image, curves: &CurveSet) {
    let through_all = |channel: &[u8; 256]| channel.map(|level| curves.all[usize::from(level)]);
    let luts = [
        through_all(&curves.red),
        through_all(&curves.green),
        through_all(&curves.blue),
    ];
    apply_luts(image, &luts);
}

/// `brightness(value)`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Brightness(pub(super) i64);

impl FilterCall for Brightness {
    fn build(params: &Params<'_>) -> Option<Self> {
        Some(Brightness(params.int(0)?))
    }

    fn post_transform(
        &self,
        image: &mut Image,
        _ctx: &PostTransformContext<'_>,
        _load: &AssetLoader<'_>,
    ) -> Result<(), ImagingError> {
        brightness(image, self.0);
        Ok(())
    }
}

/// `contrast(value)`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Contrast(pub(super) i64);

impl FilterCall for Contrast {
    fn build(params: &Params<'_>) -> Option<Self> {
        Some(Contrast(params.int(0)?))
    }

    fn post_transform(
        &self,
        image: &mut Image,
        _ctx: &PostTransformContext<'_>,
        _load: &AssetLoader<'_>,
    ) -> Result<(), ImagingError> {
        contrast(image, self.0);
        Ok(())
    }
}

/// `rgb(r,g,b)`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Rgb(pub(super) [i64; 3]);

impl FilterCall for Rgb {
    fn build(params: &Params<'_>) -> Option<Self> {
        Some(Rgb([params.int(0)?, params.int(1)?, params.int(2)?]))
    }

    fn post_transform(
        &self,
        image: &mut Image,
        _ctx: &PostTransformContext<'_>,
        _load: &AssetLoader<'_>,
    ) -> Result<(), ImagingError> {
        rgb(image, self.0);
        Ok(())
    }
}

/// `saturation(change)`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Saturation(pub(super) f64);

impl FilterCall for Saturation {
    fn build(params: &Params<'_>) -> Option<Self> {
        Some(Saturation(params.float(0)?))
    }

    fn post_transform(
        &self,
        image: &mut Image,
        _ctx: &PostTransformContext<'_>,
        _load: &AssetLoader<'_>,
    ) -> Result<(), ImagingError> {
        saturation(image, self.0);
        Ok(())
    }
}

/// `colorize(rp,gp,bp,hex)`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Colorize {
    pub(super) percents: [i64; 3],
    pub(super) color: String,
}

impl FilterCall for Colorize {
    fn build(params: &Params<'_>) -> Option<Self> {
        Some(Colorize {
            percents: [params.int(0)?, params.int(1)?, params.int(2)?],
            color: params.text(3)?.to_string(),
        })
    }

    fn post_transform(
        &self,
        image: &mut Image,
        _ctx: &PostTransformContext<'_>,
        _load: &AssetLoader<'_>,
    ) -> Result<(), ImagingError> {
        colorize(image, self.percents, &self.color)
    }
}

/// `equalize()`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Equalize;

impl FilterCall for Equalize {
    fn build(_params: &Params<'_>) -> Option<Self> {
        Some(Equalize)
    }

    fn post_transform(
        &self,
        image: &mut Image,
        _ctx: &PostTransformContext<'_>,
        _load: &AssetLoader<'_>,
    ) -> Result<(), ImagingError> {
        equalize(image);
        Ok(())
    }
}

/// `grayscale()`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Grayscale;

impl FilterCall for Grayscale {
    fn build(_params: &Params<'_>) -> Option<Self> {
        Some(Grayscale)
    }

    fn post_transform(
        &self,
        image: &mut Image,
        _ctx: &PostTransformContext<'_>,
        _load: &AssetLoader<'_>,
    ) -> Result<(), ImagingError> {
        grayscale(image);
        Ok(())
    }
}

/// `curve(all,red,green,blue)`, its tables computed once at parse time.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Curve(CurveSet);

impl FilterCall for Curve {
    fn build(params: &Params<'_>) -> Option<Self> {
        let curves = CurveSet::parse(
            params.text(0)?,
            params.text(1)?,
            params.text(2)?,
            params.text(3)?,
        )?;
        Some(Curve(curves))
    }

    fn post_transform(
        &self,
        image: &mut Image,
        _ctx: &PostTransformContext<'_>,
        _load: &AssetLoader<'_>,
    ) -> Result<(), ImagingError> {
        curve(image, &self.0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::{ImageFormat, PixelLayout, SourceInfo};
    use super::*;

    fn one_pixel(rgba: [u8; 4]) -> Image {
        Image::still(
            1,
            1,
            PixelLayout::Rgba8,
            rgba.to_vec(),
            SourceInfo {
                format: ImageFormat::Png,
                width: 1,
                height: 1,
                orientation: 1,
                icc_profile: None,
                palette: false,
                grayscale: false,
                loop_count: None,
            },
        )
    }

    fn after(rgba: [u8; 4], f: impl FnOnce(&mut Image)) -> Vec<u8> {
        let mut img = one_pixel(rgba);
        f(&mut img);
        img.frames[0].pixels.clone()
    }

    #[test]
    fn integer_arithmetic_of_the_c_filters() {
        // 255*20/100 = 51; alpha untouched.
        assert_eq!(
            after([10, 200, 250, 77], |i| brightness(i, 20)),
            vec![61, 251, 255, 77]
        );
        // 255*-7/100 = -17 (truncation toward zero).
        assert_eq!(
            after([10, 20, 30, 255], |i| brightness(i, -7)),
            vec![0, 3, 13, 255]
        );
        // f = 120²/100 = 144; 144*(200-128)/100 + 128 = 231; 144*(0-128)/100+128 = -56 → 0;
        // 144*(100-128)/100 + 128 = -40 + 128 = 88.
        assert_eq!(
            after([200, 0, 100, 9], |i| contrast(i, 20)),
            vec![231, 0, 88, 9]
        );
        // 255*10/100 = 25, 255*2/100 = 5, 255*4/100 = 10.
        assert_eq!(
            after([0, 0, 0, 1], |i| rgb(i, [10, 2, 4])),
            vec![25, 5, 10, 1]
        );
        // (100*60 + 255*40)/100 = 162; (100*20 + 255*80)/100 = 224; (100*80+255*20)/100 = 131.
        assert_eq!(
            after([100, 100, 100, 5], |i| colorize(i, [40, 80, 20], "ffffff")
                .unwrap()),
            vec![162, 224, 131, 5]
        );
        assert!(colorize(&mut one_pixel([0; 4]), [1, 1, 1], "fff").is_err());
        assert_eq!(parse_hex_triplet("ff 00 7f"), Some([255, 0, 127]));
        // Gray stays gray under saturation.
        assert_eq!(
            after([90, 90, 90, 3], |i| saturation(i, 10.0)),
            vec![90, 90, 90, 3]
        );
        // p = sqrt(0.299*200²) = 109.36; 109.36 + (200-109.36)*2 = 290 → 255; 0 → -109 → 0.
        assert_eq!(
            after([200, 0, 0, 3], |i| saturation(i, 2.0)),
            vec![255, 0, 0, 3]
        );
        // (255*19595 + 0x8000) >> 16 = 76.
        assert_eq!(after([255, 0, 0, 40], grayscale), vec![76, 76, 76, 40]);
    }

    #[test]
    fn equalize_stretches_levels() {
        let mut img = one_pixel([0; 4]);
        img.width = 4;
        img.frames[0].pixels = vec![
            10, 10, 10, 255, 20, 20, 20, 255, 20, 20, 20, 255, 30, 30, 30, 255,
        ];
        equalize(&mut img);
        // cdf: 10→1, 20→3, 30→4; min 1, area 4: (1-1)/3*255=0, (3-1)/3*255=170, 255.
        let red: Vec<u8> = img.frames[0].pixels.chunks(4).map(|p| p[0]).collect();
        assert_eq!(red, vec![0, 170, 170, 255]);
    }

    #[test]
    fn curves() {
        let identity = CurveSet::parse(
            "[(0,0),(255,255)]",
            "[(0,0),(255,255)]",
            "[(0,0),(255,255)]",
            "[(0,0),(255,255)]",
        )
        .unwrap();
        assert_eq!(
            after([1, 128, 254, 9], |i| curve(i, &identity)),
            vec![1, 128, 254, 9]
        );
        let inverted = CurveSet::parse(
            "[(0,255),(255,0)]",
            "[]",
            "[(0,0),(255,255)]",
            "[(0,0),(255,255)]",
        )
        .unwrap();
        assert_eq!(
            after([0, 100, 255, 9], |i| curve(i, &inverted)),
            vec![255, 155, 0, 9]
        );
        // A constant before the first point and after the last.
        let table = spline_table(&[(50, 10), (100, 60)]);
        assert_eq!(
            (table[0], table[50], table[75], table[100], table[255]),
            (10, 10, 35, 60, 60)
        );
        assert_eq!(parse_points("[(1,2),(3,4)]"), Some(vec![(1, 2), (3, 4)]));
        assert_eq!(parse_points("[(1,300)]"), Some(vec![(1, 44)]));
    }
}
