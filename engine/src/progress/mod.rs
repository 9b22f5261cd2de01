//! yt-dlp's progress output: its lines parsed into typed events
//! ([`parse_line`]), and one overall progress across a download's stages
//! ([`ProgressTracker`]), with the human strings the page shows.
//!
//! yt-dlp is run with the arguments in [`progress_args`]. What it really
//! prints then (yt-dlp 2026.10.26, checked against the fixture site; real
//! captures are in `tests/data/progress/`):
//!
//! * `--print` switches yt-dlp to quiet mode: its usual `[download] …`,
//!   `[Merger] …` lines disappear, and so would the progress lines unless
//!   `--progress` is given as well.
//! * Download ticks (`[kachay-dl] {json}`) go to **stdout**, post-processor
//!   hooks (`[kachay-pp] {json}`) and `WARNING:`/`ERROR:` lines to
//!   **stderr**, the `[kachay-file] PATH` line to stdout. Without `--print`
//!   both templates go to stdout.
//! * A tick for plain HTTP carries `downloaded_bytes`, `total_bytes`,
//!   `speed`, `eta`, `elapsed`, `filename`, `tmpfilename`, `_percent`; the
//!   first ticks of a file have `speed`/`eta` null.
//! * A tick for HLS (`m3u8_native`) has no `total_bytes` but a
//!   `total_bytes_estimate` that swings (it is extrapolated from the
//!   fragments so far) so `_percent` goes down and up again, plus
//!   `fragment_index` (fragments finished) and `fragment_count`; `eta` is
//!   mostly null and `speed` 0 at first.
//! * Every file ends with one tick with `status: "finished"` and
//!   `total_bytes` set. A `bv+ba` selection is two such runs, one per file
//!   (`media.f1200.mp4`, then `media.faud-Stereo.mp4`).
//! * Post-processors only say `started` and `finished`, no percentage:
//!   `Merger`, `FixupM3u8` (after an HLS download that is not merged),
//!   `ExtractAudio`, and always `MoveFiles` last.
//! * On failure the last `ERROR:` line may carry a carriage return
//!   (`ERROR: \r[download] Got error: …`).
//!
//! The parts: `parse` reads the lines, `tracker` adds them up, `text` words
//! a progress for people.

mod parse;
mod text;
mod tracker;

use serde::{Deserialize, Serialize};

pub use parse::{parse_line, DownloadTick, PostProcessEvent, PostStatus, TickStatus, YtDlpEvent};
pub use text::{format_bytes, format_eta, format_speed, status_text};
pub use tracker::ProgressTracker;

/// Prefix of a download tick line.
pub const DOWNLOAD_TAG: &str = "[kachay-dl] ";
/// Prefix of a post-processor line.
pub const POSTPROCESS_TAG: &str = "[kachay-pp] ";
/// Prefix of the line naming the finished file.
pub const FILE_TAG: &str = "[kachay-file] ";

/// The yt-dlp arguments that make it print what [`parse_line`] reads.
pub fn progress_args() -> [&'static str; 8] {
    [
        "--newline",
        "--progress",
        "--progress-template",
        "download:[kachay-dl] %(progress)j",
        "--progress-template",
        "postprocess:[kachay-pp] %(progress)j",
        "--print",
        "after_move:[kachay-file] %(filepath)s",
    ]
}

/// Where a job stands (the API's `status`).
pub use contract::JobState as Phase;
/// Which post-processing step is running during [`Phase::Merging`].
pub use contract::PostStep;

/// The step a yt-dlp post-processor name stands for; `None` for the
/// bookkeeping ones (`MoveFiles`) that should not show.
pub fn post_step_of(postprocessor: &str) -> Option<PostStep> {
    match postprocessor {
        "Merger" => Some(PostStep::Merge),
        "ExtractAudio" => Some(PostStep::ExtractAudio),
        "MoveFiles" | "" => None,
        n if n.starts_with("Fixup") => Some(PostStep::Fixup),
        _ => Some(PostStep::Other),
    }
}

/// One overall progress of a download, across all its stages.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Progress {
    /// Where it stands.
    pub phase: Phase,
    /// Overall percentage, 0 to 100; it never goes backwards.
    pub percent: f64,
    /// Bytes fetched so far, all stages together.
    pub downloaded_bytes: u64,
    /// Expected size of everything to fetch, all stages together (an
    /// estimate until the end); the final file size once completed.
    pub total_bytes: Option<u64>,
    /// Current download speed in bytes per second.
    pub speed: Option<f64>,
    /// Seconds until the whole download is done.
    pub eta: Option<u64>,
    /// The download stage under way, from 1 (e.g. 1 = video, 2 = audio);
    /// equal to `stages` while post-processing; 0 before anything started.
    pub stage: u32,
    /// How many download stages there are (1 for a single file, 2 for
    /// video + audio); 0 before it is known.
    pub stages: u32,
    /// The post-processing step while `phase` is `Merging`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_step: Option<PostStep>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_serializes_lowercase() {
        for (phase, name) in [
            (Phase::Queued, "queued"),
            (Phase::Downloading, "downloading"),
            (Phase::Merging, "merging"),
            (Phase::Completed, "completed"),
            (Phase::Error, "error"),
            (Phase::Cancelled, "cancelled"),
        ] {
            assert_eq!(serde_json::to_string(&phase).ok(), Some(format!("\"{name}\"")));
        }
    }
}
