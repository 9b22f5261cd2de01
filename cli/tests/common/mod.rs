//! Helpers for running the real `kachay` binary against the fixture site:
//! one site per test binary, ffprobe, and a look at /proc.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

// Not every test binary uses every helper.
#[allow(unused_imports)]
pub use fixture::inspect::{ffprobe, heights_and_audio, list, processes_mentioning};

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
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}\n{self}")))
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
    child.stdin.take().expect("stdin is piped").write_all(input.as_bytes()).expect("kachay reads its stdin");
    let out = child.wait_with_output().expect("kachay runs");
    finished(out, started.elapsed())
}

/// Starts `kachay ARGS` in `cwd` with stdout and stderr piped.
pub fn spawn(cwd: &Path, args: &[&str]) -> Child {
    kachay(cwd).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("kachay starts")
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

/// The sanitized file name the engine gives a fixture title.
pub fn file_name(video: &fixture::FixtureVideo, ext: &str) -> String {
    engine::filename::sanitize_filename(video.title, ext)
}
