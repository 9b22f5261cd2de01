//! The download options on the yt-dlp path (`YtDlp::download`), against
//! real yt-dlp and ffmpeg and the fixture site: a clip's length, the audio
//! codecs and their tags and covers, subtitles embedded or beside the
//! video in a ZIP, tags off; all checked with ffprobe.

use crate::support;

use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};

use contract::clip::ClipRange;
use engine::download::{AudioFormat, DownloadSpec, DownloadedFile};
use engine::progress::{Phase, Progress};
use engine::{DownloadOptions, EngineError, QualityId};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

fn clip(start_ms: u64, end_ms: u64) -> Option<ClipRange> {
    Some(ClipRange { start_ms, end_ms })
}

async fn try_fetch(
    path: &str,
    quality: QualityId,
    options: DownloadOptions,
) -> (Result<DownloadedFile, EngineError>, tempfile::TempDir, Vec<Progress>) {
    let url = support::site_url(path);
    let probe = support::probe(&url).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let spec = DownloadSpec { url, quality, probe: Some(probe), dir: dir.path().join("job"), options };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let result = support::ytdlp()
        .download(&spec, &support::ffmpeg(), CancellationToken::new(), move |p| {
            sink.lock().unwrap_or_else(|e| panic!("progress list: {e}")).push(p)
        })
        .await;
    let progress = seen.lock().unwrap_or_else(|e| panic!("progress list: {e}")).clone();
    (result, dir, progress)
}

/// Downloads `path` at `quality` with `options` (probing first, like the
/// server); the file, its directory and the progress reported.
async fn fetch(
    path: &str,
    quality: QualityId,
    options: DownloadOptions,
) -> (DownloadedFile, tempfile::TempDir, Vec<Progress>) {
    let (result, dir, progress) = try_fetch(path, quality, options.clone()).await;
    let file = result.unwrap_or_else(|e| panic!("{path} at {quality} with {options:?}: {e}"));
    (file, dir, progress)
}

/// Only the finished file is left, and the progress went up to 100 %.
fn assert_clean_and_complete(file: &DownloadedFile, progress: &[Progress]) {
    let dir = file.path.parent().unwrap_or_else(|| panic!("no directory"));
    let name = file.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    assert_eq!(name, format!("media.{}", file.ext));
    assert_eq!(support::list(dir), [name], "leftovers next to the file");
    for w in progress.windows(2) {
        assert!(w[1].percent >= w[0].percent, "{} then {}", w[0].percent, w[1].percent);
    }
    let last = progress.last().unwrap_or_else(|| panic!("no progress"));
    assert_eq!((last.phase, last.percent), (Phase::Completed, 100.0));
}

/// `ffprobe -v error -show_streams -show_format -of json FILE`.
fn probe_json(path: &Path) -> Value {
    let ffprobe = std::env::var("FFPROBE").unwrap_or_else(|_| "ffprobe".to_owned());
    let out = std::process::Command::new(ffprobe)
        .args(["-v", "error", "-show_streams", "-show_format", "-of", "json"])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("ffprobe: {e}"));
    assert!(out.status.success(), "ffprobe on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("ffprobe JSON: {e}"))
}

fn duration(probed: &Value) -> f64 {
    probed["format"]["duration"].as_str().and_then(|d| d.parse().ok()).unwrap_or_else(|| panic!("{probed}"))
}

fn streams<'a>(probed: &'a Value, kind: &str) -> Vec<&'a Value> {
    probed["streams"].as_array().into_iter().flatten().filter(|s| s["codec_type"] == kind).collect()
}

/// A tag of the file, or of its sound (Ogg keeps its comments per stream).
fn tag(probed: &Value, key: &str) -> Option<String> {
    let find = |tags: &Value| {
        tags.as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_owned)
    };
    find(&probed["format"]["tags"]).or_else(|| streams(probed, "audio").first().and_then(|s| find(&s["tags"])))
}

fn has_cover(probed: &Value) -> bool {
    streams(probed, "video").iter().any(|s| s["disposition"]["attached_pic"] == 1)
}

fn zip_entries(path: &Path) -> Vec<(String, Vec<u8>)> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut archive = zip::ZipArchive::new(file).unwrap_or_else(|e| panic!("{e}"));
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).unwrap_or_else(|e| panic!("{e}"));
            let mut body = Vec::new();
            entry.read_to_end(&mut body).unwrap_or_else(|e| panic!("{e}"));
            (entry.name().to_owned(), body)
        })
        .collect()
}

fn untagged() -> DownloadOptions {
    DownloadOptions { tags: false, ..DownloadOptions::default() }
}

#[tokio::test]
async fn a_clip_of_the_hls_video_lasts_what_was_asked() {
    let options = DownloadOptions { clip: clip(4000, 8000), ..untagged() };
    let (file, _dir, progress) = fetch("/watch/main", QualityId::P720, options).await;
    assert_eq!(file.ext, "mp4");
    let probed = probe_json(&file.path);
    let seconds = duration(&probed);
    assert!((seconds - 4.0).abs() <= 1.0, "{seconds} s");
    assert_eq!(streams(&probed, "video").len(), 1);
    assert_eq!(streams(&probed, "audio").len(), 1);
    assert_clean_and_complete(&file, &progress);
    // One ffmpeg fetched the range of both formats: one stage.
    assert!(progress.iter().all(|p| p.stages == 1), "{progress:?}");
    println!("HLS clip 4-8 s: {seconds} s");
}

#[tokio::test]
async fn a_slow_clip_shows_its_progress_while_ffmpeg_fetches_it() {
    // yt-dlp's ffmpeg downloader says nothing until it is done.
    let options = DownloadOptions { clip: clip(2000, 14_000), ..untagged() };
    let (file, _dir, progress) = fetch("/k/rate=200000/watch/main", QualityId::P720, options).await;
    assert_clean_and_complete(&file, &progress);
    let midway: Vec<f64> = progress
        .iter()
        .filter(|p| p.phase == Phase::Downloading && p.downloaded_bytes > 0 && p.percent < 95.0)
        .map(|p| p.percent)
        .collect();
    assert!(midway.len() >= 2 && midway.iter().any(|p| *p > 5.0), "{progress:?}");
    println!("slow clip 2-14 s: {} s, progress {midway:?}", duration(&probe_json(&file.path)));
}

#[tokio::test]
async fn a_clip_of_the_progressive_video_works() {
    let options = DownloadOptions { clip: clip(2500, 6000), ..untagged() };
    let (file, _dir, progress) = fetch("/watch/progressive", QualityId::Auto, options).await;
    assert_eq!(file.ext, "mp4");
    let probed = probe_json(&file.path);
    let seconds = duration(&probed);
    assert!((seconds - 3.5).abs() <= 1.0, "{seconds} s");
    assert_eq!(support::heights_and_audio(&file.path), (vec![360], 1));
    assert_clean_and_complete(&file, &progress);
    println!("progressive clip 2.5-6 s: {seconds} s");
}

/// An audio download in `format` (at `kbps`), tagged: its codec, its
/// title and artist, its cover.
async fn tagged_audio(format: AudioFormat, kbps: Option<u32>, codec: &str) -> Value {
    let options = DownloadOptions { audio_format: format, audio_bitrate: kbps, ..DownloadOptions::default() };
    let (file, _dir, progress) = fetch("/watch/main", QualityId::Audio, options).await;
    assert_eq!(file.ext, format.as_str());
    let probed = probe_json(&file.path);
    let audio = streams(&probed, "audio");
    assert_eq!(audio.len(), 1, "{probed}");
    assert_eq!(audio[0]["codec_name"], codec, "{probed}");
    assert!(tag(&probed, "title").is_some_and(|t| t.contains("Тестовое видео")), "{probed}");
    assert_eq!(tag(&probed, "artist").as_deref(), Some("Тестовый Автор"), "{probed}");
    assert!(has_cover(&probed), "{format:?}: no cover: {probed}");
    assert_clean_and_complete(&file, &progress);
    println!(
        "{}: codec {codec}, bit_rate {}, {} s, cover {}",
        format.as_str(),
        audio[0]["bit_rate"].as_str().or(probed["format"]["bit_rate"].as_str()).unwrap_or("?"),
        duration(&probed),
        has_cover(&probed)
    );
    probed
}

#[tokio::test]
async fn audio_as_opus_is_tagged_with_a_cover() {
    tagged_audio(AudioFormat::Opus, None, "opus").await;
}

#[tokio::test]
async fn audio_as_flac_is_tagged_with_a_cover() {
    tagged_audio(AudioFormat::Flac, None, "flac").await;
}

#[tokio::test]
async fn audio_as_mp3_at_128k() {
    let probed = tagged_audio(AudioFormat::Mp3, Some(128), "mp3").await;
    let bit_rate: u64 = streams(&probed, "audio")[0]["bit_rate"].as_str().and_then(|b| b.parse().ok()).unwrap_or(0);
    assert_eq!(bit_rate, 128_000, "{probed}");
}

#[tokio::test]
async fn audio_as_m4a_copies_the_aac_and_carries_a_cover() {
    tagged_audio(AudioFormat::M4a, None, "aac").await;
}

#[tokio::test]
async fn subtitles_embedded_are_two_mov_text_tracks() {
    let options = DownloadOptions { subtitles: vec!["en".into(), "ru".into()], ..DownloadOptions::default() };
    let (file, _dir, progress) = fetch("/subtitled", QualityId::Auto, options).await;
    assert_eq!(file.ext, "mp4");
    let probed = probe_json(&file.path);
    let subs = streams(&probed, "subtitle");
    let seen: Vec<(&str, &str)> = subs
        .iter()
        .map(|s| (s["codec_name"].as_str().unwrap_or(""), s["tags"]["language"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(seen, [("mov_text", "eng"), ("mov_text", "rus")], "{probed}");
    assert!(tag(&probed, "title").is_some(), "tags are on: {probed}");
    assert_clean_and_complete(&file, &progress);
}

#[tokio::test]
async fn subtitle_files_come_in_a_zip_with_the_video() {
    let options = DownloadOptions {
        subtitles: vec!["en".into(), "ru".into()],
        subtitle_mode: engine::download::SubtitleMode::Files,
        ..DownloadOptions::default()
    };
    let (file, _dir, progress) = fetch("/subtitled", QualityId::Auto, options).await;
    assert_eq!(file.ext, "zip");
    assert_clean_and_complete(&file, &progress);
    let entries = zip_entries(&file.path);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    let stem = names[0].strip_suffix(".mp4").unwrap_or_else(|| panic!("the video first: {names:?}"));
    assert_eq!(names[1..], [format!("{stem}.en.srt"), format!("{stem}.ru.srt")], "{names:?}");
    let text = |i: usize| String::from_utf8_lossy(&entries[i].1).into_owned();
    assert!(text(1).starts_with("1\n00:00:00,000 --> 00:00:02,000\nFirst line"), "{}", text(1));
    assert!(text(2).contains("00:00:06,000 --> 00:00:08,000\nЧетвёртая строка"), "{}", text(2));
    // Files only: nothing embedded.
    let inner = file.path.with_file_name("inner.mp4");
    std::fs::write(&inner, &entries[0].1).unwrap_or_else(|e| panic!("{e}"));
    assert!(streams(&probe_json(&inner), "subtitle").is_empty());
}

#[tokio::test]
async fn a_clip_shifts_its_subtitles_both_in_the_file_and_beside_it() {
    let options = DownloadOptions {
        clip: clip(3000, 7000),
        subtitles: vec!["en".into(), "ru".into()],
        subtitle_mode: engine::download::SubtitleMode::Both,
        subtitle_format: engine::download::SubtitleFormat::Vtt,
        ..DownloadOptions::default()
    };
    let (file, _dir, progress) = fetch("/subtitled", QualityId::Auto, options).await;
    assert_eq!(file.ext, "zip");
    assert_clean_and_complete(&file, &progress);
    let entries = zip_entries(&file.path);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names[0].ends_with("(0m03s-0m07s).mp4"), "{names:?}");
    assert!(names[1].ends_with(".en.vtt") && names[2].ends_with(".ru.vtt"), "{names:?}");
    let en = String::from_utf8_lossy(&entries[1].1).into_owned();
    // 2–4 s "Second line" is now 0–1 s; "Fourth line" (6–8 s) ends with the clip.
    assert!(en.starts_with("WEBVTT"), "{en}");
    assert!(en.contains("00:00:00.000 --> 00:00:01.000\nSecond line"), "{en}");
    assert!(en.contains("00:00:03.000 --> 00:00:04.000\nFourth line"), "{en}");
    assert!(!en.contains("First line"), "{en}");
    let inner = file.path.with_file_name("inner.mp4");
    std::fs::write(&inner, &entries[0].1).unwrap_or_else(|e| panic!("{e}"));
    let probed = probe_json(&inner);
    // The whole video's subtitles would make it 8 s long.
    let seconds = duration(&probed);
    assert!((seconds - 4.0).abs() <= 1.0, "{seconds} s: {probed}");
    assert_eq!(streams(&probed, "subtitle").len(), 2, "{probed}");
    println!("subtitled clip 3-7 s: {seconds} s, entries {names:?}");
}

#[tokio::test]
async fn tags_off_leave_no_title() {
    let (file, _dir, _) = fetch("/watch/progressive", QualityId::Auto, untagged()).await;
    assert_eq!(tag(&probe_json(&file.path), "title"), None);
    let (file, _dir, _) = fetch("/watch/progressive", QualityId::Auto, DownloadOptions::default()).await;
    assert!(tag(&probe_json(&file.path), "title").is_some_and(|t| t.starts_with("Progressive")));
}

#[tokio::test]
async fn a_language_the_video_lacks_fails_before_anything_is_written() {
    let options = DownloadOptions { subtitles: vec!["-o/etc/x".into()], ..DownloadOptions::default() };
    let (result, dir, _) = try_fetch("/subtitled", QualityId::Auto, options).await;
    let err = result.err().unwrap_or_else(|| panic!("downloaded"));
    assert!(err.to_string().contains("cannot be downloaded"), "{err}");
    assert_eq!(support::list(dir.path()), Vec::<String>::new());
    let options = DownloadOptions { subtitles: vec!["de".into()], ..DownloadOptions::default() };
    let (result, dir, _) = try_fetch("/subtitled", QualityId::Auto, options).await;
    assert!(result.err().is_some_and(|e| e.to_string().contains("no subtitles in \"de\"")));
    assert_eq!(support::list(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn a_failed_download_with_subtitles_leaves_nothing() {
    // The subtitles arrive, the video is cut off after 50 kB.
    let options = DownloadOptions {
        subtitles: vec!["en".into(), "ru".into()],
        subtitle_mode: engine::download::SubtitleMode::Both,
        ..DownloadOptions::default()
    };
    let (result, dir, _) = try_fetch("/k/drop=50000/subtitled", QualityId::Auto, options).await;
    assert!(matches!(result, Err(EngineError::YtDlp { .. })), "{result:?}");
    assert_eq!(support::list(&dir.path().join("job")), Vec::<String>::new());
}
