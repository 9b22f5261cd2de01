//! What every handler shares.

use crate::config::Config;
use axum::extract::FromRef;
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
}

impl AppState {
    pub fn new(config: Config, leptos_options: LeptosOptions) -> AppState {
        let ytdlp = YtDlp::new(config.ytdlp_program()).with_probe_timeout(config.probe_timeout());
        let info_cache = Cache::builder()
            .max_capacity(512)
            .time_to_live(config.info_cache_ttl())
            .build();
        AppState {
            config: Arc::new(config),
            leptos_options,
            ytdlp: Arc::new(ytdlp),
            info_cache,
        }
    }
}
