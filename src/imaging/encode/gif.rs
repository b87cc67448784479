//! GIF output through the `gif` crate: every frame with its delay, the loop count, an exact
//! local palette when a frame has at most 256 colours and NeuQuant (speed 10, never the
//! crate's slow default of 1) otherwise. Alpha becomes GIF's 1-bit transparency at 50 %.

use crate::imaging::{Image, ImagingError, PixelLayout};
use std::collections::HashMap;

/// NeuQuant sampling factor: 10 is gif's "good compromise"; 1 is ~10x slower for little gain.
const QUANTIZE_SPEED: i32 = 10;

pub(super) fn encode(image: &Image) -> Result<Vec<u8>, ImagingError> {
    let bad = |e: gif::EncodingError| ImagingError::Encode(format!("gif: {e}"));
    let (Ok(width), Ok(height)) = (u16::try_from(image.width), u16::try_from(image.height)) else {
        return Err(ImagingError::Encode(format!(
            "{}x{} is too large for GIF",
            image.width, image.height
        )));
    };
    let transparent = image.has_transparency();

    let mut out = Vec::new();
    {
        let mut encoder = gif::Encoder::new(&mut out, width, height, &[]).map_err(bad)?;
        if image.is_animated() {
            if let Some(repeat) = netscape_repeat(image.source.loop_count) {
                encoder.set_repeat(repeat).map_err(bad)?;
            }
        }
        for frame in &image.frames {
            let mut rgba = to_gif_rgba(&frame.pixels, image.layout);
            let mut gif_frame = match exact_palette_frame(&rgba, width, height) {
                Some(indexed) => indexed,
                None => gif::Frame::from_rgba_speed(width, height, &mut rgba, QUANTIZE_SPEED),
            };
            gif_frame.delay =
                u16::try_from(frame.delay_ms.saturating_add(5) / 10).unwrap_or(u16::MAX);
            // Each frame is a full picture: with transparency the previous one must be
            // cleared, or it would show through.
            gif_frame.dispose = if transparent {
                gif::DisposalMethod::Background
            } else {
                gif::DisposalMethod::Keep
            };
            encoder.write_frame(&gif_frame).map_err(bad)?;
        }
    }
    Ok(out)
}

/// `SourceInfo::loop_count` counts plays (0 = forever); NETSCAPE counts repeats after the
/// first play, and its absence means one play.
fn netscape_repeat(loop_count: Option<u16>) -> Option<gif::Repeat> {
    match loop_count? {
        0 => Some(gif::Repeat::Infinite),
        1 => None,
        plays => Some(gif::Repeat::Finite(plays - 1)),
    }
}

/// RGBA with binary alpha: under 50 % becomes the one transparent colour (0,0,0,0).
fn to_gif_rgba(pixels: &[u8], layout: PixelLayout) -> Vec<u8> {
    match layout {
        PixelLayout::Rgb8 => pixels
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        PixelLayout::Rgba8 => pixels
            .chunks_exact(4)
            .flat_map(|p| {
                if p[3] < 128 {
                    [0, 0, 0, 0]
                } else {
                    [p[0], p[1], p[2], 255]
                }
            })
            .collect(),
    }
}

/// A frame with an exact local palette, or `None` when it has more than 256 colours.
fn exact_palette_frame(rgba: &[u8], width: u16, height: u16) -> Option<gif::Frame<'static>> {
    let mut index_of: HashMap<[u8; 4], u8> = HashMap::new();
    let mut palette: Vec<u8> = Vec::new();
    let mut transparent_index = None;
    let mut indices = Vec::with_capacity(rgba.len() / 4);
    let mut previous: Option<([u8; 4], u8)> = None;
    for p in rgba.chunks_exact(4) {
        let colour = [p[0], p[1], p[2], p[3]];
        let index = match previous {
            Some((last, index)) if last == colour => index,
            _ => match index_of.get(&colour) {
                Some(&index) => index,
                None => {
                    let index = u8::try_from(palette.len() / 3).ok()?;
                    palette.extend_from_slice(&colour[..3]);
                    index_of.insert(colour, index);
                    if colour[3] == 0 {
                        transparent_index = Some(index);
                    }
                    index
                }
            },
        };
        previous = Some((colour, index));
        indices.push(index);
    }
    Some(gif::Frame::from_palette_pixels(
        width,
        height,
        indices,
        palette,
        transparent_index,
    ))
}
