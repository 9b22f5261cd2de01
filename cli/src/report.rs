//! Everything the client tells its user, in one of four styles: progress
//! bars, plain lines (stderr is not a terminal), JSON lines (`--json`), or
//! errors only (`--quiet`).
//!
//! Progress bars use [`indicatif`]'s `MultiProgress`: indicatif is the
//! maintained, widely used progress-bar crate of the Rust ecosystem
//! (console-rs), chosen over a hand-made renderer because it redraws several
//! bars at a limited rate, prints messages above them without tearing, and
//! copes with terminal widths and wide characters.
//!
//! Where things go:
//! * stdout: `--list-qualities` tables, saved paths (when stdout is not a
//!   terminal, or with `--quiet`), or with `--json` the JSON lines and
//!   nothing else;
//! * stderr: summaries, notes, bars or plain progress lines, warnings and
//!   errors in words.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use contract::ErrorCode;
use engine::jobs::{JobFailure, JobSnapshot};
use engine::progress::{format_bytes, format_eta, format_speed, status_text, PostStep};
use engine::{EngineError, FailureKind, Phase, Probe};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::describe::{self, InfoJsonOut, Selection};

/// How output looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Progress bars on stderr (a terminal).
    Bars,
    /// Plain progress lines on stderr (not a terminal).
    Plain,
    /// JSON lines on stdout only.
    Json,
    /// Only errors, and saved paths on stdout.
    Quiet,
}

impl Style {
    /// The style for these flags and the current stderr.
    pub fn detect(json: bool, quiet: bool) -> Style {
        if json {
            Style::Json
        } else if quiet {
            Style::Quiet
        } else if std::io::stderr().is_terminal() {
            Style::Bars
        } else {
            Style::Plain
        }
    }
}

/// Why one URL (or batch line) failed, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The URL, or the batch line's text.
    pub url: String,
    /// The batch file line, for a line that is not a URL.
    pub line: Option<usize>,
    /// A short machine word: `http`, `unsupported`, `bad_line`, `cancelled`, …
    pub kind: &'static str,
    /// The HTTP status when `kind` is `http`.
    pub status: Option<u16>,
    /// The same failure's stable name, as the server's API gives it
    /// (`code` of an error answer, a job's `error_code`).
    pub code: Option<ErrorCode>,
    /// A sentence for people.
    pub message: String,
}

fn kind_word(kind: FailureKind) -> (&'static str, Option<u16>) {
    match kind {
        FailureKind::Unsupported => ("unsupported", None),
        FailureKind::InvalidUrl => ("invalid_url", None),
        FailureKind::Http(status) => ("http", Some(status)),
        FailureKind::Unreachable => ("unreachable", None),
        FailureKind::FormatUnavailable => ("format_unavailable", None),
        FailureKind::BotCheck => ("bot_check", None),
        FailureKind::PoTokenUnavailable => ("po_token_unavailable", None),
        FailureKind::Private => ("private", None),
        FailureKind::MembersOnly => ("members_only", None),
        FailureKind::AgeRestricted => ("age_restricted", None),
        FailureKind::GeoBlocked => ("geo_blocked", None),
        FailureKind::Removed => ("removed", None),
        FailureKind::LiveNotStarted => ("live_not_started", None),
        FailureKind::DiskFull => ("disk_full", None),
        FailureKind::TooSlow => ("too_slow", None),
        FailureKind::Other => ("other", None),
    }
}

impl Failure {
    /// A failure with no yt-dlp kind.
    pub fn new(url: &str, kind: &'static str, message: impl Into<String>) -> Failure {
        Failure { url: url.to_owned(), line: None, kind, status: None, code: None, message: message.into() }
    }

    /// The same, with the API's code for it.
    fn with_code(mut self, code: ErrorCode) -> Failure {
        self.code = Some(code);
        self
    }

    /// A failed probe (or other engine call).
    pub fn engine(url: &str, err: &EngineError) -> Failure {
        let (kind, status, message) = match err {
            EngineError::YtDlp { kind, message } | EngineError::Fetch { kind, message } => {
                let (word, status) = kind_word(*kind);
                (word, status, message.clone())
            }
            EngineError::YtDlpMissing(_) => {
                ("yt_dlp_missing", None, format!("{err} (install yt-dlp or pass --yt-dlp PATH)"))
            }
            EngineError::Spawn(_) => ("spawn", None, err.to_string()),
            EngineError::Timeout(_) => ("timeout", None, err.to_string()),
            EngineError::Parse(_) => ("parse", None, err.to_string()),
            EngineError::Io(_) => ("io", None, err.to_string()),
            EngineError::Cancelled => ("cancelled", None, err.to_string()),
            EngineError::TooLarge { .. } => ("too_large", None, err.to_string()),
            EngineError::DiskFull(_) => ("disk_full", None, err.to_string()),
            EngineError::TooSlow { .. } => ("too_slow", None, err.to_string()),
        };
        Failure { url: url.to_owned(), line: None, kind, status, code: Some(err.code()), message }
    }

    /// A failed download job.
    pub fn job(url: &str, failure: &JobFailure) -> Failure {
        let (kind, status) = failure.kind.map_or(("other", None), kind_word);
        Failure {
            url: url.to_owned(),
            line: None,
            kind,
            status,
            code: Some(failure.code),
            message: failure.message.clone(),
        }
    }

    /// A batch-file line that is not a URL.
    pub fn bad_line(line: usize, text: &str, reason: &str) -> Failure {
        Failure {
            url: text.to_owned(),
            line: Some(line),
            kind: "bad_line",
            status: None,
            code: Some(ErrorCode::InvalidUrl),
            message: format!("batch file line {line}: {reason}"),
        }
    }
}

/// One JSON line.
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Event<'a> {
    Info(&'a InfoJsonOut),
    Progress {
        url: &'a str,
        percent: f64,
        speed: Option<f64>,
        eta: Option<u64>,
        phase: &'static str,
        downloaded_bytes: u64,
        total_bytes: Option<u64>,
    },
    Done {
        url: &'a str,
        path: String,
        size: u64,
        title: &'a str,
    },
    Error {
        url: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        line: Option<usize>,
        kind: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<ErrorCode>,
        message: &'a str,
    },
}

/// The phase in JSON: `queued`, `downloading`, `merging`,
/// `extracting_audio` or `finishing` (container fix-ups and the like).
fn phase_word(snapshot: &JobSnapshot) -> &'static str {
    match snapshot.phase {
        Phase::Queued => "queued",
        Phase::Downloading => "downloading",
        Phase::Merging => match snapshot.progress.post_step {
            Some(PostStep::Merge) => "merging",
            Some(PostStep::ExtractAudio) => "extracting_audio",
            _ => "finishing",
        },
        Phase::Completed => "completed",
        Phase::Error => "failed",
        Phase::Cancelled => "cancelled",
    }
}

/// Writes to stdout and stderr in the chosen style. Shared by all
/// downloads (`Arc`).
pub struct Reporter {
    style: Style,
    multi: Option<MultiProgress>,
    /// Whether saved paths are printed on stdout.
    paths_on_stdout: bool,
}

impl Reporter {
    /// A reporter in `style`.
    pub fn new(style: Style) -> Arc<Reporter> {
        let multi =
            (style == Style::Bars).then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10)));
        let paths_on_stdout = match style {
            Style::Quiet => true,
            Style::Bars | Style::Plain => !std::io::stdout().is_terminal(),
            Style::Json => false,
        };
        Arc::new(Reporter { style, multi, paths_on_stdout })
    }

    /// One line on stdout. Write errors (a closed pipe) are ignored: there is
    /// nobody left to tell.
    fn stdout(&self, text: &str) {
        let write = || {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.write_all(b"\n");
            let _ = out.flush();
        };
        match &self.multi {
            Some(m) => m.suspend(write),
            None => write(),
        }
    }

    /// One line on stderr, above the bars when there are any.
    fn stderr(&self, text: &str) {
        match &self.multi {
            Some(m) => {
                // Only fails when stderr is gone.
                let _ = m.println(text);
            }
            None => {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{text}");
            }
        }
    }

    fn event(&self, event: &Event<'_>) {
        match serde_json::to_string(event) {
            Ok(line) => self.stdout(&line),
            Err(e) => self.stderr(&format!("error: could not write a JSON event: {e}")),
        }
    }

    fn for_people(&self) -> bool {
        matches!(self.style, Style::Bars | Style::Plain)
    }

    /// A note for people (not in `--quiet` or `--json`).
    pub fn note(&self, text: &str) {
        if self.for_people() {
            self.stderr(text);
        }
    }

    /// A warning: on stderr in every style.
    pub fn warn(&self, text: &str) {
        self.stderr(&format!("warning: {text}"));
    }

    /// A message on stderr in every style (interruption).
    pub fn always(&self, text: &str) {
        self.stderr(text);
    }

    /// A failure: an `error` event with `--json`, else a line on stderr.
    pub fn error(&self, failure: &Failure) {
        if self.style == Style::Json {
            self.event(&Event::Error {
                url: &failure.url,
                line: failure.line,
                kind: failure.kind,
                status: failure.status,
                code: failure.code,
                message: &failure.message,
            });
        } else if failure.line.is_some() {
            self.stderr(&format!("error: {} ({:?})", failure.message, failure.url));
        } else {
            self.stderr(&format!("error: {}: {}", failure.url, failure.message));
        }
    }

    /// The summary before a download.
    pub fn info(&self, url: &str, probe: &Probe, selection: &Selection) {
        match self.style {
            Style::Json => self.event(&Event::Info(&describe::info_json(url, probe, Some(selection)))),
            Style::Bars | Style::Plain => {
                for line in describe::summary(probe, selection) {
                    self.stderr(&line);
                }
            }
            Style::Quiet => {}
        }
    }

    /// `--list-qualities` for one URL: a table on stdout, or an `info`
    /// event. `first` leaves out the blank line between tables.
    pub fn listing(&self, url: &str, probe: &Probe, first: bool) {
        if self.style == Style::Json {
            self.event(&Event::Info(&describe::info_json(url, probe, None)));
        } else {
            let table = describe::table(url, probe);
            let table = table.trim_end();
            if first {
                self.stdout(table);
            } else {
                self.stdout(&format!("\n{table}"));
            }
        }
    }

    /// A progress display for one download.
    pub fn track(self: &Arc<Self>, url: &str, title: &str) -> Tracker {
        let bar = self.multi.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new(BAR_LENGTH));
            bar.set_style(queued_style());
            bar.set_prefix(title.to_owned());
            bar.set_message("waiting for a free slot");
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Tracker {
            reporter: Arc::clone(self),
            url: url.to_owned(),
            title: title.to_owned(),
            bar,
            active: false,
            shown: None,
            finished: false,
        }
    }
}

/// Positions per bar: tenths of a percent.
const BAR_LENGTH: u64 = 1000;

/// `indicatif` templates are checked when parsed; ours are constants, but
/// a mistake must not panic the program, so fall back to the default style.
fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn queued_style() -> ProgressStyle {
    style("{prefix:30!} {spinner} {msg}")
}

fn active_style() -> ProgressStyle {
    style("{prefix:30!} [{bar:24.cyan/blue}] {percent:>3}% {msg}").progress_chars("=> ")
}

fn finished_style() -> ProgressStyle {
    style("{msg}")
}

/// `1.20 MiB / ~3.40 MiB  820.00 KiB/s  ETA 3s  downloading`
fn bar_message(snapshot: &JobSnapshot) -> String {
    let p = &snapshot.progress;
    let mut parts = Vec::new();
    if snapshot.phase == Phase::Downloading && p.downloaded_bytes > 0 {
        let mut bytes = format_bytes(p.downloaded_bytes);
        if let Some(total) = p.total_bytes {
            bytes.push_str(&format!(" / ~{}", format_bytes(total)));
        }
        parts.push(bytes);
        if let Some(speed) = p.speed {
            parts.push(format_speed(speed));
        }
        if let Some(eta) = p.eta {
            parts.push(format!("ETA {}", format_eta(eta)));
        }
    }
    parts.push(
        match phase_word(snapshot) {
            "queued" => "waiting for a free slot",
            "merging" => "merging video and audio",
            "extracting_audio" => "extracting audio",
            other => other,
        }
        .to_owned(),
    );
    parts.join("  ")
}

/// The progress display of one download.
pub struct Tracker {
    reporter: Arc<Reporter>,
    url: String,
    title: String,
    bar: Option<ProgressBar>,
    /// Whether the bar has left its queued look.
    active: bool,
    /// For plain lines: the phase word and tenth of the way shown last.
    shown: Option<(&'static str, u64)>,
    finished: bool,
}

impl Tracker {
    /// Shows a new state of the job.
    pub fn update(&mut self, snapshot: &JobSnapshot) {
        if snapshot.phase.is_finished() || self.finished {
            return;
        }
        let percent = snapshot.progress.percent.clamp(0.0, 100.0);
        match self.reporter.style {
            Style::Bars => {
                if let Some(bar) = &self.bar {
                    if snapshot.phase != Phase::Queued {
                        if !self.active {
                            self.active = true;
                            bar.disable_steady_tick();
                            bar.set_style(active_style());
                        }
                        // 0..=100 % in tenths; the float is in range.
                        bar.set_position((percent * 10.0).round() as u64);
                    }
                    bar.set_message(bar_message(snapshot));
                }
            }
            Style::Plain => {
                if snapshot.phase == Phase::Queued {
                    return;
                }
                let word = phase_word(snapshot);
                let tenth = (percent / 10.0).floor() as u64;
                let due = match self.shown {
                    None => true,
                    Some((w, t)) => w != word || tenth > t,
                };
                if due {
                    self.shown = Some((word, tenth));
                    let text = status_text(&snapshot.progress);
                    self.reporter.stderr(&format!("[{}] {text}", self.title));
                }
            }
            Style::Json => {
                if snapshot.phase == Phase::Queued {
                    return;
                }
                self.reporter.event(&Event::Progress {
                    url: &self.url,
                    percent: (percent * 100.0).round() / 100.0,
                    speed: snapshot.progress.speed.map(f64::round),
                    eta: snapshot.progress.eta,
                    phase: phase_word(snapshot),
                    downloaded_bytes: snapshot.progress.downloaded_bytes,
                    total_bytes: snapshot.progress.total_bytes,
                });
            }
            Style::Quiet => {}
        }
    }

    /// The file is saved at `path` (shown as given) / `absolute` (JSON).
    pub fn done(&mut self, path: &Path, absolute: &Path, size: u64) {
        self.finished = true;
        let shown = path.display().to_string();
        match self.reporter.style {
            Style::Bars => {
                if let Some(bar) = &self.bar {
                    bar.disable_steady_tick();
                    bar.set_style(finished_style());
                    bar.finish_with_message(format!("✓ {shown} ({})", format_bytes(size)));
                }
            }
            Style::Plain => self.reporter.stderr(&format!("[{}] saved {shown} ({})", self.title, format_bytes(size))),
            Style::Json => self.reporter.event(&Event::Done {
                url: &self.url,
                path: absolute.to_string_lossy().into_owned(),
                size,
                title: &self.title,
            }),
            Style::Quiet => {}
        }
        if self.reporter.paths_on_stdout {
            self.reporter.stdout(&shown);
        }
    }

    /// The download failed.
    pub fn failed(&mut self, failure: &Failure) {
        self.finished = true;
        match &self.bar {
            // The bar says it; a line on stderr as well would repeat it.
            Some(bar) => {
                bar.disable_steady_tick();
                bar.set_style(finished_style());
                bar.abandon_with_message(format!("✗ {}: {}", self.title, failure.message));
            }
            None => self.reporter.error(failure),
        }
    }

    /// The download was stopped by an interruption.
    pub fn cancelled(&mut self) {
        self.finished = true;
        match self.reporter.style {
            Style::Bars => {
                if let Some(bar) = &self.bar {
                    bar.disable_steady_tick();
                    bar.set_style(finished_style());
                    bar.abandon_with_message(format!("✗ {}: cancelled", self.title));
                }
            }
            Style::Plain => self.reporter.stderr(&format!("[{}] cancelled", self.title)),
            Style::Json => self.reporter.error(
                &Failure::new(&self.url, "cancelled", "interrupted before the download finished")
                    .with_code(ErrorCode::Cancelled),
            ),
            Style::Quiet => {}
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            if !bar.is_finished() {
                bar.disable_steady_tick();
                bar.finish_and_clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_events_have_their_names() {
        let e = Event::Error {
            url: "http://x/",
            line: Some(3),
            kind: "bad_line",
            status: None,
            code: Some(ErrorCode::InvalidUrl),
            message: "m",
        };
        let v: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&e).unwrap_or_default()).unwrap_or_default();
        assert_eq!(v["event"], "error");
        assert_eq!(v["line"], 3);
        assert_eq!(v["code"], "invalid_url");
        assert!(v.get("status").is_none());
        let e = Event::Done { url: "u", path: "/p".into(), size: 5, title: "t" };
        let v: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&e).unwrap_or_default()).unwrap_or_default();
        assert_eq!((v["event"].as_str(), v["size"].as_u64()), (Some("done"), Some(5)));
    }

    #[test]
    fn failures_keep_the_http_status() {
        let err = EngineError::YtDlp { kind: FailureKind::Http(404), message: "HTTP Error 404: Not Found".into() };
        let f = Failure::engine("http://x/", &err);
        assert_eq!((f.kind, f.status), ("http", Some(404)));
        assert_eq!(f.code, Some(ErrorCode::RemoteNotFound));
        assert_eq!(f.message, "HTTP Error 404: Not Found");
        let f = Failure::engine("http://x/", &EngineError::YtDlpMissing("/nope/yt-dlp".into()));
        assert!(f.message.contains("--yt-dlp"), "{}", f.message);
    }

    #[test]
    fn templates_parse() {
        for t in ["{prefix:30!} {spinner} {msg}", "{prefix:30!} [{bar:24.cyan/blue}] {percent:>3}% {msg}", "{msg}"] {
            assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
        }
    }
}
