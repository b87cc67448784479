//! Focal points per original: what smart detection found in an image, kept so that it runs once
//! per original and not once per size. In memory (concurrent renders of one original wait for
//! one detection), and, with result storage on, in a small JSON record beside the results so
//! that another instance of a fleet reads it instead of detecting again (as Thumbor keeps its
//! detector data in its storage).
//!
//! A record is keyed by the original (its URL, length and CRC-32: a changed original is a new
//! key) and by everything that changes the picture detection sees or how it looks (the
//! detectors, trim, orientation and the MAX_WIDTH/MAX_HEIGHT pre-resize), so a stale record is
//! never used.

use crate::imaging::detect::DetectionMemo;
use crate::imaging::filters::FocalPoint;
use crate::imaging::settings::ImagingSettings;
use crate::imaging::ImagingError;
use crate::url::ImageRequest;
use sha1::{Digest, Sha1};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

/// A stored record holds at most this many points (the detectors give at most 20 corners, or
/// one point per face); longer records are not read.
const MAX_STORED_POINTS: usize = 1_000;

/// The in-memory side, shared by every render of the process. Off (`None`), every render
/// detects.
#[derive(Clone)]
pub struct FocalPointCache {
    memory: Option<moka::sync::Cache<String, Arc<Vec<FocalPoint>>>>,
}

impl FocalPointCache {
    /// A cache of the points of at most `entries` originals (FOCAL_POINTS_CACHE_ENTRIES; each
    /// a few hundred bytes); 0 keeps none.
    pub fn new(entries: u64) -> FocalPointCache {
        FocalPointCache {
            memory: (entries > 0).then(|| moka::sync::Cache::new(entries)),
        }
    }

    /// The points kept for `key`, if any.
    pub fn get(&self, key: &str) -> Option<Arc<Vec<FocalPoint>>> {
        self.memory.as_ref()?.get(key)
    }

    /// Keeps `points` (read from result storage) for `key`.
    pub fn insert(&self, key: String, points: Vec<FocalPoint>) {
        if let Some(memory) = &self.memory {
            memory.insert(key, Arc::new(points));
        }
    }

    /// The memo one render hands the pipeline for the original `key` names; `stored` are its
    /// points read from result storage for this render, if any (they win over the cache and
    /// over detecting).
    pub fn memo(&self, key: String, stored: Option<Vec<FocalPoint>>) -> OriginalFocalPoints<'_> {
        OriginalFocalPoints {
            cache: self,
            key,
            stored,
            detected: OnceLock::new(),
        }
    }
}

/// The key of one original's points: hex SHA-1 of the original's identity and the settings
/// that shape the picture detection runs on. `None` when the request detects nothing.
pub fn original_key(
    request: &ImageRequest,
    settings: &ImagingSettings,
    image_url: &str,
    source: &[u8],
) -> Option<String> {
    if !request.smart || settings.detectors.is_empty() {
        return None;
    }
    let mut hasher = Sha1::new();
    hasher.update(b"pictor-focal-points-1\n");
    hasher.update(image_url.as_bytes());
    hasher.update(format!(
        "\n{}\n{:08x}\n",
        source.len(),
        crc32fast::hash(source)
    ));
    for detector in &settings.detectors {
        hasher.update(detector.module_name());
        hasher.update(b",");
    }
    hasher.update(format!(
        "\n{:?}\n{}\n{}x{}\n",
        request.trim, settings.respect_orientation, settings.max_width, settings.max_height
    ));
    Some(format!("{:x}", hasher.finalize()))
}

/// One render's view of the cache: the points of its original, and whether this render is the
/// one that detected them (then the server stores them beside the results).
pub struct OriginalFocalPoints<'a> {
    cache: &'a FocalPointCache,
    key: String,
    /// The points result storage held for this render.
    stored: Option<Vec<FocalPoint>>,
    /// The points, when this render is the one that detected them.
    detected: OnceLock<Vec<FocalPoint>>,
}

impl OriginalFocalPoints<'_> {
    /// The original's key and the points this render detected; `None` when it found them kept
    /// (or detected nothing because it failed).
    pub fn into_detected(self) -> Option<(String, Vec<FocalPoint>)> {
        let points = self.detected.into_inner()?;
        Some((self.key, points))
    }
}

impl DetectionMemo for OriginalFocalPoints<'_> {
    fn focal_points(
        &self,
        detect: &mut dyn FnMut() -> Result<Vec<FocalPoint>, ImagingError>,
    ) -> Result<Vec<FocalPoint>, ImagingError> {
        if let Some(points) = &self.stored {
            return Ok(points.clone());
        }
        let mut run = || {
            crate::metrics::METRICS
                .smart_detections
                .fetch_add(1, Ordering::Relaxed);
            let points = detect()?;
            // One detection per memo: the set cannot fail.
            let _ = self.detected.set(points.clone());
            Ok(Arc::new(points))
        };
        let Some(memory) = &self.cache.memory else {
            return run().map(|points| points.as_ref().clone());
        };
        // moka runs the closure once for all concurrent callers of one key; an error is handed
        // to the waiting callers and not kept.
        let found = memory.try_get_with(self.key.clone(), run);
        match found {
            Ok(points) => Ok(points.as_ref().clone()),
            Err(error) => Err(error.as_ref().clone()),
        }
    }
}

/// A point as it is stored: Thumbor's meta fields.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredPoint {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
    weight: f64,
    origin: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredRecord {
    focal_points: Vec<StoredPoint>,
}

/// The JSON record stored beside the results.
pub fn to_record(points: &[FocalPoint]) -> Vec<u8> {
    let record = StoredRecord {
        focal_points: points
            .iter()
            .map(|point| StoredPoint {
                x: point.x,
                y: point.y,
                width: point.width,
                height: point.height,
                weight: point.weight,
                origin: point.origin.to_string(),
            })
            .collect(),
    };
    serde_json::to_vec(&record).unwrap_or_default()
}

/// The points of a stored record; `None` for anything that is not one (another program's file,
/// a damaged object, an origin label pictor does not write, numbers that are not finite).
pub fn from_record(bytes: &[u8]) -> Option<Vec<FocalPoint>> {
    let record: StoredRecord = serde_json::from_slice(bytes).ok()?;
    if record.focal_points.len() > MAX_STORED_POINTS {
        return None;
    }
    record
        .focal_points
        .into_iter()
        .map(|point| {
            let finite = [point.x, point.y, point.width, point.height, point.weight]
                .iter()
                .all(|value| value.is_finite() && *value >= 0.0);
            finite.then_some(())?;
            Some(FocalPoint {
                x: point.x,
                y: point.y,
                width: point.width,
                height: point.height,
                weight: point.weight,
                origin: crate::imaging::detect::origin_label(&point.origin)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn face() -> FocalPoint {
        FocalPoint {
            x: 388.0,
            y: 244.0,
            width: 225.0,
            height: 225.0,
            weight: 50625.0,
            origin: "Face Detection",
        }
    }

    #[test]
    fn records_round_trip_and_refuse_what_pictor_does_not_write() {
        let corner = FocalPoint {
            x: 10.0,
            y: 20.0,
            width: 1.0,
            height: 1.0,
            weight: 1.0,
            origin: "alignment",
        };
        let record = to_record(&[face(), corner.clone()]);
        assert_eq!(from_record(&record), Some(vec![face(), corner]));
        assert_eq!(from_record(&to_record(&[])), Some(vec![]));
        // Extreme numbers come back as written (serde_json's float_roundtrip; found by fuzzing).
        let tiny = br#"{"focal_points":[{"x":1e-307,"y":-0.0,"width":1,"height":1,"weight":1,"origin":"detection"}]}"#;
        let points = from_record(tiny).expect("a record");
        assert_eq!(from_record(&to_record(&points)), Some(points));
        for bad in [
            &b""[..],
            b"{}",
            b"not json",
            br#"{"focal_points":[{"x":1,"y":1,"width":1,"height":1,"weight":1,"origin":"Someone"}]}"#,
            br#"{"focal_points":[{"x":-1,"y":1,"width":1,"height":1,"weight":1,"origin":"alignment"}]}"#,
            br#"{"focal_points":[{"x":1,"y":1,"width":1,"height":1,"origin":"alignment"}]}"#,
        ] {
            assert_eq!(from_record(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    /// Eight threads asking for one original's points run detection once; all see its points.
    #[test]
    fn concurrent_renders_of_one_original_detect_once() {
        let cache = FocalPointCache::new(100);
        let runs = AtomicUsize::new(0);
        let detected_here = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    let memo = cache.memo("photo".to_string(), None);
                    let points = memo
                        .focal_points(&mut || {
                            runs.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            Ok(vec![face()])
                        })
                        .expect("points");
                    assert_eq!(points, vec![face()]);
                    if memo.into_detected().is_some() {
                        detected_here.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(detected_here.load(Ordering::SeqCst), 1);
        // A failed detection is not kept: the next render tries again.
        let memo = cache.memo("broken".to_string(), None);
        let failed = memo.focal_points(&mut || Err(ImagingError::Undecodable("x".into())));
        assert!(failed.is_err());
        let retried = cache
            .memo("broken".to_string(), None)
            .focal_points(&mut || Ok(vec![]))
            .expect("second try");
        assert!(retried.is_empty());
    }

    /// Points read from result storage serve the render, cache or not, and nothing is detected.
    #[test]
    fn stored_points_serve_without_detecting() {
        for entries in [0, 100] {
            let cache = FocalPointCache::new(entries);
            let memo = cache.memo("photo".to_string(), Some(vec![face()]));
            let points = memo
                .focal_points(&mut || panic!("detected although result storage had the points"))
                .expect("points");
            assert_eq!(points, vec![face()]);
            assert_eq!(memo.into_detected(), None);
        }
    }

    /// With the cache off every render detects, and still hands its points to the record.
    #[test]
    fn without_the_cache_every_render_detects() {
        let cache = FocalPointCache::new(0);
        for _ in 0..2 {
            let memo = cache.memo("photo".to_string(), None);
            let points = memo.focal_points(&mut || Ok(vec![face()])).expect("points");
            assert_eq!(points, vec![face()]);
            assert_eq!(
                memo.into_detected(),
                Some(("photo".to_string(), vec![face()]))
            );
        }
        assert!(cache.get("photo").is_none());
    }

    #[test]
    fn keys_change_with_the_original_and_the_settings() {
        let settings = ImagingSettings {
            detectors: vec![crate::imaging::detect::Detector::Face],
            ..ImagingSettings::default()
        };
        let smart = crate::url::parse_path("/unsafe/100x100/smart/a.jpg").expect("path");
        let key = |request: &ImageRequest, settings: &ImagingSettings, url: &str, bytes: &[u8]| {
            original_key(request, settings, url, bytes)
        };
        let base = key(&smart, &settings, "a.jpg", b"abc").expect("smart with detectors");
        assert_eq!(key(&smart, &settings, "a.jpg", b"abc"), Some(base.clone()));
        assert_ne!(key(&smart, &settings, "b.jpg", b"abc"), Some(base.clone()));
        assert_ne!(key(&smart, &settings, "a.jpg", b"abd"), Some(base.clone()));
        let other_size = crate::url::parse_path("/unsafe/300x50/smart/a.jpg").expect("path");
        assert_eq!(
            key(&other_size, &settings, "a.jpg", b"abc"),
            Some(base.clone())
        );
        let trimmed = crate::url::parse_path("/unsafe/trim/100x100/smart/a.jpg").expect("path");
        assert_ne!(
            key(&trimmed, &settings, "a.jpg", b"abc"),
            Some(base.clone())
        );
        let feature = ImagingSettings {
            detectors: vec![crate::imaging::detect::Detector::Feature],
            ..settings.clone()
        };
        assert_ne!(key(&smart, &feature, "a.jpg", b"abc"), Some(base));
        let not_smart = crate::url::parse_path("/unsafe/100x100/a.jpg").expect("path");
        assert_eq!(key(&not_smart, &settings, "a.jpg", b"abc"), None);
        assert_eq!(
            key(&smart, &ImagingSettings::default(), "a.jpg", b"abc"),
            None
        );
    }
}
