//! Lanczos3 resizing of frames for the filters that change size (upscale, proportion, fill's
//! blurred canvas, watermark ratios), with fast_image_resize as the pipeline uses it: alpha is
//! premultiplied while resampling.

use super::super::{Image, ImagingError, PixelLayout};
use fast_image_resize::images::{Image as FirImage, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

fn pixel_type(layout: PixelLayout) -> PixelType {
    match layout {
        PixelLayout::Rgb8 => PixelType::U8x3,
        PixelLayout::Rgba8 => PixelType::U8x4,
    }
}

/// Resizes one frame's pixels from `src_w x src_h` to `dst_w x dst_h`.
pub fn resize_pixels(
    pixels: &[u8],
    layout: PixelLayout,
    src_size: (u32, u32),
    dst_size: (u32, u32),
) -> Result<Vec<u8>, ImagingError> {
    let (src_w, src_h) = src_size;
    let (dst_w, dst_h) = dst_size;
    if dst_w == 0 || dst_h == 0 {
        return Err(ImagingError::BadRequest(format!(
            "cannot resize to {dst_w}x{dst_h}"
        )));
    }
    if u64::from(dst_w) * u64::from(dst_h) > super::MAX_CANVAS_PIXELS {
        return Err(ImagingError::TooLarge(format!(
            "resize to {dst_w}x{dst_h} is over the pixel limit"
        )));
    }
    if src_size == dst_size {
        return Ok(pixels.to_vec());
    }
    let kind = pixel_type(layout);
    let source = ImageRef::new(src_w, src_h, pixels, kind)
        .map_err(|e| ImagingError::Encode(format!("resize source: {e}")))?;
    let mut destination = FirImage::new(dst_w, dst_h, kind);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .use_alpha(true);
    Resizer::new()
        .resize(&source, &mut destination, &options)
        .map_err(|e| ImagingError::Encode(format!("resize: {e}")))?;
    Ok(destination.into_vec())
}

/// Resizes every frame of `image` and updates its size.
pub fn resize_image(image: &mut Image, width: u32, height: u32) -> Result<(), ImagingError> {
    let src_size = (image.width, image.height);
    for frame in &mut image.frames {
        frame.pixels = resize_pixels(&frame.pixels, image.layout, src_size, (width, height))?;
    }
    image.width = width;
    image.height = height;
    Ok(())
}
