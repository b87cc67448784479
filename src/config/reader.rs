//! The key/value source every subsystem's settings are read from: Thumbor-style config file
//! lines (`KEY = value`) under the process environment (which wins), the typed getters over
//! it ([`Reader`]) and the error that names a bad key and value. Subsystems read their own
//! keys through a [`Reader`]; `config.rs` composes the results.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A configuration value that could not be used. The message names the key and the value.
#[derive(Debug, thiserror::Error)]
#[error("config error: {key}={value:?}: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub value: String,
    pub reason: String,
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
/// `KEY = 'text'`, `KEY = "text"`, `KEY = True`, `KEY = 80`, `KEY = None`, `# comments`, and
/// lists or tuples written over several lines (`DETECTORS = [` … `]`), joined into one value.
/// Lines that are not assignments to an upper-case key are ignored.
pub fn parse_config_file(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
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
        let mut value = strip_trailing_comment(value.trim()).to_string();
        // A list or tuple left open continues on the next lines until its brackets close.
        while open_brackets(&value) > 0 {
            let Some(next) = lines.next() else {
                break;
            };
            value.push(' ');
            value.push_str(strip_trailing_comment(next.trim()));
        }
        if value == "None" {
            continue;
        }
        pairs.push((key.to_string(), unquote_python_literal(&value).to_string()));
    }
    pairs
}

/// How many `[` and `(` outside quotes `value` leaves open.
fn open_brackets(value: &str) -> i64 {
    let mut quote: Option<char> = None;
    let mut depth = 0i64;
    for c in value.chars() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '[' | '(') => depth += 1,
            (None, ']' | ')') => depth -= 1,
            _ => {}
        }
    }
    depth
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

/// The error for `key=value`, with why it cannot be used.
pub fn invalid(key: &str, value: &str, reason: &str) -> ConfigError {
    ConfigError {
        key: key.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// Thumbor's boolean spellings (plus the usual yes/no/on/off).
pub fn parse_bool(key: &str, value: &str) -> Result<bool, ConfigError> {
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

/// A comma-separated list (also accepting a Python list literal `['a', 'b']`).
pub fn list(value: &str) -> Vec<String> {
    value
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|item| unquote_python_literal(item.trim()).trim().to_string())
        .filter(|item| !item.is_empty())
        .collect()
}

/// A path with a leading `~` (alone or before `/`) replaced by $HOME.
pub fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            let home = std::env::var("HOME").unwrap_or_else(|_| "/".to_string());
            PathBuf::from(format!("{home}{rest}"))
        }
        _ => PathBuf::from(path),
    }
}

/// Typed getters over a [`ConfigSource`]: each returns the default when the key is unset and
/// an error naming the key and value when the value cannot be used.
pub struct Reader<'a> {
    source: &'a ConfigSource,
}

impl Reader<'_> {
    pub fn new(source: &ConfigSource) -> Reader<'_> {
        Reader { source }
    }

    /// The value as written (trimmed), or `None` when unset.
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.source.get(key)
    }

    pub fn string(&self, key: &str, default: &str) -> String {
        self.source.get(key).unwrap_or(default).to_string()
    }

    pub fn boolean(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        self.source
            .get(key)
            .map_or(Ok(default), |v| parse_bool(key, v))
    }

    pub fn number(&self, key: &str, default: u64, min: u64, max: u64) -> Result<u64, ConfigError> {
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

    pub fn optional_number(
        &self,
        key: &str,
        min: u64,
        max: u64,
    ) -> Result<Option<u64>, ConfigError> {
        match self.source.get(key) {
            None | Some("") => Ok(None),
            Some(_) => self.number(key, 0, min, max).map(Some),
        }
    }

    /// A value that is unset when missing or empty.
    pub fn optional_string(&self, key: &str) -> Option<String> {
        self.source
            .get(key)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    /// Seconds, fractions allowed (Thumbor's timeouts are floats), more than 0.
    pub fn seconds(&self, key: &str, default: Duration) -> Result<Duration, ConfigError> {
        let Some(value) = self.source.get(key) else {
            return Ok(default);
        };
        match value.parse::<f64>() {
            Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
            _ => Err(invalid(key, value, "expected seconds, more than 0")),
        }
    }
}

/// A reader over only `pairs`, for the settings tests of every subsystem.
#[cfg(test)]
pub fn with_pairs<T>(pairs: &[(&str, &str)], read: impl FnOnce(&Reader<'_>) -> T) -> T {
    let source = ConfigSource::from_pairs(pairs.iter().copied());
    read(&Reader::new(&source))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// thumbor.conf writes lists over several lines, with comments and a trailing comma.
    #[test]
    fn lists_over_several_lines_are_one_value() {
        let pairs = parse_config_file(
            "DETECTORS = [\n    'thumbor.detectors.face_detector',  # faces first\n\
             \x20   'thumbor.detectors.feature_detector',\n]\nQUALITY = 85\n",
        );
        assert_eq!(pairs.len(), 2, "{pairs:?}");
        assert_eq!(pairs[0].0, "DETECTORS");
        assert_eq!(
            list(&pairs[0].1),
            [
                "thumbor.detectors.face_detector",
                "thumbor.detectors.feature_detector"
            ]
        );
        assert_eq!(pairs[1], ("QUALITY".to_string(), "85".to_string()));
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
    fn thumbor_boolean_spellings() {
        for (text, want) in [
            ("True", true),
            ("true", true),
            ("1", true),
            ("False", false),
            ("false", false),
            ("0", false),
        ] {
            let got = with_pairs(&[("AUTO_WEBP", text)], |r| r.boolean("AUTO_WEBP", !want));
            assert_eq!(got.unwrap(), want, "{text}");
        }
    }

    #[test]
    fn home_is_expanded() {
        assert!(!expand_home("~/x").starts_with("~"));
        assert_eq!(expand_home("/srv/images"), PathBuf::from("/srv/images"));
    }
}
