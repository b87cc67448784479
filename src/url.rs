//! Thumbor's URL grammar: a request path in, an [`ImageRequest`] out (`parse`), the reverse
//! (`build`), and the HMAC-SHA1 URL signatures (`signature`).

pub mod build;
pub mod confine;
pub mod parse;
pub mod presets;
pub mod signature;

pub use parse::parse_path;

use crate::imaging::filters::FilterList;

/// What stood in the signature position of the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignaturePart {
    /// The literal `unsafe` segment.
    Unsafe,
    /// A signature, exactly as sent (still percent-encoded, e.g. with `%3D` for `=`).
    Hash(String),
    /// Neither: the path had no signature segment at all (Thumbor answers 400).
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrimPosition {
    TopLeft,
    /// Any position text other than `top-left` (Thumbor treats `trim:10` like this too).
    BottomRight,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trim {
    pub position: TrimPosition,
    pub tolerance: u32,
}

/// A manual crop as written in the URL: `left x top : right x bottom`, right/bottom exclusive.
/// Values over `u32::MAX` saturate (they are clamped to the image anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropBox {
    pub left: u32,
    pub top: u32,
    pub right: u32,
    pub bottom: u32,
}

/// The fit-in family. `None` in [`ImageRequest::fit_in`] means the default crop-to-fill mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FitIn {
    pub adaptive: bool,
    pub full: bool,
}

/// One side of the requested size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    /// A number of pixels; 0 means "proportional to the other side" (or keep the source size
    /// when both are 0).
    Px(u32),
    /// `orig`: the source's size on this axis.
    Orig,
}

impl Default for Dimension {
    fn default() -> Self {
        Dimension::Px(0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HAlign {
    Left,
    #[default]
    Center,
    Right,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VAlign {
    Top,
    #[default]
    Middle,
    Bottom,
}

/// A parsed Thumbor imaging path.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRequest {
    pub signature: SignaturePart,
    /// The raw (still percent-encoded) path after `/<signature>/`: the message that is signed.
    pub signed_path: String,
    pub debug: bool,
    pub meta: bool,
    pub trim: Option<Trim>,
    /// `None` when absent or when all four values are 0.
    pub crop: Option<CropBox>,
    pub fit_in: Option<FitIn>,
    pub width: Dimension,
    pub height: Dimension,
    pub flip_horizontal: bool,
    pub flip_vertical: bool,
    pub halign: HAlign,
    pub valign: VAlign,
    pub smart: bool,
    /// The text between `filters:` and the `/` before the image, percent-decoded once: what
    /// the URL builder writes back, and how "no filters segment" is told from an empty list.
    pub filters: Option<String>,
    /// `filters` parsed (empty without one): what the render applies. `extract_focal()`
    /// resolves its points in it when the server unwraps the image.
    pub filter_list: FilterList,
    /// The image part, percent-decoded once (what Tornado hands the handler).
    pub image: String,
    /// The presets this request was expanded with (`presets::Presets::expand`); `None` for
    /// every path when PRESETS is unset.
    pub preset: Option<presets::AppliedPreset>,
}

impl ImageRequest {
    /// Thumbor's `request.image_url`: the decoded image re-quoted with Python's
    /// `quote(image, safe="/")`. It is the key for loaders, storages and meta's `url`.
    pub fn image_url(&self) -> String {
        parse::python_quote(&self.image, b"/")
    }

    /// The name its result is kept under (memory cache, result storage): with presets, the
    /// preset's result key (their definitions' fingerprint, no signature), else `path`, the
    /// name the caller keys plain paths by.
    pub fn result_name<'a>(&'a self, path: &'a str) -> &'a str {
        match &self.preset {
            Some(preset) => &preset.result_key,
            None => path,
        }
    }
}
