//! Smart crop through the real server: with DETECTORS the crop follows the face in an
//! off-centre portrait, detection runs once per original however many sizes are asked for at
//! once, and its focal points are stored beside the results for another instance to read.
//! Images: tests/data/detect/smart/ (see its README for their sources and licences).

mod common;
use common::Server;
#[path = "common/s3.rs"]
mod s3_harness;
use s3_harness::{block_on, s3, sdk, seed, unique_bucket};

use std::path::PathBuf;
use std::time::Duration;

fn smart_set() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/detect/smart")
        .canonicalize()
        .expect("tests/data/detect/smart")
}

fn start(extra: &[(&str, &str)]) -> Server {
    let root = smart_set();
    let mut env = vec![
        ("FILE_LOADER_ROOT_PATH", root.to_str().expect("utf-8 path")),
        ("ALLOW_UNSAFE_URL", "True"),
        ("METRICS_BIND", "127.0.0.1:0"),
    ];
    env.extend_from_slice(extra);
    Server::start(&env)
}

const DETECTORS: (&str, &str) = (
    "DETECTORS",
    "thumbor.detectors.face_detector,thumbor.detectors.feature_detector",
);

/// The crop window and the focal points of a meta answer.
struct Meta {
    crop: Option<(f64, f64, f64, f64)>,
    points: Vec<serde_json::Value>,
}

fn meta(server: &Server, path: &str) -> Meta {
    let answer = server.get(path);
    assert_eq!(answer.status, 200, "{path}");
    let doc: serde_json::Value = serde_json::from_slice(&answer.body).expect("meta JSON");
    let thumbor = &doc["thumbor"];
    let crop = thumbor["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .find(|op| op["type"] == "crop")
        .map(|op| {
            let side = |name: &str| op[name].as_f64().expect("crop side");
            (side("left"), side("top"), side("right"), side("bottom"))
        });
    let points = thumbor["focal_points"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    Meta { crop, points }
}

fn metric(server: &Server, name: &str) -> u64 {
    use std::io::{Read, Write};
    let addr = server.metrics_addr.expect("METRICS_BIND");
    let mut stream = std::net::TcpStream::connect(addr).expect("metrics listener");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n")
        .expect("metrics request");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("metrics answer");
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} not in {text}"))
}

/// `maher_beside_scene.jpg` is 1400x533 with the face's centre about 400 px from the left: a
/// 100x300 crop (178 px wide) from the centre misses it; with the face detector the crop keeps
/// the face's centre, and the meta JSON lists the face as Thumbor labels it.
#[test]
fn the_crop_follows_an_off_centre_face() {
    let path = "/unsafe/meta/100x300/smart/maher_beside_scene.jpg";
    let centred = meta(&start(&[]), path);
    let (left, _, right, _) = centred.crop.expect("a crop");
    // Without detectors the meta lists only the centre Thumbor aligns on.
    assert!(centred
        .points
        .iter()
        .all(|point| point["origin"] == "alignment"));

    let smart = meta(&start(&[DETECTORS]), path);
    let face = smart
        .points
        .iter()
        .find(|point| point["origin"] == "Face Detection")
        .expect("a face");
    let face_x = face["x"].as_f64().expect("x");
    assert!(
        !(left..right).contains(&face_x),
        "the centre crop {left}..{right} should miss the face at {face_x}"
    );
    let (left, _, right, _) = smart.crop.expect("a crop");
    assert!(
        (left..right).contains(&face_x),
        "the smart crop {left}..{right} misses the face at {face_x}"
    );
}

/// Twenty sizes of one photo asked for at once: one detection, and every crop from its points.
#[test]
fn a_burst_of_sizes_of_one_original_detects_once() {
    // Room for every request of the burst in the render queue.
    let server = start(&[DETECTORS, ("MAX_QUEUED_RENDERS", "64")]);
    let answers: Vec<Meta> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let server = &server;
                scope.spawn(move || {
                    meta(
                        server,
                        &format!("/unsafe/meta/{}x300/smart/henner_edge_right.jpg", 60 + i),
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("request thread"))
            .collect()
    });
    assert_eq!(metric(&server, "pictor_smart_detections_total"), 1);
    let first = &answers[0].points;
    assert!(!first.is_empty());
    for answer in &answers {
        assert_eq!(&answer.points, first);
    }
    // Another original is another detection.
    meta(&server, "/unsafe/meta/100x300/smart/maher_edge_right.jpg");
    assert_eq!(metric(&server, "pictor_smart_detections_total"), 2);
}

/// With result storage, the first instance stores the original's focal points beside the
/// results; a second instance reads them instead of detecting. The record is then changed by
/// hand (the face moved to the right edge) so the test sees the second instance's crop follow
/// the record rather than a detection of its own.
#[test]
fn focal_points_are_stored_beside_results_for_other_instances() {
    let results = tempfile::tempdir().expect("tempdir");
    let results_root = results.path().to_str().expect("utf-8").to_string();
    let storage = [
        ("RESULT_STORAGE", "file"),
        (
            "RESULT_STORAGE_FILE_STORAGE_ROOT_PATH",
            results_root.as_str(),
        ),
        ("RESULT_STORAGE_STORES_UNSAFE", "True"),
        DETECTORS,
    ];
    let first = start(&storage);
    let found = meta(&first, "/unsafe/meta/100x300/smart/maher_edge_left.jpg");
    assert!(found.points.iter().any(|p| p["origin"] == "Face Detection"));
    assert_eq!(metric(&first, "pictor_smart_detections_total"), 1);

    let record = wait_for_record(results.path()).expect("a focal-point record beside the results");
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).expect("read record")).expect("JSON");
    assert_eq!(stored["focal_points"][0]["origin"], "Face Detection");

    std::fs::write(
        &record,
        br#"{"focal_points":[{"x":519,"y":100,"width":40,"height":40,"weight":1600,"origin":"Face Detection"}]}"#,
    )
    .expect("rewrite record");
    let second = start(&storage);
    let moved = meta(&second, "/unsafe/meta/120x300/smart/maher_edge_left.jpg");
    let (_, _, right, _) = moved.crop.expect("a crop");
    assert_eq!(
        right, 520.0,
        "the crop follows the stored point to the right edge"
    );
    assert_eq!(metric(&second, "pictor_smart_detections_total"), 0);
}

/// The same with S3 result storage (the test S3 server): the record lands under the result
/// storage's root path, and a second instance reads it (no detection of its own).
#[test]
fn focal_points_are_stored_beside_results_in_s3() {
    let (endpoint, _server) = s3();
    let bucket = unique_bucket("focal");
    seed(&endpoint, &bucket, &[]);
    let storage = [
        ("RESULT_STORAGE", "thumbor_aws.result_storage"),
        ("RESULT_STORAGE_STORES_UNSAFE", "True"),
        ("AWS_RESULT_STORAGE_BUCKET_NAME", bucket.as_str()),
        ("AWS_RESULT_STORAGE_ROOT_PATH", "rs"),
        ("AWS_RESULT_STORAGE_S3_ENDPOINT_URL", endpoint.url.as_str()),
        (
            "AWS_RESULT_STORAGE_S3_ACCESS_KEY_ID",
            endpoint.access_key.as_str(),
        ),
        (
            "AWS_RESULT_STORAGE_S3_SECRET_ACCESS_KEY",
            endpoint.secret_key.as_str(),
        ),
        DETECTORS,
    ];
    let first = start(&storage);
    let found = meta(
        &first,
        "/unsafe/meta/100x300/smart/giunchedi_edge_right.jpg",
    );
    let face = found
        .points
        .iter()
        .find(|p| p["origin"] == "Face Detection")
        .expect("a face")
        .clone();
    let client = sdk(&endpoint);
    let mut keys = Vec::new();
    for _ in 0..100 {
        keys = block_on(async {
            client
                .list_objects_v2()
                .bucket(&bucket)
                .prefix("rs/.focal_points/")
                .send()
                .await
                .expect("list")
                .contents()
                .iter()
                .filter_map(|object| object.key().map(str::to_string))
                .collect::<Vec<_>>()
        });
        if !keys.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        keys.len(),
        1,
        "one record under rs/.focal_points/: {keys:?}"
    );
    let second = start(&storage);
    let again = meta(
        &second,
        "/unsafe/meta/300x100/smart/giunchedi_edge_right.jpg",
    );
    assert!(again.points.contains(&face), "{:?}", again.points);
    assert_eq!(metric(&second, "pictor_smart_detections_total"), 0);
}

/// With the in-memory cache off, a render detects unless result storage holds the original's
/// record: the first render detects and writes it, and later renders, on this instance or
/// another, read it instead of detecting.
#[test]
fn without_the_memory_cache_the_record_is_written_and_read() {
    let results = tempfile::tempdir().expect("tempdir");
    let results_root = results.path().to_str().expect("utf-8").to_string();
    let env = [
        ("RESULT_STORAGE", "file"),
        (
            "RESULT_STORAGE_FILE_STORAGE_ROOT_PATH",
            results_root.as_str(),
        ),
        ("RESULT_STORAGE_STORES_UNSAFE", "True"),
        ("FOCAL_POINTS_CACHE_ENTRIES", "0"),
        DETECTORS,
    ];
    let path = |size: &str| format!("/unsafe/meta/{size}/smart/maher_edge_left.jpg");
    let first = start(&env);
    let detected = meta(&first, &path("100x300"));
    assert_eq!(metric(&first, "pictor_smart_detections_total"), 1);
    assert!(
        wait_for_record(results.path()).is_some(),
        "no focal-point record beside the results"
    );
    let again = meta(&first, &path("120x300"));
    assert_eq!(metric(&first, "pictor_smart_detections_total"), 1);
    assert_eq!(again.points, detected.points);
    let second = start(&env);
    let elsewhere = meta(&second, &path("130x300"));
    assert_eq!(metric(&second, "pictor_smart_detections_total"), 0);
    assert_eq!(elsewhere.points, detected.points);
}

/// The first focal-point record under a result storage root, once one is there: records are
/// written after the answer, so this waits for one (bounded, 5 s).
fn wait_for_record(root: &std::path::Path) -> Option<PathBuf> {
    let folder = root.join(".focal_points");
    for _ in 0..100 {
        if let Some(record) = walk(&folder).into_iter().next() {
            return Some(record);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn walk(folder: &std::path::Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.extension().is_some_and(|ext| ext == "json") {
            files.push(path);
        }
    }
    files
}
