//! Several nodes on one Redis (`REDIS_URL`): what they hold together, and
//! what a node does when Redis goes away. Each `TestApp` is a node of its
//! own (its own state, its own memory); only the redis-server, a real one on
//! a loopback port, is shared.

use crate::common::redis::RedisServer;
use crate::common::TestApp;
use serde_json::json;
use std::time::{Duration, Instant};

/// A POST the rate limit counts and the API then refuses at once (400).
async fn post(app: &TestApp, client: &str) -> (u16, serde_json::Value, Option<String>) {
    let response = app
        .client
        .post(app.url("/api/video-info"))
        .header("X-Forwarded-For", client)
        .json(&json!({ "url": "not a link" }))
        .send()
        .await
        .expect("answer");
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (status, response.json().await.unwrap_or_default(), retry_after)
}

async fn node(redis: &str, per_minute: u32, burst: u32) -> TestApp {
    let redis = redis.to_owned();
    TestApp::start_with(move |c| {
        c.redis_url = Some(redis);
        c.rate_limit_per_minute = per_minute;
        c.rate_limit_burst = burst;
        // Each test client is known by its X-Forwarded-For.
        c.trusted_proxies = Some("127.0.0.1/32".into());
    })
    .await
}

#[tokio::test]
async fn the_post_limit_holds_across_web_nodes_together() {
    let redis = RedisServer::start().await;
    let (a, b) = (node(&redis.url(), 6, 6).await, node(&redis.url(), 6, 6).await);
    let mut statuses = Vec::new();
    for i in 0..20 {
        let node = if i % 2 == 0 { &a } else { &b };
        statuses.push(post(node, "198.51.100.7").await.0);
    }
    let served = statuses.iter().filter(|s| **s == 400).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    // Alone, each node would have let 6 through: 12 in all.
    assert_eq!((served, limited), (6, 14), "{statuses:?}");
    // Both nodes refuse now, and tell the client when to come back.
    let (status, body, retry_after) = post(&b, "198.51.100.7").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "rate_limited", "{body}");
    assert!(retry_after.is_some_and(|s| s.parse::<u64>().is_ok_and(|s| (1..=10).contains(&s))), "{body}");
    // Another client is not affected.
    assert_eq!(post(&a, "198.51.100.8").await.0, 400);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn without_redis_a_node_answers_503_at_once_and_recovers_when_it_returns() {
    let mut redis = RedisServer::start().await;
    let app = node(&redis.url(), 1000, 1000).await;
    assert_eq!(post(&app, "198.51.100.9").await.0, 400);

    redis.stop().await;
    let started = Instant::now();
    let (status, body, retry_after) = post(&app, "198.51.100.9").await;
    assert!(started.elapsed() < Duration::from_secs(4), "it must not hang: {:?}", started.elapsed());
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "shared_state_unavailable", "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| e.starts_with("The server cannot reach its shared database")),
        "{body}"
    );
    assert!(body["hint"].as_str().is_some_and(|h| h.contains("REDIS_URL")), "{body}");
    assert_eq!(retry_after.as_deref(), Some("5"));
    // Pages do not need Redis.
    let page = app.client.get(app.url("/")).send().await.expect("page");
    assert_eq!(page.status(), 200);

    redis.restart().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body, _) = post(&app, "198.51.100.9").await;
        if status == 400 {
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert!(Instant::now() < deadline, "the node did not come back after Redis did");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn a_node_starts_while_redis_is_down() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let app = node(&format!("redis://127.0.0.1:{port}"), 1000, 1000).await;
    for _ in 0..3 {
        let started = Instant::now();
        let (status, body, _) = post(&app, "198.51.100.10").await;
        assert_eq!(status, 503, "{body}");
        assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    }
    app.stop().await;
}

#[tokio::test]
async fn a_lookup_on_one_node_serves_the_other_nodes_preview_and_download() {
    let site = fixture::FixtureSite::start().await.expect("fixture");
    let redis = RedisServer::start().await;
    let (a, b) = (node(&redis.url(), 1000, 1000).await, node(&redis.url(), 1000, 1000).await);
    let page = site.url("/watch/main");

    let (status, first) = a.post_json("/api/video-info", json!({ "url": page })).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(site.path_hits("/watch/main"), 1, "yt-dlp read the page once");

    // The other node answers from what the first one shared: no yt-dlp run.
    let (status, second) = b.post_json("/api/video-info", json!({ "url": page })).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["title"], first["title"]);
    assert_eq!(second["formats"], first["formats"]);
    assert_eq!(site.path_hits("/watch/main"), 1, "the second node ran no lookup of its own");

    // A download on that node reuses the extraction too, and completes.
    let id = b.start_download(&page, "360").await;
    let done = b.wait_terminal(&id, Duration::from_secs(90)).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(site.path_hits("/watch/main"), 1, "no extraction for the download either");

    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn the_lookup_limit_holds_across_nodes_together() {
    use crate::hardening_web::{hostile_side, on_127_0_0_2, watch_page, Gauge};
    use axum::extract::{Path, State};
    use axum::response::Html;
    use axum::routing::get;
    use std::sync::atomic::Ordering;

    let media = fixture::FixtureSite::start_on("127.0.0.2:0".parse().expect("addr")).await.expect("fixture");
    let content = media.url(fixture::PROGRESSIVE.content_path);
    let gauge = Gauge::default();
    let origin = on_127_0_0_2(
        axum::Router::new()
            .route(
                "/slow/{n}",
                get(|State((gauge, content)): State<(Gauge, String)>, Path(_n): Path<u32>| async move {
                    let _inside = gauge.enter();
                    // Slower than the lookup wait: a slot taken stays taken.
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    Html(watch_page(&content, ""))
                }),
            )
            .with_state((gauge.clone(), content)),
    )
    .await;
    let redis = RedisServer::start().await;
    let start = |redis: String| {
        TestApp::start_with(move |c| {
            hostile_side(c);
            c.redis_url = Some(redis);
            c.max_concurrent_lookups = Some(2);
            c.lookup_wait_secs = 1;
        })
    };
    let (a, b) = (start(redis.url()).await, start(redis.url()).await);
    let asks = (0..12u32).map(|n| {
        let node = if n % 2 == 0 { &a } else { &b };
        let link = format!("http://{origin}/slow/{n}");
        async move { node.post_json("/api/video-info", json!({ "url": link })).await }
    });
    let answers = futures::future::join_all(asks).await;
    let peak = gauge.peak.load(Ordering::SeqCst);
    // Each node alone would have let 2 through: 4 at once.
    assert!(peak <= 2, "{peak} lookups reached the site at once");
    let served = answers.iter().filter(|(status, _)| *status == 200).count();
    let busy: Vec<_> = answers.iter().filter(|(status, _)| *status == 503).collect();
    assert_eq!(served + busy.len(), 12, "{answers:?}");
    assert_eq!(served, gauge.hits.load(Ordering::SeqCst), "{answers:?}");
    assert!(served >= 1, "the slots were used: {answers:?}");
    assert!(busy.iter().all(|(_, body)| body["code"] == "lookups_busy"), "{busy:?}");
    a.stop().await;
    b.stop().await;
    media.stop().await;
}
