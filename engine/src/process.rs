//! How every child process is started: yt-dlp, the ffmpeg of the native
//! engine's merges, and the version probes of the health page.
//!
//! [`harden`] does two things to a command before it is spawned:
//!
//! - **No proxy variables.** `no_proxy`, `NO_PROXY`, `http_proxy`, `all_proxy`
//!   … are removed from the child's environment. yt-dlp gets the egress proxy
//!   only through its explicit `--proxy`, and hands it to the ffmpeg it starts
//!   as `http_proxy`; a `no_proxy=127.0.0.1,localhost` left over from the
//!   server's environment (common on servers and in containers) would make
//!   that ffmpeg connect to those hosts directly, around the egress guard.
//! - **No orphans.** The child gets `PR_SET_PDEATHSIG` = SIGKILL, so a server
//!   killed with `kill -9` takes it along. The kernel sends that signal when
//!   the *thread* that forked the child exits, so children are only spawned
//!   from async code, which runs on tokio's worker threads (or a test's
//!   thread), never on `spawn_blocking` threads that come and go. After the
//!   `prctl`, the child checks that its parent is still the server: had the
//!   server died between fork and `prctl`, no signal would ever come.
//!
//! yt-dlp's own children (ffmpeg, deno) need the same, and only yt-dlp can
//! give it to them: [`ytdlp_command`] runs a Python yt-dlp through
//! [`BOOTSTRAP`], a fixed program that makes every `subprocess.Popen` of
//! yt-dlp's main thread set `PR_SET_PDEATHSIG` in the child, then runs the
//! yt-dlp script unchanged.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

use nix::sys::signal::Signal;
use nix::unistd::{getpid, getppid};
use tokio::process::Command;

/// Every proxy-related variable a child could pick up: curl's, Python's,
/// ffmpeg's and deno's spellings, both cases.
pub const PROXY_VARIABLES: &[&str] = &[
    "no_proxy",
    "NO_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "ftp_proxy",
    "FTP_PROXY",
    "socks_proxy",
    "SOCKS_PROXY",
    "socks5_proxy",
    "SOCKS5_PROXY",
    "rsync_proxy",
    "RSYNC_PROXY",
    "ws_proxy",
    "WS_PROXY",
    "wss_proxy",
    "WSS_PROXY",
];

/// Removes the proxy variables from `cmd`'s environment (see the module
/// documentation), including any other `*_proxy` the server happens to have.
pub fn scrub_proxy_env(cmd: &mut Command) {
    for name in PROXY_VARIABLES {
        cmd.env_remove(name);
    }
    for (name, _) in std::env::vars_os() {
        let lower = name.to_string_lossy().to_ascii_lowercase();
        if lower.ends_with("_proxy") {
            cmd.env_remove(&name);
        }
    }
}

/// Proxy variables removed, and killed with the server (see the module
/// documentation). Call it on every child the engine starts.
pub fn harden(cmd: &mut Command) {
    scrub_proxy_env(cmd);
    die_with_parent(cmd);
}

#[allow(unsafe_code)]
fn die_with_parent(cmd: &mut Command) {
    let parent = getpid();
    // SAFETY: the closure runs in the forked child before exec, where only
    // async-signal-safe calls are allowed. It makes two system calls
    // (prctl, getppid) and builds an io::Error from a raw errno, which does
    // not allocate; it touches no lock and no memory shared with other
    // threads of the parent.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from)?;
            if getppid() != parent {
                // The server is already gone: do not start at all.
                return Err(io::Error::from_raw_os_error(nix::libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// A fixed Python program (no user input ever goes into it) that runs a
/// yt-dlp script so that yt-dlp's children die with yt-dlp: every
/// `subprocess.Popen` made on yt-dlp's main thread (ffmpeg, ffprobe, deno)
/// sets `PR_SET_PDEATHSIG` = SIGKILL in the child and refuses to start if
/// yt-dlp is already gone. Popens of other threads are left alone: the signal
/// follows the forking thread, and a short-lived worker thread would take
/// its ffmpeg down with it. Then it runs the script as `__main__`, exactly as
/// its shebang would, with the script's directory first on `sys.path`
/// (never the current directory, as `python -c` would put there).
///
/// Arguments: the script, then yt-dlp's own arguments.
pub const BOOTSTRAP: &str = r#"
import os, runpy, signal, subprocess, sys, threading
try:
    import ctypes
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except Exception:
    _prctl = None
def _tie(parent):
    if _prctl is not None:
        _prctl(1, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:
        os._exit(137)
_init = subprocess.Popen.__init__
def _popen(self, *args, **kwargs):
    if len(args) < 7 and kwargs.get('preexec_fn') is None and threading.current_thread() is threading.main_thread():
        parent = os.getpid()
        kwargs['preexec_fn'] = lambda: _tie(parent)
    _init(self, *args, **kwargs)
subprocess.Popen.__init__ = _popen
script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(os.path.abspath(script))
runpy.run_path(script, run_name='__main__')
"#;

/// The command that runs yt-dlp at `program`, hardened.
///
/// A Python script (its first line a `#!` naming python, as the virtualenv's
/// `yt-dlp` and the zipapp release have) runs through [`BOOTSTRAP`] under
/// that interpreter, so ffmpeg and deno die with yt-dlp too. Anything else
/// (a PyInstaller build, a wrapper) runs directly: it still dies with the
/// server, its own children are left to the process-group kill of a
/// cancelled download.
pub fn ytdlp_command(program: &Path) -> Command {
    let resolved = crate::download::resolve_program(program);
    let mut cmd = match python_shebang(&resolved) {
        Some((interpreter, arg)) => {
            let mut cmd = Command::new(interpreter);
            if let Some(arg) = arg {
                cmd.arg(arg);
            }
            cmd.arg("-c").arg(BOOTSTRAP).arg(&resolved);
            cmd
        }
        None => Command::new(program),
    };
    harden(&mut cmd);
    cmd
}

/// A hardened command for any other program (ffmpeg, deno, …).
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    harden(&mut cmd);
    cmd
}

/// The interpreter (and its one optional argument) of a script whose first
/// line is `#!…python…`, as Linux reads a shebang.
fn python_shebang(script: &Path) -> Option<(PathBuf, Option<String>)> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let mut file = std::fs::File::open(script).ok()?;
    let read = file.read(&mut head).ok()?;
    let head = head.get(..read)?;
    let line = head.strip_prefix(b"#!")?;
    let end = line.iter().position(|b| *b == b'\n')?;
    let line = std::str::from_utf8(line.get(..end)?).ok()?.trim();
    let (interpreter, arg) = match line.split_once([' ', '\t']) {
        Some((interpreter, arg)) => (interpreter, Some(arg.trim().to_owned())),
        None => (line, None),
    };
    let names_python = |s: &str| Path::new(s).file_name().is_some_and(|n| n.to_string_lossy().starts_with("python"));
    let is_python = names_python(interpreter) || arg.as_deref().is_some_and(names_python);
    // `-c` must come after the interpreter's own argument, so only a
    // shebang whose argument is the interpreter (env python3) or nothing.
    let arg_ok = match arg.as_deref() {
        None => true,
        Some(a) => names_python(a) || a.is_empty(),
    };
    (is_python && arg_ok).then(|| (PathBuf::from(interpreter), arg.filter(|a| !a.is_empty())))
}

/// Runs ffmpeg with `args` (each input with its own protocol whitelist;
/// the output path last). Its last lines of stderr go to the log; a failed
/// run is `failure`, the sentence people read.
pub(crate) async fn run_ffmpeg(
    ffmpeg: &Path,
    args: &[std::ffi::OsString],
    failure: crate::error::EngineError,
) -> Result<(), crate::error::EngineError> {
    use crate::error::{EngineError, FailureKind};
    use std::process::Stdio;
    use tokio::io::{AsyncBufReadExt, BufReader};

    let mut cmd = command(ffmpeg);
    cmd.args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"]).args(args);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
    tracing::debug!(?args, "ffmpeg");
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => EngineError::Fetch {
            kind: FailureKind::Other,
            message: "ffmpeg is not installed on the server, so the file cannot be put together.".to_owned(),
        },
        _ => EngineError::Spawn(e),
    })?;
    let mut tail: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    if let Some(stderr) = child.stderr.take() {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if tail.len() == 20 {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
    let status = child.wait().await?;
    if status.success() {
        return Ok(());
    }
    let detail = tail.into_iter().collect::<Vec<_>>().join(" ");
    tracing::warn!(%status, %detail, "ffmpeg failed");
    Err(failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("yt-dlp");
        std::fs::write(&path, text).expect("write");
        (dir, path)
    }

    #[test]
    fn python_shebangs_are_recognised() {
        let (_d, venv) = script("#!/opt/kachay/.venv/bin/python3\nimport sys\n");
        assert_eq!(python_shebang(&venv), Some((PathBuf::from("/opt/kachay/.venv/bin/python3"), None)));
        let (_d, env) = script("#!/usr/bin/env python3\nPK...");
        assert_eq!(python_shebang(&env), Some((PathBuf::from("/usr/bin/env"), Some("python3".to_owned()))));
        let (_d, sh) = script("#!/bin/sh\nexec yt-dlp \"$@\"\n");
        assert_eq!(python_shebang(&sh), None);
        let (_d, flags) = script("#!/usr/bin/python3 -I\n");
        assert_eq!(python_shebang(&flags), None, "an interpreter flag would come before -c");
        let (_d, binary) = script("\x7fELF\x02\x01\x01");
        assert_eq!(python_shebang(&binary), None);
        assert_eq!(python_shebang(Path::new("/no/such/yt-dlp")), None);
    }

    #[test]
    fn every_proxy_variable_is_removed() {
        let mut cmd = command("env");
        scrub_proxy_env(&mut cmd);
        let removed: Vec<String> = cmd
            .as_std()
            .get_envs()
            .filter(|(_, value)| value.is_none())
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .collect();
        for name in ["no_proxy", "NO_PROXY", "all_proxy", "HTTPS_PROXY", "ftp_proxy", "socks_proxy"] {
            assert!(removed.iter().any(|r| r == name), "{name} in {removed:?}");
        }
    }
}
