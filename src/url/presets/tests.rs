use super::*;
use crate::config::reader::with_pairs;
use crate::url::parse_path;

fn presets(json: &str) -> Presets {
    Presets::from_definitions(json).unwrap()
}

fn expand(presets: &Presets, path: &str) -> Result<ImageRequest, PictorError> {
    presets.expand(parse_path(path).unwrap())
}

const THUMB: &str = r#"{"thumb": "fit-in/200x200/filters:quality(80):grayscale()",
                        "wide": "400x100/top/smart"}"#;

#[test]
fn a_preset_path_expands_to_its_options() {
    let r = expand(&presets(THUMB), "/unsafe/preset:thumb/photos/a.jpg").unwrap();
    assert_eq!(r.image, "photos/a.jpg");
    assert!(r.fit_in.is_some());
    assert_eq!(
        (r.width, r.height),
        (Dimension::Px(200), Dimension::Px(200))
    );
    assert_eq!(r.filter_list.names(), ["quality", "grayscale"]);
    assert_eq!(r.signed_path, "preset:thumb/photos/a.jpg");
    let applied = r.preset.unwrap();
    assert_eq!(applied.names, ["thumb"]);
    assert_eq!(
        applied.options,
        "fit-in/200x200/filters:quality(80):grayscale()"
    );
    assert!(applied.preset_only);
    assert!(applied.result_key.starts_with("/preset:thumb@"));
    assert!(applied.result_key.ends_with("/photos/a.jpg"));
}

#[test]
fn options_after_a_preset_override_it() {
    let p = presets(THUMB);
    let r = expand(&p, "/unsafe/preset:thumb/300x0/filters:quality(50)/a.jpg").unwrap();
    assert_eq!((r.width, r.height), (Dimension::Px(300), Dimension::Px(0)));
    assert!(r.fit_in.is_some(), "fit-in kept from the preset");
    let applied = r.preset.unwrap();
    assert_eq!(
        applied.options,
        "fit-in/300x0/filters:grayscale():quality(50)"
    );
    assert!(!applied.preset_only);
    // Several presets: later ones override earlier ones, in URL order.
    let r = expand(&p, "/unsafe/preset:thumb:wide/a.jpg").unwrap();
    assert_eq!(
        r.preset.unwrap().options,
        "fit-in/400x100/top/smart/filters:quality(80):grayscale()"
    );
    // meta and debug stay per request, before or after the preset.
    assert!(expand(&p, "/unsafe/meta/preset:thumb/a.jpg").unwrap().meta);
    assert!(expand(&p, "/unsafe/preset:thumb/meta/a.jpg").unwrap().meta);
}

#[test]
fn unknown_presets_and_preset_only_refusals_are_400s() {
    let mut p = presets(THUMB);
    for path in [
        "/unsafe/preset:nope/a.jpg",
        "/unsafe/preset:thumb:nope/a.jpg",
    ] {
        let e = expand(&p, path).unwrap_err();
        assert!(
            matches!(&e, PictorError::UnknownPreset(m) if m == "nope"),
            "{e}"
        );
    }
    assert!(expand(&p, "/unsafe/preset:thumb").is_err());
    // A plain path keeps Thumbor's meaning...
    assert!(expand(&p, "/unsafe/300x200/a.jpg")
        .unwrap()
        .preset
        .is_none());
    // ...unless only presets are served.
    p.only = true;
    assert!(matches!(
        expand(&p, "/unsafe/300x200/a.jpg"),
        Err(PictorError::PresetRequired)
    ));
    assert!(expand(&p, "/unsafe/preset:thumb/a.jpg").is_ok());
}

#[test]
fn the_default_preset_applies_to_every_request() {
    let p = presets(r#"{"default": "filters:quality(70)", "thumb": "100x100"}"#);
    let r = expand(&p, "/unsafe/300x200/a.jpg").unwrap();
    assert_eq!(
        (r.width, r.height),
        (Dimension::Px(300), Dimension::Px(200))
    );
    let applied = r.preset.unwrap();
    assert_eq!(applied.names, ["default"]);
    assert_eq!(applied.options, "300x200/filters:quality(70)");
    // The plain path's result keeps its signature in its name: it is unbounded.
    assert!(applied.result_key.ends_with("/unsafe/300x200/a.jpg"));
    assert!(!applied.preset_only);
    let applied = expand(&p, "/unsafe/preset:thumb/a.jpg")
        .unwrap()
        .preset
        .unwrap();
    assert_eq!(applied.names, ["default", "thumb"]);
    assert_eq!(applied.options, "100x100/filters:quality(70)");
}

#[test]
fn result_keys_follow_the_definition_not_the_signature() {
    let path = "preset:thumb/a.jpg";
    let key = |p: &Presets, signature: &str| {
        expand(p, &format!("/{signature}/{path}"))
            .unwrap()
            .preset
            .unwrap()
            .result_key
    };
    let before = presets(r#"{"thumb": "100x100"}"#);
    let after = presets(r#"{"thumb": "120x100"}"#);
    let other = presets(r#"{"thumb": "100x100", "other": "1x1"}"#);
    assert_eq!(
        key(&before, "unsafe"),
        key(&before, "c2lnbmF0dXJlLWJ5dGVzLWhlcmUtMjg=")
    );
    assert_ne!(key(&before, "unsafe"), key(&after, "unsafe"));
    assert_eq!(key(&before, "unsafe"), key(&other, "unsafe"));
}

#[test]
fn suffix_urls_name_a_preset_of_the_original() {
    let mut p = presets(r#"{"SI": "200x200", "BI": "fit-in/1500x1500", "I": "10x10"}"#);
    // Off: the name is an image like any other.
    assert!(expand(&p, "/unsafe/1475660224_882910455SI.jpg")
        .unwrap()
        .preset
        .is_none());
    p.suffix_urls = true;
    let r = expand(&p, "/unsafe/photos/1475660224_882910455SI.jpg").unwrap();
    assert_eq!(r.image, "photos/1475660224_882910455.jpg");
    assert_eq!(r.preset.as_ref().unwrap().names, ["SI"]);
    // The longest name that fits wins (BI, not I), and the stem must not be empty.
    let r = expand(&p, "/unsafe/abcBI.png").unwrap();
    assert_eq!(
        (r.image.as_str(), r.preset.unwrap().names),
        ("abc.png", vec!["BI".to_string()])
    );
    assert!(expand(&p, "/unsafe/I.jpg").unwrap().preset.is_none());
    // Shares the result of the preset path of the same original.
    let suffix = expand(&p, "/unsafe/abcSI.jpg").unwrap().preset.unwrap();
    let prefix = expand(&p, "/unsafe/preset:SI/abc.jpg")
        .unwrap()
        .preset
        .unwrap();
    assert_eq!(suffix.result_key, prefix.result_key);
    // A path with options is not a suffix URL.
    assert!(expand(&p, "/unsafe/10x10/abcSI.jpg")
        .unwrap()
        .preset
        .is_none());
}

#[test]
fn paths_for_lists_every_preset_of_an_original() {
    let p = presets(THUMB);
    assert_eq!(p.names(), ["thumb", "wide"]);
    assert_eq!(
        p.paths_for("photos/my cat.jpg"),
        [
            "preset:thumb/photos/my%20cat.jpg",
            "preset:wide/photos/my%20cat.jpg"
        ]
    );
    for path in p.paths_for("photos/my cat.jpg") {
        let r = expand(&p, &format!("/unsafe/{path}")).unwrap();
        assert_eq!(r.image, "photos/my cat.jpg");
    }
}

#[test]
fn settings_need_presets_and_read_a_file() {
    let read = |pairs: &[(&str, &str)]| with_pairs(pairs, Presets::from_keys);
    assert_eq!(read(&[]).unwrap(), Presets::default());
    assert_eq!(
        read(&[("PRESETS_ONLY", "True")]).unwrap_err().key,
        "PRESETS_ONLY"
    );
    assert_eq!(
        read(&[("PRESET_SUFFIX_URLS", "True")]).unwrap_err().key,
        "PRESET_SUFFIX_URLS"
    );
    let e = read(&[("PRESETS", r#"{"thumb": "bogus/"}"#)]).unwrap_err();
    assert!(e.reason.contains("\"thumb\""), "{}", e.reason);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("presets.json");
    std::fs::write(&file, r#"{"thumb": "50x50"}"#).unwrap();
    let p = read(&[
        ("PRESETS", file.to_str().unwrap()),
        ("PRESETS_ONLY", "True"),
    ])
    .unwrap();
    assert!(p.only);
    assert_eq!(p.options("thumb"), Some("50x50"));
    assert!(read(&[("PRESETS", "/no/such/presets.json")]).is_err());
}
