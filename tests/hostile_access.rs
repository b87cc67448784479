//! Black-box tests of multi-tenant confinement and storage keys: a `/sign` app limited to a
//! prefix cannot get a path signed that loads anything outside it (through `extract_focal()`,
//! `watermark()`/`frame()`, double-encoded `..`, or a sibling folder), and result storage does
//! not answer one request with another's stored result.

mod common;
use common::{corpus, Server};
use std::time::{Duration, Instant};

/// Limited to `images/` (the default prefix: the app's name).
const IMAGES_KEY: &str = "images-0123456789abcdef";
/// Limited to `t1`, given without a trailing `/`.
const T1_KEY: &str = "t1-0123456789abcdef0123";

/// The file loader over the corpus' `thumbor/` folder: `images/` is one tenant's, `filters/`
/// another's.
fn tenants() -> Server {
    let root = corpus().join("thumbor");
    let apps = format!("images:{IMAGES_KEY},t1:{T1_KEY}:t1");
    Server::start(&[
        ("FILE_LOADER_ROOT_PATH", root.to_str().unwrap()),
        ("SECURITY_KEY", "tenant-security-key"),
        ("ALLOW_UNSAFE_URL", "False"),
        ("SIGNING_API_KEYS", apps.as_str()),
    ])
}

/// Asks `/sign` for `path` (sent in a JSON body, so the path text arrives exactly as written).
fn sign(server: &Server, key: &str, path: &str) -> common::Response {
    let auth = format!("Bearer {key}");
    let body = serde_json::json!({ "url": path }).to_string();
    server.send(
        "POST",
        "/sign",
        &[("Authorization", &auth)],
        body.as_bytes(),
    )
}

fn assert_refused(server: &Server, key: &str, path: &str) {
    let r = sign(server, key, path);
    assert_eq!(
        r.status,
        403,
        "{path}: {}",
        String::from_utf8_lossy(&r.body)
    );
    let reason = r.json()["error"].as_str().unwrap().to_string();
    assert!(!reason.contains('\n'), "{reason}");
}

/// Signs `path` and fetches the signed URL: the status the app's users would see.
fn sign_and_get(server: &Server, key: &str, path: &str) -> common::Response {
    let r = sign(server, key, path);
    assert_eq!(
        r.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&r.body)
    );
    let signed = r.json()["signed"].as_str().unwrap().to_string();
    server.get(&signed)
}

#[test]
fn extract_focal_cannot_unwrap_to_another_tenants_image() {
    let server = tenants();
    // The image starts with `images/`, but what extract_focal() loads is `filters/source.jpg`.
    assert_refused(
        &server,
        IMAGES_KEY,
        "100x100/filters:extract_focal()/images/unsafe/1x1:2x2/filters/source.jpg",
    );
    assert_refused(
        &server,
        IMAGES_KEY,
        "100x100/filters:extract_focal()/images/unsafe/h2/unsafe/1x1:2x2/filters/source.jpg",
    );
    // A nested URL whose original is the tenant's own is fine, whatever host it names.
    let own = sign_and_get(
        &server,
        IMAGES_KEY,
        "100x100/filters:extract_focal()/thumbor.host/unsafe/10x10:60x60/images/image.jpg",
    );
    assert_eq!(own.status, 200);
    assert_eq!(own.image_size(), (100, 100));
}

#[test]
fn watermark_and_frame_cannot_use_another_tenants_image() {
    let server = tenants();
    for path in [
        "100x100/filters:watermark(filters/watermark.png,0,0,0)/images/image.jpg",
        "100x100/filters:watermark('filters/watermark.png',10,10,50)/images/image.jpg",
        "100x100/filters:frame(filters/watermark.png)/images/image.jpg",
        "100x100/filters:quality(90):frame(images/../filters/watermark.png)/images/image.jpg",
    ] {
        assert_refused(&server, IMAGES_KEY, path);
    }
    let own = sign_and_get(
        &server,
        IMAGES_KEY,
        "100x100/filters:watermark(images/watermark.png,0,0,0)/images/image.jpg",
    );
    assert_eq!(own.status, 200);
    assert_eq!(own.image_size(), (100, 100));
}

#[test]
fn double_encoded_dots_are_refused() {
    let server = tenants();
    for path in [
        // Decoded once by the parser to `%2e%2e`, which a URL parser (the HTTP loader) reads as
        // `..`.
        "300x200/images/%252e%252e/filters/source.jpg",
        "300x200/images/%252E%252e/filters/source.jpg",
        "300x200/images/.%252e/filters/source.jpg",
        "300x200/images/%25252e%25252e/filters/source.jpg",
        // An encoded `/` that a later decoding turns into a climb.
        "300x200/images/x%252f..%252f..%252ffilters/source.jpg",
        "300x200/images/..%255cfilters/source.jpg",
        "300x200/filters:watermark(images/%252e%252e/filters/watermark.png,0,0,0)/images/image.jpg",
    ] {
        assert_refused(&server, IMAGES_KEY, path);
    }
    // A literal escape in a real file name is still fine.
    let literal = sign(&server, IMAGES_KEY, "300x200/images/image.jpg%253Fts%253D1");
    assert_eq!(literal.status, 200);
}

#[test]
fn a_prefix_without_a_slash_is_a_folder_not_a_string_prefix() {
    let server = tenants();
    for path in ["300x200/t10/secret.jpg", "t1.jpg", "t1secret/a.jpg", "t1/"] {
        assert_refused(&server, T1_KEY, path);
    }
    assert_eq!(sign(&server, T1_KEY, "300x200/t1/a.jpg").status, 200);
    // The default prefix is a folder too.
    assert_refused(&server, IMAGES_KEY, "300x200/images2/a.jpg");
}

#[test]
fn a_prefix_that_climbs_stops_start_up() {
    let root = corpus().join("thumbor");
    let mut child = std::process::Command::new(common::binary())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env_clear()
        .env("FILE_LOADER_ROOT_PATH", root.to_str().unwrap())
        .env("SIGNING_API_KEYS", format!("a:{T1_KEY}:images/../filters"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        status.is_some_and(|s| !s.success()),
        "started with a climbing prefix: {status:?}"
    );
}

/// With RESULT_STORAGE_STORES_UNSAFE, `/unsafe/300x200%2Fimages/image.jpg` (the image
/// `300x200/images/image.jpg`, which does not exist) must not be answered with the stored
/// result of `/unsafe/300x200/images/image.jpg`.
#[test]
fn result_storage_keeps_apart_paths_that_decoding_would_merge() {
    let storage = tempfile::tempdir().unwrap();
    let root = corpus().join("thumbor");
    let server = Server::start(&[
        ("FILE_LOADER_ROOT_PATH", root.to_str().unwrap()),
        ("RESULT_STORAGE", "file"),
        (
            "RESULT_STORAGE_FILE_STORAGE_ROOT_PATH",
            storage.path().to_str().unwrap(),
        ),
        ("RESULT_STORAGE_STORES_UNSAFE", "True"),
    ]);
    let resized = server.get("/unsafe/300x200/images/image.jpg");
    assert_eq!(resized.status, 200);
    assert_eq!(resized.image_size(), (300, 200));
    // The write is in the background: wait (bounded) until the stored file is there.
    let deadline = Instant::now() + Duration::from_secs(10);
    while count_files(storage.path()) == 0 {
        assert!(Instant::now() < deadline, "nothing was stored");
        std::thread::sleep(Duration::from_millis(50));
    }
    let other = server.get("/unsafe/300x200%2Fimages/image.jpg");
    assert_eq!(other.status, 404, "answered from another request's result");
    let cased = server.get("/unsafe/300x200%2fimages/image.jpg");
    assert_eq!(cased.status, 404);
}

fn count_files(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                count_files(&path)
            } else {
                1
            }
        })
        .sum()
}
