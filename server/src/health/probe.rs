//! Running the tools (cached by the caller) and looking at the settings
//! (every request).

use crate::state::AppState;
use engine::diagnostics::{self, VerboseReport};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long the provider server gets to answer `/ping`.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// What running the tools found.
#[derive(Debug, Clone)]
pub struct Tools {
    /// `yt-dlp -v`'s self-description; `None` when it could not be run.
    pub ytdlp: Option<VerboseReport>,
    /// ffmpeg's version; `None` when it could not be run.
    pub ffmpeg: Option<String>,
    /// The provider server's `/ping`: `None` when not configured or not
    /// checkable (https), `Some(None)` when it did not answer, `Some(Some(v))`
    /// with its version.
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
    let provider = state
        .config
        .pot_provider_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .and_then(|u| engine::ytdlp_options::provider_base_url(u).ok());
    let ping = async {
        match provider {
            Some(base) => ping_provider(&base).await,
            None => None,
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
        pot_provider_configured: state.config.pot_provider_url.as_deref().is_some_and(|u| !u.trim().is_empty()),
        cookies_configured: state.ytdlp.cookies_file().is_some(),
        cookies_broken,
        free_bytes,
    }
}

/// `GET {base}/ping` on a bgutil server (plain http only); its `version`.
async fn ping_provider(base: &str) -> Option<Option<String>> {
    let url = url::Url::parse(&format!("{base}/ping")).ok()?;
    if url.scheme() != "http" {
        return None;
    }
    let host = url.host_str()?.to_owned();
    let port = url.port_or_known_default()?;
    let answer = tokio::time::timeout(PING_TIMEOUT, async {
        let mut stream = tokio::net::TcpStream::connect((host.as_str(), port)).await.ok()?;
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
            url.path(),
            url.host_str().unwrap_or_default()
        );
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut body = Vec::new();
        (&mut stream).take(64 * 1024).read_to_end(&mut body).await.ok()?;
        Some(body)
    })
    .await
    .ok()
    .flatten();
    Some(answer.and_then(|bytes| parse_ping(&String::from_utf8_lossy(&bytes))))
}

/// The `version` of a `200` answer to `/ping` (`{"server_uptime":…,"version":"2.0.2"}`).
fn parse_ping(response: &str) -> Option<String> {
    let status_ok = response.lines().next().is_some_and(|l| l.split_whitespace().nth(1) == Some("200"));
    if !status_ok {
        return None;
    }
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b)?;
    let json = &body[body.find('{')?..=body.rfind('}')?];
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    Some(value.get("version").and_then(|v| v.as_str()).unwrap_or("unknown").to_owned())
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_answers() {
        let ok =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"server_uptime\":12.5,\"version\":\"2.0.2\"}";
        assert_eq!(parse_ping(ok).as_deref(), Some("2.0.2"));
        assert_eq!(parse_ping("HTTP/1.1 404 Not Found\r\n\r\n{}"), None);
        assert_eq!(parse_ping("garbage"), None);
    }
}
