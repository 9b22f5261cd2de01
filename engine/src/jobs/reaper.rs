//! The reaper: finished jobs go, with their files, once `file_ttl` has
//! passed.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use uuid::Uuid;

use super::manager::{Job, JobManager};
use super::persist::Write;
use super::DEFAULT_REAP_INTERVAL;

impl JobManager {
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
                        && s.finished_at.is_some_and(|at| now.duration_since(at).unwrap_or_default() >= ttl)
                })
                .map(|(id, _)| *id)
                .collect();
            ids.into_iter().filter_map(|id| jobs.remove(&id).map(|j| (id, j))).collect()
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
}
