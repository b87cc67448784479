//! Smart-crop detectors: the analyses Thumbor runs on an image to find its focal points before
//! cropping, chained as Thumbor's `DETECTORS` list chains them (a detector runs only when the
//! ones before it found nothing): the face detector (`face`, SeetaFace's frontal cascade with
//! Thumbor's conventions), the profile and glasses detectors (`profile`, `glasses`: OpenCV's
//! Haar cascades, evaluated by `haar` as OpenCV's `detectMultiScale` does, called the way
//! Thumbor calls them) and the feature detector (`feature`: OpenCV's corner detector called
//! the way Thumbor calls it), all on PIL's grayscale of the image, and pictor's own attention
//! detector (`attention`: edges, skin and saturation, for pictures with none of these). Pure
//! functions over pixels; nothing here decodes, resizes or knows about requests (the
//! pipeline's `detect` step does that).

pub mod attention;
pub mod face;
pub mod feature;
pub mod haar;

use super::filters::FocalPoint;
use super::{Image, ImagingError};

/// Where a render finds the focal points detection already found for its original, and keeps
/// the ones it finds: the server's per-original cache (`cache::focal_points`), so that a burst
/// of sizes of one photo runs detection once. Renders without one detect every time.
pub trait DetectionMemo: Sync {
    /// The focal points of this render's original: remembered ones, or those `detect` finds
    /// (which are then remembered). Concurrent callers for one original wait for one `detect`.
    fn focal_points(
        &self,
        detect: &mut dyn FnMut() -> Result<Vec<FocalPoint>, ImagingError>,
    ) -> Result<Vec<FocalPoint>, ImagingError>;
}

/// One entry of `DETECTORS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detector {
    /// `thumbor.detectors.face_detector`: frontal faces.
    Face,
    /// `thumbor.detectors.profile_detector`: faces in profile (OpenCV's profile-face cascade).
    Profile,
    /// `thumbor.detectors.glasses_detector`: eyes, also behind glasses (OpenCV's
    /// eye-tree-eyeglasses cascade).
    Glasses,
    /// `thumbor.detectors.feature_detector`: strong corners.
    Feature,
    /// `pictor.detectors.attention_detector` (pictor's own): what draws the eye (edges, skin,
    /// saturation), for pictures with neither faces nor strong corners.
    Attention,
}

impl Detector {
    /// The detector a `DETECTORS` entry names: Thumbor's module name or the short name.
    pub fn from_name(name: &str) -> Option<Detector> {
        let name = name.trim();
        let short = name
            .strip_prefix("thumbor.detectors.")
            .or_else(|| name.strip_prefix("pictor.detectors."))
            .unwrap_or(name);
        let short = short.strip_suffix("_detector").unwrap_or(short);
        match short {
            "face" => Some(Detector::Face),
            "profile" => Some(Detector::Profile),
            "glasses" => Some(Detector::Glasses),
            "feature" => Some(Detector::Feature),
            "attention" => Some(Detector::Attention),
            _ => None,
        }
    }

    /// Thumbor's module name.
    pub fn module_name(self) -> &'static str {
        match self {
            Detector::Face => "thumbor.detectors.face_detector",
            Detector::Profile => "thumbor.detectors.profile_detector",
            Detector::Glasses => "thumbor.detectors.glasses_detector",
            Detector::Feature => "thumbor.detectors.feature_detector",
            Detector::Attention => "pictor.detectors.attention_detector",
        }
    }

    /// Whether pictor has this detector (the others are passed over). All are, as long as
    /// their compiled-in models read (their tests make sure they do).
    pub fn is_available(self) -> bool {
        match self {
            Detector::Profile => haar::profile_face().is_some(),
            Detector::Glasses => haar::eyeglasses().is_some(),
            Detector::Face | Detector::Feature | Detector::Attention => true,
        }
    }

    /// The focal points this detector finds in a `width` x `height` picture (its gray copy
    /// and its pixels of `channels` bytes), in its pixels.
    fn focal_points(
        self,
        gray: &[u8],
        pixels: &[u8],
        channels: usize,
        width: u32,
        height: u32,
    ) -> Vec<FocalPoint> {
        match self {
            Detector::Feature => {
                feature::thumbor_feature_points(gray, width as usize, height as usize)
                    .into_iter()
                    .map(|corner| corner_focal_point(corner.x, corner.y))
                    .collect()
            }
            Detector::Face => face::faces(gray, width, height)
                .into_iter()
                .map(face::face_focal_point)
                .collect(),
            Detector::Attention => {
                attention::attention_point(gray, pixels, channels, width, height)
                    .into_iter()
                    .collect()
            }
            Detector::Profile => haar_focal_points(haar::profile_face(), gray, width, height),
            Detector::Glasses => haar_focal_points(haar::eyeglasses(), gray, width, height),
        }
    }
}

/// The origin labels detection gives its points (Thumbor's, and `Attention` for pictor's own
/// detector): the `&'static str` of a label read back from a stored record, `None` for others.
pub fn origin_label(label: &str) -> Option<&'static str> {
    [
        "Face Detection",
        "alignment",
        "detection",
        "Attention Detection",
    ]
    .into_iter()
    .find(|known| *known == label)
}

/// Thumbor's smallest face or object for a `width` x `height` picture (its
/// `CascadeLoaderDetector.get_min_size_for`, which every cascade detector uses):
/// `max(20, min(w, h) // 15)`.
pub fn thumbor_min_size(width: usize, height: usize) -> usize {
    (width.min(height) / 15).max(20)
}

/// Thumbor's `CascadeLoaderDetector` with a cascade of its own (profile, glasses): OpenCV's
/// `detectMultiScale(gray, 1.2, 4, minSize)` with Thumbor's smallest size, each box a focal
/// point by `FocalPoint.from_square` (centre at the integer half of the size, weighted by the
/// area) with the base class's origin, `detection` (no offset, unlike the face detector's).
fn haar_focal_points(
    cascade: Option<&haar::Cascade>,
    gray: &[u8],
    width: u32,
    height: u32,
) -> Vec<FocalPoint> {
    let Some(cascade) = cascade else {
        return Vec::new();
    };
    let (width, height) = (width as usize, height as usize);
    cascade
        .detect_multi_scale(
            gray,
            width,
            height,
            haar::THUMBOR_SCALE_FACTOR,
            haar::THUMBOR_MIN_NEIGHBORS,
            thumbor_min_size(width, height),
        )
        .into_iter()
        .map(|found| {
            FocalPoint::from_square(
                found.x.into(),
                found.y.into(),
                found.width.into(),
                found.height.into(),
                "detection",
            )
        })
        .collect()
}

/// Thumbor's `FocalPoint(x, y, 1)` for a corner: a 1x1 point of weight 1. Thumbor 7.8.0's meta
/// labels these `alignment` (FocalPoint's default origin), and so does pictor.
fn corner_focal_point(x: f32, y: f32) -> FocalPoint {
    FocalPoint {
        x: f64::from(x),
        y: f64::from(y),
        width: 1.0,
        height: 1.0,
        weight: 1.0,
        origin: "alignment",
    }
}

/// The focal points of `image` by the chain `detectors`: those of the first detector that finds
/// any, in `image`'s pixels; none when no detector finds anything.
pub fn focal_points(image: &Image, detectors: &[Detector]) -> Vec<FocalPoint> {
    let Some(frame) = image.frames.first() else {
        return Vec::new();
    };
    // Every detector reads the same grayscale (PIL's, as Thumbor's engine gives them): made
    // once for the chain.
    let channels = image.layout.channels();
    let gray = feature::pil_grayscale(&frame.pixels, channels);
    detectors
        .iter()
        .filter(|detector| detector.is_available())
        .map(|detector| {
            detector.focal_points(&gray, &frame.pixels, channels, image.width, image.height)
        })
        .find(|points| !points.is_empty())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::{ImageFormat, PixelLayout, SourceInfo};

    #[test]
    fn thumbor_names_and_short_names() {
        for (name, detector) in [
            ("thumbor.detectors.face_detector", Detector::Face),
            ("face", Detector::Face),
            ("thumbor.detectors.profile_detector", Detector::Profile),
            ("thumbor.detectors.glasses_detector", Detector::Glasses),
            ("glasses", Detector::Glasses),
            ("thumbor.detectors.feature_detector", Detector::Feature),
            (" feature ", Detector::Feature),
            ("attention", Detector::Attention),
            ("pictor.detectors.attention_detector", Detector::Attention),
        ] {
            assert_eq!(Detector::from_name(name), Some(detector), "{name}");
        }
        assert_eq!(Detector::from_name("thumbor.detectors.nothing"), None);
        assert_eq!(
            Detector::from_name("thumbor.detectors.queued_detector"),
            None
        );
        assert_eq!(
            Detector::from_name(Detector::Feature.module_name()),
            Some(Detector::Feature)
        );
    }

    fn white_square_on_black() -> Image {
        let (width, height) = (64u32, 48u32);
        let mut pixels = vec![0u8; (width * height * 3) as usize];
        for y in 30..40 {
            for x in 40..56 {
                let at = ((y * width + x) * 3) as usize;
                pixels[at..at + 3].fill(255);
            }
        }
        Image::still(
            width,
            height,
            PixelLayout::Rgb8,
            pixels,
            SourceInfo::plain(ImageFormat::Png, width, height),
        )
    }

    /// The chain passes over detectors pictor does not have and stops at the first that finds
    /// something: the square's corners, as weight-1 points.
    #[test]
    fn the_first_detector_that_finds_something_wins() {
        let image = white_square_on_black();
        let points = focal_points(&image, &[Detector::Face, Detector::Feature]);
        assert_eq!(points.len(), 4, "{points:?}");
        for point in &points {
            assert!((39.0..=56.0).contains(&point.x), "{point:?}");
            assert!((29.0..=40.0).contains(&point.y), "{point:?}");
            assert_eq!((point.weight, point.origin), (1.0, "alignment"));
        }
        // No face in a square: the face detector finds nothing and the chain moves on.
        assert!(focal_points(&image, &[Detector::Face]).is_empty());
        assert!(focal_points(&image, &[Detector::Profile]).is_empty());
        assert!(focal_points(&image, &[]).is_empty());
    }

    /// The profile and glasses detectors as Thumbor's `CascadeLoaderDetector`: on a portrait
    /// in profile the glasses detector finds no eyes and the profile detector one face, a point
    /// at the centre of its box (OpenCV's box on PIL's gray of this photo: 208,74 358x358),
    /// weighted by its area, with Thumbor's origin for these detectors.
    #[test]
    fn profile_and_glasses_detectors_give_thumbors_points() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/detect/smart/guido.jpg"
        );
        let bytes = std::fs::read(path).expect("the fixture exists");
        let rgb = image::load_from_memory(&bytes).expect("decodes").to_rgb8();
        let (width, height) = (rgb.width(), rgb.height());
        let image = Image::still(
            width,
            height,
            PixelLayout::Rgb8,
            rgb.into_raw(),
            SourceInfo::plain(ImageFormat::Jpeg, width, height),
        );
        assert!(focal_points(&image, &[Detector::Glasses]).is_empty());
        let points = focal_points(&image, &[Detector::Glasses, Detector::Profile]);
        assert_eq!(points.len(), 1, "{points:?}");
        let point = &points[0];
        assert_eq!(point.origin, "detection");
        assert!((350.0..=366.0).contains(&point.width), "{point:?}");
        assert_eq!(
            (point.height, point.weight),
            (point.width, point.width * point.width)
        );
        assert!(
            (point.x - 387.0).abs() <= 6.0 && (point.y - 253.0).abs() <= 6.0,
            "{point:?}"
        );
        assert_eq!(origin_label("detection"), Some("detection"));
    }
}
