//! The native download engine: yt-dlp extracts, Kachay moves the bytes.
//!
//! One module per protocol, as yt-dlp's `downloader/` has: [`http`]
//! (progressive files as byte ranges), [`hls`] (media playlists) and
//! [`dash`] (yt-dlp's fragment lists) each turn a format into
//! [`Fragment`]s; [`source`] is the table that routes a format to one of
//! them or back to yt-dlp. Fetching is shared ([`fetch`], [`pool`],
//! [`schedule`]): a sliding window of requests over one guarded HTTP/1.1
//! client, fragments streamed to disk and appended in order, AES-128
//! decrypted on the way ([`decrypt`]). ffmpeg only merges local files
//! ([`merge`]).
//!
//! Adding a protocol: a module that returns `Vec<Fragment>`, and a row in
//! [`source::NativeFormat::route`] plus [`tracks`].

mod assemble;
pub mod cookies;
pub mod dash;
pub mod decrypt;
pub mod extras;
pub mod fetch;
pub mod fragment;
pub mod hls;
pub mod http;
pub mod merge;
pub mod pool;
pub mod relay;
pub mod schedule;
pub mod source;
mod tracks;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub use fragment::{Aes128Key, ByteRange, Fragment, Unsupported};
pub use source::{Output, Protocol, Selection};

use crate::download::{DownloadOptions, DownloadedFile, MEDIA_STEM};
use crate::error::EngineError;
use crate::progress::Progress;
use crate::quality::QualityId;
use crate::ytdlp::Probe;
use contract::clip::ClipRange;
use cookies::CookieJar;
use netguard::GuardedClient;

/// The marker the server recognises in a failure's text as the egress
/// guard's refusal (the same words its proxy uses).
pub const REFUSAL_PREFIX: &str = "Destination refused by Kachay's egress guard";

/// How the native engine works.
#[derive(Debug, Clone)]
pub struct NativeSettings {
    /// Connections a download starts with (`CONNECTIONS_PER_DOWNLOAD`).
    pub connections_per_download: usize,
    /// The most a download grows to while throughput still rises.
    pub max_connections_per_download: usize,
    /// All downloads together (`MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// No byte for this long drops a connection and re-queues its fragment.
    pub stall_timeout: Duration,
    /// A response's headers must arrive within this.
    pub response_timeout: Duration,
    /// Attempts per fragment before the download fails.
    pub max_attempts: u32,
    /// ffmpeg runs at once (merges are CPU and disk work).
    pub max_concurrent_merges: usize,
    /// Largest file; `None` = no limit.
    pub max_filesize: Option<u64>,
}

impl Default for NativeSettings {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        NativeSettings {
            connections_per_download: 8,
            max_connections_per_download: 32,
            max_connections: 64,
            stall_timeout: Duration::from_secs(20),
            response_timeout: Duration::from_secs(30),
            max_attempts: 10,
            // A `-c copy` merge is disk-bound and each ffmpeg costs ~35 MB
            // of RSS: one per two cores keeps ten downloads at once light.
            max_concurrent_merges: (cores / 2).max(1),
            max_filesize: None,
        }
    }
}

/// Which path a job's bytes took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum EngineKind {
    /// The native engine.
    #[serde(rename = "native")]
    Native,
    /// yt-dlp's own downloader (a format the native engine does not fetch).
    #[serde(rename = "yt-dlp")]
    YtDlp,
}

impl EngineKind {
    /// `"native"` or `"yt-dlp"`.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Native => "native",
            EngineKind::YtDlp => "yt-dlp",
        }
    }
}

/// Why the native engine did not produce the file.
#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    /// Not something it fetches: nothing was written, run yt-dlp instead.
    #[error("{0}")]
    Unsupported(#[from] Unsupported),
    /// It tried and failed (or was cancelled); the files are removed.
    #[error(transparent)]
    Failed(#[from] EngineError),
}

/// Gets a fresh probe of the same video (signed links expire).
pub type Reextract = Arc<dyn Fn() -> BoxFuture<'static, Result<Arc<Probe>, EngineError>> + Send + Sync>;

/// One download to do natively.
#[derive(Clone)]
pub struct NativeRequest {
    pub probe: Arc<Probe>,
    pub quality: QualityId,
    /// Audio format, clip, subtitles, tags.
    pub options: DownloadOptions,
    /// The job's directory; only `media.*` files are written there.
    pub dir: PathBuf,
    /// Called once when the site refuses links mid-download (403/410).
    pub reextract: Option<Reextract>,
}

/// The engine: one guarded client and the connection and merge limits that
/// all downloads share. Cheap to clone.
#[derive(Clone)]
pub struct NativeEngine {
    inner: Arc<Shared>,
}

struct Shared {
    client: GuardedClient,
    settings: NativeSettings,
    connections: Arc<Semaphore>,
    merges: Arc<Semaphore>,
    ffmpeg: PathBuf,
    cookies: CookieJar,
}

impl std::fmt::Debug for NativeEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeEngine").field("settings", &self.inner.settings).finish()
    }
}

impl NativeEngine {
    /// An engine fetching through `client` and merging with `ffmpeg`;
    /// `cookies` are the operator's `COOKIES_FILE`, if any.
    pub fn new(
        client: GuardedClient,
        settings: NativeSettings,
        ffmpeg: impl Into<PathBuf>,
        cookies: CookieJar,
    ) -> NativeEngine {
        let connections = Arc::new(Semaphore::new(settings.max_connections.max(1)));
        let merges = Arc::new(Semaphore::new(settings.max_concurrent_merges.max(1)));
        NativeEngine {
            inner: Arc::new(Shared {
                client,
                settings,
                connections,
                merges,
                ffmpeg: crate::download::resolve_program(&ffmpeg.into()),
                cookies,
            }),
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> &NativeSettings {
        &self.inner.settings
    }

    /// Whether the native engine takes this probe at this quality (no
    /// network): `Err` says why not.
    pub fn select(
        &self,
        probe: &Probe,
        quality: QualityId,
        options: &DownloadOptions,
    ) -> Result<Selection, Unsupported> {
        source::select(&probe.info, &probe.raw, quality, options.audio_format)
    }

    /// Downloads `request` into its directory. [`NativeError::Unsupported`]
    /// comes before anything is written (the caller runs yt-dlp); any other
    /// failure, a cancel or a dropped future removes every `media.*` file.
    pub async fn download(
        &self,
        request: &NativeRequest,
        cancel: CancellationToken,
        on_progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<DownloadedFile, NativeError> {
        let result = self.download_in(request, cancel, on_progress).await;
        if let Err(NativeError::Failed(_)) = &result {
            // A write already handed to tokio's blocking pool when the
            // fetch gave up lands after the first sweep: a second one, a
            // moment later, leaves the directory as the caller expects.
            tokio::time::sleep(Duration::from_millis(100)).await;
            if let Ok(dir) = std::path::absolute(&request.dir) {
                crate::download::remove_partials(&dir);
            }
        }
        result
    }

    async fn download_in(
        &self,
        request: &NativeRequest,
        cancel: CancellationToken,
        on_progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<DownloadedFile, NativeError> {
        let selection = self.select(&request.probe, request.quality, &request.options)?;
        let dir = std::path::absolute(&request.dir).map_err(EngineError::Io)?;
        tokio::fs::create_dir_all(&dir).await.map_err(EngineError::Io)?;
        let ctx = tracks::Context {
            client: &self.inner.client,
            settings: &self.inner.settings,
            cookies: &self.inner.cookies,
        };
        // Planning reads manifests over the network; it may still find the
        // stream unsupported (SAMPLE-AES, live), before any file exists.
        let planned = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(EngineError::Cancelled.into()),
            planned = tracks::plan(&ctx, &selection, &dir) => planned?,
        };
        let mut cleanup = Cleanup::new(dir.clone());
        let (to_fetch, parts) = assemble::cut(planned, request.options.clip);
        // Subtitles and the cover before the media: a subtitle that cannot
        // be had fails the download before the big fetch, not after.
        let fetcher =
            extras::Fetcher { client: &self.inner.client, cookies: &self.inner.cookies, ffmpeg: &self.inner.ffmpeg };
        let extras = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(EngineError::Cancelled.into()),
            extras = extras::prepare(&fetcher, &request.probe, &request.options, selection.output, &dir) => extras?,
        };
        let run = schedule::Run {
            client: &self.inner.client,
            settings: &self.inner.settings,
            connections: &self.inner.connections,
            cookies: &self.inner.cookies,
            reextract: request.reextract.clone(),
            selection: &selection,
            dir: &dir,
        };
        let fetched = if to_fetch.is_empty() {
            // A clip read straight from the site by ffmpeg, through a relay.
            let progress =
                Progress { phase: crate::progress::Phase::Downloading, stages: 1, stage: 1, ..Progress::default() };
            schedule::Fetched { tracks: Vec::new(), progress }
        } else {
            run.fetch_all(to_fetch, &cancel, on_progress).await?
        };
        let finished = Finish { selection: &selection, request, extras: &extras, dir: &dir, cancel: &cancel };
        let file = self.finish(&finished, parts, fetched, on_progress).await?;
        cleanup.disarm();
        Ok(file)
    }

    /// Trims, merges, remuxes, tags (or just renames) the parts into
    /// `media.<ext>`, then puts subtitle files beside it in a ZIP.
    async fn finish(
        &self,
        job: &Finish<'_>,
        parts: Vec<assemble::Part>,
        fetched: schedule::Fetched,
        on_progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<DownloadedFile, EngineError> {
        let (dir, cancel, options) = (job.dir, job.cancel, &job.request.options);
        let output = job.selection.output;
        let ext = output.ext();
        let out = dir.join(format!("{MEDIA_STEM}.{ext}"));
        let mut local = fetched.tracks.iter();
        let mut inputs = Vec::with_capacity(parts.len());
        // Held until ffmpeg is done: dropping one stops its server.
        let mut relays = Vec::new();
        for part in parts {
            match part {
                assemble::Part::Fetched { seek } => {
                    let (path, acodec) = local
                        .next()
                        .ok_or_else(|| EngineError::Io(std::io::Error::other("a fetched track is missing")))?;
                    inputs.push(assemble::MediaInput {
                        location: path.clone().into(),
                        seek,
                        remote_demuxer: None,
                        container: merge::sniff(path).await?,
                        acodec: acodec.clone(),
                    });
                }
                assemble::Part::Remote { track, seek, demuxer } => {
                    let url = track
                        .fragments
                        .first()
                        .map(|f| f.url.clone())
                        .ok_or_else(|| EngineError::Io(std::io::Error::other("a track has no address")))?;
                    let cookie = track.cookie_for(&url);
                    // Only progressive tracks with a probed size become
                    // remote parts: their estimate is that exact size.
                    let size = track.direct.then_some(track.estimate).flatten();
                    let relay =
                        relay::Relay::start(self.inner.client.clone(), url, track.headers.clone(), cookie, size)
                            .await
                            .map_err(EngineError::Io)?;
                    if let Some(until) = clip_horizon(size, job.request.probe.info.duration, options.clip) {
                        relay.read_ahead_until(until);
                    }
                    inputs.push(assemble::MediaInput {
                        location: relay.url().to_string().into(),
                        seek,
                        remote_demuxer: Some(demuxer),
                        container: if demuxer == "mov" { merge::Container::Mp4 } else { merge::Container::Matroska },
                        acodec: track.acodec.clone(),
                    });
                    relays.push(relay);
                }
            }
        }
        let reencode = match (options.clip, output, inputs.first()) {
            (Some(_), Output::Mp4 | Output::Mkv, Some(video)) => {
                !assemble::starts_on_keyframe(&assemble::ffprobe_for(&self.inner.ffmpeg), video).await
            }
            _ => false,
        };
        let mut progress = fetched.progress.clone();
        match assemble::recipe(&inputs, job.extras, output, options, reencode) {
            None => {
                let from = inputs
                    .first()
                    .map(|i| PathBuf::from(&i.location))
                    .ok_or_else(|| EngineError::Io(std::io::Error::other("no track was fetched")))?;
                tokio::fs::rename(&from, &out).await?;
            }
            Some(recipe) => {
                progress.phase = crate::progress::Phase::Merging;
                progress.post_step = Some(recipe.step);
                progress.speed = None;
                progress.eta = None;
                progress.percent = progress.percent.max(95.0);
                on_progress(progress.clone());
                let _permit = tokio::select! {
                    biased;
                    () = cancel.cancelled() => return Err(EngineError::Cancelled),
                    p = Arc::clone(&self.inner.merges).acquire_owned() => p.map_err(|_| EngineError::Cancelled)?,
                };
                if reencode {
                    tracing::info!("clip: the start is between keyframes, so the video is re-encoded");
                }
                let temp = dir.join(format!("{MEDIA_STEM}.temp.{ext}"));
                let failure = "The downloaded parts could not be put together into one file.";
                let relay_failures = || relays.iter().map(relay::Relay::failures).sum::<u64>();
                let failed_before = relay_failures();
                let ran = tokio::select! {
                    biased;
                    () = cancel.cancelled() => return Err(EngineError::Cancelled),
                    done = assemble::run(&self.inner.ffmpeg, &recipe.args, &temp, failure) => done,
                };
                // The relay knows why ffmpeg could not read (the guard, the site).
                if let Err(e) = ran {
                    return Err(relays.iter().find_map(|r| r.failure()).unwrap_or(e));
                }
                // ffmpeg takes a body the relay had to cut for the end of the
                // file and exits 0 with a short clip: that is a failure too.
                if relay_failures() > failed_before {
                    return Err(relays.iter().find_map(|r| r.failure()).unwrap_or_else(|| {
                        EngineError::Io(std::io::Error::other("the video site stopped sending the video"))
                    }));
                }
                for r in &relays {
                    tracing::debug!(
                        relayed = r.bytes_relayed(),
                        requests = r.upstream_requests(),
                        "clip read through the relay"
                    );
                }
                drop(relays);
                tokio::fs::rename(&temp, &out).await?;
                for input in inputs.iter().filter(|i| i.remote_demuxer.is_none()) {
                    let _ = tokio::fs::remove_file(PathBuf::from(&input.location)).await;
                }
            }
        }
        let mut file = DownloadedFile { size: tokio::fs::metadata(&out).await?.len(), path: out, ext: ext.to_owned() };
        if options.subtitle_files() && !job.extras.subtitles.is_empty() {
            let mut sidecars = Vec::new();
            for sub in &job.extras.subtitles {
                let format = options.subtitle_format;
                let path = dir.join(format!("{MEDIA_STEM}.{}.{}", sub.lang, format.as_str()));
                assemble::convert_subtitle(&self.inner.ffmpeg, &sub.path, options.clip, format, &path).await?;
                sidecars.push(crate::package::Sidecar { path, suffix: format!(".{}.{}", sub.lang, format.as_str()) });
            }
            let stem = crate::package::inner_stem(job.request.probe.info.display_title(), options.clip);
            file = crate::package::bundle(dir, file, sidecars, &stem).await?;
        }
        for leftover in job
            .extras
            .subtitles
            .iter()
            .map(|s| s.path.clone())
            .chain(job.extras.chapters.clone())
            .chain(job.extras.cover.clone())
        {
            let _ = tokio::fs::remove_file(leftover).await;
        }
        if let Some(limit) = self.inner.settings.max_filesize.filter(|l| file.size > *l) {
            return Err(EngineError::TooLarge { limit });
        }
        progress.phase = crate::progress::Phase::Completed;
        progress.percent = 100.0;
        progress.total_bytes = Some(file.size);
        progress.post_step = None;
        progress.stage = progress.stages;
        on_progress(progress);
        Ok(file)
    }
}

/// What `finish` needs of the job besides the fetched parts.
struct Finish<'a> {
    selection: &'a Selection,
    request: &'a NativeRequest,
    extras: &'a extras::Extras,
    dir: &'a Path,
    cancel: &'a CancellationToken,
}

/// Removes the job's `media.*` files unless disarmed, also when the future
/// is dropped mid-way.
struct Cleanup {
    dir: PathBuf,
    armed: bool,
}

impl Cleanup {
    fn new(dir: PathBuf) -> Cleanup {
        Cleanup { dir, armed: true }
    }

    fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.armed {
            crate::download::remove_partials(&self.dir);
        }
    }
}

/// About where in a progressive file of `size` bytes and `duration`
/// seconds a clip's reader stops: the end's share of the file, plus 2 s for
/// a variable bitrate and the demuxer's look past the end. `None` when the
/// size or the length is unknown (the relay then reads ahead freely).
fn clip_horizon(size: Option<u64>, duration: Option<f64>, clip: Option<ClipRange>) -> Option<u64> {
    let (size, duration, clip) = (size?, duration.filter(|d| d.is_finite() && *d > 0.0)?, clip?);
    let share = ((clip.end_ms as f64 / 1000.0 + 2.0) / duration).min(1.0);
    Some((size as f64 * share) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clip_s_horizon_is_its_end_s_share_of_the_file_plus_two_seconds() {
        let clip = Some(ClipRange { start_ms: 8000, end_ms: 12_000 });
        assert_eq!(clip_horizon(Some(2_400_000), Some(24.0), clip), Some(1_400_000));
        // Near the end: the whole file, not past it.
        let late = Some(ClipRange { start_ms: 20_000, end_ms: 23_500 });
        assert_eq!(clip_horizon(Some(2_400_000), Some(24.0), late), Some(2_400_000));
        // Without a size, a usable length or a clip: no horizon.
        assert_eq!(clip_horizon(None, Some(24.0), clip), None);
        for bad in [None, Some(0.0), Some(-3.0), Some(f64::NAN), Some(f64::INFINITY)] {
            assert_eq!(clip_horizon(Some(2_400_000), bad, clip), None, "{bad:?}");
        }
        assert_eq!(clip_horizon(Some(2_400_000), Some(24.0), None), None);
    }
}
