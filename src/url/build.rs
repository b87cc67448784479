//! [`ImageRequest`]-like options -> canonical Thumbor path (libthumbor's option order, spec §1.5).

use super::parse::{parse_path, python_quote};
use super::signature::sign;
use super::{CropBox, Dimension, FitIn, HAlign, ImageRequest, Trim, TrimPosition, VAlign};

/// Everything a Thumbor URL can say, like libthumbor's `generate_options` plus the image.
///
/// `filters` and `image` are written into the path verbatim, as libthumbor does: they are path
/// text, so anything that must not appear raw in a path (`?`, `#`, `%`, space, ...) has to be
/// percent-encoded by the caller. [`From<&ImageRequest>`] does that for parsed requests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UrlOptions {
    pub debug: bool,
    pub meta: bool,
    pub trim: Option<Trim>,
    /// Omitted from the path when `None` or all four values are 0.
    pub crop: Option<CropBox>,
    pub fit_in: Option<FitIn>,
    pub width: Dimension,
    pub height: Dimension,
    pub flip_horizontal: bool,
    pub flip_vertical: bool,
    pub halign: HAlign,
    pub valign: VAlign,
    pub smart: bool,
    /// Each filter call as path text, e.g. `brightness(20)`; joined with `:`.
    pub filters: Vec<String>,
    /// The image as path text, e.g. `my.server.com/some/path/to/image.jpg`.
    pub image: String,
}

/// The options and image in canonical order, without a leading `/` and without a signature
/// part: the message that [`sign`] signs.
pub fn build_path(opts: &UrlOptions) -> String {
    let mut parts: Vec<String> = Vec::new();
    if opts.debug {
        parts.push("debug".into());
    }
    if opts.meta {
        parts.push("meta".into());
    }
    if let Some(trim) = opts.trim {
        parts.push(trim_text(trim));
    }
    if let Some(crop) = opts.crop {
        if crop.left | crop.top | crop.right | crop.bottom > 0 {
            parts.push(format!(
                "{}x{}:{}x{}",
                crop.left, crop.top, crop.right, crop.bottom
            ));
        }
    }
    if let Some(fit) = opts.fit_in {
        let adaptive = if fit.adaptive { "adaptive-" } else { "" };
        let full = if fit.full { "full-" } else { "" };
        parts.push(format!("{adaptive}{full}fit-in"));
    }
    if let Some(size) = size_text(opts) {
        parts.push(size);
    }
    match opts.halign {
        HAlign::Left => parts.push("left".into()),
        HAlign::Right => parts.push("right".into()),
        HAlign::Center => {}
    }
    match opts.valign {
        VAlign::Top => parts.push("top".into()),
        VAlign::Bottom => parts.push("bottom".into()),
        VAlign::Middle => {}
    }
    if opts.smart {
        parts.push("smart".into());
    }
    if !opts.filters.is_empty() {
        parts.push(format!("filters:{}", opts.filters.join(":")));
    }
    parts.push(opts.image.clone());
    parts.join("/")
}

/// `/<signature>/<path>`: a URL path Thumbor accepts with `key` as its security key.
pub fn signed_path(key: &[u8], opts: &UrlOptions) -> String {
    let path = build_path(opts);
    format!("/{}/{}", sign(key, &path), path)
}

/// `/unsafe/<path>`: a URL path Thumbor accepts when unsafe URLs are allowed.
pub fn unsafe_path(opts: &UrlOptions) -> String {
    format!("/unsafe/{}", build_path(opts))
}

/// `trim`, `trim:top-left:N`, `trim:bottom-right`, `trim:bottom-right:N`: the shortest text
/// that parses back to the same position and tolerance.
fn trim_text(trim: Trim) -> String {
    match (trim.position, trim.tolerance) {
        (TrimPosition::TopLeft, 0) => "trim".into(),
        (TrimPosition::TopLeft, tolerance) => format!("trim:top-left:{tolerance}"),
        (TrimPosition::BottomRight, 0) => "trim:bottom-right".into(),
        (TrimPosition::BottomRight, tolerance) => format!("trim:bottom-right:{tolerance}"),
    }
}

/// `WxH` with `-` in front of a flipped side (so a flip with no size is `-0x0`), or `None`
/// when there is neither a size nor a flip.
fn size_text(opts: &UrlOptions) -> Option<String> {
    let no_size = opts.width == Dimension::Px(0) && opts.height == Dimension::Px(0);
    if no_size && !opts.flip_horizontal && !opts.flip_vertical {
        return None;
    }
    let side = |flip: bool, dim: Dimension| {
        let sign = if flip { "-" } else { "" };
        match dim {
            Dimension::Px(px) => format!("{sign}{px}"),
            Dimension::Orig => format!("{sign}orig"),
        }
    };
    Some(format!(
        "{}x{}",
        side(opts.flip_horizontal, opts.width),
        side(opts.flip_vertical, opts.height)
    ))
}

/// What a parsed request's decoded text is re-encoded with: everything that would change the
/// path's meaning (`%`, `?`, `#`, space, non-ASCII, ...) is escaped, common URL punctuation
/// stays readable.
pub const PATH_TEXT_SAFE: &[u8] = b"/:@!$&'()*+,;=";

impl From<&ImageRequest> for UrlOptions {
    /// Options that build a path which parses back to `request` (apart from the signature part
    /// and the exact raw spelling): the decoded filters and image are re-encoded, and
    /// defaults that were spelled out (`center/`, `x/`, `0x0:0x0/`) are left out.
    fn from(request: &ImageRequest) -> Self {
        let mut opts = UrlOptions {
            debug: request.debug,
            meta: request.meta,
            trim: request.trim,
            crop: request.crop,
            fit_in: request.fit_in,
            width: request.width,
            height: request.height,
            flip_horizontal: request.flip_horizontal,
            flip_vertical: request.flip_vertical,
            halign: request.halign,
            valign: request.valign,
            smart: request.smart,
            filters: request
                .filters
                .iter()
                .map(|filters| filters_path_text(filters))
                .collect(),
            image: python_quote(&request.image, PATH_TEXT_SAFE),
        };
        // Leaving out a spelled-out default can let a later option group swallow the head of
        // the image (`/unsafe/x/300x200/a.jpg` has image `300x200/a.jpg`). No option starts
        // with `%`, so escaping the image's first character keeps it the image.
        if !reparses_to(&opts, request) {
            opts.image = escape_first_char(&opts.image);
        }
        opts
    }
}

/// The filters text re-encoded so that the lazy FILTERS group still ends at its last `)`: any
/// `)/` inside it (only possible if it was sent encoded) gets its `)` escaped.
fn filters_path_text(filters: &str) -> String {
    let quoted = python_quote(filters, PATH_TEXT_SAFE);
    let Some(body) = quoted.strip_suffix(')') else {
        return quoted;
    };
    format!("{})", body.replace(")/", "%29/"))
}

fn reparses_to(opts: &UrlOptions, request: &ImageRequest) -> bool {
    parse_path(&unsafe_path(opts)).is_ok_and(|reparsed| {
        ImageRequest {
            signature: request.signature.clone(),
            signed_path: request.signed_path.clone(),
            // The list follows from `filters`, which is compared; the request's own list may
            // have had its `extract_focal()` points resolved since it was parsed.
            filter_list: request.filter_list.clone(),
            preset: request.preset.clone(),
            ..reparsed
        } == *request
    })
}

fn escape_first_char(text: &str) -> String {
    match text.chars().next() {
        Some(first) if first.is_ascii() && first != '%' => {
            format!("%{:02X}{}", u32::from(first), &text[1..])
        }
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::SignaturePart;

    const IMAGE: &str = "my.server.com/some/path/to/image.jpg";
    const KEY: &[u8] = b"my-security-key";

    fn image(image: &str) -> UrlOptions {
        UrlOptions {
            image: image.into(),
            ..UrlOptions::default()
        }
    }

    fn crop(left: u32, top: u32, right: u32, bottom: u32) -> Option<CropBox> {
        Some(CropBox {
            left,
            top,
            right,
            bottom,
        })
    }

    #[test]
    fn libthumbor_signed_urls() {
        let opts = UrlOptions {
            width: Dimension::Px(300),
            height: Dimension::Px(200),
            ..image(IMAGE)
        };
        assert_eq!(
            signed_path(KEY, &opts),
            "/8ammJH8D-7tXy6kU3lTvoXlhu4o=/300x200/my.server.com/some/path/to/image.jpg"
        );

        let opts = UrlOptions {
            crop: crop(10, 10, 200, 200),
            ..opts
        };
        assert_eq!(
            signed_path(KEY, &opts),
            "/B35oBEIwztbc3jm7vsdqLez2C78=/10x10:200x200/300x200/\
             my.server.com/some/path/to/image.jpg"
        );

        let opts = UrlOptions {
            filters: vec!["brightness(20)".into(), "contrast(10)".into()],
            ..opts
        };
        assert_eq!(
            signed_path(KEY, &opts),
            "/as8U2DbUUtTMgvPF26LkjS3MocY=/10x10:200x200/300x200/\
             filters:brightness(20):contrast(10)/my.server.com/some/path/to/image.jpg"
        );
    }

    #[test]
    fn thumbor_url_cli_vector() {
        let opts = UrlOptions {
            width: Dimension::Px(200),
            height: Dimension::Px(300),
            ..image("myserver.com/myimg.jpg")
        };
        assert_eq!(
            signed_path(b"MY-SECURITY-KEY", &opts),
            "/G_dykuWBGyEil5JnNh9cBke0Ajo=/200x300/myserver.com/myimg.jpg"
        );
    }

    #[test]
    fn unsafe_paths() {
        assert_eq!(unsafe_path(&image(IMAGE)), format!("/unsafe/{IMAGE}"));
        let opts = UrlOptions {
            width: Dimension::Px(100),
            height: Dimension::Px(140),
            smart: true,
            ..image(IMAGE)
        };
        assert_eq!(unsafe_path(&opts), format!("/unsafe/100x140/smart/{IMAGE}"));
    }

    #[test]
    fn size_forms_follow_libthumbor() {
        let size = |width, height, flip_horizontal, flip_vertical| {
            build_path(&UrlOptions {
                width,
                height,
                flip_horizontal,
                flip_vertical,
                ..image("i")
            })
        };
        use Dimension::{Orig, Px};
        assert_eq!(size(Px(0), Px(0), false, false), "i");
        assert_eq!(size(Px(300), Px(0), false, false), "300x0/i");
        assert_eq!(size(Px(0), Px(300), false, false), "0x300/i");
        assert_eq!(size(Orig, Px(0), false, false), "origx0/i");
        assert_eq!(size(Px(0), Orig, false, false), "0xorig/i");
        assert_eq!(size(Orig, Orig, false, false), "origxorig/i");
        assert_eq!(size(Px(100), Orig, false, false), "100xorig/i");
        assert_eq!(size(Px(0), Px(0), true, false), "-0x0/i");
        assert_eq!(size(Px(200), Px(0), true, false), "-200x0/i");
        assert_eq!(size(Px(0), Px(0), false, true), "0x-0/i");
        assert_eq!(size(Px(0), Px(200), false, true), "0x-200/i");
        assert_eq!(size(Px(0), Px(0), true, true), "-0x-0/i");
        assert_eq!(size(Px(200), Px(300), true, true), "-200x-300/i");
        assert_eq!(size(Orig, Px(0), true, false), "-origx0/i");
    }

    #[test]
    fn other_options_follow_libthumbor() {
        let path = |opts: UrlOptions| build_path(&opts);
        assert_eq!(
            path(UrlOptions {
                meta: true,
                ..image("i")
            }),
            "meta/i"
        );
        let trim = |position, tolerance| {
            path(UrlOptions {
                trim: Some(Trim {
                    position,
                    tolerance,
                }),
                ..image("i")
            })
        };
        assert_eq!(trim(TrimPosition::TopLeft, 0), "trim/i");
        assert_eq!(
            trim(TrimPosition::BottomRight, 15),
            "trim:bottom-right:15/i"
        );
        assert_eq!(trim(TrimPosition::BottomRight, 0), "trim:bottom-right/i");
        assert_eq!(trim(TrimPosition::TopLeft, 15), "trim:top-left:15/i");
        assert_eq!(
            path(UrlOptions {
                crop: crop(10, 20, 30, 40),
                ..image("i")
            }),
            "10x20:30x40/i"
        );
        assert_eq!(
            path(UrlOptions {
                crop: crop(0, 0, 0, 0),
                ..image("i")
            }),
            "i"
        );
        let fit = |adaptive, full| {
            path(UrlOptions {
                fit_in: Some(FitIn { adaptive, full }),
                width: Dimension::Px(200),
                height: Dimension::Px(300),
                ..image("i")
            })
        };
        assert_eq!(fit(false, false), "fit-in/200x300/i");
        assert_eq!(fit(true, false), "adaptive-fit-in/200x300/i");
        assert_eq!(fit(false, true), "full-fit-in/200x300/i");
        assert_eq!(fit(true, true), "adaptive-full-fit-in/200x300/i");
        assert_eq!(
            path(UrlOptions {
                halign: HAlign::Left,
                valign: VAlign::Top,
                ..image("i")
            }),
            "left/top/i"
        );
        assert_eq!(
            path(UrlOptions {
                halign: HAlign::Center,
                valign: VAlign::Middle,
                ..image("i")
            }),
            "i"
        );
        assert_eq!(
            path(UrlOptions {
                smart: true,
                halign: HAlign::Left,
                ..image("i")
            }),
            "left/smart/i"
        );
    }

    #[test]
    fn full_form_in_canonical_order_round_trips() {
        let raw = "debug/meta/trim/300x200:400x500/adaptive-full-fit-in/-300x-400/left/top/smart/\
                   filters:brightness(100)/some/image.jpg";
        let request = parse_path(&format!("/unsafe/{raw}")).unwrap();
        let opts = UrlOptions::from(&request);
        assert_eq!(
            opts,
            UrlOptions {
                debug: true,
                meta: true,
                trim: Some(Trim {
                    position: TrimPosition::TopLeft,
                    tolerance: 0
                }),
                crop: crop(300, 200, 400, 500),
                fit_in: Some(FitIn {
                    adaptive: true,
                    full: true
                }),
                width: Dimension::Px(300),
                height: Dimension::Px(400),
                flip_horizontal: true,
                flip_vertical: true,
                halign: HAlign::Left,
                valign: VAlign::Top,
                smart: true,
                filters: vec!["brightness(100)".into()],
                image: "some/image.jpg".into(),
            }
        );
        assert_eq!(build_path(&opts), raw);
        assert_eq!(unsafe_path(&opts), format!("/unsafe/{raw}"));
    }

    #[test]
    fn signed_round_trip_verifies() {
        let request =
            parse_path("/unsafe/fit-in/300x200/filters:format(webp)/photos/cat.jpg").unwrap();
        let path = signed_path(b"ACME-SEC", &UrlOptions::from(&request));
        let signed = parse_path(&path).unwrap();
        assert!(matches!(signed.signature, SignaturePart::Hash(_)));
        assert!(crate::url::signature::authorize(&signed, &[b"ACME-SEC"], false).is_ok());
        assert_eq!(
            signed.signed_path,
            "fit-in/300x200/filters:format(webp)/photos/cat.jpg"
        );
    }

    /// parse -> From -> build -> parse gives the same request, for the awkward cases too.
    #[test]
    fn parse_build_parse_round_trips() {
        for raw in [
            "/unsafe/fit-in/300x200/filters:format(webp)/photos/cat.jpg",
            "/unsafe/trim:10/a.jpg",
            "/unsafe/trim:top-left/a.jpg",
            "/unsafe/-x/a.jpg",
            "/unsafe/x-/a.jpg",
            "/unsafe/-0x-0/a.jpg",
            "/unsafe/origx100/a.jpg",
            "/unsafe/99999999999x1/a.jpg",
            "/unsafe/filters:a(1):b(2)/img.jpg",
            "/unsafe/filters:foo/bar(1)/img.jpg",
            "/unsafe/filters:fill(%2523fff)/a.jpg",
            "/unsafe/filters:a(%29%2F)/img.jpg",
            "/unsafe/http%3A%2F%2F127.0.0.1%3A8899%2Fimage.jpg",
            "/unsafe/100x100/http://a.com/b%20c.jpg%3Fa%3D1",
            "/unsafe/alabama1_ap620%C3%A9.jpg",
            // Spelled-out defaults in front of something that looks like an option.
            "/unsafe/center/left/img.jpg",
            "/unsafe/x/300x200/img.jpg",
            "/unsafe/0x0:0x0/10x10:20x20/img.jpg",
            "/unsafe/middle/smart/img.jpg",
            "/unsafe/filters%3Ax(1)/img.jpg",
            "/unsafe/%73mart/x.jpg",
            // Out-of-order options that are part of the image.
            "/unsafe/filters:stretch()/100x100/image.jpg",
            "/unsafe/left/top/100x100/x.jpg",
            "/unsafe/smart/",
            "/unsafe/filters:/img.jpg",
        ] {
            let request = parse_path(raw).unwrap();
            let rebuilt = unsafe_path(&UrlOptions::from(&request));
            let reparsed = parse_path(&rebuilt).unwrap();
            assert_eq!(
                ImageRequest {
                    signed_path: request.signed_path.clone(),
                    ..reparsed
                },
                request,
                "{raw} -> {rebuilt}"
            );
        }
    }

    #[test]
    fn image_is_requoted_readably() {
        let request = parse_path("/unsafe/100x100/http%3A%2F%2Fa.com%2Fb%20c.jpg").unwrap();
        assert_eq!(UrlOptions::from(&request).image, "http://a.com/b%20c.jpg");
        let request = parse_path("/unsafe/x/300x200/img.jpg").unwrap();
        assert_eq!(build_path(&UrlOptions::from(&request)), "%3300x200/img.jpg");
    }
}

/// One side of a structured size: a number of pixels or `"orig"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(untagged)]
pub enum SizeValue {
    Px(u32),
    Named(OrigKeyword),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrigKeyword {
    Orig,
}

impl From<SizeValue> for Dimension {
    fn from(v: SizeValue) -> Dimension {
        match v {
            SizeValue::Px(px) => Dimension::Px(px),
            SizeValue::Named(OrigKeyword::Orig) => Dimension::Orig,
        }
    }
}

/// Options as named values (the JSON of `POST /sign` and the flags of `pictor sign`), with
/// libthumbor's keyword names. The image is a plain name: it is percent-encoded here.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StructuredOptions {
    pub image: String,
    pub width: Option<SizeValue>,
    pub height: Option<SizeValue>,
    pub fit_in: bool,
    pub full_fit_in: bool,
    pub adaptive_fit_in: bool,
    pub adaptive_full_fit_in: bool,
    pub horizontal_flip: bool,
    pub vertical_flip: bool,
    /// `left`, `center` or `right`.
    pub halign: Option<String>,
    /// `top`, `middle` or `bottom`.
    pub valign: Option<String>,
    pub smart: bool,
    pub meta: bool,
    pub debug: bool,
    /// `true` (top-left, tolerance 0) or the text after `trim:` (`bottom-right:10`).
    pub trim: Option<TrimValue>,
    /// `[left, top, right, bottom]`.
    pub crop: Option<[u32; 4]>,
    /// Filter calls, e.g. `["quality(80)", "grayscale()"]`.
    pub filters: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(untagged)]
pub enum TrimValue {
    Enabled(bool),
    Spec(String),
}

impl StructuredOptions {
    /// The canonical options, or why they are not valid.
    pub fn to_url_options(&self) -> Result<UrlOptions, String> {
        if self.image.trim_matches('/').is_empty() {
            return Err("image is required".into());
        }
        let fit_modes = [
            (
                self.fit_in,
                FitIn {
                    adaptive: false,
                    full: false,
                },
            ),
            (
                self.full_fit_in,
                FitIn {
                    adaptive: false,
                    full: true,
                },
            ),
            (
                self.adaptive_fit_in,
                FitIn {
                    adaptive: true,
                    full: false,
                },
            ),
            (
                self.adaptive_full_fit_in,
                FitIn {
                    adaptive: true,
                    full: true,
                },
            ),
        ];
        let mut chosen = fit_modes
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, mode)| *mode);
        let fit_in = chosen.next();
        if chosen.next().is_some() {
            return Err(
                "choose one of fit_in, full_fit_in, adaptive_fit_in, adaptive_full_fit_in".into(),
            );
        }
        let halign = match self.halign.as_deref() {
            None | Some("center") => HAlign::Center,
            Some("left") => HAlign::Left,
            Some("right") => HAlign::Right,
            Some(other) => return Err(format!("halign {other:?}: expected left, center or right")),
        };
        let valign = match self.valign.as_deref() {
            None | Some("middle") => VAlign::Middle,
            Some("top") => VAlign::Top,
            Some("bottom") => VAlign::Bottom,
            Some(other) => return Err(format!("valign {other:?}: expected top, middle or bottom")),
        };
        let trim = match &self.trim {
            None | Some(TrimValue::Enabled(false)) => None,
            Some(TrimValue::Enabled(true)) => Some(Trim {
                position: TrimPosition::TopLeft,
                tolerance: 0,
            }),
            Some(TrimValue::Spec(spec)) => {
                let request = parse_path(&format!("/unsafe/trim:{spec}/x"))
                    .ok()
                    .filter(|r| r.image == "x")
                    .ok_or_else(|| {
                        format!("trim {spec:?}: expected top-left|bottom-right[:tolerance]")
                    })?;
                request.trim
            }
        };
        for filter in &self.filters {
            if !filter.ends_with(')') || !filter.contains('(') || filter.contains('/') {
                return Err(format!(
                    "filter {filter:?}: expected name(args) without '/'"
                ));
            }
        }
        Ok(UrlOptions {
            debug: self.debug,
            meta: self.meta,
            trim,
            crop: self.crop.map(|[left, top, right, bottom]| CropBox {
                left,
                top,
                right,
                bottom,
            }),
            fit_in,
            width: self.width.map_or(Dimension::Px(0), Dimension::from),
            height: self.height.map_or(Dimension::Px(0), Dimension::from),
            flip_horizontal: self.horizontal_flip,
            flip_vertical: self.vertical_flip,
            halign,
            valign,
            smart: self.smart,
            filters: self.filters.clone(),
            image: python_quote(self.image.trim_start_matches('/'), PATH_TEXT_SAFE),
        })
    }
}

#[cfg(test)]
mod structured_tests {
    use super::*;

    #[test]
    fn structured_options_build_canonical_paths() {
        let opts: StructuredOptions = serde_json::from_str(
            r#"{"image": "photos/my cat.jpg", "width": 300, "height": 200, "fit_in": true,
                "smart": true, "filters": ["quality(80)"], "halign": "left"}"#,
        )
        .unwrap();
        assert_eq!(
            build_path(&opts.to_url_options().unwrap()),
            "fit-in/300x200/left/smart/filters:quality(80)/photos/my%20cat.jpg"
        );
        let opts: StructuredOptions = serde_json::from_str(
            r#"{"image": "my.server.com/some/path/to/image.jpg", "width": 300, "height": 200}"#,
        )
        .unwrap();
        assert_eq!(
            signed_path(b"my-security-key", &opts.to_url_options().unwrap()),
            "/8ammJH8D-7tXy6kU3lTvoXlhu4o=/300x200/my.server.com/some/path/to/image.jpg"
        );
        let opts: StructuredOptions = serde_json::from_str(
            r#"{"image": "a.jpg", "width": "orig", "horizontal_flip": true, "trim": "bottom-right:5",
                "crop": [10, 10, 200, 200]}"#,
        )
        .unwrap();
        assert_eq!(
            build_path(&opts.to_url_options().unwrap()),
            "trim:bottom-right:5/10x10:200x200/-origx0/a.jpg"
        );
    }

    #[test]
    fn invalid_structured_options_say_why() {
        for json in [
            r#"{"width": 10}"#,
            r#"{"image": "a.jpg", "fit_in": true, "full_fit_in": true}"#,
            r#"{"image": "a.jpg", "halign": "middle"}"#,
            r#"{"image": "a.jpg", "trim": "sideways"}"#,
            r#"{"image": "a.jpg", "filters": ["nope"]}"#,
        ] {
            let opts: StructuredOptions = serde_json::from_str(json).unwrap();
            assert!(opts.to_url_options().is_err(), "{json}");
        }
        assert!(
            serde_json::from_str::<StructuredOptions>(r#"{"image": "a", "colour": 1}"#).is_err()
        );
        assert!(
            serde_json::from_str::<StructuredOptions>(r#"{"image": "a", "width": "big"}"#).is_err()
        );
    }
}
