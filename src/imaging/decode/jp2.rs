//! JPEG 2000 originals — the JP2 container and raw J2K codestreams — through `hayro-jpeg2000`,
//! a pure-Rust decoder (no unsafe code outside its SIMD layer), narrowed to RGB8/RGBA8.

use super::{gray_alpha_to_rgba, gray_to_rgb, DecodeOptions, Probe};
use crate::imaging::{Image, ImageFormat, ImagingError, PixelLayout, SourceInfo};
use hayro_jpeg2000::{ColorSpace, DecodeSettings, DecoderContext};

use super::jp2_codestream::{self, MAX_COMPONENTS};

fn undecodable(e: impl std::fmt::Display) -> ImagingError {
    ImagingError::Undecodable(format!("jp2: {e}"))
}

/// Our own SIZ check first (tile count, components), then hayro's header parse.
fn parse(bytes: &[u8]) -> Result<hayro_jpeg2000::Image<'_>, ImagingError> {
    jp2_codestream::read(bytes)?;
    let settings = DecodeSettings {
        resolve_palette_indices: true,
        strict: false,
        target_resolution: None,
    };
    hayro_jpeg2000::Image::new(bytes, &settings).map_err(undecodable)
}

/// Header-only: the JP2 boxes and the codestream's main header (SIZ, COD, ...) are parsed,
/// no tile is decoded.
pub(super) fn probe(bytes: &[u8]) -> Result<Probe, ImagingError> {
    let image = parse(bytes)?;
    Ok(Probe {
        format: ImageFormat::Jp2,
        width: image.width(),
        height: image.height(),
        orientation: 1,
    })
}

pub(super) fn decode(
    bytes: &[u8],
    header: &Probe,
    _options: &DecodeOptions,
) -> Result<Image, ImagingError> {
    let image = parse(bytes)?;
    let (width, height) = (image.width(), image.height());
    if (width, height) != (header.width, header.height) {
        return Err(undecodable("size changed between probe and decode"));
    }
    let colour_space = image.color_space().clone();
    let has_alpha = image.has_alpha();
    let colour_channels = colour_space.num_channels();
    if u16::from(colour_channels) + u16::from(has_alpha) > MAX_COMPONENTS {
        return Err(undecodable(format!(
            "{colour_channels} colour channels are not supported"
        )));
    }
    let mut context = DecoderContext::default();
    let decoded = image.decode(&mut context).map_err(undecodable)?;
    let components = decoded.components();
    let pixel_count = width as usize * height as usize;
    let expected_channels = usize::from(colour_channels) + usize::from(has_alpha);
    // The interleaver trusts every component to be full size; check before asking it.
    if components.len() != expected_channels
        || components.iter().any(|c| c.samples().len() != pixel_count)
    {
        return Err(undecodable("components do not cover the image"));
    }
    let interleaved = decoded.data_u8();
    let (icc_profile, grayscale) = match &colour_space {
        ColorSpace::Icc { profile, .. } => (Some(profile.clone()), colour_channels == 1),
        _ => (None, colour_channels == 1),
    };
    let (layout, pixels) = to_rgb(&interleaved, colour_channels, has_alpha)?;
    Ok(Image::still(
        width,
        height,
        layout,
        pixels,
        SourceInfo {
            // A CMYK profile does not describe the RGB we hand on; the encoders also check.
            icc_profile: icc_profile.filter(|_| colour_channels != 4),
            grayscale,
            ..SourceInfo::plain(ImageFormat::Jp2, width, height)
        },
    ))
}

/// Interleaved 8-bit gray / RGB / CMYK (each optionally followed by alpha) to RGB8/RGBA8.
fn to_rgb(
    samples: &[u8],
    colour_channels: u8,
    has_alpha: bool,
) -> Result<(PixelLayout, Vec<u8>), ImagingError> {
    let layout = if has_alpha {
        PixelLayout::Rgba8
    } else {
        PixelLayout::Rgb8
    };
    let pixels = match (colour_channels, has_alpha) {
        (1, false) => gray_to_rgb(samples),
        (1, true) => gray_alpha_to_rgba(samples),
        (3, _) => samples.to_vec(),
        (4, _) => {
            let stride = 4 + usize::from(has_alpha);
            samples
                .chunks_exact(stride)
                .flat_map(|p| {
                    let [r, g, b] = cmyk_to_rgb(p[0], p[1], p[2], p[3]);
                    let alpha = p.get(4).copied();
                    [r, g, b].into_iter().chain(alpha)
                })
                .collect()
        }
        (other, _) => {
            return Err(undecodable(format!(
                "{other} colour channels are not supported"
            )))
        }
    };
    Ok((layout, pixels))
}

/// The naive conversion (no profile): ink darkens, black darkens everything.
fn cmyk_to_rgb(c: u8, m: u8, y: u8, k: u8) -> [u8; 3] {
    let white = 255 - u32::from(k);
    let channel = |ink: u8| ((255 - u32::from(ink)) * white / 255) as u8;
    [channel(c), channel(m), channel(y)]
}
