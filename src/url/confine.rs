//! Confinement of signing apps to their prefix: every name a signed path can make pictor load
//! (the image; for `extract_focal()` the original it unwraps to; every `watermark()` and
//! `frame()` image) must lie under the app's prefix, judged as the loaders will see it.
//!
//! A plain `starts_with` on the image is not enough, because the loaders do more with a name
//! than read it:
//! - the file loader normalises `.`/`..` lexically and tries the quoted name, then the decoded
//!   one;
//! - the HTTP loader hands the name to a URL parser that reads `%2e` as `.` (so `%2e%2e` is a
//!   `..` segment), `\` as `/`, and drops tabs and newlines;
//! - an origin or S3 may decode once more, turning `%2f` into `/`.
//!
//! So a name is accepted only when no number of percent-decodings gives it a `.` or `..`
//! segment, a backslash, a control character or a new `/`, and when it starts with the
//! prefix segment by segment (a prefix always ends with `/`, so `t1/` never covers `t10/`).

use super::ImageRequest;
use percent_encoding::percent_decode;

/// How many rounds of percent-decoding a name is followed through; a name still changing
/// after that is refused (nobody encodes a real name eight times).
pub const MAX_DECODING_ROUNDS: usize = 8;

/// Why pictor would load a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadedKind {
    /// The request's image, as written.
    Image,
    /// The original behind a nested Thumbor URL, unwrapped by `extract_focal()`.
    ExtractFocalOriginal,
    /// The image of a `watermark()` or `frame()` filter.
    FilterImage,
}

impl LoadedKind {
    fn describe(self) -> &'static str {
        match self {
            LoadedKind::Image => "image",
            LoadedKind::ExtractFocalOriginal => "extract_focal() original",
            LoadedKind::FilterImage => "watermark/frame image",
        }
    }
}

/// One name pictor loads for a request: the decoded text whose Python-quoted form
/// (`parse::python_quote(name, b"/")`) is what the loader is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedName {
    pub kind: LoadedKind,
    pub name: String,
}

/// Why a name is not confined to a prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscapeReason {
    #[error("is not under {0:?}")]
    OutsidePrefix(String),
    #[error("has a '.' or '..' segment after {0} percent-decoding(s)")]
    DotSegment(usize),
    #[error("has an encoded '/' (percent-decoding adds a '/')")]
    EncodedSlash,
    #[error("has a backslash")]
    Backslash,
    #[error("has a control character")]
    ControlCharacter,
    #[error("is still percent-encoded after {} decodings", MAX_DECODING_ROUNDS)]
    TooDeeplyEncoded,
    #[error("has a '/' before its URL scheme (the HTTP loader would read the scheme as the host)")]
    SlashBeforeScheme,
}

/// A loaded name outside the app's prefix: the one-line reason `/sign` answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {name:?} {reason}", .kind.describe())]
pub struct Escape {
    pub kind: LoadedKind,
    pub name: String,
    pub reason: EscapeReason,
}

/// Every name the server loads for `request`, in the order it loads them. This follows
/// `server::imaging::render_uncached` exactly: the same `FilterList` calls on the request's
/// list (a copy, since resolving `extract_focal()` changes it).
pub fn loaded_names(request: &ImageRequest) -> Vec<LoadedName> {
    let mut filters = request.filter_list.clone();
    let mut names = Vec::new();
    match filters.resolve_extract_focal(&request.image) {
        Some(original) => names.push(LoadedName {
            kind: LoadedKind::ExtractFocalOriginal,
            name: original,
        }),
        None => names.push(LoadedName {
            kind: LoadedKind::Image,
            name: request.image.clone(),
        }),
    }
    names.extend(filters.asset_urls().into_iter().map(|name| LoadedName {
        kind: LoadedKind::FilterImage,
        name,
    }));
    names
}

/// Checks every name `request` loads against `prefix` (a [`directory_prefix`]; empty means
/// any name, unchecked).
pub fn confine(request: &ImageRequest, prefix: &str) -> Result<(), Escape> {
    if prefix.is_empty() {
        return Ok(());
    }
    for loaded in loaded_names(request) {
        check_name(&loaded.name, prefix).map_err(|reason| Escape {
            kind: loaded.kind,
            name: loaded.name.clone(),
            reason,
        })?;
    }
    Ok(())
}

/// Whether one decoded name lies under `prefix` (which ends with `/`). Leading slashes of the
/// name are ignored (the file loader drops them, and the HTTP loader's `http:///host/…` is
/// `http://host/…`), except before a scheme: the HTTP loader only adds `http://` to names that
/// do not start with `http`, so `/http://host/app/x` would be fetched from the host `http`
/// (found by the `sign_prefix` fuzz target).
pub fn check_name(name: &str, prefix: &str) -> Result<(), EscapeReason> {
    check_structure(name)?;
    let unslashed = name.trim_start_matches('/');
    if unslashed.len() != name.len()
        && unslashed
            .get(..4)
            .is_some_and(|start| start.eq_ignore_ascii_case("http"))
    {
        return Err(EscapeReason::SlashBeforeScheme);
    }
    match unslashed.strip_prefix(prefix) {
        // The prefix's own folder (`app/`, `app//`) is not an image under it.
        Some(rest) if rest.split('/').any(|segment| !segment.is_empty()) => Ok(()),
        _ => Err(EscapeReason::OutsidePrefix(prefix.to_string())),
    }
}

/// The name and each of its percent-decodings: no `.`/`..` segment, backslash or control
/// character, and no decoding that adds a `/`.
fn check_structure(name: &str) -> Result<(), EscapeReason> {
    let mut current: Vec<u8> = name.as_bytes().to_vec();
    for round in 0..=MAX_DECODING_ROUNDS {
        if current.contains(&b'\\') {
            return Err(EscapeReason::Backslash);
        }
        // The URL parser drops tabs and newlines anywhere, so `.\t.` would be `..`.
        if current.iter().any(u8::is_ascii_control) {
            return Err(EscapeReason::ControlCharacter);
        }
        if current.split(|byte| *byte == b'/').any(is_dot_segment) {
            return Err(EscapeReason::DotSegment(round));
        }
        let decoded: Vec<u8> = percent_decode(&current).collect();
        if decoded == current {
            return Ok(());
        }
        if slashes(&decoded) != slashes(&current) {
            return Err(EscapeReason::EncodedSlash);
        }
        current = decoded;
    }
    Err(EscapeReason::TooDeeplyEncoded)
}

/// `.` or `..`, also followed by a `;` path parameter (`..;x`, which some origin servers such as
/// Tomcat and Spring strip before they resolve the path), a `?` or a `#`: the HTTP loader's URL
/// parser ends the path there, so `..#x.jpg` is fetched as `..` (found by the `sign_prefix`
/// fuzz target).
fn is_dot_segment(segment: &[u8]) -> bool {
    let name = segment
        .split(|byte| matches!(byte, b';' | b'?' | b'#'))
        .next()
        .unwrap_or(segment);
    name == b"." || name == b".."
}

fn slashes(bytes: &[u8]) -> usize {
    bytes.iter().filter(|byte| **byte == b'/').count()
}

/// A configured prefix as a directory: leading `/` dropped, a trailing `/` added when missing
/// (so `t1` means `t1/` and never covers `t10/`). Refused when empty or when it could not be
/// matched safely itself (`..`, backslash, control characters, `%`).
pub fn directory_prefix(text: &str) -> Result<String, String> {
    let mut prefix = text.trim_start_matches('/').to_string();
    if prefix.is_empty() {
        return Err("the prefix is empty (use * for any image)".into());
    }
    if !prefix.ends_with('/') {
        prefix.push('/');
    }
    // The file loader tries the quoted name first (`my app/` is read as `my%20app/` too), so
    // no prefix may be spelled with escapes: another app's folder is never a quoted spelling.
    if prefix.contains('%') {
        return Err("the prefix has a '%' (write it decoded)".into());
    }
    check_structure(&prefix).map_err(|reason| format!("the prefix {reason}"))?;
    Ok(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str) -> ImageRequest {
        super::super::parse_path(&format!("/unsafe/{path}")).unwrap()
    }

    fn confined(path: &str, prefix: &str) -> Result<(), EscapeReason> {
        confine(&request(path), prefix).map_err(|escape| escape.reason)
    }

    #[test]
    fn names_under_the_prefix_pass() {
        for path in [
            "300x200/app/a.jpg",
            "app/a.jpg",
            "fit-in/10x10/filters:quality(50)/app/sub/a%20b.jpg",
            "filters:watermark(app/wm.png,0,0,0):frame(app/frame.9.png)/app/a.jpg",
            "filters:extract_focal()/thumbor.host/unsafe/1x1:2x2/app/a.jpg",
            // A file whose name holds a literal escape (Thumbor's test images do).
            "app/Giunchedi%252C_Filippo.jpg",
            "app/a%2e.jpg",
        ] {
            assert_eq!(confined(path, "app/"), Ok(()), "{path}");
        }
        assert_eq!(
            confined("/img.example.com/app/a.jpg", "img.example.com/app/"),
            Ok(())
        );
    }

    #[test]
    fn extract_focal_original_is_checked_not_the_nested_url() {
        let escape = confine(
            &request("filters:extract_focal()/app/unsafe/1x1:2x2/other/secret.jpg"),
            "app/",
        )
        .unwrap_err();
        assert_eq!(escape.kind, LoadedKind::ExtractFocalOriginal);
        assert_eq!(escape.name, "other/secret.jpg");
        assert_eq!(
            escape.reason,
            EscapeReason::OutsidePrefix("app/".to_string())
        );
        // Two levels deep, encoded.
        assert!(confined(
            "filters:extract_focal()/app/unsafe/h.host/unsafe/1x1:2x2/other/secret.jpg",
            "app/"
        )
        .is_err());
    }

    #[test]
    fn watermark_and_frame_images_are_checked() {
        for path in [
            "filters:watermark(other/logo.png,0,0,0)/app/a.jpg",
            "filters:frame(other/frame.png)/app/a.jpg",
            "filters:quality(80):watermark('other/logo.png',10,10,50)/app/a.jpg",
            "filters:watermark(app/../other/logo.png,0,0,0)/app/a.jpg",
            "filters:frame(app/%252e%252e/other/f.png)/app/a.jpg",
        ] {
            let escape = confine(&request(path), "app/").unwrap_err();
            assert_eq!(escape.kind, LoadedKind::FilterImage, "{path}");
        }
    }

    #[test]
    fn encoded_climbs_are_refused() {
        let cases = [
            ("app/../other/a.jpg", EscapeReason::DotSegment(0)),
            ("app/./a.jpg", EscapeReason::DotSegment(0)),
            // The parser decodes once: `%2e%2e` reaches the loader, whose URL parser reads `..`.
            ("app/%2e%2e/other/a.jpg", EscapeReason::DotSegment(0)),
            ("app/%252e%252e/other/a.jpg", EscapeReason::DotSegment(1)),
            ("app/.%252E/other/a.jpg", EscapeReason::DotSegment(1)),
            (
                "app/%25252e%25252e/other/a.jpg",
                EscapeReason::DotSegment(2),
            ),
            ("app/x%252f..%252fother/a.jpg", EscapeReason::EncodedSlash),
            ("app/%255c../other.jpg", EscapeReason::Backslash),
            ("app/..%5cother.jpg", EscapeReason::Backslash),
            ("app/.%2509./other.jpg", EscapeReason::ControlCharacter),
            ("app/..;x/other.jpg", EscapeReason::DotSegment(0)),
            ("app/..%253B/other.jpg", EscapeReason::DotSegment(1)),
            // The HTTP loader's URL parser ends the path at `#` and `?`.
            ("app/%252e%252e#x.jpg", EscapeReason::DotSegment(1)),
            ("app/..?x.jpg", EscapeReason::DotSegment(0)),
        ];
        for (path, reason) in cases {
            assert_eq!(confined(path, "app/"), Err(reason), "{path}");
        }
        // `.` encoded nine times over: `%` then `25` nine times then `2e`.
        let deep = format!("app/%{}2e.jpg", "25".repeat(MAX_DECODING_ROUNDS + 1));
        assert_eq!(
            check_name(&deep, "app/"),
            Err(EscapeReason::TooDeeplyEncoded)
        );
    }

    #[test]
    fn a_slash_before_a_scheme_is_refused() {
        let prefix = "http://img.example.com/app/";
        assert!(check_name("http://img.example.com/app/x.jpg", prefix).is_ok());
        assert_eq!(
            check_name("/http://img.example.com/app/x.jpg", prefix),
            Err(EscapeReason::SlashBeforeScheme)
        );
        assert_eq!(
            check_name("//HTTP://img.example.com/app/x.jpg", prefix),
            Err(EscapeReason::SlashBeforeScheme)
        );
        // Before a host, a leading slash is harmless for both loaders.
        assert!(check_name("/img.example.com/app/x.jpg", "img.example.com/app/").is_ok());
    }

    #[test]
    fn prefix_matches_whole_segments() {
        assert!(confined("t10/a.jpg", "t1/").is_err());
        assert!(confined("t1.jpg", "t1/").is_err());
        assert!(confined("t1", "t1/").is_err());
        assert!(confined("t1/", "t1/").is_err());
        assert!(confined("t1//", "t1/").is_err());
        assert_eq!(confined("t1/a.jpg", "t1/"), Ok(()));
        assert_eq!(confined("//t1/a.jpg", "t1/"), Ok(()));
        // An empty prefix is "any image".
        assert_eq!(confined("other/../../x.jpg", ""), Ok(()));
    }

    #[test]
    fn configured_prefixes_are_directories() {
        assert_eq!(directory_prefix("t1").unwrap(), "t1/");
        assert_eq!(directory_prefix("/t1/").unwrap(), "t1/");
        assert_eq!(
            directory_prefix("img.example.com/app").unwrap(),
            "img.example.com/app/"
        );
        for bad in ["", "/", "a/../b", "a%2fb", "a%20b", "a\\b", "."] {
            assert!(directory_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loaded_names_follow_the_server() {
        let names = loaded_names(&request(
            "filters:extract_focal():watermark(app/w.png,0,0,0):frame(app/w.png)/h/unsafe/1x1:2x2/app/a.jpg",
        ));
        assert_eq!(
            names,
            vec![
                LoadedName {
                    kind: LoadedKind::ExtractFocalOriginal,
                    name: "app/a.jpg".into()
                },
                LoadedName {
                    kind: LoadedKind::FilterImage,
                    name: "app/w.png".into()
                },
            ]
        );
    }
}
