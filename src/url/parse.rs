//! Request path -> [`ImageRequest`], following libthumbor's regex exactly (spec §1). The
//! `filters:` segment is parsed here too ([`FilterList::parse`]), so the request carries its
//! filter list.
//!
//! Thumbor routes the raw request path through one regex (libthumbor's `Url.regex()` with `$`
//! appended by Tornado) and hands the handler each named group percent-decoded once. We do the
//! same with one `regex::Regex`: Rust's regex crate reports the captures a backtracking engine
//! would find first (leftmost-first), so the lazy HASH / FILTERS groups and the "optional group
//! gives way so that IMAGE is non-empty" behaviour come out as in Python, but in linear time.

use std::borrow::Cow;
use std::sync::LazyLock;

use percent_encoding::percent_decode_str;
use regex::{Captures, Regex};

use super::{
    CropBox, Dimension, FitIn, HAlign, ImageRequest, SignaturePart, Trim, TrimPosition, VAlign,
};
use crate::error::PictorError;
use crate::imaging::filters::FilterList;

/// libthumbor's imaging regex, group for group, in its fixed order.
///
/// Differences from the Python text, none of which change what matches:
/// - `[0-9]` instead of `\d`: Python's `\d` is Unicode-aware, but Tornado's path is ASCII or
///   latin-1 text, where the two agree.
/// - the signature alternative is wrapped in a `sig` group so we know where the signed message
///   starts.
/// - `$` is the end of the text, while Python's `$` also matches before a final `\n`; a request
///   path can never contain a raw newline, so this is unreachable.
const THUMBOR_PATH_PATTERN: &str = concat!(
    r"^/?",
    r"(?P<sig>(?:(?P<unsafe>unsafe)|(?P<hash>.+?))/)?",
    r"(?:(?P<debug>debug)/)?",
    r"(?:(?P<meta>meta)/)?",
    r"(?:(?P<trim>trim(?::(?:top-left|bottom-right))?(?::[0-9]+)?)/)?",
    r"(?:(?P<crop_left>[0-9]+)x(?P<crop_top>[0-9]+):(?P<crop_right>[0-9]+)x(?P<crop_bottom>[0-9]+)/)?",
    r"(?:(?P<adaptive>adaptive-)?(?P<full>full-)?(?P<fit_in>fit-in)/)?",
    r"(?:(?P<horizontal_flip>-)?(?P<width>(?:[0-9]+|orig))?x(?P<vertical_flip>-)?(?P<height>(?:[0-9]+|orig))?/)?",
    r"(?:(?P<halign>left|right|center)/)?",
    r"(?:(?P<valign>top|bottom|middle)/)?",
    r"(?:(?P<smart>smart)/)?",
    r"(?:filters:(?P<filters>.+?\))/)?",
    r"(?P<image>.+)$",
);

static THUMBOR_PATH_REGEX: LazyLock<Regex> = LazyLock::new(|| {
    // The pattern is a compile-time constant covered by every test in this module.
    Regex::new(THUMBOR_PATH_PATTERN).expect("THUMBOR_PATH_PATTERN is a valid regex")
});

/// Parses a raw (percent-encoded, no query string) request path.
///
/// Every path that Thumbor's imaging route accepts parses here too; whether it is *allowed*
/// (signature, unsafe) is [`super::signature::authorize`]'s job. The only paths that fail are
/// those the route itself rejects (the empty path, or one containing a raw newline) and those
/// whose groups are not UTF-8 after percent-decoding (Tornado answers 400 for both):
/// [`PictorError::BadUrl`].
pub fn parse_path(path: &str) -> Result<ImageRequest, PictorError> {
    let caps = THUMBOR_PATH_REGEX
        .captures(path)
        .ok_or_else(|| PictorError::BadUrl("path does not match the thumbor url grammar".into()))?;

    let signature = if caps.name("unsafe").is_some() {
        SignaturePart::Unsafe
    } else if let Some(hash) = caps.name("hash") {
        // Tornado decodes the hash group too and answers 400 if that is not UTF-8; the raw text
        // is what we keep, because `verify` decodes it itself.
        tornado_unquote(hash.as_str())?;
        SignaturePart::Hash(hash.as_str().to_owned())
    } else {
        SignaturePart::Missing
    };

    let signed_path = match caps.name("sig") {
        Some(sig) => &path[sig.end()..],
        None => path.strip_prefix('/').unwrap_or(path),
    }
    .to_owned();

    let image = tornado_unquote(group(&caps, "image").unwrap_or_default())?;
    if image.is_empty() {
        // `.+` guarantees a character, and decoding never yields nothing from something; kept
        // as a typed error rather than an assumption.
        return Err(PictorError::BadUrl("empty image".into()));
    }
    let filters = group(&caps, "filters").map(tornado_unquote).transpose()?;

    Ok(ImageRequest {
        signature,
        signed_path,
        debug: caps.name("debug").is_some(),
        meta: caps.name("meta").is_some(),
        trim: group(&caps, "trim").map(parse_trim),
        crop: parse_crop(&caps),
        fit_in: caps.name("fit_in").map(|_| FitIn {
            adaptive: caps.name("adaptive").is_some(),
            full: caps.name("full").is_some(),
        }),
        width: parse_dimension(group(&caps, "width")),
        height: parse_dimension(group(&caps, "height")),
        flip_horizontal: caps.name("horizontal_flip").is_some(),
        flip_vertical: caps.name("vertical_flip").is_some(),
        halign: match group(&caps, "halign") {
            Some("left") => HAlign::Left,
            Some("right") => HAlign::Right,
            _ => HAlign::Center,
        },
        valign: match group(&caps, "valign") {
            Some("top") => VAlign::Top,
            Some("bottom") => VAlign::Bottom,
            _ => VAlign::Middle,
        },
        smart: caps.name("smart").is_some(),
        filter_list: FilterList::parse(filters.as_deref().unwrap_or("")),
        filters,
        image,
        preset: None,
    })
}

fn group<'p>(caps: &Captures<'p>, name: &str) -> Option<&'p str> {
    caps.name(name).map(|m| m.as_str())
}

/// Tornado's decoding of a path group: `%XX` -> byte (malformed escapes stay as they are), `+`
/// stays `+`, then strict UTF-8.
fn tornado_unquote(raw: &str) -> Result<String, PictorError> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| PictorError::BadUrl("path is not utf-8 after percent-decoding".into()))
}

/// Thumbor splits the trim text on `:`: part 1 is the position (default `top-left`), part 2 the
/// tolerance (default 0). `trim:10` thus has position "10", which the trim code treats as
/// bottom-right, and tolerance 0.
fn parse_trim(text: &str) -> Trim {
    let mut parts = text.split(':').skip(1);
    let position = match parts.next() {
        None | Some("top-left") => TrimPosition::TopLeft,
        Some(_) => TrimPosition::BottomRight,
    };
    let tolerance = parts.next().map(saturating_u32).unwrap_or(0);
    Trim {
        position,
        tolerance,
    }
}

fn parse_crop(caps: &Captures<'_>) -> Option<CropBox> {
    let number = |name| group(caps, name).map(saturating_u32).unwrap_or(0);
    let crop = CropBox {
        left: number("crop_left"),
        top: number("crop_top"),
        right: number("crop_right"),
        bottom: number("crop_bottom"),
    };
    let any_set = crop.left | crop.top | crop.right | crop.bottom;
    (any_set > 0).then_some(crop)
}

fn parse_dimension(text: Option<&str>) -> Dimension {
    match text {
        Some("orig") => Dimension::Orig,
        Some(digits) => Dimension::Px(saturating_u32(digits)),
        None => Dimension::Px(0),
    }
}

/// ASCII digits -> u32, saturating: Python has unbounded ints and the values are clamped to the
/// image later, so anything over `u32::MAX` means the same as `u32::MAX`.
fn saturating_u32(digits: &str) -> u32 {
    digits
        .bytes()
        .filter(u8::is_ascii_digit)
        .fold(0u32, |acc, d| {
            acc.saturating_mul(10).saturating_add(u32::from(d - b'0'))
        })
}

/// Python's `urllib.parse.quote(s, safe)`: percent-encodes the UTF-8 bytes of `s` except
/// ASCII letters, digits, `_.-~` and the bytes in `safe`.
pub fn python_quote(s: &str, safe: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        if byte.is_ascii_alphanumeric() || b"_.-~".contains(&byte) || safe.contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(path: &str) -> ImageRequest {
        parse_path(path).unwrap()
    }

    #[test]
    fn typical_unsafe_fit_in_with_filters() {
        let req = parse("/unsafe/fit-in/300x200/filters:format(webp)/photos/cat.jpg");
        assert_eq!(req.signature, SignaturePart::Unsafe);
        assert_eq!(
            req.signed_path,
            "fit-in/300x200/filters:format(webp)/photos/cat.jpg"
        );
        assert_eq!(
            req.fit_in,
            Some(FitIn {
                adaptive: false,
                full: false
            })
        );
        assert_eq!(req.width, Dimension::Px(300));
        assert_eq!(req.height, Dimension::Px(200));
        assert_eq!(req.filters.as_deref(), Some("format(webp)"));
        assert_eq!(req.filter_list.names(), vec!["format"]);
        assert_eq!(req.image, "photos/cat.jpg");
        assert!(!req.debug && !req.meta && !req.smart);
        assert_eq!(req.trim, None);
        assert_eq!(req.crop, None);
    }

    #[test]
    fn libthumbor_full_form() {
        let req = parse(
            "/debug/meta/trim/300x200:400x500/adaptive-full-fit-in/-300x-400/left/top/smart/\
             filters:brightness(100)/some/image.jpg",
        );
        // The first segment is always the signature part: `debug` becomes the hash here.
        assert_eq!(req.signature, SignaturePart::Hash("debug".into()));
        assert!(!req.debug);
        assert!(req.meta);
        assert_eq!(
            req.trim,
            Some(Trim {
                position: TrimPosition::TopLeft,
                tolerance: 0
            })
        );

        // With a signature part in front, every option is read.
        let req = parse(
            "/unsafe/debug/meta/trim/300x200:400x500/adaptive-full-fit-in/-300x-400/left/top/\
             smart/filters:brightness(100)/some/image.jpg",
        );
        assert_eq!(req.signature, SignaturePart::Unsafe);
        assert!(req.debug);
        assert!(req.meta);
        assert_eq!(
            req.trim,
            Some(Trim {
                position: TrimPosition::TopLeft,
                tolerance: 0
            })
        );
        assert_eq!(
            req.crop,
            Some(CropBox {
                left: 300,
                top: 200,
                right: 400,
                bottom: 500
            })
        );
        assert_eq!(
            req.fit_in,
            Some(FitIn {
                adaptive: true,
                full: true
            })
        );
        assert_eq!(req.width, Dimension::Px(300));
        assert_eq!(req.height, Dimension::Px(400));
        assert!(req.flip_horizontal && req.flip_vertical);
        assert_eq!(req.halign, HAlign::Left);
        assert_eq!(req.valign, VAlign::Top);
        assert!(req.smart);
        assert_eq!(req.filters.as_deref(), Some("brightness(100)"));
        assert_eq!(req.image, "some/image.jpg");
    }

    #[test]
    fn first_segment_is_the_hash() {
        let req = parse("/300x200/img.jpg");
        assert_eq!(req.signature, SignaturePart::Hash("300x200".into()));
        assert_eq!(req.signed_path, "img.jpg");
        assert_eq!(req.width, Dimension::Px(0));
        assert_eq!(req.image, "img.jpg");
    }

    #[test]
    fn single_segment_has_no_signature() {
        let req = parse("/img.jpg");
        assert_eq!(req.signature, SignaturePart::Missing);
        assert_eq!(req.signed_path, "img.jpg");
        assert_eq!(req.image, "img.jpg");
    }

    #[test]
    fn unsafe_alone_is_an_image() {
        let req = parse("/unsafe/");
        assert_eq!(req.signature, SignaturePart::Missing);
        assert_eq!(req.image, "unsafe/");
        assert_eq!(req.signed_path, "unsafe/");
    }

    #[test]
    fn root_is_an_image() {
        let req = parse("/");
        assert_eq!(req.signature, SignaturePart::Missing);
        assert_eq!(req.image, "/");
        assert_eq!(req.signed_path, "");
    }

    #[test]
    fn empty_path_is_bad_url() {
        assert!(matches!(parse_path(""), Err(PictorError::BadUrl(_))));
    }

    #[test]
    fn path_with_newline_is_bad_url() {
        assert!(matches!(
            parse_path("/unsafe/a\nb.jpg"),
            Err(PictorError::BadUrl(_))
        ));
    }

    #[test]
    fn double_slash_after_root() {
        // `.+?` cannot find `x/` followed by something, so there is no signature part.
        let req = parse("//x");
        assert_eq!(req.signature, SignaturePart::Missing);
        assert_eq!(req.image, "/x");
    }

    #[test]
    fn unsafe_prefix_of_longer_word_is_a_hash() {
        let req = parse("/unsafex/img.jpg");
        assert_eq!(req.signature, SignaturePart::Hash("unsafex".into()));
    }

    #[test]
    fn out_of_order_options_become_the_image() {
        let req = parse("/unsafe/filters:stretch()/100x100/image.jpg");
        assert_eq!(req.filters.as_deref(), Some("stretch()"));
        assert_eq!(req.width, Dimension::Px(0));
        assert_eq!(req.image, "100x100/image.jpg");

        let req = parse("/unsafe/left/top/100x100/x.jpg");
        assert_eq!(req.halign, HAlign::Left);
        assert_eq!(req.valign, VAlign::Top);
        assert_eq!(req.width, Dimension::Px(0));
        assert_eq!(req.image, "100x100/x.jpg");

        let req = parse("/unsafe/top/left/x.jpg");
        assert_eq!(req.halign, HAlign::Center);
        assert_eq!(req.valign, VAlign::Top);
        assert_eq!(req.image, "left/x.jpg");

        let req = parse("/unsafe/smart/300x200/x.jpg");
        assert!(req.smart);
        assert_eq!(req.image, "300x200/x.jpg");
    }

    #[test]
    fn option_gives_way_so_the_image_is_not_empty() {
        let req = parse("/unsafe/300x200/");
        assert_eq!(req.width, Dimension::Px(0));
        assert_eq!(req.image, "300x200/");

        let req = parse("/unsafe/smart/");
        assert!(!req.smart);
        assert_eq!(req.image, "smart/");
    }

    #[test]
    fn empty_filters_is_an_image() {
        let req = parse("/unsafe/filters:/img.jpg");
        assert_eq!(req.filters, None);
        assert_eq!(req.image, "filters:/img.jpg");
    }

    #[test]
    fn filters_are_lazy_up_to_the_first_paren_slash() {
        let req = parse("/unsafe/filters:a(1):b(2)/img.jpg");
        assert_eq!(req.filters.as_deref(), Some("a(1):b(2)"));
        assert_eq!(req.image, "img.jpg");

        let req = parse("/unsafe/filters:foo/bar(1)/img.jpg");
        assert_eq!(req.filters.as_deref(), Some("foo/bar(1)"));
        assert_eq!(req.image, "img.jpg");

        let req = parse("/unsafe/filters:a(1)/b(2)/img.jpg");
        assert_eq!(req.filters.as_deref(), Some("a(1)"));
        assert_eq!(req.image, "b(2)/img.jpg");
    }

    #[test]
    fn filters_are_decoded_once() {
        let req = parse("/unsafe/filters:fill(%2523fff)/a.jpg");
        assert_eq!(req.filters.as_deref(), Some("fill(%23fff)"));
        // The list is parsed from the decoded text: `%23fff` is not a colour name, so `fill`
        // is dropped, as in Thumbor.
        assert!(req.filter_list.is_empty());
    }

    #[test]
    fn dimension_forms() {
        let dims = |path: &str| {
            let r = parse(path);
            (
                r.flip_horizontal,
                r.width,
                r.flip_vertical,
                r.height,
                r.image,
            )
        };
        assert_eq!(
            dims("/unsafe/x/a.jpg"),
            (
                false,
                Dimension::Px(0),
                false,
                Dimension::Px(0),
                "a.jpg".into()
            )
        );
        assert_eq!(
            dims("/unsafe/-x/a.jpg"),
            (
                true,
                Dimension::Px(0),
                false,
                Dimension::Px(0),
                "a.jpg".into()
            )
        );
        assert_eq!(
            dims("/unsafe/x-/a.jpg"),
            (
                false,
                Dimension::Px(0),
                true,
                Dimension::Px(0),
                "a.jpg".into()
            )
        );
        assert_eq!(
            dims("/unsafe/-0x-0/a.jpg"),
            (
                true,
                Dimension::Px(0),
                true,
                Dimension::Px(0),
                "a.jpg".into()
            )
        );
        assert_eq!(
            dims("/unsafe/origx100/a.jpg"),
            (
                false,
                Dimension::Orig,
                false,
                Dimension::Px(100),
                "a.jpg".into()
            )
        );
        assert_eq!(
            dims("/unsafe/-origx-orig/a.jpg"),
            (true, Dimension::Orig, true, Dimension::Orig, "a.jpg".into())
        );
        assert_eq!(
            dims("/unsafe/-origx100/a.jpg"),
            (
                true,
                Dimension::Orig,
                false,
                Dimension::Px(100),
                "a.jpg".into()
            )
        );
        assert_eq!(
            dims("/unsafe/300x/a.jpg"),
            (
                false,
                Dimension::Px(300),
                false,
                Dimension::Px(0),
                "a.jpg".into()
            )
        );
        // `-orig` without an `x` is not a size: it is part of the image.
        assert_eq!(
            dims("/unsafe/-orig/a.jpg"),
            (
                false,
                Dimension::Px(0),
                false,
                Dimension::Px(0),
                "-orig/a.jpg".into()
            )
        );
    }

    #[test]
    fn numbers_saturate() {
        let req = parse("/unsafe/1x2:99999999999x4294967296/99999999999999999999x0007/a.jpg");
        assert_eq!(
            req.crop,
            Some(CropBox {
                left: 1,
                top: 2,
                right: u32::MAX,
                bottom: u32::MAX
            })
        );
        assert_eq!(req.width, Dimension::Px(u32::MAX));
        assert_eq!(req.height, Dimension::Px(7));
    }

    #[test]
    fn all_zero_crop_is_no_crop() {
        let req = parse("/unsafe/0x0:0x0/a.jpg");
        assert_eq!(req.crop, None);
        assert_eq!(req.image, "a.jpg");
        let req = parse("/unsafe/0x0:0x1/a.jpg");
        assert_eq!(
            req.crop,
            Some(CropBox {
                left: 0,
                top: 0,
                right: 0,
                bottom: 1
            })
        );
    }

    #[test]
    fn trim_forms() {
        let trim = |path: &str| parse(path).trim;
        let t = |position, tolerance| {
            Some(Trim {
                position,
                tolerance,
            })
        };
        assert_eq!(trim("/unsafe/trim/a.jpg"), t(TrimPosition::TopLeft, 0));
        assert_eq!(
            trim("/unsafe/trim:top-left/a.jpg"),
            t(TrimPosition::TopLeft, 0)
        );
        assert_eq!(
            trim("/unsafe/trim:bottom-right/a.jpg"),
            t(TrimPosition::BottomRight, 0)
        );
        assert_eq!(
            trim("/unsafe/trim:top-left:15/a.jpg"),
            t(TrimPosition::TopLeft, 15)
        );
        assert_eq!(
            trim("/unsafe/trim:bottom-right:15/a.jpg"),
            t(TrimPosition::BottomRight, 15)
        );
        // The quirk: the number lands in the position slot.
        assert_eq!(
            trim("/unsafe/trim:10/a.jpg"),
            t(TrimPosition::BottomRight, 0)
        );
        // Not a trim: part of the image.
        let req = parse("/unsafe/trim:middle/a.jpg");
        assert_eq!(req.trim, None);
        assert_eq!(req.image, "trim:middle/a.jpg");
    }

    #[test]
    fn fit_in_forms() {
        let fit = |path: &str| parse(path).fit_in;
        let f = |adaptive, full| Some(FitIn { adaptive, full });
        assert_eq!(fit("/unsafe/fit-in/a.jpg"), f(false, false));
        assert_eq!(fit("/unsafe/adaptive-fit-in/a.jpg"), f(true, false));
        assert_eq!(fit("/unsafe/full-fit-in/a.jpg"), f(false, true));
        assert_eq!(fit("/unsafe/adaptive-full-fit-in/a.jpg"), f(true, true));
        let req = parse("/unsafe/full-adaptive-fit-in/a.jpg");
        assert_eq!(req.fit_in, None);
        assert_eq!(req.image, "full-adaptive-fit-in/a.jpg");
    }

    #[test]
    fn image_is_decoded_once_and_requoted() {
        let req = parse("/unsafe/100x100/http%3A%2F%2F127.0.0.1%3A8899%2Fimage.jpg");
        assert_eq!(req.image, "http://127.0.0.1:8899/image.jpg");
        assert_eq!(req.image_url(), "http%3A//127.0.0.1%3A8899/image.jpg");

        let req = parse("/unsafe/http://a.com/b%20c.jpg");
        assert_eq!(req.image, "http://a.com/b c.jpg");
        assert_eq!(req.image_url(), "http%3A//a.com/b%20c.jpg");

        // `+` is not a space; malformed escapes stay.
        let req = parse("/unsafe/a+b%zz%2.jpg");
        assert_eq!(req.image, "a+b%zz%2.jpg");

        let req = parse("/unsafe/a%2520b.jpg");
        assert_eq!(req.image, "a%20b.jpg");
    }

    #[test]
    fn signed_path_is_raw() {
        let req = parse("/lc6e3kkm_2Ww7NWho8HPOe-sqLU=/smart/alabama1_ap620%C3%A9.jpg");
        assert_eq!(
            req.signature,
            SignaturePart::Hash("lc6e3kkm_2Ww7NWho8HPOe-sqLU=".into())
        );
        assert_eq!(req.signed_path, "smart/alabama1_ap620%C3%A9.jpg");
        assert!(req.smart);
        assert_eq!(req.image, "alabama1_ap620é.jpg");

        let req = parse("/abc%3D/a.jpg");
        assert_eq!(req.signature, SignaturePart::Hash("abc%3D".into()));
        assert_eq!(req.signed_path, "a.jpg");
    }

    #[test]
    fn hash_injection_path_keeps_everything_after_the_first_segment() {
        let req =
            parse("/_wIUeSaeHw8dricKG2MGhqu5thk=/sma/_wIUeSaeHw8dricKG2MGhqu5thk=/rt/image.jpg");
        assert_eq!(
            req.signature,
            SignaturePart::Hash("_wIUeSaeHw8dricKG2MGhqu5thk=".into())
        );
        assert_eq!(
            req.signed_path,
            "sma/_wIUeSaeHw8dricKG2MGhqu5thk=/rt/image.jpg"
        );
        assert!(!req.smart);
        assert_eq!(req.image, "sma/_wIUeSaeHw8dricKG2MGhqu5thk=/rt/image.jpg");
    }

    #[test]
    fn invalid_utf8_is_bad_url() {
        assert!(matches!(
            parse_path("/unsafe/a%FF.jpg"),
            Err(PictorError::BadUrl(_))
        ));
        assert!(matches!(
            parse_path("/unsafe/filters:x(%C3)/a.jpg"),
            Err(PictorError::BadUrl(_))
        ));
        assert!(matches!(
            parse_path("/ab%FF/a.jpg"),
            Err(PictorError::BadUrl(_))
        ));
    }

    #[test]
    fn python_quote_matches_python() {
        assert_eq!(
            python_quote("http://a.com/b c.jpg", b"/"),
            "http%3A//a.com/b%20c.jpg"
        );
        assert_eq!(python_quote("a-b_c.d~e", b""), "a-b_c.d~e");
        assert_eq!(python_quote("é?%+", b"/"), "%C3%A9%3F%25%2B");
        assert_eq!(python_quote("a/b", b""), "a%2Fb");
        assert_eq!(python_quote("a:b", b":"), "a:b");
    }
}
