//! English and Russian: every sentence of the page, and the number, size,
//! speed and duration formats of each language.
//!
//! A typed table rather than an i18n crate: two languages and about a
//! hundred strings. A missing translation is a compile error (every field of
//! [`Tr`] must be filled for both), nothing is parsed at run time, and the
//! WASM carries only these strings and a few small formatters (no ICU data).

use serde::{Deserialize, Serialize};

/// A language of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Lang {
    #[default]
    En,
    Ru,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ru];

    /// The BCP 47 tag (`<html lang>`, cookie, localStorage).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }

    /// `en`, `en-GB`, `RU`, `ru-RU` → the language; anything else → `None`.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else if primary.eq_ignore_ascii_case("ru") {
            Some(Lang::Ru)
        } else {
            None
        }
    }

    /// The best language for an `Accept-Language` header (by q-value; the
    /// first listed wins a tie); `None` when it names neither.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::from_tag) else { continue };
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }

    /// `EN`, `RU` (the switcher's labels).
    pub fn short_name(self) -> &'static str {
        match self {
            Lang::En => "EN",
            Lang::Ru => "RU",
        }
    }

    /// The language's own name for itself (the switcher).
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Ru => "Русский",
        }
    }

    pub fn tr(self) -> &'static Tr {
        match self {
            Lang::En => &EN,
            Lang::Ru => &RU,
        }
    }
}

/// Every fixed sentence of the page, in one language.
pub struct Tr {
    pub tagline: &'static str,
    pub link_label: &'static str,
    pub placeholder: &'static str,
    pub paste: &'static str,
    pub paste_hint: &'static str,
    pub get_info: &'static str,
    pub looking: &'static str,
    pub loading_details: &'static str,
    pub steps: [&'static str; 3],
    pub needs_script: &'static str,
    pub channel: &'static str,
    pub duration: &'static str,
    pub views: &'static str,
    pub quality: &'static str,
    pub audio_group: &'static str,
    pub best: &'static str,
    pub best_hint: &'static str,
    pub audio_only: &'static str,
    pub audio_hint: &'static str,
    pub size_unknown: &'static str,
    pub download: &'static str,
    pub starting: &'static str,
    pub downloads: &'static str,
    pub clear_finished: &'static str,
    pub cancel: &'static str,
    pub save: &'static str,
    pub save_again: &'static str,
    pub remove: &'static str,
    pub progress_of: &'static str,
    pub checking: &'static str,
    pub queued: &'static str,
    /// Before a row's text while a download runs again after a server restart.
    pub restarted: &'static str,
    pub starting_download: &'static str,
    pub downloading: &'static str,
    pub merging: &'static str,
    pub extracting_audio: &'static str,
    pub finishing: &'static str,
    pub done: &'static str,
    pub cancelled: &'static str,
    pub failed: &'static str,
    pub expired: &'static str,
    pub of: &'static str,
    pub left: &'static str,
    pub theme: &'static str,
    pub theme_system: &'static str,
    pub theme_light: &'static str,
    pub theme_dark: &'static str,
    pub language: &'static str,
    pub footer: &'static str,
    pub status_title: &'static str,
    pub status_checking: &'static str,
    pub status_failed: &'static str,
    pub playlist: &'static str,
    pub pasted_links: &'static str,
    pub videos: &'static str,
    pub select_all: &'static str,
    pub select_none: &'static str,
    pub found: &'static str,
    pub announce_started: &'static str,
    pub announce_done: &'static str,
    pub announce_failed: &'static str,
    pub announce_cancelled: &'static str,
    pub announce_merging: &'static str,
}

pub static EN: Tr = Tr {
    tagline: "Paste a video link, pick a quality, get the file.",
    link_label: "Video link",
    placeholder: "https://www.youtube.com/watch?v=…",
    paste: "Paste",
    paste_hint: "The browser did not allow reading the clipboard: press Ctrl+V (or long-press the field) to paste.",
    get_info: "Get info",
    looking: "Looking…",
    loading_details: "Loading video details",
    steps: ["Paste a link from YouTube, Vimeo or a thousand other sites", "Pick a quality", "The file saves itself when it is ready"],
    needs_script: "Looking links up and downloading need JavaScript in this browser.",
    channel: "Channel",
    duration: "Duration",
    views: "Views",
    quality: "Quality",
    audio_group: "Sound only",
    best: "Best",
    best_hint: "best available",
    audio_only: "Audio only",
    audio_hint: "M4A",
    size_unknown: "size unknown",
    download: "Download",
    starting: "Starting…",
    downloads: "Downloads",
    clear_finished: "Clear finished",
    cancel: "Cancel",
    save: "Save file",
    save_again: "Save again",
    remove: "Remove",
    progress_of: "Progress of",
    checking: "Checking…",
    queued: "Waiting for a free slot…",
    restarted: "Restarted after the server restarted",
    starting_download: "Starting download…",
    downloading: "Downloading",
    merging: "Merging video and audio…",
    extracting_audio: "Extracting audio…",
    finishing: "Finishing the file…",
    done: "Done",
    cancelled: "Cancelled",
    failed: "The download failed",
    expired: "No longer on the server (expired or removed)",
    of: "of",
    left: "left",
    theme: "Theme",
    theme_system: "System",
    theme_light: "Light",
    theme_dark: "Dark",
    language: "Language",
    footer: "Finished files stay on this server for a while, then they are deleted.",
    status_title: "Server status",
    status_checking: "Checking…",
    status_failed: "The server did not answer. Try again later.",
    playlist: "Playlist",
    pasted_links: "Several links",
    videos: "Videos",
    select_all: "Select all",
    select_none: "Select none",
    found: "Found",
    announce_started: "Download started",
    announce_done: "Download finished",
    announce_failed: "Download failed",
    announce_cancelled: "Download cancelled",
    announce_merging: "Almost done, finishing the file",
};

pub static RU: Tr = Tr {
    tagline: "Вставьте ссылку на видео, выберите качество — и получите файл.",
    link_label: "Ссылка на видео",
    placeholder: "https://www.youtube.com/watch?v=…",
    paste: "Вставить",
    paste_hint: "Браузер не дал прочитать буфер обмена: нажмите Ctrl+V (или долгое нажатие на поле), чтобы вставить.",
    get_info: "Найти",
    looking: "Ищем…",
    loading_details: "Загружаем сведения о видео",
    steps: ["Вставьте ссылку с YouTube, VK Видео или тысячи других сайтов", "Выберите качество", "Файл сохранится сам, когда будет готов"],
    needs_script: "Чтобы искать и скачивать видео, в браузере должен работать JavaScript.",
    channel: "Канал",
    duration: "Длительность",
    views: "Просмотры",
    quality: "Качество",
    audio_group: "Только звук",
    best: "Лучшее",
    best_hint: "из доступных",
    audio_only: "Только звук",
    audio_hint: "M4A",
    size_unknown: "размер неизвестен",
    download: "Скачать",
    starting: "Запускаем…",
    downloads: "Загрузки",
    clear_finished: "Убрать завершённые",
    cancel: "Отменить",
    save: "Сохранить файл",
    save_again: "Сохранить снова",
    remove: "Убрать",
    progress_of: "Ход загрузки:",
    checking: "Проверяем…",
    queued: "Ждём свободного места…",
    restarted: "Перезапущено после перезапуска сервера",
    starting_download: "Начинаем загрузку…",
    downloading: "Загрузка",
    merging: "Соединяем видео и звук…",
    extracting_audio: "Извлекаем звук…",
    finishing: "Дособираем файл…",
    done: "Готово",
    cancelled: "Отменено",
    failed: "Загрузка не удалась",
    expired: "Файла больше нет на сервере (срок хранения истёк)",
    of: "из",
    left: "осталось",
    theme: "Тема",
    theme_system: "Как в системе",
    theme_light: "Светлая",
    theme_dark: "Тёмная",
    language: "Язык",
    footer: "Готовые файлы хранятся на этом сервере недолго, потом удаляются.",
    status_title: "Состояние сервера",
    status_checking: "Проверяем…",
    status_failed: "Сервер не ответил. Попробуйте позже.",
    playlist: "Плейлист",
    pasted_links: "Несколько ссылок",
    videos: "Видео",
    select_all: "Выбрать все",
    select_none: "Снять выбор",
    found: "Найдено",
    announce_started: "Загрузка началась",
    announce_done: "Загрузка завершена",
    announce_failed: "Загрузка не удалась",
    announce_cancelled: "Загрузка отменена",
    announce_merging: "Почти готово, собираем файл",
};

/// A failed call as the page knows it: the server's stable `code` (or one of
/// the page's own: `network`, `bad_answer`, `http_<status>`), its English
/// sentence, and its English hint (what to do about it) when it gave one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub code: Option<String>,
    pub message: String,
    #[serde(default)]
    pub hint: Option<String>,
}

impl Failure {
    pub fn new(code: &str, message: impl Into<String>) -> Failure {
        Failure { code: Some(code.to_string()), message: message.into(), hint: None }
    }

    /// The sentence to show in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        error_text(lang, self.code.as_deref(), &self.message)
    }

    /// What to do about it, in `lang`, when there is something.
    pub fn hint(&self, lang: Lang) -> Option<String> {
        error_hint(lang, self.code.as_deref(), self.hint.as_deref())
    }
}

/// A sentence for an error code. English keeps the server's own sentence
/// when there is one (it is the most specific: it may name a limit or an
/// HTTP status); Russian translates by code (the video-site failures from
/// [`crate::messages`], the rest from this file). An unknown code falls back
/// to the server's sentence in both.
pub fn error_text(lang: Lang, code: Option<&str>, server_sentence: &str) -> String {
    let server_sentence = server_sentence.trim();
    if lang == Lang::En && !server_sentence.is_empty() {
        return server_sentence.to_string();
    }
    let number = first_number(server_sentence);
    let known = code.and_then(|code| {
        crate::messages::message(code, lang)
            .map(|(sentence, _)| sentence.to_string())
            .or_else(|| code_text(lang, code, number.as_deref()))
    });
    match known {
        Some(text) => {
            // "The video could not be downloaded: <what yt-dlp said>" keeps its detail.
            if code == Some("remote_failed") {
                if let Some((_, detail)) = server_sentence.split_once(": ") {
                    return format!("{}: {detail}", text.trim_end_matches('.'));
                }
            }
            text
        }
        None if !server_sentence.is_empty() => server_sentence.to_string(),
        None => lang.tr().failed.to_string(),
    }
}

/// What to do about an error, in `lang`: the table's hint for the code, else
/// the server's (English) hint.
pub fn error_hint(lang: Lang, code: Option<&str>, server_hint: Option<&str>) -> Option<String> {
    let server_hint = server_hint.map(str::trim).filter(|h| !h.is_empty());
    if lang == Lang::En {
        if let Some(hint) = server_hint {
            return Some(hint.to_string());
        }
    }
    code.and_then(|code| crate::messages::hint(code, lang))
        .map(str::to_string)
        .or_else(|| server_hint.map(str::to_string))
}

fn first_number(text: &str) -> Option<String> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let digits: String = text[start..].chars().take_while(char::is_ascii_digit).collect();
    Some(digits)
}

fn code_text(lang: Lang, code: &str, number: Option<&str>) -> Option<String> {
    let en = lang == Lang::En;
    let pick = |e: &str, r: &str| Some(if en { e } else { r }.to_string());
    if let Some(status) = code.strip_prefix("http_") {
        return Some(if en {
            format!("The server answered with an error ({status}). Try again in a moment.")
        } else {
            format!("Сервер ответил ошибкой ({status}). Попробуйте чуть позже.")
        });
    }
    match code {
        "missing_url" => pick("Paste a link to a video first.", "Сначала вставьте ссылку на видео."),
        "invalid_url" => pick(
            "That does not look like a link. It should start with https://",
            "Это не похоже на ссылку. Она должна начинаться с https://",
        ),
        "url_too_long" => pick("That link is too long.", "Ссылка слишком длинная."),
        "unsupported_scheme" => pick(
            "Only http:// and https:// links are supported.",
            "Подходят только ссылки http:// и https://.",
        ),
        "unsupported_url" => pick(
            "No video was found at that link. Check that it points to a video page.",
            "По этой ссылке видео не нашлось. Проверьте, что она ведёт на страницу с видео.",
        ),
        "remote_not_found" => pick(
            "The site says this page does not exist (it may have been removed).",
            "Сайт сообщает, что такой страницы нет (возможно, её удалили).",
        ),
        "remote_forbidden" => pick("The site refused access to this video.", "Сайт закрыл доступ к этому видео."),
        "remote_rate_limited" => pick(
            "The site is limiting requests from this server. Try again later.",
            "Сайт ограничивает запросы с этого сервера. Попробуйте позже.",
        ),
        "remote_error" => pick(
            "The video site answered with an error. Try again later.",
            "Сайт с видео ответил ошибкой. Попробуйте позже.",
        ),
        "remote_unreachable" => pick(
            "The video site could not be reached. Check the link or try again later.",
            "Не удалось связаться с сайтом. Проверьте ссылку или попробуйте позже.",
        ),
        "format_unavailable" => pick(
            "That quality is not available for this video. Try another one.",
            "Такого качества у этого видео нет. Выберите другое.",
        ),
        "remote_failed" => pick("The video could not be downloaded", "Не удалось скачать видео"),
        "timeout" => pick(
            "The video site took too long to answer. Try again later.",
            "Сайт с видео слишком долго не отвечал. Попробуйте позже.",
        ),
        "unreadable_answer" => pick(
            "The video site gave an answer that could not be read.",
            "Сайт с видео прислал ответ, который не удалось разобрать.",
        ),
        "server_misconfigured" => pick(
            "The server cannot run its downloader right now. The administrator should check the logs.",
            "Сервер сейчас не может запустить загрузчик. Администратору стоит заглянуть в журнал.",
        ),
        "not_found" => pick(
            "Nothing is known under that id. It may have expired.",
            "Такой загрузки нет. Возможно, срок её хранения истёк.",
        ),
        "not_ready" => pick(
            "The file is not ready: the download has not completed.",
            "Файл ещё не готов: загрузка не закончилась.",
        ),
        "invalid_quality" => pick("Unknown quality.", "Неизвестное качество."),
        "bad_request" => pick("The server could not read the request.", "Сервер не понял запрос."),
        "body_too_large" => pick("The request is too large.", "Запрос слишком большой."),
        "cancelled" => pick("The download was cancelled.", "Загрузка отменена."),
        "rate_limited" => Some(match (en, number) {
            (true, Some(n)) => format!("Too many requests. Try again in {n} s."),
            (true, None) => "Too many requests. Try again in a moment.".into(),
            (false, Some(n)) => format!("Слишком много запросов. Попробуйте снова через {n} с."),
            (false, None) => "Слишком много запросов. Попробуйте чуть позже.".into(),
        }),
        "unauthorized" => pick("Log in first.", "Сначала войдите."),
        "lookups_busy" => Some(match (en, number) {
            (true, Some(n)) => format!("The server is busy looking up other links. Try again in {n} s."),
            (true, None) => "The server is busy looking up other links. Try again in a moment.".into(),
            (false, Some(n)) => format!("Сервер занят разбором других ссылок. Попробуйте снова через {n} с."),
            (false, None) => "Сервер занят разбором других ссылок. Попробуйте чуть позже.".into(),
        }),
        "login_locked" => Some(match (en, number) {
            (true, Some(n)) => format!("Too many wrong passwords. Try again in {n} s."),
            (true, None) => "Too many wrong passwords. Try again later.".into(),
            (false, Some(n)) => format!("Слишком много неверных паролей. Попробуйте снова через {n} с."),
            (false, None) => "Слишком много неверных паролей. Попробуйте позже.".into(),
        }),
        "host_not_allowed" => pick(
            "This server does not answer to that host name. If the name is yours, add it to ALLOWED_HOSTS in the server's settings.",
            "Этот сервер не отвечает на такое имя. Если имя ваше, добавьте его в ALLOWED_HOSTS в настройках сервера.",
        ),
        "account_page" => pick(
            "Links to account pages (history, watch later, liked videos, subscriptions, feeds) are not looked up here. Paste a link to a video or a public playlist.",
            "Ссылки на страницы аккаунта (история, «Смотреть позже», понравившиеся, подписки, ленты) здесь не открываются. Вставьте ссылку на видео или открытый плейлист.",
        ),
        "too_many_streams" => pick(
            "Too many live progress streams are open from your address. Close some tabs.",
            "С вашего адреса открыто слишком много потоков прогресса. Закройте часть вкладок.",
        ),
        "answer_too_large" => pick(
            "The video site's description of this link is too large to read. If it is a very long playlist, paste links to some of its videos instead.",
            "Описание этой ссылки слишком большое, чтобы его прочитать. Если это очень длинный плейлист, вставьте ссылки на отдельные видео.",
        ),
        "destination_refused" => pick(
            "This server does not download from that address.",
            "С этого адреса сервер не скачивает.",
        ),
        "too_large" => pick(
            "The file is larger than this server allows.",
            "Файл больше, чем разрешает этот сервер.",
        ),
        "too_long" => pick("The video is longer than this server allows.", "Видео длиннее, чем разрешает этот сервер."),
        "disk_quota" => pick(
            "The server has no room for more files right now. Try again later.",
            "На сервере сейчас нет места для новых файлов. Попробуйте позже.",
        ),
        "is_playlist" => pick(
            "This link is a playlist: pick its videos.",
            "Это плейлист: выберите из него видео.",
        ),
        "too_many_links" => pick("Too many links at once.", "Слишком много ссылок за раз."),
        "too_many_downloads" | "queue_full" => pick(
            "Too many downloads are waiting. Let some finish first.",
            "Слишком много загрузок в очереди. Дождитесь, пока часть закончится.",
        ),
        "network" => pick(
            "The server could not be reached. Check your connection and try again.",
            "Не удалось связаться с сервером. Проверьте подключение и попробуйте ещё раз.",
        ),
        "bad_answer" => pick(
            "The server sent an answer this page does not understand.",
            "Сервер прислал ответ, который эта страница не понимает.",
        ),
        _ => None,
    }
}

/// `1234567` → `1,234,567` (en) or `1 234 567` (ru, with no-break spaces).
pub fn group(n: u64, lang: Lang) -> String {
    let sep = match lang {
        Lang::En => ',',
        Lang::Ru => '\u{a0}',
    };
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 2);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// A decimal with `places` digits after the point, the language's way
/// (`2.5` / `2,5`).
pub fn decimal(value: f64, places: usize, lang: Lang) -> String {
    // Integer arithmetic: formatting floats would pull the float printing
    // machinery (tens of kilobytes) into the WASM.
    let scale = 10u64.pow(places as u32);
    let scaled = if value.is_finite() && value > 0.0 { (value * scale as f64).round() as u64 } else { 0 };
    let (int, frac) = (scaled / scale, scaled % scale);
    if places == 0 {
        return int.to_string();
    }
    let sep = match lang {
        Lang::En => '.',
        Lang::Ru => ',',
    };
    format!("{int}{sep}{frac:0places$}")
}

/// Russian plural form: 1 видео / 2 файла / 5 файлов → (one, few, many).
pub fn plural_ru(n: u64, one: &'static str, few: &'static str, many: &'static str) -> &'static str {
    match (n % 10, n % 100) {
        (1, r) if r != 11 => one,
        (2..=4, r) if !(12..=14).contains(&r) => few,
        _ => many,
    }
}

/// `3 videos` / `3 видео`.
pub fn videos(n: u64, lang: Lang) -> String {
    match lang {
        Lang::En if n == 1 => "1 video".into(),
        Lang::En => format!("{} videos", group(n, lang)),
        Lang::Ru => format!("{}\u{a0}видео", group(n, lang)),
    }
}

/// `Download 3 videos` / `Скачать 3 видео`.
pub fn download_videos(n: u64, lang: Lang) -> String {
    format!("{} {}", lang.tr().download, videos(n, lang))
}

/// `Showing the first 50 of 120` / `Показаны первые 50 из 120`.
pub fn showing_first(shown: u64, total: Option<u64>, lang: Lang) -> String {
    match (lang, total) {
        (Lang::En, Some(total)) => format!("Showing the first {} of {}", group(shown, lang), group(total, lang)),
        (Lang::En, None) => format!("Showing the first {}", group(shown, lang)),
        (Lang::Ru, Some(total)) => format!(
            "{} {} из {}",
            plural_ru(shown, "Показано первое", "Показаны первые", "Показаны первые"),
            group(shown, lang),
            group(total, lang)
        ),
        (Lang::Ru, None) => format!(
            "{} {}",
            plural_ru(shown, "Показано первое", "Показаны первые", "Показаны первые"),
            group(shown, lang)
        ),
    }
}

/// `2 of 3 selected` / `Выбрано 2 из 3`.
pub fn selected_of(n: u64, total: u64, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{} of {} selected", group(n, lang), group(total, lang)),
        Lang::Ru => format!("Выбрано {} из {}", group(n, lang), group(total, lang)),
    }
}

/// `2 links could not start` / `2 ссылки не удалось запустить`.
pub fn not_started(n: u64, lang: Lang) -> String {
    match lang {
        Lang::En if n == 1 => "1 video could not start".into(),
        Lang::En => format!("{n} videos could not start"),
        Lang::Ru => format!("{n}\u{a0}видео не удалось запустить"),
    }
}

/// `42.5%` / `42,5 %`.
pub fn percent(value: f64, lang: Lang) -> String {
    let value = if value.is_finite() { value.clamp(0.0, 100.0) } else { 0.0 };
    match lang {
        Lang::En => format!("{}%", decimal(value, 1, lang)),
        Lang::Ru => format!("{}\u{a0}%", decimal(value, 1, lang)),
    }
}

/// A byte count for people (powers of 1000, like the sizes in file
/// managers): `850 KB`, `12 MB`, `3.4 GB` / `850 КБ`, `12 МБ`, `3,4 ГБ`.
pub fn bytes(n: u64, lang: Lang) -> String {
    const EN_UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    const RU_UNITS: [&str; 5] = ["Б", "КБ", "МБ", "ГБ", "ТБ"];
    let units = match lang {
        Lang::En => EN_UNITS,
        Lang::Ru => RU_UNITS,
    };
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 999.5 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    let number = if unit == 0 {
        n.to_string()
    } else if value < 9.95 {
        decimal(value, 1, lang)
    } else {
        decimal(value, 0, lang)
    };
    format!("{number}\u{a0}{}", units[unit])
}

/// `2.6 MB/s` / `2,6 МБ/с`.
pub fn speed(bytes_per_sec: f64, lang: Lang) -> String {
    let b = if bytes_per_sec.is_finite() && bytes_per_sec > 0.0 { bytes_per_sec.round() as u64 } else { 0 };
    let per = match lang {
        Lang::En => "/s",
        Lang::Ru => "/с",
    };
    format!("{}{per}", bytes(b, lang))
}

/// A length of time in words: `45 s`, `2 min 05 s`, `1 h 02 min` / `45 с`,
/// `2 мин 05 с`, `1 ч 02 мин`.
pub fn span(secs: u64, lang: Lang) -> String {
    let (h, m, s) = match lang {
        Lang::En => ("h", "min", "s"),
        Lang::Ru => ("ч", "мин", "с"),
    };
    match secs {
        0..=59 => format!("{secs}\u{a0}{s}"),
        60..=3599 => format!("{}\u{a0}{m} {:02}\u{a0}{s}", secs / 60, secs % 60),
        _ => format!("{}\u{a0}{h} {:02}\u{a0}{m}", secs / 3600, secs % 3600 / 60),
    }
}

/// Time left: `10 s left` / `осталось 10 с`.
pub fn eta(secs: u64, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{} {}", span(secs, lang), EN.left),
        Lang::Ru => format!("{}\u{a0}{}", RU.left, span(secs, lang)),
    }
}

/// A running time as a clock, like video players show it: `0:20`, `4:05`,
/// `1:02:05` (the same in both languages).
pub fn clock(secs: u64) -> String {
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

/// An ISO 8601 duration for `<time datetime>`: `PT1H2M5S`.
pub fn iso_duration(secs: u64) -> String {
    format!("PT{}H{}M{}S", secs / 3600, secs / 60 % 60, secs % 60)
}

/// `HH:MM:SS` (the API's text form) → seconds.
pub fn parse_clock(text: &str) -> Option<u64> {
    let mut total = 0u64;
    for part in text.trim().split(':') {
        total = total.checked_mul(60)?.checked_add(part.parse::<u64>().ok()?)?;
    }
    Some(total)
}

/// The API's speed text (`2.50 MiB/s`, `512 B/s`) → bytes per second.
pub fn parse_speed(text: &str) -> Option<f64> {
    let text = text.trim().strip_suffix("/s")?;
    let (number, unit) = text.split_once(' ')?;
    let value: f64 = number.parse().ok()?;
    let factor = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        _ => return None,
    };
    Some(value * factor)
}

/// The API's ETA text (`10s`, `1m 05s`, `1h 02m`) → seconds.
pub fn parse_eta(text: &str) -> Option<u64> {
    let mut total = 0u64;
    let mut any = false;
    for part in text.split_whitespace() {
        let unit_at = part.find(|c: char| !c.is_ascii_digit())?;
        let (number, unit) = part.split_at(unit_at);
        let n: u64 = number.parse().ok()?;
        total += match unit {
            "s" => n,
            "m" => n * 60,
            "h" => n * 3600,
            "d" => n * 86_400,
            _ => return None,
        };
        any = true;
    }
    any.then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_come_from_tags_and_headers() {
        assert_eq!(Lang::from_tag("ru-RU"), Some(Lang::Ru));
        assert_eq!(Lang::from_tag("EN"), Some(Lang::En));
        assert_eq!(Lang::from_tag("de"), None);
        assert_eq!(Lang::from_accept_language("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7"), Some(Lang::Ru));
        assert_eq!(Lang::from_accept_language("de-DE,de;q=0.9,en;q=0.5,ru;q=0.8"), Some(Lang::Ru));
        assert_eq!(Lang::from_accept_language("en-GB, ru;q=0.9"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("fr, de"), None);
        assert_eq!(Lang::from_accept_language("ru;q=0, en;q=0.1"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language(""), None);
    }

    #[test]
    fn numbers_group_the_languages_way() {
        assert_eq!(group(1_234_567, Lang::En), "1,234,567");
        assert_eq!(group(1_234_567, Lang::Ru), "1\u{a0}234\u{a0}567");
        assert_eq!(group(999, Lang::Ru), "999");
        assert_eq!(percent(42.54, Lang::En), "42.5%");
        assert_eq!(decimal(2.96, 1, Lang::Ru), "3,0");
        assert_eq!(decimal(0.05, 2, Lang::En), "0.05");
        assert_eq!(percent(100.0, Lang::Ru), "100,0\u{a0}%");
    }

    #[test]
    fn sizes_speeds_and_times_read_naturally() {
        assert_eq!(bytes(512, Lang::En), "512\u{a0}B");
        assert_eq!(bytes(1_234, Lang::En), "1.2\u{a0}KB");
        assert_eq!(bytes(12_345_678, Lang::Ru), "12\u{a0}МБ");
        assert_eq!(bytes(3_400_000_000, Lang::Ru), "3,4\u{a0}ГБ");
        assert_eq!(bytes(999_999, Lang::En), "1.0\u{a0}MB");
        assert_eq!(speed(2_600_000.0, Lang::Ru), "2,6\u{a0}МБ/с");
        assert_eq!(speed(2_600_000.0, Lang::En), "2.6\u{a0}MB/s");
        assert_eq!(eta(65, Lang::En), "1\u{a0}min 05\u{a0}s left");
        assert_eq!(eta(10, Lang::Ru), "осталось\u{a0}10\u{a0}с");
        assert_eq!(span(3720, Lang::Ru), "1\u{a0}ч 02\u{a0}мин");
        assert_eq!(clock(20), "0:20");
        assert_eq!(clock(3725), "1:02:05");
        assert_eq!(iso_duration(3725), "PT1H2M5S");
    }

    #[test]
    fn counts_agree_with_their_numbers() {
        assert_eq!(videos(1, Lang::En), "1 video");
        assert_eq!(videos(1234, Lang::En), "1,234 videos");
        assert_eq!(videos(3, Lang::Ru), "3\u{a0}видео");
        assert_eq!(plural_ru(1, "a", "b", "c"), "a");
        assert_eq!(plural_ru(11, "a", "b", "c"), "c");
        assert_eq!(plural_ru(22, "a", "b", "c"), "b");
        assert_eq!(plural_ru(112, "a", "b", "c"), "c");
        assert_eq!(plural_ru(25, "a", "b", "c"), "c");
        assert_eq!(plural_ru(101, "a", "b", "c"), "a");
        assert_eq!(showing_first(21, Some(40), Lang::Ru), "Показано первое 21 из 40");
        assert_eq!(showing_first(50, None, Lang::En), "Showing the first 50");
    }

    #[test]
    fn the_apis_texts_parse_back() {
        assert_eq!(parse_clock("00:00:20"), Some(20));
        assert_eq!(parse_clock("01:02:05"), Some(3725));
        assert_eq!(parse_clock("x"), None);
        assert_eq!(parse_speed("2.50 MiB/s"), Some(2.5 * 1024.0 * 1024.0));
        assert_eq!(parse_speed("512 B/s"), Some(512.0));
        assert_eq!(parse_speed("fast"), None);
        assert_eq!(parse_eta("10s"), Some(10));
        assert_eq!(parse_eta("1m 05s"), Some(65));
        assert_eq!(parse_eta("1h 02m"), Some(3720));
        assert_eq!(parse_eta(""), None);
    }

    #[test]
    fn errors_are_translated_by_code() {
        let sentence = "That does not look like a link. It should start with https://";
        assert_eq!(error_text(Lang::En, Some("invalid_url"), sentence), sentence);
        assert!(error_text(Lang::Ru, Some("invalid_url"), sentence).starts_with("Это не похоже на ссылку"));
        // Unknown codes keep the server's sentence.
        assert_eq!(error_text(Lang::Ru, Some("brand_new"), "Something new."), "Something new.");
        assert_eq!(
            error_text(Lang::Ru, Some("rate_limited"), "Too many requests. Try again in 7 s."),
            "Слишком много запросов. Попробуйте снова через 7 с."
        );
        assert_eq!(
            error_text(Lang::Ru, Some("remote_failed"), "The video could not be downloaded: HTTP Error 500"),
            "Не удалось скачать видео: HTTP Error 500"
        );
        assert_eq!(error_text(Lang::En, Some("network"), ""), code_text(Lang::En, "network", None).unwrap_or_default());
        assert!(error_text(Lang::Ru, Some("http_502"), "").contains("502"));
        assert_eq!(error_text(Lang::Ru, None, ""), RU.failed);
        // Video-site failures come from the messages table, with a hint.
        let bot = error_text(Lang::Ru, Some("bot_check"), "YouTube asked this server to prove it is not a bot.");
        assert!(bot.contains("не бот"), "{bot}");
        assert!(error_hint(Lang::Ru, Some("bot_check"), Some("Set up cookies")).is_some_and(|h| h.contains("COOKIES_FILE")));
        assert_eq!(error_hint(Lang::En, Some("bot_check"), Some("Server hint.")).as_deref(), Some("Server hint."));
        assert_eq!(error_hint(Lang::Ru, Some("brand_new"), Some("Server hint.")).as_deref(), Some("Server hint."));
        assert_eq!(error_hint(Lang::Ru, Some("missing_url"), None), None);
    }

    #[test]
    fn public_instance_refusals_are_translated() {
        for code in ["lookups_busy", "login_locked", "host_not_allowed", "account_page", "too_many_streams", "answer_too_large"] {
            let ru = code_text(Lang::Ru, code, None).unwrap_or_default();
            assert!(ru.chars().any(|c| ('а'..='я').contains(&c)), "{code}: {ru}");
            assert_ne!(Some(ru), code_text(Lang::En, code, None), "{code}");
        }
        assert_eq!(
            error_text(Lang::Ru, Some("login_locked"), "Too many wrong passwords. Try again in 40 s."),
            "Слишком много неверных паролей. Попробуйте снова через 40 с."
        );
    }
}
