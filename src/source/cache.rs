//! The source cache: originals kept in memory, weighted by their bytes, so a burst of sizes
//! of one original loads it once; concurrent loads of the same original are merged. With
//! moderation on, an upload's verdict is read from its sidecar in the same load and kept with
//! it, so the sidecar is read once per load of the original, not once per request.

use super::Loader;
use crate::error::PictorError;
use crate::upload::moderation::sidecar::{self, Verdict};
use bytes::Bytes;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// An original as kept in memory.
#[derive(Debug, Clone)]
pub struct Original {
    pub bytes: Bytes,
    /// The name it is stored under, when it came from the storage of originals (an upload).
    pub stored_name: Option<Arc<str>>,
    /// Its moderation verdict (`Verdict::None` unless moderation is on and it is stored).
    pub verdict: Verdict,
}

/// Originals by Thumbor's quoted `image_url`. With a capacity of 0 nothing is kept, but
/// concurrent loads of one original are still merged.
#[derive(Clone)]
pub struct SourceCache {
    inner: moka::future::Cache<String, Original>,
    keep: bool,
    /// Moderation is on: stored originals are loaded with their sidecar's verdict.
    reads_sidecars: bool,
}

impl SourceCache {
    pub fn new(capacity_bytes: u64, reads_sidecars: bool) -> SourceCache {
        let inner = moka::future::Cache::builder()
            .max_capacity(capacity_bytes)
            .weigher(|key: &String, value: &Original| {
                let name = value.stored_name.as_deref().map_or(0, str::len);
                u32::try_from(key.len() + value.bytes.len() + name + 64).unwrap_or(u32::MAX)
            })
            .support_invalidation_closures()
            .build();
        SourceCache {
            inner,
            keep: capacity_bytes > 0,
            reads_sidecars,
        }
    }

    /// Forgets the original kept for `image` (an upload replaced or removed it), also under
    /// its upload locations (`<image>/<filename>`).
    pub fn invalidate_image(&self, image: &str) {
        let (exact, folder) = (image.to_string(), format!("{image}/"));
        // Fails only when closures are not supported, which the builder turns on.
        let _ = self
            .inner
            .invalidate_entries_if(move |key, _| *key == exact || key.starts_with(&folder));
    }

    /// The original for `image_url`, from memory or from `loader` (once for all concurrent
    /// callers). Errors are shared with the merged callers and not kept.
    pub async fn load(&self, loader: &Loader, image_url: &str) -> Result<Original, PictorError> {
        let metrics = &crate::metrics::METRICS;
        let fetched = AtomicBool::new(false);
        let result = self
            .inner
            .try_get_with_by_ref(image_url, async {
                fetched.store(true, Ordering::Relaxed);
                let (bytes, stored_name) = loader.load_original(image_url).await?;
                metrics.origin_fetches.fetch_add(1, Ordering::Relaxed);
                metrics
                    .origin_bytes
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                let verdict = match (&stored_name, loader.storage()) {
                    (Some(name), Some(storage)) if self.reads_sidecars => {
                        sidecar::read_verdict(storage, name).await?
                    }
                    _ => Verdict::None,
                };
                Ok::<_, PictorError>(Original {
                    bytes,
                    stored_name: stored_name.map(Arc::from),
                    verdict,
                })
            })
            .await
            .map_err(|shared| crate::error::clone_error(&shared));
        if fetched.load(Ordering::Relaxed) {
            metrics.source_cache_misses.fetch_add(1, Ordering::Relaxed);
        } else {
            metrics.source_cache_hits.fetch_add(1, Ordering::Relaxed);
        }
        if !self.keep {
            // Merged, not kept: with SOURCE_CACHE_MB=0 the entry only lives while it loads.
            self.inner.invalidate(image_url).await;
        }
        result
    }

    /// Replaces the verdict kept with the original of `image_url` (moderated at first load, or
    /// a held one the classifier has now judged), when it is kept.
    pub async fn set_verdict(&self, image_url: &str, verdict: Verdict) {
        if let Some(mut original) = self.inner.get(image_url).await {
            original.verdict = verdict;
            self.inner.insert(image_url.to_string(), original).await;
        }
    }

    /// Bytes held.
    pub fn weighted_size(&self) -> u64 {
        self.inner.weighted_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::file::FileLoader;

    #[tokio::test]
    async fn loads_once_and_shares_errors_without_keeping_them() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("a.jpg"), b"original").unwrap();
        let loader = Loader::File(FileLoader::new(root.path(), 1 << 20).unwrap());
        let cache = SourceCache::new(1 << 20, false);
        assert_eq!(
            &cache.load(&loader, "a.jpg").await.unwrap().bytes[..],
            b"original"
        );
        // Gone from disk, still served from memory.
        std::fs::remove_file(root.path().join("a.jpg")).unwrap();
        assert_eq!(
            &cache.load(&loader, "a.jpg").await.unwrap().bytes[..],
            b"original"
        );
        assert!(matches!(
            cache.load(&loader, "b.jpg").await,
            Err(PictorError::NotFound(_))
        ));
        std::fs::write(root.path().join("b.jpg"), b"late").unwrap();
        assert_eq!(
            &cache.load(&loader, "b.jpg").await.unwrap().bytes[..],
            b"late"
        );

        let off = SourceCache::new(0, false);
        std::fs::write(root.path().join("c.jpg"), b"one").unwrap();
        assert_eq!(&off.load(&loader, "c.jpg").await.unwrap().bytes[..], b"one");
        std::fs::write(root.path().join("c.jpg"), b"two").unwrap();
        assert_eq!(&off.load(&loader, "c.jpg").await.unwrap().bytes[..], b"two");
    }
}
