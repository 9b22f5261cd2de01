//! Following a job another node runs: its state from the record, then each
//! change its worker publishes, as the same `watch` channel a local job
//! gives, so the event stream reads both alike.

use super::queue::events_channel;
use super::store::RedisStore;
use super::Unavailable;
use engine::jobs::JobSnapshot;
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

/// The record is read again this often as well: a message missed while the
/// subscription reconnected is then only late, not lost.
const REREAD: Duration = Duration::from_secs(3);

/// The job's state now and every change after, until it finishes or the
/// receiver is dropped; `None` for an unknown id.
pub async fn follow(store: Arc<RedisStore>, id: Uuid) -> Result<Option<watch::Receiver<JobSnapshot>>, Unavailable> {
    // Subscribe first, then read: a change between the two is not missed.
    let mut pubsub = store.redis().pubsub().await?;
    pubsub.subscribe(events_channel(id)).await?;
    let Some(current) = store.snapshot(id).await? else {
        return Ok(None);
    };
    let (tx, rx) = watch::channel(current);
    tokio::spawn(async move {
        let mut messages = pubsub.into_on_message();
        let mut reread = tokio::time::interval(REREAD);
        reread.tick().await;
        loop {
            if tx.borrow().phase.is_finished() {
                break;
            }
            let next = tokio::select! {
                () = tx.closed() => break,
                message = messages.next() => match message {
                    Some(message) => message.get_payload::<String>().ok().and_then(|json| store.read_snapshot(&json, None)),
                    // The subscription is gone: the record still tells.
                    None => {
                        tokio::time::sleep(REREAD).await;
                        store.snapshot(id).await.ok().flatten()
                    }
                },
                _ = reread.tick() => store.snapshot(id).await.ok().flatten(),
            };
            if let Some(next) = next {
                tx.send_if_modified(|seen| {
                    let newer = next.seq > seen.seq;
                    if newer {
                        *seen = next;
                    }
                    newer
                });
            }
        }
    });
    Ok(Some(rx))
}
