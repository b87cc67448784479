//! Tests of the JPEG 2000, PSD and AVIF readers on the corpus, and of their behaviour on
//! truncated and corrupted input (an error or a consistent image; never a panic or a hang).

use super::*;
use crate::imaging::PixelLayout;
use crate::test_corpus::{psnr, read};

const MAX_PIXELS: u64 = 75_000_000;

pub(super) fn options() -> DecodeOptions {
    DecodeOptions::new(MAX_PIXELS)
}

/// Decodes without `decode`'s panic guard, so a panic in our own code fails the test (also
/// used by `format_tests`).
pub(super) fn decode_unguarded(bytes: &[u8]) -> Result<Image, ImagingError> {
    let header = probe_format(bytes)?;
    check_pixel_limit(header.width, header.height, MAX_PIXELS)?;
    decode_format(bytes, &header, &options())
}

fn decode_file(relative: &str) -> Image {
    decode_unguarded(&read(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn rgb_of(image: &Image) -> Vec<u8> {
    match image.layout {
        PixelLayout::Rgb8 => image.frames[0].pixels.clone(),
        PixelLayout::Rgba8 => rgba_to_rgb(&image.frames[0].pixels),
    }
}

fn mean(pixels: &[u8]) -> f64 {
    pixels.iter().map(|&v| f64::from(v)).sum::<f64>() / pixels.len() as f64
}

/// `image.jpg`, which image.jp2 and image.avif are re-encodings of.
fn reference_rgb() -> Vec<u8> {
    let image = decode_file("thumbor/images/image.jpg");
    assert_eq!((image.width, image.height), (300, 400));
    rgb_of(&image)
}

/// The codestream inside a JP2 file's `jp2c` box.
fn codestream_of(jp2: &[u8]) -> &[u8] {
    let mut at = 0;
    while at + 8 <= jp2.len() {
        let size = u32::from_be_bytes(jp2[at..at + 4].try_into().unwrap()) as usize;
        if &jp2[at + 4..at + 8] == b"jp2c" {
            return &jp2[at + 8..if size == 0 { jp2.len() } else { at + size }];
        }
        at += size;
    }
    panic!("no jp2c box");
}

#[test]
fn sniff_knows_psd_and_raw_j2k() {
    assert_eq!(
        sniff(&read("thumbor/images/1x1.psd")),
        Some(ImageFormat::Psd)
    );
    let jp2 = read("thumbor/images/image.jp2");
    assert_eq!(sniff(codestream_of(&jp2)), Some(ImageFormat::Jp2));
}

#[test]
fn probes_read_sizes_from_headers() {
    let cases = [
        ("thumbor/images/image.jp2", ImageFormat::Jp2, 300, 400),
        ("thumbor/images/1x1.psd", ImageFormat::Psd, 1, 1),
        #[cfg(feature = "avif")]
        ("thumbor/images/image.avif", ImageFormat::Avif, 300, 400),
        #[cfg(feature = "avif")]
        ("sharp/pitm.avif", ImageFormat::Avif, 4096, 800),
    ];
    for (file, format, width, height) in cases {
        let header = probe(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            (
                header.format,
                header.width,
                header.height,
                header.orientation
            ),
            (format, width, height, 1),
            "{file}"
        );
    }
    // The PSD probe needs the 26-byte header only; the JP2 one the main codestream header.
    let psd = read("thumbor/images/1x1.psd");
    assert_eq!(
        probe(&psd[..26]).map(|p| (p.width, p.height)).ok(),
        Some((1, 1))
    );
    assert!(probe(&psd[..25]).is_err());
}

#[test]
fn probe_refuses_oversized_psd_before_decoding() {
    let mut psd = read("thumbor/images/1x1.psd");
    // 20000 x 20000 declared: within Photoshop's limit, over MAX_PIXELS.
    psd[14..18].copy_from_slice(&20_000u32.to_be_bytes());
    psd[18..22].copy_from_slice(&20_000u32.to_be_bytes());
    assert_eq!(probe(&psd).map(|p| p.width).ok(), Some(20_000));
    assert!(matches!(
        decode(&psd, &options()),
        Err(ImagingError::TooLarge(_))
    ));
    // Over Photoshop's own limit: not a PSD at all.
    psd[14..18].copy_from_slice(&40_000u32.to_be_bytes());
    assert!(probe(&psd).is_err());
}

#[test]
fn jp2_decodes_to_the_same_picture_as_image_jpg() {
    let image = decode_file("thumbor/images/image.jp2");
    assert_eq!((image.width, image.height), (300, 400));
    assert_eq!(image.layout, PixelLayout::Rgb8);
    assert_eq!(image.source.format, ImageFormat::Jp2);
    let reference = reference_rgb();
    let similarity = psnr(&rgb_of(&image), &reference);
    assert!(similarity > 25.0, "PSNR {similarity:.1} dB");
    assert!((mean(&rgb_of(&image)) - mean(&reference)).abs() < 3.0);
}

#[test]
fn raw_j2k_codestream_decodes_like_its_jp2() {
    let jp2 = read("thumbor/images/image.jp2");
    let from_container = decode_unguarded(&jp2).unwrap();
    let from_codestream = decode_unguarded(codestream_of(&jp2)).unwrap();
    assert_eq!((from_codestream.width, from_codestream.height), (300, 400));
    assert_eq!(from_codestream.frames, from_container.frames);
}

#[test]
fn psd_composite_is_read() {
    let image = decode_file("thumbor/images/1x1.psd");
    assert_eq!((image.width, image.height), (1, 1));
    assert_eq!(image.source.format, ImageFormat::Psd);
    assert!(image.source.grayscale);
    // One PackBits literal: 0xff, white.
    assert_eq!(image.frames[0].pixels, vec![255, 255, 255]);
}

/// A 2x1 RGBA PSD, raw (uncompressed) composite: a red opaque and a blue half-transparent pixel.
fn rgba_psd() -> Vec<u8> {
    let mut psd = b"8BPS\x00\x01\x00\x00\x00\x00\x00\x00".to_vec();
    psd.extend_from_slice(&4u16.to_be_bytes()); // channels
    psd.extend_from_slice(&1u32.to_be_bytes()); // height
    psd.extend_from_slice(&2u32.to_be_bytes()); // width
    psd.extend_from_slice(&8u16.to_be_bytes()); // depth
    psd.extend_from_slice(&3u16.to_be_bytes()); // RGB
    psd.extend_from_slice(&[0; 12]); // empty colour mode, resources, layers
    psd.extend_from_slice(&0u16.to_be_bytes()); // raw
    psd.extend_from_slice(&[255, 0, 0, 0, 0, 255, 255, 128]); // R, G, B, A planes
    psd
}

#[test]
fn psd_rgb_with_a_fourth_channel_has_alpha() {
    let image = decode_unguarded(&rgba_psd()).unwrap();
    assert_eq!(image.layout, PixelLayout::Rgba8);
    assert_eq!(image.frames[0].pixels, vec![255, 0, 0, 255, 0, 0, 255, 128]);
    assert!(!image.source.grayscale);
}

/// A 3x2 gray PSD whose composite is PackBits rows given as `rows`.
fn packbits_gray_psd(rows: &[&[u8]]) -> Vec<u8> {
    let mut psd = b"8BPS\x00\x01\x00\x00\x00\x00\x00\x00".to_vec();
    psd.extend_from_slice(&1u16.to_be_bytes());
    psd.extend_from_slice(&2u32.to_be_bytes());
    psd.extend_from_slice(&3u32.to_be_bytes());
    psd.extend_from_slice(&8u16.to_be_bytes());
    psd.extend_from_slice(&1u16.to_be_bytes()); // gray
    psd.extend_from_slice(&[0; 12]);
    psd.extend_from_slice(&1u16.to_be_bytes()); // PackBits
    for row in rows {
        psd.extend_from_slice(&(row.len() as u16).to_be_bytes());
    }
    for row in rows {
        psd.extend_from_slice(row);
    }
    psd
}

#[test]
fn psd_packbits_rows_unpack_to_exactly_the_width() {
    // A literal run of 3, then a repeat of 3 (-2 as a header byte).
    let good = packbits_gray_psd(&[&[2, 10, 20, 30], &[0xFE, 99]]);
    let image = decode_unguarded(&good).unwrap();
    let gray: Vec<u8> = image.frames[0].pixels.iter().step_by(3).copied().collect();
    assert_eq!(gray, vec![10, 20, 30, 99, 99, 99]);
    // A row that unpacks long (the psd crate indexed past its buffer), short, or runs out of
    // packed bytes: errors, never panics.
    for rows in [
        [&[3u8, 1, 2, 3, 4][..], &[0xFE, 99][..]],
        [&[1, 1, 2], &[0xFE, 99]],
        [&[5, 1, 2], &[0xFE, 99]],
        [&[0x80, 0xFE], &[0xFE, 99]],
    ] {
        assert!(matches!(
            decode_unguarded(&packbits_gray_psd(&rows)),
            Err(ImagingError::Undecodable(_))
        ));
    }
}

#[test]
fn psd_modes_that_would_come_out_wrong_are_refused() {
    let mut cmyk = rgba_psd();
    cmyk[24..26].copy_from_slice(&4u16.to_be_bytes());
    assert!(matches!(
        decode_unguarded(&cmyk),
        Err(ImagingError::Undecodable(_))
    ));
    let mut sixteen_bit = rgba_psd();
    sixteen_bit[22..24].copy_from_slice(&16u16.to_be_bytes());
    assert!(decode_unguarded(&sixteen_bit).is_err());
}

#[cfg(feature = "avif")]
#[test]
fn avif_decodes_to_the_same_picture_as_image_jpg() {
    let image = decode_file("thumbor/images/image.avif");
    assert_eq!((image.width, image.height), (300, 400));
    assert_eq!(image.layout, PixelLayout::Rgb8);
    assert_eq!(image.source.format, ImageFormat::Avif);
    let reference = reference_rgb();
    let similarity = psnr(&rgb_of(&image), &reference);
    assert!(similarity > 20.0, "PSNR {similarity:.1} dB");
    assert!((mean(&rgb_of(&image)) - mean(&reference)).abs() < 4.0);
}

#[cfg(feature = "avif")]
#[test]
fn avif_grid_tiles_join_without_seams() {
    let image = decode_file("sharp/pitm.avif");
    assert_eq!((image.width, image.height), (4096, 800));
    assert!(!image.source.grayscale);
    let rgb = rgb_of(&image);
    // Mean absolute difference between two neighbouring columns, over all rows.
    let column_step = |x: usize| -> f64 {
        let total: u64 = (0..800usize)
            .map(|y| {
                let a = (y * 4096 + x) * 3;
                let b = a + 3;
                (0..3)
                    .map(|c| u64::from(rgb[a + c].abs_diff(rgb[b + c])))
                    .sum::<u64>()
            })
            .sum();
        total as f64 / (800.0 * 3.0)
    };
    // The four 1024-wide tiles meet at x = 1024, 2048, 3072: a misplaced or missing tile
    // makes those steps stand out from the steps around them.
    for seam in [1023, 2047, 3071] {
        let around = (column_step(seam - 8) + column_step(seam + 8)) / 2.0;
        assert!(
            column_step(seam) < around * 3.0 + 6.0,
            "seam at {seam}: {:.1} vs {around:.1}",
            column_step(seam)
        );
    }
    // Not a flat fill: a real photograph.
    let gray_levels: std::collections::HashSet<u8> = rgb.iter().step_by(97).copied().collect();
    assert!(gray_levels.len() > 100);
}

/// Every file is cut at several lengths and corrupted at several places: each must give an
/// error or an image of the size its header declares, without panicking.
#[test]
fn truncated_and_corrupt_files_fail_cleanly() {
    let mut files = vec!["thumbor/images/image.jp2", "thumbor/images/1x1.psd"];
    if cfg!(feature = "avif") {
        files.extend(["thumbor/images/image.avif", "sharp/pitm.avif"]);
    }
    let mut variants: Vec<(String, Vec<u8>)> = Vec::new();
    for file in files {
        let bytes = read(file);
        let len = bytes.len();
        for cut in [
            0,
            4,
            12,
            26,
            40,
            64,
            100,
            200,
            len / 3,
            len / 2,
            len * 9 / 10,
            len - 1,
        ] {
            if cut < len {
                variants.push((format!("{file} cut at {cut}"), bytes[..cut].to_vec()));
            }
        }
        for at in [
            8,
            14,
            20,
            28,
            36,
            50,
            70,
            120,
            180,
            260,
            len / 4,
            len / 2,
            len - 8,
        ] {
            for mask in [0xff, 0x01, 0x80] {
                let mut corrupt = bytes.clone();
                if let Some(b) = corrupt.get_mut(at) {
                    *b ^= mask;
                }
                variants.push((format!("{file} flipped at {at} ^{mask:#x}"), corrupt));
            }
        }
    }
    for (name, bytes) in variants {
        let started = std::time::Instant::now();
        if let Ok(image) = decode_unguarded(&bytes) {
            let header = probe(&bytes).unwrap_or_else(|e| panic!("{name}: decoded, no probe: {e}"));
            assert_eq!(
                (image.width, image.height),
                (header.width, header.height),
                "{name}"
            );
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{name}: took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn truncation_is_an_error_for_psd_and_avif() {
    let mut files = vec!["thumbor/images/1x1.psd"];
    if cfg!(feature = "avif") {
        files.extend(["thumbor/images/image.avif", "sharp/pitm.avif"]);
    }
    for file in files {
        let bytes = read(file);
        for cut in [1, 26, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                decode(&bytes[..cut], &options()).is_err(),
                "{file} cut at {cut}"
            );
        }
    }
}

/// Random byte mutations of every JPEG 2000, PSD and AVIF corpus file, for a longer search
/// than the bounded test above: `PICTOR_STRESS_ITERATIONS=5000 cargo test --lib
/// random_mutations -- --ignored`. A panic fails it; an abort inside rav1d kills it.
#[test]
#[ignore]
fn random_mutations_never_panic() {
    let iterations: usize = std::env::var("PICTOR_STRESS_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let mut files = vec!["thumbor/images/image.jp2", "thumbor/images/1x1.psd"];
    if cfg!(feature = "avif") {
        files.extend(["thumbor/images/image.avif", "sharp/pitm.avif"]);
    }
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for file in files {
        let original = read(file);
        for _ in 0..iterations {
            let mut bytes = original.clone();
            for _ in 0..=next() % 8 {
                let at = (next() % bytes.len() as u64) as usize;
                bytes[at] = next() as u8;
            }
            if next() % 4 == 0 {
                bytes.truncate((next() % bytes.len() as u64) as usize);
            }
            let _ = decode_unguarded(&bytes);
        }
    }
}
