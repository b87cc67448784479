use super::*;

/// What mozjpeg writes for the same planes with libjpeg-turbo's settings: the fastest profile,
/// optimised Huffman tables, the standard progression, raw YCbCr input.
fn mozjpeg_reference(image: &YccImage, quality: u8, icc: Option<&[u8]>) -> Vec<u8> {
    let mut compress = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_YCbCr);
    compress.set_size(image.width as usize, image.height as usize);
    compress.set_fastest_defaults();
    compress.set_quality(f32::from(quality));
    compress.set_optimize_coding(true);
    compress.set_progressive_mode();
    compress.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
    compress.set_raw_data_in(true);
    let mut started = compress.start_compress(Vec::new()).expect("starts");
    if let Some(icc) = icc {
        for payload in crate::imaging::jpeg::icc::icc_marker_payloads(icc) {
            started.write_marker(mozjpeg::Marker::APP(2), &payload);
        }
    }
    let planes: Vec<&[u8]> = image.planes.iter().map(|p| &p.data[..]).collect();
    assert!(started.write_raw_data(&planes));
    started.finish().expect("finishes")
}

/// Deterministic planes with smooth areas, edges and noise (long zero runs, large
/// coefficients, refinement bits), margins replicated as the pipeline leaves them.
fn test_image(width: u32, height: u32, seed: u32) -> YccImage {
    let mut image = YccImage::new(width, height);
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    for (index, plane) in image.planes.iter_mut().enumerate() {
        for y in 0..plane.height {
            for x in 0..plane.width {
                let smooth = (x * 3 + y * 2 + index * 40) % 256;
                let edge = if (x / 37 + y / 23) % 2 == 0 { 0 } else { 90 };
                let grain = (noise() % 24) as usize;
                let value = if x < plane.width / 3 {
                    smooth
                } else {
                    smooth / 2 + edge + grain
                };
                plane.data[y * plane.stride + x] = value.min(255) as u8;
            }
        }
        plane.replicate_edges();
    }
    image
}

fn assert_same_bytes(ours: &[u8], reference: &[u8], what: &str) {
    if ours != reference {
        let first = ours.iter().zip(reference).position(|(a, b)| a != b);
        panic!(
            "{what}: {} bytes vs mozjpeg's {}, first difference at {first:?}",
            ours.len(),
            reference.len()
        );
    }
}

#[test]
fn output_equals_mozjpeg_byte_for_byte() {
    // Whole MCUs, partial blocks, dummy blocks on the right and at the bottom, tiny images.
    for (width, height) in [(720, 588), (721, 589), (300, 200), (17, 9), (1, 1), (8, 33)] {
        for quality in [80, 95] {
            let image = test_image(width, height, width + height);
            let ours = encode(&image, quality, None).expect("encodes");
            let reference = mozjpeg_reference(&image, quality, None);
            assert_same_bytes(&ours, &reference, &format!("{width}x{height} q{quality}"));
        }
    }
}

#[test]
fn extreme_qualities_equal_mozjpeg() {
    // q100 quantises by 1 (every refinement bit in play); q5 needs 16-bit DQT entries.
    for quality in [100, 5, 1] {
        let image = test_image(200, 120, 7);
        let ours = encode(&image, quality, None).expect("encodes");
        assert_same_bytes(
            &ours,
            &mozjpeg_reference(&image, quality, None),
            &format!("q{quality}"),
        );
    }
}

#[test]
fn long_end_of_band_runs_are_split_like_libjpeg() {
    // A flat 2048x1024 image: 32,768 luma blocks in a row with nothing past DC, more than
    // one EOB-run symbol holds.
    let mut image = YccImage::new(2048, 1024);
    for plane in &mut image.planes {
        plane.data.fill(140);
    }
    let ours = encode(&image, 80, None).expect("encodes");
    assert_same_bytes(
        &ours,
        &mozjpeg_reference(&image, 80, None),
        "flat 2048x1024",
    );
}

#[test]
fn icc_profile_is_embedded_like_mozjpeg() {
    let image = test_image(64, 48, 3);
    let icc: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    let ours = encode(&image, 80, Some(&icc)).expect("encodes");
    assert_same_bytes(
        &ours,
        &mozjpeg_reference(&image, 80, Some(&icc)),
        "with ICC",
    );
}

#[test]
fn output_decodes_to_the_planes() {
    let image = test_image(160, 96, 11);
    let bytes = encode(&image, 95, None).expect("encodes");
    let decompress = mozjpeg::Decompress::new_mem(&bytes).expect("reads header");
    assert_eq!((decompress.width(), decompress.height()), (160, 96));
    let mut started = decompress
        .to_colorspace(mozjpeg::ColorSpace::JCS_YCbCr)
        .expect("starts");
    let decoded: Vec<u8> = started.read_scanlines().expect("decodes");
    let luma = &image.planes[0];
    let error: f64 = decoded
        .chunks_exact(3)
        .enumerate()
        .map(|(i, p)| {
            let expected = luma.data[(i / 160) * luma.stride + i % 160];
            (f64::from(p[0]) - f64::from(expected)).powi(2)
        })
        .sum::<f64>()
        / (160.0 * 96.0);
    let psnr = 10.0 * (255.0f64.powi(2) / error).log10();
    assert!(psnr > 35.0, "luma PSNR {psnr:.1} dB");
}

#[test]
fn reciprocal_division_matches_libjpeg_rounding() {
    // (|x| + d/2) / d for every DCT output magnitude and every divisor 8 x q.
    for quant in 1..=255u32 {
        let divisor = quant * 8;
        let (recip, corr, shift) = reciprocal(divisor);
        for x in 0..=16_384u32 {
            let exact = (x + divisor / 2) / divisor;
            let ours = ((x + corr) * recip) >> shift;
            assert!(ours == exact, "q{quant} x{x}");
        }
    }
}

#[test]
fn rejects_images_jpeg_cannot_hold() {
    let image = YccImage::new(1, 1);
    let too_wide = YccImage {
        width: 70_000,
        ..image.clone()
    };
    assert!(encode(&too_wide, 80, None).is_err());
    let unpadded = YccImage {
        width: 64,
        height: 64,
        ..image
    };
    assert!(encode(&unpadded, 80, None).is_err());
}

/// mozjpeg compressing interleaved RGB itself (its colour conversion and downsampling): what
/// pictor wrote before this writer existed.
fn mozjpeg_rgb_reference(rgb: &[u8], width: u32, height: u32, quality: u8) -> Vec<u8> {
    let mut compress = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    compress.set_size(width as usize, height as usize);
    compress.set_fastest_defaults();
    compress.set_quality(f32::from(quality));
    compress.set_optimize_coding(true);
    compress.set_progressive_mode();
    compress.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
    let mut started = compress.start_compress(Vec::new()).expect("starts");
    started.write_scanlines(rgb).expect("writes");
    started.finish().expect("finishes")
}

#[test]
fn rgb_through_planes_equals_mozjpeg_from_rgb() {
    use crate::imaging::decode::{self, DecodeOptions};
    use crate::test_corpus;
    let options = DecodeOptions {
        shrink: 4,
        first_frame_only: true,
        ..DecodeOptions::new(75_000_000)
    };
    for file in [
        "sharp/2569067123_aca715a2ee_o.jpg",
        "thumbor/filters/source.jpg",
        "thumbor/images/Giunchedi%2C_Filippo_January_2015_01.jpg",
    ] {
        let image = decode::decode(&test_corpus::read(file), &options).expect("decodes");
        let rgb = &image.frames[0].pixels;
        let (width, height) = (image.width, image.height);
        // Whole and odd sizes, heights even but not a multiple of 16 (the bottom chroma rows):
        // crop the decoded rows.
        for (w, h) in [
            (width, height),
            (width - 3, height - 5),
            (width, height - 6),
            (17, 9),
            (1, 2),
        ] {
            let cropped: Vec<u8> = rgb
                .chunks_exact(width as usize * 3)
                .take(h as usize)
                .flat_map(|row| &row[..w as usize * 3])
                .copied()
                .collect();
            let planes = YccImage::from_rgb(&cropped, 3, w, h);
            let ours = encode(&planes, 80, None).expect("encodes");
            let reference = mozjpeg_rgb_reference(&cropped, w, h, 80);
            assert_same_bytes(&ours, &reference, &format!("{file} {w}x{h}"));
        }
    }
}

#[test]
fn rgba_alpha_is_ignored_by_the_conversion() {
    let rgb: Vec<u8> = (0..40 * 30 * 3).map(|i| (i * 7 % 256) as u8).collect();
    let rgba: Vec<u8> = rgb
        .chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], 9])
        .collect();
    assert_eq!(
        YccImage::from_rgb(&rgba, 4, 40, 30),
        YccImage::from_rgb(&rgb, 3, 40, 30)
    );
}

#[test]
fn skewed_symbol_counts_still_give_a_valid_16_bit_table() {
    // Fibonacci counts make the optimal (unlimited) code 40 bits long: the table must still
    // come out limited to 16 bits, with every symbol coded and no code all ones.
    let mut counts = [0u32; 256];
    let (mut a, mut b) = (1u32, 1u32);
    for count in counts.iter_mut().take(40) {
        *count = a;
        (a, b) = (b, a.saturating_add(b));
    }
    let spec = optimal_table(&counts);
    let coded: u32 = spec.counts.iter().map(|&c| u32::from(c)).sum();
    assert_eq!(coded, 40);
    assert_eq!(spec.symbols.len(), 40);
    // Kraft: the codes fit the 16-bit code space with room for the reserved all-ones code.
    let used: u64 = spec
        .counts
        .iter()
        .enumerate()
        .map(|(i, &c)| u64::from(c) << (15 - i))
        .sum();
    assert!(used < 1 << 16, "{used}");
    // The most frequent symbol gets the shortest code.
    let codes = HuffmanCodes::from_spec(&spec);
    assert!(codes.code(39).1 <= codes.code(0).1);
}
