//! Running yt-dlp: spawning it in its own process group, reading its
//! output line by line into progress, and stopping the whole group (on a
//! cancel, the time limit, a file over the size limit, or a dropped future).

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Child;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::finish::remove_partials;
use super::plan::DownloadPlan;
use super::MEDIA_STEM;
use crate::cookies::TempCopy;
use crate::error::EngineError;
use crate::progress::{
    parse_line, DownloadTick, PostProcessEvent, PostStatus, Progress, ProgressTracker, TickStatus, YtDlpEvent,
};
use crate::quality::QualityId;
use crate::ytdlp::YtDlp;

/// How long yt-dlp and ffmpeg get to stop after SIGTERM before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(1);

/// Most stderr kept for the error message, in lines.
const STDERR_LINES: usize = 200;

/// yt-dlp's post-processors that run before the download.
const BEFORE_DOWNLOAD: [&str; 2] = ["SubtitlesConvertor", "ThumbnailsConvertor"];
/// The name the work after yt-dlp goes by as a post-processing step (any
/// name but yt-dlp's shows as "other").
const LOCAL_STEP: &str = "KachayFinish";
/// How often a `.part` file's size is read (see [`PartWatch`]).
const PART_LOOK: Duration = Duration::from_millis(500);

impl YtDlp {
    /// Starts yt-dlp for `plan` in a process group of its own. From the
    /// moment it runs, dropping the returned [`Running`] stops the group and
    /// cleans up.
    pub(super) fn spawn_download(
        &self,
        dir: &Path,
        ffmpeg: &Path,
        plan: &DownloadPlan,
        quality: QualityId,
        cookies: Option<&TempCopy>,
    ) -> Result<Running, EngineError> {
        let mut cmd = self.command();
        cmd.args(self.download_args(dir, ffmpeg, plan));
        if let Some(copy) = cookies {
            cmd.arg("--cookies").arg(copy.path());
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true).process_group(0);
        tracing::debug!(
            dir = %dir.display(),
            %quality,
            format = %plan.format,
            merge = ?plan.merge_output_format,
            clip = ?plan.clip,
            subtitles = ?plan.subtitles,
            tags = plan.tags,
            "starting yt-dlp download"
        );
        let child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => {
                remove_partials(dir);
                return Err(match e.kind() {
                    io::ErrorKind::NotFound => EngineError::YtDlpMissing(self.program().to_owned()),
                    _ => EngineError::Spawn(e),
                });
            }
        };
        let guard = GroupGuard::new(child.id(), dir.to_owned());
        Ok(Running { guard, child })
    }

    /// Feeds yt-dlp's output to `output` until it exits, and returns how it
    /// exited. A cancel, the deadline or a directory over the size limit
    /// stops the group (and cleans up) first, and is the error.
    pub(super) async fn supervise(
        &self,
        running: &mut Running,
        output: &mut Output,
        on_progress: &mut (impl FnMut(Progress) + Send),
        cancel: &CancellationToken,
        deadline: Option<Instant>,
        dir: &Path,
    ) -> Result<ExitStatus, EngineError> {
        let mut out = LineReader::new(running.child.stdout.take());
        let mut err = LineReader::new(running.child.stderr.take());
        let child = &mut running.child;
        let watching = output.parts.is_some();
        let mut look = tokio::time::interval(PART_LOOK);
        let run = async {
            while !(out.done && err.done) {
                tokio::select! {
                    line = out.next_line(), if !out.done => {
                        if let Some(line) = line { output.handle(line, false, on_progress) }
                    }
                    line = err.next_line(), if !err.done => {
                        if let Some(line) = line { output.handle(line, true, on_progress) }
                    }
                    _ = look.tick(), if watching => {
                        let size = part_bytes(dir).await;
                        output.part_grew(size, Instant::now(), on_progress);
                    }
                }
            }
            child.wait().await
        };
        let too_large = watch_size(dir, self.max_filesize());
        let status = tokio::select! {
            biased;
            () = cancel.cancelled() => None,
            () = sleep_until(deadline) => Some(Err(self.timed_out())),
            limit = too_large => Some(Err(EngineError::TooLarge { limit })),
            status = run => Some(Ok(status)),
        };
        let stopped = match status {
            None => {
                tracing::debug!(dir = %dir.display(), "download cancelled");
                EngineError::Cancelled
            }
            Some(Err(stopped)) => {
                tracing::debug!(dir = %dir.display(), reason = %stopped, "download stopped");
                stopped
            }
            Some(Ok(Ok(status))) => return Ok(status),
            Some(Ok(Err(e))) => EngineError::Io(e),
        };
        running.stop().await;
        Err(stopped)
    }

    /// The error for a download that ran out of time.
    pub(super) fn timed_out(&self) -> EngineError {
        EngineError::Timeout(self.download_timeout().unwrap_or_default())
    }
}

/// A running yt-dlp with the guard that stops its group.
pub(super) struct Running {
    // Dropped before the child (fields drop in order): the guard signals
    // the group while the child is still there.
    guard: GroupGuard,
    child: Child,
}

impl Running {
    /// Stops the group and removes the partial files.
    pub(super) async fn stop(&mut self) {
        self.guard.stop(&mut self.child).await;
    }

    /// Leaves the files in place: the download is done.
    pub(super) fn disarm(&mut self) {
        self.guard.disarm();
    }
}

/// What yt-dlp's output has said so far.
pub(super) struct Output {
    tracker: ProgressTracker,
    /// The last [`STDERR_LINES`] of stderr, for the error message.
    stderr_tail: VecDeque<String>,
    /// The finished file, as `--print` reported it on stdout.
    pub(super) file_line: Option<PathBuf>,
    /// Set while the media's progress is read from its `.part` file.
    parts: Option<PartWatch>,
}

/// yt-dlp's ffmpeg downloader (`--download-sections`) reports nothing
/// until its file is done: the size of the growing `media.*.part` stands
/// in for its progress.
struct PartWatch {
    /// The expected size of the file.
    planned: Option<u64>,
    /// The size last seen, and when.
    last: Option<(Instant, u64)>,
}

impl Output {
    pub(super) fn new(stage_sizes: Vec<Option<u64>>) -> Self {
        Output {
            tracker: ProgressTracker::new(stage_sizes),
            stderr_tail: VecDeque::new(),
            file_line: None,
            parts: None,
        }
    }

    /// Reads the media's progress from its `.part` file (of about `planned`
    /// bytes) too.
    pub(super) fn watch_parts(&mut self, planned: Option<u64>) {
        self.parts = Some(PartWatch { planned, last: None });
    }

    /// The `.part` files have grown to `size` bytes.
    fn part_grew(&mut self, size: u64, now: Instant, on_progress: &mut impl FnMut(Progress)) {
        let Some(watch) = self.parts.as_mut() else {
            return;
        };
        let speed = match watch.last {
            Some((_, seen)) if size <= seen => return,
            Some((at, seen)) => Some((size - seen) as f64 / now.duration_since(at).as_secs_f64().max(0.001)),
            None if size == 0 => return,
            None => None,
        };
        watch.last = Some((now, size));
        // Never "done" before yt-dlp says so: the estimate stays ahead.
        let estimate = watch.planned.map(|p| p.max(size + size / 10));
        let tick = DownloadTick {
            status: TickStatus::Downloading,
            downloaded_bytes: size,
            total_bytes: None,
            total_bytes_estimate: estimate,
            speed,
            eta: None,
            elapsed: None,
            fragment_index: None,
            fragment_count: None,
            // Unnamed: yt-dlp's own last tick names the finished file, and
            // still counts as this stage.
            filename: None,
            percent: None,
        };
        if let Some(p) = self.tracker.feed(&YtDlpEvent::Download(tick)) {
            on_progress(p);
        }
    }

    /// The progress before anything has happened.
    pub(super) fn progress(&self) -> Progress {
        self.tracker.current()
    }

    /// The progress once the work after yt-dlp (cutting, remuxing,
    /// bundling) begins.
    pub(super) fn local_step(&mut self) -> Progress {
        let started = PostProcessEvent { status: PostStatus::Started, postprocessor: LOCAL_STEP.to_owned() };
        self.tracker.feed(&YtDlpEvent::PostProcess(started)).unwrap_or_else(|| self.tracker.current())
    }

    /// The progress of a finished download of `size` bytes.
    pub(super) fn complete(&mut self, size: u64) -> Progress {
        self.tracker.complete(size)
    }

    /// One line of yt-dlp's stdout or stderr.
    pub(super) fn handle(&mut self, line: String, from_stderr: bool, on_progress: &mut impl FnMut(Progress)) {
        match parse_line(&line) {
            // Only stdout, where `--print` writes: stderr also carries
            // text a site controls (warnings quoting titles, ffmpeg's log).
            Some(YtDlpEvent::File(path)) if !from_stderr => self.file_line = Some(path),
            Some(YtDlpEvent::File(_)) => {}
            // Converting subtitles and thumbnails comes before the media
            // is fetched: as a post-processing step it would put the
            // progress at 95 % before the download starts.
            Some(YtDlpEvent::PostProcess(pp)) if BEFORE_DOWNLOAD.contains(&pp.postprocessor.as_str()) => {}
            Some(event @ (YtDlpEvent::Download(_) | YtDlpEvent::PostProcess(_))) => {
                if let Some(p) = self.tracker.feed(&event) {
                    on_progress(p);
                }
            }
            Some(YtDlpEvent::Warning(w)) => tracing::debug!(warning = %w, "yt-dlp"),
            Some(YtDlpEvent::Error(e)) => tracing::debug!(error = %e, "yt-dlp"),
            None => tracing::trace!(line = %line, "yt-dlp"),
        }
        if from_stderr && !line.starts_with(crate::progress::POSTPROCESS_TAG) {
            if self.stderr_tail.len() == STDERR_LINES {
                self.stderr_tail.pop_front();
            }
            self.stderr_tail.push_back(line);
        }
    }

    /// The kept stderr lines as one text.
    pub(super) fn stderr_text(&self) -> String {
        self.stderr_tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

/// The total size of the `media.*.part` files in `dir` that are not
/// subtitles or thumbnails.
async fn part_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(mut entries) = tokio::fs::read_dir(dir).await {
        while let Ok(Some(entry)) = entries.next_entry().await {
            let name = entry.file_name().to_string_lossy().into_owned();
            let media = name
                .strip_suffix(".part")
                .is_some_and(|n| n.starts_with(&format!("{MEDIA_STEM}.")) && !super::finish::is_sidecar(n));
            if media {
                if let Ok(meta) = entry.metadata().await {
                    total += meta.len();
                }
            }
        }
    }
    total
}

/// Completes with the limit once the files in `dir` add up to more than it
/// (checked twice a second); never completes without a limit.
async fn watch_size(dir: &Path, limit: Option<u64>) -> u64 {
    let Some(limit) = limit else {
        return std::future::pending().await;
    };
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        if dir_size(dir).await > limit {
            return limit;
        }
    }
}

/// The total size of the regular files directly in `dir`.
async fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(mut entries) = tokio::fs::read_dir(dir).await {
        while let Ok(Some(entry)) = entries.next_entry().await {
            if let Ok(meta) = entry.metadata().await {
                if meta.is_file() {
                    total += meta.len();
                }
            }
        }
    }
    total
}

pub(super) async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Reads a pipe line by line, lossily as UTF-8; cancel-safe (a line cut
/// short by another `select!` branch is kept and finished next time).
struct LineReader<R> {
    inner: Option<BufReader<R>>,
    buf: Vec<u8>,
    done: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    fn new(pipe: Option<R>) -> Self {
        let done = pipe.is_none();
        LineReader { inner: pipe.map(BufReader::new), buf: Vec::new(), done }
    }

    /// The next line without its line ending; `None` at the end (and sets
    /// `done`).
    async fn next_line(&mut self) -> Option<String> {
        let Some(inner) = self.inner.as_mut() else {
            self.done = true;
            return None;
        };
        let read = inner.read_until(b'\n', &mut self.buf).await;
        match read {
            Ok(0) if self.buf.is_empty() => {
                self.done = true;
                None
            }
            Ok(_) => {
                let line = String::from_utf8_lossy(&self.buf).trim_end_matches(['\n', '\r']).to_owned();
                self.buf.clear();
                Some(line)
            }
            Err(e) => {
                tracing::debug!(error = %e, "reading yt-dlp output failed");
                self.done = true;
                None
            }
        }
    }
}

/// Stops yt-dlp's whole process group and removes partial files unless
/// disarmed; does so from `Drop` too, so a dropped download future cleans
/// up after itself.
struct GroupGuard {
    pgid: Option<Pid>,
    dir: PathBuf,
    armed: bool,
}

impl GroupGuard {
    fn new(pid: Option<u32>, dir: PathBuf) -> Self {
        let pgid = pid.and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 1).map(Pid::from_raw);
        GroupGuard { pgid, dir, armed: true }
    }

    fn disarm(&mut self) {
        self.armed = false;
    }

    /// SIGTERM to the group, up to a second for yt-dlp and its children to
    /// go, SIGKILL to what is left, then the partial files are removed.
    async fn stop(&mut self, child: &mut Child) {
        if let Some(pgid) = self.pgid {
            signal_group(pgid, Signal::SIGTERM);
            let deadline = Instant::now() + TERM_GRACE;
            let _ = tokio::time::timeout_at(deadline, child.wait()).await;
            while group_alive(pgid) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            signal_group(pgid, Signal::SIGKILL);
            let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
            // Children reparented elsewhere are gone once SIGKILL lands.
            let until = Instant::now() + Duration::from_millis(500);
            while group_alive(pgid) && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        } else {
            let _ = child.kill().await;
        }
        self.armed = false;
        let dir = self.dir.clone();
        let _ = tokio::task::spawn_blocking(move || remove_partials(&dir)).await;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let pgid = self.pgid;
        let dir = std::mem::take(&mut self.dir);
        if let Some(pgid) = pgid {
            signal_group(pgid, Signal::SIGTERM);
        }
        // Waiting must not block the runtime: finish on a plain thread.
        let spawned = std::thread::Builder::new().name("kachay-kill".into()).spawn(move || {
            if let Some(pgid) = pgid {
                let deadline = std::time::Instant::now() + TERM_GRACE;
                while group_alive(pgid) && std::time::Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
                signal_group(pgid, Signal::SIGKILL);
                std::thread::sleep(Duration::from_millis(100));
            }
            remove_partials(&dir);
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start the clean-up thread");
        }
    }
}

fn signal_group(pgid: Pid, signal: Signal) {
    match killpg(pgid, signal) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => tracing::warn!(pgid = pgid.as_raw(), ?signal, error = %e, "killpg failed"),
    }
}

fn group_alive(pgid: Pid) -> bool {
    killpg(pgid, None).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::{Phase, PostStep};

    fn feed(output: &mut Output, lines: &[&str]) -> Vec<Progress> {
        let mut seen = Vec::new();
        for line in lines {
            output.handle((*line).to_owned(), line.starts_with("[kachay-pp]"), &mut |p| seen.push(p));
        }
        seen
    }

    #[test]
    fn converting_subtitles_before_the_download_is_not_post_processing() {
        let mut output = Output::new(vec![Some(50_000), Some(1_000_000)]);
        let seen = feed(
            &mut output,
            &[
                r#"[kachay-dl] {"status":"finished","filename":"/j/media.en.vtt","downloaded_bytes":200,"total_bytes":200}"#,
                r#"[kachay-pp] {"status":"started","postprocessor":"SubtitlesConvertor"}"#,
                r#"[kachay-pp] {"status":"finished","postprocessor":"SubtitlesConvertor"}"#,
                r#"[kachay-pp] {"status":"started","postprocessor":"ThumbnailsConvertor"}"#,
                r#"[kachay-dl] {"status":"downloading","filename":"/j/media.mp4","downloaded_bytes":500000,"total_bytes":1000000}"#,
            ],
        );
        let last = seen.last().cloned().unwrap_or_else(|| output.progress());
        assert_eq!((last.phase, last.stage), (Phase::Downloading, 2));
        assert!(last.percent > 40.0 && last.percent < 60.0, "{last:?}");
        // The step after yt-dlp shows as post-processing.
        let step = output.local_step();
        assert_eq!((step.phase, step.post_step), (Phase::Merging, Some(PostStep::Other)));
    }

    #[test]
    fn a_section_download_is_followed_through_its_part_file() {
        let mut output = Output::new(vec![Some(50_000), Some(1_000_000)]);
        output.watch_parts(Some(1_000_000));
        let mut seen = feed(
            &mut output,
            &[
                r#"[kachay-dl] {"status":"finished","filename":"/j/media.en.vtt","downloaded_bytes":200,"total_bytes":200}"#,
            ],
        );
        let t0 = Instant::now();
        output.part_grew(0, t0, &mut |p| seen.push(p));
        output.part_grew(300_000, t0 + Duration::from_millis(500), &mut |p| seen.push(p));
        output.part_grew(300_000, t0 + Duration::from_secs(1), &mut |p| seen.push(p));
        output.part_grew(900_000, t0 + Duration::from_millis(1500), &mut |p| seen.push(p));
        output.part_grew(1_500_000, t0 + Duration::from_secs(2), &mut |p| seen.push(p));
        let ticks: Vec<_> = seen[1..].iter().map(|p| (p.stage, p.stages, p.percent.round() as u64)).collect();
        // 300 kB of 1 MB, 900 kB, then past the plan: never 95 % before the end.
        assert_eq!(ticks, [(2, 2, 32), (2, 2, 86), (2, 2, 87)], "{seen:?}");
        assert_eq!(seen.last().and_then(|p| p.speed), Some(1_200_000.0));
        let done = feed(
            &mut output,
            &[
                r#"[kachay-dl] {"status":"finished","filename":"/j/media.mp4","downloaded_bytes":1600000,"total_bytes":1600000}"#,
            ],
        );
        let last = done.last().cloned().unwrap_or_else(|| output.progress());
        assert_eq!((last.stage, last.stages, last.percent), (2, 2, 95.0), "yt-dlp's own tick ends the same stage");
    }
}
