//! A running Kachay server on 127.0.0.1:0 for integration tests.
#![allow(dead_code)]

pub mod redis;

use leptos::config::LeptosOptions;
use server::{serve, AppState, Config};
use std::net::SocketAddr;
use tokio::sync::oneshot;

pub struct TestApp {
    pub addr: SocketAddr,
    refusals: std::sync::Arc<server::egress::EgressProxy>,
    pub download_dir: std::path::PathBuf,
    pub client: reqwest::Client,
    /// The yt-dlp of the server, with every argument it adds.
    pub ytdlp: std::sync::Arc<engine::YtDlp>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _download_dir: tempfile::TempDir,
    _data_dir: Option<tempfile::TempDir>,
}

impl TestApp {
    pub async fn start() -> TestApp {
        TestApp::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let download_dir = tempfile::tempdir().expect("temp dir");
        // The job database in a directory of its own, so tests never share one.
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config {
            download_dir: download_dir.path().to_path_buf(),
            data_dir: Some(data_dir.path().to_path_buf()),
            ytdlp: Some(fixture::ytdlp_program()),
            probe_timeout_secs: 60,
            // The fixture site is on 127.0.0.1; only loopback is opened.
            allow_private_networks: Some("127.0.0.0/8".into()),
            rate_limit_per_minute: 100_000,
            rate_limit_burst: 10_000,
            ..Config::default()
        };
        adjust(&mut config);
        let options = LeptosOptions::builder().output_name("kachay").site_root("target/site").build();
        let state = AppState::build(config, options).await.expect("state");
        let refusals = state.egress_proxy.clone();
        let ytdlp = state.ytdlp.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, state, async move {
            let _ = stopped.await;
        }));
        // No proxy from the environment: tests must never leave this machine.
        let client = reqwest::Client::builder().no_proxy().build().expect("client");
        TestApp {
            addr,
            refusals,
            download_dir: download_dir.path().to_path_buf(),
            client,
            ytdlp,
            stop: Some(stop),
            task,
            _download_dir: download_dir,
            _data_dir: Some(data_dir),
        }
    }

    /// Connections the egress proxy refused so far.
    pub fn egress_refusals(&self) -> u64 {
        self.refusals.refusals()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// POSTs a JSON value and returns the status and the JSON body.
    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let response = self.client.post(self.url(path)).json(&body).send().await.expect("request");
        let status = response.status().as_u16();
        let json = response.json().await.expect("JSON body");
        (status, json)
    }

    /// POSTs raw bytes with a content type.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: &'static str) -> (u16, serde_json::Value) {
        let response = self
            .client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let json = response.json().await.expect("JSON body");
        (status, json)
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.client.get(self.url(path)).send().await.expect("request");
        let status = response.status().as_u16();
        let json = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    /// Starts a download and returns its id.
    pub async fn start_download(&self, url: &str, quality: &str) -> String {
        let (status, body) =
            self.post_json("/api/download", serde_json::json!({ "url": url, "quality": quality })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["success"], true);
        body["download_id"].as_str().expect("download_id").to_string()
    }

    /// Polls the status until bytes are moving (downloading, progress > 0).
    pub async fn wait_until_downloading(&self, id: &str) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let (_, body) = self.get_json(&format!("/api/status/{id}")).await;
            if body["status"] == "downloading" && body["progress"].as_f64().unwrap_or(0.0) > 0.0 {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "never started: {body}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Polls the status until it is terminal (or the deadline passes).
    pub async fn wait_terminal(&self, id: &str, limit: std::time::Duration) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let (status, body) = self.get_json(&format!("/api/status/{id}")).await;
            assert_eq!(status, 200, "{body}");
            if matches!(body["status"].as_str(), Some("completed" | "error" | "cancelled")) {
                return body;
            }
            assert!(tokio::time::Instant::now() < deadline, "still {body} after {limit:?}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Entries left in the download directory (job dirs).
    pub fn leftovers(&self) -> Vec<String> {
        std::fs::read_dir(&self.download_dir)
            .map(|dir| dir.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    }

    /// Stops the server but keeps its download directory for inspection.
    pub async fn stop_keeping_files(mut self) -> tempfile::TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
        self._download_dir
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl TestApp {
    /// A server on directories the caller owns (and keeps across restarts):
    /// `download_dir` for the files, `data_dir` for the job database.
    pub async fn start_in(
        download_dir: &std::path::Path,
        data_dir: &std::path::Path,
        adjust: impl FnOnce(&mut Config),
    ) -> Result<TestApp, server::state::StartError> {
        let mut config = Config {
            download_dir: download_dir.to_path_buf(),
            data_dir: Some(data_dir.to_path_buf()),
            ytdlp: Some(fixture::ytdlp_program()),
            probe_timeout_secs: 60,
            allow_private_networks: Some("127.0.0.0/8".into()),
            rate_limit_per_minute: 100_000,
            rate_limit_burst: 10_000,
            ..Config::default()
        };
        adjust(&mut config);
        let options = LeptosOptions::builder().output_name("kachay").site_root("target/site").build();
        let state = AppState::build(config, options).await?;
        let refusals = state.egress_proxy.clone();
        let ytdlp = state.ytdlp.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, state, async move {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder().no_proxy().build().expect("client");
        Ok(TestApp {
            addr,
            refusals,
            download_dir: download_dir.to_path_buf(),
            client,
            ytdlp,
            stop: Some(stop),
            task,
            // Not the files' directory: that one stays with the caller.
            _download_dir: tempfile::tempdir().expect("temp dir"),
            _data_dir: None,
        })
    }
}
