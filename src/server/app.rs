//! The state every request shares: configuration, the loader and the caches, result storage,
//! the focal-point cache and the render admission. Its own file so that the handlers outside
//! `server` (uploads) name it without depending on the accept loop and routing.

use super::admission;
use crate::cache::{FocalPointCache, ResultCache, ResultStorage};
use crate::config::Config;
use crate::error::PictorError;
use crate::source::{Loader, SourceCache};
use std::sync::Arc;

/// State shared by every request.
pub struct App {
    pub config: Config,
    pub loader: Loader,
    /// Originals in memory (SOURCE_CACHE_MB), loads of one original merged.
    pub sources: SourceCache,
    pub cache: ResultCache,
    /// RESULT_STORAGE: results shared between instances (file or S3).
    pub result_storage: ResultStorage,
    /// What smart detection found per original, so it runs once per original.
    pub focal_points: FocalPointCache,
    /// Bounds CPU work and memory: MAX_CONCURRENT_RENDERS, MAX_QUEUED_RENDERS, RENDER_MEMORY_MB,
    /// BACKGROUND_RENDERS.
    pub admission: admission::Admission,
    /// The idle-priority threads background renders' CPU steps run on.
    pub idle_threads: super::idle_threads::IdleThreads,
    /// Background work (pre-heat): its queue and the status of the jobs taken here.
    pub background: crate::jobs::Background,
    /// HEALTHCHECK_ROUTE, compiled once.
    pub(super) healthcheck: regex::Regex,
}

impl App {
    pub fn new(config: Config) -> Result<Arc<App>, PictorError> {
        let loader = Loader::from_settings(&config.source)?;
        let healthcheck = regex::Regex::new(&format!("^(?:{})$", config.server.healthcheck_route))
            .map_err(|e| {
                PictorError::Internal(format!("HEALTHCHECK_ROUTE is not a valid pattern: {e}"))
            })?;
        Ok(Arc::new(App {
            cache: ResultCache::new(config.cache.memory_cache_bytes()),
            sources: SourceCache::new(
                config.source.source_cache_bytes(),
                config.moderation.enabled(),
            ),
            result_storage: ResultStorage::from_config(&config),
            focal_points: FocalPointCache::new(config.cache.focal_points_cache_entries),
            admission: admission::Admission::new(
                config.admission.max_concurrent_renders,
                config.admission.max_queued_renders,
                config.admission.render_memory_mb * 1024 * 1024,
                config.background.background_renders,
                config.background.when_idle,
            ),
            idle_threads: super::idle_threads::IdleThreads::new(
                config.background.background_renders,
            ),
            background: crate::jobs::Background::new(&config.background),
            loader,
            healthcheck,
            config,
        }))
    }
}
