//! The settings that shape renders (quality, formats, limits, the resampling filter) and the
//! code that reads them from the configuration keys; the pipeline takes them as they are.

use super::detect::Detector;
use super::transform::ResamplingFilter;
use crate::config::reader::{self, invalid, ConfigError, Reader};

/// Configuration that shapes renders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagingSettings {
    /// QUALITY (default 80).
    pub quality: u8,
    /// WEBP_QUALITY (None: QUALITY).
    pub webp_quality: Option<u8>,
    /// PROGRESSIVE_JPEG (default true).
    pub progressive_jpeg: bool,
    /// PNG_COMPRESSION_LEVEL (default 6).
    pub png_compression_level: u8,
    /// WEBP_METHOD (libwebp 0..=6, default 2: 40 % less CPU than 4 for 4 % more bytes).
    pub webp_method: u8,
    /// AUTO_WEBP (default false).
    pub auto_webp: bool,
    /// AUTO_AVIF (default false): AVIF for clients whose Accept has `image/avif`.
    pub auto_avif: bool,
    /// AVIF_QUALITY (None: QUALITY).
    pub avif_quality: Option<u8>,
    /// AVIF_SPEED (ravif 1..=10, default 10, the fastest).
    pub avif_speed: u8,
    /// AUTO_PNG_TO_JPG (default false).
    pub auto_png_to_jpg: bool,
    /// RESPECT_ORIENTATION (default false).
    pub respect_orientation: bool,
    /// MAX_WIDTH / MAX_HEIGHT (0 = off).
    pub max_width: u32,
    pub max_height: u32,
    /// MAX_PIXELS (default 75,000,000): originals and outputs over it are refused.
    pub max_pixels: u64,
    /// MAX_JPEG_SCANS (default 100): scans libjpeg may read from one JPEG; 0 turns it off.
    pub max_jpeg_scans: u32,
    /// ALLOW_ANIMATED_GIFS (default true).
    pub allow_animated_gifs: bool,
    /// RESAMPLING_FILTER / PILLOW_RESAMPLING_FILTER (default Lanczos3) for the main resize.
    pub resampling_filter: ResamplingFilter,
    /// DETECTORS (default none: `smart` crops around the alignment point, as Thumbor's default).
    pub detectors: Vec<Detector>,
}

impl Default for ImagingSettings {
    fn default() -> Self {
        ImagingSettings {
            quality: 80,
            webp_quality: None,
            progressive_jpeg: true,
            png_compression_level: 6,
            webp_method: 2,
            auto_webp: false,
            auto_avif: false,
            avif_quality: None,
            avif_speed: 10,
            auto_png_to_jpg: false,
            respect_orientation: false,
            max_width: 0,
            max_height: 0,
            max_pixels: 75_000_000,
            max_jpeg_scans: super::decode::DEFAULT_MAX_JPEG_SCANS,
            allow_animated_gifs: true,
            resampling_filter: ResamplingFilter::default(),
            detectors: Vec::new(),
        }
    }
}

impl ImagingSettings {
    pub fn from_keys(r: &Reader<'_>) -> Result<ImagingSettings, ConfigError> {
        let di = ImagingSettings::default();
        Ok(ImagingSettings {
            quality: r.number("QUALITY", di.quality.into(), 1, 100)? as u8,
            webp_quality: r.optional_number("WEBP_QUALITY", 1, 100)?.map(|q| q as u8),
            progressive_jpeg: r.boolean("PROGRESSIVE_JPEG", di.progressive_jpeg)?,
            png_compression_level: r.number(
                "PNG_COMPRESSION_LEVEL",
                di.png_compression_level.into(),
                0,
                9,
            )? as u8,
            webp_method: r.number("WEBP_METHOD", di.webp_method.into(), 0, 6)? as u8,
            auto_webp: r.boolean("AUTO_WEBP", di.auto_webp)?,
            auto_avif: r.boolean("AUTO_AVIF", di.auto_avif)?,
            avif_quality: r.optional_number("AVIF_QUALITY", 1, 100)?.map(|q| q as u8),
            avif_speed: r.number("AVIF_SPEED", di.avif_speed.into(), 1, 10)? as u8,
            auto_png_to_jpg: r.boolean("AUTO_PNG_TO_JPG", di.auto_png_to_jpg)?,
            respect_orientation: r.boolean("RESPECT_ORIENTATION", di.respect_orientation)?,
            max_width: r.number("MAX_WIDTH", di.max_width.into(), 0, u32::MAX.into())? as u32,
            max_height: r.number("MAX_HEIGHT", di.max_height.into(), 0, u32::MAX.into())? as u32,
            max_pixels: r.number("MAX_PIXELS", di.max_pixels, 1, u64::MAX)?,
            max_jpeg_scans: r.number(
                "MAX_JPEG_SCANS",
                di.max_jpeg_scans.into(),
                0,
                u32::MAX.into(),
            )? as u32,
            allow_animated_gifs: r.boolean("ALLOW_ANIMATED_GIFS", di.allow_animated_gifs)?,
            resampling_filter: resampling_filter(r)?,
            detectors: detectors(r)?,
        })
    }
}

/// DETECTORS: Thumbor's list of detector modules (a Python list in thumbor.conf, or a
/// comma-separated value), in the order they are tried. A name pictor does not know is a
/// configuration error, as a module Thumbor cannot import is.
fn detectors(r: &Reader<'_>) -> Result<Vec<Detector>, ConfigError> {
    let Some(value) = r.optional_string("DETECTORS") else {
        return Ok(Vec::new());
    };
    reader::list(&value)
        .iter()
        .map(|name| {
            Detector::from_name(name).ok_or_else(|| {
                invalid(
                    "DETECTORS",
                    &value,
                    &format!(
                        "{name} is not a detector (thumbor.detectors.face_detector, \
                         profile_detector, glasses_detector, feature_detector, \
                         pictor.detectors.attention_detector, or face, profile, glasses, \
                         feature, attention)"
                    ),
                )
            })
        })
        .collect()
}

/// RESAMPLING_FILTER, or Thumbor's PILLOW_RESAMPLING_FILTER when only that is set.
fn resampling_filter(r: &Reader<'_>) -> Result<ResamplingFilter, ConfigError> {
    let setting = ["RESAMPLING_FILTER", "PILLOW_RESAMPLING_FILTER"]
        .into_iter()
        .find_map(|key| r.optional_string(key).map(|value| (key, value)));
    let Some((key, value)) = setting else {
        return Ok(ResamplingFilter::default());
    };
    ResamplingFilter::from_name(&value).ok_or_else(|| {
        invalid(
            key,
            &value,
            "expected lanczos3 (LANCZOS), bicubic, mitchell, bilinear, hamming, box, gaussian \
             or nearest",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::reader::with_pairs;

    fn settings(pairs: &[(&str, &str)]) -> Result<ImagingSettings, ConfigError> {
        with_pairs(pairs, ImagingSettings::from_keys)
    }

    #[test]
    fn defaults_are_thumbors() {
        let c = settings(&[]).unwrap();
        assert_eq!(c.quality, 80);
        assert_eq!(c.webp_quality, None);
        assert!(c.progressive_jpeg);
        assert_eq!(c.png_compression_level, 6);
        assert!(!c.auto_webp);
        assert!(!c.respect_orientation);
        assert_eq!(c.max_pixels, 75_000_000);
        assert_eq!((c.max_width, c.max_height), (0, 0));
    }

    #[test]
    fn bad_values_name_the_key_and_value() {
        let e = settings(&[("QUALITY", "abc")]).unwrap_err();
        assert_eq!(e.key, "QUALITY");
        assert!(e.to_string().contains("QUALITY=\"abc\""), "{e}");
        assert!(settings(&[("QUALITY", "101")]).is_err());
        assert!(settings(&[("PNG_COMPRESSION_LEVEL", "10")]).is_err());
    }

    #[test]
    fn resampling_filter_from_either_name() {
        assert_eq!(
            settings(&[]).unwrap().resampling_filter,
            ResamplingFilter::Lanczos3
        );
        let thumbor = settings(&[("PILLOW_RESAMPLING_FILTER", "BICUBIC")]).unwrap();
        assert_eq!(thumbor.resampling_filter, ResamplingFilter::Bicubic);
        let both = settings(&[
            ("PILLOW_RESAMPLING_FILTER", "BICUBIC"),
            ("RESAMPLING_FILTER", "nearest"),
        ])
        .unwrap();
        assert_eq!(both.resampling_filter, ResamplingFilter::Nearest);
        let e = settings(&[("RESAMPLING_FILTER", "sinc")]).unwrap_err();
        assert_eq!(e.key, "RESAMPLING_FILTER");
    }

    #[test]
    fn detectors_as_thumbor_lists_them() {
        assert!(settings(&[]).unwrap().detectors.is_empty());
        let listed = settings(&[(
            "DETECTORS",
            "['thumbor.detectors.face_detector', 'thumbor.detectors.feature_detector']",
        )])
        .unwrap();
        assert_eq!(listed.detectors, [Detector::Face, Detector::Feature]);
        let short = settings(&[("DETECTORS", "feature,profile")]).unwrap();
        assert_eq!(short.detectors, [Detector::Feature, Detector::Profile]);
        assert!(settings(&[("DETECTORS", "[]")])
            .unwrap()
            .detectors
            .is_empty());
        let e = settings(&[("DETECTORS", "feature,smile")]).unwrap_err();
        assert_eq!(e.key, "DETECTORS");
    }

    #[test]
    fn python_number_spellings() {
        assert_eq!(
            settings(&[("MAX_PIXELS", "75e6")]).unwrap().max_pixels,
            75_000_000
        );
    }
}
