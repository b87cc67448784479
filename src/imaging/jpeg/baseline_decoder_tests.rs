//! The baseline decoder against libjpeg's raw-data decode of the same files: the same plane
//! sizes, the same picture (PSNR per plane), and `None` — never a panic or a different
//! picture — for files it leaves to libjpeg.

use super::*;
use crate::imaging::jpeg::decode_planes_with_libjpeg;
use crate::test_corpus::read;

/// The baseline decoder given the size libjpeg's header read finds, as the pipeline calls it.
fn decode(bytes: &[u8], shrink: u32, halve_full_chroma: bool) -> Option<JpegPlanes> {
    let stored = crate::imaging::decode::probe(bytes).map_or((0, 0), |p| (p.width, p.height));
    super::decode(bytes, shrink, halve_full_chroma, stored)
}

#[test]
fn a_frame_libjpeg_does_not_see_is_declined() {
    let source = read("thumbor/filters/source.jpg");
    let stored = crate::imaging::decode::probe(&source).unwrap();
    assert!(super::decode(&source, 2, false, (stored.width, stored.height)).is_some());
    assert!(super::decode(&source, 2, false, (stored.width + 1, stored.height)).is_none());
}

/// PSNR of two equally sized sample grids, over the meaningful samples.
fn plane_psnr(ours: &Plane, theirs: &[u8], theirs_stride: usize) -> f64 {
    let mut squared = 0.0f64;
    for y in 0..ours.height {
        for x in 0..ours.width {
            let d = f64::from(ours.data[y * ours.stride + x])
                - f64::from(theirs[y * theirs_stride + x]);
            squared += d * d;
        }
    }
    let mse = squared / (ours.width * ours.height) as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

/// libjpeg's plane brought to our plane's resolution by box-averaging (libjpeg decodes
/// 4:2:0 chroma at twice the resolution at 1/2 and smaller).
fn box_down(plane: &Plane, factor_x: usize, factor_y: usize) -> (Vec<u8>, usize) {
    let (width, height) = (
        plane.width.div_ceil(factor_x),
        plane.height.div_ceil(factor_y),
    );
    let mut out = vec![0u8; width * height];
    for y in 0..height {
        for x in 0..width {
            let mut sum = 0u32;
            for dy in 0..factor_y {
                for dx in 0..factor_x {
                    let (sx, sy) = (
                        (x * factor_x + dx).min(plane.width - 1),
                        (y * factor_y + dy).min(plane.height - 1),
                    );
                    sum += u32::from(plane.data[sy * plane.stride + sx]);
                }
            }
            let count = (factor_x * factor_y) as u32;
            out[y * width + x] = ((sum + count / 2) / count) as u8;
        }
    }
    (out, width)
}

/// `plane` box-averaged down to `like`'s size (whole factors from the size ratio).
fn boxed_like(plane: &Plane, like: &Plane) -> (Vec<u8>, usize) {
    let factor_x = (plane.width as f64 / like.width as f64).round().max(1.0) as usize;
    let factor_y = (plane.height as f64 / like.height as f64).round().max(1.0) as usize;
    let (samples, stride) = box_down(plane, factor_x, factor_y);
    assert_eq!(
        (
            plane.width.div_ceil(factor_x),
            plane.height.div_ceil(factor_y)
        ),
        (like.width, like.height)
    );
    (samples, stride)
}

/// Against a reference made by box-averaging libjpeg's full-size decode, our scaled planes
/// are as close as libjpeg's own scaled decode (brought to the same size), and come out at
/// libjpeg's image size, with the same profile.
#[test]
fn as_good_as_libjpeg_on_baseline_files() {
    let files = [
        "thumbor/filters/source.jpg",        // 4:4:4
        "sharp/2569067123_aca715a2ee_o.jpg", // 4:2:0, the benchmark's task 1
        "thumbor/filters/800px-Katherine_Maher.jpg",
        "thumbor/images/Giunchedi%2C_Filippo_January_2015_01.jpg", // restart markers
        "sharp/Landscape_5.jpg",
        "thumbor/filters/quality-10%.jpg",
    ];
    for file in files {
        let source = read(file);
        let full = decode_planes_with_libjpeg(&source, 1).unwrap().unwrap();
        for shrink in [2, 4, 8] {
            let ours = decode(&source, shrink, false)
                .unwrap_or_else(|| panic!("{file} at 1/{shrink} left to libjpeg"));
            let theirs = decode_planes_with_libjpeg(&source, shrink)
                .unwrap()
                .unwrap();
            assert_eq!(
                (ours.width, ours.height),
                (theirs.width, theirs.height),
                "{file} at 1/{shrink}"
            );
            assert_eq!(ours.icc_profile, theirs.icc_profile, "{file}");
            for index in 0..3 {
                let plane = &ours.planes[index];
                let (reference, reference_stride) = boxed_like(&full.planes[index], plane);
                let (libjpeg, libjpeg_stride) = boxed_like(&theirs.planes[index], plane);
                let libjpeg_plane = Plane {
                    data: libjpeg,
                    width: plane.width,
                    height: plane.height,
                    stride: libjpeg_stride,
                    rows: plane.height,
                };
                let ours_db = plane_psnr(plane, &reference, reference_stride);
                let libjpeg_db = plane_psnr(&libjpeg_plane, &reference, reference_stride);
                // Past 50 dB both are the reference but for rounding.
                assert!(
                    ours_db >= (libjpeg_db - 1.0).min(50.0),
                    "{file} at 1/{shrink}, plane {index}: {ours_db:.1} dB, libjpeg {libjpeg_db:.1}"
                );
            }
        }
    }
}

/// 4:4:4 chroma decoded halved: half the luma plane's size, said so by `sampling`.
#[test]
fn full_chroma_can_come_out_halved() {
    let source = read("thumbor/filters/source.jpg");
    let decoded = decode(&source, 2, true).unwrap();
    assert_eq!((decoded.width, decoded.height), (400, 267));
    for chroma in &decoded.planes[1..] {
        assert_eq!((chroma.width, chroma.height), (200, 134));
    }
    assert_eq!(decoded.sampling, [(1.0, 1.0), (0.5, 0.5), (0.5, 0.5)]);
    // 4:2:0 chroma is already halved: the flag changes nothing.
    let source = read("sharp/2569067123_aca715a2ee_o.jpg");
    let decoded = decode(&source, 2, true).unwrap();
    assert_eq!(decoded.sampling, [(1.0, 1.0), (0.5, 0.5), (0.5, 0.5)]);
    assert_eq!(decoded.planes[1].width, 682);
}

#[test]
fn leaves_other_files_to_libjpeg() {
    for file in [
        "thumbor/filters/round_corner.jpg",        // progressive
        "thumbor/images/cmyk.jpg",                 // four components
        "thumbor/images/grayscale.jpg",            // one component
        "thumbor/images/BlueSquare_truncated.jpg", // truncated scan, restart markers
        "sharp/truncated.jpg",                     // truncated scan
        "sharp/corrupt-header.jpg",
    ] {
        let source = read(file);
        assert!(decode(&source, 2, false).is_none(), "{file}");
    }
    // Full size is libjpeg's job too.
    assert!(decode(&read("thumbor/filters/source.jpg"), 1, false).is_none());
}

/// Broken variants of real files: each either decodes to the same plane sizes or is left to
/// libjpeg, and none panics.
#[test]
fn damaged_files_are_refused_or_decoded_never_a_panic() {
    let source = read("thumbor/images/Giunchedi%2C_Filippo_January_2015_01.jpg");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut random = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..300 {
        let mut broken = source.clone();
        match round % 3 {
            0 => broken.truncate(random() as usize % source.len()),
            1 => {
                for _ in 0..1 + random() % 4 {
                    let at = random() as usize % broken.len();
                    broken[at] = random() as u8;
                }
            }
            _ => {
                // Damage only the header, where the tables are.
                let at = random() as usize % 700;
                broken[at] ^= 1 << (random() % 8);
            }
        }
        if let Some(decoded) = decode(&broken, 4, false) {
            for plane in &decoded.planes {
                assert_eq!(plane.data.len(), plane.stride * plane.rows);
                assert!(plane.width <= plane.stride && plane.height <= plane.rows);
            }
        }
    }
}

#[test]
fn restart_markers_out_of_order_are_refused() {
    let mut source = read("thumbor/images/Giunchedi%2C_Filippo_January_2015_01.jpg");
    // Swap the numbers of the first two restart markers after the scan header (found by
    // walking the segments: the EXIF thumbnail has a scan of its own).
    let mut scan = 2;
    while source[scan + 1] != 0xDA {
        scan += 2 + usize::from(u16::from_be_bytes([source[scan + 2], source[scan + 3]]));
    }
    let markers: Vec<usize> = (scan..source.len() - 1)
        .filter(|&i| source[i] == 0xFF && (0xD0..=0xD7).contains(&source[i + 1]))
        .take(2)
        .collect();
    assert_eq!(markers.len(), 2);
    source.swap(markers[0] + 1, markers[1] + 1);
    assert!(decode(&source, 2, false).is_none());
}

#[test]
fn extend_gives_jpeg_values() {
    assert_eq!(extend(0, 0), 0);
    assert_eq!(extend(0, 1), -1);
    assert_eq!(extend(1, 1), 1);
    assert_eq!(extend(0b00, 2), -3);
    assert_eq!(extend(0b01, 2), -2);
    assert_eq!(extend(0b10, 2), 2);
    assert_eq!(extend(0b11, 2), 3);
    assert_eq!(extend(0, 11), -2047);
}

#[test]
fn entropy_data_is_unstuffed_and_cut_at_restart_markers() {
    // 0xFF 0x00 is a data byte 0xFF; 0xFF 0xFF is a fill byte; RST2 ends a segment; EOI ends
    // the data.
    let scan = [
        0x12, 0xFF, 0x00, 0x34, 0xFF, 0xFF, 0xFF, 0xD2, 0x56, 0xFF, 0xD9, 0x99,
    ];
    let data = EntropyData::unstuff(&scan, usize::MAX).unwrap();
    let pieces: Vec<(&[u8], u8)> = data
        .segments
        .iter()
        .map(|segment| {
            (
                &data.bytes[segment.start..segment.start + segment.length],
                segment.marker,
            )
        })
        .collect();
    assert_eq!(
        pieces,
        [(&[0x12, 0xFF, 0x34][..], 0xD2), (&[0x56][..], 0xD9)]
    );
    // Every segment is followed by zero padding.
    for segment in &data.segments {
        let end = segment.start + segment.length;
        assert_eq!(
            &data.bytes[end..end + SEGMENT_PADDING],
            &[0; SEGMENT_PADDING]
        );
    }
    // Data that simply stops is one segment "ended" by EOI.
    let data = EntropyData::unstuff(&[0xAB, 0xFF], usize::MAX).unwrap();
    assert_eq!(data.segments.len(), 1);
    assert_eq!(data.segments[0].length, 1);
    assert_eq!(data.segments[0].marker, 0xD9);
}

#[test]
fn bit_reader_tells_when_it_ran_past_its_segment() {
    let data = EntropyData::unstuff(&[0b1010_0000, 0xFF, 0xD0, 0xC3], usize::MAX).unwrap();
    let mut bits = BitReader::new(&data);
    bits.refill();
    assert_eq!(bits.take(3), 0b101);
    // Five padding bits of the first byte are left: a restart is allowed there.
    assert_eq!(bits.bits_left(), 5);
    assert!(bits.clean());
    // RST1 expected, RST0 found: refused.
    assert!(bits.restart(1).is_none());
    let mut bits = BitReader::new(&data);
    bits.refill();
    bits.consume(3);
    bits.restart(0).expect("RST0 ends the first segment");
    bits.refill();
    assert_eq!(bits.take(8), 0xC3);
    assert!(bits.clean());
    // Reading on past the data gives zeros and is no longer clean.
    assert_eq!(bits.take(8), 0);
    assert!(!bits.clean());
}

#[test]
fn a_flood_of_restart_markers_is_declined_not_buffered() {
    // 50 MB of `FF D0` after a header would be 25 million segments: the decoder stops at the
    // number of restart intervals the frame has.
    let flood: Vec<u8> = [0xFF, 0xD0].repeat(1 << 20);
    assert!(EntropyData::unstuff(&flood, 100).is_none());
    let data = EntropyData::unstuff(&flood[..200], 100).unwrap();
    assert_eq!(data.segments.len(), 101);
}
