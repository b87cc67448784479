//! GIF: the logical screen from the header, frames through the `gif` crate, composited here onto
//! a full canvas (disposal methods honoured) so every `Frame` is a complete picture.

use super::{animation_pixel_budget, rgba_to_rgb, DecodeOptions, Probe};
use crate::imaging::{Frame, Image, ImageFormat, ImagingError, PixelLayout, SourceInfo};

pub(super) fn probe(bytes: &[u8]) -> Result<Probe, ImagingError> {
    let screen = bytes
        .get(6..10)
        .ok_or_else(|| ImagingError::Undecodable("gif: truncated header".into()))?;
    Ok(Probe {
        format: ImageFormat::Gif,
        width: u32::from(u16::from_le_bytes([screen[0], screen[1]])),
        height: u32::from(u16::from_le_bytes([screen[2], screen[3]])),
        orientation: 1,
    })
}

/// The image descriptors of a GIF, counted by walking its blocks without decompressing any
/// (the `gif` crate stops at the first unknown block, and so does this walk). Cheap: it reads
/// only the block lengths.
pub(super) fn frame_count(bytes: &[u8]) -> u64 {
    /// Bytes of a colour table announced by a packed field (logical screen or image).
    fn colour_table_len(packed: u8) -> usize {
        if packed & 0x80 == 0 {
            0
        } else {
            3 << ((packed & 0x07) + 1)
        }
    }
    /// The position after a chain of data sub-blocks (ended by a zero length).
    fn skip_sub_blocks(bytes: &[u8], mut pos: usize) -> Option<usize> {
        loop {
            let len = usize::from(*bytes.get(pos)?);
            pos += 1;
            if len == 0 {
                return Some(pos);
            }
            pos += len;
        }
    }
    const SCREEN_END: usize = 13;
    let Some(&screen_packed) = bytes.get(10) else {
        return 0;
    };
    let mut pos = SCREEN_END + colour_table_len(screen_packed);
    let mut frames = 0;
    loop {
        let next = match bytes.get(pos) {
            // Extension: introducer, label, sub-blocks.
            Some(0x21) => skip_sub_blocks(bytes, pos + 2),
            // Image: descriptor (9 bytes), local colour table, LZW code size, sub-blocks.
            Some(0x2c) => match bytes.get(pos + 9) {
                Some(&packed) => {
                    frames += 1;
                    skip_sub_blocks(bytes, pos + 11 + colour_table_len(packed))
                }
                None => None,
            },
            // The trailer, an unknown block or the end of the file.
            _ => None,
        };
        match next {
            Some(next) => pos = next,
            None => return frames,
        }
    }
}

pub(super) fn decode(
    bytes: &[u8],
    header: &Probe,
    options: &DecodeOptions,
) -> Result<Image, ImagingError> {
    let bad = |e: gif::DecodingError| ImagingError::Undecodable(format!("gif: {e}"));
    let canvas_width = header.width as usize;
    let canvas_height = header.height as usize;
    let canvas_pixels = (canvas_width * canvas_height) as u64;
    let budget = animation_pixel_budget(options.max_pixels);

    let mut gif_options = gif::DecodeOptions::new();
    gif_options.set_color_output(gif::ColorOutput::RGBA);
    // One frame may be larger than the screen; bound it like a still image.
    let frame_bytes_limit = options.max_pixels.saturating_mul(4).max(1 << 20);
    if let Some(limit) = std::num::NonZeroU64::new(frame_bytes_limit) {
        gif_options.set_memory_limit(gif::MemoryLimit::Bytes(limit));
    }
    let mut decoder = gif_options.read_info(bytes).map_err(bad)?;

    let mut canvas = vec![0u8; canvas_width * canvas_height * 4];
    let mut frames: Vec<Frame> = Vec::new();
    loop {
        let frame = match decoder.read_next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            // A truncated animation keeps the frames that did decode.
            Err(_) if !frames.is_empty() => break,
            Err(e) => return Err(bad(e)),
        };
        if (frames.len() as u64 + 1) * canvas_pixels > budget {
            return Err(ImagingError::TooLarge(format!(
                "gif: more than {} frames of {}x{} (animation budget {budget} pixels)",
                frames.len(),
                header.width,
                header.height
            )));
        }
        let rect = FrameRect::clipped(frame, canvas_width, canvas_height);
        let before = (frame.dispose == gif::DisposalMethod::Previous).then(|| canvas.clone());
        rect.draw(
            &frame.buffer,
            frame.width as usize,
            &mut canvas,
            canvas_width,
        );
        frames.push(Frame {
            pixels: canvas.clone(),
            delay_ms: u32::from(frame.delay) * 10,
        });
        match frame.dispose {
            gif::DisposalMethod::Background => rect.clear(&mut canvas, canvas_width),
            gif::DisposalMethod::Previous => {
                if let Some(before) = before {
                    canvas = before;
                }
            }
            gif::DisposalMethod::Any | gif::DisposalMethod::Keep => {}
        }
        if options.first_frame_only {
            break;
        }
    }
    if frames.is_empty() {
        return Err(ImagingError::Undecodable("gif: no frames".into()));
    }

    let loop_count = loop_count_from_netscape(decoder.repeat());
    let opaque = frames
        .iter()
        .all(|f| f.pixels.chunks_exact(4).all(|p| p[3] == 255));
    let layout = if opaque {
        for frame in &mut frames {
            frame.pixels = rgba_to_rgb(&frame.pixels);
        }
        PixelLayout::Rgb8
    } else {
        PixelLayout::Rgba8
    };
    Ok(Image {
        width: header.width,
        height: header.height,
        layout,
        frames,
        source: SourceInfo {
            format: ImageFormat::Gif,
            width: header.width,
            height: header.height,
            orientation: 1,
            icc_profile: decoder.icc_profile().map(<[u8]>::to_vec),
            palette: true,
            grayscale: false,
            loop_count,
        },
    })
}

/// `SourceInfo::loop_count` counts plays (0 = forever), like WebP and APNG. The NETSCAPE field
/// of a GIF counts repeats after the first play (browsers play `n + 1` times), and a GIF
/// without the extension plays once — the crate reports that as `Finite(0)`.
fn loop_count_from_netscape(repeat: gif::Repeat) -> Option<u16> {
    match repeat {
        gif::Repeat::Infinite => Some(0),
        gif::Repeat::Finite(0) => None,
        gif::Repeat::Finite(repeats) => Some(repeats.saturating_add(1)),
    }
}

/// The part of a frame that lies on the canvas.
struct FrameRect {
    left: usize,
    top: usize,
    width: usize,
    height: usize,
}

impl FrameRect {
    fn clipped(frame: &gif::Frame<'_>, canvas_width: usize, canvas_height: usize) -> Self {
        let left = usize::from(frame.left).min(canvas_width);
        let top = usize::from(frame.top).min(canvas_height);
        FrameRect {
            left,
            top,
            width: usize::from(frame.width).min(canvas_width - left),
            height: usize::from(frame.height).min(canvas_height - top),
        }
    }

    /// Paints the frame's non-transparent pixels over the canvas.
    fn draw(&self, frame_rgba: &[u8], frame_width: usize, canvas: &mut [u8], canvas_width: usize) {
        for y in 0..self.height {
            let source_start = y * frame_width * 4;
            let Some(source) = frame_rgba.get(source_start..source_start + self.width * 4) else {
                return;
            };
            let target_start = ((self.top + y) * canvas_width + self.left) * 4;
            let target = &mut canvas[target_start..target_start + self.width * 4];
            for (t, s) in target.chunks_exact_mut(4).zip(source.chunks_exact(4)) {
                if s[3] != 0 {
                    t.copy_from_slice(s);
                }
            }
        }
    }

    /// Disposal to background: browsers (and Pillow since 9) clear to transparent.
    fn clear(&self, canvas: &mut [u8], canvas_width: usize) {
        for y in 0..self.height {
            let start = ((self.top + y) * canvas_width + self.left) * 4;
            canvas[start..start + self.width * 4].fill(0);
        }
    }
}
