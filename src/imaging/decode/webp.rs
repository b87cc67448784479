//! WebP: size, orientation and ICC from the RIFF chunks (VP8 / VP8L / VP8X), pixels through
//! libwebp (`webp` crate) for still images, and image-webp (through `image`) for animations,
//! composited onto the full canvas frame by frame.

use super::{animation_pixel_budget, exif, rgba_to_rgb, DecodeOptions, Probe};
use crate::imaging::{Frame, Image, ImageFormat, ImagingError, PixelLayout, SourceInfo};
use std::panic::{self, AssertUnwindSafe};

const VP8X_ANIMATION: u8 = 0x02;

/// What the RIFF container says, without decoding the bitstream.
struct WebpContainer<'a> {
    width: u32,
    height: u32,
    animated: bool,
    animation_frames: u64,
    icc_profile: Option<&'a [u8]>,
    exif: Option<&'a [u8]>,
}

fn read_container(bytes: &[u8]) -> Result<WebpContainer<'_>, ImagingError> {
    let bad = |why: &str| ImagingError::Undecodable(format!("webp: {why}"));
    if bytes.get(0..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WEBP") {
        return Err(bad("not a RIFF/WEBP container"));
    }
    let mut container = WebpContainer {
        width: 0,
        height: 0,
        animated: false,
        animation_frames: 0,
        icc_profile: None,
        exif: None,
    };
    let mut size_known = false;
    let mut pos = 12;
    while let Some(chunk_header) = bytes.get(pos..pos + 8) {
        let length = u32::from_le_bytes([
            chunk_header[4],
            chunk_header[5],
            chunk_header[6],
            chunk_header[7],
        ]) as usize;
        let data_start = pos + 8;
        // A truncated last chunk still shows its first bytes (enough for a header).
        let data = &bytes[data_start..data_start.saturating_add(length).min(bytes.len())];
        match &chunk_header[0..4] {
            b"VP8X" if !size_known => {
                let d = data.get(0..10).ok_or_else(|| bad("truncated VP8X"))?;
                container.animated = d[0] & VP8X_ANIMATION != 0;
                container.width = u32::from_le_bytes([d[4], d[5], d[6], 0]) + 1;
                container.height = u32::from_le_bytes([d[7], d[8], d[9], 0]) + 1;
                size_known = true;
            }
            b"VP8 " if !size_known => {
                let d = data.get(0..10).ok_or_else(|| bad("truncated VP8"))?;
                if d[3..6] != [0x9d, 0x01, 0x2a] {
                    return Err(bad("bad VP8 start code"));
                }
                container.width = u32::from(u16::from_le_bytes([d[6], d[7]]) & 0x3fff);
                container.height = u32::from(u16::from_le_bytes([d[8], d[9]]) & 0x3fff);
                size_known = true;
            }
            b"VP8L" if !size_known => {
                let d = data.get(0..5).ok_or_else(|| bad("truncated VP8L"))?;
                if d[0] != 0x2f {
                    return Err(bad("bad VP8L signature"));
                }
                let bits = u32::from_le_bytes([d[1], d[2], d[3], d[4]]);
                container.width = (bits & 0x3fff) + 1;
                container.height = ((bits >> 14) & 0x3fff) + 1;
                size_known = true;
            }
            b"ANMF" => container.animation_frames += 1,
            b"ICCP" => container.icc_profile = Some(data),
            b"EXIF" => container.exif = Some(data),
            _ => {}
        }
        // Chunks are padded to an even length.
        pos = match data_start.checked_add(length + (length & 1)) {
            Some(next) => next,
            None => break,
        };
    }
    if !size_known {
        return Err(bad("no image chunk"));
    }
    Ok(container)
}

/// The size is libwebp's own (`WebPGetFeatures`, which the still decoder trusts too), and
/// our chunk walk must agree with it: a file whose first chunk libwebp reads as a raw
/// bitstream while a later `VP8L` chunk declares 1x1 would otherwise pass the pixel limit at
/// 1x1 and decode at 16384².
pub(super) fn probe(bytes: &[u8]) -> Result<Probe, ImagingError> {
    let container = read_container(bytes)?;
    let features = webp::BitstreamFeatures::new(bytes)
        .ok_or_else(|| ImagingError::Undecodable("webp: libwebp cannot read the header".into()))?;
    if (features.width(), features.height()) != (container.width, container.height)
        || features.has_animation() != container.animated
    {
        return Err(ImagingError::Undecodable(format!(
            "webp: the chunks declare {}x{} but the bitstream is {}x{}",
            container.width,
            container.height,
            features.width(),
            features.height()
        )));
    }
    Ok(Probe {
        format: ImageFormat::Webp,
        width: features.width(),
        height: features.height(),
        orientation: container.exif.map_or(1, exif::orientation),
    })
}

/// The frames of an animated WebP (its ANMF chunks), 1 for a still one.
pub(super) fn frame_count(bytes: &[u8]) -> u64 {
    match read_container(bytes) {
        Ok(container) if container.animated => container.animation_frames,
        _ => 1,
    }
}

pub(super) fn decode(
    bytes: &[u8],
    header: &Probe,
    options: &DecodeOptions,
) -> Result<Image, ImagingError> {
    let container = read_container(bytes)?;
    let decoded = if container.animated {
        let canvas_pixels = u64::from(container.width) * u64::from(container.height);
        let budget = animation_pixel_budget(options.max_pixels);
        if container.animation_frames.saturating_mul(canvas_pixels) > budget {
            return Err(ImagingError::TooLarge(format!(
                "webp: {} frames of {}x{} (animation budget {budget} pixels)",
                container.animation_frames, container.width, container.height
            )));
        }
        guarded(|| decode_animation(bytes, options.first_frame_only))?
    } else {
        guarded(|| decode_still(bytes, options.shrink))?
    };
    let (width, height, layout, frames, loop_count) = decoded;
    Ok(Image {
        width,
        height,
        layout,
        frames,
        source: SourceInfo {
            format: ImageFormat::Webp,
            width: header.width,
            height: header.height,
            orientation: header.orientation,
            icc_profile: container.icc_profile.map(<[u8]>::to_vec),
            palette: false,
            grayscale: false,
            loop_count,
        },
    })
}

type DecodedWebp = (u32, u32, PixelLayout, Vec<Frame>, Option<u16>);

/// The `webp` wrapper has a few internal `unwrap`s; never let them take the process down.
fn guarded(
    decode: impl FnOnce() -> Result<DecodedWebp, ImagingError>,
) -> Result<DecodedWebp, ImagingError> {
    panic::catch_unwind(AssertUnwindSafe(decode))
        .map_err(|_| ImagingError::Undecodable("webp: decoder panicked".into()))?
}

/// A still image straight into our own buffer (no copy out of libwebp's), scaled on load to
/// `ceil(w / shrink) x ceil(h / shrink)` by libwebp's rescaler when `shrink` > 1 — the WebP
/// counterpart of JPEG's DCT scaling: fewer pixels to convert from YUV and to resample.
fn decode_still(bytes: &[u8], shrink: u32) -> Result<DecodedWebp, ImagingError> {
    use libwebp_sys as sys;
    let failed = |why: &str| ImagingError::Undecodable(format!("webp: {why}"));
    let mut config = sys::WebPDecoderConfig::new()
        .map_err(|()| failed("cannot initialise the libwebp decoder"))?;
    // SAFETY: `bytes` outlives the call; `config.input` is a plain struct libwebp fills in.
    let status = unsafe { sys::WebPGetFeatures(bytes.as_ptr(), bytes.len(), &mut config.input) };
    if status != sys::VP8StatusCode::VP8_STATUS_OK {
        return Err(failed(&format!("bitstream features: {status:?}")));
    }
    let (full_width, full_height) = (config.input.width, config.input.height);
    if full_width <= 0 || full_height <= 0 {
        return Err(failed("empty image"));
    }
    let shrink = i32::try_from(shrink.max(1)).unwrap_or(1);
    let (width, height) = (
        (full_width + shrink - 1) / shrink,
        (full_height + shrink - 1) / shrink,
    );
    if shrink > 1 {
        config.options.use_scaling = 1;
        config.options.scaled_width = width;
        config.options.scaled_height = height;
    }
    let alpha = config.input.has_alpha != 0;
    let (layout, mode) = if alpha {
        (PixelLayout::Rgba8, sys::WEBP_CSP_MODE::MODE_RGBA)
    } else {
        (PixelLayout::Rgb8, sys::WEBP_CSP_MODE::MODE_RGB)
    };
    let stride = width as usize * layout.channels();
    let mut pixels = vec![0u8; stride * height as usize];
    config.output.colorspace = mode;
    config.output.is_external_memory = 1;
    config.output.u.RGBA = sys::WebPRGBABuffer {
        rgba: pixels.as_mut_ptr(),
        stride: i32::try_from(stride).map_err(|_| failed("row too long"))?,
        size: pixels.len(),
    };
    // SAFETY: the output buffer is `pixels`, exactly `stride * height` bytes, alive until
    // after WebPFreeDecBuffer (which frees nothing for external memory).
    let status = unsafe { sys::WebPDecode(bytes.as_ptr(), bytes.len(), &mut config) };
    // SAFETY: `config.output` was set up above and filled (or left empty) by WebPDecode; with
    // external memory this only resets it, and it is called once.
    unsafe { sys::WebPFreeDecBuffer(&mut config.output) };
    if status != sys::VP8StatusCode::VP8_STATUS_OK {
        return Err(failed(&format!("libwebp could not decode: {status:?}")));
    }
    let frame = Frame {
        pixels,
        delay_ms: 0,
    };
    Ok((width as u32, height as u32, layout, vec![frame], None))
}

/// Animations go through `image` (image-webp), frame by frame. The `webp` wrapper's
/// AnimDecoder is not used: it loops forever when libwebp fails on a damaged frame.
fn decode_animation(bytes: &[u8], first_frame_only: bool) -> Result<DecodedWebp, ImagingError> {
    use image::AnimationDecoder;
    let bad = |e: image::ImageError| ImagingError::Undecodable(format!("webp animation: {e}"));
    let mut decoder =
        image::codecs::webp::WebPDecoder::new(std::io::Cursor::new(bytes)).map_err(bad)?;
    // Browsers and libwebp start from a transparent canvas, whatever the ANIM chunk says.
    decoder
        .set_background_color(image::Rgba([0, 0, 0, 0]))
        .map_err(bad)?;
    let loop_count = match decoder.loop_count() {
        image::metadata::LoopCount::Infinite => 0,
        image::metadata::LoopCount::Finite(plays) => u16::try_from(plays.get()).unwrap_or(u16::MAX),
    };
    let (mut width, mut height) = (0, 0);
    let mut frames = Vec::new();
    for frame in decoder.into_frames() {
        let frame = frame.map_err(bad)?;
        let (numerator, denominator) = frame.delay().numer_denom_ms();
        let buffer = frame.into_buffer();
        width = buffer.width();
        height = buffer.height();
        frames.push(Frame {
            pixels: buffer.into_raw(),
            delay_ms: numerator / denominator.max(1),
        });
        if first_frame_only {
            break;
        }
    }
    if frames.is_empty() {
        return Err(ImagingError::Undecodable(
            "webp: animation without frames".into(),
        ));
    }
    // Frames come as RGBA.
    let layout = if frames
        .iter()
        .all(|f| f.pixels.chunks_exact(4).all(|p| p[3] == 255))
    {
        for frame in &mut frames {
            frame.pixels = rgba_to_rgb(&frame.pixels);
        }
        PixelLayout::Rgb8
    } else {
        PixelLayout::Rgba8
    };
    Ok((width, height, layout, frames, Some(loop_count)))
}
