//! Running the tools (cached by the caller) and looking at the settings
//! (every request).

use crate::state::AppState;
use contract::api::{ClusterHealth, PotServiceHealth};
use engine::diagnostics::{self, VerboseReport};
use std::time::SystemTime;

/// What running the tools found.
#[derive(Debug, Clone)]
pub struct Tools {
    /// `yt-dlp -v`'s self-description; `None` when it could not be run.
    pub ytdlp: Option<VerboseReport>,
    /// ffmpeg's version; `None` when it could not be run.
    pub ffmpeg: Option<String>,
    /// The PO-token minter's ping: `None` when none is configured,
    /// `Some(None)` when it did not answer, `Some(Some(v))` with its version.
    pub provider_ping: Option<Option<String>>,
    /// When this was found.
    pub checked_at: SystemTime,
}

/// What is looked at on every request.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub pot_provider_configured: bool,
    pub cookies_configured: bool,
    /// The cookies file is set but no longer a readable Netscape file.
    pub cookies_broken: bool,
    pub free_bytes: Option<u64>,
    /// The PO-token service's counts.
    pub pot_service: PotServiceHealth,
    /// The cluster, with `REDIS_URL`.
    pub cluster: Option<ClusterHealth>,
}

/// Runs yt-dlp, ffmpeg and the provider ping (all at once).
pub(super) async fn check_tools(state: &AppState) -> Tools {
    let ytdlp = async {
        match state.ytdlp.diagnose().await {
            Ok(report) => Some(report),
            Err(e) => {
                tracing::warn!(error = %e, "health: yt-dlp could not be run");
                None
            }
        }
    };
    let ffmpeg_program = state.config.ffmpeg_program();
    let ffmpeg = diagnostics::ffmpeg_version(&ffmpeg_program);
    let ping = async {
        let minter = state.pot.minter()?;
        match minter.ping().await {
            Ok(version) => Some(Some(version)),
            Err(e) => {
                tracing::warn!(error = %e, "health: the PO-token minter did not answer");
                Some(None)
            }
        }
    };
    let (ytdlp, ffmpeg, provider_ping) = tokio::join!(ytdlp, ffmpeg, ping);
    Tools { ytdlp, ffmpeg, provider_ping, checked_at: SystemTime::now() }
}

pub(super) async fn current_settings(state: &AppState) -> Settings {
    let cookies = state.ytdlp.cookies_file().map(ToOwned::to_owned);
    let dir = state.config.download_dir.clone();
    let (cookies_broken, free_bytes) = tokio::task::spawn_blocking(move || {
        let broken = cookies.as_deref().is_some_and(|c| engine::cookies::check_cookies_file(c).is_err());
        // The directory may not exist yet: then its parent's file system.
        let free = diagnostics::free_space(&dir).or_else(|e| dir.parent().map_or(Err(e), diagnostics::free_space)).ok();
        (broken, free)
    })
    .await
    .unwrap_or((false, None));
    Settings {
        pot_provider_configured: state.pot.minter().is_some(),
        cookies_configured: state.ytdlp.cookies_file().is_some(),
        cookies_broken,
        free_bytes,
        pot_service: state.pot.health(),
        cluster: match &state.shared {
            Some(shared) => Some(crate::cluster::health::health(&shared.redis, state.role.as_str()).await),
            None => None,
        },
    }
}
