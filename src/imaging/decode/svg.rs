//! SVG originals, drawn by resvg at the size the render needs (the pipeline's
//! `shrink_on_load` step picks it; a plain decode draws at the intrinsic size). The XML is
//! parsed here first, by roxmltree with a node limit, and its element nesting is bounded before
//! usvg sees it (usvg's converter and resvg's renderer recurse per nested group).
//!
//! What an SVG can make pictor read: nothing. An image reference to anything but a `data:` URL
//! (`file:`, `http:`, a relative path, in `<image>` or `<feImage>`) is never resolved and makes
//! the file a 400, as an original pictor will not draw faithfully; embedded `data:` images are
//! left out (resvg is built without its raster decoders, so they cannot smuggle a decompression
//! bomb past MAX_PIXELS). usvg is built without text support, so no font is ever loaded (text is
//! not drawn); roxmltree resolves no external entity and refuses entity expansion past 10 levels
//! or 255 references from one reference (billion laughs).
//!
//! What an SVG can make pictor spend: the XML is bounded by the size limit on originals and the
//! node limits below; what usvg's conversion copies (`<use>`, markers, per-element masks and
//! patterns) by [`expansion`], before usvg runs; what resvg holds while drawing (layers, masks,
//! filter results, pattern tiles) by [`scratch`], before it draws, against
//! [`LAYER_BYTES_PER_PIXEL`] of the canvas (MAX_PIXELS bounds the canvas). resvg cannot be
//! stopped part-way, so the render deadline is checked before drawing.

mod expansion;
mod outline;
mod reach;
mod scratch;

use super::{DecodeOptions, Probe};
use crate::imaging::{Image, ImageFormat, ImagingError, PixelLayout, SourceInfo};
use resvg::tiny_skia;
use resvg::usvg::{self, roxmltree};

/// The most XML nodes (elements, text, comments) one SVG may hold. Logos and icons hold
/// hundreds to a few thousand; maps and charts tens of thousands.
pub(super) const MAX_XML_NODES: u32 = 200_000;

/// The deepest element nesting accepted. Real drawings nest a few dozen deep; usvg itself
/// stops at 1024, which already costs a deep recursion in its converter and in resvg.
pub(super) const MAX_DEPTH: usize = 256;

/// The most nodes the converted drawing may hold: `<use>` copies what it references, so a
/// small file can ask for exponentially many shapes (usvg stops at 1 000 000 elements; this
/// refuses before drawing them).
pub(super) const MAX_DRAWN_NODES: usize = 200_000;

/// Bytes per pixel of the canvas resvg may hold for layers, masks, filter results and pattern
/// tiles together: nine canvas-sized pixmaps (a drop shadow's filter over the whole drawing
/// takes six). A drawing that needs more is refused, unless it fits in [`MIN_SCRATCH_BYTES`].
const LAYER_BYTES_PER_PIXEL: u64 = 36;

/// Bytes per pixel resvg holds beside the RGBA frame, for the memory estimate: its
/// premultiplied canvas (4) and the layers above.
pub(super) const SCRATCH_BYTES_PER_PIXEL: u64 = 4 + LAYER_BYTES_PER_PIXEL;

/// What any drawing may hold for layers and tiles, however small its canvas: a thumbnail of
/// a drawing full of filters is still drawn.
pub(super) const MIN_SCRATCH_BYTES: u64 = 16 << 20;

fn undecodable(e: impl std::fmt::Display) -> ImagingError {
    ImagingError::Undecodable(format!("svg: {e}"))
}

/// Parses `bytes` into usvg's drawing, refusing anything past the limits above.
fn parse(bytes: &[u8]) -> Result<usvg::Tree, ImagingError> {
    let text = std::str::from_utf8(bytes).map_err(|_| undecodable("not UTF-8 text"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let xml = roxmltree::Document::parse_with_options(
        text,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            nodes_limit: MAX_XML_NODES,
            entity_resolver: None,
        },
    )
    .map_err(|e| match e {
        roxmltree::Error::NodesLimitReached => {
            undecodable(format!("more than {MAX_XML_NODES} XML nodes"))
        }
        other => undecodable(other),
    })?;
    check_depth(&xml)?;
    expansion::check(&xml)?;
    // The first external reference usvg asked for, if any: answered with nothing, then refused.
    let external_reference = std::sync::Mutex::new(None::<String>);
    let options = usvg::Options {
        resources_dir: None,
        image_href_resolver: usvg::ImageHrefResolver {
            resolve_data: Box::new(|_, _, _| None),
            resolve_string: Box::new(|href, _| {
                if let Ok(mut first) = external_reference.lock() {
                    first.get_or_insert_with(|| href.chars().take(80).collect());
                }
                None
            }),
        },
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_xmltree(&xml, &options).map_err(undecodable)?;
    drop(options);
    let external = external_reference
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(href) = external {
        return Err(undecodable(format!(
            "external reference {href:?} is not fetched"
        )));
    }
    let drawn_nodes = count_nodes(tree.root());
    if drawn_nodes > MAX_DRAWN_NODES {
        return Err(undecodable(format!(
            "the drawing expands to more than {MAX_DRAWN_NODES} nodes"
        )));
    }
    Ok(tree)
}

/// Refuses element nesting deeper than [`MAX_DEPTH`]: each node's depth is its parent's plus
/// one, filled in document order (parents come first), without recursion.
fn check_depth(xml: &roxmltree::Document<'_>) -> Result<(), ImagingError> {
    let mut depths: Vec<u32> = Vec::new();
    for node in xml.root().descendants() {
        let index = node.id().get() as usize;
        let parent_depth = node
            .parent()
            .and_then(|parent| depths.get(parent.id().get() as usize).copied())
            .unwrap_or(0);
        let depth = parent_depth + u32::from(node.is_element());
        if depth as usize > MAX_DEPTH {
            return Err(undecodable(format!(
                "elements nested more than {MAX_DEPTH} deep"
            )));
        }
        if depths.len() <= index {
            depths.resize(index + 1, 0);
        }
        depths[index] = depth;
    }
    Ok(())
}

/// Nodes of the converted drawing, groups included (walked without recursion; stops counting
/// past the limit).
fn count_nodes(root: &usvg::Group) -> usize {
    let mut count = 0usize;
    let mut groups = vec![root];
    while let Some(group) = groups.pop() {
        for node in group.children() {
            count += 1;
            if count > MAX_DRAWN_NODES {
                return count;
            }
            if let usvg::Node::Group(child) = node {
                groups.push(child);
            }
        }
    }
    count
}

/// The intrinsic size in whole pixels: `width`/`height`, else the `viewBox`'s, else 100x100.
fn intrinsic_size(tree: &usvg::Tree) -> Result<(u32, u32), ImagingError> {
    let size = tree.size();
    let side = |v: f32| -> Result<u32, ImagingError> {
        let rounded = f64::from(v).ceil();
        if !(1.0..=f64::from(u32::MAX)).contains(&rounded) {
            return Err(undecodable(format!("intrinsic size {v} is out of range")));
        }
        Ok(rounded as u32)
    };
    Ok((side(size.width())?, side(size.height())?))
}

/// The whole XML is parsed (there is no header to read apart), nothing is drawn.
pub(super) fn probe(bytes: &[u8]) -> Result<Probe, ImagingError> {
    let tree = parse(bytes)?;
    let (width, height) = intrinsic_size(&tree)?;
    Ok(Probe {
        format: ImageFormat::Svg,
        width,
        height,
        orientation: 1,
    })
}

/// Draws at the intrinsic size.
pub(super) fn decode(
    bytes: &[u8],
    header: &Probe,
    options: &DecodeOptions,
) -> Result<Image, ImagingError> {
    draw(bytes, header, options, (header.width, header.height))
}

/// Draws the whole picture stretched over `width` x `height` pixels, on a transparent
/// background: RGBA8, not premultiplied.
pub(super) fn draw(
    bytes: &[u8],
    header: &Probe,
    options: &DecodeOptions,
    (width, height): (u32, u32),
) -> Result<Image, ImagingError> {
    super::check_pixel_limit(width, height, options.max_pixels)?;
    let tree = parse(bytes)?;
    if intrinsic_size(&tree)? != (header.width, header.height) {
        return Err(undecodable("size changed between probe and decode"));
    }
    let size = tree.size();
    let transform = tiny_skia::Transform::from_scale(
        width as f32 / size.width(),
        height as f32 / size.height(),
    );
    let reach = reach::farthest_reach(&tree, transform);
    if reach >= reach::MAX_REACH {
        return Err(undecodable(format!(
            "a shape reaches {reach:.0} px from the canvas at {width}x{height}, past the {:.0} px \
             the rasteriser can address",
            reach::MAX_REACH
        )));
    }
    let scratch = scratch::peak_bytes(&tree, transform, (width, height));
    let allowed = LAYER_BYTES_PER_PIXEL
        .saturating_mul(u64::from(width) * u64::from(height))
        .max(MIN_SCRATCH_BYTES);
    if scratch > allowed {
        return Err(ImagingError::TooLarge(format!(
            "drawing at {width}x{height} needs {} MiB of layers and pattern tiles, over {} MiB",
            scratch >> 20,
            allowed >> 20
        )));
    }
    if options.past_deadline() {
        return Err(ImagingError::Abandoned);
    }
    let mut canvas = tiny_skia::Pixmap::new(width, height)
        .ok_or_else(|| undecodable(format!("cannot draw at {width}x{height}")))?;
    resvg::render(&tree, transform, &mut canvas.as_mut());
    Ok(Image::still(
        width,
        height,
        PixelLayout::Rgba8,
        canvas.take_demultiplied(),
        SourceInfo::plain(ImageFormat::Svg, header.width, header.height),
    ))
}
