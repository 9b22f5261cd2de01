//! Running one job: a slot, the disk check, the probe, the engine (native
//! when it can, else yt-dlp), and the finished state.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::failure::failure_of;
use super::manager::{title_of, update, Inner};
use super::types::{FinishedFile, JobFailure, JobRequest, JobSnapshot};
use super::watch::{watch_job, Meter, StopReason, Stopper, Watch};
use super::MARKER_FILE;
use crate::download::{DownloadSpec, DownloadedFile};
use crate::error::EngineError;
use crate::filename::sanitize_filename_tagged;
use crate::native::{EngineKind, NativeEngine, NativeError, NativeRequest, Reextract};
use crate::progress::{Phase, PostStep, Progress};
use crate::ytdlp::Probe;

/// Progress-only changes are published at most this often per job; phase
/// changes always at once.
const PUBLISH_INTERVAL: Duration = Duration::from_millis(200);

pub(super) async fn run_job(
    inner: Arc<Inner>,
    id: Uuid,
    request: JobRequest,
    tx: Arc<watch::Sender<JobSnapshot>>,
    cancel: CancellationToken,
    dir: PathBuf,
) {
    let permit = tokio::select! {
        biased;
        () = cancel.cancelled() => None,
        permit = inner.slots.acquire(&request.owner.client) => permit,
    };
    let Some(permit) = permit else {
        if inner.suspending() {
            tracing::info!(%id, "shutting down: the download stays queued");
            return;
        }
        tracing::info!(%id, "download cancelled while queued");
        finish(&tx, Phase::Cancelled, None, None);
        return;
    };

    // The quota and the free space are checked again now: files may have
    // arrived since the job was queued.
    let expected = request.probe.as_ref().and_then(|p| crate::space::known_size(&p.info, request.quality));
    if let Err(full) = inner.space.admit(id, expected).await {
        drop(permit);
        let err = EngineError::DiskFull(full);
        tracing::warn!(%id, error = %err, "download refused at start");
        let failure = failure_of(&err, &inner.settings.download_dir);
        finish(&tx, Phase::Error, None, Some(failure));
        return;
    }

    let result = run_watched(&inner, id, &request, &tx, &cancel, &dir).await;
    drop(permit);
    conclude(&inner, id, &tx, &cancel, &dir, request.options.clip, result).await;
}

/// Marks the job started and runs its download beside the watcher. A
/// download the watcher stopped fails with the watcher's reason, unless the
/// job was cancelled too.
async fn run_watched(
    inner: &Inner,
    id: Uuid,
    request: &JobRequest,
    tx: &watch::Sender<JobSnapshot>,
    cancel: &CancellationToken,
    dir: &Path,
) -> Result<DownloadedFile, EngineError> {
    update(tx, |s| {
        s.phase = Phase::Downloading;
        s.progress.phase = Phase::Downloading;
        s.started_at = Some(SystemTime::now());
    });
    tracing::info!(%id, client = %request.owner.client, "download started");
    let watch =
        Watch { id, stop: Stopper { token: cancel.child_token(), reason: OnceLock::new() }, meter: Meter::default() };
    let result = {
        let download = run_download(inner, request, tx, &watch, dir);
        tokio::pin!(download);
        tokio::select! {
            result = &mut download => result,
            () = watch_job(inner, &watch, dir) => download.await,
        }
    };
    match (result, watch.stop.reason.get()) {
        (Err(_), Some(reason)) if !cancel.is_cancelled() => Err(reason.to_error()),
        (result, _) => result,
    }
}

/// The job's end: completed with its file, failed or cancelled (its
/// directory removed), or, when shutting down with a store, left as it was.
async fn conclude(
    inner: &Inner,
    id: Uuid,
    tx: &watch::Sender<JobSnapshot>,
    cancel: &CancellationToken,
    dir: &Path,
    clip: Option<contract::clip::ClipRange>,
    result: Result<DownloadedFile, EngineError>,
) {
    match result {
        Ok(file) => {
            inner.space.finish(id, Some(file.size));
            let title = tx.borrow().title.clone();
            let label = clip.map(|c| c.label());
            let file_name = sanitize_filename_tagged(title.as_deref().unwrap_or(""), label.as_deref(), &file.ext);
            tracing::info!(%id, size = file.size, "download completed");
            let finished = FinishedFile { path: file.path, file_name, size: file.size };
            finish(tx, Phase::Completed, Some(finished), None);
        }
        Err(_) if cancel.is_cancelled() && inner.suspending() => {
            // Not marked cancelled: the next start begins it again. From the
            // beginning, so its partial files are of no use and go now.
            remove_dir(dir).await;
            inner.space.finish(id, None);
            tracing::info!(%id, "shutting down: the download will start again after the restart");
        }
        Err(err) => {
            remove_dir(dir).await;
            inner.space.finish(id, None);
            if matches!(err, EngineError::Cancelled) {
                tracing::info!(%id, "download cancelled");
                finish(tx, Phase::Cancelled, None, None);
            } else {
                tracing::warn!(%id, error = %err, "download failed");
                let failure = failure_of(&err, &inner.settings.download_dir);
                finish(tx, Phase::Error, None, Some(failure));
            }
        }
    }
}

async fn run_download(
    inner: &Inner,
    request: &JobRequest,
    tx: &watch::Sender<JobSnapshot>,
    watch: &Watch,
    dir: &Path,
) -> Result<DownloadedFile, EngineError> {
    let cancel = &watch.stop.token;
    tokio::fs::create_dir_all(dir).await?;
    tokio::fs::write(dir.join(MARKER_FILE), b"Kachay job directory; removed automatically.\n").await?;

    let probe = probe_of(inner, request, tx, cancel).await?;
    let native_probe = Arc::clone(&probe);
    let spec = DownloadSpec {
        url: request.url.clone(),
        quality: request.quality,
        probe: Some(probe),
        dir: dir.to_owned(),
        options: request.options.clone(),
    };
    let mut on_progress = reporter(inner, tx, watch);
    if let Some(native) = &inner.settings.native {
        match native.select(&native_probe, spec.quality, &spec.options) {
            Ok(_) => {
                update(tx, |s| s.engine = Some(EngineKind::Native));
                match run_native(inner, native, &spec, native_probe, cancel, &mut on_progress).await {
                    Ok(file) => return Ok(file),
                    Err(NativeError::Failed(e)) => return Err(e),
                    Err(NativeError::Unsupported(why)) => {
                        tracing::debug!(reason = %why, "native engine declined after planning; using yt-dlp");
                    }
                }
            }
            Err(why) => tracing::debug!(reason = %why, "native engine declined; using yt-dlp"),
        }
    }
    update(tx, |s| s.engine = Some(EngineKind::YtDlp));
    inner.ytdlp.download(&spec, &inner.settings.ffmpeg, cancel.clone(), on_progress).await
}

/// The request's probe, or a new one (whose title the snapshot takes).
async fn probe_of(
    inner: &Inner,
    request: &JobRequest,
    tx: &watch::Sender<JobSnapshot>,
    cancel: &CancellationToken,
) -> Result<Arc<Probe>, EngineError> {
    if let Some(p) = &request.probe {
        return Ok(Arc::clone(p));
    }
    let probe = tokio::select! {
        biased;
        () = cancel.cancelled() => return Err(EngineError::Cancelled),
        probe = inner.ytdlp.probe(&request.url) => Arc::new(probe?),
    };
    let title = title_of(&probe);
    update(tx, |s| s.title = title);
    Ok(probe)
}

/// The progress callback both engines get: it feeds the watcher's meter,
/// checks the quota and publishes the progress.
fn reporter<'a>(
    inner: &'a Inner,
    tx: &'a watch::Sender<JobSnapshot>,
    watch: &'a Watch,
) -> impl FnMut(Progress) + Send + 'a {
    let mut last_publish: Option<(Instant, Phase, u32, Option<PostStep>)> = None;
    move |p: Progress| {
        let meter = &watch.meter;
        meter.fetched.store(p.downloaded_bytes, Ordering::Relaxed);
        meter.fetching.store(p.phase == Phase::Downloading, Ordering::Relaxed);
        if p.phase == Phase::Merging {
            meter.merging.store(true, Ordering::Relaxed);
        }
        // The speed clock starts with the engine's first report, so a slow
        // start of yt-dlp (a Python program) is not counted as a slow site.
        // One that never reports is bounded by the download timeout.
        meter.active.store(true, Ordering::Relaxed);
        // Between the watcher's looks, every report checks the quota, so a
        // fast download is stopped within one report of crossing it.
        if let Err(full) = inner.space.report(watch.id, meter.bytes_on_disk()) {
            tracing::warn!(id = %watch.id, ?full, "stopping a download: disk limit");
            watch.stop.stop(StopReason::Disk(full));
        }
        let now = Instant::now();
        let key = (p.phase, p.stage, p.post_step);
        let due = match last_publish {
            None => true,
            Some((at, phase, stage, step)) => (phase, stage, step) != key || now.duration_since(at) >= PUBLISH_INTERVAL,
        };
        if !due {
            return;
        }
        last_publish = Some((now, key.0, key.1, key.2));
        update(tx, |s| {
            // Completion is announced by `finish`, with the file.
            let mut p = p;
            if p.phase == Phase::Completed {
                return;
            }
            p.percent = p.percent.max(s.progress.percent);
            s.phase = p.phase;
            s.progress = p;
        });
    }
}

/// Runs the native engine under the download time limit yt-dlp has too.
async fn run_native(
    inner: &Inner,
    native: &NativeEngine,
    spec: &DownloadSpec,
    probe: Arc<Probe>,
    cancel: &CancellationToken,
    on_progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<DownloadedFile, NativeError> {
    let ytdlp = Arc::clone(&inner.ytdlp);
    let url = spec.url.clone();
    let reextract: Reextract = Arc::new(move || {
        let ytdlp = Arc::clone(&ytdlp);
        let url = url.clone();
        Box::pin(async move { ytdlp.probe(&url).await.map(Arc::new) })
    });
    let native_request = NativeRequest {
        probe,
        quality: spec.quality,
        options: spec.options.clone(),
        dir: spec.dir.clone(),
        reextract: Some(reextract),
    };
    let limit = inner.ytdlp.download_timeout();
    let run = native.download(&native_request, cancel.clone(), on_progress);
    match limit {
        Some(limit) => match tokio::time::timeout(limit, run).await {
            Ok(r) => r,
            Err(_) => Err(NativeError::Failed(EngineError::Timeout(limit))),
        },
        None => run.await,
    }
}

fn finish(tx: &watch::Sender<JobSnapshot>, phase: Phase, file: Option<FinishedFile>, error: Option<JobFailure>) {
    update(tx, |s| {
        s.phase = phase;
        s.progress.phase = phase;
        s.progress.speed = None;
        s.progress.eta = None;
        s.progress.post_step = None;
        if let Some(f) = &file {
            s.progress.percent = 100.0;
            s.progress.total_bytes = Some(f.size);
            s.progress.downloaded_bytes = s.progress.downloaded_bytes.max(f.size);
            s.progress.stage = s.progress.stages;
        }
        s.file = file;
        s.error = error;
        s.finished_at = Some(SystemTime::now());
    });
}

pub(super) async fn remove_dir(dir: &Path) {
    match tokio::fs::remove_dir_all(dir).await {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(dir = %dir.display(), error = %e, "could not remove a job directory"),
    }
}
