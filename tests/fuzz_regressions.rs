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

/// Feeds every saved input of `target` to `entry`: there must be some, and none may panic.
fn replay(target: &str, entry: fn(&[u8])) {
    let cases = inputs(target);
    assert!(!cases.is_empty(), "no saved inputs for {target}");
    for (path, bytes) in cases {
        let ok = std::panic::catch_unwind(|| entry(&bytes));
        assert!(ok.is_ok(), "{}", path.display());
    }
}

#[test]
fn url_parse_regressions() {
    replay("url_parse", pictor::fuzzing::url_parse);
}

#[test]
fn preset_definitions_regressions() {
    replay("preset_definitions", pictor::fuzzing::preset_definitions);
}

#[test]
fn filters_parse_regressions() {
    replay("filters_parse", pictor::fuzzing::filters_parse);
}

#[test]
fn render_regressions() {
    replay("render", pictor::fuzzing::render);
}

#[test]
fn jpeg_planes_regressions() {
    replay("jpeg_planes", pictor::fuzzing::jpeg_planes);
}

#[cfg(feature = "avif")]
#[test]
fn heif_container_regressions() {
    replay("heif_container", pictor::fuzzing::heif_container);
}

#[test]
fn svg_regressions() {
    replay("svg", pictor::fuzzing::svg);
}

#[test]
fn heic_regressions() {
    replay("heic", pictor::fuzzing::heic);
}

#[test]
fn jxl_regressions() {
    replay("jxl", pictor::fuzzing::jxl);
}

#[test]
fn jpeg2000_regressions() {
    replay("jpeg2000", pictor::fuzzing::jpeg2000);
}

#[test]
fn jpeg_writer_regressions() {
    replay("jpeg_writer", pictor::fuzzing::jpeg_writer);
}

#[test]
fn probe_decode_regressions() {
    replay("probe_decode", pictor::fuzzing::probe_decode);
}

#[test]
fn filters_regressions() {
    replay("filters", pictor::fuzzing::filters);
}

#[test]
fn sign_prefix_regressions() {
    replay("sign_prefix", pictor::fuzzing::sign_prefix);
}

#[test]
fn multipart_regressions() {
    replay("multipart", pictor::fuzzing::multipart);
}

#[test]
fn job_message_regressions() {
    replay("job_message", pictor::fuzzing::job_message);
}

#[test]
fn haar_cascade_regressions() {
    replay("haar_cascade", pictor::fuzzing::haar_cascade);
}

#[test]
fn focal_point_record_regressions() {
    replay("focal_point_record", pictor::fuzzing::focal_point_record);
}

#[test]
fn moderation_sidecar_regressions() {
    replay("moderation_sidecar", pictor::fuzzing::moderation_sidecar);
}
