//! The manager and its queue: submitting, looking at and cancelling jobs,
//! and shutting down. Each job runs in [`super::worker`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use super::persist::{persist, write_all, Write};
use super::types::{JobRequest, JobSettings, JobSnapshot};
use super::worker::run_job;
use crate::dispatch::Dispatcher;
use crate::progress::{Phase, Progress};
use crate::space::Space;
use crate::store::{JobRecord, JobStore, StoredRequest};
use crate::ytdlp::{Probe, YtDlp};

/// Runs downloads. Cheap to clone; all clones share the same jobs.
#[derive(Clone)]
pub struct JobManager {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) ytdlp: Arc<YtDlp>,
    pub(super) settings: JobSettings,
    pub(super) slots: Dispatcher,
    pub(super) space: Space,
    pub(super) jobs: Mutex<HashMap<Uuid, Job>>,
    pub(super) tasks: TaskTracker,
    pub(super) closed: AtomicBool,
    /// Where jobs are written down, when they outlive the process.
    pub(super) store: Option<Arc<dyn JobStore>>,
    /// The store's writes, in order, to one writer task.
    pub(super) writes: Option<mpsc::UnboundedSender<Write>>,
}

pub(super) struct Job {
    pub(super) tx: Arc<watch::Sender<JobSnapshot>>,
    pub(super) cancel: CancellationToken,
    pub(super) dir: PathBuf,
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
    pub(super) fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, Job>> {
        // A panic while holding the lock leaves the map consistent (every
        // change is a single insert or remove), so a poisoned lock is fine.
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn write(&self, write: Write) {
        if let Some(writes) = &self.writes {
            // The writer ends only when the manager is dropped.
            let _ = writes.send(write);
        }
    }

    /// Shutting down with a store: jobs stop where they are, to be resumed.
    pub(super) fn suspending(&self) -> bool {
        self.store.is_some() && self.closed.load(Ordering::SeqCst)
    }

    pub(super) fn expires_at(&self, snapshot: &JobSnapshot) -> Option<SystemTime> {
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

    /// Queues a download and returns its id at once. Jobs start as slots
    /// free up: in the order submitted within one client, round robin
    /// across clients (see [`crate::dispatch`]). Must be called inside a Tokio
    /// runtime. After [`shutdown`](Self::shutdown) the job is cancelled at
    /// once.
    pub fn submit(&self, request: JobRequest) -> Uuid {
        let id = Uuid::new_v4();
        let title = request.probe.as_ref().and_then(|p| title_of(p));
        self.submit_as(queued_snapshot(id, title, request.quality, SystemTime::now()), request);
        id
    }

    /// Runs a job that was queued elsewhere (another node's queue) under
    /// the id and state it has there. Its directory is `download_dir/<id>`;
    /// anything left in it from an earlier attempt is the caller's to remove.
    pub fn submit_as(&self, snapshot: JobSnapshot, request: JobRequest) {
        let id = snapshot.id;
        let record = JobRecord {
            request: StoredRequest {
                url: request.url.clone(),
                quality: request.quality,
                options: request.options.clone(),
                owner: request.owner.clone(),
            },
            snapshot: snapshot.clone(),
        };
        self.inner.write(Write::Insert(Box::new(record), request.probe.as_ref().map(|p| Arc::clone(&p.raw))));
        let (tx, _rx) = watch::channel(snapshot);
        let tx = Arc::new(tx);
        let cancel = CancellationToken::new();
        let dir = self.inner.settings.download_dir.join(id.to_string());
        self.inner.lock().insert(id, Job { tx: Arc::clone(&tx), cancel: cancel.clone(), dir: dir.clone() });
        if self.inner.closed.load(Ordering::SeqCst) {
            cancel.cancel();
        }
        tracing::info!(%id, quality = %request.quality, "download queued");
        self.spawn(id, request, tx, cancel, dir);
    }

    pub(super) fn spawn(
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
        let mut jobs: Vec<(SystemTime, Uuid)> =
            self.inner.lock().iter().map(|(id, j)| (j.tx.borrow().created_at, *id)).collect();
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

    /// Stops every queued and running job and waits until they have
    /// stopped. Without a store they are cancelled and their files removed;
    /// completed files stay (the next start's
    /// [`clean_leftovers`](Self::clean_leftovers) removes them). With a
    /// store nothing is marked cancelled: the jobs stay queued or running in
    /// the store for [`resume`](Self::resume), every write is flushed, and
    /// the live channels close so event streams end.
    pub async fn shutdown(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        let tokens: Vec<CancellationToken> = self.inner.lock().values().map(|j| j.cancel.clone()).collect();
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

/// A job just submitted.
pub fn queued_snapshot(
    id: Uuid,
    title: Option<String>,
    quality: crate::quality::QualityId,
    created_at: SystemTime,
) -> JobSnapshot {
    JobSnapshot {
        id,
        seq: 0,
        phase: Phase::Queued,
        progress: Progress::default(),
        title,
        quality,
        file: None,
        error: None,
        engine: None,
        created_at,
        finished_at: None,
        started_at: None,
        restarted: false,
    }
}

/// The title to show for a probed video.
pub fn title_of(probe: &Probe) -> Option<String> {
    [&probe.info.title, &probe.info.fulltitle]
        .into_iter()
        .find_map(|t| t.as_deref().map(str::trim).filter(|t| !t.is_empty()))
        .map(str::to_owned)
}

/// Applies a change and bumps `seq`.
pub(super) fn update(tx: &watch::Sender<JobSnapshot>, change: impl FnOnce(&mut JobSnapshot)) {
    tx.send_modify(|s| {
        change(s);
        s.seq += 1;
    });
}
