//! AVIF originals: the HEIF container read by `super::heif_container` ( primary item, alpha item, grid
//! tiles, ispe/colr/irot/imir), the AV1 pictures decoded by rav1d (`av1`), and converted to
//! RGB8/RGBA8 (`yuv`). The probe reads the size from the container's `ispe` alone.

mod av1;
mod yuv;

use super::heif_container::{self as container, Coded};
use super::{DecodeOptions, Probe};
use crate::imaging::{Image, ImageFormat, ImagingError, PixelLayout, SourceInfo};
use yuv::{Canvas, Matrix};

fn undecodable(message: &str) -> ImagingError {
    ImagingError::Undecodable(format!("avif: {message}"))
}

/// Header-only: the `meta` box (item properties), no AV1 data.
pub(super) fn probe(bytes: &[u8]) -> Result<Probe, ImagingError> {
    let parsed = container::parse(bytes)?;
    Ok(Probe {
        format: ImageFormat::Avif,
        width: parsed.width,
        height: parsed.height,
        orientation: parsed.orientation,
    })
}

/// The container and every coded item it names (tiles, alpha), without decoding: the number
/// of coded bytes found.
pub(super) fn read_container(bytes: &[u8]) -> Result<usize, ImagingError> {
    let parsed = container::parse(bytes)?;
    let size = |coded: &Coded| match coded {
        Coded::Single(data) => data.len(),
        Coded::Grid { tiles, .. } => tiles.iter().map(|tile| tile.len()).sum(),
    };
    let alpha = parsed.alpha()?;
    Ok(size(&parsed.colour()?) + alpha.as_ref().map_or(0, size))
}

pub(super) fn decode(
    bytes: &[u8],
    header: &Probe,
    options: &DecodeOptions,
) -> Result<Image, ImagingError> {
    let parsed = container::parse(bytes)?;
    let (width, height) = (parsed.width as usize, parsed.height as usize);
    let layout = if parsed.has_alpha() {
        PixelLayout::Rgba8
    } else {
        PixelLayout::Rgb8
    };
    let channels = layout.channels();
    let mut pixels = vec![255u8; width * height * channels];
    let mut canvas = Canvas {
        pixels: &mut pixels,
        width,
        height,
        channels,
    };
    let mut monochrome = true;
    for_each_picture(
        &parsed.colour()?,
        (width, height),
        options,
        |picture, left, top| {
            // The container's nclx wins over the AV1 sequence header, as in libavif; the
            // range is how the samples were coded, so it comes from the sequence header.
            let matrix = Matrix::from_cicp(
                parsed
                    .nclx
                    .map_or(picture.matrix_coefficients, |n| n.matrix_coefficients),
            );
            monochrome &= picture.subsampling == av1::Subsampling::Monochrome;
            yuv::write_colour(picture, matrix, &mut canvas, left, top);
        },
    )?;
    if let Some(alpha) = parsed.alpha()? {
        for_each_picture(&alpha, (width, height), options, |picture, left, top| {
            yuv::write_alpha(picture, &mut canvas, left, top)
        })?;
    }
    Ok(Image::still(
        parsed.width,
        parsed.height,
        layout,
        pixels,
        SourceInfo {
            orientation: header.orientation,
            icc_profile: parsed.icc.map(<[u8]>::to_vec),
            grayscale: monochrome,
            ..SourceInfo::plain(ImageFormat::Avif, header.width, header.height)
        },
    ))
}

/// Decodes a single image or every tile of a grid, calling `place` with each picture and
/// where its top-left corner goes. Pictures are decoded and released one at a time; a grid
/// stops between tiles once the render's deadline has passed, and each tile's decode is
/// capped at the size its `ispe` declares (the container checked those cover the canvas).
fn for_each_picture(
    coded: &Coded,
    (width, height): (usize, usize),
    options: &DecodeOptions,
    mut place: impl FnMut(&av1::Picture, usize, usize),
) -> Result<(), ImagingError> {
    match coded {
        Coded::Single(obus) => {
            let picture = av1::decode(obus, options.max_pixels)?;
            if (picture.width, picture.height) != (width, height) {
                return Err(undecodable("the AV1 picture size does not match ispe"));
            }
            place(&picture, 0, 0);
        }
        Coded::Grid {
            rows,
            columns,
            width: grid_width,
            height: grid_height,
            tile_size: declared_tile_size,
            tiles,
        } => {
            if (*grid_width as usize, *grid_height as usize) != (width, height) {
                return Err(undecodable("the grid size does not match ispe"));
            }
            let mut tile_size = None;
            let tile_limit = declared_tile_size.map_or(options.max_pixels, |(w, h)| {
                (u64::from(w) * u64::from(h)).min(options.max_pixels)
            });
            for (index, obus) in tiles.iter().enumerate() {
                if options.past_deadline() {
                    return Err(ImagingError::Abandoned);
                }
                let picture = av1::decode(obus, tile_limit)?;
                let size = (picture.width, picture.height);
                // Every tile has the same size, and together they cover the canvas.
                let (tile_width, tile_height) = *tile_size.get_or_insert(size);
                if size != (tile_width, tile_height)
                    || tile_width * (*columns as usize) < width
                    || tile_height * (*rows as usize) < height
                {
                    return Err(undecodable("grid tiles do not tile the image"));
                }
                let (row, column) = (index / *columns as usize, index % *columns as usize);
                place(&picture, column * tile_width, row * tile_height);
            }
        }
    }
    Ok(())
}
