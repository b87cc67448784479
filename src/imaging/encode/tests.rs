//! Tests of format choice and of encode round trips on the shared corpus.

use super::*;
use crate::imaging::decode::{decode, sniff, DecodeOptions};
use crate::imaging::{Frame, SourceInfo};
use crate::test_corpus::{psnr, read};

fn settings() -> EncodeSettings {
    EncodeSettings {
        quality: 80,
        progressive_jpeg: true,
        png_compression_level: 6,
        webp_method: 4,
        keep_icc: true,
        avif_speed: 10,
    }
}

fn decode_bytes(bytes: &[u8]) -> Image {
    let options = DecodeOptions::new(75_000_000);
    decode(bytes, &options).unwrap_or_else(|e| panic!("decode: {e}"))
}

fn decode_file(relative: &str) -> Image {
    decode_bytes(&read(relative))
}

fn round_trip(image: &Image, format: ImageFormat, settings: &EncodeSettings) -> (Vec<u8>, Image) {
    let bytes = encode(image, format, settings).unwrap_or_else(|e| panic!("encode: {e}"));
    let decoded = decode_bytes(&bytes);
    assert_eq!(sniff(&bytes), Some(format));
    (bytes, decoded)
}

/// Equal pixels, where fully transparent pixels count as equal whatever their colour (PNG
/// palettes and lossless WebP do not keep the colour under alpha 0).
fn same_visible_pixels(a: &Image, b: &Image) -> bool {
    a.layout == b.layout
        && a.frames.len() == b.frames.len()
        && a.frames
            .iter()
            .zip(&b.frames)
            .all(|(fa, fb)| match a.layout {
                PixelLayout::Rgb8 => fa.pixels == fb.pixels,
                PixelLayout::Rgba8 => fa
                    .pixels
                    .chunks_exact(4)
                    .zip(fb.pixels.chunks_exact(4))
                    .all(|(x, y)| x == y || (x[3] == 0 && y[3] == 0)),
            })
}

fn delays(image: &Image) -> Vec<u32> {
    image.frames.iter().map(|f| f.delay_ms).collect()
}

/// The component count and the luma sampling byte of a JPEG's frame header, and whether it is
/// progressive (SOF2).
fn jpeg_frame_header(jpeg: &[u8]) -> (u8, u8, bool) {
    let at = jpeg
        .windows(2)
        .position(|w| w[0] == 0xFF && (w[1] == 0xC0 || w[1] == 0xC1 || w[1] == 0xC2))
        .expect("no SOF marker");
    (jpeg[at + 9], jpeg[at + 11], jpeg[at + 1] == 0xC2)
}

/// Colour type and bit depth from a PNG's IHDR.
fn png_colour_type_and_depth(png: &[u8]) -> (u8, u8) {
    (png[25], png[24])
}

fn context(source: ImageFormat) -> FormatContext {
    FormatContext {
        requested: None,
        source,
        animated: false,
        width: 800,
        height: 600,
        auto_webp: false,
        accepts_webp: false,
        auto_avif: false,
        accepts_avif: false,
        png_to_jpg: false,
    }
}

#[test]
fn output_format_follows_thumbors_rules() {
    // 1. A valid format() filter wins over everything.
    let requested = FormatContext {
        requested: Some(ImageFormat::Png),
        auto_webp: true,
        accepts_webp: true,
        ..context(ImageFormat::Jpeg)
    };
    assert_eq!(choose_output_format(&requested), ImageFormat::Png);
    let requested_gif = FormatContext {
        requested: Some(ImageFormat::Webp),
        animated: true,
        ..context(ImageFormat::Gif)
    };
    assert_eq!(choose_output_format(&requested_gif), ImageFormat::Webp);

    // 2.1 AUTO_WEBP with an Accept that has image/webp.
    let auto_webp = FormatContext {
        auto_webp: true,
        accepts_webp: true,
        ..context(ImageFormat::Jpeg)
    };
    assert_eq!(choose_output_format(&auto_webp), ImageFormat::Webp);
    let png_source = FormatContext {
        source: ImageFormat::Png,
        ..auto_webp
    };
    assert_eq!(choose_output_format(&png_source), ImageFormat::Webp);
    // ... but not without the Accept, nor the setting.
    let no_accept = FormatContext {
        accepts_webp: false,
        ..auto_webp
    };
    assert_eq!(choose_output_format(&no_accept), ImageFormat::Jpeg);
    let no_setting = FormatContext {
        auto_webp: false,
        ..auto_webp
    };
    assert_eq!(choose_output_format(&no_setting), ImageFormat::Jpeg);
    // ... nor for multi-frame images, nor over the WebP side limit (16383 is still fine).
    let animated = FormatContext {
        source: ImageFormat::Gif,
        animated: true,
        ..auto_webp
    };
    assert_eq!(choose_output_format(&animated), ImageFormat::Gif);
    let single_frame_gif = FormatContext {
        source: ImageFormat::Gif,
        ..auto_webp
    };
    assert_eq!(choose_output_format(&single_frame_gif), ImageFormat::Webp);
    let at_limit = FormatContext {
        width: 16383,
        height: 16383,
        ..auto_webp
    };
    assert_eq!(choose_output_format(&at_limit), ImageFormat::Webp);
    let too_wide = FormatContext {
        width: 16384,
        ..auto_webp
    };
    assert_eq!(choose_output_format(&too_wide), ImageFormat::Jpeg);
    let too_tall = FormatContext {
        source: ImageFormat::Png,
        height: 16384,
        ..auto_webp
    };
    assert_eq!(choose_output_format(&too_tall), ImageFormat::Png);

    // 2.3 AUTO_PNG_TO_JPG for opaque PNGs only.
    let png_to_jpg = FormatContext {
        png_to_jpg: true,
        ..context(ImageFormat::Png)
    };
    assert_eq!(choose_output_format(&png_to_jpg), ImageFormat::Jpeg);
    let gif_not_png = FormatContext {
        png_to_jpg: true,
        ..context(ImageFormat::Gif)
    };
    assert_eq!(choose_output_format(&gif_not_png), ImageFormat::Gif);
    let webp_first = FormatContext {
        auto_webp: true,
        accepts_webp: true,
        ..png_to_jpg
    };
    assert_eq!(choose_output_format(&webp_first), ImageFormat::Webp);

    // 2.6 The source format, TIFF as PNG, unknowns as JPEG.
    let by_source = [
        (ImageFormat::Jpeg, ImageFormat::Jpeg),
        (ImageFormat::Png, ImageFormat::Png),
        (ImageFormat::Gif, ImageFormat::Gif),
        (ImageFormat::Webp, ImageFormat::Webp),
        (ImageFormat::Tiff, ImageFormat::Png),
        (ImageFormat::Bmp, ImageFormat::Jpeg),
        (ImageFormat::Jp2, ImageFormat::Jpeg),
        (ImageFormat::Svg, ImageFormat::Png),
        // AVIF stays AVIF with the `avif` feature; without an encoder (HEIF always), JPEG,
        // as Thumbor without the plugin.
        (
            ImageFormat::Avif,
            if can_encode(ImageFormat::Avif) {
                ImageFormat::Avif
            } else {
                ImageFormat::Jpeg
            },
        ),
        (ImageFormat::Heif, ImageFormat::Jpeg),
    ];
    for (source, expected) in by_source {
        assert_eq!(
            choose_output_format(&context(source)),
            expected,
            "{source:?}"
        );
    }
}

#[test]
fn jpeg_round_trip_at_quality_80() {
    let original = decode_file("thumbor/images/Giunchedi%2C_Filippo_January_2015_01.jpg");
    let (bytes, decoded) = round_trip(&original, ImageFormat::Jpeg, &settings());
    assert_eq!((decoded.width, decoded.height), (800, 533));
    let quality = psnr(&original.frames[0].pixels, &decoded.frames[0].pixels);
    assert!(quality >= 35.0, "PSNR {quality:.1} dB");
    // Three components, luma sampled 2x2 (4:2:0), progressive as configured.
    assert_eq!(jpeg_frame_header(&bytes), (3, 0x22, true));

    let baseline = EncodeSettings {
        progressive_jpeg: false,
        ..settings()
    };
    let baseline_bytes = encode(&original, ImageFormat::Jpeg, &baseline).unwrap();
    assert_eq!(jpeg_frame_header(&baseline_bytes), (3, 0x22, false));

    // Lower quality, fewer bytes.
    let low = EncodeSettings {
        quality: 30,
        ..settings()
    };
    assert!(encode(&original, ImageFormat::Jpeg, &low).unwrap().len() < bytes.len());
}

#[test]
fn jpeg_keeps_the_icc_profile_only_when_asked() {
    let original = decode_file("thumbor/images/Giunchedi%2C_Filippo_January_2015_01.jpg");
    let icc = original
        .source
        .icc_profile
        .clone()
        .expect("source has a profile");
    let (bytes, kept) = round_trip(&original, ImageFormat::Jpeg, &settings());
    assert_eq!(kept.source.icc_profile.as_ref(), Some(&icc));
    // ICC chunks are numbered from 1: libjpeg's jpeg_read_icc_profile (and browsers) reject 0.
    let marker = bytes
        .windows(12)
        .position(|w| w == b"ICC_PROFILE\0")
        .expect("an ICC marker");
    assert_eq!(&bytes[marker + 12..marker + 14], &[1, 1]);
    let strip = EncodeSettings {
        keep_icc: false,
        ..settings()
    };
    let (_, stripped) = round_trip(&original, ImageFormat::Jpeg, &strip);
    assert_eq!(stripped.source.icc_profile, None);
}

#[test]
fn gray_source_is_written_as_one_channel_jpeg_with_its_profile() {
    let gray = decode_file("thumbor/images/grayscale-icc.jpg");
    let (bytes, decoded) = round_trip(&gray, ImageFormat::Jpeg, &settings());
    assert_eq!(jpeg_frame_header(&bytes).0, 1);
    assert!(decoded.source.grayscale);
    assert_eq!(decoded.source.icc_profile, gray.source.icc_profile);
    let quality = psnr(&gray.frames[0].pixels, &decoded.frames[0].pixels);
    assert!(quality >= 35.0, "PSNR {quality:.1} dB");
}

#[test]
fn rgba_to_jpeg_drops_alpha() {
    let rgba = decode_file("thumbor/filters/PNG_transparency_demonstration_1.png");
    assert_eq!(rgba.layout, PixelLayout::Rgba8);
    let (_, decoded) = round_trip(&rgba, ImageFormat::Jpeg, &settings());
    let rgb: Vec<u8> = rgba.frames[0]
        .pixels
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let quality = psnr(&rgb, &decoded.frames[0].pixels);
    assert!(quality >= 30.0, "PSNR {quality:.1} dB");
}

#[test]
fn png_is_lossless_for_every_colour_type() {
    let cases = [
        // (file, expected PNG colour type, expected bit depth)
        (
            "thumbor/images/Giunchedi%2C_Filippo_January_2015_01.png",
            2,
            8,
        ),
        ("thumbor/filters/PNG_transparency_demonstration_1.png", 6, 8),
        ("thumbor/images/paletted-transparent.png", 3, 8),
        ("thumbor/images/256_color_palette.png", 3, 8),
        ("thumbor/images/thumbor-exif.png", 3, 1),
        ("sharp/16-bit-grey-alpha.png", 4, 8),
        ("thumbor/images/grayscale.jpg", 0, 8),
        ("thumbor/images/gradient_lsb_16bperchannel.tif", 2, 8),
    ];
    for (file, colour_type, depth) in cases {
        let original = decode_file(file);
        let (bytes, decoded) = round_trip(&original, ImageFormat::Png, &settings());
        assert_eq!(
            png_colour_type_and_depth(&bytes),
            (colour_type, depth),
            "{file}"
        );
        assert_eq!(
            (decoded.width, decoded.height),
            (original.width, original.height)
        );
        assert!(
            same_visible_pixels(&decoded, &original),
            "{file}: pixels differ"
        );
    }
}

#[test]
fn png_palette_needs_at_most_256_colours() {
    let mut image = decode_file("thumbor/images/paletted-transparent.png");
    // Give every pixel of the first rows its own colour: far more than 256.
    for (i, pixel) in image.frames[0]
        .pixels
        .chunks_exact_mut(4)
        .take(1000)
        .enumerate()
    {
        pixel[0] = (i % 256) as u8;
        pixel[1] = (i / 256) as u8;
        pixel[3] = 255;
    }
    let bytes = encode(&image, ImageFormat::Png, &settings()).unwrap();
    assert_eq!(png_colour_type_and_depth(&bytes), (6, 8));
    assert!(decode_bytes(&bytes).frames[0].pixels == image.frames[0].pixels);
}

#[test]
fn png_icc_and_compression_level() {
    let original = decode_file("thumbor/images/256_color_palette.png");
    let icc = original
        .source
        .icc_profile
        .clone()
        .expect("source has a profile");
    let (_, kept) = round_trip(&original, ImageFormat::Png, &settings());
    assert_eq!(kept.source.icc_profile, Some(icc));
    let strip = EncodeSettings {
        keep_icc: false,
        ..settings()
    };
    assert_eq!(
        round_trip(&original, ImageFormat::Png, &strip)
            .1
            .source
            .icc_profile,
        None
    );

    let photo = decode_file("thumbor/images/Giunchedi%2C_Filippo_January_2015_01.png");
    let level = |png_compression_level| EncodeSettings {
        png_compression_level,
        ..settings()
    };
    let stored = encode(&photo, ImageFormat::Png, &level(0)).unwrap();
    let best = encode(&photo, ImageFormat::Png, &level(9)).unwrap();
    assert!(
        stored.len() > 800 * 533 * 3,
        "level 0 stores: {}",
        stored.len()
    );
    assert!(
        best.len() < stored.len() * 3 / 4,
        "{} vs {}",
        best.len(),
        stored.len()
    );
    assert_eq!(decode_bytes(&stored).frames, photo.frames);
}

#[test]
fn gif_keeps_frames_delays_and_loop() {
    let animated = decode_file("thumbor/images/animated.gif");
    let (_, decoded) = round_trip(&animated, ImageFormat::Gif, &settings());
    assert_eq!(decoded.frames.len(), 2);
    assert_eq!(delays(&decoded), [1000, 1000]);
    assert_eq!(decoded.source.loop_count, Some(0));
    // Few colours: the palette is exact.
    assert_eq!(decoded.frames, animated.frames);

    let three_plays = decode_file("sharp/animated-loop-3.gif");
    let (_, decoded) = round_trip(&three_plays, ImageFormat::Gif, &settings());
    assert_eq!(decoded.source.loop_count, Some(3));
    assert_eq!(delays(&decoded), delays(&three_plays));

    let squares = decode_file("sharp/rotating-squares.gif");
    let (_, decoded) = round_trip(&squares, ImageFormat::Gif, &settings());
    assert_eq!(decoded.layout, PixelLayout::Rgba8);
    assert_eq!(decoded.frames, squares.frames);
}

#[test]
fn gif_quantizes_many_colours() {
    let photo = decode_file("thumbor/images/Giunchedi%2C_Filippo_January_2015_01.jpg");
    let (_, decoded) = round_trip(&photo, ImageFormat::Gif, &settings());
    assert_eq!(
        (decoded.width, decoded.height, decoded.frames.len()),
        (800, 533, 1)
    );
    assert_eq!(decoded.source.loop_count, None);
    let quality = psnr(&photo.frames[0].pixels, &decoded.frames[0].pixels);
    assert!(quality >= 25.0, "PSNR {quality:.1} dB");
}

#[test]
fn webp_lossy_lossless_alpha_and_animation() {
    let photo = decode_file("thumbor/images/Giunchedi%2C_Filippo_January_2015_01.jpg");
    let (lossy_bytes, lossy) = round_trip(&photo, ImageFormat::Webp, &settings());
    assert_eq!((lossy.width, lossy.height), (800, 533));
    let quality = psnr(&photo.frames[0].pixels, &lossy.frames[0].pixels);
    assert!(quality >= 30.0, "PSNR {quality:.1} dB");
    assert!(lossy_bytes.len() < 100_000, "{} bytes", lossy_bytes.len());

    let lossless_settings = EncodeSettings {
        quality: 100,
        ..settings()
    };
    let (_, lossless) = round_trip(&photo, ImageFormat::Webp, &lossless_settings);
    assert!(lossless.frames[0].pixels == photo.frames[0].pixels);

    let alpha = decode_file("sharp/5_webp_a.webp");
    let (_, decoded) = round_trip(&alpha, ImageFormat::Webp, &lossless_settings);
    assert_eq!(decoded.layout, PixelLayout::Rgba8);
    assert!(same_visible_pixels(&decoded, &alpha));

    let animated = decode_file("sharp/animated-loop-3.gif");
    let (_, decoded) = round_trip(&animated, ImageFormat::Webp, &settings());
    assert_eq!(decoded.frames.len(), 10);
    assert_eq!(decoded.source.loop_count, Some(3));
    assert_eq!(delays(&decoded)[..9], delays(&animated)[..9]);
}

#[test]
fn unsupported_formats_and_bad_frames_are_encode_errors() {
    let image = Image {
        width: 2,
        height: 1,
        layout: PixelLayout::Rgb8,
        frames: vec![Frame {
            pixels: vec![1, 2, 3, 4, 5, 6],
            delay_ms: 0,
        }],
        source: SourceInfo {
            format: ImageFormat::Png,
            width: 2,
            height: 1,
            orientation: 1,
            icc_profile: None,
            palette: false,
            grayscale: false,
            loop_count: None,
        },
    };
    for format in [ImageFormat::Tiff, ImageFormat::Bmp, ImageFormat::Svg]
        .into_iter()
        .chain((!can_encode(ImageFormat::Avif)).then_some(ImageFormat::Avif))
    {
        assert!(matches!(
            encode(&image, format, &settings()),
            Err(ImagingError::Encode(_))
        ));
    }
    let short = Image {
        frames: vec![Frame {
            pixels: vec![1, 2, 3],
            delay_ms: 0,
        }],
        ..image.clone()
    };
    for format in [
        ImageFormat::Jpeg,
        ImageFormat::Png,
        ImageFormat::Gif,
        ImageFormat::Webp,
    ] {
        assert!(matches!(
            encode(&short, format, &settings()),
            Err(ImagingError::Encode(_))
        ));
        // The well-formed 2x1 image encodes in every output format.
        let (_, decoded) = round_trip(&image, format, &settings());
        assert_eq!((decoded.width, decoded.height), (2, 1));
    }
}

#[test]
fn formats_without_an_encoder_fall_back_to_the_source_format() {
    let ctx = FormatContext {
        requested: Some(ImageFormat::Heif),
        source: ImageFormat::Png,
        animated: false,
        width: 10,
        height: 10,
        auto_webp: false,
        accepts_webp: false,
        auto_avif: false,
        accepts_avif: false,
        png_to_jpg: false,
    };
    assert_eq!(choose_output_format(&ctx), ImageFormat::Png);
    let heif_source = FormatContext {
        requested: None,
        source: ImageFormat::Heif,
        ..ctx
    };
    assert_eq!(choose_output_format(&heif_source), ImageFormat::Jpeg);
}
