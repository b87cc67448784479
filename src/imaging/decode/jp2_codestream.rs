//! Our own read of a JPEG 2000 codestream's SIZ marker (ISO 15444-1 A.5.1), done before
//! hayro-jpeg2000 sees the file, so that the decoder's real work is bounded by what the header
//! declares.
//!
//! hayro creates one tile record per tile of the reference grid when it decodes. The image size
//! it reports is the grid divided by the components' common subsampling, so an 81-byte file can
//! declare a 65535² grid of 1x1 tiles whose image is only 257x257: it passes the pixel limit,
//! then the decoder asks for 4 billion tile records and the allocation aborts the process.
//! SOT's tile index (Isot) is 16 bits, so no codestream can address more than 65,535 tiles;
//! anything declaring more is refused here, and the tile count is part of the memory estimate.

use crate::imaging::ImagingError;

/// The most tiles a codestream can address: SOT's `Isot` is a 16-bit index and 65,535 (0xFFFF)
/// is not a valid one.
pub const MAX_TILES: u64 = 65_535;

/// Colour channels plus alpha we accept: anything wider is not a picture we could show, and
/// every extra component costs a full-size plane of decoder memory.
pub const MAX_COMPONENTS: u16 = 5;

/// What the SIZ marker declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodestreamHeader {
    /// Reference grid size minus the image area offset: the size at full resolution.
    pub grid_width: u32,
    pub grid_height: u32,
    /// Tiles over the reference grid (B-5).
    pub tiles: u64,
    pub components: u16,
}

fn invalid(why: &str) -> ImagingError {
    ImagingError::Undecodable(format!("jp2: {why}"))
}

/// Finds the codestream (raw J2K, or the `jp2c` box of a JP2 file) and reads its SIZ marker,
/// refusing declarations no decoder should be asked to honour.
pub fn read(bytes: &[u8]) -> Result<CodestreamHeader, ImagingError> {
    let codestream = if bytes.starts_with(&[0xFF, 0x4F]) {
        bytes
    } else {
        find_jp2c_box(bytes).ok_or_else(|| invalid("no codestream box"))?
    };
    let header = read_siz(codestream)?;
    if header.tiles > MAX_TILES {
        return Err(ImagingError::TooLarge(format!(
            "jp2: {} tiles declared, more than a codestream can address ({MAX_TILES})",
            header.tiles
        )));
    }
    if header.components > MAX_COMPONENTS {
        return Err(invalid(&format!(
            "{} components are not supported",
            header.components
        )));
    }
    Ok(header)
}

/// The payload of the first top-level `jp2c` box. Boxes are length (4 bytes, big-endian) +
/// type (4 bytes); length 1 means a 64-bit length follows, 0 means "to the end of the file".
fn find_jp2c_box(bytes: &[u8]) -> Option<&[u8]> {
    let mut pos = 0usize;
    while pos.checked_add(8)? <= bytes.len() {
        let length = u32::from_be_bytes(bytes[pos..pos + 4].try_into().ok()?) as u64;
        let kind = &bytes[pos + 4..pos + 8];
        let (header_len, box_len) = match length {
            0 => (8u64, (bytes.len() - pos) as u64),
            1 => {
                let large = bytes.get(pos + 8..pos + 16)?;
                (16, u64::from_be_bytes(large.try_into().ok()?))
            }
            n => (8, n),
        };
        if box_len < header_len {
            return None;
        }
        let start = pos + header_len as usize;
        let end = usize::try_from((pos as u64).checked_add(box_len)?)
            .ok()?
            .min(bytes.len());
        if start > end {
            return None;
        }
        if kind == b"jp2c" {
            return Some(&bytes[start..end]);
        }
        pos = end;
        if end == bytes.len() {
            return None;
        }
    }
    None
}

/// SOC then SIZ: Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz, XTsiz, YTsiz, XTOsiz, YTOsiz, Csiz.
fn read_siz(codestream: &[u8]) -> Result<CodestreamHeader, ImagingError> {
    if !codestream.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) {
        return Err(invalid("codestream does not start with SOC, SIZ"));
    }
    let u32_at = |offset: usize| -> Result<u32, ImagingError> {
        codestream
            .get(4 + offset..4 + offset + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
            .ok_or_else(|| invalid("truncated SIZ marker"))
    };
    // Offsets from the start of Lsiz.
    let grid_width = u32_at(4)?;
    let grid_height = u32_at(8)?;
    let x_offset = u32_at(12)?;
    let y_offset = u32_at(16)?;
    let tile_width = u32_at(20)?;
    let tile_height = u32_at(24)?;
    let tile_x_offset = u32_at(28)?;
    let tile_y_offset = u32_at(32)?;
    let components = codestream
        .get(40..42)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| invalid("truncated SIZ marker"))?;
    if x_offset >= grid_width || y_offset >= grid_height {
        return Err(invalid("image area offset outside the reference grid"));
    }
    if tile_width == 0 || tile_height == 0 {
        return Err(invalid("zero tile size"));
    }
    if tile_x_offset >= grid_width || tile_y_offset >= grid_height {
        return Err(invalid("tile offset outside the reference grid"));
    }
    let tiles_across = u64::from(grid_width - tile_x_offset).div_ceil(u64::from(tile_width));
    let tiles_down = u64::from(grid_height - tile_y_offset).div_ceil(u64::from(tile_height));
    Ok(CodestreamHeader {
        grid_width: grid_width - x_offset,
        grid_height: grid_height - y_offset,
        tiles: tiles_across * tiles_down,
        components,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal raw codestream: SOC, SIZ with the given grid, tile size and subsampling, COD
    /// (no decomposition), QCD, one empty tile-part, EOC. With one component it is 81 bytes.
    pub(crate) fn codestream(grid: u32, tile: u32, subsampling: u8, components: u16) -> Vec<u8> {
        let mut out = vec![0xFF, 0x4F, 0xFF, 0x51];
        let lsiz = 38 + 3 * components;
        out.extend_from_slice(&lsiz.to_be_bytes());
        out.extend_from_slice(&0u16.to_be_bytes());
        for value in [grid, grid, 0, 0, tile, tile, 0, 0] {
            out.extend_from_slice(&value.to_be_bytes());
        }
        out.extend_from_slice(&components.to_be_bytes());
        for _ in 0..components {
            out.extend_from_slice(&[7, subsampling, subsampling]);
        }
        // COD: LRCP, 1 layer, no MCT, 0 decomposition levels, 64x64 code blocks, 5/3 wavelet.
        out.extend_from_slice(&[0xFF, 0x52, 0, 12, 0, 0, 0, 1, 0, 0, 4, 4, 0, 1]);
        // QCD: no quantisation, 2 guard bits, one subband.
        out.extend_from_slice(&[0xFF, 0x5C, 0, 4, 0x40, 0x40]);
        // SOT for tile 0 (14 bytes up to the end of its data), SOD, nothing, EOC.
        out.extend_from_slice(&[0xFF, 0x90, 0, 10, 0, 0, 0, 0, 0, 14, 0, 1]);
        out.extend_from_slice(&[0xFF, 0x93, 0xFF, 0xD9]);
        out
    }

    #[test]
    fn counts_tiles_of_the_reference_grid() {
        let header = read(&codestream(1000, 256, 1, 3)).unwrap();
        assert_eq!(header.tiles, 16);
        assert_eq!((header.grid_width, header.grid_height), (1000, 1000));
        assert_eq!(header.components, 3);
    }

    #[test]
    fn refuses_a_grid_of_billions_of_tiles() {
        // The 81-byte abort: 65535² 1x1 tiles, subsampled so the image is only 257x257.
        let bomb = codestream(65535, 1, 255, 1);
        assert_eq!(bomb.len(), 81);
        assert!(matches!(read(&bomb), Err(ImagingError::TooLarge(_))));
        assert!(matches!(
            read(&codestream(12000, 1, 1, 1)),
            Err(ImagingError::TooLarge(_))
        ));
        // 255x255 tiles of 64x64, under what a 16-bit tile index allows, are fine.
        assert!(read(&codestream(255 * 64, 64, 1, 1)).is_ok());
    }

    #[test]
    fn refuses_more_components_than_a_picture_has() {
        assert!(read(&codestream(64, 64, 1, 6)).is_err());
    }

    #[test]
    fn finds_the_codestream_inside_a_jp2_file() {
        let stream = codestream(300, 100, 1, 3);
        let mut file = Vec::new();
        file.extend_from_slice(&[0, 0, 0, 12]);
        file.extend_from_slice(b"jP  \r\n\x87\n");
        file.extend_from_slice(&[0, 0, 0, 20]);
        file.extend_from_slice(b"ftypjp2 \0\0\0\0jp2 ");
        file.extend_from_slice(&((stream.len() + 8) as u32).to_be_bytes());
        file.extend_from_slice(b"jp2c");
        file.extend_from_slice(&stream);
        assert_eq!(read(&file).unwrap().tiles, 9);
        // A length-0 box runs to the end of the file.
        let mut to_end = file[..32].to_vec();
        to_end.extend_from_slice(&[0, 0, 0, 0]);
        to_end.extend_from_slice(b"jp2c");
        to_end.extend_from_slice(&stream);
        assert_eq!(read(&to_end).unwrap().tiles, 9);
    }

    #[test]
    fn truncated_or_malformed_headers_are_errors_not_panics() {
        let stream = codestream(300, 100, 1, 3);
        for len in 0..stream.len() {
            let _ = read(&stream[..len]);
        }
        assert!(read(&codestream(300, 0, 1, 3)).is_err());
        assert!(read(b"\0\0\0\x0cjP  \r\n\x87\n\0\0\0\x01jp2c").is_err());
    }
}
