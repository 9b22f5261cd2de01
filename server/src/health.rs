//! `GET /api/health`: is the server in shape to download from YouTube?
//!
//! Reports yt-dlp's version and age (YouTube breaks old ones), ffmpeg, the
//! JavaScript runtime and PO-token providers yt-dlp loads (read from its own
//! `-v` output, see [`engine::diagnostics`]), whether the configured provider
//! server answers, whether cookies are in use (a yes or no, nothing more) and
//! the free space of `DOWNLOAD_DIR`. Running the tools takes a second or two,
//! so their answers are kept for five minutes and concurrent requests share
//! one check; disk space and the cookies file are looked at every time.
//!
//! The answer is always 200: `status` is `ok` or `warnings`, and each
//! warning says what to do. Nothing in it names a server path or a cookie.

use crate::state::AppState;
use app::api::{
    DiskHealth, HealthReport, HealthWarning, JsRuntimeHealth, PotProviderHealth, PotProviderInfo,
    ToolHealth, YtDlpHealth,
};
use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Json, Router};
use engine::diagnostics::{self, VerboseReport};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;

/// How long the tools' answers are reused.
pub const TOOLS_TTL: Duration = Duration::from_secs(300);
/// A yt-dlp older than this many days gets a warning.
pub const OUTDATED_AFTER_DAYS: u64 = 60;
/// Less free space than this in `DOWNLOAD_DIR` gets a warning.
pub const LOW_DISK_BYTES: u64 = 1 << 30;
/// The command that updates yt-dlp in the project's virtualenv.
pub const UPDATE_COMMAND: &str = ".venv/bin/pip install -U \"yt-dlp[default]\"";
/// The plugin that talks to a bgutil provider server.
const BGUTIL_HTTP: &str = "bgutil:http";
/// How long the provider server gets to answer `/ping`.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// The health route, with its own cache.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/health", get(health))
        .layer(Extension(HealthCache::default()))
}

/// The tools' last answers, shared by all requests.
#[derive(Clone, Default)]
struct HealthCache(Arc<Mutex<Option<(Instant, Tools)>>>);

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

async fn health(
    State(state): State<AppState>,
    Extension(cache): Extension<HealthCache>,
) -> Json<HealthReport> {
    let tools = {
        let mut cached = cache.0.lock().await;
        match &*cached {
            Some((at, tools)) if at.elapsed() < TOOLS_TTL => tools.clone(),
            _ => {
                let tools = check_tools(&state).await;
                *cached = Some((Instant::now(), tools.clone()));
                tools
            }
        }
    };
    let settings = current_settings(&state).await;
    let report = build_report(&tools, &settings, diagnostics::today());
    tracing::debug!(status = %report.status, warnings = report.warnings.len(), "health");
    Json(report)
}

/// Runs yt-dlp, ffmpeg and the provider ping (all at once).
async fn check_tools(state: &AppState) -> Tools {
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
    Tools {
        ytdlp,
        ffmpeg,
        provider_ping,
        checked_at: SystemTime::now(),
    }
}

async fn current_settings(state: &AppState) -> Settings {
    let cookies = state.ytdlp.cookies_file().map(ToOwned::to_owned);
    let dir = state.config.download_dir.clone();
    let (cookies_broken, free_bytes) = tokio::task::spawn_blocking(move || {
        let broken = cookies
            .as_deref()
            .is_some_and(|c| engine::cookies::check_cookies_file(c).is_err());
        // The directory may not exist yet: then its parent's file system.
        let free = diagnostics::free_space(&dir)
            .or_else(|e| dir.parent().map_or(Err(e), diagnostics::free_space))
            .ok();
        (broken, free)
    })
    .await
    .unwrap_or((false, None));
    Settings {
        pot_provider_configured: state
            .config
            .pot_provider_url
            .as_deref()
            .is_some_and(|u| !u.trim().is_empty()),
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
    let status_ok = response
        .lines()
        .next()
        .is_some_and(|l| l.split_whitespace().nth(1) == Some("200"));
    if !status_ok {
        return None;
    }
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b)?;
    let json = &body[body.find('{')?..=body.rfind('}')?];
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    Some(value.get("version").and_then(|v| v.as_str()).unwrap_or("unknown").to_owned())
}

/// The report from what was found; `today` in days since the Unix epoch.
pub fn build_report(tools: &Tools, settings: &Settings, today: i64) -> HealthReport {
    let mut warnings = Vec::new();
    let mut warn = |code: &str, message: String| {
        warnings.push(HealthWarning {
            code: code.to_owned(),
            message,
        })
    };

    let version = tools.ytdlp.as_ref().and_then(|r| r.version.clone());
    let age_days = version
        .as_deref()
        .and_then(|v| diagnostics::version_age_days(v, today));
    let outdated = age_days.is_some_and(|d| d > OUTDATED_AFTER_DAYS);
    match (&tools.ytdlp, &version) {
        (None, _) => warn(
            "ytdlp_missing",
            "yt-dlp could not be run, so nothing can be downloaded. Run scripts/setup.sh or set YTDLP.".into(),
        ),
        (Some(_), Some(v)) if outdated => warn(
            "ytdlp_outdated",
            format!(
                "yt-dlp {v} is {} days old, and YouTube often breaks old versions. Update it: {UPDATE_COMMAND}",
                age_days.unwrap_or_default()
            ),
        ),
        _ => {}
    }

    if tools.ffmpeg.is_none() {
        warn(
            "ffmpeg_missing",
            "ffmpeg was not found: joining video and audio and converting audio will fail. \
             Install ffmpeg or set FFMPEG."
                .into(),
        );
    }

    let runtime = tools
        .ytdlp
        .as_ref()
        .and_then(|r| r.js_runtimes.first())
        .map(|r| match r.rsplit_once('-') {
            Some((name, version)) => (name.to_owned(), Some(version.to_owned())),
            None => (r.clone(), None),
        });
    if tools.ytdlp.is_some() && runtime.is_none() {
        warn(
            "js_runtime_missing",
            "yt-dlp has no JavaScript runtime, so YouTube offers it few or no formats. \
             Install deno (scripts/setup.sh does) or set JS_RUNTIME."
                .into(),
        );
    }

    let providers: Vec<PotProviderInfo> = tools
        .ytdlp
        .as_ref()
        .and_then(|r| r.pot_providers.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|p| PotProviderInfo {
            name: p.name,
            version: p.version,
            available: p.available,
        })
        .collect();
    if settings.pot_provider_configured {
        if tools.ytdlp.is_some() && !providers.iter().any(|p| p.name == BGUTIL_HTTP) {
            warn(
                "pot_plugin_missing",
                "POT_PROVIDER_URL is set, but yt-dlp has no bgutil PO-token plugin. Install it: \
                 .venv/bin/pip install bgutil-ytdlp-pot-provider (or run KACHAY_POT_PROVIDER=1 scripts/setup.sh)."
                    .into(),
            );
        }
        if tools.provider_ping == Some(None) {
            warn(
                "pot_provider_unreachable",
                "The PO-token provider at POT_PROVIDER_URL does not answer. Start it (see docs/youtube.md) \
                 or correct the address."
                    .into(),
            );
        }
    }

    if settings.cookies_broken {
        warn(
            "cookies_unreadable",
            "COOKIES_FILE can no longer be read as a Netscape cookies file. Export it again.".into(),
        );
    }

    if let Some(free) = settings.free_bytes.filter(|f| *f < LOW_DISK_BYTES) {
        warn(
            "disk_low",
            format!(
                "Only {} is free for downloads. Free some space in DOWNLOAD_DIR.",
                engine::progress::format_bytes(free)
            ),
        );
    }

    let status = if warnings.is_empty() { "ok" } else { "warnings" };
    HealthReport {
        status: status.to_owned(),
        warnings,
        ytdlp: YtDlpHealth {
            found: tools.ytdlp.is_some(),
            version,
            age_days,
            outdated,
            update_command: UPDATE_COMMAND.to_owned(),
        },
        ffmpeg: ToolHealth {
            found: tools.ffmpeg.is_some(),
            version: tools.ffmpeg.clone(),
        },
        js_runtime: JsRuntimeHealth {
            found: runtime.is_some(),
            name: runtime.as_ref().map(|r| r.0.clone()),
            version: runtime.and_then(|r| r.1),
        },
        pot_provider: PotProviderHealth {
            configured: settings.pot_provider_configured,
            providers,
            reachable: tools.provider_ping.as_ref().map(Option::is_some),
            server_version: tools.provider_ping.clone().flatten(),
        },
        cookies_configured: settings.cookies_configured,
        disk: DiskHealth {
            free_bytes: settings.free_bytes,
        },
        checked_at: u64::try_from(
            tools
                .checked_at
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis(),
        )
        .unwrap_or(u64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::diagnostics::PotProvider;

    fn good_tools() -> Tools {
        Tools {
            ytdlp: Some(VerboseReport {
                version: Some("2026.10.26".into()),
                channel: Some("stable".into()),
                js_runtimes: vec!["deno-2.9.8".into()],
                pot_providers: Some(vec![PotProvider {
                    name: "bgutil:http".into(),
                    version: Some("2.0.2".into()),
                    external: true,
                    available: true,
                }]),
                plugin_dirs: Vec::new(),
            }),
            ffmpeg: Some("5.1.9-0+deb12u1".into()),
            provider_ping: Some(Some("2.0.2".into())),
            checked_at: UNIX_EPOCH + Duration::from_secs(1),
        }
    }

    fn settings() -> Settings {
        Settings {
            pot_provider_configured: true,
            cookies_configured: false,
            cookies_broken: false,
            free_bytes: Some(50 << 30),
        }
    }

    const RELEASE_DAY: i64 = 20_752; // 2026-10-26

    #[test]
    fn all_good_is_ok() {
        let r = build_report(&good_tools(), &settings(), RELEASE_DAY + 26);
        assert_eq!(r.status, "ok", "{:?}", r.warnings);
        assert_eq!(r.ytdlp.age_days, Some(26));
        assert!(!r.ytdlp.outdated);
        assert_eq!(r.js_runtime.name.as_deref(), Some("deno"));
        assert_eq!(r.js_runtime.version.as_deref(), Some("2.9.8"));
        assert_eq!(r.pot_provider.reachable, Some(true));
        assert_eq!(r.pot_provider.server_version.as_deref(), Some("2.0.2"));
        assert_eq!(r.checked_at, 1000);
    }

    #[test]
    fn old_yt_dlp_is_a_warning_with_the_fix() {
        let r = build_report(&good_tools(), &settings(), RELEASE_DAY + 61);
        assert_eq!(r.status, "warnings");
        assert!(r.ytdlp.outdated);
        assert_eq!(r.warnings.len(), 1);
        assert_eq!(r.warnings[0].code, "ytdlp_outdated");
        assert!(r.warnings[0].message.contains(UPDATE_COMMAND), "{}", r.warnings[0].message);
        assert!(!build_report(&good_tools(), &settings(), RELEASE_DAY + 60).ytdlp.outdated);
    }

    #[test]
    fn every_missing_piece_is_named() {
        let mut tools = good_tools();
        if let Some(r) = tools.ytdlp.as_mut() {
            r.js_runtimes.clear();
            r.pot_providers = Some(Vec::new());
        }
        tools.ffmpeg = None;
        tools.provider_ping = Some(None);
        let settings = Settings {
            cookies_configured: true,
            cookies_broken: true,
            free_bytes: Some(10 << 20),
            ..settings()
        };
        let r = build_report(&tools, &settings, RELEASE_DAY);
        let codes: Vec<&str> = r.warnings.iter().map(|w| w.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "ffmpeg_missing",
                "js_runtime_missing",
                "pot_plugin_missing",
                "pot_provider_unreachable",
                "cookies_unreadable",
                "disk_low"
            ]
        );
        assert!(r.cookies_configured);
        assert_eq!(r.pot_provider.reachable, Some(false));
    }

    #[test]
    fn no_yt_dlp() {
        let tools = Tools {
            ytdlp: None,
            ..good_tools()
        };
        let r = build_report(&tools, &settings(), RELEASE_DAY);
        assert!(!r.ytdlp.found);
        assert_eq!(r.warnings[0].code, "ytdlp_missing");
        // Nothing else is blamed on the missing yt-dlp.
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    }

    #[test]
    fn ping_answers() {
        let ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"server_uptime\":12.5,\"version\":\"2.0.2\"}";
        assert_eq!(parse_ping(ok).as_deref(), Some("2.0.2"));
        assert_eq!(parse_ping("HTTP/1.1 404 Not Found\r\n\r\n{}"), None);
        assert_eq!(parse_ping("garbage"), None);
    }
}
