//! Typed configuration: Thumbor's key names and defaults, read from a Thumbor-style config file
//! (`KEY = value` lines) and environment variables (which win), validated once at start-up.

use crate::imaging::pipeline::ImagingSettings;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A configuration value that could not be used. The message names the key and the value.
#[derive(Debug, thiserror::Error)]
#[error("config error: {key}={value:?}: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub value: String,
    pub reason: String,
}

/// Where originals come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoaderKind {
    File,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// SECURITY_KEY: the HMAC key of URL signatures.
    pub security_key: String,
    /// ALLOW_UNSAFE_URL: accept `/unsafe/...` paths.
    pub allow_unsafe_url: bool,
    /// LOADER: `file` (also `thumbor.loaders.file_loader`).
    pub loader: LoaderKind,
    /// FILE_LOADER_ROOT_PATH: the folder the file loader serves (`~` expanded).
    pub file_loader_root_path: PathBuf,
    /// MAX_AGE: `Cache-Control: max-age` of results; 0 sends no caching headers.
    pub max_age: u32,
    /// MAX_AGE_TEMP_IMAGE: max-age of temporary results (failed smart detection).
    pub max_age_temp_image: u32,
    /// ENABLE_ETAGS: send an ETag and honour If-None-Match.
    pub enable_etags: bool,
    /// HEALTHCHECK_ROUTE: Thumbor's route pattern (default `/healthcheck/?`).
    pub healthcheck_route: String,
    /// MEMORY_CACHE_MB: size of the in-memory result cache; 0 turns it off.
    pub memory_cache_mb: u64,
    /// MAX_CONCURRENT_RENDERS: renders running at once (default: number of cores).
    pub max_concurrent_renders: usize,
    /// Everything that shapes the image itself.
    pub imaging: ImagingSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            security_key: "MY_SECURE_KEY".to_string(),
            allow_unsafe_url: true,
            loader: LoaderKind::File,
            file_loader_root_path: expand_home("~"),
            max_age: 86_400,
            max_age_temp_image: 0,
            enable_etags: true,
            healthcheck_route: "/healthcheck/?".to_string(),
            memory_cache_mb: 256,
            max_concurrent_renders: default_concurrency(),
            imaging: ImagingSettings::default(),
        }
    }
}

fn default_concurrency() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            let home = std::env::var("HOME").unwrap_or_else(|_| "/".to_string());
            PathBuf::from(format!("{home}{rest}"))
        }
        _ => PathBuf::from(path),
    }
}

/// Raw `KEY -> value` pairs from the file and the environment; the environment wins.
#[derive(Debug, Default, Clone)]
pub struct ConfigSource {
    values: HashMap<String, String>,
}

impl ConfigSource {
    /// The process environment over an optional Thumbor-style config file.
    pub fn from_env_and_file(file: Option<&Path>) -> Result<ConfigSource, ConfigError> {
        let mut source = ConfigSource::default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
                key: "--config".into(),
                value: path.display().to_string(),
                reason: e.to_string(),
            })?;
            source.values.extend(parse_config_file(&text));
        }
        source.values.extend(std::env::vars());
        Ok(source)
    }

    /// Only the given pairs (tests, embedding).
    pub fn from_pairs<I, K, V>(pairs: I) -> ConfigSource
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        ConfigSource {
            values: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|v| v.trim())
    }
}

/// Reads the simple subset of Thumbor's Python config files that real deployments use:
/// `KEY = 'text'`, `KEY = "text"`, `KEY = True`, `KEY = 80`, `KEY = None`, `# comments`.
/// Lines that are not assignments to an upper-case key are ignored.
pub fn parse_config_file(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            continue;
        }
        let value = strip_trailing_comment(value.trim());
        if value == "None" {
            continue;
        }
        pairs.push((key.to_string(), unquote_python_literal(value).to_string()));
    }
    pairs
}

fn strip_trailing_comment(value: &str) -> &str {
    let mut quote: Option<char> = None;
    for (i, c) in value.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') => return value[..i].trim_end(),
            _ => {}
        }
    }
    value
}

fn unquote_python_literal(value: &str) -> &str {
    for q in ['\'', '"'] {
        if let Some(inner) = value.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner;
        }
    }
    value
}

fn invalid(key: &str, value: &str, reason: &str) -> ConfigError {
    ConfigError {
        key: key.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// Thumbor's boolean spellings (plus the usual yes/no/on/off).
fn parse_bool(key: &str, value: &str) -> Result<bool, ConfigError> {
    match value {
        "True" | "true" | "TRUE" | "1" | "yes" | "on" => Ok(true),
        "False" | "false" | "FALSE" | "0" | "no" | "off" => Ok(false),
        _ => Err(invalid(key, value, "expected True or False")),
    }
}

/// An integer, also accepting Python float spellings of whole numbers (`75e6`, `1.0e3`).
fn parse_whole_number(key: &str, value: &str) -> Result<u64, ConfigError> {
    let cleaned = value.replace('_', "");
    if let Ok(n) = cleaned.parse::<u64>() {
        return Ok(n);
    }
    match cleaned.parse::<f64>() {
        Ok(f) if f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64 => Ok(f as u64),
        _ => Err(invalid(key, value, "expected a whole number ≥ 0")),
    }
}

struct Reader<'a> {
    source: &'a ConfigSource,
}

impl Reader<'_> {
    fn string(&self, key: &str, default: &str) -> String {
        self.source.get(key).unwrap_or(default).to_string()
    }

    fn boolean(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        self.source
            .get(key)
            .map_or(Ok(default), |v| parse_bool(key, v))
    }

    fn number(&self, key: &str, default: u64, min: u64, max: u64) -> Result<u64, ConfigError> {
        let Some(value) = self.source.get(key) else {
            return Ok(default);
        };
        let n = parse_whole_number(key, value)?;
        if n < min || n > max {
            return Err(invalid(
                key,
                value,
                &format!("expected a number from {min} to {max}"),
            ));
        }
        Ok(n)
    }

    fn optional_number(&self, key: &str, min: u64, max: u64) -> Result<Option<u64>, ConfigError> {
        match self.source.get(key) {
            None | Some("") => Ok(None),
            Some(_) => self.number(key, 0, min, max).map(Some),
        }
    }
}

impl Config {
    /// Reads and validates every key; the first bad value is the error.
    pub fn from_source(source: &ConfigSource) -> Result<Config, ConfigError> {
        let r = Reader { source };
        let d = Config::default();
        let di = &d.imaging;

        let loader = match r.string("LOADER", "file").as_str() {
            "file" | "file_loader" | "thumbor.loaders.file_loader" => LoaderKind::File,
            other => {
                return Err(invalid(
                    "LOADER",
                    other,
                    "supported loaders: file (thumbor.loaders.file_loader)",
                ))
            }
        };
        let root = r.string("FILE_LOADER_ROOT_PATH", "~");
        let healthcheck_route = r.string("HEALTHCHECK_ROUTE", &d.healthcheck_route);
        if !healthcheck_route.starts_with('/') {
            return Err(invalid(
                "HEALTHCHECK_ROUTE",
                &healthcheck_route,
                "must start with /",
            ));
        }
        let security_key = r.string("SECURITY_KEY", &d.security_key);
        if security_key.is_empty() {
            return Err(invalid("SECURITY_KEY", "", "must not be empty"));
        }

        Ok(Config {
            security_key,
            allow_unsafe_url: r.boolean("ALLOW_UNSAFE_URL", d.allow_unsafe_url)?,
            loader,
            file_loader_root_path: expand_home(&root),
            max_age: r.number("MAX_AGE", d.max_age.into(), 0, u32::MAX.into())? as u32,
            max_age_temp_image: r.number(
                "MAX_AGE_TEMP_IMAGE",
                d.max_age_temp_image.into(),
                0,
                u32::MAX.into(),
            )? as u32,
            enable_etags: r.boolean("ENABLE_ETAGS", d.enable_etags)?,
            healthcheck_route,
            memory_cache_mb: r.number("MEMORY_CACHE_MB", d.memory_cache_mb, 0, 1 << 20)?,
            max_concurrent_renders: r.number(
                "MAX_CONCURRENT_RENDERS",
                d.max_concurrent_renders as u64,
                1,
                4096,
            )? as usize,
            imaging: ImagingSettings {
                quality: r.number("QUALITY", di.quality.into(), 1, 100)? as u8,
                webp_quality: r
                    .optional_number("WEBP_QUALITY", 1, 100)?
                    .map(|q| q as u8),
                progressive_jpeg: r.boolean("PROGRESSIVE_JPEG", di.progressive_jpeg)?,
                png_compression_level: r.number(
                    "PNG_COMPRESSION_LEVEL",
                    di.png_compression_level.into(),
                    0,
                    9,
                )? as u8,
                webp_method: r.number("WEBP_METHOD", di.webp_method.into(), 0, 6)? as u8,
                auto_webp: r.boolean("AUTO_WEBP", di.auto_webp)?,
                auto_png_to_jpg: r.boolean("AUTO_PNG_TO_JPG", di.auto_png_to_jpg)?,
                respect_orientation: r.boolean("RESPECT_ORIENTATION", di.respect_orientation)?,
                max_width: r.number("MAX_WIDTH", di.max_width.into(), 0, u32::MAX.into())? as u32,
                max_height: r.number("MAX_HEIGHT", di.max_height.into(), 0, u32::MAX.into())?
                    as u32,
                max_pixels: r.number("MAX_PIXELS", di.max_pixels, 1, u64::MAX)?,
                allow_animated_gifs: r.boolean("ALLOW_ANIMATED_GIFS", di.allow_animated_gifs)?,
            },
        })
    }

    /// MEMORY_CACHE_MB in bytes.
    pub fn memory_cache_bytes(&self) -> u64 {
        self.memory_cache_mb * 1024 * 1024
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_source(&ConfigSource::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn defaults_are_thumbors() {
        let c = config(&[]).unwrap();
        assert_eq!(c.security_key, "MY_SECURE_KEY");
        assert!(c.allow_unsafe_url);
        assert_eq!(c.max_age, 86_400);
        assert_eq!(c.max_age_temp_image, 0);
        assert!(c.enable_etags);
        assert_eq!(c.healthcheck_route, "/healthcheck/?");
        assert_eq!(c.memory_cache_mb, 256);
        assert_eq!(c.imaging.quality, 80);
        assert_eq!(c.imaging.webp_quality, None);
        assert!(c.imaging.progressive_jpeg);
        assert_eq!(c.imaging.png_compression_level, 6);
        assert!(!c.imaging.auto_webp);
        assert!(!c.imaging.respect_orientation);
        assert_eq!(c.imaging.max_pixels, 75_000_000);
        assert_eq!((c.imaging.max_width, c.imaging.max_height), (0, 0));
        assert!(c.max_concurrent_renders >= 1);
    }

    #[test]
    fn thumbor_boolean_spellings() {
        for (text, want) in [
            ("True", true),
            ("true", true),
            ("1", true),
            ("False", false),
            ("false", false),
            ("0", false),
        ] {
            let c = config(&[("AUTO_WEBP", text)]).unwrap();
            assert_eq!(c.imaging.auto_webp, want, "{text}");
        }
    }

    #[test]
    fn bad_values_name_the_key_and_value() {
        let e = config(&[("QUALITY", "abc")]).unwrap_err();
        assert_eq!(e.key, "QUALITY");
        assert!(e.to_string().contains("QUALITY=\"abc\""), "{e}");
        assert!(config(&[("QUALITY", "101")]).is_err());
        assert!(config(&[("ALLOW_UNSAFE_URL", "maybe")]).is_err());
        assert!(config(&[("LOADER", "thumbor.loaders.ftp_loader")]).is_err());
        assert!(config(&[("PNG_COMPRESSION_LEVEL", "10")]).is_err());
    }

    #[test]
    fn python_number_spellings() {
        let c = config(&[("MAX_PIXELS", "75e6"), ("MAX_AGE", "3600")]).unwrap();
        assert_eq!(c.imaging.max_pixels, 75_000_000);
        assert_eq!(c.max_age, 3600);
    }

    #[test]
    fn thumbor_config_file_subset() {
        let pairs = parse_config_file(
            "# thumbor.conf\nSECURITY_KEY = 'abc#def'  # the key\nALLOW_UNSAFE_URL = False\n\
             QUALITY=90\nWEBP_QUALITY = None\nlowercase = 1\nimport os\n",
        );
        assert_eq!(
            pairs,
            vec![
                ("SECURITY_KEY".to_string(), "abc#def".to_string()),
                ("ALLOW_UNSAFE_URL".to_string(), "False".to_string()),
                ("QUALITY".to_string(), "90".to_string()),
            ]
        );
    }

    #[test]
    fn home_is_expanded() {
        let c = config(&[("FILE_LOADER_ROOT_PATH", "/srv/images")]).unwrap();
        assert_eq!(c.file_loader_root_path, PathBuf::from("/srv/images"));
        assert!(!expand_home("~/x").starts_with("~"));
    }
}
