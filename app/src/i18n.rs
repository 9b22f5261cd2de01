//! English and Russian: every fixed sentence of the page ([`Tr`]), and the
//! page's view of a failure ([`Failure`], worded by `contract::sentences`).
//!
//! A typed table rather than an i18n crate: two languages and about a
//! hundred strings. A missing translation is a compile error (every field of
//! [`Tr`] must be filled for both), nothing is parsed at run time, and the
//! WASM carries only these strings and a few small formatters (no ICU data).

use contract::sentences;
use contract::{Detail, ErrorCode};
use serde::{Deserialize, Serialize};

pub use contract::format::{bytes, clock, decimal, group, iso_duration, percent, plural_ru, span, speed};
pub use contract::Lang;

/// The page's fixed sentences of a language.
pub trait Texts {
    fn tr(self) -> &'static Tr;
}

impl Texts for Lang {
    fn tr(self) -> &'static Tr {
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
    /// Before the bookmarklet: where to put it.
    pub bookmarklet_lead: &'static str,
    /// The bookmarklet's own name, as the bookmarks bar shows it.
    pub bookmarklet_name: &'static str,
    /// After it: what it does.
    pub bookmarklet_tail: &'static str,
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
    pub page_not_found: &'static str,
    pub go_home: &'static str,
    /// The clip control's legend.
    pub clip: &'static str,
    pub clip_start: &'static str,
    pub clip_end: &'static str,
    /// The slider's handles.
    pub clip_start_handle: &'static str,
    pub clip_end_handle: &'static str,
    /// Before the clip's length, when it is a part.
    pub clip_length: &'static str,
    /// Before the length, when nothing is cut (and on the button that undoes a cut).
    pub whole_video: &'static str,
    pub more_options: &'static str,
    pub audio_format: &'static str,
    pub audio_bitrate: &'static str,
    /// The bitrate left to the server.
    pub bitrate_default: &'static str,
    pub subtitles: &'static str,
    /// The group of languages made by speech recognition.
    pub automatic_subtitles: &'static str,
    pub filter_languages: &'static str,
    /// Under a long list of languages: how many one download takes.
    pub subtitles_limit: &'static str,
    pub subtitles_where: &'static str,
    pub subtitles_embed: &'static str,
    pub subtitles_files: &'static str,
    pub subtitles_both: &'static str,
    pub subtitles_format: &'static str,
    pub tags: &'static str,
}

static EN: Tr = Tr {
    tagline: "Paste a video link, pick a quality, get the file.",
    link_label: "Video link",
    placeholder: "https://www.youtube.com/watch?v=…",
    paste: "Paste",
    paste_hint: "The browser did not allow reading the clipboard: press Ctrl+V (or long-press the field) to paste.",
    get_info: "Get info",
    looking: "Looking…",
    loading_details: "Loading video details",
    steps: [
        "Paste a link from YouTube, Vimeo or a thousand other sites",
        "Pick a quality",
        "The file saves itself when it is ready",
    ],
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
    bookmarklet_lead: "On a computer, drag",
    bookmarklet_name: "Send to Kachay",
    bookmarklet_tail: "to the bookmarks bar, then click it on a video's page.",
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
    page_not_found: "Page not found.",
    go_home: "Go to the main page",
    clip: "Part to download",
    clip_start: "Start",
    clip_end: "End",
    clip_start_handle: "Move the start",
    clip_end_handle: "Move the end",
    clip_length: "Clip",
    whole_video: "Whole video",
    more_options: "More options",
    audio_format: "Format",
    audio_bitrate: "Bitrate, kbit/s",
    bitrate_default: "Default",
    subtitles: "Subtitles",
    automatic_subtitles: "Automatic subtitles",
    filter_languages: "Filter languages",
    subtitles_limit: "Up to 20 languages at once.",
    subtitles_where: "Put them",
    subtitles_embed: "Into the video",
    subtitles_files: "In files beside it (ZIP)",
    subtitles_both: "Both",
    subtitles_format: "File format",
    tags: "Write title, artist, date, chapters and cover art into the file",
};

pub(crate) static RU: Tr = Tr {
    tagline: "Вставьте ссылку на видео, выберите качество — и получите файл.",
    link_label: "Ссылка на видео",
    placeholder: "https://www.youtube.com/watch?v=…",
    paste: "Вставить",
    paste_hint: "Браузер не дал прочитать буфер обмена: нажмите Ctrl+V (или долгое нажатие на поле), чтобы вставить.",
    get_info: "Найти",
    looking: "Ищем…",
    loading_details: "Загружаем сведения о видео",
    steps: [
        "Вставьте ссылку с YouTube, VK Видео или тысячи других сайтов",
        "Выберите качество",
        "Файл сохранится сам, когда будет готов",
    ],
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
    bookmarklet_lead: "На компьютере перетащите",
    bookmarklet_name: "В Kachay",
    bookmarklet_tail: "на панель закладок и нажимайте её на странице видео.",
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
    page_not_found: "Такой страницы нет.",
    go_home: "На главную",
    clip: "Какую часть скачать",
    clip_start: "Начало",
    clip_end: "Конец",
    clip_start_handle: "Сдвинуть начало",
    clip_end_handle: "Сдвинуть конец",
    clip_length: "Фрагмент",
    whole_video: "Всё видео",
    more_options: "Ещё настройки",
    audio_format: "Формат",
    audio_bitrate: "Битрейт, кбит/с",
    bitrate_default: "По умолчанию",
    subtitles: "Субтитры",
    automatic_subtitles: "Автоматические субтитры",
    filter_languages: "Найти язык",
    subtitles_limit: "Не больше 20 языков за раз.",
    subtitles_where: "Куда их",
    subtitles_embed: "В видео",
    subtitles_files: "Отдельными файлами (ZIP)",
    subtitles_both: "И туда, и туда",
    subtitles_format: "Формат файлов",
    tags: "Записать в файл название, автора, дату, главы и обложку",
};

/// A failed call as the page knows it: the server's stable code (or one of
/// the page's own: `network`, `bad_answer`, `http_status`), the figures of
/// its sentence, and the server's English sentence and hint (shown only for
/// a code this build does not know).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub code: ErrorCode,
    #[serde(default)]
    pub detail: Detail,
    pub message: String,
    #[serde(default)]
    pub hint: Option<String>,
}

impl Failure {
    /// A failure the page words itself.
    pub fn of(code: ErrorCode) -> Failure {
        Failure::with(code, Detail::default())
    }

    /// The same, with figures.
    pub fn with(code: ErrorCode, detail: Detail) -> Failure {
        let message = sentences::sentence(code, Lang::En, &detail);
        Failure { code, detail, message, hint: None }
    }

    /// What the server said: an error body, a batch item's or a job's error.
    pub fn from_server(
        code: Option<ErrorCode>,
        detail: Option<Detail>,
        message: String,
        hint: Option<String>,
    ) -> Failure {
        Failure { code: code.unwrap_or(ErrorCode::Unknown), detail: detail.unwrap_or_default(), message, hint }
    }

    /// A failed job's error.
    pub fn of_job(status: &crate::api::JobStatus) -> Failure {
        let message = status.error.clone().unwrap_or_else(|| status.status_text.clone());
        Failure::from_server(status.error_code, status.error_detail.clone(), message, status.hint.clone())
    }

    /// The sentence to show in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        match self.code {
            ErrorCode::Unknown if self.message.trim().is_empty() => lang.tr().failed.to_string(),
            ErrorCode::Unknown => self.message.trim().to_string(),
            code => sentences::sentence(code, lang, &self.detail),
        }
    }

    /// What to do about it, in `lang`, when there is something.
    pub fn hint(&self, lang: Lang) -> Option<String> {
        match self.code {
            ErrorCode::Unknown => self.hint.clone().filter(|h| !h.trim().is_empty()),
            code => sentences::hint(code, lang).map(str::to_string),
        }
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

/// Time left: `10 s left` / `осталось 10 с`.
pub fn eta(secs: u64, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{} {}", span(secs, lang), EN.left),
        Lang::Ru => format!("{}\u{a0}{}", RU.left, span(secs, lang)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn errors_are_worded_from_their_code() {
        let invalid = Failure::from_server(
            Some(ErrorCode::InvalidUrl),
            None,
            "That does not look like a link. It should start with https://".into(),
            None,
        );
        assert_eq!(invalid.text(Lang::En), invalid.message);
        assert!(invalid.text(Lang::Ru).starts_with("Это не похоже на ссылку"));
        // A code from a newer server keeps the server's sentence and hint.
        let new = Failure::from_server(None, None, "Something new.".into(), Some("Server hint.".into()));
        assert_eq!(new.text(Lang::Ru), "Something new.");
        assert_eq!(new.hint(Lang::Ru).as_deref(), Some("Server hint."));
        assert_eq!(Failure::from_server(None, None, String::new(), None).text(Lang::Ru), RU.failed);
        let busy = Failure::with(ErrorCode::RateLimited, Detail::retry_after(7));
        assert_eq!(busy.text(Lang::Ru), "Слишком много запросов. Попробуйте снова через 7 с.");
        assert!(Failure::with(ErrorCode::HttpStatus, Detail::http_status(502)).text(Lang::Ru).contains("502"));
        let bot = Failure::of(ErrorCode::BotCheck);
        assert!(bot.text(Lang::Ru).contains("не бот"));
        assert!(bot.hint(Lang::Ru).is_some_and(|h| h.contains("COOKIES_FILE")));
        assert_eq!(Failure::of(ErrorCode::MissingUrl).hint(Lang::Ru), None);
    }

    /// The two codes the page used to miss (it translated `queue_full` and
    /// `disk_quota`, the server sends `server_busy` and `disk_full`).
    #[test]
    fn server_busy_and_disk_full_read_in_russian() {
        for (code, words) in [(ErrorCode::ServerBusy, "загрузок в очереди"), (ErrorCode::DiskFull, "Диск сервера")]
        {
            let text = Failure::from_server(Some(code), None, "English.".into(), None).text(Lang::Ru);
            assert!(text.contains(words), "{code}: {text}");
        }
    }
}
