//! `smart` with DETECTORS: the detectors' points decide the crop (and show in meta), a
//! `focal()` or manual crop wins over them, and without detectors `smart` is the plain crop.

use super::tests::Parts;
use super::*;
use crate::imaging::detect::Detector;
use crate::imaging::encode::{self, EncodeSettings};
use crate::imaging::{Image, ImageFormat, PixelLayout, SourceInfo};

/// A dark 400x200 PNG with a bright 40x40 square near its right edge (x 340..380).
fn square_near_the_right_edge() -> Vec<u8> {
    let (width, height) = (400u32, 200u32);
    let mut pixels = vec![20u8; (width * height * 3) as usize];
    for y in 80..120 {
        for x in 340..380 {
            let at = ((y * width + x) * 3) as usize;
            pixels[at..at + 3].fill(230);
        }
    }
    let image = Image::still(
        width,
        height,
        PixelLayout::Rgb8,
        pixels,
        SourceInfo::plain(ImageFormat::Png, width, height),
    );
    let settings = EncodeSettings {
        quality: 80,
        progressive_jpeg: false,
        png_compression_level: 6,
        webp_method: 2,
        keep_icc: false,
        avif_speed: 10,
    };
    encode::encode(&image, ImageFormat::Png, &settings).unwrap()
}

fn meta(path: &str, source: &[u8], detectors: &[Detector]) -> serde_json::Value {
    let settings = ImagingSettings {
        detectors: detectors.to_vec(),
        ..ImagingSettings::default()
    };
    let parts = Parts::new(path);
    let output = render(source, &parts.job(&settings)).unwrap();
    serde_json::from_slice(&output.body).unwrap()
}

/// The left edge of the crop meta reports.
fn crop_left(meta: &serde_json::Value) -> i64 {
    let crop = &meta["thumbor"]["operations"][0];
    assert_eq!(crop["type"], "crop", "{meta}");
    crop["left"].as_i64().unwrap()
}

#[test]
fn the_feature_detector_moves_the_crop_to_the_corners() {
    let png = square_near_the_right_edge();
    let path = "/unsafe/meta/100x100/smart/a.png";
    // 400x200 to a square: a 200x200 crop, centred without detectors.
    assert_eq!(crop_left(&meta(path, &png, &[])), 100);
    let detected = meta(path, &png, &[Detector::Face, Detector::Feature]);
    assert_eq!(crop_left(&detected), 200, "{detected}");
    let points = detected["thumbor"]["focal_points"].as_array().unwrap();
    assert_eq!(points.len(), 4, "{detected}");
    for point in points {
        let (x, y) = (point["x"].as_i64().unwrap(), point["y"].as_i64().unwrap());
        assert!(
            (338..=381).contains(&x) && (78..=121).contains(&y),
            "{point}"
        );
        assert_eq!(point["origin"], "alignment");
    }
    // Without `smart` nothing is detected.
    let plain = meta("/unsafe/meta/100x100/a.png", &png, &[Detector::Feature]);
    assert_eq!(crop_left(&plain), 100);
}

#[test]
fn focal_and_manual_crops_win_over_detection() {
    let png = square_near_the_right_edge();
    let focal = meta(
        "/unsafe/meta/100x100/smart/filters:focal(0x0:40x40)/a.png",
        &png,
        &[Detector::Feature],
    );
    assert_eq!(crop_left(&focal), 0, "{focal}");
    // The manual crop holds the square; detection would add its four corners, but it does not
    // run: only the alignment point of the cropped picture is left.
    let manual = meta(
        "/unsafe/meta/200x0:400x200/100x100/smart/a.png",
        &png,
        &[Detector::Feature],
    );
    let points = manual["thumbor"]["focal_points"].as_array().unwrap();
    assert_eq!(points.len(), 1, "{manual}");
}

/// A large JPEG is decoded at a DCT scale for detection and its points scaled back: they lie
/// inside the picture and the render keeps its size.
#[test]
fn detection_on_a_scaled_jpeg_decode() {
    let source = crate::test_corpus::read("sharp/2569067123_aca715a2ee_o.jpg");
    let detected = meta(
        "/unsafe/meta/300x100/smart/a.jpg",
        &source,
        &[Detector::Feature],
    );
    let points = detected["thumbor"]["focal_points"].as_array().unwrap();
    assert!(!points.is_empty() && points.len() <= 20, "{detected}");
    for point in points {
        let (x, y) = (point["x"].as_i64().unwrap(), point["y"].as_i64().unwrap());
        assert!((0..2725).contains(&x) && (0..2225).contains(&y), "{point}");
    }
    let settings = ImagingSettings {
        detectors: vec![Detector::Feature],
        ..ImagingSettings::default()
    };
    let parts = Parts::new("/unsafe/300x100/smart/a.jpg");
    let output = render(&source, &parts.job(&settings)).unwrap();
    let probe = crate::imaging::decode::probe(&output.body).unwrap();
    assert_eq!((probe.width, probe.height), (300, 100));
}

/// Thumbor 7.8.0 with `thumbor[opencv]` and face + feature detectors, on this portrait
/// (`meta/200x400/smart/`): one face, focal point x=371 y=240, 232x232, crop left 238..505 of
/// 800. pictor's face detector is SeetaFace's, not OpenCV's Haar cascade: the point and box
/// agree within a small tolerance, and the crop keeps the same face.
#[test]
fn the_face_detector_finds_the_face_thumbor_finds() {
    let source = crate::test_corpus::read("thumbor/filters/source.jpg");
    let detected = meta(
        "/unsafe/meta/200x400/smart/a.jpg",
        &source,
        &[Detector::Face, Detector::Feature],
    );
    let points = detected["thumbor"]["focal_points"].as_array().unwrap();
    assert_eq!(points.len(), 1, "{detected}");
    let face = &points[0];
    assert_eq!(face["origin"], "Face Detection", "{face}");
    let (x, y) = (face["x"].as_i64().unwrap(), face["y"].as_i64().unwrap());
    let width = face["width"].as_i64().unwrap();
    assert!((x - 371).abs() <= 30 && (y - 240).abs() <= 40, "{face}");
    assert!((150..=310).contains(&width), "{face}");
    let left = crop_left(&detected);
    assert!((left - 238).abs() <= 30, "{detected}");
    // The crop (267 wide) holds Thumbor's face box, 255..487, but for at most 3 % of its width.
    assert!(left <= 255 + 7 && left + 267 >= 487, "{detected}");
}
