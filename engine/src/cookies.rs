//! A cookies file for yt-dlp (`--cookies`), checked once and used through
//! private copies.
//!
//! yt-dlp rewrites the file it is given when it exits (its whole cookie jar,
//! in its own format), so two runs at once would overwrite each other and the
//! administrator's export would slowly turn into yt-dlp's. Each run therefore
//! gets its own copy, readable by this user only (0600): a probe in the temp
//! directory, a download in its job directory. The copy is removed when the
//! run ends; the original is only ever read. Cookie values are never logged.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The name of a download's copy inside its job directory.
pub const JOB_COPY_NAME: &str = "cookies.txt";

/// Why a cookies file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CookiesError {
    /// The file cannot be read.
    #[error("the cookies file {} cannot be read: {source}", .path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A JSON export (from a browser extension) instead of cookies.txt.
    #[error(
        "the cookies file {} is JSON; yt-dlp needs the Netscape cookies.txt format \
         (its first line is \"# Netscape HTTP Cookie File\")",
        .path.display()
    )]
    Json { path: PathBuf },
    /// No `# Netscape HTTP Cookie File` line at the top.
    #[error(
        "the cookies file {} is not in Netscape format: its first line must be \
         \"# Netscape HTTP Cookie File\" (or \"# HTTP Cookie File\")",
        .path.display()
    )]
    NotNetscape { path: PathBuf },
    /// The header is there but no cookie follows.
    #[error("the cookies file {} holds no cookies", .path.display())]
    Empty { path: PathBuf },
}

/// What a valid cookies file holds (counts only, never values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookiesSummary {
    /// Cookie lines (7 tab-separated fields).
    pub cookies: usize,
    /// Of those, for `youtube.com` or `google.com` domains.
    pub youtube_cookies: usize,
}

/// Checks that `path` is a Netscape cookies file like yt-dlp reads: the magic
/// first line (`# Netscape HTTP Cookie File` or `# HTTP Cookie File`, as
/// Python's `MozillaCookieJar` requires) and at least one cookie line.
pub fn check_cookies_file(path: &Path) -> Result<CookiesSummary, CookiesError> {
    let bytes = std::fs::read(path).map_err(|source| CookiesError::Unreadable { path: path.to_owned(), source })?;
    let text = String::from_utf8_lossy(&bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let first = text.lines().next().unwrap_or_default();
    if matches!(first.trim_start().chars().next(), Some('[' | '{')) {
        return Err(CookiesError::Json { path: path.to_owned() });
    }
    if !(first.contains("# Netscape HTTP Cookie File") || first.contains("# HTTP Cookie File")) {
        return Err(CookiesError::NotNetscape { path: path.to_owned() });
    }
    let mut summary = CookiesSummary { cookies: 0, youtube_cookies: 0 };
    for line in text.lines() {
        let line = line.strip_prefix("#HttpOnly_").unwrap_or(line);
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.trim_end_matches('\r').split('\t').collect();
        if fields.len() != 7 {
            continue;
        }
        summary.cookies += 1;
        let domain = fields[0].trim_start_matches('.').to_ascii_lowercase();
        if ["youtube.com", "google.com"].iter().any(|d| domain == *d || domain.ends_with(&format!(".{d}"))) {
            summary.youtube_cookies += 1;
        }
    }
    if summary.cookies == 0 {
        return Err(CookiesError::Empty { path: path.to_owned() });
    }
    Ok(summary)
}

/// Copies `source` to a new file `dest` that only this user can read or write
/// (0600). Fails if `dest` exists.
pub fn private_copy(source: &Path, dest: &Path) -> io::Result<()> {
    let bytes = std::fs::read(source)?;
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(dest)?;
    let written = file.write_all(&bytes).and_then(|()| file.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(dest);
        return Err(e);
    }
    Ok(())
}

/// A private copy that is removed when dropped: when the run ends in any
/// way — success, failure, cancel, a panic unwinding through it, or its
/// future dropped, even while the copy is still being written.
#[derive(Debug)]
pub(crate) struct TempCopy {
    path: PathBuf,
    /// Set when the copy is no longer wanted; a copy still being written
    /// on a blocking thread then removes what it wrote itself.
    abandoned: Arc<AtomicBool>,
}

impl TempCopy {
    /// A copy of `source` in the temp directory, named at random.
    pub(crate) async fn new(source: &Path) -> io::Result<TempCopy> {
        let path = std::env::temp_dir().join(format!("kachay-cookies-{}.txt", uuid::Uuid::new_v4()));
        Self::at(source, path).await
    }

    /// A copy of `source` at `path`.
    pub(crate) async fn at(source: &Path, path: PathBuf) -> io::Result<TempCopy> {
        // The guard exists before the file does: dropping this future while
        // the blocking copy runs still removes it (see `abandoned`).
        let copy = TempCopy { path, abandoned: Arc::new(AtomicBool::new(false)) };
        let source = source.to_owned();
        let dest = copy.path.clone();
        let abandoned = Arc::clone(&copy.abandoned);
        let written = tokio::task::spawn_blocking(move || {
            let written = private_copy(&source, &dest);
            // Drop sets the flag before it removes the file: either it saw
            // the file, or this sees the flag.
            if written.is_ok() && abandoned.load(Ordering::SeqCst) {
                remove_copy(&dest);
            }
            written
        })
        .await;
        match written {
            Ok(Ok(())) => Ok(copy),
            // The copy is removed with the guard.
            Err(join) => Err(io::Error::other(join)),
            Ok(Err(e)) => {
                // Nothing of ours is at the path (`private_copy` never
                // overwrites and cleans up after itself): leave it alone.
                let mut copy = copy;
                copy.path = PathBuf::new();
                Err(e)
            }
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempCopy {
    fn drop(&mut self) {
        self.abandoned.store(true, Ordering::SeqCst);
        if !self.path.as_os_str().is_empty() {
            remove_copy(&self.path);
        }
    }
}

fn remove_copy(path: &Path) {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(error = %e, "could not remove a cookies copy"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const GOOD: &str = "# Netscape HTTP Cookie File\n# exported by hand\n\n\
        .youtube.com\tTRUE\t/\tTRUE\t1893456000\tPREF\tf6=40000000\n\
        #HttpOnly_.youtube.com\tTRUE\t/\tTRUE\t1893456000\tLOGIN_INFO\tabc\n\
        127.0.0.1\tFALSE\t/\tFALSE\t0\tkachay\t1\n";

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn netscape_files_pass() {
        let dir = tempfile::tempdir().expect("tempdir");
        let summary = check_cookies_file(&write(dir.path(), "c.txt", GOOD)).expect("valid");
        assert_eq!(summary, CookiesSummary { cookies: 3, youtube_cookies: 2 });
        let old_header = "# HTTP Cookie File\r\nexample.com\tFALSE\t/\tFALSE\t0\ta\tb\r\n";
        assert!(check_cookies_file(&write(dir.path(), "d.txt", old_header)).is_ok());
    }

    #[test]
    fn other_files_are_refused_clearly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let json = write(dir.path(), "j.txt", "[{\"domain\": \".youtube.com\"}]");
        let err = check_cookies_file(&json).expect_err("json");
        assert!(matches!(err, CookiesError::Json { .. }), "{err}");
        assert!(err.to_string().contains("Netscape"), "{err}");

        let plain = write(dir.path(), "p.txt", ".youtube.com\tTRUE\t/\tTRUE\t0\ta\tb\n");
        let err = check_cookies_file(&plain).expect_err("no header");
        assert!(matches!(err, CookiesError::NotNetscape { .. }), "{err}");
        assert!(err.to_string().contains("# Netscape HTTP Cookie File"), "{err}");

        let empty = write(dir.path(), "e.txt", "# Netscape HTTP Cookie File\n");
        assert!(matches!(check_cookies_file(&empty), Err(CookiesError::Empty { .. })));

        let missing = dir.path().join("missing.txt");
        assert!(matches!(check_cookies_file(&missing), Err(CookiesError::Unreadable { .. })));
    }

    #[test]
    fn copies_are_private_and_never_overwrite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = write(dir.path(), "c.txt", GOOD);
        let dest = dir.path().join("copy.txt");
        private_copy(&source, &dest).expect("copy");
        let mode = std::fs::metadata(&dest).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read(&dest).expect("read"), GOOD.as_bytes());
        assert!(private_copy(&source, &dest).is_err(), "an existing file is never overwritten");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_copy_abandoned_while_it_is_written_is_removed_too() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Big enough that the copy is still being written when the run is
        // given up (a cancel, a timeout, a client that went away).
        let source = write(dir.path(), "big.txt", &GOOD.repeat(40_000));
        for round in 0..5 {
            let dest = dir.path().join(format!("copy-{round}.txt"));
            let copying = TempCopy::at(&source, dest.clone());
            let given_up = tokio::time::timeout(std::time::Duration::from_millis(1), copying).await;
            assert!(given_up.is_err(), "the copy finished within 1 ms; make the source bigger");
            // The blocking thread finishes writing, then sees it was abandoned.
            tokio::time::sleep(std::time::Duration::from_millis(800)).await;
            assert!(!dest.exists(), "round {round}: an abandoned copy was left at {}", dest.display());
        }
    }

    #[test]
    fn a_failed_copy_leaves_what_was_there() {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = write(dir.path(), "c.txt", GOOD);
        let taken = write(dir.path(), "taken.txt", "someone else's");
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let result = runtime.block_on(TempCopy::at(&source, taken.clone()));
        assert!(result.is_err());
        assert_eq!(std::fs::read_to_string(&taken).expect("still there"), "someone else's");
    }

    #[tokio::test]
    async fn temp_copies_go_away() {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = write(dir.path(), "c.txt", GOOD);
        let copy = TempCopy::new(&source).await.expect("copy");
        let path = copy.path().to_owned();
        assert!(path.is_file());
        drop(copy);
        assert!(!path.exists());
    }
}
