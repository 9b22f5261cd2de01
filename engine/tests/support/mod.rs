//! Helpers for the download and job tests: one fixture site shared by all
//! tests of a test binary, ffprobe, and a look at /proc.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use engine::{Probe, YtDlp};

/// `http://127.0.0.1:PORT` + `path` on a fixture site started once per test
/// binary. It runs on its own thread and runtime, so it outlives the
/// runtime of any one `#[tokio::test]`.
pub fn site_url(path: &str) -> String {
    fixture::shared_site_url(path)
}

pub fn ytdlp() -> YtDlp {
    YtDlp::new(fixture::ytdlp_program())
}

pub fn ffmpeg() -> PathBuf {
    PathBuf::from(fixture::ffmpeg_program())
}

type ProbeCache = std::sync::Mutex<Vec<(String, Arc<Probe>)>>;

/// Probes a fixture page once per test binary and URL.
pub async fn probe(url: &str) -> Arc<Probe> {
    static CACHE: OnceLock<ProbeCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache
        .lock()
        .expect("probe cache")
        .iter()
        .find(|(u, _)| u == url)
        .map(|(_, p)| Arc::clone(p))
    {
        return hit;
    }
    let probe = Arc::new(ytdlp().probe(url).await.expect("fixture page probes"));
    cache
        .lock()
        .expect("probe cache")
        .push((url.to_owned(), Arc::clone(&probe)));
    probe
}

/// One stream as ffprobe reports it.
#[derive(Debug, Clone)]
pub struct Stream {
    pub codec_type: String,
    pub codec_name: String,
    pub height: Option<u64>,
}

/// `ffprobe -v error -show_streams -of json FILE`.
pub async fn ffprobe(path: &Path) -> Vec<Stream> {
    let ffprobe = std::env::var("FFPROBE").unwrap_or_else(|_| "ffprobe".to_owned());
    let out = tokio::process::Command::new(ffprobe)
        .args(["-v", "error", "-show_streams", "-of", "json"])
        .arg(path)
        .output()
        .await
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "ffprobe failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ffprobe JSON");
    json["streams"]
        .as_array()
        .map(|streams| {
            streams
                .iter()
                .map(|s| Stream {
                    codec_type: s["codec_type"].as_str().unwrap_or_default().to_owned(),
                    codec_name: s["codec_name"].as_str().unwrap_or_default().to_owned(),
                    height: s["height"].as_u64(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Processes whose command line mentions `needle` (pid and command line).
pub fn processes_mentioning(needle: &str) -> Vec<(u32, String)> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| *pid != me)
        .filter_map(|pid| {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
            cmdline.contains(needle).then_some((pid, cmdline))
        })
        .collect()
}

/// Names of the entries in `dir` (empty when it does not exist).
pub fn list(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Waits until `check` holds, up to `limit`; true when it did.
pub async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let until = tokio::time::Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if tokio::time::Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
