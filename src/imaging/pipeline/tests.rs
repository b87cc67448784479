//! Tests of the render walk: the steps' pure helpers, the step list run in part, and
//! end-to-end renders of corpus images (these need the real decoders and encoders). The
//! helpers here are shared with `quality_tests` and `planes_road_tests`.

use super::context::{Pixels, RenderContext, Road};
use super::coordinates::PlanToPixels;
use super::geometry_setup::{geometry_setup, GeometrySetup};
use super::meta_json::{python_float_repr, write_json_string};
use super::output_format::{png_to_jpg_enabled, quality as encode_quality};
use super::plan::plan_geometry;
use super::runner::{self, steps_between};
use super::shrink_on_load::choose_shrink;
use super::*;
use crate::imaging::decode::{self, DecodeOptions, Probe};
use crate::imaging::filters::OutputOverrides;
use crate::imaging::geometry::{PixelRect, Plan, Size};
use crate::imaging::transform;
use crate::imaging::transform::Region;
use crate::imaging::{Image, ImageFormat};
use crate::url::parse_path;

fn corpus(relative: &str) -> Vec<u8> {
    crate::test_corpus::read(relative)
}

/// A request with its parsed filters and (no) filter images, to build jobs from.
pub(super) struct Parts {
    pub request: ImageRequest,
}

impl Parts {
    pub fn new(path: &str) -> Parts {
        Parts {
            request: parse_path(path).unwrap(),
        }
    }

    pub fn job<'a>(&'a self, settings: &'a ImagingSettings) -> RenderJob<'a> {
        RenderJob::new(&self.request, settings)
    }
}

fn render_path(
    path: &str,
    source: &[u8],
    settings: &ImagingSettings,
) -> Result<RenderOutput, ImagingError> {
    let parts = Parts::new(path);
    render(source, &parts.job(settings))
}

/// Renders and decodes the output again: its size.
fn rendered_size(path: &str, source: &[u8], settings: &ImagingSettings) -> (u32, u32) {
    let output = render_path(path, source, settings).unwrap();
    let probe = decode::probe(&output.body).unwrap();
    (probe.width, probe.height)
}

/// The steps of `job` up to (not including) `until`, on `source` or, without it, on an
/// original that only has `header` (enough for every step before `decode`).
pub(super) fn run_until<'a>(
    source: &'a [u8],
    header: Option<Probe>,
    job: &'a RenderJob<'a>,
    until: &str,
) -> RenderContext<'a> {
    let mut context = RenderContext::new(source, job, header);
    runner::run(&mut context, steps_between(STEPS, "probe", Some(until))).unwrap();
    context
}

/// The RGB road's output pixels before the filters (decode, crop + resize, orient, flip),
/// with the shrink-on-load given (`None`: the pipeline's own choice). Returns the shrink used.
pub(super) fn rgb_road_pixels(
    source: &[u8],
    job: &RenderJob<'_>,
    shrink: Option<u32>,
) -> (u32, Image) {
    let mut context = run_until(source, None, job, "road");
    if let Some(shrink) = shrink {
        context.shrink = shrink;
    }
    runner::run(
        &mut context,
        steps_between(STEPS, "decode", Some("filters")),
    )
    .unwrap();
    assert_eq!(context.road, Road::Rgb);
    match context.pixels {
        Pixels::Rgb(image) => (context.shrink, image),
        _ => panic!("the RGB road ends with RGB pixels"),
    }
}

/// Whether `job` on an original with `header` takes the planes road.
pub(super) fn takes_planes_road(header: &Probe, job: &RenderJob<'_>) -> bool {
    run_until(&[], Some(header.clone()), job, "decode").road == Road::JpegPlanes
}

fn image_jpg() -> Vec<u8> {
    corpus("thumbor/images/image.jpg")
}

#[test]
fn python_float_repr_matches_python() {
    let cases = [
        (100.0, "100.0"),
        (133.0, "133.0"),
        (133.33333333333334, "133.33333333333334"),
        (0.5, "0.5"),
        (1234.5, "1234.5"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1e15, "1000000000000000.0"),
        (1e16, "1e+16"),
        (1.5e16, "1.5e+16"),
        (-2.25, "-2.25"),
        (0.0, "0.0"),
    ];
    for (value, expected) in cases {
        assert_eq!(python_float_repr(value), expected, "{value}");
    }
}

#[test]
fn json_strings_are_escaped_like_python() {
    let mut out = String::new();
    write_json_string("a\"b\\c\n\u{e9}\u{1F600}", &mut out);
    assert_eq!(out, r#""a\"b\\c\n\u00e9\ud83d\ude00""#);
}

#[test]
fn autojpg_override_keeps_the_780_quirk() {
    let mut settings = ImagingSettings::default();
    let overrides = |autojpg| OutputOverrides {
        autojpg,
        ..OutputOverrides::default()
    };
    assert!(!png_to_jpg_enabled(&settings, &overrides(None)));
    assert!(png_to_jpg_enabled(&settings, &overrides(Some(true))));
    assert!(!png_to_jpg_enabled(&settings, &overrides(Some(false))));
    settings.auto_png_to_jpg = true;
    assert!(png_to_jpg_enabled(&settings, &overrides(None)));
    // 7.8.0: with the config on, any autojpg filter disables the conversion.
    assert!(!png_to_jpg_enabled(&settings, &overrides(Some(true))));
    assert!(!png_to_jpg_enabled(&settings, &overrides(Some(false))));
}

#[test]
fn quality_resolution() {
    let mut settings = ImagingSettings::default();
    let none = OutputOverrides::default();
    let filter = OutputOverrides {
        quality: Some(10),
        ..OutputOverrides::default()
    };
    assert_eq!(encode_quality(ImageFormat::Jpeg, &none, &settings), 80);
    assert_eq!(encode_quality(ImageFormat::Webp, &none, &settings), 80);
    settings.webp_quality = Some(60);
    assert_eq!(encode_quality(ImageFormat::Webp, &none, &settings), 60);
    assert_eq!(encode_quality(ImageFormat::Jpeg, &none, &settings), 80);
    assert_eq!(encode_quality(ImageFormat::Webp, &filter, &settings), 10);
}

fn jpeg_probe(width: u32, height: u32) -> Probe {
    Probe {
        format: ImageFormat::Jpeg,
        width,
        height,
        orientation: 1,
    }
}

fn shrink_for(path: &str, header: &Probe, settings: &ImagingSettings) -> u32 {
    with_plan(path, header, settings, |setup, plan, request| {
        choose_shrink(header, setup, plan, request)
    })
}

/// `f` of the geometry `path` plans for an original with `header`.
fn with_plan<T>(
    path: &str,
    header: &Probe,
    settings: &ImagingSettings,
    f: impl FnOnce(&GeometrySetup, &Plan, &ImageRequest) -> T,
) -> T {
    // The set-up and plan as the `prepare` and `plan` steps make them, without the `trim`
    // step between them (it would decode the original, which these tests do not have).
    let parts = Parts::new(path);
    let job = parts.job(settings);
    let setup = geometry_setup(header, &job);
    let plan = plan_geometry(&setup, setup.working_size(), &parts.request);
    f(&setup, &plan, &parts.request)
}

/// 4:4:4 chroma is decoded halved exactly when the resize would box-halve it: the benchmark's
/// task 2 (800x533 at 1/2 to 300x200), but not 307 wide, whose 154-sample chroma is more
/// than 400 / 2.6.
#[test]
fn full_chroma_is_decoded_halved_where_the_resize_would_halve_it() {
    let settings = ImagingSettings::default();
    let header = jpeg_probe(800, 533);
    for (path, halved) in [
        ("/unsafe/300x200/a.jpg", true),
        ("/unsafe/307x0/a.jpg", false),
    ] {
        let (shrink, decision) = with_plan(path, &header, &settings, |setup, plan, request| {
            let shrink = choose_shrink(&header, setup, plan, request);
            (
                shrink,
                super::jpeg_planes::full_chroma_halved_on_decode(&header, setup, plan, shrink),
            )
        });
        assert_eq!((shrink, decision), (2, halved), "{path}");
    }
}

#[test]
fn shrink_on_load_leaves_a_margin_for_the_final_pass() {
    let settings = ImagingSettings::default();
    let header = jpeg_probe(4000, 3000);
    assert_eq!(shrink_for("/unsafe/4000x3000/a.jpg", &header, &settings), 1);
    assert_eq!(shrink_for("/unsafe/2000x1500/a.jpg", &header, &settings), 1);
    assert_eq!(shrink_for("/unsafe/1000x750/a.jpg", &header, &settings), 2);
    assert_eq!(shrink_for("/unsafe/999x0/a.jpg", &header, &settings), 2);
    assert_eq!(shrink_for("/unsafe/500x375/a.jpg", &header, &settings), 4);
    // 250x188: 3000 / 188 is 15.96, over 8 x 1.3.
    assert_eq!(shrink_for("/unsafe/250x0/a.jpg", &header, &settings), 8);
    // 400x300 is 10x: 1/8 would leave 1.25x, under the margin.
    assert_eq!(shrink_for("/unsafe/400x300/a.jpg", &header, &settings), 4);
    // The benchmark tasks: 2725x2225 -> 720x588 (3.78x) and 800x533 -> 300x200 (2.67x).
    let task1 = jpeg_probe(2725, 2225);
    assert_eq!(shrink_for("/unsafe/720x588/a.jpg", &task1, &settings), 2);
    let task2 = jpeg_probe(800, 533);
    assert_eq!(shrink_for("/unsafe/300x200/a.jpg", &task2, &settings), 2);
    // 2.5x: 1/2 would leave 1.25x.
    assert_eq!(shrink_for("/unsafe/320x0/a.jpg", &task2, &settings), 1);
    assert_eq!(shrink_for("/unsafe/200x0/a.jpg", &header, &settings), 8);
    assert_eq!(
        shrink_for("/unsafe/fit-in/100x100/a.jpg", &header, &settings),
        8
    );
    // The crop counts, not the whole image: 400x400 of it to 100x100 is 4x.
    assert_eq!(
        shrink_for("/unsafe/0x0:400x400/100x100/a.jpg", &header, &settings),
        2
    );
    // Both axes must shrink: a 4000x100 band to 1000x100 is 1x vertically.
    assert_eq!(
        shrink_for("/unsafe/0x0:4000x100/1000x100/a.jpg", &header, &settings),
        1
    );
    // Never with trim or debug, never for other formats.
    assert_eq!(
        shrink_for("/unsafe/trim/100x75/a.jpg", &header, &settings),
        1
    );
    assert_eq!(
        shrink_for("/unsafe/debug/100x75/a.jpg", &header, &settings),
        1
    );
    let png = Probe {
        format: ImageFormat::Png,
        ..header
    };
    assert_eq!(shrink_for("/unsafe/100x75/a.png", &png, &settings), 1);
}

#[test]
fn orientation_and_normalize_reach_the_stored_pixels() {
    // A 4000x3000 stored image with orientation 6 is a 3000x4000 picture.
    let settings = ImagingSettings {
        respect_orientation: true,
        ..ImagingSettings::default()
    };
    let header = Probe {
        orientation: 6,
        ..jpeg_probe(4000, 3000)
    };
    let request = parse_path("/unsafe/300x200/a.jpg").unwrap();
    let job = RenderJob::new(&request, &settings);
    let setup = geometry_setup(&header, &job);
    assert_eq!(setup.working_size(), Size::new(3000, 4000));
    let plan = plan_geometry(&setup, setup.working_size(), &request);
    // 3000x4000 -> 300x200: crop (0, 1000, 3000, 3000) of the oriented picture.
    assert_eq!(
        plan.crop,
        Some(PixelRect {
            left: 0,
            top: 1000,
            right: 3000,
            bottom: 3000
        })
    );
    let original = PlanToPixels::original(&setup);
    let (region, output) = (
        original.region(plan.crop),
        original.stored_size(plan.output),
    );
    // Rotated back: columns 1000..3000 of the stored image, full height.
    assert_eq!(
        region,
        Region {
            left: 1000.0,
            top: 0.0,
            width: 2000.0,
            height: 3000.0
        }
    );
    assert_eq!(output, Size::new(200, 300));

    // MAX_WIDTH/MAX_HEIGHT normalize: coordinates scale back to the original.
    let settings = ImagingSettings {
        max_width: 400,
        max_height: 400,
        ..ImagingSettings::default()
    };
    let job = RenderJob {
        settings: &settings,
        ..job
    };
    let header = jpeg_probe(4000, 3000);
    let setup = geometry_setup(&header, &job);
    assert_eq!(setup.normalized, Some(Size::new(400, 300)));
    let plan = plan_geometry(&setup, setup.working_size(), &request);
    // On 400x300: crop height round(266.67) = 267, top round(16.5) = 16 (half to even).
    let region = PlanToPixels::original(&setup).region(plan.crop);
    assert_eq!(
        region,
        Region {
            left: 0.0,
            top: 160.0,
            width: 4000.0,
            height: 2670.0
        }
    );
}

// ---- End-to-end renders (need decode and encode) ----

#[test]
fn renders_image_jpg_sizes() {
    let source = image_jpg();
    let settings = ImagingSettings::default();
    let cases = [
        ("/unsafe/300x200/image.jpg", (300, 200)),
        ("/unsafe/fit-in/100x100/image.jpg", (75, 100)),
        ("/unsafe/100x0/image.jpg", (100, 133)),
        ("/unsafe/x100/image.jpg", (75, 100)),
        ("/unsafe/1000x1000/image.jpg", (1000, 1000)),
        ("/unsafe/fit-in/1000x1000/image.jpg", (300, 400)),
        ("/unsafe/full-fit-in/100x100/image.jpg", (100, 133)),
        ("/unsafe/adaptive-fit-in/200x100/image.jpg", (100, 133)),
        ("/unsafe/adaptive-full-fit-in/200x100/image.jpg", (150, 200)),
        ("/unsafe/10x10:5000x5000/image.jpg", (290, 390)),
        ("/unsafe/10x10:110x60/image.jpg", (100, 50)),
        ("/unsafe/50x50:10x10/image.jpg", (300, 400)),
        ("/unsafe/200x100/right/image.jpg", (200, 100)),
        ("/unsafe/debug/100x100/image.jpg", (300, 400)),
        ("/unsafe/image.jpg", (300, 400)),
        ("/unsafe/30x40/image.jpg", (30, 40)),
    ];
    for (path, expected) in cases {
        assert_eq!(rendered_size(path, &source, &settings), expected, "{path}");
    }
    let output = render_path("/unsafe/300x200/image.jpg", &source, &settings).unwrap();
    assert_eq!(output.content_type, "image/jpeg");
    assert!(!output.vary_accept);
}

#[test]
fn flip_mirrors_the_output() {
    let source = image_jpg();
    let settings = ImagingSettings::default();
    let plain = render_path("/unsafe/30x40/image.jpg", &source, &settings).unwrap();
    let flipped = render_path("/unsafe/-30x40/image.jpg", &source, &settings).unwrap();
    let options = DecodeOptions {
        first_frame_only: true,
        ..DecodeOptions::new(1 << 30)
    };
    let plain = decode::decode(&plain.body, &options).unwrap();
    let mut flipped = decode::decode(&flipped.body, &options).unwrap();
    assert_eq!((flipped.width, flipped.height), (30, 40));
    transform::flip_horizontal(&mut flipped);
    // JPEG re-encoding blurs a little; the mirrored mirror is close to the plain render.
    let diff: u64 = plain.frames[0]
        .pixels
        .iter()
        .zip(&flipped.frames[0].pixels)
        .map(|(&a, &b)| u64::from(a.abs_diff(b)))
        .sum();
    let mean = diff as f64 / plain.frames[0].pixels.len() as f64;
    assert!(mean < 4.0, "mean difference {mean}");
}

#[test]
fn meta_json_matches_thumbor() {
    let source = image_jpg();
    let settings = ImagingSettings::default();
    let output = render_path("/unsafe/meta/300x200/image.jpg", &source, &settings).unwrap();
    assert_eq!(output.content_type, "application/json");
    assert_eq!(
        String::from_utf8(output.body).unwrap(),
        concat!(
            r#"{"thumbor": {"source": {"url": "image.jpg", "width": 300, "height": 200, "frameCount": 1}, "#,
            r#""operations": [{"type": "crop", "left": 0, "top": 100, "right": 300, "bottom": 300}], "#,
            r#""target": {"width": 300, "height": 200}, "#,
            r#""focal_points": [{"x": 150, "y": 200, "z": 1.0, "height": 1, "width": 1, "origin": "alignment"}]}}"#
        )
    );

    let output = render_path("/unsafe/meta/fit-in/100x100/image.jpg", &source, &settings).unwrap();
    let json = String::from_utf8(output.body).unwrap();
    assert!(
        json.contains(r#""operations": [{"type": "resize", "width": 75, "height": 100.0}]"#),
        "{json}"
    );
    assert!(
        json.contains(r#""target": {"width": 75, "height": 100.0}"#),
        "{json}"
    );

    let output = render_path("/unsafe/meta/-x/image.jpg", &source, &settings).unwrap();
    let json = String::from_utf8(output.body).unwrap();
    assert!(
        json.contains(r#""operations": [{"type": "flip_horizontally"}]"#),
        "{json}"
    );

    let output = render_path(
        "/unsafe/meta/10x10:110x60/50x50/image.jpg",
        &source,
        &settings,
    )
    .unwrap();
    let json = String::from_utf8(output.body).unwrap();
    assert!(
        json.contains(concat!(
            r#""operations": [{"type": "crop", "left": 10, "top": 10, "right": 110, "bottom": 60}, "#,
            r#"{"type": "crop", "left": 25, "top": 0, "right": 75, "bottom": 50}]"#
        )),
        "{json}"
    );
    assert!(
        json.contains(r#""width": 50, "height": 50, "frameCount": 1"#),
        "{json}"
    );
}

#[test]
fn meta_counts_frames_and_reports_trim() {
    let settings = ImagingSettings::default();
    let gif = corpus("thumbor/images/animated.gif");
    let output = render_path("/unsafe/meta/animated.gif", &gif, &settings).unwrap();
    let json = String::from_utf8(output.body).unwrap();
    assert!(
        json.contains(
            r#""source": {"url": "animated.gif", "width": 100, "height": 100, "frameCount": 2}"#
        ),
        "{json}"
    );

    let png = corpus("thumbor/images/1bit.png");
    let output = render_path("/unsafe/meta/trim/1bit.png", &png, &settings).unwrap();
    let json = String::from_utf8(output.body).unwrap();
    assert!(
        json.contains(r#"[{"type": "crop", "left": 36, "top": 41, "right": 661, "bottom": 158}]"#),
        "{json}"
    );
    assert!(json.contains(r#""width": 625, "height": 117"#), "{json}");
}

#[test]
fn meta_with_respected_orientation() {
    let settings = ImagingSettings {
        respect_orientation: true,
        ..ImagingSettings::default()
    };
    let source =
        corpus("thumbor/images/Giunchedi%2C_Filippo_January_2015_01-cmyk-orientation-exif.jpg");
    let output = render_path("/unsafe/meta/0x0/x.jpg", &source, &settings).unwrap();
    let json = String::from_utf8(output.body).unwrap();
    assert!(
        json.contains(r#""target": {"width": 533, "height": 800}"#),
        "{json}"
    );
}

#[test]
fn oversized_output_is_refused_before_decoding() {
    let source = image_jpg();
    let settings = ImagingSettings::default();
    let result = render_path("/unsafe/99999x99999/image.jpg", &source, &settings);
    assert!(
        matches!(result, Err(ImagingError::TooLarge(_))),
        "{result:?}"
    );
    let result = render_path(
        "/unsafe/full-fit-in/99999x99999/image.jpg",
        &source,
        &settings,
    );
    assert!(
        matches!(result, Err(ImagingError::TooLarge(_))),
        "{result:?}"
    );
    // The source limit: a 300x400 original is over MAX_PIXELS = 1000.
    let tiny = ImagingSettings {
        max_pixels: 1000,
        ..ImagingSettings::default()
    };
    let result = render_path("/unsafe/10x10/image.jpg", &source, &tiny);
    assert!(
        matches!(result, Err(ImagingError::TooLarge(_))),
        "{result:?}"
    );
}

#[test]
fn oriented_landscapes_have_the_same_size() {
    let settings = ImagingSettings {
        respect_orientation: true,
        ..ImagingSettings::default()
    };
    let reference = rendered_size(
        "/unsafe/Landscape_1.jpg",
        &corpus("sharp/Landscape_1.jpg"),
        &settings,
    );
    let thumbnail = rendered_size(
        "/unsafe/fit-in/120x120/Landscape_1.jpg",
        &corpus("sharp/Landscape_1.jpg"),
        &settings,
    );
    for n in 2..=8 {
        let name = format!("sharp/Landscape_{n}.jpg");
        let source = corpus(&name);
        assert_eq!(
            rendered_size("/unsafe/x.jpg", &source, &settings),
            reference,
            "{name}"
        );
        assert_eq!(
            rendered_size("/unsafe/fit-in/120x120/x.jpg", &source, &settings),
            thumbnail,
            "{name}"
        );
    }
}

/// After orientation every Landscape_N must look like Landscape_1, compared on a small
/// thumbnail. Each file carries its own digit label, which alone makes a mean difference of
/// about 14 levels; any mirrored or rotated variant differs by more than 40.
#[test]
fn oriented_landscapes_look_the_same() {
    let settings = ImagingSettings {
        respect_orientation: true,
        ..ImagingSettings::default()
    };
    let options = DecodeOptions {
        first_frame_only: true,
        ..DecodeOptions::new(1 << 30)
    };
    // Plain, an off-centre auto-crop with shrink-on-load, a manual crop, and a flip.
    let paths = [
        "/unsafe/60x45/x.jpg",
        "/unsafe/40x45/right/x.jpg",
        "/unsafe/10x20:300x250/58x46/x.jpg",
        "/unsafe/-60x45/x.jpg",
    ];
    for path in paths {
        let thumbnail = |name: &str| {
            let output = render_path(path, &corpus(&format!("sharp/{name}")), &settings).unwrap();
            decode::decode(&output.body, &options).unwrap()
        };
        let reference = thumbnail("Landscape_1.jpg");
        for n in 2..=8 {
            let image = thumbnail(&format!("Landscape_{n}.jpg"));
            assert_eq!(
                (image.width, image.height),
                (reference.width, reference.height)
            );
            let diff: u64 = reference.frames[0]
                .pixels
                .iter()
                .zip(&image.frames[0].pixels)
                .map(|(&a, &b)| u64::from(a.abs_diff(b)))
                .sum();
            let mean = diff as f64 / image.frames[0].pixels.len() as f64;
            assert!(mean < 25.0, "{path} Landscape_{n}: mean difference {mean}");
        }
    }
}

#[test]
fn shrink_on_load_keeps_the_exact_output_size() {
    // 9643x10328 is over MAX_PIXELS by default; raise the limit for this one.
    let settings = ImagingSettings {
        max_pixels: 200_000_000,
        ..ImagingSettings::default()
    };
    let source = corpus("sharp/2569067123_aca715a2ee_o.jpg");
    let header = decode::probe(&source).unwrap();
    let (w, h) = (header.width, header.height);
    assert_eq!(
        rendered_size("/unsafe/101x0/x.jpg", &source, &settings),
        (101, (101.0 * h as f64 / w as f64).round_ties_even() as u32)
    );
    assert_eq!(
        rendered_size("/unsafe/37x41/x.jpg", &source, &settings),
        (37, 41)
    );
    assert_eq!(
        rendered_size("/unsafe/7x9:1203x1001/100x100/x.jpg", &source, &settings),
        (100, 100)
    );
}

#[test]
fn max_dimensions_clamp_and_normalize() {
    let source = image_jpg();
    let settings = ImagingSettings {
        max_width: 150,
        max_height: 150,
        ..ImagingSettings::default()
    };
    assert_eq!(
        rendered_size("/unsafe/200x200/image.jpg", &source, &settings),
        (150, 150)
    );
    // 300x400 with MAX 150x150: height overshoots more -> normalized to 112x150.
    assert_eq!(
        rendered_size("/unsafe/image.jpg", &source, &settings),
        (112, 150)
    );
    let only_height = ImagingSettings {
        max_height: 1,
        ..ImagingSettings::default()
    };
    assert_eq!(
        rendered_size("/unsafe/smart/image.jpg", &source, &only_height),
        (1, 1)
    );
}

#[test]
fn trim_crops_the_margins() {
    let settings = ImagingSettings::default();
    let png = corpus("thumbor/images/1bit.png");
    assert_eq!(
        rendered_size("/unsafe/trim/1bit.png", &png, &settings),
        (625, 117)
    );
    assert_eq!(
        rendered_size("/unsafe/trim:top-left/1bit.png", &png, &settings),
        (625, 117)
    );
}

#[test]
fn animated_gifs_keep_their_frames() {
    let settings = ImagingSettings::default();
    let gif = corpus("thumbor/images/animated.gif");
    let output = render_path("/unsafe/50x40/animated.gif", &gif, &settings).unwrap();
    assert_eq!(output.content_type, "image/gif");
    let options = DecodeOptions::new(1 << 30);
    let image = decode::decode(&output.body, &options).unwrap();
    assert_eq!((image.width, image.height, image.frames.len()), (50, 40, 2));
}

#[test]
fn vary_accept_follows_auto_webp() {
    let source = image_jpg();
    let settings = ImagingSettings {
        auto_webp: true,
        ..ImagingSettings::default()
    };
    let output = render_path("/unsafe/30x40/image.jpg", &source, &settings).unwrap();
    assert!(output.vary_accept);
    assert_eq!(output.content_type, "image/jpeg");
    let meta = render_path("/unsafe/meta/30x40/image.jpg", &source, &settings).unwrap();
    assert!(!meta.vary_accept);
}
