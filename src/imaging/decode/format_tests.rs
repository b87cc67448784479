//! Tests of the readers added for JPEG XL, SVG and HEIC originals: sizes from the header,
//! pixels against the originals they were made from, animation, ICC profiles, and truncated or
//! corrupted files failing cleanly. The files are in `tests/data/formats/` (its README says how
//! each was made).

use super::*;
use crate::imaging::PixelLayout;
use crate::test_corpus::{psnr, read, read_test_data};

const MAX_PIXELS: u64 = 75_000_000;

fn options() -> DecodeOptions {
    DecodeOptions::new(MAX_PIXELS)
}

/// Decodes without `decode`'s panic guard, so a panic in our own code fails the test.
fn decode_unguarded(bytes: &[u8]) -> Result<Image, ImagingError> {
    let header = probe_format(bytes)?;
    check_pixel_limit(header.width, header.height, MAX_PIXELS)?;
    decode_format(bytes, &header, &options())
}

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
    for at in [2, 5, 9, 14, 20, 28, 36, 50, 70, 120, len / 4, len / 2, len - 8] {
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

const JXL_FILES: [&str; 5] = [
    "formats/watermark-alpha.jxl",
    "formats/p3-icc.jxl",
    "formats/animated.jxl",
    "formats/giunchedi.jxl",
    "formats/lossless-jpeg.jxl",
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
