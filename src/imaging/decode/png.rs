//! PNG: IHDR and eXIf read by walking the chunks, pixels through the `png` crate (palette and
//! tRNS expanded, 16-bit cut to 8, gray widened to RGB). Truncated or corrupt image data keeps
//! the rows that did decode (Pillow with `LOAD_TRUNCATED_IMAGES`, which Thumbor sets).

use super::{exif, gray_alpha_to_rgba, gray_to_rgb, DecodeOptions, Probe};
use crate::imaging::{Image, ImageFormat, ImagingError, PixelLayout, SourceInfo};
use std::io::Cursor;

const SIGNATURE_LEN: usize = 8;

pub(super) fn probe(bytes: &[u8]) -> Result<Probe, ImagingError> {
    let bad = |why: &str| ImagingError::Undecodable(format!("png: {why}"));
    let ihdr = bytes
        .get(SIGNATURE_LEN..SIGNATURE_LEN + 16)
        .ok_or_else(|| bad("truncated header"))?;
    if &ihdr[4..8] != b"IHDR" {
        return Err(bad("first chunk is not IHDR"));
    }
    let width = u32::from_be_bytes([ihdr[8], ihdr[9], ihdr[10], ihdr[11]]);
    let height = u32::from_be_bytes([ihdr[12], ihdr[13], ihdr[14], ihdr[15]]);
    Ok(Probe {
        format: ImageFormat::Png,
        width,
        height,
        orientation: exif_chunk(bytes).map_or(1, exif::orientation),
    })
}

/// The eXIf chunk, wherever it is (it may follow the image data). Only chunk headers are read.
fn exif_chunk(bytes: &[u8]) -> Option<&[u8]> {
    let mut pos = SIGNATURE_LEN;
    while let Some(header) = bytes.get(pos..pos + 8) {
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let data_start = pos + 8;
        match &header[4..8] {
            b"eXIf" => return bytes.get(data_start..data_start.checked_add(length)?),
            b"IEND" => return None,
            _ => pos = data_start.checked_add(length)?.checked_add(4)?,
        }
    }
    None
}

pub(super) fn decode(
    bytes: &[u8],
    header: &Probe,
    _options: &DecodeOptions,
) -> Result<Image, ImagingError> {
    let bad = |e: png::DecodingError| ImagingError::Undecodable(format!("png: {e}"));
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    // Pillow does not verify IDAT checksums either.
    decoder.ignore_checksums(true);
    let mut reader = decoder.read_info().map_err(bad)?;

    let info = reader.info();
    let stored_color = info.color_type;
    let one_bit_gray =
        stored_color == png::ColorType::Grayscale && info.bit_depth == png::BitDepth::One;
    let icc_profile = info.icc_profile.as_ref().map(|p| p.to_vec());
    let (width, height) = (info.width, info.height);

    let (output_color, _) = reader.output_color_type();
    let buffer_size = reader
        .output_buffer_size()
        .ok_or_else(|| ImagingError::TooLarge("png: frame buffer size overflows".into()))?;
    let mut samples = vec![0u8; buffer_size];
    // Rows decoded before an error stay in `samples`; the rest stays black/transparent.
    if reader.next_frame(&mut samples).is_ok() {
        let _ = reader.finish();
    }

    let (layout, pixels) = match output_color {
        png::ColorType::Rgb => (PixelLayout::Rgb8, samples),
        png::ColorType::Rgba => (PixelLayout::Rgba8, samples),
        png::ColorType::Grayscale => (PixelLayout::Rgb8, gray_to_rgb(&samples)),
        png::ColorType::GrayscaleAlpha => (PixelLayout::Rgba8, gray_alpha_to_rgba(&samples)),
        png::ColorType::Indexed => {
            return Err(ImagingError::Undecodable(
                "png: palette was not expanded".into(),
            ))
        }
    };
    Ok(Image::still(
        width,
        height,
        layout,
        pixels,
        SourceInfo {
            format: ImageFormat::Png,
            width: header.width,
            height: header.height,
            orientation: header.orientation,
            icc_profile,
            // Pillow's P and 1 modes: re-quantized on PNG/GIF output.
            palette: stored_color == png::ColorType::Indexed || one_bit_gray,
            grayscale: matches!(
                stored_color,
                png::ColorType::Grayscale | png::ColorType::GrayscaleAlpha
            ),
            loop_count: None,
        },
    ))
}
