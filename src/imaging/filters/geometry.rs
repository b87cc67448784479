//! The filters about geometry: `focal` and `extract_focal` (pre-load focal points), `stretch`,
//! `no_upscale` (after-load clamp), and the post-transform `rotate`, `upscale` and
//! `proportion`.

use super::super::{Image, ImagingError};
use super::params::{parse_digits, Params};
use super::{
    resize, AssetLoader, FilterCall, FocalPoint, PostTransformContext, PreLoadEffects, RequestSize,
};
use regex::Regex;
use std::sync::LazyLock;

/// `focal(LxT:RxB)`: the rectangle's centre weighted by its area, origin "Explicit". `None`
/// when the text does not start with `\d+x\d+:\d+x\d+` or the rectangle is empty.
pub fn parse_focal(text: &str) -> Option<FocalPoint> {
    static FOCAL: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"^(\d+)x(\d+):(\d+)x(\d+)").ok());
    let captures = FOCAL.as_ref()?.captures(text)?;
    let number = |index: usize| captures.get(index).and_then(|m| parse_digits(m.as_str()));
    let (left, top, right, bottom) = (number(1)?, number(2)?, number(3)?, number(4)?);
    let width = right - left;
    let height = bottom - top;
    if width == 0 || height == 0 {
        return None;
    }
    Some(FocalPoint::from_square(
        left, top, width, height, "Explicit",
    ))
}

/// How many nested Thumbor URLs `extract_focal` unwraps.
const EXTRACT_FOCAL_MAX_LEVEL: usize = 10;

/// `extract_focal()`: when the image is itself a Thumbor URL with a manual crop
/// (`thumbor.host/unsafe/240x220:480x260/http://orig/img.jpg`), returns the innermost image
/// and the crop box as a focal point ("Original Extraction"). The first path segment of each
/// level is taken as a host and removed; up to 10 levels are unwrapped.
///
/// `image` is the image part as decoded from the path (`ImageRequest::image`), so the `:` of
/// the crop is literal; a percent-encoded form is decoded first. The point is `None` when the
/// crop box is empty (Thumbor would add a zero-weight point and fail later).
pub fn extract_focal(image: &str) -> Option<(String, Option<FocalPoint>)> {
    static DOMAIN: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"^(?:https?://)?.*?/").ok());
    static THUMBOR_URL: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(concat!(
            r"^/?(?:(?:(?P<unsafe>unsafe)|(?P<hash>.+?))/)?",
            r"(?:(?P<debug>debug)/)?(?:(?P<meta>meta)/)?",
            r"(?:(?P<trim>trim(?::(?:top-left|bottom-right))?(?::\d+)?)/)?",
            r"(?:(?P<crop_left>\d+)x(?P<crop_top>\d+):(?P<crop_right>\d+)x(?P<crop_bottom>\d+)/)?",
            r"(?:(?P<adaptive>adaptive-)?(?P<full>full-)?(?P<fit_in>fit-in)/)?",
            r"(?:(?P<horizontal_flip>-)?(?P<width>(?:\d+|orig))?x(?P<vertical_flip>-)?(?P<height>(?:\d+|orig))?/)?",
            r"(?:(?P<halign>left|right|center)/)?(?:(?P<valign>top|bottom|middle)/)?",
            r"(?:(?P<smart>smart)/)?(?:filters:(?P<filters>.+?\))/)?(?P<image>.+)",
        ))
        .ok()
    });
    let domain = DOMAIN.as_ref()?;
    let thumbor_url = THUMBOR_URL.as_ref()?;

    let decoded = percent_encoding::percent_decode_str(image).decode_utf8_lossy();
    let mut url = decoded.into_owned();
    for _ in 0..EXTRACT_FOCAL_MAX_LEVEL {
        url = domain.replace(&url, "").into_owned();
        let captures = thumbor_url.captures(&url)?;
        let inner = captures.name("image")?.as_str();
        if captures.name("hash").is_none() && captures.name("unsafe").is_none() {
            return None;
        }
        let crop = (
            captures.name("crop_left"),
            captures.name("crop_top"),
            captures.name("crop_right"),
            captures.name("crop_bottom"),
        );
        if let (Some(left), Some(top), Some(right), Some(bottom)) = crop {
            let left = parse_digits(left.as_str())?;
            let top = parse_digits(top.as_str())?;
            let right = parse_digits(right.as_str())?;
            let bottom = parse_digits(bottom.as_str())?;
            let (width, height) = (right - left, bottom - top);
            let point = (width > 0 && height > 0)
                .then(|| FocalPoint::from_square(left, top, width, height, "Original Extraction"));
            return Some((inner.to_string(), point));
        }
        url = inner.to_string();
    }
    None
}

/// `no_upscale()`: the requested size never exceeds the image's (0 stays 0).
pub fn no_upscale(width: &mut u32, height: &mut u32, image_size: (u32, u32)) {
    *width = (*width).min(image_size.0);
    *height = (*height).min(image_size.1);
}

/// `rotate(deg)`: multiples of 90 only, counter-clockwise (PIL's transpose); others ignored.
pub fn rotate(image: &mut Image, degrees: i64) {
    if degrees.rem_euclid(90) != 0 {
        return;
    }
    let quarter_turns = degrees.rem_euclid(360) / 90;
    if quarter_turns == 0 {
        return;
    }
    let (width, height) = (image.width as usize, image.height as usize);
    let channels = image.layout.channels();
    for frame in &mut image.frames {
        frame.pixels = rotate_pixels(&frame.pixels, width, height, channels, quarter_turns);
    }
    if quarter_turns != 2 {
        std::mem::swap(&mut image.width, &mut image.height);
    }
}

/// Rotates counter-clockwise by `quarter_turns` (1..=3) quarter turns.
fn rotate_pixels(
    pixels: &[u8],
    width: usize,
    height: usize,
    channels: usize,
    quarter_turns: i64,
) -> Vec<u8> {
    let mut rotated = vec![0u8; pixels.len()];
    match quarter_turns {
        2 => {
            // Reversing the pixel order turns the image half round.
            for (dst, src) in rotated
                .chunks_exact_mut(channels)
                .zip(pixels.chunks_exact(channels).rev())
            {
                dst.copy_from_slice(src);
            }
        }
        1 => {
            // Counter-clockwise: destination row y' is source column (width-1-y').
            let new_width = height;
            for (y, dst_row) in rotated.chunks_exact_mut(new_width * channels).enumerate() {
                let src_x = width - 1 - y;
                for (x, dst) in dst_row.chunks_exact_mut(channels).enumerate() {
                    let at = (x * width + src_x) * channels;
                    dst.copy_from_slice(&pixels[at..at + channels]);
                }
            }
        }
        _ => {
            // Clockwise: destination row y' is source column y', read bottom to top.
            let new_width = height;
            for (y, dst_row) in rotated.chunks_exact_mut(new_width * channels).enumerate() {
                for (x, dst) in dst_row.chunks_exact_mut(channels).enumerate() {
                    let at = ((height - 1 - x) * width + y) * channels;
                    dst.copy_from_slice(&pixels[at..at + channels]);
                }
            }
        }
    }
    rotated
}

/// `upscale()`: when the image is smaller than the request on both axes, enlarge it to fit
/// the request box keeping its ratio (sizes truncated).
pub fn upscale(image: &mut Image, request: RequestSize) -> Result<(), ImagingError> {
    let (source_w, source_h) = (u64::from(image.width), u64::from(image.height));
    let (target_w, target_h) = (u64::from(request.width), u64::from(request.height));
    if source_w >= target_w || source_h >= target_h {
        return Ok(());
    }
    // Integer arithmetic is exact here: sw/tw >= sh/th  <=>  sw*th >= sh*tw.
    let (new_w, new_h) = if source_w * target_h >= source_h * target_w {
        (target_w, source_h * target_w / source_w)
    } else {
        (source_w * target_h / source_h, target_h)
    };
    if new_w == 0 || new_h == 0 {
        return Ok(());
    }
    resize::resize_image(image, clamp_u32(new_w), clamp_u32(new_h))
}

/// `proportion(p)`: for 0 < p ≤ 1, scale to (w·p, h·p) truncated; ignored otherwise or when a
/// side would be under one pixel.
pub fn proportion(image: &mut Image, value: f64) -> Result<(), ImagingError> {
    if value.is_nan() || value <= 0.0 || value > 1.0 {
        return Ok(());
    }
    let new_w = f64::from(image.width) * value;
    let new_h = f64::from(image.height) * value;
    if new_w < 1.0 || new_h < 1.0 {
        return Ok(());
    }
    resize::resize_image(image, new_w as u32, new_h as u32)
}

fn clamp_u32(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// `focal(LxT:RxB)`: an explicit focal point (`None` when the text is not one, so the call
/// adds nothing, as Thumbor ignores it).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Focal(pub(super) Option<FocalPoint>);

impl FilterCall for Focal {
    fn build(params: &Params<'_>) -> Option<Self> {
        Some(Focal(parse_focal(params.text(0)?)))
    }

    fn pre_load(&self, effects: &mut PreLoadEffects) {
        effects.focal_points.extend(self.0.clone());
    }
}

/// `extract_focal()`: its point is found by [`FilterCall::resolve_image`] (from
/// `FilterList::resolve_extract_focal`); `None` until then, or when the image is not a
/// Thumbor URL with a crop.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ExtractFocal(pub(super) Option<FocalPoint>);

impl FilterCall for ExtractFocal {
    fn build(_params: &Params<'_>) -> Option<Self> {
        Some(ExtractFocal(None))
    }

    fn resolve_image(&mut self, image: &str) -> Option<String> {
        let (inner, point) = extract_focal(image)?;
        self.0 = point;
        Some(inner)
    }

    fn pre_load(&self, effects: &mut PreLoadEffects) {
        effects.focal_points.extend(self.0.clone());
    }
}

/// `stretch()`: resize to the requested size without keeping the aspect ratio.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Stretch;

impl FilterCall for Stretch {
    fn build(_params: &Params<'_>) -> Option<Self> {
        Some(Stretch)
    }

    fn pre_load(&self, effects: &mut PreLoadEffects) {
        effects.stretch = true;
    }
}

/// `no_upscale()`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct NoUpscale;

impl FilterCall for NoUpscale {
    fn build(_params: &Params<'_>) -> Option<Self> {
        Some(NoUpscale)
    }

    fn after_load(&self, width: &mut u32, height: &mut u32, image_size: (u32, u32)) {
        no_upscale(width, height, image_size);
    }
}

/// `rotate(degrees)`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Rotate(pub(super) i64);

impl FilterCall for Rotate {
    fn build(params: &Params<'_>) -> Option<Self> {
        Some(Rotate(params.int(0)?))
    }

    fn post_transform(
        &self,
        image: &mut Image,
        _ctx: &PostTransformContext<'_>,
        _load: &AssetLoader<'_>,
    ) -> Result<(), ImagingError> {
        rotate(image, self.0);
        Ok(())
    }
}

/// `upscale()`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Upscale;

impl FilterCall for Upscale {
    fn build(_params: &Params<'_>) -> Option<Self> {
        Some(Upscale)
    }

    fn post_transform(
        &self,
        image: &mut Image,
        ctx: &PostTransformContext<'_>,
        _load: &AssetLoader<'_>,
    ) -> Result<(), ImagingError> {
        upscale(image, ctx.request)
    }
}

/// `proportion(value)`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Proportion(pub(super) f64);

impl FilterCall for Proportion {
    fn build(params: &Params<'_>) -> Option<Self> {
        Some(Proportion(params.float(0)?))
    }

    fn post_transform(
        &self,
        image: &mut Image,
        _ctx: &PostTransformContext<'_>,
        _load: &AssetLoader<'_>,
    ) -> Result<(), ImagingError> {
        proportion(image, self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::{ImageFormat, PixelLayout, SourceInfo};
    use super::*;

    fn image(width: u32, height: u32, layout: PixelLayout, pixels: Vec<u8>) -> Image {
        let source = SourceInfo::plain(ImageFormat::Png, width, height);
        Image::still(width, height, layout, pixels, source)
    }

    #[test]
    fn rotate_quarter_turns_counter_clockwise() {
        // 3x2 gray image, values = index.
        let pixels: Vec<u8> = (0..6).flat_map(|v| [v, v, v]).collect();
        let mut img = image(3, 2, PixelLayout::Rgb8, pixels.clone());
        rotate(&mut img, 90);
        assert_eq!((img.width, img.height), (2, 3));
        let red: Vec<u8> = img.frames[0].pixels.chunks(3).map(|p| p[0]).collect();
        // Source rows [0 1 2] [3 4 5]; CCW: [2 5] [1 4] [0 3].
        assert_eq!(red, vec![2, 5, 1, 4, 0, 3]);

        let mut img = image(3, 2, PixelLayout::Rgb8, pixels.clone());
        rotate(&mut img, -90);
        let red: Vec<u8> = img.frames[0].pixels.chunks(3).map(|p| p[0]).collect();
        assert_eq!(red, vec![3, 0, 4, 1, 5, 2]);

        let mut img = image(3, 2, PixelLayout::Rgb8, pixels.clone());
        rotate(&mut img, 180);
        assert_eq!((img.width, img.height), (3, 2));
        let red: Vec<u8> = img.frames[0].pixels.chunks(3).map(|p| p[0]).collect();
        assert_eq!(red, vec![5, 4, 3, 2, 1, 0]);

        for ignored in [0, 45, 181, 360] {
            let mut img = image(3, 2, PixelLayout::Rgb8, pixels.clone());
            rotate(&mut img, ignored);
            assert_eq!(img.frames[0].pixels, pixels, "{ignored}");
        }
    }

    #[test]
    fn upscale_and_proportion_sizes() {
        let blank = |w: u32, h: u32| image(w, h, PixelLayout::Rgba8, vec![7; (w * h * 4) as usize]);
        // §3.7: fit-in/1000x1000 on 300x400 → 750x1000.
        let mut img = blank(300, 400);
        upscale(
            &mut img,
            RequestSize {
                width: 1000,
                height: 1000,
            },
        )
        .unwrap();
        assert_eq!((img.width, img.height), (750, 1000));
        // Height 0 in the request: nothing.
        let mut img = blank(300, 400);
        upscale(
            &mut img,
            RequestSize {
                width: 1000,
                height: 0,
            },
        )
        .unwrap();
        assert_eq!((img.width, img.height), (300, 400));
        // upscale1: 800x533 in 1000x1000 → 1000x666; upscale4: 1200x1000 → 1200x799.
        let mut img = blank(800, 533);
        upscale(
            &mut img,
            RequestSize {
                width: 1000,
                height: 1000,
            },
        )
        .unwrap();
        assert_eq!((img.width, img.height), (1000, 666));
        let mut img = blank(800, 533);
        upscale(
            &mut img,
            RequestSize {
                width: 1200,
                height: 1000,
            },
        )
        .unwrap();
        assert_eq!((img.width, img.height), (1200, 799));

        let mut img = blank(300, 400);
        proportion(&mut img, 0.5).unwrap();
        assert_eq!((img.width, img.height), (150, 200));
        let mut img = blank(800, 533);
        proportion(&mut img, 0.60).unwrap();
        assert_eq!((img.width, img.height), (480, 319));
        for ignored in [0.0, -0.5, 10000.0, 1.01, 0.001] {
            let mut img = blank(800, 533);
            proportion(&mut img, ignored).unwrap();
            assert_eq!((img.width, img.height), (800, 533), "{ignored}");
        }
    }

    #[test]
    fn extract_focal_unwraps_thumbor_urls() {
        let (image, point) =
            extract_focal("thumbor.host/unsafe/240x220:480x260/http://orig/img.jpg").unwrap();
        assert_eq!(image, "http://orig/img.jpg");
        let point = point.unwrap();
        assert_eq!(
            (point.x, point.y, point.width, point.height),
            (360.0, 240.0, 240.0, 40.0)
        );
        assert_eq!(
            (point.weight, point.origin),
            (9600.0, "Original Extraction")
        );

        // Percent-encoded like Thumbor's request.image_url.
        let (image, _) =
            extract_focal("thumbor.host/unsafe/240x220%3A480x260/http%3A//orig/img.jpg").unwrap();
        assert_eq!(image, "http://orig/img.jpg");

        // Nested: the outer level has no crop, the inner one has.
        let (image, point) =
            extract_focal("a.host/unsafe/fit-in/100x100/b.host/HASH/10x20:30x60/http://orig/x.png")
                .unwrap();
        assert_eq!(image, "http://orig/x.png");
        assert_eq!(point.unwrap().weight, 800.0);

        // Not a Thumbor URL with a crop.
        assert_eq!(extract_focal("http://orig/img.jpg"), None);
        assert_eq!(extract_focal("img.jpg"), None);
    }
}
