//! PNG output through the `png` crate. Palette originals go back to an exact palette (with
//! tRNS) when the result still has at most 256 colours — Pillow's PILLOW_PRESERVE_INDEXED_MODE —
//! gray originals that are still gray are written as gray, and opaque RGBA drops its alpha.

use super::{embeddable_icc, is_gray, is_opaque, EncodeSettings};
use crate::imaging::{Image, ImagingError};
use std::borrow::Cow;
use std::collections::HashMap;

/// Pixels ready for the PNG writer.
struct PngPixels {
    colour: png::ColorType,
    depth: png::BitDepth,
    /// Rows packed at `depth`, each starting on a byte boundary.
    data: Vec<u8>,
    palette: Option<Vec<u8>>,
    transparency: Option<Vec<u8>>,
}

pub(super) fn encode(image: &Image, settings: &EncodeSettings) -> Result<Vec<u8>, ImagingError> {
    let bad = |e: png::EncodingError| ImagingError::Encode(format!("png: {e}"));
    let pixels = to_png_pixels(image);
    let icc_space = match pixels.colour {
        png::ColorType::Grayscale | png::ColorType::GrayscaleAlpha => b"GRAY",
        _ => b"RGB ",
    };

    let mut info = png::Info::with_size(image.width, image.height);
    info.color_type = pixels.colour;
    info.bit_depth = pixels.depth;
    info.palette = pixels.palette.map(Cow::Owned);
    info.trns = pixels.transparency.map(Cow::Owned);
    info.icc_profile = embeddable_icc(image, settings, icc_space).map(Cow::Borrowed);

    let mut out = Vec::new();
    let mut encoder = png::Encoder::with_info(&mut out, info).map_err(bad)?;
    encoder.set_deflate_compression(match settings.png_compression_level {
        0 => png::DeflateCompression::NoCompression,
        level => png::DeflateCompression::Level(level.min(9)),
    });
    // libpng's rule (what Pillow gets): no filtering for palette images, adaptive otherwise.
    encoder.set_filter(if pixels.colour == png::ColorType::Indexed {
        png::Filter::NoFilter
    } else {
        png::Filter::Adaptive
    });
    let mut writer = encoder.write_header().map_err(bad)?;
    writer.write_image_data(&pixels.data).map_err(bad)?;
    writer.finish().map_err(bad)?;
    Ok(out)
}

fn to_png_pixels(image: &Image) -> PngPixels {
    let pixels = &image.frames[0].pixels;
    let channels = image.layout.channels();
    let opaque = is_opaque(image);
    if image.source.palette {
        if let Some(indexed) = exact_palette(pixels, channels, image.width as usize) {
            return indexed;
        }
    }
    let (colour, data) = if image.source.grayscale && is_gray(image) {
        if opaque {
            let luma = pixels.chunks_exact(channels).map(|p| p[0]).collect();
            (png::ColorType::Grayscale, luma)
        } else {
            let luma_alpha = pixels.chunks_exact(4).flat_map(|p| [p[0], p[3]]).collect();
            (png::ColorType::GrayscaleAlpha, luma_alpha)
        }
    } else if opaque && channels == 4 {
        let rgb = pixels
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        (png::ColorType::Rgb, rgb)
    } else if channels == 4 {
        (png::ColorType::Rgba, pixels.clone())
    } else {
        (png::ColorType::Rgb, pixels.clone())
    };
    PngPixels {
        colour,
        depth: png::BitDepth::Eight,
        data,
        palette: None,
        transparency: None,
    }
}

/// An exact palette of the image, or `None` with more than 256 distinct colours. Fully
/// transparent pixels share one entry; translucent entries come first so tRNS stays short;
/// indices are packed at 1, 2, 4 or 8 bits.
fn exact_palette(pixels: &[u8], channels: usize, width: usize) -> Option<PngPixels> {
    let mut index_of: HashMap<[u8; 4], u8> = HashMap::new();
    let mut colours: Vec<[u8; 4]> = Vec::new();
    let mut indices = Vec::with_capacity(pixels.len() / channels);
    let mut previous: Option<([u8; 4], u8)> = None;
    for p in pixels.chunks_exact(channels) {
        let alpha = if channels == 4 { p[3] } else { 255 };
        let colour = if alpha == 0 {
            [0, 0, 0, 0]
        } else {
            [p[0], p[1], p[2], alpha]
        };
        // Runs of one colour are the common case; skip the hash lookup for them.
        let index = match previous {
            Some((last, index)) if last == colour => index,
            _ => match index_of.get(&colour) {
                Some(&index) => index,
                None => {
                    let index = u8::try_from(colours.len()).ok()?;
                    colours.push(colour);
                    index_of.insert(colour, index);
                    index
                }
            },
        };
        previous = Some((colour, index));
        indices.push(index);
    }

    let mut order: Vec<u8> = (0..colours.len() as u16).map(|i| i as u8).collect();
    order.sort_by_key(|&i| colours[usize::from(i)][3] == 255);
    let mut new_index = [0u8; 256];
    for (new, &old) in order.iter().enumerate() {
        new_index[usize::from(old)] = new as u8;
    }
    let palette = order
        .iter()
        .flat_map(|&i| {
            let [r, g, b, _] = colours[usize::from(i)];
            [r, g, b]
        })
        .collect();
    let transparency: Vec<u8> = order
        .iter()
        .map(|&i| colours[usize::from(i)][3])
        .take_while(|&alpha| alpha != 255)
        .collect();

    let bits = match colours.len() {
        0..=2 => 1,
        3..=4 => 2,
        5..=16 => 4,
        _ => 8,
    };
    let data = pack_rows(
        indices.iter().map(|&i| new_index[usize::from(i)]),
        width,
        bits,
    );
    Some(PngPixels {
        colour: png::ColorType::Indexed,
        depth: match bits {
            1 => png::BitDepth::One,
            2 => png::BitDepth::Two,
            4 => png::BitDepth::Four,
            _ => png::BitDepth::Eight,
        },
        data,
        palette: Some(palette),
        transparency: (!transparency.is_empty()).then_some(transparency),
    })
}

/// Packs `bits`-wide values most significant first, starting every row on a new byte.
fn pack_rows(values: impl Iterator<Item = u8>, width: usize, bits: usize) -> Vec<u8> {
    if bits == 8 {
        return values.collect();
    }
    let per_byte = 8 / bits;
    let row_bytes = width.div_ceil(per_byte);
    let mut packed = Vec::new();
    let mut row = vec![0u8; row_bytes];
    for (i, value) in values.enumerate() {
        let x = i % width;
        let shift = 8 - bits * (x % per_byte + 1);
        row[x / per_byte] |= value << shift;
        if x + 1 == width {
            packed.extend_from_slice(&row);
            row.fill(0);
        }
    }
    packed
}
