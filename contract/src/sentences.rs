//! One table of sentences: what each [`ErrorCode`] means and what to do
//! about it, in every [`Lang`]. The server sends the English as `error` and
//! `hint`; the page words the same code in the reader's language; the
//! figures come from the [`Detail`], never from parsing a sentence.
//!
//! Each language is one exhaustive `match`: a new code without a sentence,
//! or a new language without its table, does not compile. Adding a
//! language: write its function beside [`english`] and [`russian`] and add
//! its arm to [`entry`].

use crate::format::{bytes, clock, format_duration, iec_bytes, plural_ru, short_span, span, speed};
use crate::{Detail, ErrorCode, Lang};

/// The sentence people read for `code`, with the figures of `detail`.
pub fn sentence(code: ErrorCode, lang: Lang, detail: &Detail) -> String {
    entry(code, lang, detail).0
}

/// What the person can do about it, when there is something.
pub fn hint(code: ErrorCode, lang: Lang) -> Option<&'static str> {
    entry(code, lang, &Detail::default()).1
}

fn entry(code: ErrorCode, lang: Lang, detail: &Detail) -> (String, Option<&'static str>) {
    match lang {
        Lang::En => english(code, detail),
        Lang::Ru => russian(code, detail),
    }
}

/// A sentence without a hint.
fn plain(text: impl Into<String>) -> (String, Option<&'static str>) {
    (text.into(), None)
}

/// A sentence with a hint.
fn with_hint(text: impl Into<String>, hint: &'static str) -> (String, Option<&'static str>) {
    (text.into(), Some(hint))
}

fn english(code: ErrorCode, d: &Detail) -> (String, Option<&'static str>) {
    use ErrorCode as C;
    let retry = |what: &str| match d.retry_after_secs {
        Some(secs) => format!("{what} Try again in {secs} s."),
        None => format!("{what} Try again in a moment."),
    };
    match code {
        C::MissingUrl => plain("Paste a link to a video first."),
        C::InvalidUrl => with_hint(
            d.reason.clone().unwrap_or_else(|| "That does not look like a link. It should start with https://".into()),
            "Copy the whole address from the browser's address bar.",
        ),
        C::UrlTooLong => plain(match d.limit {
            Some(n) => format!("That link is too long (the limit is {n} characters)."),
            None => "That link is too long.".into(),
        }),
        C::UnsupportedScheme => plain("Only http:// and https:// links are supported."),
        C::InvalidQuality => plain("Unknown quality. Use one of: auto, 2160, 1440, 1080, 720, 480, 360, audio."),
        C::InvalidClipTime => with_hint(
            "A clip's start or end is not a time.",
            "Write times as seconds (75) or as minutes:seconds (1:15), or hours:minutes:seconds (1:02:03.5).",
        ),
        C::InvalidClipRange => plain(match d.limit {
            Some(n) => format!("The clip must lie within the video, which is {} long.", clock(n)),
            None => "The clip's end must come at least half a second after its start.".into(),
        }),
        C::InvalidAudioFormat => plain(
            "Unknown audio format or bitrate. Formats: m4a, mp3, opus, flac; bitrates: 96, 128, 160, 192, 256, 320 kbit/s (not for flac).",
        ),
        C::InvalidSubtitles => plain(match &d.reason {
            Some(lang) => format!("This video has no subtitles in \"{lang}\"."),
            None => "Unknown subtitle choice. Modes: embed, files, both; formats: srt, vtt.".into(),
        }),
        C::InvalidLimit => plain(match d.limit {
            Some(n) => format!("limit must be a number from 1 to {n}."),
            None => "limit must be a positive number.".into(),
        }),
        C::InvalidCursor => plain("before must be the id of a download from the list."),
        C::BadFormat => plain("format must be json or text."),
        C::TooManyLinks => plain(match d.limit {
            Some(n) => format!("At most {n} links at once."),
            None => "Too many links at once.".into(),
        }),
        C::IsPlaylist => plain("This link is a playlist. Pick its videos (POST /api/download-batch with their links)."),
        C::BadRequest => plain(d.reason.clone().unwrap_or_else(|| "The request could not be read.".into())),
        C::BodyTooLarge => plain(match d.limit {
            Some(n) => format!("The request is too large (the limit is {n} bytes)."),
            None => "The request is too large.".into(),
        }),
        C::NotFound => plain("Nothing is known under that id. It may have expired."),
        C::NotReady => plain("The file is not ready: the download has not completed."),
        C::Unauthorized => plain("Log in first (or send the access password as a bearer token)."),
        C::RateLimited => plain(retry("Too many requests.")),
        C::LoginLocked => plain(retry("Too many wrong passwords.")),
        C::LookupsBusy => plain(retry("The server is busy looking up other links.")),
        C::HostNotAllowed => plain(
            "This server does not answer to that host name. If the name is yours, add it to ALLOWED_HOSTS \
             (a comma list) in the server's settings, or set ACCESS_PASSWORD.",
        ),
        C::AccountPage => plain(
            "Links to account pages (history, watch later, liked videos, subscriptions, feeds) are not looked up \
             here: they would show the server's own account. Paste a link to a video or a public playlist.",
        ),
        C::TooManyStreams => plain(match d.limit {
            Some(n) => format!(
                "Too many live progress streams are open from your address (the limit is {n}). \
                 Close some tabs, or follow downloads with /api/status."
            ),
            None => "Too many live progress streams are open from your address. Close some tabs.".into(),
        }),
        C::ServerBusy => plain("The server has too many downloads waiting. Try again in a few minutes."),
        C::SharedStateUnavailable => with_hint(
            retry("The server cannot reach its shared database just now."),
            "If this lasts, the administrator should check that Redis (REDIS_URL) is running and reachable.",
        ),
        C::TooManyDownloads => plain(match (d.count, d.limit) {
            (Some(mine), Some(limit)) => format!(
                "You already have {mine} downloads waiting or running (the limit is {limit}). Wait for some to finish."
            ),
            _ => "Too many downloads are waiting. Let some finish first.".into(),
        }),
        C::DiskFull => with_hint(
            match d.limit {
                Some(quota) => format!(
                    "The server's download space ({}) is full. Try again when earlier files have expired.",
                    iec_bytes(quota)
                ),
                None => "The server's disk is almost full. Try again later.".into(),
            },
            "Try again when earlier files have expired. The administrator can raise DISK_QUOTA or free space (MIN_FREE_DISK).",
        ),
        C::TooLarge => plain(match d.limit {
            Some(limit) => format!("The file is larger than this server allows ({}).", iec_bytes(limit)),
            None => "The file is larger than this server allows.".into(),
        }),
        C::TooLong => plain(match d.limit {
            Some(limit) => format!("This video is longer than this server allows ({}).", format_duration(limit)),
            None => "This video is longer than this server allows.".into(),
        }),
        C::TooSlow => with_hint(
            match (d.min_speed_bps, d.window_secs) {
                (Some(floor), Some(window)) => format!(
                    "The video site sent less than {}/s for {}, so the download was stopped. Try again later.",
                    iec_bytes(floor),
                    short_span(window)
                ),
                _ => "The video site sent the video too slowly for too long, so the download was stopped.".into(),
            },
            "Try again later or pick a lower quality. The administrator sets the floor with MIN_SPEED and MIN_SPEED_WINDOW_SECS.",
        ),
        C::Cancelled => plain("The download was cancelled."),
        C::Timeout => plain(match d.limit {
            Some(secs) => format!("The download took longer than {} and was stopped.", short_span(secs)),
            None => "The video site took too long to answer. Try again later.".into(),
        }),
        C::DestinationRefused => {
            plain(d.reason.clone().unwrap_or_else(|| "This server does not download from that address.".into()))
        }
        C::AnswerTooLarge => plain(match d.limit {
            Some(mib) => format!(
                "The video site's description of this link is too large to read (over {mib} MiB). \
                 If it is a very long playlist, paste links to some of its videos instead."
            ),
            None => "The video site's description of this link is too large to read. \
                     If it is a very long playlist, paste links to some of its videos instead."
                .into(),
        }),
        C::UnreadableAnswer => plain("The video site gave an answer that could not be read."),
        C::ServerMisconfigured => {
            plain("The server cannot run its downloader right now. The administrator should check the logs.")
        }
        C::UnsupportedUrl => with_hint(
            "No video was found at that link. Check that it points to a video page.",
            "Open the link in a browser and copy the address of the page the video plays on.",
        ),
        C::RemoteNotFound => with_hint(
            "The site says this page does not exist (it may have been removed).",
            "Check the link in a browser.",
        ),
        C::RemoteForbidden => with_hint(
            "The site refused access to this video.",
            "On YouTube this usually means the server needs a newer yt-dlp or a PO-token provider (POT_PROVIDER_URL): the administrator can check /api/health.",
        ),
        C::RemoteRateLimited => with_hint(
            "The site is limiting requests from this server. Try again later.",
            "Wait an hour or so. On YouTube, cookies (COOKIES_FILE) or a PO-token provider (POT_PROVIDER_URL) make this rarer.",
        ),
        C::RemoteError => with_hint(
            match d.http_status {
                Some(status) => format!("The video site answered with an error (HTTP {status}). Try again later."),
                None => "The video site answered with an error. Try again later.".into(),
            },
            "The problem is on the site's side; it usually passes.",
        ),
        C::RemoteUnreachable => with_hint(
            "The video site could not be reached. Check the link or try again later.",
            "If other sites work, this one may be down or blocked for the server.",
        ),
        C::RemoteFailed => with_hint(
            match &d.reason {
                Some(reason) => format!("The video could not be downloaded: {reason}"),
                None => "The video could not be downloaded.".into(),
            },
            "Try again later; if it keeps failing, the server's yt-dlp may need an update (see /api/health).",
        ),
        C::FormatUnavailable => with_hint(
            "That quality is not available for this video. Try another one.",
            "Choose \"Best\", which always works.",
        ),
        C::BotCheck => with_hint(
            "YouTube asked this server to prove it is not a bot.",
            "Set up cookies (COOKIES_FILE) or a PO-token provider (POT_PROVIDER_URL): see the README's YouTube section. Trying again later may also help.",
        ),
        C::PoTokenUnavailable => with_hint(
            "YouTube asked for a PO token, and the server could not get one.",
            "The administrator should check that the PO-token minter (POT_PROVIDER_URL) is running and answers: the status panel below says, and docs/youtube.md explains how to start it. Cookies (COOKIES_FILE) also help.",
        ),
        C::PrivateVideo => with_hint(
            "This video is private: only people the uploader has invited can watch it.",
            "Ask the uploader for access. The server can download it only with the cookies (COOKIES_FILE) of an account that has been granted access.",
        ),
        C::MembersOnly => with_hint(
            "This video is only for the channel's paying members.",
            "It can be downloaded only with the cookies (COOKIES_FILE) of an account that is a member of the channel.",
        ),
        C::AgeRestricted => with_hint(
            "YouTube shows this video only to signed-in adults.",
            "Set up cookies (COOKIES_FILE) of an adult YouTube account: see the README's YouTube section.",
        ),
        C::GeoBlocked => with_hint(
            "This video is not available in the country this server is in.",
            "It may work from a server in another country, or through a proxy there.",
        ),
        C::VideoRemoved => with_hint(
            "This video is no longer available: it was removed, or its channel was closed.",
            "Open the link in a browser: if the video is gone there too, it cannot be downloaded.",
        ),
        C::LiveNotStarted => {
            with_hint("This live stream or premiere has not started yet.", "Try again once it has started.")
        }
        C::Network => plain("The server could not be reached. Check your connection and try again."),
        C::BadAnswer => plain("The server sent an answer this page does not understand."),
        C::HttpStatus => plain(match d.http_status {
            Some(status) => format!("The server answered with an error ({status}). Try again in a moment."),
            None => "The server answered with an error. Try again in a moment.".into(),
        }),
        C::Unknown => plain(d.reason.clone().unwrap_or_else(|| "The request failed.".into())),
    }
}

fn russian(code: ErrorCode, d: &Detail) -> (String, Option<&'static str>) {
    use ErrorCode as C;
    let lang = Lang::Ru;
    let retry = |what: &str| match d.retry_after_secs {
        Some(secs) => format!("{what} Попробуйте снова через {secs} с."),
        None => format!("{what} Попробуйте чуть позже."),
    };
    match code {
        C::MissingUrl => plain("Сначала вставьте ссылку на видео."),
        C::InvalidUrl => with_hint(
            "Это не похоже на ссылку. Она должна начинаться с https://",
            "Скопируйте адрес целиком из адресной строки браузера.",
        ),
        C::UrlTooLong => plain(match d.limit {
            Some(n) => format!("Ссылка слишком длинная (не больше {n} {}).", plural_ru(n, "символа", "символов", "символов")),
            None => "Ссылка слишком длинная.".into(),
        }),
        C::UnsupportedScheme => plain("Подходят только ссылки http:// и https://."),
        C::InvalidQuality => plain("Неизвестное качество. Подходят: auto, 2160, 1440, 1080, 720, 480, 360, audio."),
        C::InvalidClipTime => with_hint(
            "Начало или конец фрагмента — не время.",
            "Пишите время в секундах (75), минутах и секундах (1:15) или часах, минутах и секундах (1:02:03.5).",
        ),
        C::InvalidClipRange => plain(match d.limit {
            Some(n) => format!("Фрагмент должен быть внутри видео, а оно длится {}.", clock(n)),
            None => "Конец фрагмента должен быть хотя бы на полсекунды позже начала.".into(),
        }),
        C::InvalidAudioFormat => plain(
            "Неизвестный формат или битрейт звука. Форматы: m4a, mp3, opus, flac; битрейты: 96, 128, 160, 192, 256, 320 кбит/с (не для flac).",
        ),
        C::InvalidSubtitles => plain(match &d.reason {
            Some(lang) => format!("У этого видео нет субтитров «{lang}»."),
            None => "Неизвестный выбор субтитров. Способы: embed, files, both; форматы: srt, vtt.".into(),
        }),
        C::InvalidLimit => plain(match d.limit {
            Some(n) => format!("limit должен быть числом от 1 до {n}."),
            None => "limit должен быть положительным числом.".into(),
        }),
        C::InvalidCursor => plain("before должен быть id загрузки из списка."),
        C::BadFormat => plain("format должен быть json или text."),
        C::TooManyLinks => plain(match d.limit {
            Some(n) => format!("Не больше {n} {} за раз.", plural_ru(n, "ссылки", "ссылок", "ссылок")),
            None => "Слишком много ссылок за раз.".into(),
        }),
        C::IsPlaylist => plain("Это плейлист: выберите из него видео."),
        C::BadRequest => plain("Сервер не понял запрос."),
        C::BodyTooLarge => plain("Запрос слишком большой."),
        C::NotFound => plain("Такой загрузки нет. Возможно, срок её хранения истёк."),
        C::NotReady => plain("Файл ещё не готов: загрузка не закончилась."),
        C::Unauthorized => plain("Сначала войдите."),
        C::RateLimited => plain(retry("Слишком много запросов.")),
        C::LoginLocked => plain(retry("Слишком много неверных паролей.")),
        C::LookupsBusy => plain(retry("Сервер занят разбором других ссылок.")),
        C::HostNotAllowed => plain(
            "Этот сервер не отвечает на такое имя. Если имя ваше, добавьте его в ALLOWED_HOSTS в настройках сервера \
             или задайте ACCESS_PASSWORD.",
        ),
        C::AccountPage => plain(
            "Ссылки на страницы аккаунта (история, «Смотреть позже», понравившиеся, подписки, ленты) здесь не \
             открываются. Вставьте ссылку на видео или открытый плейлист.",
        ),
        C::TooManyStreams => plain(match d.limit {
            Some(n) => format!(
                "С вашего адреса открыто слишком много потоков прогресса (не больше {n}). Закройте часть вкладок."
            ),
            None => "С вашего адреса открыто слишком много потоков прогресса. Закройте часть вкладок.".into(),
        }),
        C::ServerBusy => plain("На сервере слишком много загрузок в очереди. Попробуйте через несколько минут."),
        C::SharedStateUnavailable => with_hint(
            retry("Сервер сейчас не может связаться со своей общей базой данных."),
            "Если это надолго, администратору стоит проверить, что Redis (REDIS_URL) работает и доступен.",
        ),
        C::TooManyDownloads => plain(match (d.count, d.limit) {
            (Some(mine), Some(limit)) => format!(
                "У вас уже {mine} {} в очереди или в работе (предел — {limit}). Дождитесь, пока часть закончится.",
                plural_ru(mine, "загрузка", "загрузки", "загрузок")
            ),
            _ => "Слишком много загрузок в очереди. Дождитесь, пока часть закончится.".into(),
        }),
        C::DiskFull => with_hint(
            match d.limit {
                Some(quota) => format!(
                    "Место для загрузок на сервере ({}) занято. Попробуйте снова, когда истечёт срок хранения прежних файлов.",
                    bytes(quota, lang)
                ),
                None => "Диск сервера почти заполнен. Попробуйте позже.".into(),
            },
            "Попробуйте снова, когда истечёт срок хранения прежних файлов. Администратор может увеличить DISK_QUOTA или освободить место (MIN_FREE_DISK).",
        ),
        C::TooLarge => plain(match d.limit {
            Some(limit) => format!("Файл больше, чем разрешает этот сервер ({}).", bytes(limit, lang)),
            None => "Файл больше, чем разрешает этот сервер.".into(),
        }),
        C::TooLong => plain(match d.limit {
            Some(limit) => format!("Видео длиннее, чем разрешает этот сервер ({}).", clock(limit)),
            None => "Видео длиннее, чем разрешает этот сервер.".into(),
        }),
        C::TooSlow => with_hint(
            match (d.min_speed_bps, d.window_secs) {
                (Some(floor), Some(window)) => format!(
                    "Сайт отдавал меньше {} в течение {}, поэтому загрузка остановлена. Попробуйте позже.",
                    speed(floor as f64, lang),
                    span(window, lang)
                ),
                _ => "Сайт слишком долго отдавал видео слишком медленно, поэтому загрузка остановлена.".into(),
            },
            "Попробуйте позже или выберите качество пониже. Администратор задаёт нижний предел скорости через MIN_SPEED и MIN_SPEED_WINDOW_SECS.",
        ),
        C::Cancelled => plain("Загрузка отменена."),
        C::Timeout => plain(match d.limit {
            Some(secs) => format!("Загрузка шла дольше {} и была остановлена.", span(secs, lang)),
            None => "Сайт с видео слишком долго не отвечал. Попробуйте позже.".into(),
        }),
        C::DestinationRefused => plain("С этого адреса сервер не скачивает."),
        C::AnswerTooLarge => plain(
            "Описание этой ссылки слишком большое, чтобы его прочитать. Если это очень длинный плейлист, \
             вставьте ссылки на отдельные видео.",
        ),
        C::UnreadableAnswer => plain("Сайт с видео прислал ответ, который не удалось разобрать."),
        C::ServerMisconfigured => {
            plain("Сервер сейчас не может запустить загрузчик. Администратору стоит заглянуть в журнал.")
        }
        C::UnsupportedUrl => with_hint(
            "По этой ссылке видео не нашлось. Проверьте, что она ведёт на страницу с видео.",
            "Откройте ссылку в браузере и скопируйте адрес страницы, где играет видео.",
        ),
        C::RemoteNotFound => with_hint(
            "Сайт сообщает, что такой страницы нет (возможно, её удалили).",
            "Проверьте ссылку в браузере.",
        ),
        C::RemoteForbidden => with_hint(
            "Сайт закрыл доступ к этому видео.",
            "На YouTube это обычно значит, что серверу нужен более новый yt-dlp или провайдер PO-токенов (POT_PROVIDER_URL): администратор может заглянуть в /api/health.",
        ),
        C::RemoteRateLimited => with_hint(
            "Сайт ограничивает запросы с этого сервера. Попробуйте позже.",
            "Подождите около часа. На YouTube это случается реже с cookies (COOKIES_FILE) или провайдером PO-токенов (POT_PROVIDER_URL).",
        ),
        C::RemoteError => with_hint(
            match d.http_status {
                Some(status) => format!("Сайт с видео ответил ошибкой (HTTP {status}). Попробуйте позже."),
                None => "Сайт с видео ответил ошибкой. Попробуйте позже.".into(),
            },
            "Сбой на стороне сайта; обычно это проходит.",
        ),
        C::RemoteUnreachable => with_hint(
            "Не удалось связаться с сайтом. Проверьте ссылку или попробуйте позже.",
            "Если другие сайты работают, этот может быть недоступен или заблокирован для сервера.",
        ),
        C::RemoteFailed => with_hint(
            match &d.reason {
                // The site's own words stay as they are: there is no one to translate them.
                Some(reason) => format!("Не удалось скачать видео: {reason}"),
                None => "Не удалось скачать видео.".into(),
            },
            "Попробуйте позже; если ошибка повторяется, yt-dlp на сервере, возможно, пора обновить (см. /api/health).",
        ),
        C::FormatUnavailable => with_hint(
            "Такого качества у этого видео нет. Выберите другое.",
            "Выберите «Лучшее» — оно подходит всегда.",
        ),
        C::BotCheck => with_hint(
            "YouTube попросил этот сервер доказать, что он не бот.",
            "Настройте cookies (COOKIES_FILE) или провайдер PO-токенов (POT_PROVIDER_URL): см. раздел о YouTube в README. Может помочь и повторная попытка позже.",
        ),
        C::PoTokenUnavailable => with_hint(
            "YouTube запросил PO-токен, а сервер не смог его получить.",
            "Администратору стоит проверить, что генератор PO-токенов (POT_PROVIDER_URL) запущен и отвечает: это видно в панели состояния внизу страницы, а как его запустить — в docs/youtube.md. Помогают и cookies (COOKIES_FILE).",
        ),
        C::PrivateVideo => with_hint(
            "Это видео приватное: смотреть его могут только те, кого пригласил автор.",
            "Попросите доступ у автора. Сервер сможет скачать видео только с cookies (COOKIES_FILE) аккаунта, которому открыт доступ.",
        ),
        C::MembersOnly => with_hint(
            "Это видео только для платных спонсоров канала.",
            "Скачать его можно только с cookies (COOKIES_FILE) аккаунта, оформившего спонсорство канала.",
        ),
        C::AgeRestricted => with_hint(
            "YouTube показывает это видео только взрослым, вошедшим в аккаунт.",
            "Настройте cookies (COOKIES_FILE) взрослого аккаунта YouTube: см. раздел о YouTube в README.",
        ),
        C::GeoBlocked => with_hint(
            "Это видео недоступно в стране, где находится сервер.",
            "Оно может скачаться с сервера в другой стране или через прокси в ней.",
        ),
        C::VideoRemoved => with_hint(
            "Этого видео больше нет: его удалили или закрыли канал.",
            "Откройте ссылку в браузере: если видео нет и там, скачать его нельзя.",
        ),
        C::LiveNotStarted => {
            with_hint("Эта трансляция или премьера ещё не началась.", "Попробуйте снова, когда она начнётся.")
        }
        C::Network => plain("Не удалось связаться с сервером. Проверьте подключение и попробуйте ещё раз."),
        C::BadAnswer => plain("Сервер прислал ответ, который эта страница не понимает."),
        C::HttpStatus => plain(match d.http_status {
            Some(status) => format!("Сервер ответил ошибкой ({status}). Попробуйте чуть позже."),
            None => "Сервер ответил ошибкой. Попробуйте чуть позже.".into(),
        }),
        C::Unknown => plain(d.reason.clone().unwrap_or_else(|| "Запрос не удался.".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_cyrillic(text: &str) -> bool {
        text.chars().any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap_or(c)))
    }

    /// Every figure a code can carry, so each sentence shows its richest form.
    fn full_detail() -> Detail {
        Detail {
            limit: Some(3),
            count: Some(2),
            http_status: Some(502),
            retry_after_secs: Some(7),
            min_speed_bps: Some(10_240),
            window_secs: Some(120),
            reason: None,
        }
    }

    #[test]
    fn every_code_has_a_sentence_in_every_language() {
        for &code in ErrorCode::ALL {
            for detail in [Detail::default(), full_detail()] {
                let en = sentence(code, Lang::En, &detail);
                let ru = sentence(code, Lang::Ru, &detail);
                assert!(!en.trim().is_empty() && !ru.trim().is_empty(), "{code}");
                assert_ne!(en, ru, "{code} is not translated");
                assert!(is_cyrillic(&ru), "{code}: {ru}");
            }
            assert_eq!(
                hint(code, Lang::En).is_some(),
                hint(code, Lang::Ru).is_some(),
                "{code}: a hint in one language only"
            );
            if let (Some(en), Some(ru)) = (hint(code, Lang::En), hint(code, Lang::Ru)) {
                assert_ne!(en, ru, "{code}'s hint is not translated");
            }
        }
    }

    #[test]
    fn figures_come_from_the_detail() {
        let wait = Detail::retry_after(40);
        assert_eq!(sentence(ErrorCode::LoginLocked, Lang::En, &wait), "Too many wrong passwords. Try again in 40 s.");
        assert_eq!(
            sentence(ErrorCode::LoginLocked, Lang::Ru, &wait),
            "Слишком много неверных паролей. Попробуйте снова через 40 с."
        );
        let slow = Detail { min_speed_bps: Some(100 * 1024), window_secs: Some(4), ..Detail::default() };
        assert!(sentence(ErrorCode::TooSlow, Lang::En, &slow).contains("100.00 KiB/s for 4s"));
        assert!(sentence(ErrorCode::TooSlow, Lang::Ru, &slow).contains("102\u{a0}КБ/с"));
        assert!(sentence(ErrorCode::RemoteError, Lang::Ru, &Detail::http_status(503)).contains("503"));
        assert!(sentence(ErrorCode::TooManyStreams, Lang::En, &Detail::limit(2)).contains("limit is 2"));
        let many = Detail { count: Some(5), limit: Some(5), ..Detail::default() };
        assert!(sentence(ErrorCode::TooManyDownloads, Lang::Ru, &many).contains("5 загрузок"));
    }

    #[test]
    fn the_sites_own_words_are_kept() {
        let why = Detail::reason("HTTP Error 500: Internal Server Error");
        assert_eq!(
            sentence(ErrorCode::RemoteFailed, Lang::Ru, &why),
            "Не удалось скачать видео: HTTP Error 500: Internal Server Error"
        );
        assert_eq!(sentence(ErrorCode::Unknown, Lang::Ru, &Detail::reason("Something new.")), "Something new.");
    }

    #[test]
    fn bot_check_points_at_the_fixes() {
        let none = Detail::default();
        assert_eq!(
            sentence(ErrorCode::BotCheck, Lang::En, &none),
            "YouTube asked this server to prove it is not a bot."
        );
        assert!(hint(ErrorCode::BotCheck, Lang::En)
            .is_some_and(|h| h.contains("COOKIES_FILE") && h.contains("POT_PROVIDER_URL")));
        assert!(sentence(ErrorCode::BotCheck, Lang::Ru, &none).contains("не бот"));
        assert!(hint(ErrorCode::BotCheck, Lang::Ru).is_some_and(|h| h.contains("COOKIES_FILE")));
        assert_eq!(hint(ErrorCode::MissingUrl, Lang::Ru), None);
    }
}
