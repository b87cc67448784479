//! Photoshop originals: the size from the 26-byte file header, the pixels from the merged
//! composite image Photoshop stores after the layers (no layer is ever parsed), read here:
//! raw or PackBits-compressed channel planes, every read bounds-checked, every row required to
//! unpack to exactly the image's width. (The `psd` crate did this before and indexed past its
//! buffers on hostile files.)

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
/// The first `wanted` channel planes of the composite image, each `width x height` bytes.
fn composite_planes(
    composite: &[u8],
    header: &Header,
    wanted: usize,
) -> Result<Vec<Vec<u8>>, ImagingError> {
    let (width, height) = (header.width as usize, header.height as usize);
    let plane_len = width * height;
    let channels = usize::from(header.channels);
    match be_u16(composite, 0) {
        Some(0) => {
            let data = &composite[2..];
            (0..wanted)
                .map(|channel| {
                    data.get(channel * plane_len..(channel + 1) * plane_len)
                        .map(<[u8]>::to_vec)
                        .ok_or_else(|| undecodable("composite image is truncated"))
                })
                .collect()
        }
        Some(1) => {
            let rows = height * channels;
            let counts: Vec<usize> = composite
                .get(2..2 + rows * 2)
                .ok_or_else(|| undecodable("composite row table is truncated"))?
                .chunks_exact(2)
                .map(|c| usize::from(u16::from_be_bytes([c[0], c[1]])))
                .collect();
            let mut at = 2 + rows * 2;
            let mut planes = Vec::with_capacity(wanted);
            for channel in 0..wanted {
                let mut plane = Vec::with_capacity(plane_len);
                for &count in &counts[channel * height..(channel + 1) * height] {
                    let packed = composite
                        .get(at..at + count)
                        .ok_or_else(|| undecodable("composite image is truncated"))?;
                    unpack_row(packed, width, &mut plane)?;
                    at += count;
                }
                planes.push(plane);
            }
            Ok(planes)
        }
        Some(other) => Err(undecodable(format!("compression {other}"))),
        None => Err(undecodable("no composite image")),
    }
}

/// Appends one PackBits row to `plane`; it must unpack to exactly `width` bytes.
fn unpack_row(packed: &[u8], width: usize, plane: &mut Vec<u8>) -> Result<(), ImagingError> {
    let end = plane.len() + width;
    let overrun = || undecodable("a composite row does not unpack to the image's width");
    let mut at = 0;
    while at < packed.len() {
        let n = packed[at] as i8;
        at += 1;
        match n {
            // A literal run of n + 1 bytes.
            0.. => {
                let run = usize::from(n as u8) + 1;
                let literal = packed.get(at..at + run).ok_or_else(overrun)?;
                if plane.len() + run > end {
                    return Err(overrun());
                }
                plane.extend_from_slice(literal);
                at += run;
            }
            // -128 is a no-op.
            -128 => {}
            // The next byte repeated 1 - n times.
            _ => {
                let run = (1 - i16::from(n)) as usize;
                let value = *packed.get(at).ok_or_else(overrun)?;
                if plane.len() + run > end {
                    return Err(overrun());
                }
                plane.resize(plane.len() + run, value);
                at += 1;
            }
        }
    }
    if plane.len() != end {
        return Err(overrun());
    }
    Ok(())
}

pub(super) fn decode(
    bytes: &[u8],
    probe: &Probe,
    _options: &DecodeOptions,
) -> Result<Image, ImagingError> {
    let header = read_header(bytes)?;
    // 8-bit gray and RGB composites only: other modes and depths would need colour
    // conversions we do not have, so they are refused rather than guessed at.
    if header.depth != 8 || !matches!(header.colour_mode, MODE_GRAYSCALE | MODE_RGB) {
        return Err(undecodable(format!(
            "colour mode {} at {} bits is not supported",
            header.colour_mode, header.depth
        )));
    }
    let composite = composite_section(bytes)?;
    let grayscale = header.colour_mode == MODE_GRAYSCALE;
    // Like PIL: RGB with a fourth channel is RGBA; gray ignores extra channels.
    let (layout, wanted) = match (grayscale, header.channels) {
        (true, _) => (PixelLayout::Rgb8, 1),
        (false, 4) => (PixelLayout::Rgba8, 4),
        (false, channels) if channels >= 3 => (PixelLayout::Rgb8, 3),
        (false, channels) => {
            return Err(undecodable(format!("an RGB image of {channels} channels")))
        }
    };
    let planes = composite_planes(composite, &header, wanted)?;
    let pixels: Vec<u8> = (0..header.width as usize * header.height as usize)
        .flat_map(|i| {
            let gray = (wanted == 1).then(|| [planes[0][i]; 3]);
            let colour = gray.unwrap_or_else(|| [planes[0][i], planes[1][i], planes[2][i]]);
            colour
                .into_iter()
                .chain(planes.get(3).map(|alpha| alpha[i]))
        })
        .collect();
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
