//! The text of PRESETS -> preset name and canonical Thumbor options. Two shapes are read:
//!
//! - pictor's JSON object: `{"thumb": "fit-in/200x200/filters:quality(80)"}`, or a value of
//!   named fields in libthumbor's terms (those of `POST /sign`, without `image`; `filters` a
//!   string or a list of calls): `{"thumb": {"width": 200, "height": 200, "fit_in": true,
//!   "filters": "quality(80)"}}`;
//! - c2corg's `RESIZING_CONFIG` list: `[{"suffix": "SI", "convert": ["-resize", "200x200^",
//!   "-gravity", "center", "-extent", "200x200", "-quality", "90"]}, ...]`, whose ImageMagick
//!   `convert` arguments are mapped to Thumbor options where Thumbor has the same operation,
//!   and refused by name where it has not.
//!
//! Every definition is checked here, so a bad one stops start-up with its name: options that
//! Thumbor's grammar does not read entirely, filters it does not know, `debug`/`meta` (asked per
//! request), names outside `[A-Za-z0-9_-]`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{options_text, parse_options};
use crate::imaging::filters::params::split_calls;
use crate::imaging::filters::FilterList;
use crate::url::build::{build_path, StructuredOptions};

/// Longest preset name (it is part of URLs and storage keys).
const MAX_NAME_BYTES: usize = 64;

/// Most presets in one PRESETS (each is rendered for every original by `regenerate`).
const MAX_PRESETS: usize = 256;

/// Parses and validates PRESETS' JSON text; the error names the preset at fault.
pub fn parse(text: &str) -> Result<BTreeMap<String, String>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        format!("not JSON ({e}); expected an object of presets or c2corg's RESIZING_CONFIG list")
    })?;
    let entries: Vec<(String, String)> = match value {
        Value::Object(map) => map
            .into_iter()
            .map(|(name, definition)| {
                let options = match definition {
                    Value::String(options) => options,
                    Value::Object(fields) => structured_options(fields)
                        .map_err(|reason| format!("preset {name:?}: {reason}"))?,
                    _ => {
                        return Err(format!(
                            "preset {name:?}: expected Thumbor options text or an object of fields"
                        ))
                    }
                };
                Ok((name, options))
            })
            .collect::<Result<_, String>>()?,
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| resizing_config_entry(index, item))
            .collect::<Result<_, String>>()?,
        _ => return Err("expected an object of presets or c2corg's RESIZING_CONFIG list".into()),
    };
    if entries.len() > MAX_PRESETS {
        return Err(format!(
            "{} presets, more than {MAX_PRESETS}",
            entries.len()
        ));
    }
    let mut presets = BTreeMap::new();
    for (name, options) in entries {
        check_name(&name)?;
        let canonical = canonical_options(&options)
            .map_err(|reason| format!("preset {name:?} ({options:?}): {reason}"))?;
        if presets.insert(name.clone(), canonical).is_some() {
            return Err(format!("preset {name:?} is defined twice"));
        }
    }
    Ok(presets)
}

fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "preset name {name:?}: expected 1 to {MAX_NAME_BYTES} of A-Z a-z 0-9 _ -"
        ))
    }
}

/// Thumbor options text -> its canonical spelling, or why it is not a preset.
fn canonical_options(options: &str) -> Result<String, String> {
    let options = options.trim_matches('/');
    let request = parse_options(options)
        .ok()
        .filter(|request| request.image == "x")
        .ok_or("not a Thumbor option set (options are read up to the image; something is left)")?;
    if request.debug || request.meta {
        return Err("debug and meta are asked per request, not in a preset".into());
    }
    if let Some(filters) = &request.filters {
        let written = split_calls(filters).len();
        let known = FilterList::parse(filters).names().len();
        if known != written {
            return Err(format!(
                "filters:{filters}: an unknown filter or one with bad parameters"
            ));
        }
    }
    Ok(options_text(&request))
}

/// A preset given as named fields -> its options text.
fn structured_options(mut fields: serde_json::Map<String, Value>) -> Result<String, String> {
    if fields.contains_key("image") {
        return Err("a preset has no image".into());
    }
    fields.insert("image".into(), Value::String("x".into()));
    if let Some(Value::String(filters)) = fields.get("filters") {
        let list = if filters.is_empty() {
            Vec::new()
        } else {
            vec![Value::String(filters.clone())]
        };
        fields.insert("filters".into(), Value::Array(list));
    }
    let structured: StructuredOptions =
        serde_json::from_value(Value::Object(fields)).map_err(|e| e.to_string())?;
    let path = build_path(&structured.to_url_options()?);
    Ok(path.strip_suffix('x').unwrap_or(&path).to_string())
}

/// One entry of c2corg's `RESIZING_CONFIG` -> (suffix, options text).
fn resizing_config_entry(index: usize, item: Value) -> Result<(String, String), String> {
    let entry = || format!("RESIZING_CONFIG entry {index}");
    let Value::Object(fields) = item else {
        return Err(format!(
            "{}: expected {{\"suffix\": ..., \"convert\": [...]}}",
            entry()
        ));
    };
    let name = fields
        .get("suffix")
        .or_else(|| fields.get("name"))
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{}: no \"suffix\"", entry()))?
        .to_string();
    let arguments: Vec<&str> = fields
        .get("convert")
        .and_then(Value::as_array)
        .and_then(|list| list.iter().map(Value::as_str).collect::<Option<_>>())
        .ok_or_else(|| {
            format!(
                "{} ({name:?}): \"convert\" must be a list of strings",
                entry()
            )
        })?;
    let options = convert_options(&arguments)
        .map_err(|reason| format!("{} ({name:?}): {reason}", entry()))?;
    Ok((name, options))
}

/// How an ImageMagick `-resize` geometry treats the box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResizeMode {
    /// `WxH`: fit inside, enlarging too.
    Fit,
    /// `WxH>`: fit inside, only ever shrinking.
    Shrink,
    /// `WxH^`: cover the box (then cut by `-extent`).
    Cover,
    /// `WxH!`: exactly the box, aspect ratio ignored.
    Exact,
}

/// `convert` arguments -> Thumbor options text, for the operations both have.
fn convert_options(arguments: &[&str]) -> Result<String, String> {
    let mut resize: Option<(u32, u32, ResizeMode)> = None;
    let mut extent: Option<(u32, u32)> = None;
    let mut gravity: Option<(&str, &str)> = None;
    let mut filters: Vec<String> = Vec::new();
    let mut rest = arguments.iter();
    while let Some(&option) = rest.next() {
        let mut value = || {
            rest.next()
                .copied()
                .ok_or_else(|| format!("{option} needs a value"))
        };
        match option {
            "-resize" | "-thumbnail" => resize = Some(geometry(value()?)?),
            "-extent" => {
                let (width, height, mode) = geometry(value()?)?;
                if mode != ResizeMode::Fit {
                    return Err("-extent takes a plain WxH".into());
                }
                extent = Some((width, height));
            }
            "-gravity" => {
                let name = value()?;
                gravity = Some(match name.to_ascii_lowercase().as_str() {
                    "center" => ("", ""),
                    "north" => ("", "top"),
                    "south" => ("", "bottom"),
                    "east" => ("right", ""),
                    "west" => ("left", ""),
                    "northeast" => ("right", "top"),
                    "northwest" => ("left", "top"),
                    "southeast" => ("right", "bottom"),
                    "southwest" => ("left", "bottom"),
                    _ => return Err(format!("-gravity {name}: unknown gravity")),
                });
            }
            "-quality" => {
                let quality = value()?;
                let number: u32 = quality
                    .parse()
                    .ok()
                    .filter(|q| (1..=100).contains(q))
                    .ok_or_else(|| format!("-quality {quality}: expected 1 to 100"))?;
                filters.push(format!("quality({number})"));
            }
            "-strip" => {
                filters.push("strip_exif()".into());
                filters.push("strip_icc()".into());
            }
            other => return Err(format!("convert option {other} has no Thumbor equivalent")),
        }
    }
    let Some((width, height, mode)) = resize else {
        return Err("no -resize: a preset needs a size".into());
    };
    let size = format!("{width}x{height}");
    let mut parts: Vec<String> = Vec::new();
    match (mode, extent) {
        (ResizeMode::Cover, Some(box_size)) if box_size == (width, height) => {
            parts.push(size);
            // ImageMagick's default gravity is the top-left corner.
            let (h, v) = gravity.unwrap_or(("left", "top"));
            parts.extend(
                [h, v]
                    .iter()
                    .filter(|a| !a.is_empty())
                    .map(|a| a.to_string()),
            );
        }
        (ResizeMode::Cover, _) => {
            return Err(
                "-resize WxH^ maps only with -extent of the same WxH (Thumbor crops to fill)"
                    .into(),
            )
        }
        (_, Some(_)) => {
            return Err("-extent maps only after -resize WxH^ of the same size".into());
        }
        (ResizeMode::Shrink, None) => parts.push(format!("fit-in/{size}")),
        (ResizeMode::Fit, None) => {
            parts.push(format!("fit-in/{size}"));
            filters.push("upscale()".into());
        }
        (ResizeMode::Exact, None) => {
            parts.push(size);
            filters.push("stretch()".into());
        }
    }
    if !filters.is_empty() {
        parts.push(format!("filters:{}", filters.join(":")));
    }
    Ok(parts.join("/"))
}

/// `WxH` with an optional ImageMagick flag (`>`, `^`, `!`); both sides must be given.
fn geometry(text: &str) -> Result<(u32, u32, ResizeMode), String> {
    let (size, mode) = match text.char_indices().last() {
        Some((i, '>')) => (&text[..i], ResizeMode::Shrink),
        Some((i, '^')) => (&text[..i], ResizeMode::Cover),
        Some((i, '!')) => (&text[..i], ResizeMode::Exact),
        _ => (text, ResizeMode::Fit),
    };
    let side = |digits: &str| {
        digits
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=65_535).contains(n))
    };
    size.split_once('x')
        .and_then(|(w, h)| Some((side(w)?, side(h)?, mode)))
        .ok_or_else(|| {
            format!("geometry {text:?}: only WxH with an optional >, ^ or ! maps to Thumbor")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Result<String, String> {
        parse(text).map(|presets| presets.into_values().next().unwrap_or_default())
    }

    #[test]
    fn options_text_is_made_canonical() {
        let presets = parse(
            r#"{"thumb": "fit-in/200x200/filters:quality(80)", "plain": "",
                "crop": "/300x200/center/smart/"}"#,
        )
        .unwrap();
        assert_eq!(presets["thumb"], "fit-in/200x200/filters:quality(80)");
        assert_eq!(presets["plain"], "");
        assert_eq!(presets["crop"], "300x200/smart");
    }

    #[test]
    fn structured_fields_build_the_same_options() {
        assert_eq!(
            one(r#"{"thumb": {"width": 200, "height": 200, "fit_in": true, "filters": "quality(80)"}}"#)
                .unwrap(),
            "fit-in/200x200/filters:quality(80)"
        );
        assert_eq!(
            one(
                r#"{"t": {"width": 50, "smart": true, "filters": ["grayscale()", "quality(70)"]}}"#
            )
            .unwrap(),
            "50x0/smart/filters:grayscale():quality(70)"
        );
    }

    #[test]
    fn bad_definitions_name_the_preset() {
        for (text, expected) in [
            (r#"{"thumb": "fit-in/200x200/nonsense"}"#, "\"thumb\""),
            (r#"{"thumb": "filters:nosuch(1)"}"#, "unknown filter"),
            (r#"{"thumb": "filters:quality(abc)"}"#, "unknown filter"),
            (r#"{"thumb": "meta/100x100"}"#, "per request"),
            (r#"{"th/umb": "100x100"}"#, "preset name"),
            (r#"{"": "100x100"}"#, "preset name"),
            (r#"{"thumb": 3}"#, "\"thumb\""),
            (r#"{"thumb": {"width": 1, "colour": 2}}"#, "\"thumb\""),
            (r#"{"thumb": {"image": "a.jpg"}}"#, "no image"),
            (r#"["thumb"]"#, "entry 0"),
            (
                r#"[{"suffix": "S", "convert": ["-sharpen", "2"]}]"#,
                "-sharpen",
            ),
            ("nope", "not JSON"),
            ("42", "expected an object"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn c2corg_resizing_config_maps_what_maps() {
        let presets = parse(
            r#"[
                {"suffix": "BI", "convert": ["-resize", "1500x1500>", "-quality", "90"]},
                {"suffix": "MI", "convert": ["-resize", "400x400>", "-quality", "90"]},
                {"suffix": "SI", "convert": ["-resize", "200x200^", "-gravity", "center",
                                             "-extent", "200x200", "-quality", "90"]},
                {"name": "up", "convert": ["-resize", "800x600", "-strip"]},
                {"suffix": "ex", "convert": ["-resize", "80x60!"]},
                {"suffix": "nw", "convert": ["-resize", "80x60^", "-extent", "80x60"]}
            ]"#,
        )
        .unwrap();
        assert_eq!(presets["BI"], "fit-in/1500x1500/filters:quality(90)");
        assert_eq!(presets["MI"], "fit-in/400x400/filters:quality(90)");
        assert_eq!(presets["SI"], "200x200/filters:quality(90)");
        assert_eq!(
            presets["up"],
            "fit-in/800x600/filters:strip_exif():strip_icc():upscale()"
        );
        assert_eq!(presets["ex"], "80x60/filters:stretch()");
        assert_eq!(presets["nw"], "80x60/left/top");
        for (convert, expected) in [
            (r#"["-resize", "200x200^"]"#, "-extent"),
            (
                r#"["-resize", "200x200^", "-extent", "100x100"]"#,
                "-extent",
            ),
            (r#"["-resize", "200x"]"#, "geometry"),
            (r#"["-resize", "50%"]"#, "geometry"),
            (r#"["-quality", "90"]"#, "no -resize"),
            (r#"["-resize"]"#, "needs a value"),
            (r#"["-resize", "10x10", "-quality", "0"]"#, "1 to 100"),
        ] {
            let text = format!(r#"[{{"suffix": "S", "convert": {convert}}}]"#);
            let error = parse(&text).unwrap_err();
            assert!(error.contains(expected), "{convert}: {error}");
            assert!(error.contains("\"S\""), "{error}");
        }
    }
}
