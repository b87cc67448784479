//! [`FilterList`]: the parsed `filters:` segment of a request, in URL order, and what each
//! phase of the render asks of it. The URL parser builds it (`url::parse_path`) and it travels
//! in `ImageRequest`.

use super::params::{self, Params};
use super::registry::{self, BoxedCall, Phase};
use super::{
    watermark, AssetLoader, Image, ImagingError, OutputOverrides, PostTransformContext,
    PreLoadEffects,
};

/// One recognised filter call: its registry name and phase, and the built call.
#[derive(Debug, Clone)]
pub(super) struct ParsedFilter {
    pub(super) name: &'static str,
    pub(super) phase: Phase,
    pub(super) call: BoxedCall,
}

// By hand: a derived `==` on a `Box<dyn ...>` field tries to move out of the box.
impl PartialEq for ParsedFilter {
    fn eq(&self, other: &ParsedFilter) -> bool {
        self.name == other.name && self.phase == other.phase && self.call.same_as(&*other.call)
    }
}

/// The parsed `filters:` segment, in URL order. Unknown filters and filters whose parameters
/// do not parse are dropped, as Thumbor does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterList {
    filters: Vec<ParsedFilter>,
    /// The literal text `cover()` appears anywhere in the filters string.
    cover: bool,
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
            let Some(known) = registry::lookup(name) else {
                continue;
            };
            let Some(values) = known.signature.parse_call(&call) else {
                continue;
            };
            if let Some(call) = (known.entry.build)(&Params::new(&values)) {
                list.filters.push(ParsedFilter {
                    name: known.entry.name(),
                    phase: known.entry.phase,
                    call,
                });
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
        self.filters.iter().map(|filter| filter.name).collect()
    }

    /// The calls of one phase, in URL order.
    fn calls(&self, phase: Phase) -> impl Iterator<Item = &BoxedCall> {
        self.filters
            .iter()
            .filter(move |filter| filter.phase == phase)
            .map(|filter| &filter.call)
    }

    pub fn pre_load(&self) -> PreLoadEffects {
        let mut effects = PreLoadEffects::default();
        for call in self.calls(Phase::PreLoad) {
            call.pre_load(&mut effects);
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
            if filter.phase != Phase::PreLoad {
                continue;
            }
            let current = unwrapped.as_deref().unwrap_or(image);
            if let Some(inner) = filter.call.resolve_image(current) {
                unwrapped = Some(inner);
            }
        }
        unwrapped
    }

    /// What the output filters set; when one appears more than once, the last one wins, as
    /// each Thumbor filter overwrites the request field.
    pub fn output_overrides(&self) -> OutputOverrides {
        let mut overrides = OutputOverrides::default();
        for call in self.calls(Phase::Output) {
            call.output(&mut overrides);
        }
        overrides
    }

    /// Some filter changes pixels after the transform. Without one, the rendered pixels are
    /// the resized original.
    pub fn changes_pixels(&self) -> bool {
        self.calls(Phase::PostTransform).next().is_some()
    }

    /// The literal `cover()` is present (first frame of an animated GIF only).
    pub fn has_cover(&self) -> bool {
        self.cover
    }

    /// URLs of images the filters need loaded (watermark, frame), each once, in URL order.
    pub fn asset_urls(&self) -> Vec<String> {
        let mut urls: Vec<String> = Vec::new();
        for filter in &self.filters {
            let Some(url) = filter.call.asset_url() else {
                continue;
            };
            if !urls.iter().any(|known| known == url) {
                urls.push(url.to_string());
            }
        }
        urls
    }

    /// After-load phase: `no_upscale()` clamps the requested size to the image's.
    /// `image_size` is the (oriented) source size.
    pub fn after_load(&self, width: &mut u32, height: &mut u32, image_size: (u32, u32)) {
        for call in self.calls(Phase::AfterLoad) {
            call.after_load(width, height, image_size);
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
        load: &AssetLoader<'_>,
    ) -> Result<(), ImagingError> {
        for call in self.calls(Phase::PostTransform) {
            call.post_transform(image, ctx, load)?;
        }
        Ok(())
    }

    /// The built calls of type `T`, in URL order (tests look at parsed parameters).
    #[cfg(test)]
    pub(super) fn calls_of<T: 'static>(&self) -> Vec<&T> {
        self.filters
            .iter()
            .filter_map(|filter| filter.call.as_any().downcast_ref::<T>())
            .collect()
    }
}
