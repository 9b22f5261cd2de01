//! After yt-dlp: the finished file found and checked, a failed run put
//! into words, and the partial files removed.

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use super::{INFO_JSON, MEDIA_STEM};
use crate::error::{classify, EngineError};

/// The error a failed yt-dlp run (its exit `status` and the tail of its
/// stderr) comes to.
pub(super) fn exit_failure(dir: &Path, status: ExitStatus, stderr_text: &str) -> EngineError {
    if let Some(protocol) = refused_protocol(stderr_text) {
        tracing::info!(dir = %dir.display(), protocol, "ffmpeg was refused a protocol");
        // As the native engine's refusals are: the server words them.
        return EngineError::Fetch { kind: crate::error::FailureKind::Other, message: protocol_refusal(protocol) };
    }
    // The ffmpeg yt-dlp started prints the egress proxy's refusal on
    // a line of its own, and yt-dlp ends with "ffmpeg exited with
    // code 8": the refusal is what people need to read.
    if let Some(refusal) =
        stderr_text.lines().find_map(|line| line.find(crate::native::REFUSAL_PREFIX).map(|at| &line[at..]))
    {
        tracing::debug!(dir = %dir.display(), %status, refusal, "download refused by the egress guard");
        return EngineError::Fetch { kind: crate::error::FailureKind::Other, message: refusal.to_owned() };
    }
    let (kind, message) = classify(stderr_text);
    // yt-dlp's last word on its ffmpeg says only the exit code.
    let message = if message.starts_with("ffmpeg exited with code") {
        "ffmpeg could not read this stream (a part of it is broken, or is somewhere this \
         server does not fetch from)"
            .to_owned()
    } else {
        message
    };
    let message = if stderr_text.trim().is_empty() { format!("yt-dlp exited with {status}") } else { message };
    tracing::debug!(dir = %dir.display(), %status, %message, "download failed");
    EngineError::YtDlp { kind, message }
}

/// The finished file of a successful run: the one yt-dlp `reported`,
/// checked to be in `dir`, or without a report the single `media.*` left.
pub(super) fn located(dir: &Path, reported: Option<PathBuf>) -> Result<PathBuf, EngineError> {
    let found = match reported {
        Some(reported) => match finished_file_in(dir, &reported) {
            Ok(path) => Some(path),
            Err(why) => {
                tracing::warn!(dir = %dir.display(), reported = %reported.display(), %why,
                    "yt-dlp reported a finished file outside the job's directory");
                return Err(EngineError::YtDlp {
                    kind: crate::error::FailureKind::Other,
                    message: "yt-dlp reported a finished file that is not in the download's own folder".to_owned(),
                });
            }
        },
        None => find_media(dir),
    };
    found.ok_or_else(|| EngineError::YtDlp {
        kind: crate::error::FailureKind::Other,
        message: "yt-dlp finished without leaving a file".to_owned(),
    })
}

/// Removes `info.json`, the cookies copy and every `media.*` from `dir` (not the directory).
pub(crate) fn remove_partials(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == INFO_JSON || name == crate::cookies::JOB_COPY_NAME || name.starts_with(&format!("{MEDIA_STEM}.")) {
            if let Err(e) = std::fs::remove_file(entry.path()) {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(file = %entry.path().display(), error = %e, "could not remove");
                }
            }
        }
    }
}

/// The finished file yt-dlp reported, checked: once every symlink and `..`
/// is resolved it must be a regular file directly inside `dir` (which is
/// absolute). Anything else is refused with the reason, for the log.
pub fn finished_file_in(dir: &Path, reported: &Path) -> Result<PathBuf, String> {
    let dir = dir.canonicalize().map_err(|e| format!("the job directory cannot be resolved: {e}"))?;
    let path = reported.canonicalize().map_err(|e| format!("the file cannot be resolved: {e}"))?;
    if path.parent() != Some(dir.as_path()) {
        return Err("it is not directly inside the job directory".to_owned());
    }
    let meta = std::fs::symlink_metadata(&path).map_err(|e| format!("cannot be read: {e}"))?;
    if !meta.file_type().is_file() {
        return Err("it is not a regular file".to_owned());
    }
    Ok(path)
}

/// The protocol ffmpeg says it was not allowed to open
/// (`Protocol 'httpproxy' not on whitelist 'http,tcp,crypto,data'!`).
fn refused_protocol(stderr: &str) -> Option<&str> {
    let line = stderr.lines().find(|l| l.contains("not on whitelist"))?;
    let rest = &line[line.find("Protocol '")? + "Protocol '".len()..];
    let name = &rest[..rest.find('\'')?];
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(name)
}

/// The sentence for a stream ffmpeg was not allowed to open, marked as an
/// egress refusal (so the server answers `destination_refused`).
fn protocol_refusal(protocol: &str) -> String {
    let prefix = crate::native::REFUSAL_PREFIX;
    if protocol == "httpproxy" || protocol == "https" || protocol == "tls" {
        format!(
            "{prefix}: This server does not download this stream: only ffmpeg could fetch it, and \
             ffmpeg may not open https or proxy tunnels of its own here (a playlist could point \
             them anywhere)."
        )
    } else {
        format!("{prefix}: This server only downloads http and https links, not {protocol}: links.")
    }
}

/// The single finished `media.*` in `dir`, ignoring leftovers of the run.
fn find_media(dir: &Path) -> Option<PathBuf> {
    let mut found = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.starts_with(&format!("{MEDIA_STEM}."))
                && !name.ends_with(".part")
                && !name.ends_with(".ytdl")
                && !name.contains(".part-Frag")
                && !name.contains(".temp.")
                // Not through a symlink: only what yt-dlp wrote here.
                && std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_file())
        })
        .collect::<Vec<_>>();
    if found.len() == 1 {
        found.pop()
    } else {
        None
    }
}
