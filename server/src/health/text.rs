//! The plain-text report.

use super::Problem;
use contract::api::HealthReport;
use contract::Lang;

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
    service: &'static str,
    plugin_loaded: &'static str,
    plugin_missing: &'static str,
    minter_unset: &'static str,
    cluster: &'static str,
    /// `{}` is the role.
    node: &'static str,
    redis_answers: &'static str,
    redis_silent: &'static str,
    workers: &'static str,
    running: &'static str,
    queued: &'static str,
    minted: &'static str,
    from_cache: &'static str,
    failed: &'static str,
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
    server: "PO-token minter",
    answers: "answers",
    silent: "does not answer",
    service: "PO-token service",
    plugin_loaded: "Kachay's plugin loaded",
    plugin_missing: "Kachay's plugin not loaded",
    minter_unset: "not configured (POT_PROVIDER_URL)",
    cluster: "Cluster",
    node: "{} node",
    redis_answers: "Redis answers",
    redis_silent: "Redis does not answer",
    workers: "workers",
    running: "running",
    queued: "queued",
    minted: "minted",
    from_cache: "from cache",
    failed: "failed",
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
    server: "Генератор PO-токенов",
    answers: "отвечает",
    silent: "не отвечает",
    service: "Сервис PO-токенов",
    plugin_loaded: "плагин Kachay загружен",
    plugin_missing: "плагин Kachay не загружен",
    minter_unset: "не настроен (POT_PROVIDER_URL)",
    cluster: "Кластер",
    node: "узел {}",
    redis_answers: "Redis отвечает",
    redis_silent: "Redis не отвечает",
    workers: "исполнителей",
    running: "выполняется",
    queued: "в очереди",
    minted: "выпущено",
    from_cache: "из кэша",
    failed: "ошибок",
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
    let age = report.ytdlp.age_days.map(|d| format!(" ({d} {})", w.days_old)).unwrap_or_default();
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
        // A no-break space: a narrow screen never parts a name from its version.
        .map(|p| match &p.version {
            Some(v) => format!("{}\u{a0}{v}", p.name),
            None => p.name.clone(),
        })
        .collect();
    let providers = if providers.is_empty() { w.none.to_owned() } else { providers.join(", ") };
    lines.push(format!("{}: {providers}", w.providers));
    let service = &report.pot_service;
    if service.running {
        let plugin = if service.provider_loaded && service.cache_loaded { w.plugin_loaded } else { w.plugin_missing };
        lines.push(format!(
            "{}: {plugin}; {} {}, {} {}, {} {}",
            w.service, w.minted, service.minted, w.from_cache, service.served_from_cache, w.failed, service.failures
        ));
    }
    let minter = match (service.minter_reachable, &service.minter_version) {
        (Some(true), Some(v)) => format!("{} ({v})", w.answers),
        (Some(true), None) => w.answers.to_owned(),
        (Some(false), _) => w.silent.to_owned(),
        (None, _) => w.minter_unset.to_owned(),
    };
    lines.push(format!("{}: {minter}", w.server));
    if let Some(cluster) = &report.cluster {
        let redis = if cluster.redis_reachable {
            format!(
                "{}; {} {}, {} {}, {} {}",
                w.redis_answers,
                w.workers,
                cluster.workers.len(),
                w.running,
                cluster.running,
                w.queued,
                cluster.queued
            )
        } else {
            w.redis_silent.to_owned()
        };
        lines.push(format!("{}: {}; {redis}", w.cluster, w.node.replace("{}", &cluster.role)));
    }
    let cookies = if report.cookies_configured { w.configured } else { w.not_configured };
    lines.push(format!("{}: {cookies}", w.cookies));
    if let Some(free) = report.disk.free_bytes {
        lines.push(format!("{}: {}", w.free_disk, contract::format::bytes(free, lang)));
    }
    lines.join("\n")
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::fixtures::{good_tools, settings, RELEASE_DAY};
    use crate::health::{build_report, problems, UPDATE_COMMAND};

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
                "PO-token providers: kachay\u{a0}1.0.0, bgutil:http\u{a0}2.0.2",
                "PO-token service: Kachay's plugin loaded; minted 3, from cache 7, failed 0",
                "PO-token minter: answers (2.0.2)",
                "Cookies: not configured",
                "Free disk: 54\u{a0}GB",
            ]
        );

        let mut broken = good_tools();
        broken.ffmpeg = None;
        let old = RELEASE_DAY + 90;
        let ru = render_text(&build_report(&broken, &settings(), old), &problems(&broken, &settings(), old), Lang::Ru);
        let lines: Vec<&str> = ru.lines().collect();
        assert_eq!(lines[0], "Администратору стоит обратить внимание:");
        assert!(lines[1].starts_with("⚠ yt-dlp 2026.10.26 вышел 90 дн. назад"), "{}", lines[1]);
        assert!(lines[1].ends_with(UPDATE_COMMAND), "{}", lines[1]);
        assert!(lines[2].starts_with("⚠ ffmpeg не найден"), "{}", lines[2]);
        assert!(lines.contains(&"ffmpeg: не найден"), "{ru}");
        assert!(lines.contains(&"Cookies: не настроены"), "{ru}");
    }
}
