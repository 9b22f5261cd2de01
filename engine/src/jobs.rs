//! The job manager the server and a CLI share: a FIFO queue of downloads
//! behind a limit of concurrent ones, each in its own directory, with live
//! snapshots, cancellation and a reaper for old files.
//!
//! Layout on disk: `download_dir/<uuid>/` holds the marker file
//! [`MARKER_FILE`] and, while running, yt-dlp's `media.*` files and
//! `info.json`; once completed only the finished `media.<ext>` is left until
//! the reaper removes the directory. Failed and cancelled jobs remove their
//! directory at once.
//!
//! With a [`JobStore`] ([`JobManager::with_store`]) every job is written
//! down as it changes, so a new process picks up where the old one stopped
//! ([`JobManager::resume`]): finished jobs keep their ids and files, queued
//! ones queue again in order, running ones start again from the beginning.
//! Shutdown then stops work without marking jobs cancelled.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::dispatch::Dispatcher;
use crate::download::{AudioFormat, DownloadSpec, DownloadedFile};
use crate::error::{EngineError, FailureKind};
use contract::{Detail, ErrorCode};
use crate::filename::sanitize_filename;
use crate::native::{EngineKind, NativeEngine, NativeError, NativeRequest};
use crate::progress::{Phase, Progress};
use crate::quality::QualityId;
use crate::space::{DiskFull, DiskLimits, Space};
use crate::store::{JobRecord, JobStore, LoadedJob, StoreError, StoredRequest};
use crate::ytdlp::{Probe, YtDlp};

/// The file that marks a directory as a Kachay job's, so that
/// [`JobManager::clean_leftovers`] never touches anything else.
pub const MARKER_FILE: &str = ".kachay-job";
/// How often [`JobManager::spawn_reaper`] looks for expired jobs.
pub const DEFAULT_REAP_INTERVAL: Duration = Duration::from_secs(30);
/// Progress-only changes are published at most this often per job; phase
/// changes always at once.
const PUBLISH_INTERVAL: Duration = Duration::from_millis(200);
/// How often a running job's directory, the free space and the speed are
/// looked at (progress reports check the quota in between).
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// A download that moves fewer than `min_speed` bytes a second over a whole
/// `window` is stopped: it would hold a slot for hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeedFloor {
    /// Bytes per second.
    pub min_speed: u64,
    /// How long the speed may stay below it.
    pub window: Duration,
}
/// Progress-only changes are written to the store at most this often per
/// job; phase changes at once. After a crash the restarted job begins again
/// anyway, so finer progress would only cost writes.
const PERSIST_INTERVAL: Duration = Duration::from_secs(1);
/// A stored probe older than this is not reused when a queued job starts
/// after a restart: its signed media links may have expired, so the job
/// looks the link up again.
const STORED_PROBE_MAX_AGE: Duration = Duration::from_secs(3600);

/// How the manager works.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Where job directories are made.
    pub download_dir: PathBuf,
    /// Downloads running at once (default 3); more wait in a FIFO queue.
    pub max_concurrent: usize,
    /// The ffmpeg yt-dlp uses (`--ffmpeg-location`).
    pub ffmpeg: PathBuf,
    /// How long a finished job (and its file) is kept (default one hour).
    pub file_ttl: Duration,
    /// The native engine; without one every download runs yt-dlp's own
    /// downloader.
    pub native: Option<NativeEngine>,
    /// Downloads one client (`JobOwner::client`) may run at once; `None`
    /// means `max_concurrent`. Freed slots go round robin across clients.
    pub max_running_per_client: Option<usize>,
    /// Stops downloads that stay too slow; `None`: never.
    pub speed_floor: Option<SpeedFloor>,
    /// Disk limits checked when a job starts and while it writes.
    pub disk: DiskLimits,
}

impl JobSettings {
    /// The defaults: 3 at once, files kept for 3600 s.
    pub fn new(download_dir: impl Into<PathBuf>, ffmpeg: impl Into<PathBuf>) -> Self {
        JobSettings {
            download_dir: download_dir.into(),
            max_concurrent: 3,
            ffmpeg: ffmpeg.into(),
            file_ttl: Duration::from_secs(3600),
            native: None,
            max_running_per_client: None,
            speed_floor: None,
            disk: DiskLimits::default(),
        }
    }

    /// These settings with the native engine.
    pub fn with_native(mut self, native: NativeEngine) -> Self {
        self.native = Some(native);
        self
    }
}

/// Who asked for a job: the key that fair scheduling and per-client limits
/// use, and the login session that may see it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JobOwner {
    /// The client's address (or another stable key); empty for local use
    /// such as the CLI.
    pub client: String,
    /// The browser session id when login is on; `None` otherwise (and for
    /// bearer-token clients).
    pub session: Option<String>,
}

/// One download to do.
#[derive(Debug, Clone)]
pub struct JobRequest {
    /// The page URL.
    pub url: String,
    /// The quality picked.
    pub quality: QualityId,
    /// The probe from the preview; without one the job probes first.
    pub probe: Option<Arc<Probe>>,
    /// Container for audio-only downloads.
    pub audio_format: AudioFormat,
    /// Who asked for it.
    pub owner: JobOwner,
}

/// Everything known about a job at one moment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobSnapshot {
    /// The job's id.
    pub id: Uuid,
    /// Goes up by one on every change.
    pub seq: u64,
    /// Where it stands (the same as `progress.phase`).
    pub phase: Phase,
    /// Overall progress; `percent` never decreases.
    pub progress: Progress,
    /// The video's title, once known.
    pub title: Option<String>,
    /// The quality asked for.
    pub quality: QualityId,
    /// The finished file, once completed.
    pub file: Option<FinishedFile>,
    /// Why it failed, when it did.
    pub error: Option<JobFailure>,
    /// Which engine moves the bytes, once the download has started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineKind>,
    /// When it was submitted (JSON: milliseconds since the Unix epoch).
    #[serde(with = "unix_millis")]
    pub created_at: SystemTime,
    /// When it completed, failed or was cancelled (JSON: milliseconds since
    /// the Unix epoch).
    #[serde(with = "unix_millis_opt")]
    pub finished_at: Option<SystemTime>,
    /// When it left the queue (JSON: milliseconds since the Unix epoch).
    #[serde(default, with = "unix_millis_opt", skip_serializing_if = "Option::is_none")]
    pub started_at: Option<SystemTime>,
    /// It was running when the server stopped and started again from the
    /// beginning after the restart.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restarted: bool,
}

/// The file a completed job produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishedFile {
    /// Where it is on the server. Never serialized: it must not reach a
    /// browser.
    #[serde(skip)]
    pub path: PathBuf,
    /// The name to offer the browser: the sanitized title plus extension.
    pub file_name: String,
    /// Size in bytes.
    pub size: u64,
}

/// Why a job failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFailure {
    /// The kind, when yt-dlp reported the failure.
    pub kind: Option<FailureKind>,
    /// A sentence a person understands, without server paths.
    pub message: String,
    /// Its stable name: every failure has one.
    pub code: ErrorCode,
    /// The figures its sentence names.
    pub detail: Detail,
}

/// Runs downloads. Cheap to clone; all clones share the same jobs.
#[derive(Clone)]
pub struct JobManager {
    inner: Arc<Inner>,
}

struct Inner {
    ytdlp: Arc<YtDlp>,
    settings: JobSettings,
    slots: Dispatcher,
    space: Space,
    jobs: Mutex<HashMap<Uuid, Job>>,
    tasks: TaskTracker,
    closed: AtomicBool,
    /// Where jobs are written down, when they outlive the process.
    store: Option<Arc<dyn JobStore>>,
    /// The store's writes, in order, to one writer task.
    writes: Option<mpsc::UnboundedSender<Write>>,
}

/// One write for the store's writer task.
enum Write {
    Insert(Box<JobRecord>, Option<Arc<str>>),
    Update(Box<JobSnapshot>, Option<SystemTime>),
    Remove(Vec<Uuid>),
    /// Answered once every write before it is done.
    Flush(oneshot::Sender<()>),
}

struct Job {
    tx: Arc<watch::Sender<JobSnapshot>>,
    cancel: CancellationToken,
    dir: PathBuf,
}

impl std::fmt::Debug for JobManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobManager")
            .field("settings", &self.inner.settings)
            .field("jobs", &self.inner.lock().len())
            .finish()
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, Job>> {
        // A panic while holding the lock leaves the map consistent (every
        // change is a single insert or remove), so a poisoned lock is fine.
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self, write: Write) {
        if let Some(writes) = &self.writes {
            // The writer ends only when the manager is dropped.
            let _ = writes.send(write);
        }
    }

    /// Shutting down with a store: jobs stop where they are, to be resumed.
    fn suspending(&self) -> bool {
        self.store.is_some() && self.closed.load(Ordering::SeqCst)
    }

    fn expires_at(&self, snapshot: &JobSnapshot) -> Option<SystemTime> {
        snapshot.finished_at.map(|at| at + self.settings.file_ttl)
    }
}

impl JobManager {
    /// A manager running `ytdlp` with these settings. A relative
    /// `download_dir` is made absolute against the current directory.
    pub fn new(ytdlp: Arc<YtDlp>, settings: JobSettings) -> JobManager {
        JobManager::build(ytdlp, settings, None)
    }

    /// A manager that writes every job to `store`. Call
    /// [`resume`](Self::resume) before [`clean_leftovers`](Self::clean_leftovers)
    /// to pick up the jobs of an earlier run. Must be called inside a Tokio
    /// runtime (it starts the store's writer task).
    pub fn with_store(ytdlp: Arc<YtDlp>, settings: JobSettings, store: Arc<dyn JobStore>) -> JobManager {
        JobManager::build(ytdlp, settings, Some(store))
    }

    fn build(ytdlp: Arc<YtDlp>, mut settings: JobSettings, store: Option<Arc<dyn JobStore>>) -> JobManager {
        let writes = store.as_ref().map(|store| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(write_all(Arc::clone(store), rx));
            tx
        });
        if let Ok(abs) = std::path::absolute(&settings.download_dir) {
            settings.download_dir = abs;
        }
        let max = settings.max_concurrent.max(1);
        let slots = Dispatcher::new(max, settings.max_running_per_client.unwrap_or(max));
        let space = Space::new(settings.download_dir.clone(), settings.disk);
        JobManager {
            inner: Arc::new(Inner {
                ytdlp,
                settings,
                slots,
                space,
                jobs: Mutex::new(HashMap::new()),
                tasks: TaskTracker::new(),
                closed: AtomicBool::new(false),
                store,
                writes,
            }),
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> &JobSettings {
        &self.inner.settings
    }

    /// Removes job directories left by an earlier run: only directories
    /// named like a job id that carry [`MARKER_FILE`] and are not jobs of
    /// this manager. Creates `download_dir` if missing. Returns how many
    /// were removed.
    pub async fn clean_leftovers(&self) -> io::Result<usize> {
        let root = self.inner.settings.download_dir.clone();
        tokio::fs::create_dir_all(&root).await?;
        let mut removed = 0;
        let mut entries = tokio::fs::read_dir(&root).await?;
        while let Some(entry) = entries.next_entry().await? {
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| Uuid::parse_str(n).ok()) else {
                continue;
            };
            // `file_type` does not follow symlinks: a link is never removed.
            if !entry.file_type().await?.is_dir() {
                continue;
            }
            let marker = tokio::fs::symlink_metadata(entry.path().join(MARKER_FILE)).await;
            if !marker.is_ok_and(|m| m.is_file()) {
                continue;
            }
            if self.inner.lock().contains_key(&id) {
                continue;
            }
            match tokio::fs::remove_dir_all(entry.path()).await {
                Ok(()) => removed += 1,
                Err(e) => tracing::warn!(dir = %entry.path().display(), error = %e, "could not remove leftover"),
            }
        }
        if removed > 0 {
            tracing::info!(removed, dir = %root.display(), "removed leftover job directories");
        }
        Ok(removed)
    }

    /// Queues a download and returns its id at once. Jobs start as slots
    /// free up: in the order submitted within one client, round robin
    /// across clients (see [`crate::dispatch`]). Must be called inside a Tokio
    /// runtime. After [`shutdown`](Self::shutdown) the job is cancelled at
    /// once.
    pub fn submit(&self, request: JobRequest) -> Uuid {
        let id = Uuid::new_v4();
        let title = request.probe.as_ref().and_then(|p| title_of(p));
        let snapshot = JobSnapshot {
            id,
            seq: 0,
            phase: Phase::Queued,
            progress: Progress::default(),
            title,
            quality: request.quality,
            file: None,
            error: None,
            engine: None,
            created_at: SystemTime::now(),
            finished_at: None,
            started_at: None,
            restarted: false,
        };
        let record = JobRecord {
            request: StoredRequest {
                url: request.url.clone(),
                quality: request.quality,
                audio_format: request.audio_format,
                owner: request.owner.clone(),
            },
            snapshot: snapshot.clone(),
        };
        self.inner.write(Write::Insert(Box::new(record), request.probe.as_ref().map(|p| Arc::clone(&p.raw))));
        let (tx, _rx) = watch::channel(snapshot);
        let tx = Arc::new(tx);
        let cancel = CancellationToken::new();
        let dir = self.inner.settings.download_dir.join(id.to_string());
        self.inner.lock().insert(
            id,
            Job {
                tx: Arc::clone(&tx),
                cancel: cancel.clone(),
                dir: dir.clone(),
            },
        );
        if self.inner.closed.load(Ordering::SeqCst) {
            cancel.cancel();
        }
        tracing::info!(%id, quality = %request.quality, "download queued");
        self.spawn(id, request, tx, cancel, dir);
        id
    }

    fn spawn(
        &self,
        id: Uuid,
        request: JobRequest,
        tx: Arc<watch::Sender<JobSnapshot>>,
        cancel: CancellationToken,
        dir: PathBuf,
    ) {
        // Tells the job's store writer that nothing more will change.
        let ended = CancellationToken::new();
        if self.inner.store.is_some() {
            let inner = Arc::clone(&self.inner);
            self.inner.tasks.spawn(persist(inner, tx.subscribe(), ended.clone()));
        }
        let inner = Arc::clone(&self.inner);
        self.inner.tasks.spawn(async move {
            let _ended = ended.drop_guard();
            run_job(inner, id, request, tx, cancel, dir).await;
        });
    }

    /// Takes up the jobs of an earlier run from the store: completed ones
    /// whose file is still there keep their id, state and file; failed and
    /// cancelled ones stay in the history; queued ones queue again in their
    /// order; ones that were running start again from the beginning (their
    /// partial files are removed) and say so. Without a store, does nothing.
    pub async fn resume(&self) -> Result<Resumed, StoreError> {
        let mut resumed = Resumed::default();
        let Some(store) = &self.inner.store else { return Ok(resumed) };
        let loaded = store.load().await?;
        let mut gone = Vec::new();
        for LoadedJob { record, probe } in loaded {
            let JobRecord { request, mut snapshot } = record;
            let id = snapshot.id;
            let dir = self.inner.settings.download_dir.join(id.to_string());
            if snapshot.phase.is_finished() {
                let missing = match (&snapshot.file, snapshot.phase) {
                    // Served only from the job's own directory: a row
                    // pointing elsewhere (an edited or foreign database) is
                    // dropped, not trusted.
                    (Some(file), Phase::Completed) => !is_own_file(&dir, &file.path).await,
                    (None, Phase::Completed) => true,
                    _ => false,
                };
                if missing {
                    tracing::warn!(%id, "a completed download's file is gone or not its own; forgetting the job");
                    gone.push(id);
                    continue;
                }
                resumed.finished += 1;
                let (tx, _rx) = watch::channel(snapshot);
                self.inner.lock().insert(id, Job { tx: Arc::new(tx), cancel: CancellationToken::new(), dir });
                continue;
            }
            let was_running = snapshot.phase != Phase::Queued;
            if was_running {
                // The engine cannot yet continue from fragments already on
                // disk, so the job starts cleanly rather than from a mix.
                remove_dir(&dir).await;
                resumed.restarted += 1;
            } else {
                resumed.queued += 1;
            }
            let fresh = SystemTime::now().duration_since(snapshot.created_at).unwrap_or_default()
                < STORED_PROBE_MAX_AGE;
            let probe = probe.filter(|_| fresh).and_then(|raw| {
                let info = serde_json::from_str(&raw).ok()?;
                Some(Arc::new(Probe { info, raw }))
            });
            snapshot.seq += 1;
            snapshot.phase = Phase::Queued;
            snapshot.progress = Progress::default();
            snapshot.engine = None;
            snapshot.started_at = None;
            snapshot.restarted = snapshot.restarted || was_running;
            self.inner.write(Write::Update(Box::new(snapshot.clone()), None));
            let job_request = JobRequest {
                url: request.url,
                quality: request.quality,
                probe,
                audio_format: request.audio_format,
                owner: request.owner,
            };
            let (tx, _rx) = watch::channel(snapshot);
            let tx = Arc::new(tx);
            let cancel = CancellationToken::new();
            self.inner.lock().insert(
                id,
                Job { tx: Arc::clone(&tx), cancel: cancel.clone(), dir: dir.clone() },
            );
            tracing::info!(%id, restarted = was_running, "download resumed after a restart");
            self.spawn(id, job_request, tx, cancel, dir);
        }
        if !gone.is_empty() {
            self.inner.write(Write::Remove(gone));
        }
        // Files that expired while the server was down go now, not at the
        // reaper's first round.
        self.reap().await;
        self.flush().await;
        Ok(resumed)
    }

    /// Waits until every change so far is in the store (at once without one).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if let Some(writes) = &self.inner.writes {
            if writes.send(Write::Flush(done)).is_ok() {
                let _ = wait.await;
            }
        }
    }

    /// The store, when there is one.
    pub fn store(&self) -> Option<&Arc<dyn JobStore>> {
        self.inner.store.as_ref()
    }

    /// The job's current state; `None` for an unknown (or reaped) id.
    pub fn snapshot(&self, id: Uuid) -> Option<JobSnapshot> {
        self.inner.lock().get(&id).map(|j| j.tx.borrow().clone())
    }

    /// Every change of the job from now on (the receiver holds the current
    /// state at once). The channel closes when the job is reaped.
    pub fn subscribe(&self, id: Uuid) -> Option<watch::Receiver<JobSnapshot>> {
        self.inner.lock().get(&id).map(|j| j.tx.subscribe())
    }

    /// Ids of all jobs known, oldest first.
    pub fn ids(&self) -> Vec<Uuid> {
        let mut jobs: Vec<(SystemTime, Uuid)> = self
            .inner
            .lock()
            .iter()
            .map(|(id, j)| (j.tx.borrow().created_at, *id))
            .collect();
        jobs.sort();
        jobs.into_iter().map(|(_, id)| id).collect()
    }

    /// Cancels a queued or running job: it becomes Cancelled within a
    /// second or two, with its processes stopped and directory removed.
    /// `false` when the id is unknown or the job has already finished.
    pub fn cancel(&self, id: Uuid) -> bool {
        let jobs = self.inner.lock();
        let Some(job) = jobs.get(&id) else {
            return false;
        };
        if job.tx.borrow().phase.is_finished() {
            return false;
        }
        tracing::info!(%id, "cancelling download");
        job.cancel.cancel();
        true
    }

    /// Starts the reaper: every 30 s it removes finished jobs older than
    /// `file_ttl`, their directory and their entry.
    pub fn spawn_reaper(&self) -> tokio::task::JoinHandle<()> {
        self.spawn_reaper_every(DEFAULT_REAP_INTERVAL)
    }

    /// [`spawn_reaper`](Self::spawn_reaper) with another interval. The task
    /// ends by itself once the manager is shut down.
    pub fn spawn_reaper_every(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                if inner.closed.load(Ordering::SeqCst) {
                    break;
                }
                JobManager { inner }.reap().await;
            }
        })
    }

    /// Removes finished jobs older than `file_ttl` now; returns how many.
    pub async fn reap(&self) -> usize {
        let ttl = self.inner.settings.file_ttl;
        let now = SystemTime::now();
        let expired: Vec<(Uuid, Job)> = {
            let mut jobs = self.inner.lock();
            let ids: Vec<Uuid> = jobs
                .iter()
                .filter(|(_, j)| {
                    let s = j.tx.borrow();
                    s.phase.is_finished()
                        && s.finished_at
                            .is_some_and(|at| now.duration_since(at).unwrap_or_default() >= ttl)
                })
                .map(|(id, _)| *id)
                .collect();
            ids.into_iter()
                .filter_map(|id| jobs.remove(&id).map(|j| (id, j)))
                .collect()
        };
        for (id, job) in &expired {
            if let Some(file) = &job.tx.borrow().file {
                self.inner.space.forget(file.size);
            }
            match tokio::fs::remove_dir_all(&job.dir).await {
                Ok(()) => tracing::debug!(%id, "reaped"),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(%id, error = %e, "could not remove an expired job's files"),
            }
        }
        if !expired.is_empty() {
            // Rows go after the files: a crash in between leaves a row whose
            // file is gone, which the next start forgets.
            self.inner.write(Write::Remove(expired.iter().map(|(id, _)| *id).collect()));
        }
        expired.len()
    }

    /// Stops every queued and running job and waits until they have
    /// stopped. Without a store they are cancelled and their files removed;
    /// completed files stay (the next start's
    /// [`clean_leftovers`](Self::clean_leftovers) removes them). With a
    /// store nothing is marked cancelled: the jobs stay queued or running in
    /// the store for [`resume`](Self::resume), every write is flushed, and
    /// the live channels close so event streams end.
    pub async fn shutdown(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        let tokens: Vec<CancellationToken> =
            self.inner.lock().values().map(|j| j.cancel.clone()).collect();
        for token in tokens {
            token.cancel();
        }
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
        self.inner.slots.close();
        if self.inner.store.is_some() {
            self.flush().await;
            self.inner.lock().clear();
        }
    }

    /// Downloads running now (holding a slot).
    pub fn running(&self) -> usize {
        self.inner.slots.running()
    }
}

/// What [`JobManager::resume`] took up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resumed {
    /// Completed, failed or cancelled jobs kept.
    pub finished: usize,
    /// Jobs queued again.
    pub queued: usize,
    /// Jobs that were running and start again.
    pub restarted: usize,
}

/// The store's writer: applies writes one after another, so a job's rows
/// never go back in time.
async fn write_all(store: Arc<dyn JobStore>, mut rx: mpsc::UnboundedReceiver<Write>) {
    while let Some(write) = rx.recv().await {
        let result = match write {
            Write::Insert(record, probe) => store.insert(*record, probe).await,
            Write::Update(snapshot, expires) => store.update(*snapshot, expires).await,
            Write::Remove(ids) => store.remove(ids).await,
            Write::Flush(done) => {
                let _ = done.send(());
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "could not write to the job store");
        }
    }
}

/// Writes one job's changes to the store: phase changes at once, progress
/// at most every [`PERSIST_INTERVAL`]. Ends after the terminal state, or,
/// when the job's task ends without one (shutdown), after writing where the
/// job stood.
async fn persist(inner: Arc<Inner>, mut rx: watch::Receiver<JobSnapshot>, ended: CancellationToken) {
    let mut written: Option<(Instant, Phase, u64)> = None;
    loop {
        let open = tokio::select! {
            biased;
            changed = rx.changed() => changed.is_ok(),
            () = ended.cancelled() => false,
        };
        let snapshot = rx.borrow_and_update().clone();
        let unwritten = written.is_none_or(|(_, _, seq)| seq < snapshot.seq);
        if !open {
            if unwritten {
                let expires = inner.expires_at(&snapshot);
                inner.write(Write::Update(Box::new(snapshot), expires));
            }
            return;
        }
        let due = match written {
            None => true,
            Some((at, phase, _)) => phase != snapshot.phase || at.elapsed() >= PERSIST_INTERVAL,
        };
        if !due {
            // Wait out the interval, then write whatever is latest by then.
            let wait = written.map_or(Duration::ZERO, |(at, _, _)| PERSIST_INTERVAL.saturating_sub(at.elapsed()));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = ended.cancelled() => {}
            }
            rx.mark_changed();
            written = written.map(|(at, phase, seq)| (at.checked_sub(PERSIST_INTERVAL).unwrap_or(at), phase, seq));
            continue;
        }
        let finished = snapshot.phase.is_finished();
        written = Some((Instant::now(), snapshot.phase, snapshot.seq));
        let expires = inner.expires_at(&snapshot);
        inner.write(Write::Update(Box::new(snapshot), expires));
        if finished {
            return;
        }
    }
}

fn title_of(probe: &Probe) -> Option<String> {
    [&probe.info.title, &probe.info.fulltitle]
        .into_iter()
        .find_map(|t| t.as_deref().map(str::trim).filter(|t| !t.is_empty()))
        .map(str::to_owned)
}

/// Applies a change and bumps `seq`.
fn update(tx: &watch::Sender<JobSnapshot>, change: impl FnOnce(&mut JobSnapshot)) {
    tx.send_modify(|s| {
        change(s);
        s.seq += 1;
    });
}

async fn run_job(
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
    let expected = request
        .probe
        .as_ref()
        .and_then(|p| crate::space::known_size(&p.info, request.quality));
    if let Err(full) = inner.space.admit(id, expected).await {
        drop(permit);
        let err = EngineError::DiskFull(full);
        tracing::warn!(%id, error = %err, "download refused at start");
        let failure = failure_of(&err, &inner.settings.download_dir);
        finish(&tx, Phase::Error, None, Some(failure));
        return;
    }

    update(&tx, |s| {
        s.phase = Phase::Downloading;
        s.progress.phase = Phase::Downloading;
        s.started_at = Some(SystemTime::now());
    });
    tracing::info!(%id, client = %request.owner.client, "download started");
    let watch = Watch {
        id,
        stop: Stopper {
            token: cancel.child_token(),
            reason: OnceLock::new(),
        },
        meter: Meter::default(),
    };
    let result = {
        let download = run_download(&inner, &request, &tx, &watch, &dir);
        tokio::pin!(download);
        tokio::select! {
            result = &mut download => result,
            () = watch_job(&inner, &watch, &dir) => download.await,
        }
    };
    let result = match (result, watch.stop.reason.get()) {
        (Err(_), Some(reason)) if !cancel.is_cancelled() => Err(reason.to_error()),
        (result, _) => result,
    };
    drop(permit);

    match result {
        Ok(file) => {
            inner.space.finish(id, Some(file.size));
            let title = tx.borrow().title.clone();
            let file_name = sanitize_filename(title.as_deref().unwrap_or(""), &file.ext);
            tracing::info!(%id, size = file.size, "download completed");
            let finished = FinishedFile {
                path: file.path,
                file_name,
                size: file.size,
            };
            finish(&tx, Phase::Completed, Some(finished), None);
        }
        Err(_) if cancel.is_cancelled() && inner.suspending() => {
            // Not marked cancelled: the next start begins it again. From the
            // beginning, so its partial files are of no use and go now.
            remove_dir(&dir).await;
            inner.space.finish(id, None);
            tracing::info!(%id, "shutting down: the download will start again after the restart");
        }
        Err(err) => {
            remove_dir(&dir).await;
            inner.space.finish(id, None);
            if matches!(err, EngineError::Cancelled) {
                tracing::info!(%id, "download cancelled");
                finish(&tx, Phase::Cancelled, None, None);
            } else {
                tracing::warn!(%id, error = %err, "download failed");
                let failure = failure_of(&err, &inner.settings.download_dir);
                finish(&tx, Phase::Error, None, Some(failure));
            }
        }
    }
}

/// What a running job's watcher and its progress reports share.
struct Watch {
    id: Uuid,
    stop: Stopper,
    meter: Meter,
}

/// Stops a download for a reason of the server's own (not a user's cancel).
struct Stopper {
    /// A child of the job's token: the engines see an ordinary cancel.
    token: CancellationToken,
    reason: OnceLock<StopReason>,
}

impl Stopper {
    fn stop(&self, reason: StopReason) {
        if self.reason.set(reason).is_ok() {
            self.token.cancel();
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum StopReason {
    Disk(DiskFull),
    Slow(SpeedFloor),
}

impl StopReason {
    fn to_error(self) -> EngineError {
        match self {
            StopReason::Disk(full) => EngineError::DiskFull(full),
            StopReason::Slow(floor) => EngineError::TooSlow {
                min_speed: floor.min_speed,
                window: floor.window,
            },
        }
    }
}

/// The latest figures of a running download.
#[derive(Default)]
struct Meter {
    /// Bytes fetched, as the last progress report said.
    fetched: AtomicU64,
    /// Bytes in the job's directory at the last look.
    on_disk: AtomicU64,
    /// Set by the engine's first progress report: the speed clock starts.
    active: AtomicBool,
    /// False while merging or post-processing: no bytes move then.
    fetching: AtomicBool,
}

impl Meter {
    fn bytes_on_disk(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed).max(self.on_disk.load(Ordering::Relaxed))
    }
}

/// Once a second: the job's directory against the disk limits, and the
/// speed against the floor. Returns after it has stopped the job (never
/// when all is well).
async fn watch_job(inner: &Inner, watch: &Watch, dir: &Path) {
    let limits = inner.settings.disk;
    let floor = inner.settings.speed_floor;
    if limits.is_off() && floor.is_none() {
        return std::future::pending().await;
    }
    let mut ticker = tokio::time::interval(WATCH_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // (when, bytes fetched) once a tick while fetching: the oldest one at
    // least a window back is the baseline.
    let mut samples: VecDeque<(Instant, u64)> = VecDeque::new();
    loop {
        ticker.tick().await;
        if !limits.is_off() {
            // The directory holds more than the progress says while
            // merging (the inputs and the output at once).
            if limits.quota.is_some() {
                let path = dir.to_owned();
                let size = tokio::task::spawn_blocking(move || crate::space::dir_size(&path))
                    .await
                    .unwrap_or(0);
                watch.meter.on_disk.store(size, Ordering::Relaxed);
            }
            if let Err(full) = inner.space.check(watch.id, watch.meter.bytes_on_disk()).await {
                tracing::warn!(id = %watch.id, ?full, "stopping a download: disk limit");
                watch.stop.stop(StopReason::Disk(full));
                return;
            }
        }
        let Some(floor) = floor else { continue };
        let meter = &watch.meter;
        if !(meter.active.load(Ordering::Relaxed) && meter.fetching.load(Ordering::Relaxed)) {
            samples.clear();
            continue;
        }
        let now = Instant::now();
        let fetched = meter.fetched.load(Ordering::Relaxed);
        samples.push_back((now, fetched));
        while samples.len() >= 2 && samples.get(1).is_some_and(|s| now.duration_since(s.0) >= floor.window) {
            samples.pop_front();
        }
        let Some(&(since, base)) = samples.front() else { continue };
        let elapsed = now.duration_since(since);
        if elapsed >= floor.window && !floor.window.is_zero() {
            let speed = fetched.saturating_sub(base) as f64 / elapsed.as_secs_f64();
            if speed < floor.min_speed as f64 {
                tracing::warn!(id = %watch.id, speed, min = floor.min_speed, "stopping a download: too slow");
                watch.stop.stop(StopReason::Slow(floor));
                return;
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
    tokio::fs::write(dir.join(MARKER_FILE), b"Kachay job directory; removed automatically.\n")
        .await?;

    let probe = match &request.probe {
        Some(p) => Arc::clone(p),
        None => {
            let probe = tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(EngineError::Cancelled),
                probe = inner.ytdlp.probe(&request.url) => Arc::new(probe?),
            };
            let title = title_of(&probe);
            update(tx, |s| s.title = title);
            probe
        }
    };

    let native_probe = Arc::clone(&probe);
    let spec = DownloadSpec {
        url: request.url.clone(),
        quality: request.quality,
        probe: Some(probe),
        dir: dir.to_owned(),
        audio_format: request.audio_format,
    };
    let mut last_publish: Option<(Instant, Phase, u32, Option<crate::progress::PostStep>)> = None;
    let on_progress = |p: Progress| {
        let meter = &watch.meter;
        meter.fetched.store(p.downloaded_bytes, Ordering::Relaxed);
        meter.fetching.store(p.phase == Phase::Downloading, Ordering::Relaxed);
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
            Some((at, phase, stage, step)) => {
                (phase, stage, step) != key || now.duration_since(at) >= PUBLISH_INTERVAL
            }
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
    };
    let mut on_progress = on_progress;
    if let Some(native) = &inner.settings.native {
        match native.select(&native_probe, spec.quality, spec.audio_format) {
            Ok(_) => {
                update(tx, |s| s.engine = Some(EngineKind::Native));
                let ytdlp = Arc::clone(&inner.ytdlp);
                let url = request.url.clone();
                let reextract: crate::native::Reextract = Arc::new(move || {
                    let ytdlp = Arc::clone(&ytdlp);
                    let url = url.clone();
                    Box::pin(async move { ytdlp.probe(&url).await.map(Arc::new) })
                });
                let native_request = NativeRequest {
                    probe: Arc::clone(&native_probe),
                    quality: spec.quality,
                    audio_format: spec.audio_format,
                    dir: spec.dir.clone(),
                    reextract: Some(reextract),
                };
                let limit = inner.ytdlp.download_timeout();
                let run = native.download(&native_request, cancel.clone(), &mut on_progress);
                let result = match limit {
                    Some(limit) => match tokio::time::timeout(limit, run).await {
                        Ok(r) => r,
                        Err(_) => Err(NativeError::Failed(EngineError::Timeout(limit))),
                    },
                    None => run.await,
                };
                match result {
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
    inner
        .ytdlp
        .download(&spec, &inner.settings.ffmpeg, cancel.clone(), on_progress)
        .await
}

fn finish(
    tx: &watch::Sender<JobSnapshot>,
    phase: Phase,
    file: Option<FinishedFile>,
    error: Option<JobFailure>,
) {
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

/// A regular file (not a link) directly inside the job directory `dir`.
async fn is_own_file(dir: &Path, path: &Path) -> bool {
    let Some(parent) = path.parent() else { return false };
    let (Ok(parent), Ok(dir)) = (tokio::fs::canonicalize(parent).await, tokio::fs::canonicalize(dir).await) else {
        return false;
    };
    parent == dir && tokio::fs::symlink_metadata(path).await.is_ok_and(|m| m.is_file())
}

async fn remove_dir(dir: &Path) {
    match tokio::fs::remove_dir_all(dir).await {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(dir = %dir.display(), error = %e, "could not remove a job directory"),
    }
}

/// What a person reads when a job fails: yt-dlp's own sentence for its
/// failures (the server may phrase known kinds its own way), a plain
/// sentence for the rest. Server paths never appear.
fn failure_of(err: &EngineError, download_dir: &Path) -> JobFailure {
    let code = err.code();
    let mut detail = err.detail();
    let (kind, message) = match err {
        EngineError::YtDlp { kind, message } => (Some(*kind), without_paths(message, download_dir)),
        // The native engine's sentences name no paths or URLs; a refusal
        // carries the guard's marker, which the server words by itself.
        EngineError::Fetch { kind, message } => {
            ((code != ErrorCode::DestinationRefused).then_some(*kind), message.clone())
        }
        // A download's time limit is its own (a lookup's is not shown).
        EngineError::Timeout(limit) => {
            detail.limit = Some(limit.as_secs());
            (None, String::new())
        }
        _ => (err.failure_kind(), String::new()),
    };
    if let Some(reason) = detail.reason.as_mut() {
        *reason = without_paths(reason, download_dir);
    }
    let message = if message.is_empty() {
        contract::sentences::sentence(code, contract::Lang::En, &detail)
    } else {
        message
    };
    JobFailure { kind, message, code, detail }
}

/// Drops every word that names a local path.
fn without_paths(message: &str, download_dir: &Path) -> String {
    let dir = download_dir.to_string_lossy();
    let words: Vec<&str> = message
        .split_whitespace()
        .filter(|w| {
            let w = w.trim_matches(|c: char| "'\"([{".contains(c));
            !(w.contains(dir.as_ref()) || w.starts_with('/') || w.starts_with("file:"))
        })
        .collect();
    let text = words.join(" ");
    if text.is_empty() {
        "The download failed.".to_owned()
    } else {
        text
    }
}

mod unix_millis {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        let ms = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        s.serialize_u64(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let ms = u64::deserialize(d)?;
        Ok(UNIX_EPOCH + Duration::from_millis(ms))
    }
}

mod unix_millis_opt {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::unix_millis::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
        let ms = Option::<u64>::deserialize(d)?;
        Ok(ms.map(|ms| UNIX_EPOCH + Duration::from_millis(ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_never_show_paths() {
        let err = EngineError::YtDlp {
            kind: FailureKind::Other,
            message: "unable to open for writing: /srv/kachay/downloads/abc/media.mp4.part: No space left".into(),
        };
        let f = failure_of(&err, Path::new("/srv/kachay/downloads"));
        assert_eq!(f.kind, Some(FailureKind::Other));
        assert!(!f.message.contains('/'), "{}", f.message);
        assert!(f.message.contains("No space left"), "{}", f.message);
        let f = failure_of(
            &EngineError::Io(io::Error::other("/secret/path")),
            Path::new("/x"),
        );
        assert!(!f.message.contains("secret"));
    }

    #[test]
    fn snapshot_json_has_no_server_path() {
        let s = JobSnapshot {
            id: Uuid::nil(),
            seq: 3,
            phase: Phase::Completed,
            progress: Progress::default(),
            title: Some("t".into()),
            quality: QualityId::P720,
            file: Some(FinishedFile {
                path: PathBuf::from("/srv/downloads/x/media.mp4"),
                file_name: "t.mp4".into(),
                size: 10,
            }),
            error: None,
            engine: None,
            created_at: SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            finished_at: None,
            started_at: None,
            restarted: false,
        };
        let json = serde_json::to_value(&s).unwrap_or_default();
        assert_eq!(json["phase"], "completed");
        assert_eq!(json["quality"], "720");
        assert_eq!(json["created_at"], 1_700_000_000_123u64);
        assert!(json["finished_at"].is_null());
        assert_eq!(json["file"]["file_name"], "t.mp4");
        assert!(!json.to_string().contains("/srv"), "{json}");
    }
}
