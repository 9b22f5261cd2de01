//! Disk limits that hold while jobs write: `DISK_QUOTA` (the most the
//! download directory may hold) and `MIN_FREE_DISK` (the free space that
//! must stay on its file system).
//!
//! The directory is walked once when a job starts (to pick up files of
//! finished jobs and anything else put there); between starts a running
//! total is kept: finished jobs' sizes, plus what each running job has on
//! disk now. Running jobs report their size several times a second, so a
//! job that crosses a line is stopped within one report of crossing it.
//!
//! A job whose exact size is known at start reserves it: the start is
//! refused when it does not fit, and while it writes within its
//! reservation it is never the one stopped. When the total goes over, the
//! job that is writing beyond its reservation (or without one) is stopped;
//! the others keep going.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use uuid::Uuid;

use crate::info::InfoJson;
use crate::quality::{choices, QualityId};

/// The limits; `None` turns one off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskLimits {
    /// The most the download directory may hold, in bytes.
    pub quota: Option<u64>,
    /// The least free space its file system must keep, in bytes.
    pub min_free: Option<u64>,
}

impl DiskLimits {
    /// True when neither limit is set.
    pub fn is_off(&self) -> bool {
        self.quota.is_none() && self.min_free.is_none()
    }
}

/// Which line a job would cross.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFull {
    /// The download directory would hold more than `limit`.
    Quota { limit: u64 },
    /// Less than `min_free` would stay free on the file system.
    FreeSpace { min_free: u64 },
}

/// The running total of the download directory.
#[derive(Debug)]
pub struct Space {
    root: PathBuf,
    limits: DiskLimits,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Bytes under the root outside running jobs' directories.
    settled: u64,
    running: HashMap<Uuid, Usage>,
    /// Bytes of stopped jobs whose directories are being removed: counted
    /// as free already, so one crossing stops one job, not every job that
    /// looks before the files are gone.
    releasing: u64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Usage {
    on_disk: u64,
    reserved: u64,
    /// Set once the job was stopped for space: it no longer counts.
    stopped: bool,
}

impl Usage {
    fn claim(&self) -> u64 {
        self.on_disk.max(self.reserved)
    }

    fn outstanding(&self) -> u64 {
        self.reserved.saturating_sub(self.on_disk)
    }
}

impl Space {
    /// Limits on `root` (the download directory).
    pub fn new(root: impl Into<PathBuf>, limits: DiskLimits) -> Space {
        Space { root: root.into(), limits, state: Mutex::new(State::default()) }
    }

    /// The limits in force.
    pub fn limits(&self) -> DiskLimits {
        self.limits
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change is a few additions on one entry; a poisoned lock
        // still holds consistent numbers.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A job starts: walks the directory, then admits the job when it (with
    /// `expected` bytes, if known) fits under both limits. An admitted job
    /// must end with [`finish`](Self::finish).
    pub async fn admit(&self, id: Uuid, expected: Option<u64>) -> Result<(), DiskFull> {
        if self.limits.is_off() {
            return Ok(());
        }
        // The walk only matters for the quota; free space is one statvfs.
        let sizes = match self.limits.quota {
            Some(_) => {
                let root = self.root.clone();
                tokio::task::spawn_blocking(move || top_level_sizes(&root)).await.unwrap_or_default()
            }
            None => Vec::new(),
        };
        let free = self.free_space().await;
        let expected = expected.unwrap_or(0);
        let mut state = self.lock();
        state.settled = sizes
            .iter()
            .filter(|(name, _)| Uuid::parse_str(name).map_or(true, |id| !state.running.contains_key(&id)))
            .map(|(_, size)| *size)
            .sum();
        if let Some(limit) = self.limits.quota {
            let used = state.settled + state.running.values().filter(|u| !u.stopped).map(Usage::claim).sum::<u64>();
            if used >= limit || used.saturating_add(expected) > limit {
                return Err(DiskFull::Quota { limit });
            }
        }
        if let (Some(min_free), Some(free)) = (self.limits.min_free, free) {
            let promised: u64 = state.running.values().filter(|u| !u.stopped).map(Usage::outstanding).sum();
            let left = (free + state.releasing).saturating_sub(promised).saturating_sub(expected);
            if left < min_free {
                return Err(DiskFull::FreeSpace { min_free });
            }
        }
        state.running.insert(id, Usage { on_disk: 0, reserved: expected, stopped: false });
        Ok(())
    }

    /// A running job has `on_disk` bytes now. `Err` when it is the one that
    /// breaks the quota (it writes beyond its reservation while the total is
    /// over); it no longer counts from then on. Cheap: no file system access.
    pub fn report(&self, id: Uuid, on_disk: u64) -> Result<(), DiskFull> {
        let Some(limit) = self.limits.quota else {
            if let Some(u) = self.lock().running.get_mut(&id) {
                u.on_disk = u.on_disk.max(on_disk);
            }
            return Ok(());
        };
        let mut state = self.lock();
        let Some(usage) = state.running.get_mut(&id) else { return Ok(()) };
        if usage.stopped {
            return Ok(());
        }
        usage.on_disk = on_disk;
        let beyond = usage.on_disk > usage.reserved;
        let used = state.settled + state.running.values().filter(|u| !u.stopped).map(Usage::claim).sum::<u64>();
        if used > limit && beyond {
            self.stop(&mut state, id);
            return Err(DiskFull::Quota { limit });
        }
        Ok(())
    }

    /// Like [`report`](Self::report) with the file system's free space
    /// looked up too (a statvfs call): for the once-a-second check.
    pub async fn check(&self, id: Uuid, on_disk: u64) -> Result<(), DiskFull> {
        self.report(id, on_disk)?;
        let Some(min_free) = self.limits.min_free else { return Ok(()) };
        let Some(free) = self.free_space().await else { return Ok(()) };
        let mut state = self.lock();
        let Some(usage) = state.running.get(&id).copied() else { return Ok(()) };
        if usage.stopped {
            return Ok(());
        }
        let promised: u64 = state.running.values().filter(|u| !u.stopped).map(Usage::outstanding).sum();
        let left = (free + state.releasing).saturating_sub(promised);
        if left < min_free && usage.on_disk >= usage.reserved {
            self.stop(&mut state, id);
            return Err(DiskFull::FreeSpace { min_free });
        }
        Ok(())
    }

    fn stop(&self, state: &mut State, id: Uuid) {
        if let Some(usage) = state.running.get_mut(&id) {
            usage.stopped = true;
            let bytes = usage.on_disk;
            state.releasing += bytes;
        }
    }

    /// The job has ended: `kept` is the size of what stays on disk (a
    /// completed file), `None` when its directory was removed.
    pub fn finish(&self, id: Uuid, kept: Option<u64>) {
        let mut state = self.lock();
        if let Some(usage) = state.running.remove(&id) {
            if usage.stopped {
                state.releasing = state.releasing.saturating_sub(usage.on_disk);
            }
        }
        if let Some(bytes) = kept {
            state.settled += bytes;
        }
    }

    /// A finished job's files of `bytes` were removed (by the reaper).
    pub fn forget(&self, bytes: u64) {
        let mut state = self.lock();
        state.settled = state.settled.saturating_sub(bytes);
    }

    /// What the running total says the directory holds now.
    pub fn used(&self) -> u64 {
        let state = self.lock();
        state.settled + state.running.values().filter(|u| !u.stopped).map(|u| u.on_disk).sum::<u64>()
    }

    async fn free_space(&self) -> Option<u64> {
        self.limits.min_free?;
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            crate::diagnostics::free_space(&root)
                .or_else(|e| root.parent().map_or(Err(e), crate::diagnostics::free_space))
                .ok()
        })
        .await
        .ok()
        .flatten()
    }
}

/// Bytes of the files in `dir` and below (job directories are shallow;
/// symlinks are not followed).
pub fn dir_size(dir: &Path) -> u64 {
    fn walk(path: &Path, depth: u32) -> u64 {
        let Ok(entries) = std::fs::read_dir(path) else { return 0 };
        entries
            .filter_map(Result::ok)
            .map(|entry| match entry.path().symlink_metadata() {
                Ok(m) if m.is_file() => m.len(),
                Ok(m) if m.is_dir() && depth < 4 => walk(&entry.path(), depth + 1),
                _ => 0,
            })
            .sum()
    }
    walk(dir, 0)
}

/// Each top-level entry of `root` with its size.
fn top_level_sizes(root: &Path) -> Vec<(String, u64)> {
    let Ok(entries) = std::fs::read_dir(root) else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let size = match entry.path().symlink_metadata() {
                Ok(m) if m.is_file() => m.len(),
                Ok(m) if m.is_dir() => dir_size(&entry.path()),
                _ => 0,
            };
            (name, size)
        })
        .collect()
}

/// The exact size of what `quality` downloads, when the site says so: the
/// `filesize` of every format its selector names. `None` for estimates, for
/// selectors with fallbacks (`bv*+ba/b`) and for a quality the video lacks.
pub fn known_size(info: &InfoJson, quality: QualityId) -> Option<u64> {
    let choice = choices(info).into_iter().find(|c| c.id == quality)?;
    if choice.extract_audio || choice.format.is_empty() || choice.format.contains(['/', '*', '[']) {
        return None;
    }
    let formats = info.formats();
    choice.format.split('+').try_fold(0u64, |sum, id| {
        let format = formats.iter().find(|f| f.format_id.as_deref() == Some(id))?;
        format.filesize.map(|size| sum.saturating_add(size))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[tokio::test]
    async fn a_known_size_that_does_not_fit_is_refused_at_start() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("old.mp4"), vec![0u8; 4000]).expect("write");
        let space = Space::new(dir.path(), DiskLimits { quota: Some(10_000), min_free: None });
        assert_eq!(space.admit(id(1), Some(5000)).await, Ok(()));
        assert_eq!(space.admit(id(2), Some(2000)).await, Err(DiskFull::Quota { limit: 10_000 }));
        // Within its reservation a job is never the one stopped.
        assert_eq!(space.report(id(1), 5000), Ok(()));
        let job = dir.path().join(id(1).to_string());
        std::fs::create_dir(&job).expect("job dir");
        std::fs::write(job.join("media.mp4"), vec![0u8; 5000]).expect("write");
        space.finish(id(1), Some(5000));
        assert_eq!(space.used(), 9000);
        assert_eq!(space.admit(id(3), Some(1000)).await, Ok(()));
        space.finish(id(3), None);
        std::fs::remove_dir_all(&job).expect("reaped");
        space.forget(5000);
        assert_eq!(space.used(), 4000);
    }

    #[tokio::test]
    async fn the_job_that_crosses_the_line_is_stopped_and_the_others_go_on() {
        let dir = tempfile::tempdir().expect("dir");
        let space = Space::new(dir.path(), DiskLimits { quota: Some(10_000), min_free: None });
        for n in 1..=3 {
            assert_eq!(space.admit(id(n), None).await, Ok(()));
        }
        assert_eq!(space.report(id(1), 4000), Ok(()));
        assert_eq!(space.report(id(2), 4000), Ok(()));
        assert_eq!(space.report(id(3), 2500), Err(DiskFull::Quota { limit: 10_000 }));
        // Its bytes no longer count, so the others are not stopped too.
        assert_eq!(space.report(id(1), 5000), Ok(()));
        assert_eq!(space.report(id(2), 5000), Ok(()));
        assert_eq!(space.report(id(2), 5001), Err(DiskFull::Quota { limit: 10_000 }));
        space.finish(id(3), None);
        space.finish(id(2), None);
        space.finish(id(1), Some(5000));
        assert_eq!(space.used(), 5000);
    }

    #[tokio::test]
    async fn min_free_space_refuses_at_start_and_stops_writers() {
        let dir = tempfile::tempdir().expect("dir");
        let space = Space::new(dir.path(), DiskLimits { quota: None, min_free: Some(u64::MAX / 2) });
        assert_eq!(space.admit(id(1), None).await, Err(DiskFull::FreeSpace { min_free: u64::MAX / 2 }));
        let space = Space::new(dir.path(), DiskLimits { quota: None, min_free: Some(1) });
        assert_eq!(space.admit(id(1), None).await, Ok(()));
        assert_eq!(space.check(id(1), 10).await, Ok(()));
        let off = Space::new(dir.path(), DiskLimits::default());
        assert_eq!(off.admit(id(9), Some(u64::MAX)).await, Ok(()));
    }

    #[test]
    fn known_size_only_for_exact_sizes() {
        let info: InfoJson = serde_json::from_value(serde_json::json!({
            "duration": 10.0,
            "formats": [
                {"format_id": "a", "acodec": "mp4a", "vcodec": "none", "filesize": 1000},
                {"format_id": "v", "acodec": "none", "vcodec": "avc1", "height": 720, "filesize": 9000},
                {"format_id": "w", "acodec": "none", "vcodec": "avc1", "height": 1080, "filesize_approx": 20000},
            ]
        }))
        .expect("info");
        assert_eq!(known_size(&info, QualityId::P720), Some(10_000));
        assert_eq!(known_size(&info, QualityId::P1080), None, "an estimate is not known");
        assert_eq!(known_size(&info, QualityId::Auto), None, "a selector with fallbacks");
        assert_eq!(known_size(&info, QualityId::Audio), Some(1000));
        assert_eq!(known_size(&info, QualityId::P360), None);
    }
}
