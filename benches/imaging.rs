//! Criterion benches of the imaging stages on corpus images: decode (full and shrunk on
//! load, and the JPEG → JPEG path's planes by both decoders; JPEG XL, HEIC and SVG), resize, encode per format, the
//! smart-crop detectors (feature, face, attention, profile, glasses), and the end-to-end renders of benches/compare.sh's tasks.
//!
//! cargo bench --bench imaging                 # everything
//! cargo bench --bench imaging -- end_to_end   # one group

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pictor::imaging::decode::{self, DecodeOptions};
use pictor::imaging::detect::{attention, face, feature, haar};
use pictor::imaging::encode::{self, EncodeSettings};
use pictor::imaging::geometry::{PixelRect, Size};
use pictor::imaging::jpeg;
use pictor::imaging::settings::ImagingSettings;
use pictor::imaging::transform::{self, Region};
use pictor::imaging::{render, Image, ImageFormat, RenderJob};
use pictor::url::parse_path;
use std::path::PathBuf;
use std::time::Duration;

const TASK1_JPEG: &str = "sharp/2569067123_aca715a2ee_o.jpg";
const TASK2_JPEG: &str = "thumbor/filters/source.jpg";
const TASK3_PNG: &str = "sharp/alpha-premultiply-2048x1536-paper.png";
const WEBP: &str = "sharp/4.webp";

/// A corpus file: from $PICTOR_CORPUS when set, else the repository's `tests/data/corpus`.
fn corpus(relative: &str) -> Vec<u8> {
    let root = std::env::var_os("PICTOR_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus"));
    std::fs::read(root.join(relative)).expect("corpus file")
}

fn decode_at(bytes: &[u8], shrink: u32) -> Image {
    let options = DecodeOptions {
        max_pixels: 75_000_000,
        shrink,
        first_frame_only: false,
        ..DecodeOptions::new(75_000_000)
    };
    decode::decode(bytes, &options).expect("decodes")
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    let jpeg = corpus(TASK1_JPEG);
    for shrink in [1, 2, 4, 8] {
        group.bench_with_input(
            BenchmarkId::new("jpeg_2725x2225", shrink),
            &shrink,
            |b, &s| b.iter(|| decode_at(&jpeg, s)),
        );
    }
    // The JPEG -> JPEG path's planes: pictor's baseline decoder against libjpeg's raw-data
    // decode of the same files at the same scales.
    for (name, file) in [("jpeg_2725x2225", TASK1_JPEG), ("jpeg_800x533", TASK2_JPEG)] {
        let bytes = corpus(file);
        for shrink in [2, 4, 8] {
            group.bench_with_input(
                BenchmarkId::new(format!("planes_{name}"), shrink),
                &shrink,
                |b, &s| b.iter(|| jpeg::decode_planes(&bytes, s, false).expect("decodes")),
            );
            // Task 2's own call: its 4:4:4 chroma decoded halved for the 4:2:0 output.
            group.bench_with_input(
                BenchmarkId::new(format!("planes_halved_chroma_{name}"), shrink),
                &shrink,
                |b, &s| b.iter(|| jpeg::decode_planes(&bytes, s, true).expect("decodes")),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("planes_libjpeg_{name}"), shrink),
                &shrink,
                |b, &s| b.iter(|| jpeg::decode_planes_with_libjpeg(&bytes, s).expect("decodes")),
            );
        }
    }
    let png = corpus(TASK3_PNG);
    group.bench_function("png_rgba_2048x1536", |b| b.iter(|| decode_at(&png, 1)));
    let webp = corpus(WEBP);
    group.bench_function("webp", |b| b.iter(|| decode_at(&webp, 1)));
    group.finish();
}

/// A file made for the format tests (`tests/data/formats/`).
fn test_data(relative: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(relative),
    )
    .expect("test data file")
}

/// Decode cost of the JPEG XL, HEIC and SVG originals, beside a JPEG and a PNG of the same
/// picture: `cargo bench --bench imaging -- decode_formats`.
fn bench_decode_formats(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode_formats");
    let jpeg = corpus("thumbor/images/Giunchedi%2C_Filippo_January_2015_01.jpg");
    group.bench_function("jpeg_800x533", |b| b.iter(|| decode_at(&jpeg, 1)));
    let png = corpus("thumbor/images/Giunchedi%2C_Filippo_January_2015_01.png");
    group.bench_function("png_800x533", |b| b.iter(|| decode_at(&png, 1)));
    let jxl = test_data("formats/giunchedi.jxl");
    group.bench_function("jxl_800x533", |b| b.iter(|| decode_at(&jxl, 1)));
    let animated = test_data("formats/animated.jxl");
    group.bench_function("jxl_animated_100x100x2", |b| {
        b.iter(|| decode_at(&animated, 1))
    });
    let heic = test_data("formats/giunchedi.heic");
    group.bench_function("heic_probe", |b| {
        b.iter(|| decode::probe(&heic).expect("probes"))
    });
    group.bench_function("heic_800x533", |b| b.iter(|| decode_at(&heic, 1)));
    let grid = test_data("formats/grid-irot-exif6.heic");
    group.bench_function("heic_grid_6_tiles_480x720_rotated", |b| {
        b.iter(|| decode_at(&grid, 1))
    });
    let ten_bit = test_data("formats/flag-10bit.heic");
    group.bench_function("heic_10bit_900x600", |b| b.iter(|| decode_at(&ten_bit, 1)));
    let alpha = test_data("formats/watermark-alpha.heic");
    group.bench_function("heic_alpha_30x30", |b| b.iter(|| decode_at(&alpha, 1)));
    let svg = corpus("thumbor/images/Commons-logo.svg");
    let header = decode::probe(&svg).expect("probes");
    group.bench_function("svg_probe", |b| {
        b.iter(|| decode::probe(&svg).expect("probes"))
    });
    group.bench_function("svg_1024x1376", |b| b.iter(|| decode_at(&svg, 1)));
    let options = DecodeOptions::new(75_000_000);
    group.bench_function("svg_drawn_at_300x403", |b| {
        b.iter(|| decode::draw_at_size(&svg, &header, &options, (300, 403)).expect("draws"))
    });
    group.finish();
}

fn resize(image: &Image, output: Size) -> Image {
    let whole = Region::from_rect(PixelRect::full(Size::new(image.width, image.height)));
    transform::crop_resize(image, whole, output, transform::ResamplingFilter::Lanczos3)
        .expect("resizes")
}

fn bench_resize(c: &mut Criterion) {
    let mut group = c.benchmark_group("resize_lanczos3");
    let half = decode_at(&corpus(TASK1_JPEG), 2);
    group.throughput(Throughput::Elements(u64::from(half.width * half.height)));
    group.bench_function("rgb_1363x1113_to_720x588", |b| {
        b.iter(|| resize(&half, Size::new(720, 588)))
    });
    let rgba = decode_at(&corpus(TASK3_PNG), 1);
    group.throughput(Throughput::Elements(u64::from(rgba.width * rgba.height)));
    group.bench_function("rgba_2048x1536_to_720x540", |b| {
        b.iter(|| resize(&rgba, Size::new(720, 540)))
    });
    group.finish();
}

fn bench_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode_720px");
    let settings = EncodeSettings {
        quality: 80,
        progressive_jpeg: true,
        png_compression_level: 6,
        webp_method: ImagingSettings::default().webp_method,
        keep_icc: true,
        avif_speed: 10,
    };
    let rgb = resize(&decode_at(&corpus(TASK1_JPEG), 2), Size::new(720, 588));
    let rgba = resize(&decode_at(&corpus(TASK3_PNG), 1), Size::new(720, 540));
    let mut formats = vec![
        ("jpeg", ImageFormat::Jpeg, &rgb),
        ("webp", ImageFormat::Webp, &rgb),
        ("png_rgba", ImageFormat::Png, &rgba),
    ];
    if encode::can_encode(ImageFormat::Avif) {
        formats.push(("avif", ImageFormat::Avif, &rgb));
    }
    for (name, format, image) in formats {
        group.bench_function(name, |b| {
            b.iter(|| encode::encode(image, format, &settings).expect("encodes"))
        });
    }
    // WEBP_METHOD's speed/size trade-off (the byte counts go to stderr).
    for method in 0..=4 {
        let settings = EncodeSettings {
            webp_method: method,
            ..settings.clone()
        };
        let bytes = encode::encode(&rgb, ImageFormat::Webp, &settings).expect("encodes");
        eprintln!("webp method {method}: {} bytes", bytes.len());
        group.bench_with_input(
            BenchmarkId::new("webp_method", method),
            &settings,
            |b, s| b.iter(|| encode::encode(&rgb, ImageFormat::Webp, s).expect("encodes")),
        );
    }
    group.finish();
}

fn bench_detect(c: &mut Criterion) {
    let mut group = c.benchmark_group("detect");
    // Smart crop will run the detectors on a copy at most 600 px on its longer side.
    let image = resize(&decode_at(&corpus(TASK2_JPEG), 1), Size::new(600, 400));
    let gray = feature::pil_grayscale(&image.frames[0].pixels, image.layout.channels());
    let (width, height) = (image.width as usize, image.height as usize);
    group.throughput(Throughput::Elements((width * height) as u64));
    group.bench_function("feature_600px", |b| {
        b.iter(|| feature::thumbor_feature_points(&gray, width, height))
    });
    // The portrait of task 2 holds one face: the face detector's cost where it finds one.
    group.bench_function("face_600px", |b| {
        b.iter(|| face::faces(&gray, image.width, image.height))
    });
    group.bench_function("attention_600px", |b| {
        b.iter(|| {
            attention::attention_point(
                &gray,
                &image.frames[0].pixels,
                image.layout.channels(),
                image.width,
                image.height,
            )
        })
    });
    // The Haar cascades of the profile and glasses detectors, with Thumbor's parameters.
    let min_size = pictor::imaging::detect::thumbor_min_size(width, height);
    for (name, cascade) in [
        ("profile_600px", haar::profile_face()),
        ("glasses_600px", haar::eyeglasses()),
    ] {
        let cascade = cascade.expect("the cascade reads");
        group.bench_function(name, |b| {
            b.iter(|| {
                cascade.detect_multi_scale(
                    &gray,
                    width,
                    height,
                    haar::THUMBOR_SCALE_FACTOR,
                    haar::THUMBOR_MIN_NEIGHBORS,
                    min_size,
                )
            })
        });
    }
    group.finish();
}

fn bench_end_to_end(c: &mut Criterion) {
    let mut group = c.benchmark_group("end_to_end");
    let settings = ImagingSettings::default();
    let tasks = [
        ("task1_jpeg_720x588", "/unsafe/720x588/a.jpg", TASK1_JPEG),
        ("task2_jpeg_300x200", "/unsafe/300x200/a.jpg", TASK2_JPEG),
        ("task3_png_720x540", "/unsafe/720x540/a.png", TASK3_PNG),
        (
            "task4_webp_720x588",
            "/unsafe/720x588/filters:format(webp)/a.jpg",
            TASK1_JPEG,
        ),
    ];
    for (name, path, file) in tasks {
        let source = corpus(file);
        let request = parse_path(path).expect("valid path");
        let job = RenderJob::new(&request, &settings);
        group.bench_function(name, |b| b.iter(|| render(&source, &job).expect("renders")));
    }
    group.finish();
}

fn config() -> Criterion {
    // Short runs: the machine is small and shared; the numbers are for comparing changes.
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_decode, bench_decode_formats, bench_resize, bench_encode, bench_detect, bench_end_to_end
}
criterion_main!(benches);
