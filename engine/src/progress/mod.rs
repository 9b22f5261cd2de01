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

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Prefix of a download tick line.
pub const DOWNLOAD_TAG: &str = "[kachay-dl] ";
/// Prefix of a post-processor line.
pub const POSTPROCESS_TAG: &str = "[kachay-pp] ";
/// Prefix of the line naming the finished file.
pub const FILE_TAG: &str = "[kachay-file] ";

/// Share of the overall percentage given to downloading; post-processing
/// (merge, audio extraction, fix-ups) fills the rest up to 100.
const DOWNLOAD_SHARE: f64 = 95.0;
/// Where the percentage stands once a post-processor has finished.
const POSTPROCESS_DONE: f64 = 99.0;

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
    let kept = text
        .split('\r')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>();
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
    let num = |key: &str| {
        obj.get(key)
            .and_then(serde_json::Value::as_f64)
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
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
        filename: obj
            .get("filename")
            .and_then(|s| s.as_str())
            .map(str::to_owned),
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
    let postprocessor = obj
        .get("postprocessor")
        .and_then(|s| s.as_str())
        .unwrap_or_default()
        .to_owned();
    Some(PostProcessEvent {
        status,
        postprocessor,
    })
}

/// The stage being downloaded right now.
#[derive(Debug, Clone, Default)]
struct Stage {
    filename: Option<String>,
    downloaded: u64,
    /// Best guess of this file's size in bytes.
    total: Option<u64>,
    /// 0..=1, never decreasing.
    fraction: f64,
    finished: bool,
    /// `fragment_index` seen last, and `downloaded` when it began.
    fragment: Option<(u64, u64)>,
}

/// Turns a stream of [`YtDlpEvent`]s into one [`Progress`] that never goes
/// backwards.
///
/// The download stages (one per file yt-dlp fetches: the video, then the
/// audio of a `v+a` selection) share 95 % in proportion to their expected
/// sizes; post-processing takes the percentage to 99 %, and
/// [`complete`](Self::complete) to 100.
#[derive(Debug, Clone)]
pub struct ProgressTracker {
    /// Expected size of each stage, as planned.
    planned: Vec<Option<u64>>,
    /// Share of each planned stage, summing to 1.
    weights: Vec<f64>,
    /// Index of the current stage; `None` before the first tick.
    index: Option<usize>,
    stage: Stage,
    /// Bytes of the stages already finished.
    done_bytes: u64,
    percent: f64,
    phase: Phase,
    post_step: Option<PostStep>,
    speed: Option<f64>,
    eta: Option<u64>,
}

impl ProgressTracker {
    /// A tracker for a download of `stage_sizes.len()` files (at least one)
    /// with these expected sizes in bytes. Stages are weighted by size; an
    /// unknown size counts as the mean of the known ones, and with none
    /// known all stages weigh the same.
    pub fn new(stage_sizes: Vec<Option<u64>>) -> Self {
        let planned = if stage_sizes.is_empty() {
            vec![None]
        } else {
            stage_sizes
        };
        let known: Vec<f64> = planned.iter().flatten().map(|s| *s as f64).collect();
        let mean = if known.is_empty() {
            1.0
        } else {
            known.iter().sum::<f64>() / known.len() as f64
        };
        let raw: Vec<f64> = planned
            .iter()
            .map(|s| s.map_or(mean, |s| s as f64).max(1.0))
            .collect();
        let sum: f64 = raw.iter().sum();
        let weights = raw.iter().map(|w| w / sum).collect();
        ProgressTracker {
            planned,
            weights,
            index: None,
            stage: Stage::default(),
            done_bytes: 0,
            percent: 0.0,
            phase: Phase::Downloading,
            post_step: None,
            speed: None,
            eta: None,
        }
    }

    /// Takes one event; returns the new progress when it changed anything
    /// a person could see (ticks and post-processor steps), `None` for
    /// other events.
    pub fn feed(&mut self, event: &YtDlpEvent) -> Option<Progress> {
        match event {
            YtDlpEvent::Download(tick) => {
                self.tick(tick);
                Some(self.current())
            }
            YtDlpEvent::PostProcess(pp) => {
                let step = pp.step()?;
                self.finish_stage();
                self.phase = Phase::Merging;
                self.post_step = Some(step);
                self.speed = None;
                self.eta = None;
                let floor = match pp.status {
                    PostStatus::Finished => POSTPROCESS_DONE,
                    _ => DOWNLOAD_SHARE,
                };
                self.percent = self.percent.max(floor);
                Some(self.current())
            }
            YtDlpEvent::File(_) | YtDlpEvent::Warning(_) | YtDlpEvent::Error(_) => None,
        }
    }

    /// The progress as it stands.
    pub fn current(&self) -> Progress {
        let stages = self.stages();
        let stage = match (self.phase, self.index) {
            (Phase::Downloading, Some(i)) => u32::try_from(i + 1).unwrap_or(u32::MAX),
            (Phase::Downloading, None) => 0,
            _ => stages,
        };
        Progress {
            phase: self.phase,
            percent: round2(self.percent),
            downloaded_bytes: self.downloaded(),
            total_bytes: self.total(),
            speed: self.speed,
            eta: self.eta,
            stage,
            stages,
            post_step: if self.phase == Phase::Merging {
                self.post_step
            } else {
                None
            },
        }
    }

    /// The final progress: completed, 100 %, with the size of the file.
    pub fn complete(&mut self, file_size: u64) -> Progress {
        self.finish_stage();
        self.phase = Phase::Completed;
        self.percent = 100.0;
        self.speed = None;
        self.eta = Some(0);
        let mut p = self.current();
        p.downloaded_bytes = p.downloaded_bytes.max(file_size);
        p.total_bytes = Some(file_size);
        p
    }

    fn stages(&self) -> u32 {
        let seen = self.index.map_or(0, |i| i + 1);
        u32::try_from(self.planned.len().max(seen)).unwrap_or(u32::MAX)
    }

    fn downloaded(&self) -> u64 {
        self.done_bytes.saturating_add(self.stage.downloaded)
    }

    /// Everything expected: finished stages, the current one's estimate and
    /// the planned sizes of those to come. `None` when a part is unknown.
    fn total(&self) -> Option<u64> {
        let index = self.index.unwrap_or(0);
        let current = if self.index.is_some() {
            self.stage.total.or_else(|| self.planned.get(index).copied().flatten())?
        } else {
            self.planned.first().copied().flatten()?
        };
        let rest = self
            .planned
            .iter()
            .skip(index + 1)
            .try_fold(0u64, |acc, s| s.map(|s| acc.saturating_add(s)))?;
        Some(
            self.done_bytes
                .saturating_add(current.max(self.stage.downloaded))
                .saturating_add(rest),
        )
    }

    fn finish_stage(&mut self) {
        if self.index.is_some() && !self.stage.finished {
            self.stage.finished = true;
            self.stage.fraction = 1.0;
            self.stage.total = Some(self.stage.downloaded);
            self.update_percent();
        }
    }

    fn tick(&mut self, tick: &DownloadTick) {
        let new_stage = match self.index {
            None => true,
            Some(_) => match (&tick.filename, &self.stage.filename) {
                (Some(new), Some(old)) => new != old,
                // Without names, a tick after a finished file starts the next.
                _ => self.stage.finished && tick.status != TickStatus::Finished,
            },
        };
        if new_stage {
            if let Some(i) = self.index {
                self.finish_stage();
                self.done_bytes = self.done_bytes.saturating_add(self.stage.downloaded);
                self.index = Some(i + 1);
            } else {
                self.index = Some(0);
            }
            self.stage = Stage {
                filename: tick.filename.clone(),
                ..Stage::default()
            };
        }
        self.phase = Phase::Downloading;
        self.post_step = None;

        let stage = &mut self.stage;
        stage.downloaded = tick.downloaded_bytes.max(stage.downloaded);
        let (fraction, total) = match tick.status {
            TickStatus::Finished => {
                stage.finished = true;
                let size = tick.total_bytes.unwrap_or(stage.downloaded).max(stage.downloaded);
                stage.downloaded = size;
                (1.0, Some(size))
            }
            _ => stage_estimate(stage, tick),
        };
        stage.fraction = stage.fraction.max(fraction.clamp(0.0, 1.0));
        if let Some(total) = total {
            stage.total = Some(total.max(stage.downloaded));
        }
        self.speed = tick.speed;
        self.update_percent();
        self.eta = self.overall_eta(tick);
    }

    fn update_percent(&mut self) {
        let Some(index) = self.index else { return };
        let before: f64 = self.weights.iter().take(index).sum();
        let here = self.weights.get(index).copied().unwrap_or(0.0);
        let overall = (before + here * self.stage.fraction).min(1.0);
        self.percent = self.percent.max(DOWNLOAD_SHARE * overall);
    }

    fn overall_eta(&self, tick: &DownloadTick) -> Option<u64> {
        if tick.status == TickStatus::Finished {
            return None;
        }
        let speed = self.speed.filter(|s| *s > 0.0);
        match (self.total(), speed) {
            (Some(total), Some(speed)) => {
                let remaining = total.saturating_sub(self.downloaded()) as f64;
                Some((remaining / speed).ceil() as u64)
            }
            // Only yt-dlp's own figure is left; it covers the last file only.
            _ if self.index.map_or(0, |i| i + 1) >= self.planned.len() => tick.eta,
            _ => None,
        }
    }
}

/// This file's completed fraction and size estimate from one tick.
fn stage_estimate(stage: &mut Stage, tick: &DownloadTick) -> (f64, Option<u64>) {
    if let (Some(index), Some(count)) = (tick.fragment_index, tick.fragment_count) {
        // Fragments: `index` of `count` are done. The running estimate swings,
        // so go by fragments, with the current one's share guessed from the
        // mean size of those before it.
        let start = match stage.fragment {
            Some((i, at)) if i == index => at,
            _ => {
                stage.fragment = Some((index, tick.downloaded_bytes));
                tick.downloaded_bytes
            }
        };
        if index >= count {
            return (1.0, Some(tick.downloaded_bytes));
        }
        let mean = if index > 0 {
            Some(start as f64 / index as f64)
        } else {
            tick.total_bytes_estimate.map(|t| t as f64 / count as f64)
        };
        let within = match mean {
            Some(m) if m > 0.0 => (tick.downloaded_bytes.saturating_sub(start) as f64 / m).min(0.99),
            _ => 0.0,
        };
        let fraction = (index as f64 + within) / count as f64;
        let total = match mean {
            Some(m) if index > 0 => Some((m * count as f64).round() as u64),
            _ => tick.total_bytes_estimate,
        };
        return (fraction, total);
    }
    if let Some(total) = tick.total_bytes.or(tick.total_bytes_estimate) {
        return (tick.downloaded_bytes as f64 / total as f64, Some(total));
    }
    (tick.percent.map_or(0.0, |p| p / 100.0), None)
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// `"512 B"`, `"1.50 KiB"`, `"100.00 MiB"`, `"1.20 GiB"`.
pub fn format_bytes(bytes: u64) -> String {
    contract::format::iec_bytes(bytes)
}

/// `"2.50 MiB/s"`, `"512 B/s"`.
pub fn format_speed(bytes_per_sec: f64) -> String {
    let b = if bytes_per_sec.is_finite() && bytes_per_sec > 0.0 {
        bytes_per_sec.round() as u64
    } else {
        0
    };
    format!("{}/s", format_bytes(b))
}

/// `"10s"`, `"1m 05s"`, `"1h 02m"`.
pub fn format_eta(secs: u64) -> String {
    contract::format::short_span(secs)
}

/// One line for people: `"50.5% of ~100.00 MiB at 2.50 MiB/s, ETA 10s"`
/// while downloading, `"Merging video and audio…"` / `"Extracting audio…"`
/// while post-processing, and short words for the other phases.
pub fn status_text(progress: &Progress) -> String {
    match progress.phase {
        Phase::Queued => "Waiting for a free slot…".to_owned(),
        Phase::Downloading => {
            if progress.percent <= 0.0 && progress.downloaded_bytes == 0 {
                return "Starting download…".to_owned();
            }
            let mut text = format!("{:.1}%", progress.percent);
            if let Some(total) = progress.total_bytes {
                text.push_str(&format!(" of ~{}", format_bytes(total)));
            }
            if let Some(speed) = progress.speed {
                text.push_str(&format!(" at {}", format_speed(speed)));
            }
            if let Some(eta) = progress.eta {
                text.push_str(&format!(", ETA {}", format_eta(eta)));
            }
            text
        }
        Phase::Merging => match progress.post_step {
            Some(PostStep::Merge) => "Merging video and audio…".to_owned(),
            Some(PostStep::ExtractAudio) => "Extracting audio…".to_owned(),
            _ => "Finishing the file…".to_owned(),
        },
        Phase::Completed => match progress.total_bytes {
            Some(size) => format!("Done: {}", format_bytes(size)),
            None => "Done".to_owned(),
        },
        Phase::Error => "Failed".to_owned(),
        Phase::Cancelled => "Cancelled".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_strings() {
        assert_eq!(format_speed(2.5 * 1024.0 * 1024.0), "2.50 MiB/s");
        assert_eq!(format_speed(512.0), "512 B/s");
        assert_eq!(format_speed(f64::NAN), "0 B/s");
        assert_eq!(format_eta(10), "10s");
        assert_eq!(format_eta(65), "1m 05s");
        assert_eq!(format_eta(3720), "1h 02m");
        assert_eq!(format_bytes(100 * 1024 * 1024), "100.00 MiB");
        let p = Progress {
            phase: Phase::Downloading,
            percent: 50.5,
            downloaded_bytes: 50 * 1024 * 1024,
            total_bytes: Some(100 * 1024 * 1024),
            speed: Some(2.5 * 1024.0 * 1024.0),
            eta: Some(10),
            stage: 1,
            stages: 1,
            post_step: None,
        };
        assert_eq!(
            status_text(&p),
            "50.5% of ~100.00 MiB at 2.50 MiB/s, ETA 10s"
        );
        let merging = Progress {
            phase: Phase::Merging,
            post_step: Some(PostStep::Merge),
            ..p.clone()
        };
        assert_eq!(status_text(&merging), "Merging video and audio…");
        let extracting = Progress {
            post_step: Some(PostStep::ExtractAudio),
            ..merging
        };
        assert_eq!(status_text(&extracting), "Extracting audio…");
    }

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
            assert_eq!(
                serde_json::to_string(&phase).ok(),
                Some(format!("\"{name}\""))
            );
        }
    }

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
