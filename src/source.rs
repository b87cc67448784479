//! Loaders of originals: given Thumbor's quoted `image_url`, return the original's bytes.
//! One enum dispatches to the configured loader (file, HTTP, S3, or a fallback chain of
//! them) so the request path stays static and cheap; `cache` keeps and merges loads;
//! `settings` reads the loaders' keys.

pub mod cache;
pub mod file;
pub mod http;
pub mod s3;
pub mod settings;
pub mod ssrf;
pub mod stored;

pub use cache::SourceCache;

use crate::error::PictorError;
use bytes::Bytes;
use settings::{LoaderKind, SourceSettings};
use std::future::Future;
use std::pin::Pin;

/// The configured loader.
#[derive(Debug, Clone)]
pub enum Loader {
    File(file::FileLoader),
    Http(http::HttpLoader),
    S3(s3::S3Loader),
    /// Each loader in turn until one finds the image (Thumbor's file_loader_http_fallback).
    Chain(Vec<Loader>),
    /// The storage of originals first (uploads land there), then the configured loader, as
    /// Thumbor looks in STORAGE before it loads.
    Stored {
        storage: Box<stored::StoredOriginals>,
        max_bytes: u64,
        then: Box<Loader>,
    },
}

impl Loader {
    /// The configured loader, behind the storage of originals when there is one.
    pub fn from_settings(settings: &SourceSettings) -> Result<Loader, PictorError> {
        let loader = Loader::of_kind(&settings.loader, settings)?;
        Ok(match stored::StoredOriginals::new(&settings.storage)? {
            Some(storage) => Loader::Stored {
                storage: Box::new(storage),
                max_bytes: settings.max_source_bytes,
                then: Box::new(loader),
            },
            None => loader,
        })
    }

    /// The storage of originals, when one is configured.
    pub fn storage(&self) -> Option<&stored::StoredOriginals> {
        match self {
            Loader::Stored { storage, .. } => Some(storage),
            _ => None,
        }
    }

    fn of_kind(kind: &LoaderKind, settings: &SourceSettings) -> Result<Loader, PictorError> {
        Ok(match kind {
            LoaderKind::File => Loader::File(file::FileLoader::new(
                &settings.file_loader_root_path,
                settings.max_source_bytes,
            )?),
            LoaderKind::Http => Loader::Http(http::HttpLoader::new(
                &settings.http_loader,
                settings.max_source_bytes,
            )?),
            LoaderKind::S3 => Loader::S3(s3::S3Loader::new(
                &settings.s3_loader,
                settings.max_source_bytes,
            )),
            LoaderKind::Chain(kinds) => Loader::Chain(
                kinds
                    .iter()
                    .map(|k| Loader::of_kind(k, settings))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// [`Loader::load`], and the name the original is stored under when it came from the
    /// storage of originals (an upload: its metadata sidecar is under that name).
    pub async fn load_original(
        &self,
        image_url: &str,
    ) -> Result<(Bytes, Option<String>), PictorError> {
        match self {
            Loader::Stored {
                storage,
                max_bytes,
                then,
            } => match storage.load(image_url, *max_bytes).await {
                Ok(Some((name, bytes))) => Ok((bytes, Some(name))),
                Ok(None) => Ok((then.load(image_url).await?, None)),
                Err(PictorError::TooLarge(why)) => Err(PictorError::TooLarge(format!(
                    "original over MAX_SOURCE_BYTES: {why}"
                ))),
                Err(e) => Err(e),
            },
            _ => Ok((self.load(image_url).await?, None)),
        }
    }

    /// Loads the original named by `image_url` (Thumbor's quoted form). In a chain, only "not
    /// found" moves on to the next loader; any other failure (refused, timeout, origin down)
    /// is the answer, as in Thumbor's fallback loader.
    pub fn load<'a>(
        &'a self,
        image_url: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Bytes, PictorError>> + Send + 'a>> {
        Box::pin(async move {
            match self {
                Loader::File(loader) => loader.load(image_url).await,
                Loader::Http(loader) => loader.load(image_url).await,
                Loader::S3(loader) => loader.load(image_url).await,
                Loader::Chain(loaders) => {
                    let mut last = PictorError::NotFound(image_url.to_string());
                    for loader in loaders {
                        match loader.load(image_url).await {
                            Err(PictorError::NotFound(why)) => {
                                last = PictorError::NotFound(why);
                            }
                            done => return done,
                        }
                    }
                    Err(last)
                }
                Loader::Stored {
                    storage,
                    max_bytes,
                    then,
                } => match storage.load(image_url, *max_bytes).await {
                    Ok(Some((_, bytes))) => Ok(bytes),
                    Ok(None) => then.load(image_url).await,
                    Err(PictorError::TooLarge(why)) => Err(PictorError::TooLarge(format!(
                        "original over MAX_SOURCE_BYTES: {why}"
                    ))),
                    Err(e) => Err(e),
                },
            }
        })
    }
}
