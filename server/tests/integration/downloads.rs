//! Downloads through the API against the fixture site, with the real yt-dlp
//! and ffmpeg: status, server-sent events, cancel, the file with Range.

use crate::common;

use common::TestApp;
use fixture::{FixtureSite, MAIN};
use futures::StreamExt;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Streams of ffprobe: (codec_type, height).
fn probe_streams(path: &std::path::Path) -> Vec<(String, Option<u64>)> {
    let ffprobe = std::env::var("FFPROBE").unwrap_or_else(|_| "ffprobe".into());
    let output = std::process::Command::new(ffprobe)
        .args(["-v", "error", "-show_streams", "-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    let json: Value = serde_json::from_slice(&output.stdout).expect("ffprobe JSON");
    json["streams"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| (s["codec_type"].as_str().unwrap_or_default().to_string(), s["height"].as_u64()))
        .collect()
}

async fn fetch_file(app: &TestApp, id: &str) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let response = app.client.get(app.url(&format!("/api/file/{id}"))).send().await.expect("request");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    (headers, response.bytes().await.expect("body").to_vec())
}

#[tokio::test]
async fn a_480p_download_completes_with_the_title_and_a_real_file() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start().await;
    let page = site.url("/watch/main");
    // Preview first, as the page does: the download reuses that lookup.
    let (status, _) = app.post_json("/api/video-info", json!({ "url": page })).await;
    assert_eq!(status, 200);
    let hits_after_preview = site.hits();

    let id = app.start_download(&page, "480").await;
    assert!(uuid_like(&id), "{id}");
    let done = app.wait_terminal(&id, Duration::from_secs(90)).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["progress"], 100.0);
    assert_eq!(done["title"], MAIN.title);
    // Kachay's own engine moved the bytes, and counted them.
    assert_eq!(done["engine"], "native", "{done}");
    assert!(done["downloaded_bytes"].as_u64().is_some_and(|b| b > 100_000), "{done}");
    let filename = done["filename"].as_str().expect("filename");
    assert!(filename.starts_with("Тестовое видео 🎬"), "{filename}");
    assert!(filename.ends_with(".mp4"), "{filename}");
    assert!(!filename.contains('/') && !filename.contains('"'), "{filename}");
    let status_text = done.to_string();
    assert!(!status_text.contains(&app.download_dir.display().to_string()), "no server path: {status_text}");

    // The page itself was not fetched again: only media requests followed.
    let (headers, bytes) = fetch_file(&app, &id).await;
    assert_eq!(Some(bytes.len() as u64), done["filesize"].as_u64());
    let disposition = headers["content-disposition"].to_str().expect("ascii header");
    assert!(disposition.starts_with("attachment; filename=\""), "{disposition}");
    assert!(disposition.contains("filename*=UTF-8''%D0%A2%D0%B5%D1%81%D1%82%D0%BE%D0%B2%D0%BE%D0%B5"), "{disposition}");
    assert!(site.hits() > hits_after_preview);

    let saved = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(saved.path(), &bytes).expect("write");
    let streams = probe_streams(saved.path());
    assert!(streams.contains(&("video".into(), Some(480))), "{streams:?}");
    assert!(streams.iter().any(|(kind, _)| kind == "audio"), "{streams:?}");

    // Still there for a retry, and resumable with Range.
    let partial = app
        .client
        .get(app.url(&format!("/api/file/{id}")))
        .header("range", "bytes=100-199")
        .send()
        .await
        .expect("range request");
    assert_eq!(partial.status(), 206);
    assert_eq!(partial.headers()["content-range"], format!("bytes 100-199/{}", bytes.len()));
    assert_eq!(partial.bytes().await.expect("body").as_ref(), &bytes[100..200]);

    app.stop().await;
    site.stop().await;
}

#[tokio::test]
async fn audio_only_has_no_picture_but_its_cover() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start().await;
    let id = app.start_download(&site.url("/watch/muxed"), "audio").await;
    let done = app.wait_terminal(&id, Duration::from_secs(90)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let filename = done["filename"].as_str().expect("filename");
    assert!(filename.ends_with(".m4a"), "{filename}");
    let (_, bytes) = fetch_file(&app, &id).await;
    let saved = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(saved.path(), &bytes).expect("write");
    let streams = probe_streams(saved.path());
    assert!(streams.iter().any(|(kind, _)| kind == "audio"), "{streams:?}");
    // The one picture is the thumbnail (640×360) as cover art.
    let pictures: Vec<_> = streams.iter().filter(|(kind, _)| kind == "video").collect();
    assert_eq!(pictures, [&("video".to_owned(), Some(360))], "{streams:?}");
    app.stop().await;
    site.stop().await;
}

pub(crate) struct SseEvent {
    pub(crate) id: Option<u64>,
    pub(crate) data: Value,
}

/// Reads a whole event stream (until the server ends it).
pub(crate) async fn read_events(app: &TestApp, id: &str, last_event_id: Option<u64>) -> (u16, Vec<SseEvent>, Duration) {
    let mut request = app.client.get(app.url(&format!("/api/events/{id}")));
    if let Some(last) = last_event_id {
        request = request.header("last-event-id", last.to_string());
    }
    let started = Instant::now();
    let response = request.send().await.expect("events");
    let status = response.status().as_u16();
    if status != 200 {
        return (status, Vec::new(), started.elapsed());
    }
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut first_at = None;
    let mut buffer = String::new();
    let mut events = Vec::new();
    let mut body = response.bytes_stream();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(60), body.next()).await.expect("stream stalls") {
        buffer.push_str(&String::from_utf8_lossy(&chunk.expect("chunk")));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut event = SseEvent { id: None, data: Value::Null };
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    event.id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("data:") {
                    event.data = serde_json::from_str(v.trim()).expect("event data is JSON");
                }
            }
            if !event.data.is_null() {
                first_at.get_or_insert_with(|| started.elapsed());
                events.push(event);
            }
        }
    }
    (status, events, first_at.unwrap_or_default())
}

#[tokio::test]
async fn events_start_with_the_current_state_and_end_after_the_terminal_one() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start().await;
    // Throttled so that there is progress to watch.
    let id = app.start_download(&site.url("/k/rate=1500000/watch/main"), "360").await;
    let (status, events, first_after) = read_events(&app, &id, None).await;
    assert_eq!(status, 200);
    assert!(first_after < Duration::from_secs(1), "first event at once, got {first_after:?}");
    assert!(events.len() >= 3, "{} events", events.len());

    let statuses: Vec<&str> = events.iter().filter_map(|e| e.data["status"].as_str()).collect();
    assert_eq!(statuses.last(), Some(&"completed"), "{statuses:?}");
    assert!(statuses.contains(&"downloading"), "{statuses:?}");
    let order = ["queued", "downloading", "merging", "completed"];
    let ranks: Vec<usize> = statuses.iter().map(|s| order.iter().position(|o| o == s).expect("known status")).collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "phases go forward: {statuses:?}");

    let progress: Vec<f64> = events.iter().filter_map(|e| e.data["progress"].as_f64()).collect();
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "progress never goes back: {progress:?}");
    assert!(progress.iter().any(|p| *p > 0.0 && *p < 100.0), "intermediate progress: {progress:?}");
    let ids: Vec<u64> = events.iter().filter_map(|e| e.id).collect();
    assert_eq!(ids.len(), events.len(), "every event has an id");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    // Same JSON as the status endpoint.
    let (_, polled) = app.get_json(&format!("/api/status/{id}")).await;
    assert_eq!(events.last().map(|e| &e.data), Some(&polled));

    // A reconnect that has seen the end is told to stop (204)…
    let (status, _, _) = read_events(&app, &id, ids.last().copied()).await;
    assert_eq!(status, 204);
    // …and one that missed the end gets only what it has not seen.
    let (status, replay, _) = read_events(&app, &id, Some(ids[0])).await;
    assert_eq!(status, 200);
    assert_eq!(replay.len(), 1);
    assert_eq!(replay[0].data["status"], "completed");

    app.stop().await;
    site.stop().await;
}

#[tokio::test]
async fn cancel_stops_the_download_and_leaves_nothing() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start().await;
    let id = app.start_download(&site.url("/k/rate=100000/watch/main"), "1080").await;
    app.wait_until_downloading(&id).await;
    let asked = Instant::now();
    let (status, body) = app.post_json(&format!("/api/cancel/{id}"), json!({})).await;
    assert_eq!((status, body), (200, json!({ "success": true })));
    let done = app.wait_terminal(&id, Duration::from_secs(5)).await;
    assert_eq!(done["status"], "cancelled");
    assert!(asked.elapsed() < Duration::from_secs(2), "took {:?}", asked.elapsed());
    assert!(app.leftovers().is_empty(), "left: {:?}", app.leftovers());
    assert_eq!(no_process_mentions(&app.download_dir), Vec::<String>::new());
    let (status, _) = app.get_json(&format!("/api/file/{id}")).await;
    assert_eq!(status, 409);
    app.stop().await;
    site.stop().await;
}

/// Command lines of live processes that mention `dir`.
fn no_process_mentions(dir: &std::path::Path) -> Vec<String> {
    let needle = dir.display().to_string();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .filter(|cmd| cmd.contains(&needle))
        .collect()
}

#[tokio::test]
async fn bad_requests_and_unknown_ids_say_so() {
    let app = TestApp::start().await;
    for (body, status) in [
        (json!({ "url": "https://example.com/v", "quality": "4k" }), 400),
        (json!({ "url": "https://example.com/v", "quality": "721" }), 400),
        (json!({ "url": "https://example.com/v", "quality": ["720"] }), 400),
        (json!({ "url": "not a link", "quality": "720" }), 400),
        (json!({ "quality": "720" }), 400),
    ] {
        let (got, reply) = app.post_json("/api/download", body.clone()).await;
        assert_eq!(got, status, "{body} → {reply}");
        assert_eq!(reply["success"], false);
        assert!(reply["error"].as_str().is_some_and(|e| e.len() > 10), "{reply}");
    }
    let unknown = "0b6f3f6e-8f0e-4d8a-9a57-2f1f4c1b2a3d";
    for path in [
        format!("/api/status/{unknown}"),
        "/api/status/not-a-uuid".into(),
        format!("/api/events/{unknown}"),
        "/api/events/..%2F..%2Fetc%2Fpasswd".into(),
        format!("/api/file/{unknown}"),
        "/api/file/12345".into(),
    ] {
        let (status, body) = app.get_json(&path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["success"], false, "{path}");
    }
    let (status, body) = app.post_json(&format!("/api/cancel/{unknown}"), json!({})).await;
    assert_eq!((status, body["success"].clone()), (404, json!(false)));
    app.stop().await;
}

#[tokio::test]
async fn a_failing_site_is_reported_at_once_in_words() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start().await;
    let (status, body) =
        app.post_json("/api/download", json!({ "url": site.url("/k/status=404/watch/main"), "quality": "720" })).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["success"], false);
    let error = body["error"].as_str().expect("error text");
    assert!(error.contains("does not exist"), "{error}");
    assert!(app.leftovers().is_empty(), "left: {:?}", app.leftovers());
    app.stop().await;
    site.stop().await;
}

/// A download that runs out of time ends with a code and the limit as a
/// number (it used to have no code: the page showed the English sentence).
#[tokio::test]
async fn a_download_over_its_time_limit_ends_with_timeout() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start_with(|c| c.download_timeout_secs = 2).await;
    let id = app.start_download(&site.url("/k/total=20000/watch/main"), "1080").await;
    let done = app.wait_terminal(&id, Duration::from_secs(60)).await;
    assert_eq!((done["status"].as_str(), done["error_code"].as_str()), (Some("error"), Some("timeout")), "{done}");
    assert_eq!(done["error_detail"]["limit"], 2, "{done}");
    assert!(done["error"].as_str().is_some_and(|e| e.contains("took longer")), "{done}");
    assert!(app.leftovers().is_empty(), "left: {:?}", app.leftovers());
    app.stop().await;
    site.stop().await;
}

fn uuid_like(id: &str) -> bool {
    id.len() == 36 && id.chars().filter(|c| *c == '-').count() == 4
}

#[tokio::test]
async fn a_graceful_shutdown_stops_downloads_and_removes_partial_files() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start().await;
    let id = app.start_download(&site.url("/k/rate=100000/watch/main"), "1080").await;
    app.wait_until_downloading(&id).await;
    assert!(!app.leftovers().is_empty(), "a job dir exists while downloading");
    let stopping = Instant::now();
    let kept = app.stop_keeping_files().await;
    assert!(stopping.elapsed() < Duration::from_secs(5), "shutdown took {:?}", stopping.elapsed());
    let left: Vec<_> = std::fs::read_dir(kept.path()).expect("dir still there").filter_map(Result::ok).collect();
    assert!(left.is_empty(), "partial files removed, left {left:?}");
    assert_eq!(no_process_mentions(kept.path()), Vec::<String>::new());
    site.stop().await;
}
