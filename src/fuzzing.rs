//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the regression test that replays
//! their saved inputs (`tests/fuzz_regressions.rs`): each must never panic on any input.

use crate::imaging::filters::FilterList;
use crate::imaging::pipeline::ImagingSettings;
use crate::imaging::{self, RenderJob};
use crate::url::{self, build, signature};
use std::collections::HashMap;

/// Parse a path, check its signature, and rebuild it canonically.
pub fn url_parse(data: &[u8]) {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(request) = url::parse_path(path) {
        let _ = signature::authorize(&request, &[b"fuzz-key".as_slice()], true);
        let _ = request.image_url();
        let rebuilt = build::build_path(&build::UrlOptions::from(&request));
        let _ = url::parse_path(&format!("/unsafe/{rebuilt}"));
    }
}

/// Parse a filters list and ask it everything the pipeline asks.
pub fn filters_parse(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let filters = FilterList::parse(&text);
    let _ = filters.pre_load();
    let _ = filters.output_overrides();
    let _ = filters.has_cover();
    let _ = filters.asset_urls();
    let (mut w, mut h) = (100, 100);
    filters.after_load(&mut w, &mut h, (640, 480));
}

/// The request shapes the render target cycles through (chosen by the first input byte).
const RENDER_PATHS: [&str; 6] = [
    "/unsafe/fit-in/64x64/x",
    "/unsafe/32x32/x",
    "/unsafe/trim/10x10:50x50/-20x-20/x",
    "/unsafe/meta/x",
    "/unsafe/filters:grayscale():blur(2):round_corner(5,255,0,0)/x",
    "/unsafe/full-fit-in/40x30/filters:fill(blur):format(png)/x",
];

/// Decode and render arbitrary bytes as an original, with small limits so a fuzzer iteration
/// stays cheap. Errors are fine; panics are bugs.
pub fn render(data: &[u8]) {
    let Some((&selector, original)) = data.split_first() else {
        return;
    };
    let path = RENDER_PATHS[usize::from(selector) % RENDER_PATHS.len()];
    let Ok(request) = url::parse_path(path) else {
        return;
    };
    let filters = FilterList::parse(request.filters.as_deref().unwrap_or(""));
    let settings = ImagingSettings {
        max_pixels: 4_000_000,
        respect_orientation: selector & 0x80 != 0,
        ..ImagingSettings::default()
    };
    let assets = HashMap::new();
    let _ = imaging::render(
        original,
        &RenderJob {
            request: &request,
            filters: &filters,
            settings: &settings,
            accepts_webp: selector & 0x40 != 0,
            accepts_avif: false,
            assets: &assets,
            deadline: None,
        },
    );
}

/// The JPEG → JPEG path's planes decode (pictor's baseline decoder, libjpeg for what it
/// declines) on arbitrary bytes: the first byte picks the scale and the 4:4:4 chroma halving.
/// The header's size is checked against a small pixel limit first, as the pipeline does.
pub fn jpeg_planes(data: &[u8]) {
    let Some((&selector, original)) = data.split_first() else {
        return;
    };
    let Ok(header) = imaging::decode::probe(original) else {
        return;
    };
    if u64::from(header.width) * u64::from(header.height) > 4_000_000 {
        return;
    }
    let shrink = [1, 2, 4, 8][usize::from(selector & 3)];
    let _ = imaging::decode::decode_jpeg_planes(original, shrink, selector & 4 != 0);
}
