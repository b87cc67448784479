//! The memory a render holds at its peak, estimated from headers alone so that admission
//! control (RENDER_MEMORY_MB) can take its share before a pixel is decoded: the decoded
//! frames and a working copy of them, what the decoder holds besides, every output frame (an
//! animation is resized all at once), one frame's encode buffer, and the filter images
//! (watermark, frame). Animations whose frames alone are over the limits are refused here.

use super::decode::{self, Probe};
use super::filters::MAX_CANVAS_PIXELS;
use super::pipeline::{self, RenderJob};
use super::ImagingError;

/// Every frame is counted as RGBA: RGB frames are smaller, never larger.
const BYTES_PER_PIXEL: u64 = 4;

/// Bytes the render of `source` (whose header is `header`) may hold at its peak.
///
/// Refuses (`TooLarge`) an animation whose source frames or output frames together hold more
/// pixels than `decode::animation_pixel_budget` allows, and (`BadRequest`) a filter image that
/// cannot be used, as the render would — only sooner, before any memory is spent on them.
pub fn render_memory_bytes(
    source: &[u8],
    header: &Probe,
    job: &RenderJob<'_>,
) -> Result<u64, ImagingError> {
    let settings = job.settings;
    let frames = if job.decodes_first_frame_only() {
        1
    } else {
        decode::frame_count(source, header)
    };
    let canvas = u64::from(header.width) * u64::from(header.height);
    let budget = decode::animation_pixel_budget(settings.max_pixels);
    if frames > 1 && frames.saturating_mul(canvas) > budget {
        return Err(ImagingError::TooLarge(format!(
            "{frames} frames of {}x{} are over MAX_PIXELS {} together",
            header.width, header.height, settings.max_pixels
        )));
    }
    let output = pipeline::planned_output(header, job);
    // With trim the real output is only known from the trimmed pixels: the pipeline checks it
    // then; here the untrimmed plan only sizes the estimate.
    if job.request.trim.is_none() {
        if output.pixels() > settings.max_pixels {
            return Err(ImagingError::TooLarge(format!(
                "output {}x{} is over MAX_PIXELS {}",
                output.width, output.height, settings.max_pixels
            )));
        }
        pipeline::refuse_oversized_animation(frames, output, settings)?;
    }

    let decoded = frames
        .saturating_mul(canvas)
        .saturating_mul(BYTES_PER_PIXEL);
    let scratch = canvas.saturating_mul(decode::decoder_scratch_bytes_per_pixel(header.format));
    let output_frame = output.pixels().saturating_mul(BYTES_PER_PIXEL);
    let output_frames = frames.saturating_mul(output_frame);
    Ok(decoded
        .saturating_mul(2)
        .saturating_add(scratch)
        .saturating_add(output_frames)
        .saturating_add(output_frame)
        .saturating_add(filter_images_bytes(job)?))
}

/// The watermark and frame images of the request: each decoded (first frame only), plus a
/// resized or RGBA copy of it and its decoder's scratch. They are decoded one filter at a time,
/// so the sum is an upper bound.
fn filter_images_bytes(job: &RenderJob<'_>) -> Result<u64, ImagingError> {
    let mut total = 0u64;
    for (url, bytes) in job.assets {
        let unusable =
            |why: String| ImagingError::BadRequest(format!("image {url:?} cannot be used: {why}"));
        let header = decode::probe(bytes).map_err(|e| unusable(e.to_string()))?;
        let pixels = u64::from(header.width) * u64::from(header.height);
        if pixels > MAX_CANVAS_PIXELS {
            return Err(unusable(format!(
                "{}x{} is over the limit of {MAX_CANVAS_PIXELS} pixels",
                header.width, header.height
            )));
        }
        let per_pixel =
            2 * BYTES_PER_PIXEL + decode::decoder_scratch_bytes_per_pixel(header.format);
        total = total.saturating_add(pixels.saturating_mul(per_pixel));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::settings::ImagingSettings;
    use crate::url::parse_path;
    use std::collections::HashMap;

    /// A `width x height` GIF of `frames` frames.
    fn gif(width: u16, height: u16, frames: usize) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder =
                gif::Encoder::new(&mut out, width, height, &[0, 0, 0, 255, 255, 255]).unwrap();
            encoder.set_repeat(gif::Repeat::Infinite).unwrap();
            for i in 0..frames {
                let frame = gif::Frame {
                    width,
                    height,
                    buffer: std::borrow::Cow::Owned(vec![
                        (i % 2) as u8;
                        usize::from(width) * usize::from(height)
                    ]),
                    ..gif::Frame::default()
                };
                encoder.write_frame(&frame).unwrap();
            }
        }
        out
    }

    fn estimate(
        path: &str,
        source: &[u8],
        assets: &HashMap<String, bytes::Bytes>,
    ) -> Result<u64, ImagingError> {
        let request = parse_path(path).unwrap();
        let settings = ImagingSettings::default();
        let job = RenderJob {
            assets,
            ..RenderJob::new(&request, &settings)
        };
        let header = pipeline::probe_header(source, &settings)?;
        render_memory_bytes(source, &header, &job)
    }

    #[test]
    fn gif_frames_are_counted_from_the_blocks() {
        for frames in [1, 2, 37] {
            let source = gif(3, 2, frames);
            let header = decode::probe(&source).unwrap();
            assert_eq!(decode::frame_count(&source, &header), frames as u64);
            // Truncated: never more than were written.
            let cut = &source[..source.len() / 2];
            assert!(decode::frame_count(cut, &header) <= frames as u64);
        }
    }

    #[test]
    fn animated_output_counts_every_frame() {
        let source = gif(10, 10, 100);
        let none = HashMap::new();
        let small = estimate("/unsafe/100x100/a.gif", &source, &none).unwrap();
        // 100 output frames of 100x100 RGBA, and one more for the encoder.
        assert!(small >= 101 * 100 * 100 * 4, "{small}");
        assert!(small < 2 * 101 * 100 * 100 * 4, "{small}");
        // cover() keeps only the first frame.
        let cover = estimate("/unsafe/100x100/filters:cover()/a.gif", &source, &none).unwrap();
        assert!(cover < small / 40, "{cover} vs {small}");
    }

    #[test]
    fn a_tiny_animation_asked_huge_is_refused_before_decoding() {
        // 100 frames at 4000x4000 are 1.6 G pixels (6.4 GB of RGBA) from 1x1 frames.
        let source = gif(1, 1, 100);
        let refused = estimate("/unsafe/4000x4000/a.gif", &source, &HashMap::new());
        assert!(
            matches!(refused, Err(ImagingError::TooLarge(_))),
            "{refused:?}"
        );
        // The same size of a still image is fine (16 M pixels).
        let still = gif(1, 1, 1);
        let bytes = estimate("/unsafe/4000x4000/a.gif", &still, &HashMap::new()).unwrap();
        assert!(bytes >= 2 * 4000 * 4000 * 4, "{bytes}");
        // fit-in never upscales: the animation stays 1x1.
        assert!(estimate("/unsafe/fit-in/4000x4000/a.gif", &source, &HashMap::new()).is_ok());
    }

    #[test]
    fn filter_images_are_counted_and_checked() {
        let source = gif(10, 10, 1);
        let path = "/unsafe/10x10/filters:watermark(w.gif,0,0,0)/a.gif";
        let without = estimate(path, &source, &HashMap::new()).unwrap();
        let mut assets = HashMap::new();
        assets.insert("w.gif".to_string(), bytes::Bytes::from(gif(1000, 1000, 1)));
        let with = estimate(path, &source, &assets).unwrap();
        assert!(with - without >= 1000 * 1000 * 8, "{with} vs {without}");
        assets.insert(
            "w.gif".to_string(),
            bytes::Bytes::from_static(b"not an image"),
        );
        assert!(matches!(
            estimate(path, &source, &assets),
            Err(ImagingError::BadRequest(_))
        ));
    }
}
