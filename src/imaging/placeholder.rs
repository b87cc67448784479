//! Placeholders for meta JSON, as imagor computes them with its `blurhash(x,y)` and
//! `thumbhash()` filters: a BlurHash string and a base64 ThumbHash of the rendered image's
//! first frame, each computed on a small copy (at most 64 and 100 pixels a side, never
//! enlarged), so their cost does not grow with the image.

use super::geometry::Size;
use super::transform::{self, Region, ResamplingFilter};
use super::{Image, ImagingError, PixelLayout};

/// The longest side of the copy BlurHash is computed on (imagor's choice).
const BLURHASH_SIDE: u32 = 64;
/// The longest side of the copy ThumbHash is computed on: the most the algorithm takes.
const THUMBHASH_SIDE: u32 = 100;

/// BlurHash components per axis, each 1..=9 (the filter drops other values).
pub const BLURHASH_COMPONENTS: std::ops::RangeInclusive<u32> = 1..=9;

/// The first frame as RGBA8, shrunk to fit `side` x `side` (kept as is when it already fits).
fn small_rgba(image: &Image, side: u32) -> Result<(u32, u32, Vec<u8>), ImagingError> {
    let (width, height) = (image.width.max(1), image.height.max(1));
    let scale = (f64::from(side) / f64::from(width.max(height))).min(1.0);
    let size = Size::new(
        ((f64::from(width) * scale).round() as u32).clamp(1, side),
        ((f64::from(height) * scale).round() as u32).clamp(1, side),
    );
    let first = Image {
        frames: image.frames.iter().take(1).cloned().collect(),
        ..image.clone()
    };
    let small = if size == Size::new(image.width, image.height) {
        first
    } else {
        transform::crop_resize(
            &first,
            Region {
                left: 0.0,
                top: 0.0,
                width: f64::from(image.width),
                height: f64::from(image.height),
            },
            size,
            ResamplingFilter::Lanczos3,
        )?
    };
    let pixels = small
        .frames
        .into_iter()
        .next()
        .ok_or_else(|| ImagingError::Undecodable("an image without frames".into()))?
        .pixels;
    let rgba = match small.layout {
        PixelLayout::Rgba8 => pixels,
        PixelLayout::Rgb8 => pixels
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
    };
    Ok((small.width, small.height, rgba))
}

/// The BlurHash of `image` with `x` by `y` components (each in [`BLURHASH_COMPONENTS`]).
/// Transparency is flattened onto black first, as imagor does: BlurHash has no alpha.
pub fn blurhash(image: &Image, x: u32, y: u32) -> Result<String, ImagingError> {
    let (width, height, mut rgba) = small_rgba(image, BLURHASH_SIDE)?;
    for pixel in rgba.chunks_exact_mut(4) {
        let alpha = u16::from(pixel[3]);
        for channel in &mut pixel[..3] {
            *channel = ((u16::from(*channel) * alpha + 127) / 255) as u8;
        }
        pixel[3] = 255;
    }
    blurhash::encode(x, y, width, height, &rgba)
        .map_err(|e| ImagingError::BadRequest(format!("blurhash: {e}")))
}

/// The ThumbHash of `image` (alpha kept), base64 with padding as imagor writes it.
pub fn thumbhash(image: &Image) -> Result<String, ImagingError> {
    let (width, height, rgba) = small_rgba(image, THUMBHASH_SIDE)?;
    let hash = thumbhash::rgba_to_thumb_hash(width as usize, height as usize, &rgba);
    Ok(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        hash,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::decode::{decode, DecodeOptions};
    use crate::test_corpus::read;

    fn corpus_image(relative: &str) -> Image {
        decode(&read(relative), &DecodeOptions::new(75_000_000)).unwrap()
    }

    #[test]
    fn blurhash_has_the_length_its_components_give_and_decodes_to_the_image_colours() {
        let image = corpus_image("thumbor/images/image.jpg");
        let hash = blurhash(&image, 4, 3).unwrap();
        // 1 size + 1 max-AC + 4 DC + 2 per AC component.
        assert_eq!(hash.len(), 1 + 1 + 4 + 2 * (4 * 3 - 1));
        // The hash's average colour is the image's (mean of the decoded placeholder).
        let decoded = ::blurhash::decode(&hash, 32, 32, 1.0).unwrap();
        let mean = |pixels: &[u8], stride: usize| {
            let sum: u64 = pixels
                .chunks_exact(stride)
                .map(|p| u64::from(p[0]) + u64::from(p[1]) + u64::from(p[2]))
                .sum();
            sum as f64 / (pixels.len() / stride * 3) as f64
        };
        let difference = (mean(&decoded, 4) - mean(&image.frames[0].pixels, 3)).abs();
        assert!(difference < 12.0, "mean differs by {difference:.1}");
        assert_eq!(blurhash(&image, 1, 1).unwrap().len(), 6);
    }

    #[test]
    fn thumbhash_keeps_alpha_and_the_aspect_ratio() {
        let image = corpus_image("thumbor/images/image.jpg");
        let hash = thumbhash(&image).unwrap();
        let bytes =
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &hash).unwrap();
        let ratio = ::thumbhash::thumb_hash_to_approximate_aspect_ratio(&bytes).unwrap();
        assert!((ratio - 0.75).abs() < 0.1, "aspect ratio {ratio}");
        let (_, _, _, alpha) = ::thumbhash::thumb_hash_to_average_rgba(&bytes).unwrap();
        assert!(alpha > 0.99);
        // A transparent original: the hash says so.
        let logo = decode(
            &read("thumbor/images/Commons-logo.svg"),
            &DecodeOptions::new(75_000_000),
        )
        .unwrap();
        let bytes = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            thumbhash(&logo).unwrap(),
        )
        .unwrap();
        let (_, _, _, alpha) = ::thumbhash::thumb_hash_to_average_rgba(&bytes).unwrap();
        assert!(alpha < 0.9, "average alpha {alpha}");
    }
}
