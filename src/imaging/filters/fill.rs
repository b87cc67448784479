//! `fill(color[,fill_transparent])`, which centres the image on a canvas of the request size,
//! and `background_color(color)`, which puts a solid canvas behind a transparent image.
//! Colours: names or hex (see `colors`), `transparent`, `auto` (the image's mean colour) and,
//! for fill, `blur` (the image itself blurred and stretched to the canvas).

use super::super::{Frame, Image, ImagingError, PixelLayout};
use super::blur::blur_pixels;
use super::colors::{parse_color, Rgba};
use super::composite::{composite_over, paste, Canvas, Layer};
use super::params::Params;
use super::{
    resize, AssetLoader, FilterCall, PostTransformContext, RequestSize, MAX_CANVAS_PIXELS,
};

/// How the canvas behind the image is made.
enum Background {
    Solid(Rgba),
    /// The mean colour of each frame.
    Mean,
    /// Each frame blurred (radius 50) and stretched to the canvas.
    Blurred,
}

fn background(color: &str, allow_blur: bool) -> Result<Background, ImagingError> {
    match color {
        "auto" => Ok(Background::Mean),
        "blur" if allow_blur => Ok(Background::Blurred),
        _ => parse_color(color)
            .map(Background::Solid)
            .ok_or_else(|| ImagingError::BadRequest(format!("unknown colour {color:?}"))),
    }
}

/// The mean R, G and B of a frame (alpha ignored, integer division), Thumbor's "auto".
fn mean_color(pixels: &[u8], channels: usize) -> Rgba {
    let mut sums = [0u64; 3];
    let mut count = 0u64;
    for pixel in pixels.chunks_exact(channels) {
        sums[0] += u64::from(pixel[0]);
        sums[1] += u64::from(pixel[1]);
        sums[2] += u64::from(pixel[2]);
        count += 1;
    }
    let count = count.max(1);
    [
        (sums[0] / count) as u8,
        (sums[1] / count) as u8,
        (sums[2] / count) as u8,
        255,
    ]
}

fn solid_canvas(color: Rgba, width: usize, height: usize, channels: usize) -> Vec<u8> {
    let mut pixels = vec![0u8; width * height * channels];
    for pixel in pixels.chunks_exact_mut(channels) {
        pixel.copy_from_slice(&color[..channels]);
    }
    pixels
}

fn check_canvas_size(width: u32, height: u32) -> Result<(), ImagingError> {
    if u64::from(width) * u64::from(height) > MAX_CANVAS_PIXELS {
        return Err(ImagingError::TooLarge(format!(
            "canvas of {width}x{height} is over the pixel limit"
        )));
    }
    Ok(())
}

/// `fill`: a canvas of the request size (a 0 side takes the image's) in the colour, with the
/// image pasted at `((W−w)//2, (H−h)//2)`; alpha-composited when `fill_transparent`, a plain
/// copy (transparent pixels stay transparent) otherwise. Like Thumbor, it reads the request
/// size whether or not fit-in is on (without fit-in the image already has that size).
pub fn fill(
    image: &mut Image,
    color: &str,
    fill_transparent: bool,
    request: RequestSize,
) -> Result<(), ImagingError> {
    let background = background(color, true)?;
    let target_w = if request.width != 0 {
        request.width
    } else {
        image.width
    };
    let target_h = if request.height != 0 {
        request.height
    } else {
        image.height
    };
    check_canvas_size(target_w, target_h)?;

    let channels = image.layout.channels();
    // RGB in, RGB out unless the canvas itself may show through transparently.
    let out_layout = match (&background, image.layout) {
        (Background::Solid(rgba), PixelLayout::Rgb8) if rgba[3] < 255 => PixelLayout::Rgba8,
        (_, layout) => layout,
    };
    let out_channels = out_layout.channels();
    let (width, height) = (image.width as usize, image.height as usize);
    let (canvas_w, canvas_h) = (target_w as usize, target_h as usize);
    let offset_x = (i64::from(target_w) - i64::from(image.width)).div_euclid(2);
    let offset_y = (i64::from(target_h) - i64::from(image.height)).div_euclid(2);

    let mut frames = Vec::with_capacity(image.frames.len());
    for frame in &image.frames {
        let mut canvas_pixels = match &background {
            Background::Solid(rgba) => solid_canvas(*rgba, canvas_w, canvas_h, out_channels),
            Background::Mean => solid_canvas(
                mean_color(&frame.pixels, channels),
                canvas_w,
                canvas_h,
                out_channels,
            ),
            Background::Blurred => blurred_canvas(
                &frame.pixels,
                image.layout,
                (image.width, image.height),
                (target_w, target_h),
            )?,
        };
        let mut canvas = Canvas {
            pixels: &mut canvas_pixels,
            width: canvas_w,
            height: canvas_h,
            channels: out_channels,
        };
        let layer = Layer {
            pixels: &frame.pixels,
            width,
            height,
            channels,
        };
        if fill_transparent {
            composite_over(&mut canvas, &layer, offset_x, offset_y);
        } else {
            paste(&mut canvas, &layer, offset_x, offset_y);
        }
        frames.push(Frame {
            pixels: canvas_pixels,
            delay_ms: frame.delay_ms,
        });
    }
    image.frames = frames;
    image.width = target_w;
    image.height = target_h;
    image.layout = out_layout;
    Ok(())
}

/// Thumbor's blur fill: the frame composited over transparency (colours of fully transparent
/// pixels become black), blurred with radius 50 (colour and alpha alike), then resized to
/// the canvas.
fn blurred_canvas(
    pixels: &[u8],
    layout: PixelLayout,
    size: (u32, u32),
    target: (u32, u32),
) -> Result<Vec<u8>, ImagingError> {
    let (width, height) = (size.0 as usize, size.1 as usize);
    let channels = layout.channels();
    let blurred = if layout == PixelLayout::Rgba8 {
        let mut flattened = vec![0u8; pixels.len()];
        let mut canvas = Canvas {
            pixels: &mut flattened,
            width,
            height,
            channels: 4,
        };
        let layer = Layer {
            pixels,
            width,
            height,
            channels: 4,
        };
        composite_over(&mut canvas, &layer, 0, 0);
        blur_pixels(&flattened, width, height, channels, 50, 0.0)
    } else {
        blur_pixels(pixels, width, height, channels, 50, 0.0)
    };
    resize::resize_pixels(&blurred, layout, size, target)
}

/// `background_color`: the image composited over a canvas of the same size in the colour.
/// With an opaque colour the result is opaque (RGB).
pub fn background_color(image: &mut Image, color: &str) -> Result<(), ImagingError> {
    let background = background(color, false)?;
    let opaque = match &background {
        Background::Solid(rgba) => rgba[3] == 255,
        _ => true,
    };
    if opaque && image.layout == PixelLayout::Rgb8 {
        return Ok(());
    }
    let out_layout = if opaque {
        PixelLayout::Rgb8
    } else {
        PixelLayout::Rgba8
    };
    let channels = image.layout.channels();
    let (width, height) = (image.width as usize, image.height as usize);
    for frame in &mut image.frames {
        let color = match &background {
            Background::Solid(rgba) => *rgba,
            _ => mean_color(&frame.pixels, channels),
        };
        let mut canvas_pixels = solid_canvas(color, width, height, out_layout.channels());
        let mut canvas = Canvas {
            pixels: &mut canvas_pixels,
            width,
            height,
            channels: out_layout.channels(),
        };
        let layer = Layer {
            pixels: &frame.pixels,
            width,
            height,
            channels,
        };
        composite_over(&mut canvas, &layer, 0, 0);
        frame.pixels = canvas_pixels;
    }
    image.layout = out_layout;
    Ok(())
}

/// `fill(color[,fill_transparent])`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Fill {
    pub(super) color: String,
    pub(super) fill_transparent: bool,
}

impl FilterCall for Fill {
    fn build(params: &Params<'_>) -> Option<Self> {
        Some(Fill {
            color: params.text(0)?.to_string(),
            fill_transparent: params.boolean_or(1, false)?,
        })
    }

    fn post_transform(
        &self,
        image: &mut Image,
        ctx: &PostTransformContext<'_>,
        _load: &AssetLoader<'_>,
    ) -> Result<(), ImagingError> {
        fill(image, &self.color, self.fill_transparent, ctx.request)
    }
}

/// `background_color(color)`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct BackgroundColor(pub(super) String);

impl FilterCall for BackgroundColor {
    fn build(params: &Params<'_>) -> Option<Self> {
        Some(BackgroundColor(params.text(0)?.to_string()))
    }

    fn post_transform(
        &self,
        image: &mut Image,
        _ctx: &PostTransformContext<'_>,
        _load: &AssetLoader<'_>,
    ) -> Result<(), ImagingError> {
        background_color(image, &self.0)
    }
}
