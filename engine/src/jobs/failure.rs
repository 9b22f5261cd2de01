//! What a person reads when a job fails.

use std::path::Path;

use contract::ErrorCode;

use super::types::JobFailure;
use crate::error::EngineError;

/// What a person reads when a job fails: yt-dlp's own sentence for its
/// failures (the server may phrase known kinds its own way), a plain
/// sentence for the rest. Server paths never appear.
pub(super) fn failure_of(err: &EngineError, download_dir: &Path) -> JobFailure {
    let code = err.code();
    let mut detail = err.detail();
    let (kind, message) = match err {
        EngineError::YtDlp { kind, message } => (Some(*kind), without_paths(message, download_dir)),
        // The native engine's sentences name no paths or URLs; a refusal
        // carries the guard's marker, which the server words by itself.
        EngineError::Fetch { kind, message } => {
            ((code != ErrorCode::DestinationRefused).then_some(*kind), message.clone())
        }
        // A download's time limit is its own (a lookup's is not shown).
        EngineError::Timeout(limit) => {
            detail.limit = Some(limit.as_secs());
            (None, String::new())
        }
        _ => (err.failure_kind(), String::new()),
    };
    if let Some(reason) = detail.reason.as_mut() {
        *reason = without_paths(reason, download_dir);
    }
    let message =
        if message.is_empty() { contract::sentences::sentence(code, contract::Lang::En, &detail) } else { message };
    JobFailure { kind, message, code, detail }
}

/// Drops every word that names a local path.
fn without_paths(message: &str, download_dir: &Path) -> String {
    let dir = download_dir.to_string_lossy();
    let words: Vec<&str> = message
        .split_whitespace()
        .filter(|w| {
            let w = w.trim_matches(|c: char| "'\"([{".contains(c));
            !(w.contains(dir.as_ref()) || w.starts_with('/') || w.starts_with("file:"))
        })
        .collect();
    let text = words.join(" ");
    if text.is_empty() {
        "The download failed.".to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;
    use crate::error::FailureKind;
    #[test]
    fn failures_never_show_paths() {
        let err = EngineError::YtDlp {
            kind: FailureKind::Other,
            message: "unable to open for writing: /srv/kachay/downloads/abc/media.mp4.part: No space left".into(),
        };
        let f = failure_of(&err, Path::new("/srv/kachay/downloads"));
        assert_eq!(f.kind, Some(FailureKind::Other));
        assert!(!f.message.contains('/'), "{}", f.message);
        assert!(f.message.contains("No space left"), "{}", f.message);
        let f = failure_of(&EngineError::Io(io::Error::other("/secret/path")), Path::new("/x"));
        assert!(!f.message.contains("secret"));
    }
}
