//! Reading yt-dlp's lines into typed events.

use std::path::PathBuf;

use super::{post_step_of, PostStep, DOWNLOAD_TAG, FILE_TAG, POSTPROCESS_TAG};

/// One line of yt-dlp output that means something to us.
#[derive(Debug, Clone, PartialEq)]
pub enum YtDlpEvent {
    /// A `[kachay-dl]` progress tick.
    Download(DownloadTick),
    /// A `[kachay-pp]` post-processor status.
    PostProcess(PostProcessEvent),
    /// The `[kachay-file]` line: where the finished file is.
    File(PathBuf),
    /// A `WARNING:` line, without the prefix.
    Warning(String),
    /// An `ERROR:` line, without the prefix.
    Error(String),
}

/// `status` of a download tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickStatus {
    /// Still fetching.
    Downloading,
    /// This file is complete.
    Finished,
    /// yt-dlp's hook reported an error.
    Error,
    /// Anything else.
    Other,
}

/// One `%(progress)j` object from a download.
#[derive(Debug, Clone, PartialEq)]
pub struct DownloadTick {
    /// `status`.
    pub status: TickStatus,
    /// Bytes of this file so far.
    pub downloaded_bytes: u64,
    /// Exact size of this file, when the server said (HTTP, or at the end).
    pub total_bytes: Option<u64>,
    /// yt-dlp's running estimate of this file's size (HLS).
    pub total_bytes_estimate: Option<u64>,
    /// Bytes per second.
    pub speed: Option<f64>,
    /// yt-dlp's seconds to go for this file.
    pub eta: Option<u64>,
    /// Seconds since this file started.
    pub elapsed: Option<f64>,
    /// Fragments finished (HLS/DASH).
    pub fragment_index: Option<u64>,
    /// Fragments in all (HLS/DASH).
    pub fragment_count: Option<u64>,
    /// The file being written (identifies the stage).
    pub filename: Option<String>,
    /// yt-dlp's `_percent` for this file (unreliable for HLS).
    pub percent: Option<f64>,
}

/// `status` of a post-processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostStatus {
    /// It began.
    Started,
    /// It is working (rarely sent).
    Processing,
    /// It is done.
    Finished,
    /// Anything else.
    Other,
}

/// One `[kachay-pp]` object.
#[derive(Debug, Clone, PartialEq)]
pub struct PostProcessEvent {
    /// `status`.
    pub status: PostStatus,
    /// yt-dlp's class name without `PP`: `Merger`, `ExtractAudio`,
    /// `FixupM3u8`, `MoveFiles`, …
    pub postprocessor: String,
}

impl PostProcessEvent {
    /// The step this is, or `None` for bookkeeping (`MoveFiles`).
    pub fn step(&self) -> Option<PostStep> {
        post_step_of(&self.postprocessor)
    }
}

/// Reads one line of yt-dlp output (either stream). Lines that are neither
/// ours nor a warning or error give `None`, as do malformed JSON payloads.
pub fn parse_line(line: &str) -> Option<YtDlpEvent> {
    let line = line.trim_end_matches(['\n', '\r']);
    if let Some(json) = line.strip_prefix(DOWNLOAD_TAG) {
        return parse_tick(json).map(YtDlpEvent::Download);
    }
    if let Some(json) = line.strip_prefix(POSTPROCESS_TAG) {
        return parse_postprocess(json).map(YtDlpEvent::PostProcess);
    }
    if let Some(path) = line.strip_prefix(FILE_TAG) {
        return (!path.is_empty()).then(|| YtDlpEvent::File(PathBuf::from(path)));
    }
    // yt-dlp may start an error line with a carriage return that wipes a
    // progress line on a terminal: `ERROR: \r[download] Got error: …`.
    if let Some(rest) = line.strip_prefix("ERROR:") {
        return Some(YtDlpEvent::Error(after_carriage_return(rest)));
    }
    if let Some(rest) = line.strip_prefix("WARNING:") {
        return Some(YtDlpEvent::Warning(after_carriage_return(rest)));
    }
    None
}

fn after_carriage_return(text: &str) -> String {
    let kept = text.split('\r').map(str::trim).filter(|part| !part.is_empty()).collect::<Vec<_>>();
    kept.join(" ")
}

fn parse_tick(json: &str) -> Option<DownloadTick> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let obj = value.as_object()?;
    let status = match obj.get("status").and_then(|s| s.as_str()) {
        Some("downloading") => TickStatus::Downloading,
        Some("finished") => TickStatus::Finished,
        Some("error") => TickStatus::Error,
        _ => TickStatus::Other,
    };
    let num = |key: &str| obj.get(key).and_then(serde_json::Value::as_f64).filter(|v| v.is_finite() && *v >= 0.0);
    // Non-negative and finite, so the float-to-int `as` is exact enough.
    let whole = |key: &str| num(key).map(|v| v.round() as u64);
    Some(DownloadTick {
        status,
        downloaded_bytes: whole("downloaded_bytes").unwrap_or(0),
        total_bytes: whole("total_bytes").filter(|t| *t > 0),
        total_bytes_estimate: whole("total_bytes_estimate").filter(|t| *t > 0),
        speed: num("speed").filter(|s| *s > 0.0),
        eta: whole("eta"),
        elapsed: num("elapsed"),
        fragment_index: whole("fragment_index"),
        fragment_count: whole("fragment_count").filter(|c| *c > 0),
        filename: obj.get("filename").and_then(|s| s.as_str()).map(str::to_owned),
        percent: num("_percent").map(|p| p.min(100.0)),
    })
}

fn parse_postprocess(json: &str) -> Option<PostProcessEvent> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let obj = value.as_object()?;
    let status = match obj.get("status").and_then(|s| s.as_str()) {
        Some("started") => PostStatus::Started,
        Some("processing") => PostStatus::Processing,
        Some("finished") => PostStatus::Finished,
        _ => PostStatus::Other,
    };
    let postprocessor = obj.get("postprocessor").and_then(|s| s.as_str()).unwrap_or_default().to_owned();
    Some(PostProcessEvent { status, postprocessor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_line_after_carriage_return() {
        assert_eq!(
            parse_line("ERROR: \r[download] Got error: boom"),
            Some(YtDlpEvent::Error("[download] Got error: boom".into()))
        );
        assert_eq!(parse_line("[generic] Extracting URL: x"), None);
        assert_eq!(parse_line("[kachay-dl] {not json"), None);
    }
}
