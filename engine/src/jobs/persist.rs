//! Writing jobs down: one writer task applies the store's writes in order,
//! and one task per job turns its changes into writes.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::manager::Inner;
use super::types::JobSnapshot;
use crate::progress::Phase;
use crate::store::{JobRecord, JobStore};

/// Progress-only changes are written to the store at most this often per
/// job; phase changes at once. After a crash the restarted job begins again
/// anyway, so finer progress would only cost writes.
const PERSIST_INTERVAL: Duration = Duration::from_secs(1);

/// One write for the store's writer task.
pub(super) enum Write {
    Insert(Box<JobRecord>, Option<Arc<str>>),
    Update(Box<JobSnapshot>, Option<SystemTime>),
    Remove(Vec<Uuid>),
    /// Answered once every write before it is done.
    Flush(oneshot::Sender<()>),
}

/// The store's writer: applies writes one after another, so a job's rows
/// never go back in time.
pub(super) async fn write_all(store: Arc<dyn JobStore>, mut rx: mpsc::UnboundedReceiver<Write>) {
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
pub(super) async fn persist(inner: Arc<Inner>, mut rx: watch::Receiver<JobSnapshot>, ended: CancellationToken) {
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
