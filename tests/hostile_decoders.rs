//! Reproducers of the decoder attacks in the "Hostile input holds" issue, each built here from
//! scratch (or from a small corpus file): a J2K tile-grid bomb that aborted the process, HEIF
//! container bombs in the header probe, files the header probe and the decoder read
//! differently (JPEG `FF 00` before a fake frame header, a WebP whose first chunk libwebp reads
//! as a bitstream), a progressive JPEG scan bomb and a restart-marker flood; SVG entity, `<use>`,
//! marker, pattern-tile, layer, arc, dash and nesting bombs, shapes reaching past what the
//! rasteriser addresses, a 100000x100000 viewBox, external references;
//! a truncated JPEG XL file;
//! HEICs declaring 30000² and 100000² pixels (past libheif's own limit), cut short, and
//! bit-flipped through their boxes and coded data. Each must get a
//! 4xx (or a correct 200) within seconds, with bounded memory, and the server must live on.

mod common;
use common::{corpus, write, Server};
use std::time::{Duration, Instant};

// ---- JPEG 2000 ----------------------------------------------------------------------------

/// A raw J2K codestream: SOC, SIZ (one 8-bit component subsampled `subsampling` times over a
/// `grid`² reference grid of `tile`² tiles), COD, QCD, one empty tile-part, EOC: 81 bytes.
fn j2k(grid: u32, tile: u32, subsampling: u8) -> Vec<u8> {
    let mut out = vec![0xFF, 0x4F, 0xFF, 0x51, 0, 41, 0, 0];
    for value in [grid, grid, 0, 0, tile, tile, 0, 0] {
        out.extend_from_slice(&value.to_be_bytes());
    }
    out.extend_from_slice(&[0, 1, 7, subsampling, subsampling]);
    out.extend_from_slice(&[0xFF, 0x52, 0, 12, 0, 0, 0, 1, 0, 0, 4, 4, 0, 1]);
    out.extend_from_slice(&[0xFF, 0x5C, 0, 4, 0x40, 0x40]);
    out.extend_from_slice(&[0xFF, 0x90, 0, 10, 0, 0, 0, 0, 0, 14, 0, 1]);
    out.extend_from_slice(&[0xFF, 0x93, 0xFF, 0xD9]);
    out
}

// ---- HEIF / AVIF containers -----------------------------------------------------------------

fn isobmff_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

fn full_box(kind: &[u8; 4], version: u8, body: &[u8]) -> Vec<u8> {
    let mut with_header = vec![version, 0, 0, 0];
    with_header.extend_from_slice(body);
    isobmff_box(kind, &with_header)
}

/// `iinf` with one version-2 `infe` per (id, type).
fn iinf(items: &[(u16, &[u8; 4])]) -> Vec<u8> {
    let mut body = (items.len() as u16).to_be_bytes().to_vec();
    for (id, kind) in items {
        let mut infe = id.to_be_bytes().to_vec();
        infe.extend_from_slice(&[0, 0]);
        infe.extend_from_slice(*kind);
        infe.push(0);
        body.extend(full_box(b"infe", 2, &infe));
    }
    full_box(b"iinf", 0, &body)
}

fn ispe(width: u32, height: u32) -> Vec<u8> {
    let mut body = width.to_be_bytes().to_vec();
    body.extend_from_slice(&height.to_be_bytes());
    full_box(b"ispe", 0, &body)
}

/// `ipma` (version 0, 1-byte indices): each item gets the given 1-based property indices.
fn ipma(entries: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut body = (entries.len() as u32).to_be_bytes().to_vec();
    for (item, indices) in entries {
        body.extend_from_slice(&item.to_be_bytes());
        body.push(indices.len() as u8);
        body.extend_from_slice(indices);
    }
    full_box(b"ipma", 0, &body)
}

/// An AVIF file: ftyp, then a meta box holding `children` (pitm = item 1 first).
fn avif(children: &[Vec<u8>], after_meta: &[u8]) -> Vec<u8> {
    let mut out = isobmff_box(b"ftyp", b"avif\0\0\0\0avifmif1miaf");
    let mut meta = full_box(b"pitm", 0, &1u16.to_be_bytes());
    for child in children {
        meta.extend_from_slice(child);
    }
    out.extend(full_box(b"meta", 0, &meta));
    out.extend_from_slice(after_meta);
    out
}

/// 4,096 items of 65,535 extents whose fields are zero bytes wide: 32 KB of iloc asking for
/// 268 million extent records.
fn avif_extent_bomb() -> Vec<u8> {
    let mut iloc = vec![0x00, 0x00]; // offset/length/base-offset sizes: 0
    iloc.extend_from_slice(&4096u16.to_be_bytes());
    for id in 1..=4096u16 {
        iloc.extend_from_slice(&id.to_be_bytes());
        iloc.extend_from_slice(&0u16.to_be_bytes()); // data reference
        iloc.extend_from_slice(&u16::MAX.to_be_bytes()); // extent count
    }
    let items: Vec<(u16, &[u8; 4])> = (1..=4096u16).map(|id| (id, b"av01")).collect();
    avif(&[iinf(&items), full_box(b"iloc", 0, &iloc)], &[])
}

/// One 100 KB ICC property associated with 4,096 items (copied once per item by a naive
/// reader: 400 MB).
fn avif_shared_icc_bomb() -> Vec<u8> {
    let mut colr = b"prof".to_vec();
    colr.extend(std::iter::repeat_n(0x55, 100 * 1024));
    let ipco = isobmff_box(
        b"ipco",
        &[isobmff_box(b"colr", &colr), ispe(64, 64)].concat(),
    );
    let entries: Vec<(u16, Vec<u8>)> = (1..=4096u16).map(|id| (id, vec![1, 2])).collect();
    let iprp = isobmff_box(b"iprp", &[ipco, ipma(&entries)].concat());
    let items: Vec<(u16, &[u8; 4])> = (1..=4096u16).map(|id| (id, b"av01")).collect();
    avif(&[iinf(&items), iprp], &[])
}

/// One item whose 65,535 extents each mean "from 0 to the end of the file".
fn avif_to_the_end_extents() -> Vec<u8> {
    let mut iloc = vec![0x44, 0x00]; // 4-byte offsets and lengths, no base offset
    iloc.extend_from_slice(&1u16.to_be_bytes());
    iloc.extend_from_slice(&1u16.to_be_bytes());
    iloc.extend_from_slice(&0u16.to_be_bytes());
    iloc.extend_from_slice(&u16::MAX.to_be_bytes());
    for _ in 0..u16::MAX {
        iloc.extend_from_slice(&[0; 8]);
    }
    let ipco = isobmff_box(b"ipco", &ispe(64, 64));
    let iprp = isobmff_box(b"iprp", &[ipco, ipma(&[(1, vec![1])])].concat());
    avif(
        &[iinf(&[(1, b"av01")]), full_box(b"iloc", 0, &iloc), iprp],
        &[],
    )
}

/// A 64x64 grid of 1x1 tiles that all point at one large AV1 item: 4,096 full decodes of it
/// for a 64x64 canvas.
fn avif_grid_of_one_item() -> Vec<u8> {
    let big_item = vec![0x12u8; 256 * 1024];
    // Item 1: the grid (its description in idat); item 2: the one AV1 item, in the file.
    let mut iloc = vec![0x44, 0x00];
    iloc.extend_from_slice(&2u16.to_be_bytes());
    // iloc version 1 carries the construction method.
    for (id, method, offset, length) in [(1u16, 1u16, 0u32, 8u32), (2, 0, 0, 0)] {
        iloc.extend_from_slice(&id.to_be_bytes());
        iloc.extend_from_slice(&method.to_be_bytes());
        iloc.extend_from_slice(&0u16.to_be_bytes());
        iloc.extend_from_slice(&1u16.to_be_bytes());
        iloc.extend_from_slice(&offset.to_be_bytes());
        iloc.extend_from_slice(&length.to_be_bytes());
    }
    let grid_description = [0, 0, 63, 63, 0, 64, 0, 64];
    let mut dimg = 1u16.to_be_bytes().to_vec();
    dimg.extend_from_slice(&4096u16.to_be_bytes());
    for _ in 0..4096 {
        dimg.extend_from_slice(&2u16.to_be_bytes());
    }
    let iref = full_box(b"iref", 0, &isobmff_box(b"dimg", &dimg));
    let ipco = isobmff_box(b"ipco", &[ispe(64, 64), ispe(1, 1)].concat());
    let iprp = isobmff_box(
        b"iprp",
        &[ipco, ipma(&[(1, vec![1]), (2, vec![2])])].concat(),
    );
    avif(
        &[
            iinf(&[(1, b"grid"), (2, b"av01")]),
            full_box(b"iloc", 1, &iloc),
            iref,
            iprp,
            isobmff_box(b"idat", &grid_description),
        ],
        &isobmff_box(b"mdat", &big_item),
    )
}

// ---- JPEG -----------------------------------------------------------------------------------

fn encode_jpeg(width: u32, height: u32, progressive: bool) -> Vec<u8> {
    let mut compress = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    compress.set_size(width as usize, height as usize);
    // Baseline, one interleaved scan (or libjpeg's standard progression when asked).
    compress.set_fastest_defaults();
    compress.set_quality(80.0);
    if progressive {
        compress.set_progressive_mode();
    }
    let mut started = compress.start_compress(Vec::new()).unwrap();
    let row: Vec<u8> = (0..width * 3).map(|i| (i % 251) as u8).collect();
    for _ in 0..height {
        started.write_scanlines(&row).unwrap();
    }
    started.finish().unwrap()
}

/// Where the first marker `code` starts (its FF).
fn marker_at(jpeg: &[u8], code: u8) -> usize {
    jpeg.windows(2)
        .position(|w| w == [0xFF, code])
        .expect("marker")
}

/// A 16x16 JPEG whose frame header says 30000x30000 (libjpeg fills the missing data with
/// grey), preceded by `FF 00` + a length that made our old marker walk jump into a COM
/// segment holding a fake 1x1 frame header. libjpeg skips `FF 00` as garbage and the COM
/// segment as a comment.
fn jpeg_hidden_frame() -> Vec<u8> {
    let mut real = encode_jpeg(16, 16, false);
    let sof = marker_at(&real, 0xC0);
    real[sof + 5..sof + 7].copy_from_slice(&30000u16.to_be_bytes());
    real[sof + 7..sof + 9].copy_from_slice(&30000u16.to_be_bytes());
    let fake_sof = [0xFF, 0xC0, 0, 11, 8, 0, 1, 0, 1, 1, 1, 0x11, 0];
    let mut comment = vec![0xFF, 0xFE];
    comment.extend_from_slice(&((2 + 2 + fake_sof.len()) as u16).to_be_bytes());
    comment.extend_from_slice(&[0x20, 0x20]);
    comment.extend_from_slice(&fake_sof);
    // The old walk read `00` as a marker with length 8 (from the length bytes' position) and
    // landed on the fake SOF: 2 length bytes + COM marker, length, padding = 8.
    let mut out = vec![0xFF, 0xD8, 0xFF, 0x00, 0x00, 0x08];
    out.extend_from_slice(&comment);
    out.extend_from_slice(&real[2..]);
    out
}

/// A progressive JPEG with one DC scan repeated `copies` times before EOI: each costs libjpeg
/// a full pass over the image.
fn jpeg_scan_bomb(side: u32, copies: usize) -> Vec<u8> {
    let jpeg = encode_jpeg(side, side, true);
    let sos = marker_at(&jpeg, 0xDA);
    let length = usize::from(u16::from_be_bytes([jpeg[sos + 2], jpeg[sos + 3]]));
    // A DC refinement scan header over every component, with no data.
    let mut scan = jpeg[sos..sos + 2 + length].to_vec();
    let components = usize::from(scan[4]);
    let tail = 5 + 2 * components;
    scan[tail..tail + 3].copy_from_slice(&[0, 0, 0x10]);
    let eoi = jpeg.len() - 2;
    let mut out = jpeg[..eoi].to_vec();
    for _ in 0..copies {
        out.extend_from_slice(&scan);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// A baseline JPEG (no restart interval) whose scan is followed by `megabytes` of `FF D0`
/// restart markers.
fn jpeg_restart_flood(megabytes: usize) -> Vec<u8> {
    let jpeg = encode_jpeg(512, 512, false);
    let eoi = jpeg.len() - 2;
    let mut out = jpeg[..eoi].to_vec();
    out.extend(std::iter::repeat_n([0xFF, 0xD0], megabytes << 19).flatten());
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

// ---- WebP -----------------------------------------------------------------------------------

/// RIFF/WEBP whose first "chunk tag" is a VP8L header for 16384x16384 (libwebp reads a file
/// without a VP8/VP8L/VP8X chunk first as a raw bitstream), followed by a real 1x1 VP8L chunk
/// that a chunk walk finds.
fn webp_bitstream_in_the_tag() -> Vec<u8> {
    let mut body = b"WEBP".to_vec();
    // Tag: 0x2F signature + 14 bits width-1, 14 bits height-1 (all ones), then the length
    // field's first byte holds the top bits (alpha 0, version 0).
    body.extend_from_slice(&[0x2F, 0xFF, 0xFF, 0xFF, 0x0F, 0, 0, 0]);
    body.extend_from_slice(&[0u8; 16]);
    let vp8l_1x1 = [0x2F, 0x00, 0x00, 0x00, 0x00, 0x88, 0x88, 0x08, 0x00];
    body.extend_from_slice(b"VP8L");
    body.extend_from_slice(&(vp8l_1x1.len() as u32).to_le_bytes());
    body.extend_from_slice(&vp8l_1x1);
    body.push(0);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

// ---- the test -------------------------------------------------------------------------------

// ---- SVG and JPEG XL ------------------------------------------------------------------------

/// One of the hostile files in tests/data/formats/hostile (its README says what each does).
fn hostile_file(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/formats/hostile")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `depth` nested groups around one rectangle (7 MB for 10^6).
fn svg_nested_groups(depth: usize) -> Vec<u8> {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">{}<rect width="10" height="10"/>{}</svg>"#,
        "<g>".repeat(depth),
        "</g>".repeat(depth)
    )
    .into_bytes()
}

/// tests/data/formats/giunchedi.jxl, its first half.
fn jxl_cut_in_half() -> Vec<u8> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/formats/giunchedi.jxl");
    let bytes = std::fs::read(path).unwrap();
    bytes[..bytes.len() / 2].to_vec()
}

/// A test file of tests/data/formats.
fn formats_file(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/formats")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// tests/data/formats/huge-grid.heic with its grid's `ispe` declaring `side` x `side`, past
/// libheif's own size limit (32768) when `side` is 100000.
fn heic_declaring(side: u32) -> Vec<u8> {
    let mut bytes = formats_file("huge-grid.heic");
    let declared = [30000u32.to_be_bytes(), 30000u32.to_be_bytes()].concat();
    let at = bytes
        .windows(declared.len())
        .position(|w| w == declared)
        .expect("the grid's ispe");
    bytes[at..at + 8].copy_from_slice(&[side.to_be_bytes(), side.to_be_bytes()].concat());
    bytes
}

#[test]
fn decoder_bombs_are_refused_quickly_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut bombs: Vec<(&str, Vec<u8>)> = vec![
        ("tile-grid-65535.j2k", j2k(65535, 1, 255)),
        ("tile-grid-12000.j2k", j2k(12000, 1, 1)),
        ("extent-bomb.avif", avif_extent_bomb()),
        ("shared-icc.avif", avif_shared_icc_bomb()),
        ("to-the-end-extents.avif", avif_to_the_end_extents()),
        ("grid-of-one-item.avif", avif_grid_of_one_item()),
        ("hidden-frame.jpg", jpeg_hidden_frame()),
        ("scan-bomb.jpg", jpeg_scan_bomb(2000, 2000)),
        ("bitstream-in-the-tag.webp", webp_bitstream_in_the_tag()),
        ("nested-groups.svg", svg_nested_groups(1_000_000)),
        ("cut-in-half.jxl", jxl_cut_in_half()),
        ("huge-grid.heic", formats_file("huge-grid.heic")),
        ("past-libheif-limit.heic", heic_declaring(100_000)),
        ("cut-in-half.heic", {
            let grid = formats_file("grid-irot-exif6.heic");
            grid[..grid.len() / 2].to_vec()
        }),
        (
            "cut-in-its-header.heic",
            formats_file("grid-irot-exif6.heic")[..300].to_vec(),
        ),
    ];
    // The hostile SVGs of tests/data/formats/hostile/, as they are.
    bombs.extend(
        [
            "billion-laughs.svg",
            "xxe.svg",
            "use-bomb.svg",
            "huge-viewbox.svg",
            "use-long-path.svg",
            "marker-bomb.svg",
            "pattern-tile.svg",
            "layer-bomb.svg",
            "far-path.svg",
            "far-pattern.svg",
            "huge-arc.svg",
            "huge-circles.svg",
            "huge-dashes.svg",
            "external-file-url.svg",
        ]
        .map(|name| (name, hostile_file(name))),
    );
    assert_eq!(bombs[0].1.len(), 81);
    for (name, bytes) in &bombs {
        write(root, name, bytes);
    }
    std::fs::copy(
        corpus().join("thumbor/images/image.jpg"),
        root.join("ok.jpg"),
    )
    .unwrap();
    let server = Server::start(&[
        ("FILE_LOADER_ROOT_PATH", root.to_str().unwrap()),
        ("ALLOW_UNSAFE_URL", "True"),
        ("MEMORY_CACHE_MB", "0"),
        ("SOURCE_CACHE_MB", "0"),
        ("RUST_LOG", "error"),
    ]);
    for (name, _) in &bombs {
        for options in ["", "fit-in/100x100/", "30x30/"] {
            let path = format!("/unsafe/{options}{name}");
            let started = Instant::now();
            let response = server.get(&path);
            let took = started.elapsed();
            assert!(
                (400..500).contains(&response.status),
                "{path} -> {} {}",
                response.status,
                String::from_utf8_lossy(&response.body)
            );
            assert!(took < Duration::from_secs(5), "{path} took {took:?}");
        }
        assert_eq!(
            server.get("/unsafe/50x50/ok.jpg").status,
            200,
            "after {name}"
        );
    }
    let peak = server.peak_rss_kib();
    assert!(peak < 600 * 1024, "peak RSS {} MB", peak / 1024);
}

#[test]
fn a_restart_marker_flood_is_decoded_by_libjpeg_not_buffered() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "flood.jpg", &jpeg_restart_flood(20));
    let server = Server::start(&[
        ("FILE_LOADER_ROOT_PATH", dir.path().to_str().unwrap()),
        ("ALLOW_UNSAFE_URL", "True"),
        ("MEMORY_CACHE_MB", "0"),
        ("RUST_LOG", "error"),
    ]);
    // 1/4 scale takes the baseline decoder's road first; it must decline the flood.
    let response = server.get("/unsafe/128x128/flood.jpg");
    assert!(
        response.status == 200 || (400..500).contains(&response.status),
        "{}",
        response.status
    );
    let peak = server.peak_rss_kib();
    assert!(peak < 300 * 1024, "peak RSS {} MB", peak / 1024);
}

#[test]
fn bit_flipped_heics_are_a_picture_or_a_4xx_never_a_5xx() {
    let dir = tempfile::tempdir().unwrap();
    let grid = formats_file("grid-irot-exif6.heic");
    let alpha = formats_file("watermark-alpha.heic");
    let mut names = Vec::new();
    for (source, bytes) in [("grid", &grid), ("alpha", &alpha)] {
        // Through the boxes (ftyp, meta, iloc, iprp...) and into the coded data.
        let positions = (8..bytes.len()).step_by(bytes.len() / 60 + 1);
        for at in positions {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut flipped = bytes.clone();
                flipped[at] ^= mask;
                let name = format!("{source}-{at}-{mask:02x}.heic");
                write(dir.path(), &name, &flipped);
                names.push(name);
            }
        }
    }
    let server = Server::start(&[
        ("FILE_LOADER_ROOT_PATH", dir.path().to_str().unwrap()),
        ("ALLOW_UNSAFE_URL", "True"),
        ("MEMORY_CACHE_MB", "0"),
        ("SOURCE_CACHE_MB", "0"),
        ("RUST_LOG", "error"),
    ]);
    for name in &names {
        let response = server.get(&format!("/unsafe/fit-in/64x64/{name}"));
        assert!(
            response.status == 200 || (400..500).contains(&response.status),
            "{name} -> {} {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        );
    }
    write(dir.path(), "ok.heic", &grid);
    assert_eq!(server.get("/unsafe/ok.heic").status, 200);
}
