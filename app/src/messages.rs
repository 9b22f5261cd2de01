//! What a failed lookup or download means, and what to do about it, in
//! English and Russian: one sentence and one hint for every error code the
//! server gives for a failure of the video site (`failure_code` in the
//! server's `error.rs`).
//!
//! The server sends the English sentence as `error` and the English hint as
//! `hint`; the page can show either language from the `code`. A plain table,
//! so a missing translation is visible at a glance and nothing is parsed at
//! run time.

pub use crate::i18n::Lang;

/// One code's sentence and hint in both languages.
struct Entry {
    code: &'static str,
    en: (&'static str, &'static str),
    ru: (&'static str, &'static str),
}

/// Every code, with (sentence, hint) in English and in Russian.
const TABLE: &[Entry] = &[
    // YouTube's refusals.
    Entry {
        code: "bot_check",
        en: (
            "YouTube asked this server to prove it is not a bot.",
            "Set up cookies (COOKIES_FILE) or a PO-token provider (POT_PROVIDER_URL): see the README's YouTube section. Trying again later may also help.",
        ),
        ru: (
            "YouTube попросил этот сервер доказать, что он не бот.",
            "Настройте cookies (COOKIES_FILE) или провайдер PO-токенов (POT_PROVIDER_URL): см. раздел о YouTube в README. Может помочь и повторная попытка позже.",
        ),
    },
    Entry {
        code: "private_video",
        en: (
            "This video is private: only people the uploader has invited can watch it.",
            "Ask the uploader for access. The server can download it only with the cookies (COOKIES_FILE) of an account that has been granted access.",
        ),
        ru: (
            "Это видео приватное: смотреть его могут только те, кого пригласил автор.",
            "Попросите доступ у автора. Сервер сможет скачать видео только с cookies (COOKIES_FILE) аккаунта, которому открыт доступ.",
        ),
    },
    Entry {
        code: "members_only",
        en: (
            "This video is only for the channel's paying members.",
            "It can be downloaded only with the cookies (COOKIES_FILE) of an account that is a member of the channel.",
        ),
        ru: (
            "Это видео только для платных спонсоров канала.",
            "Скачать его можно только с cookies (COOKIES_FILE) аккаунта, оформившего спонсорство канала.",
        ),
    },
    Entry {
        code: "age_restricted",
        en: (
            "YouTube shows this video only to signed-in adults.",
            "Set up cookies (COOKIES_FILE) of an adult YouTube account: see the README's YouTube section.",
        ),
        ru: (
            "YouTube показывает это видео только взрослым, вошедшим в аккаунт.",
            "Настройте cookies (COOKIES_FILE) взрослого аккаунта YouTube: см. раздел о YouTube в README.",
        ),
    },
    Entry {
        code: "geo_blocked",
        en: (
            "This video is not available in the country this server is in.",
            "It may work from a server in another country, or through a proxy there.",
        ),
        ru: (
            "Это видео недоступно в стране, где находится сервер.",
            "Оно может скачаться с сервера в другой стране или через прокси в ней.",
        ),
    },
    Entry {
        code: "video_removed",
        en: (
            "This video is no longer available: it was removed, or its channel was closed.",
            "Open the link in a browser: if the video is gone there too, it cannot be downloaded.",
        ),
        ru: (
            "Этого видео больше нет: его удалили или закрыли канал.",
            "Откройте ссылку в браузере: если видео нет и там, скачать его нельзя.",
        ),
    },
    Entry {
        code: "live_not_started",
        en: (
            "This live stream or premiere has not started yet.",
            "Try again once it has started.",
        ),
        ru: (
            "Эта трансляция или премьера ещё не началась.",
            "Попробуйте снова, когда она начнётся.",
        ),
    },
    // Any site.
    Entry {
        code: "unsupported_url",
        en: (
            "No video was found at that link. Check that it points to a video page.",
            "Open the link in a browser and copy the address of the page the video plays on.",
        ),
        ru: (
            "По этой ссылке видео не нашлось. Проверьте, что она ведёт на страницу с видео.",
            "Откройте ссылку в браузере и скопируйте адрес страницы, где играет видео.",
        ),
    },
    Entry {
        code: "invalid_url",
        en: (
            "That does not look like a link. It should start with https://",
            "Copy the whole address from the browser's address bar.",
        ),
        ru: (
            "Это не похоже на ссылку. Она должна начинаться с https://",
            "Скопируйте адрес целиком из адресной строки браузера.",
        ),
    },
    Entry {
        code: "remote_not_found",
        en: (
            "The site says this page does not exist (it may have been removed).",
            "Check the link in a browser.",
        ),
        ru: (
            "Сайт сообщает, что такой страницы нет (возможно, её удалили).",
            "Проверьте ссылку в браузере.",
        ),
    },
    Entry {
        code: "remote_forbidden",
        en: (
            "The site refused access to this video.",
            "On YouTube this usually means the server needs a newer yt-dlp or a PO-token provider (POT_PROVIDER_URL): the administrator can check /api/health.",
        ),
        ru: (
            "Сайт закрыл доступ к этому видео.",
            "На YouTube это обычно значит, что серверу нужен более новый yt-dlp или провайдер PO-токенов (POT_PROVIDER_URL): администратор может заглянуть в /api/health.",
        ),
    },
    Entry {
        code: "remote_rate_limited",
        en: (
            "The site is limiting requests from this server. Try again later.",
            "Wait an hour or so. On YouTube, cookies (COOKIES_FILE) or a PO-token provider (POT_PROVIDER_URL) make this rarer.",
        ),
        ru: (
            "Сайт ограничивает запросы с этого сервера. Попробуйте позже.",
            "Подождите около часа. На YouTube это случается реже с cookies (COOKIES_FILE) или провайдером PO-токенов (POT_PROVIDER_URL).",
        ),
    },
    Entry {
        code: "remote_error",
        en: (
            "The video site answered with an error. Try again later.",
            "The problem is on the site's side; it usually passes.",
        ),
        ru: (
            "Сайт с видео ответил ошибкой. Попробуйте позже.",
            "Сбой на стороне сайта; обычно это проходит.",
        ),
    },
    Entry {
        code: "remote_unreachable",
        en: (
            "The video site could not be reached. Check the link or try again later.",
            "If other sites work, this one may be down or blocked for the server.",
        ),
        ru: (
            "Не удалось связаться с сайтом. Проверьте ссылку или попробуйте позже.",
            "Если другие сайты работают, этот может быть недоступен или заблокирован для сервера.",
        ),
    },
    Entry {
        code: "format_unavailable",
        en: (
            "That quality is not available for this video. Try another one.",
            "Choose \"Best\", which always works.",
        ),
        ru: (
            "Такого качества у этого видео нет. Выберите другое.",
            "Выберите «Лучшее» — оно подходит всегда.",
        ),
    },
    // The server's own limits on a running download.
    Entry {
        code: "disk_full",
        en: (
            "The server has no room for this download right now.",
            "Try again when earlier files have expired. The administrator can raise DISK_QUOTA or free space (MIN_FREE_DISK).",
        ),
        ru: (
            "На сервере сейчас нет места для этой загрузки.",
            "Попробуйте снова, когда истечёт срок хранения прежних файлов. Администратор может увеличить DISK_QUOTA или освободить место (MIN_FREE_DISK).",
        ),
    },
    Entry {
        code: "too_slow",
        en: (
            "The video site sent the video too slowly for too long, so the download was stopped.",
            "Try again later or pick a lower quality. The administrator sets the floor with MIN_SPEED and MIN_SPEED_WINDOW_SECS.",
        ),
        ru: (
            "Сайт слишком долго отдавал видео слишком медленно, поэтому загрузка остановлена.",
            "Попробуйте позже или выберите качество пониже. Администратор задаёт нижний предел скорости через MIN_SPEED и MIN_SPEED_WINDOW_SECS.",
        ),
    },
    Entry {
        code: "remote_failed",
        en: (
            "The video could not be downloaded",
            "Try again later; if it keeps failing, the server's yt-dlp may need an update (see /api/health).",
        ),
        ru: (
            "Не удалось скачать видео",
            "Попробуйте позже; если ошибка повторяется, yt-dlp на сервере, возможно, пора обновить (см. /api/health).",
        ),
    },
];

/// The sentence and the hint for an error code in `lang`; `None` for a code
/// not in the table.
pub fn message(code: &str, lang: Lang) -> Option<(&'static str, &'static str)> {
    let entry = TABLE.iter().find(|e| e.code == code)?;
    Some(match lang {
        Lang::En => entry.en,
        Lang::Ru => entry.ru,
    })
}

/// Just the hint.
pub fn hint(code: &str, lang: Lang) -> Option<&'static str> {
    message(code, lang).map(|(_, hint)| hint)
}

/// Every code the table knows.
pub fn codes() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|e| e.code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_both_languages() {
        let mut seen = std::collections::HashSet::new();
        for entry in TABLE {
            assert!(seen.insert(entry.code), "{} twice", entry.code);
            for (sentence, hint) in [entry.en, entry.ru] {
                assert!(!sentence.trim().is_empty() && !hint.trim().is_empty(), "{}", entry.code);
            }
            assert_ne!(entry.en, entry.ru, "{} is not translated", entry.code);
            // Russian text is in Cyrillic (names of settings aside).
            assert!(entry.ru.0.chars().any(|c| ('а'..='я').contains(&c)), "{}", entry.code);
        }
    }

    #[test]
    fn bot_check_points_at_the_fixes() {
        let (sentence, hint) = message("bot_check", Lang::En).unwrap_or_default();
        assert_eq!(sentence, "YouTube asked this server to prove it is not a bot.");
        assert!(hint.contains("COOKIES_FILE") && hint.contains("POT_PROVIDER_URL"), "{hint}");
        let (sentence, hint) = message("bot_check", Lang::Ru).unwrap_or_default();
        assert!(sentence.contains("не бот"), "{sentence}");
        assert!(hint.contains("COOKIES_FILE"), "{hint}");
        assert_eq!(message("no_such_code", Lang::En), None);
        assert_eq!(super::hint("geo_blocked", Lang::Ru), message("geo_blocked", Lang::Ru).map(|m| m.1));
    }
}
