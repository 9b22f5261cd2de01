//! A download's options through the API against the fixture site: a clip
//! by time range, subtitles, tags, audio formats; and every way to ask for
//! them wrongly, answered with a 400 and a sentence before anything runs.

use crate::common;

use common::TestApp;
use fixture::{FixtureSite, MAIN};
use serde_json::{json, Value};
use std::time::Duration;

fn ffprobe(bytes: &[u8]) -> Value {
    let saved = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(saved.path(), bytes).expect("write");
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_streams", "-show_format", "-of", "json"])
        .arg(saved.path())
        .output()
        .expect("ffprobe runs");
    serde_json::from_slice(&out.stdout).expect("ffprobe JSON")
}

async fn file_of(app: &TestApp, id: &str) -> Vec<u8> {
    let response = app.client.get(app.url(&format!("/api/file/{id}"))).send().await.expect("request");
    assert_eq!(response.status(), 200);
    response.bytes().await.expect("body").to_vec()
}

#[tokio::test]
async fn a_clip_is_cut_and_named_after_its_range() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start().await;
    let page = site.url("/watch/main");
    let (status, body) =
        app.post_json("/api/download", json!({ "url": page, "quality": "360", "start": "0:04", "end": 8 })).await;
    assert_eq!(status, 200, "{body}");
    let id = body["download_id"].as_str().expect("id").to_owned();
    let done = app.wait_terminal(&id, Duration::from_secs(90)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let filename = done["filename"].as_str().unwrap_or_default();
    assert!(filename.ends_with(" (0m04s-0m08s).mp4"), "{filename}");
    let info = ffprobe(&file_of(&app, &id).await);
    let seconds: f64 = info["format"]["duration"].as_str().and_then(|d| d.parse().ok()).unwrap_or(0.0);
    assert!((seconds - 4.0).abs() <= 0.5, "{seconds} s");
    // Tagged by default.
    assert_eq!(info["format"]["tags"]["title"], MAIN.title);
}

#[tokio::test]
async fn bad_ranges_and_choices_are_400s_with_a_sentence_and_start_nothing() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start().await;
    let page = site.url("/watch/main");
    let cases = [
        (json!({ "start": "4:99" }), "invalid_clip_time"),
        (json!({ "start": "abc" }), "invalid_clip_time"),
        (json!({ "start": -1 }), "invalid_clip_time"),
        (json!({ "start": true }), "invalid_clip_time"),
        (json!({ "start": "0:00:00:04" }), "invalid_clip_time"),
        (json!({ "end": "1e9" }), "invalid_clip_time"),
        (json!({ "start": 8, "end": 4 }), "invalid_clip_range"),
        (json!({ "start": 4, "end": 4.2 }), "invalid_clip_range"),
        (json!({ "start": 4, "end": 600 }), "invalid_clip_range"),
        (json!({ "start": 25 }), "invalid_clip_range"),
        (json!({ "audio_format": "wav" }), "invalid_audio_format"),
        (json!({ "audio_format": "flac", "audio_bitrate": 192 }), "invalid_audio_format"),
        (json!({ "audio_bitrate": 100 }), "invalid_audio_format"),
        (json!({ "audio_bitrate": "-o/etc/passwd" }), "invalid_audio_format"),
        (json!({ "subtitles": ["en"] }), "invalid_subtitles"),
        (json!({ "subtitles": ["-o/etc/passwd"] }), "invalid_subtitles"),
        (json!({ "subtitle_mode": "shell" }), "invalid_subtitles"),
        (json!({ "subtitle_format": "ass" }), "invalid_subtitles"),
    ];
    for (extra, code) in cases {
        let mut body = json!({ "url": page, "quality": "audio" });
        for (k, v) in extra.as_object().into_iter().flatten() {
            body[k] = v.clone();
        }
        let (status, answer) = app.post_json("/api/download", body.clone()).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert_eq!(answer["code"], code, "{body} → {answer}");
        assert!(answer["error"].as_str().is_some_and(|e| e.len() > 10), "a sentence: {answer}");
    }
    // Past the end names the video's length.
    let (_, answer) = app.post_json("/api/download", json!({ "url": page, "start": 4, "end": 600 })).await;
    assert_eq!(answer["detail"]["limit"], 20, "{answer}");
    assert!(answer["error"].as_str().unwrap_or_default().contains("0:20"), "{answer}");
    let (_, list) = app.get_json("/api/downloads").await;
    assert_eq!(list["downloads"].as_array().map(Vec::len), Some(0), "nothing started: {list}");
}

#[tokio::test]
async fn subtitles_are_listed_and_embedded() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start().await;
    let page = site.url("/subtitled");
    let (status, body) = app.post_json("/api/video-info", json!({ "url": page })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["info"]["subtitles"],
        json!([
            { "lang": "en", "automatic": false },
            { "lang": "ru", "automatic": false },
        ])
    );
    let (status, body) = app.post_json("/api/download", json!({ "url": page, "subtitles": ["ru", "en", "ru"] })).await;
    assert_eq!(status, 200, "{body}");
    let id = body["download_id"].as_str().expect("id").to_owned();
    let done = app.wait_terminal(&id, Duration::from_secs(90)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let info = ffprobe(&file_of(&app, &id).await);
    let subs: Vec<&str> = info["streams"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["codec_type"] == "subtitle")
        .filter_map(|s| s["tags"]["language"].as_str())
        .collect();
    assert_eq!(subs, ["rus", "eng"], "each language once, in the order asked");
}

#[tokio::test]
async fn audio_formats_through_the_api() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start().await;
    let page = site.url("/watch/muxed");
    for (format, bitrate, codec, ext) in [
        ("opus", json!(96), "opus", "opus"),
        ("mp3", json!("192k"), "mp3", "mp3"),
        ("flac", Value::Null, "flac", "flac"),
    ] {
        let (status, body) = app
            .post_json(
                "/api/download",
                json!({ "url": page, "quality": "audio", "audio_format": format, "audio_bitrate": bitrate }),
            )
            .await;
        assert_eq!(status, 200, "{format}: {body}");
        let id = body["download_id"].as_str().expect("id").to_owned();
        let done = app.wait_terminal(&id, Duration::from_secs(90)).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert!(done["filename"].as_str().unwrap_or_default().ends_with(&format!(".{ext}")), "{done}");
        let info = ffprobe(&file_of(&app, &id).await);
        let codecs: Vec<&str> = info["streams"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["codec_type"] == "audio")
            .filter_map(|s| s["codec_name"].as_str())
            .collect();
        assert_eq!(codecs, [codec], "{format}");
    }
}

#[tokio::test]
async fn a_batch_takes_the_options_for_every_link() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start().await;
    let urls = [site.url("/watch/muxed"), site.url("/subtitled")];
    // `subtitles` in a batch: each video gets the languages it has.
    let (status, body) = app
        .post_json(
            "/api/download-batch",
            json!({ "urls": urls, "quality": "audio", "audio_format": "mp3", "subtitles": ["en"], "tags": false }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for item in body["downloads"].as_array().into_iter().flatten() {
        let id = item["download_id"].as_str().unwrap_or_else(|| panic!("{item}")).to_owned();
        let done = app.wait_terminal(&id, Duration::from_secs(90)).await;
        assert_eq!(done["status"], "completed", "{done}");
        let info = ffprobe(&file_of(&app, &id).await);
        assert!(info["format"]["tags"]["title"].is_null(), "untagged: {info}");
    }
    let (status, body) = app.post_json("/api/download-batch", json!({ "urls": urls, "start": "x" })).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_clip_time")), "{body}");
}
