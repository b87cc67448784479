//! Reading the HEIF/ISOBMFF container of an AVIF file: which item is the primary image, where
//! its AV1 data lives, its size, colour description, rotation/mirroring, its alpha item, and
//! the tiles of a grid image. Only the `meta` box is parsed; sample data is sliced, not copied.
//! The HEIC reader asks it one thing, [`primary_image`], before libheif sees the file: how the
//! primary image is coded (libheif also decodes AV1 and other codings inside a HEIF file, and
//! only HEVC may reach it) and how large a grid's output is declared.
//!
//! Everything is bounds-checked and counted: hostile files get an error, never a panic, and no
//! allocation is sized by a field of the file without a cap.

use crate::imaging::ImagingError;
use std::borrow::Cow;

/// At most this many items, properties, references, property associations or extents (all
/// items together) are read: real files have a handful (a 4096x4096 grid of 512x512 tiles has
/// 64 tiles), hostile ones could declare millions — extents whose fields are zero bytes wide
/// cost nothing in the file, so 4,096 items of 65,535 extents fit in 24 KB.
const MAX_ENTRIES: usize = 4096;

/// Extents of one item: encoders write one (or a few, for interleaved files).
const MAX_EXTENTS_PER_ITEM: usize = 64;

/// Properties associated with one item: real ones have fewer than ten.
const MAX_PROPERTIES_PER_ITEM: usize = 32;

/// How often one coded item may appear among a grid's tiles. Encoders write a distinct item
/// per tile; a grid repeating one large item thousands of times asks for that many full
/// decodes to fill a small canvas.
const MAX_TILE_REUSE: usize = 16;

const ALPHA_URNS: [&[u8]; 2] = [
    b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha",
    b"urn:mpeg:hevc:2015:auxid:1",
];

fn invalid(message: &str) -> ImagingError {
    ImagingError::Undecodable(format!("heif container: {message}"))
}

/// A box: its four-character type and its body.
type RawBox<'a> = (&'a [u8; 4], &'a [u8]);

/// A bounds-checked big-endian reader over a byte slice.
#[derive(Clone, Copy)]
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], ImagingError> {
        let end = self
            .at
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| invalid("box is truncated"))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, ImagingError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, ImagingError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, ImagingError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, ImagingError> {
        let b = self.take(8)?;
        let mut array = [0; 8];
        array.copy_from_slice(b);
        Ok(u64::from_be_bytes(array))
    }

    /// An unsigned integer of `size` bytes (0, 4 or 8, as iloc's field sizes).
    fn sized(&mut self, size: u8) -> Result<u64, ImagingError> {
        match size {
            0 => Ok(0),
            4 => Ok(u64::from(self.u32()?)),
            8 => self.u64(),
            _ => Err(invalid("bad field size in iloc")),
        }
    }

    /// A NUL-terminated string (the NUL is consumed; a missing one ends at the box end).
    fn c_string(&mut self) -> &'a [u8] {
        let rest = &self.bytes[self.at..];
        let len = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        self.at += (len + 1).min(rest.len());
        &rest[..len]
    }

    /// Version and flags of a full box.
    fn full_box(&mut self) -> Result<(u8, u32), ImagingError> {
        let word = self.u32()?;
        Ok(((word >> 24) as u8, word & 0x00ff_ffff))
    }

    /// The next box: its type and body. `None` at the end of the buffer.
    fn next_box(&mut self) -> Result<Option<RawBox<'a>>, ImagingError> {
        if self.remaining() == 0 {
            return Ok(None);
        }
        let start = self.at;
        let size32 = self.u32()?;
        let kind: &[u8; 4] = self
            .take(4)?
            .try_into()
            .map_err(|_| invalid("box is truncated"))?;
        let size = match size32 {
            0 => (self.bytes.len() - start) as u64,
            1 => self.u64()?,
            n => u64::from(n),
        };
        let header_len = (self.at - start) as u64;
        let body_len = size
            .checked_sub(header_len)
            .and_then(|len| usize::try_from(len).ok())
            .ok_or_else(|| invalid("box size is smaller than its header"))?;
        let body = self.take(body_len)?;
        Ok(Some((kind, body)))
    }
}

/// Colour description from an `nclx` colour box (CICP code points).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nclx {
    pub matrix_coefficients: u16,
    pub full_range: bool,
}

/// Properties of one item that matter for decoding. The ICC profile is borrowed from the file:
/// one property may be associated with every item.
#[derive(Debug, Clone, Default)]
struct ItemProperties<'a> {
    size: Option<(u32, u32)>,
    av1_config: bool,
    nclx: Option<Nclx>,
    icc: Option<&'a [u8]>,
    is_alpha: bool,
    /// irot: anticlockwise quarter turns.
    rotation: u8,
    /// imir: 0 = about the vertical axis (left-right), 1 = about the horizontal axis.
    mirror: Option<u8>,
}

#[derive(Debug, Clone, Copy)]
struct Extent {
    offset: u64,
    length: u64,
}

#[derive(Debug, Clone)]
struct Location {
    /// 0: offsets into the file; 1: into the meta box's `idat`.
    construction_method: u8,
    base_offset: u64,
    extents: Vec<Extent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reference {
    kind: [u8; 4],
    from: u32,
    to: u32,
    /// Position among the `to` items of one reference box (tile order for `dimg`).
    index: usize,
}

/// The parsed `meta` box.
#[derive(Debug, Default)]
struct Meta<'a> {
    primary: Option<u32>,
    item_types: Vec<(u32, [u8; 4])>,
    locations: Vec<(u32, Location)>,
    references: Vec<Reference>,
    properties: Vec<(u32, ItemProperties<'a>)>,
    idat: &'a [u8],
}

/// One coded image: a single AV1 item, or a grid of equally sized AV1 tiles. Item data is
/// borrowed from the file when it is one extent (nearly always).
#[derive(Debug, Clone)]
pub enum Coded<'a> {
    Single(Cow<'a, [u8]>),
    Grid {
        rows: u32,
        columns: u32,
        width: u32,
        height: u32,
        /// The size every tile declares (ispe), when they declare one.
        tile_size: Option<(u32, u32)>,
        tiles: Vec<Cow<'a, [u8]>>,
    },
}

/// What the decoder needs from the container.
#[derive(Debug)]
pub struct AvifContainer<'a> {
    /// The displayed size before rotation (ispe of the primary item).
    pub width: u32,
    pub height: u32,
    /// EXIF-style orientation 1..=8 derived from irot/imir.
    pub orientation: u8,
    pub nclx: Option<Nclx>,
    pub icc: Option<&'a [u8]>,
    meta: Meta<'a>,
    file: &'a [u8],
    primary: u32,
    alpha: Option<u32>,
}

impl<'a> Meta<'a> {
    fn item_type(&self, id: u32) -> Option<[u8; 4]> {
        self.item_types
            .iter()
            .find(|(item, _)| *item == id)
            .map(|(_, kind)| *kind)
    }

    fn properties(&self, id: u32) -> ItemProperties<'a> {
        self.properties
            .iter()
            .find(|(item, _)| *item == id)
            .map(|(_, p)| p.clone())
            .unwrap_or_default()
    }
}

/// Parses the container and locates the primary item (and its alpha) without touching the
/// coded data: enough for the header probe.
pub fn parse(file: &[u8]) -> Result<AvifContainer<'_>, ImagingError> {
    let (meta, primary, primary_type) = read_meta(file)?;
    if &primary_type != b"av01" && &primary_type != b"grid" {
        return Err(invalid("the primary item is not an AV1 image"));
    }
    let properties = meta.properties(primary);
    let (width, height) = properties
        .size
        .ok_or_else(|| invalid("the primary item has no size (ispe)"))?;
    let alpha = meta
        .references
        .iter()
        .filter(|r| &r.kind == b"auxl" && r.to == primary && r.from != primary)
        .map(|r| r.from)
        .find(|&item| meta.properties(item).is_alpha);
    Ok(AvifContainer {
        width,
        height,
        orientation: orientation(properties.rotation, properties.mirror),
        nclx: properties.nclx,
        icc: properties.icc,
        file,
        primary,
        alpha,
        meta,
    })
}

/// What a HEIF reader must know of the primary image before it decodes any of it.
#[derive(Debug, PartialEq)]
pub struct PrimaryImage {
    /// The primary item's type, and for a derived image (`grid`, `iovl`, `iden`) those of the
    /// items it is made from (each type once, in the order found).
    pub codings: Vec<[u8; 4]>,
    /// The size the primary item's `ispe` declares.
    pub declared_size: Option<(u32, u32)>,
    /// For a grid, the output size its descriptor declares: what a decoder allocates.
    pub grid_size: Option<(u32, u32)>,
}

/// Reads [`PrimaryImage`] from `file`, the container read as [`parse`] reads it.
pub fn primary_image(file: &[u8]) -> Result<PrimaryImage, ImagingError> {
    let (meta, primary, primary_type) = read_meta(file)?;
    let mut codings = vec![primary_type];
    if matches!(&primary_type, b"grid" | b"iovl" | b"iden") {
        for reference in meta
            .references
            .iter()
            .filter(|r| &r.kind == b"dimg" && r.from == primary)
        {
            let kind = meta
                .item_type(reference.to)
                .ok_or_else(|| invalid("a derived image's input is not described"))?;
            if !codings.contains(&kind) {
                codings.push(kind);
            }
        }
    }
    let grid_size = if &primary_type == b"grid" {
        let (_, _, width, height) = grid_descriptor(&item_data(&meta, file, primary)?)?;
        Some((width, height))
    } else {
        None
    };
    Ok(PrimaryImage {
        codings,
        declared_size: meta.properties(primary).size,
        grid_size,
    })
}

/// A grid item's descriptor: rows, columns and the output width and height.
fn grid_descriptor(description: &[u8]) -> Result<(u32, u32, u32, u32), ImagingError> {
    let mut reader = Reader::new(description);
    let _version = reader.u8()?;
    let flags = reader.u8()?;
    let rows = u32::from(reader.u8()?) + 1;
    let columns = u32::from(reader.u8()?) + 1;
    let (width, height) = if flags & 1 == 0 {
        (u32::from(reader.u16()?), u32::from(reader.u16()?))
    } else {
        (reader.u32()?, reader.u32()?)
    };
    Ok((rows, columns, width, height))
}

/// The `meta` box of `file` (which must start with `ftyp` and hold one `meta`), its primary
/// item and that item's type.
fn read_meta(file: &[u8]) -> Result<(Meta<'_>, u32, [u8; 4]), ImagingError> {
    let mut reader = Reader::new(file);
    let mut meta = None;
    let mut first = true;
    while let Some((kind, body)) = reader.next_box()? {
        if first && kind != b"ftyp" {
            return Err(invalid("the file does not start with ftyp"));
        }
        first = false;
        if kind == b"meta" {
            if meta.is_some() {
                return Err(invalid("more than one meta box"));
            }
            meta = Some(parse_meta(body)?);
        }
    }
    let meta = meta.ok_or_else(|| invalid("no meta box"))?;
    let primary = meta.primary.ok_or_else(|| invalid("no primary item"))?;
    let primary_type = meta
        .item_type(primary)
        .ok_or_else(|| invalid("the primary item is not described"))?;
    Ok((meta, primary, primary_type))
}

/// irot/imir (applied in that order) as the EXIF orientation that undoes them.
fn orientation(quarter_turns_anticlockwise: u8, mirror: Option<u8>) -> u8 {
    match (quarter_turns_anticlockwise % 4, mirror) {
        (0, None) => 1,
        (1, None) => 8,
        (2, None) => 3,
        (_, None) => 6,
        (0, Some(0)) | (2, Some(1)) => 2,
        (0, Some(_)) | (2, Some(_)) => 4,
        (1, Some(0)) | (3, Some(1)) => 7,
        (_, Some(_)) => 5,
    }
}

impl<'a> AvifContainer<'a> {
    pub fn has_alpha(&self) -> bool {
        self.alpha.is_some()
    }

    /// The coded colour image.
    pub fn colour(&self) -> Result<Coded<'a>, ImagingError> {
        self.coded(self.primary)
    }

    /// The coded alpha image, if the primary item has one.
    pub fn alpha(&self) -> Result<Option<Coded<'a>>, ImagingError> {
        self.alpha.map(|item| self.coded(item)).transpose()
    }

    fn coded(&self, item: u32) -> Result<Coded<'a>, ImagingError> {
        match self.meta.item_type(item).as_ref() {
            Some(b"av01") => Ok(Coded::Single(self.item_data(item)?)),
            Some(b"grid") => self.grid(item),
            _ => Err(invalid("image item of an unsupported type")),
        }
    }

    fn grid(&self, item: u32) -> Result<Coded<'a>, ImagingError> {
        let (rows, columns, width, height) = grid_descriptor(&self.item_data(item)?)?;
        let mut tile_refs: Vec<&Reference> = self
            .meta
            .references
            .iter()
            .filter(|r| &r.kind == b"dimg" && r.from == item)
            .collect();
        tile_refs.sort_by_key(|r| r.index);
        if tile_refs.len() as u64 != u64::from(rows) * u64::from(columns) {
            return Err(invalid(
                "grid tile count does not match its rows and columns",
            ));
        }
        let mut uses = std::collections::HashMap::new();
        for r in &tile_refs {
            let count = uses.entry(r.to).or_insert(0usize);
            *count += 1;
            if *count > MAX_TILE_REUSE {
                return Err(invalid(
                    "one item is repeated too often among the grid's tiles",
                ));
            }
        }
        // Every tile must declare the same size, and the tiles must cover the canvas without a
        // spare row or column: then decoding them costs about the canvas, which the pixel limit
        // has already bounded (each tile's decode is also capped at its declared size).
        let mut tile_size = None;
        for r in &tile_refs {
            let size = self.meta.properties(r.to).size;
            if tile_size.is_some_and(|known| Some(known) != size) {
                return Err(invalid("grid tiles declare different sizes"));
            }
            tile_size = size;
        }
        if let Some((tile_width, tile_height)) = tile_size {
            let covers = |tile: u32, count: u32, canvas: u32| {
                let tile = u64::from(tile);
                tile > 0
                    && tile * u64::from(count) >= u64::from(canvas)
                    && tile * u64::from(count - 1) < u64::from(canvas)
            };
            if !covers(tile_width, columns, width) || !covers(tile_height, rows, height) {
                return Err(invalid("grid tiles do not tile the image"));
            }
        }
        let tiles = tile_refs
            .iter()
            .map(|r| match self.meta.item_type(r.to).as_ref() {
                Some(b"av01") => self.item_data(r.to),
                _ => Err(invalid("grid tile is not an AV1 image")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Coded::Grid {
            rows,
            columns,
            width,
            height,
            tile_size,
            tiles,
        })
    }

    /// The bytes of an item: its one extent borrowed, or its extents concatenated — never
    /// more bytes than its source holds (a zero length means "to the end", and a hostile file
    /// could repeat that extent thousands of times).
    fn item_data(&self, item: u32) -> Result<Cow<'a, [u8]>, ImagingError> {
        item_data(&self.meta, self.file, item)
    }
}

/// [`AvifContainer::item_data`], from the parsed `meta` and the file.
fn item_data<'a>(
    meta: &Meta<'a>,
    file: &'a [u8],
    item: u32,
) -> Result<Cow<'a, [u8]>, ImagingError> {
    let location = meta
        .locations
        .iter()
        .find(|(id, _)| *id == item)
        .map(|(_, l)| l)
        .ok_or_else(|| invalid("an item has no location"))?;
    let source = match location.construction_method {
        0 => file,
        1 => meta.idat,
        _ => return Err(invalid("unsupported item construction method")),
    };
    let mut ranges = Vec::with_capacity(location.extents.len());
    let mut total = 0usize;
    for extent in &location.extents {
        let start = location
            .base_offset
            .checked_add(extent.offset)
            .and_then(|s| usize::try_from(s).ok());
        // A zero length means "to the end of the source".
        let end = match extent.length {
            0 => Some(source.len()),
            len => start
                .and_then(|s| s.checked_add(usize::try_from(len).ok()?))
                .filter(|&e| e <= source.len()),
        };
        match (start, end) {
            (Some(start), Some(end)) if start <= end => {
                total += end - start;
                if total > source.len() {
                    return Err(invalid("an item's extents add up to more than the file"));
                }
                ranges.push(start..end);
            }
            _ => return Err(invalid("item data lies outside the file")),
        }
    }
    if total == 0 {
        return Err(invalid("an item has no data"));
    }
    Ok(match ranges.as_slice() {
        [only] => Cow::Borrowed(&source[only.clone()]),
        _ => Cow::Owned(
            ranges
                .into_iter()
                .flat_map(|range| source[range].iter().copied())
                .collect(),
        ),
    })
}

fn parse_meta(body: &[u8]) -> Result<Meta<'_>, ImagingError> {
    let mut reader = Reader::new(body);
    reader.full_box()?;
    let mut meta = Meta::default();
    let mut property_boxes: Vec<&[u8]> = Vec::new();
    let mut property_kinds: Vec<[u8; 4]> = Vec::new();
    let mut associations: Vec<(u32, Vec<u16>)> = Vec::new();
    while let Some((kind, body)) = reader.next_box()? {
        match kind {
            b"pitm" => {
                let mut r = Reader::new(body);
                let (version, _) = r.full_box()?;
                meta.primary = Some(if version == 0 {
                    u32::from(r.u16()?)
                } else {
                    r.u32()?
                });
            }
            b"iinf" => meta.item_types = parse_iinf(body)?,
            b"iloc" => meta.locations = parse_iloc(body)?,
            b"iref" => meta.references = parse_iref(body)?,
            b"idat" => meta.idat = body,
            b"iprp" => {
                let mut r = Reader::new(body);
                while let Some((kind, body)) = r.next_box()? {
                    if kind == b"ipco" {
                        let mut properties = Reader::new(body);
                        while let Some((kind, body)) = properties.next_box()? {
                            if property_boxes.len() >= MAX_ENTRIES {
                                return Err(invalid("too many properties"));
                            }
                            property_kinds.push(*kind);
                            property_boxes.push(body);
                        }
                    } else if kind == b"ipma" {
                        associations.extend(parse_ipma(body)?);
                        if associations.len() > MAX_ENTRIES {
                            return Err(invalid("too many property associations"));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for (item, indices) in associations {
        let mut properties = ItemProperties::default();
        for index in indices {
            // Index 0 means "no property"; the others are 1-based into ipco.
            let Some(slot) = usize::from(index).checked_sub(1) else {
                continue;
            };
            let (Some(kind), Some(body)) = (property_kinds.get(slot), property_boxes.get(slot))
            else {
                return Err(invalid("a property index is out of range"));
            };
            read_property(kind, body, &mut properties)?;
        }
        meta.properties.push((item, properties));
    }
    Ok(meta)
}

fn read_property<'a>(
    kind: &[u8; 4],
    body: &'a [u8],
    properties: &mut ItemProperties<'a>,
) -> Result<(), ImagingError> {
    let mut r = Reader::new(body);
    match kind {
        b"ispe" => {
            r.full_box()?;
            properties.size = Some((r.u32()?, r.u32()?));
        }
        b"av1C" => properties.av1_config = true,
        b"colr" => match r.take(4)? {
            b"nclx" => {
                let _primaries = r.u16()?;
                let _transfer = r.u16()?;
                let matrix_coefficients = r.u16()?;
                let full_range = r.u8()? & 0x80 != 0;
                properties.nclx = Some(Nclx {
                    matrix_coefficients,
                    full_range,
                });
            }
            b"prof" | b"rICC" => properties.icc = Some(r.take(r.remaining())?),
            _ => {}
        },
        b"auxC" => {
            r.full_box()?;
            let urn = r.c_string();
            properties.is_alpha = ALPHA_URNS.contains(&urn);
        }
        b"irot" => properties.rotation = r.u8()? & 3,
        b"imir" => properties.mirror = Some(r.u8()? & 1),
        _ => {}
    }
    Ok(())
}

fn parse_iinf(body: &[u8]) -> Result<Vec<(u32, [u8; 4])>, ImagingError> {
    let mut r = Reader::new(body);
    let (version, _) = r.full_box()?;
    let _count = if version == 0 {
        u32::from(r.u16()?)
    } else {
        r.u32()?
    };
    let mut items = Vec::new();
    while let Some((kind, body)) = r.next_box()? {
        if kind != b"infe" {
            continue;
        }
        if items.len() >= MAX_ENTRIES {
            return Err(invalid("too many items"));
        }
        let mut e = Reader::new(body);
        let (version, _) = e.full_box()?;
        // Versions 0 and 1 predate item types: they describe no image.
        if version < 2 {
            continue;
        }
        let id = if version == 2 {
            u32::from(e.u16()?)
        } else {
            e.u32()?
        };
        let _protection = e.u16()?;
        let kind: [u8; 4] = e
            .take(4)?
            .try_into()
            .map_err(|_| invalid("infe is truncated"))?;
        items.push((id, kind));
    }
    Ok(items)
}

fn parse_iloc(body: &[u8]) -> Result<Vec<(u32, Location)>, ImagingError> {
    let mut r = Reader::new(body);
    let (version, _) = r.full_box()?;
    if version > 2 {
        return Err(invalid("unknown iloc version"));
    }
    let sizes = r.u8()?;
    let (offset_size, length_size) = (sizes >> 4, sizes & 15);
    let sizes = r.u8()?;
    let base_offset_size = sizes >> 4;
    let index_size = if version >= 1 { sizes & 15 } else { 0 };
    let count = if version < 2 {
        u32::from(r.u16()?)
    } else {
        r.u32()?
    };
    if count as usize > MAX_ENTRIES {
        return Err(invalid("too many item locations"));
    }
    let mut locations = Vec::new();
    let mut all_extents = 0usize;
    for _ in 0..count {
        let id = if version < 2 {
            u32::from(r.u16()?)
        } else {
            r.u32()?
        };
        let construction_method = if version >= 1 {
            (r.u16()? & 15) as u8
        } else {
            0
        };
        let _data_reference = r.u16()?;
        let base_offset = r.sized(base_offset_size)?;
        let extent_count = usize::from(r.u16()?);
        all_extents += extent_count;
        if extent_count > MAX_EXTENTS_PER_ITEM || all_extents > MAX_ENTRIES {
            return Err(invalid("too many item extents"));
        }
        let mut extents = Vec::with_capacity(extent_count);
        for _ in 0..extent_count {
            let _index = r.sized(index_size)?;
            extents.push(Extent {
                offset: r.sized(offset_size)?,
                length: r.sized(length_size)?,
            });
        }
        locations.push((
            id,
            Location {
                construction_method,
                base_offset,
                extents,
            },
        ));
    }
    Ok(locations)
}

fn parse_iref(body: &[u8]) -> Result<Vec<Reference>, ImagingError> {
    let mut r = Reader::new(body);
    let (version, _) = r.full_box()?;
    let mut references = Vec::new();
    while let Some((kind, body)) = r.next_box()? {
        let mut e = Reader::new(body);
        let id = |e: &mut Reader| -> Result<u32, ImagingError> {
            if version == 0 {
                Ok(u32::from(e.u16()?))
            } else {
                e.u32()
            }
        };
        let from = id(&mut e)?;
        let count = e.u16()?;
        for index in 0..usize::from(count) {
            if references.len() >= MAX_ENTRIES {
                return Err(invalid("too many item references"));
            }
            references.push(Reference {
                kind: *kind,
                from,
                to: id(&mut e)?,
                index,
            });
        }
    }
    Ok(references)
}

fn parse_ipma(body: &[u8]) -> Result<Vec<(u32, Vec<u16>)>, ImagingError> {
    let mut r = Reader::new(body);
    let (version, flags) = r.full_box()?;
    let count = r.u32()?;
    if count as usize > MAX_ENTRIES {
        return Err(invalid("too many property associations"));
    }
    let mut entries = Vec::new();
    for _ in 0..count {
        let item = if version < 1 {
            u32::from(r.u16()?)
        } else {
            r.u32()?
        };
        let association_count = r.u8()?;
        if usize::from(association_count) > MAX_PROPERTIES_PER_ITEM {
            return Err(invalid("too many properties on one item"));
        }
        let mut indices = Vec::with_capacity(usize::from(association_count));
        for _ in 0..association_count {
            // The top bit marks the property as essential; the rest is the index.
            let index = if flags & 1 == 1 {
                r.u16()? & 0x7fff
            } else {
                u16::from(r.u8()? & 0x7f)
            };
            indices.push(index);
        }
        entries.push((item, indices));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orientation_composes_rotation_then_mirror() {
        assert_eq!(orientation(0, None), 1);
        assert_eq!(orientation(1, None), 8);
        assert_eq!(orientation(3, None), 6);
        assert_eq!(orientation(0, Some(0)), 2);
        assert_eq!(orientation(0, Some(1)), 4);
        assert_eq!(orientation(1, Some(0)), 7);
        assert_eq!(orientation(1, Some(1)), 5);
        assert_eq!(orientation(2, Some(0)), 4);
    }

    #[test]
    fn boxes_that_overrun_their_parent_are_errors() {
        // A box claiming 100 bytes in a buffer of 12.
        let bytes = b"\x00\x00\x00\x64ftypavif";
        assert!(Reader::new(bytes).next_box().is_err());
        // A box smaller than its own header.
        assert!(Reader::new(b"\x00\x00\x00\x04ftyp").next_box().is_err());
        // A 64-bit size past the end.
        assert!(
            Reader::new(b"\x00\x00\x00\x01ftyp\xff\xff\xff\xff\xff\xff\xff\xff")
                .next_box()
                .is_err()
        );
    }
}
