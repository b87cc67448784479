//! The JPEG → JPEG planes path against the RGB path it stands in for: the same sizes and the
//! same picture (PSNR of what each hands to the JPEG writer), the profile kept, broken files
//! handled, and the renders that must not take it.

use super::coordinates::PlanToPixels;
use super::tests::{rgb_road_pixels, run_until, takes_planes_road, Parts};
use super::*;
use crate::imaging::decode::{self, DecodeOptions, Probe};
use crate::imaging::geometry::Size;
use crate::imaging::jpeg;
use crate::imaging::jpeg::planes::YccImage;
use crate::imaging::jpeg::planes_resize;
use crate::imaging::ImageFormat;
use crate::test_corpus::{psnr, read};

/// `render`, which takes the planes road wherever it can.
fn render_default(path: &str, source: &[u8]) -> RenderOutput {
    let parts = Parts::new(path);
    render(source, &parts.job(&ImagingSettings::default())).unwrap()
}

/// What each road hands to the JPEG writer for `path`: the planes road's resized planes, and
/// the RGB road's resized pixels as the writer turns them into planes (libjpeg's conversion
/// and 2x2 averaging). Comparing these leaves out the encoder, whose quantisation noise at q80
/// would swamp small differences on small outputs.
fn writer_inputs(path: &str, source: &[u8]) -> (YccImage, YccImage) {
    let settings = ImagingSettings::default();
    let parts = Parts::new(path);
    let job = parts.job(&settings);
    let context = run_until(source, None, &job, "decode");
    let (header, setup, plan) = (
        context.header().unwrap(),
        context.setup().unwrap(),
        context.plan().unwrap(),
    );
    let shrink = context.shrink;

    let decoded = jpeg::decode_planes(source, shrink, false).unwrap().unwrap();
    let size = Size::new(decoded.width, decoded.height);
    let region = PlanToPixels::decoded(header, setup, shrink, size).region(plan.crop);
    let filter = settings.resampling_filter;
    let planes = planes_resize::crop_resize_planes(&decoded, region, plan.output, filter).unwrap();

    let (_, image) = rgb_road_pixels(source, &job, Some(shrink));
    let rgb = YccImage::from_rgb(&image.frames[0].pixels, 3, image.width, image.height);
    (planes, rgb)
}

/// PSNR over the meaningful samples of all three planes.
fn planes_psnr(a: &YccImage, b: &YccImage) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height));
    let samples = |image: &YccImage| -> Vec<u8> {
        image
            .planes
            .iter()
            .flat_map(|plane| {
                plane
                    .data
                    .chunks_exact(plane.stride)
                    .take(plane.height)
                    .flat_map(|row| row[..plane.width].to_vec())
                    .collect::<Vec<u8>>()
            })
            .collect()
    };
    psnr(&samples(a), &samples(b))
}

/// `render` on the planes path gives a decodable JPEG of the RGB path's size.
fn assert_renders_like_the_rgb_path(path: &str, source: &[u8], what: &str) {
    let output = render_default(path, source);
    assert_eq!(output.content_type, "image/jpeg");
    let (planes, rgb) = writer_inputs(path, source);
    let (width, height, _) = rgb_pixels(&output.body);
    assert_eq!((width, height), (rgb.width, rgb.height), "{what} {path}");
    let db = planes_psnr(&planes, &rgb);
    assert!(db >= 40.0, "{what} {path}: {db:.1} dB");
}

fn takes_planes_path(path: &str, header: &Probe, settings: &ImagingSettings) -> bool {
    let parts = Parts::new(path);
    takes_planes_road(header, &parts.job(settings))
}

fn rgb_pixels(jpeg: &[u8]) -> (u32, u32, Vec<u8>) {
    let options = DecodeOptions {
        first_frame_only: true,
        ..DecodeOptions::new(u64::MAX)
    };
    let mut image = decode::decode(jpeg, &options).unwrap();
    (image.width, image.height, image.frames.remove(0).pixels)
}

fn jpeg_header(width: u32, height: u32, orientation: u8) -> Probe {
    Probe {
        format: ImageFormat::Jpeg,
        width,
        height,
        orientation,
    }
}

/// Every shrink-on-load scale, crops for either aspect, fit-in, odd sizes, an upscale, a
/// manual crop, 4:2:0 and 4:4:4, baseline and progressive: the planes path gives the RGB
/// path's size and picture.
#[test]
fn planes_path_matches_the_rgb_path() {
    let cases = [
        ("sharp/2569067123_aca715a2ee_o.jpg", "/unsafe/720x588/a.jpg"),
        ("sharp/2569067123_aca715a2ee_o.jpg", "/unsafe/301x0/a.jpg"),
        ("sharp/2569067123_aca715a2ee_o.jpg", "/unsafe/99x77/a.jpg"),
        (
            "sharp/2569067123_aca715a2ee_o.jpg",
            "/unsafe/1500x300/a.jpg",
        ),
        (
            "sharp/2569067123_aca715a2ee_o.jpg",
            "/unsafe/100x200:1300x1201/333x0/a.jpg",
        ),
        ("thumbor/filters/source.jpg", "/unsafe/300x200/a.jpg"),
        ("thumbor/filters/source.jpg", "/unsafe/fit-in/151x151/a.jpg"),
        ("thumbor/filters/source.jpg", "/unsafe/799x533/a.jpg"),
        ("thumbor/filters/source.jpg", "/unsafe/800x533/a.jpg"),
        ("thumbor/filters/round_corner.jpg", "/unsafe/201x0/a.jpg"),
        (
            "thumbor/filters/upscale3.jpg",
            "/unsafe/300x300/right/a.jpg",
        ),
        ("thumbor/images/20x20.jpg", "/unsafe/101x57/a.jpg"),
        ("thumbor/images/single_point.jpg", "/unsafe/31x9/a.jpg"),
        ("sharp/flowers.jpeg", "/unsafe/100x0/a.jpg"),
        ("sharp/Landscape_1.jpg", "/unsafe/0x300/a.jpg"),
    ];
    for (file, path) in cases {
        let source = read(file);
        let header = decode::probe(&source).unwrap();
        assert!(
            takes_planes_path(path, &header, &ImagingSettings::default()),
            "{file} {path} should take the planes path"
        );
        assert_renders_like_the_rgb_path(path, &source, file);
    }
}

/// 4:2:2 has no file in the corpus: one is written here from a corpus picture.
#[test]
fn planes_path_handles_4_2_2() {
    let (width, height, pixels) = rgb_pixels(&read("thumbor/filters/source.jpg"));
    let mut compress = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    compress.set_size(width as usize, height as usize);
    compress.set_quality(90.0);
    compress.set_chroma_sampling_pixel_sizes((2, 1), (2, 1));
    let mut started = compress.start_compress(Vec::new()).unwrap();
    started.write_scanlines(&pixels).unwrap();
    let source = started.finish().unwrap();

    for (shrink, chroma_size, sampling) in [
        // libjpeg never scales 4:2:2 chroma up across: its IDCT sizes must keep the two
        // axes' ratios.
        (1, (400, 533), (0.5, 1.0)),
        (2, (200, 267), (0.5, 1.0)),
        (4, (100, 134), (0.5, 1.0)),
    ] {
        let decoded = jpeg::decode_planes(&source, shrink, false)
            .unwrap()
            .unwrap();
        let chroma = &decoded.planes[1];
        assert_eq!(
            (chroma.width, chroma.height),
            chroma_size,
            "shrink {shrink}"
        );
        assert_eq!(decoded.sampling[2], sampling, "shrink {shrink}");
    }
    for path in ["/unsafe/300x200/a.jpg", "/unsafe/133x0/a.jpg"] {
        assert_renders_like_the_rgb_path(path, &source, "4:2:2");
    }
}

/// The planes come out where libjpeg's RGB decode puts its pixels: converted back with the
/// JFIF formula they match it (where libjpeg needs no chroma upsampling: 4:4:4, and 4:2:0 at
/// 1/2, whose chroma libjpeg decodes with a full-size IDCT).
#[test]
fn planes_convert_back_to_the_rgb_decode() {
    let cases = [
        ("thumbor/filters/source.jpg", 1),
        ("thumbor/filters/source.jpg", 2),
        ("thumbor/filters/source.jpg", 8),
        ("sharp/2569067123_aca715a2ee_o.jpg", 2),
        ("sharp/2569067123_aca715a2ee_o.jpg", 4),
        ("thumbor/filters/round_corner.jpg", 2),
    ];
    for (file, shrink) in cases {
        let source = read(file);
        let decoded = jpeg::decode_planes_with_libjpeg(&source, shrink)
            .unwrap()
            .unwrap();
        let options = DecodeOptions {
            shrink,
            first_frame_only: true,
            ..DecodeOptions::new(u64::MAX)
        };
        let rgb = decode::decode(&source, &options).unwrap();
        assert_eq!((decoded.width, decoded.height), (rgb.width, rgb.height));
        assert_eq!(decoded.sampling, [(1.0, 1.0); 3], "{file} at 1/{shrink}");
        let [y, cb, cr] = &decoded.planes;
        let mut worst = 0.0f64;
        for row in 0..rgb.height as usize {
            for column in 0..rgb.width as usize {
                let at = |plane: &crate::imaging::jpeg::planes::Plane| {
                    f64::from(plane.data[row * plane.stride + column])
                };
                let (luma, blue, red) = (at(y), at(cb) - 128.0, at(cr) - 128.0);
                let converted = [
                    luma + 1.402 * red,
                    luma - 0.344_136 * blue - 0.714_136 * red,
                    luma + 1.772 * blue,
                ];
                let pixel = (row * rgb.width as usize + column) * 3;
                for (channel, value) in converted.into_iter().enumerate() {
                    let expected = f64::from(rgb.frames[0].pixels[pixel + channel]);
                    worst = worst.max((value.clamp(0.0, 255.0) - expected).abs());
                }
            }
        }
        assert!(worst <= 1.5, "{file} at 1/{shrink}: off by {worst}");
    }
}

#[test]
fn only_ycbcr_jpegs_decode_to_planes() {
    for file in [
        "thumbor/images/grayscale.jpg",
        "thumbor/images/cmyk.jpg",
        "sharp/Channel_digital_image_CMYK_color.jpg",
    ] {
        let source = read(file);
        assert!(
            jpeg::decode_planes(&source, 1, false).unwrap().is_none(),
            "{file}"
        );
        // The render falls back to the RGB decode.
        let output = render_default("/unsafe/50x40/a.jpg", &source);
        let (width, height, _) = rgb_pixels(&output.body);
        assert_eq!((width, height), (50, 40), "{file}");
    }
}

#[test]
fn broken_jpegs_on_the_planes_path() {
    // Truncated scans are filled in and rendered, as on the RGB path.
    for file in [
        "thumbor/images/BlueSquare_truncated.jpg",
        "sharp/truncated.jpg",
    ] {
        let source = read(file);
        assert!(jpeg::decode_planes(&source, 2, false).unwrap().is_some());
        let (width, height, _) = rgb_pixels(&render_default("/unsafe/100x60/a.jpg", &source).body);
        assert_eq!((width, height), (100, 60), "{file}");
    }
    // A header libjpeg rejects is an error, not a panic.
    let mut broken = read("thumbor/filters/source.jpg");
    broken.truncate(300);
    assert!(matches!(
        jpeg::decode_planes(&broken, 2, false),
        Err(ImagingError::Undecodable(_))
    ));
    assert!(jpeg::decode_planes(b"\xff\xd8\xff\xc0\x00\x01", 1, false).is_err());
}

#[test]
fn planes_path_keeps_or_strips_the_icc_profile() {
    let source = read("thumbor/filters/source.jpg");
    let has_icc = |body: &[u8]| body.windows(12).any(|w| w == b"ICC_PROFILE\0");
    assert!(has_icc(&source));
    assert!(has_icc(
        &render_default("/unsafe/300x200/a.jpg", &source).body
    ));
    let stripped = render_default("/unsafe/300x200/filters:strip_icc()/a.jpg", &source);
    assert!(!has_icc(&stripped.body));
}

#[test]
fn only_plain_jpeg_to_jpeg_renders_take_the_planes_path() {
    let settings = ImagingSettings::default();
    let header = jpeg_header(800, 533, 1);
    for path in [
        "/unsafe/300x200/a.jpg",
        "/unsafe/fit-in/300x200/a.jpg",
        "/unsafe/10x10:500x400/a.jpg",
        "/unsafe/300x200/filters:quality(50):strip_icc():max_age(10)/a.jpg",
        "/unsafe/300x200/filters:format(jpeg)/a.jpg",
    ] {
        assert!(takes_planes_path(path, &header, &settings), "{path}");
    }
    for path in [
        "/unsafe/300x200/filters:brightness(10)/a.jpg",
        "/unsafe/300x200/filters:format(webp)/a.jpg",
        "/unsafe/300x200/filters:format(png)/a.jpg",
        "/unsafe/300x200/filters:max_bytes(1000)/a.jpg",
        "/unsafe/-300x200/a.jpg",
        "/unsafe/300x-200/a.jpg",
        "/unsafe/meta/300x200/a.jpg",
        "/unsafe/debug/300x200/a.jpg",
    ] {
        assert!(!takes_planes_path(path, &header, &settings), "{path}");
    }
    let baseline = ImagingSettings {
        progressive_jpeg: false,
        ..ImagingSettings::default()
    };
    assert!(!takes_planes_path(
        "/unsafe/300x200/a.jpg",
        &header,
        &baseline
    ));
    let respecting = ImagingSettings {
        respect_orientation: true,
        ..ImagingSettings::default()
    };
    let rotated = jpeg_header(800, 533, 6);
    assert!(!takes_planes_path(
        "/unsafe/300x200/a.jpg",
        &rotated,
        &respecting
    ));
    assert!(takes_planes_path(
        "/unsafe/300x200/a.jpg",
        &rotated,
        &settings
    ));
    let png = Probe {
        format: ImageFormat::Png,
        ..header
    };
    assert!(!takes_planes_path("/unsafe/300x200/a.jpg", &png, &settings));
}
