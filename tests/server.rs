//! Black-box tests of `pictor serve`: signatures, geometry, formats, status codes and headers,
//! over the real corpus.

mod common;
use common::{corpus, Server};

fn image_jpg(server: &Server, options: &str) -> common::Response {
    let path = if options.is_empty() {
        "/unsafe/thumbor/images/image.jpg".to_string()
    } else {
        format!("/unsafe/{options}/thumbor/images/image.jpg")
    };
    server.get(&path)
}

#[test]
fn healthcheck_answers_working() {
    let server = Server::corpus(&[]);
    for path in ["/healthcheck", "/healthcheck/"] {
        let r = server.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.body, b"WORKING");
        assert_eq!(r.header("cache-control"), Some("no-cache"));
    }
    let head = server.request("HEAD", "/healthcheck", &[]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
}

#[test]
fn signature_vectors_of_thumbors_suite() {
    // thumbor tests/handlers/test_base_handler.py: key ACME-SEC (spec §2.2).
    let root = corpus().join("thumbor/images");
    let root = root.to_str().unwrap();
    let server = Server::start(&[
        ("FILE_LOADER_ROOT_PATH", root),
        ("SECURITY_KEY", "ACME-SEC"),
        ("ALLOW_UNSAFE_URL", "False"),
    ]);
    let ok = [
        "/_wIUeSaeHw8dricKG2MGhqu5thk=/smart/image.jpg",
        "/_wIUeSaeHw8dricKG2MGhqu5thk%3D/smart/image.jpg",
        "/lc6e3kkm_2Ww7NWho8HPOe-sqLU=/smart/alabama1_ap620%C3%A9.jpg",
        "/5YRxzS2yxZxj9SZ50SoZ11eIdDI=/filters:fill(blue)/image.jpg",
        "/gTr2Xr9lbzIa2CT_dL_O0GByeR0=/animated.gif",
    ];
    for path in ok {
        assert_eq!(server.get(path).status, 200, "{path}");
    }
    let meta = server.get("/oGi9XL4nHJKGEKVHjHEp1Jg1KpM=/meta/animated.gif");
    assert_eq!(meta.status, 200);
    assert_eq!(meta.header("content-type"), Some("application/json"));
    assert_eq!(meta.json()["thumbor"]["source"]["frameCount"], 2);

    let refused = [
        // unpadded signature
        "/_wIUeSaeHw8dricKG2MGhqu5thk/smart/image.jpg",
        // signature of another path
        "/_wIUeSaeHw8dricKG2MGhqu5thk=/image.jpg",
        // hash injection (Thumbor ≥ 7.8.0 regression test)
        "/_wIUeSaeHw8dricKG2MGhqu5thk=/sma/_wIUeSaeHw8dricKG2MGhqu5thk=/rt/image.jpg",
        "/_wIUeSaeHw8dricKG2MGhqu5thk%3D/sma/_wIUeSaeHw8dricKG2MGhqu5thk%3D/rt/image.jpg",
        // unsafe disabled
        "/unsafe/smart/image.jpg",
        // no signature part at all
        "/image.jpg",
    ];
    for path in refused {
        assert_eq!(server.get(path).status, 400, "{path}");
    }
}

#[test]
fn pictor_sign_matches_libthumbor() {
    let out = std::process::Command::new(common::binary())
        .args([
            "sign",
            "--key",
            "my-security-key",
            "300x200/my.server.com/some/path/to/image.jpg",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "/8ammJH8D-7tXy6kU3lTvoXlhu4o=/300x200/my.server.com/some/path/to/image.jpg"
    );
}

#[test]
fn pictor_sign_builds_structured_options_like_the_endpoint() {
    let out = std::process::Command::new(common::binary())
        .args([
            "sign",
            "--key",
            "my-security-key",
            "--image",
            "my.server.com/some/path/to/image.jpg",
            "--width",
            "300",
            "--height",
            "200",
            "--crop",
            "10,10,200,200",
            "--filter",
            "brightness(20)",
            "--filter",
            "contrast(10)",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "/as8U2DbUUtTMgvPF26LkjS3MocY=/10x10:200x200/300x200/filters:brightness(20):contrast(10)/my.server.com/some/path/to/image.jpg"
    );
}

#[test]
fn geometry_on_a_jpeg_matches_thumbor() {
    // Observed on Thumbor 7.8 with the 300x400 image.jpg (spec §3.2–§3.7).
    let server = Server::corpus(&[]);
    let cases = [
        ("", (300, 400)),
        ("300x200", (300, 200)),
        ("100x0", (100, 133)),
        ("0x100", (75, 100)),
        ("100x", (100, 133)),
        ("x100", (75, 100)),
        ("1000x1000", (1000, 1000)),
        ("origx100", (300, 100)),
        ("200x100/right", (200, 100)),
        ("100x100/right/bottom", (100, 100)),
        ("fit-in/100x100", (75, 100)),
        ("fit-in/1000x1000", (300, 400)),
        ("full-fit-in/100x100", (100, 133)),
        ("adaptive-fit-in/200x100", (100, 133)),
        ("adaptive-full-fit-in/200x100", (150, 200)),
        ("adaptive-fit-in/1000x50", (50, 67)),
        ("full-fit-in/1000x50", (1000, 1333)),
        ("10x10:110x60", (100, 50)),
        ("10x10:5000x5000", (290, 390)),
        ("50x50:10x10", (300, 400)),
        ("10x10:110x60/50x50", (50, 50)),
        ("-x", (300, 400)),
        ("x-", (300, 400)),
        ("-0x-0", (300, 400)),
        ("-100x-100", (100, 100)),
        ("debug/100x100", (300, 400)),
        ("0x0/smart", (300, 400)),
        ("fit-in/100x100/filters:fill(red)", (100, 100)),
        ("100x50/filters:stretch()", (100, 50)),
        ("1000x1000/filters:no_upscale()", (300, 400)),
        ("fit-in/1000x1000/filters:upscale()", (750, 1000)),
        ("filters:proportion(0.5)", (150, 200)),
        ("100x100/filters:proportion(0.5)", (50, 50)),
        ("filters:rotate(90)", (400, 300)),
    ];
    for (options, want) in cases {
        let r = image_jpg(&server, options);
        assert_eq!(r.status, 200, "{options}");
        assert_eq!(r.header("content-type"), Some("image/jpeg"), "{options}");
        assert_eq!(r.image_size(), want, "{options}");
    }
}

#[test]
fn flips_mirror_the_pixels() {
    let server = Server::corpus(&[]);
    let fetch = |options: &str| {
        let r = server.get(&format!("/unsafe/{options}thumbor/filters/source.jpg"));
        image::load_from_memory(&r.body).unwrap().to_rgb8()
    };
    let plain = fetch("");
    let flipped = fetch("-x/");
    let flopped = fetch("x-/");
    let (w, h) = plain.dimensions();
    let mut diff_h = 0u64;
    let mut diff_v = 0u64;
    let mut diff_none = 0u64;
    for y in 0..h {
        for x in 0..w {
            let p = plain.get_pixel(x, y);
            let d = |q: &image::Rgb<u8>| {
                (0..3)
                    .map(|c| (i64::from(p[c]) - i64::from(q[c])).unsigned_abs())
                    .sum::<u64>()
            };
            diff_h += d(flipped.get_pixel(w - 1 - x, y));
            diff_v += d(flopped.get_pixel(x, h - 1 - y));
            diff_none += d(flipped.get_pixel(x, y));
        }
    }
    let pixels = u64::from(w * h);
    assert!(
        diff_h / pixels < 6,
        "horizontal flip off by {}",
        diff_h / pixels
    );
    assert!(
        diff_v / pixels < 6,
        "vertical flip off by {}",
        diff_v / pixels
    );
    assert!(diff_none / pixels > diff_h / pixels, "flip changed nothing");
}

#[test]
fn meta_json_is_thumbors() {
    let server = Server::corpus(&[]);
    let r = server.get("/unsafe/meta/300x200/thumbor/images/image.jpg");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let want = serde_json::json!({"thumbor": {
        "source": {"url": "thumbor/images/image.jpg", "width": 300, "height": 200, "frameCount": 1},
        "operations": [{"type": "crop", "left": 0, "top": 100, "right": 300, "bottom": 300}],
        "target": {"width": 300, "height": 200},
        "focal_points": [{"x": 150, "y": 200, "z": 1.0, "height": 1, "width": 1, "origin": "alignment"}]
    }});
    assert_eq!(r.json(), want);

    let trimmed = server
        .get("/unsafe/meta/trim/thumbor/images/1bit.png")
        .json();
    assert_eq!(trimmed["thumbor"]["target"]["width"], 625);
    assert_eq!(trimmed["thumbor"]["target"]["height"], 117);
}

/// `extract_focal()`: the image path is itself a Thumbor URL with a crop; the original is
/// loaded whole and the crop only steers the focal point.
#[test]
fn extract_focal_loads_the_original_and_keeps_the_crop_as_focal_point() {
    let server = Server::corpus(&[]);
    let nested = "thumbor.host/unsafe/10x10:110x60/thumbor/images/image.jpg";
    let meta = server
        .get(&format!(
            "/unsafe/meta/100x100/filters:extract_focal()/{nested}"
        ))
        .json();
    assert_eq!(meta["thumbor"]["source"]["url"], "thumbor/images/image.jpg");
    assert_eq!(
        meta["thumbor"]["focal_points"],
        serde_json::json!([{"x": 60, "y": 35, "z": 5000, "width": 100, "height": 50,
                            "origin": "Original Extraction"}])
    );
    // A square out of the 300x400 original, pulled to the top by the focal point.
    assert_eq!(
        meta["thumbor"]["operations"][0],
        serde_json::json!({"type": "crop", "left": 0, "top": 0, "right": 300, "bottom": 300})
    );

    let framed = server.get(&format!("/unsafe/100x100/filters:extract_focal()/{nested}"));
    assert_eq!(framed.status, 200);
    assert_eq!(framed.image_size(), (100, 100));
    let top = server.get("/unsafe/100x100/top/thumbor/images/image.jpg");
    assert_eq!(framed.body, top.body, "the crop must act as a focal point");
    let middle = server.get("/unsafe/100x100/thumbor/images/image.jpg");
    assert_ne!(framed.body, middle.body);

    // Without the filter the nested URL is just a file name that does not exist.
    assert_eq!(server.get(&format!("/unsafe/100x100/{nested}")).status, 404);
    // An image that is not a Thumbor URL with a crop is loaded as written.
    let plain = server.get("/unsafe/100x100/filters:extract_focal()/thumbor/images/image.jpg");
    assert_eq!(plain.body, middle.body);
}

#[test]
fn png_with_alpha_keeps_alpha() {
    let server = Server::corpus(&[]);
    let r = server.get("/unsafe/100x100/thumbor/filters/PNG_transparency_demonstration_1.png");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/png"));
    let img = image::load_from_memory(&r.body).unwrap();
    assert_eq!((img.width(), img.height()), (100, 100));
    assert!(img.color().has_alpha());
    let rgba = img.to_rgba8();
    assert!(rgba.pixels().any(|p| p[3] < 255), "transparency lost");
    assert!(rgba.pixels().any(|p| p[3] == 255), "opaque pixels lost");

    let fit = server.get("/unsafe/fit-in/150x150/thumbor/images/paletted-transparent.png");
    assert_eq!(fit.status, 200);
    assert_eq!(fit.image_size(), (150, 113));
}

#[test]
fn animated_gif_keeps_every_frame_and_its_timing() {
    let server = Server::corpus(&[]);
    let r = server.get("/unsafe/50x50/thumbor/images/animated.gif");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/gif"));
    let frames = r.gif_frames();
    assert_eq!(frames.len(), 2);
    for (w, h, delay) in frames {
        assert!(w <= 50 && h <= 50);
        assert_eq!(delay, 100, "1000 ms per frame");
    }
    assert_eq!(r.image_size(), (50, 50));
    let fit = server.get("/unsafe/fit-in/60x30/thumbor/images/animated.gif");
    assert_eq!(fit.image_size(), (30, 30));
    assert_eq!(fit.gif_frames().len(), 2);
}

#[test]
fn exif_orientation_is_applied_when_respected() {
    let on = Server::corpus(&[("RESPECT_ORIENTATION", "True")]);
    let off = Server::corpus(&[]);
    for n in 1..=8 {
        let landscape = format!("/unsafe/300x0/sharp/Landscape_{n}.jpg");
        let portrait = format!("/unsafe/0x300/sharp/Portrait_{n}.jpg");
        assert_eq!(
            on.get(&landscape).image_size(),
            (300, 225),
            "on {landscape}"
        );
        assert_eq!(on.get(&portrait).image_size(), (225, 300), "on {portrait}");
        // Without RESPECT_ORIENTATION (Thumbor's default) the stored layout is used.
        let stored_sideways = n >= 5;
        let want = if stored_sideways {
            (300, 400)
        } else {
            (300, 225)
        };
        assert_eq!(off.get(&landscape).image_size(), want, "off {landscape}");
    }
    // The oriented picture itself: every Landscape_N looks like Landscape_1.
    let reference = image::load_from_memory(&on.get("/unsafe/sharp/Landscape_1.jpg").body)
        .unwrap()
        .to_luma8();
    for n in 2..=8 {
        let img =
            image::load_from_memory(&on.get(&format!("/unsafe/sharp/Landscape_{n}.jpg")).body)
                .unwrap()
                .to_luma8();
        assert_eq!(img.dimensions(), reference.dimensions(), "Landscape_{n}");
        let mean_diff: f64 = img
            .pixels()
            .zip(reference.pixels())
            .map(|(a, b)| (f64::from(a[0]) - f64::from(b[0])).abs())
            .sum::<f64>()
            / f64::from(img.width() * img.height());
        // Each file carries its own digit label (about 14 levels of mean difference on its
        // own); a mirrored or rotated picture differs by more than 40.
        assert!(mean_diff < 25.0, "Landscape_{n} differs by {mean_diff}");
    }
}

#[test]
fn status_codes_for_bad_sources() {
    let server = Server::corpus(&[]);
    let cases = [
        ("/unsafe/thumbor/images/missing.jpg", 404),
        ("/unsafe/100x100/thumbor/images/missing.jpg", 404),
        ("/unsafe/thumbor/images/image_invalid.jpg", 400),
        ("/unsafe/sharp/corrupt-header.jpg", 400),
        ("/unsafe/thumbor/images/BlueSquare_truncated.jpg", 200),
        ("/unsafe/sharp/truncated.jpg", 200),
        ("/unsafe/thumbor/images/16384x16384.png", 400),
        ("/unsafe/thumbor/images/9643x10328.jpg", 400),
        ("/unsafe/sharp/giant-image.jpg", 400),
        ("/unsafe/sharp/65536-uint32-limit.png", 400),
        ("/unsafe/99999x99999/thumbor/images/image.jpg", 400),
        ("/unsafe/thumbor/../../../../etc/passwd", 404),
        ("/unsafe/%2e%2e/%2e%2e/%2e%2e/etc/passwd", 404),
        ("/unsafe/..%2f..%2f..%2fetc/passwd", 404),
        ("/unsafe/%2Fetc%2Fpasswd", 404),
        ("/unsafe/", 400),
        ("/", 400),
    ];
    for (path, want) in cases {
        let r = server.get(path);
        assert_eq!(r.status, want, "{path}");
        if want >= 400 {
            assert!(
                r.header("cache-control").is_none(),
                "{path}: errors are not cacheable"
            );
            assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
            assert!(
                !r.body.is_empty() && r.body.len() < 200,
                "{path}: one short line"
            );
        }
    }
    for method in ["POST", "PUT", "DELETE"] {
        assert_eq!(
            server
                .request(method, "/unsafe/thumbor/images/image.jpg", &[])
                .status,
            405,
            "{method}"
        );
    }
}

#[test]
fn non_ascii_and_percent_literal_names() {
    let server = Server::corpus(&[]);
    for path in [
        "/unsafe/thumbor/images/alabama1_ap620%C3%A9.jpg",
        "/unsafe/thumbor/images/alabama1_ap620%25C3%25A9.jpg",
        "/unsafe/thumbor/images/image%20space.jpg",
        "/unsafe/thumbor/images/image%2520space.jpg",
        "/unsafe/thumbor/images/image%20.jpg",
        "/unsafe/thumbor/images/image",
        "/unsafe/thumbor/images/15967251_212831_19242645_%D0%90%D0%B3%D0%B0%D1%82%D0%B0%D0%B2%D0%97%D0%BE%D0%BE%D0%BF%D0%B0%D1%80%D0%BA%D0%B5.jpg",
    ] {
        assert_eq!(server.get(path).status, 200, "{path}");
    }
}

#[test]
fn response_headers_cdn_can_trust() {
    let server = Server::corpus(&[]);
    let r = image_jpg(&server, "100x100");
    assert_eq!(r.header("cache-control"), Some("max-age=86400,public"));
    assert!(r.header("expires").is_some());
    assert!(r.header("vary").is_none(), "no Vary without AUTO_WEBP");
    let etag = r.header("etag").unwrap().to_string();
    assert!(etag.starts_with('"') && etag.len() == 42, "{etag}");
    assert_eq!(
        r.header("content-length").unwrap(),
        r.body.len().to_string()
    );

    let again = server.request(
        "GET",
        "/unsafe/100x100/thumbor/images/image.jpg",
        &[("If-None-Match", &etag)],
    );
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());

    let head = server.request("HEAD", "/unsafe/100x100/thumbor/images/image.jpg", &[]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), r.header("content-length"));
    assert_eq!(head.header("etag"), Some(etag.as_str()));

    let max_age = image_jpg(&server, "filters:max_age(60)");
    assert_eq!(max_age.header("cache-control"), Some("max-age=60,public"));
    let no_cache = image_jpg(&server, "filters:max_age(0)");
    assert!(no_cache.header("cache-control").is_none());
    assert!(no_cache.header("expires").is_none());

    let no_etags = Server::corpus(&[("ENABLE_ETAGS", "False"), ("MAX_AGE", "0")]);
    let r = image_jpg(&no_etags, "100x100");
    assert!(r.header("etag").is_none());
    assert!(r.header("cache-control").is_none());
}

#[test]
fn auto_webp_negotiates_and_varies() {
    let server = Server::corpus(&[("AUTO_WEBP", "True")]);
    let path = "/unsafe/100x100/thumbor/images/image.jpg";
    let webp = server.request("GET", path, &[("Accept", "image/webp,*/*;q=0.8")]);
    assert_eq!(webp.header("content-type"), Some("image/webp"));
    assert_eq!(webp.header("vary"), Some("Accept"));
    assert_eq!(webp.image_size(), (100, 100));
    let jpeg = server.request("GET", path, &[("Accept", "*/*")]);
    assert_eq!(jpeg.header("content-type"), Some("image/jpeg"));
    assert_eq!(jpeg.header("vary"), Some("Accept"));
    // A valid format() wins and removes Vary.
    let png = server.request(
        "GET",
        "/unsafe/100x100/filters:format(png)/thumbor/images/image.jpg",
        &[("Accept", "image/webp")],
    );
    assert_eq!(png.header("content-type"), Some("image/png"));
    assert!(png.header("vary").is_none());
    // Animated GIFs are never converted and carry no Vary.
    let gif = server.request(
        "GET",
        "/unsafe/thumbor/images/animated.gif",
        &[("Accept", "image/webp")],
    );
    assert_eq!(gif.header("content-type"), Some("image/gif"));
    assert!(gif.header("vary").is_none());
}

#[test]
fn tiff_is_served_as_png_and_webp_as_webp() {
    let server = Server::corpus(&[]);
    let tif = server.get("/unsafe/50x50/thumbor/images/gradient_8bit.tif");
    assert_eq!(tif.status, 200);
    assert_eq!(tif.header("content-type"), Some("image/png"));
    assert_eq!(tif.image_size(), (50, 50));
    let webp = server.get("/unsafe/150x200/thumbor/images/image.webp");
    assert_eq!(webp.header("content-type"), Some("image/webp"));
    assert_eq!(webp.image_size(), (150, 200));
    let cmyk = server.get("/unsafe/200x0/thumbor/images/cmyk-icc.jpg");
    assert_eq!(cmyk.status, 200);
    assert_eq!(cmyk.header("content-type"), Some("image/jpeg"));
}

#[test]
fn results_are_cached_in_memory() {
    let root = tempfile::tempdir().unwrap();
    let copy = root.path().join("cat.jpg");
    std::fs::copy(corpus().join("thumbor/images/image.jpg"), &copy).unwrap();
    let root_str = root.path().to_str().unwrap();

    // No source cache: only the result cache may remember anything.
    let cached = Server::start(&[
        ("FILE_LOADER_ROOT_PATH", root_str),
        ("SOURCE_CACHE_MB", "0"),
    ]);
    let uncached = Server::start(&[
        ("FILE_LOADER_ROOT_PATH", root_str),
        ("MEMORY_CACHE_MB", "0"),
        ("SOURCE_CACHE_MB", "0"),
    ]);
    let first = cached.get("/unsafe/120x80/cat.jpg");
    assert_eq!(first.status, 200);
    assert_eq!(uncached.get("/unsafe/120x80/cat.jpg").status, 200);
    std::fs::remove_file(&copy).unwrap();
    // The original is gone: only a cache hit can still answer, with the same bytes.
    let second = cached.get("/unsafe/120x80/cat.jpg");
    assert_eq!(second.status, 200);
    assert_eq!(second.body, first.body);
    assert_eq!(uncached.get("/unsafe/120x80/cat.jpg").status, 404);
    // A different size is a different entry.
    assert_eq!(cached.get("/unsafe/121x80/cat.jpg").status, 404);
}

#[test]
fn hostile_paths_get_4xx_and_the_server_keeps_serving() {
    let server = Server::corpus(&[]);
    let long = format!("/unsafe/{}.jpg", "a".repeat(64 * 1024));
    let r = server.raw(
        format!("GET {long} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
        false,
    );
    assert!((400..500).contains(&r.status), "64 KB url: {}", r.status);
    for path in [
        "/unsafe/%00.jpg",
        "/unsafe/%ff%fe.jpg",
        "/unsafe/a%00/../image.jpg",
    ] {
        let r = server.get(path);
        assert!((400..500).contains(&r.status), "{path}: {}", r.status);
    }
    assert_eq!(image_jpg(&server, "10x10").status, 200);
}

#[test]
fn config_errors_stop_startup_with_one_line() {
    let out = std::process::Command::new(common::binary())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env_clear()
        .env("QUALITY", "lots")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("QUALITY") && stderr.contains("lots"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn render_subcommand_writes_the_image() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("thumb.jpg");
    let status = std::process::Command::new(common::binary())
        .args(["render", "/unsafe/fit-in/100x100/image.jpg", "--out"])
        .arg(&out)
        .env("FILE_LOADER_ROOT_PATH", corpus().join("thumbor/images"))
        .status()
        .unwrap();
    assert!(status.success());
    let img = image::open(&out).unwrap();
    assert_eq!((img.width(), img.height()), (75, 100));
}

/// JPEG 2000 and Photoshop originals are served as JPEG, AVIF as AVIF (Thumbor with
/// pillow-avif-plugin), at Thumbor's sizes (the compat suite's `formats` cases).
#[test]
fn jp2_psd_and_avif_originals_are_decoded() {
    let server = Server::corpus(&[]);
    let decoded_size = |r: &common::Response| {
        let image = pictor::imaging::decode::decode(
            &r.body,
            &pictor::imaging::decode::DecodeOptions {
                max_pixels: 75_000_000,
                shrink: 1,
                first_frame_only: true,
                ..pictor::imaging::decode::DecodeOptions::new(75_000_000)
            },
        )
        .unwrap_or_else(|e| panic!("body does not decode: {e}"));
        (image.width, image.height)
    };
    let cases = [
        ("thumbor/images/image.jp2", "", "image/jpeg", (300, 400)),
        (
            "thumbor/images/image.jp2",
            "fit-in/100x100/",
            "image/jpeg",
            (75, 100),
        ),
        ("thumbor/images/1x1.psd", "", "image/jpeg", (1, 1)),
        ("thumbor/images/image.avif", "", "image/avif", (300, 400)),
        (
            "thumbor/images/image.avif",
            "fit-in/100x100/",
            "image/avif",
            (75, 100),
        ),
        ("sharp/pitm.avif", "", "image/avif", (4096, 800)),
        (
            "sharp/pitm.avif",
            "fit-in/100x100/",
            "image/avif",
            (100, 20),
        ),
    ];
    for (file, options, mime, size) in cases {
        let path = format!("/unsafe/{options}{file}");
        let r = server.get(&path);
        assert_eq!(
            r.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.header("content-type"), Some(mime), "{path}");
        assert_eq!(decoded_size(&r), size, "{path}");
    }
    // The decoded JPEG 2000 shows the same picture as image.jpg.
    let jp2 = server.get("/unsafe/thumbor/images/image.jp2");
    let jpg = server.get("/unsafe/thumbor/images/image.jpg");
    let mean = |r: &common::Response| {
        let rgb = image::load_from_memory(&r.body).unwrap().into_rgb8();
        let sum: u64 = rgb.as_raw().iter().map(|&v| u64::from(v)).sum();
        sum as f64 / rgb.as_raw().len() as f64
    };
    assert!((mean(&jp2) - mean(&jpg)).abs() < 3.0);
    // Meta reads the size from the header like any other format.
    let meta = server.get("/unsafe/meta/thumbor/images/image.avif").json();
    assert_eq!(meta["thumbor"]["source"]["width"], 300);
    assert_eq!(meta["thumbor"]["source"]["height"], 400);
}
