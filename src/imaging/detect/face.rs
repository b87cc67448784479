//! The face detector: SeetaFace's frontal-face cascade (the `rustface` crate, its model compiled
//! in from `models/`), called with Thumbor's face-detector conventions: the smallest face looked
//! for is `max(20, min(width, height) / 15)` pixels, and each face becomes a focal point at the
//! centre of its box after the box is moved up by 12 % of its height for the hair (Thumbor's
//! `HAIR_OFFSET`), weighted by its area, with the origin `Face Detection`.
//!
//! Thumbor uses OpenCV's Haar cascade `haarcascade_frontalface_alt.xml`; SeetaFace finds the
//! same faces on ordinary portraits with boxes of a similar size, which is what the crop uses.

use super::super::filters::FocalPoint;
use rustface::{Detector as SeetaDetector, ImageData, Model};
use std::cell::RefCell;
use std::sync::LazyLock;

/// SeetaFace Engine's frontal-face model (BSD 2-clause; `models/README.md`).
static MODEL_BYTES: &[u8] = include_bytes!("../../../models/seeta_fd_frontal_v1.0.bin");

/// The model, read once per process; `None` if it does not read (then no face is found).
static MODEL: LazyLock<Option<Model>> = LazyLock::new(|| rustface::read_model(MODEL_BYTES).ok());

thread_local! {
    /// One detector per render-pool thread: it keeps scratch buffers between images, and the
    /// model is cloned into it once.
    static DETECTOR: RefCell<Option<Box<dyn SeetaDetector>>> = const { RefCell::new(None) };
}

/// Thumbor's `HAIR_OFFSET`: a face box is moved up by this share of its height.
const HAIR_OFFSET: f64 = 0.12;

/// SeetaFace's smallest window; Thumbor's minimum face size is never below it either.
const MIN_FACE: u32 = 20;

/// The score a detection needs (rustface's example value; higher drops doubtful faces).
const SCORE_THRESHOLD: f64 = 2.0;

/// Each pyramid level is this much smaller than the one before, and the window moves this many
/// pixels: 0.7 and 6 (rustface's example uses 0.8 and 4) cut the cost to about 0.4 of that,
/// and compat/detectors.py finds every face Thumbor finds on its set either way (measured
/// 2026-12-07: 0.7/8 lost a small face in a wide scene; 0.7/6 kept all).
const PYRAMID_SCALE: f32 = 0.7;
const WINDOW_STEP: u32 = 6;

/// A face as the detector boxed it, in the pixels of the image it ran on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceBox {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

/// The faces in an 8-bit gray image (`gray.len() == width * height`), largest first; none for
/// images smaller than the smallest face.
pub fn faces(gray: &[u8], width: u32, height: u32) -> Vec<FaceBox> {
    if width < MIN_FACE || height < MIN_FACE || gray.len() != width as usize * height as usize {
        return Vec::new();
    }
    let Some(model) = MODEL.as_ref() else {
        return Vec::new();
    };
    // Thumbor's rule (never below MIN_FACE); at most a side / 15, so it fits back in u32.
    let min_face = super::thumbor_min_size(width as usize, height as usize) as u32;
    // rustface asserts on its arguments; they are checked above, and a panic in its code must
    // not take the render down with it.
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        DETECTOR.with(|cell| {
            let mut slot = cell.borrow_mut();
            let detector = slot.get_or_insert_with(|| {
                let mut detector = rustface::create_detector_with_model(model.clone());
                detector.set_score_thresh(SCORE_THRESHOLD);
                detector.set_pyramid_scale_factor(PYRAMID_SCALE);
                detector.set_slide_window_step(WINDOW_STEP, WINDOW_STEP);
                detector
            });
            detector.set_min_face_size(min_face);
            detector.detect(&ImageData::new(gray, width, height))
        })
    }))
    .unwrap_or_default();
    let mut boxes: Vec<FaceBox> = found
        .iter()
        .map(|face| {
            let bbox = face.bbox();
            FaceBox {
                left: f64::from(bbox.x()),
                top: f64::from(bbox.y()),
                width: f64::from(bbox.width()),
                height: f64::from(bbox.height()),
            }
        })
        .collect();
    boxes.sort_by(|a, b| (b.width * b.height).total_cmp(&(a.width * a.height)));
    boxes
}

/// Thumbor's focal point of a face box: moved up for the hair (not above the top edge), then
/// `FocalPoint.from_square` — the centre (integer halves of the size), weighted by the area.
pub fn face_focal_point(face: FaceBox) -> FocalPoint {
    let top = (face.top - face.height * HAIR_OFFSET).max(0.0);
    let (width, height) = (face.width.round(), face.height.round());
    FocalPoint {
        x: face.left + (width / 2.0).floor(),
        y: top + (height / 2.0).floor(),
        width,
        height,
        weight: width * height,
        origin: "Face Detection",
    }
}
