//! The job manager against real yt-dlp and ffmpeg and the fixture site.

use crate::support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::download::AudioFormat;
use engine::filename::sanitize_filename;
use engine::jobs::{JobManager, JobRequest, JobSettings, JobSnapshot, MARKER_FILE};
use engine::progress::Phase;
use engine::{FailureKind, QualityId};
use uuid::Uuid;

fn manager(dir: &Path, max_concurrent: usize, ttl: Duration) -> JobManager {
    let mut settings = JobSettings::new(dir, support::ffmpeg());
    settings.max_concurrent = max_concurrent;
    settings.file_ttl = ttl;
    JobManager::new(Arc::new(support::ytdlp()), settings)
}

async fn request(path: &str, quality: QualityId, probe_first: bool) -> JobRequest {
    let url = support::site_url(path);
    let probe = if probe_first { Some(support::probe(&url).await) } else { None };
    JobRequest {
        url,
        quality,
        probe,
        options: engine::DownloadOptions { audio_format: AudioFormat::M4a, ..Default::default() },
        owner: Default::default(),
    }
}

/// Follows a job until it finishes; returns every snapshot seen.
async fn follow(jobs: &JobManager, id: Uuid, limit: Duration) -> Vec<JobSnapshot> {
    let mut rx = jobs.subscribe(id).expect("job exists");
    let mut seen = vec![rx.borrow_and_update().clone()];
    let waited = tokio::time::timeout(limit, async {
        while !seen.last().is_some_and(|s| s.phase.is_finished()) {
            if rx.changed().await.is_err() {
                break;
            }
            seen.push(rx.borrow_and_update().clone());
        }
    })
    .await;
    assert!(waited.is_ok(), "job {id} did not finish in {limit:?}: {:?}", seen.last());
    seen
}

async fn wait_for(jobs: &JobManager, id: Uuid, limit: Duration, what: impl Fn(&JobSnapshot) -> bool) -> JobSnapshot {
    let mut rx = jobs.subscribe(id).expect("job exists");
    let found = tokio::time::timeout(limit, async {
        loop {
            let s = rx.borrow_and_update().clone();
            if what(&s) {
                return s;
            }
            if rx.changed().await.is_err() {
                return s;
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("condition not reached in {limit:?}: {:?}", jobs.snapshot(id)))
}

#[tokio::test]
async fn a_job_completes_with_its_file_in_its_directory() {
    let root = tempfile::tempdir().expect("tempdir");
    let jobs = manager(root.path(), 3, Duration::from_secs(3600));
    let id = jobs.submit(request("/watch/main", QualityId::P480, true).await);

    let seen = follow(&jobs, id, Duration::from_secs(60)).await;
    let last = seen.last().expect("snapshots");
    assert_eq!(last.phase, Phase::Completed, "{:?}", last.error);
    assert_eq!(last.title.as_deref(), Some(fixture::MAIN.title));
    assert_eq!(last.quality, QualityId::P480);
    assert_eq!(last.progress.percent, 100.0);
    assert!(last.error.is_none());
    assert!(last.finished_at.is_some_and(|f| f >= last.created_at));

    // seq goes up with every snapshot; the percentage never goes down.
    for w in seen.windows(2) {
        assert!(w[1].seq > w[0].seq, "seq {} then {}", w[0].seq, w[1].seq);
        assert!(w[1].progress.percent >= w[0].progress.percent);
        assert_eq!(w[1].phase, w[1].progress.phase);
    }
    assert_eq!(seen[0].phase, Phase::Queued);
    assert!(seen.iter().any(|s| s.phase == Phase::Downloading));

    let file = last.file.as_ref().expect("a finished file");
    assert_eq!(file.file_name, sanitize_filename(fixture::MAIN.title, "mp4"));
    assert_eq!(file.file_name, "Тестовое видео 🎬 'Кавычки' Slash.mp4");
    let job_dir = root.path().join(id.to_string());
    assert_eq!(file.path.parent(), Some(job_dir.as_path()));
    assert_eq!(std::fs::metadata(&file.path).map(|m| m.len()).ok(), Some(file.size));
    assert_eq!(support::list(&job_dir), [MARKER_FILE, "media.mp4"]);
    let streams = support::ffprobe(&file.path);
    assert!(streams.iter().any(|s| s.height == Some(480)));
    assert!(streams.iter().any(|s| s.codec_type == "audio"));

    // Still there for the server to serve.
    assert_eq!(jobs.snapshot(id).map(|s| s.phase), Some(Phase::Completed));
    assert!(!jobs.cancel(id), "a finished job cannot be cancelled");
}

#[tokio::test]
async fn one_slot_means_the_second_job_waits() {
    let root = tempfile::tempdir().expect("tempdir");
    let jobs = manager(root.path(), 1, Duration::from_secs(3600));
    // About two seconds at 400 kB/s per request.
    let first = jobs.submit(request("/k/rate=400000/watch/main", QualityId::P360, true).await);
    let second = jobs.submit(request("/watch/muxed", QualityId::P360, true).await);

    let mut first_rx = jobs.subscribe(first).expect("first");
    loop {
        let a = first_rx.borrow_and_update().clone();
        let b = jobs.snapshot(second).expect("second");
        if a.phase.is_finished() {
            assert_eq!(a.phase, Phase::Completed, "{:?}", a.error);
            break;
        }
        assert_eq!(b.phase, Phase::Queued, "second started while the first was {:?}", a.phase);
        assert!(!root.path().join(second.to_string()).exists());
        tokio::time::timeout(Duration::from_secs(60), first_rx.changed())
            .await
            .expect("the first job moves on")
            .expect("the first job is kept");
    }
    let b = follow(&jobs, second, Duration::from_secs(60)).await;
    assert_eq!(b.last().map(|s| s.phase), Some(Phase::Completed));
}

#[tokio::test]
async fn cancel_mid_download_stops_and_cleans_up() {
    let root = tempfile::tempdir().expect("tempdir");
    let jobs = manager(root.path(), 3, Duration::from_secs(3600));
    let id = jobs.submit(request("/k/rate=100000/watch/main", QualityId::P1080, true).await);
    let job_dir = root.path().join(id.to_string());
    let needle = job_dir.to_string_lossy().into_owned();

    wait_for(&jobs, id, Duration::from_secs(30), |s| s.phase == Phase::Downloading && s.progress.downloaded_bytes > 0)
        .await;
    assert!(!support::processes_mentioning(&needle).is_empty(), "yt-dlp runs");

    let asked = Instant::now();
    assert!(jobs.cancel(id));
    let done = wait_for(&jobs, id, Duration::from_secs(5), |s| s.phase.is_finished()).await;
    let took = asked.elapsed();
    assert_eq!(done.phase, Phase::Cancelled);
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(done.file.is_none());
    assert!(!job_dir.exists(), "{:?}", support::list(&job_dir));
    assert_eq!(support::processes_mentioning(&needle), Vec::new());
}

#[tokio::test]
async fn cancel_while_queued() {
    let root = tempfile::tempdir().expect("tempdir");
    let jobs = manager(root.path(), 1, Duration::from_secs(3600));
    let busy = jobs.submit(request("/k/rate=100000/watch/main", QualityId::P1080, true).await);
    let waiting = jobs.submit(request("/watch/muxed", QualityId::P360, true).await);
    assert_eq!(jobs.snapshot(waiting).map(|s| s.phase), Some(Phase::Queued));

    assert!(jobs.cancel(waiting));
    let done = wait_for(&jobs, waiting, Duration::from_secs(2), |s| s.phase.is_finished()).await;
    assert_eq!(done.phase, Phase::Cancelled);
    assert!(!root.path().join(waiting.to_string()).exists());
    assert_ne!(jobs.snapshot(busy).map(|s| s.phase), Some(Phase::Cancelled));

    assert!(jobs.cancel(busy));
    let done = wait_for(&jobs, busy, Duration::from_secs(5), |s| s.phase.is_finished()).await;
    assert_eq!(done.phase, Phase::Cancelled);
    assert!(!jobs.cancel(busy), "already cancelled");
    assert!(!jobs.cancel(Uuid::new_v4()), "unknown id");
}

#[tokio::test]
async fn a_failing_url_ends_in_error_with_a_message() {
    let root = tempfile::tempdir().expect("tempdir");
    let jobs = manager(root.path(), 3, Duration::from_secs(3600));
    let id = jobs.submit(request("/k/status=404/watch/main", QualityId::P720, false).await);
    let seen = follow(&jobs, id, Duration::from_secs(60)).await;
    let last = seen.last().expect("snapshots");
    assert_eq!(last.phase, Phase::Error);
    let failure = last.error.as_ref().expect("a failure");
    assert_eq!(failure.kind, Some(FailureKind::Http(404)));
    assert!(failure.message.contains("404"), "{}", failure.message);
    assert!(!failure.message.contains(&*root.path().to_string_lossy()));
    assert!(last.file.is_none());
    assert!(!root.path().join(id.to_string()).exists());
}

#[tokio::test]
async fn clean_leftovers_only_touches_marked_job_directories() {
    let root = tempfile::tempdir().expect("tempdir");
    let marked = root.path().join(Uuid::new_v4().to_string());
    std::fs::create_dir(&marked).expect("mkdir");
    std::fs::write(marked.join(MARKER_FILE), "").expect("marker");
    std::fs::write(marked.join("media.mp4.part"), "partial").expect("file");
    let unmarked = root.path().join(Uuid::new_v4().to_string());
    std::fs::create_dir(&unmarked).expect("mkdir");
    std::fs::write(unmarked.join("media.mp4"), "someone's file").expect("file");
    let not_a_job = root.path().join("holiday-videos");
    std::fs::create_dir(&not_a_job).expect("mkdir");
    std::fs::write(not_a_job.join(MARKER_FILE), "").expect("marker");
    std::fs::write(root.path().join("notes.txt"), "keep").expect("file");

    let jobs = manager(root.path(), 3, Duration::from_secs(3600));
    assert_eq!(jobs.clean_leftovers().await.expect("cleaned"), 1);
    assert!(!marked.exists());
    assert!(unmarked.join("media.mp4").exists());
    assert!(not_a_job.join(MARKER_FILE).exists());
    assert!(root.path().join("notes.txt").exists());
    // A download directory that does not exist yet is made.
    let fresh = root.path().join("new-downloads");
    let jobs = manager(&fresh, 3, Duration::from_secs(3600));
    assert_eq!(jobs.clean_leftovers().await.expect("cleaned"), 0);
    assert!(fresh.is_dir());
}

#[tokio::test]
async fn the_reaper_removes_expired_files_and_jobs() {
    let root = tempfile::tempdir().expect("tempdir");
    let jobs = manager(root.path(), 3, Duration::from_millis(300));
    let reaper = jobs.spawn_reaper_every(Duration::from_millis(100));
    let id = jobs.submit(request("/watch/progressive", QualityId::Auto, true).await);
    let seen = follow(&jobs, id, Duration::from_secs(60)).await;
    let file = seen.last().and_then(|s| s.file.clone()).expect("completed with a file");
    let job_dir = root.path().join(id.to_string());
    assert!(file.path.exists());

    let gone = support::eventually(Duration::from_secs(5), || jobs.snapshot(id).is_none() && !job_dir.exists()).await;
    assert!(gone, "still there: {:?}", jobs.snapshot(id).map(|s| s.phase));
    assert!(jobs.subscribe(id).is_none());
    assert_eq!(support::list(root.path()), Vec::<String>::new());
    reaper.abort();
}

#[tokio::test]
async fn shutdown_cancels_everything_and_removes_partial_files() {
    let root = tempfile::tempdir().expect("tempdir");
    let jobs = manager(root.path(), 1, Duration::from_secs(3600));
    let running = jobs.submit(request("/k/rate=100000/watch/main", QualityId::P1080, true).await);
    let queued = jobs.submit(request("/watch/muxed", QualityId::P360, true).await);
    wait_for(&jobs, running, Duration::from_secs(30), |s| s.progress.downloaded_bytes > 0).await;

    let asked = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), jobs.shutdown()).await.expect("shutdown is prompt");
    assert!(asked.elapsed() < Duration::from_secs(3));
    for id in [running, queued] {
        assert_eq!(jobs.snapshot(id).map(|s| s.phase), Some(Phase::Cancelled));
    }
    assert_eq!(support::list(root.path()), Vec::<String>::new());
    assert_eq!(support::processes_mentioning(&root.path().to_string_lossy()), Vec::new());
    // Nothing new starts after shutdown.
    let late = jobs.submit(request("/watch/muxed", QualityId::P360, true).await);
    let done = wait_for(&jobs, late, Duration::from_secs(2), |s| s.phase.is_finished()).await;
    assert_eq!(done.phase, Phase::Cancelled);
}

#[tokio::test]
async fn snapshots_serialize_for_the_browser() {
    let root = tempfile::tempdir().expect("tempdir");
    let jobs = manager(root.path(), 3, Duration::from_secs(3600));
    let id = jobs.submit(request("/watch/muxed", QualityId::Audio, true).await);
    let seen = follow(&jobs, id, Duration::from_secs(60)).await;
    let last = seen.last().expect("snapshots");
    assert_eq!(last.phase, Phase::Completed, "{:?}", last.error);
    let json = serde_json::to_value(last).expect("serializes");
    assert_eq!(json["phase"], "completed");
    assert_eq!(json["progress"]["phase"], "completed");
    assert_eq!(json["quality"], "audio");
    assert_eq!(json["progress"]["percent"], 100.0);
    assert!(json["created_at"].as_u64().is_some_and(|ms| ms > 1_600_000_000_000));
    assert!(json["file"]["file_name"].as_str().is_some_and(|n| n.ends_with(".m4a")));
    assert!(!json.to_string().contains(&*root.path().to_string_lossy()), "{json}");
}
