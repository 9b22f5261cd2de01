//! The embedded job store: one SQLite file (rusqlite with SQLite compiled in,
//! so a fresh machine needs no system library).
//!
//! Every call is one statement or one transaction on a single connection in
//! WAL mode, run on Tokio's blocking pool. `synchronous=NORMAL` in WAL mode
//! keeps every committed write through a crash of the process (`kill -9`);
//! only a power cut can lose the last commits, never corrupt the file.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, Row};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use super::{JobRecord, JobStore, LoadedJob, OwnerFilter, StoreError, StoreFuture, StoredRequest, UnfinishedCounts};
use crate::download::{AudioFormat, DownloadOptions};
use crate::jobs::{FinishedFile, JobFailure, JobOwner, JobSnapshot};
use crate::progress::{Phase, Progress};

/// The schema this code reads and writes (`PRAGMA user_version`). A file
/// with a higher number was written by a newer Kachay and is refused.
pub const SCHEMA_VERSION: i64 = 3;

const SCHEMA_V1: &str = "
CREATE TABLE jobs (
    n             INTEGER PRIMARY KEY AUTOINCREMENT, -- submission order
    id            TEXT NOT NULL UNIQUE,
    client        TEXT NOT NULL,
    session       TEXT,
    url           TEXT NOT NULL,
    quality       TEXT NOT NULL,
    audio_format  TEXT NOT NULL,
    probe         TEXT,
    phase         TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    progress      TEXT NOT NULL,
    title         TEXT,
    engine        TEXT,
    error_kind    TEXT,
    error_message TEXT,
    file_name     TEXT,
    file_size     INTEGER,
    file_path     BLOB,
    restarted     INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    started_at    INTEGER,
    finished_at   INTEGER,
    expires_at    INTEGER
);
CREATE INDEX jobs_by_client ON jobs (client, n);
CREATE INDEX jobs_by_session ON jobs (session, n);
CREATE INDEX jobs_by_phase ON jobs (phase);
";

/// Version 2: every failure's stable code and the figures of its sentence
/// (version 1 kept only yt-dlp's kind, so timeouts and limits had none).
const SCHEMA_V2: &str = "
ALTER TABLE jobs ADD COLUMN error_code TEXT;
ALTER TABLE jobs ADD COLUMN error_detail TEXT;
";

/// Version 3: the download's options (clip, subtitles, tags, audio
/// bitrate) as JSON; `audio_format` is still written for older readers.
const SCHEMA_V3: &str = "
ALTER TABLE jobs ADD COLUMN options TEXT;
";

/// Phases that still hold a place in the limits.
const UNFINISHED: &str = "('queued', 'downloading', 'merging')";

const COLUMNS: &str = "id, client, session, url, quality, audio_format, phase, seq, progress, title, engine, \
     error_kind, error_message, file_name, file_size, file_path, restarted, created_at, started_at, finished_at, \
     error_code, error_detail, options";

/// The SQLite job store. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish()
    }
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`, creating its directory.
    /// A damaged file, or one from a newer schema, is refused untouched.
    pub fn open(path: impl Into<PathBuf>) -> Result<SqliteStore, StoreError> {
        let path = path.into();
        let open_err = |reason: String| StoreError::Open { path: path.clone(), reason };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| open_err(e.to_string()))?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).map_err(|e| open_err(e.to_string()))?;
        let classify = |e: rusqlite::Error| match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
                StoreError::Corrupt { path: path.clone(), reason: e.to_string() }
            }
            _ => StoreError::Open { path: path.clone(), reason: e.to_string() },
        };
        conn.busy_timeout(Duration::from_secs(5)).map_err(classify)?;
        // Reading the header first: a file that is not a database fails here.
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(classify)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema { path, found: version, known: SCHEMA_VERSION });
        }
        let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0)).map_err(classify)?;
        if check != "ok" {
            return Err(StoreError::Corrupt { path, reason: check });
        }
        conn.pragma_update(None, "journal_mode", "WAL").map_err(classify)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(classify)?;
        if version < 1 {
            conn.execute_batch(&format!("BEGIN; {SCHEMA_V1} PRAGMA user_version = 1; COMMIT;")).map_err(classify)?;
            tracing::info!(path = %path.display(), "created the job database");
        }
        if version < 2 {
            conn.execute_batch(&format!("BEGIN; {SCHEMA_V2} PRAGMA user_version = 2; COMMIT;")).map_err(classify)?;
            if version == 1 {
                tracing::info!(path = %path.display(), "upgraded the job database to version 2");
            }
        }
        if version < 3 {
            conn.execute_batch(&format!("BEGIN; {SCHEMA_V3} PRAGMA user_version = 3; COMMIT;")).map_err(classify)?;
            if version >= 1 {
                tracing::info!(path = %path.display(), "upgraded the job database to version 3");
            }
        }
        Ok(SqliteStore { conn: Arc::new(Mutex::new(conn)), path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` on the connection on the blocking pool.
    fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreFuture<'_, T> {
        let conn = Arc::clone(&self.conn);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                // Every change is one transaction, so a panic elsewhere
                // cannot leave the connection half-written.
                let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
                work(&mut conn)
            })
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?
            .map_err(|e| StoreError::Backend(e.to_string()))
        })
    }
}

impl JobStore for SqliteStore {
    fn insert(&self, record: JobRecord, probe: Option<Arc<str>>) -> StoreFuture<'_, ()> {
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let r = &record.request;
            tx.execute(
                "INSERT INTO jobs (id, client, session, url, quality, audio_format, probe, phase, seq, progress, created_at, options)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', 0, '{}', ?8, ?9)",
                params![
                    record.snapshot.id.to_string(),
                    r.owner.client,
                    r.owner.session,
                    r.url,
                    r.quality.as_str(),
                    r.options.audio_format.as_str(),
                    probe.as_deref(),
                    millis(record.snapshot.created_at),
                    serde_json::to_string(&r.options).ok(),
                ],
            )?;
            write_state(&tx, &record.snapshot, None)?;
            tx.commit()
        })
    }

    fn update(&self, snapshot: JobSnapshot, expires_at: Option<SystemTime>) -> StoreFuture<'_, ()> {
        self.run(move |conn| {
            let tx = conn.transaction()?;
            write_state(&tx, &snapshot, expires_at)?;
            tx.commit()
        })
    }

    fn remove(&self, ids: Vec<Uuid>) -> StoreFuture<'_, ()> {
        self.run(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut delete = tx.prepare_cached("DELETE FROM jobs WHERE id = ?1")?;
                for id in &ids {
                    delete.execute([id.to_string()])?;
                }
            }
            tx.commit()
        })
    }

    fn load(&self) -> StoreFuture<'_, Vec<LoadedJob>> {
        self.run(|conn| {
            let mut select = conn.prepare(&format!("SELECT {COLUMNS}, probe FROM jobs ORDER BY n"))?;
            let rows = select.query_map([], |row| {
                let probe: Option<String> = row.get("probe")?;
                Ok(read_record(row)?.map(|record| LoadedJob { record, probe: probe.map(Arc::from) }))
            })?;
            rows.filter_map(|r| r.transpose()).collect()
        })
    }

    fn list(&self, owner: OwnerFilter, before: Option<Uuid>, limit: usize) -> StoreFuture<'_, Vec<JobRecord>> {
        self.run(move |conn| {
            let (filter, key) = match &owner {
                OwnerFilter::All => ("1 = 1 OR ?1 IS NULL", None),
                OwnerFilter::Client(c) => ("client = ?1", Some(c.clone())),
                OwnerFilter::Session(s) => ("session = ?1", Some(s.clone())),
            };
            let bound = match before {
                // An unknown cursor compares with NULL: no rows, not the first page again.
                Some(_) => "n < (SELECT n FROM jobs WHERE id = ?2)",
                None => "?2 IS NULL",
            };
            let sql = format!("SELECT {COLUMNS} FROM jobs WHERE ({filter}) AND {bound} ORDER BY n DESC LIMIT ?3");
            let mut select = conn.prepare(&sql)?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = select.query_map(params![key, before.map(|b| b.to_string()), limit], read_record)?;
            rows.filter_map(|r| r.transpose()).collect()
        })
    }

    fn owner(&self, id: Uuid) -> StoreFuture<'_, Option<JobOwner>> {
        self.run(move |conn| {
            conn.query_row("SELECT client, session FROM jobs WHERE id = ?1", [id.to_string()], |row| {
                Ok(JobOwner { client: row.get(0)?, session: row.get(1)? })
            })
            .optional()
        })
    }

    fn unfinished(&self, client: String) -> StoreFuture<'_, UnfinishedCounts> {
        self.run(move |conn| {
            conn.query_row(
                &format!("SELECT COUNT(*), COALESCE(SUM(client = ?1), 0) FROM jobs WHERE phase IN {UNFINISHED}"),
                [client],
                |row| {
                    let total: i64 = row.get(0)?;
                    let mine: i64 = row.get(1)?;
                    Ok(UnfinishedCounts {
                        client: usize::try_from(mine).unwrap_or(0),
                        total: usize::try_from(total).unwrap_or(0),
                    })
                },
            )
        })
    }
}

fn write_state(
    tx: &rusqlite::Transaction<'_>,
    s: &JobSnapshot,
    expires_at: Option<SystemTime>,
) -> rusqlite::Result<()> {
    let progress = serde_json::to_string(&s.progress).unwrap_or_else(|_| "{}".to_owned());
    let file = s.file.as_ref();
    tx.prepare_cached(
        "UPDATE jobs SET phase = ?2, seq = ?3, progress = ?4, title = ?5, engine = ?6, error_kind = ?7,
             error_message = ?8, file_name = ?9, file_size = ?10, file_path = ?11, restarted = ?12,
             started_at = ?13, finished_at = ?14, expires_at = ?15, error_code = ?16, error_detail = ?17
         WHERE id = ?1",
    )?
    .execute(params![
        s.id.to_string(),
        enum_text(&s.phase),
        i64::try_from(s.seq).unwrap_or(i64::MAX),
        progress,
        s.title,
        s.engine.as_ref().map(enum_text),
        s.error.as_ref().and_then(|e| e.kind.as_ref()).map(enum_text),
        s.error.as_ref().map(|e| e.message.as_str()),
        file.map(|f| f.file_name.as_str()),
        file.map(|f| i64::try_from(f.size).unwrap_or(i64::MAX)),
        file.map(|f| f.path.as_os_str().as_bytes()),
        s.restarted,
        s.started_at.map(millis),
        s.finished_at.map(millis),
        expires_at.map(millis),
        s.error.as_ref().map(|e| e.code.as_str()),
        s.error.as_ref().filter(|e| !e.detail.is_empty()).and_then(|e| serde_json::to_string(&e.detail).ok()),
    ])?;
    Ok(())
}

/// A row as a record; `None` (with a warning) for a row this code cannot
/// read, whose files the next clean-up then treats as nobody's.
fn read_record(row: &Row<'_>) -> rusqlite::Result<Option<JobRecord>> {
    let id: String = row.get(0)?;
    let parsed = (|| {
        let id = Uuid::parse_str(&id).ok()?;
        let quality = row.get::<_, String>(4).ok()?.parse().ok()?;
        // A row from before version 3 has only its audio format.
        let options = match row.get::<_, Option<String>>("options").ok().flatten() {
            Some(json) => serde_json::from_str(&json).ok()?,
            None => DownloadOptions {
                audio_format: AudioFormat::from_name(&row.get::<_, String>(5).ok()?).unwrap_or_default(),
                ..DownloadOptions::default()
            },
        };
        let phase: Phase = enum_from(&row.get::<_, String>(6).ok()?)?;
        let progress: Progress = serde_json::from_str(&row.get::<_, String>(8).ok()?).unwrap_or_default();
        let file = match (
            row.get::<_, Option<String>>(13).ok()?,
            row.get::<_, Option<i64>>(14).ok()?,
            row.get::<_, Option<Vec<u8>>>(15).ok()?,
        ) {
            (Some(file_name), Some(size), Some(path)) => Some(FinishedFile {
                path: PathBuf::from(std::ffi::OsStr::from_bytes(&path)),
                file_name,
                size: u64::try_from(size).unwrap_or(0),
            }),
            _ => None,
        };
        let error = row.get::<_, Option<String>>(12).ok()?.map(|message| {
            let kind: Option<crate::error::FailureKind> =
                row.get::<_, Option<String>>(11).ok().flatten().and_then(|k| enum_from(&k));
            let code =
                row.get::<_, Option<String>>("error_code").ok().flatten().map(|c| contract::ErrorCode::from_name(&c));
            let detail: contract::Detail = row
                .get::<_, Option<String>>("error_detail")
                .ok()
                .flatten()
                .and_then(|d| serde_json::from_str(&d).ok())
                .unwrap_or_default();
            // A version-1 row: the code from yt-dlp's kind, else the
            // sentence as it was written.
            let (code, detail) = match (code, kind) {
                (Some(code), _) => (code, detail),
                (None, Some(kind)) => (kind.code(), detail),
                (None, None) => (contract::ErrorCode::Unknown, contract::Detail::reason(message.clone())),
            };
            JobFailure { kind, message, code, detail }
        });
        let snapshot = JobSnapshot {
            id,
            seq: u64::try_from(row.get::<_, i64>(7).ok()?).unwrap_or(0),
            phase,
            progress,
            title: row.get(9).ok()?,
            quality,
            file,
            error,
            engine: row.get::<_, Option<String>>(10).ok()?.and_then(|e| enum_from(&e)),
            created_at: from_millis(row.get(17).ok()?),
            finished_at: row.get::<_, Option<i64>>(19).ok()?.map(from_millis),
            started_at: row.get::<_, Option<i64>>(18).ok()?.map(from_millis),
            restarted: row.get(16).ok()?,
        };
        let request = StoredRequest {
            url: row.get(3).ok()?,
            quality,
            options,
            owner: JobOwner { client: row.get(1).ok()?, session: row.get(2).ok()? },
        };
        Some(JobRecord { request, snapshot })
    })();
    if parsed.is_none() {
        tracing::warn!(id, "skipping a job row that cannot be read");
    }
    Ok(parsed)
}

/// `Phase::Queued` → `queued`: the enums' own serde names.
fn enum_text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn enum_from<T: DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
}

fn millis(t: SystemTime) -> i64 {
    let ms = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
    i64::try_from(ms).unwrap_or(i64::MAX)
}

fn from_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}
