//! A public instance shared fairly and kept within its disk: per-client
//! running slots handed out round robin, a speed floor, `DISK_QUOTA` and
//! `MIN_FREE_DISK` checked when a job starts and while it writes, and a
//! batch endpoint that checks every link as `/api/download` does.
//!
//! Clients differ by their socket's address: 127.0.1.x on loopback.

use crate::common;

use common::TestApp;
use fixture::FixtureSite;
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A client whose connections come from `127.0.1.{n}`.
fn client_from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 1, n)))
        .build()
        .expect("client")
}

async fn post(app: &TestApp, client: &reqwest::Client, path: &str, body: Value) -> (u16, Value) {
    let response = client.post(app.url(path)).json(&body).send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

async fn start(app: &TestApp, client: &reqwest::Client, url: &str, quality: &str) -> String {
    let (status, body) = post(app, client, "/api/download", json!({ "url": url, "quality": quality })).await;
    assert_eq!(status, 200, "{body}");
    body["download_id"].as_str().expect("download_id").to_string()
}

async fn status_of(app: &TestApp, id: &str) -> Value {
    app.get_json(&format!("/api/status/{id}")).await.1
}

async fn statuses(app: &TestApp, ids: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for id in ids {
        out.push(status_of(app, id).await["status"].as_str().unwrap_or_default().to_string());
    }
    out
}

async fn cancel_all(app: &TestApp, ids: &[String]) {
    for id in ids {
        let _ = app.post_json(&format!("/api/cancel/{id}"), json!({})).await;
    }
    for id in ids {
        app.wait_terminal(id, Duration::from_secs(20)).await;
    }
}

/// Bytes really allocated under `dir` (sparse files count what is written).
fn allocated(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.path().symlink_metadata() {
            Ok(m) if m.is_dir() => allocated(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

#[tokio::test]
async fn one_client_cannot_hold_every_slot() {
    let site = FixtureSite::start().await.expect("fixture");
    // Three slots (the default), so two per client. No speed floor here:
    // the trickle is the point.
    let app = TestApp::start_with(|c| c.min_speed_window_secs = 0).await;
    let greedy = client_from(1);
    let other = client_from(2);
    // Six downloads sharing 40 KB/s: minutes each.
    let slow = site.url("/k/total=40000/watch/main");
    let mut mine = Vec::new();
    for _ in 0..6 {
        mine.push(start(&app, &greedy, &slow, "1080").await);
    }
    let theirs = start(&app, &other, &site.url("/watch/progressive"), "360").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let done = loop {
        let now = statuses(&app, &mine).await;
        let running = now.iter().filter(|s| *s == "downloading").count();
        assert!(running <= 2, "one client runs at most two: {now:?}");
        assert!(now.iter().all(|s| s == "downloading" || s == "queued"), "{now:?}");
        let body = status_of(&app, &theirs).await;
        if body["status"] == "completed" || body["status"] == "error" {
            break body;
        }
        assert!(tokio::time::Instant::now() < deadline, "the other client's video is still {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(done["status"], "completed", "{done}");
    let now = statuses(&app, &mine).await;
    assert_eq!(now.iter().filter(|s| *s == "downloading").count(), 2, "{now:?}");
    assert_eq!(now.iter().filter(|s| *s == "queued").count(), 4, "{now:?}");
    cancel_all(&app, &mine).await;
    app.stop().await;
    site.stop().await;
}

#[tokio::test]
async fn a_freed_slot_goes_to_the_next_client_and_cancelled_jobs_leave_the_queue() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start_with(|c| {
        c.max_concurrent_downloads = 1;
        c.min_speed_window_secs = 0;
    })
    .await;
    let a = client_from(11);
    let b = client_from(12);
    let slow = site.url("/k/total=20000/watch/progressive");
    let a1 = start(&app, &a, &slow, "360").await;
    app.wait_until_downloading(&a1).await;
    let a2 = start(&app, &a, &slow, "360").await;
    let a3 = start(&app, &a, &slow, "360").await;
    let b1 = start(&app, &b, &site.url("/watch/progressive"), "360").await;
    assert_eq!(statuses(&app, &[a2.clone(), a3.clone(), b1.clone()]).await, ["queued"; 3]);

    // A queued job cancelled is gone at once.
    let (status, _) = app.post_json(&format!("/api/cancel/{a3}"), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(app.wait_terminal(&a3, Duration::from_secs(2)).await["status"], "cancelled");

    // The slot a1 frees goes to client b, who has waited, not to a's next.
    let (status, _) = app.post_json(&format!("/api/cancel/{a1}"), json!({})).await;
    assert_eq!(status, 200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let body = status_of(&app, &b1).await;
        if body["status"] == "completed" {
            break;
        }
        assert_ne!(body["status"], "error", "{body}");
        assert_eq!(status_of(&app, &a2).await["status"], "queued", "a's second job jumped the line");
        assert!(tokio::time::Instant::now() < deadline, "b's job is still {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Then a's next job runs.
    app.wait_until_downloading(&a2).await;
    cancel_all(&app, &[a1, a2]).await;
    app.stop().await;
    site.stop().await;
}

#[tokio::test]
async fn a_download_below_the_speed_floor_stops_with_too_slow() {
    let site = FixtureSite::start().await.expect("fixture");
    for engine in ["native", "yt-dlp"] {
        let app = TestApp::start_with(|c| {
            c.min_speed = Some("100K".into());
            c.min_speed_window_secs = 4;
            c.download_engine = Some(engine.into());
        })
        .await;
        // A trickle: 5 KB/s for the whole site.
        let id = app.start_download(&site.url("/k/total=5000/watch/main"), "1080").await;
        let started = std::time::Instant::now();
        let done = app.wait_terminal(&id, Duration::from_secs(60)).await;
        assert_eq!(done["status"], "error", "{engine}: {done}");
        assert_eq!(done["error_code"], "too_slow", "{engine}: {done}");
        let sentence = done["error"].as_str().unwrap_or_default();
        assert!(sentence.contains("100.00 KiB/s") && sentence.contains("4s"), "{sentence}");
        assert!(started.elapsed() >= Duration::from_secs(4), "{engine}: stopped before the window passed");
        assert!(app.leftovers().is_empty(), "{engine}: {:?}", app.leftovers());
        // The same floor lets a healthy download through.
        let id = app.start_download(&site.url("/watch/progressive"), "360").await;
        let done = app.wait_terminal(&id, Duration::from_secs(60)).await;
        assert_eq!(done["status"], "completed", "{engine}: {done}");
        app.stop().await;
    }
    site.stop().await;
}

#[tokio::test]
async fn a_batch_cannot_write_past_the_disk_quota() {
    let site = FixtureSite::start().await.expect("fixture");
    const QUOTA: u64 = 24 << 20;
    // One write buffer: what a download writes between two checks (4
    // reports a second at the 4 MB/s the site is held to).
    const BUFFER: u64 = 2 << 20;
    let app = TestApp::start_with(|c| {
        c.disk_quota = Some("24M".into());
        c.min_speed_window_secs = 0;
    })
    .await;
    let peak = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (dir, peak, stop) = (app.download_dir.clone(), Arc::clone(&peak), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(allocated(&dir), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    // Six 9.7 MB files: two fit.
    let url = site.url("/k/total=4000000/watch/large");
    let (status, body) = app.post_json("/api/download-batch", json!({ "urls": vec![url; 6], "quality": "auto" })).await;
    assert_eq!(status, 200, "{body}");
    let mut ends = Vec::new();
    for item in body["downloads"].as_array().cloned().unwrap_or_default() {
        match item["download_id"].as_str() {
            Some(id) => {
                let done = app.wait_terminal(id, Duration::from_secs(120)).await;
                ends.push((done["status"].as_str().map(str::to_owned), done["error_code"].as_str().map(str::to_owned)));
            }
            None => ends.push((None, item["code"].as_str().map(str::to_owned))),
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    let completed = ends.iter().filter(|e| e.0.as_deref() == Some("completed")).count();
    assert!((1..=2).contains(&completed), "{ends:?}");
    for end in ends.iter().filter(|e| e.0.as_deref() != Some("completed")) {
        assert_eq!(end.1.as_deref(), Some("disk_full"), "{ends:?}");
    }
    let peak = peak.load(Ordering::Relaxed);
    eprintln!("peak {peak} bytes allocated, quota {QUOTA}: {ends:?}");
    assert!(peak <= QUOTA + BUFFER, "{peak} bytes on disk, quota {QUOTA}: {ends:?}");
    // Only the completed files are left.
    assert_eq!(app.leftovers().len(), completed, "{:?}", app.leftovers());
    app.stop().await;
    site.stop().await;
}

#[tokio::test]
async fn the_quota_is_checked_again_when_a_queued_job_starts() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start_with(|c| {
        c.disk_quota = Some("2M".into());
        c.max_concurrent_downloads = 1;
        c.min_speed_window_secs = 0;
    })
    .await;
    let first = app.start_download(&site.url("/k/total=20000/watch/progressive"), "360").await;
    app.wait_until_downloading(&first).await;
    let queued = app.start_download(&site.url("/watch/progressive"), "360").await;
    // While it waits, something else fills the download space.
    std::fs::write(app.download_dir.join("other.bin"), vec![1u8; 3 << 20]).expect("write");
    let (status, _) = app.post_json(&format!("/api/cancel/{first}"), json!({})).await;
    assert_eq!(status, 200);
    let done = app.wait_terminal(&queued, Duration::from_secs(30)).await;
    assert_eq!((done["status"].as_str(), done["error_code"].as_str()), (Some("error"), Some("disk_full")), "{done}");
    assert!(done["error"].as_str().unwrap_or_default().contains("full"), "{done}");
    assert_eq!(app.leftovers(), ["other.bin"]);
    // Room again: the next one goes through.
    std::fs::remove_file(app.download_dir.join("other.bin")).expect("remove");
    let id = app.start_download(&site.url("/watch/progressive"), "360").await;
    assert_eq!(app.wait_terminal(&id, Duration::from_secs(60)).await["status"], "completed");
    app.stop().await;
    site.stop().await;
}

#[tokio::test]
async fn min_free_disk_refuses_downloads_when_the_disk_is_nearly_full() {
    let site = FixtureSite::start().await.expect("fixture");
    // No disk has a petabyte free.
    let app = TestApp::start_with(|c| c.min_free_disk = Some("1P".into())).await;
    let url = site.url("/watch/progressive");
    let (status, body) = app.post_json("/api/download", json!({ "url": url, "quality": "360" })).await;
    assert_eq!((status, body["code"].as_str()), (507, Some("disk_full")), "{body}");
    let (status, body) = app.post_json("/api/download-batch", json!({ "urls": [url], "quality": "360" })).await;
    assert_eq!((status, body["code"].as_str()), (507, Some("disk_full")), "{body}");
    app.stop().await;
    // The default (1 GiB) leaves this machine room to work.
    let app = TestApp::start().await;
    let id = app.start_download(&url, "360").await;
    assert_eq!(app.wait_terminal(&id, Duration::from_secs(60)).await["status"], "completed");
    app.stop().await;
    site.stop().await;
}

#[tokio::test]
async fn a_batch_checks_every_link_like_a_single_download() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start_with(|c| {
        c.max_duration_secs = Some(15);
        c.max_jobs_per_client = 3;
    })
    .await;
    // main is 20 s: too long. muxed (10 s) and progressive (8 s) are fine.
    let urls = json!([site.url("/watch/main"), site.url("/watch/muxed"), site.url("/watch/progressive")]);
    let (status, body) = app.post_json("/api/download-batch", json!({ "urls": urls, "quality": "360" })).await;
    assert_eq!(status, 200, "{body}");
    let items = body["downloads"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 3, "{body}");
    assert_eq!(items[0]["code"], "too_long", "{body}");
    assert!(items[0]["download_id"].is_null(), "{body}");
    assert!(items[0]["error"].as_str().unwrap_or_default().contains("longer than this server allows"), "{body}");
    let single = app.post_json("/api/download", json!({ "url": site.url("/watch/main"), "quality": "360" })).await;
    assert_eq!(single.1["code"], items[0]["code"], "the same answer as /api/download: {}", single.1);
    for item in &items[1..] {
        let id = item["download_id"].as_str().expect("id");
        assert_eq!(app.wait_terminal(id, Duration::from_secs(90)).await["status"], "completed");
    }
    // Per-client limits hold per link: finished jobs do not count, the
    // batch's own entries do.
    let slow = site.url("/k/total=20000/watch/progressive");
    let (status, body) =
        app.post_json("/api/download-batch", json!({ "urls": [slow, slow, slow], "quality": "360" })).await;
    assert_eq!(status, 200, "{body}");
    let items = body["downloads"].as_array().cloned().unwrap_or_default();
    let ids: Vec<String> = items.iter().filter_map(|i| i["download_id"].as_str().map(str::to_owned)).collect();
    let refused: Vec<&str> = items.iter().filter_map(|i| i["code"].as_str()).collect();
    assert_eq!((ids.len(), refused), (3, Vec::<&str>::new()), "finished jobs do not count: {body}");
    let (status, body) = app
        .post_json("/api/download-batch", json!({ "urls": [slow, site.url("/watch/muxed")], "quality": "360" }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["downloads"][0]["code"], "too_many_downloads", "{body}");
    assert_eq!(body["downloads"][1]["code"], "too_many_downloads", "{body}");
    cancel_all(&app, &ids).await;
    app.stop().await;
    site.stop().await;
}
