//! The native engine against the fixture site, with real yt-dlp (extraction
//! only) and ffmpeg (merging only): every protocol it fetches, checked by
//! what a user gets (ffprobe, and the decoded picture hashed against the
//! source), and every fault it must ride out or report.

use crate::support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use engine::native::{NativeEngine, NativeError, NativeRequest, NativeSettings, Reextract};
use engine::progress::Phase;
use engine::{AudioFormat, DownloadedFile, EngineError, Probe, Progress, QualityId, YtDlp};
use fixture::FixtureSite;
use netguard::{ClientSettings, EgressPolicy, GuardedClient};
use tokio_util::sync::CancellationToken;

fn engine_with(settings: NativeSettings) -> NativeEngine {
    // The fixture is on 127.0.0.1, which the default policy refuses.
    let client = GuardedClient::new(Arc::new(EgressPolicy::allow_all()), &ClientSettings::default()).expect("client");
    NativeEngine::new(client, settings, support::ffmpeg(), Default::default())
}

fn engine() -> NativeEngine {
    engine_with(NativeSettings::default())
}

async fn probe(url: &str) -> Arc<Probe> {
    Arc::new(support::ytdlp().probe(url).await.unwrap_or_else(|e| panic!("probe {url}: {e}")))
}

fn reextract_of(url: &str) -> Reextract {
    let url = url.to_owned();
    Arc::new(move || {
        let url = url.clone();
        Box::pin(async move { YtDlp::new(fixture::ytdlp_program()).probe(&url).await.map(Arc::new) })
    })
}

struct Done {
    result: Result<DownloadedFile, NativeError>,
    progress: Vec<Progress>,
    _dir: tempfile::TempDir,
    job: PathBuf,
}

async fn run(
    engine: &NativeEngine,
    probe: Arc<Probe>,
    quality: QualityId,
    audio: AudioFormat,
    reextract: Option<Reextract>,
    cancel: CancellationToken,
) -> Done {
    let dir = tempfile::tempdir().expect("tempdir");
    let job = dir.path().join("job");
    let request = NativeRequest {
        probe,
        quality,
        // Untagged: these tests compare the bytes with the source's.
        options: engine::DownloadOptions { audio_format: audio, tags: false, ..Default::default() },
        dir: job.clone(),
        reextract,
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let mut on_progress = move |p: Progress| sink.lock().expect("progress").push(p);
    let result = engine.download(&request, cancel, &mut on_progress).await;
    let progress = seen.lock().expect("progress").clone();
    Done { result, progress, _dir: dir, job }
}

async fn fetch(site: &FixtureSite, path: &str, quality: QualityId) -> (DownloadedFile, Done) {
    let url = site.url(path);
    let done = run(
        &engine(),
        probe(&url).await,
        quality,
        AudioFormat::M4a,
        Some(reextract_of(&url)),
        CancellationToken::new(),
    )
    .await;
    let file = match &done.result {
        Ok(f) => f.clone(),
        Err(e) => panic!("{path} at {quality}: {e}"),
    };
    (file, done)
}

/// The md5 of the decoded picture (ffmpeg's `md5` muxer over raw frames):
/// equal for a copy that lost or changed nothing.
fn picture_md5(input: &Path, extra: &[&str]) -> String {
    let out = std::process::Command::new(fixture::ffmpeg_program())
        .args(["-hide_banner", "-loglevel", "error"])
        .args(extra)
        .arg("-i")
        .arg(input)
        .args(["-map", "0:v:0", "-f", "md5", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "ffmpeg md5 of {}: {}", input.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn sha256(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum").arg(path).output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_owned()
}

fn media(rel: &str) -> PathBuf {
    fixture::media_dir().join(rel)
}

/// What every successful download shows: only the file left, progress
/// that never goes back and ends at 100 with real byte counts.
fn assert_clean_and_monotonic(file: &DownloadedFile, done: &Done) {
    assert_eq!(support::list(&done.job), [file.path.file_name().and_then(|n| n.to_str()).unwrap_or_default()]);
    let mut last = -1.0;
    for p in &done.progress {
        assert!(p.percent >= last, "progress went back: {last} → {}", p.percent);
        last = p.percent;
    }
    let end = done.progress.last().expect("some progress");
    assert_eq!(end.phase, Phase::Completed);
    assert_eq!(end.percent, 100.0);
    assert!(done.progress.iter().any(|p| p.phase == Phase::Downloading && p.downloaded_bytes > 0));
    assert!(done.progress.iter().any(|p| p.total_bytes.is_some_and(|t| t > 0)));
}

#[tokio::test]
async fn hls_video_and_audio_are_fetched_concurrently_and_match_the_source() {
    let site = FixtureSite::start().await.expect("fixture");
    // Each response at 1 MB/s, as a CDN limits a connection: requests
    // overlap only if the engine really runs several at once.
    let (file, done) = fetch(&site, "/k/rate=1000000/watch/main", QualityId::P720).await;
    assert_eq!(file.ext, "mp4");
    assert_eq!(support::heights_and_audio(&file.path), (vec![720], 1));
    assert_eq!(picture_md5(&file.path, &[]), picture_md5(&media("main/v720/index.m3u8"), &[]));
    assert_clean_and_monotonic(&file, &done);
    assert!(site.max_in_flight() >= 4, "only {} requests at once", site.max_in_flight());
}

#[tokio::test]
async fn aes128_hls_is_decrypted_with_the_tag_iv_and_the_sequence_iv() {
    let site = FixtureSite::start().await.expect("fixture");
    let video = fixture::video("aes").expect("aes video");
    for &height in video.heights {
        let quality: QualityId = height.to_string().parse().expect("quality");
        let (file, done) = fetch(&site, "/watch/aes", quality).await;
        assert_eq!(support::heights_and_audio(&file.path), (vec![u64::from(height)], 1));
        let source = media(&format!("aes/v{height}/index.m3u8"));
        assert_eq!(picture_md5(&file.path, &[]), picture_md5(&source, &["-allowed_extensions", "ALL"]), "{height}p");
        assert_clean_and_monotonic(&file, &done);
    }
}

#[tokio::test]
async fn fmp4_hls_with_an_init_section_and_byte_range_hls() {
    let site = FixtureSite::start().await.expect("fixture");
    for (slug, source) in [("fmp4", "fmp4/v720/index.m3u8"), ("byterange", "byterange/v720/index.m3u8")] {
        let (file, done) = fetch(&site, &format!("/watch/{slug}"), QualityId::Auto).await;
        let (heights, audio) = support::heights_and_audio(&file.path);
        assert_eq!((heights.len(), audio), (1, 1), "{slug}");
        assert_eq!(picture_md5(&file.path, &[]), picture_md5(&media(source), &[]), "{slug}");
        assert_clean_and_monotonic(&file, &done);
    }
}

#[tokio::test]
async fn dash_fragments_from_the_info_json() {
    let site = FixtureSite::start().await.expect("fixture");
    let (file, done) = fetch(&site, "/watch/dash", QualityId::P720).await;
    assert_eq!(support::heights_and_audio(&file.path), (vec![720], 1));
    assert_clean_and_monotonic(&file, &done);
}

#[tokio::test]
async fn a_progressive_file_comes_in_ranges_byte_for_byte() {
    let site = FixtureSite::start().await.expect("fixture");
    // Each connection at 2 MB/s: the ranges overlap however loaded the
    // machine is (unthrottled, a busy machine can finish a range before the
    // next one starts).
    let (file, done) = fetch(&site, "/k/rate=2000000/watch/large", QualityId::Auto).await;
    assert_eq!(sha256(&file.path), sha256(&media("large/large.mp4")));
    assert_clean_and_monotonic(&file, &done);
    assert!(site.max_in_flight() >= 4, "only {} ranges at once", site.max_in_flight());
}

#[tokio::test]
async fn audio_only_from_hls_and_from_a_progressive_file() {
    let site = FixtureSite::start().await.expect("fixture");
    let url = site.url("/watch/main");
    let done =
        run(&engine(), probe(&url).await, QualityId::Audio, AudioFormat::M4a, None, CancellationToken::new()).await;
    let file = done.result.as_ref().expect("audio");
    assert_eq!(file.ext, "m4a");
    assert_eq!(support::heights_and_audio(&file.path), (vec![], 1));
    let url = site.url("/watch/progressive");
    let done =
        run(&engine(), probe(&url).await, QualityId::Audio, AudioFormat::Mp3, None, CancellationToken::new()).await;
    let file = done.result.as_ref().expect("mp3");
    assert_eq!(file.ext, "mp3");
    let streams = support::ffprobe(&file.path);
    assert!(streams.iter().any(|s| s.codec_name == "mp3"), "{streams:?}");
}

#[tokio::test]
async fn a_503_once_per_segment_and_a_reset_mid_body_are_ridden_out() {
    let site = FixtureSite::start().await.expect("fixture");
    // The page is read without knobs; its media then answer 503 (with
    // Retry-After: 1) to the first request each.
    let plain = probe(&site.url("/watch/main")).await;
    let raw = plain.raw.replace("/media/", "/k/once=503/media/");
    let info = serde_json::from_str(&raw).expect("info");
    let crafted = Arc::new(Probe { info, raw: Arc::from(raw) });
    let done = run(&engine(), crafted, QualityId::P480, AudioFormat::M4a, None, CancellationToken::new()).await;
    let file = done.result.as_ref().unwrap_or_else(|e| panic!("503 once: {e}"));
    assert_eq!(support::heights_and_audio(&file.path), (vec![480], 1));
    assert_eq!(site.path_hits("/media/main/v480/seg003.ts"), 2, "a 503, then the segment");

    let size = std::fs::metadata(media("large/large.mp4")).expect("source").len();
    let before = site.bytes_sent();
    let (file, _done) = fetch(&site, "/k/drop_once=100000/watch/large", QualityId::Auto).await;
    assert_eq!(sha256(&file.path), sha256(&media("large/large.mp4")));
    let sent = site.bytes_sent() - before;
    // Broken ranges resume where they stopped instead of starting over.
    assert!(sent < size + size / 2, "sent {sent} bytes for a {size}-byte file");
}

#[tokio::test]
async fn a_stalled_connection_is_dropped_and_its_fragment_fetched_again() {
    let site = FixtureSite::start().await.expect("fixture");
    let url = site.url("/k/stall_once=1000/watch/muxed");
    let engine = engine_with(NativeSettings { stall_timeout: Duration::from_secs(1), ..NativeSettings::default() });
    let started = Instant::now();
    let done = run(&engine, probe(&url).await, QualityId::P360, AudioFormat::M4a, None, CancellationToken::new()).await;
    let file = done.result.as_ref().unwrap_or_else(|e| panic!("stalled download: {e}"));
    assert_eq!(support::heights_and_audio(&file.path), (vec![360], 1));
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[tokio::test]
async fn expired_links_are_extracted_again_once() {
    let site = FixtureSite::start().await.expect("fixture");
    // Each link works for 20 requests: the lookup, 2 playlists and 20
    // segments of 360p video and audio need a renewal, and one is enough
    // (with the attempts that were in flight with the old links).
    let url = site.url("/k/expire=20/watch/main");
    // With a fresh probe on demand: completes.
    let done = run(
        &engine(),
        probe(&url).await,
        QualityId::P360,
        AudioFormat::M4a,
        Some(reextract_of(&url)),
        CancellationToken::new(),
    )
    .await;
    let file = done.result.as_ref().unwrap_or_else(|e| panic!("expiring links: {e}"));
    assert_eq!(support::heights_and_audio(&file.path), (vec![360], 1));
    // Without: a sentence naming the refusal, and no files.
    let done =
        run(&engine(), probe(&url).await, QualityId::P360, AudioFormat::M4a, None, CancellationToken::new()).await;
    match &done.result {
        Err(NativeError::Failed(EngineError::Fetch { message, .. })) => {
            assert!(message.contains("HTTP 403"), "{message}")
        }
        other => panic!("expected a 403 failure, got {other:?}"),
    }
    assert!(support::list(&done.job).is_empty(), "{:?}", support::list(&done.job));
}

#[tokio::test]
async fn a_fragment_that_keeps_failing_fails_the_download_with_a_sentence() {
    let site = FixtureSite::start().await.expect("fixture");
    // Every response of the file is cut after 20 kB: resuming helps each
    // time, but never enough within the attempts allowed.
    let url = site.url("/k/drop=20000/watch/large");
    let engine = engine_with(NativeSettings { max_attempts: 3, ..NativeSettings::default() });
    let done = run(&engine, probe(&url).await, QualityId::Auto, AudioFormat::M4a, None, CancellationToken::new()).await;
    match &done.result {
        Err(NativeError::Failed(EngineError::Fetch { message, .. })) => {
            assert!(message.contains("could not be downloaded after 3 tries"), "{message}");
            assert!(!message.contains("127.0.0.1"), "no URL in the sentence: {message}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(support::list(&done.job).is_empty(), "{:?}", support::list(&done.job));
}

#[tokio::test]
async fn cancel_stops_every_request_and_removes_every_file() {
    let site = FixtureSite::start().await.expect("fixture");
    let url = site.url("/k/rate=100000/watch/long");
    let probe = probe(&url).await;
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let engine = engine();
    let watcher = async {
        // Cancel once bytes are moving on several connections.
        let until = Instant::now() + Duration::from_secs(30);
        while site.in_flight() < 2 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        trigger.cancel();
        Instant::now()
    };
    let (done, cancelled_at) =
        tokio::join!(run(&engine, probe, QualityId::P720, AudioFormat::M4a, None, cancel.clone()), watcher);
    assert!(
        matches!(done.result, Err(NativeError::Failed(EngineError::Cancelled))),
        "{:?}",
        done.result.as_ref().err()
    );
    assert!(cancelled_at.elapsed() < Duration::from_secs(2));
    assert!(support::list(&done.job).is_empty(), "{:?}", support::list(&done.job));
    assert!(
        support::eventually(Duration::from_secs(2), || site.in_flight() == 0).await,
        "{} responses still being sent",
        site.in_flight()
    );
}

#[tokio::test]
async fn the_size_limit_holds_while_fetching() {
    let site = FixtureSite::start().await.expect("fixture");
    let url = site.url("/watch/main");
    let engine = engine_with(NativeSettings { max_filesize: Some(200_000), ..NativeSettings::default() });
    let done =
        run(&engine, probe(&url).await, QualityId::P1080, AudioFormat::M4a, None, CancellationToken::new()).await;
    assert!(
        matches!(done.result, Err(NativeError::Failed(EngineError::TooLarge { limit: 200_000 }))),
        "{:?}",
        done.result.as_ref().err()
    );
    assert!(support::list(&done.job).is_empty());
}

#[tokio::test]
async fn the_job_says_which_engine_moved_the_bytes_and_falls_back_per_format() {
    use engine::jobs::{JobManager, JobRequest, JobSettings};
    use engine::native::EngineKind;
    let site = FixtureSite::start().await.expect("fixture");
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = JobSettings::new(dir.path(), support::ffmpeg()).with_native(engine());
    let manager = JobManager::new(Arc::new(support::ytdlp()), settings);

    let url = site.url("/watch/muxed");
    let native_probe = probe(&url).await;
    // The same video, but its formats claim a protocol the native engine
    // leaves to yt-dlp (ffmpeg-driven HLS).
    let raw = native_probe.raw.replace("\"m3u8_native\"", "\"m3u8\"");
    let info = serde_json::from_str(&raw).expect("info");
    let fallback_probe = Arc::new(Probe { info, raw: Arc::from(raw) });

    for (probe, expected) in [(native_probe, EngineKind::Native), (fallback_probe, EngineKind::YtDlp)] {
        let id = manager.submit(JobRequest {
            url: url.clone(),
            quality: QualityId::P360,
            probe: Some(probe),
            options: engine::DownloadOptions { audio_format: AudioFormat::M4a, ..Default::default() },
            owner: Default::default(),
        });
        let mut rx = manager.subscribe(id).expect("job");
        let snapshot = loop {
            let s = rx.borrow_and_update().clone();
            if s.phase.is_finished() {
                break s;
            }
            tokio::time::timeout(Duration::from_secs(120), rx.changed())
                .await
                .expect("job finishes")
                .expect("channel open");
        };
        assert_eq!(snapshot.phase, Phase::Completed, "{expected:?}: {:?}", snapshot.error);
        assert_eq!(snapshot.engine, Some(expected));
        let file = snapshot.file.expect("file");
        assert_eq!(support::heights_and_audio(&file.path), (vec![360], 1), "{expected:?}");
    }
    manager.shutdown().await;
}
