//! JPEG XL originals (bare codestreams and the ISOBMFF container, still and animated) through
//! jxl-oxide, a pure-Rust decoder, narrowed to RGB8/RGBA8. jxl-oxide applies the codestream's
//! orientation itself, so the probe reports the upright size and orientation 1. The pixels are
//! rendered in the colour space the file declares when jxl-oxide can describe it (its ICC
//! profile is kept), otherwise in sRGB.

use super::{animation_pixel_budget, DecodeOptions, Probe};
use crate::imaging::{Frame, Image, ImageFormat, ImagingError, PixelLayout, SourceInfo};
use jxl_oxide::{AllocTracker, InitializeResult, JxlImage, PixelFormat};

/// The bare codestream's signature.
pub(super) const CODESTREAM_SIGNATURE: &[u8] = b"\xff\x0a";
/// The container's first box (`JXL `), which JP2's `jP  ` box resembles up to the type.
pub(super) const CONTAINER_SIGNATURE: &[u8] = b"\x00\x00\x00\x0cJXL \x0d\x0a\x87\x0a";

/// Bytes jxl-oxide holds per canvas pixel while rendering, for the render memory estimate:
/// its f32 planes, the frame being composited and its group buffers. Measured peaks (process
/// RSS less the RGB(A) frame): 24 B for a lossy 2725x2225 RGB file, 29 B for a lossy
/// 2048x1536 RGBA one, 6 B for a lossless one of one colour.
pub(super) const SCRATCH_BYTES_PER_PIXEL: u64 = 32;

/// What jxl-oxide's allocation tracker lets one decode allocate per canvas pixel: twice the
/// estimate, a bound on a file that makes it allocate far more than its size suggests.
const TRACKER_BYTES_PER_PIXEL: u64 = 2 * SCRATCH_BYTES_PER_PIXEL;

/// sRGB's CICP (primaries BT.709, transfer sRGB, identity matrix, full range): pixels in it
/// need no profile.
const SRGB_CICP: [u8; 4] = [1, 13, 0, 1];

fn undecodable(e: impl std::fmt::Display) -> ImagingError {
    ImagingError::Undecodable(format!("jxl: {e}"))
}

/// Header-only: the image header (and the ICC profile before it), no frame is read.
pub(super) fn probe(bytes: &[u8]) -> Result<Probe, ImagingError> {
    let mut uninit = JxlImage::builder().build_uninit();
    uninit.feed_bytes(bytes).map_err(undecodable)?;
    let image = match uninit.try_init().map_err(undecodable)? {
        InitializeResult::Initialized(image) => image,
        InitializeResult::NeedMoreData(_) => return Err(undecodable("truncated header")),
    };
    Ok(Probe {
        format: ImageFormat::Jxl,
        width: image.width(),
        height: image.height(),
        orientation: 1,
    })
}

/// Frames the file holds (1 for a still image), read from the frame headers without rendering.
pub(super) fn frame_count(bytes: &[u8]) -> u64 {
    read(bytes, u64::MAX).map_or(1, |image| image.num_loaded_keyframes() as u64)
}

fn read(bytes: &[u8], scratch_limit: u64) -> Result<JxlImage, ImagingError> {
    let tracker = AllocTracker::with_limit(usize::try_from(scratch_limit).unwrap_or(usize::MAX));
    JxlImage::builder()
        .alloc_tracker(tracker)
        .read(bytes)
        .map_err(undecodable)
}

pub(super) fn decode(
    bytes: &[u8],
    header: &Probe,
    options: &DecodeOptions,
) -> Result<Image, ImagingError> {
    let canvas_pixels = u64::from(header.width) * u64::from(header.height);
    let image = read(bytes, canvas_pixels.saturating_mul(TRACKER_BYTES_PER_PIXEL))?;
    let (width, height) = (image.width(), image.height());
    if (width, height) != (header.width, header.height) {
        return Err(undecodable("size changed between probe and decode"));
    }
    if !image.is_loading_done() {
        return Err(undecodable("truncated file"));
    }
    let keyframes = image.num_loaded_keyframes();
    if keyframes == 0 {
        return Err(undecodable("no frame"));
    }
    let budget = animation_pixel_budget(options.max_pixels);
    if keyframes > 1 && (keyframes as u64).saturating_mul(canvas_pixels) > budget {
        return Err(ImagingError::TooLarge(format!(
            "jxl: {keyframes} frames of {width}x{height} (animation budget {budget} pixels)"
        )));
    }
    let pixel_format = image.pixel_format();
    if pixel_format.has_black() {
        return Err(undecodable("CMYK images are not supported"));
    }
    let layout = if pixel_format.has_alpha() {
        PixelLayout::Rgba8
    } else {
        PixelLayout::Rgb8
    };
    // Ticks per second as (numerator, denominator), for an animation.
    let ticks_per_second = image
        .image_header()
        .metadata
        .animation
        .as_ref()
        .map(|animation| (animation.tps_numerator, animation.tps_denominator));
    let mut frames = Vec::with_capacity(if options.first_frame_only {
        1
    } else {
        keyframes
    });
    for index in 0..keyframes {
        if options.past_deadline() {
            return Err(ImagingError::Abandoned);
        }
        let render = image.render_frame(index).map_err(undecodable)?;
        let pixels = frame_pixels(&render, pixel_format, width, height)?;
        let delay_ms = ticks_per_second.map_or(0, |(numerator, denominator)| {
            ticks_to_ms(render.duration(), numerator, denominator)
        });
        frames.push(Frame { pixels, delay_ms });
        if options.first_frame_only {
            break;
        }
    }
    let icc_profile = match image.rendered_cicp() {
        Some(SRGB_CICP) => None,
        _ => Some(image.rendered_icc()),
    };
    Ok(Image {
        width,
        height,
        layout,
        frames,
        source: SourceInfo {
            icc_profile,
            grayscale: pixel_format.is_grayscale(),
            // JPEG XL has no loop count of its own in the header jxl-oxide exposes; an
            // animation plays forever, as browsers show it.
            loop_count: ticks_per_second.map(|_| 0),
            ..SourceInfo::plain(ImageFormat::Jxl, width, height)
        },
    })
}

/// One rendered frame (orientation applied by jxl-oxide) as RGB8/RGBA8.
fn frame_pixels(
    render: &jxl_oxide::Render,
    pixel_format: PixelFormat,
    width: u32,
    height: u32,
) -> Result<Vec<u8>, ImagingError> {
    let mut stream = render.stream();
    if (stream.width(), stream.height()) != (width, height) {
        return Err(undecodable("a frame does not cover the image"));
    }
    let channels = stream.channels() as usize;
    if channels != pixel_format.channels() {
        return Err(undecodable("unexpected channel count"));
    }
    let mut samples = vec![0u8; width as usize * height as usize * channels];
    if stream.write_to_buffer(&mut samples) != samples.len() {
        return Err(undecodable("short frame"));
    }
    Ok(match pixel_format {
        PixelFormat::Gray => super::gray_to_rgb(&samples),
        PixelFormat::Graya => super::gray_alpha_to_rgba(&samples),
        PixelFormat::Rgb | PixelFormat::Rgba => samples,
        PixelFormat::Cmyk | PixelFormat::Cmyka => {
            return Err(undecodable("CMYK images are not supported"))
        }
    })
}

/// A frame's duration in milliseconds from its ticks and the animation's ticks per second
/// (`numerator / denominator`).
fn ticks_to_ms(ticks: u32, tps_numerator: u32, tps_denominator: u32) -> u32 {
    if tps_numerator == 0 {
        return 0;
    }
    let ms = u64::from(ticks) * 1000 * u64::from(tps_denominator) / u64::from(tps_numerator);
    u32::try_from(ms).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::ticks_to_ms;

    #[test]
    fn ticks_become_milliseconds() {
        assert_eq!(ticks_to_ms(10, 100, 1), 100);
        assert_eq!(ticks_to_ms(1, 30_000, 1001), 33);
        assert_eq!(ticks_to_ms(5, 0, 1), 0);
    }
}
