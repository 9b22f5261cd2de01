//! Every way an API call can fail, and the one place that turns a failure
//! into an HTTP status, a code and a sentence for people.
//!
//! The sentences themselves live in `contract::sentences` (one table for the
//! server's English and the page's translations); here each failure only
//! names its [`ErrorCode`] and the figures of its [`Detail`].

use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use contract::api::ApiErrorBody;
use contract::sentences;
use contract::{Detail, ErrorCode, Lang};
use engine::{EngineError, JobFailure};
use std::sync::Arc;

/// A failed API call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A refusal the code says all about (a bad request, a limit), with the
    /// figures its sentence names.
    #[error("{code}")]
    Coded { code: ErrorCode, detail: Detail },
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
    /// Redis (`REDIS_URL`) does not answer.
    #[error("shared state unavailable")]
    SharedStateUnavailable,
}

impl ApiError {
    /// A refusal with nothing more to say than its code.
    pub fn of(code: ErrorCode) -> Self {
        ApiError::Coded { code, detail: Detail::default() }
    }

    /// A refusal whose sentence names figures.
    pub fn with(code: ErrorCode, detail: Detail) -> Self {
        ApiError::Coded { code, detail }
    }

    /// The sentence shown to people, in English.
    pub fn public_message(&self) -> String {
        let (code, detail) = self.parts();
        sentences::sentence(code, Lang::En, &detail)
    }

    /// The machine-readable code of the error answer.
    pub fn code(&self) -> ErrorCode {
        self.parts().0
    }

    /// The code and the figures. Details that could reveal the server
    /// (paths, tracebacks, internal addresses) never get here.
    pub fn parts(&self) -> (ErrorCode, Detail) {
        match self {
            ApiError::Coded { code, detail } => (*code, detail.clone()),
            ApiError::Engine(err) => engine_failure(err),
            ApiError::NotFound => (ErrorCode::NotFound, Detail::default()),
            ApiError::NotReady => (ErrorCode::NotReady, Detail::default()),
            ApiError::RateLimited { retry_after } => (ErrorCode::RateLimited, Detail::retry_after(*retry_after)),
            ApiError::Unauthorized => (ErrorCode::Unauthorized, Detail::default()),
            ApiError::Refused(sentence) => (ErrorCode::DestinationRefused, Detail::reason(sentence.clone())),
            ApiError::LookupsBusy { retry_after } => (ErrorCode::LookupsBusy, Detail::retry_after(*retry_after)),
            ApiError::LoginLocked { retry_after } => (ErrorCode::LoginLocked, Detail::retry_after(*retry_after)),
            ApiError::HostNotAllowed => (ErrorCode::HostNotAllowed, Detail::default()),
            ApiError::AccountPage(_) => (ErrorCode::AccountPage, Detail::default()),
            ApiError::TooManyStreams { limit } => (ErrorCode::TooManyStreams, Detail::limit(*limit as u64)),
            ApiError::SharedStateUnavailable => {
                (ErrorCode::SharedStateUnavailable, Detail::retry_after(crate::cluster::RETRY_AFTER_SECS))
            }
        }
    }
}

/// The HTTP status of each code: the one place a failure becomes a status.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode as C;
    match code {
        C::MissingUrl
        | C::InvalidUrl
        | C::UrlTooLong
        | C::UnsupportedScheme
        | C::InvalidQuality
        | C::InvalidClipTime
        | C::InvalidClipRange
        | C::InvalidAudioFormat
        | C::InvalidSubtitles
        | C::InvalidLimit
        | C::InvalidCursor
        | C::BadFormat
        | C::TooManyLinks
        | C::IsPlaylist
        | C::BadRequest => StatusCode::BAD_REQUEST,
        C::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        C::NotFound => StatusCode::NOT_FOUND,
        C::NotReady | C::Cancelled => StatusCode::CONFLICT,
        C::Unauthorized => StatusCode::UNAUTHORIZED,
        C::RateLimited | C::LoginLocked | C::TooManyStreams | C::TooManyDownloads => StatusCode::TOO_MANY_REQUESTS,
        C::HostNotAllowed => StatusCode::MISDIRECTED_REQUEST,
        C::AccountPage | C::DestinationRefused => StatusCode::FORBIDDEN,
        C::LookupsBusy | C::ServerBusy | C::SharedStateUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        C::DiskFull => StatusCode::INSUFFICIENT_STORAGE,
        C::Timeout | C::TooSlow => StatusCode::GATEWAY_TIMEOUT,
        // The link is fine, but this video cannot be had (by anyone here).
        C::TooLarge
        | C::TooLong
        | C::UnsupportedUrl
        | C::FormatUnavailable
        | C::PrivateVideo
        | C::MembersOnly
        | C::AgeRestricted
        | C::GeoBlocked
        | C::VideoRemoved
        | C::LiveNotStarted => StatusCode::UNPROCESSABLE_ENTITY,
        // The site refused or failed this server: a problem of the server's
        // setup or the site's, not the request's.
        C::AnswerTooLarge
        | C::UnreadableAnswer
        | C::RemoteNotFound
        | C::RemoteForbidden
        | C::RemoteRateLimited
        | C::RemoteError
        | C::RemoteUnreachable
        | C::RemoteFailed
        | C::BotCheck
        | C::PoTokenUnavailable => StatusCode::BAD_GATEWAY,
        C::ServerMisconfigured | C::Network | C::BadAnswer | C::HttpStatus | C::Unknown => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// An engine failure as the API names it.
fn engine_failure(err: &EngineError) -> (ErrorCode, Detail) {
    let message = match err {
        EngineError::YtDlp { message, .. } | EngineError::Fetch { message, .. } => Some(message.as_str()),
        _ => None,
    };
    refine(err.code(), err.detail(), message)
}

/// A failed job as the API names it.
pub fn job_failure(failure: &JobFailure) -> (ErrorCode, Detail) {
    refine(failure.code, failure.detail.clone(), Some(&failure.message))
}

/// What the server knows and the engine does not: the guard's own sentence
/// for a refusal (which kind of address, which ports), and that yt-dlp's
/// "HTTP 502" may be the egress proxy failing to reach the site.
fn refine(code: ErrorCode, mut detail: Detail, message: Option<&str>) -> (ErrorCode, Detail) {
    let Some(message) = message else { return (code, detail) };
    if code == ErrorCode::DestinationRefused {
        detail.reason = crate::egress::egress_refusal_message(message);
    } else if message.contains(crate::egress::proxy::UNREACHABLE_REASON) {
        return (ErrorCode::RemoteUnreachable, Detail::default());
    }
    (code, detail)
}

/// The body of an error answer for `code`.
fn error_body(code: ErrorCode, detail: Detail) -> ApiErrorBody {
    ApiErrorBody {
        success: false,
        error: sentences::sentence(code, Lang::En, &detail),
        code: Some(code),
        hint: sentences::hint(code, Lang::En).map(str::to_owned),
        retry_after_secs: detail.retry_after_secs,
        detail: (!detail.is_empty()).then_some(detail),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, detail) = self.parts();
        let status = status_of(code);
        if status.is_server_error() {
            tracing::error!(error = %self, %code, "request failed");
        } else {
            tracing::info!(error = %self, %code, "request refused");
        }
        let retry_after = detail.retry_after_secs;
        let mut response = (status, Json(error_body(code, detail))).into_response();
        if let Some(secs) = retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let reason = match &rejection {
            JsonRejection::MissingJsonContentType(_) => {
                "Send the request as JSON (Content-Type: application/json).".to_string()
            }
            JsonRejection::JsonSyntaxError(_) => "The request body is not valid JSON.".to_string(),
            JsonRejection::JsonDataError(e) => format!("The request is missing something: {}", e.body_text()),
            JsonRejection::BytesRejection(_) => {
                return ApiError::with(ErrorCode::BodyTooLarge, Detail::limit(crate::MAX_BODY_BYTES as u64));
            }
            _ => "The request could not be read.".to_string(),
        };
        ApiError::with(ErrorCode::BadRequest, Detail::reason(reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_the_server_sends_has_a_status_and_a_sentence() {
        for &code in ErrorCode::ALL {
            let body = error_body(code, Detail::default());
            assert!(!body.error.is_empty(), "{code}");
            let status = status_of(code);
            assert!(status.is_client_error() || status.is_server_error(), "{code}: {status}");
        }
    }

    #[test]
    fn the_proxys_own_502_reads_as_unreachable() {
        let failure = JobFailure {
            kind: Some(engine::FailureKind::Http(502)),
            message: format!("HTTP Error 502: {}", crate::egress::proxy::UNREACHABLE_REASON),
            code: ErrorCode::RemoteError,
            detail: Detail::http_status(502),
        };
        assert_eq!(job_failure(&failure), (ErrorCode::RemoteUnreachable, Detail::default()));
    }
}
