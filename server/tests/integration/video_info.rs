//! `POST /api/video-info` against the offline fixture site, with the real yt-dlp.

use crate::common;

use common::TestApp;
use fixture::{FixtureSite, MAIN, MUXED, PROGRESSIVE};
use serde_json::{json, Value};

fn quality_ids(info: &Value) -> Vec<String> {
    info["qualities"]
        .as_array()
        .map(|qs| qs.iter().filter_map(|q| q["id"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn hls_page_is_described_like_the_seed_service() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start().await;

    let (status, body) = app.post_json("/api/video-info", json!({ "url": site.url("/watch/main") })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    let info = &body["info"];
    assert_eq!(info["title"], MAIN.title);
    assert_eq!(info["uploader"], MAIN.uploader);
    assert_eq!(info["duration"], "00:00:20");
    assert_eq!(info["view_count"], "1,234,567");
    assert_eq!(info["views"], MAIN.view_count);
    assert_eq!(info["thumbnail"], site.url(MAIN.thumbnail_path));
    assert_eq!(quality_ids(info), ["1080", "720", "480", "360", "auto", "audio"]);

    // Every choice has a size estimate from the real bitrates, and a higher
    // quality is never estimated smaller than a lower one.
    let sizes: Vec<u64> = info["qualities"]
        .as_array()
        .into_iter()
        .flatten()
        .take(4)
        .map(|q| q["filesize_approx"].as_u64().expect("size for every height"))
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    assert_eq!(info["qualities"][0]["label"], "1080p");

    app.stop().await;
    site.stop().await;
}

#[tokio::test]
async fn muxed_and_direct_media_list_only_what_they_can_deliver() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start().await;

    let (status, body) = app.post_json("/api/video-info", json!({ "url": site.url("/watch/muxed") })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["info"]["title"], MUXED.title);
    assert_eq!(quality_ids(&body["info"]), ["720", "360", "auto", "audio"]);

    let direct = site.url(PROGRESSIVE.content_path);
    let (status, body) = app.post_json("/api/video-info", json!({ "url": direct })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(quality_ids(&body["info"]), ["auto", "audio"]);

    app.stop().await;
    site.stop().await;
}

#[tokio::test]
async fn a_repeated_lookup_is_answered_from_the_cache() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start().await;
    let url = site.url("/watch/muxed");

    let (status, first) = app.post_json("/api/video-info", json!({ "url": url })).await;
    assert_eq!(status, 200, "{first}");
    let hits_after_first = site.hits();
    assert!(hits_after_first > 0);

    // Surrounding whitespace does not make it a different link.
    let (status, second) = app.post_json("/api/video-info", json!({ "url": format!("  {url}\n") })).await;
    assert_eq!(status, 200);
    assert_eq!(first, second);
    assert_eq!(site.hits(), hits_after_first, "the second lookup must not touch the site");

    app.stop().await;
    site.stop().await;
}

#[tokio::test]
async fn failures_are_sentences_with_the_right_status() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start().await;

    // Bad input never reaches yt-dlp.
    for (input, expected) in [
        (json!({ "url": "" }), "Paste a link"),
        (json!({ "url": "not a link" }), "does not look like a link"),
        (json!({ "url": "ftp://127.0.0.1/file" }), "Only http:// and https://"),
        (json!({ "url": "--exec=touch /tmp/owned" }), "does not look like a link"),
        (json!({ "link": "https://example.com" }), "missing"),
        (json!({ "url": 42 }), "missing"),
    ] {
        let (status, body) = app.post_json("/api/video-info", input.clone()).await;
        assert_eq!(status, 400, "{input} → {body}");
        assert_eq!(body["success"], false);
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains(expected), "{input} → {error}");
    }
    assert_eq!(site.hits(), 0);

    let (status, body) = app.post_raw("/api/video-info", "application/json", "{not json").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "The request body is not valid JSON.");

    let (status, body) = app.post_raw("/api/video-info", "text/plain", "url=x").await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap_or_default().contains("JSON"));

    // A page without a video: yt-dlp says "Unsupported URL".
    let (status, body) = app.post_json("/api/video-info", json!({ "url": site.url("/notvideo") })).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "unsupported_url");

    // The site fails: 502, in words, with no trace of yt-dlp or server paths.
    let (status, body) = app.post_json("/api/video-info", json!({ "url": site.url("/k/status=500/watch/main") })).await;
    assert_eq!(status, 502, "{body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(error.contains("HTTP 500"), "{error}");
    for leak in ["Traceback", "yt-dlp", "ERROR:", "/root", "/tmp", ".venv"] {
        assert!(!error.contains(leak), "{error}");
    }

    let (status, body) = app.post_json("/api/video-info", json!({ "url": site.url("/watch/does-not-exist") })).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["code"], "remote_not_found");

    // Nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let (status, body) =
        app.post_json("/api/video-info", json!({ "url": format!("http://127.0.0.1:{port}/watch") })).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["code"], "remote_unreachable");

    app.stop().await;
    site.stop().await;
}

#[tokio::test]
async fn failures_are_not_cached() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start().await;
    let url = site.url("/k/status=503/watch/main");
    let (status, _) = app.post_json("/api/video-info", json!({ "url": url })).await;
    assert_eq!(status, 502);
    let hits = site.hits();
    let (status, _) = app.post_json("/api/video-info", json!({ "url": url })).await;
    assert_eq!(status, 502);
    assert!(site.hits() > hits, "a failed lookup must be retried, not served from the cache");
    app.stop().await;
    site.stop().await;
}

#[tokio::test]
async fn the_page_is_rendered_on_the_server() {
    let app = TestApp::start().await;
    let response = app.client.get(app.url("/")).send().await.expect("request");
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("body");
    assert!(html.contains("<title>Kachay</title>"), "{html}");
    assert!(html.contains("Get info"));
    assert!(html.contains(r#"id="url""#));
    assert!(html.contains("/pkg/kachay.js"), "hydration script is linked");
    app.stop().await;
}

#[tokio::test]
async fn unknown_api_routes_are_404() {
    let app = TestApp::start().await;
    let response = app.client.get(app.url("/api/nothing-here")).send().await.expect("request");
    assert_eq!(response.status(), 404);
    app.stop().await;
}
