//! The job store: the SQLite file on its own (round trip, paging, counts,
//! damaged and newer files), and the job manager taking up an earlier run's
//! jobs from it with the real yt-dlp, ffmpeg and the fixture site.

use crate::support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use engine::download::AudioFormat;
use engine::jobs::{JobManager, JobOwner, JobRequest, JobSettings, JobSnapshot};
use engine::progress::{Phase, Progress};
use engine::store::{JobRecord, JobStore, OwnerFilter, SqliteStore, StoreError, StoredRequest, SCHEMA_VERSION};
use engine::QualityId;
use uuid::Uuid;

fn owner(client: &str, session: Option<&str>) -> JobOwner {
    JobOwner { client: client.into(), session: session.map(str::to_owned) }
}

fn record(owner: JobOwner, created_ms: u64) -> JobRecord {
    JobRecord {
        request: StoredRequest {
            url: "https://example.com/watch?v=1".into(),
            quality: QualityId::P720,
            options: engine::DownloadOptions { audio_format: AudioFormat::M4a, ..Default::default() },
            owner,
        },
        snapshot: JobSnapshot {
            id: Uuid::new_v4(),
            seq: 0,
            phase: Phase::Queued,
            progress: Progress::default(),
            title: Some("Тест 🎬".into()),
            quality: QualityId::P720,
            file: None,
            error: None,
            engine: None,
            created_at: SystemTime::UNIX_EPOCH + Duration::from_millis(created_ms),
            finished_at: None,
            started_at: None,
            restarted: false,
        },
    }
}

#[tokio::test]
async fn jobs_round_trip_page_newest_first_and_count_per_client() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("sub/jobs.sqlite3");
    let store = SqliteStore::open(&path).expect("opens a new file");
    let mut ids = Vec::new();
    for i in 0..5u64 {
        let r = record(owner(if i % 2 == 0 { "10.0.0.1" } else { "10.0.0.2" }, Some("s1")), 1_000 + i);
        ids.push(r.snapshot.id);
        store.insert(r, Some(Arc::from("{\"title\": \"x\"}"))).await.expect("insert");
    }
    // The first job completes with a file.
    let mut done = store.load().await.expect("load")[0].record.snapshot.clone();
    done.phase = Phase::Completed;
    done.seq = 7;
    done.file =
        Some(engine::FinishedFile {
            path: "/srv/d/x/media.mp4".into(), file_name: "Тест 🎬.mp4".into(), size: 42
        });
    done.finished_at = Some(SystemTime::UNIX_EPOCH + Duration::from_millis(9_000));
    store.update(done.clone(), None).await.expect("update");
    drop(store);

    let store = SqliteStore::open(&path).expect("opens again");
    let loaded = store.load().await.expect("load");
    assert_eq!(loaded.iter().map(|j| j.record.snapshot.id).collect::<Vec<_>>(), ids, "oldest first");
    let first = &loaded[0];
    assert_eq!(first.record.snapshot.phase, Phase::Completed);
    assert_eq!(first.record.snapshot.seq, 7);
    assert_eq!(first.record.snapshot.file, done.file);
    assert_eq!(first.record.snapshot.finished_at, done.finished_at);
    assert_eq!(first.record.snapshot.title.as_deref(), Some("Тест 🎬"));
    assert_eq!(first.record.request.owner, owner("10.0.0.1", Some("s1")));
    assert_eq!(first.probe.as_deref(), Some("{\"title\": \"x\"}"));

    // Newest first, paged with the last id seen.
    let page = store.list(OwnerFilter::Client("10.0.0.1".into()), None, 2).await.expect("list");
    assert_eq!(page.iter().map(|r| r.snapshot.id).collect::<Vec<_>>(), vec![ids[4], ids[2]]);
    let next = store.list(OwnerFilter::Client("10.0.0.1".into()), Some(ids[2]), 2).await.expect("list");
    assert_eq!(next.iter().map(|r| r.snapshot.id).collect::<Vec<_>>(), vec![ids[0]]);
    let other = store.list(OwnerFilter::Client("10.0.0.2".into()), None, 10).await.expect("list");
    assert_eq!(other.len(), 2);
    assert_eq!(store.list(OwnerFilter::Session("s1".into()), None, 10).await.expect("list").len(), 5);
    assert!(store.list(OwnerFilter::Session("s2".into()), None, 10).await.expect("list").is_empty());
    assert_eq!(store.list(OwnerFilter::All, None, 3).await.expect("list").len(), 3);
    // An unknown cursor is an empty page, not the first page again.
    let unknown = store.list(OwnerFilter::All, Some(Uuid::new_v4()), 10).await.expect("list");
    assert!(unknown.is_empty());

    let counts = store.unfinished("10.0.0.1".into()).await.expect("counts");
    assert_eq!((counts.client, counts.total), (2, 4), "the completed job no longer counts");
    assert_eq!(store.owner(ids[1]).await.expect("owner"), Some(owner("10.0.0.2", Some("s1"))));
    assert_eq!(store.owner(Uuid::new_v4()).await.expect("owner"), None);

    store.remove(vec![ids[0], ids[1]]).await.expect("remove");
    assert_eq!(store.load().await.expect("load").len(), 3);
    assert_eq!(store.owner(ids[0]).await.expect("owner"), None);
}

/// A file from the first release (schema 1: no error codes) is upgraded in
/// place, and its failures read with the code their kind stands for.
#[tokio::test]
async fn a_version_1_file_is_upgraded_and_its_failures_get_codes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("jobs.sqlite3");
    let store = SqliteStore::open(&path).expect("opens a new file");
    let (mut failed, mut old) = (record(owner("10.0.0.1", None), 1_000), record(owner("10.0.0.1", None), 2_000));
    for r in [&failed, &old] {
        store.insert(r.clone(), None).await.expect("insert");
    }
    failed.snapshot.phase = Phase::Error;
    failed.snapshot.error = Some(engine::jobs::JobFailure {
        kind: Some(engine::FailureKind::BotCheck),
        message: "YouTube asked this server to prove it is not a bot.".into(),
        code: contract::ErrorCode::BotCheck,
        detail: contract::Detail::default(),
    });
    old.snapshot.phase = Phase::Error;
    old.snapshot.error = Some(engine::jobs::JobFailure {
        kind: None,
        message: "The download took longer than 1h 00m and was stopped.".into(),
        code: contract::ErrorCode::Timeout,
        detail: contract::Detail::limit(3600),
    });
    store.update(failed.snapshot.clone(), None).await.expect("update");
    store.update(old.snapshot.clone(), None).await.expect("update");
    drop(store);
    // Back to what the first release wrote.
    {
        let conn = rusqlite::Connection::open(&path).expect("sqlite");
        conn.execute_batch(
            "ALTER TABLE jobs DROP COLUMN error_code; ALTER TABLE jobs DROP COLUMN error_detail; \
             ALTER TABLE jobs DROP COLUMN options; UPDATE jobs SET audio_format = 'mp3'; PRAGMA user_version = 1;",
        )
        .expect("downgrade");
    }
    let store = SqliteStore::open(&path).expect("a version-1 file opens");
    let loaded = store.load().await.expect("load");
    let errors: Vec<_> = loaded.iter().filter_map(|j| j.record.snapshot.error.clone()).collect();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].code, contract::ErrorCode::BotCheck, "from yt-dlp's kind");
    assert_eq!(errors[0].message, "YouTube asked this server to prove it is not a bot.");
    // No kind, no code: the sentence as it was written is kept and shown.
    assert_eq!(errors[1].code, contract::ErrorCode::Unknown);
    assert_eq!(errors[1].message, "The download took longer than 1h 00m and was stopped.");
    // Before version 3 only the audio format was kept: the rest are the defaults.
    for job in &loaded {
        let options = &job.record.request.options;
        assert_eq!(options.audio_format, engine::AudioFormat::Mp3);
        assert_eq!((options.clip, options.tags), (None, true));
    }
    let version: i64 = rusqlite::Connection::open(&path)
        .and_then(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0)))
        .expect("version");
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn a_damaged_file_is_refused_with_its_name_and_left_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("jobs.sqlite3");
    let garbage = b"this is not a database, just some bytes someone wrote here\n".repeat(100);
    std::fs::write(&path, &garbage).expect("write");
    let err = SqliteStore::open(&path).expect_err("refused");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("damaged"), "{text}");
    assert_eq!(std::fs::read(&path).expect("read"), garbage, "not changed");

    // A directory where the file should be: cannot be opened, named.
    let dir_path = dir.path().join("adir");
    std::fs::create_dir(&dir_path).expect("mkdir");
    let err = SqliteStore::open(&dir_path).expect_err("refused");
    assert!(err.to_string().contains(&dir_path.display().to_string()), "{err}");
}

#[test]
fn a_newer_schema_is_refused_not_altered() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("jobs.sqlite3");
    {
        let conn = rusqlite::Connection::open(&path).expect("sqlite");
        conn.execute_batch(&format!(
            "CREATE TABLE jobs (id TEXT, something_new BLOB); PRAGMA user_version = {};",
            SCHEMA_VERSION + 1
        ))
        .expect("schema");
    }
    let before = std::fs::read(&path).expect("read");
    let err = SqliteStore::open(&path).expect_err("refused");
    assert!(matches!(err, StoreError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    assert_eq!(std::fs::read(&path).expect("read"), before, "not changed");
}

fn manager(dir: &Path, store: &SqliteStore) -> JobManager {
    let mut settings = JobSettings::new(dir, support::ffmpeg());
    settings.max_concurrent = 1;
    JobManager::with_store(Arc::new(support::ytdlp()), settings, Arc::new(store.clone()))
}

async fn wait_finished(jobs: &JobManager, id: Uuid, limit: Duration) -> JobSnapshot {
    let mut rx = jobs.subscribe(id).expect("job exists");
    let waited = tokio::time::timeout(limit, async {
        loop {
            let s = rx.borrow_and_update().clone();
            if s.phase.is_finished() {
                return s;
            }
            if rx.changed().await.is_err() {
                return rx.borrow().clone();
            }
        }
    })
    .await;
    waited.unwrap_or_else(|_| panic!("job {id} did not finish in {limit:?}"))
}

#[tokio::test]
async fn a_new_manager_takes_up_completed_running_and_queued_jobs() {
    let downloads = tempfile::tempdir().expect("temp dir");
    let db = downloads.path().join("data/jobs.sqlite3");
    let store = SqliteStore::open(&db).expect("store");
    let jobs = manager(downloads.path(), &store);
    let url = support::site_url("/watch/main");
    let slow = support::site_url("/k/rate=150000/watch/main");
    let request = |url: &str, probe| JobRequest {
        url: url.to_owned(),
        quality: QualityId::P360,
        probe,
        options: engine::DownloadOptions { audio_format: AudioFormat::M4a, ..Default::default() },
        owner: owner("127.0.0.1", None),
    };
    let done = jobs.submit(request(&url, Some(support::probe(&url).await)));
    let finished = wait_finished(&jobs, done, Duration::from_secs(90)).await;
    assert_eq!(finished.phase, Phase::Completed, "{finished:?}");
    let file = finished.file.clone().expect("file");
    let bytes = std::fs::read(&file.path).expect("file on disk");
    let running = jobs.submit(request(&slow, Some(support::probe(&slow).await)));
    let queued = jobs.submit(request(&url, None));
    support::eventually(Duration::from_secs(30), || {
        jobs.snapshot(running).is_some_and(|s| s.progress.downloaded_bytes > 0)
    })
    .await;
    jobs.shutdown().await;
    drop(jobs);

    // Nothing was marked cancelled: the store still has them as unfinished.
    let phases: Vec<Phase> = store.load().await.expect("load").iter().map(|j| j.record.snapshot.phase).collect();
    assert_eq!(phases[0], Phase::Completed);
    assert!(phases[1..].iter().all(|p| !p.is_finished()), "{phases:?}");

    // A stray job directory nobody owns, and a file that is no job's.
    let stray = downloads.path().join(Uuid::new_v4().to_string());
    std::fs::create_dir(&stray).expect("mkdir");
    std::fs::write(stray.join(engine::jobs::MARKER_FILE), b"x").expect("marker");
    std::fs::write(stray.join("media.mp4.part"), b"partial").expect("partial");
    std::fs::write(downloads.path().join("notes.txt"), b"mine").expect("other file");

    let jobs = manager(downloads.path(), &store);
    let resumed = jobs.resume().await.expect("resume");
    assert_eq!((resumed.finished, resumed.restarted, resumed.queued), (1, 1, 1), "{resumed:?}");
    assert_eq!(jobs.clean_leftovers().await.expect("clean"), 1);
    assert!(!stray.exists());
    assert!(downloads.path().join("notes.txt").exists());

    let kept = jobs.snapshot(done).expect("completed job kept");
    assert_eq!(kept.phase, Phase::Completed);
    assert_eq!(kept.seq, finished.seq);
    assert_eq!(std::fs::read(&kept.file.expect("file").path).expect("file"), bytes);

    let restarted = jobs.snapshot(running).expect("running job kept");
    assert!(restarted.restarted, "{restarted:?}");
    let after = wait_finished(&jobs, running, Duration::from_secs(120)).await;
    assert_eq!(after.phase, Phase::Completed, "{after:?}");
    assert!(after.restarted);
    let after = wait_finished(&jobs, queued, Duration::from_secs(90)).await;
    assert_eq!(after.phase, Phase::Completed, "{after:?}");
    assert!(!after.restarted, "it never ran before");
    jobs.shutdown().await;

    let phases: Vec<Phase> = store.load().await.expect("load").iter().map(|j| j.record.snapshot.phase).collect();
    assert_eq!(phases, vec![Phase::Completed; 3]);
}

#[tokio::test]
async fn a_stored_file_outside_its_job_directory_is_never_taken_up() {
    let downloads = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(downloads.path().join("data/jobs.sqlite3")).expect("store");
    let outside = downloads.path().join("secret.txt");
    std::fs::write(&outside, b"not a download").expect("write");
    let mut ids = Vec::new();
    for path in [outside.clone(), downloads.path().join("missing/media.mp4")] {
        let mut r = record(owner("127.0.0.1", None), 1_000);
        r.snapshot.phase = Phase::Completed;
        r.snapshot.finished_at = Some(SystemTime::now());
        r.snapshot.file = Some(engine::FinishedFile { path, file_name: "x.mp4".into(), size: 14 });
        ids.push(r.snapshot.id);
        let snapshot = r.snapshot.clone();
        store.insert(r, None).await.expect("insert");
        store.update(snapshot, None).await.expect("update");
    }
    let jobs = manager(downloads.path(), &store);
    let resumed = jobs.resume().await.expect("resume");
    assert_eq!(resumed.finished, 0, "{resumed:?}");
    for id in ids {
        assert!(jobs.snapshot(id).is_none());
        assert_eq!(store.owner(id).await.expect("owner"), None, "its row is removed");
    }
    assert!(outside.exists(), "and the file it named is left alone");
}

#[tokio::test]
async fn a_download_s_options_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("jobs.sqlite3");
    let store = SqliteStore::open(&path).expect("open");
    let mut record = record(owner("opts", None), 1_700_000_000_000);
    record.request.options = engine::DownloadOptions {
        audio_format: engine::AudioFormat::Opus,
        audio_bitrate: Some(96),
        clip: Some(contract::clip::ClipRange { start_ms: 4000, end_ms: 8500 }),
        subtitles: vec!["en".into(), "ru".into()],
        subtitle_mode: contract::media::SubtitleMode::Both,
        subtitle_format: contract::media::SubtitleFormat::Vtt,
        tags: false,
    };
    store.insert(record.clone(), None).await.expect("insert");
    drop(store);
    let loaded = SqliteStore::open(&path).expect("reopen").load().await.expect("load");
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].record.request.options, record.request.options);
}
