//! Tests of the Haar cascade evaluator: OpenCV's own boxes for the profile and eyeglasses
//! cascades on the smart-crop portraits (same count, each box within a few pixels: the JPEGs
//! decode a little differently here than in PIL) and, window for window, on the lossless
//! photo fixture;
//! the tilted integral against its definition; and damaged models read as errors.
//!
//! The expected boxes come from this script (opencv-python-headless 4.14.0, Pillow; run from
//! the repository root):
//!
//! ```python
//! import glob, os, numpy as np, cv2
//! from PIL import Image
//! data = os.path.dirname(cv2.__file__) + '/data/'
//! cascades = [cv2.CascadeClassifier(data + f'haarcascade_{n}.xml')
//!             for n in ['profileface', 'eye_tree_eyeglasses']]
//! for path in sorted(glob.glob('tests/data/detect/smart/*.jpg')) + ['tests/data/detect/source_200px.png']:
//!     gray = np.array(Image.open(path).convert('L'))
//!     m = max(20, min(gray.shape) // 15)
//!     print(os.path.basename(path), [sorted(tuple(int(v) for v in box)
//!           for box in c.detectMultiScale(gray, 1.2, 4, minSize=(m, m))) for c in cascades])
//! # the accepted windows before grouping, for the photo fixture
//! print([sorted(tuple(int(v) for v in box) for box in c.detectMultiScale(gray, 1.2, 0, minSize=(20, 20)))
//!        for c in cascades])
//! ```
//!
//! Fed PIL's own grayscale of each JPEG (rather than this crate's decode), pictor finds these
//! boxes exactly, and every accepted window before grouping too.

use super::*;
use crate::imaging::detect::feature::pil_grayscale;
use crate::imaging::detect::thumbor_min_size;

/// (file, profile faces, eyes behind glasses) as OpenCV finds them, each box (x, y, w, h).
type Expected = (
    &'static str,
    &'static [(i32, i32, i32, i32)],
    &'static [(i32, i32, i32, i32)],
);

const OPENCV_BOXES: &[Expected] = &[
    (
        "giunchedi.jpg",
        &[],
        &[(343, 146, 42, 42), (415, 148, 45, 45)],
    ),
    (
        "giunchedi_beside_scene.jpg",
        &[(294, 43, 291, 291)],
        &[(343, 145, 41, 41), (415, 149, 44, 44)],
    ),
    (
        "giunchedi_beside_scene_mirror.jpg",
        &[],
        &[(937, 148, 44, 44), (1013, 146, 41, 41)],
    ),
    (
        "giunchedi_edge_left.jpg",
        &[(181, 74, 220, 220)],
        &[(189, 145, 42, 42), (261, 149, 44, 44)],
    ),
    (
        "giunchedi_edge_right.jpg",
        &[],
        &[(215, 150, 43, 43), (287, 146, 42, 42)],
    ),
    (
        "giunchedi_small_in_scene.jpg",
        &[(1512, 337, 134, 134)],
        &[],
    ),
    ("guido.jpg", &[(208, 74, 358, 358)], &[]),
    ("guido_beside_scene.jpg", &[(222, 82, 358, 358)], &[]),
    ("guido_beside_scene_mirror.jpg", &[], &[]),
    ("guido_edge_left.jpg", &[], &[]),
    ("guido_edge_right.jpg", &[], &[]),
    ("guido_small_in_scene.jpg", &[(1472, 360, 157, 157)], &[]),
    ("henner.jpg", &[], &[(205, 150, 73, 73)]),
    (
        "henner_beside_scene.jpg",
        &[],
        &[(209, 148, 72, 72), (1087, 15, 75, 75)],
    ),
    (
        "henner_beside_scene_mirror.jpg",
        &[(980, 34, 378, 378)],
        &[(1123, 158, 52, 52)],
    ),
    ("henner_edge_left.jpg", &[], &[(204, 147, 78, 78)]),
    (
        "henner_edge_right.jpg",
        &[(86, 28, 395, 395)],
        &[(117, 143, 59, 59), (248, 163, 43, 43)],
    ),
    ("henner_small_in_scene.jpg", &[], &[]),
    ("maher.jpg", &[], &[(303, 215, 47, 47), (395, 218, 52, 52)]),
    (
        "maher_beside_scene.jpg",
        &[],
        &[(304, 216, 46, 46), (395, 218, 54, 54), (1087, 15, 75, 75)],
    ),
    (
        "maher_beside_scene_mirror.jpg",
        &[],
        &[(954, 220, 49, 49), (1047, 216, 46, 46)],
    ),
    (
        "maher_edge_left.jpg",
        &[],
        &[(212, 217, 44, 44), (299, 218, 52, 52)],
    ),
    (
        "maher_edge_right.jpg",
        &[],
        &[(169, 219, 50, 50), (262, 215, 50, 50)],
    ),
    ("maher_small_in_scene.jpg", &[(1505, 373, 129, 129)], &[]),
    ("noface_balloons.jpg", &[], &[]),
    ("noface_concert.jpg", &[], &[]),
    ("noface_dice.jpg", &[], &[]),
    ("noface_saw.jpg", &[], &[]),
    ("noface_waterfall.jpg", &[], &[]),
];

/// PIL's grayscale of a fixture of tests/data/detect/, with its size.
fn gray_fixture(relative: &str) -> (Vec<u8>, usize, usize) {
    let path = format!(
        "{}/tests/data/detect/{relative}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let rgb = image::load_from_memory(&bytes)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .to_rgb8();
    let (width, height) = (rgb.width() as usize, rgb.height() as usize);
    (pil_grayscale(rgb.as_raw(), 3), width, height)
}

fn thumbor_detect(cascade: &Cascade, gray: &[u8], width: usize, height: usize) -> Vec<Rect> {
    cascade.detect_multi_scale(
        gray,
        width,
        height,
        THUMBOR_SCALE_FACTOR,
        THUMBOR_MIN_NEIGHBORS,
        thumbor_min_size(width, height),
    )
}

fn as_rects(boxes: &[(i32, i32, i32, i32)]) -> Vec<Rect> {
    boxes
        .iter()
        .map(|&(x, y, width, height)| Rect {
            x,
            y,
            width,
            height,
        })
        .collect()
}

/// Same count, and each box within `tolerance` pixels of OpenCV's on every edge.
fn assert_close(found: &[Rect], expected: &[Rect], tolerance: i32, what: &str) {
    assert_eq!(
        found.len(),
        expected.len(),
        "{what}: {found:?} vs OpenCV's {expected:?}"
    );
    for (a, b) in found.iter().zip(expected) {
        let near = (a.x - b.x).abs() <= tolerance
            && (a.y - b.y).abs() <= tolerance
            && (a.x + a.width - b.x - b.width).abs() <= tolerance
            && (a.y + a.height - b.y - b.height).abs() <= tolerance;
        assert!(near, "{what}: {found:?} vs OpenCV's {expected:?}");
    }
}

#[test]
fn shipped_cascades_read() {
    let profile = profile_face().expect("the profile cascade reads");
    assert_eq!(
        (profile.model.window_width, profile.model.window_height),
        (20, 20)
    );
    assert_eq!(profile.model.stages.len(), 26);
    assert!(!profile.has_tilted);
    let glasses = eyeglasses().expect("the eyeglasses cascade reads");
    assert_eq!(glasses.model.stages.len(), 30);
    assert!(
        glasses.has_tilted,
        "the eyeglasses cascade has 45° features"
    );
    assert!(glasses.model.trees.iter().any(|tree| tree.node_count > 1));
}

#[test]
fn photo_fixture_matches_opencv_window_for_window() {
    // Lossless: the very pixels OpenCV saw, so every window the cascades accept (no grouping:
    // `minNeighbors=0`) must be one OpenCV accepts, at the same scale and position.
    let (gray, width, height) = gray_fixture("source_200px.png");
    let raw = |cascade: Option<&Cascade>| {
        let cascade = cascade.expect("reads");
        cascade.detect_multi_scale(&gray, width, height, THUMBOR_SCALE_FACTOR, 0, 20)
    };
    let profiles = [
        (64, 25, 72, 72),
        (68, 25, 72, 72),
        (68, 29, 72, 72),
        (75, 36, 60, 60),
        (85, 41, 41, 41),
        (87, 41, 41, 41),
        (89, 41, 41, 41),
    ];
    assert_eq!(raw(profile_face()), as_rects(&profiles));
    assert_eq!(raw(eyeglasses()), as_rects(&[(98, 50, 20, 20)]));
    // Grouped with Thumbor's 4 neighbours, none of them is enough.
    for cascade in [profile_face(), eyeglasses()] {
        let cascade = cascade.expect("reads");
        assert_eq!(thumbor_detect(cascade, &gray, width, height), []);
    }
}

#[test]
fn portraits_match_opencv() {
    let (profile, glasses) = (profile_face().expect("reads"), eyeglasses().expect("reads"));
    for &(name, profiles, eyes) in OPENCV_BOXES {
        let (gray, width, height) = gray_fixture(&format!("smart/{name}"));
        let found = thumbor_detect(profile, &gray, width, height);
        assert_close(&found, &as_rects(profiles), 4, &format!("{name} profile"));
        let found = thumbor_detect(glasses, &gray, width, height);
        assert_close(&found, &as_rects(eyes), 4, &format!("{name} glasses"));
    }
}

/// A deterministic pseudo-random gray image.
fn noise(width: usize, height: usize, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    (0..width * height)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

#[test]
fn tilted_integral_is_its_definition() {
    let (width, height, stride) = (13, 9, 16);
    let gray = noise(width, height, 7);
    let tables = Integrals::new(&gray, width, height, stride, true);
    for big_y in 0..=height {
        for big_x in 0..=width {
            let mut expected = 0i64;
            for y in 0..big_y {
                for x in 0..width {
                    let reach = (big_y - y - 1) as i64;
                    if (x as i64 - big_x as i64 + 1).abs() <= reach {
                        expected += i64::from(gray[y * width + x]);
                    }
                }
            }
            let found = i64::from(tables.tilted[big_y * stride + big_x]);
            assert_eq!(found, expected, "T({big_x}, {big_y})");
            let upright: i64 = (0..big_y)
                .flat_map(|y| gray[y * width..y * width + big_x].iter())
                .map(|&v| i64::from(v))
                .sum();
            assert_eq!(i64::from(tables.sum[big_y * stride + big_x]), upright);
        }
    }
}

#[test]
fn resize_keeps_flat_images_flat_and_averages_pairs() {
    let flat = vec![77u8; 50 * 30];
    let resized = resize::resize_linear(&flat, 50, 30, 41, 25);
    assert_eq!(resized.len(), 41 * 25);
    assert!(resized.iter().all(|&v| v == 77), "{resized:?}");
    // Halving a 0/200 checkerboard averages each 2x2 block.
    let board: Vec<u8> = (0..8 * 8)
        .map(|i| if (i % 8 + i / 8) % 2 == 0 { 0 } else { 200 })
        .collect();
    assert!(resize::resize_linear(&board, 8, 8, 4, 4)
        .iter()
        .all(|&v| v == 100));
}

/// A small valid cascade: one stage of one 2-node tree over one upright and one tilted
/// feature.
const TINY: &str = "# comment\nhaar-cascade 1\nwindow 6 6\nstages 1\n\
stage -0.5 1\ntree 2 1 -1 0 0.1 0 -2 1 -0.2 0.5 -1.0 0.25\n\
features 2\nfeature 0 2 0 0 6 6 -1. 0 0 3 6 2.\nfeature 1 2 3 0 2 2 -1. 3 1 1 1 4.\n";

#[test]
fn tiny_model_reads_and_runs() {
    let cascade = Cascade::parse(TINY).expect("reads");
    assert_eq!(cascade.model.nodes.len(), 2);
    assert!(cascade.has_tilted);
    let gray = noise(40, 30, 3);
    // Runs without a panic on a picture and on ones smaller than the window.
    let _ = cascade.detect_multi_scale(&gray, 40, 30, 1.2, 1, 6);
    assert!(cascade
        .detect_multi_scale(&gray[..20], 4, 5, 1.2, 1, 1)
        .is_empty());
    assert!(cascade
        .detect_multi_scale(&gray, 40, 30, 1.0, 1, 6)
        .is_empty());
    assert!(cascade
        .detect_multi_scale(&gray, 41, 30, 1.2, 1, 6)
        .is_empty());
}

#[test]
fn damaged_models_are_errors() {
    // Every truncation of a valid model.
    let tokens: Vec<&str> = TINY
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(str::split_whitespace)
        .collect();
    for end in 0..tokens.len() {
        assert!(
            Cascade::parse(&tokens[..end].join(" ")).is_err(),
            "{end} tokens"
        );
    }
    assert!(Cascade::parse(&tokens.join(" ")).is_ok());
    let broken = [
        // A node pointing back at itself would loop forever.
        TINY.replace("0 -2 1 -0.2", "1 -2 1 -0.2"),
        // A feature that does not exist.
        TINY.replace("0 -2 1 -0.2", "0 -2 7 -0.2"),
        // A leaf that does not exist.
        TINY.replace("0 -2 1 -0.2", "0 -5 1 -0.2"),
        // A rectangle past the window, upright and tilted.
        TINY.replace("0 0 6 6 -1.", "1 0 6 6 -1."),
        TINY.replace("3 0 2 2 -1.", "1 0 2 2 -1."),
        // Not numbers, non-finite numbers, absurd counts, trailing text.
        TINY.replace("-0.5", "x"),
        TINY.replace("-0.5", "1e300"),
        TINY.replace("stages 1", "stages 99999999999"),
        TINY.replace("window 6 6", "window 6 100000"),
        format!("{TINY} feature"),
        String::new(),
    ];
    for text in &broken {
        assert!(Cascade::parse(text).is_err(), "{text}");
    }
}
