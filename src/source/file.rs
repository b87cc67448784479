//! The file loader: originals under FILE_LOADER_ROOT_PATH, with Thumbor's lookup order
//! (the quoted name first, then the unquoted one), read through a confined folder store
//! (`storage::file`): no way out of the root, and no file read past MAX_SOURCE_BYTES (as the
//! HTTP and S3 loaders).

use crate::error::PictorError;
use crate::storage::file::FileStore;
use bytes::Bytes;
use std::path::Path;

#[derive(Debug, Clone)]
pub struct FileLoader {
    /// Confined to the root: symlinks that leave it are refused.
    store: FileStore,
    /// MAX_SOURCE_BYTES: larger files are refused without being read.
    max_bytes: u64,
}

impl FileLoader {
    pub fn new(root: &Path, max_bytes: u64) -> Result<FileLoader, PictorError> {
        let store = FileStore::confined(root).map_err(|e| {
            PictorError::Internal(format!(
                "FILE_LOADER_ROOT_PATH {} is not usable: {e}",
                root.display()
            ))
        })?;
        Ok(FileLoader { store, max_bytes })
    }

    /// The root, canonicalized.
    pub fn root(&self) -> &Path {
        self.store.root()
    }

    /// Reads the file for `image_url`. Anything missing, outside the root (`..`, absolute
    /// paths, symlinks that leave it) or not a regular file is `NotFound`: never a read. A
    /// file over MAX_SOURCE_BYTES is `TooLarge` (400) from its size alone, and the read stops
    /// there too, so a file that grows while it is read cannot take more.
    ///
    /// Thumbor tries the name as quoted first (files whose names contain a literal `%20`
    /// exist), then the percent-decoded name; a name that leaves the root ends the lookup.
    pub async fn load(&self, image_url: &str) -> Result<Bytes, PictorError> {
        let candidates = [
            image_url.as_bytes().to_vec(),
            percent_encoding::percent_decode_str(image_url).collect::<Vec<u8>>(),
        ];
        for name in candidates {
            match self.store.get(&name, self.max_bytes).await {
                Ok(Some(object)) => return Ok(object.body),
                Ok(None) => continue,
                Err(PictorError::TooLarge(why)) => {
                    return Err(PictorError::TooLarge(format!(
                        "original over MAX_SOURCE_BYTES: {why}"
                    )))
                }
                // A refused name, and any failure to read a file, is "not found", as in
                // Thumbor.
                Err(e) => return Err(PictorError::NotFound(format!("{image_url}: {e}"))),
            }
        }
        Err(PictorError::NotFound(image_url.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_inside_and_refuses_outside() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), b"secret").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("a b.jpg"), b"spaced").unwrap();
        std::fs::write(root.path().join("lit%20eral.jpg"), b"literal").unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret.txt"),
            root.path().join("link.jpg"),
        )
        .unwrap();
        std::fs::create_dir(root.path().join("dir.jpg")).unwrap();
        let loader = FileLoader::new(root.path(), 1 << 20).unwrap();

        assert_eq!(&loader.load("a%20b.jpg").await.unwrap()[..], b"spaced");
        // The literal name wins over the decoded one.
        assert_eq!(
            &loader.load("lit%20eral.jpg").await.unwrap()[..],
            b"literal"
        );
        for bad in [
            "../secret.txt",
            "link.jpg",
            "dir.jpg",
            "missing.jpg",
            "%2e%2e/secret.txt",
        ] {
            assert!(
                matches!(loader.load(bad).await, Err(PictorError::NotFound(_))),
                "{bad}"
            );
        }
        let absolute = format!("{}/secret.txt", outside.path().display());
        assert!(matches!(
            loader.load(&absolute).await,
            Err(PictorError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn files_over_max_source_bytes_are_refused() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("small.jpg"), vec![1u8; 100]).unwrap();
        std::fs::write(root.path().join("exact.jpg"), vec![2u8; 1000]).unwrap();
        std::fs::write(root.path().join("big.jpg"), vec![3u8; 1001]).unwrap();
        let loader = FileLoader::new(root.path(), 1000).unwrap();
        assert_eq!(loader.load("small.jpg").await.unwrap().len(), 100);
        assert_eq!(loader.load("exact.jpg").await.unwrap().len(), 1000);
        assert!(matches!(
            loader.load("big.jpg").await,
            Err(PictorError::TooLarge(_))
        ));
    }
}
