//! Black-box tests of pre-heating: `POST /preheat` queues paths as a background job, workers
//! render them into result storage, `GET /preheat/<job>` counts what became of them.

mod common;
use common::{corpus, Server};
use std::path::Path;
use std::time::Duration;

const SITE_KEY: &str = "site-0123456789abcdef";
const OTHER_KEY: &str = "other-0123456789abcdef";
const SECURITY_KEY: &str = "preheat-security-key";

fn preheat_server(result_root: Option<&Path>, extra: &[(&str, &str)]) -> Server {
    let root = corpus().join("thumbor");
    let root = root.to_str().unwrap().to_string();
    let apps = format!("site:{SITE_KEY}:*,other:{OTHER_KEY}");
    let result_root = result_root.map(|p| p.to_str().unwrap().to_string());
    let mut env: Vec<(&str, &str)> = vec![
        ("FILE_LOADER_ROOT_PATH", root.as_str()),
        ("SECURITY_KEY", SECURITY_KEY),
        ("ALLOW_UNSAFE_URL", "False"),
        ("SIGNING_API_KEYS", apps.as_str()),
        ("METRICS_BIND", "127.0.0.1:0"),
    ];
    if let Some(result_root) = &result_root {
        env.push(("RESULT_STORAGE", "file"));
        env.push(("RESULT_STORAGE_FILE_STORAGE_ROOT_PATH", result_root));
    }
    env.extend_from_slice(extra);
    Server::start(&env)
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

fn post_paths(server: &Server, key: &str, paths: &[&str]) -> common::Response {
    let body = serde_json::json!({ "paths": paths }).to_string();
    server.send(
        "POST",
        "/preheat",
        &[("Authorization", &bearer(key))],
        body.as_bytes(),
    )
}

/// Polls the job until nothing is pending (at most 600 polls); its last status.
fn wait_for_job(server: &Server, key: &str, location: &str) -> serde_json::Value {
    for _ in 0..600 {
        let r = server.request("GET", location, &[("Authorization", &bearer(key))]);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let status = r.json();
        if status["pending"] == 0 {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("job {location} still pending after 600 polls");
}

fn signed(path: &str) -> String {
    format!(
        "/{}/{path}",
        pictor::url::signature::sign(SECURITY_KEY.as_bytes(), path)
    )
}

#[test]
fn a_job_renders_its_paths_into_result_storage_and_a_repeat_costs_no_render() {
    let results = tempfile::tempdir().unwrap();
    let server = preheat_server(Some(results.path()), &[]);
    let good = ["300x200/images/image.jpg", "fit-in/64x64/images/20x20.jpg"];
    let paths = [good[0], good[1], "100x100/images/no-such-image.jpg"];
    let r = post_paths(&server, SITE_KEY, &paths);
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let job = r.json()["job"].as_str().unwrap().to_string();
    let location = r.header("location").unwrap().to_string();
    assert_eq!(location, format!("/preheat/{job}"));

    let status = wait_for_job(&server, SITE_KEY, &location);
    assert_eq!(status["done"], 2, "{status}");
    assert_eq!(status["failed"], 1, "{status}");
    assert_eq!(status["already_stored"], 0, "{status}");
    assert_eq!(
        status["failures"][0]["path"],
        "100x100/images/no-such-image.jpg"
    );
    assert!(
        status["failures"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("404"),
        "{status}"
    );
    assert_eq!(server.background_count("rendered"), 2);
    assert_eq!(server.background_count("failed"), 1);
    // The results are where a visitor's signed request looks them up.
    for path in good {
        let file = pictor::cache::result_storage::file_path(results.path(), &signed(path), false);
        assert!(file.is_file(), "{} not stored", file.display());
    }
    let visitor = server.get(&signed(good[0]));
    assert_eq!(visitor.status, 200);
    assert_eq!(visitor.image_size(), (300, 200));

    // The same paths again: a lookup each, no render.
    let again = post_paths(&server, SITE_KEY, &good);
    assert_eq!(again.status, 202);
    let location = again.header("location").unwrap().to_string();
    let status = wait_for_job(&server, SITE_KEY, &location);
    assert_eq!(status["done"], 2, "{status}");
    assert_eq!(status["already_stored"], 2, "{status}");
    assert_eq!(server.background_count("rendered"), 2);
    assert_eq!(server.background_count("already_stored"), 2);
}

#[test]
fn a_bad_path_is_counted_failed_not_refused() {
    let results = tempfile::tempdir().unwrap();
    let server = preheat_server(Some(results.path()), &[]);
    let r = post_paths(
        &server,
        SITE_KEY,
        // Not UTF-8 once decoded: the URL parser's 400.
        &["300x200/images/image.jpg", "300x200/images/%ff.jpg"],
    );
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let location = r.header("location").unwrap().to_string();
    let status = wait_for_job(&server, SITE_KEY, &location);
    assert_eq!(
        (status["done"].as_u64(), status["failed"].as_u64()),
        (Some(1), Some(1)),
        "{status}"
    );
    assert!(
        status["failures"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("400"),
        "{status}"
    );
}

#[test]
fn keys_bodies_and_the_queue_bound_are_checked_before_anything_is_queued() {
    let results = tempfile::tempdir().unwrap();
    let server = preheat_server(Some(results.path()), &[("BACKGROUND_QUEUE_SIZE", "2")]);
    // No key, a wrong key: 401 as /sign answers.
    let none = server.send("POST", "/preheat", &[], br#"{"paths": ["a.jpg"]}"#);
    assert_eq!(none.status, 401);
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    assert_eq!(post_paths(&server, "wrong-key", &["a.jpg"]).status, 401);
    // Bodies that are not a bounded list of unsigned paths: 400 with the reason.
    let auth = bearer(SITE_KEY);
    for body in [
        &b"not json"[..],
        br#"{"paths": []}"#,
        br#"{"paths": ["unsafe/300x200/a.jpg"]}"#,
    ] {
        let r = server.send("POST", "/preheat", &[("Authorization", &auth)], body);
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(body));
        assert!(r.json()["error"].as_str().is_some());
    }
    let too_many: Vec<String> = (0..1001).map(|i| format!("{i}.jpg")).collect();
    let too_many: Vec<&str> = too_many.iter().map(String::as_str).collect();
    assert_eq!(post_paths(&server, SITE_KEY, &too_many).status, 400);
    // An app confined to its prefix may not pre-heat outside it (as /sign would not sign it).
    let outside = post_paths(&server, OTHER_KEY, &["300x200/images/image.jpg"]);
    assert_eq!(
        outside.status,
        403,
        "{}",
        String::from_utf8_lossy(&outside.body)
    );
    // More paths than BACKGROUND_QUEUE_SIZE: none queued, 503.
    let full = post_paths(
        &server,
        SITE_KEY,
        &["1x1/images/a.jpg", "1x1/images/b.jpg", "1x1/images/c.jpg"],
    );
    assert_eq!(full.status, 503);
    assert_eq!(full.header("retry-after"), Some("1"));
    // A job's status is its app's alone, and unknown jobs are 404.
    let r = post_paths(&server, SITE_KEY, &["10x10/images/image.jpg"]);
    assert_eq!(r.status, 202);
    let location = r.header("location").unwrap().to_string();
    let other = server.request("GET", &location, &[("Authorization", &bearer(OTHER_KEY))]);
    assert_eq!(other.status, 404);
    let unknown = server.request("GET", "/preheat/0000", &[("Authorization", &auth)]);
    assert_eq!(unknown.status, 404);
    wait_for_job(&server, SITE_KEY, &location);
}

#[test]
fn preheat_needs_result_storage() {
    let server = preheat_server(None, &[]);
    let r = post_paths(&server, SITE_KEY, &["300x200/images/image.jpg"]);
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("RESULT_STORAGE"));
}

/// Every file under `dir`, at any depth.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

/// Waits (at most 600 polls) until the background has rendered `count` paths in all.
fn wait_for_renders(server: &Server, count: u64) {
    for _ in 0..600 {
        if server.background_count("rendered") >= count {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("fewer than {count} background renders after 600 polls");
}

const UPLOAD_PRESETS: &str = r#"{"thumb": "fit-in/100x100", "square": "50x50"}"#;

fn upload_id(r: &common::Response) -> String {
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let location = r.header("location").expect("a Location header");
    let rest = location.strip_prefix("/image/").expect(location);
    rest.split_once('/').expect(location).0.to_string()
}

#[test]
fn an_upload_gets_its_presets_rendered_into_result_storage() {
    let results = tempfile::tempdir().unwrap();
    let originals = tempfile::tempdir().unwrap();
    let originals_root = originals.path().to_str().unwrap();
    let server = preheat_server(
        Some(results.path()),
        &[
            ("STORAGE", "file"),
            ("FILE_STORAGE_ROOT_PATH", originals_root),
            ("UPLOAD_ENABLED", "True"),
            ("PRESETS", UPLOAD_PRESETS),
        ],
    );
    let jpeg = std::fs::read(corpus().join("thumbor/images/image.jpg")).unwrap();

    // Thumbor's upload API: the upload's presets are queued once it is stored.
    let id = upload_id(&server.send("POST", "/image", &[("Slug", "cat.jpg")], &jpeg));
    wait_for_renders(&server, 2);
    assert_eq!(files_under(results.path()).len(), 2);
    // They are stored under the names visitors' preset requests look up: asking renders
    // nothing new and stores nothing new.
    for (preset, size) in [("thumb", (75, 100)), ("square", (50, 50))] {
        let r = server.get(&signed(&format!("preset:{preset}/{id}")));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.image_size(), size, "{preset}");
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(files_under(results.path()).len(), 2);
    assert_eq!(server.background_count("rendered"), 2);

    // A JSON upload answers the job, which its app may follow.
    let small = std::fs::read(corpus().join("thumbor/images/20x20.jpg")).unwrap();
    let body = serde_json::json!({"data": {"image": base64_of(&small)}}).to_string();
    let r = server.send(
        "POST",
        "/uploads",
        &[
            ("Authorization", &bearer(OTHER_KEY)),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let job = r.json()["prerender_job"]
        .as_str()
        .expect("a prerender_job")
        .to_string();
    let status = wait_for_job(&server, OTHER_KEY, &format!("/preheat/{job}"));
    assert_eq!(status["done"], 2, "{status}");
    assert_eq!(status["failed"], 0, "{status}");
    assert_eq!(files_under(results.path()).len(), 4);
}

#[test]
fn an_upload_waiting_for_activation_gets_its_presets_rendered_when_activated() {
    let results = tempfile::tempdir().unwrap();
    let originals = tempfile::tempdir().unwrap();
    let incoming = tempfile::tempdir().unwrap();
    let originals_root = originals.path().to_str().unwrap();
    let incoming_root = incoming.path().to_str().unwrap();
    let secret = "activation-secret-0123456789";
    let server = preheat_server(
        Some(results.path()),
        &[
            ("STORAGE", "file"),
            ("FILE_STORAGE_ROOT_PATH", originals_root),
            ("UPLOAD_ENABLED", "True"),
            ("UPLOAD_ACTIVATION", "True"),
            ("INCOMING_FILE_STORAGE_ROOT_PATH", incoming_root),
            ("API_SECRET_KEY", secret),
            ("PRESETS", UPLOAD_PRESETS),
        ],
    );
    let jpeg = std::fs::read(corpus().join("thumbor/images/image.jpg")).unwrap();
    let id = upload_id(&server.send("POST", "/image", &[], &jpeg));
    // Not public yet: nothing is rendered for it.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(server.background_count("rendered"), 0);
    assert!(files_under(results.path()).is_empty());

    let r = server.send(
        "POST",
        &format!("/images/{id}/activate"),
        &[("Authorization", &bearer(secret))],
        b"",
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.json()["prerender_job"].is_string(), "{}", r.json());
    wait_for_renders(&server, 2);
    assert_eq!(files_under(results.path()).len(), 2);
    let r = server.get(&signed(&format!("preset:thumb/{id}")));
    assert_eq!(r.image_size(), (75, 100));
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
