//! Errors from running yt-dlp, and the classifier that reads its stderr.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use contract::{Detail, ErrorCode};
use serde::{Deserialize, Serialize};

/// Everything that can go wrong while asking yt-dlp about a URL.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The yt-dlp program does not exist at the configured path.
    #[error("yt-dlp was not found at {}", .0.display())]
    YtDlpMissing(PathBuf),
    /// yt-dlp exists but could not be started.
    #[error("could not start yt-dlp: {0}")]
    Spawn(#[source] io::Error),
    /// yt-dlp did not finish in time and was killed.
    #[error("yt-dlp did not answer within {} seconds", .0.as_secs_f64())]
    Timeout(Duration),
    /// yt-dlp ran and reported an error.
    #[error("{message}")]
    YtDlp {
        /// What kind of failure it was.
        kind: FailureKind,
        /// yt-dlp's own words, without the `ERROR:` prefix or extractor tag.
        message: String,
    },
    /// yt-dlp's output was not the JSON we expected.
    #[error("could not read yt-dlp's answer: {0}")]
    Parse(#[from] serde_json::Error),
    /// Reading yt-dlp's output failed.
    #[error("I/O error while talking to yt-dlp: {0}")]
    Io(#[from] io::Error),
    /// The file grew past the configured size limit and was removed.
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// The download was cancelled; its processes were stopped.
    #[error("the download was cancelled")]
    Cancelled,
    /// The native engine could not fetch or assemble the media; the message
    /// is a sentence for people (no URLs, no paths).
    #[error("{message}")]
    Fetch {
        /// The same kinds yt-dlp's failures have (HTTP status, unreachable …).
        kind: FailureKind,
        /// What went wrong, for people.
        message: String,
    },
    /// The job was stopped because it would break `DISK_QUOTA` or
    /// `MIN_FREE_DISK`; its partial files are removed.
    #[error("{}", disk_full_message(.0))]
    DiskFull(crate::space::DiskFull),
    /// The job stayed below the speed floor for the whole window and was
    /// stopped; its partial files are removed.
    #[error(
        "The video site sent less than {}/s for {}, so the download was stopped. Try again later.",
        crate::progress::format_bytes(*.min_speed),
        crate::progress::format_eta(.window.as_secs())
    )]
    TooSlow {
        /// The floor, in bytes per second.
        min_speed: u64,
        /// How long the download stayed below it.
        window: Duration,
    },
}

/// The sentence for a job stopped for disk space (no paths, no figures of
/// free space: those are the operator's business).
fn disk_full_message(full: &crate::space::DiskFull) -> String {
    match full {
        crate::space::DiskFull::Quota { limit } => format!(
            "The server's download space ({}) is full, so this download was stopped and its partial file removed. Try again when earlier files have expired.",
            crate::progress::format_bytes(*limit)
        ),
        crate::space::DiskFull::FreeSpace { .. } => "The server's disk is almost full, so this download was stopped and its partial file removed. Try again later.".to_owned(),
    }
}

impl EngineError {
    /// The failure kind when yt-dlp itself reported the error.
    pub fn failure_kind(&self) -> Option<FailureKind> {
        match self {
            EngineError::YtDlp { kind, .. } | EngineError::Fetch { kind, .. } => Some(*kind),
            EngineError::DiskFull(_) => Some(FailureKind::DiskFull),
            EngineError::TooSlow { .. } => Some(FailureKind::TooSlow),
            _ => None,
        }
    }
}

impl EngineError {
    /// The failure's stable name (the API's `code`, the CLI's `--json`).
    pub fn code(&self) -> ErrorCode {
        match self {
            EngineError::YtDlp { message, .. } if message.starts_with(crate::ytdlp::ANSWER_TOO_LARGE) => {
                ErrorCode::AnswerTooLarge
            }
            EngineError::YtDlp { kind, message } | EngineError::Fetch { kind, message } => {
                if is_refusal(message) {
                    ErrorCode::DestinationRefused
                } else {
                    kind.code()
                }
            }
            EngineError::Timeout(_) => ErrorCode::Timeout,
            EngineError::Parse(_) => ErrorCode::UnreadableAnswer,
            EngineError::Cancelled => ErrorCode::Cancelled,
            EngineError::TooLarge { .. } => ErrorCode::TooLarge,
            EngineError::DiskFull(_) => ErrorCode::DiskFull,
            EngineError::TooSlow { .. } => ErrorCode::TooSlow,
            EngineError::YtDlpMissing(_) | EngineError::Spawn(_) | EngineError::Io(_) => ErrorCode::ServerMisconfigured,
        }
    }

    /// The figures the code's sentence names. A refusal's sentence is the
    /// server's to extract (it knows the guard's wording).
    pub fn detail(&self) -> Detail {
        match self {
            EngineError::YtDlp { message, .. } if message.starts_with(crate::ytdlp::ANSWER_TOO_LARGE) => {
                Detail::limit(crate::ytdlp::MAX_STDOUT >> 20)
            }
            EngineError::YtDlp { kind, message } | EngineError::Fetch { kind, message } if !is_refusal(message) => {
                match kind {
                    FailureKind::Http(status) => Detail::http_status(*status),
                    FailureKind::Other => Detail::reason(first_sentence(message)),
                    _ => Detail::default(),
                }
            }
            EngineError::TooLarge { limit } => Detail::limit(*limit),
            EngineError::DiskFull(crate::space::DiskFull::Quota { limit }) => Detail::limit(*limit),
            EngineError::TooSlow { min_speed, window } => {
                Detail { min_speed_bps: Some(*min_speed), window_secs: Some(window.as_secs()), ..Detail::default() }
            }
            _ => Detail::default(),
        }
    }
}

/// The egress guard's refusal, as the proxy words it (yt-dlp and ffmpeg
/// pass it on; python's repr may escape the apostrophe).
fn is_refusal(message: &str) -> bool {
    message.contains(crate::native::REFUSAL_PREFIX)
        || message.contains("Destination refused by Kachay\\'s egress guard")
}

/// yt-dlp's message, cut to one line and stripped of anything path-like,
/// at most 200 characters and the `…`.
fn first_sentence(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default().trim();
    let cleaned: Vec<&str> =
        line.split_whitespace().filter(|word| !word.contains('/') || word.starts_with("http")).collect();
    let mut text = cleaned.join(" ");
    crate::info::truncate_chars(&mut text, 201);
    text
}

impl FailureKind {
    /// The stable name of a failure the site (or yt-dlp) reported.
    pub fn code(self) -> ErrorCode {
        match self {
            FailureKind::Unsupported => ErrorCode::UnsupportedUrl,
            FailureKind::InvalidUrl => ErrorCode::InvalidUrl,
            FailureKind::Http(404 | 410) => ErrorCode::RemoteNotFound,
            FailureKind::Http(403) => ErrorCode::RemoteForbidden,
            FailureKind::Http(429) => ErrorCode::RemoteRateLimited,
            FailureKind::Http(_) => ErrorCode::RemoteError,
            FailureKind::Unreachable => ErrorCode::RemoteUnreachable,
            FailureKind::FormatUnavailable => ErrorCode::FormatUnavailable,
            FailureKind::BotCheck => ErrorCode::BotCheck,
            FailureKind::PoTokenUnavailable => ErrorCode::PoTokenUnavailable,
            FailureKind::Private => ErrorCode::PrivateVideo,
            FailureKind::MembersOnly => ErrorCode::MembersOnly,
            FailureKind::AgeRestricted => ErrorCode::AgeRestricted,
            FailureKind::GeoBlocked => ErrorCode::GeoBlocked,
            FailureKind::Removed => ErrorCode::VideoRemoved,
            FailureKind::LiveNotStarted => ErrorCode::LiveNotStarted,
            FailureKind::DiskFull => ErrorCode::DiskFull,
            FailureKind::TooSlow => ErrorCode::TooSlow,
            FailureKind::Other => ErrorCode::RemoteFailed,
        }
    }
}

/// The kind of failure yt-dlp reported, read from its stderr by [`classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// No extractor knows this site, and the page holds no video ("Unsupported URL").
    Unsupported,
    /// The text is not a URL at all ("is not a valid URL").
    InvalidUrl,
    /// The site answered with an HTTP error status, e.g. 404 or 403.
    Http(u16),
    /// The site could not be reached: refused, reset, unresolvable or timed out.
    Unreachable,
    /// The requested format selector matched nothing.
    FormatUnavailable,
    /// YouTube wants proof that this is not a bot ("Sign in to confirm
    /// you're not a bot", or a captcha): cookies or a PO-token provider help.
    BotCheck,
    /// YouTube wanted a PO token and none could be had (Kachay's provider
    /// failed, or yt-dlp skipped formats for want of one), and the run then
    /// failed the way a missing token makes it fail.
    PoTokenUnavailable,
    /// A private video ("Private video. Sign in if you've been granted access").
    Private,
    /// For the channel's paying members only ("Join this channel to get
    /// access to members-only content").
    MembersOnly,
    /// Needs a signed-in adult ("Sign in to confirm your age").
    AgeRestricted,
    /// Not available in the server's country ("The uploader has not made
    /// this video available in your country").
    GeoBlocked,
    /// Gone: "Video unavailable", removed by the uploader or for a policy
    /// violation, or the uploader's account terminated.
    Removed,
    /// A live stream or premiere that has not started ("This live event will
    /// begin in …", "Premieres in …").
    LiveNotStarted,
    /// Not the site's failure: the job would have broken the server's disk
    /// limits (`DISK_QUOTA`, `MIN_FREE_DISK`) and was stopped.
    DiskFull,
    /// Not reported by yt-dlp: the site sent too little for too long
    /// (`MIN_SPEED` over `MIN_SPEED_WINDOW_SECS`).
    TooSlow,
    /// Anything else.
    Other,
}

/// Longest message kept from yt-dlp's stderr, in characters.
const MAX_MESSAGE_CHARS: usize = 500;

/// Reads yt-dlp's stderr and returns the failure kind together with a
/// human-readable message.
///
/// The message is yt-dlp's last `ERROR:` line with the `ERROR: ` prefix, a
/// leading `[extractor] id: ` tag and the trailing `(caused by …)` exception
/// chain removed. Without an `ERROR:` line, the last line that does not look
/// like part of a Python traceback is used.
pub fn classify(stderr: &str) -> (FailureKind, String) {
    let error_line = stderr.lines().rev().map(str::trim).find_map(|line| line.strip_prefix("ERROR:"));

    let message = match error_line {
        Some(rest) => clean_message(rest),
        None => last_plain_line(stderr),
    };
    let message = if message.is_empty() {
        "yt-dlp failed without saying why".to_owned()
    } else {
        truncate_chars(&message, MAX_MESSAGE_CHARS)
    };

    // Classify on the chosen line; without an ERROR line, on everything.
    let haystack = error_line.unwrap_or(stderr);
    let kind = kind_of(haystack);
    // A missing token shows as one of these; the warnings before say why.
    let for_want_of_token = matches!(
        kind,
        FailureKind::FormatUnavailable | FailureKind::Http(403) | FailureKind::BotCheck | FailureKind::Other
    ) && po_token_went_missing(stderr);
    (if for_want_of_token { FailureKind::PoTokenUnavailable } else { kind }, message)
}

/// yt-dlp's own warnings that a PO token was wanted and not had: Kachay's
/// provider failed (yt-dlp's PO-token director names the provider), or
/// formats were skipped for want of one.
fn po_token_went_missing(stderr: &str) -> bool {
    const MARKERS: &[&str] = &["from \"kachay\" provider", "po token which was not provided"];
    let lower = stderr.to_ascii_lowercase();
    MARKERS.iter().any(|m| lower.contains(m))
}

/// Phrases of each kind, in the order they are tried (lower case). The
/// texts are YouTube's own, as yt-dlp passes them on: see
/// `tests/data/stderr/youtube-*.txt`. A bot check comes before the others
/// because its sentence also asks to sign in; a geo block before "removed"
/// because YouTube words it "Video unavailable. The uploader has not made
/// this video available in your country".
const PHRASES: &[(FailureKind, &[&str])] = &[
    (FailureKind::BotCheck, &["not a bot", "not a robot", "captcha challenge"]),
    (
        FailureKind::AgeRestricted,
        &["confirm your age", "age-restricted", "age restricted", "age verification", "inappropriate for some users"],
    ),
    (FailureKind::MembersOnly, &["members-only", "members only", "join this channel", "channel's members"]),
    (FailureKind::Private, &["private video", "video is private"]),
    (
        FailureKind::GeoBlocked,
        &[
            "available in your country",
            "not available from your location",
            "geo restriction",
            "geo-restrict",
            "geo restricted",
        ],
    ),
    (
        FailureKind::LiveNotStarted,
        &["live event will begin", "premieres in", "premiere will begin", "live stream will begin"],
    ),
    // YouTube's "This content isn't available, try again later" is its rate
    // limit: reported as HTTP 429.
    (FailureKind::Http(429), &["rate-limited by youtube", "content isn't available, try again later"]),
    (
        FailureKind::Removed,
        &[
            "video unavailable",
            "has been removed",
            "has been terminated",
            "no longer available",
            "this video does not exist",
            "this video is not available",
        ],
    ),
];

fn kind_of(text: &str) -> FailureKind {
    let lower = text.to_ascii_lowercase();
    if lower.contains("unsupported url") {
        return FailureKind::Unsupported;
    }
    if lower.contains("is not a valid url") {
        return FailureKind::InvalidUrl;
    }
    if let Some((kind, _)) = PHRASES.iter().find(|(_, phrases)| phrases.iter().any(|p| lower.contains(p))) {
        return *kind;
    }
    if lower.contains("requested format is not available") {
        return FailureKind::FormatUnavailable;
    }
    if let Some(status) = http_status(text) {
        return FailureKind::Http(status);
    }
    const UNREACHABLE: &[&str] = &[
        "connection refused",
        "connection reset",
        "connection aborted",
        "timed out",
        "network is unreachable",
        "no route to host",
        "failed to resolve",
        "name or service not known",
        "temporary failure in name resolution",
        "nodename nor servname",
        "getaddrinfo failed",
        "no address associated with hostname",
    ];
    if UNREACHABLE.iter().any(|needle| lower.contains(needle)) {
        return FailureKind::Unreachable;
    }
    FailureKind::Other
}

/// Finds `HTTP Error NNN` and returns NNN.
fn http_status(text: &str) -> Option<u16> {
    const NEEDLE: &str = "HTTP Error ";
    let mut rest = text;
    while let Some(at) = rest.find(NEEDLE) {
        let after = &rest[at + NEEDLE.len()..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if digits.len() == 3 {
            if let Ok(status) = digits.parse() {
                return Some(status);
            }
        }
        rest = after;
    }
    None
}

/// Strips the extractor tag, the exception chain and the bug-report plea.
fn clean_message(rest: &str) -> String {
    let mut msg = rest.trim();
    msg = strip_extractor_tag(msg);
    for tail in [" (caused by ", "; please report this issue"] {
        if let Some(at) = msg.find(tail) {
            msg = &msg[..at];
        }
    }
    msg.trim().to_owned()
}

/// `[generic] video: Unable to …` → `Unable to …`;
/// `[generic] 'x' is not a valid URL` → `'x' is not a valid URL`.
fn strip_extractor_tag(msg: &str) -> &str {
    let Some(after_bracket) = msg.strip_prefix('[').and_then(|m| m.find(']').map(|end| &m[end + 1..])) else {
        return msg;
    };
    let after_tag = after_bracket.trim_start();
    match after_tag.split_once(": ") {
        Some((id, rest)) if !id.is_empty() && !id.contains(char::is_whitespace) => rest,
        _ => after_tag,
    }
}

fn last_plain_line(stderr: &str) -> String {
    stderr
        .lines()
        .rev()
        .map(str::trim_end)
        .find(|line| {
            !line.trim().is_empty()
                && !line.starts_with(char::is_whitespace)
                && !line.starts_with("Traceback")
                && !line.starts_with("WARNING:")
        })
        .map(|line| line.trim().to_owned())
        .unwrap_or_default()
}

fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_tag_with_id() {
        assert_eq!(strip_extractor_tag("[youtube] dQw4w9WgXcQ: Video unavailable"), "Video unavailable");
    }

    #[test]
    fn keeps_text_when_tag_has_no_id() {
        assert_eq!(strip_extractor_tag("[generic] 'x y' is not a valid URL"), "'x y' is not a valid URL");
        assert_eq!(strip_extractor_tag("Unsupported URL: http://a/b"), "Unsupported URL: http://a/b");
    }

    #[test]
    fn uses_the_last_error_line() {
        let stderr = "ERROR: first\nWARNING: meh\nERROR: [x] id: HTTP Error 403: Forbidden\n";
        assert_eq!(classify(stderr), (FailureKind::Http(403), "HTTP Error 403: Forbidden".into()));
    }

    #[test]
    fn never_returns_a_traceback() {
        let stderr = "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n    boom()\nKeyError: 'formats'\n";
        let (kind, msg) = classify(stderr);
        assert_eq!(kind, FailureKind::Other);
        assert_eq!(msg, "KeyError: 'formats'");
    }

    #[test]
    fn empty_stderr_still_gives_a_message() {
        let (kind, msg) = classify("");
        assert_eq!(kind, FailureKind::Other);
        assert!(!msg.is_empty());
    }

    #[test]
    fn long_messages_are_cut() {
        let long = format!("ERROR: {}", "é".repeat(2000));
        let (_, msg) = classify(&long);
        assert_eq!(msg.chars().count(), MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn drops_the_bug_report_plea() {
        let stderr = "ERROR: [youtube] abc: Something broke; please report this issue on  https://github.com/yt-dlp/yt-dlp/issues?q= , filling out the appropriate issue template.";
        assert_eq!(classify(stderr).1, "Something broke");
    }

    #[test]
    fn failure_kind_serializes_as_snake_case() {
        assert_eq!(serde_json::to_string(&FailureKind::InvalidUrl).ok().as_deref(), Some("\"invalid_url\""));
        assert_eq!(serde_json::to_string(&FailureKind::Http(404)).ok().as_deref(), Some("{\"http\":404}"));
    }
}
