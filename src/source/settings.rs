//! Where originals come from and how much of them is taken: LOADER, FILE_LOADER_ROOT_PATH,
//! MAX_SOURCE_BYTES, SOURCE_CACHE_MB, read from the configuration keys here, and the HTTP and
//! S3 loaders' own settings (read by `http.rs` and by the S3 store, `storage::s3`).

use super::http::HttpLoaderSettings;
use crate::config::reader::{expand_home, invalid, list, ConfigError, Reader};
use crate::storage::s3::S3Settings;
use std::path::PathBuf;

/// Where originals come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoaderKind {
    File,
    Http,
    S3,
    /// Tried in order; the next one is asked only when the previous one did not find the
    /// image (`file,http`, Thumbor's `file_loader_http_fallback`).
    Chain(Vec<LoaderKind>),
}

impl LoaderKind {
    /// LOADER: one name, or a comma-separated fallback chain (`file,http`).
    pub fn from_keys(r: &Reader<'_>) -> Result<LoaderKind, ConfigError> {
        loader(&r.string("LOADER", "file"))
    }
}

/// One LOADER name; `None` when unknown.
fn loader_kind(name: &str) -> Option<LoaderKind> {
    match name {
        "file" | "file_loader" | "thumbor.loaders.file_loader" => Some(LoaderKind::File),
        "http" | "http_loader" | "thumbor.loaders.http_loader" => Some(LoaderKind::Http),
        "s3" | "thumbor_aws.loader" => Some(LoaderKind::S3),
        "file_loader_http_fallback" | "thumbor.loaders.file_loader_http_fallback" => {
            Some(LoaderKind::Chain(vec![LoaderKind::File, LoaderKind::Http]))
        }
        _ => None,
    }
}

fn loader(value: &str) -> Result<LoaderKind, ConfigError> {
    let names = list(value);
    let mut kinds = names
        .iter()
        .map(|name| {
            loader_kind(name).ok_or_else(|| {
                invalid(
                    "LOADER",
                    name,
                    "supported loaders: file, http, s3 (or thumbor.loaders.file_loader, \
                     thumbor.loaders.http_loader, thumbor_aws.loader, \
                     thumbor.loaders.file_loader_http_fallback), or a chain such as file,http",
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    match kinds.len() {
        0 => Err(invalid("LOADER", value, "must name a loader")),
        1 => Ok(kinds.remove(0)),
        _ => Ok(LoaderKind::Chain(kinds)),
    }
}

/// The loaders' settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSettings {
    /// LOADER: `file`, `http`, `s3` (and Thumbor's module names), or a fallback chain
    /// such as `file,http`.
    pub loader: LoaderKind,
    /// FILE_LOADER_ROOT_PATH: the folder the file loader serves (`~` expanded).
    pub file_loader_root_path: PathBuf,
    /// HTTP_LOADER_*, ALLOWED_SOURCES.
    pub http_loader: HttpLoaderSettings,
    /// AWS_LOADER_*.
    pub s3_loader: S3Settings,
    /// MAX_SOURCE_BYTES: originals larger than this are refused while they stream in.
    pub max_source_bytes: u64,
    /// SOURCE_CACHE_MB: originals kept in memory so a burst of sizes loads each once.
    pub source_cache_mb: u64,
    /// STORAGE, FILE_STORAGE_ROOT_PATH, AWS_STORAGE_*, CACHE_CONTROL: the storage of
    /// originals, looked in before the loader.
    pub storage: super::stored::StorageSettings,
}

impl Default for SourceSettings {
    fn default() -> Self {
        SourceSettings {
            loader: LoaderKind::File,
            file_loader_root_path: expand_home("~"),
            http_loader: HttpLoaderSettings::default(),
            s3_loader: super::s3::default_settings(),
            max_source_bytes: 50 * 1024 * 1024,
            source_cache_mb: 64,
            storage: super::stored::StorageSettings::default(),
        }
    }
}

impl SourceSettings {
    /// Reads every key but LOADER, which `config.rs` reads first ([`LoaderKind::from_keys`])
    /// and passes in.
    pub fn from_keys(r: &Reader<'_>, loader: LoaderKind) -> Result<SourceSettings, ConfigError> {
        let d = SourceSettings::default();
        let root = r.string("FILE_LOADER_ROOT_PATH", "~");
        Ok(SourceSettings {
            loader,
            file_loader_root_path: expand_home(&root),
            http_loader: HttpLoaderSettings::from_keys(r)?,
            s3_loader: S3Settings::from_keys(r, "AWS_LOADER", &d.s3_loader)?,
            max_source_bytes: r.number("MAX_SOURCE_BYTES", d.max_source_bytes, 1, u64::MAX)?,
            source_cache_mb: r.number("SOURCE_CACHE_MB", d.source_cache_mb, 0, 1 << 20)?,
            storage: super::stored::StorageSettings::from_keys(r)?,
        })
    }

    /// SOURCE_CACHE_MB in bytes.
    pub fn source_cache_bytes(&self) -> u64 {
        self.source_cache_mb * 1024 * 1024
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::reader::with_pairs;

    fn settings(pairs: &[(&str, &str)]) -> Result<SourceSettings, ConfigError> {
        with_pairs(pairs, |r| {
            let loader = LoaderKind::from_keys(r)?;
            SourceSettings::from_keys(r, loader)
        })
    }

    #[test]
    fn defaults_are_thumbors() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.loader, LoaderKind::File);
        assert_eq!(s.max_source_bytes, 52_428_800);
        assert_eq!(s.source_cache_mb, 64);
        assert_eq!(s.s3_loader.root_path, "/st");
        let s = settings(&[("MAX_SOURCE_BYTES", "1000"), ("SOURCE_CACHE_MB", "0")]).unwrap();
        assert_eq!(s.max_source_bytes, 1000);
        assert_eq!(s.source_cache_bytes(), 0);
    }

    #[test]
    fn loader_names_and_chains() {
        for (text, want) in [
            ("http", LoaderKind::Http),
            ("thumbor.loaders.http_loader", LoaderKind::Http),
            ("s3", LoaderKind::S3),
            ("thumbor_aws.loader", LoaderKind::S3),
            ("thumbor.loaders.file_loader", LoaderKind::File),
            (
                "thumbor.loaders.file_loader_http_fallback",
                LoaderKind::Chain(vec![LoaderKind::File, LoaderKind::Http]),
            ),
            (
                "file, s3,http",
                LoaderKind::Chain(vec![LoaderKind::File, LoaderKind::S3, LoaderKind::Http]),
            ),
        ] {
            assert_eq!(
                settings(&[("LOADER", text)]).unwrap().loader,
                want,
                "{text}"
            );
        }
        let e = settings(&[("LOADER", "file,ftp")]).unwrap_err();
        assert_eq!((e.key.as_str(), e.value.as_str()), ("LOADER", "ftp"));
        assert!(settings(&[("LOADER", " , ")]).is_err());
        assert!(settings(&[("LOADER", "thumbor.loaders.ftp_loader")]).is_err());
    }

    #[test]
    fn home_is_expanded() {
        let s = settings(&[("FILE_LOADER_ROOT_PATH", "/srv/images")]).unwrap();
        assert_eq!(s.file_loader_root_path, PathBuf::from("/srv/images"));
    }
}
