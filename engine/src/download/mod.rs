//! Downloading one video with yt-dlp into a directory of its own, with
//! progress, cancellation and clean-up.
//!
//! yt-dlp runs in its own process group, so that cancelling (or dropping the
//! future) stops it *and* the ffmpeg it started: SIGTERM to the group, then
//! SIGKILL after a second. Every file it writes is called `media.*` in the
//! job's directory (`media.f1200.mp4.part`, `media.temp.mp4`, …), next to
//! the `info.json` given to `--load-info-json`; a failed or cancelled
//! download removes all of them.
//!
//! The download options ride on yt-dlp's own: `-x --audio-format`,
//! `--download-sections`, `--write-subs`/`--embed-subs`, `--embed-metadata`
//! and friends. What yt-dlp gets wrong or cannot do (a section's subtitles
//! and chapters keep the whole video's times; its ffmpeg cannot fetch
//! https behind the egress proxy) is done after it, on the local files; a
//! download with subtitle files ends as `media.zip` (`crate::package`).
//!
//! The parts: `plan` turns a quality and the options into yt-dlp's
//! arguments, `supervise` runs yt-dlp (its output, its progress, stopping
//! it) and `finish` finds and checks the finished file, does what is left
//! of the options, words a failed run and cleans up.

mod finish;
mod plan;
mod supervise;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::cookies::TempCopy;
use crate::error::EngineError;
use crate::progress::Progress;
use crate::quality::QualityId;
use crate::ytdlp::{Probe, YtDlp};
use finish::{exit_failure, located, Finishing};
use supervise::{sleep_until, Output};

pub use finish::finished_file_in;
pub(crate) use finish::remove_partials;
pub(crate) use plan::fits_mp4;
pub use plan::{model_choice, plan, plan_for, resolve_program, ClipCut, ClipPlan, DownloadPlan, SubtitlePlan};

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
/// `finish::protocol_refusal`). Not `file`, `udp`, `rtp`, `rtmp`, `rtsp`, ….
pub const FFMPEG_PROTOCOLS: &str = "http,https,tls,tcp,crypto,data";

pub use contract::media::{AudioFormat, DownloadOptions, SubtitleFormat, SubtitleMode};

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
    /// Audio format, clip, subtitles, tags.
    pub options: DownloadOptions,
}

/// The finished file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadedFile {
    /// Where it is (inside the spec's `dir`).
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its extension, e.g. `mp4`, `mkv`, `m4a`, `zip` (a video with its
    /// subtitle files).
    pub ext: String,
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
        let probe = self.probe_for(spec, &cancel, deadline).await?;
        if cancel.is_cancelled() {
            return Err(EngineError::Cancelled);
        }

        // Before anything is written: a bad subtitle language fails here.
        let plan = plan_for(&probe, spec.quality, &spec.options, self.proxied())?;
        // yt-dlp prints absolute paths; compare like with like.
        let dir = std::path::absolute(&spec.dir)?;
        tokio::fs::create_dir_all(&dir).await?;
        let info_path = dir.join(INFO_JSON);
        tokio::fs::write(&info_path, probe.raw.as_bytes()).await?;
        let cookies = self.cookies_copy(&dir).await?;
        // From here on, leaving this function in any way (including the
        // future being dropped) stops the whole group and cleans up.
        let mut running = self.spawn_download(&dir, ffmpeg, &plan, spec.quality, cookies.as_ref())?;

        let mut output = Output::new(plan.stage_sizes.clone());
        if plan.clip.is_some_and(|c| c.cut == ClipCut::Sections) {
            output.watch_parts(plan.stage_sizes.last().copied().flatten());
        }
        on_progress(output.progress());
        let status = self.supervise(&mut running, &mut output, &mut on_progress, &cancel, deadline, &dir).await?;
        if !status.success() {
            running.stop().await;
            return Err(exit_failure(&dir, status, &output.stderr_text()));
        }
        let media = match located(&dir, output.file_line.take()) {
            Ok(path) => path,
            Err(e) => {
                running.stop().await;
                return Err(e);
            }
        };
        let finishing = Finishing { dir: &dir, ffmpeg, plan: &plan, probe: &probe };
        if finishing.has_work() {
            on_progress(output.local_step());
        }
        let finished = tokio::select! {
            biased;
            () = cancel.cancelled() => Err(EngineError::Cancelled),
            () = sleep_until(deadline) => Err(self.timed_out()),
            finished = finishing.run(media) => finished,
        };
        let DownloadedFile { path, size, ext } = match finished {
            Ok(file) => file,
            Err(e) => {
                running.stop().await;
                return Err(e);
            }
        };
        // The watcher looks every half second: a fast download can finish
        // between two looks, so the finished file is measured too.
        if let Some(limit) = self.max_filesize().filter(|limit| size > *limit) {
            tracing::debug!(path = %path.display(), size, limit, "finished file over the limit");
            running.stop().await;
            return Err(EngineError::TooLarge { limit });
        }
        running.disarm();
        if let Err(e) = tokio::fs::remove_file(&info_path).await {
            tracing::debug!(error = %e, "could not remove info.json");
        }
        on_progress(output.complete(size));
        tracing::debug!(path = %path.display(), size, "download done");
        Ok(DownloadedFile { path, size, ext })
    }

    /// The spec's probe, or a new one (given up on a cancel or the
    /// deadline).
    async fn probe_for(
        &self,
        spec: &DownloadSpec,
        cancel: &CancellationToken,
        deadline: Option<Instant>,
    ) -> Result<Arc<Probe>, EngineError> {
        if let Some(p) = &spec.probe {
            return Ok(Arc::clone(p));
        }
        let probing = self.probe(&spec.url);
        tokio::select! {
            biased;
            () = cancel.cancelled() => Err(EngineError::Cancelled),
            () = sleep_until(deadline) => Err(self.timed_out()),
            probe = probing => Ok(Arc::new(probe?)),
        }
    }

    /// yt-dlp writes its cookie jar back: give it a private copy (0600) in
    /// `dir`, removed when the returned copy is dropped.
    async fn cookies_copy(&self, dir: &Path) -> Result<Option<TempCopy>, EngineError> {
        let Some(source) = self.cookies_file() else {
            return Ok(None);
        };
        let copy = dir.join(crate::cookies::JOB_COPY_NAME);
        let _ = tokio::fs::remove_file(&copy).await;
        match TempCopy::at(source, copy).await {
            Ok(copy) => Ok(Some(copy)),
            Err(e) => {
                remove_partials(dir);
                Err(EngineError::Io(e))
            }
        }
    }
}
