//! The downloads as the routes see them, wherever they run: in this process
//! ([`Jobs::Local`], the single embedded server), or on a cluster's workers
//! through Redis ([`Jobs::Cluster`], with `REDIS_URL`).

use crate::cluster::queue::{self, Cancelled};
use crate::cluster::store::RedisStore;
use crate::cluster::Unavailable;
use crate::error::ApiError;
use engine::jobs::{queued_snapshot, title_of, JobManager, JobRequest, JobSnapshot};
use engine::space::DiskLimits;
use engine::store::{JobRecord, JobStore, StoredRequest};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::watch;
use uuid::Uuid;

#[derive(Clone)]
pub enum Jobs {
    Local(JobManager),
    Cluster(Arc<RedisStore>),
}

fn unavailable(e: Unavailable) -> ApiError {
    tracing::warn!(error = %e, "downloads unavailable: Redis does not answer");
    ApiError::SharedStateUnavailable
}

impl Jobs {
    /// Queues a download; its id.
    pub async fn submit(&self, request: JobRequest) -> Result<Uuid, ApiError> {
        match self {
            Jobs::Local(jobs) => {
                let id = jobs.submit(request);
                // Written down before the id is handed out.
                jobs.flush().await;
                Ok(id)
            }
            Jobs::Cluster(store) => {
                let id = Uuid::new_v4();
                let title = request.probe.as_ref().and_then(|p| title_of(p));
                let snapshot = queued_snapshot(id, title, request.quality, SystemTime::now());
                let client = request.owner.client.clone();
                let record = JobRecord {
                    request: StoredRequest {
                        url: request.url,
                        quality: request.quality,
                        options: request.options.clone(),
                        owner: request.owner,
                    },
                    snapshot,
                };
                let probe = request.probe.as_ref().map(|p| Arc::clone(&p.raw));
                store.insert(record, probe).await.map_err(|e| unavailable(Unavailable(e.to_string())))?;
                queue::enqueue(store, id, &client).await.map_err(unavailable)?;
                tracing::info!(%id, "download queued for the workers");
                Ok(id)
            }
        }
    }

    /// The job's state; `None` for an unknown (or expired) id.
    pub async fn snapshot(&self, id: Uuid) -> Result<Option<JobSnapshot>, ApiError> {
        match self {
            Jobs::Local(jobs) => Ok(jobs.snapshot(id)),
            Jobs::Cluster(store) => store.snapshot(id).await.map_err(unavailable),
        }
    }

    /// The job's state now and every change after.
    pub async fn subscribe(&self, id: Uuid) -> Result<Option<watch::Receiver<JobSnapshot>>, ApiError> {
        match self {
            Jobs::Local(jobs) => Ok(jobs.subscribe(id)),
            Jobs::Cluster(store) => crate::cluster::follow::follow(Arc::clone(store), id).await.map_err(unavailable),
        }
    }

    /// Cancels a queued or running job; `false` when it is unknown or has
    /// finished.
    pub async fn cancel(&self, id: Uuid) -> Result<bool, ApiError> {
        match self {
            Jobs::Local(jobs) => Ok(jobs.cancel(id)),
            Jobs::Cluster(store) => {
                let Some(current) = store.snapshot(id).await.map_err(unavailable)? else {
                    return Ok(false);
                };
                if current.phase.is_finished() {
                    return Ok(false);
                }
                Ok(queue::cancel(store, &current).await.map_err(unavailable)? != Cancelled::Unknown)
            }
        }
    }

    /// The freshest state of a listed job: a local job's live one, else the
    /// record's.
    pub fn freshest(&self, recorded: JobSnapshot) -> JobSnapshot {
        match self {
            Jobs::Local(jobs) => jobs.snapshot(recorded.id).unwrap_or(recorded),
            Jobs::Cluster(_) => recorded,
        }
    }

    /// The disk limits downloads are held to.
    pub fn disk_limits(&self, configured: DiskLimits) -> DiskLimits {
        match self {
            Jobs::Local(jobs) => jobs.settings().disk,
            Jobs::Cluster(_) => configured,
        }
    }
}
