//! Playlists and several links at once, against the fixture's RSS feed
//! (yt-dlp's generic extractor reads a feed as a playlist).

use crate::common;

use common::TestApp;
use fixture::{FixtureSite, MAIN, MUXED, PROGRESSIVE};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn a_playlist_link_lists_its_entries_with_one_quality_for_all() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start().await;
    let (status, body) = app.post_json("/api/video-info", json!({ "url": site.url("/playlist.rss") })).await;
    assert_eq!(status, 200, "{body}");
    let playlist = &body["info"]["playlist"];
    let titles: Vec<&str> =
        playlist["entries"].as_array().into_iter().flatten().filter_map(|e| e["title"].as_str()).collect();
    assert_eq!(titles, [MAIN.title, MUXED.title, PROGRESSIVE.title]);
    let urls: Vec<&str> =
        playlist["entries"].as_array().into_iter().flatten().filter_map(|e| e["url"].as_str()).collect();
    assert_eq!(urls, [site.url("/watch/main"), site.url("/watch/muxed"), site.url("/watch/progressive")]);
    assert_eq!(playlist["truncated"], false);
    let ids: Vec<&str> =
        body["info"]["qualities"].as_array().into_iter().flatten().filter_map(|q| q["id"].as_str()).collect();
    assert_eq!(ids, ["2160", "1440", "1080", "720", "480", "360", "auto", "audio"]);

    // A playlist is not one download.
    let (status, body) =
        app.post_json("/api/download", json!({ "url": site.url("/playlist.rss"), "quality": "360" })).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("is_playlist")), "{body}");
    app.stop().await;
    site.stop().await;
}

#[tokio::test]
async fn long_playlists_are_capped() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start_with(|c| c.max_playlist_items = 2).await;
    let (status, body) = app.post_json("/api/video-info", json!({ "url": site.url("/playlist.rss") })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["info"]["playlist"]["entries"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["info"]["playlist"]["truncated"], true);
    app.stop().await;
    site.stop().await;
}

#[tokio::test]
async fn a_batch_starts_one_job_per_link_and_reports_the_bad_ones() {
    let site = FixtureSite::start().await.expect("fixture");
    // A batch is one request for the rate limit, however many links it has.
    let app = TestApp::start_with(|c| {
        c.rate_limit_per_minute = 1;
        c.rate_limit_burst = 1;
    })
    .await;
    let urls = json!([site.url("/watch/muxed"), "not a link", site.url("/watch/progressive")]);
    let (status, body) = app.post_json("/api/download-batch", json!({ "urls": urls, "quality": "360" })).await;
    assert_eq!(status, 200, "{body}");
    let items = body["downloads"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 3);
    assert!(items[1]["download_id"].is_null());
    assert!(items[1]["error"].as_str().unwrap_or_default().contains("does not look like a link"));
    // The same code as the single download's error answer, so pages can word it.
    assert_eq!(items[1]["code"], "invalid_url", "{body}");
    for item in [&items[0], &items[2]] {
        let id = item["download_id"].as_str().expect("id");
        let done: Value = app.wait_terminal(id, Duration::from_secs(90)).await;
        assert_eq!(done["status"], "completed", "{done}");
    }
    let (status, _) = app.post_json("/api/download-batch", json!({ "urls": [], "quality": "360" })).await;
    assert_eq!(status, 429, "the second POST in the minute is limited");
    app.stop().await;
    site.stop().await;
}
