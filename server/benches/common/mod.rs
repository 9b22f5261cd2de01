//! What the benchmarks share: the release server started against the
//! fixture site, on a free port, stopped when dropped.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub base: String,
    _dir: tempfile::TempDir,
}

impl Server {
    /// The server with `MAX_CONCURRENT_DOWNLOADS=max_concurrent`, every
    /// address allowed (the fixture is on loopback), no rate limit, and
    /// `env` on top.
    pub fn start(max_concurrent: usize, env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_server"));
        cmd.env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_OUTPUT_NAME", "kachay")
            .env("DOWNLOAD_DIR", dir.path())
            // The job database with the files, so no run takes up another's jobs.
            .env("DATA_DIR", dir.path().join(".kachay-data"))
            .env("YTDLP", fixture::ytdlp_program())
            .env("MAX_CONCURRENT_DOWNLOADS", max_concurrent.to_string())
            .env("ALLOW_PRIVATE_NETWORKS", "true")
            .env("RATE_LIMIT_PER_MINUTE", "100000")
            .env("RATE_LIMIT_BURST", "100000")
            .env("RUST_LOG", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.stdout(Stdio::null()).spawn().expect("server binary starts");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Server { child, base, _dir: dir }
    }

    /// The server's own peak RSS (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port")
}

pub fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// Submits a download, waits for it to complete, fetches the file and
/// returns the final status JSON.
pub async fn download(client: &reqwest::Client, base: &str, url: &str, quality: &str) -> serde_json::Value {
    download_with(client, base, serde_json::json!({ "url": url, "quality": quality })).await
}

/// [`download`] with any request body (a clip's `start` and `end`, say).
pub async fn download_with(client: &reqwest::Client, base: &str, body: serde_json::Value) -> serde_json::Value {
    let reply: serde_json::Value = client
        .post(format!("{base}/api/download"))
        .json(&body)
        .send()
        .await
        .expect("start")
        .json()
        .await
        .expect("json");
    let id = reply["download_id"].as_str().unwrap_or_else(|| panic!("no id: {reply}")).to_string();
    let status = loop {
        let status: serde_json::Value =
            client.get(format!("{base}/api/status/{id}")).send().await.expect("status").json().await.expect("json");
        match status["status"].as_str() {
            Some("completed") => break status,
            Some("error" | "cancelled") => panic!("download failed: {status}"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let bytes = client.get(format!("{base}/api/file/{id}")).send().await.expect("file").bytes().await.expect("body");
    assert!(!bytes.is_empty());
    status
}
