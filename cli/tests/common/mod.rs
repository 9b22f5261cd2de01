//! Helpers for running the real `kachay` binary against the fixture site:
//! one site per test binary, ffprobe, and a look at /proc.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `http://127.0.0.1:PORT` + `path` on a fixture site started once per test
/// binary, on a thread and runtime of its own.
pub fn site_url(path: &str) -> String {
    fixture::shared_site_url(path)
}

/// `kachay` with the fixture's yt-dlp and ffmpeg, run in `cwd`.
pub fn kachay(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kachay"));
    cmd.current_dir(cwd)
        .arg("--yt-dlp")
        .arg(fixture::ytdlp_program())
        .arg("--ffmpeg")
        .arg(fixture::ffmpeg_program())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    cmd
}

/// What a finished run left.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

impl Run {
    /// Panics with everything printed unless the exit code is `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "exit code\n{self}");
        self
    }

    /// stdout parsed as JSON lines (panics on a line that is not JSON).
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}\n{self}"))
            })
            .collect()
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "code {:?} after {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.took, self.stdout, self.stderr
        )
    }
}

fn finished(out: Output, took: Duration) -> Run {
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took,
    }
}

/// Runs `kachay ARGS` in `cwd` to the end.
pub fn run(cwd: &Path, args: &[&str]) -> Run {
    let started = Instant::now();
    let out = kachay(cwd).args(args).output().expect("kachay runs");
    finished(out, started.elapsed())
}

/// Runs `kachay ARGS` in `cwd` with `input` on stdin.
pub fn run_with_stdin(cwd: &Path, args: &[&str], input: &str) -> Run {
    let started = Instant::now();
    let mut child = kachay(cwd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kachay starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .expect("kachay reads its stdin");
    let out = child.wait_with_output().expect("kachay runs");
    finished(out, started.elapsed())
}

/// Starts `kachay ARGS` in `cwd` with stdout and stderr piped.
pub fn spawn(cwd: &Path, args: &[&str]) -> Child {
    kachay(cwd)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kachay starts")
}

/// Waits for `child` up to `limit`; `None` if it is still running.
pub fn wait_for(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let until = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `check` holds, up to `limit`; true when it did.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Names of the entries in `dir`, sorted (hidden ones included).
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

/// Every file below `dir`, at any depth.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// One stream as ffprobe reports it.
#[derive(Debug, Clone)]
pub struct Stream {
    pub codec_type: String,
    pub codec_name: String,
    pub height: Option<u64>,
}

/// `ffprobe -v error -show_streams -of json FILE`.
pub fn ffprobe(path: &Path) -> Vec<Stream> {
    let ffprobe = std::env::var("FFPROBE").unwrap_or_else(|_| "ffprobe".to_owned());
    let out = Command::new(ffprobe)
        .args(["-v", "error", "-show_streams", "-of", "json"])
        .arg(path)
        .output()
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

/// Picture heights and the number of sound tracks in a file.
pub fn heights_and_audio(path: &Path) -> (Vec<u64>, usize) {
    let streams = ffprobe(path);
    let heights = streams
        .iter()
        .filter(|s| s.codec_type == "video")
        .filter_map(|s| s.height)
        .collect();
    let audio = streams.iter().filter(|s| s.codec_type == "audio").count();
    (heights, audio)
}

/// Processes whose command line mentions `needle` (pid and command line),
/// zombies excluded (their command line is empty).
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

/// The sanitized file name the engine gives a fixture title.
pub fn file_name(video: &fixture::FixtureVideo, ext: &str) -> String {
    engine::filename::sanitize_filename(video.title, ext)
}
