//! The in-memory result cache: rendered responses keyed by request path and negotiated format,
//! weighted by their bytes, with concurrent identical requests merged into one render.
//! `result_storage` keeps results outside the process (in a `storage` folder or S3 bucket);
//! `focal_points` keeps what smart detection found per original; `settings` reads the caching
//! keys.

pub mod focal_points;
pub mod result_storage;
pub mod settings;

pub use focal_points::FocalPointCache;
pub use result_storage::ResultStorage;

use crate::error::{clone_error, PictorError};
use bytes::Bytes;
use std::future::Future;
use std::sync::Arc;

/// A rendered response body with everything needed to answer it again without image work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub body: Bytes,
    pub content_type: &'static str,
    pub vary_accept: bool,
    /// `max_age()` filter override of MAX_AGE.
    pub max_age: Option<u32>,
    /// Strong ETag value, quoted (`"<sha1 hex>"`), computed once.
    pub etag: String,
}

/// Result cache. With a capacity of 0 it is a pass-through (no caching, no merging).
#[derive(Clone)]
pub struct ResultCache {
    inner: Option<moka::future::Cache<String, Arc<Rendered>>>,
}

impl ResultCache {
    pub fn new(capacity_bytes: u64) -> ResultCache {
        let inner = (capacity_bytes > 0).then(|| {
            moka::future::Cache::builder()
                .max_capacity(capacity_bytes)
                .weigher(|key: &String, value: &Arc<Rendered>| {
                    let bytes = key.len() + value.body.len() + value.etag.len() + 64;
                    u32::try_from(bytes).unwrap_or(u32::MAX)
                })
                .support_invalidation_closures()
                .build()
        });
        ResultCache { inner }
    }

    /// A cached response, if any.
    pub async fn get(&self, key: &str) -> Option<Arc<Rendered>> {
        match &self.inner {
            Some(cache) => cache.get(key).await,
            None => None,
        }
    }

    /// Returns the cached value or runs `render` once for all concurrent callers of `key`,
    /// caching a success. Errors are shared with the waiting callers but not cached.
    pub async fn get_or_render<F>(
        &self,
        key: String,
        render: F,
    ) -> Result<Arc<Rendered>, PictorError>
    where
        F: Future<Output = Result<Rendered, PictorError>>,
    {
        match &self.inner {
            Some(cache) => cache
                .try_get_with(key, async { render.await.map(Arc::new) })
                .await
                .map_err(|shared: Arc<PictorError>| clone_error(&shared)),
            None => render.await.map(Arc::new),
        }
    }

    /// Drops the cached result under `key`.
    pub async fn invalidate(&self, key: &str) {
        if let Some(cache) = &self.inner {
            cache.invalidate(key).await;
        }
    }

    /// Drops every cached result whose path names `image` (an upload replaced or removed
    /// it): the key is the path, so any key containing the name.
    pub fn invalidate_image(&self, image: &str) {
        if let Some(cache) = &self.inner {
            let image = image.to_string();
            // Fails only when closures are not supported, which the builder turns on.
            let _ = cache.invalidate_entries_if(move |key, _| key.contains(image.as_str()));
        }
    }

    /// Bytes held (the weigher's total).
    pub fn weighted_size(&self) -> u64 {
        self.inner.as_ref().map_or(0, |c| c.weighted_size())
    }

    pub fn entry_count(&self) -> u64 {
        self.inner.as_ref().map_or(0, |c| c.entry_count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn rendered(body: &'static [u8]) -> Rendered {
        Rendered {
            body: Bytes::from_static(body),
            content_type: "image/jpeg",
            vary_accept: false,
            max_age: None,
            etag: "\"x\"".into(),
        }
    }

    #[tokio::test]
    async fn caches_and_merges() {
        let cache = ResultCache::new(1 << 20);
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let cache = cache.clone();
            let calls = calls.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_render("k".into(), async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        Ok(rendered(b"abc"))
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(&t.await.unwrap().unwrap().body[..], b"abc");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(cache.get("k").await.is_some());
    }

    #[tokio::test]
    async fn errors_are_not_cached_and_zero_capacity_passes_through() {
        let cache = ResultCache::new(1 << 20);
        let r = cache
            .get_or_render("k".into(), async { Err(PictorError::NotFound("x".into())) })
            .await;
        assert!(matches!(r, Err(PictorError::NotFound(_))));
        assert!(cache.get("k").await.is_none());

        let off = ResultCache::new(0);
        off.get_or_render("k".into(), async { Ok(rendered(b"a")) })
            .await
            .unwrap();
        assert!(off.get("k").await.is_none());
    }
}
