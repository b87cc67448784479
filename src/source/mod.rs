//! Loaders of originals: given Thumbor's quoted `image_url`, return the original's bytes.
//! One enum dispatches to the configured loader so the request path stays static and cheap.

pub mod file;

use crate::config::{Config, LoaderKind};
use crate::error::PictorError;
use bytes::Bytes;

/// The configured loader.
#[derive(Debug, Clone)]
pub enum Loader {
    File(file::FileLoader),
}

impl Loader {
    pub fn from_config(config: &Config) -> Result<Loader, PictorError> {
        match config.loader {
            LoaderKind::File => Ok(Loader::File(file::FileLoader::new(
                &config.file_loader_root_path,
            )?)),
        }
    }

    /// Loads the original named by `image_url` (Thumbor's quoted form).
    pub async fn load(&self, image_url: &str) -> Result<Bytes, PictorError> {
        match self {
            Loader::File(loader) => loader.load(image_url).await,
        }
    }
}
