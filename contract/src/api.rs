//! The JSON API shared by the server and the browser client.
//!
//! The shapes follow the seed service (`POST /api/video-info` and friends):
//! field names and meanings are a contract other clients rely on. New fields
//! may be added; existing ones must not change.

use serde::{Deserialize, Serialize};

use crate::{Detail, ErrorCode, JobState, PostStep};

/// Body of `POST /api/video-info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoInfoRequest {
    pub url: String,
}

/// Successful answer of `POST /api/video-info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoInfoResponse {
    pub success: bool,
    pub info: VideoInfo,
}

/// What the preview card shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoInfo {
    pub title: String,
    /// `HH:MM:SS`, or null when the site does not say.
    pub duration: Option<String>,
    pub uploader: Option<String>,
    /// Grouped with commas (`1,234,567`), or null when unknown.
    pub view_count: Option<String>,
    pub thumbnail: Option<String>,
    /// Only the choices the media can really deliver, best first.
    pub qualities: Vec<Quality>,
    /// The same duration in seconds (for clients that format it themselves).
    #[serde(default)]
    pub duration_secs: Option<u64>,
    /// The same view count as a number.
    #[serde(default)]
    pub views: Option<u64>,
    /// The canonical page of the video, when the site gives one.
    #[serde(default)]
    pub webpage_url: Option<String>,
    /// Present when the link is a playlist or channel: its entries (capped
    /// by `MAX_PLAYLIST_ITEMS`), each downloadable on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playlist: Option<PlaylistInfo>,
    /// The subtitle languages the video has, the site's own first, then
    /// automatic ones (each language once: an own track hides the
    /// automatic one of the same language).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subtitles: Vec<SubtitleTrack>,
    /// How many chapters the video has (written into tagged files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chapters: Option<u32>,
}

/// One subtitle language of a video.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubtitleTrack {
    /// The site's code, as `subtitles` of a download takes it (`en`, `ru`, `en-US`).
    pub lang: String,
    /// The site's name for it, when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Made by the site's speech recognition, not by a person.
    #[serde(default)]
    pub automatic: bool,
}

/// A playlist's listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaylistInfo {
    pub entries: Vec<PlaylistItem>,
    /// How many entries the whole playlist has, when the site says.
    pub count: Option<u64>,
    /// True when only the first entries are listed.
    pub truncated: bool,
    /// Made by the page from several pasted links, not a site's playlist
    /// (never sent or read by the API).
    #[serde(skip)]
    pub pasted: bool,
}

/// One video of a playlist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaylistItem {
    pub url: String,
    pub title: String,
    pub duration: Option<String>,
    #[serde(default)]
    pub duration_secs: Option<u64>,
    pub thumbnail: Option<String>,
}

/// Body of `POST /api/download-batch`: several links, one quality, one job each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchDownloadRequest {
    pub urls: Vec<String>,
    #[serde(default)]
    pub quality: Option<serde_json::Value>,
    /// The same for every link.
    #[serde(flatten)]
    pub choices: DownloadChoices,
}

/// Answer of `POST /api/download-batch`: ids of the started jobs, in order,
/// and the links that were refused with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchDownloadStarted {
    pub success: bool,
    pub downloads: Vec<BatchItem>,
}

/// One link of a batch: its job id, or the error that kept it from starting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchItem {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The error's machine-readable code (as in an error answer), so a page
    /// can word it in its own language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
    /// The figures the sentence names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Detail>,
}

/// One choice of the quality picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quality {
    /// One of `2160`, `1440`, `1080`, `720`, `480`, `360`, `auto`, `audio`.
    pub id: String,
    pub label: String,
    /// Estimated size in bytes, or null when the site gives nothing to go on.
    pub filesize_approx: Option<u64>,
}

/// The body of every failed API call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    pub success: bool,
    /// A sentence a person understands.
    pub error: String,
    /// A stable machine-readable code (`invalid_url`, `unsupported_url`, …).
    #[serde(default)]
    pub code: Option<ErrorCode>,
    /// What the person can do about it, in English, when there is something
    /// ([`crate::sentences::hint`] has it in every language, by `code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Seconds to wait before trying again (as the `Retry-After` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// The figures the sentence names (limits, an HTTP status, the site's
    /// words), so a client can word the error in its own language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Detail>,
}

impl ApiErrorBody {
    /// A body with just the code and its sentence.
    pub fn new(code: ErrorCode, error: impl Into<String>) -> ApiErrorBody {
        ApiErrorBody {
            success: false,
            error: error.into(),
            code: Some(code),
            hint: None,
            retry_after_secs: None,
            detail: None,
        }
    }
}

/// Body of `POST /api/download`. `quality` is one of `auto`, `2160`, `1440`,
/// `1080`, `720`, `480`, `360`, `audio`; missing means `auto`. A number such
/// as `720` is accepted as well as the string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DownloadRequest {
    pub url: String,
    #[serde(default)]
    pub quality: Option<serde_json::Value>,
    #[serde(flatten)]
    pub choices: DownloadChoices,
}

/// The optional fields of a download, as a client sends them; every one
/// may be left out. The server checks them into a
/// [`crate::media::DownloadOptions`] (a bad one is a 400 with a sentence).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DownloadChoices {
    /// Start of a clip: seconds as a number (`4`, `4.5`) or
    /// `"[HH:]MM:SS[.mmm]"`. Missing: the beginning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<serde_json::Value>,
    /// End of a clip, the same way. Missing: the end of the video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<serde_json::Value>,
    /// For `audio`: `m4a` (default), `mp3`, `opus` or `flac`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_format: Option<String>,
    /// For lossy audio: kbit/s, one of 96, 128, 160, 192, 256, 320 (a
    /// number, or text like `"192k"`). Missing: copy when the source fits,
    /// else a good default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_bitrate: Option<serde_json::Value>,
    /// Subtitle languages, from the video's `subtitles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitles: Option<Vec<String>>,
    /// `embed` (default), `files` (beside the video: the download is a ZIP) or `both`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle_mode: Option<String>,
    /// Subtitle files as `srt` (default) or `vtt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle_format: Option<String>,
    /// Title, artist, date, description, chapters and cover art written
    /// into the file. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<bool>,
}

/// Successful answer of `POST /api/download`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadStarted {
    pub success: bool,
    pub download_id: String,
}

/// Answer of `POST /api/cancel/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    pub success: bool,
}

/// `GET /api/status/{id}`, and the data of every `GET /api/events/{id}` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStatus {
    /// `queued`, `downloading`, `merging`, `completed`, `error` or `cancelled`.
    pub status: JobState,
    /// 0–100, never goes backwards.
    pub progress: f64,
    /// `2.50 MiB/s` while bytes move.
    pub speed: Option<String>,
    /// `10s`, `1m 05s` while bytes move.
    pub eta: Option<String>,
    pub status_text: String,
    pub title: Option<String>,
    /// The name the browser saves the file under (when completed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Why it failed, in words (when `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    // Additions to the seed's shape.
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub quality: String,
    #[serde(default)]
    pub downloaded_bytes: u64,
    #[serde(default)]
    pub total_bytes: Option<u64>,
    /// Size of the finished file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesize: Option<u64>,
    /// Where to fetch the finished file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_url: Option<String>,
    /// Stable machine-readable reason (always, when `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<ErrorCode>,
    /// The figures the failure's sentence names (when `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_detail: Option<Detail>,
    /// Which step runs while `merging`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_step: Option<PostStep>,
    /// What the person can do about the failure, in English (when `error`
    /// and there is something to do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Bytes per second while bytes move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_bps: Option<f64>,
    /// Seconds to go while bytes move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_secs: Option<u64>,
    /// Which path the bytes take: `native` (Kachay's engine) or `yt-dlp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// It was running when the server stopped and started again after the
    /// restart.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restarted: bool,
}

impl JobStatus {
    /// Completed, failed or cancelled: nothing more will happen.
    pub fn is_terminal(&self) -> bool {
        self.status.is_finished()
    }
}

/// One item of `GET /api/downloads`: the status, and when it was asked for
/// and ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DownloadListItem {
    #[serde(flatten)]
    pub status: JobStatus,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    /// Milliseconds since the Unix epoch, once completed, failed or cancelled.
    #[serde(default)]
    pub finished_at: Option<u64>,
}

/// `GET /api/downloads`: the caller's downloads, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DownloadList {
    pub success: bool,
    pub downloads: Vec<DownloadListItem>,
    /// Pass as `before` for the next page; absent on the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<String>,
}

/// `GET /api/health`: whether the tools behind the downloads are in shape.
/// The expensive parts (yt-dlp, ffmpeg, the JS runtime, the PO-token
/// provider) are checked at most every few minutes; `checked_at` says when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    /// `ok`, or `warnings` when `warnings` is not empty.
    pub status: String,
    /// What needs the administrator's attention.
    #[serde(default)]
    pub warnings: Vec<HealthWarning>,
    pub ytdlp: YtDlpHealth,
    pub ffmpeg: ToolHealth,
    pub js_runtime: JsRuntimeHealth,
    pub pot_provider: PotProviderHealth,
    /// Kachay's own PO-token service (absent from older servers).
    #[serde(default)]
    pub pot_service: PotServiceHealth,
    /// The cluster this node is part of (`REDIS_URL`); absent on a single node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterHealth>,
    /// Whether a cookies file is in use (never its content or place).
    pub cookies_configured: bool,
    pub disk: DiskHealth,
    /// When the tools were last checked (milliseconds since the Unix epoch).
    pub checked_at: u64,
}

/// One thing to fix: a stable `code` (`ytdlp_outdated`, `js_runtime_missing`,
/// …) and an English sentence saying what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthWarning {
    pub code: String,
    pub message: String,
}

/// yt-dlp: YouTube changes often, so an old one stops working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YtDlpHealth {
    pub found: bool,
    /// `2026.10.26`.
    pub version: Option<String>,
    /// Days since that release.
    pub age_days: Option<u64>,
    /// Older than 60 days.
    pub outdated: bool,
    /// The command that updates it.
    pub update_command: String,
}

/// A program and its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolHealth {
    pub found: bool,
    pub version: Option<String>,
}

/// The JavaScript runtime yt-dlp needs for YouTube.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsRuntimeHealth {
    /// yt-dlp reports a usable runtime.
    pub found: bool,
    /// `deno`, `node`, …
    pub name: Option<String>,
    pub version: Option<String>,
}

/// PO-token providers (plugins) and the configured provider server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PotProviderHealth {
    /// `POT_PROVIDER_URL` is set.
    pub configured: bool,
    /// The providers yt-dlp loaded, e.g. `bgutil:http 2.0.2`.
    #[serde(default)]
    pub providers: Vec<PotProviderInfo>,
    /// The configured server answered `/ping` (`None` when not configured).
    pub reachable: Option<bool>,
    /// The server's version, from `/ping`.
    pub server_version: Option<String>,
}

/// Kachay's PO-token service: its minter and what it did since the start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PotServiceHealth {
    pub running: bool,
    /// Where tokens are minted (`POT_PROVIDER_URL`, without credentials).
    pub minter: Option<String>,
    /// The minter answered its ping (`None`: no minter, or not checked).
    #[serde(default)]
    pub minter_reachable: Option<bool>,
    /// The minter's version, from its ping.
    #[serde(default)]
    pub minter_version: Option<String>,
    /// yt-dlp loaded Kachay's provider (`kachay` among its PO-token providers).
    #[serde(default)]
    pub provider_loaded: bool,
    /// yt-dlp loaded Kachay's cache provider.
    #[serde(default)]
    pub cache_loaded: bool,
    /// Tokens the minter made.
    pub minted: u64,
    /// Tokens handed out without a mint of their own.
    pub served_from_cache: u64,
    /// Mints that failed.
    pub failures: u64,
    /// Tokens kept now.
    pub tokens_cached: u64,
    /// yt-dlp cache entries kept for its processes to share.
    pub shared_entries: u64,
    /// Lookups of those entries that found one.
    pub shared_hits: u64,
    /// Entries yt-dlp stored.
    pub shared_stores: u64,
}

/// A cluster's state, as this node sees it through Redis.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterHealth {
    /// This node's role: `all`, `web` or `worker`.
    pub role: String,
    /// Redis answered.
    pub redis_reachable: bool,
    /// Downloads waiting for a worker.
    pub queued: u64,
    /// Downloads a worker has taken and not finished.
    pub running: u64,
    /// The workers alive (each says so every few seconds).
    #[serde(default)]
    pub workers: Vec<WorkerHealth>,
}

/// One worker of a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerHealth {
    pub id: String,
    /// Downloads it runs now.
    pub running: u64,
    /// How many it runs at once at most.
    pub slots: u64,
    /// Its Kachay version.
    pub version: String,
}

/// One PO-token provider yt-dlp loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PotProviderInfo {
    pub name: String,
    pub version: Option<String>,
    /// yt-dlp considers it usable.
    pub available: bool,
}

/// Space where downloads are written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskHealth {
    /// Free bytes in `DOWNLOAD_DIR`'s file system (`None` if unknown).
    pub free_bytes: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_keeps_the_seed_shape() {
        let body = ApiErrorBody::new(ErrorCode::InvalidUrl, "Bad link.");
        let json = serde_json::to_value(&body).unwrap_or_default();
        assert_eq!(json["success"], false);
        assert_eq!(json["error"], "Bad link.");
        assert_eq!(json["code"], "invalid_url");
        assert!(json.get("detail").is_none() && json.get("retry_after_secs").is_none(), "{json}");
    }

    #[test]
    fn a_status_without_the_additions_still_reads() {
        let seed = r#"{"status":"downloading","progress":12.5,"speed":"1.00 MiB/s","eta":"10s","status_text":"12.5%","title":null}"#;
        let status: JobStatus = serde_json::from_str(seed).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(status.status, JobState::Downloading);
        assert_eq!(status.error_code, None);
    }
}
