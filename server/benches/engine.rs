//! The download path, side by side with yt-dlp in one run:
//! `cargo bench -p server --bench engine`.
//!
//! Against the offline fixture site throttled per connection (each response
//! to 500 KB/s, as many CDNs limit a connection), with the real release
//! server, yt-dlp and ffmpeg:
//! 1. one 60 s 720p HLS video (30 segments, separate audio) end to end —
//!    lookup, download, the file fetched from the server — by Kachay's native
//!    engine, by Kachay on yt-dlp's downloader, by `yt-dlp -N 8` and by plain
//!    yt-dlp; median of 3, alternating;
//! 2. the same with an origin that also caps the whole site (aggregate limit);
//! 3. ten downloads at once, with the peak memory (sum of RSS) of each side's
//!    whole process tree: the server and every child, against ten
//!    `yt-dlp -N 8` processes and their ffmpeg children;
//! 4. a 20 s clip (2–22 s) of the 24 s progressive MP4, end to end, against
//!    `yt-dlp --download-sections` (ffmpeg reading the site itself), at
//!    500 KB/s per connection and with 300 ms before every answer (a far
//!    origin); median of 3.

mod common;

use common::{median, Server};
use fixture::FixtureSite;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const RATE: u64 = 500_000;
const QUALITY: &str = "720";
const FORMAT: &str = "bv*[height<=720]+ba/b[height<=720]";
const ROUNDS: usize = 3;
const K: usize = 10;

async fn lookup(client: &reqwest::Client, base: &str, url: &str) {
    let info: Value = client
        .post(format!("{base}/api/video-info"))
        .json(&json!({ "url": url }))
        .send()
        .await
        .expect("info")
        .json()
        .await
        .expect("json");
    assert_eq!(info["success"], true, "{info}");
}

/// Submits, waits for completion, fetches the file; returns the engine used.
async fn download(client: &reqwest::Client, base: &str, url: &str) -> String {
    let status = common::download(client, base, url, QUALITY).await;
    assert!(status["filesize"].as_u64().is_some_and(|s| s > 1_000_000), "{status}");
    status["engine"].as_str().unwrap_or("?").to_owned()
}

/// Lookup + download + file, as a person using the page does it.
async fn end_to_end(client: &reqwest::Client, base: &str, url: &str) -> (Duration, String) {
    let started = Instant::now();
    lookup(client, base, url).await;
    let engine = download(client, base, url).await;
    (started.elapsed(), engine)
}

fn ytdlp_command(url: &str, dir: &std::path::Path, fragments: Option<usize>) -> Command {
    let mut cmd = Command::new(fixture::ytdlp_program());
    cmd.args(["--ignore-config", "--no-update", "--quiet", "--no-playlist", "-f", FORMAT]);
    if let Some(n) = fragments {
        cmd.args(["-N", &n.to_string()]);
    }
    cmd.args(["--merge-output-format", "mp4", "-o"]).arg(dir.join("out.%(ext)s")).args(["--", url]);
    cmd.stdout(Stdio::null());
    cmd
}

fn ytdlp_once(url: &str, fragments: Option<usize>) -> Duration {
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let status = ytdlp_command(url, dir.path(), fragments).status().expect("yt-dlp runs");
    assert!(status.success());
    started.elapsed()
}

/// RSS in KiB of `root` and all its descendants, read from /proc.
fn tree_rss_kib(roots: &[u32]) -> u64 {
    let mut parent: HashMap<u32, u32> = HashMap::new();
    let mut rss: HashMap<u32, u64> = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { continue };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        };
        if let Some(pp) = field("PPid:") {
            parent.insert(pid, pp as u32);
        }
        rss.insert(pid, field("VmRSS:").unwrap_or(0));
    }
    rss.iter()
        .filter(|(pid, _)| {
            let mut p = **pid;
            for _ in 0..64 {
                if roots.contains(&p) {
                    return true;
                }
                match parent.get(&p) {
                    Some(&pp) if pp != p && pp != 0 => p = pp,
                    _ => return false,
                }
            }
            false
        })
        .map(|(_, kib)| *kib)
        .sum()
}

/// Samples the trees of `roots()` every 20 ms until stopped; returns the peak.
fn sample_peak(roots: impl Fn() -> Vec<u32> + Send + 'static) -> (Arc<AtomicBool>, std::thread::JoinHandle<u64>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let peak = Arc::new(AtomicU64::new(0));
    let handle = std::thread::spawn(move || {
        while !flag.load(Ordering::SeqCst) {
            let now = tree_rss_kib(&roots());
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
        }
        peak.load(Ordering::SeqCst)
    });
    (stop, handle)
}

#[tokio::main]
async fn main() {
    let site = FixtureSite::start().await.expect("fixture site");
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let native = Server::start(K, &[("DOWNLOAD_ENGINE", "native")]);
    let old = Server::start(K, &[("DOWNLOAD_ENGINE", "yt-dlp")]);

    // 1 and 2: one download end to end, each side in turn; a fresh query
    // string per round so no side reuses a cached lookup.
    for (label, knobs) in [
        ("throttled per connection to 500 KB/s", format!("rate={RATE}")),
        ("500 KB/s per connection, 8 MB/s for the whole site", format!("rate={RATE},total=8000000")),
    ] {
        let (mut ours, mut ours_old, mut n8, mut plain) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut engine = String::new();
        for round in 0..ROUNDS {
            let url = |who: &str| site.url(&format!("/k/{knobs}/watch/long?who={who}&round={round}"));
            let (t, e) = end_to_end(&client, &native.base, &url("native")).await;
            ours.push(t);
            engine = e;
            ours_old.push(end_to_end(&client, &old.base, &url("old")).await.0);
            let u = url("n8");
            n8.push(tokio::task::block_in_place(|| ytdlp_once(&u, Some(8))));
            let u = url("plain");
            plain.push(tokio::task::block_in_place(|| ytdlp_once(&u, None)));
        }
        let (ours, ours_old, n8, plain) = (median(ours), median(ours_old), median(n8), median(plain));
        println!("one 60 s 720p HLS video, {label} (median of {ROUNDS}, lookup + download):");
        println!("  kachay native engine ({engine}) {:>6.2} s", ours.as_secs_f64());
        println!("  kachay on yt-dlp's downloader   {:>6.2} s", ours_old.as_secs_f64());
        println!("  yt-dlp -N 8                     {:>6.2} s", n8.as_secs_f64());
        println!("  plain yt-dlp                    {:>6.2} s", plain.as_secs_f64());
        println!(
            "  speed vs yt-dlp -N 8: native {:.2}x, kachay on yt-dlp {:.2}x",
            n8.as_secs_f64() / ours.as_secs_f64(),
            n8.as_secs_f64() / ours_old.as_secs_f64()
        );
    }

    // 3. Ten at once, peak memory of each whole process tree.
    let url = site.url(&format!("/k/rate={RATE}/watch/long?k=native"));
    lookup(&client, &native.base, &url).await;
    let pid = native.child.id();
    let (stop, sampler) = sample_peak(move || vec![pid]);
    let started = Instant::now();
    let jobs: Vec<_> = (0..K)
        .map(|_| {
            let (client, base, url) = (client.clone(), native.base.clone(), url.clone());
            tokio::spawn(async move { download(&client, &base, &url).await })
        })
        .collect();
    for job in jobs {
        job.await.expect("download task");
    }
    let ours_time = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let ours_peak = sampler.join().expect("sampler");

    let url = site.url(&format!("/k/rate={RATE}/watch/long?k=n8"));
    let dirs: Vec<tempfile::TempDir> = (0..K).map(|_| tempfile::tempdir().expect("dir")).collect();
    let started = Instant::now();
    let children: Vec<Child> =
        dirs.iter().map(|d| ytdlp_command(&url, d.path(), Some(8)).spawn().expect("yt-dlp")).collect();
    let pids: Vec<u32> = children.iter().map(Child::id).collect();
    let (stop, sampler) = sample_peak(move || pids.clone());
    for mut child in children {
        assert!(child.wait().expect("wait").success());
    }
    let theirs_time = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let theirs_peak = sampler.join().expect("sampler");
    println!("{K} downloads of the same video at once (500 KB/s per connection):");
    println!(
        "  kachay native: {:.1} s, peak {:.1} MiB (server and all its children)",
        ours_time.as_secs_f64(),
        ours_peak as f64 / 1024.0
    );
    println!(
        "  {K} x yt-dlp -N 8: {:.1} s, peak {:.1} MiB (all processes)",
        theirs_time.as_secs_f64(),
        theirs_peak as f64 / 1024.0
    );
    println!("  memory ratio: {:.3}", ours_peak as f64 / theirs_peak.max(1) as f64);
    // 4. A clip of a progressive file: Kachay's relay against ffmpeg
    // reading the site directly, as yt-dlp has it do.
    for (label, knobs) in
        [("500 KB/s per connection", format!("rate={RATE}")), ("300 ms per answer", "delay=300".to_owned())]
    {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let url = |who: &str| site.url(&format!("/k/{knobs}/watch/large?who={who}&round={round}"));
            let u = url("native");
            let started = Instant::now();
            lookup(&client, &native.base, &u).await;
            let body = json!({ "url": u, "quality": "auto", "start": 2, "end": 22 });
            let status = common::download_with(&client, &native.base, body).await;
            assert!(status["filesize"].as_u64().is_some_and(|s| s > 1_000_000), "{status}");
            ours.push(started.elapsed());
            let u = url("ytdlp");
            theirs.push(tokio::task::block_in_place(|| {
                let dir = tempfile::tempdir().expect("temp dir");
                let started = Instant::now();
                let status = Command::new(fixture::ytdlp_program())
                    .args(["--ignore-config", "--no-update", "--quiet", "--no-playlist"])
                    .args(["--download-sections", "*2-22", "-o"])
                    .arg(dir.path().join("out.%(ext)s"))
                    .args(["--", &u])
                    .stdout(Stdio::null())
                    .status()
                    .expect("yt-dlp runs");
                assert!(status.success());
                started.elapsed()
            }));
        }
        let (ours, theirs) = (median(ours), median(theirs));
        println!("a 20 s clip of a 24 s progressive MP4, {label} (median of {ROUNDS}, lookup + download):");
        println!("  kachay native (relay)            {:>6.2} s", ours.as_secs_f64());
        println!("  yt-dlp --download-sections       {:>6.2} s", theirs.as_secs_f64());
        println!("  speed vs yt-dlp: {:.2}x", theirs.as_secs_f64() / ours.as_secs_f64());
    }
    drop(native);
    drop(old);
    site.stop().await;
}
