//! The URLs to work on: from the command line and from a batch file.

use std::io::Read;
use std::path::Path;

/// One batch-file line that is not a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLine {
    /// 1-based line number.
    pub line: usize,
    /// The line as written (trimmed).
    pub text: String,
    /// Why it was refused.
    pub reason: String,
}

/// What a batch file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// The URLs, in order.
    pub urls: Vec<String>,
    /// Lines that are neither blank, a comment, nor a URL.
    pub broken: Vec<BrokenLine>,
}

/// `text` as an http(s) URL, trimmed; `Err` says why not.
pub fn check_url(text: &str) -> Result<String, String> {
    let text = text.trim();
    let parsed = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("{text:?} is not an http(s) URL (scheme {:?})", parsed.scheme()));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("{text:?} has no host"));
    }
    Ok(text.to_owned())
}

/// Reads a batch file's lines: URLs trimmed, blank lines and `#` comments
/// skipped, every other line reported with its number.
fn parse_batch(text: &str) -> Batch {
    let mut batch = Batch::default();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match check_url(line) {
            Ok(url) => batch.urls.push(url),
            Err(reason) => batch.broken.push(BrokenLine { line: index + 1, text: line.to_owned(), reason }),
        }
    }
    batch
}

/// Reads the batch file at `path` (`-` = standard input). Bytes that are
/// not UTF-8 are replaced, so such a line is reported as broken rather than
/// failing the whole file.
pub fn read_batch(path: &Path) -> Result<Batch, String> {
    let bytes = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read URLs from standard input: {e}"))?;
        buf
    } else {
        std::fs::read(path).map_err(|e| format!("cannot read batch file {}: {e}", path.display()))?
    };
    Ok(parse_batch(&String::from_utf8_lossy(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_trimmed_and_checked() {
        assert_eq!(check_url("  https://a.example/x?y=1 \t"), Ok("https://a.example/x?y=1".into()));
        assert_eq!(check_url("http://127.0.0.1:8080/watch/main"), Ok("http://127.0.0.1:8080/watch/main".into()));
        assert!(check_url("ftp://a.example/x").is_err());
        assert!(check_url("file:///etc/passwd").is_err());
        assert!(check_url("not a url").is_err());
        assert!(check_url("www.example.com/video").is_err());
        assert!(check_url("https://").is_err());
    }

    #[test]
    fn batch_skips_blanks_and_comments_and_numbers_broken_lines() {
        let text = "\u{feff}# my list\n\nhttp://a.example/1\n   \n  https://b.example/2  \nnot a url\n  # indented comment\r\nftp://c.example/3\r\nhttp://d.example/4";
        let batch = parse_batch(text);
        assert_eq!(batch.urls, ["http://a.example/1", "https://b.example/2", "http://d.example/4"]);
        let broken: Vec<(usize, &str)> = batch.broken.iter().map(|b| (b.line, b.text.as_str())).collect();
        assert_eq!(broken, [(6, "not a url"), (8, "ftp://c.example/3")]);
        assert!(batch.broken.iter().all(|b| !b.reason.is_empty()));
    }

    #[test]
    fn an_empty_batch_is_empty() {
        assert_eq!(parse_batch(""), Batch::default());
        assert_eq!(parse_batch("# nothing\n\n"), Batch::default());
    }

    #[test]
    fn a_missing_file_is_an_error_in_words() {
        let err = read_batch(Path::new("/no/such/kachay-batch.txt")).err().unwrap_or_default();
        assert!(err.contains("/no/such/kachay-batch.txt"), "{err}");
        assert!(!err.contains("Os {"), "{err}");
    }
}
