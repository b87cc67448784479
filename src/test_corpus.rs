//! Test-only helpers shared by the unit tests of every module: the image corpus they read
//! (`tests/data/corpus` in the repository) and PSNR. Compiled only for tests.

use std::path::PathBuf;

/// The corpus root: `$PICTOR_CORPUS` when set (to run the tests over another copy with the same
/// layout), else the repository's own `tests/data/corpus`, so a bare clone needs nothing beside it.
pub(crate) fn root() -> PathBuf {
    match std::env::var_os("PICTOR_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus"),
    }
}

/// The bytes of a corpus file, e.g. `read("thumbor/images/image.jpg")`.
pub(crate) fn read(relative: &str) -> Vec<u8> {
    let path = root().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Peak signal-to-noise ratio of two equally long 8-bit buffers, in dB (infinite when equal).
pub(crate) fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len(), "psnr of buffers of different sizes");
    let squared_error: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    if squared_error == 0.0 {
        return f64::INFINITY;
    }
    let mse = squared_error / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// The bytes of a file made for pictor's own tests under `tests/data/` (e.g.
/// `formats/animated.jxl`): not part of the corpus `PICTOR_CORPUS` swaps.
pub(crate) fn read_test_data(relative: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
