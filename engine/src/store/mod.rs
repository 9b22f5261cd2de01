//! Where jobs outlive the process: a small trait the [`JobManager`] writes
//! every state change to and reads back at start, and its SQLite
//! implementation ([`SqliteStore`], the embedded default).
//!
//! The trait is deliberately narrow and async (boxed futures, so it stays
//! object-safe): a Redis-backed store for a distributed setup implements the
//! same seven calls. The manager calls it from one writer task, in order, so
//! a store needs no ordering of its own.
//!
//! [`JobManager`]: crate::jobs::JobManager

mod sqlite;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use uuid::Uuid;

use crate::download::DownloadOptions;
use crate::jobs::{JobOwner, JobSnapshot};
use crate::quality::QualityId;

pub use sqlite::{SqliteStore, SCHEMA_VERSION};

/// What a store call returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// One job as stored: what was asked, by whom, and where it stands.
#[derive(Debug, Clone)]
pub struct JobRecord {
    /// What was asked for and by whom; fixed at submit.
    pub request: StoredRequest,
    /// The latest state written (progress at most about once a second).
    pub snapshot: JobSnapshot,
}

/// The parts of a [`JobRequest`](crate::jobs::JobRequest) that are kept.
#[derive(Debug, Clone)]
pub struct StoredRequest {
    /// The page URL.
    pub url: String,
    /// The quality picked.
    pub quality: QualityId,
    /// Audio format, clip, subtitles, tags.
    pub options: DownloadOptions,
    /// Who asked.
    pub owner: JobOwner,
}

/// A record read back at start, with the probe saved at submit.
#[derive(Debug, Clone)]
pub struct LoadedJob {
    /// The record.
    pub record: JobRecord,
    /// yt-dlp's `-J` answer exactly as it was printed, when the job had one.
    pub probe: Option<Arc<str>>,
}

/// Whose jobs a listing shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerFilter {
    /// Every job (a bearer-token client with login on).
    All,
    /// Jobs of one client address (login off).
    Client(String),
    /// Jobs of one login session.
    Session(String),
}

/// Unfinished jobs (queued, downloading, merging), as the limits count them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnfinishedCounts {
    /// Of the client asked about.
    pub client: usize,
    /// Of everyone.
    pub total: usize,
}

/// The job store behind the [`JobManager`](crate::jobs::JobManager).
pub trait JobStore: Send + Sync + 'static {
    /// Adds a job just submitted, with its probe.
    fn insert(&self, record: JobRecord, probe: Option<Arc<str>>) -> StoreFuture<'_, ()>;
    /// Writes a job's new state; `expires_at` is when the reaper may remove
    /// it (finished jobs only).
    fn update(&self, snapshot: JobSnapshot, expires_at: Option<SystemTime>) -> StoreFuture<'_, ()>;
    /// Forgets jobs (the reaper has removed their files).
    fn remove(&self, ids: Vec<Uuid>) -> StoreFuture<'_, ()>;
    /// Every job, oldest first.
    fn load(&self) -> StoreFuture<'_, Vec<LoadedJob>>;
    /// Jobs of `owner`, newest first: at most `limit`, older than the job
    /// `before` when given (an unknown `before` gives an empty page).
    fn list(&self, owner: OwnerFilter, before: Option<Uuid>, limit: usize) -> StoreFuture<'_, Vec<JobRecord>>;
    /// Who asked for job `id`; `None` for an unknown id.
    fn owner(&self, id: Uuid) -> StoreFuture<'_, Option<JobOwner>>;
    /// Unfinished jobs of `client` and of everyone.
    fn unfinished(&self, client: String) -> StoreFuture<'_, UnfinishedCounts>;
}

/// Why the store cannot be used. The sentences name the file, so an
/// operator knows what to move aside or fix.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file (or its directory) cannot be opened or created.
    #[error("The job database {} cannot be opened: {reason}.", path.display())]
    Open { path: PathBuf, reason: String },
    /// The file is not a SQLite database, or is damaged.
    #[error(
        "The job database {} is damaged or not a database ({reason}). Move it aside to start with an empty history, or restore a backup.",
        path.display()
    )]
    Corrupt { path: PathBuf, reason: String },
    /// A newer Kachay made this file; it is left untouched.
    #[error(
        "The job database {} has schema version {found}, newer than this Kachay knows ({known}). Run the newer Kachay, or move the file aside; it was not changed.",
        path.display()
    )]
    NewerSchema { path: PathBuf, found: i64, known: i64 },
    /// A read or write failed while running.
    #[error("The job database failed: {0}.")]
    Backend(String),
}
