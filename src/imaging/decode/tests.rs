//! Tests of sniffing, probing and decoding on the shared corpus.

use super::*;
use crate::imaging::PixelLayout;
use crate::test_corpus::{psnr, read, root};

const MAX_PIXELS: u64 = 75_000_000;

fn options(shrink: u32) -> DecodeOptions {
    DecodeOptions {
        shrink,
        ..DecodeOptions::new(MAX_PIXELS)
    }
}

fn decode_file(relative: &str) -> Image {
    decode(&read(relative), &options(1)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn pixel(image: &Image, frame: usize, x: u32, y: u32) -> Vec<u8> {
    let channels = image.layout.channels();
    let at = (y as usize * image.width as usize + x as usize) * channels;
    image.frames[frame].pixels[at..at + channels].to_vec()
}

#[test]
fn sniff_recognises_every_corpus_format() {
    let cases = [
        ("thumbor/images/image.jpg", Some(ImageFormat::Jpeg)),
        ("thumbor/images/image", Some(ImageFormat::Jpeg)),
        ("thumbor/images/1x1.png", Some(ImageFormat::Png)),
        ("thumbor/images/animated.gif", Some(ImageFormat::Gif)),
        ("thumbor/images/image.webp", Some(ImageFormat::Webp)),
        ("sharp/animated-loop-3.webp", Some(ImageFormat::Webp)),
        ("thumbor/images/image.jp2", Some(ImageFormat::Jp2)),
        ("thumbor/images/image.avif", Some(ImageFormat::Avif)),
        ("sharp/pitm.avif", Some(ImageFormat::Avif)),
        ("thumbor/images/image.heic", Some(ImageFormat::Heif)),
        ("thumbor/images/gradient_8bit.tif", Some(ImageFormat::Tiff)),
        (
            "thumbor/images/gradient_msb_16bperchannel.tif",
            Some(ImageFormat::Tiff),
        ),
        ("thumbor/images/Commons-logo.svg", Some(ImageFormat::Svg)),
        (
            "thumbor/images/Commons-logo-inches.svg",
            Some(ImageFormat::Svg),
        ),
        ("thumbor/filters/watermark.svg", Some(ImageFormat::Svg)),
        ("thumbor/images/1x1.psd", Some(ImageFormat::Psd)),
        ("thumbor/images/image_invalid.jpg", None),
        ("thumbor/images/qtables.xml", None),
    ];
    for (file, expected) in cases {
        assert_eq!(sniff(&read(file)), expected, "{file}");
    }
}

#[test]
fn sniff_follows_thumbors_order_and_extras() {
    assert_eq!(sniff(b"\x00\x00\x00 ftypisom\x00\x00\x02\x00"), None, "mp4");
    assert_eq!(sniff(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81"), None, "webm");
    assert_eq!(
        sniff(b"\x00\x00\x00\x18ftypmif1\x00\x00"),
        Some(ImageFormat::Heif)
    );
    assert_eq!(
        sniff(b"\x00\x00\x00\x1cftypavis\x00\x00"),
        Some(ImageFormat::Avif)
    );
    assert_eq!(sniff(b"BM\x36\x00\x00\x00"), Some(ImageFormat::Bmp));
    assert_eq!(sniff(b"MM\x00*\x00\x00\x00\x08"), Some(ImageFormat::Tiff));
    // An <svg> without the namespace URL is not SVG to Thumbor.
    assert_eq!(sniff(b"<svg width=\"1\"></svg>"), None);
    assert_eq!(
        sniff(b"<?xml version=\"1.0\"?>\n<SVG xmlns='http://www.w3.org/2000/svg'>"),
        Some(ImageFormat::Svg)
    );
    assert_eq!(sniff(b""), None);
    assert_eq!(sniff(b"\xff"), None);
}

/// Every decodable corpus image: the header probe announces exactly the decoded size.
#[test]
fn probe_matches_decode_for_every_decodable_corpus_image() {
    let mut decoded = 0;
    for dir in ["thumbor/images", "thumbor/filters", "sharp"] {
        let mut paths: Vec<_> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).unwrap();
            let Ok(image) = decode(&bytes, &options(1)) else {
                continue;
            };
            let header = probe(&bytes).unwrap();
            let name = path.display();
            assert_eq!(
                (header.width, header.height),
                (image.width, image.height),
                "{name}"
            );
            assert_eq!(header.format, image.source.format, "{name}");
            assert_eq!(header.orientation, image.source.orientation, "{name}");
            assert_eq!(
                (image.source.width, image.source.height),
                (image.width, image.height),
                "{name}"
            );
            let frame_len = image.width as usize * image.height as usize * image.layout.channels();
            assert!(
                image.frames.iter().all(|f| f.pixels.len() == frame_len),
                "{name}"
            );
            decoded += 1;
        }
    }
    assert!(decoded >= 130, "only {decoded} corpus images decoded");
}

#[test]
fn bombs_are_probed_from_the_header_and_refused_before_decoding() {
    let bombs = [
        (
            "sharp/65536-uint32-limit.png",
            ImageFormat::Png,
            65536,
            65536,
        ),
        ("sharp/giant-image.jpg", ImageFormat::Jpeg, 20000, 14000),
        (
            "thumbor/images/16384x16384.png",
            ImageFormat::Png,
            16384,
            16384,
        ),
        (
            "thumbor/images/16383x16383.png",
            ImageFormat::Png,
            16383,
            16383,
        ),
        (
            "thumbor/images/9643x10328.jpg",
            ImageFormat::Jpeg,
            9643,
            10328,
        ),
    ];
    for (file, format, width, height) in bombs {
        let bytes = read(file);
        let header = probe(&bytes).unwrap();
        assert_eq!(
            header,
            Probe {
                format,
                width,
                height,
                orientation: 1
            },
            "{file}"
        );
        let refused = decode(&bytes, &options(1));
        assert!(
            matches!(refused, Err(ImagingError::TooLarge(_))),
            "{file}: {refused:?}"
        );
    }
}

#[test]
fn exif_orientation_of_landscape_and_portrait_files() {
    for n in 1..=8u8 {
        for stem in ["Landscape", "Portrait"] {
            let file = format!("sharp/{stem}_{n}.jpg");
            assert_eq!(probe(&read(&file)).unwrap().orientation, n, "{file}");
        }
    }
    let cmyk = "thumbor/images/Giunchedi%2C_Filippo_January_2015_01-cmyk-orientation-exif.jpg";
    assert_eq!(decode_file(cmyk).source.orientation, 6);
    // Orientation value 0 is invalid and reads as 1.
    assert_eq!(
        probe(&read("thumbor/images/broken-exif-tag.jpg"))
            .unwrap()
            .orientation,
        1
    );
    assert_eq!(decode_file("thumbor/images/broken-exif-tag.jpg").width, 1);
}

#[test]
fn jpeg_shrink_on_load_gives_ceiling_sizes() {
    let cases: [(&str, u32, u32); 5] = [
        (
            "thumbor/images/Giunchedi%2C_Filippo_January_2015_01.jpg",
            800,
            533,
        ),
        ("thumbor/images/weird_normalize_error.jpg", 159, 239),
        ("sharp/2569067123_aca715a2ee_o.jpg", 2725, 2225),
        ("thumbor/images/grayscale.jpg", 100, 100),
        ("thumbor/images/cmyk-icc.jpg", 388, 218),
    ];
    for (file, width, height) in cases {
        let bytes = read(file);
        for shrink in [1u32, 2, 4, 8] {
            let image = decode(&bytes, &options(shrink)).unwrap();
            assert_eq!(
                (image.width, image.height),
                (width.div_ceil(shrink), height.div_ceil(shrink)),
                "{file} at 1/{shrink}"
            );
            // The source keeps the stored size.
            assert_eq!((image.source.width, image.source.height), (width, height));
        }
    }
}

#[test]
fn cmyk_jpeg_is_converted_to_srgb_through_its_profile() {
    let rgb = decode_file("thumbor/images/Giunchedi%2C_Filippo_January_2015_01.jpg");
    for file in [
        "thumbor/images/Giunchedi%2C_Filippo_January_2015_01-cmyk.jpg",
        "thumbor/images/Giunchedi%2C_Filippo_January_2015_01-cmyk-orientation-exif.jpg",
    ] {
        let cmyk = decode_file(file);
        assert_eq!(
            (cmyk.width, cmyk.height, cmyk.layout),
            (800, 533, PixelLayout::Rgb8)
        );
        let quality = psnr(&cmyk.frames[0].pixels, &rgb.frames[0].pixels);
        assert!(quality >= 25.0, "{file}: PSNR {quality:.1} dB");
        // The CMYK profile no longer describes the sRGB pixels.
        assert_eq!(cmyk.source.icc_profile, None);
    }

    // A flat cyan-ish tint: less red than green and blue.
    let tinted = decode_file("thumbor/images/cmyk-icc.jpg");
    let [r, g, b] = pixel(&tinted, 0, 194, 109)[..] else {
        unreachable!()
    };
    assert!(
        r + 30 < g && r + 30 < b && b > 150,
        "cmyk-icc.jpg centre is {r},{g},{b}"
    );

    // A blue-to-white vertical gradient (Adobe-inverted CMYK without a profile).
    let gradient = decode_file("thumbor/images/cmyk.jpg");
    let top = pixel(&gradient, 0, 50, 0);
    let bottom = pixel(&gradient, 0, 50, 99);
    assert!(
        top[2] > 200 && top[0] < 60 && top[1] < 60,
        "cmyk.jpg top is {top:?}"
    );
    assert!(
        bottom.iter().all(|&v| v > 200),
        "cmyk.jpg bottom is {bottom:?}"
    );
}

#[test]
fn grayscale_jpeg_is_widened_to_rgb() {
    let gray = decode_file("thumbor/images/Giunchedi%2C_Filippo_January_2015_01-grayscale.jpg");
    assert!(gray.source.grayscale);
    assert_eq!(gray.layout, PixelLayout::Rgb8);
    assert!(gray.frames[0]
        .pixels
        .chunks_exact(3)
        .all(|p| p[0] == p[1] && p[1] == p[2]));
    let with_icc = decode_file("thumbor/images/grayscale-icc.jpg");
    assert!(with_icc.source.grayscale);
    assert!(with_icc.source.icc_profile.is_some());
}

#[test]
fn truncated_and_odd_jpegs_decode() {
    let blue_square = decode_file("thumbor/images/BlueSquare_truncated.jpg");
    assert_eq!((blue_square.width, blue_square.height), (360, 216));
    // Top-left is white; the square starting near (80, 50) is blue; the missing part is filled.
    assert!(pixel(&blue_square, 0, 5, 5).iter().all(|&v| v > 240));
    let square = pixel(&blue_square, 0, 150, 60);
    assert!(
        square[2] > 200 && square[0] < 40 && square[1] < 40,
        "{square:?}"
    );

    let truncated = decode_file("sharp/truncated.jpg");
    assert_eq!((truncated.width, truncated.height), (2725, 2225));
    let quantization = decode_file("thumbor/images/invalid_quantization.jpg");
    assert_eq!((quantization.width, quantization.height), (300, 400));
}

#[test]
fn invalid_inputs_are_undecodable() {
    let invalid: Vec<(&str, Vec<u8>)> = vec![
        (
            "image_invalid.jpg",
            read("thumbor/images/image_invalid.jpg"),
        ),
        ("corrupt-header.jpg", read("sharp/corrupt-header.jpg")),
        ("empty", Vec::new()),
        ("text", b"<html><body>not an image</body></html>".to_vec()),
        ("soi only", b"\xff\xd8\xff".to_vec()),
        ("png signature only", b"\x89PNG\r\n\x1a\n".to_vec()),
        (
            "png header only",
            read("thumbor/images/1x1.png")[..33].to_vec(),
        ),
        ("gif header only", b"GIF89a\x10\x00\x10\x00".to_vec()),
        ("riff only", b"RIFF\x00\x00\x00\x00WEBPVP8 ".to_vec()),
        ("jpeg cut before its first scan", jpeg_cut_before_scan()),
        (
            "svg without its closing tag",
            read("thumbor/images/Commons-logo.svg")[..600].to_vec(),
        ),
        #[cfg(not(feature = "avif"))]
        ("avif", read("thumbor/images/image.avif")),
        (
            "heic cut in its header",
            read("thumbor/images/image.heic")[..100].to_vec(),
        ),
    ];
    for (name, bytes) in invalid {
        match decode(&bytes, &options(1)) {
            Err(ImagingError::Undecodable(_)) => {}
            Err(other) => panic!("{name}: {other}"),
            Ok(image) => panic!("{name}: decoded as {}x{}", image.width, image.height),
        }
    }
}

fn jpeg_cut_before_scan() -> Vec<u8> {
    let mut jpeg = read("thumbor/images/image.jpg");
    let scan = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    jpeg.truncate(scan);
    jpeg
}

#[test]
fn jpeg_icc_profile_is_read_from_app2() {
    let image = decode_file("thumbor/images/Giunchedi%2C_Filippo_January_2015_01.jpg");
    let icc = image
        .source
        .icc_profile
        .expect("Giunchedi has an ICC profile");
    // An ICC profile starts with its own length and has `acsp` at offset 36.
    assert_eq!(
        u32::from_be_bytes([icc[0], icc[1], icc[2], icc[3]]) as usize,
        icc.len()
    );
    assert_eq!(&icc[36..40], b"acsp");
}

#[test]
fn animated_gif_frames_delays_and_loop() {
    let animated = decode_file("thumbor/images/animated.gif");
    assert_eq!((animated.width, animated.height), (100, 100));
    assert_eq!(animated.frames.len(), 2);
    assert!(animated.frames.iter().all(|f| f.delay_ms == 1000));
    assert_eq!(animated.source.loop_count, Some(0));
    assert!(animated.source.palette);
    assert_ne!(animated.frames[0].pixels, animated.frames[1].pixels);

    let first_only = decode(
        &read("thumbor/images/animated.gif"),
        &DecodeOptions {
            first_frame_only: true,
            ..options(1)
        },
    )
    .unwrap();
    assert_eq!(first_only.frames, animated.frames[..1]);

    let earth = decode_file("thumbor/images/Rotating_earth_(large).gif");
    assert_eq!(
        (earth.width, earth.height, earth.frames.len()),
        (400, 400, 44)
    );
    assert_eq!(
        decode_file("thumbor/images/animated-one-frame.gif")
            .frames
            .len(),
        1
    );

    // NETSCAPE repeat 2 = three plays, as the WebP twin of the same file says.
    let three_plays = decode_file("sharp/animated-loop-3.gif");
    assert_eq!(
        (three_plays.frames.len(), three_plays.source.loop_count),
        (10, Some(3))
    );
    let delays: Vec<u32> = three_plays.frames.iter().map(|f| f.delay_ms).collect();
    assert_eq!(
        delays,
        [3000, 3000, 3000, 3000, 3000, 3000, 3000, 3000, 3000, 15000]
    );
}

#[test]
fn transparent_gif_keeps_alpha_and_disposal() {
    let squares = decode_file("sharp/rotating-squares.gif");
    assert_eq!(squares.layout, PixelLayout::Rgba8);
    assert_eq!(squares.frames.len(), 30);
    assert!(squares.frames.iter().all(|f| f.delay_ms == 30));
    assert!(squares.has_transparency());
}

#[test]
fn animations_over_the_pixel_budget_are_refused() {
    // 44 frames of 400x400 = 7.04 M pixels.
    let earth = read("thumbor/images/Rotating_earth_(large).gif");
    let tight = DecodeOptions {
        max_pixels: 400 * 400 * 10,
        ..options(1)
    };
    assert!(matches!(
        decode(&earth, &tight),
        Err(ImagingError::TooLarge(_))
    ));
    let first_only = DecodeOptions {
        first_frame_only: true,
        ..tight
    };
    assert_eq!(decode(&earth, &first_only).unwrap().frames.len(), 1);

    let webp = read("sharp/animated-loop-3.webp");
    let tight = DecodeOptions {
        max_pixels: 370 * 285 * 5,
        ..options(1)
    };
    assert!(matches!(
        decode(&webp, &tight),
        Err(ImagingError::TooLarge(_))
    ));
}

#[test]
fn webp_still_and_animated() {
    let still = decode_file("thumbor/images/image.webp");
    assert_eq!(
        (still.width, still.height, still.layout),
        (300, 400, PixelLayout::Rgb8)
    );
    let alpha = decode_file("sharp/5_webp_a.webp");
    assert_eq!(alpha.layout, PixelLayout::Rgba8);
    assert!(alpha.has_transparency());

    let animated = decode_file("sharp/animated-loop-3.webp");
    assert_eq!(
        (animated.width, animated.height, animated.frames.len()),
        (370, 285, 10)
    );
    let delays: Vec<u32> = animated.frames.iter().map(|f| f.delay_ms).collect();
    assert_eq!(
        delays,
        [3000, 3000, 3000, 3000, 3000, 3000, 3000, 3000, 3000, 15000]
    );
    assert_eq!(animated.source.loop_count, Some(3));
    // Same animation as the GIF twin: the first frames look alike.
    let gif = decode_file("sharp/animated-loop-3.gif");
    let as_rgb = |image: &Image| -> Vec<u8> {
        match image.layout {
            PixelLayout::Rgb8 => image.frames[0].pixels.clone(),
            PixelLayout::Rgba8 => rgba_to_rgb(&image.frames[0].pixels),
        }
    };
    let quality = psnr(&as_rgb(&animated), &as_rgb(&gif));
    assert!(quality > 20.0, "PSNR {quality:.1} dB");
}

#[test]
fn png_colour_types() {
    let palette = decode_file("thumbor/images/paletted-transparent.png");
    assert_eq!(palette.layout, PixelLayout::Rgba8);
    assert!(palette.source.palette && palette.has_transparency());

    let opaque_palette = decode_file("thumbor/images/256_color_palette.png");
    assert_eq!(opaque_palette.layout, PixelLayout::Rgb8);
    assert!(opaque_palette.source.palette);
    assert!(opaque_palette.source.icc_profile.is_some());

    // 16-bit RGB: red, white and blue bands.
    let flag = decode_file("sharp/Flag_of_the_Netherlands-16bit.png");
    assert_eq!(
        (flag.width, flag.height, flag.layout),
        (900, 600, PixelLayout::Rgb8)
    );
    let red = pixel(&flag, 0, 450, 100);
    let white = pixel(&flag, 0, 450, 300);
    let blue = pixel(&flag, 0, 450, 500);
    assert!(red[0] > 150 && red[1] < 80 && red[2] < 80, "{red:?}");
    assert!(white.iter().all(|&v| v > 240), "{white:?}");
    assert!(blue[2] > 100 && blue[0] < 80, "{blue:?}");

    let gray_alpha = decode_file("sharp/16-bit-grey-alpha.png");
    assert_eq!(gray_alpha.layout, PixelLayout::Rgba8);
    assert!(gray_alpha.source.grayscale);

    let truncated = decode_file("sharp/truncated.png");
    assert_eq!((truncated.width, truncated.height), (294, 240));
}

#[test]
fn tiff_8_and_16_bit_decode_alike() {
    let eight = decode_file("thumbor/images/gradient_8bit.tif");
    let lsb = decode_file("thumbor/images/gradient_lsb_16bperchannel.tif");
    let msb = decode_file("thumbor/images/gradient_msb_16bperchannel.tif");
    for image in [&eight, &lsb, &msb] {
        assert_eq!((image.width, image.height), (100, 100));
        assert_eq!(image.source.format, ImageFormat::Tiff);
    }
    assert_eq!(lsb.frames[0].pixels, msb.frames[0].pixels);
    let to_rgb = |image: &Image| match image.layout {
        PixelLayout::Rgb8 => image.frames[0].pixels.clone(),
        PixelLayout::Rgba8 => rgba_to_rgb(&image.frames[0].pixels),
    };
    let quality = psnr(&to_rgb(&eight), &to_rgb(&lsb));
    assert!(quality > 35.0, "PSNR {quality:.1} dB");
}

#[test]
fn bmp_decodes_through_image() {
    // A 2x1 24-bit BMP: a blue and a red pixel (rows are BGR, padded to 4 bytes).
    let mut bmp = b"BM".to_vec();
    bmp.extend_from_slice(&(14u32 + 40 + 8).to_le_bytes());
    bmp.extend_from_slice(&[0, 0, 0, 0]);
    bmp.extend_from_slice(&(14u32 + 40).to_le_bytes());
    bmp.extend_from_slice(&40u32.to_le_bytes());
    bmp.extend_from_slice(&2i32.to_le_bytes());
    bmp.extend_from_slice(&1i32.to_le_bytes());
    bmp.extend_from_slice(&1u16.to_le_bytes());
    bmp.extend_from_slice(&24u16.to_le_bytes());
    bmp.extend_from_slice(&[0; 24]);
    bmp.extend_from_slice(&[255, 0, 0, 0, 0, 255, 0, 0]);
    assert_eq!(sniff(&bmp), Some(ImageFormat::Bmp));
    assert_eq!(
        (probe(&bmp).unwrap().width, probe(&bmp).unwrap().height),
        (2, 1)
    );
    let image = decode(&bmp, &options(1)).unwrap();
    assert_eq!(image.frames[0].pixels, vec![0, 0, 255, 255, 0, 0]);
}

/// Truncated and corrupted variants of real files: decoding may fail, but only with an error
/// (the per-format decoders are called directly, below the last-resort panic guard).
#[test]
fn damaged_files_fail_cleanly() {
    let files = [
        "thumbor/images/image.jpg",
        "thumbor/images/cmyk.jpg",
        "sharp/Landscape_6.jpg",
        "thumbor/images/paletted-transparent.png",
        "thumbor/images/thumbor-exif.png",
        "thumbor/images/animated.gif",
        "sharp/rotating-squares.gif",
        "thumbor/images/image.webp",
        "sharp/5_webp_a.webp",
        "sharp/animated-loop-3.webp",
        "thumbor/images/gradient_8bit.tif",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut random = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize
    };
    for file in files {
        let original = read(file);
        let mut variants: Vec<Vec<u8>> = (1..16)
            .map(|i| original[..original.len() * i / 16].to_vec())
            .collect();
        for _ in 0..16 {
            let mut corrupted = original.clone();
            for _ in 0..8 {
                // Mostly in the headers, where parsers branch the most.
                let limit = if random() % 2 == 0 {
                    512.min(corrupted.len())
                } else {
                    corrupted.len()
                };
                let at = random() % limit;
                corrupted[at] = random() as u8;
            }
            variants.push(corrupted);
        }
        for (i, bytes) in variants.iter().enumerate() {
            let outcome = std::panic::catch_unwind(|| {
                let header = probe_format(bytes)?;
                check_pixel_limit(header.width, header.height, 4_000_000)?;
                decode_format(bytes, &header, &options(1))
            });
            assert!(outcome.is_ok(), "{file} variant {i} panicked");
        }
    }
}

/// A progressive 256x256 JPEG with its first scan repeated `extra` more times before EOI.
fn progressive_with_repeated_scans(extra: usize) -> Vec<u8> {
    let mut compress = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    compress.set_size(256, 256);
    compress.set_fastest_defaults();
    compress.set_progressive_mode();
    let mut started = compress.start_compress(Vec::new()).unwrap();
    let row: Vec<u8> = (0..256 * 3).map(|i| (i % 253) as u8).collect();
    for _ in 0..256 {
        started.write_scanlines(&row).unwrap();
    }
    let jpeg = started.finish().unwrap();
    let sos = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let next = sos
        + 2
        + jpeg[sos + 2..]
            .windows(2)
            .position(|w| w[0] == 0xFF && w[1] != 0 && !(0xD0..=0xD7).contains(&w[1]))
            .unwrap();
    let first_scan = jpeg[sos..next].to_vec();
    let mut out = jpeg[..jpeg.len() - 2].to_vec();
    for _ in 0..extra {
        out.extend_from_slice(&first_scan);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

#[test]
fn jpeg_scans_past_the_limit_are_refused() {
    let normal = progressive_with_repeated_scans(0);
    let decoded = decode(&normal, &options(1)).unwrap();
    assert_eq!((decoded.width, decoded.height), (256, 256));
    let bomb = progressive_with_repeated_scans(200);
    assert!(matches!(
        decode(&bomb, &options(1)),
        Err(ImagingError::TooLarge(_))
    ));
    // Both JPEG roads: the raw-planes decode counts scans too.
    let header = probe(&bomb).unwrap();
    assert!(matches!(
        crate::imaging::jpeg::decode_planes_limited(&bomb, &header, &options(1), false),
        Err(ImagingError::TooLarge(_))
    ));
    let unlimited = DecodeOptions {
        max_jpeg_scans: 0,
        ..options(1)
    };
    assert!(decode(&bomb, &unlimited).is_ok());
}

#[test]
fn a_jpeg_decode_stops_at_the_deadline() {
    let jpeg = progressive_with_repeated_scans(0);
    let late = DecodeOptions {
        deadline: Some(std::time::Instant::now()),
        ..options(1)
    };
    assert!(matches!(decode(&jpeg, &late), Err(ImagingError::Abandoned)));
}

#[test]
fn jpeg_size_comes_from_libjpeg_not_a_marker_walk() {
    // `FF 00` and two "length" bytes after SOI, then a comment holding a fake 1x1 frame header,
    // then the real frame: libjpeg skips the first two as garbage and the comment as a comment.
    let real = read("thumbor/images/image.jpg");
    let stored = probe(&real).unwrap();
    let fake_sof = [0xFF, 0xC0, 0, 11, 8, 0, 1, 0, 1, 1, 1, 0x11, 0];
    let mut hidden = vec![
        0xFF, 0xD8, 0xFF, 0x00, 0x00, 0x08, 0xFF, 0xFE, 0, 17, 0x20, 0x20,
    ];
    hidden.extend_from_slice(&fake_sof);
    hidden.extend_from_slice(&real[2..]);
    let header = probe(&hidden).unwrap();
    assert_eq!((header.width, header.height), (stored.width, stored.height));
}

#[test]
fn webp_size_must_agree_with_libwebp() {
    // The first chunk's tag is a VP8L header for 16384x16384 (libwebp reads it as a raw
    // bitstream); a later VP8L chunk says 1x1.
    let mut body = b"WEBP".to_vec();
    body.extend_from_slice(&[0x2F, 0xFF, 0xFF, 0xFF, 0x0F, 0, 0, 0]);
    body.extend_from_slice(&[0u8; 16]);
    body.extend_from_slice(b"VP8L");
    body.extend_from_slice(&9u32.to_le_bytes());
    body.extend_from_slice(&[0x2F, 0, 0, 0, 0, 0x88, 0x88, 0x08, 0, 0]);
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend_from_slice(&body);
    assert!(probe(&file).is_err());
    // A normal file still probes.
    assert!(probe(&read("thumbor/images/image.webp")).is_ok());
}

#[test]
fn the_81_byte_j2k_tile_bomb_is_refused_before_hayro() {
    let bomb = super::jp2_codestream::tests::codestream(65535, 1, 255, 1);
    assert_eq!(bomb.len(), 81);
    assert!(matches!(probe(&bomb), Err(ImagingError::TooLarge(_))));
    assert!(matches!(
        decode(&bomb, &options(1)),
        Err(ImagingError::TooLarge(_))
    ));
}
