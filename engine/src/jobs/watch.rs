//! The watcher beside a running download: it stops the download when the
//! disk limits are crossed or the speed stays below the floor.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::manager::Inner;
use super::types::SpeedFloor;
use crate::error::EngineError;
use crate::space::DiskFull;

/// How often a running job's directory, the free space and the speed are
/// looked at (progress reports check the quota in between).
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// What a running job's watcher and its progress reports share.
pub(super) struct Watch {
    pub(super) id: Uuid,
    pub(super) stop: Stopper,
    pub(super) meter: Meter,
}

/// Stops a download for a reason of the server's own (not a user's cancel).
pub(super) struct Stopper {
    /// A child of the job's token: the engines see an ordinary cancel.
    pub(super) token: CancellationToken,
    pub(super) reason: OnceLock<StopReason>,
}

impl Stopper {
    pub(super) fn stop(&self, reason: StopReason) {
        if self.reason.set(reason).is_ok() {
            self.token.cancel();
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) enum StopReason {
    Disk(DiskFull),
    Slow(SpeedFloor),
}

impl StopReason {
    pub(super) fn to_error(self) -> EngineError {
        match self {
            StopReason::Disk(full) => EngineError::DiskFull(full),
            StopReason::Slow(floor) => EngineError::TooSlow { min_speed: floor.min_speed, window: floor.window },
        }
    }
}

/// The latest figures of a running download.
#[derive(Default)]
pub(super) struct Meter {
    /// Bytes fetched, as the last progress report said.
    pub(super) fetched: AtomicU64,
    /// Bytes in the job's directory at the last look.
    pub(super) on_disk: AtomicU64,
    /// Set by the engine's first progress report: the speed clock starts.
    pub(super) active: AtomicBool,
    /// False while merging or post-processing: no bytes move then.
    pub(super) fetching: AtomicBool,
    /// Set once the engine reports merging (or cutting, tagging, converting).
    pub(super) merging: AtomicBool,
}

impl Meter {
    /// What the job holds on disk, or is about to: from the merge on, the
    /// fetched bytes twice. ffmpeg writes its copy at disk speed, far
    /// faster than the once-a-second look at the directory, so the copy is
    /// counted before it is written: a merge that would cross the quota is
    /// stopped before it starts, not after.
    pub(super) fn bytes_on_disk(&self) -> u64 {
        let fetched = self.fetched.load(Ordering::Relaxed);
        let fetched = if self.merging.load(Ordering::Relaxed) { fetched.saturating_mul(2) } else { fetched };
        fetched.max(self.on_disk.load(Ordering::Relaxed))
    }
}

/// Once a second: the job's directory against the disk limits, and the
/// speed against the floor. Returns after it has stopped the job (never
/// when all is well).
pub(super) async fn watch_job(inner: &Inner, watch: &Watch, dir: &Path) {
    let limits = inner.settings.disk;
    let floor = inner.settings.speed_floor;
    if limits.is_off() && floor.is_none() {
        return std::future::pending().await;
    }
    let mut ticker = tokio::time::interval(WATCH_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // (when, bytes fetched) once a tick while fetching: the oldest one at
    // least a window back is the baseline.
    let mut samples: VecDeque<(Instant, u64)> = VecDeque::new();
    loop {
        ticker.tick().await;
        if !limits.is_off() {
            // The directory holds more than the progress says while
            // merging (the inputs and the output at once).
            if limits.quota.is_some() {
                let path = dir.to_owned();
                let size = tokio::task::spawn_blocking(move || crate::space::dir_size(&path)).await.unwrap_or(0);
                watch.meter.on_disk.store(size, Ordering::Relaxed);
            }
            if let Err(full) = inner.space.check(watch.id, watch.meter.bytes_on_disk()).await {
                tracing::warn!(id = %watch.id, ?full, "stopping a download: disk limit");
                watch.stop.stop(StopReason::Disk(full));
                return;
            }
        }
        let Some(floor) = floor else { continue };
        let meter = &watch.meter;
        if !(meter.active.load(Ordering::Relaxed) && meter.fetching.load(Ordering::Relaxed)) {
            samples.clear();
            continue;
        }
        let now = Instant::now();
        let fetched = meter.fetched.load(Ordering::Relaxed);
        samples.push_back((now, fetched));
        while samples.len() >= 2 && samples.get(1).is_some_and(|s| now.duration_since(s.0) >= floor.window) {
            samples.pop_front();
        }
        let Some(&(since, base)) = samples.front() else { continue };
        let elapsed = now.duration_since(since);
        if elapsed >= floor.window && !floor.window.is_zero() {
            let speed = fetched.saturating_sub(base) as f64 / elapsed.as_secs_f64();
            if speed < floor.min_speed as f64 {
                tracing::warn!(id = %watch.id, speed, min = floor.min_speed, "stopping a download: too slow");
                watch.stop.stop(StopReason::Slow(floor));
                return;
            }
        }
    }
}
