//! Black-box tests of the JPEG XL, HEIC and SVG originals through the real server: the output
//! format and size each is served at, HEIC orientation and alpha, HEIC uploads, SVGs drawn at the size asked (never drawn small and
//! upscaled) with their transparency, and hostile SVGs answered 400 without the server
//! reading a file or opening a connection on their behalf.

mod common;
use common::{corpus, write, Server};
use pictor::imaging::decode::{self, DecodeOptions};
use std::net::TcpListener;
use std::path::Path;

fn test_data(relative: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn decoded(body: &[u8]) -> pictor::imaging::Image {
    decode::decode(body, &DecodeOptions::new(75_000_000))
        .unwrap_or_else(|e| panic!("body does not decode: {e}"))
}

/// `GET /unsafe/<options><file>`: asserts a 200 of `mime` at `size`, and returns the image.
fn served(
    server: &Server,
    options: &str,
    file: &str,
    mime: &str,
    size: (u32, u32),
) -> pictor::imaging::Image {
    let path = format!("/unsafe/{options}{file}");
    let response = server.get(&path);
    assert_eq!(
        response.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(response.header("content-type"), Some(mime), "{path}");
    let image = decoded(&response.body);
    assert_eq!((image.width, image.height), size, "{path}");
    image
}

/// A loader root holding the JPEG XL and SVG test files and the corpus SVGs.
fn root_with_formats() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "giunchedi.jxl",
        "watermark-alpha.jxl",
        "animated.jxl",
        "p3-icc.jxl",
    ] {
        write(dir.path(), name, &test_data(&format!("formats/{name}")));
    }
    for name in [
        "grid-irot-exif6.heic",
        "watermark-alpha.heic",
        "flag-10bit.heic",
        "huge-grid.heic",
    ] {
        write(dir.path(), name, &test_data(&format!("formats/{name}")));
    }
    for name in ["Commons-logo.svg", "Commons-logo-inches.svg", "image.heic"] {
        std::fs::copy(
            corpus().join("thumbor/images").join(name),
            dir.path().join(name),
        )
        .unwrap();
    }
    dir
}

fn serve(root: &Path, extra: &[(&str, &str)]) -> Server {
    let mut env = vec![
        ("FILE_LOADER_ROOT_PATH", root.to_str().unwrap()),
        ("ALLOW_UNSAFE_URL", "True"),
    ];
    env.extend_from_slice(extra);
    Server::start(&env)
}

#[test]
fn jpeg_xl_originals_are_served_as_jpeg_or_gif() {
    let dir = root_with_formats();
    let server = serve(dir.path(), &[]);
    let cases = [
        ("giunchedi.jxl", "", "image/jpeg", (800, 533), 1),
        (
            "giunchedi.jxl",
            "fit-in/300x300/",
            "image/jpeg",
            (300, 200),
            1,
        ),
        (
            "watermark-alpha.jxl",
            "filters:format(png)/",
            "image/png",
            (30, 30),
            1,
        ),
        ("animated.jxl", "", "image/gif", (100, 100), 2),
        ("animated.jxl", "50x50/", "image/gif", (50, 50), 2),
    ];
    for (file, options, mime, size, frames) in cases {
        let image = served(&server, options, file, mime, size);
        assert_eq!(image.frames.len(), frames, "{file} {options}");
    }
    // Transparency survives into PNG; the P3 profile into the JPEG.
    let png = server.get("/unsafe/filters:format(png)/watermark-alpha.jxl");
    assert!(decoded(&png.body).has_transparency());
    let jpeg = server.get("/unsafe/p3-icc.jxl");
    assert!(decoded(&jpeg.body).source.icc_profile.is_some());
    // Meta reads the size from the header.
    let meta = server.get("/unsafe/meta/giunchedi.jxl").json();
    assert_eq!(meta["thumbor"]["source"]["width"], 800);
    assert_eq!(meta["thumbor"]["source"]["height"], 533);
}

/// The mean RGB of the 20x20 square at (x, y) of a decoded frame.
fn mean_rgb(image: &pictor::imaging::Image, x: u32, y: u32) -> [i32; 3] {
    let channels = image.layout.channels();
    let mut sums = [0i32; 3];
    for row in y..y + 20 {
        for column in x..x + 20 {
            let at = (row as usize * image.width as usize + column as usize) * channels;
            for (sum, &sample) in sums.iter_mut().zip(&image.frames[0].pixels[at..at + 3]) {
                *sum += i32::from(sample);
            }
        }
    }
    sums.map(|sum| sum / 400)
}

#[test]
fn heic_originals_are_served_as_jpeg_or_the_format_asked() {
    let dir = root_with_formats();
    let server = serve(dir.path(), &[("AUTO_WEBP", "True")]);
    let cases = [
        ("image.heic", "", "image/jpeg", (256, 256)),
        ("grid-irot-exif6.heic", "", "image/jpeg", (480, 720)),
        (
            "grid-irot-exif6.heic",
            "fit-in/240x240/",
            "image/jpeg",
            (160, 240),
        ),
        ("grid-irot-exif6.heic", "100x100/", "image/jpeg", (100, 100)),
        ("flag-10bit.heic", "", "image/jpeg", (900, 600)),
        (
            "watermark-alpha.heic",
            "filters:format(png)/",
            "image/png",
            (30, 30),
        ),
        (
            "flag-10bit.heic",
            "filters:format(webp)/",
            "image/webp",
            (900, 600),
        ),
    ];
    for (file, options, mime, size) in cases {
        served(&server, options, file, mime, size);
    }
    // Negotiated: AUTO_WEBP and a browser that takes WebP.
    let negotiated = server.request("GET", "/unsafe/image.heic", &[("Accept", "image/webp,*/*")]);
    assert_eq!(negotiated.header("content-type"), Some("image/webp"));

    // Turned upright once by irot (the EXIF orientation 6 beside it is not applied again):
    // blue top-left, red top-right, white bottom-left, green bottom-right; the P3 profile kept.
    let jpeg = decoded(&server.get("/unsafe/grid-irot-exif6.heic").body);
    let corners = [
        (mean_rgb(&jpeg, 10, 10), [30, 30, 220], "blue top-left"),
        (mean_rgb(&jpeg, 450, 10), [215, 30, 30], "red top-right"),
        (
            mean_rgb(&jpeg, 10, 690),
            [235, 235, 235],
            "white bottom-left",
        ),
        (
            mean_rgb(&jpeg, 450, 690),
            [30, 200, 30],
            "green bottom-right",
        ),
    ];
    for (got, want, corner) in corners {
        assert!(
            got.iter().zip(want).all(|(g, w)| (g - w).abs() < 40),
            "{corner}: {got:?}"
        );
    }
    assert!(jpeg.source.icc_profile.is_some(), "the P3 profile is kept");
    // Transparency survives into PNG.
    let png = server.get("/unsafe/filters:format(png)/watermark-alpha.heic");
    assert!(decoded(&png.body).has_transparency());
    // Meta reads the displayed size from the header.
    let meta = server.get("/unsafe/meta/grid-irot-exif6.heic").json();
    assert_eq!(meta["thumbor"]["source"]["width"], 480);
    assert_eq!(meta["thumbor"]["source"]["height"], 720);
    // 30000x30000 declared: refused from the header (a 400, not a 5xx).
    for path in [
        "/unsafe/huge-grid.heic",
        "/unsafe/fit-in/100x100/huge-grid.heic",
    ] {
        assert_eq!(server.get(path).status, 400, "{path}");
    }
}

#[test]
fn heic_uploads_are_accepted_and_render() {
    let originals = tempfile::tempdir().unwrap();
    let loader = tempfile::tempdir().unwrap();
    let server = serve(
        loader.path(),
        &[
            ("UPLOAD_ENABLED", "True"),
            ("STORAGE", "file"),
            ("FILE_STORAGE_ROOT_PATH", originals.path().to_str().unwrap()),
        ],
    );
    let heic = test_data("formats/grid-irot-exif6.heic");
    let response = server.send("POST", "/image", &[("Slug", "photo.heic")], &heic);
    assert_eq!(
        response.status,
        201,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let location = response.header("location").expect("Location").to_string();
    let id = location
        .strip_prefix("/image/")
        .and_then(|rest| rest.split('/').next())
        .expect(&location);
    let render = server.get(&format!("/unsafe/fit-in/240x240/{id}"));
    assert_eq!(render.status, 200);
    assert_eq!(render.header("content-type"), Some("image/jpeg"));
    assert_eq!(render.image_size(), (160, 240));
    // Cut short, or over MAX_PIXELS from its header: refused.
    let cut = &heic[..heic.len() / 2];
    assert_eq!(server.send("POST", "/image", &[], cut).status, 415);
    let huge = test_data("formats/huge-grid.heic");
    assert_eq!(server.send("POST", "/image", &[], &huge).status, 400);
}

#[test]
fn svg_originals_are_drawn_at_the_size_asked() {
    let dir = root_with_formats();
    let server = serve(dir.path(), &[]);
    let cases = [
        ("Commons-logo.svg", "", (1024, 1376)),
        ("Commons-logo-inches.svg", "", (960, 1248)),
        ("Commons-logo.svg", "fit-in/200x200/", (149, 200)),
        ("Commons-logo.svg", "300x300/", (300, 300)),
        ("Commons-logo.svg", "2048x0/", (2048, 2752)),
    ];
    for (file, options, size) in cases {
        let image = served(&server, options, file, "image/png", size);
        assert!(
            image.has_transparency(),
            "{file} {options}: background kept"
        );
    }
    // Drawn at 2048 wide, not drawn at 1024 and upscaled: an edge stays one pixel wide, so
    // twice the size has about twice the partly covered pixels (an upscale has 4x or more).
    let partial = |path: &str| {
        let image = decoded(&server.get(path).body);
        image.frames[0]
            .pixels
            .chunks_exact(4)
            .filter(|p| p[3] != 0 && p[3] != 255)
            .count() as f64
    };
    let ratio = partial("/unsafe/2048x0/Commons-logo.svg") / partial("/unsafe/Commons-logo.svg");
    assert!((1.6..2.4).contains(&ratio), "edge pixels grew {ratio:.2}x");
    // WebP and AVIF keep the transparency too; JPEG is asked for explicitly.
    for (format, mime) in [("webp", "image/webp"), ("avif", "image/avif")] {
        let response = server.get(&format!(
            "/unsafe/100x0/filters:format({format})/Commons-logo.svg"
        ));
        assert_eq!(response.header("content-type"), Some(mime));
        assert!(decoded(&response.body).has_transparency(), "{format}");
    }
    let jpeg = server.get("/unsafe/100x0/filters:format(jpeg)/Commons-logo.svg");
    assert_eq!(jpeg.header("content-type"), Some("image/jpeg"));
}

#[test]
fn hostile_svgs_are_400_without_reading_files_or_the_network() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // The file the SVG names sits beside it, in the loader's own folder.
    std::fs::copy(
        corpus().join("thumbor/images/watermark.png"),
        root.join("watermark.png"),
    )
    .unwrap();
    for name in [
        "external-file.svg",
        "external-file-url.svg",
        "billion-laughs.svg",
        "xxe.svg",
        "use-bomb.svg",
        "huge-viewbox.svg",
    ] {
        write(root, name, &test_data(&format!("formats/hostile/{name}")));
    }
    // The http: reference points at a listener of ours, which must see no connection.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let http_svg = String::from_utf8(test_data("formats/hostile/external-http.svg"))
        .unwrap()
        .replace("127.0.0.1:9", &format!("127.0.0.1:{port}"));
    write(root, "external-http.svg", http_svg.as_bytes());
    let server = serve(root, &[("HTTP_LOADER_ALLOW_PRIVATE_NETWORKS", "True")]);
    for name in [
        "external-file.svg",
        "external-file-url.svg",
        "external-http.svg",
        "billion-laughs.svg",
        "xxe.svg",
        "use-bomb.svg",
        "huge-viewbox.svg",
    ] {
        for options in ["", "100x100/", "fit-in/10x10/"] {
            let path = format!("/unsafe/{options}{name}");
            let response = server.get(&path);
            assert_eq!(
                response.status,
                400,
                "{path}: {}",
                String::from_utf8_lossy(&response.body)
            );
        }
    }
    assert!(
        listener.accept().is_err(),
        "the server connected to the SVG's http: reference"
    );
    // The server lives on.
    assert_eq!(server.get("/unsafe/watermark.png").status, 200);
}

#[test]
fn meta_carries_imagors_placeholders_when_asked() {
    let dir = root_with_formats();
    let server = serve(dir.path(), &[]);
    let meta = server
        .get("/unsafe/meta/fit-in/300x300/filters:blurhash(4,3):thumbhash()/Commons-logo.svg")
        .json();
    let blurhash = meta["blurhash"].as_str().expect("blurhash");
    assert_eq!(blurhash.len(), 28, "{blurhash}");
    let thumbhash = meta["thumbhash"].as_str().expect("thumbhash");
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, thumbhash)
        .unwrap_or_else(|e| panic!("{thumbhash}: {e}"));
    assert!((5..=40).contains(&bytes.len()), "{thumbhash}");
    // Without the filters, Thumbor's document alone; an image answer ignores them.
    let plain = server
        .get("/unsafe/meta/fit-in/300x300/Commons-logo.svg")
        .json();
    assert!(plain.get("blurhash").is_none() && plain.get("thumbhash").is_none());
    assert_eq!(plain["thumbor"], meta["thumbor"]);
    let image = server.get("/unsafe/fit-in/300x300/filters:blurhash(4,3)/Commons-logo.svg");
    assert_eq!(image.header("content-type"), Some("image/png"));
}
