//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the regression test that replays
//! their saved inputs (`tests/fuzz_regressions.rs`): each must never panic on any input.

use crate::imaging::filters::FilterList;
use crate::imaging::settings::ImagingSettings;
use crate::imaging::{self, RenderJob};
use crate::url::{self, build, confine, signature};
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
    let Ok(mut request) = url::parse_path(path) else {
        return;
    };
    // Bit 5: `smart` with every detector (the `detect` step's own decode and
    // copy).
    let smart = selector & 0x20 != 0;
    request.smart |= smart;
    let settings = ImagingSettings {
        max_pixels: 4_000_000,
        respect_orientation: selector & 0x80 != 0,
        detectors: if smart {
            use crate::imaging::detect::Detector;
            // Every detector gets a turn: each runs when the ones before find nothing.
            vec![
                Detector::Profile,
                Detector::Glasses,
                Detector::Face,
                Detector::Attention,
                Detector::Feature,
            ]
        } else {
            Vec::new()
        },
        ..ImagingSettings::default()
    };
    let _ = imaging::render(
        original,
        &RenderJob {
            accepts_webp: selector & 0x40 != 0,
            ..RenderJob::new(&request, &settings)
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
    let _ = imaging::jpeg::decode_planes(original, shrink, selector & 4 != 0);
}

/// The HEIF/AVIF container reader alone (boxes, items, extents, properties, grids), without
/// AV1 decoding: errors are fine, panics and unbounded allocations are bugs.
#[cfg(feature = "avif")]
pub fn heif_container(data: &[u8]) {
    let _ = imaging::decode::read_heif_container(data);
    let _ = imaging::decode::probe(data);
}

/// The SVG reader: our XML node and nesting limits and usvg's conversion (the header read),
/// then a draw at no more than 64x64. Errors are fine; panics, stack overflows and unbounded
/// allocations are bugs.
pub fn svg(data: &[u8]) {
    let Ok((width, height)) = imaging::decode::read_svg_header(data) else {
        return;
    };
    let header = imaging::decode::Probe {
        format: imaging::ImageFormat::Svg,
        width,
        height,
        orientation: 1,
    };
    let options = imaging::decode::DecodeOptions::new(1_000_000);
    let _ = imaging::decode::draw_at_size(data, &header, &options, (width.min(64), height.min(64)));
}

/// JPEG XL through jxl-oxide: the header probe, then a decode under a small pixel limit.
pub fn jxl(data: &[u8]) {
    if imaging::decode::sniff(data) != Some(imaging::ImageFormat::Jxl) {
        return;
    }
    let _ = imaging::decode::probe(data);
    let _ = imaging::decode::decode(data, &imaging::decode::DecodeOptions::new(1_000_000));
}

/// HEIC/HEIF through libheif: the header read (container, primary image, its size under a
/// side limit), then, for a file within 256x256, the decode. libheif is C++: a crash here is a
/// libheif bug the limits or the wrapper must keep out of reach, an unbounded allocation
/// likewise.
pub fn heic(data: &[u8]) {
    let Ok((width, height, _)) = imaging::decode::read_heic_header(data, 4096) else {
        return;
    };
    if u64::from(width) * u64::from(height) > 65_536 {
        return;
    }
    let _ = imaging::decode::decode(data, &imaging::decode::DecodeOptions::new(65_536));
}

/// JPEG 2000 (raw J2K and JP2): our SIZ check, then hayro's header read and decode under a
/// small pixel limit.
pub fn jpeg2000(data: &[u8]) {
    let _ = imaging::decode::read_jpeg2000_header(data);
    let _ = imaging::decode::decode(data, &imaging::decode::DecodeOptions::new(1_000_000));
}

/// The progressive JPEG writer on arbitrary planes: the first four bytes give the size (up to
/// 2048x2048, enough symbols for skewed Huffman statistics) and the quality, the rest fills
/// the planes cyclically. Whatever the planes hold, the output must be a JPEG libjpeg reads at
/// the same size.
pub fn jpeg_writer(data: &[u8]) {
    let [w0, w1, h0, quality, samples @ ..] = data else {
        return;
    };
    let width = 1 + u32::from(u16::from_le_bytes([*w0, *w1]) % 2048);
    let height = 1 + u32::from(*h0) * 8;
    let mut image = imaging::jpeg::planes::YccImage::new(width, height);
    if !samples.is_empty() {
        for plane in &mut image.planes {
            for (sample, &value) in plane.data.iter_mut().zip(samples.iter().cycle()) {
                *sample = value;
            }
        }
    }
    let quality = quality % 100 + 1;
    let Ok(jpeg) = imaging::jpeg::encode_planes(&image, quality, None) else {
        return;
    };
    let header = imaging::decode::probe(&jpeg).expect("the writer's output has a header");
    assert_eq!((header.width, header.height), (width, height));
    let decoded = imaging::decode::decode(&jpeg, &imaging::decode::DecodeOptions::new(u64::MAX))
        .expect("libjpeg reads the writer's output");
    assert_eq!((decoded.width, decoded.height), (width, height));
}

/// Differential: for every format, the size the header probe reports is the size the decoder
/// produces (at the shrink the first byte picks). `decode` refuses a disagreement — that
/// refusal is what this target looks for, since it means the probe and the decoder read
/// different files and the pixel limit was checked against the wrong one.
pub fn probe_decode(data: &[u8]) {
    let Some((&selector, original)) = data.split_first() else {
        return;
    };
    let Ok(header) = imaging::decode::probe(original) else {
        return;
    };
    if u64::from(header.width) * u64::from(header.height) > 4_000_000 {
        return;
    }
    let options = imaging::decode::DecodeOptions {
        shrink: [1, 2, 4, 8][usize::from(selector & 3)],
        first_frame_only: selector & 4 != 0,
        ..imaging::decode::DecodeOptions::new(4_000_000)
    };
    if let Err(imaging::ImagingError::Undecodable(message)) =
        imaging::decode::decode(original, &options)
    {
        assert!(
            !message.contains(imaging::decode::SIZE_DIFFERS_FROM_PROBE),
            "{message}"
        );
    }
}

/// A focal-point record (`cache::focal_points`): whatever is stored under its name is read
/// without a panic, and a record that reads writes back to the same points.
pub fn focal_point_record(data: &[u8]) {
    use crate::cache::focal_points::{from_record, to_record};
    if let Some(points) = from_record(data) {
        assert_eq!(from_record(&to_record(&points)), Some(points));
    }
}

/// A moderation sidecar (`upload::moderation::sidecar`): whatever is stored under its name is
/// read without a panic, and a sidecar that reads writes back to the same sidecar.
pub fn moderation_sidecar(data: &[u8]) {
    use crate::upload::moderation::sidecar::Sidecar;
    if let Ok(sidecar) = Sidecar::parse(data) {
        assert_eq!(Sidecar::parse(&sidecar.to_bytes()), Ok(sidecar));
    }
}

/// A Haar cascade model (`imaging::detect::haar`): any text reads as a cascade or an error,
/// never a panic or an endless walk, and a cascade that reads runs over a small picture.
pub fn haar_cascade(data: &[u8]) {
    use crate::imaging::detect::haar::Cascade;
    let text = String::from_utf8_lossy(data);
    if let Ok(cascade) = Cascade::parse(&text) {
        // A ramp with a bright square: varied enough that windows pass the flatness check.
        let (width, height) = (40usize, 32usize);
        let gray: Vec<u8> = (0..width * height)
            .map(|i| {
                let (x, y) = (i % width, i / width);
                if (10..22).contains(&x) && (8..20).contains(&y) {
                    250
                } else {
                    (x * 5 + y * 3) as u8
                }
            })
            .collect();
        let _ = cascade.detect_multi_scale(&gray, width, height, 1.2, 1, 4);
    }
}

/// The prefixes the `sign_prefix` target checks against (chosen by the first input byte): a
/// file-loader folder, one that is a string prefix of a sibling, and two HTTP origin forms.
const SIGN_PREFIXES: [&str; 4] = [
    "app/",
    "t1/",
    "img.example.com/app/",
    "http://img.example.com/app/",
];

/// `/sign`'s confinement: whatever path `url::confine` accepts for a prefix, every name the
/// server would load for it must be under that prefix as each loader sees it. Panics (the
/// fuzzer's finding) when an accepted path escapes.
pub fn sign_prefix(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(path) = std::str::from_utf8(rest) else {
        return;
    };
    let prefix = SIGN_PREFIXES[usize::from(selector) % SIGN_PREFIXES.len()];
    let Ok(request) = url::parse_path(&format!("/unsafe/{}", path.trim_start_matches('/'))) else {
        return;
    };
    if confine::confine(&request, prefix).is_err() {
        return;
    }
    for loaded in confine::loaded_names(&request) {
        assert_loaded_under(&loaded.name, prefix);
    }
}

/// The invariants behind an accepted name: under the prefix at every depth of decoding with
/// no `.`/`..` segment; under it once the file loader has normalised the quoted and the
/// decoded name; and, for the HTTP loader, a URL under the prefix's URL.
fn assert_loaded_under(name: &str, prefix: &str) {
    let mut current = name.as_bytes().to_vec();
    for _ in 0..=confine::MAX_DECODING_ROUNDS {
        let text = String::from_utf8_lossy(&current).into_owned();
        let relative = text.trim_start_matches('/');
        assert!(relative.starts_with(prefix), "{name:?} decodes to {text:?}");
        assert!(
            !relative.split('/').any(|s| s == "." || s == ".."),
            "{name:?} decodes to {text:?}"
        );
        assert!(
            !text.contains('\\') && !text.chars().any(|c| c.is_ascii_control()),
            "{name:?} decodes to {text:?}"
        );
        let decoded: Vec<u8> = percent_encoding::percent_decode(&current).collect();
        if decoded == current {
            break;
        }
        current = decoded;
    }

    // The file loader reads the quoted name (under the quoted prefix: a prefix has no `%`, so
    // that folder is nobody else's) and then the decoded one (under the prefix).
    let quoted = url::parse::python_quote(name, b"/");
    let quoted_prefix = url::parse::python_quote(prefix, b"/");
    let unquoted = percent_encoding::percent_decode_str(&quoted)
        .decode_utf8_lossy()
        .into_owned();
    for (candidate, folder) in [
        (quoted.as_str(), quoted_prefix.as_str()),
        (unquoted.as_str(), prefix),
    ] {
        let segments = lexical_segments(candidate);
        let folder_segments = lexical_segments(folder);
        assert!(
            segments.len() > folder_segments.len() && segments.starts_with(&folder_segments),
            "{name:?}: the file loader reads {segments:?}"
        );
    }

    let fetched = crate::source::http::normalize_url(&quoted);
    let base = if prefix.starts_with("http") {
        prefix.to_string()
    } else {
        format!("http://{prefix}")
    };
    if let (Ok(url), Ok(base)) = (reqwest::Url::parse(&fetched), reqwest::Url::parse(&base)) {
        assert!(
            url.as_str().starts_with(base.as_str()),
            "{name:?}: the HTTP loader fetches {url}"
        );
    }
}

/// Filters with fuzzed parameters and a fuzzed asset: the input is a filter list, a NUL, and
/// the bytes of an image every watermark()/frame() URL in the list resolves to. The original
/// is a small generated picture, so the iteration's cost is the filters'.
pub fn filters(data: &[u8]) {
    use std::sync::OnceLock;
    static ORIGINAL: OnceLock<Vec<u8>> = OnceLock::new();
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let Ok(list) = std::str::from_utf8(&data[..split]) else {
        return;
    };
    let asset = bytes::Bytes::copy_from_slice(data.get(split + 1..).unwrap_or(&[]));
    let original = ORIGINAL.get_or_init(|| {
        let pixels: Vec<u8> = (0..48 * 32 * 3).map(|i| (i * 7 % 256) as u8).collect();
        let image = imaging::jpeg::planes::YccImage::from_rgb(&pixels, 3, 48, 32);
        imaging::jpeg::encode_planes(&image, 90, None).unwrap_or_default()
    });
    let path = format!("/unsafe/fit-in/64x64/filters:{list}/x");
    let Ok(request) = url::parse_path(&path) else {
        return;
    };
    let filters = &request.filter_list;
    let assets: HashMap<String, bytes::Bytes> = filters
        .asset_urls()
        .into_iter()
        .take(4)
        .map(|url| (url, asset.clone()))
        .collect();
    let settings = ImagingSettings {
        max_pixels: 4_000_000,
        ..ImagingSettings::default()
    };
    let _ = imaging::render(
        original,
        &RenderJob {
            assets: &assets,
            deadline: Some(std::time::Instant::now() + std::time::Duration::from_secs(5)),
            ..RenderJob::new(&request, &settings)
        },
    );
}

/// A path's segments after lexical normalisation, as the file loader does it (empty and `.`
/// segments dropped, `..` removing the one before).
fn lexical_segments(path: &str) -> Vec<&str> {
    let mut segments = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    segments
}

/// The upload form reader (`upload::multipart`): the first line of the input is the
/// Content-Type, the rest the body. A file found must be a slice of the body, and what the
/// boundary reader accepts must be a boundary RFC 2046 allows.
pub fn multipart(data: &[u8]) {
    use crate::upload::multipart;
    let (content_type, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(content_type) = std::str::from_utf8(content_type) else {
        return;
    };
    let boundary =
        multipart::boundary(content_type).unwrap_or_else(|| "pictorFuzzBoundary".to_string());
    assert!(!boundary.is_empty() && boundary.len() <= 70);
    if let Some(part) = multipart::find_file(body, &boundary, "media") {
        let start = part.body.as_ptr() as usize;
        let body_start = body.as_ptr() as usize;
        assert!(start >= body_start && start + part.body.len() <= body_start + body.len());
    }
}

/// The background work readers (`jobs::message`): the first byte chooses the reader (even:
/// a `POST /preheat` body, odd: a queue message body), the rest is the input. What they accept
/// must be within their bounds, and a message read must read the same once written again.
pub fn job_message(data: &[u8]) {
    use crate::jobs::message::{
        parse_preheat_body, QueueMessage, MAX_PATHS_PER_REQUEST, MAX_PATH_BYTES,
    };
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let accepted_path =
        |path: &str| !path.is_empty() && path.len() <= MAX_PATH_BYTES && !path.starts_with('/');
    if selector % 2 == 0 {
        if let Ok(paths) = parse_preheat_body(body) {
            assert!(!paths.is_empty() && paths.len() <= MAX_PATHS_PER_REQUEST);
            assert!(paths.iter().all(|path| accepted_path(path)));
        }
    } else {
        let Ok(text) = std::str::from_utf8(body) else {
            return;
        };
        if let Ok(message) = QueueMessage::parse(text) {
            assert!(accepted_path(&message.path));
            assert_eq!(QueueMessage::parse(&message.to_body()), Ok(message));
        }
    }
}

/// Read a PRESETS text (pictor's object or c2corg's RESIZING_CONFIG list); one that reads
/// expands a few preset, suffix and plain paths.
pub fn preset_definitions(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut presets) = url::presets::Presets::from_definitions(text) else {
        return;
    };
    presets.suffix_urls = true;
    let names: Vec<String> = presets.names().iter().map(|n| n.to_string()).collect();
    let mut paths = vec![
        "/unsafe/a.jpg".to_string(),
        "/unsafe/meta/300x0/a.jpg".to_string(),
    ];
    for name in &names {
        paths.push(format!("/unsafe/preset:{name}/a.jpg"));
        paths.push(format!(
            "/unsafe/preset:{name}/10x-20/filters:quality(5)/a.jpg"
        ));
        paths.push(format!("/unsafe/dir/a{name}.png"));
    }
    for path in paths {
        if let Ok(request) = url::parse_path(&path) {
            if let Ok(expanded) = presets.expand(request) {
                let _ = build::build_path(&build::UrlOptions::from(&expanded));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invariant_holds_for_names_under_the_prefix() {
        assert_loaded_under("app/a.jpg", "app/");
        assert_loaded_under("/img.example.com/app/a%20b.jpg", "img.example.com/app/");
        assert_loaded_under(
            "http://img.example.com/app/x.jpg",
            "http://img.example.com/app/",
        );
    }

    #[test]
    #[should_panic]
    fn the_invariant_catches_a_sibling() {
        assert_loaded_under("t10/a.jpg", "t1");
    }

    #[test]
    #[should_panic]
    fn the_invariant_catches_an_encoded_climb() {
        assert_loaded_under("app/%2e%2e/other/a.jpg", "app/");
    }
}
