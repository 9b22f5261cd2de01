//! Benchmarks a user can run: `cargo bench -p server --bench api`.
//!
//! Against the offline fixture site, with the real server binary, yt-dlp and
//! ffmpeg, it measures and prints:
//! 1. wall time of a download through Kachay against plain `yt-dlp` on the same
//!    throttled URL and quality (a ratio, measured in the same run);
//! 2. latency of a repeated `POST /api/video-info` (answered from the cache);
//! 3. the server's peak RSS (VmHWM) while 20 downloads run at once.

mod common;

use common::{median, Server};
use fixture::FixtureSite;
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};

/// Bytes per second each fixture response is throttled to.
const RATE: u64 = 2_000_000;
const QUALITY: &str = "720";
const ROUNDS: usize = 3;

async fn download(client: &reqwest::Client, base: &str, url: &str, quality: &str) -> Duration {
    let started = Instant::now();
    common::download(client, base, url, quality).await;
    started.elapsed()
}

fn plain_ytdlp(url: &str, format: &str) -> Duration {
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let status = Command::new(fixture::ytdlp_program())
        .args(["--ignore-config", "--no-update", "--quiet", "--no-playlist", "-f", format])
        .args(["--merge-output-format", "mp4", "-o"])
        .arg(dir.path().join("out.%(ext)s"))
        .args(["--", url])
        .status()
        .expect("yt-dlp runs");
    assert!(status.success());
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let site = FixtureSite::start().await.expect("fixture site");
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let page = site.url(&format!("/k/rate={RATE}/watch/main"));

    // 1. Our download against plain yt-dlp, alternating, same URL and quality.
    let server = Server::start(3, &[]);
    let info: Value = client
        .post(format!("{}/api/video-info", server.base))
        .json(&json!({ "url": page }))
        .send()
        .await
        .expect("info")
        .json()
        .await
        .expect("json");
    assert_eq!(info["success"], true, "{info}");
    let format = "bv*[height<=720]+ba/b[height<=720]";
    let (mut ours, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ours.push(download(&client, &server.base, &page, QUALITY).await);
        plain.push(tokio::task::block_in_place(|| plain_ytdlp(&page, format)));
    }
    let (ours, plain) = (median(ours), median(plain));
    println!(
        "download {QUALITY}p at {} MB/s: kachay {:.2} s, plain yt-dlp {:.2} s, ratio {:.2} (median of {ROUNDS})",
        RATE / 1_000_000,
        ours.as_secs_f64(),
        plain.as_secs_f64(),
        ours.as_secs_f64() / plain.as_secs_f64()
    );

    // 2. Cache hits of /api/video-info.
    let mut latencies = Vec::new();
    for _ in 0..500 {
        let started = Instant::now();
        let response = client
            .post(format!("{}/api/video-info", server.base))
            .json(&json!({ "url": page }))
            .send()
            .await
            .expect("info");
        assert_eq!(response.status(), 200);
        let _ = response.bytes().await;
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1000.0;
    println!("video-info cache hit: p50 {:.2} ms, p99 {:.2} ms (500 requests)", pick(0.5), pick(0.99));
    drop(server);

    // 3. Peak RSS with 20 downloads at once.
    let server = Server::start(20, &[]);
    let idle = server.peak_rss_kib();
    let slow = site.url("/k/rate=500000/watch/main");
    let started = Instant::now();
    let jobs: Vec<_> = (0..20)
        .map(|_| {
            let (client, base, url) = (client.clone(), server.base.clone(), slow.clone());
            tokio::spawn(async move { download(&client, &base, &url, "360").await })
        })
        .collect();
    for job in jobs {
        job.await.expect("download task");
    }
    println!(
        "20 concurrent 360p downloads: {:.1} s, server peak RSS {:.1} MiB (idle {:.1} MiB; yt-dlp processes not counted)",
        started.elapsed().as_secs_f64(),
        server.peak_rss_kib() as f64 / 1024.0,
        idle as f64 / 1024.0
    );
    drop(server);
    site.stop().await;
}
