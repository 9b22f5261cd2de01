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
//! With a [`JobStore`](crate::store::JobStore) ([`JobManager::with_store`])
//! every job is written down as it changes, so a new process picks up where
//! the old one stopped ([`JobManager::resume`]): finished jobs keep their ids
//! and files, queued ones queue again in order, running ones start again from
//! the beginning. Shutdown then stops work without marking jobs cancelled.
//!
//! The parts: `types` (what is asked and what a job looks like), the
//! manager and its queue (`manager`), running one job (`worker`) and the
//! watcher beside it (`watch`), what a failure reads like (`failure`),
//! writing jobs down (`persist`), picking up after a restart (`resume`)
//! and the reaper (`reaper`).

mod failure;
mod manager;
mod persist;
mod reaper;
mod resume;
mod types;
mod watch;
mod worker;

use std::time::Duration;

pub use manager::{queued_snapshot, title_of, JobManager};
pub use types::{FinishedFile, JobFailure, JobOwner, JobRequest, JobSettings, JobSnapshot, Resumed, SpeedFloor};

/// The file that marks a directory as a Kachay job's, so that
/// [`JobManager::clean_leftovers`] never touches anything else.
pub const MARKER_FILE: &str = ".kachay-job";
/// How often [`JobManager::spawn_reaper`] looks for expired jobs.
pub const DEFAULT_REAP_INTERVAL: Duration = Duration::from_secs(30);
