//! Every way an API call can fail, and the one place that turns a failure
//! into an HTTP status and a sentence for people.

use app::api::ApiErrorBody;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::{EngineError, FailureKind};
use std::sync::Arc;

/// A failed API call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request itself is wrong; the text says how to fix it.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// The link could not be looked up or downloaded.
    #[error(transparent)]
    Engine(#[from] Arc<EngineError>),
    #[error("not found")]
    NotFound,
    /// The download exists but has no file (yet).
    #[error("not ready")]
    NotReady,
    /// Too many requests from this client; try again after the delay.
    #[error("rate limited for {retry_after} s")]
    RateLimited { retry_after: u64 },
    /// Login is on and this request carries no valid session or token.
    #[error("not logged in")]
    Unauthorized,
    /// The egress guard refuses the destination; the text says why.
    #[error("{0}")]
    Refused(String),
    /// A limit on downloads (per client, in total, size, duration, disk).
    #[error("{message}")]
    Limit { status: StatusCode, code: &'static str, message: String },
    /// Every lookup slot stayed busy for the whole wait.
    #[error("no lookup slot free; retry after {retry_after} s")]
    LookupsBusy { retry_after: u64 },
    /// Too many wrong passwords from this client (or from everyone lately).
    #[error("login locked for {retry_after} s")]
    LoginLocked { retry_after: u64 },
    /// Without a password, the server answers only to names it knows
    /// (DNS rebinding defence).
    #[error("host name not allowed")]
    HostNotAllowed,
    /// With the operator's cookies configured, account pages are refused.
    #[error("account page: {0}")]
    AccountPage(&'static str),
    /// This client has as many event streams open as it may.
    #[error("too many event streams ({limit})")]
    TooManyStreams { limit: usize },
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest { code, message: message.into() }
    }

    /// The sentence shown to people.
    pub fn public_message(&self) -> String {
        self.parts().2
    }

    /// The machine-readable code of the error answer.
    pub fn code(&self) -> &'static str {
        self.parts().1
    }

    /// The status, the machine-readable code and the sentence shown to people.
    /// Details that could reveal the server (paths, tracebacks) never leave here.
    /// What the person can do about it, when there is something.
    fn hint(&self) -> Option<&'static str> {
        match self {
            ApiError::Engine(err) => match &**err {
                EngineError::YtDlp { message, .. } | EngineError::Fetch { message, .. }
                    if crate::egress::is_egress_refusal(message) =>
                {
                    None
                }
                EngineError::YtDlp { kind, message } | EngineError::Fetch { kind, message } => {
                    failure_hint(effective_kind(*kind, message))
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            ApiError::BadRequest { code, message } => (StatusCode::BAD_REQUEST, code, message.clone()),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "Nothing is known under that id. It may have expired.".into(),
            ),
            ApiError::RateLimited { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("Too many requests. Try again in {retry_after} s."),
            ),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Log in first (or send the access password as a bearer token).".into(),
            ),
            ApiError::Refused(message) => (StatusCode::FORBIDDEN, "destination_refused", message.clone()),
            ApiError::Limit { status, code, message } => (*status, code, message.clone()),
            ApiError::NotReady => (
                StatusCode::CONFLICT,
                "not_ready",
                "The file is not ready: the download has not completed.".into(),
            ),
            ApiError::Engine(err) => engine_parts(err),
            ApiError::LookupsBusy { retry_after } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "lookups_busy",
                format!("The server is busy looking up other links. Try again in {retry_after} s."),
            ),
            ApiError::LoginLocked { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                "login_locked",
                format!("Too many wrong passwords. Try again in {retry_after} s."),
            ),
            ApiError::HostNotAllowed => (
                StatusCode::MISDIRECTED_REQUEST,
                "host_not_allowed",
                "This server does not answer to that host name. If the name is yours, add it to ALLOWED_HOSTS \
                 (a comma list) in the server's settings, or set ACCESS_PASSWORD."
                    .into(),
            ),
            ApiError::AccountPage(_) => (
                StatusCode::FORBIDDEN,
                "account_page",
                "Links to account pages (history, watch later, liked videos, subscriptions, feeds) are not \
                 looked up here: they would show the server's own account. Paste a link to a video or a public playlist."
                    .into(),
            ),
            ApiError::TooManyStreams { limit } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_streams",
                format!(
                    "Too many live progress streams are open from your address (the limit is {limit}). \
                     Close some tabs, or follow downloads with /api/status."
                ),
            ),
        }
    }
}

fn engine_parts(err: &EngineError) -> (StatusCode, &'static str, String) {
    match err {
        EngineError::YtDlp { message, .. } if message.starts_with(engine::ytdlp::ANSWER_TOO_LARGE) => (
            StatusCode::BAD_GATEWAY,
            "answer_too_large",
            format!(
                "The video site's description of this link is too large to read (over {} MiB). \
                 If it is a very long playlist, paste links to some of its videos instead.",
                engine::ytdlp::MAX_STDOUT >> 20
            ),
        ),
        EngineError::YtDlp { message, .. } | EngineError::Fetch { message, .. }
            if crate::egress::is_egress_refusal(message) =>
        {
            (StatusCode::FORBIDDEN, "destination_refused", failure_sentence(None, message))
        }
        EngineError::YtDlp { kind, message } | EngineError::Fetch { kind, message } => {
            let kind = effective_kind(*kind, message);
            (failure_status(kind), failure_code(kind), failure_sentence(Some(kind), message))
        }
        EngineError::Timeout(_) => (
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            "The video site took too long to answer. Try again later.".into(),
        ),
        EngineError::Parse(_) => (
            StatusCode::BAD_GATEWAY,
            "unreadable_answer",
            "The video site gave an answer that could not be read.".into(),
        ),
        EngineError::Cancelled => (StatusCode::CONFLICT, "cancelled", "The download was cancelled.".into()),
        EngineError::TooLarge { limit } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_large",
            format!("The file is larger than this server allows ({}).", engine::progress::format_bytes(*limit)),
        ),
        EngineError::DiskFull(_) => (StatusCode::INSUFFICIENT_STORAGE, "disk_full", err.to_string()),
        EngineError::TooSlow { .. } => (StatusCode::GATEWAY_TIMEOUT, "too_slow", err.to_string()),
        EngineError::YtDlpMissing(_) | EngineError::Spawn(_) | EngineError::Io(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_misconfigured",
            "The server cannot run its downloader right now. The administrator should check the logs."
                .into(),
        ),
    }
}

fn failure_status(kind: FailureKind) -> StatusCode {
    match kind {
        // The link is fine, but this video cannot be had (by anyone here).
        FailureKind::Unsupported
        | FailureKind::FormatUnavailable
        | FailureKind::Private
        | FailureKind::MembersOnly
        | FailureKind::AgeRestricted
        | FailureKind::GeoBlocked
        | FailureKind::Removed
        | FailureKind::LiveNotStarted => StatusCode::UNPROCESSABLE_ENTITY,
        FailureKind::InvalidUrl => StatusCode::BAD_REQUEST,
        FailureKind::DiskFull => StatusCode::INSUFFICIENT_STORAGE,
        FailureKind::TooSlow => StatusCode::GATEWAY_TIMEOUT,
        // The site refused this server: a problem of the server's setup.
        FailureKind::BotCheck
        | FailureKind::Http(_)
        | FailureKind::Unreachable
        | FailureKind::Other => StatusCode::BAD_GATEWAY,
    }
}

/// yt-dlp reports the egress proxy's own "could not reach" 502 as an HTTP
/// error; for people it is an unreachable site, like a direct connection failure.
pub fn effective_kind(kind: FailureKind, message: &str) -> FailureKind {
    if message.contains(crate::egress::proxy::UNREACHABLE_REASON) {
        FailureKind::Unreachable
    } else {
        kind
    }
}

/// A stable machine-readable name for a yt-dlp failure.
pub fn failure_code(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Unsupported => "unsupported_url",
        FailureKind::InvalidUrl => "invalid_url",
        FailureKind::Http(404) | FailureKind::Http(410) => "remote_not_found",
        FailureKind::Http(403) => "remote_forbidden",
        FailureKind::Http(429) => "remote_rate_limited",
        FailureKind::Http(_) => "remote_error",
        FailureKind::Unreachable => "remote_unreachable",
        FailureKind::FormatUnavailable => "format_unavailable",
        FailureKind::BotCheck => "bot_check",
        FailureKind::Private => "private_video",
        FailureKind::MembersOnly => "members_only",
        FailureKind::AgeRestricted => "age_restricted",
        FailureKind::GeoBlocked => "geo_blocked",
        FailureKind::Removed => "video_removed",
        FailureKind::LiveNotStarted => "live_not_started",
        FailureKind::DiskFull => "disk_full",
        FailureKind::TooSlow => "too_slow",
        FailureKind::Other => "remote_failed",
    }
}

/// What the person can do about a yt-dlp failure, in English (the page has
/// the Russian in `app::messages`).
pub fn failure_hint(kind: FailureKind) -> Option<&'static str> {
    app::messages::hint(failure_code(kind), app::messages::Lang::En)
}

/// The sentence people read for a yt-dlp failure (lookups and downloads alike).
pub fn failure_sentence(kind: Option<FailureKind>, message: &str) -> String {
    if let Some(sentence) = crate::egress::egress_refusal_message(message) {
        return sentence;
    }
    match kind {
        Some(FailureKind::Unsupported) => {
            "No video was found at that link. Check that it points to a video page.".into()
        }
        Some(FailureKind::InvalidUrl) => "That does not look like a link. It should start with https://".into(),
        Some(FailureKind::Http(404) | FailureKind::Http(410)) => {
            "The site says this page does not exist (it may have been removed).".into()
        }
        Some(FailureKind::Http(403)) => "The site refused access to this video.".into(),
        Some(FailureKind::Http(429)) => "The site is limiting requests from this server. Try again later.".into(),
        Some(FailureKind::Http(code)) => {
            format!("The video site answered with an error (HTTP {code}). Try again later.")
        }
        Some(FailureKind::Unreachable) => {
            "The video site could not be reached. Check the link or try again later.".into()
        }
        Some(FailureKind::FormatUnavailable) => {
            "That quality is not available for this video. Try another one.".into()
        }
        Some(
            kind @ (FailureKind::BotCheck
            | FailureKind::Private
            | FailureKind::MembersOnly
            | FailureKind::AgeRestricted
            | FailureKind::GeoBlocked
            | FailureKind::Removed
            | FailureKind::LiveNotStarted),
        ) => match app::messages::message(failure_code(kind), app::messages::Lang::En) {
            Some((sentence, _)) => sentence.into(),
            None => format!("The video could not be downloaded: {}", first_sentence(message)),
        },
        // The engine's own sentences (they name the limit, no paths).
        Some(FailureKind::DiskFull | FailureKind::TooSlow) => message.to_owned(),
        Some(FailureKind::Other) | None => format!("The video could not be downloaded: {}", first_sentence(message)),
    }
}

/// yt-dlp's message, cut to one line and stripped of anything path-like.
fn first_sentence(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default().trim();
    let cleaned: Vec<&str> = line
        .split_whitespace()
        .filter(|word| !word.contains('/') || word.starts_with("http"))
        .collect();
    let mut text = cleaned.join(" ");
    if text.chars().count() > 200 {
        text = text.chars().take(200).collect::<String>() + "…";
    }
    text
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %self, code, "request failed");
        } else {
            tracing::info!(error = %self, code, "request refused");
        }
        let retry_after = match self {
            ApiError::RateLimited { retry_after } => Some(retry_after),
            ApiError::LookupsBusy { retry_after } | ApiError::LoginLocked { retry_after } => Some(retry_after),
            _ => None,
        };
        let hint = self.hint().map(str::to_string);
        let body = ApiErrorBody { success: false, error: message, code: Some(code.to_string()), hint };
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let message = match &rejection {
            JsonRejection::MissingJsonContentType(_) => {
                "Send the request as JSON (Content-Type: application/json).".to_string()
            }
            JsonRejection::JsonSyntaxError(_) => "The request body is not valid JSON.".to_string(),
            JsonRejection::JsonDataError(e) => format!("The request is missing something: {}", e.body_text()),
            JsonRejection::BytesRejection(_) => {
                return ApiError::Limit {
                    status: StatusCode::PAYLOAD_TOO_LARGE,
                    code: "body_too_large",
                    message: format!("The request is too large (the limit is {} bytes).", crate::MAX_BODY_BYTES),
                }
            }
            _ => "The request could not be read.".to_string(),
        };
        ApiError::bad_request("bad_request", message)
    }
}
