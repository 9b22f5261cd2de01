//! The jobs' public types: what is asked ([`JobRequest`], [`JobOwner`]),
//! how the manager works ([`JobSettings`], [`SpeedFloor`]) and what a job
//! looks like from outside ([`JobSnapshot`], [`FinishedFile`], [`JobFailure`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use contract::{Detail, ErrorCode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::download::DownloadOptions;
use crate::error::FailureKind;
use crate::native::{EngineKind, NativeEngine};
use crate::progress::{Phase, Progress};
use crate::quality::QualityId;
use crate::space::DiskLimits;
use crate::ytdlp::Probe;

/// A download that moves fewer than `min_speed` bytes a second over a whole
/// `window` is stopped: it would hold a slot for hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeedFloor {
    /// Bytes per second.
    pub min_speed: u64,
    /// How long the speed may stay below it.
    pub window: Duration,
}

/// How the manager works.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Where job directories are made.
    pub download_dir: PathBuf,
    /// Downloads running at once (default 3); more wait in a FIFO queue.
    pub max_concurrent: usize,
    /// The ffmpeg yt-dlp uses (`--ffmpeg-location`).
    pub ffmpeg: PathBuf,
    /// How long a finished job (and its file) is kept (default one hour).
    pub file_ttl: Duration,
    /// The native engine; without one every download runs yt-dlp's own
    /// downloader.
    pub native: Option<NativeEngine>,
    /// Downloads one client (`JobOwner::client`) may run at once; `None`
    /// means `max_concurrent`. Freed slots go round robin across clients.
    pub max_running_per_client: Option<usize>,
    /// Stops downloads that stay too slow; `None`: never.
    pub speed_floor: Option<SpeedFloor>,
    /// Disk limits checked when a job starts and while it writes.
    pub disk: DiskLimits,
}

impl JobSettings {
    /// The defaults: 3 at once, files kept for 3600 s.
    pub fn new(download_dir: impl Into<PathBuf>, ffmpeg: impl Into<PathBuf>) -> Self {
        JobSettings {
            download_dir: download_dir.into(),
            max_concurrent: 3,
            ffmpeg: ffmpeg.into(),
            file_ttl: Duration::from_secs(3600),
            native: None,
            max_running_per_client: None,
            speed_floor: None,
            disk: DiskLimits::default(),
        }
    }

    /// These settings with the native engine.
    pub fn with_native(mut self, native: NativeEngine) -> Self {
        self.native = Some(native);
        self
    }
}

/// Who asked for a job: the key that fair scheduling and per-client limits
/// use, and the login session that may see it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JobOwner {
    /// The client's address (or another stable key); empty for local use
    /// such as the CLI.
    pub client: String,
    /// The browser session id when login is on; `None` otherwise (and for
    /// bearer-token clients).
    pub session: Option<String>,
}

/// One download to do.
#[derive(Debug, Clone)]
pub struct JobRequest {
    /// The page URL.
    pub url: String,
    /// The quality picked.
    pub quality: QualityId,
    /// The probe from the preview; without one the job probes first.
    pub probe: Option<Arc<Probe>>,
    /// Audio format, clip, subtitles, tags.
    pub options: DownloadOptions,
    /// Who asked for it.
    pub owner: JobOwner,
}

/// Everything known about a job at one moment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobSnapshot {
    /// The job's id.
    pub id: Uuid,
    /// Goes up by one on every change.
    pub seq: u64,
    /// Where it stands (the same as `progress.phase`).
    pub phase: Phase,
    /// Overall progress; `percent` never decreases.
    pub progress: Progress,
    /// The video's title, once known.
    pub title: Option<String>,
    /// The quality asked for.
    pub quality: QualityId,
    /// The finished file, once completed.
    pub file: Option<FinishedFile>,
    /// Why it failed, when it did.
    pub error: Option<JobFailure>,
    /// Which engine moves the bytes, once the download has started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineKind>,
    /// When it was submitted (JSON: milliseconds since the Unix epoch).
    #[serde(with = "unix_millis")]
    pub created_at: SystemTime,
    /// When it completed, failed or was cancelled (JSON: milliseconds since
    /// the Unix epoch).
    #[serde(with = "unix_millis_opt")]
    pub finished_at: Option<SystemTime>,
    /// When it left the queue (JSON: milliseconds since the Unix epoch).
    #[serde(default, with = "unix_millis_opt", skip_serializing_if = "Option::is_none")]
    pub started_at: Option<SystemTime>,
    /// It was running when the server stopped and started again from the
    /// beginning after the restart.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restarted: bool,
}

/// The file a completed job produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishedFile {
    /// Where it is on the server. Never serialized: it must not reach a
    /// browser.
    #[serde(skip)]
    pub path: PathBuf,
    /// The name to offer the browser: the sanitized title plus extension.
    pub file_name: String,
    /// Size in bytes.
    pub size: u64,
}

/// Why a job failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFailure {
    /// The kind, when yt-dlp reported the failure.
    pub kind: Option<FailureKind>,
    /// A sentence a person understands, without server paths.
    pub message: String,
    /// Its stable name: every failure has one.
    pub code: ErrorCode,
    /// The figures its sentence names.
    pub detail: Detail,
}

/// What [`JobManager::resume`](super::JobManager::resume) took up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resumed {
    /// Completed, failed or cancelled jobs kept.
    pub finished: usize,
    /// Jobs queued again.
    pub queued: usize,
    /// Jobs that were running and start again.
    pub restarted: usize,
}

mod unix_millis {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        let ms = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        s.serialize_u64(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let ms = u64::deserialize(d)?;
        Ok(UNIX_EPOCH + Duration::from_millis(ms))
    }
}

mod unix_millis_opt {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::unix_millis::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
        let ms = Option::<u64>::deserialize(d)?;
        Ok(ms.map(|ms| UNIX_EPOCH + Duration::from_millis(ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn snapshot_json_has_no_server_path() {
        let s = JobSnapshot {
            id: Uuid::nil(),
            seq: 3,
            phase: Phase::Completed,
            progress: Progress::default(),
            title: Some("t".into()),
            quality: QualityId::P720,
            file: Some(FinishedFile {
                path: PathBuf::from("/srv/downloads/x/media.mp4"),
                file_name: "t.mp4".into(),
                size: 10,
            }),
            error: None,
            engine: None,
            created_at: SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            finished_at: None,
            started_at: None,
            restarted: false,
        };
        let json = serde_json::to_value(&s).unwrap_or_default();
        assert_eq!(json["phase"], "completed");
        assert_eq!(json["quality"], "720");
        assert_eq!(json["created_at"], 1_700_000_000_123u64);
        assert!(json["finished_at"].is_null());
        assert_eq!(json["file"]["file_name"], "t.mp4");
        assert!(!json.to_string().contains("/srv"), "{json}");
    }
}
