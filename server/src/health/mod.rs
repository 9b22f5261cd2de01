//! `GET /api/health`: is the server in shape to download from YouTube?
//!
//! Reports yt-dlp's version and age (YouTube breaks old ones), ffmpeg, the
//! JavaScript runtime and PO-token providers yt-dlp loads (read from its own
//! `-v` output, see [`engine::diagnostics`]), whether the PO-token minter
//! answers and what Kachay's token service did (see [`crate::pot`]), whether cookies are in use (a yes or no, nothing more) and
//! the free space of `DOWNLOAD_DIR`. Running the tools takes a second or two,
//! so their answers are kept for five minutes and concurrent requests share
//! one check; disk space and the cookies file are looked at every time.
//!
//! The answer is always 200: `status` is `ok` or `warnings`, and each
//! warning says what to do. Nothing in it names a server path or a cookie.
//!
//! The pieces: [`probe`] runs the tools and looks at the settings, [`report`]
//! turns what was found into problems and the JSON report, [`text`] writes
//! the plain-text report.

mod probe;
mod report;
mod text;

pub use probe::{Settings, Tools};
pub use report::{build_report, problems, Problem};
pub use text::render_text;

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use contract::Lang;
use engine::diagnostics;
use moka::future::Cache;
use serde::Deserialize;
use std::time::Duration;

/// How long the tools' answers are reused.
const TOOLS_TTL: Duration = Duration::from_secs(300);
/// A yt-dlp older than this many days gets a warning.
pub const OUTDATED_AFTER_DAYS: u64 = 60;
/// Less free space than this in `DOWNLOAD_DIR` gets a warning.
pub const LOW_DISK_BYTES: u64 = 1 << 30;
/// The command that updates yt-dlp in the project's virtualenv.
pub const UPDATE_COMMAND: &str = ".venv/bin/pip install -U \"yt-dlp[default]\"";

/// The health route, with its own cache.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/health", get(health)).layer(Extension(HealthCache::default()))
}

/// The tools' last answers, shared by all requests for [`TOOLS_TTL`];
/// requests that find it empty or expired share one check.
#[derive(Clone)]
struct HealthCache(Cache<(), Tools>);

impl Default for HealthCache {
    fn default() -> Self {
        HealthCache(Cache::builder().max_capacity(1).time_to_live(TOOLS_TTL).build())
    }
}

/// `?format=text` asks for the plain-text report, `&lang=ru` for Russian
/// (otherwise the browser's `Accept-Language`, then English).
#[derive(Debug, Default, Deserialize)]
struct HealthQuery {
    format: Option<String>,
    lang: Option<String>,
}

async fn health(
    State(state): State<AppState>,
    Extension(cache): Extension<HealthCache>,
    Query(query): Query<HealthQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let text = match query.format.as_deref().map(str::trim) {
        None | Some("" | "json") => false,
        Some("text") => true,
        Some(_) => return Err(ApiError::of(contract::ErrorCode::BadFormat)),
    };
    let tools = cache.0.get_with((), probe::check_tools(&state)).await;
    let settings = probe::current_settings(&state).await;
    let today = diagnostics::today();
    let report = build_report(&tools, &settings, today);
    tracing::debug!(status = %report.status, warnings = report.warnings.len(), "health");
    if !text {
        return Ok(Json(report).into_response());
    }
    let lang = query
        .lang
        .as_deref()
        .and_then(Lang::from_tag)
        .or_else(|| {
            headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Lang::from_accept_language)
        })
        .unwrap_or_default();
    let body = render_text(&report, &problems(&tools, &settings, today), lang);
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CONTENT_LANGUAGE, lang.tag())], body)
        .into_response())
}

#[cfg(test)]
mod fixtures {
    use super::{Settings, Tools};
    use engine::diagnostics::{PotProvider, VerboseReport};
    use std::time::{Duration, UNIX_EPOCH};

    pub fn good_tools() -> Tools {
        Tools {
            ytdlp: Some(VerboseReport {
                version: Some("2026.10.26".into()),
                channel: Some("stable".into()),
                js_runtimes: vec!["deno-2.9.8".into()],
                pot_providers: Some(vec![
                    PotProvider {
                        name: "kachay".into(),
                        version: Some("1.0.0".into()),
                        external: true,
                        available: true,
                    },
                    PotProvider {
                        name: "bgutil:http".into(),
                        version: Some("2.0.2".into()),
                        external: true,
                        available: true,
                    },
                ]),
                pot_cache_providers: Some(vec![
                    PotProvider { name: "memory".into(), version: None, external: false, available: true },
                    PotProvider {
                        name: "kachay".into(),
                        version: Some("1.0.0".into()),
                        external: true,
                        available: true,
                    },
                ]),
                plugin_dirs: Vec::new(),
            }),
            ffmpeg: Some("5.1.9-0+deb12u1".into()),
            provider_ping: Some(Some("2.0.2".into())),
            checked_at: UNIX_EPOCH + Duration::from_secs(1),
        }
    }

    pub fn settings() -> Settings {
        Settings {
            pot_provider_configured: true,
            cookies_configured: false,
            cookies_broken: false,
            free_bytes: Some(50 << 30),
            pot_service: contract::api::PotServiceHealth {
                running: true,
                minter: Some("http://127.0.0.1:4416".into()),
                minted: 3,
                served_from_cache: 7,
                tokens_cached: 2,
                ..Default::default()
            },
            cluster: None,
        }
    }

    pub const RELEASE_DAY: i64 = 20_752; // 2026-10-26
}
