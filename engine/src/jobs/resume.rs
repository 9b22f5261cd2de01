//! Picking up after a restart: the jobs of the store, and the directories
//! an earlier run left behind.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::manager::{Job, JobManager};
use super::persist::Write;
use super::types::{JobRequest, JobSnapshot, Resumed};
use super::worker::remove_dir;
use super::MARKER_FILE;
use crate::progress::{Phase, Progress};
use crate::store::{JobRecord, LoadedJob, StoreError, StoredRequest};
use crate::ytdlp::Probe;

/// A stored probe older than this is not reused when a queued job starts
/// after a restart: its signed media links may have expired, so the job
/// looks the link up again.
const STORED_PROBE_MAX_AGE: Duration = Duration::from_secs(3600);

impl JobManager {
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
            let JobRecord { request, snapshot } = record;
            let id = snapshot.id;
            let dir = self.inner.settings.download_dir.join(id.to_string());
            if snapshot.phase.is_finished() {
                if self.keep_finished(snapshot, dir).await {
                    resumed.finished += 1;
                } else {
                    gone.push(id);
                }
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
            self.requeue(request, snapshot, probe, dir, was_running);
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

    /// Takes up a finished job as it was; false (and nothing taken up) for
    /// a completed one whose file is gone.
    async fn keep_finished(&self, snapshot: JobSnapshot, dir: PathBuf) -> bool {
        let id = snapshot.id;
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
            return false;
        }
        let (tx, _rx) = watch::channel(snapshot);
        self.inner.lock().insert(id, Job { tx: Arc::new(tx), cancel: CancellationToken::new(), dir });
        true
    }

    /// Queues an unfinished job again, with its stored probe while that is
    /// fresh.
    fn requeue(
        &self,
        request: StoredRequest,
        mut snapshot: JobSnapshot,
        probe: Option<Arc<str>>,
        dir: PathBuf,
        was_running: bool,
    ) {
        let id = snapshot.id;
        let fresh = SystemTime::now().duration_since(snapshot.created_at).unwrap_or_default() < STORED_PROBE_MAX_AGE;
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
            options: request.options.clone(),
            owner: request.owner,
        };
        let (tx, _rx) = watch::channel(snapshot);
        let tx = Arc::new(tx);
        let cancel = CancellationToken::new();
        self.inner.lock().insert(id, Job { tx: Arc::clone(&tx), cancel: cancel.clone(), dir: dir.clone() });
        tracing::info!(%id, restarted = was_running, "download resumed after a restart");
        self.spawn(id, job_request, tx, cancel, dir);
    }
}

/// A regular file (not a link) directly inside the job directory `dir`.
async fn is_own_file(dir: &Path, path: &Path) -> bool {
    let Some(parent) = path.parent() else { return false };
    let (Ok(parent), Ok(dir)) = (tokio::fs::canonicalize(parent).await, tokio::fs::canonicalize(dir).await) else {
        return false;
    };
    parent == dir && tokio::fs::symlink_metadata(path).await.is_ok_and(|m| m.is_file())
}
