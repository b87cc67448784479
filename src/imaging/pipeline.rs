//! The ordered list of steps a render walks: probe the header (limits before pixels), plan the
//! whole geometry (`geometry::plan`), decode (with shrink-on-load), orientation, trim, one
//! crop + resize pass, debug outlines, flips, post-transform filters, format choice and
//! encode — or the meta JSON instead of the encode. A JPEG that becomes a JPEG with nothing
//! but a crop and resize on the way stays in YCbCr planes from decode to encode.

use super::decode::{self, DecodeOptions, Probe};
use super::encode::{self, EncodeSettings, FormatContext};
use super::filters::{
    FilterList, FocalPoint, OutputOverrides, PostTransformContext, PreLoadEffects,
};
use super::geometry::{
    self, ManualCrop, MetaOperation, PixelRect, Plan, PlanInput, PyNumber, Size,
};
use super::jpeg;
use super::settings::ImagingSettings;
use super::transform::{self, Region, ResamplingFilter};
use super::{Image, ImageFormat, ImagingError};
use crate::url::{Dimension, ImageRequest};
use std::collections::HashMap;

/// Everything a render needs besides the original's bytes.
pub struct RenderJob<'a> {
    pub request: &'a ImageRequest,
    pub filters: &'a FilterList,
    pub settings: &'a ImagingSettings,
    /// The client's Accept header contains `image/webp` (substring test, as Thumbor 7.8).
    pub accepts_webp: bool,
    /// The client's Accept header contains `image/avif` (substring test, as Thumbor 7.8).
    pub accepts_avif: bool,
    /// Bytes of watermark/frame images, keyed by the URL written in the filter.
    pub assets: &'a HashMap<String, bytes::Bytes>,
    /// When the request's answer is no longer wanted (REQUEST_TIMEOUT_SECONDS): the render
    /// stops at the next step boundary instead of finishing work nobody will read.
    pub deadline: Option<std::time::Instant>,
}

/// The answer of a render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOutput {
    pub body: Vec<u8>,
    /// `image/...` or `application/json` for meta.
    pub content_type: &'static str,
    /// Send `Vary: Accept` (AUTO_WEBP or AUTO_AVIF on, no valid format(), not animated GIF
    /// output).
    pub vary_accept: bool,
    /// A `max_age()` filter override of MAX_AGE.
    pub max_age: Option<u32>,
}

/// Runs one request through the pipeline.
pub fn render(source: &[u8], job: &RenderJob<'_>) -> Result<RenderOutput, ImagingError> {
    check_deadline(job)?;
    let header = probe_header(source, job.settings)?;
    render_probed(source, &header, job)
}

/// [`render`] for a source whose header [`probe_header`] already read (the server probes
/// once, to estimate the render's memory before admitting it).
pub fn render_probed(
    source: &[u8],
    header: &Probe,
    job: &RenderJob<'_>,
) -> Result<RenderOutput, ImagingError> {
    // Only planning (no pixels) lies between here and the decode.
    check_deadline(job)?;
    let mut setup = prepare_geometry(header, job);

    let (plan, pixels) = if job.request.trim.is_some() {
        // Trim needs the pixels before the geometry can be planned.
        let pixels = decode_orient_and_trim(source, header, &mut setup, job)?;
        let plan = plan_geometry(&setup, pixels.plan_space_oriented(), job.request);
        refuse_oversized_output(&plan, job.settings)?;
        (plan, pixels)
    } else {
        let plan = plan_geometry(&setup, setup.working_size(), job.request);
        refuse_oversized_output(&plan, job.settings)?;
        let shrink = choose_shrink_on_load(header, &setup, &plan, job.request);
        let overrides = job.filters.output_overrides();
        if takes_jpeg_planes_path(header, &setup, &plan, &overrides, job) {
            let planes = render_jpeg_planes(source, header, &setup, &plan, &overrides, shrink, job);
            if let Some(output) = planes? {
                return Ok(output);
            }
        }
        let pixels = decode_for_plan(source, header, &setup, shrink, job)?;
        (plan, pixels)
    };

    // Every decoded frame is resized to the output at once: refuse before allocating them.
    refuse_oversized_animation(pixels.image.frames.len() as u64, plan.output, job.settings)?;
    check_deadline(job)?;
    let mut image = apply_geometry(pixels, &plan, job.settings.resampling_filter)?;
    check_deadline(job)?;
    apply_post_transform_filters(&mut image, &plan, job)?;
    check_deadline(job)?;
    let overrides = job.filters.output_overrides();
    if job.request.meta {
        meta_output(&image, header, &setup, &plan, &overrides, job)
    } else {
        encode_output(&image, header, &overrides, job)
    }
}

/// Abandons the render once its deadline has passed (the client already got its 504).
fn check_deadline(job: &RenderJob<'_>) -> Result<(), ImagingError> {
    match job.deadline {
        Some(deadline) if std::time::Instant::now() >= deadline => Err(ImagingError::Abandoned),
        _ => Ok(()),
    }
}

/// Reads format, size and orientation from the header and refuses originals over MAX_PIXELS
/// before a single pixel is allocated (Thumbor: PIL's decompression-bomb check, a 400).
pub fn probe_header(source: &[u8], settings: &ImagingSettings) -> Result<Probe, ImagingError> {
    let _span = tracing::info_span!("probe").entered();
    let header = decode::probe(source)?;
    let pixels = u64::from(header.width) * u64::from(header.height);
    if pixels > settings.max_pixels {
        return Err(ImagingError::TooLarge(format!(
            "source is {}x{}, over MAX_PIXELS {}",
            header.width, header.height, settings.max_pixels
        )));
    }
    Ok(header)
}

/// What the request becomes before the transformer runs (spec §3.1 steps 5–10), plus the
/// operations meta records before `img_operation_worker` (orientation flips, trim).
struct GeometrySetup {
    /// The original's size as stored.
    stored: Size,
    /// `normalize()`'s downscale of the stored size, if any (stored orientation).
    normalized: Option<Size>,
    /// The EXIF orientation pictor applies (1 unless RESPECT_ORIENTATION).
    orientation: u8,
    width: Dimension,
    height: Dimension,
    manual_crop: Option<ManualCrop>,
    pre_load: PreLoadEffects,
    /// Meta operations recorded before the transformer's own (orientation flips, trim crop).
    leading_operations: Vec<MetaOperation>,
}

impl GeometrySetup {
    /// The stored-orientation size the plan's coordinates live in, before trim.
    fn stored_working_size(&self) -> Size {
        self.normalized.unwrap_or(self.stored)
    }

    /// The size the transformer starts from when there is no trim.
    fn working_size(&self) -> Size {
        oriented_size(self.stored_working_size(), self.orientation)
    }
}

fn oriented_size(size: Size, orientation: u8) -> Size {
    if transform::orientation_swaps_axes(orientation) {
        size.transposed()
    } else {
        size
    }
}

/// Request clamp to MAX_WIDTH/MAX_HEIGHT, pre-load filters, `normalize()`, `no_upscale()`
/// and `normalize_crops`, in Thumbor's order.
fn prepare_geometry(header: &Probe, job: &RenderJob<'_>) -> GeometrySetup {
    let settings = job.settings;
    let request = job.request;
    let width = geometry::clamp_request_dimension(request.width, settings.max_width);
    let height = geometry::clamp_request_dimension(request.height, settings.max_height);
    let pre_load = job.filters.pre_load();

    let stored = Size::new(header.width, header.height);
    let normalized = geometry::normalize_size(stored, settings.max_width, settings.max_height);
    let orientation = if settings.respect_orientation {
        header.orientation
    } else {
        1
    };
    let engine_size = normalized.unwrap_or(stored);
    let (width, height) = after_load_filters(
        job.filters,
        width,
        height,
        oriented_size(engine_size, orientation),
    );
    let manual_crop = request
        .crop
        .map(ManualCrop::from_url)
        .map(|crop| match normalized {
            Some(size) => geometry::normalize_crop(crop, stored, size, width, height),
            None => crop,
        });

    let mut leading_operations = Vec::new();
    // Thumbor's meta engine records (and does not apply) the flips of reorientate().
    if matches!(orientation, 2 | 7) {
        leading_operations.push(MetaOperation::FlipHorizontally);
    }
    if matches!(orientation, 4 | 5) {
        leading_operations.push(MetaOperation::FlipVertically);
    }
    GeometrySetup {
        stored,
        normalized,
        orientation,
        width,
        height,
        manual_crop,
        pre_load,
        leading_operations,
    }
}

/// `no_upscale()` and any other after-load filter, on numeric sides (`orig` stays `orig`).
fn after_load_filters(
    filters: &FilterList,
    width: Dimension,
    height: Dimension,
    image_size: Size,
) -> (Dimension, Dimension) {
    let numeric = |dimension: Dimension, side: u32| match dimension {
        Dimension::Px(px) => px,
        Dimension::Orig => side,
    };
    let mut new_width = numeric(width, image_size.width);
    let mut new_height = numeric(height, image_size.height);
    filters.after_load(
        &mut new_width,
        &mut new_height,
        (image_size.width, image_size.height),
    );
    let keep_orig = |dimension: Dimension, px: u32| match dimension {
        Dimension::Orig => Dimension::Orig,
        Dimension::Px(_) => Dimension::Px(px),
    };
    (keep_orig(width, new_width), keep_orig(height, new_height))
}

/// `geometry::plan` on the size the transformer starts from.
fn plan_geometry(setup: &GeometrySetup, source: Size, request: &ImageRequest) -> Plan {
    let _span = tracing::info_span!("plan").entered();
    let plan_input = PlanInput {
        source,
        width: setup.width,
        height: setup.height,
        fit_in: request.fit_in,
        manual_crop: setup.manual_crop,
        halign: request.halign,
        valign: request.valign,
        flip_horizontal: request.flip_horizontal,
        flip_vertical: request.flip_vertical,
        debug: request.debug,
        stretch: setup.pre_load.stretch,
        focal_points: &setup.pre_load.focal_points,
    };
    geometry::plan(&plan_input)
}

/// Refuses outputs over MAX_PIXELS before they are allocated (`/99999x99999/` is a 400 at
/// once, not an 80 GB allocation).
fn refuse_oversized_output(plan: &Plan, settings: &ImagingSettings) -> Result<(), ImagingError> {
    if plan.output.pixels() > settings.max_pixels {
        return Err(ImagingError::TooLarge(format!(
            "output {}x{} is over MAX_PIXELS {}",
            plan.output.width, plan.output.height, settings.max_pixels
        )));
    }
    Ok(())
}

/// Refuses an animated output whose frames together hold more pixels than an animated source
/// may (`decode::animation_pixel_budget`): a 1x1 GIF of 100 frames asked at 4000x4000 would
/// otherwise build 1.6 G pixels of output frames from 100 bytes of input.
pub(crate) fn refuse_oversized_animation(
    frames: u64,
    output: Size,
    settings: &ImagingSettings,
) -> Result<(), ImagingError> {
    let budget = decode::animation_pixel_budget(settings.max_pixels);
    if frames > 1 && frames.saturating_mul(output.pixels()) > budget {
        return Err(ImagingError::TooLarge(format!(
            "{frames} output frames of {}x{} are over MAX_PIXELS {} together",
            output.width, output.height, settings.max_pixels
        )));
    }
    Ok(())
}

/// The output size the geometry plans for this header, before any post-transform filter,
/// for the memory estimate. With `trim` it is the plan of the untrimmed image (the trimmed one
/// is only known from pixels); the real output is checked again once decoded.
pub(crate) fn planned_output(header: &Probe, job: &RenderJob<'_>) -> Size {
    let setup = prepare_geometry(header, job);
    plan_geometry(&setup, setup.working_size(), job.request).output
}

/// Whether only the first frame of an animation is decoded (`cover()`, or animations off).
pub(crate) fn decodes_first_frame_only(job: &RenderJob<'_>) -> bool {
    job.filters.has_cover() || !job.settings.allow_animated_gifs
}

/// Decoded pixels and how the plan's coordinates reach them.
struct Pixels {
    image: Image,
    /// EXIF orientation still to apply (after the crop + resize, on the small output).
    pending_orientation: u8,
    /// The size of the plan's coordinate space, in stored orientation.
    plan_space: Size,
    /// Plan coordinates (stored orientation) to `image` pixels.
    scale: (f64, f64),
}

impl Pixels {
    fn plan_space_oriented(&self) -> Size {
        oriented_size(self.plan_space, self.pending_orientation)
    }
}

fn decode_options(job: &RenderJob<'_>, shrink: u32) -> DecodeOptions {
    DecodeOptions {
        max_pixels: job.settings.max_pixels,
        shrink,
        // cover() asks for the first frame (Thumbor can only do it with gifsicle).
        first_frame_only: decodes_first_frame_only(job),
        max_jpeg_scans: job.settings.max_jpeg_scans,
        deadline: job.deadline,
    }
}

/// The trim path: Thumbor trims the loaded, normalized, oriented image, so all of that
/// happens on real pixels before planning. The manual crop then refers to the trimmed image.
fn decode_orient_and_trim(
    source: &[u8],
    header: &Probe,
    setup: &mut GeometrySetup,
    job: &RenderJob<'_>,
) -> Result<Pixels, ImagingError> {
    let mut image = {
        let _span = tracing::info_span!("decode").entered();
        decode::decode_probed(source, header, &decode_options(job, 1))?
    };
    if let Some(normalized) = setup.normalized {
        let _span = tracing::info_span!("normalize").entered();
        let whole = Region::from_rect(PixelRect::full(Size::new(image.width, image.height)));
        image = transform::crop_resize(&image, whole, normalized, job.settings.resampling_filter)?;
    }
    {
        let _span = tracing::info_span!("orient").entered();
        transform::orient(&mut image, setup.orientation);
    }
    if let Some(trim) = job.request.trim {
        let _span = tracing::info_span!("trim").entered();
        if let Some(rect) = transform::trim_box(&image, trim.position, trim.tolerance) {
            image = transform::crop(&image, rect);
            setup.manual_crop = setup.manual_crop.map(|c| c.shifted(rect.left, rect.top));
            setup.leading_operations.push(MetaOperation::Crop {
                left: PyNumber::Int(i64::from(rect.left)),
                top: PyNumber::Int(i64::from(rect.top)),
                right: PyNumber::Int(i64::from(rect.right)),
                bottom: PyNumber::Int(i64::from(rect.bottom)),
            });
        }
    }
    let plan_space = Size::new(image.width, image.height);
    Ok(Pixels {
        image,
        pending_orientation: 1,
        plan_space,
        scale: (1.0, 1.0),
    })
}

/// The region of the stored original (in original pixels) the plan reads, and the output
/// size in stored orientation.
fn stored_read(setup: &GeometrySetup, plan: &Plan) -> (Region, Size) {
    let space = setup.stored_working_size();
    let oriented = oriented_size(space, setup.orientation);
    let crop = plan.crop.unwrap_or(PixelRect::full(oriented));
    let region = transform::unorient_region(
        Region::from_rect(crop),
        setup.orientation,
        (f64::from(space.width), f64::from(space.height)),
    );
    let to_original = (
        f64::from(setup.stored.width) / f64::from(space.width),
        f64::from(setup.stored.height) / f64::from(space.height),
    );
    (
        region.scaled(to_original.0, to_original.1),
        oriented_size(plan.output, setup.orientation),
    )
}

/// How many times the output size shrink-on-load must leave for the final Lanczos3 pass.
/// libjpeg's scaled IDCT is itself a good low-pass filter, so a small margin keeps the output
/// within 44–52 dB PSNR of a full-size decode + Lanczos3 (measured on the corpus, see
/// `quality_tests`); at 1.0 (sharp's and PIL `draft()`'s rule) it drops to ~35 dB, because the
/// final pass then has nothing left to filter.
const SHRINK_ON_LOAD_MARGIN: f64 = 1.3;

/// The same for WebP: libwebp's scaled decode is a plain area average of the full-size
/// decode, a weaker low-pass than DCT scaling, so it needs the 2x of issue 7's rule (at 1.7x,
/// 1024x772 -> 300 wide fell to 39.6 dB).
const WEBP_SHRINK_ON_LOAD_MARGIN: f64 = 2.0;

/// Shrink-on-load (JPEG DCT scaling, WebP's scaled decode): decode at 1/2, 1/4 or 1/8 when the
/// shrunk image is still at least [`SHRINK_ON_LOAD_MARGIN`] (JPEG) or
/// [`WEBP_SHRINK_ON_LOAD_MARGIN`] times the output on both axes (2725x2225 -> 720x588 decodes
/// at 1/2). Never with trim or debug (they need full-size
/// pixels). Animated WebPs ignore it and decode at full size.
fn choose_shrink_on_load(
    header: &Probe,
    setup: &GeometrySetup,
    plan: &Plan,
    request: &ImageRequest,
) -> u32 {
    let margin = match header.format {
        ImageFormat::Jpeg => SHRINK_ON_LOAD_MARGIN,
        ImageFormat::Webp => WEBP_SHRINK_ON_LOAD_MARGIN,
        _ => return 1,
    };
    if request.trim.is_some() || request.debug {
        return 1;
    }
    let (region, output) = stored_read(setup, plan);
    let factor =
        (region.width / f64::from(output.width)).min(region.height / f64::from(output.height));
    [8, 4, 2]
        .into_iter()
        .find(|&shrink| factor >= f64::from(shrink) * margin)
        .unwrap_or(1)
}

/// The no-trim path: decode (maybe shrunk), leaving orientation for the small output.
fn decode_for_plan(
    source: &[u8],
    header: &Probe,
    setup: &GeometrySetup,
    shrink: u32,
    job: &RenderJob<'_>,
) -> Result<Pixels, ImagingError> {
    let _span = tracing::info_span!("decode", shrink).entered();
    let image = decode::decode_probed(source, header, &decode_options(job, shrink))?;
    let decoded = Size::new(image.width, image.height);
    Ok(Pixels {
        image,
        pending_orientation: setup.orientation,
        plan_space: setup.stored_working_size(),
        scale: plan_to_decoded_scale(header, setup, shrink, decoded),
    })
}

/// How plan coordinates (stored orientation, after normalize) reach the pixels of an
/// original decoded at `decoded` size with `shrink`.
fn plan_to_decoded_scale(
    header: &Probe,
    setup: &GeometrySetup,
    shrink: u32,
    decoded: Size,
) -> (f64, f64) {
    let space = setup.stored_working_size();
    let decode_scale = |decoded: u32, stored: u32| {
        if decoded == stored {
            1.0
        } else if header.format == ImageFormat::Jpeg && decoded == stored.div_ceil(shrink) {
            // libjpeg's scaled pixel i covers original pixels [i*s, (i+1)*s); libwebp's
            // rescaler spreads the whole width over the decoded one (the ratio below).
            1.0 / f64::from(shrink)
        } else {
            f64::from(decoded) / f64::from(stored)
        }
    };
    (
        f64::from(header.width) / f64::from(space.width)
            * decode_scale(decoded.width, header.width),
        f64::from(header.height) / f64::from(space.height)
            * decode_scale(decoded.height, header.height),
    )
}

/// Whether a render can stay in YCbCr from the original to the output: a JPEG written as a
/// progressive JPEG, with nothing between the resize and the encode (no pixel filter, no
/// orientation, flip or debug outline, no `max_bytes` retries, no meta).
fn takes_jpeg_planes_path(
    header: &Probe,
    setup: &GeometrySetup,
    plan: &Plan,
    overrides: &OutputOverrides,
    job: &RenderJob<'_>,
) -> bool {
    header.format == ImageFormat::Jpeg
        && job.settings.progressive_jpeg
        && !job.request.meta
        && !job.request.debug
        && setup.orientation == 1
        && !plan.flip_horizontal
        && !plan.flip_vertical
        && !job.filters.changes_pixels()
        && overrides.max_bytes.is_none()
        && output_format(plan.output, false, false, header, overrides, job).0 == ImageFormat::Jpeg
}

/// Whether 4:4:4 chroma may be decoded at half the luma plane's size: when the resize would
/// box-halve it anyway for the 4:2:0 output (the crop estimated in decoded pixels, which only
/// the decode itself tells exactly).
fn full_chroma_halved_on_decode(
    header: &Probe,
    setup: &GeometrySetup,
    plan: &Plan,
    shrink: u32,
) -> bool {
    let space = setup.stored_working_size();
    let crop = plan.crop.unwrap_or(PixelRect::full(space));
    let to_decoded = |original: u32, space: u32| {
        f64::from(original) / f64::from(space.max(1)) / f64::from(shrink)
    };
    let region = Region::from_rect(crop).scaled(
        to_decoded(header.width, space.width),
        to_decoded(header.height, space.height),
    );
    let (chroma_width, chroma_height) =
        jpeg::planes::chroma_size(plan.output.width, plan.output.height);
    transform::chroma_is_halved(region, Size::new(chroma_width, chroma_height))
}

/// The JPEG → JPEG path: the original decoded to YCbCr planes (at the shrink-on-load scale),
/// each plane cropped and resized on its own, and the planes written as they are. It skips
/// both colour conversions, chroma upsampling and downsampling, and resizes a half of the
/// samples an RGB resize would. `None` when the original is not YCbCr (gray, CMYK, RGB-coded
/// JPEGs): the caller decodes it to RGB instead.
fn render_jpeg_planes(
    source: &[u8],
    header: &Probe,
    setup: &GeometrySetup,
    plan: &Plan,
    overrides: &OutputOverrides,
    shrink: u32,
    job: &RenderJob<'_>,
) -> Result<Option<RenderOutput>, ImagingError> {
    let halve_full_chroma = full_chroma_halved_on_decode(header, setup, plan, shrink);
    let decoded = {
        let _span = tracing::info_span!("decode", shrink, planes = true).entered();
        let options = decode_options(job, shrink);
        match jpeg::decode_planes_limited(source, header, &options, halve_full_chroma)? {
            Some(decoded) => decoded,
            None => return Ok(None),
        }
    };
    check_deadline(job)?;
    let decoded_size = Size::new(decoded.width, decoded.height);
    let (scale_x, scale_y) = plan_to_decoded_scale(header, setup, shrink, decoded_size);
    let crop = plan
        .crop
        .unwrap_or(PixelRect::full(setup.stored_working_size()));
    let region = Region::from_rect(crop).scaled(scale_x, scale_y);
    let planes = {
        let _span = tracing::info_span!("crop_resize").entered();
        transform::crop_resize_planes(
            &decoded,
            region,
            plan.output,
            job.settings.resampling_filter,
        )?
    };
    check_deadline(job)?;
    let quality = encode_quality(ImageFormat::Jpeg, overrides, job.settings);
    let icc = decoded
        .icc_profile
        .as_deref()
        .filter(|icc| !overrides.strip_icc && encode::is_rgb_profile(icc));
    let body = {
        let _span = tracing::info_span!("encode", format = ImageFormat::Jpeg.name()).entered();
        jpeg::encode_planes(&planes, quality.clamp(1, 100), icc)?
    };
    Ok(Some(RenderOutput {
        body,
        content_type: ImageFormat::Jpeg.mime(),
        vary_accept: vary_accept(job, overrides, false),
        max_age: overrides.max_age,
    }))
}

/// Crop + resize in one pass on the decoded pixels, then orientation (on the output),
/// debug outlines and flips.
fn apply_geometry(
    pixels: Pixels,
    plan: &Plan,
    filter: ResamplingFilter,
) -> Result<Image, ImagingError> {
    let Pixels {
        image,
        pending_orientation,
        plan_space,
        scale,
    } = pixels;
    let oriented_space = oriented_size(plan_space, pending_orientation);
    let crop = plan.crop.unwrap_or(PixelRect::full(oriented_space));
    let region = transform::unorient_region(
        Region::from_rect(crop),
        pending_orientation,
        (f64::from(plan_space.width), f64::from(plan_space.height)),
    )
    .scaled(scale.0, scale.1);
    let stored_output = oriented_size(plan.output, pending_orientation);

    let whole = PixelRect::full(Size::new(image.width, image.height));
    let untouched = region.as_exact_rect() == Some(whole) && stored_output == whole.size();
    let mut image = if untouched {
        image
    } else {
        let _span = tracing::info_span!("crop_resize").entered();
        transform::crop_resize(&image, region, stored_output, filter)?
    };
    {
        let _span = tracing::info_span!("orient").entered();
        transform::orient(&mut image, pending_orientation);
    }
    for rectangle in &plan.debug_rectangles {
        transform::draw_outline(&mut image, rectangle);
    }
    if plan.flip_horizontal {
        transform::flip_horizontal(&mut image);
    }
    if plan.flip_vertical {
        transform::flip_vertical(&mut image);
    }
    Ok(image)
}

/// Post-transform filters in URL order. Thumbor skips them for GIF sources; pictor applies
/// them (a documented difference).
fn apply_post_transform_filters(
    image: &mut Image,
    plan: &Plan,
    job: &RenderJob<'_>,
) -> Result<(), ImagingError> {
    let _span = tracing::info_span!("filters").entered();
    let context = PostTransformContext {
        request: plan.request,
        fit_in: job.request.fit_in.is_some(),
        assets: job.assets,
        focal_points: &plan.focal_points,
    };
    job.filters.post_transform(image, &context)
}

/// AUTO_PNG_TO_JPG or its `autojpg` override, with 7.8.0's quirk: when the config is on,
/// *any* autojpg filter (even `autojpg(true)`) turns the conversion off.
fn png_to_jpg_enabled(settings: &ImagingSettings, overrides: &OutputOverrides) -> bool {
    match overrides.autojpg {
        None => settings.auto_png_to_jpg,
        Some(_) if settings.auto_png_to_jpg => false,
        Some(value) => value,
    }
}

fn choose_format(
    image: &Image,
    header: &Probe,
    overrides: &OutputOverrides,
    job: &RenderJob<'_>,
) -> (ImageFormat, bool) {
    let size = Size::new(image.width, image.height);
    let transparent = image.has_transparency();
    output_format(
        size,
        image.is_animated(),
        transparent,
        header,
        overrides,
        job,
    )
}

/// The output format of an image of `size` (and whether it is a PNG turned into JPEG).
fn output_format(
    size: Size,
    animated: bool,
    transparent: bool,
    header: &Probe,
    overrides: &OutputOverrides,
    job: &RenderJob<'_>,
) -> (ImageFormat, bool) {
    let png_to_jpg = png_to_jpg_enabled(job.settings, overrides) && !transparent;
    let format = encode::choose_output_format(&FormatContext {
        requested: overrides.format,
        source: header.format,
        animated,
        width: size.width,
        height: size.height,
        auto_webp: job.settings.auto_webp,
        accepts_webp: job.accepts_webp,
        auto_avif: job.settings.auto_avif,
        accepts_avif: job.accepts_avif,
        png_to_jpg,
    });
    let converted_png = overrides.format.is_none()
        && png_to_jpg
        && header.format == ImageFormat::Png
        && format == ImageFormat::Jpeg;
    (format, converted_png)
}

/// quality() filter, else WEBP_QUALITY for WebP, AVIF_QUALITY for AVIF, else QUALITY.
fn encode_quality(
    format: ImageFormat,
    overrides: &OutputOverrides,
    settings: &ImagingSettings,
) -> u8 {
    match (overrides.quality, format) {
        (Some(quality), _) => quality,
        (None, ImageFormat::Webp) => settings.webp_quality.unwrap_or(settings.quality),
        (None, ImageFormat::Avif) => settings.avif_quality.unwrap_or(settings.quality),
        (None, _) => settings.quality,
    }
}

fn encode_output(
    image: &Image,
    header: &Probe,
    overrides: &OutputOverrides,
    job: &RenderJob<'_>,
) -> Result<RenderOutput, ImagingError> {
    let (format, _) = choose_format(image, header, overrides, job);
    let settings = EncodeSettings {
        quality: encode_quality(format, overrides, job.settings),
        progressive_jpeg: job.settings.progressive_jpeg,
        png_compression_level: job.settings.png_compression_level,
        webp_method: job.settings.webp_method,
        keep_icc: !overrides.strip_icc,
        avif_speed: job.settings.avif_speed,
    };
    let body = {
        let _span = tracing::info_span!("encode", format = format.name()).entered();
        match overrides.max_bytes {
            Some(max_bytes) => encode_within(image, format, settings, max_bytes)?,
            None => encode::encode(image, format, &settings)?,
        }
    };
    let animated_gif = format == ImageFormat::Gif && image.is_animated();
    Ok(RenderOutput {
        body,
        content_type: format.mime(),
        vary_accept: vary_accept(job, overrides, animated_gif),
        max_age: overrides.max_age,
    })
}

/// `Vary: Accept` when AUTO_WEBP or AUTO_AVIF could have chosen the format.
fn vary_accept(job: &RenderJob<'_>, overrides: &OutputOverrides, animated_gif: bool) -> bool {
    (job.settings.auto_webp || job.settings.auto_avif)
        && !overrides.format_is_valid
        && !animated_gif
}

/// `max_bytes(n)` for JPEG and WebP: lower the quality by 25 % steps until it fits; below
/// quality 10, give up and keep the first encode. (Thumbor then tries to climb back, but
/// its climb always lands on the initial quality, which did not fit, so the first fitting
/// encode is what it returns.)
fn encode_within(
    image: &Image,
    format: ImageFormat,
    settings: EncodeSettings,
    max_bytes: u64,
) -> Result<Vec<u8>, ImagingError> {
    let initial = encode::encode(image, format, &settings)?;
    let fits = |bytes: &[u8]| bytes.len() as u64 <= max_bytes;
    if !matches!(format, ImageFormat::Jpeg | ImageFormat::Webp) || fits(&initial) {
        return Ok(initial);
    }
    let mut quality = u32::from(settings.quality);
    loop {
        quality = quality * 3 / 4;
        if quality < 10 {
            return Ok(initial);
        }
        let attempt = EncodeSettings {
            quality: quality as u8,
            ..settings.clone()
        };
        let bytes = encode::encode(image, format, &attempt)?;
        if fits(&bytes) {
            return Ok(bytes);
        }
    }
}

/// The meta answer (§5.7): Thumbor's JSON, byte for byte (Python's `json.dumps` layout).
fn meta_output(
    image: &Image,
    header: &Probe,
    setup: &GeometrySetup,
    plan: &Plan,
    overrides: &OutputOverrides,
    job: &RenderJob<'_>,
) -> Result<RenderOutput, ImagingError> {
    let _span = tracing::info_span!("meta").entered();
    let mut operations = setup.leading_operations.clone();
    operations.extend(plan.operations.iter().copied());
    let (_, converted_png) = choose_format(image, header, overrides, job);
    if converted_png {
        operations.push(MetaOperation::AutoPngToJpgConversion);
    }
    let size = Size::new(image.width, image.height);
    let target = geometry::meta_target(&operations, size);

    let mut thumbor = vec![
        (
            "source",
            Json::Object(vec![
                ("url", Json::Str(job.request.image_url())),
                ("width", Json::Int(i64::from(size.width))),
                ("height", Json::Int(i64::from(size.height))),
                ("frameCount", Json::Int(image.frames.len() as i64)),
            ]),
        ),
        (
            "operations",
            Json::Array(operations.iter().map(operation_json).collect()),
        ),
        (
            "target",
            Json::Object(vec![
                ("width", number_json(target.0)),
                ("height", number_json(target.1)),
            ]),
        ),
    ];
    if !plan.focal_points.is_empty() {
        thumbor.push((
            "focal_points",
            Json::Array(plan.focal_points.iter().map(focal_point_json).collect()),
        ));
    }
    let document = Json::Object(vec![("thumbor", Json::Object(thumbor))]);
    let mut body = String::new();
    document.write(&mut body);
    Ok(RenderOutput {
        body: body.into_bytes(),
        content_type: "application/json",
        vary_accept: false,
        max_age: overrides.max_age,
    })
}

fn operation_json(operation: &MetaOperation) -> Json {
    let kind = |name: &str| ("type", Json::Str(name.to_string()));
    match *operation {
        MetaOperation::Crop {
            left,
            top,
            right,
            bottom,
        } => Json::Object(vec![
            kind("crop"),
            ("left", number_json(left)),
            ("top", number_json(top)),
            ("right", number_json(right)),
            ("bottom", number_json(bottom)),
        ]),
        MetaOperation::Resize { width, height } => Json::Object(vec![
            kind("resize"),
            ("width", number_json(width)),
            ("height", number_json(height)),
        ]),
        MetaOperation::FlipHorizontally => Json::Object(vec![kind("flip_horizontally")]),
        MetaOperation::FlipVertically => Json::Object(vec![kind("flip_vertically")]),
        MetaOperation::AutoPngToJpgConversion => {
            Json::Object(vec![kind("auto_png_to_jpg_conversion")])
        }
    }
}

/// Thumbor's `FocalPoint.to_dict()`: integer coordinates and sizes; the weight is the float
/// 1.0 for alignment points and an integer (w*h) for the others.
fn focal_point_json(point: &FocalPoint) -> Json {
    let weight = if point.origin == "alignment" || point.weight.fract() != 0.0 {
        Json::Float(point.weight)
    } else {
        Json::Int(point.weight as i64)
    };
    Json::Object(vec![
        ("x", Json::Int(point.x.trunc() as i64)),
        ("y", Json::Int(point.y.trunc() as i64)),
        ("z", weight),
        ("height", Json::Int(point.height.trunc() as i64)),
        ("width", Json::Int(point.width.trunc() as i64)),
        ("origin", Json::Str(point.origin.to_string())),
    ])
}

fn number_json(number: PyNumber) -> Json {
    match number {
        PyNumber::Int(i) => Json::Int(i),
        PyNumber::Float(f) => Json::Float(f),
    }
}

/// Just enough JSON to write what Python's `json.dumps` writes: keys in insertion order,
/// `", "` and `": "` separators, floats as `repr`, non-ASCII escaped.
enum Json {
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(&'static str, Json)>),
}

impl Json {
    fn write(&self, out: &mut String) {
        match self {
            Json::Int(i) => out.push_str(&i.to_string()),
            Json::Float(f) => out.push_str(&python_float_repr(*f)),
            Json::Str(s) => write_json_string(s, out),
            Json::Array(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push_str(", ");
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Object(fields) => {
                out.push('{');
                for (index, (key, value)) in fields.iter().enumerate() {
                    if index > 0 {
                        out.push_str(", ");
                    }
                    write_json_string(key, out);
                    out.push_str(": ");
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// Python's `json.dumps` string escaping with `ensure_ascii=True`.
fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: the shortest round-trip digits, positional for exponents
/// -4..16 (always with a fractional part), else `d.ddde+XX`.
fn python_float_repr(value: f64) -> String {
    if !value.is_finite() {
        return if value.is_nan() {
            "NaN".into()
        } else if value > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .into();
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e-7".
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    if (-4..16).contains(&exponent) {
        let point = exponent + 1;
        let text = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            let (whole, fraction) = digits.split_at(point as usize);
            format!("{whole}.{fraction}")
        };
        format!("{sign}{text}")
    } else {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exponent_sign}{:02}", exponent.abs())
    }
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "quality_tests.rs"]
mod quality_tests;

#[cfg(test)]
#[path = "planes_path_tests.rs"]
mod planes_path_tests;
