//! Step `moderation_blur`: an upload that moderation flagged (or holds) is served strongly
//! blurred at every size and format, so this runs on the output pixels, after the resize and
//! the filters (a `sharpen()` in the URL cannot undo it). Each frame is reduced to at most
//! `DETAIL_PIXELS` (and at most a quarter of its size) on its longer side, Gaussian-blurred there and enlarged back: a blur whose
//! radius grows with the image (about a twentieth of its longer side) for the cost of two
//! resizes, whatever the output size. The planes road is never taken for such a render.

use super::context::{Pixels, RenderContext};
use crate::imaging::filters::{blur_pixels, resize_pixels};
use crate::imaging::{Image, ImagingError};

/// The longer side, in pixels, of the image the blur works on.
const DETAIL_PIXELS: u32 = 24;
/// The Gaussian at that size: a radius of 3 pixels of 24 (an eighth of the image).
const RADIUS: i64 = 3;
const SIGMA: f64 = 2.0;

pub(super) fn applies(context: &RenderContext<'_>) -> bool {
    context.job.moderation_blur
        && !context.job.request.meta
        && matches!(context.pixels, Pixels::Rgb(_))
}

pub(super) fn run(context: &mut RenderContext<'_>) -> Result<(), ImagingError> {
    if let Pixels::Rgb(image) = &mut context.pixels {
        blur_strongly(image)?;
    }
    Ok(())
}

/// Blurs every frame of `image` beyond recognition, keeping its size.
pub(crate) fn blur_strongly(image: &mut Image) -> Result<(), ImagingError> {
    let size = (image.width, image.height);
    let longer = size.0.max(size.1).max(1);
    // A small image is reduced too (to a quarter), so it is as unrecognisable as a large one.
    let detail = (longer / 4).clamp(1, DETAIL_PIXELS);
    let scale = |side: u32| {
        (u64::from(side) * u64::from(detail))
            .div_ceil(u64::from(longer))
            .clamp(1, u64::from(detail)) as u32
    };
    let small = (scale(size.0), scale(size.1));
    let channels = image.layout.channels();
    for frame in &mut image.frames {
        let reduced = resize_pixels(&frame.pixels, image.layout, size, small)?;
        let blurred = blur_pixels(
            &reduced,
            small.0 as usize,
            small.1 as usize,
            channels,
            RADIUS,
            SIGMA,
        );
        frame.pixels = resize_pixels(&blurred, image.layout, small, size)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::{Frame, ImageFormat, PixelLayout, SourceInfo};

    /// A black and white checkerboard of 8-pixel squares.
    fn checkerboard(width: u32, height: u32) -> Image {
        let pixels = (0..height)
            .flat_map(|y| (0..width).map(move |x| if (x / 8 + y / 8) % 2 == 0 { 0 } else { 255 }))
            .flat_map(|v| [v, v, v])
            .collect();
        Image {
            width,
            height,
            layout: PixelLayout::Rgb8,
            frames: vec![Frame {
                pixels,
                delay_ms: 0,
            }],
            source: SourceInfo::plain(ImageFormat::Png, width, height),
        }
    }

    fn variance(image: &Image) -> f64 {
        let pixels = &image.frames[0].pixels;
        let mean = pixels.iter().map(|&p| f64::from(p)).sum::<f64>() / pixels.len() as f64;
        pixels
            .iter()
            .map(|&p| (f64::from(p) - mean).powi(2))
            .sum::<f64>()
            / pixels.len() as f64
    }

    #[test]
    fn detail_is_gone_at_every_size() {
        for (width, height) in [(400, 300), (64, 640), (20, 10), (1, 1)] {
            let mut image = checkerboard(width, height);
            let before = variance(&image);
            blur_strongly(&mut image).unwrap();
            assert_eq!((image.width, image.height), (width, height));
            assert_eq!(image.frames[0].pixels.len(), (width * height * 3) as usize);
            if width > 8 {
                assert!(
                    variance(&image) < before / 20.0,
                    "{width}x{height}: {} of {before}",
                    variance(&image)
                );
            }
        }
    }
}
