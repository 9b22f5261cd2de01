//! What needs fixing, and the JSON report.

use super::{Settings, Tools, LOW_DISK_BYTES, OUTDATED_AFTER_DAYS, UPDATE_COMMAND};
use contract::api::{
    DiskHealth, HealthReport, HealthWarning, JsRuntimeHealth, PotProviderHealth, PotProviderInfo, PotServiceHealth,
    ToolHealth, YtDlpHealth,
};
use contract::Lang;
use engine::diagnostics;
use std::time::UNIX_EPOCH;

/// The name Kachay's plugin gives its provider and its cache provider.
const KACHAY: &str = "kachay";

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
    RedisUnreachable,
    NoWorkers { queued: u64 },
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
            Problem::RedisUnreachable => "redis_unreachable",
            Problem::NoWorkers { .. } => "no_workers",
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
            (Problem::PotPluginMissing, Lang::En) => "yt-dlp did not load Kachay's PO-token plugin, so every yt-dlp run \
                 mints its own tokens, or none. Check that DATA_DIR is writable (the plugin is written to \
                 DATA_DIR/ytdlp-plugins at start) and that yt-dlp is 2025.06 or newer."
                .into(),
            (Problem::PotPluginMissing, Lang::Ru) => "yt-dlp не загрузил плагин PO-токенов Kachay, и каждый запуск yt-dlp \
                 получает токены сам или не получает вовсе. Проверьте, что в DATA_DIR можно писать (плагин \
                 записывается в DATA_DIR/ytdlp-plugins при запуске) и что yt-dlp не старше 2025.06."
                .into(),
            (Problem::PotProviderUnreachable, Lang::En) => "The PO-token minter at POT_PROVIDER_URL does not answer. \
                 Start it (see docs/youtube.md) or correct the address."
                .into(),
            (Problem::PotProviderUnreachable, Lang::Ru) => "Генератор PO-токенов по адресу POT_PROVIDER_URL не отвечает. \
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
                contract::format::bytes(*free, lang)
            ),
            (Problem::DiskLow { free }, Lang::Ru) => format!(
                "Для загрузок свободно всего {}. Освободите место в DOWNLOAD_DIR.",
                contract::format::bytes(*free, lang)
            ),
            (Problem::RedisUnreachable, Lang::En) => "Redis (REDIS_URL) does not answer: downloads cannot be queued \
                 or followed. Start it, or correct REDIS_URL."
                .into(),
            (Problem::RedisUnreachable, Lang::Ru) => "Redis (REDIS_URL) не отвечает: загрузки нельзя поставить в \
                 очередь и отследить. Запустите его или исправьте REDIS_URL."
                .into(),
            (Problem::NoWorkers { queued }, Lang::En) => format!(
                "{queued} download(s) are waiting, but no worker is running. Start one (KACHAY_ROLE=worker with the \
                 same REDIS_URL and DOWNLOAD_DIR)."
            ),
            (Problem::NoWorkers { queued }, Lang::Ru) => format!(
                "Ждут загрузки ({queued}), но ни один исполнитель не запущен. Запустите его (KACHAY_ROLE=worker с \
                 теми же REDIS_URL и DOWNLOAD_DIR)."
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
        // Only when yt-dlp listed its providers at all (an old yt-dlp, or
        // one that failed early, says nothing either way).
        let listed = |list: &Option<Vec<diagnostics::PotProvider>>| {
            list.as_ref().map(|providers| providers.iter().any(|p| p.name == KACHAY))
        };
        if listed(&report.pot_providers) == Some(false) || listed(&report.pot_cache_providers) == Some(false) {
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
    if let Some(cluster) = &settings.cluster {
        if !cluster.redis_reachable {
            found.push(Problem::RedisUnreachable);
        } else if cluster.workers.is_empty() && cluster.queued > 0 {
            found.push(Problem::NoWorkers { queued: cluster.queued });
        }
    }
    found
}

/// The report from what was found; `today` in days since the Unix epoch.
pub fn build_report(tools: &Tools, settings: &Settings, today: i64) -> HealthReport {
    let warnings: Vec<HealthWarning> = problems(tools, settings, today)
        .iter()
        .map(|p| HealthWarning { code: p.code().to_owned(), message: p.message(Lang::En) })
        .collect();

    let version = tools.ytdlp.as_ref().and_then(|r| r.version.clone());
    let age_days = version.as_deref().and_then(|v| diagnostics::version_age_days(v, today));
    let outdated = age_days.is_some_and(|d| d > OUTDATED_AFTER_DAYS);
    let runtime = tools.ytdlp.as_ref().and_then(|r| r.js_runtimes.first()).map(|r| match r.rsplit_once('-') {
        Some((name, version)) => (name.to_owned(), Some(version.to_owned())),
        None => (r.clone(), None),
    });
    let providers: Vec<PotProviderInfo> = tools
        .ytdlp
        .as_ref()
        .and_then(|r| r.pot_providers.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|p| PotProviderInfo { name: p.name, version: p.version, available: p.available })
        .collect();

    let loaded =
        |list: Option<&Vec<diagnostics::PotProvider>>| list.is_some_and(|l| l.iter().any(|p| p.name == KACHAY));
    let pot_service = PotServiceHealth {
        minter_reachable: tools.provider_ping.as_ref().map(Option::is_some),
        minter_version: tools.provider_ping.clone().flatten(),
        provider_loaded: loaded(tools.ytdlp.as_ref().and_then(|r| r.pot_providers.as_ref())),
        cache_loaded: loaded(tools.ytdlp.as_ref().and_then(|r| r.pot_cache_providers.as_ref())),
        ..settings.pot_service.clone()
    };

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
        ffmpeg: ToolHealth { found: tools.ffmpeg.is_some(), version: tools.ffmpeg.clone() },
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
        pot_service,
        cluster: settings.cluster.clone(),
        cookies_configured: settings.cookies_configured,
        disk: DiskHealth { free_bytes: settings.free_bytes },
        checked_at: u64::try_from(tools.checked_at.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis())
            .unwrap_or(u64::MAX),
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::fixtures::{good_tools, settings, RELEASE_DAY};

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
        let settings =
            Settings { cookies_configured: true, cookies_broken: true, free_bytes: Some(10 << 20), ..settings() };
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
        let tools = Tools { ytdlp: None, ..good_tools() };
        let r = build_report(&tools, &settings(), RELEASE_DAY);
        assert!(!r.ytdlp.found);
        assert_eq!(r.warnings[0].code, "ytdlp_missing");
        // Nothing else is blamed on the missing yt-dlp.
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
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
            Problem::RedisUnreachable,
            Problem::NoWorkers { queued: 3 },
        ];
        for p in &all {
            let (en, ru) = (p.message(Lang::En), p.message(Lang::Ru));
            assert!(en.is_ascii() || en.contains('\u{a0}'), "{en}");
            assert!(ru.chars().any(|c| ('а'..='я').contains(&c)), "{ru}");
            assert_ne!(en, ru);
        }
    }
}
