//! Output quality must not pay for speed: renders with shrink-on-load compared (PSNR) with the
//! same render from a full-size decode — the reference a plain decode + Lanczos3 gives.

use super::tests::{rgb_road_pixels, Parts};
use super::*;
use crate::imaging::{decode, encode, Image, ImageFormat};

fn corpus(relative: &str) -> Vec<u8> {
    crate::test_corpus::read(relative)
}

/// PSNR in dB over every channel of two equally sized buffers.
fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let squared: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum();
    let mse = squared / a.len() as f64;
    if mse == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0 * 255.0 / mse).log10()
}

/// The geometry walk of `render` up to the pixels, with the shrink-on-load given (None: the
/// pipeline's own choice). Returns the shrink used and the output pixels before encoding.
fn render_pixels(path: &str, source: &[u8], shrink: Option<u32>) -> (u32, Image) {
    let settings = ImagingSettings::default();
    let parts = Parts::new(path);
    rgb_road_pixels(source, &parts.job(&settings), shrink)
}

fn decoded_pixels(bytes: &[u8]) -> Vec<u8> {
    let options = decode::DecodeOptions {
        first_frame_only: true,
        ..decode::DecodeOptions::new(u64::MAX)
    };
    decode::decode(bytes, &options)
        .unwrap()
        .frames
        .remove(0)
        .pixels
}

fn jpeg_settings() -> encode::EncodeSettings {
    encode::EncodeSettings {
        quality: 80,
        progressive_jpeg: true,
        png_compression_level: 6,
        webp_method: 4,
        keep_icc: true,
        avif_speed: 10,
    }
}

/// Issue 7's quality bar, on benches/compare.sh's task 1 (2725x2225 -> 720x588, q80): the
/// served JPEG, decoded at 1/2 on load, against the same encode of a full-size decode +
/// Lanczos3; and the pixels before encoding against that reference's pixels.
#[test]
fn task1_shrink_on_load_stays_above_40_db() {
    let source = corpus("sharp/2569067123_aca715a2ee_o.jpg");
    let path = "/unsafe/720x588/a.jpg";
    let (shrink, ours) = render_pixels(path, &source, None);
    assert_eq!(shrink, 2, "task 1 must take the shrink-on-load path");
    let (_, reference) = render_pixels(path, &source, Some(1));
    assert_eq!((ours.width, ours.height), (720, 588));
    let pixels_db = psnr(&ours.frames[0].pixels, &reference.frames[0].pixels);
    assert!(pixels_db >= 40.0, "pixels: {pixels_db:.1} dB");

    let settings = ImagingSettings::default();
    let parts = Parts::new(path);
    let job = parts.job(&settings);
    let served = render(&source, &job).unwrap();
    let reference_jpeg = encode::encode(&reference, ImageFormat::Jpeg, &jpeg_settings()).unwrap();
    let served_db = psnr(
        &decoded_pixels(&served.body),
        &decoded_pixels(&reference_jpeg),
    );
    assert!(served_db >= 40.0, "served JPEG: {served_db:.1} dB");
}

/// Wherever the margin rule picks a shrink, the pixels stay within 40 dB of a full decode.
#[test]
fn chosen_shrinks_stay_above_40_db() {
    let cases = [
        (
            "sharp/2569067123_aca715a2ee_o.jpg",
            "/unsafe/400x0/a.jpg",
            4,
        ),
        (
            "sharp/2569067123_aca715a2ee_o.jpg",
            "/unsafe/300x0/a.jpg",
            4,
        ),
        (
            "sharp/2569067123_aca715a2ee_o.jpg",
            "/unsafe/150x0/a.jpg",
            8,
        ),
        ("thumbor/filters/source.jpg", "/unsafe/300x200/a.jpg", 2),
        ("thumbor/filters/source.jpg", "/unsafe/150x100/a.jpg", 4),
        ("sharp/flowers.jpeg", "/unsafe/300x0/a.jpg", 4),
        ("sharp/Landscape_1.jpg", "/unsafe/300x0/a.jpg", 1),
        // WebP: libwebp's scaled decode (1024x772).
        ("sharp/4.webp", "/unsafe/300x0/a.webp", 1),
        ("sharp/4.webp", "/unsafe/250x0/a.webp", 2),
        ("sharp/4.webp", "/unsafe/120x0/a.webp", 4),
    ];
    for (file, path, expected_shrink) in cases {
        let source = corpus(file);
        let (shrink, ours) = render_pixels(path, &source, None);
        assert_eq!(shrink, expected_shrink, "{file} {path}");
        let (_, reference) = render_pixels(path, &source, Some(1));
        let db = psnr(&ours.frames[0].pixels, &reference.frames[0].pixels);
        assert!(db >= 40.0, "{file} {path}: {db:.1} dB");
    }
}

/// The scaled WebP decode has the size the pipeline maps coordinates with.
#[test]
fn webp_scaled_decode_size() {
    let source = corpus("sharp/4.webp");
    for (shrink, expected) in [
        (1, (1024, 772)),
        (2, (512, 386)),
        (4, (256, 193)),
        (8, (128, 97)),
    ] {
        let options = decode::DecodeOptions {
            shrink,
            first_frame_only: true,
            ..decode::DecodeOptions::new(u64::MAX)
        };
        let image = decode::decode(&source, &options).unwrap();
        assert_eq!((image.width, image.height), expected, "shrink {shrink}");
        assert_eq!(
            image.frames[0].pixels.len(),
            expected.0 as usize * expected.1 as usize * image.layout.channels()
        );
    }
}
