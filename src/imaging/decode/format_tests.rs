//! Tests of the readers added for JPEG XL, SVG and HEIC originals: sizes from the header,
//! pixels against the originals they were made from, animation, ICC profiles, and truncated or
//! corrupted files failing cleanly. The files are in `tests/data/formats/` (its README says how
//! each was made).

use super::codec_tests::{decode_unguarded, options};
use super::*;
use crate::imaging::PixelLayout;
use crate::test_corpus::{psnr, read, read_test_data};

fn decode_data(relative: &str) -> Image {
    decode_unguarded(&read_test_data(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn rgba_of(image: &Image, frame: usize) -> Vec<u8> {
    match image.layout {
        PixelLayout::Rgba8 => image.frames[frame].pixels.clone(),
        PixelLayout::Rgb8 => image.frames[frame]
            .pixels
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
    }
}

/// Truncations and single-byte flips of `bytes`: each must decode to an error or to an image
/// of the size its header declares, without panicking.
fn assert_damage_fails_cleanly(name: &str, bytes: &[u8]) {
    let len = bytes.len();
    let mut variants: Vec<(String, Vec<u8>)> = Vec::new();
    for cut in [0, 2, 4, 12, 20, 40, 64, 100, len / 3, len / 2, len - 1] {
        if cut < len {
            variants.push((format!("{name} cut at {cut}"), bytes[..cut].to_vec()));
        }
    }
    for at in [
        2,
        5,
        9,
        14,
        20,
        28,
        36,
        50,
        70,
        120,
        len / 4,
        len / 2,
        len - 8,
    ] {
        for mask in [0xff, 0x01, 0x80] {
            let mut corrupt = bytes.to_vec();
            if let Some(b) = corrupt.get_mut(at) {
                *b ^= mask;
            }
            variants.push((format!("{name} flipped at {at} ^{mask:#x}"), corrupt));
        }
    }
    for (variant, bytes) in variants {
        if let Ok(image) = decode_unguarded(&bytes) {
            let header =
                probe(&bytes).unwrap_or_else(|e| panic!("{variant}: decoded, no probe: {e}"));
            assert_eq!(
                (image.width, image.height),
                (header.width, header.height),
                "{variant}"
            );
        }
    }
}

const JXL_FILES: [&str; 6] = [
    "formats/watermark-alpha.jxl",
    "formats/p3-icc.jxl",
    "formats/animated.jxl",
    "formats/giunchedi.jxl",
    "formats/lossless-jpeg.jxl",
    "formats/landscape-6.jxl",
];

#[test]
fn jxl_is_sniffed_in_both_forms_and_not_taken_for_jp2() {
    for file in JXL_FILES {
        assert_eq!(
            sniff(&read_test_data(file)),
            Some(ImageFormat::Jxl),
            "{file}"
        );
    }
    // The container's first box is the JP2 signature box but for its type.
    let container = read_test_data("formats/lossless-jpeg.jxl");
    assert!(container.starts_with(b"\x00\x00\x00\x0cJXL "));
    assert_eq!(
        sniff(&read("thumbor/images/image.jp2")),
        Some(ImageFormat::Jp2)
    );
    assert_eq!(ImageFormat::Jxl.mime(), "image/jxl");
}

#[test]
fn jxl_probes_read_sizes_from_headers() {
    let cases = [
        ("formats/watermark-alpha.jxl", 30, 30),
        ("formats/p3-icc.jxl", 8, 8),
        ("formats/animated.jxl", 100, 100),
        ("formats/giunchedi.jxl", 800, 533),
        ("formats/lossless-jpeg.jxl", 20, 20),
    ];
    for (file, width, height) in cases {
        let header = probe(&read_test_data(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            (header.format, header.width, header.height),
            (ImageFormat::Jxl, width, height),
            "{file}"
        );
    }
}

#[test]
fn jxl_decodes_to_the_picture_it_was_encoded_from() {
    let image = decode_data("formats/giunchedi.jxl");
    assert_eq!((image.width, image.height), (800, 533));
    assert_eq!(image.layout, PixelLayout::Rgb8);
    assert_eq!(image.source.format, ImageFormat::Jxl);
    assert_eq!(image.source.icc_profile, None, "sRGB needs no profile");
    let png = decode(
        &read("thumbor/images/Giunchedi%2C_Filippo_January_2015_01.png"),
        &options(),
    )
    .unwrap();
    let similarity = psnr(&image.frames[0].pixels, &png.frames[0].pixels);
    assert!(similarity > 35.0, "PSNR {similarity:.1} dB");
}

#[test]
fn jxl_keeps_alpha() {
    let image = decode_data("formats/watermark-alpha.jxl");
    assert_eq!(image.layout, PixelLayout::Rgba8);
    assert!(image.has_transparency());
    let png = decode(&read("thumbor/images/watermark.png"), &options()).unwrap();
    // Transparent pixels may have any colour: compare the premultiplied picture.
    let premultiplied = |rgba: Vec<u8>| -> Vec<u8> {
        rgba.chunks_exact(4)
            .flat_map(|p| {
                let alpha = u16::from(p[3]);
                [p[0], p[1], p[2]]
                    .map(|v| (u16::from(v) * alpha / 255) as u8)
                    .into_iter()
                    .chain([p[3]])
            })
            .collect()
    };
    let similarity = psnr(
        &premultiplied(rgba_of(&image, 0)),
        &premultiplied(rgba_of(&png, 0)),
    );
    assert!(similarity > 30.0, "PSNR {similarity:.1} dB");
}

#[test]
fn jxl_keeps_a_wide_gamut_profile() {
    // Lossless, so not XYB: the pixels stay in the PNG's Display P3 and its profile is kept.
    let image = decode_data("formats/p3-icc.jxl");
    let profile = image.source.icc_profile.expect("Display P3 profile");
    let png = decode(&read("sharp/p3.png"), &options()).unwrap();
    assert_eq!(Some(&profile), png.source.icc_profile.as_ref());
    // An ICC profile: its size first, `acsp` at 36.
    assert_eq!(&profile[36..40], b"acsp");
    assert_eq!(
        u32::from_be_bytes(profile[..4].try_into().unwrap()) as usize,
        profile.len()
    );
}

#[test]
fn jxl_animation_keeps_every_frame_and_its_timing() {
    let gif = decode(&read("thumbor/images/animated.gif"), &options()).unwrap();
    let image = decode_data("formats/animated.jxl");
    assert!(gif.frames.len() > 1);
    assert_eq!(image.frames.len(), gif.frames.len());
    assert_eq!(image.source.loop_count, Some(0));
    for (index, (jxl, gif_frame)) in image.frames.iter().zip(&gif.frames).enumerate() {
        assert_eq!(jxl.delay_ms, gif_frame.delay_ms, "frame {index}");
        let similarity = psnr(&rgba_of(&image, index), &rgba_of(&gif, index));
        assert!(similarity > 30.0, "frame {index}: PSNR {similarity:.1} dB");
    }
    let header = probe(&read_test_data("formats/animated.jxl")).unwrap();
    assert_eq!(
        frame_count(&read_test_data("formats/animated.jxl"), &header),
        gif.frames.len() as u64
    );
    // cover(): the first frame only.
    let first_only = DecodeOptions {
        first_frame_only: true,
        ..options()
    };
    let bytes = read_test_data("formats/animated.jxl");
    assert_eq!(decode(&bytes, &first_only).unwrap().frames.len(), 1);
    // The animation budget counts every frame.
    let tight = DecodeOptions::new(100 * 100 * 2 - 1);
    assert!(matches!(
        decode(&bytes, &tight),
        Err(ImagingError::TooLarge(_))
    ));
}

#[test]
fn jxl_damage_fails_cleanly() {
    for file in JXL_FILES {
        assert_damage_fails_cleanly(file, &read_test_data(file));
        let bytes = read_test_data(file);
        assert!(
            decode(&bytes[..bytes.len() / 2], &options()).is_err(),
            "{file} cut in half"
        );
    }
}

const SVG_FILES: [&str; 3] = [
    "thumbor/images/Commons-logo.svg",
    "thumbor/images/Commons-logo-inches.svg",
    "thumbor/filters/watermark.svg",
];

fn hostile(name: &str) -> Vec<u8> {
    read_test_data(&format!("formats/hostile/{name}"))
}

fn svg_error(bytes: &[u8]) -> String {
    match decode_unguarded(bytes) {
        Ok(image) => panic!("drawn at {}x{}", image.width, image.height),
        Err(e) => e.to_string(),
    }
}

#[test]
fn svg_probe_reads_the_intrinsic_size() {
    let cases = [
        // width/height in pixels, in inches (96 dpi), over a viewBox.
        ("thumbor/images/Commons-logo.svg", 1024, 1376),
        ("thumbor/images/Commons-logo-inches.svg", 960, 1248),
        ("thumbor/filters/watermark.svg", 1024, 1024),
    ];
    for (file, width, height) in cases {
        let header = probe(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            (header.format, header.width, header.height),
            (ImageFormat::Svg, width, height),
            "{file}"
        );
    }
    let view_box_only = br#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40.2 30"/>"#;
    let header = probe(view_box_only).unwrap();
    assert_eq!((header.width, header.height), (41, 30));
}

#[test]
fn svg_is_drawn_on_a_transparent_background() {
    let image = decode_unguarded(&read("thumbor/images/Commons-logo.svg")).unwrap();
    assert_eq!((image.width, image.height), (1024, 1376));
    assert_eq!(image.layout, PixelLayout::Rgba8);
    let pixels = &image.frames[0].pixels;
    let at = |x: usize, y: usize| &pixels[(y * 1024 + x) * 4..(y * 1024 + x) * 4 + 4];
    // A corner is outside the logo; the centre of the red circle (viewBox origin) is red.
    assert_eq!(at(0, 0)[3], 0);
    let centre = at(512, 859);
    assert_eq!(centre, [0x99, 0, 0, 255]);
}

#[test]
fn svg_is_drawn_at_the_size_asked_not_scaled_from_a_small_drawing() {
    let bytes = read("thumbor/images/Commons-logo.svg");
    let header = probe(&bytes).unwrap();
    let big = draw_at_size(&bytes, &header, &options(), (2048, 2752)).unwrap();
    assert_eq!((big.width, big.height), (2048, 2752));
    // Every edge stays one antialiased pixel wide: count pixels that are neither empty nor
    // opaque. An upscaled 1024-wide drawing would have twice as many per edge length.
    let partial = |image: &Image| {
        image.frames[0]
            .pixels
            .chunks_exact(4)
            .filter(|p| p[3] != 0 && p[3] != 255)
            .count() as f64
    };
    let small = decode_unguarded(&bytes).unwrap();
    let ratio = partial(&big) / partial(&small);
    assert!(
        (1.6..2.4).contains(&ratio),
        "edge pixels grew {ratio:.2}x for 2x the size"
    );
    let upscaled = crate::imaging::transform::crop_resize(
        &small,
        crate::imaging::transform::Region {
            left: 0.0,
            top: 0.0,
            width: 1024.0,
            height: 1376.0,
        },
        crate::imaging::geometry::Size::new(2048, 2752),
        crate::imaging::transform::ResamplingFilter::Lanczos3,
    )
    .unwrap();
    assert!(partial(&upscaled) / partial(&small) > 3.0);
    // Only vector originals are drawn.
    let png = read("thumbor/images/watermark.png");
    assert!(draw_at_size(&png, &probe(&png).unwrap(), &options(), (10, 10)).is_err());
}

#[test]
fn svg_entity_bombs_and_external_entities_are_refused() {
    let error = svg_error(&hostile("billion-laughs.svg"));
    assert!(error.contains("svg:"), "{error}");
    // The external entity is never resolved: the file does not parse (the unknown entity).
    let error = svg_error(&hostile("xxe.svg"));
    assert!(!error.contains("root:"), "{error}");
}

#[test]
fn svg_external_references_are_refused_without_being_read() {
    for name in [
        "external-file.svg",
        "external-file-url.svg",
        "external-http.svg",
    ] {
        let error = svg_error(&hostile(name));
        assert!(error.contains("is not fetched"), "{name}: {error}");
    }
    // An embedded data: image is left out, not decoded (a transparent drawing).
    let embedded = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><image width="4" height="4" href="data:image/png;base64,{}"/></svg>"#,
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            read("thumbor/images/1x1.png")
        )
    );
    let image = decode_unguarded(embedded.as_bytes()).unwrap();
    assert!(image.frames[0].pixels.chunks_exact(4).all(|p| p[3] == 0));
}

#[test]
fn svg_nesting_and_node_counts_are_bounded() {
    // 10^6 nested groups: over the XML node limit, refused while parsing.
    let deep = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">{}<rect width="10" height="10"/>{}</svg>"#,
        "<g>".repeat(1_000_000),
        "</g>".repeat(1_000_000)
    );
    let error = svg_error(deep.as_bytes());
    assert!(error.contains("XML nodes"), "{error}");
    // Nesting under the node limit but past the depth limit.
    let nested = |depth: usize| {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">{}<rect width="10" height="10"/>{}</svg>"#,
            "<g>".repeat(depth),
            "</g>".repeat(depth)
        )
    };
    let error = svg_error(nested(svg::MAX_DEPTH + 1).as_bytes());
    assert!(error.contains("nested"), "{error}");
    assert!(decode_unguarded(nested(svg::MAX_DEPTH - 2).as_bytes()).is_ok());
    // <use> copying <use>: 10^8 shapes from 2 KB.
    assert!(decode_unguarded(&hostile("use-bomb.svg")).is_err());
}

#[test]
fn svg_copies_made_by_references_are_bounded_before_usvg_converts_them() {
    // 10^5 copies of a long path through <use>, 10^4 shapes at each of 1000 marker vertices.
    for name in ["use-long-path.svg", "marker-bomb.svg"] {
        let error = svg_error(&hostile(name));
        assert!(error.contains("references expand"), "{name}: {error}");
    }
    // An icon sprite: 300 uses of symbols is far below the bound, and drawn.
    let symbols: String = (0..10)
        .map(|i| {
            format!(
                r#"<symbol id="s{i}" viewBox="0 0 10 10"><path d="M0 0h10v10z{}"/></symbol>"#,
                "l1 1".repeat(50)
            )
        })
        .collect();
    let uses: String = (0..300)
        .map(|i| {
            format!(
                r##"<use href="#s{}" x="{}" y="{}" width="10" height="10"/>"##,
                i % 10,
                i % 20 * 10,
                i / 20 * 10
            )
        })
        .collect();
    let sprite = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="150">{symbols}{uses}</svg>"#
    );
    let image = decode_unguarded(sprite.as_bytes()).unwrap();
    assert!(image.frames[0].pixels.chunks_exact(4).any(|p| p[3] == 255));
}

#[test]
fn svg_layers_and_pattern_tiles_are_bounded_before_drawing() {
    for name in ["pattern-tile.svg", "layer-bomb.svg"] {
        let bytes = hostile(name);
        let header = probe(&bytes).unwrap();
        match draw_at_size(&bytes, &header, &options(), (100, 100)) {
            Err(ImagingError::TooLarge(why)) => assert!(why.contains("layers"), "{name}: {why}"),
            other => panic!("{name}: {:?}", other.map(|image| image.width)),
        }
    }
    // A drop shadow (a filter of four primitives) over a half-transparent group, inside a
    // clipped group: well within the bound even at 4000x4000.
    let shadow = br##"<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">
        <filter id="shadow"><feGaussianBlur in="SourceAlpha" stdDeviation="2"/><feOffset dx="2" dy="2"/>
        <feMerge><feMergeNode/><feMergeNode in="SourceGraphic"/></feMerge></filter>
        <clipPath id="c"><rect width="90" height="90"/></clipPath>
        <g clip-path="url(#c)"><g opacity="0.8" filter="url(#shadow)"><rect x="10" y="10" width="70" height="70" fill="teal"/></g></g>
        <pattern id="dots" width="10" height="10" patternUnits="userSpaceOnUse"><circle cx="5" cy="5" r="2"/></pattern>
        <rect width="100" height="20" fill="url(#dots)"/></svg>"##;
    let header = probe(shadow).unwrap();
    let big = draw_at_size(
        shadow,
        &header,
        &DecodeOptions::new(16_000_000),
        (4000, 4000),
    )
    .unwrap();
    assert_eq!((big.width, big.height), (4000, 4000));
}

#[test]
fn svg_shapes_reaching_past_what_tiny_skia_addresses_are_refused_before_drawing() {
    // Each made tiny-skia panic (an assertion in a debug build, an index past the canvas in a
    // release build): a fill, a stroke, a scaled group, and shapes in a clip path, a mask and
    // a pattern tile, each reaching about 7 * 10^8 px above a 200x100 canvas; and a hairline
    // whose control point at 2.4e21 usvg's bounding boxes leave out.
    for name in [
        "far-path.svg",
        "far-stroke.svg",
        "far-scaled-group.svg",
        "far-clip.svg",
        "far-mask.svg",
        "far-pattern.svg",
        "far-control-point.svg",
    ] {
        let bytes = hostile(name);
        let header = probe(&bytes).unwrap();
        for size in [(200, 100), (20, 10)] {
            match draw_at_size(&bytes, &header, &options(), size) {
                Err(ImagingError::Undecodable(why)) => {
                    assert!(why.contains("px from the canvas"), "{name}: {why}")
                }
                other => panic!("{name}: {:?}", other.map(|image| image.width)),
            }
        }
    }
    // The same shapes a tenth as far (well past the canvas, short of the limit) are drawn.
    let near = String::from_utf8(hostile("far-path.svg"))
        .unwrap()
        .replace("-693631800", "-60000000");
    let header = probe(near.as_bytes()).unwrap();
    let image = draw_at_size(near.as_bytes(), &header, &options(), (200, 100)).unwrap();
    assert_eq!((image.width, image.height), (200, 100));
    // A group scaled 5 * 10^5 times instead of 10^7: its shape reaches 3.5 * 10^7 px.
    let small = String::from_utf8(hostile("far-scaled-group.svg"))
        .unwrap()
        .replace("1e7", "5e5");
    let header = probe(small.as_bytes()).unwrap();
    assert!(draw_at_size(small.as_bytes(), &header, &options(), (200, 100)).is_ok());
}

#[test]
fn svg_arcs_and_dashes_are_bounded_before_usvg_converts_them() {
    for (name, reason) in [
        ("huge-arc.svg", "curves"),
        ("huge-circles.svg", "curves"),
        ("huge-dashes.svg", "dashes"),
    ] {
        let why = svg_error(&hostile(name));
        assert!(why.contains(reason), "{name}: {why}");
    }
    // The same file with a tenth of its dashed paths is drawn.
    let dashes = String::from_utf8(hostile("huge-dashes.svg")).unwrap();
    let fewer: String = dashes
        .lines()
        .filter(|line| !line.starts_with("<path") || line.contains("M0 1 "))
        .collect();
    assert!(fewer.matches("<path").count() >= 2);
    assert!(decode_unguarded(fewer.as_bytes()).is_ok());
}

#[test]
fn svg_huge_canvas_is_refused_before_drawing() {
    let bytes = hostile("huge-viewbox.svg");
    let header = probe(&bytes).unwrap();
    assert_eq!((header.width, header.height), (100_000, 100_000));
    assert!(matches!(
        decode(&bytes, &options()),
        Err(ImagingError::TooLarge(_))
    ));
    assert!(matches!(
        draw_at_size(&bytes, &header, &options(), (10_000, 10_000)),
        Err(ImagingError::TooLarge(_))
    ));
    // Asked small, it is drawn small.
    let small = draw_at_size(&bytes, &header, &options(), (100, 100)).unwrap();
    assert_eq!(&small.frames[0].pixels[..4], [0, 0x66, 0x99, 255]);
}

#[test]
fn svg_damage_fails_cleanly() {
    for file in SVG_FILES {
        assert_damage_fails_cleanly(file, &read(file));
    }
}

#[test]
fn jxl_header_over_max_pixels_is_refused_before_decoding() {
    // 67 M pixels of one colour in 40 KB.
    let bytes = read_test_data("formats/8193x8193-solid.jxl");
    let header = probe(&bytes).unwrap();
    assert_eq!((header.width, header.height), (8193, 8193));
    assert_eq!(frame_count(&bytes, &header), 1);
    assert!(matches!(
        decode(&bytes, &DecodeOptions::new(8193 * 8193 - 1)),
        Err(ImagingError::TooLarge(_))
    ));
}

#[test]
fn jxl_orientation_is_applied_by_the_decoder() {
    // Stored 450x600 with orientation 6: the probe and the decode both give the upright
    // 600x450, and the pipeline has nothing left to turn.
    let bytes = read_test_data("formats/landscape-6.jxl");
    let header = probe(&bytes).unwrap();
    assert_eq!(
        (header.width, header.height, header.orientation),
        (600, 450, 1)
    );
    let image = decode_unguarded(&bytes).unwrap();
    assert_eq!((image.width, image.height), (600, 450));
    assert_eq!(image.source.orientation, 1);
    let upright = decode(&read("sharp/Landscape_1.jpg"), &options()).unwrap();
    assert_eq!((upright.width, upright.height), (600, 450));
    let similarity = psnr(&image.frames[0].pixels, &upright.frames[0].pixels);
    // The same picture (a lossy re-encoding at distance 3), and far closer than it turned
    // the other way up (same size, so only the pixels can tell).
    let turned: Vec<u8> = image.frames[0]
        .pixels
        .chunks_exact(3)
        .rev()
        .flatten()
        .copied()
        .collect();
    let turned_similarity = psnr(&turned, &upright.frames[0].pixels);
    assert!(
        similarity > 18.0 && similarity > turned_similarity + 5.0,
        "PSNR {similarity:.1} dB, turned {turned_similarity:.1} dB"
    );
}

const HEIC_FILES: [&str; 4] = [
    "formats/grid-irot-exif6.heic",
    "formats/watermark-alpha.heic",
    "formats/flag-10bit.heic",
    "formats/huge-grid.heic",
];

/// The mean RGB of a 20x20 square of `image` with its top-left corner at (x, y).
fn mean_rgb_at(image: &Image, x: u32, y: u32) -> [u8; 3] {
    let channels = image.layout.channels();
    let mut sums = [0u32; 3];
    for row in y..y + 20 {
        for column in x..x + 20 {
            let at = (row as usize * image.width as usize + column as usize) * channels;
            for (sum, &sample) in sums.iter_mut().zip(&image.frames[0].pixels[at..at + 3]) {
                *sum += u32::from(sample);
            }
        }
    }
    sums.map(|sum| (sum / 400) as u8)
}

#[test]
fn heic_is_sniffed_by_its_brands_and_avif_is_not() {
    for file in HEIC_FILES {
        assert_eq!(
            sniff(&read_test_data(file)),
            Some(ImageFormat::Heif),
            "{file}"
        );
    }
    assert_eq!(
        sniff(&read("thumbor/images/image.heic")),
        Some(ImageFormat::Heif)
    );
    let ftyp = |major: &[u8], compatible: &[&[u8]]| -> Vec<u8> {
        let mut b = (16 + 4 * compatible.len() as u32).to_be_bytes().to_vec();
        b.extend_from_slice(b"ftyp");
        b.extend_from_slice(major);
        b.extend_from_slice(&[0; 4]);
        compatible.iter().for_each(|c| b.extend_from_slice(c));
        b
    };
    assert_eq!(sniff(&ftyp(b"msf1", &[b"hevc"])), Some(ImageFormat::Heif));
    assert_eq!(sniff(&ftyp(b"hevc", &[b"msf1"])), Some(ImageFormat::Heif));
    assert_eq!(sniff(&ftyp(b"mif1", &[b"heic"])), Some(ImageFormat::Heif));
    // An AV1 image whose major brand is the structural mif1 is AVIF.
    assert_eq!(
        sniff(&ftyp(b"mif1", &[b"mif1", b"avif", b"miaf"])),
        Some(ImageFormat::Avif)
    );
    assert_eq!(sniff(&ftyp(b"avif", &[b"mif1"])), Some(ImageFormat::Avif));
    assert_eq!(sniff(&ftyp(b"isom", &[b"mp41"])), None, "mp4");
    assert_eq!(
        sniff(&read("sharp/pitm.avif")),
        Some(ImageFormat::Avif),
        "the corpus AVIFs stay AVIF"
    );
}

#[test]
fn heif_files_whose_primary_image_is_not_hevc_never_reach_libheif() {
    // The fuzzer's file: `mif2` without an AVIF brand, so sniffed as HEIF, holding an `av01`
    // item that smashed libheif 1.15's stack (the process aborted). Refused by pictor's
    // container reader before libheif reads it, in the probe and in the decode.
    let bytes = hostile("av1-in-heif.heif");
    assert_eq!(sniff(&bytes), Some(ImageFormat::Heif));
    match probe(&bytes) {
        Err(ImagingError::Undecodable(why)) => assert!(why.contains("not HEVC"), "{why}"),
        other => panic!("{other:?}"),
    }
    let header = Probe {
        format: ImageFormat::Heif,
        width: 300,
        height: 400,
        orientation: 1,
    };
    assert!(matches!(
        draw_at_size(&bytes, &header, &options(), (300, 400)),
        Err(ImagingError::Undecodable(_))
    ));
}

#[test]
fn a_heic_grid_declaring_more_than_its_size_never_reaches_libheif() {
    // The fuzzer's 2.6 KB file: a 30x30 image (ispe) whose one-tile grid declares an output
    // of 26477x26980, which libheif 1.15 allocated and filled (2.8 GB).
    let bytes = hostile("grid-larger-than-declared.heic");
    match probe(&bytes) {
        Err(ImagingError::Undecodable(why)) => assert!(why.contains("26477x26980"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn heic_probes_read_the_displayed_size_from_the_container() {
    let cases = [
        ("formats/grid-irot-exif6.heic", 480, 720, 1, false, 8),
        ("formats/watermark-alpha.heic", 30, 30, 1, true, 8),
        ("formats/flag-10bit.heic", 900, 600, 1, false, 10),
        ("formats/huge-grid.heic", 30000, 30000, 1, false, 8),
    ];
    for (file, width, height, images, alpha, bits) in cases {
        let bytes = read_test_data(file);
        let header = probe(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            (
                header.format,
                header.width,
                header.height,
                header.orientation
            ),
            (ImageFormat::Heif, width, height, 1),
            "{file}"
        );
        let facts = heic::read_header(&bytes, u64::MAX).unwrap();
        assert_eq!(
            (facts.top_level_images, facts.has_alpha, facts.bit_depth),
            (images, alpha, bits),
            "{file}"
        );
        assert_eq!(frame_count(&bytes, &header), 1);
    }
    let corpus = probe(&read("thumbor/images/image.heic")).unwrap();
    assert_eq!((corpus.width, corpus.height), (256, 256));
}

#[test]
fn heic_grid_is_rotated_by_irot_once_and_keeps_its_profile() {
    // Stored as 720x480 landscape tiles with irot 3 and EXIF orientation 6: libheif turns it
    // upright, the EXIF orientation is not applied on top (pillow-heif resets it).
    let image = decode_data("formats/grid-irot-exif6.heic");
    assert_eq!((image.width, image.height), (480, 720));
    assert_eq!(image.source.orientation, 1);
    assert_eq!(image.layout, PixelLayout::Rgb8);
    let close = |got: [u8; 3], want: [u8; 3]| {
        got.iter()
            .zip(want)
            .all(|(&g, w)| (i32::from(g) - i32::from(w)).abs() < 40)
    };
    let corners = [
        (mean_rgb_at(&image, 10, 10), [30, 30, 220], "blue top-left"),
        (mean_rgb_at(&image, 450, 10), [215, 30, 30], "red top-right"),
        (
            mean_rgb_at(&image, 10, 690),
            [235, 235, 235],
            "white bottom-left",
        ),
        (
            mean_rgb_at(&image, 450, 690),
            [30, 200, 30],
            "green bottom-right",
        ),
    ];
    for (got, want, corner) in corners {
        assert!(close(got, want), "{corner}: {got:?}");
    }
    let profile = image.source.icc_profile.expect("Display P3 profile");
    let png = decode(&read("sharp/p3.png"), &options()).unwrap();
    assert_eq!(Some(&profile), png.source.icc_profile.as_ref());
}

#[test]
fn heic_keeps_alpha() {
    let image = decode_data("formats/watermark-alpha.heic");
    assert_eq!(image.layout, PixelLayout::Rgba8);
    assert!(image.has_transparency());
    let png = decode(&read("thumbor/images/watermark.png"), &options()).unwrap();
    let alpha = |rgba: Vec<u8>| -> Vec<u8> { rgba.chunks_exact(4).map(|p| p[3]).collect() };
    let similarity = psnr(&alpha(rgba_of(&image, 0)), &alpha(rgba_of(&png, 0)));
    assert!(similarity > 30.0, "alpha PSNR {similarity:.1} dB");
}

#[test]
fn heic_ten_bits_are_narrowed_to_eight() {
    let image = decode_data("formats/flag-10bit.heic");
    assert_eq!((image.width, image.height), (900, 600));
    // The Dutch flag: red, white and blue bands.
    let bands = [
        (mean_rgb_at(&image, 440, 90), [174, 28, 40]),
        (mean_rgb_at(&image, 440, 290), [255, 255, 255]),
        (mean_rgb_at(&image, 440, 490), [33, 70, 139]),
    ];
    for (got, want) in bands {
        let distance: i32 = got
            .iter()
            .zip(want)
            .map(|(&g, w)| (i32::from(g) - w).abs())
            .sum();
        assert!(distance < 30, "{got:?} is not {want:?}");
    }
}

#[test]
fn heic_header_over_max_pixels_is_refused_before_decoding() {
    // 30000x30000 declared by the grid over four small tiles: never decoded.
    let bytes = read_test_data("formats/huge-grid.heic");
    assert!(matches!(
        decode(&bytes, &DecodeOptions::new(75_000_000)),
        Err(ImagingError::TooLarge(_))
    ));
    // libheif's own limit refuses the side while parsing, as a size error too.
    assert!(matches!(
        heic::read_header(&bytes, 20_000),
        Err(ImagingError::TooLarge(_))
    ));
}

#[test]
fn heic_damage_fails_cleanly() {
    for file in &HEIC_FILES[..3] {
        assert_damage_fails_cleanly(file, &read_test_data(file));
    }
    assert_damage_fails_cleanly("image.heic", &read("thumbor/images/image.heic"));
}
