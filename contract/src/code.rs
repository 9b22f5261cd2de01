//! Every way a call can fail, one stable name each.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! error_codes {
    ($( $(#[doc = $doc:expr])* $name:ident = $text:literal, )*) => {
        /// A failure's stable, machine-readable name: the `code` of an error
        /// answer, a job's `error_code`, the CLI's `--json` `code`.
        ///
        /// Serialised as the snake_case text (`"server_busy"`). A name this
        /// build does not know reads as [`ErrorCode::Unknown`], so an older
        /// client keeps working against a newer server (and shows the
        /// server's own sentence).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[doc = $doc])* $name, )*
            /// A code from a newer server.
            Unknown,
        }

        impl ErrorCode {
            /// Every code (but [`ErrorCode::Unknown`]), for tests and docs.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name,)*];

            /// The name on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => $text,)*
                    ErrorCode::Unknown => "unknown",
                }
            }

            /// The code of a name; [`ErrorCode::Unknown`] for a name this
            /// build does not know.
            pub fn from_name(name: &str) -> ErrorCode {
                match name {
                    $($text => ErrorCode::$name,)*
                    _ => ErrorCode::Unknown,
                }
            }
        }
    };
}

error_codes! {
    // The request.
    /// No link in the request.
    MissingUrl = "missing_url",
    /// The text is not a link (`detail.reason` may say more).
    InvalidUrl = "invalid_url",
    /// The link is longer than the server takes (`detail.limit`: characters).
    UrlTooLong = "url_too_long",
    /// Not `http://` or `https://`.
    UnsupportedScheme = "unsupported_scheme",
    /// Not a quality the server knows.
    InvalidQuality = "invalid_quality",
    /// `start` or `end` is not a time (seconds, or `[HH:]MM:SS[.mmm]`).
    InvalidClipTime = "invalid_clip_time",
    /// The clip's end is not after its start, it is shorter than half a
    /// second, or it lies past the video's end (`detail.limit`: the
    /// video's length in seconds, when that is why).
    InvalidClipRange = "invalid_clip_range",
    /// `audio_format` or `audio_bitrate` is not one offered.
    InvalidAudioFormat = "invalid_audio_format",
    /// A subtitle language the video does not have (`detail.reason`: the
    /// language), or an unknown `subtitle_mode`/`subtitle_format`.
    InvalidSubtitles = "invalid_subtitles",
    /// `limit` of `GET /api/downloads` out of range (`detail.limit`: the most).
    InvalidLimit = "invalid_limit",
    /// `before` of `GET /api/downloads` is not a download's id.
    InvalidCursor = "invalid_cursor",
    /// `format` of `GET /api/health` is not `json` or `text`.
    BadFormat = "bad_format",
    /// More links in one batch than the server takes (`detail.limit`).
    TooManyLinks = "too_many_links",
    /// A single download of a playlist link.
    IsPlaylist = "is_playlist",
    /// The body could not be read (`detail.reason`: what is wrong, in English).
    BadRequest = "bad_request",
    /// The body is over the size limit (`detail.limit`: bytes).
    BodyTooLarge = "body_too_large",
    // Access.
    /// No such download (or not the caller's).
    NotFound = "not_found",
    /// The download has no file (yet).
    NotReady = "not_ready",
    /// Login is on and the request carries no session.
    Unauthorized = "unauthorized",
    /// Too many requests (`retry_after_secs`).
    RateLimited = "rate_limited",
    /// Too many wrong passwords (`retry_after_secs`).
    LoginLocked = "login_locked",
    /// The `Host` is not one the server answers to (DNS-rebinding defence).
    HostNotAllowed = "host_not_allowed",
    /// An account page (history, feeds) while the operator's cookies are set.
    AccountPage = "account_page",
    /// Too many event streams from one client (`detail.limit`).
    TooManyStreams = "too_many_streams",
    // The server's limits.
    /// Every lookup slot stayed busy (`retry_after_secs`).
    LookupsBusy = "lookups_busy",
    /// The server's queue is full, or it cannot count it right now.
    ServerBusy = "server_busy",
    /// The server cannot reach its shared state (Redis) just now
    /// (`retry_after_secs`).
    SharedStateUnavailable = "shared_state_unavailable",
    /// This client has as many unfinished downloads as it may
    /// (`detail.limit`, and `detail.count` it has).
    TooManyDownloads = "too_many_downloads",
    /// `DISK_QUOTA` (`detail.limit`: bytes) or `MIN_FREE_DISK` (no limit) would break.
    DiskFull = "disk_full",
    /// Over `MAX_FILESIZE` (`detail.limit`: bytes).
    TooLarge = "too_large",
    /// Over `MAX_DURATION_SECS` (`detail.limit`: seconds).
    TooLong = "too_long",
    /// Below `MIN_SPEED` (`detail.min_speed_bps`) for `detail.window_secs`.
    TooSlow = "too_slow",
    /// The download was cancelled.
    Cancelled = "cancelled",
    /// The site or the download took too long (`detail.limit`: seconds, when known).
    Timeout = "timeout",
    /// The egress guard refuses the address (`detail.reason`: its sentence, in English).
    DestinationRefused = "destination_refused",
    /// yt-dlp's answer is over the cap (`detail.limit`: MiB).
    AnswerTooLarge = "answer_too_large",
    /// The site's answer could not be read.
    UnreadableAnswer = "unreadable_answer",
    /// The downloader cannot run (see the server's log).
    ServerMisconfigured = "server_misconfigured",
    // The video site.
    /// No video at the link.
    UnsupportedUrl = "unsupported_url",
    /// HTTP 404 or 410 from the site.
    RemoteNotFound = "remote_not_found",
    /// HTTP 403 from the site.
    RemoteForbidden = "remote_forbidden",
    /// HTTP 429 from the site.
    RemoteRateLimited = "remote_rate_limited",
    /// Another HTTP error from the site (`detail.http_status`).
    RemoteError = "remote_error",
    /// The site could not be reached.
    RemoteUnreachable = "remote_unreachable",
    /// Anything else the site or yt-dlp reported (`detail.reason`, in English).
    RemoteFailed = "remote_failed",
    /// The chosen quality is not offered.
    FormatUnavailable = "format_unavailable",
    /// YouTube's "not a bot" check.
    BotCheck = "bot_check",
    /// YouTube wanted a PO token and the server could not get one.
    PoTokenUnavailable = "po_token_unavailable",
    /// A private video.
    PrivateVideo = "private_video",
    /// For the channel's members only.
    MembersOnly = "members_only",
    /// For signed-in adults only.
    AgeRestricted = "age_restricted",
    /// Not available in the server's country.
    GeoBlocked = "geo_blocked",
    /// Removed, or its channel closed.
    VideoRemoved = "video_removed",
    /// A live stream or premiere that has not started.
    LiveNotStarted = "live_not_started",
    // The page's own (never sent by the server).
    /// The server could not be reached from the browser.
    Network = "network",
    /// The server's answer is not what the page expects.
    BadAnswer = "bad_answer",
    /// An error status without a readable body (`detail.http_status`).
    HttpStatus = "http_status",
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(ErrorCode::from_name(&name))
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The figures and words a failure's sentence names, as numbers: a client
/// words them in its own language instead of parsing the English sentence.
/// What `limit` counts depends on the code (see [`ErrorCode`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// How many the caller has (`too_many_downloads`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The site's (or, for `http_status`, the server's) HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Seconds to wait before trying again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// The speed floor, bytes per second (`too_slow`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_speed_bps: Option<u64>,
    /// How long the download stayed below it, seconds (`too_slow`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_secs: Option<u64>,
    /// Words only the site, the guard or the parser has, in English (no
    /// paths, no internal addresses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Detail {
    pub fn is_empty(&self) -> bool {
        *self == Detail::default()
    }

    pub fn limit(limit: u64) -> Detail {
        Detail { limit: Some(limit), ..Detail::default() }
    }

    pub fn reason(reason: impl Into<String>) -> Detail {
        Detail { reason: Some(reason.into()), ..Detail::default() }
    }

    pub fn retry_after(secs: u64) -> Detail {
        Detail { retry_after_secs: Some(secs), ..Detail::default() }
    }

    pub fn http_status(status: u16) -> Detail {
        Detail { http_status: Some(status), ..Detail::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_and_write_their_names() {
        for &code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).ok(), Some(code));
        }
        assert_eq!(serde_json::from_str::<ErrorCode>("\"from_the_future\"").ok(), Some(ErrorCode::Unknown));
        assert_eq!(serde_json::to_string(&ErrorCode::ServerBusy).unwrap_or_default(), "\"server_busy\"");
    }

    #[test]
    fn names_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert!(code.as_str().chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{code}");
        }
    }

    #[test]
    fn an_empty_detail_is_not_sent() {
        assert_eq!(serde_json::to_string(&Detail::default()).unwrap_or_default(), "{}");
        assert_eq!(serde_json::to_string(&Detail::limit(2)).unwrap_or_default(), "{\"limit\":2}");
    }
}
