//! Tests of the pixel-moving steps on small synthetic images.

use super::*;
use crate::imaging::{ImageFormat, SourceInfo};

fn source_info() -> SourceInfo {
    SourceInfo {
        format: ImageFormat::Png,
        width: 0,
        height: 0,
        orientation: 1,
        icc_profile: None,
        palette: false,
        grayscale: false,
        loop_count: None,
    }
}

/// A one-channel-per-value RGB image: pixel value `v` is stored as `[v, v, v]`.
fn gray_image(width: u32, height: u32, values: &[u8]) -> Image {
    assert_eq!(values.len(), (width * height) as usize);
    Image {
        width,
        height,
        layout: PixelLayout::Rgb8,
        frames: vec![Frame {
            pixels: values.iter().flat_map(|&v| [v, v, v]).collect(),
            delay_ms: 0,
        }],
        source: source_info(),
    }
}

fn values(image: &Image) -> Vec<u8> {
    image.frames[0]
        .pixels
        .chunks_exact(3)
        .map(|p| p[0])
        .collect()
}

#[test]
fn orientation_mapping_matches_thumbor() {
    // a b c
    // d e f
    let (a, b, c, d, e, f) = (1, 2, 3, 4, 5, 6);
    let cases: [(u8, (u32, u32), [u8; 6]); 8] = [
        (1, (3, 2), [a, b, c, d, e, f]),
        (2, (3, 2), [c, b, a, f, e, d]),
        (3, (3, 2), [f, e, d, c, b, a]),
        (4, (3, 2), [d, e, f, a, b, c]),
        (5, (2, 3), [a, d, b, e, c, f]),
        (6, (2, 3), [d, a, e, b, f, c]),
        (7, (2, 3), [f, c, e, b, d, a]),
        (8, (2, 3), [c, f, b, e, a, d]),
    ];
    for (orientation, (width, height), expected) in cases {
        let mut image = gray_image(3, 2, &[a, b, c, d, e, f]);
        orient(&mut image, orientation);
        assert_eq!(
            (image.width, image.height),
            (width, height),
            "{orientation}"
        );
        assert_eq!(values(&image), expected, "{orientation}");
        assert_eq!(orientation_swaps_axes(orientation), width == 2);
    }
}

#[test]
fn cropping_before_orienting_equals_orienting_before_cropping() {
    let (width, height) = (7u32, 5u32);
    let pixels: Vec<u8> = (0..width * height).map(|v| v as u8).collect();
    let stored = gray_image(width, height, &pixels);
    for orientation in 1..=8u8 {
        let mut oriented = stored.clone();
        orient(&mut oriented, orientation);
        let rect = PixelRect {
            left: 1,
            top: 2,
            right: oriented.width - 1,
            bottom: oriented.height,
        };
        let expected = crop(&oriented, rect);

        let region = unorient_region(
            Region::from_rect(rect),
            orientation,
            (f64::from(width), f64::from(height)),
        );
        let stored_rect = region.as_exact_rect().unwrap();
        let mut actual = crop(&stored, stored_rect);
        orient(&mut actual, orientation);
        assert_eq!(actual, expected, "orientation {orientation}");
    }
}

#[test]
fn flips_mirror_every_frame() {
    let mut image = gray_image(3, 2, &[1, 2, 3, 4, 5, 6]);
    image.frames.push(image.frames[0].clone());
    flip_horizontal(&mut image);
    assert_eq!(values(&image), [3, 2, 1, 6, 5, 4]);
    flip_vertical(&mut image);
    assert_eq!(values(&image), [6, 5, 4, 3, 2, 1]);
    assert_eq!(image.frames[0], image.frames[1]);

    let mut odd = gray_image(1, 3, &[1, 2, 3]);
    flip_vertical(&mut odd);
    assert_eq!(values(&odd), [3, 2, 1]);
}

/// A `width x height` white canvas with a `value` rectangle `[l, r) x [t, b)`.
fn bordered(width: u32, height: u32, inner: PixelRect, value: u8) -> Image {
    let mut pixels = vec![255u8; (width * height) as usize];
    for y in inner.top..inner.bottom {
        for x in inner.left..inner.right {
            pixels[(y * width + x) as usize] = value;
        }
    }
    gray_image(width, height, &pixels)
}

#[test]
fn trim_finds_the_content_box() {
    let inner = PixelRect {
        left: 3,
        top: 2,
        right: 8,
        bottom: 6,
    };
    let image = bordered(12, 9, inner, 0);
    assert_eq!(trim_box(&image, TrimPosition::TopLeft, 0), Some(inner));
    assert_eq!(trim_box(&image, TrimPosition::BottomRight, 0), Some(inner));

    // Tolerance is a Euclidean distance over all channels: 255 - 245 = 10 per channel is
    // sqrt(300) ≈ 17.3 away.
    let faint = bordered(12, 9, inner, 245);
    assert_eq!(trim_box(&faint, TrimPosition::TopLeft, 17), Some(inner));
    assert_eq!(trim_box(&faint, TrimPosition::TopLeft, 18), None);

    // Nothing differs: trim is ignored.
    let blank = bordered(4, 4, inner_none(), 0);
    assert_eq!(trim_box(&blank, TrimPosition::TopLeft, 0), None);
}

fn inner_none() -> PixelRect {
    PixelRect {
        left: 0,
        top: 0,
        right: 0,
        bottom: 0,
    }
}

#[test]
fn trim_keeps_thumbors_right_edge_quirk() {
    // A row whose only differing pixel is its first one never raises `right`: a single
    // dark pixel at (5, 2) gives left = 5, right = 0 -> right < left -> ignored.
    let mut pixels = vec![255u8; 10 * 5];
    pixels[2 * 10 + 5] = 0;
    let image = gray_image(10, 5, &pixels);
    assert_eq!(trim_box(&image, TrimPosition::TopLeft, 0), None);

    // Two dark pixels in a row: the right one is found by the scan from the right.
    pixels[2 * 10 + 7] = 0;
    let image = gray_image(10, 5, &pixels);
    assert_eq!(
        trim_box(&image, TrimPosition::TopLeft, 0),
        Some(PixelRect {
            left: 5,
            top: 2,
            right: 8,
            bottom: 3
        })
    );

    // The single-pixel case at x = 0 keeps a 1x1 box (right 0 == left 0).
    let mut pixels = vec![255u8; 4 * 4];
    pixels[4] = 0;
    let image = gray_image(4, 4, &pixels);
    assert_eq!(
        trim_box(&image, TrimPosition::BottomRight, 0),
        Some(PixelRect {
            left: 0,
            top: 1,
            right: 1,
            bottom: 2
        })
    );
}

#[test]
fn trim_counts_alpha_as_a_channel() {
    // RGBA: same colour everywhere; (1, 1) and (2, 1) differ only in alpha.
    let mut pixels = vec![0u8; 3 * 3 * 4];
    pixels[4 * 4 + 3] = 200;
    pixels[5 * 4 + 3] = 200;
    let image = Image::still(3, 3, PixelLayout::Rgba8, pixels, source_info());
    assert_eq!(
        trim_box(&image, TrimPosition::TopLeft, 10),
        Some(PixelRect {
            left: 1,
            top: 1,
            right: 3,
            bottom: 2
        })
    );
    assert_eq!(trim_box(&image, TrimPosition::TopLeft, 200), None);
}

#[test]
fn crop_resize_gives_the_requested_size() {
    let pixels: Vec<u8> = (0..40 * 30).map(|v| (v % 251) as u8).collect();
    let image = gray_image(40, 30, &pixels);
    let region = Region {
        left: 5.0,
        top: 3.0,
        width: 20.0,
        height: 20.0,
    };
    let out = crop_resize(&image, region, Size::new(7, 9), LANCZOS).unwrap();
    assert_eq!((out.width, out.height), (7, 9));
    assert_eq!(out.frames[0].pixels.len(), 7 * 9 * 3);

    // Same-size whole-pixel region: an exact copy.
    let copy = crop_resize(&image, region, Size::new(20, 20), LANCZOS).unwrap();
    let expected = crop(
        &image,
        PixelRect {
            left: 5,
            top: 3,
            right: 25,
            bottom: 23,
        },
    );
    assert_eq!(copy, expected);
}

#[test]
fn shrunk_source_with_fractional_crop_gives_the_same_size_and_picture() {
    // A smooth gradient, and the same gradient at half size (what a DCT 1/2 decode gives).
    let full: Vec<u8> = (0..64 * 48)
        .map(|i| ((i % 64) * 3 + (i / 64)) as u8)
        .collect();
    let full = gray_image(64, 48, &full);
    let half = crop_resize(
        &full,
        Region {
            left: 0.0,
            top: 0.0,
            width: 64.0,
            height: 48.0,
        },
        Size::new(32, 24),
        LANCZOS,
    )
    .unwrap();
    // Crop (5, 7, 45x33) of the original, to 10x7.
    let region = Region {
        left: 5.0,
        top: 7.0,
        width: 45.0,
        height: 33.0,
    };
    let output = Size::new(10, 7);
    let direct = crop_resize(&full, region, output, LANCZOS).unwrap();
    let shrunk = crop_resize(&half, region.scaled(0.5, 0.5), output, LANCZOS).unwrap();
    assert_eq!((shrunk.width, shrunk.height), (10, 7));
    let max_diff = direct.frames[0]
        .pixels
        .iter()
        .zip(&shrunk.frames[0].pixels)
        .map(|(&a, &b)| (i16::from(a) - i16::from(b)).abs())
        .max()
        .unwrap();
    assert!(max_diff <= 3, "max diff {max_diff}");
}

const LANCZOS: ResamplingFilter = ResamplingFilter::Lanczos3;

#[test]
fn resampling_filter_names() {
    use ResamplingFilter::*;
    let spellings: [(&str, ResamplingFilter); 8] = [
        ("LANCZOS antialias lanczos3", Lanczos3),
        ("BICUBIC cubic catmullrom", Bicubic),
        ("Bilinear linear", Bilinear),
        ("NEAREST", Nearest),
        ("box", Box),
        ("hamming", Hamming),
        ("mitchell", Mitchell),
        ("gaussian", Gaussian),
    ];
    for (names, want) in spellings {
        for name in names.split(' ') {
            assert_eq!(ResamplingFilter::from_name(name), Some(want), "{name}");
        }
    }
    assert_eq!(ResamplingFilter::from_name("lanczos5"), None);
}

#[test]
fn resampling_filter_changes_the_kernel() {
    // A 1-pixel checkerboard halved: nearest keeps pure black/white samples, box averages
    // every 2x2 block to mid grey.
    let board: Vec<u8> = (0..16 * 16)
        .map(|i| if (i % 16 + i / 16) % 2 == 0 { 0 } else { 255 })
        .collect();
    let board = gray_image(16, 16, &board);
    let whole = Region::from_rect(PixelRect::full(Size::new(16, 16)));
    let nearest = crop_resize(&board, whole, Size::new(8, 8), ResamplingFilter::Nearest).unwrap();
    assert!(nearest.frames[0].pixels.iter().all(|&v| v == 0 || v == 255));
    let boxed = crop_resize(&board, whole, Size::new(8, 8), ResamplingFilter::Box).unwrap();
    assert!(
        boxed.frames[0]
            .pixels
            .iter()
            .all(|&v| (120..=135).contains(&v)),
        "{:?}",
        &boxed.frames[0].pixels[..8]
    );
}

#[test]
fn region_clamp_keeps_inside() {
    let region = Region {
        left: -0.000001,
        top: 10.0,
        width: 40.0000001,
        height: 5.0,
    }
    .clamped_to(Size::new(40, 12));
    assert_eq!(region.left, 0.0);
    assert!(region.left + region.width <= 40.0);
    assert!(region.top + region.height <= 12.0);
}

#[test]
fn debug_outline_is_white_and_clipped() {
    let mut image = gray_image(6, 5, &[0; 30]);
    draw_outline(
        &mut image,
        &DebugRectangle {
            x: 1,
            y: 1,
            width: 3,
            height: 2,
        },
    );
    #[rustfmt::skip]
    let expected = [
        0, 0, 0, 0, 0, 0,
        0, 255, 255, 255, 255, 0,
        0, 255, 0, 0, 255, 0,
        0, 255, 255, 255, 255, 0,
        0, 0, 0, 0, 0, 0,
    ];
    assert_eq!(values(&image), expected);
    let mut image = gray_image(3, 3, &[0; 9]);
    draw_outline(
        &mut image,
        &DebugRectangle {
            x: -4,
            y: -4,
            width: 10,
            height: 10,
        },
    );
    assert_eq!(values(&image), [0; 9]);
}

#[test]
fn one_sine_lanczos3_equals_the_two_sine_form() {
    let two_sines = |x: f64| {
        let sinc = |v: f64| {
            let v = v * std::f64::consts::PI;
            v.sin() / v
        };
        sinc(x) * sinc(x / 3.0)
    };
    assert_eq!(lanczos3(0.0), 1.0);
    assert_eq!(lanczos3(3.0), 0.0);
    assert_eq!(lanczos3(-3.5), 0.0);
    assert_eq!(lanczos3_exact(0.0), 1.0);
    let mut x = -2.999;
    while x < 3.0 {
        if x != 0.0 {
            assert!((lanczos3_exact(x) - two_sines(x)).abs() < 1e-12, "{x}");
            // The table the resizer reads.
            assert!((lanczos3(x) - two_sines(x)).abs() < 2e-6, "{x}");
        }
        x += 0.0137;
    }
}
