//! Hostile requests against admission control: an animation whose output frames would take
//! gigabytes, too many filter images, an original over MAX_SOURCE_BYTES in the file loader,
//! a burst while the memory budget (not the render slots) is exhausted, and a render past its
//! deadline. Each must get a 4xx, 503 or 504 within seconds (or a correct 200), with bounded
//! memory, and the server must keep serving.

mod common;
use common::{corpus, write, Response, Server};
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// A large original (2725x2225 JPEG) so renders take a noticeable time.
const BIG: &str = "sharp/2569067123_aca715a2ee_o.jpg";

/// A `width x height` GIF of `frames` frames alternating black and white, looping forever.
fn animated_gif(width: u16, height: u16, frames: usize) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder =
            gif::Encoder::new(&mut out, width, height, &[0, 0, 0, 255, 255, 255]).unwrap();
        encoder.set_repeat(gif::Repeat::Infinite).unwrap();
        for i in 0..frames {
            let frame = gif::Frame {
                width,
                height,
                delay: 10,
                buffer: std::borrow::Cow::Owned(vec![
                    (i % 2) as u8;
                    usize::from(width) * usize::from(height)
                ]),
                ..gif::Frame::default()
            };
            encoder.write_frame(&frame).unwrap();
        }
    }
    out
}

/// A `width x height` RGB PNG of pseudo-random pixels: it does not compress, so its file is
/// about `3 * width * height` bytes.
fn noise_png(width: u32, height: u32) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    let pixels: Vec<u8> = (0..width * height * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    let image = image::RgbImage::from_raw(width, height, pixels).unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// GET `path`, asserting the answer came within `limit`.
fn get_within(server: &Server, path: &str, limit: Duration) -> Response {
    let started = Instant::now();
    let response = server.get(path);
    assert!(
        started.elapsed() < limit,
        "{path} took {:?}",
        started.elapsed()
    );
    response
}

fn server_in(root: &Path, extra: &[(&str, &str)]) -> Server {
    let mut env = vec![
        ("FILE_LOADER_ROOT_PATH", root.to_str().unwrap()),
        ("MEMORY_CACHE_MB", "0"),
    ];
    env.extend_from_slice(extra);
    Server::start(&env)
}

#[test]
fn a_tiny_animation_asked_huge_is_refused_before_its_frames_are_built() {
    let dir = tempfile::tempdir().unwrap();
    // 100 frames of 1x1: at 4000x4000 the output frames alone would be 4.8 GB.
    write(dir.path(), "tiny.gif", &animated_gif(1, 1, 100));
    write(dir.path(), "still.gif", &animated_gif(1, 1, 1));
    let server = server_in(dir.path(), &[]);
    let limit = Duration::from_secs(5);

    for path in [
        "/unsafe/4000x4000/tiny.gif",
        "/unsafe/4000x0/tiny.gif",
        "/unsafe/meta/4000x4000/tiny.gif",
        "/unsafe/4000x4000/filters:format(webp)/tiny.gif",
    ] {
        assert_eq!(get_within(&server, path, limit).status, 400, "{path}");
    }
    // Correct 200s: the same size of one frame, the animation small, fit-in (never upscales),
    // and cover() (first frame only).
    let still = get_within(
        &server,
        "/unsafe/4000x4000/filters:format(jpeg)/still.gif",
        Duration::from_secs(30),
    );
    assert_eq!(still.status, 200);
    let small = get_within(&server, "/unsafe/50x50/tiny.gif", limit);
    assert_eq!(small.status, 200);
    assert_eq!(small.gif_frames().len(), 100);
    let fit = get_within(&server, "/unsafe/fit-in/4000x4000/tiny.gif", limit);
    assert_eq!(fit.status, 200);
    assert_eq!(fit.gif_frames().len(), 100);
    let cover = get_within(&server, "/unsafe/400x400/filters:cover()/tiny.gif", limit);
    assert_eq!(cover.status, 200);

    let peak = server.peak_rss_kib() / 1024;
    assert!(peak < 600, "peak RSS {peak} MB");
}

#[test]
fn more_filter_images_than_max_filter_assets_are_refused_before_loading() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "base.png", &noise_png(64, 64));
    for i in 0..5 {
        write(dir.path(), &format!("w{i}.png"), &noise_png(8, 8));
    }
    let server = server_in(dir.path(), &[]);
    let marks = |names: &[usize]| -> String {
        names
            .iter()
            .map(|i| format!("watermark(w{i}.png,0,0,0)"))
            .collect::<Vec<_>>()
            .join(":")
    };
    let limit = Duration::from_secs(10);
    // The default MAX_FILTER_ASSETS is 4.
    let four = get_within(
        &server,
        &format!("/unsafe/filters:{}/base.png", marks(&[0, 1, 2, 3])),
        limit,
    );
    assert_eq!(four.status, 200);
    // One image used many times counts once.
    let same = get_within(
        &server,
        &format!("/unsafe/filters:{}/base.png", marks(&[0, 0, 0, 0, 0, 0])),
        limit,
    );
    assert_eq!(same.status, 200);
    let five = get_within(
        &server,
        &format!("/unsafe/filters:{}/base.png", marks(&[0, 1, 2, 3, 4])),
        limit,
    );
    assert_eq!(five.status, 400);
    // Refused before anything is loaded: a missing original is not even looked up (404).
    let unloaded = get_within(
        &server,
        &format!(
            "/unsafe/filters:{}:frame(w4.png)/missing.png",
            marks(&[0, 1, 2, 3])
        ),
        limit,
    );
    assert_eq!(unloaded.status, 400);

    let strict = server_in(dir.path(), &[("MAX_FILTER_ASSETS", "1")]);
    assert_eq!(
        strict
            .get(&format!("/unsafe/filters:{}/base.png", marks(&[0, 1])))
            .status,
        400
    );
    assert_eq!(
        strict
            .get(&format!("/unsafe/filters:{}/base.png", marks(&[1])))
            .status,
        200
    );
}

#[test]
fn the_file_loader_refuses_originals_over_max_source_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // About 120 KB, a valid PNG: without the limit it renders.
    write(dir.path(), "big.png", &noise_png(200, 200));
    write(dir.path(), "small.png", &noise_png(20, 20));
    let server = server_in(dir.path(), &[("MAX_SOURCE_BYTES", "50000")]);
    let limit = Duration::from_secs(10);
    assert_eq!(get_within(&server, "/unsafe/big.png", limit).status, 400);
    assert_eq!(
        get_within(&server, "/unsafe/10x10/big.png", limit).status,
        400
    );
    // As a watermark too (the same loader): the request is a 400.
    assert_eq!(
        get_within(
            &server,
            "/unsafe/filters:watermark(big.png,0,0,0)/small.png",
            limit
        )
        .status,
        400
    );
    assert_eq!(get_within(&server, "/unsafe/small.png", limit).status, 200);
}

#[test]
fn the_queue_stays_bounded_when_memory_not_slots_is_exhausted() {
    // Slots to spare (8), but the memory budget fits one of these renders at a time
    // (~120 MB each: a 2725x2225 decode and its copy, a 3000x3000 output and its buffer).
    let server = Arc::new(Server::corpus(&[
        ("MAX_CONCURRENT_RENDERS", "8"),
        ("MAX_QUEUED_RENDERS", "1"),
        ("RENDER_MEMORY_MB", "160"),
        ("MEMORY_CACHE_MB", "0"),
    ]));
    let started = Instant::now();
    // Distinct sizes (no merging of identical requests).
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let server = server.clone();
            thread::spawn(move || server.get(&format!("/unsafe/{}x3000/{BIG}", 3000 + i)))
        })
        .collect();
    let responses: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200), "{statuses:?}");
    // One renders, one waits for memory, the rest find the queue full.
    assert!(
        statuses.iter().filter(|s| **s == 503).count() >= 4,
        "{statuses:?}"
    );
    for r in responses.iter().filter(|r| r.status == 503) {
        assert_eq!(r.header("retry-after"), Some("1"));
    }
    assert_eq!(
        server
            .get("/unsafe/100x100/thumbor/images/image.jpg")
            .status,
        200
    );
    let _ = corpus();
}

#[test]
fn a_render_past_its_deadline_frees_its_slot() {
    let server = Server::corpus(&[
        ("REQUEST_TIMEOUT_SECONDS", "1"),
        ("MAX_CONCURRENT_RENDERS", "1"),
        ("MEMORY_CACHE_MB", "0"),
    ]);
    // A 64-megapixel upscale and its encode take longer than a second.
    let slow = server.get(&format!("/unsafe/8000x8000/{BIG}"));
    assert_eq!(slow.status, 504);
    // The abandoned render stops at its next step and gives its only slot back: a small
    // render is served again within seconds.
    let started = Instant::now();
    loop {
        let r = server.get("/unsafe/100x100/thumbor/images/image.jpg");
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 504, "while the slot is still held");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the slot was not freed"
        );
    }
}
