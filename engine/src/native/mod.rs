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

#[allow(dead_code)] // Wired into `finish` with the relay.
mod assemble;
pub mod cookies;
pub mod dash;
pub mod decrypt;
#[allow(dead_code)] // Wired into `finish` with the relay.
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
        let run = schedule::Run {
            client: &self.inner.client,
            settings: &self.inner.settings,
            connections: &self.inner.connections,
            cookies: &self.inner.cookies,
            reextract: request.reextract.clone(),
            selection: &selection,
            dir: &dir,
        };
        let fetched = run.fetch_all(planned, &cancel, on_progress).await?;
        let file = self.finish(&selection, &request.options, fetched, &dir, &cancel, on_progress).await?;
        cleanup.disarm();
        Ok(file)
    }

    /// Merges, remuxes or renames the tracks into `media.<ext>`.
    async fn finish(
        &self,
        selection: &Selection,
        options: &DownloadOptions,
        fetched: schedule::Fetched,
        dir: &Path,
        cancel: &CancellationToken,
        on_progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<DownloadedFile, EngineError> {
        let ext = selection.output.ext();
        let out = dir.join(format!("{MEDIA_STEM}.{ext}"));
        let mut tracks = Vec::new();
        for (path, acodec) in &fetched.tracks {
            tracks.push((path.clone(), merge::sniff(path).await?, acodec.clone()));
        }
        let mut progress = fetched.progress.clone();
        match merge::recipe(&tracks, selection.output, options.audio_bitrate) {
            None => {
                let from = tracks
                    .first()
                    .map(|t| t.0.clone())
                    .ok_or_else(|| EngineError::Io(std::io::Error::other("no track was fetched")))?;
                tokio::fs::rename(&from, &out).await?;
            }
            Some((step, args)) => {
                progress.phase = crate::progress::Phase::Merging;
                progress.post_step = Some(step);
                progress.speed = None;
                progress.eta = None;
                progress.percent = progress.percent.max(95.0);
                on_progress(progress.clone());
                let _permit = tokio::select! {
                    biased;
                    () = cancel.cancelled() => return Err(EngineError::Cancelled),
                    p = Arc::clone(&self.inner.merges).acquire_owned() => p.map_err(|_| EngineError::Cancelled)?,
                };
                let inputs: Vec<PathBuf> = tracks.iter().map(|t| t.0.clone()).collect();
                let temp = dir.join(format!("{MEDIA_STEM}.temp.{ext}"));
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => return Err(EngineError::Cancelled),
                    done = merge::run_ffmpeg(&self.inner.ffmpeg, &inputs, &args, &temp) => done?,
                }
                tokio::fs::rename(&temp, &out).await?;
                for input in inputs {
                    let _ = tokio::fs::remove_file(input).await;
                }
            }
        }
        let size = tokio::fs::metadata(&out).await?.len();
        if let Some(limit) = self.inner.settings.max_filesize.filter(|l| size > *l) {
            return Err(EngineError::TooLarge { limit });
        }
        progress.phase = crate::progress::Phase::Completed;
        progress.percent = 100.0;
        progress.total_bytes = Some(size);
        progress.post_step = None;
        progress.stage = progress.stages;
        on_progress(progress);
        Ok(DownloadedFile { path: out, size, ext: ext.to_owned() })
    }
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
