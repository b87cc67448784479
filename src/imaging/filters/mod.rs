//! Thumbor's filters: the `filters:` list parsed with Thumbor's splitting and parameter rules,
//! and the effect of each filter in its phase (pre-load, after-load, post-transform).
//! One file per filter family lives beside this one.

mod blur;
mod color;
mod colors;
mod composite;
mod corners;
mod fill;
mod geometry;
mod noise;
mod output;
pub mod params;
mod red_eye;
mod resize;
mod watermark;

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod ssim;

use super::{Image, ImageFormat, ImagingError, PixelLayout};
use params::{CompiledSignature, FilterSignature, ParamType, ParamValue};
use std::collections::HashMap;
use std::sync::LazyLock;

pub use geometry::extract_focal;

/// An axis-aligned point of interest with a weight (Thumbor's FocalPoint).
#[derive(Debug, Clone, PartialEq)]
pub struct FocalPoint {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    /// The weight (`z` in meta JSON).
    pub weight: f64,
    /// "alignment", "Explicit", "Original Extraction", ...
    pub origin: &'static str,
}

impl FocalPoint {
    /// Thumbor's `FocalPoint.from_square`: the centre of the rectangle (integer halves of the
    /// size, floored), weighted by its area.
    pub fn from_square(
        left: i64,
        top: i64,
        width: i64,
        height: i64,
        origin: &'static str,
    ) -> FocalPoint {
        FocalPoint {
            x: (left + width.div_euclid(2)) as f64,
            y: (top + height.div_euclid(2)) as f64,
            width: width as f64,
            height: height as f64,
            weight: width.saturating_mul(height) as f64,
            origin,
        }
    }
}

/// The parsed `filters:` segment, in URL order. Unknown filters and filters whose parameters
/// do not parse are dropped, as Thumbor does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterList {
    filters: Vec<Filter>,
    /// The literal text `cover()` appears anywhere in the filters string.
    cover: bool,
}

/// What the pre-load filters (`focal`, `stretch`, ...) contribute to the geometry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreLoadEffects {
    pub focal_points: Vec<FocalPoint>,
    pub stretch: bool,
}

/// Per-request overrides of encoding and response headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputOverrides {
    pub quality: Option<u8>,
    /// A valid `format()`; an invalid one is `None`.
    pub format: Option<ImageFormat>,
    /// True if a `format()` filter was present and valid (suppresses `Vary: Accept`).
    pub format_is_valid: bool,
    pub max_bytes: Option<u64>,
    pub max_age: Option<u32>,
    /// `autojpg(...)` present: Some(value).
    pub autojpg: Option<bool>,
    pub strip_icc: bool,
    pub strip_exif: bool,
}

/// The request size the post-transform filters see (after fit-in adjusted it, spec §3.5 step 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestSize {
    pub width: u32,
    pub height: u32,
}

/// Context of the post-transform phase.
pub struct PostTransformContext<'a> {
    pub request: RequestSize,
    pub fit_in: bool,
    /// Bytes of images other filters need (watermark, frame), keyed by their URL as written in
    /// the filter. Fetched by the server before rendering; see [`FilterList::asset_urls`].
    pub assets: &'a HashMap<String, bytes::Bytes>,
    pub focal_points: &'a [FocalPoint],
}

/// The largest canvas (in pixels) a filter may create (`fill` on a huge fit-in box); Thumbor's
/// default MAX_PIXELS.
pub(crate) const MAX_CANVAS_PIXELS: u64 = 75_000_000;

/// A horizontal or vertical watermark position as written: a number of pixels (a leading `-`
/// counts from the far edge, even for `-0`), a percentage (`Np`), `center` or `repeat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WatermarkPosition {
    Pixels { from_far_edge: bool, value: i64 },
    Percent { from_far_edge: bool, value: i64 },
    Center,
    Repeat,
}

/// One recognised filter call with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    // pre-load
    Focal(Option<FocalPoint>),
    /// The point found by [`FilterList::resolve_extract_focal`] (`None` until then, or when the
    /// image is not a Thumbor URL with a crop).
    ExtractFocal(Option<FocalPoint>),
    Stretch,
    // after-load
    NoUpscale,
    // post-transform, pixels
    Brightness(i64),
    Contrast(i64),
    Rgb(i64, i64, i64),
    Saturation(f64),
    Colorize {
        percents: [i64; 3],
        color: String,
    },
    Equalize,
    Grayscale,
    Curve(Box<color::CurveSet>),
    Noise {
        amount: i64,
        seed: i64,
    },
    Blur {
        radius: i64,
        sigma: f64,
    },
    Sharpen {
        amount: f64,
        radius: f64,
        luminance_only: bool,
    },
    Convolution {
        kernel: String,
        columns: i64,
        normalize: bool,
    },
    RoundCorner {
        a_radius: i64,
        b_radius: i64,
        color: [i64; 3],
        transparent: bool,
    },
    Fill {
        color: String,
        fill_transparent: bool,
    },
    BackgroundColor(String),
    Watermark {
        url: String,
        x: WatermarkPosition,
        y: WatermarkPosition,
        alpha: i64,
        width_ratio: Option<f64>,
        height_ratio: Option<f64>,
    },
    Frame(String),
    Rotate(i64),
    Upscale,
    Proportion(f64),
    RedEye,
    // post-transform, output only
    Quality(i64),
    Format(String),
    MaxBytes(i64),
    MaxAge(i64),
    AutoJpg(bool),
    StripExif,
    StripIcc,
}

const CURVE: ParamType = ParamType::Raw(r"\[(?:\(\d+,\d+\),?)*\]");
const WATERMARK_POSITION: ParamType = ParamType::Raw(r"(?:-?\d+p?)|center|repeat");
const WATERMARK_RATIO: ParamType = ParamType::Raw(r"(?:-?\d+)|none");
const COLOR_NAME: ParamType = ParamType::Raw(r"[\w]+");

/// Every filter pictor knows, with Thumbor's parameter signature.
static SIGNATURES: &[FilterSignature] = {
    use ParamType::*;
    &[
        FilterSignature {
            name: "brightness",
            params: &[Number],
            required: 1,
        },
        FilterSignature {
            name: "colorize",
            params: &[PositiveNumber, PositiveNumber, PositiveNumber, String],
            required: 4,
        },
        FilterSignature {
            name: "contrast",
            params: &[Number],
            required: 1,
        },
        FilterSignature {
            name: "rgb",
            params: &[Number, Number, Number],
            required: 3,
        },
        FilterSignature {
            name: "round_corner",
            params: &[
                Raw(r"[\d]+(?:\|[\d]+)?"),
                PositiveNumber,
                PositiveNumber,
                PositiveNumber,
                Boolean,
            ],
            required: 4,
        },
        FilterSignature {
            name: "quality",
            params: &[PositiveNumber],
            required: 1,
        },
        FilterSignature {
            name: "noise",
            params: &[PositiveNumber, PositiveNumber],
            required: 1,
        },
        FilterSignature {
            name: "watermark",
            params: &[
                String,
                WATERMARK_POSITION,
                WATERMARK_POSITION,
                PositiveNumber,
                WATERMARK_RATIO,
                WATERMARK_RATIO,
            ],
            required: 4,
        },
        FilterSignature {
            name: "equalize",
            params: &[],
            required: 0,
        },
        FilterSignature {
            name: "fill",
            params: &[COLOR_NAME, Boolean],
            required: 1,
        },
        FilterSignature {
            name: "sharpen",
            params: &[DecimalNumber, DecimalNumber, Boolean],
            required: 3,
        },
        FilterSignature {
            name: "strip_exif",
            params: &[],
            required: 0,
        },
        FilterSignature {
            name: "strip_icc",
            params: &[],
            required: 0,
        },
        FilterSignature {
            name: "frame",
            params: &[String],
            required: 1,
        },
        FilterSignature {
            name: "grayscale",
            params: &[],
            required: 0,
        },
        FilterSignature {
            name: "rotate",
            params: &[Number],
            required: 1,
        },
        FilterSignature {
            name: "format",
            params: &[String],
            required: 1,
        },
        FilterSignature {
            name: "max_bytes",
            params: &[PositiveNumber],
            required: 1,
        },
        FilterSignature {
            name: "convolution",
            params: &[
                Raw(r"-?\d+(?:\.\d*)?(?:;-?\d+(?:\.\d*)?)*"),
                PositiveNonZeroNumber,
                Boolean,
            ],
            required: 2,
        },
        FilterSignature {
            name: "blur",
            params: &[PositiveNonZeroNumber, DecimalNumber],
            required: 1,
        },
        FilterSignature {
            name: "extract_focal",
            params: &[],
            required: 0,
        },
        FilterSignature {
            name: "focal",
            params: &[String],
            required: 1,
        },
        FilterSignature {
            name: "no_upscale",
            params: &[],
            required: 0,
        },
        FilterSignature {
            name: "saturation",
            params: &[DecimalNumber],
            required: 1,
        },
        FilterSignature {
            name: "max_age",
            params: &[PositiveNumber],
            required: 1,
        },
        FilterSignature {
            name: "curve",
            params: &[CURVE, CURVE, CURVE, CURVE],
            required: 4,
        },
        FilterSignature {
            name: "background_color",
            params: &[COLOR_NAME],
            required: 1,
        },
        FilterSignature {
            name: "upscale",
            params: &[],
            required: 0,
        },
        FilterSignature {
            name: "proportion",
            params: &[DecimalNumber],
            required: 1,
        },
        FilterSignature {
            name: "stretch",
            params: &[],
            required: 0,
        },
        FilterSignature {
            name: "autojpg",
            params: &[Boolean],
            required: 0,
        },
        FilterSignature {
            name: "red_eye",
            params: &[],
            required: 0,
        },
    ]
};

static COMPILED: LazyLock<HashMap<&'static str, CompiledSignature>> = LazyLock::new(|| {
    SIGNATURES
        .iter()
        .map(|signature| (signature.name, CompiledSignature::compile(signature)))
        .collect()
});

/// Builds the filter from its positional values; `None` when the values do not fit (which
/// Thumbor would only notice by failing later).
fn build_filter(name: &str, values: &[ParamValue]) -> Option<Filter> {
    let int = |index: usize| values.get(index).and_then(ParamValue::as_int);
    let float = |index: usize| values.get(index).and_then(ParamValue::as_float);
    let boolean = |index: usize| values.get(index).and_then(ParamValue::as_bool);
    let text = |index: usize| values.get(index).and_then(ParamValue::as_str);
    let filter = match name {
        "brightness" => Filter::Brightness(int(0)?),
        "contrast" => Filter::Contrast(int(0)?),
        "rgb" => Filter::Rgb(int(0)?, int(1)?, int(2)?),
        "saturation" => Filter::Saturation(float(0)?),
        "colorize" => Filter::Colorize {
            percents: [int(0)?, int(1)?, int(2)?],
            color: text(3)?.to_string(),
        },
        "equalize" => Filter::Equalize,
        "grayscale" => Filter::Grayscale,
        "curve" => Filter::Curve(Box::new(color::CurveSet::parse(
            text(0)?,
            text(1)?,
            text(2)?,
            text(3)?,
        )?)),
        "noise" => Filter::Noise {
            amount: int(0)?,
            seed: if values.len() > 1 { int(1)? } else { 0 },
        },
        "blur" => Filter::Blur {
            radius: int(0)?,
            sigma: if values.len() > 1 { float(1)? } else { 0.0 },
        },
        "sharpen" => Filter::Sharpen {
            amount: float(0)?,
            radius: float(1)?,
            luminance_only: boolean(2)?,
        },
        "convolution" => Filter::Convolution {
            kernel: text(0)?.to_string(),
            columns: int(1)?,
            normalize: if values.len() > 2 { boolean(2)? } else { true },
        },
        "round_corner" => {
            let radii = text(0)?;
            let mut parts = radii.split('|');
            let a_radius = parse_saturating(parts.next()?)?;
            let b_radius = match parts.next() {
                Some(part) => parse_saturating(part)?,
                None => a_radius,
            };
            Filter::RoundCorner {
                a_radius,
                b_radius,
                color: [int(1)?, int(2)?, int(3)?],
                transparent: if values.len() > 4 { boolean(4)? } else { false },
            }
        }
        "fill" => Filter::Fill {
            color: text(0)?.to_string(),
            fill_transparent: if values.len() > 1 { boolean(1)? } else { false },
        },
        "background_color" => Filter::BackgroundColor(text(0)?.to_string()),
        "watermark" => Filter::Watermark {
            url: text(0)?.to_string(),
            x: parse_watermark_position(text(1)?)?,
            y: parse_watermark_position(text(2)?)?,
            alpha: int(3)?,
            width_ratio: parse_watermark_ratio(values.get(4))?,
            height_ratio: parse_watermark_ratio(values.get(5))?,
        },
        "frame" => Filter::Frame(text(0)?.to_string()),
        "rotate" => Filter::Rotate(int(0)?),
        "upscale" => Filter::Upscale,
        "proportion" => Filter::Proportion(float(0)?),
        "red_eye" => Filter::RedEye,
        "quality" => Filter::Quality(int(0)?),
        "format" => Filter::Format(text(0)?.to_string()),
        "max_bytes" => Filter::MaxBytes(int(0)?),
        "max_age" => Filter::MaxAge(int(0)?),
        "autojpg" => Filter::AutoJpg(if values.is_empty() { true } else { boolean(0)? }),
        "strip_exif" => Filter::StripExif,
        "strip_icc" => Filter::StripIcc,
        "focal" => Filter::Focal(geometry::parse_focal(text(0)?)),
        "extract_focal" => Filter::ExtractFocal(None),
        "stretch" => Filter::Stretch,
        "no_upscale" => Filter::NoUpscale,
        _ => return None,
    };
    Some(filter)
}

fn parse_saturating(digits: &str) -> Option<i64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.bytes().fold(0i64, |acc, b| {
        acc.saturating_mul(10).saturating_add(i64::from(b - b'0'))
    }))
}

fn parse_watermark_position(text: &str) -> Option<WatermarkPosition> {
    match text {
        "center" => return Some(WatermarkPosition::Center),
        "repeat" => return Some(WatermarkPosition::Repeat),
        _ => {}
    }
    let (from_far_edge, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    match rest.strip_suffix('p') {
        Some(digits) => Some(WatermarkPosition::Percent {
            from_far_edge,
            value: parse_saturating(digits)?,
        }),
        None => {
            let value = parse_saturating(rest)?;
            Some(WatermarkPosition::Pixels {
                from_far_edge,
                value: if from_far_edge { -value } else { value },
            })
        }
    }
}

/// `w_ratio`/`h_ratio`: a percentage, `none`, or absent. `0` counts as absent (Python's
/// `0.0` is falsy). Returns `Some(None)` for "no ratio".
fn parse_watermark_ratio(value: Option<&ParamValue>) -> Option<Option<f64>> {
    let Some(value) = value else {
        return Some(None);
    };
    let text = value.as_str()?;
    if text == "none" {
        return Some(None);
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let magnitude = parse_saturating(digits)? as f64 / 100.0;
    let ratio = if negative { -magnitude } else { magnitude };
    Some(if ratio == 0.0 { None } else { Some(ratio) })
}

impl Filter {
    fn phase(&self) -> Phase {
        match self {
            Filter::Focal(_) | Filter::ExtractFocal(_) | Filter::Stretch => Phase::PreLoad,
            Filter::NoUpscale => Phase::AfterLoad,
            _ => Phase::PostTransform,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    PreLoad,
    AfterLoad,
    PostTransform,
}

impl FilterList {
    /// Parses the text after `filters:` (already percent-decoded once).
    pub fn parse(filters: &str) -> FilterList {
        let mut list = FilterList {
            filters: Vec::new(),
            cover: filters.contains("cover()"),
        };
        if filters.is_empty() {
            return list;
        }
        for (name, call) in params::split_calls(filters) {
            let Some(signature) = COMPILED.get(name) else {
                continue;
            };
            let Some(values) = signature.parse_call(&call) else {
                continue;
            };
            if let Some(filter) = build_filter(name, &values) {
                list.filters.push(filter);
            }
        }
        list
    }

    /// No recognised filter and no `cover()`.
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty() && !self.cover
    }

    /// The names of the recognised filters, in URL order (for logs and tests).
    pub fn names(&self) -> Vec<&'static str> {
        self.filters.iter().map(Filter::name).collect()
    }

    pub fn pre_load(&self) -> PreLoadEffects {
        let mut effects = PreLoadEffects::default();
        for filter in &self.filters {
            match filter {
                Filter::Focal(Some(point)) | Filter::ExtractFocal(Some(point)) => {
                    effects.focal_points.push(point.clone())
                }
                Filter::Stretch => effects.stretch = true,
                _ => {}
            }
        }
        effects
    }

    /// Runs the `extract_focal()` calls, in URL order, on the request's image (percent-decoded
    /// once, as `ImageRequest::image`). Each call that finds a Thumbor URL with a crop keeps the
    /// crop as its focal point, and the next call looks at the unwrapped image. Returns the
    /// innermost image to load instead, or `None` when nothing was unwrapped (the image is then
    /// loaded as written, as Thumbor does).
    pub fn resolve_extract_focal(&mut self, image: &str) -> Option<String> {
        let mut unwrapped: Option<String> = None;
        for filter in &mut self.filters {
            let Filter::ExtractFocal(point) = filter else {
                continue;
            };
            let current = unwrapped.as_deref().unwrap_or(image);
            if let Some((inner, found)) = geometry::extract_focal(current) {
                *point = found;
                unwrapped = Some(inner);
            }
        }
        unwrapped
    }

    pub fn output_overrides(&self) -> OutputOverrides {
        output::overrides(&self.filters)
    }

    /// Some filter changes pixels after the transform (anything but the pre-load, after-load
    /// and output filters). Without one, the rendered pixels are the resized original.
    pub fn changes_pixels(&self) -> bool {
        self.filters
            .iter()
            .any(|filter| filter.phase() == Phase::PostTransform && !filter.is_output_setting())
    }

    /// The literal `cover()` is present (first frame of an animated GIF only).
    pub fn has_cover(&self) -> bool {
        self.cover
    }

    /// URLs of images the filters need loaded (watermark, frame), each once, in URL order.
    pub fn asset_urls(&self) -> Vec<String> {
        let mut urls: Vec<String> = Vec::new();
        for filter in &self.filters {
            let url = match filter {
                Filter::Watermark { url, .. } | Filter::Frame(url) => url,
                _ => continue,
            };
            if !urls.contains(url) {
                urls.push(url.clone());
            }
        }
        urls
    }

    /// After-load phase: `no_upscale()` clamps the requested size to the image's.
    /// `image_size` is the (oriented) source size.
    pub fn after_load(&self, width: &mut u32, height: &mut u32, image_size: (u32, u32)) {
        for filter in &self.filters {
            if filter.phase() == Phase::AfterLoad {
                geometry::no_upscale(width, height, image_size);
            }
        }
    }

    /// Post-transform phase: every pixel/geometry filter in URL order, on every frame.
    pub fn post_transform(
        &self,
        image: &mut Image,
        ctx: &PostTransformContext<'_>,
    ) -> Result<(), ImagingError> {
        let load = |url: &str| watermark::load_asset(ctx.assets, url);
        self.post_transform_with_loader(image, ctx, &load)
    }

    /// [`FilterList::post_transform`] with the watermark/frame images obtained from `load`
    /// (by URL as written in the filter) instead of decoding `ctx.assets`.
    pub(crate) fn post_transform_with_loader(
        &self,
        image: &mut Image,
        ctx: &PostTransformContext<'_>,
        load: &dyn Fn(&str) -> Result<Image, ImagingError>,
    ) -> Result<(), ImagingError> {
        for filter in &self.filters {
            if filter.phase() == Phase::PostTransform {
                apply(filter, image, ctx, load)?;
            }
        }
        Ok(())
    }
}

impl Filter {
    /// Filters that only choose how the output is written or cached.
    fn is_output_setting(&self) -> bool {
        matches!(
            self,
            Filter::Quality(_) | Filter::Format(_) | Filter::MaxBytes(_) | Filter::MaxAge(_)
        ) || matches!(
            self,
            Filter::AutoJpg(_) | Filter::StripExif | Filter::StripIcc
        )
    }

    fn name(&self) -> &'static str {
        match self {
            Filter::Focal(_) => "focal",
            Filter::ExtractFocal(_) => "extract_focal",
            Filter::Stretch => "stretch",
            Filter::NoUpscale => "no_upscale",
            Filter::Brightness(_) => "brightness",
            Filter::Contrast(_) => "contrast",
            Filter::Rgb(..) => "rgb",
            Filter::Saturation(_) => "saturation",
            Filter::Colorize { .. } => "colorize",
            Filter::Equalize => "equalize",
            Filter::Grayscale => "grayscale",
            Filter::Curve(_) => "curve",
            Filter::Noise { .. } => "noise",
            Filter::Blur { .. } => "blur",
            Filter::Sharpen { .. } => "sharpen",
            Filter::Convolution { .. } => "convolution",
            Filter::RoundCorner { .. } => "round_corner",
            Filter::Fill { .. } => "fill",
            Filter::BackgroundColor(_) => "background_color",
            Filter::Watermark { .. } => "watermark",
            Filter::Frame(_) => "frame",
            Filter::Rotate(_) => "rotate",
            Filter::Upscale => "upscale",
            Filter::Proportion(_) => "proportion",
            Filter::RedEye => "red_eye",
            Filter::Quality(_) => "quality",
            Filter::Format(_) => "format",
            Filter::MaxBytes(_) => "max_bytes",
            Filter::MaxAge(_) => "max_age",
            Filter::AutoJpg(_) => "autojpg",
            Filter::StripExif => "strip_exif",
            Filter::StripIcc => "strip_icc",
        }
    }
}

/// Runs one post-transform filter on every frame of `image`.
fn apply(
    filter: &Filter,
    image: &mut Image,
    ctx: &PostTransformContext<'_>,
    load: &dyn Fn(&str) -> Result<Image, ImagingError>,
) -> Result<(), ImagingError> {
    match filter {
        Filter::Brightness(value) => color::brightness(image, *value),
        Filter::Contrast(value) => color::contrast(image, *value),
        Filter::Rgb(r, g, b) => color::rgb(image, [*r, *g, *b]),
        Filter::Saturation(change) => color::saturation(image, *change),
        Filter::Colorize { percents, color } => color::colorize(image, *percents, color)?,
        Filter::Equalize => color::equalize(image),
        Filter::Grayscale => color::grayscale(image),
        Filter::Curve(curves) => color::curve(image, curves),
        Filter::Noise { amount, seed } => noise::noise(image, *amount, *seed),
        Filter::Blur { radius, sigma } => blur::blur(image, *radius, *sigma),
        Filter::Sharpen {
            amount,
            radius,
            luminance_only,
        } => blur::sharpen(image, *amount, *radius, *luminance_only),
        Filter::Convolution {
            kernel,
            columns,
            normalize,
        } => blur::convolution(image, kernel, *columns, *normalize)?,
        Filter::RoundCorner {
            a_radius,
            b_radius,
            color,
            transparent,
        } => corners::round_corner(image, *a_radius, *b_radius, *color, *transparent)?,
        Filter::Fill {
            color,
            fill_transparent,
        } => fill::fill(image, color, *fill_transparent, ctx.request)?,
        Filter::BackgroundColor(color) => fill::background_color(image, color)?,
        Filter::Watermark {
            url,
            x,
            y,
            alpha,
            width_ratio,
            height_ratio,
        } => {
            let mark = load(url)?;
            let placement = watermark::WatermarkPlacement {
                x: *x,
                y: *y,
                alpha: *alpha,
                width_ratio: *width_ratio,
                height_ratio: *height_ratio,
            };
            watermark::watermark(image, mark, &placement)?
        }
        Filter::Frame(url) => {
            let nine_patch = load(url)?;
            watermark::frame(image, nine_patch)?
        }
        Filter::Rotate(degrees) => geometry::rotate(image, *degrees),
        Filter::Upscale => geometry::upscale(image, ctx.request)?,
        Filter::Proportion(value) => geometry::proportion(image, *value)?,
        Filter::RedEye => red_eye::red_eye(image, ctx.focal_points),
        // Pre-load, after-load and output filters have no pixel effect.
        Filter::Focal(_)
        | Filter::ExtractFocal(_)
        | Filter::Stretch
        | Filter::NoUpscale
        | Filter::Quality(_)
        | Filter::Format(_)
        | Filter::MaxBytes(_)
        | Filter::MaxAge(_)
        | Filter::AutoJpg(_)
        | Filter::StripExif
        | Filter::StripIcc => {}
    }
    Ok(())
}

/// Converts every frame to RGBA (Thumbor's `enable_alpha`).
pub(crate) fn ensure_rgba(image: &mut Image) {
    if image.layout == PixelLayout::Rgba8 {
        return;
    }
    for frame in &mut image.frames {
        frame.pixels = rgb_to_rgba(&frame.pixels);
    }
    image.layout = PixelLayout::Rgba8;
}

pub(crate) fn rgb_to_rgba(rgb: &[u8]) -> Vec<u8> {
    let mut rgba = Vec::with_capacity(rgb.len() / 3 * 4);
    for pixel in rgb.chunks_exact(3) {
        rgba.extend_from_slice(&[pixel[0], pixel[1], pixel[2], 255]);
    }
    rgba
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_signature_compiles() {
        for signature in SIGNATURES {
            let compiled = &COMPILED[signature.name];
            assert!(compiled.is_usable(), "{}", signature.name);
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
        let list = FilterList::parse(
            "grayscale():focal(10x20:30x60):stretch():no_upscale():brightness(5)",
        );
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
        let original =
            list.resolve_extract_focal("thumbor.host/unsafe/100x40:300x240/photos/cat.jpg");
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
            list.filters,
            vec![Filter::Watermark {
                url: "w.png".into(),
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
            }]
        );
        assert!(FilterList::parse("watermark(w.png,left,0,50)").is_empty());
        assert!(FilterList::parse("watermark(w.png,0,0)").is_empty());
    }

    #[test]
    fn defaults_of_optional_parameters() {
        let list = FilterList::parse(
            "noise(10):blur(3):convolution(1;2;1,3):round_corner(5|7,1,2,3):fill(red):autojpg()",
        );
        assert_eq!(
            list.filters,
            vec![
                Filter::Noise {
                    amount: 10,
                    seed: 0
                },
                Filter::Blur {
                    radius: 3,
                    sigma: 0.0
                },
                Filter::Convolution {
                    kernel: "1;2;1".into(),
                    columns: 3,
                    normalize: true
                },
                Filter::RoundCorner {
                    a_radius: 5,
                    b_radius: 7,
                    color: [1, 2, 3],
                    transparent: false
                },
                Filter::Fill {
                    color: "red".into(),
                    fill_transparent: false
                },
                Filter::AutoJpg(true),
            ]
        );
        // columns=0 does not match PositiveNonZeroNumber (Thumbor's DoS guard).
        assert!(FilterList::parse("convolution(1;2;1;2;4;2;1;2;1,0,true)").is_empty());
        // The ReDoS payload of test_convolution_redos_does_not_hang: no column count.
        let payload = format!("convolution({})", vec!["-11"; 30].join(";"));
        assert!(FilterList::parse(&payload).is_empty());
    }
}
