//! The output filters — `quality`, `format`, `max_bytes`, `max_age`, `autojpg`, `strip_exif`,
//! `strip_icc`, and imagor's meta placeholders `blurhash` and `thumbhash` — which change no pixels, only how the result is encoded and served. When a
//! filter appears more than once, the last one wins, as each Thumbor filter overwrites the
//! request field.

use super::super::ImageFormat;
use super::params::Params;
use super::{FilterCall, OutputOverrides};

/// The formats `format()` accepts (case-insensitive).
fn format_by_name(name: &str) -> Option<ImageFormat> {
    match name.to_ascii_lowercase().as_str() {
        "png" => Some(ImageFormat::Png),
        "jpeg" | "jpg" => Some(ImageFormat::Jpeg),
        "gif" => Some(ImageFormat::Gif),
        "webp" => Some(ImageFormat::Webp),
        "avif" => Some(ImageFormat::Avif),
        "heic" | "heif" => Some(ImageFormat::Heif),
        _ => None,
    }
}

/// `quality(q)`; encoders take 0..=100 and libjpeg clamps larger values to 100 as well.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Quality(pub(super) i64);

impl FilterCall for Quality {
    fn build(params: &Params<'_>) -> Option<Self> {
        Some(Quality(params.int(0)?))
    }

    fn output(&self, overrides: &mut OutputOverrides) {
        overrides.quality = Some(self.0.clamp(0, 100) as u8);
    }
}

/// `format(name)`: an unknown name resets the format to the default (a later valid one wins).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Format(pub(super) String);

impl FilterCall for Format {
    fn build(params: &Params<'_>) -> Option<Self> {
        Some(Format(params.text(0)?.to_string()))
    }

    fn output(&self, overrides: &mut OutputOverrides) {
        overrides.format = format_by_name(&self.0);
        overrides.format_is_valid = overrides.format.is_some();
    }
}

/// `blurhash(x,y)` (imagor's name): meta JSON gets a BlurHash of x by y components, each
/// 1..=9 (other values drop the filter). Image answers ignore it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct BlurHash(pub(super) u32, pub(super) u32);

impl FilterCall for BlurHash {
    fn build(params: &Params<'_>) -> Option<Self> {
        let component = |index| {
            let value = u32::try_from(params.int(index)?).ok()?;
            crate::imaging::placeholder::BLURHASH_COMPONENTS
                .contains(&value)
                .then_some(value)
        };
        Some(BlurHash(component(0)?, component(1)?))
    }

    fn output(&self, overrides: &mut OutputOverrides) {
        overrides.blurhash = Some((self.0, self.1));
    }
}

/// `thumbhash()` (imagor's name): meta JSON gets a base64 ThumbHash.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ThumbHash;

impl FilterCall for ThumbHash {
    fn build(_: &Params<'_>) -> Option<Self> {
        Some(ThumbHash)
    }

    fn output(&self, overrides: &mut OutputOverrides) {
        overrides.thumbhash = true;
    }
}

/// `max_bytes(n)`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct MaxBytes(pub(super) i64);

impl FilterCall for MaxBytes {
    fn build(params: &Params<'_>) -> Option<Self> {
        Some(MaxBytes(params.int(0)?))
    }

    fn output(&self, overrides: &mut OutputOverrides) {
        overrides.max_bytes = Some(self.0.max(0) as u64);
    }
}

/// `max_age(seconds)`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct MaxAge(pub(super) i64);

impl FilterCall for MaxAge {
    fn build(params: &Params<'_>) -> Option<Self> {
        Some(MaxAge(params.int(0)?))
    }

    fn output(&self, overrides: &mut OutputOverrides) {
        overrides.max_age = Some(self.0.clamp(0, i64::from(u32::MAX)) as u32);
    }
}

/// `autojpg([enabled])`; enabled defaults to true.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct AutoJpg(pub(super) bool);

impl FilterCall for AutoJpg {
    fn build(params: &Params<'_>) -> Option<Self> {
        Some(AutoJpg(params.boolean_or(0, true)?))
    }

    fn output(&self, overrides: &mut OutputOverrides) {
        overrides.autojpg = Some(self.0);
    }
}

/// `strip_exif()`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct StripExif;

impl FilterCall for StripExif {
    fn build(_params: &Params<'_>) -> Option<Self> {
        Some(StripExif)
    }

    fn output(&self, overrides: &mut OutputOverrides) {
        overrides.strip_exif = true;
    }
}

/// `strip_icc()`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct StripIcc;

impl FilterCall for StripIcc {
    fn build(_params: &Params<'_>) -> Option<Self> {
        Some(StripIcc)
    }

    fn output(&self, overrides: &mut OutputOverrides) {
        overrides.strip_icc = true;
    }
}

#[cfg(test)]
mod tests {
    use super::super::FilterList;
    use super::*;

    #[test]
    fn output_filters_fill_the_overrides() {
        let out = FilterList::parse(
            "quality(10):format(WEBP):max_bytes(5000):max_age(30):autojpg(False):strip_exif():strip_icc():blurhash(4,3):thumbhash()",
        )
        .output_overrides();
        assert_eq!(
            out,
            OutputOverrides {
                quality: Some(10),
                format: Some(ImageFormat::Webp),
                format_is_valid: true,
                max_bytes: Some(5000),
                max_age: Some(30),
                autojpg: Some(false),
                strip_icc: true,
                strip_exif: true,
                blurhash: Some((4, 3)),
                thumbhash: true,
            }
        );
        // BlurHash components outside 1..=9 drop the filter.
        for list in [
            "blurhash(0,3)",
            "blurhash(4,10)",
            "blurhash(-1,3)",
            "blurhash(4)",
        ] {
            assert_eq!(
                FilterList::parse(list).output_overrides().blurhash,
                None,
                "{list}"
            );
        }
        assert_eq!(
            FilterList::parse("").output_overrides(),
            OutputOverrides::default()
        );
    }

    // tests/filters/test_format.py, test_autojpg.py, test_max_age.py.
    #[test]
    fn format_autojpg_and_max_age() {
        let invalid = FilterList::parse("format(invalid)").output_overrides();
        assert_eq!((invalid.format, invalid.format_is_valid), (None, false));
        let webp = FilterList::parse("format(webp)").output_overrides();
        assert_eq!(
            (webp.format, webp.format_is_valid),
            (Some(ImageFormat::Webp), true)
        );
        // The last format() wins, even when invalid.
        let reset = FilterList::parse("format(png):format(asdf)").output_overrides();
        assert_eq!(reset.format, None);
        for (name, format) in [
            ("jpg", ImageFormat::Jpeg),
            ("JPEG", ImageFormat::Jpeg),
            ("gif", ImageFormat::Gif),
            ("avif", ImageFormat::Avif),
            ("heic", ImageFormat::Heif),
            ("heif", ImageFormat::Heif),
            ("png", ImageFormat::Png),
        ] {
            let out = FilterList::parse(&format!("format({name})")).output_overrides();
            assert_eq!(out.format, Some(format), "{name}");
        }
        assert_eq!(
            FilterList::parse("autojpg()").output_overrides().autojpg,
            Some(true)
        );
        assert_eq!(
            FilterList::parse("autojpg(False)")
                .output_overrides()
                .autojpg,
            Some(false)
        );
        assert_eq!(
            FilterList::parse("autojpg(TRUE)")
                .output_overrides()
                .autojpg,
            None
        );
        assert_eq!(
            FilterList::parse("max_age(0)").output_overrides().max_age,
            Some(0)
        );
        assert_eq!(
            FilterList::parse("max_age(-1)").output_overrides().max_age,
            None
        );
        assert_eq!(
            FilterList::parse("quality(150)").output_overrides().quality,
            Some(100)
        );
        assert_eq!(
            FilterList::parse("quality(10)").output_overrides().quality,
            Some(10)
        );
    }
}
