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
use crate::error::ApiError;
use app::i18n::Lang;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Deserialize;
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
        Some(_) => {
            return Err(ApiError::of(contract::ErrorCode::BadFormat))
        }
    };
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
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or_default();
    let body = render_text(&report, &problems(&tools, &settings, today), lang);
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CONTENT_LANGUAGE, lang.tag()),
        ],
        body,
    )
        .into_response())
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

/// Something the administrator should fix, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    YtDlpMissing,
    YtDlpOutdated { version: String, days: u64 },
    FfmpegMissing,
    JsRuntimeMissing,
    PotPluginMissing,
    PotProviderUnreachable,
    CookiesUnreadable,
    DiskLow { free: u64 },
}

impl Problem {
    /// The stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::YtDlpMissing => "ytdlp_missing",
            Problem::YtDlpOutdated { .. } => "ytdlp_outdated",
            Problem::FfmpegMissing => "ffmpeg_missing",
            Problem::JsRuntimeMissing => "js_runtime_missing",
            Problem::PotPluginMissing => "pot_plugin_missing",
            Problem::PotProviderUnreachable => "pot_provider_unreachable",
            Problem::CookiesUnreadable => "cookies_unreadable",
            Problem::DiskLow { .. } => "disk_low",
        }
    }

    /// What is wrong and what to do, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (Problem::YtDlpMissing, Lang::En) => {
                "yt-dlp could not be run, so nothing can be downloaded. Run scripts/setup.sh or set YTDLP.".into()
            }
            (Problem::YtDlpMissing, Lang::Ru) => {
                "yt-dlp не запускается, поэтому скачать ничего нельзя. Запустите scripts/setup.sh или укажите YTDLP.".into()
            }
            (Problem::YtDlpOutdated { version, days }, Lang::En) => format!(
                "yt-dlp {version} is {days} days old, and YouTube often breaks old versions. Update it: {UPDATE_COMMAND}"
            ),
            (Problem::YtDlpOutdated { version, days }, Lang::Ru) => format!(
                "yt-dlp {version} вышел {days} дн. назад, а старые версии YouTube часто ломает. Обновите: {UPDATE_COMMAND}"
            ),
            (Problem::FfmpegMissing, Lang::En) => "ffmpeg was not found: joining video and audio and converting audio will fail. \
                 Install ffmpeg or set FFMPEG."
                .into(),
            (Problem::FfmpegMissing, Lang::Ru) => "ffmpeg не найден: склеить видео со звуком и перекодировать звук не получится. \
                 Установите ffmpeg или укажите FFMPEG."
                .into(),
            (Problem::JsRuntimeMissing, Lang::En) => "yt-dlp has no JavaScript runtime, so YouTube offers it few or no formats. \
                 Install deno (scripts/setup.sh does) or set JS_RUNTIME."
                .into(),
            (Problem::JsRuntimeMissing, Lang::Ru) => "У yt-dlp нет JavaScript-движка, и YouTube отдаёт мало форматов или ни одного. \
                 Установите deno (это делает scripts/setup.sh) или укажите JS_RUNTIME."
                .into(),
            (Problem::PotPluginMissing, Lang::En) => "POT_PROVIDER_URL is set, but yt-dlp has no bgutil PO-token plugin. Install it: \
                 .venv/bin/pip install bgutil-ytdlp-pot-provider (or run KACHAY_POT_PROVIDER=1 scripts/setup.sh)."
                .into(),
            (Problem::PotPluginMissing, Lang::Ru) => "POT_PROVIDER_URL указан, но у yt-dlp нет плагина bgutil для PO-токенов. Установите его: \
                 .venv/bin/pip install bgutil-ytdlp-pot-provider (или KACHAY_POT_PROVIDER=1 scripts/setup.sh)."
                .into(),
            (Problem::PotProviderUnreachable, Lang::En) => "The PO-token provider at POT_PROVIDER_URL does not answer. \
                 Start it (see docs/youtube.md) or correct the address."
                .into(),
            (Problem::PotProviderUnreachable, Lang::Ru) => "Провайдер PO-токенов по адресу POT_PROVIDER_URL не отвечает. \
                 Запустите его (см. docs/youtube.md) или исправьте адрес."
                .into(),
            (Problem::CookiesUnreadable, Lang::En) => {
                "COOKIES_FILE can no longer be read as a Netscape cookies file. Export it again.".into()
            }
            (Problem::CookiesUnreadable, Lang::Ru) => {
                "COOKIES_FILE больше не читается как файл cookies в формате Netscape. Экспортируйте его заново.".into()
            }
            (Problem::DiskLow { free }, Lang::En) => format!(
                "Only {} is free for downloads. Free some space in DOWNLOAD_DIR.",
                app::i18n::bytes(*free, lang)
            ),
            (Problem::DiskLow { free }, Lang::Ru) => format!(
                "Для загрузок свободно всего {}. Освободите место в DOWNLOAD_DIR.",
                app::i18n::bytes(*free, lang)
            ),
        }
    }
}

/// What needs fixing, in the order it matters; `today` in days since the
/// Unix epoch.
pub fn problems(tools: &Tools, settings: &Settings, today: i64) -> Vec<Problem> {
    let mut found = Vec::new();
    match &tools.ytdlp {
        None => found.push(Problem::YtDlpMissing),
        Some(report) => {
            if let Some(version) = &report.version {
                let age = diagnostics::version_age_days(version, today);
                if let Some(days) = age.filter(|d| *d > OUTDATED_AFTER_DAYS) {
                    found.push(Problem::YtDlpOutdated { version: version.clone(), days });
                }
            }
        }
    }
    if tools.ffmpeg.is_none() {
        found.push(Problem::FfmpegMissing);
    }
    if let Some(report) = &tools.ytdlp {
        if report.js_runtimes.is_empty() {
            found.push(Problem::JsRuntimeMissing);
        }
        let has_bgutil = report
            .pot_providers
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|p| p.name == BGUTIL_HTTP);
        if settings.pot_provider_configured && !has_bgutil {
            found.push(Problem::PotPluginMissing);
        }
    }
    if settings.pot_provider_configured && tools.provider_ping == Some(None) {
        found.push(Problem::PotProviderUnreachable);
    }
    if settings.cookies_broken {
        found.push(Problem::CookiesUnreadable);
    }
    if let Some(free) = settings.free_bytes.filter(|f| *f < LOW_DISK_BYTES) {
        found.push(Problem::DiskLow { free });
    }
    found
}

/// The report from what was found; `today` in days since the Unix epoch.
pub fn build_report(tools: &Tools, settings: &Settings, today: i64) -> HealthReport {
    let warnings: Vec<HealthWarning> = problems(tools, settings, today)
        .iter()
        .map(|p| HealthWarning {
            code: p.code().to_owned(),
            message: p.message(Lang::En),
        })
        .collect();

    let version = tools.ytdlp.as_ref().and_then(|r| r.version.clone());
    let age_days = version
        .as_deref()
        .and_then(|v| diagnostics::version_age_days(v, today));
    let outdated = age_days.is_some_and(|d| d > OUTDATED_AFTER_DAYS);
    let runtime = tools
        .ytdlp
        .as_ref()
        .and_then(|r| r.js_runtimes.first())
        .map(|r| match r.rsplit_once('-') {
            Some((name, version)) => (name.to_owned(), Some(version.to_owned())),
            None => (r.clone(), None),
        });
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

/// The words of the plain-text report, per language.
struct Words {
    ok: &'static str,
    attention: &'static str,
    not_found: &'static str,
    days_old: &'static str,
    js_runtime: &'static str,
    providers: &'static str,
    none: &'static str,
    server: &'static str,
    answers: &'static str,
    silent: &'static str,
    cookies: &'static str,
    configured: &'static str,
    not_configured: &'static str,
    free_disk: &'static str,
}

static EN_WORDS: Words = Words {
    ok: "Everything is in order.",
    attention: "Needs the administrator's attention:",
    not_found: "not found",
    days_old: "days old",
    js_runtime: "JS runtime",
    providers: "PO-token providers",
    none: "none",
    server: "PO-token server",
    answers: "answers",
    silent: "does not answer",
    cookies: "Cookies",
    configured: "configured",
    not_configured: "not configured",
    free_disk: "Free disk",
};

static RU_WORDS: Words = Words {
    ok: "Всё в порядке.",
    attention: "Администратору стоит обратить внимание:",
    not_found: "не найден",
    days_old: "дн. с выпуска",
    js_runtime: "JS-движок",
    providers: "Провайдеры PO-токенов",
    none: "нет",
    server: "Сервер PO-токенов",
    answers: "отвечает",
    silent: "не отвечает",
    cookies: "Cookies",
    configured: "настроены",
    not_configured: "не настроены",
    free_disk: "Свободно на диске",
};

/// The report as short lines of text in `lang`: what the status panel in the
/// page shows, and what `curl '…/api/health?format=text'` prints.
pub fn render_text(report: &HealthReport, problems: &[Problem], lang: Lang) -> String {
    let w = match lang {
        Lang::En => &EN_WORDS,
        Lang::Ru => &RU_WORDS,
    };
    let or_missing = |v: Option<&str>| v.unwrap_or(w.not_found).to_owned();
    let mut lines = Vec::new();
    if problems.is_empty() {
        lines.push(w.ok.to_owned());
    } else {
        lines.push(w.attention.to_owned());
        lines.extend(problems.iter().map(|p| format!("⚠ {}", p.message(lang))));
    }
    let age = report
        .ytdlp
        .age_days
        .map(|d| format!(" ({d} {})", w.days_old))
        .unwrap_or_default();
    lines.push(format!("yt-dlp: {}{age}", or_missing(report.ytdlp.version.as_deref())));
    lines.push(format!("ffmpeg: {}", or_missing(report.ffmpeg.version.as_deref())));
    let runtime = report.js_runtime.name.as_ref().map(|name| match &report.js_runtime.version {
        Some(v) => format!("{name} {v}"),
        None => name.clone(),
    });
    lines.push(format!("{}: {}", w.js_runtime, or_missing(runtime.as_deref())));
    let providers: Vec<String> = report
        .pot_provider
        .providers
        .iter()
        .filter(|p| p.available)
        .map(|p| match &p.version {
            Some(v) => format!("{} {v}", p.name),
            None => p.name.clone(),
        })
        .collect();
    let providers = if providers.is_empty() { w.none.to_owned() } else { providers.join(", ") };
    lines.push(format!("{}: {providers}", w.providers));
    if let Some(reachable) = report.pot_provider.reachable {
        let answer = match (reachable, &report.pot_provider.server_version) {
            (true, Some(v)) => format!("{} ({v})", w.answers),
            (true, None) => w.answers.to_owned(),
            (false, _) => w.silent.to_owned(),
        };
        lines.push(format!("{}: {answer}", w.server));
    }
    let cookies = if report.cookies_configured { w.configured } else { w.not_configured };
    lines.push(format!("{}: {cookies}", w.cookies));
    if let Some(free) = report.disk.free_bytes {
        lines.push(format!("{}: {}", w.free_disk, app::i18n::bytes(free, lang)));
    }
    lines.join("\n")
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
    fn the_text_report_reads_like_the_panel_in_english_and_russian() {
        let tools = good_tools();
        let en = render_text(
            &build_report(&tools, &settings(), RELEASE_DAY + 26),
            &problems(&tools, &settings(), RELEASE_DAY + 26),
            Lang::En,
        );
        let lines: Vec<&str> = en.lines().collect();
        assert_eq!(
            lines,
            [
                "Everything is in order.",
                "yt-dlp: 2026.10.26 (26 days old)",
                "ffmpeg: 5.1.9-0+deb12u1",
                "JS runtime: deno 2.9.8",
                "PO-token providers: bgutil:http 2.0.2",
                "PO-token server: answers (2.0.2)",
                "Cookies: not configured",
                "Free disk: 54\u{a0}GB",
            ]
        );

        let mut broken = good_tools();
        broken.ffmpeg = None;
        let old = RELEASE_DAY + 90;
        let ru = render_text(
            &build_report(&broken, &settings(), old),
            &problems(&broken, &settings(), old),
            Lang::Ru,
        );
        let lines: Vec<&str> = ru.lines().collect();
        assert_eq!(lines[0], "Администратору стоит обратить внимание:");
        assert!(lines[1].starts_with("⚠ yt-dlp 2026.10.26 вышел 90 дн. назад"), "{}", lines[1]);
        assert!(lines[1].ends_with(UPDATE_COMMAND), "{}", lines[1]);
        assert!(lines[2].starts_with("⚠ ffmpeg не найден"), "{}", lines[2]);
        assert!(lines.contains(&"ffmpeg: не найден"), "{ru}");
        assert!(lines.contains(&"Cookies: не настроены"), "{ru}");
    }

    #[test]
    fn every_problem_is_explained_in_both_languages() {
        let all = [
            Problem::YtDlpMissing,
            Problem::YtDlpOutdated { version: "2025.01.01".into(), days: 300 },
            Problem::FfmpegMissing,
            Problem::JsRuntimeMissing,
            Problem::PotPluginMissing,
            Problem::PotProviderUnreachable,
            Problem::CookiesUnreadable,
            Problem::DiskLow { free: 10 << 20 },
        ];
        for p in &all {
            let (en, ru) = (p.message(Lang::En), p.message(Lang::Ru));
            assert!(en.is_ascii() || en.contains('\u{a0}'), "{en}");
            assert!(ru.chars().any(|c| ('а'..='я').contains(&c)), "{ru}");
            assert_ne!(en, ru);
        }
    }

    #[test]
    fn ping_answers() {
        let ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"server_uptime\":12.5,\"version\":\"2.0.2\"}";
        assert_eq!(parse_ping(ok).as_deref(), Some("2.0.2"));
        assert_eq!(parse_ping("HTTP/1.1 404 Not Found\r\n\r\n{}"), None);
        assert_eq!(parse_ping("garbage"), None);
    }
}
