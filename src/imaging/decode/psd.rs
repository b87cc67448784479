//! Photoshop originals: the size from the 26-byte file header, the pixels from the merged
//! composite image Photoshop stores after the layers, through the `psd` crate.
//!
//! The `psd` crate indexes its input without bounds checks in places, so it only ever sees a
//! rebuilt file: our own header check, empty colour-mode / resource / layer sections (no layer
//! is ever parsed) and the composite section, sized and checked here. A panic that still gets
//! through (short PackBits rows) is caught here and becomes a decode error.

use super::{DecodeOptions, Probe};
use crate::imaging::{Image, ImageFormat, ImagingError, PixelLayout, SourceInfo};

const HEADER_LEN: usize = 26;
/// Photoshop's own limit for .psd (the larger .psb "version 2" files are not read).
const MAX_SIDE: u32 = 30_000;
const MODE_GRAYSCALE: u16 = 1;
const MODE_RGB: u16 = 3;

/// What the 26-byte header declares.
#[derive(Debug, Clone, Copy)]
struct Header {
    channels: u16,
    height: u32,
    width: u32,
    depth: u16,
    colour_mode: u16,
}

fn undecodable(message: impl std::fmt::Display) -> ImagingError {
    ImagingError::Undecodable(format!("psd: {message}"))
}

fn be_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn read_header(bytes: &[u8]) -> Result<Header, ImagingError> {
    if bytes.len() < HEADER_LEN || !bytes.starts_with(b"8BPS") {
        return Err(undecodable("truncated header"));
    }
    let field = |at| be_u16(bytes, at).ok_or_else(|| undecodable("truncated header"));
    if field(4)? != 1 {
        return Err(undecodable("only version 1 (.psd) files are read"));
    }
    let header = Header {
        channels: field(12)?,
        height: be_u32(bytes, 14).ok_or_else(|| undecodable("truncated header"))?,
        width: be_u32(bytes, 18).ok_or_else(|| undecodable("truncated header"))?,
        depth: field(22)?,
        colour_mode: field(24)?,
    };
    if !(1..=56).contains(&header.channels) {
        return Err(undecodable(format!("{} channels", header.channels)));
    }
    if header.width > MAX_SIDE || header.height > MAX_SIDE {
        return Err(undecodable("a side is over 30000 pixels"));
    }
    Ok(header)
}

/// Header-only: the 26 fixed bytes at the start of the file.
pub(super) fn probe(bytes: &[u8]) -> Result<Probe, ImagingError> {
    let header = read_header(bytes)?;
    Ok(Probe {
        format: ImageFormat::Psd,
        width: header.width,
        height: header.height,
        orientation: 1,
    })
}

/// The composite ("image data") section: everything after the three length-prefixed sections
/// that follow the header.
fn composite_section(bytes: &[u8]) -> Result<&[u8], ImagingError> {
    let mut at = HEADER_LEN;
    for _section in ["colour mode data", "image resources", "layers and masks"] {
        let len = be_u32(bytes, at).ok_or_else(|| undecodable("truncated section"))?;
        at = at
            .checked_add(4)
            .and_then(|a| a.checked_add(len as usize))
            .filter(|&end| end <= bytes.len())
            .ok_or_else(|| undecodable("a section runs past the end of the file"))?;
    }
    Ok(&bytes[at..])
}

/// Checks that the composite holds a full image for `header` (raw, or PackBits rows whose
/// byte counts add up to no more than what is there).
fn check_composite(composite: &[u8], header: &Header) -> Result<(), ImagingError> {
    let rows = header.height as usize * usize::from(header.channels);
    let plane = header.width as usize * header.height as usize;
    match be_u16(composite, 0) {
        Some(0) => {
            if composite.len() - 2 < plane * usize::from(header.channels) {
                return Err(undecodable("composite image is truncated"));
            }
        }
        Some(1) => {
            let counts = composite
                .get(2..2 + rows * 2)
                .ok_or_else(|| undecodable("composite row table is truncated"))?;
            let packed: usize = counts
                .chunks_exact(2)
                .map(|c| usize::from(u16::from_be_bytes([c[0], c[1]])))
                .sum();
            if composite.len() - 2 - rows * 2 < packed {
                return Err(undecodable("composite image is truncated"));
            }
        }
        Some(other) => return Err(undecodable(format!("compression {other}"))),
        None => return Err(undecodable("no composite image")),
    }
    Ok(())
}

pub(super) fn decode(
    bytes: &[u8],
    probe: &Probe,
    _options: &DecodeOptions,
) -> Result<Image, ImagingError> {
    let header = read_header(bytes)?;
    // The psd crate reads 8-bit gray and RGB composites correctly; other modes and depths
    // would come out with wrong colours, so they are refused rather than guessed at.
    if header.depth != 8 || !matches!(header.colour_mode, MODE_GRAYSCALE | MODE_RGB) {
        return Err(undecodable(format!(
            "colour mode {} at {} bits is not supported",
            header.colour_mode, header.depth
        )));
    }
    let composite = composite_section(bytes)?;
    check_composite(composite, &header)?;
    let mut rebuilt = Vec::with_capacity(HEADER_LEN + 12 + composite.len());
    rebuilt.extend_from_slice(&bytes[..HEADER_LEN]);
    rebuilt.extend_from_slice(&[0; 12]); // empty colour-mode, resource and layer sections
    rebuilt.extend_from_slice(composite);
    // The psd crate indexes without bounds checks (PackBits rows that unpack short, channel
    // planes shorter than the image): its panics are this file's decode error.
    let rgba = std::panic::catch_unwind(|| {
        psd::Psd::from_bytes(&rebuilt)
            .map(|psd| psd.rgba())
            .map_err(undecodable)
    })
    .unwrap_or_else(|_| Err(undecodable("the composite image is malformed")))?;
    let pixel_count = header.width as usize * header.height as usize;
    if rgba.len() != pixel_count * 4 {
        return Err(undecodable("composite does not cover the image"));
    }
    let grayscale = header.colour_mode == MODE_GRAYSCALE;
    // Like PIL: RGB with a fourth channel is RGBA; gray ignores extra channels.
    let (layout, pixels) = if grayscale {
        let gray: Vec<u8> = rgba.chunks_exact(4).map(|p| p[0]).collect();
        (PixelLayout::Rgb8, super::gray_to_rgb(&gray))
    } else if header.channels == 4 {
        (PixelLayout::Rgba8, rgba)
    } else {
        (PixelLayout::Rgb8, super::rgba_to_rgb(&rgba))
    };
    Ok(Image::still(
        header.width,
        header.height,
        layout,
        pixels,
        SourceInfo {
            grayscale,
            ..SourceInfo::plain(ImageFormat::Psd, probe.width, probe.height)
        },
    ))
}
