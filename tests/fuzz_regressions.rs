//! Replays every saved fuzzing input (`fuzz/regressions/<target>/*`, crashes found by cargo-fuzz
//! and seeds) through the same entry points the fuzz targets use: none may panic.

use std::path::PathBuf;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

#[test]
fn url_parse_regressions() {
    let cases = inputs("url_parse");
    assert!(!cases.is_empty());
    for (path, bytes) in cases {
        let ok = std::panic::catch_unwind(|| pictor::fuzzing::url_parse(&bytes));
        assert!(ok.is_ok(), "{}", path.display());
    }
}

#[test]
fn filters_parse_regressions() {
    let cases = inputs("filters_parse");
    assert!(!cases.is_empty());
    for (path, bytes) in cases {
        let ok = std::panic::catch_unwind(|| pictor::fuzzing::filters_parse(&bytes));
        assert!(ok.is_ok(), "{}", path.display());
    }
}

#[test]
fn render_regressions() {
    let cases = inputs("render");
    assert!(!cases.is_empty());
    for (path, bytes) in cases {
        let ok = std::panic::catch_unwind(|| pictor::fuzzing::render(&bytes));
        assert!(ok.is_ok(), "{}", path.display());
    }
}

#[test]
fn jpeg_planes_regressions() {
    let cases = inputs("jpeg_planes");
    assert!(!cases.is_empty());
    for (path, bytes) in cases {
        let ok = std::panic::catch_unwind(|| pictor::fuzzing::jpeg_planes(&bytes));
        assert!(ok.is_ok(), "{}", path.display());
    }
}
