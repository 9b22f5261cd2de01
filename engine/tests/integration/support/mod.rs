//! Helpers for the download and job tests: one fixture site shared by all
//! tests of a test binary, ffprobe, and a look at /proc.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use engine::{Probe, YtDlp};

// Not every test binary uses every helper.
#[allow(unused_imports)]
pub use fixture::inspect::{ffprobe, heights_and_audio, list, processes_mentioning};

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
    if let Some(hit) = cache.lock().expect("probe cache").iter().find(|(u, _)| u == url).map(|(_, p)| Arc::clone(p)) {
        return hit;
    }
    let probe = Arc::new(ytdlp().probe(url).await.expect("fixture page probes"));
    cache.lock().expect("probe cache").push((url.to_owned(), Arc::clone(&probe)));
    probe
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

/// Where the first video packet at or after `seconds` starts in `file`.
pub fn byte_at(file: &Path, seconds: f64) -> u64 {
    let ffprobe = std::env::var("FFPROBE").unwrap_or_else(|_| "ffprobe".to_owned());
    let out = std::process::Command::new(ffprobe)
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time,pos", "-of", "csv=p=0"])
        .arg(file)
        .output()
        .expect("ffprobe runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let (pts, pos) = line.split_once(',')?;
            Some((pts.parse::<f64>().ok()?, pos.trim().parse::<u64>().ok()?))
        })
        .find(|&(pts, _)| pts >= seconds)
        .map(|(_, pos)| pos)
        .unwrap_or_else(|| panic!("no video packet at {seconds} s in {}", file.display()))
}
