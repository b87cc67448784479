//! Presets: named Thumbor option sets (PRESETS), requested as `preset:<name>/<image>` after the
//! signature, or as `<stem><name>.<ext>` with PRESET_SUFFIX_URLS (c2corg's naming). A parsed
//! request is expanded here into the request the render sees ([`Presets::expand`]): the
//! `default` preset, then the named presets in URL order, then the options written after them,
//! each overriding the one before. The definitions are read and validated at start-up by
//! [`Presets::from_keys`]; their text formats (pictor's object, c2corg's `RESIZING_CONFIG` list)
//! are in `definitions`.
//!
//! With PRESETS unset nothing here runs: every path keeps Thumbor's meaning.

pub mod definitions;

use std::collections::BTreeMap;

use sha1::{Digest, Sha1};

use super::build::{build_path, UrlOptions, PATH_TEXT_SAFE};
use super::parse::{parse_path, python_quote};
use super::{Dimension, HAlign, ImageRequest, SignaturePart, VAlign};
use crate::config::reader::{invalid, ConfigError, Reader};
use crate::error::PictorError;
use crate::imaging::filters::params::split_calls;
use crate::imaging::filters::FilterList;

/// The preset that applies to every request (as imgproxy's).
pub const DEFAULT_PRESET: &str = "default";

/// The first segment after the signature that names presets: `preset:<name>[:<name>...]`.
const PRESET_SEGMENT: &str = "preset:";

/// The configured presets (PRESETS, PRESET_SUFFIX_URLS, PRESETS_ONLY).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Presets {
    /// Name -> canonical Thumbor options (`fit-in/200x200/filters:quality(80)`).
    definitions: BTreeMap<String, String>,
    /// PRESET_SUFFIX_URLS: `<stem><name>.<ext>` is preset `<name>` of `<stem>.<ext>`.
    pub suffix_urls: bool,
    /// PRESETS_ONLY: every path that names no preset is refused (400).
    pub only: bool,
}

/// What the presets did to a request: carried by the expanded [`ImageRequest`] for the meta
/// JSON and the cache keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedPreset {
    /// The presets applied, in order (`default` first when there is one).
    pub names: Vec<String>,
    /// The Thumbor options the request expanded to (canonical, without the image).
    pub options: String,
    /// The name of the result in the memory cache and result storage, in place of the request
    /// path: it holds a fingerprint of the applied definitions, so a changed preset renders
    /// anew, and not the signature, so a signed and an `unsafe` request share the result.
    pub result_key: String,
    /// Nothing but presets and the image was asked for: one of a bounded set of results
    /// (presets x originals), kept in result storage even for `unsafe` requests.
    pub preset_only: bool,
}

impl Presets {
    /// Reads PRESETS (JSON text, or the path of a file holding it), PRESET_SUFFIX_URLS and
    /// PRESETS_ONLY. A definition that is not a valid Thumbor option set is an error naming it.
    pub fn from_keys(r: &Reader<'_>) -> Result<Presets, ConfigError> {
        let suffix_urls = r.boolean("PRESET_SUFFIX_URLS", false)?;
        let only = r.boolean("PRESETS_ONLY", false)?;
        let Some(value) = r.optional_string("PRESETS") else {
            for (key, on) in [("PRESET_SUFFIX_URLS", suffix_urls), ("PRESETS_ONLY", only)] {
                if on {
                    return Err(invalid(key, "True", "needs PRESETS"));
                }
            }
            return Ok(Presets::default());
        };
        let text = match value.trim_start().chars().next() {
            Some('{' | '[') => value.clone(),
            _ => std::fs::read_to_string(crate::config::reader::expand_home(&value))
                .map_err(|e| invalid("PRESETS", &value, &format!("cannot read the file: {e}")))?,
        };
        let definitions =
            definitions::parse(&text).map_err(|reason| invalid("PRESETS", &value, &reason))?;
        Ok(Presets {
            definitions,
            suffix_urls,
            only,
        })
    }

    /// Presets from the JSON text of PRESETS (not a file path), read and validated as
    /// [`Presets::from_keys`] reads it; suffix URLs and PRESETS_ONLY off.
    pub fn from_definitions(text: &str) -> Result<Presets, String> {
        Ok(Presets {
            definitions: definitions::parse(text)?,
            ..Presets::default()
        })
    }

    /// No preset is configured: paths keep Thumbor's meaning.
    pub fn is_empty(&self) -> bool {
        self.definitions.is_empty()
    }

    /// The configured names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.definitions.keys().map(String::as_str).collect()
    }

    /// The canonical options of preset `name`.
    pub fn options(&self, name: &str) -> Option<&str> {
        self.definitions.get(name).map(String::as_str)
    }

    /// The path (as after the signature) of every preset of the original `image_path` (a
    /// plain name, percent-encoded here): `preset:<name>/<image>`.
    pub fn paths_for(&self, image_path: &str) -> Vec<String> {
        let image = python_quote(image_path.trim_start_matches('/'), PATH_TEXT_SAFE);
        self.definitions
            .keys()
            .map(|name| format!("{PRESET_SEGMENT}{name}/{image}"))
            .collect()
    }

    /// Every preset of the original `image_path` as `/<signature>/preset:<name>/<image>`,
    /// signed with `key` (as `/sign` signs), by preset name.
    pub fn signed_paths(&self, key: &[u8], image_path: &str) -> BTreeMap<String, String> {
        self.definitions
            .keys()
            .cloned()
            .zip(self.paths_for(image_path))
            .map(|(name, path)| {
                (
                    name,
                    format!("/{}/{path}", super::signature::sign(key, &path)),
                )
            })
            .collect()
    }

    /// The request the render sees: presets applied (see the module doc), the signature part
    /// and signed path as sent. Unchanged when no preset applies. Unknown presets, and with
    /// PRESETS_ONLY paths that name none, are 400s.
    pub fn expand(&self, request: ImageRequest) -> Result<ImageRequest, PictorError> {
        if self.definitions.is_empty() {
            return Ok(request);
        }
        let raw = request.signed_path.as_str();
        let (flags, after_flags) = split_flags(raw);
        let (named, rest) = if let Some(segment) = after_flags.strip_prefix(PRESET_SEGMENT) {
            let (names, rest) = segment.split_once('/').ok_or_else(|| {
                PictorError::BadRequest("a preset path needs an image after preset:<name>/".into())
            })?;
            let names: Vec<&str> = names.split(':').collect();
            for name in &names {
                if !self.definitions.contains_key(*name) {
                    return Err(PictorError::UnknownPreset(name.to_string()));
                }
            }
            (names, format!("{flags}{rest}"))
        } else if let Some((name, rest)) = self.suffix_match(&request, flags, after_flags) {
            (vec![name], rest)
        } else if self.only {
            return Err(PictorError::PresetRequired);
        } else if self.definitions.contains_key(DEFAULT_PRESET) {
            (Vec::new(), raw.to_string())
        } else {
            return Ok(request);
        };
        let mut names: Vec<&str> = Vec::with_capacity(named.len() + 1);
        if self.definitions.contains_key(DEFAULT_PRESET) && !named.contains(&DEFAULT_PRESET) {
            names.push(DEFAULT_PRESET);
        }
        names.extend(named.iter().copied());

        let written = parse_path(&format!("/unsafe/{rest}"))?;
        let mut expanded = parse_path("/unsafe/x")?;
        for name in &names {
            let options = &self.definitions[*name];
            overlay(&mut expanded, &parse_options(options)?);
        }
        overlay(&mut expanded, &written);
        expanded.signature = request.signature.clone();
        expanded.signed_path = request.signed_path.clone();
        expanded.image = written.image.clone();
        expanded.filter_list = FilterList::parse(expanded.filters.as_deref().unwrap_or(""));

        let mut fingerprint = Sha1::new();
        for name in &names {
            fingerprint.update(format!("{name}={}\n", self.definitions[*name]));
        }
        let fingerprint = format!("{:x}", fingerprint.finalize());
        let key_names = names.join(":");
        let result_key = if named.is_empty() {
            // Only `default` applies to a plain path: whatever the path asks is unbounded, so
            // its result keeps the signature in its name, as every plain result.
            let signature = match &expanded.signature {
                SignaturePart::Unsafe => "unsafe",
                SignaturePart::Hash(hash) => hash.as_str(),
                SignaturePart::Missing => "",
            };
            format!(
                "/{PRESET_SEGMENT}{key_names}@{}/{signature}/{}",
                &fingerprint[..12],
                expanded.signed_path
            )
        } else {
            format!("/{PRESET_SEGMENT}{key_names}@{}/{rest}", &fingerprint[..12])
        };
        let preset_only = !named.is_empty() && options_text(&written).is_empty();
        expanded.preset = Some(AppliedPreset {
            names: names.iter().map(|n| n.to_string()).collect(),
            options: options_text(&expanded),
            result_key,
            preset_only,
        });
        Ok(expanded)
    }

    /// With PRESET_SUFFIX_URLS, a path of nothing but an image whose file name is
    /// `<stem><name>.<ext>` for a preset `<name>` (the longest that fits, the stem not empty):
    /// the preset and the path of `<stem>.<ext>`.
    fn suffix_match<'a>(
        &'a self,
        request: &ImageRequest,
        flags: &str,
        after_flags: &str,
    ) -> Option<(&'a str, String)> {
        if !self.suffix_urls || !options_text(request).is_empty() {
            return None;
        }
        let (folder, file) = match after_flags.rsplit_once('/') {
            Some((folder, file)) => (format!("{folder}/"), file),
            None => (String::new(), after_flags),
        };
        let (stem, extension) = file.rsplit_once('.')?;
        let name = self
            .definitions
            .keys()
            .filter(|name| stem.len() > name.len() && stem.ends_with(name.as_str()))
            .max_by_key(|name| name.len())?;
        let original_stem = &stem[..stem.len() - name.len()];
        Some((
            name.as_str(),
            format!("{flags}{folder}{original_stem}.{extension}"),
        ))
    }
}

/// The leading `debug/` and `meta/` segments of a signed path (which the grammar puts before
/// every option, so before a preset too), and what follows them.
fn split_flags(raw: &str) -> (&str, &str) {
    let mut rest = raw;
    for flag in ["debug/", "meta/"] {
        if let Some(after) = rest.strip_prefix(flag) {
            rest = after;
        }
    }
    (&raw[..raw.len() - rest.len()], rest)
}

/// A preset's options as a request (with the stand-in image `x`).
fn parse_options(options: &str) -> Result<ImageRequest, PictorError> {
    let path = if options.is_empty() {
        "/unsafe/x".to_string()
    } else {
        format!("/unsafe/{options}/x")
    };
    parse_path(&path)
}

/// The request's options as canonical Thumbor path text, without `debug`, `meta` and the
/// image (empty when it asks for nothing).
pub fn options_text(request: &ImageRequest) -> String {
    let mut options = UrlOptions::from(request);
    options.debug = false;
    options.meta = false;
    options.image = String::new();
    build_path(&options).trim_end_matches('/').to_string()
}

/// Writes the options `top` spells out over `base`: a written option replaces the preset's
/// (the size as a whole, with its flips); `debug`, `meta` and `smart` add up; a filter replaces
/// the earlier filter of the same name and the others are kept, earlier ones first.
fn overlay(base: &mut ImageRequest, top: &ImageRequest) {
    base.debug |= top.debug;
    base.meta |= top.meta;
    base.smart |= top.smart;
    if top.trim.is_some() {
        base.trim = top.trim;
    }
    if top.crop.is_some() {
        base.crop = top.crop;
    }
    if top.fit_in.is_some() {
        base.fit_in = top.fit_in;
    }
    let sized = top.width != Dimension::Px(0)
        || top.height != Dimension::Px(0)
        || top.flip_horizontal
        || top.flip_vertical;
    if sized {
        base.width = top.width;
        base.height = top.height;
        base.flip_horizontal = top.flip_horizontal;
        base.flip_vertical = top.flip_vertical;
    }
    if top.halign != HAlign::Center {
        base.halign = top.halign;
    }
    if top.valign != VAlign::Middle {
        base.valign = top.valign;
    }
    base.filters = match (base.filters.take(), &top.filters) {
        (earlier, None) => earlier,
        (None, Some(later)) => Some(later.clone()),
        (Some(earlier), Some(later)) => {
            let replaced: Vec<&str> = split_calls(later).into_iter().map(|(n, _)| n).collect();
            let mut calls: Vec<String> = split_calls(&earlier)
                .into_iter()
                .filter(|(name, _)| !replaced.contains(name))
                .map(|(_, call)| call)
                .collect();
            calls.push(later.clone());
            Some(calls.join(":"))
        }
    };
}

#[cfg(test)]
mod tests;
