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
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest { code, message: message.into() }
    }

    /// The status, the machine-readable code and the sentence shown to people.
    /// Details that could reveal the server (paths, tracebacks) never leave here.
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            ApiError::BadRequest { code, message } => (StatusCode::BAD_REQUEST, code, message.clone()),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "Nothing is known under that id. It may have expired.".into(),
            ),
            ApiError::Engine(err) => engine_parts(err),
        }
    }
}

fn engine_parts(err: &EngineError) -> (StatusCode, &'static str, String) {
    match err {
        EngineError::YtDlp { kind, message } => match kind {
            FailureKind::Unsupported => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unsupported_url",
                "No video was found at that link. Check that it points to a video page.".into(),
            ),
            FailureKind::InvalidUrl => (
                StatusCode::BAD_REQUEST,
                "invalid_url",
                "That does not look like a link. It should start with https://".into(),
            ),
            FailureKind::Http(404) | FailureKind::Http(410) => (
                StatusCode::BAD_GATEWAY,
                "remote_not_found",
                "The site says this page does not exist (it may have been removed).".into(),
            ),
            FailureKind::Http(403) => (
                StatusCode::BAD_GATEWAY,
                "remote_forbidden",
                "The site refused access to this video.".into(),
            ),
            FailureKind::Http(429) => (
                StatusCode::BAD_GATEWAY,
                "remote_rate_limited",
                "The site is limiting requests from this server. Try again later.".into(),
            ),
            FailureKind::Http(code) => (
                StatusCode::BAD_GATEWAY,
                "remote_error",
                format!("The video site answered with an error (HTTP {code}). Try again later."),
            ),
            FailureKind::Unreachable => (
                StatusCode::BAD_GATEWAY,
                "remote_unreachable",
                "The video site could not be reached. Check the link or try again later.".into(),
            ),
            FailureKind::FormatUnavailable => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "format_unavailable",
                "That quality is not available for this video. Try another one.".into(),
            ),
            FailureKind::Other => (
                StatusCode::BAD_GATEWAY,
                "remote_failed",
                format!("The video could not be read: {}", first_sentence(message)),
            ),
        },
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
        EngineError::YtDlpMissing(_) | EngineError::Spawn(_) | EngineError::Io(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_misconfigured",
            "The server cannot run its downloader right now. The administrator should check the logs."
                .into(),
        ),
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
        let body = ApiErrorBody { success: false, error: message, code: Some(code.to_string()) };
        (status, Json(body)).into_response()
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
            _ => "The request could not be read.".to_string(),
        };
        ApiError::bad_request("bad_request", message)
    }
}
