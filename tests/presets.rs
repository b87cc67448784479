//! Black-box tests of presets (PRESETS, PRESETS_ONLY, PRESET_SUFFIX_URLS): the real binary
//! serving `preset:<name>/<image>` paths, signed and unsigned, and `pictor sign --preset`.

mod common;
use common::{corpus, Server};
use std::process::Command;

const KEY: &str = "preset-test-key";
const PRESETS: &str = r#"{"thumb": "fit-in/100x100/filters:quality(80)",
                          "_small": {"width": 40, "height": 30},
                          "wide": "200x50"}"#;

fn server(extra: &[(&str, &str)]) -> Server {
    let root = corpus().join("thumbor");
    let root = root.to_str().unwrap().to_string();
    let mut env: Vec<(&str, &str)> = vec![
        ("FILE_LOADER_ROOT_PATH", root.as_str()),
        ("SECURITY_KEY", KEY),
        ("PRESETS", PRESETS),
    ];
    env.extend_from_slice(extra);
    Server::start(&env)
}

fn signed(path: &str) -> String {
    format!(
        "/{}/{path}",
        pictor::url::signature::sign(KEY.as_bytes(), path)
    )
}

#[test]
fn a_signed_preset_path_renders_the_preset() {
    let s = server(&[("ALLOW_UNSAFE_URL", "False")]);
    // images/image.jpg is 300x400 once oriented: fit-in 100x100 gives 75x100.
    let r = s.get(&signed("preset:thumb/images/image.jpg"));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.image_size(), (75, 100));
    // The signature covers the preset segment too.
    let forged = format!(
        "/{}/preset:wide/images/image.jpg",
        pictor::url::signature::sign(KEY.as_bytes(), "preset:thumb/images/image.jpg")
    );
    assert_eq!(s.get(&forged).status, 400);
    assert_eq!(s.get("/unsafe/preset:thumb/images/image.jpg").status, 400);
}

#[test]
fn unknown_presets_are_400_with_the_name() {
    let s = server(&[]);
    let r = s.get("/unsafe/preset:huge/images/image.jpg");
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("unknown preset"));
    assert_eq!(
        s.get(&signed("preset:thumb:huge/images/image.jpg")).status,
        400
    );
}

#[test]
fn presets_only_serves_nothing_but_presets() {
    let s = server(&[("PRESETS_ONLY", "True")]);
    let r = s.get("/unsafe/300x200/images/image.jpg");
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("only preset paths"));
    assert_eq!(s.get("/unsafe/images/image.jpg").status, 400);
    assert_eq!(s.get(&signed("300x200/images/image.jpg")).status, 400);
    let r = s.get("/unsafe/preset:wide/images/image.jpg");
    assert_eq!(r.status, 200);
    assert_eq!(r.image_size(), (200, 50));
}

#[test]
fn options_after_a_preset_override_it_and_meta_shows_the_expansion() {
    let s = server(&[]);
    let r = s.get("/unsafe/preset:thumb/60x0/images/image.jpg");
    assert_eq!(r.status, 200);
    assert_eq!(r.image_size(), (60, 80));
    let meta = s.get("/unsafe/meta/preset:thumb/60x0/images/image.jpg");
    assert_eq!(meta.status, 200);
    let json = meta.json();
    assert_eq!(json["preset"]["name"], "thumb");
    assert_eq!(json["preset"]["options"], "fit-in/60x0/filters:quality(80)");
    assert_eq!(json["thumbor"]["target"]["width"].as_f64(), Some(60.0));
    // Without presets in the path, the meta document is Thumbor's alone.
    let plain = s.get("/unsafe/meta/60x0/images/image.jpg").json();
    assert!(plain.get("preset").is_none());
}

#[test]
fn the_default_preset_applies_to_every_request() {
    let presets = r#"{"default": "fit-in/40x40", "thumb": "fit-in/100x100"}"#;
    let s = server(&[("PRESETS", presets)]);
    assert_eq!(s.get("/unsafe/images/image.jpg").image_size(), (30, 40));
    // A size in the path overrides the default's; fit-in stays.
    assert_eq!(
        s.get("/unsafe/80x80/images/image.jpg").image_size(),
        (60, 80)
    );
    assert_eq!(
        s.get("/unsafe/preset:thumb/images/image.jpg").image_size(),
        (75, 100)
    );
}

#[test]
fn suffix_urls_serve_c2corg_names() {
    let s = server(&[("PRESET_SUFFIX_URLS", "True")]);
    // `image_small.jpg` is preset `_small` of `image.jpg`.
    let r = s.get("/unsafe/images/image_small.jpg");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.image_size(), (40, 30));
    let r = s.get(&signed("images/imagethumb.jpg"));
    assert_eq!(r.image_size(), (75, 100));
    // An original of that name (there is none) is not looked for; a plain name still is.
    assert_eq!(s.get("/unsafe/images/image.jpg").image_size(), (300, 400));
}

#[test]
fn a_changed_preset_renders_again_from_the_same_result_storage() {
    let results = tempfile::tempdir().unwrap();
    let root = results.path().to_str().unwrap().to_string();
    let stored = [
        ("RESULT_STORAGE", "file"),
        ("RESULT_STORAGE_FILE_STORAGE_ROOT_PATH", root.as_str()),
    ];
    let path = "/unsafe/preset:wide/images/image.jpg";
    {
        let mut first = server(&stored);
        // Unsafe, but nothing but a preset: one of a bounded set, so it is stored.
        assert_eq!(first.get(path).image_size(), (200, 50));
        wait_for_files(results.path(), 1);
        first.terminate();
    }
    let files = || walk(results.path());
    assert_eq!(files().len(), 1, "the preset result was stored");
    let mut env = stored.to_vec();
    let changed = r#"{"wide": "120x40"}"#;
    env.push(("PRESETS", changed));
    let second = server(&env);
    assert_eq!(second.get(path).image_size(), (120, 40));
    wait_for_files(results.path(), 2);
    drop(second);
    assert_eq!(files().len(), 2, "stored under a new name");
}

/// Results are written in the background: waits (boundedly) until `count` files are there.
fn wait_for_files(dir: &std::path::Path, count: usize) {
    for _ in 0..200 {
        if walk(dir).len() >= count {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn a_bad_preset_stops_startup_naming_it() {
    let out = Command::new(common::binary())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env_clear()
        .env(
            "PRESETS",
            r#"{"thumb": "fit-in/100x100", "broken": "100x100/nonsense"}"#,
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("PRESETS") && stderr.contains("\"broken\""),
        "{stderr}"
    );
}

#[test]
fn sign_command_and_endpoint_know_presets() {
    let sign = |args: &[&str]| {
        Command::new(common::binary())
            .arg("sign")
            .args(args)
            .env_clear()
            .env("SECURITY_KEY", KEY)
            .env("PRESETS", PRESETS)
            .output()
            .unwrap()
    };
    let out = sign(&["--preset", "thumb", "--image", "images/my image.jpg"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        signed("preset:thumb/images/my%20image.jpg")
    );
    let out = sign(&["--preset", "thumb", "60x0/images/image.jpg"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        signed("preset:thumb/60x0/images/image.jpg")
    );
    let out = sign(&["--preset", "nope", "images/image.jpg"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));

    let s = server(&[("SIGNING_API_KEYS", "blog:blog-0123456789abcdef:images/")]);
    let auth = [("Authorization", "Bearer blog-0123456789abcdef")];
    let r = s.send(
        "POST",
        "/sign",
        &auth,
        br#"{"preset": "thumb", "image": "images/image.jpg"}"#,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let url = r.json()["signed"].as_str().unwrap().to_string();
    assert_eq!(url, signed("preset:thumb/images/image.jpg"));
    assert_eq!(s.get(&url).image_size(), (75, 100));
    let r = s.request("GET", "/sign?url=preset:nope/images/image.jpg", &auth);
    assert_eq!(r.status, 400);
    // The app's prefix applies to the preset's image.
    let r = s.request("GET", "/sign?url=preset:thumb/other/image.jpg", &auth);
    assert_eq!(r.status, 403);
}
