//! Criterion benches: one per filter family, each on a 2-megapixel RGB photo (and the RGBA
//! families on a 2-megapixel RGBA image), through the same `FilterList` path the pipeline uses.
//!
//! cargo bench --bench filters

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use pictor::imaging::decode::{decode, DecodeOptions};
use pictor::imaging::filters::{FilterList, PostTransformContext, RequestSize};
use pictor::imaging::geometry::Size;
use pictor::imaging::transform::{crop_resize, Region, ResamplingFilter};
use pictor::imaging::Image;
use std::collections::HashMap;
use std::path::PathBuf;

/// A corpus file: from $PICTOR_CORPUS when set, else the repository's `tests/data/corpus`.
fn corpus(relative: &str) -> Vec<u8> {
    let base = std::env::var_os("PICTOR_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus"));
    std::fs::read(base.join(relative)).expect("corpus image")
}

/// A 2-megapixel (1732x1155) version of an original.
fn two_megapixels(relative: &str, size: Size) -> Image {
    let options = DecodeOptions {
        max_pixels: 100_000_000,
        shrink: 1,
        first_frame_only: true,
        ..DecodeOptions::new(100_000_000)
    };
    let original = decode(&corpus(relative), &options).expect("decode");
    let region = Region {
        left: 0.0,
        top: 0.0,
        width: f64::from(original.width),
        height: f64::from(original.height),
    };
    crop_resize(&original, region, size, ResamplingFilter::Lanczos3).expect("resize")
}

fn bench_family(
    c: &mut Criterion,
    image: &Image,
    family: &str,
    filters: &[&str],
    assets: &HashMap<String, bytes::Bytes>,
) {
    let mut group = c.benchmark_group(format!("filters/{family}"));
    group.sample_size(10);
    for text in filters {
        let list = FilterList::parse(text);
        assert!(!list.is_empty(), "{text} did not parse");
        let ctx = PostTransformContext {
            request: RequestSize {
                width: image.width + 200,
                height: image.height + 200,
            },
            fit_in: true,
            assets,
            focal_points: &[],
        };
        group.bench_function(*text, |b| {
            b.iter_batched(
                || image.clone(),
                |mut img| list.post_transform(&mut img, &ctx).expect("filter"),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn filters(c: &mut Criterion) {
    let size = Size {
        width: 1732,
        height: 1155,
    };
    let photo = two_megapixels("sharp/2569067123_aca715a2ee_o.jpg", size);
    let alpha = two_megapixels("sharp/alpha-premultiply-2048x1536-paper.png", size);
    let mut assets = HashMap::new();
    assets.insert(
        "watermark.png".to_string(),
        bytes::Bytes::from(corpus("thumbor/images/watermark.png")),
    );
    let none = HashMap::new();

    bench_family(
        c,
        &photo,
        "color",
        &[
            "brightness(20)",
            "contrast(20)",
            "rgb(10,2,4)",
            "saturation(1.5)",
            "colorize(40,80,20,ffffff)",
            "equalize()",
            "grayscale()",
            "curve([(0,0),(128,160),(255,255)],[],[],[])",
        ],
        &none,
    );
    bench_family(c, &photo, "noise", &["noise(40,7)"], &none);
    bench_family(
        c,
        &photo,
        "blur",
        &[
            "blur(4,2)",
            "blur(20)",
            "sharpen(2,1,true)",
            "convolution(1;2;1;2;4;2;1;2;1,3,true)",
        ],
        &none,
    );
    bench_family(
        c,
        &alpha,
        "corners",
        &["round_corner(50,255,0,0)", "round_corner(50,0,0,0,1)"],
        &none,
    );
    bench_family(
        c,
        &alpha,
        "fill",
        &[
            "fill(red)",
            "fill(auto)",
            "fill(blur)",
            "background_color(blue)",
        ],
        &none,
    );
    bench_family(
        c,
        &photo,
        "watermark",
        &[
            "watermark(watermark.png,-10,-10,50)",
            "watermark(watermark.png,repeat,repeat,70)",
        ],
        &assets,
    );
    bench_family(
        c,
        &photo,
        "geometry",
        &["rotate(90)", "proportion(0.5)", "upscale()"],
        &none,
    );
}

criterion_group!(benches, filters);
criterion_main!(benches);
