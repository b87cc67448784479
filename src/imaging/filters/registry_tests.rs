//! The parsing rules of the `filters:` segment (Thumbor's splitting, unknown and invalid
//! filters dropped, URL order, phases, `cover()`) and the registry's consistency.

use super::registry::{self, REGISTRY};
use super::watermark::WatermarkPosition;
use super::{blur, corners, fill, noise, output, watermark, FilterList, FocalPoint};

#[test]
fn every_signature_compiles_and_names_are_unique() {
    for entry in REGISTRY {
        let name = entry.name();
        let known = registry::lookup(name).unwrap_or_else(|| panic!("{name} is not found"));
        assert!(known.signature.is_usable(), "{name}");
        assert!(
            std::ptr::eq(known.entry, entry),
            "{name} is registered twice"
        );
    }
}

#[test]
fn unknown_and_invalid_filters_are_dropped() {
    let list = FilterList::parse("contrast(x):brightness(10):nope(1):blur(0):quality(80)");
    assert_eq!(list.names(), vec!["brightness", "quality"]);
    assert!(FilterList::parse("").is_empty());
    assert!(FilterList::parse("unknown()").is_empty());
}

#[test]
fn url_order_is_kept_and_phases_split() {
    let list =
        FilterList::parse("grayscale():focal(10x20:30x60):stretch():no_upscale():brightness(5)");
    assert_eq!(
        list.names(),
        vec!["grayscale", "focal", "stretch", "no_upscale", "brightness"]
    );
    let pre = list.pre_load();
    assert!(pre.stretch);
    assert_eq!(
        pre.focal_points,
        vec![FocalPoint {
            x: 20.0,
            y: 40.0,
            width: 20.0,
            height: 40.0,
            weight: 800.0,
            origin: "Explicit"
        }]
    );
    let (mut w, mut h) = (600, 100);
    list.after_load(&mut w, &mut h, (300, 200));
    assert_eq!((w, h), (300, 100));
}

// tests/filters/test_focal.py
#[test]
fn focal_vectors() {
    let pre = FilterList::parse("focal(146x156:279x208)").pre_load();
    let point = &pre.focal_points[0];
    assert_eq!(
        (point.x, point.y, point.width, point.height, point.origin),
        (212.0, 182.0, 133.0, 52.0, "Explicit")
    );
    for invalid in ["focal(0x0:0x0)", "focal(lkasjdklfjlkajsfd)", "focal()"] {
        assert!(
            FilterList::parse(invalid)
                .pre_load()
                .focal_points
                .is_empty(),
            "{invalid}"
        );
    }
    // re.match: anchored at the start only.
    assert_eq!(
        FilterList::parse("focal(1x1:3x3junk)")
            .pre_load()
            .focal_points
            .len(),
        1
    );
}

#[test]
fn extract_focal_resolves_into_a_pre_load_focal_point() {
    let mut list = FilterList::parse("focal(0x0:10x10):extract_focal()");
    // Unresolved, extract_focal() has no point yet.
    assert_eq!(list.pre_load().focal_points.len(), 1);
    let original = list.resolve_extract_focal("thumbor.host/unsafe/100x40:300x240/photos/cat.jpg");
    assert_eq!(original.as_deref(), Some("photos/cat.jpg"));
    let points = list.pre_load().focal_points;
    assert_eq!(
        points.iter().map(|p| p.origin).collect::<Vec<_>>(),
        ["Explicit", "Original Extraction"]
    );
    assert_eq!(
        (points[1].x, points[1].y, points[1].weight),
        (200.0, 140.0, 40000.0)
    );

    // Not a Thumbor URL with a crop: nothing to unwrap, no point.
    let mut plain = FilterList::parse("extract_focal()");
    assert_eq!(plain.resolve_extract_focal("photos/cat.jpg"), None);
    assert!(plain.pre_load().focal_points.is_empty());
    // Without the filter the image is never unwrapped.
    let mut without = FilterList::parse("quality(80)");
    assert_eq!(
        without.resolve_extract_focal("thumbor.host/unsafe/1x1:2x2/a.jpg"),
        None
    );
}

#[test]
fn cover_is_a_substring_test() {
    assert!(FilterList::parse("cover()").has_cover());
    assert!(FilterList::parse("brightness(1):cover()").has_cover());
    assert!(!FilterList::parse("cover()").names().contains(&"cover"));
    assert!(!FilterList::parse("cover()").is_empty());
}

#[test]
fn asset_urls_in_order_without_duplicates() {
    let list = FilterList::parse(
        "watermark(a.png,10,10,50):frame(f.png):watermark(a.png,0,0,0):watermark('http://x/y,z.png',center,repeat,0)",
    );
    assert_eq!(
        list.asset_urls(),
        vec!["a.png", "f.png", "http://x/y,z.png"]
    );
}

#[test]
fn watermark_parameters() {
    let list = FilterList::parse("watermark(w.png,-10,4p,50,none,70)");
    assert_eq!(
        list.calls_of::<watermark::Watermark>(),
        vec![&watermark::Watermark {
            url: "w.png".into(),
            placement: watermark::WatermarkPlacement {
                x: WatermarkPosition::Pixels {
                    from_far_edge: true,
                    value: -10
                },
                y: WatermarkPosition::Percent {
                    from_far_edge: false,
                    value: 4
                },
                alpha: 50,
                width_ratio: None,
                height_ratio: Some(0.7),
            },
        }]
    );
    assert_eq!(list.names(), vec!["watermark"]);
    assert!(FilterList::parse("watermark(w.png,left,0,50)").is_empty());
    assert!(FilterList::parse("watermark(w.png,0,0)").is_empty());
}

#[test]
fn defaults_of_optional_parameters() {
    let list = FilterList::parse(
        "noise(10):blur(3):convolution(1;2;1,3):round_corner(5|7,1,2,3):fill(red):autojpg()",
    );
    assert_eq!(
        list.names(),
        vec![
            "noise",
            "blur",
            "convolution",
            "round_corner",
            "fill",
            "autojpg"
        ]
    );
    assert_eq!(
        list.calls_of::<noise::Noise>(),
        vec![&noise::Noise {
            amount: 10,
            seed: 0
        }]
    );
    assert_eq!(
        list.calls_of::<blur::Blur>(),
        vec![&blur::Blur {
            radius: 3,
            sigma: 0.0
        }]
    );
    assert_eq!(
        list.calls_of::<blur::Convolution>(),
        vec![&blur::Convolution {
            kernel: "1;2;1".into(),
            columns: 3,
            normalize: true
        }]
    );
    assert_eq!(
        list.calls_of::<corners::RoundCorner>(),
        vec![&corners::RoundCorner {
            a_radius: 5,
            b_radius: 7,
            color: [1, 2, 3],
            transparent: false
        }]
    );
    assert_eq!(
        list.calls_of::<fill::Fill>(),
        vec![&fill::Fill {
            color: "red".into(),
            fill_transparent: false
        }]
    );
    assert_eq!(
        list.calls_of::<output::AutoJpg>(),
        vec![&output::AutoJpg(true)]
    );
    // columns=0 does not match PositiveNonZeroNumber (Thumbor's DoS guard).
    assert!(FilterList::parse("convolution(1;2;1;2;4;2;1;2;1,0,true)").is_empty());
    // The ReDoS payload of test_convolution_redos_does_not_hang: no column count.
    let payload = format!("convolution({})", vec!["-11"; 30].join(";"));
    assert!(FilterList::parse(&payload).is_empty());
}

#[test]
fn lists_compare_by_their_calls() {
    let list = FilterList::parse("brightness(10):watermark(a.png,0,0,0)");
    assert_eq!(list.clone(), list);
    assert_ne!(
        FilterList::parse("brightness(11)"),
        FilterList::parse("brightness(10)")
    );
    assert_ne!(
        FilterList::parse("contrast(10)"),
        FilterList::parse("brightness(10)")
    );
}
