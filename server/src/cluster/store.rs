//! Job records in Redis, for every node to read: the [`JobStore`] of a
//! cluster, written by the web node that takes a download and by the worker
//! that runs it.
//!
//! Keys (all under `kachay:`):
//! - `job:<id>`, a hash: `request` (what was asked, JSON), `snapshot` (the
//!   latest state, JSON), `file` (the finished file, relative to
//!   `DOWNLOAD_DIR`), `probe` (yt-dlp's answer), `worker` (who runs it),
//!   `cancel` (asked to stop). It expires a while after the job finished.
//! - `jobs`, `owner:client:<address>`, `owner:session:<id>`: sorted sets of
//!   ids by creation time, for listings (entries whose job expired are
//!   skipped and dropped as they are met).
//! - `unfinished`, `unfinished:<address>`: sets of ids, for the limits.

use super::{Redis, Unavailable};
use engine::download::{AudioFormat, DownloadOptions};
use engine::jobs::{JobOwner, JobSnapshot};
use engine::store::{
    JobRecord, JobStore, LoadedJob, OwnerFilter, StoreError, StoreFuture, StoredRequest, UnfinishedCounts,
};
use engine::QualityId;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use uuid::Uuid;

/// How long a finished job's record stays after its file is gone.
const RECORD_GRACE_SECS: u64 = 3600;

pub fn job_key(id: Uuid) -> String {
    format!("kachay:job:{id}")
}

fn client_key(client: &str) -> String {
    format!("kachay:owner:client:{client}")
}

fn session_key(session: &str) -> String {
    format!("kachay:owner:session:{session}")
}

fn unfinished_key(client: &str) -> String {
    format!("kachay:unfinished:{client}")
}

/// [`StoredRequest`] as it travels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireRequest {
    pub url: String,
    pub quality: QualityId,
    /// Read by workers from before the options; they take no others.
    pub audio_format: AudioFormat,
    #[serde(default)]
    pub options: DownloadOptions,
    pub owner: JobOwner,
}

impl From<&StoredRequest> for WireRequest {
    fn from(r: &StoredRequest) -> Self {
        WireRequest {
            url: r.url.clone(),
            quality: r.quality,
            audio_format: r.options.audio_format,
            options: r.options.clone(),
            owner: r.owner.clone(),
        }
    }
}

impl From<WireRequest> for StoredRequest {
    fn from(r: WireRequest) -> Self {
        StoredRequest { url: r.url, quality: r.quality, options: r.options, owner: r.owner }
    }
}

fn millis(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_millis() as f64)
}

fn backend(e: Unavailable) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// The records of a cluster.
pub struct RedisStore {
    redis: Arc<Redis>,
    download_dir: PathBuf,
    file_ttl_secs: u64,
}

impl RedisStore {
    pub fn new(redis: Arc<Redis>, download_dir: PathBuf, file_ttl_secs: u64) -> RedisStore {
        RedisStore { redis, download_dir, file_ttl_secs }
    }

    pub fn redis(&self) -> &Arc<Redis> {
        &self.redis
    }

    /// Fields of job `id`'s record, in the order asked (`None`: not there).
    async fn fields<const N: usize>(
        &self,
        id: Uuid,
        names: [&'static str; N],
    ) -> Result<[Option<String>; N], Unavailable> {
        let key = job_key(id);
        let values: Vec<Option<String>> = self
            .redis
            .run(|mut c| async move { redis::cmd("HMGET").arg(key).arg(&names[..]).query_async(&mut c).await })
            .await?;
        values.try_into().map_err(|_| Unavailable("Redis answered HMGET with the wrong number of fields".into()))
    }

    /// A job's state, with its file's place on this node; `None` for an
    /// unknown (or expired) id.
    pub async fn snapshot(&self, id: Uuid) -> Result<Option<JobSnapshot>, Unavailable> {
        let [snapshot, file] = self.fields(id, ["snapshot", "file"]).await?;
        Ok(snapshot.and_then(|json| self.read_snapshot(&json, file.as_deref())))
    }

    /// `json` with the finished file's path put back (it never travels: it
    /// is `DOWNLOAD_DIR` of this node joined with the relative `file`).
    pub fn read_snapshot(&self, json: &str, file: Option<&str>) -> Option<JobSnapshot> {
        let mut snapshot: JobSnapshot = serde_json::from_str(json).ok()?;
        if let (Some(finished), Some(relative)) = (snapshot.file.as_mut(), file.and_then(safe_relative)) {
            finished.path = self.download_dir.join(relative);
        }
        Some(snapshot)
    }

    /// The request and probe of a queued job.
    pub async fn request(&self, id: Uuid) -> Result<Option<(StoredRequest, Option<String>)>, Unavailable> {
        let [request, probe] = self.fields(id, ["request", "probe"]).await?;
        Ok(request.and_then(|r| serde_json::from_str::<WireRequest>(&r).ok()).map(|r| (r.into(), probe)))
    }

    /// Whether a node asked for the job to stop.
    pub async fn cancel_asked(&self, id: Uuid) -> Result<bool, Unavailable> {
        let key = job_key(id);
        let asked: Option<String> = self
            .redis
            .run(|mut c| async move { redis::cmd("HGET").arg(key).arg("cancel").query_async(&mut c).await })
            .await?;
        Ok(asked.is_some())
    }

    /// Writes a job's state (and its file, relative to `DOWNLOAD_DIR`); a
    /// finished job leaves the unfinished sets and its record expires after
    /// the file's time and a grace.
    pub async fn write_snapshot(&self, snapshot: &JobSnapshot, client: &str) -> Result<(), Unavailable> {
        let key = job_key(snapshot.id);
        let json = serde_json::to_string(snapshot).map_err(|e| Unavailable(e.to_string()))?;
        let file = snapshot
            .file
            .as_ref()
            .and_then(|f| f.path.strip_prefix(&self.download_dir).ok())
            .map(|p| p.to_string_lossy().into_owned());
        let finished = snapshot.phase.is_finished();
        let id = snapshot.id.to_string();
        let (client, ttl) = (unfinished_key(client), self.file_ttl_secs + RECORD_GRACE_SECS);
        self.redis
            .run(|mut c| async move {
                let mut pipe = redis::pipe();
                pipe.atomic().hset(&key, "snapshot", json).ignore();
                if let Some(file) = file {
                    pipe.hset(&key, "file", file).ignore();
                }
                if finished {
                    pipe.srem("kachay:unfinished", &id).ignore();
                    pipe.srem(&client, &id).ignore();
                    pipe.expire(&key, i64::try_from(ttl).unwrap_or(i64::MAX)).ignore();
                }
                pipe.query_async::<()>(&mut c).await
            })
            .await
    }

    async fn ids(&self, key: String, before: Option<Uuid>, limit: usize) -> Result<Vec<Uuid>, Unavailable> {
        self.redis
            .run(|mut c| async move {
                let max = match before {
                    Some(before) => match c.zscore::<_, _, Option<f64>>(&key, before.to_string()).await? {
                        // Strictly older than the cursor.
                        Some(score) => format!("({score}"),
                        None => return Ok(Vec::new()),
                    },
                    None => "+inf".to_owned(),
                };
                let ids: Vec<String> = redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(max)
                    .arg("-inf")
                    .arg("BYSCORE")
                    .arg("REV")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(limit)
                    .query_async(&mut c)
                    .await?;
                Ok(ids.iter().filter_map(|id| Uuid::parse_str(id).ok()).collect())
            })
            .await
    }
}

/// `relative` when it stays inside the directory it is joined to.
fn safe_relative(relative: &str) -> Option<&Path> {
    let path = Path::new(relative);
    path.components().all(|c| matches!(c, Component::Normal(_))).then_some(path)
}

impl JobStore for RedisStore {
    fn insert(&self, record: JobRecord, probe: Option<Arc<str>>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let id = record.snapshot.id;
            let key = job_key(id);
            let request = serde_json::to_string(&WireRequest::from(&record.request))
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            let snapshot = serde_json::to_string(&record.snapshot).map_err(|e| StoreError::Backend(e.to_string()))?;
            let score = millis(record.snapshot.created_at);
            let owner = record.request.owner.clone();
            self.redis
                .run(|mut c| async move {
                    let mut pipe = redis::pipe();
                    pipe.atomic().hset_multiple(&key, &[("request", request), ("snapshot", snapshot)]).ignore();
                    if let Some(probe) = probe {
                        pipe.hset(&key, "probe", &*probe).ignore();
                    }
                    let member = id.to_string();
                    pipe.zadd("kachay:jobs", &member, score).ignore();
                    pipe.zadd(client_key(&owner.client), &member, score).ignore();
                    if let Some(session) = &owner.session {
                        pipe.zadd(session_key(session), &member, score).ignore();
                    }
                    pipe.sadd("kachay:unfinished", &member).ignore();
                    pipe.sadd(unfinished_key(&owner.client), &member).ignore();
                    pipe.query_async::<()>(&mut c).await
                })
                .await
                .map_err(backend)
        })
    }

    fn update(&self, snapshot: JobSnapshot, _expires_at: Option<SystemTime>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let client = match self.request(snapshot.id).await.map_err(backend)? {
                Some((request, _)) => request.owner.client,
                None => return Ok(()),
            };
            self.write_snapshot(&snapshot, &client).await.map_err(backend)
        })
    }

    fn remove(&self, ids: Vec<Uuid>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let keys: Vec<String> = ids.iter().map(|id| job_key(*id)).collect();
            if keys.is_empty() {
                return Ok(());
            }
            self.redis.run(|mut c| async move { c.del::<_, ()>(keys).await }).await.map_err(backend)
        })
    }

    /// A cluster's jobs are taken up by its workers from the queue, not by a
    /// node at start.
    fn load(&self) -> StoreFuture<'_, Vec<LoadedJob>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn list(&self, owner: OwnerFilter, before: Option<Uuid>, limit: usize) -> StoreFuture<'_, Vec<JobRecord>> {
        Box::pin(async move {
            let key = match &owner {
                OwnerFilter::All => "kachay:jobs".to_owned(),
                OwnerFilter::Client(client) => client_key(client),
                OwnerFilter::Session(session) => session_key(session),
            };
            let ids = self.ids(key.clone(), before, limit).await.map_err(backend)?;
            let mut records = Vec::with_capacity(ids.len());
            let mut gone = Vec::new();
            for id in ids {
                let [request, snapshot, file] =
                    self.fields(id, ["request", "snapshot", "file"]).await.map_err(backend)?;
                let request = request.and_then(|r| serde_json::from_str::<WireRequest>(&r).ok());
                let snapshot = snapshot.and_then(|s| self.read_snapshot(&s, file.as_deref()));
                match (request, snapshot) {
                    (Some(request), Some(snapshot)) => records.push(JobRecord { request: request.into(), snapshot }),
                    _ => gone.push(id.to_string()),
                }
            }
            if !gone.is_empty() {
                let _ = self.redis.run(|mut c| async move { c.zrem::<_, _, ()>(key, gone).await }).await;
            }
            Ok(records)
        })
    }

    fn owner(&self, id: Uuid) -> StoreFuture<'_, Option<JobOwner>> {
        Box::pin(async move { Ok(self.request(id).await.map_err(backend)?.map(|(request, _)| request.owner)) })
    }

    fn unfinished(&self, client: String) -> StoreFuture<'_, UnfinishedCounts> {
        Box::pin(async move {
            let key = unfinished_key(&client);
            let (mine, total): (usize, usize) =
                self.redis
                    .run(|mut c| async move {
                        redis::pipe().scard(key).scard("kachay:unfinished").query_async(&mut c).await
                    })
                    .await
                    .map_err(backend)?;
            Ok(UnfinishedCounts { client: mine, total })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_never_leaves_the_download_directory() {
        assert!(safe_relative("1b4e/video.mp4").is_some());
        assert!(safe_relative("../etc/passwd").is_none());
        assert!(safe_relative("/etc/passwd").is_none());
        assert!(safe_relative("a/../../b").is_none());
    }
}
