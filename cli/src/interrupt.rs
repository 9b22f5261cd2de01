//! Ctrl-C and SIGTERM.
//!
//! The first signal cancels every download: the engine stops each yt-dlp
//! process group (SIGTERM, then SIGKILL a second later) and removes its
//! partial files, and the client exits with 130 once that is done. A second
//! signal quits at once: it SIGKILLs the process group of every child still
//! running, removes the work directory as best it can, and exits with 130.
//!
//! yt-dlp downloads run in process groups of their own, so a Ctrl-C typed in
//! the terminal reaches only this process; stopping them is our job.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use tokio::signal::unix::{signal, Signal as Stream, SignalKind};
use tokio_util::sync::CancellationToken;

use crate::args::EXIT_INTERRUPTED;
use crate::report::Reporter;

/// Where the downloads are being written, once known; removed on a hard
/// exit.
pub type WorkDir = Arc<OnceLock<PathBuf>>;

/// Listens for SIGINT and SIGTERM; the token is cancelled on the first.
/// Must be called inside the runtime.
pub fn install(reporter: Arc<Reporter>, work_dir: WorkDir) -> std::io::Result<CancellationToken> {
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        next(&mut int, &mut term).await;
        cancel.cancel();
        reporter.always(
            "Interrupted: stopping downloads and removing partial files \
             (press Ctrl-C again to quit at once)…",
        );
        next(&mut int, &mut term).await;
        reporter.always("Quitting at once.");
        kill_children();
        if let Some(dir) = work_dir.get() {
            let _ = std::fs::remove_dir_all(dir);
        }
        std::process::exit(i32::from(EXIT_INTERRUPTED));
    });
    Ok(token)
}

async fn next(int: &mut Stream, term: &mut Stream) {
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}

/// SIGKILLs every child of this process, with its process group when it
/// leads one (yt-dlp and the ffmpeg it started), and waits up to half a
/// second for them to die, so that nothing writes into the work directory
/// after it is removed. Linux only (`/proc`); elsewhere nothing happens.
fn kill_children() {
    for child in children() {
        let Ok(raw) = i32::try_from(child.pid) else {
            continue;
        };
        if child.pgrp == child.pid {
            let _ = killpg(Pid::from_raw(raw), Signal::SIGKILL);
        } else {
            let _ = kill(Pid::from_raw(raw), Signal::SIGKILL);
        }
    }
    let until = Instant::now() + Duration::from_millis(500);
    while Instant::now() < until && children().iter().any(|c| c.state != 'Z') {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One child process, from `/proc/PID/stat`.
struct Child {
    pid: u32,
    pgrp: u32,
    state: char,
}

/// The children of this process.
fn children() -> Vec<Child> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (state, ppid, pgrp) = parse_stat(&stat)?;
            (ppid == me).then_some(Child { pid, pgrp, state })
        })
        .collect()
}

/// The state, parent pid and process group from a `/proc/PID/stat` line:
/// `pid (comm) state ppid pgrp …`, where `comm` may hold spaces and
/// parentheses.
fn parse_stat(stat: &str) -> Option<(char, u32, u32)> {
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, ppid, pgrp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_stat() {
        assert_eq!(parse_stat("4242 (yt-dlp) S 100 4242 100 0 -1 4194560 1 2 3"), Some(('S', 100, 4242)));
        assert_eq!(parse_stat("7 (a (weird) name) Z 1 7 7 0"), Some(('Z', 1, 7)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn our_own_stat_parses() {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        if !stat.is_empty() {
            let parsed = parse_stat(&stat);
            assert!(parsed.is_some(), "{stat}");
        }
    }
}
