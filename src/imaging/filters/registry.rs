//! The one table of every filter pictor knows: each line names the filter, its Thumbor
//! parameter signature, the phase it acts in, and the type (implementing
//! [`FilterCall`](super::FilterCall)) its parameters are built into. The parser
//! ([`FilterList::parse`](super::FilterList::parse)) looks names up here; nothing else lists
//! filters.

use super::params::{CompiledSignature, FilterSignature, ParamType, Params};
use super::{blur, color, corners, fill, geometry, noise, output, red_eye, watermark, FilterCall};
use std::any::Any;
use std::collections::HashMap;
use std::sync::LazyLock;

/// When a filter acts in the render (Thumbor's filter phases; the output filters, which
/// Thumbor runs post-transform, only set how the result is written, so they are kept apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Before the image is loaded: focal points, `stretch`, `extract_focal`.
    PreLoad,
    /// After the image is loaded, before the geometry: `no_upscale`.
    AfterLoad,
    /// After the transform: changes the pixels.
    PostTransform,
    /// Changes no pixels: how the result is encoded, cached and served.
    Output,
}

/// A built filter call as the list stores it: any [`FilterCall`] that can be cloned and
/// compared (so that a request, which carries its list, can be).
pub(crate) trait CallObject: FilterCall {
    fn clone_boxed(&self) -> BoxedCall;
    fn same_as(&self, other: &dyn CallObject) -> bool;
    fn as_any(&self) -> &dyn Any;
}

pub(crate) type BoxedCall = Box<dyn CallObject>;

impl<T: FilterCall + Clone + PartialEq> CallObject for T {
    fn clone_boxed(&self) -> BoxedCall {
        Box::new(self.clone())
    }

    fn same_as(&self, other: &dyn CallObject) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Clone for BoxedCall {
    fn clone(&self) -> BoxedCall {
        self.clone_boxed()
    }
}

/// One filter: its Thumbor signature, its phase and how its parameter values become a call.
pub(crate) struct FilterEntry {
    pub signature: FilterSignature,
    pub phase: Phase,
    /// `None` when the values do not fit the filter (it is then dropped).
    pub build: fn(&Params<'_>) -> Option<BoxedCall>,
}

impl FilterEntry {
    /// `required` is how many of `params` must be present; the rest have Python defaults.
    const fn new(
        name: &'static str,
        params: &'static [ParamType],
        required: usize,
        phase: Phase,
        build: fn(&Params<'_>) -> Option<BoxedCall>,
    ) -> FilterEntry {
        FilterEntry {
            signature: FilterSignature {
                name,
                params,
                required,
            },
            phase,
            build,
        }
    }

    pub fn name(&self) -> &'static str {
        self.signature.name
    }
}

/// The registry's constructor for a filter type: builds it and boxes it for the list.
fn call<T: FilterCall + Clone + PartialEq>(params: &Params<'_>) -> Option<BoxedCall> {
    T::build(params).map(|call| Box::new(call) as BoxedCall)
}

const CURVE: ParamType = ParamType::Raw(r"\[(?:\(\d+,\d+\),?)*\]");
const WATERMARK_POSITION: ParamType = ParamType::Raw(r"(?:-?\d+p?)|center|repeat");
const WATERMARK_RATIO: ParamType = ParamType::Raw(r"(?:-?\d+)|none");
const COLOR_NAME: ParamType = ParamType::Raw(r"[\w]+");
const CORNER_RADII: ParamType = ParamType::Raw(r"[\d]+(?:\|[\d]+)?");
const KERNEL: ParamType = ParamType::Raw(r"-?\d+(?:\.\d*)?(?:;-?\d+(?:\.\d*)?)*");

/// Every filter, with Thumbor's parameter signature: name, parameter types, how many are
/// required, phase, type. One line per filter, so kept unformatted.
#[rustfmt::skip]
pub(crate) static REGISTRY: &[FilterEntry] = {
    use ParamType::*;
    use Phase::*;
    &[
        // pre-load
        FilterEntry::new("focal", &[String], 1, PreLoad, call::<geometry::Focal>),
        FilterEntry::new("extract_focal", &[], 0, PreLoad, call::<geometry::ExtractFocal>),
        FilterEntry::new("stretch", &[], 0, PreLoad, call::<geometry::Stretch>),
        // after-load
        FilterEntry::new("no_upscale", &[], 0, AfterLoad, call::<geometry::NoUpscale>),
        // post-transform
        FilterEntry::new("brightness", &[Number], 1, PostTransform, call::<color::Brightness>),
        FilterEntry::new("contrast", &[Number], 1, PostTransform, call::<color::Contrast>),
        FilterEntry::new("rgb", &[Number, Number, Number], 3, PostTransform, call::<color::Rgb>),
        FilterEntry::new("saturation", &[DecimalNumber], 1, PostTransform, call::<color::Saturation>),
        FilterEntry::new("colorize", &[PositiveNumber, PositiveNumber, PositiveNumber, String], 4, PostTransform, call::<color::Colorize>),
        FilterEntry::new("equalize", &[], 0, PostTransform, call::<color::Equalize>),
        FilterEntry::new("grayscale", &[], 0, PostTransform, call::<color::Grayscale>),
        FilterEntry::new("curve", &[CURVE, CURVE, CURVE, CURVE], 4, PostTransform, call::<color::Curve>),
        FilterEntry::new("noise", &[PositiveNumber, PositiveNumber], 1, PostTransform, call::<noise::Noise>),
        FilterEntry::new("blur", &[PositiveNonZeroNumber, DecimalNumber], 1, PostTransform, call::<blur::Blur>),
        FilterEntry::new("sharpen", &[DecimalNumber, DecimalNumber, Boolean], 3, PostTransform, call::<blur::Sharpen>),
        FilterEntry::new("convolution", &[KERNEL, PositiveNonZeroNumber, Boolean], 2, PostTransform, call::<blur::Convolution>),
        FilterEntry::new("round_corner", &[CORNER_RADII, PositiveNumber, PositiveNumber, PositiveNumber, Boolean], 4, PostTransform, call::<corners::RoundCorner>),
        FilterEntry::new("fill", &[COLOR_NAME, Boolean], 1, PostTransform, call::<fill::Fill>),
        FilterEntry::new("background_color", &[COLOR_NAME], 1, PostTransform, call::<fill::BackgroundColor>),
        FilterEntry::new("watermark", &[String, WATERMARK_POSITION, WATERMARK_POSITION, PositiveNumber, WATERMARK_RATIO, WATERMARK_RATIO], 4, PostTransform, call::<watermark::Watermark>),
        FilterEntry::new("frame", &[String], 1, PostTransform, call::<watermark::Frame>),
        FilterEntry::new("rotate", &[Number], 1, PostTransform, call::<geometry::Rotate>),
        FilterEntry::new("upscale", &[], 0, PostTransform, call::<geometry::Upscale>),
        FilterEntry::new("proportion", &[DecimalNumber], 1, PostTransform, call::<geometry::Proportion>),
        FilterEntry::new("red_eye", &[], 0, PostTransform, call::<red_eye::RedEye>),
        // output
        FilterEntry::new("quality", &[PositiveNumber], 1, Output, call::<output::Quality>),
        FilterEntry::new("format", &[String], 1, Output, call::<output::Format>),
        FilterEntry::new("max_bytes", &[PositiveNumber], 1, Output, call::<output::MaxBytes>),
        FilterEntry::new("max_age", &[PositiveNumber], 1, Output, call::<output::MaxAge>),
        FilterEntry::new("autojpg", &[Boolean], 0, Output, call::<output::AutoJpg>),
        FilterEntry::new("strip_exif", &[], 0, Output, call::<output::StripExif>),
        FilterEntry::new("strip_icc", &[], 0, Output, call::<output::StripIcc>),
        // imagor's meta placeholders
        FilterEntry::new("blurhash", &[Number, Number], 2, Output, call::<output::BlurHash>),
        FilterEntry::new("thumbhash", &[], 0, Output, call::<output::ThumbHash>),
    ]
};

/// A registry entry with its call regex compiled.
pub(crate) struct KnownFilter {
    pub entry: &'static FilterEntry,
    pub signature: CompiledSignature,
}

static BY_NAME: LazyLock<HashMap<&'static str, KnownFilter>> = LazyLock::new(|| {
    REGISTRY
        .iter()
        .map(|entry| {
            let known = KnownFilter {
                entry,
                signature: CompiledSignature::compile(&entry.signature),
            };
            (entry.name(), known)
        })
        .collect()
});

/// The filter called `name` (the text before the call's first `(`), if pictor knows it.
pub(crate) fn lookup(name: &str) -> Option<&'static KnownFilter> {
    BY_NAME.get(name)
}
