//! What every handler shares.

use crate::config::Config;
use axum::extract::FromRef;
use engine::jobs::{JobManager, JobSettings};
use engine::{Probe, YtDlp};
use leptos::config::LeptosOptions;
use moka::future::Cache;
use std::sync::Arc;

/// Shared state, cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
    pub ytdlp: Arc<YtDlp>,
    /// Recent lookups by URL. Only successes are kept; concurrent lookups of
    /// one URL share a single yt-dlp run.
    pub info_cache: Cache<String, Arc<Probe>>,
    /// Downloads: queue, progress, files.
    pub jobs: JobManager,
}

impl AppState {
    pub fn new(config: Config, leptos_options: LeptosOptions) -> AppState {
        let ytdlp = Arc::new(YtDlp::new(config.ytdlp_program()).with_probe_timeout(config.probe_timeout()));
        let jobs = JobManager::new(
            ytdlp.clone(),
            JobSettings {
                download_dir: config.download_dir.clone(),
                max_concurrent: config.max_concurrent_downloads.max(1),
                ffmpeg: config.ffmpeg_program(),
                file_ttl: config.file_ttl(),
            },
        );
        let info_cache = Cache::builder()
            .max_capacity(512)
            .time_to_live(config.info_cache_ttl())
            .build();
        AppState {
            config: Arc::new(config),
            leptos_options,
            ytdlp,
            info_cache,
            jobs,
        }
    }
}
