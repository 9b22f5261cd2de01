//! Downloading one video with yt-dlp into a directory of its own, with
//! progress, cancellation and clean-up.
//!
//! yt-dlp runs in its own process group, so that cancelling (or dropping the
//! future) stops it *and* the ffmpeg it started: SIGTERM to the group, then
//! SIGKILL after a second. Every file it writes is called `media.*` in the
//! job's directory (`media.f1200.mp4.part`, `media.temp.mp4`, …), next to
//! the `info.json` given to `--load-info-json`; a failed or cancelled
//! download removes all of them.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Child;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::cookies::TempCopy;
use crate::error::{classify, EngineError};
use crate::info::{Format, InfoJson};
use crate::progress::{parse_line, progress_args, Progress, ProgressTracker, YtDlpEvent};
use crate::quality::{choices, QualityChoice, QualityId};
use crate::ytdlp::{Probe, YtDlp};

/// Name of the saved probe inside the download directory.
pub const INFO_JSON: &str = "info.json";
/// Stem of every file yt-dlp writes (`-o media.%(ext)s`).
pub const MEDIA_STEM: &str = "media";

/// The protocols the ffmpeg yt-dlp starts may open: http(s) (`tcp` and
/// `tls` under them, only ever to the egress proxy while `http_proxy` is
/// set; ffmpeg's HLS and DASH readers refuse `tcp://` and `tls://`
/// segments), `crypto` for AES-128 keys, `data` for inline ones.
///
/// Not `httpproxy`: ffmpeg needs it for https through a proxy, but a
/// playlist can name it too (`httpproxy://127.0.0.1:22/`, which the HLS
/// reader takes for http) and it connects wherever it is told, around the
/// egress proxy; the whitelist cannot tell the two uses apart. So a stream
/// that only ffmpeg can fetch, over https, is refused (see
/// [`protocol_refusal`]). Not `file`, `udp`, `rtp`, `rtmp`, `rtsp`, ….
pub const FFMPEG_PROTOCOLS: &str = "http,https,tls,tcp,crypto,data";

/// How long yt-dlp and ffmpeg get to stop after SIGTERM before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(1);
/// Bitrate assumed for an audio-only format of unknown size (progress
/// weighting only), in kbit/s.
const ASSUMED_AUDIO_KBPS: f64 = 128.0;
/// Most stderr kept for the error message, in lines.
const STDERR_LINES: usize = 200;

/// The container of an audio-only download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioFormat {
    /// AAC in MP4 (copied without re-encoding when the source is AAC).
    #[default]
    M4a,
    /// MP3 (always re-encoded).
    Mp3,
}

impl AudioFormat {
    /// `"m4a"` or `"mp3"`: yt-dlp's `--audio-format` and the file extension.
    pub fn as_str(self) -> &'static str {
        match self {
            AudioFormat::M4a => "m4a",
            AudioFormat::Mp3 => "mp3",
        }
    }
}

/// What to download, and where.
#[derive(Debug, Clone)]
pub struct DownloadSpec {
    /// The page URL (used only when there is no probe yet).
    pub url: String,
    /// The quality picked.
    pub quality: QualityId,
    /// The probe made for the preview; without one, the download probes
    /// first.
    pub probe: Option<Arc<Probe>>,
    /// The job's own working directory (created if missing). Only `media.*`
    /// and `info.json` are written there.
    pub dir: PathBuf,
    /// Container for [`QualityId::Audio`].
    pub audio_format: AudioFormat,
}

/// The finished file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadedFile {
    /// Where it is (inside the spec's `dir`).
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its extension, e.g. `mp4`, `mkv`, `m4a`.
    pub ext: String,
}

/// The yt-dlp options a quality turns into.
#[derive(Debug, Clone, PartialEq)]
pub struct DownloadPlan {
    /// The `-f` selector: the exact formats from the quality picker first,
    /// then fallbacks that also work when heights are unknown.
    pub format: String,
    /// `--merge-output-format`: `mp4` when the planned codecs fit in MP4,
    /// else `mp4/mkv` (yt-dlp then picks); `None` for audio.
    pub merge_output_format: Option<&'static str>,
    /// `-x --audio-format …` for audio.
    pub extract_audio: Option<AudioFormat>,
    /// Expected size of each file yt-dlp will fetch (video, audio), for
    /// weighting the progress.
    pub stage_sizes: Vec<Option<u64>>,
}

/// Works out the yt-dlp options for `quality` from a probe.
///
/// * A height the video offers: `"{exact}/bv*[height<=?Q]+ba/b[height<=?Q]/bv*+ba/b"`.
/// * A height it does not offer (e.g. 2160 for a 1080p video): the same
///   without the exact part, so the best at or below Q.
/// * `auto`: `"bv*+ba/b"`.
/// * `audio`: `"{exact}/ba/b"` with `-x --audio-format m4a|mp3`, which works
///   from an audio-only format and from a muxed one alike.
pub fn plan(info: &InfoJson, quality: QualityId, audio_format: AudioFormat) -> DownloadPlan {
    let offered = choices(info);
    let find = |id: QualityId| offered.iter().find(|c| c.id == id);

    match quality {
        QualityId::Audio => {
            let exact = find(QualityId::Audio);
            let format = match exact {
                Some(c) if !c.format.is_empty() => format!("{}/ba/b", c.format),
                _ => "ba/b".to_owned(),
            };
            DownloadPlan {
                format,
                merge_output_format: None,
                extract_audio: Some(audio_format),
                stage_sizes: vec![exact.and_then(|c| planned_sizes(info, c).pop().flatten())],
            }
        }
        QualityId::Auto => {
            let model = model_in(&offered, QualityId::Auto);
            video_plan(info, "bv*+ba/b".to_owned(), model)
        }
        q => {
            let h = q.height().unwrap_or(u32::MAX);
            let fallback = format!("bv*[height<=?{h}]+ba/b[height<=?{h}]/bv*+ba/b");
            match find(q) {
                Some(exact) if !exact.format.is_empty() => {
                    video_plan(info, format!("{}/{fallback}", exact.format), Some(exact))
                }
                _ => video_plan(info, fallback, model_in(&offered, q)),
            }
        }
    }
}

/// The choice whose formats yt-dlp will most likely take for `quality`:
/// the exact one when offered, for a height that is not offered the best
/// below it, for `auto` the highest. The native engine fetches exactly
/// these formats.
pub fn model_choice(info: &InfoJson, quality: QualityId) -> Option<QualityChoice> {
    let offered = choices(info);
    model_in(&offered, quality).cloned()
}

fn model_in(offered: &[QualityChoice], quality: QualityId) -> Option<&QualityChoice> {
    let find = |id: QualityId| offered.iter().find(|c| c.id == id);
    // The highest standard height: what "best" most likely means.
    let best_height = offered.iter().find(|c| c.id.height().is_some());
    match quality {
        QualityId::Audio => find(QualityId::Audio),
        QualityId::Auto => best_height.or_else(|| find(QualityId::Auto)),
        q => {
            let h = q.height().unwrap_or(u32::MAX);
            find(q)
                .filter(|c| !c.format.is_empty())
                .or_else(|| {
                    offered
                        .iter()
                        .find(|c| c.id.height().is_some_and(|ch| ch <= h))
                })
                .or(best_height)
        }
    }
}

fn video_plan(info: &InfoJson, format: String, model: Option<&QualityChoice>) -> DownloadPlan {
    let formats = model.map(|c| lookup(info, &c.format)).unwrap_or_default();
    let fits_mp4 = !formats.is_empty() && formats.iter().all(|f| f.is_some_and(fits_mp4));
    let stage_sizes = match model {
        Some(c) => planned_sizes(info, c),
        None => vec![None],
    };
    DownloadPlan {
        format,
        merge_output_format: Some(if fits_mp4 { "mp4" } else { "mp4/mkv" }),
        extract_audio: None,
        stage_sizes,
    }
}

/// The formats named in an exact selector like `"315+251"`.
fn lookup<'a>(info: &'a InfoJson, selector: &str) -> Vec<Option<&'a Format>> {
    let formats = match &info.formats {
        Some(f) if !f.is_empty() => f.as_slice(),
        _ => return Vec::new(),
    };
    selector
        .split('+')
        .map(|id| formats.iter().find(|f| f.format_id.as_deref() == Some(id)))
        .collect()
}

/// Expected size of each file of a choice: the format's size, or for an
/// audio-only format of unknown size a 128 kbit/s guess.
fn planned_sizes(info: &InfoJson, choice: &QualityChoice) -> Vec<Option<u64>> {
    let found = lookup(info, &choice.format);
    if found.is_empty() {
        return vec![choice.filesize_approx];
    }
    found
        .into_iter()
        .map(|f| {
            let f = f?;
            f.size_estimate(info.duration).or_else(|| {
                let seconds = info.duration.filter(|d| d.is_finite() && *d > 0.0)?;
                f.is_audio_only()
                    .then(|| (ASSUMED_AUDIO_KBPS * 1000.0 / 8.0 * seconds).round() as u64)
            })
        })
        .collect()
}

/// Whether a format's codecs can go into an MP4 without re-encoding. An
/// unnamed codec counts when the format itself is MP4.
pub(crate) fn fits_mp4(f: &Format) -> bool {
    const VIDEO: [&str; 9] = [
        "avc1", "avc3", "h264", "hev1", "hvc1", "hevc", "h265", "av01", "mp4v",
    ];
    const AUDIO: [&str; 8] = ["mp4a", "aac", "mp3", "ac-3", "ac3", "ec-3", "eac3", "ac-4"];
    let mp4_ext = matches!(f.ext.as_deref(), Some("mp4" | "m4a" | "m4v" | "mov"));
    let ok = |codec: &Option<String>, known: &[&str]| {
        match codec.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            None => mp4_ext,
            Some(c) if c.eq_ignore_ascii_case("none") => true,
            Some(c) => {
                let c = c.to_ascii_lowercase();
                known.iter().any(|k| c.starts_with(k))
            }
        }
    };
    ok(&f.vcodec, &VIDEO) && ok(&f.acodec, &AUDIO)
}

impl YtDlp {
    /// Downloads `spec.url` at `spec.quality` into `spec.dir`.
    ///
    /// Reuses the probe (`--load-info-json`; without one it probes first),
    /// calls `on_progress` for every progress tick and post-processing step
    /// (not throttled) and once at the end with 100 %.
    ///
    /// When `cancel` fires, or the download time limit runs out, or the
    /// returned future is dropped, yt-dlp and its ffmpeg get SIGTERM, then
    /// SIGKILL a second later, and every `media.*` file and `info.json` is
    /// removed from `spec.dir`; the same clean-up follows a failure. On
    /// success only the finished file is left.
    pub async fn download(
        &self,
        spec: &DownloadSpec,
        ffmpeg: &Path,
        cancel: CancellationToken,
        mut on_progress: impl FnMut(Progress) + Send,
    ) -> Result<DownloadedFile, EngineError> {
        let deadline = self.download_timeout().map(|t| Instant::now() + t);
        let timed_out = || EngineError::Timeout(self.download_timeout().unwrap_or_default());

        let probe = match &spec.probe {
            Some(p) => Arc::clone(p),
            None => {
                let probing = self.probe(&spec.url);
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => return Err(EngineError::Cancelled),
                    () = sleep_until(deadline) => return Err(timed_out()),
                    probe = probing => Arc::new(probe?),
                }
            }
        };
        if cancel.is_cancelled() {
            return Err(EngineError::Cancelled);
        }

        let plan = plan(&probe.info, spec.quality, spec.audio_format);
        // yt-dlp prints absolute paths; compare like with like.
        let dir = std::path::absolute(&spec.dir)?;
        tokio::fs::create_dir_all(&dir).await?;
        let info_path = dir.join(INFO_JSON);
        tokio::fs::write(&info_path, probe.raw.as_bytes()).await?;
        // yt-dlp writes its cookie jar back: give it a private copy (0600),
        // removed when this function returns or its future is dropped.
        let cookies = match self.cookies_file() {
            Some(source) => {
                let copy = dir.join(crate::cookies::JOB_COPY_NAME);
                let _ = tokio::fs::remove_file(&copy).await;
                match TempCopy::at(source, copy).await {
                    Ok(copy) => Some(copy),
                    Err(e) => {
                        remove_partials(&dir);
                        return Err(EngineError::Io(e));
                    }
                }
            }
            None => None,
        };

        let mut cmd = crate::process::ytdlp_command(self.program());
        cmd.args(self.download_args(&dir, ffmpeg, &plan));
        if let Some(copy) = &cookies {
            cmd.arg("--cookies").arg(copy.path());
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        tracing::debug!(
            dir = %dir.display(),
            quality = %spec.quality,
            format = %plan.format,
            merge = ?plan.merge_output_format,
            "starting yt-dlp download"
        );
        let mut child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => {
                remove_partials(&dir);
                return Err(match e.kind() {
                    io::ErrorKind::NotFound => EngineError::YtDlpMissing(self.program().to_owned()),
                    _ => EngineError::Spawn(e),
                });
            }
        };
        // From here on, leaving this function in any way (including the
        // future being dropped) stops the whole group and cleans up.
        let mut guard = GroupGuard::new(child.id(), dir.clone());

        let mut tracker = ProgressTracker::new(plan.stage_sizes.clone());
        on_progress(tracker.current());
        let mut out = LineReader::new(child.stdout.take());
        let mut err = LineReader::new(child.stderr.take());
        let mut stderr_tail: VecDeque<String> = VecDeque::new();
        let mut file_line: Option<PathBuf> = None;

        let mut handle = |line: String, from_stderr: bool| {
            match parse_line(&line) {
                // Only stdout, where `--print` writes: stderr also carries
                // text a site controls (warnings quoting titles, ffmpeg's log).
                Some(YtDlpEvent::File(path)) if !from_stderr => file_line = Some(path),
                Some(YtDlpEvent::File(_)) => {}
                Some(event @ (YtDlpEvent::Download(_) | YtDlpEvent::PostProcess(_))) => {
                    if let Some(p) = tracker.feed(&event) {
                        on_progress(p);
                    }
                }
                Some(YtDlpEvent::Warning(w)) => tracing::debug!(warning = %w, "yt-dlp"),
                Some(YtDlpEvent::Error(e)) => tracing::debug!(error = %e, "yt-dlp"),
                None => tracing::trace!(line = %line, "yt-dlp"),
            }
            if from_stderr && !line.starts_with(crate::progress::POSTPROCESS_TAG) {
                if stderr_tail.len() == STDERR_LINES {
                    stderr_tail.pop_front();
                }
                stderr_tail.push_back(line);
            }
        };

        let run = async {
            while !(out.done && err.done) {
                tokio::select! {
                    line = out.next_line(), if !out.done => {
                        if let Some(line) = line { handle(line, false) }
                    }
                    line = err.next_line(), if !err.done => {
                        if let Some(line) = line { handle(line, true) }
                    }
                }
            }
            child.wait().await
        };
        let too_large = watch_size(&dir, self.max_filesize());
        let status = tokio::select! {
            biased;
            () = cancel.cancelled() => None,
            () = sleep_until(deadline) => Some(Err(timed_out())),
            limit = too_large => Some(Err(EngineError::TooLarge { limit })),
            status = run => Some(Ok(status)),
        };
        let status = match status {
            None => {
                tracing::debug!(dir = %dir.display(), "download cancelled");
                guard.stop(&mut child).await;
                return Err(EngineError::Cancelled);
            }
            Some(Err(stopped)) => {
                tracing::debug!(dir = %dir.display(), reason = %stopped, "download stopped");
                guard.stop(&mut child).await;
                return Err(stopped);
            }
            Some(Ok(status)) => status,
        };
        let status = match status {
            Ok(status) => status,
            Err(e) => {
                guard.stop(&mut child).await;
                return Err(EngineError::Io(e));
            }
        };

        let stderr_text = stderr_tail.into_iter().collect::<Vec<_>>().join("\n");
        if !status.success() {
            guard.stop(&mut child).await;
            if let Some(protocol) = refused_protocol(&stderr_text) {
                tracing::info!(dir = %dir.display(), protocol, "ffmpeg was refused a protocol");
                // As the native engine's refusals are: the server words them.
                return Err(EngineError::Fetch {
                    kind: crate::error::FailureKind::Other,
                    message: protocol_refusal(protocol),
                });
            }
            // The ffmpeg yt-dlp started prints the egress proxy's refusal on
            // a line of its own, and yt-dlp ends with "ffmpeg exited with
            // code 8": the refusal is what people need to read.
            if let Some(refusal) = stderr_text.lines().find_map(|line| {
                line.find(crate::native::REFUSAL_PREFIX).map(|at| &line[at..])
            }) {
                tracing::debug!(dir = %dir.display(), %status, refusal, "download refused by the egress guard");
                return Err(EngineError::Fetch {
                    kind: crate::error::FailureKind::Other,
                    message: refusal.to_owned(),
                });
            }
            let (kind, message) = classify(&stderr_text);
            // yt-dlp's last word on its ffmpeg says only the exit code.
            let message = if message.starts_with("ffmpeg exited with code") {
                "ffmpeg could not read this stream (a part of it is broken, or is somewhere this \
                 server does not fetch from)"
                    .to_owned()
            } else {
                message
            };
            let message = if stderr_text.trim().is_empty() {
                format!("yt-dlp exited with {status}")
            } else {
                message
            };
            tracing::debug!(dir = %dir.display(), %status, %message, "download failed");
            return Err(EngineError::YtDlp { kind, message });
        }

        let found = match file_line {
            Some(reported) => match finished_file_in(&dir, &reported) {
                Ok(path) => Some(path),
                Err(why) => {
                    tracing::warn!(dir = %dir.display(), reported = %reported.display(), %why,
                        "yt-dlp reported a finished file outside the job's directory");
                    guard.stop(&mut child).await;
                    return Err(EngineError::YtDlp {
                        kind: crate::error::FailureKind::Other,
                        message: "yt-dlp reported a finished file that is not in the download's own folder"
                            .to_owned(),
                    });
                }
            },
            None => find_media(&dir),
        };
        let Some(path) = found else {
            guard.stop(&mut child).await;
            return Err(EngineError::YtDlp {
                kind: crate::error::FailureKind::Other,
                message: "yt-dlp finished without leaving a file".to_owned(),
            });
        };
        let size = tokio::fs::metadata(&path).await?.len();
        // The watcher looks every half second: a fast download can finish
        // between two looks, so the finished file is measured too.
        if let Some(limit) = self.max_filesize().filter(|limit| size > *limit) {
            tracing::debug!(path = %path.display(), size, limit, "finished file over the limit");
            guard.stop(&mut child).await;
            return Err(EngineError::TooLarge { limit });
        }
        guard.disarm();
        if let Err(e) = tokio::fs::remove_file(&info_path).await {
            tracing::debug!(error = %e, "could not remove info.json");
        }
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        on_progress(tracker.complete(size));
        tracing::debug!(path = %path.display(), size, "download done");
        Ok(DownloadedFile { path, size, ext })
    }

    fn download_args(&self, dir: &Path, ffmpeg: &Path, plan: &DownloadPlan) -> Vec<OsString> {
        let mut args: Vec<OsString> = [
            "--ignore-config",
            "--no-update",
            "--no-playlist",
            "--socket-timeout",
            "20",
            "--no-mtime",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        args.extend(progress_args().iter().map(OsString::from));
        // yt-dlp takes `--ffmpeg-location` as a path: a bare `ffmpeg` would
        // be looked for in the current directory, and merging silently skipped.
        args.push("--ffmpeg-location".into());
        args.push(resolve_program(ffmpeg).into());
        // `-o` is a template: a `%` in the directory must be doubled.
        let mut template = OsString::from(
            dir.as_os_str()
                .to_string_lossy()
                .replace('%', "%%"),
        );
        template.push(format!("/{MEDIA_STEM}.%(ext)s"));
        args.push("-o".into());
        args.push(template);
        args.push("-f".into());
        args.push(plan.format.clone().into());
        if let Some(merge) = plan.merge_output_format {
            args.push("--merge-output-format".into());
            args.push(merge.into());
        }
        if let Some(audio) = plan.extract_audio {
            args.push("-x".into());
            args.push("--audio-format".into());
            args.push(audio.as_str().into());
        }
        if let Some(limit) = self.max_filesize() {
            args.push("--max-filesize".into());
            args.push(limit.to_string().into());
        }
        // The ffmpeg yt-dlp starts for streams it does not fetch itself
        // (SAMPLE-AES and live HLS, rtmp …) may open only these protocols.
        // Left to itself, ffmpeg follows a playlist to `httpproxy://`,
        // `rtmp://`, `tcp://` … as readily as to http, and those connect
        // directly, never through the egress proxy.
        // `-loglevel warning` undoes the `-loglevel quiet` that yt-dlp's quiet
        // mode (`--print`) gives it: the proxy's refusals (which ffmpeg logs
        // as warnings) and the whitelist's are the error people read.
        args.push("--downloader-args".into());
        args.push(format!("ffmpeg_i:-loglevel warning -protocol_whitelist {FFMPEG_PROTOCOLS}").into());
        args.extend(self.extra_args().iter().cloned());
        args.push("--load-info-json".into());
        args.push(dir.join(INFO_JSON).into());
        args
    }
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

/// A bare program name (`ffmpeg`) looked up in `PATH`; anything with a
/// directory part, or a name not found, is returned as it is.
pub fn resolve_program(program: &Path) -> PathBuf {
    let mut parts = program.components();
    let bare = matches!(
        (parts.next(), parts.next()),
        (Some(std::path::Component::Normal(_)), None)
    );
    if !bare {
        return program.to_owned();
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| program.to_owned())
}

async fn sleep_until(deadline: Option<Instant>) {
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
        LineReader {
            inner: pipe.map(BufReader::new),
            buf: Vec::new(),
            done,
        }
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
                let line = String::from_utf8_lossy(&self.buf)
                    .trim_end_matches(['\n', '\r'])
                    .to_owned();
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
        let pgid = pid
            .and_then(|p| i32::try_from(p).ok())
            .filter(|p| *p > 1)
            .map(Pid::from_raw);
        GroupGuard {
            pgid,
            dir,
            armed: true,
        }
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
        let spawned = std::thread::Builder::new()
            .name("kachay-kill".into())
            .spawn(move || {
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

/// Removes `info.json`, the cookies copy and every `media.*` from `dir` (not the directory).
pub(crate) fn remove_partials(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == INFO_JSON
            || name == crate::cookies::JOB_COPY_NAME
            || name.starts_with(&format!("{MEDIA_STEM}."))
        {
            if let Err(e) = std::fs::remove_file(entry.path()) {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(file = %entry.path().display(), error = %e, "could not remove");
                }
            }
        }
    }
}

/// The finished file yt-dlp reported, checked: once every symlink and `..`
/// is resolved it must be a regular file directly inside `dir` (which is
/// absolute). Anything else is refused with the reason, for the log.
pub fn finished_file_in(dir: &Path, reported: &Path) -> Result<PathBuf, String> {
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("the job directory cannot be resolved: {e}"))?;
    let path = reported
        .canonicalize()
        .map_err(|e| format!("the file cannot be resolved: {e}"))?;
    if path.parent() != Some(dir.as_path()) {
        return Err("it is not directly inside the job directory".to_owned());
    }
    let meta = std::fs::symlink_metadata(&path).map_err(|e| format!("cannot be read: {e}"))?;
    if !meta.file_type().is_file() {
        return Err("it is not a regular file".to_owned());
    }
    Ok(path)
}

/// The protocol ffmpeg says it was not allowed to open
/// (`Protocol 'httpproxy' not on whitelist 'http,tcp,crypto,data'!`).
fn refused_protocol(stderr: &str) -> Option<&str> {
    let line = stderr.lines().find(|l| l.contains("not on whitelist"))?;
    let rest = &line[line.find("Protocol '")? + "Protocol '".len()..];
    let name = &rest[..rest.find('\'')?];
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(name)
}

/// The sentence for a stream ffmpeg was not allowed to open, marked as an
/// egress refusal (so the server answers `destination_refused`).
fn protocol_refusal(protocol: &str) -> String {
    let prefix = crate::native::REFUSAL_PREFIX;
    if protocol == "httpproxy" || protocol == "https" || protocol == "tls" {
        format!(
            "{prefix}: This server does not download this stream: only ffmpeg could fetch it, and \
             ffmpeg may not open https or proxy tunnels of its own here (a playlist could point \
             them anywhere)."
        )
    } else {
        format!("{prefix}: This server only downloads http and https links, not {protocol}: links.")
    }
}

/// The single finished `media.*` in `dir`, ignoring leftovers of the run.
fn find_media(dir: &Path) -> Option<PathBuf> {
    let mut found = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.starts_with(&format!("{MEDIA_STEM}."))
                && !name.ends_with(".part")
                && !name.ends_with(".ytdl")
                && !name.contains(".part-Frag")
                && !name.contains(".temp.")
                // Not through a symlink: only what yt-dlp wrote here.
                && std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_file())
        })
        .collect::<Vec<_>>();
    if found.len() == 1 {
        found.pop()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(id: &str, ext: &str, vcodec: Option<&str>, acodec: Option<&str>, height: Option<u32>, tbr: Option<f64>) -> Format {
        Format {
            format_id: Some(id.into()),
            ext: Some(ext.into()),
            vcodec: vcodec.map(Into::into),
            acodec: acodec.map(Into::into),
            height,
            width: height.map(|h| h * 16 / 9),
            tbr,
            ..Format::default()
        }
    }

    fn split_info() -> InfoJson {
        InfoJson {
            duration: Some(20.0),
            formats: Some(vec![
                fmt("aud", "mp4", Some("none"), None, None, None),
                fmt("360", "mp4", Some("avc1.42c01e"), Some("none"), Some(360), Some(400.0)),
                fmt("720", "mp4", Some("avc1.42c01f"), Some("none"), Some(720), Some(1200.0)),
            ]),
            ..InfoJson::default()
        }
    }

    #[test]
    fn offered_height_starts_with_the_exact_formats() {
        let p = plan(&split_info(), QualityId::P720, AudioFormat::M4a);
        assert_eq!(
            p.format,
            "720+aud/bv*[height<=?720]+ba/b[height<=?720]/bv*+ba/b"
        );
        assert_eq!(p.merge_output_format, Some("mp4"));
        assert_eq!(p.extract_audio, None);
        // 1200 kbit/s × 20 s, and 128 kbit/s assumed for the audio.
        assert_eq!(p.stage_sizes, vec![Some(3_000_000), Some(320_000)]);
    }

    #[test]
    fn missing_height_takes_the_best_below() {
        let p = plan(&split_info(), QualityId::P2160, AudioFormat::M4a);
        assert_eq!(p.format, "bv*[height<=?2160]+ba/b[height<=?2160]/bv*+ba/b");
        assert_eq!(p.stage_sizes.len(), 2);
        let p = plan(&split_info(), QualityId::P480, AudioFormat::M4a);
        assert_eq!(p.format, "bv*[height<=?480]+ba/b[height<=?480]/bv*+ba/b");
        assert_eq!(p.stage_sizes, vec![Some(1_000_000), Some(320_000)]);
    }

    #[test]
    fn auto_and_audio() {
        let p = plan(&split_info(), QualityId::Auto, AudioFormat::M4a);
        assert_eq!(p.format, "bv*+ba/b");
        assert_eq!(p.merge_output_format, Some("mp4"));
        let p = plan(&split_info(), QualityId::Audio, AudioFormat::Mp3);
        assert_eq!(p.format, "aud/ba/b");
        assert_eq!(p.extract_audio, Some(AudioFormat::Mp3));
        assert_eq!(p.merge_output_format, None);
        assert_eq!(p.stage_sizes, vec![Some(320_000)]);
    }

    #[test]
    fn webm_codecs_leave_the_container_to_yt_dlp() {
        let info = InfoJson {
            formats: Some(vec![
                fmt("251", "webm", Some("none"), Some("opus"), None, Some(130.0)),
                fmt("248", "webm", Some("vp9"), Some("none"), Some(1080), Some(2500.0)),
            ]),
            ..InfoJson::default()
        };
        let p = plan(&info, QualityId::P1080, AudioFormat::M4a);
        assert!(p.format.starts_with("248+251/"), "{}", p.format);
        assert_eq!(p.merge_output_format, Some("mp4/mkv"));
        // No duration: sizes unknown.
        assert_eq!(p.stage_sizes, vec![None, None]);
    }

    #[test]
    fn no_formats_at_all() {
        let p = plan(&InfoJson::default(), QualityId::P720, AudioFormat::M4a);
        assert_eq!(p.format, "bv*[height<=?720]+ba/b[height<=?720]/bv*+ba/b");
        assert_eq!(p.merge_output_format, Some("mp4/mkv"));
        assert_eq!(p.stage_sizes, vec![None]);
        let p = plan(&InfoJson::default(), QualityId::Audio, AudioFormat::M4a);
        assert_eq!(p.format, "ba/b");
    }

    #[test]
    fn bare_program_names_are_found_in_path() {
        let sh = resolve_program(Path::new("sh"));
        assert!(sh.is_absolute() && sh.is_file(), "{}", sh.display());
        assert_eq!(resolve_program(Path::new("/opt/x/ffmpeg")), PathBuf::from("/opt/x/ffmpeg"));
        assert_eq!(resolve_program(Path::new("./ffmpeg")), PathBuf::from("./ffmpeg"));
        assert_eq!(
            resolve_program(Path::new("no-such-program-kachay")),
            PathBuf::from("no-such-program-kachay")
        );
    }

    #[test]
    fn percent_in_the_directory_is_escaped() {
        let y = YtDlp::new("yt-dlp");
        let p = plan(&InfoJson::default(), QualityId::Auto, AudioFormat::M4a);
        let args = y.download_args(Path::new("/tmp/100%(title)s"), Path::new("/usr/bin/ffmpeg"), &p);
        let at = args.iter().position(|a| a == "-o").map(|i| i + 1);
        assert_eq!(
            at.and_then(|i| args.get(i)).map(|a| a.to_string_lossy().into_owned()),
            Some("/tmp/100%%(title)s/media.%(ext)s".to_owned())
        );
        assert!(!args.iter().any(|a| a == "http://127.0.0.1/x"), "no URL with a probe file");
    }
}
