//! `YtDlp::download` against real yt-dlp and ffmpeg and the fixture site:
//! what a user would notice (the picture height, the sound, the container,
//! a clean directory), plus cancellation and failures.

use crate::support;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use engine::download::{AudioFormat, DownloadSpec, DownloadedFile};
use engine::progress::{Phase, PostStep, Progress};
use engine::{EngineError, FailureKind, QualityId};
use tokio_util::sync::CancellationToken;

/// Downloads `path` of the fixture site at `quality` into a fresh directory
/// (probing first, like the server); returns the file, the directory and
/// every progress reported.
async fn fetch(
    path: &str,
    quality: QualityId,
    audio: AudioFormat,
    probe_first: bool,
) -> (DownloadedFile, tempfile::TempDir, Vec<Progress>) {
    let url = support::site_url(path);
    let probe = if probe_first { Some(support::probe(&url).await) } else { None };
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = DownloadSpec {
        url,
        quality,
        probe,
        dir: dir.path().join("job"),
        // Untagged: an audio file's cover would be a picture stream. Tags,
        // covers and the other options are `download_options`' business.
        options: engine::DownloadOptions { audio_format: audio, tags: false, ..Default::default() },
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let file = support::ytdlp()
        .download(&spec, &support::ffmpeg(), CancellationToken::new(), move |p| {
            sink.lock().expect("progress list").push(p)
        })
        .await
        .unwrap_or_else(|e| panic!("{path} at {quality}: {e}"));
    let progress = seen.lock().expect("progress list").clone();
    (file, dir, progress)
}

/// Only the finished file is left in the job directory.
fn assert_only_the_file(file: &DownloadedFile) {
    let dir = file.path.parent().expect("file has a directory");
    let name = file.path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    assert_eq!(support::list(dir), [name], "leftovers next to the file");
    assert!(name.starts_with("media."), "{name}");
    assert_eq!(std::fs::metadata(&file.path).map(|m| m.len()).ok(), Some(file.size));
}

fn assert_sane_progress(progress: &[Progress]) {
    assert!(progress.len() >= 3, "{progress:?}");
    for w in progress.windows(2) {
        assert!(w[1].percent >= w[0].percent, "{} then {}", w[0].percent, w[1].percent);
    }
    let last = progress.last().expect("progress");
    assert_eq!((last.phase, last.percent), (Phase::Completed, 100.0));
    assert_eq!(progress[0].phase, Phase::Downloading);
}

async fn video_at(quality: QualityId, expected_height: u64) {
    let (file, _dir, progress) = fetch("/watch/main", quality, AudioFormat::M4a, true).await;
    assert_eq!(file.ext, "mp4", "H.264 + AAC merge into MP4");
    let (heights, audio) = support::heights_and_audio(&file.path);
    assert_eq!(heights, [expected_height], "{quality}");
    assert_eq!(audio, 1, "{quality}: one sound track");
    assert_only_the_file(&file);
    assert_sane_progress(&progress);
    // Video and audio are separate on `main`: two stages and a merge.
    assert!(progress.iter().any(|p| p.stage == 2 && p.stages == 2));
    assert!(progress.iter().any(|p| p.phase == Phase::Merging && p.post_step == Some(PostStep::Merge)));
}

#[tokio::test]
async fn main_at_1080() {
    video_at(QualityId::P1080, 1080).await;
}

#[tokio::test]
async fn main_at_720() {
    video_at(QualityId::P720, 720).await;
}

#[tokio::test]
async fn main_at_480() {
    video_at(QualityId::P480, 480).await;
}

#[tokio::test]
async fn main_at_360() {
    video_at(QualityId::P360, 360).await;
}

#[tokio::test]
async fn main_auto_is_the_best() {
    video_at(QualityId::Auto, 1080).await;
}

#[tokio::test]
async fn main_at_2160_gives_the_best_available() {
    video_at(QualityId::P2160, 1080).await;
}

#[tokio::test]
async fn main_audio_is_an_m4a_without_video() {
    let (file, _dir, progress) = fetch("/watch/main", QualityId::Audio, AudioFormat::M4a, true).await;
    assert_eq!(file.ext, "m4a");
    let streams = support::ffprobe(&file.path);
    assert!(streams.iter().all(|s| s.codec_type != "video"), "{streams:?}");
    assert_eq!(streams.iter().filter(|s| s.codec_type == "audio").count(), 1);
    assert_eq!(streams[0].codec_name, "aac");
    assert_only_the_file(&file);
    assert_sane_progress(&progress);
    assert!(progress.iter().any(|p| p.post_step == Some(PostStep::ExtractAudio)));
}

#[tokio::test]
async fn muxed_at_720() {
    let (file, _dir, progress) = fetch("/watch/muxed", QualityId::P720, AudioFormat::M4a, true).await;
    assert_eq!(file.ext, "mp4");
    assert_eq!(support::heights_and_audio(&file.path), (vec![720], 1));
    assert_only_the_file(&file);
    assert_sane_progress(&progress);
    assert!(progress.iter().all(|p| p.stages <= 1), "one muxed file");
}

#[tokio::test]
async fn muxed_audio_is_extracted_from_the_muxed_stream() {
    let (file, _dir, _) = fetch("/watch/muxed", QualityId::Audio, AudioFormat::M4a, true).await;
    assert_eq!(file.ext, "m4a");
    assert_eq!(support::heights_and_audio(&file.path), (vec![], 1));
    assert_only_the_file(&file);
}

#[tokio::test]
async fn progressive_without_a_probe() {
    // The download probes by itself; the direct MP4 reports no heights.
    let (file, _dir, progress) = fetch("/watch/progressive", QualityId::Auto, AudioFormat::M4a, false).await;
    assert_eq!(file.ext, "mp4");
    assert_eq!(support::heights_and_audio(&file.path), (vec![360], 1));
    assert_only_the_file(&file);
    assert_sane_progress(&progress);
}

#[tokio::test]
async fn progressive_at_a_height_it_does_not_report() {
    let (file, _dir, _) = fetch("/watch/progressive", QualityId::P720, AudioFormat::M4a, true).await;
    assert_eq!(support::heights_and_audio(&file.path), (vec![360], 1));
}

#[tokio::test]
async fn progressive_audio_as_mp3() {
    let (file, _dir, _) = fetch("/watch/progressive", QualityId::Audio, AudioFormat::Mp3, true).await;
    assert_eq!(file.ext, "mp3");
    let streams = support::ffprobe(&file.path);
    assert!(streams.iter().all(|s| s.codec_type == "audio"), "{streams:?}");
    assert_eq!(streams.first().map(|s| s.codec_name.as_str()), Some("mp3"));
    assert_only_the_file(&file);
}

#[tokio::test]
async fn a_missing_page_fails_with_http_404_and_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = DownloadSpec {
        url: support::site_url("/k/status=404/watch/main"),
        quality: QualityId::P720,
        probe: None,
        dir: dir.path().to_owned(),
        options: engine::DownloadOptions { audio_format: AudioFormat::M4a, ..Default::default() },
    };
    let err =
        support::ytdlp().download(&spec, &support::ffmpeg(), CancellationToken::new(), |_| {}).await.expect_err("404");
    match err {
        EngineError::YtDlp { kind, message } => {
            assert_eq!(kind, FailureKind::Http(404));
            assert!(message.contains("404"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(support::list(dir.path()).is_empty());
}

#[tokio::test]
async fn media_cut_off_mid_download_fails_and_cleans_up() {
    // The page and playlists load, every media response is cut after 50 kB.
    let url = support::site_url("/k/drop=50000/watch/progressive");
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = DownloadSpec {
        url,
        quality: QualityId::Auto,
        probe: None,
        dir: dir.path().to_owned(),
        options: engine::DownloadOptions { audio_format: AudioFormat::M4a, ..Default::default() },
    };
    let err = support::ytdlp()
        .download(&spec, &support::ffmpeg(), CancellationToken::new(), |_| {})
        .await
        .expect_err("the media never arrives whole");
    assert!(matches!(err, EngineError::YtDlp { .. }), "{err:?}");
    assert!(!err.to_string().is_empty());
    assert!(support::list(dir.path()).is_empty(), "{:?}", support::list(dir.path()));
}

/// Starts a slow download (`rate` bytes/s) and returns once it is fetching.
async fn slow_download(
    dir: &Path,
    cancel: CancellationToken,
) -> (tokio::task::JoinHandle<Result<DownloadedFile, EngineError>>, tokio::sync::mpsc::UnboundedReceiver<Progress>) {
    let url = support::site_url("/k/rate=100000/watch/main");
    let probe = support::probe(&url).await;
    let spec = DownloadSpec {
        url,
        quality: QualityId::P1080,
        probe: Some(probe),
        dir: dir.to_owned(),
        options: engine::DownloadOptions { audio_format: AudioFormat::M4a, ..Default::default() },
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        support::ytdlp()
            .download(&spec, &support::ffmpeg(), cancel, move |p| {
                let _ = tx.send(p);
            })
            .await
    });
    // Wait for real bytes.
    let started = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(p) = rx.recv().await {
            if p.downloaded_bytes > 0 {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(started.ok(), Some(true), "the download got going");
    (task, rx)
}

#[tokio::test]
async fn cancel_stops_everything_and_removes_the_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let job = dir.path().join("job");
    let cancel = CancellationToken::new();
    let (task, _rx) = slow_download(&job, cancel.clone()).await;
    let needle = job.to_string_lossy().into_owned();
    assert!(!support::processes_mentioning(&needle).is_empty(), "yt-dlp runs");
    assert!(support::list(&job).iter().any(|n| n.starts_with("media.")));

    let asked = Instant::now();
    cancel.cancel();
    let result = tokio::time::timeout(Duration::from_secs(5), task).await.expect("cancel is prompt").expect("task");
    let took = asked.elapsed();
    assert!(matches!(result, Err(EngineError::Cancelled)), "{result:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(support::processes_mentioning(&needle), Vec::new());
    assert_eq!(support::list(&job), Vec::<String>::new());
}

#[tokio::test]
async fn dropping_the_download_stops_everything_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let job = dir.path().join("job");
    let (task, _rx) = slow_download(&job, CancellationToken::new()).await;
    let needle = job.to_string_lossy().into_owned();
    assert!(!support::processes_mentioning(&needle).is_empty(), "yt-dlp runs");
    task.abort();
    let _ = task.await;
    let gone = support::eventually(Duration::from_secs(3), || {
        support::processes_mentioning(&needle).is_empty() && support::list(&job).is_empty()
    })
    .await;
    assert!(gone, "left: {:?} {:?}", support::processes_mentioning(&needle), support::list(&job));
}

#[tokio::test]
async fn a_download_over_its_time_limit_is_stopped() {
    let url = support::site_url("/k/rate=100000/watch/main");
    let probe = support::probe(&url).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = DownloadSpec {
        url,
        quality: QualityId::P1080,
        probe: Some(probe),
        dir: dir.path().to_owned(),
        options: engine::DownloadOptions { audio_format: AudioFormat::M4a, ..Default::default() },
    };
    let started = Instant::now();
    let err = support::ytdlp()
        .with_download_timeout(Duration::from_secs(2))
        .download(&spec, &support::ffmpeg(), CancellationToken::new(), |_| {})
        .await
        .expect_err("too slow");
    assert!(matches!(err, EngineError::Timeout(d) if d == Duration::from_secs(2)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(support::list(dir.path()).is_empty());
    assert_eq!(support::processes_mentioning(&dir.path().to_string_lossy()), Vec::new());
}
