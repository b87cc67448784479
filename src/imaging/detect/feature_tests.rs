//! Tests of the feature detector: OpenCV's own corners for two synthetic images and a photo
//! (exact pixels, same order, some responses to the bit), then the properties any result must
//! have, tiny and flat images, and PIL's grayscale.
//!
//! The expected corners come from this script (opencv-python-headless 4.14.0 and 5.1.0 agree,
//! Pillow 13.0; run from the repository root, it also writes the photo fixture):
//!
//! ```python
//! import numpy as np, cv2
//! from PIL import Image
//! def square():
//!     g = np.zeros((30, 40), np.uint8); g[8:22, 10:30] = 255; return g
//! def shapes():
//!     g = np.tile((np.arange(48) * 2).astype(np.uint8)[:, None], (1, 64))
//!     g[5:20, 4:25] = 200; g[25:40, 30:60] = 90; g[10:30, 40:50] = 255; g[30:45, 8:16] = 0
//!     return g
//! def corners(g, *args):
//!     c = cv2.goodFeaturesToTrack(g, *args)
//!     return [] if c is None else [(int(x), int(y)) for x, y in c.reshape(-1, 2)]
//! im = Image.open('tests/data/corpus/thumbor/filters/source.jpg').convert('RGB')
//! im = im.resize((200, round(200 * im.height / im.width)), Image.LANCZOS)
//! im.save('tests/data/detect/source_200px.png', optimize=True)
//! photo = np.array(Image.open('tests/data/detect/source_200px.png').convert('L'))
//! for name, g in [('square', square()), ('shapes', shapes()), ('photo', photo)]:
//!     print(name, corners(g, 20, 0.04, 1.0), corners(g, 50, 0.01, 10.0))
//!     eig = cv2.cornerMinEigenVal(g, 3, ksize=3)
//!     print([hex(np.float32(eig[y, x]).view(np.uint32)) for x, y in corners(g, 20, 0.04, 1.0)[:3]])
//! ```
//!
//! and, for `every_local_maximum_matches_opencv`, this continuation:
//!
//! ```python
//! def fnv(words):
//!     h = 0xcbf29ce484222325
//!     for w in words:
//!         for b in int(w).to_bytes(4, 'little'):
//!             h ^= b; h = (h * 0x100000001b3) & 0xffffffffffffffff
//!     return h
//! def summary(g):
//!     eig = cv2.cornerMinEigenVal(g, 3, ksize=3)
//!     pts = corners(g, 0, 0.001, 0.0)
//!     return len(pts), hex(fnv(w for x, y in pts for w in (x, y, np.float32(eig[y, x]).view(np.uint32))))
//! y, x = np.mgrid[0:77, 0:131].astype(np.int64)
//! print(summary(photo), summary(((x * x + 3 * y * y + 7 * x * y) % 251).astype(np.uint8)))
//! ```

use super::*;

/// The script's `square()`: a white 20x14 rectangle on black, 40x30.
fn square() -> Vec<u8> {
    let (width, height) = (40, 30);
    let mut gray = vec![0u8; width * height];
    for y in 8..22 {
        gray[y * width + 10..y * width + 30].fill(255);
    }
    gray
}

/// The script's `shapes()`: gray rectangles over a vertical ramp, 64x48.
fn shapes() -> Vec<u8> {
    let (width, height) = (64, 48);
    let mut gray: Vec<u8> = (0..height)
        .flat_map(|y| std::iter::repeat_n((y * 2) as u8, width))
        .collect();
    let rectangles = [
        (5..20, 4..25, 200),
        (25..40, 30..60, 90),
        (10..30, 40..50, 255),
        (30..45, 8..16, 0),
    ];
    for (rows, columns, value) in rectangles {
        for y in rows {
            gray[y * width + columns.start..y * width + columns.end].fill(value);
        }
    }
    gray
}

/// The photo fixture (Thumbor's `filters/source.jpg` downscaled by PIL to 200x133) as PIL's
/// grayscale, with its size.
fn photo() -> (Vec<u8>, usize, usize) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/detect/source_200px.png"
    );
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let rgb = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
        .expect("the fixture decodes")
        .to_rgb8();
    let (width, height) = (rgb.width() as usize, rgb.height() as usize);
    (pil_grayscale(rgb.as_raw(), 3), width, height)
}

fn positions(corners: &[Corner]) -> Vec<(u32, u32)> {
    corners.iter().map(|c| (c.x as u32, c.y as u32)).collect()
}

fn response_bits(corners: &[Corner]) -> Vec<u32> {
    corners
        .iter()
        .take(3)
        .map(|c| c.response.to_bits())
        .collect()
}

#[test]
fn square_has_its_four_corners_as_opencv_finds_them() {
    let corners = thumbor_feature_points(&square(), 40, 30);
    // Equal responses: OpenCV lists the later pixel (in row order) first.
    assert_eq!(positions(&corners), [(29, 21), (10, 21), (29, 8), (10, 8)]);
    assert_eq!(response_bits(&corners), [0x3e80_0001; 3]);
    let far_apart = good_features_to_track(&square(), 40, 30, 50, 0.01, 10.0);
    assert_eq!(positions(&far_apart), positions(&corners));
}

#[test]
fn shapes_match_opencv() {
    let gray = shapes();
    let thumbor = thumbor_feature_points(&gray, 64, 48);
    let expected = [
        (49, 10),
        (40, 10),
        (24, 5),
        (4, 5),
        (49, 29),
        (40, 29),
        (24, 19),
        (4, 19),
        (15, 44),
        (8, 44),
        (15, 30),
        (8, 30),
        (51, 24),
        (38, 24),
    ];
    assert_eq!(positions(&thumbor), expected);
    let far_apart = good_features_to_track(&gray, 64, 48, 50, 0.01, 10.0);
    let expected = [
        (49, 10),
        (24, 5),
        (4, 5),
        (49, 29),
        (24, 19),
        (4, 19),
        (15, 44),
        (15, 30),
        (38, 24),
        (59, 25),
    ];
    assert_eq!(positions(&far_apart), expected);
}

#[test]
fn photo_matches_opencv() {
    let (gray, width, height) = photo();
    assert_eq!((width, height), (200, 133));
    let thumbor = thumbor_feature_points(&gray, width, height);
    let expected = [
        (77, 59),
        (152, 118),
        (84, 79),
        (111, 61),
        (83, 97),
        (86, 81),
        (149, 120),
        (103, 61),
        (125, 38),
        (122, 74),
        (109, 120),
        (102, 81),
        (63, 54),
        (86, 71),
        (139, 65),
        (86, 98),
        (76, 31),
        (106, 27),
        (69, 37),
        (166, 119),
    ];
    assert_eq!(positions(&thumbor), expected);
    assert_eq!(
        response_bits(&thumbor),
        [0x3d9f_36ce, 0x3d82_aa78, 0x3d6c_ce52]
    );

    let far_apart = good_features_to_track(&gray, width, height, 50, 0.01, 10.0);
    let expected = [
        (77, 59),
        (152, 118),
        (84, 79),
        (111, 61),
        (83, 97),
        (125, 38),
        (122, 74),
        (109, 120),
        (102, 81),
        (63, 54),
        (139, 65),
        (76, 31),
        (106, 27),
        (166, 119),
        (64, 44),
        (100, 61),
        (85, 68),
        (118, 30),
        (97, 71),
        (74, 80),
        (131, 51),
        (139, 92),
        (132, 103),
        (135, 39),
        (151, 79),
        (101, 16),
        (124, 64),
        (51, 109),
        (77, 105),
        (121, 97),
        (89, 27),
        (57, 69),
        (137, 79),
        (75, 70),
        (75, 41),
        (99, 121),
        (121, 87),
        (60, 85),
        (147, 58),
        (119, 46),
        (65, 33),
        (36, 128),
        (70, 97),
        (89, 115),
        (131, 23),
        (150, 90),
        (145, 39),
        (79, 16),
        (61, 104),
        (145, 107),
    ];
    assert_eq!(positions(&far_apart), expected);
}

/// FNV-1a (64 bit) of the corners' x, y and response bits, as little-endian u32 words.
fn fingerprint(corners: &[Corner]) -> u64 {
    let words = corners
        .iter()
        .flat_map(|c| [c.x as u32, c.y as u32, c.response.to_bits()]);
    words
        .flat_map(u32::to_le_bytes)
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
}

#[test]
fn every_local_maximum_matches_opencv() {
    // A near-zero quality level and no distance check list every local maximum: each one's
    // position, rank and response bits must be OpenCV's, a test of the whole response image.
    let (gray, width, height) = photo();
    let corners = good_features_to_track(&gray, width, height, 0, 0.001, 0.0);
    assert_eq!(corners.len(), 1072);
    assert_eq!(fingerprint(&corners), 0xd396_06ed_34ac_5428);
    // Integer noise 131 px wide: 128 columns go through OpenCV's fused AVX2 loop, 3 through its
    // scalar tail.
    let (width, height) = (131, 77);
    let noise: Vec<u8> = (0..height)
        .flat_map(|y| (0..width).map(move |x| ((x * x + 3 * y * y + 7 * x * y) % 251) as u8))
        .collect();
    let corners = good_features_to_track(&noise, width, height, 0, 0.001, 0.0);
    assert_eq!(corners.len(), 486);
    assert_eq!(fingerprint(&corners), 0xb55a_c68c_1ab9_4f74);
}

#[test]
fn results_are_sorted_and_limited() {
    let (gray, width, height) = photo();
    let all = good_features_to_track(&gray, width, height, 0, 0.04, 1.0);
    assert!(all.len() > THUMBOR_MAX_CORNERS, "{} corners", all.len());
    assert!(all.windows(2).all(|w| w[0].response >= w[1].response));
    // Taking corners greedily, a limit keeps a prefix of the unlimited list.
    let thumbor = thumbor_feature_points(&gray, width, height);
    assert_eq!(thumbor, all[..THUMBOR_MAX_CORNERS]);
    let five = good_features_to_track(&gray, width, height, 5, 0.04, 1.0);
    assert_eq!(five, all[..5]);
}

#[test]
fn min_distance_keeps_corners_apart() {
    let (gray, width, height) = photo();
    for min_distance in [2.0, 7.5, 12.0, 30.0] {
        let corners = good_features_to_track(&gray, width, height, 0, 0.01, min_distance);
        assert!(!corners.is_empty());
        for (i, a) in corners.iter().enumerate() {
            for b in &corners[i + 1..] {
                let distance = f64::from((a.x - b.x).hypot(a.y - b.y));
                assert!(distance >= min_distance, "{a:?} {b:?} at {min_distance}");
            }
        }
    }
    // Below 1 OpenCV checks no distance at all: every local maximum is a corner.
    let unchecked = good_features_to_track(&gray, width, height, 0, 0.01, 0.5);
    let zero = good_features_to_track(&gray, width, height, 0, 0.01, 0.0);
    assert_eq!(unchecked, zero);
    let one = good_features_to_track(&gray, width, height, 0, 0.01, 1.0);
    assert_eq!(
        one, zero,
        "distinct pixels are at least 1 px apart: 1 px drops none"
    );
}

#[test]
fn raising_the_quality_level_never_adds_corners() {
    let (gray, width, height) = photo();
    let mut previous = good_features_to_track(&gray, width, height, 0, 0.001, 3.0);
    for quality_level in [0.01, 0.04, 0.1, 0.3, 0.9, 1.0] {
        let corners = good_features_to_track(&gray, width, height, 0, quality_level, 3.0);
        // The corners that pass a higher threshold are the strongest ones, taken in the same
        // order as before: a prefix.
        assert!(corners.len() <= previous.len());
        assert_eq!(
            corners,
            previous[..corners.len()],
            "quality {quality_level}"
        );
        previous = corners;
    }
    assert!(previous.is_empty(), "nothing is above the maximum itself");
}

#[test]
fn flat_and_tiny_images_have_no_corners() {
    assert!(thumbor_feature_points(&[128; 50 * 40], 50, 40).is_empty());
    assert!(thumbor_feature_points(&[], 0, 0).is_empty());
    assert!(thumbor_feature_points(&[], 10, 0).is_empty());
    let noise: Vec<u8> = (0..400u32).map(|i| (i * 97 % 251) as u8).collect();
    for (width, height) in [(1, 1), (2, 2), (1, 40), (40, 1), (2, 40), (40, 2)] {
        let gray = &noise[..width * height];
        assert!(thumbor_feature_points(gray, width, height).is_empty());
        // The response itself is defined on any size, as in OpenCV.
        assert_eq!(min_eigenvalues(gray, width, height).len(), width * height);
    }
    // 3x3 is the smallest image with an inner pixel: a lone dot there is no corner, this
    // pattern has one (OpenCV agrees on both).
    let dot = [0, 0, 0, 0, 255, 0, 0, 0, 0];
    assert!(thumbor_feature_points(&dot, 3, 3).is_empty());
    let pattern = [0, 255, 255, 255, 255, 255, 0, 0, 255];
    assert_eq!(positions(&thumbor_feature_points(&pattern, 3, 3)), [(1, 1)]);
}

#[test]
fn refused_arguments_give_no_corners() {
    let gray = square();
    assert!(good_features_to_track(&gray, 40, 30, 20, 0.0, 1.0).is_empty());
    assert!(good_features_to_track(&gray, 40, 30, 20, f64::NAN, 1.0).is_empty());
    assert!(good_features_to_track(&gray, 40, 30, 20, 0.04, -1.0).is_empty());
    assert!(good_features_to_track(&gray, 40, 30, 20, 0.04, f64::NAN).is_empty());
    // A buffer shorter than the size claims, or a size that overflows.
    assert!(good_features_to_track(&gray[..100], 40, 30, 20, 0.04, 1.0).is_empty());
    assert!(good_features_to_track(&gray, usize::MAX, 2, 20, 0.04, 1.0).is_empty());
    // A longer buffer: only the first width * height bytes count.
    let mut longer = gray.clone();
    longer.extend([255; 7]);
    assert_eq!(
        thumbor_feature_points(&longer, 40, 30),
        thumbor_feature_points(&gray, 40, 30)
    );
    // A huge minimum distance keeps only the strongest corner.
    let lone = good_features_to_track(&gray, 40, 30, 20, 0.04, 1e9);
    assert_eq!(positions(&lone), [(29, 21)]);
}

#[test]
fn pil_grayscale_uses_pillows_fixed_point_luma() {
    // Values printed by Pillow 13: Image.new('RGB', …).putdata(…).convert('L').
    let rgb = [
        255, 255, 255, // white
        255, 0, 0, // red
        0, 255, 0, // green
        0, 0, 255, // blue
        12, 34, 56, //
        128, 128, 127, //
    ];
    assert_eq!(pil_grayscale(&rgb, 3), [255, 76, 150, 29, 30, 128]);
    let rgba = [200, 100, 50, 0, 1, 2, 3, 255];
    assert_eq!(pil_grayscale(&rgba, 4), [124, 2]);
    assert_eq!(pil_grayscale(&[7, 9], 1), [7, 9]);
    assert_eq!(pil_grayscale(&[7, 0, 9, 255], 2), [7, 9]);
    assert!(pil_grayscale(&rgb, 0).is_empty());
    // A partial last pixel is dropped.
    assert_eq!(pil_grayscale(&rgb[..4], 3), [255]);
}

#[test]
fn reflect_101_mirrors_without_repeating_the_edge() {
    assert_eq!(reflect_101(-1, 5), 1);
    assert_eq!(reflect_101(0, 5), 0);
    assert_eq!(reflect_101(4, 5), 4);
    assert_eq!(reflect_101(5, 5), 3);
    assert_eq!(reflect_101(-1, 2), 1);
    assert_eq!(reflect_101(2, 2), 0);
    assert_eq!(reflect_101(-1, 1), 0);
    assert_eq!(reflect_101(1, 1), 0);
}
