//! One fragment: a GET (or a ranged GET) streamed into a file, with
//! resume after a broken connection, stall detection and typed outcomes the
//! scheduler turns into retries, back-off or re-extraction.
//!
//! Nothing is held in memory beyond one body chunk and the write buffer.

use std::io::SeekFrom;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_RANGE, COOKIE, RANGE};
use reqwest::StatusCode;
use tokio::io::{AsyncSeekExt, AsyncWriteExt, BufWriter};
use url::Url;

use super::fragment::{ByteRange, Fragment};
use super::pool::retry_after;
use netguard::{refusal_of, GuardedClient, Refusal};

/// Write buffer per connection.
const WRITE_BUFFER: usize = 64 * 1024;

/// How a fragment's bytes are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// A file of its own (created, truncated on a fresh start).
    OwnFile,
    /// At this offset inside an existing file (progressive ranges).
    At(u64),
}

/// What a request needs besides the fragment.
#[derive(Debug, Clone)]
pub struct RequestParts<'a> {
    pub headers: &'a HeaderMap,
    pub cookie: Option<&'a str>,
    /// Put the range in a `range=a-b` query parameter rather than a header
    /// (googlevideo wants it there, as yt-dlp does it).
    pub range_in_query: bool,
    /// No byte for this long drops the connection.
    pub stall_timeout: Duration,
    /// The request and its headers must arrive within this.
    pub response_timeout: Duration,
}

/// Why one attempt did not finish the fragment.
#[derive(Debug, thiserror::Error)]
pub enum AttemptError {
    /// The egress guard refused the destination; never retried.
    #[error("{0}")]
    Refused(Refusal),
    /// 429 or 503: slow down, then retry.
    #[error("the site asked to slow down (HTTP {status})")]
    PushBack { status: u16, retry_after: Option<Duration> },
    /// 403 or 410: the signed link probably expired.
    #[error("the site refused the link (HTTP {0})")]
    Expired(u16),
    /// Another status that retrying will not change (404, 400, …).
    #[error("the site answered HTTP {0}")]
    Status(u16),
    /// A 5xx other than 503, worth a retry.
    #[error("the site failed (HTTP {0})")]
    ServerError(u16),
    /// Connection refused, reset, cut mid-body, timed out.
    #[error("the connection failed: {0}")]
    Network(String),
    /// No byte arrived for the stall timeout.
    #[error("the connection stalled")]
    Stalled,
    /// The body does not match what was asked for (wrong range).
    #[error("the site sent {0}")]
    Mismatch(String),
    /// Writing to disk failed.
    #[error("writing the file failed: {0}")]
    Io(#[from] std::io::Error),
}

impl AttemptError {
    /// Worth another attempt (after the scheduler's back-off).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            AttemptError::PushBack { .. }
                | AttemptError::ServerError(_)
                | AttemptError::Network(_)
                | AttemptError::Stalled
                | AttemptError::Mismatch(_)
        )
    }

    fn from_reqwest(e: reqwest::Error) -> AttemptError {
        if let Some(refusal) = refusal_of(&e) {
            return AttemptError::Refused(refusal);
        }
        if e.is_timeout() {
            return AttemptError::Stalled;
        }
        AttemptError::Network(short(&e))
    }
}

/// The error's chain of causes, without the URL (it may carry signed
/// tokens).
fn short(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "<url>");
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

/// Fetches the rest of `fragment` into `path`, starting `have` bytes in
/// (bytes already written by an earlier attempt). Returns the fragment's
/// total size when done. `received` counts every byte written, for
/// progress and the size limit; `on_bytes` is told too.
pub async fn attempt(
    client: &GuardedClient,
    fragment: &Fragment,
    parts: &RequestParts<'_>,
    path: &Path,
    placement: Placement,
    have: &mut u64,
    on_bytes: &mut (dyn FnMut(u64) + Send),
) -> Result<u64, AttemptError> {
    let range = effective_range(fragment.range, *have);
    let url = request_url(&fragment.url, range, parts.range_in_query);
    let mut request = client.get(url).map_err(AttemptError::Refused)?;
    request = request.headers(parts.headers.clone());
    if let Some(cookie) = parts.cookie {
        if let Ok(v) = HeaderValue::from_str(cookie) {
            request = request.header(COOKIE, v);
        }
    }
    if let Some(r) = range.filter(|_| !parts.range_in_query) {
        request = request.header(RANGE, r.header_from(0));
    }
    let response = tokio::time::timeout(parts.response_timeout, request.send())
        .await
        .map_err(|_| AttemptError::Stalled)?
        .map_err(AttemptError::from_reqwest)?;
    let status = response.status();
    match status.as_u16() {
        200 | 206 => {}
        429 | 503 => {
            return Err(AttemptError::PushBack {
                status: status.as_u16(),
                retry_after: retry_after(response.headers()),
            })
        }
        403 | 410 => return Err(AttemptError::Expired(status.as_u16())),
        500..=599 => return Err(AttemptError::ServerError(status.as_u16())),
        other => return Err(AttemptError::Status(other)),
    }

    // A 200 to a ranged request means the whole resource: fine for a fresh
    // start of a whole-resource fragment, otherwise start this one over.
    let partial = status == StatusCode::PARTIAL_CONTENT;
    if range.is_some() && !partial {
        let whole_wanted = fragment.range.is_none();
        if !whole_wanted {
            return Err(AttemptError::Mismatch("the whole file where a part was asked for".to_owned()));
        }
        // The bytes counted before stay counted: the size limit errs on
        // the safe side.
        *have = 0;
    }
    if partial {
        if let Some(r) = range {
            check_content_range(response.headers(), r)?;
        }
    }

    let mut file = open(path, placement, *have).await?;
    let mut response = response;
    loop {
        let chunk = tokio::time::timeout(parts.stall_timeout, response.chunk()).await;
        let chunk = match chunk {
            Err(_) => {
                file.flush().await?;
                return Err(AttemptError::Stalled);
            }
            Ok(Err(e)) => {
                file.flush().await?;
                return Err(AttemptError::from_reqwest(e));
            }
            Ok(Ok(None)) => break,
            Ok(Ok(Some(chunk))) => chunk,
        };
        file.write_all(&chunk).await?;
        let n = chunk.len() as u64;
        *have += n;
        on_bytes(n);
    }
    file.flush().await?;
    if let Some(expected) = fragment.range.and_then(|r| r.len()) {
        if *have != expected {
            return Err(AttemptError::Mismatch(format!("{} bytes where {expected} were expected", *have)));
        }
    }
    Ok(*have)
}

/// The range to ask for: the rest of the fragment's range, or of the whole
/// resource from `have` on.
fn effective_range(range: Option<ByteRange>, have: u64) -> Option<ByteRange> {
    match range {
        Some(r) => Some(ByteRange { start: r.start + have, end: r.end }),
        None if have > 0 => Some(ByteRange { start: have, end: None }),
        None => None,
    }
}

fn request_url(url: &Url, range: Option<ByteRange>, in_query: bool) -> Url {
    let Some(r) = range.filter(|_| in_query) else {
        return url.clone();
    };
    let mut url = url.clone();
    let value = match r.end {
        Some(end) => format!("{}-{end}", r.start),
        None => format!("{}-", r.start),
    };
    let kept: Vec<(String, String)> =
        url.query_pairs().filter(|(k, _)| k != "range").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    url.query_pairs_mut().clear().extend_pairs(kept).append_pair("range", &value);
    url
}

/// A 206 must start where we asked.
fn check_content_range(headers: &HeaderMap, asked: ByteRange) -> Result<(), AttemptError> {
    let Some(value) = headers.get(CONTENT_RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let start = value
        .trim()
        .strip_prefix("bytes ")
        .and_then(|rest| rest.split('-').next())
        .and_then(|s| s.trim().parse::<u64>().ok());
    match start {
        Some(s) if s == asked.start => Ok(()),
        _ => Err(AttemptError::Mismatch(format!("the range {value:?}"))),
    }
}

async fn open(path: &Path, placement: Placement, have: u64) -> std::io::Result<BufWriter<tokio::fs::File>> {
    let mut file = match placement {
        Placement::OwnFile => {
            let file = tokio::fs::OpenOptions::new().create(true).write(true).truncate(false).open(path).await?;
            // Drop whatever a failed attempt wrote past what was counted.
            file.set_len(have).await?;
            file
        }
        Placement::At(_) => tokio::fs::OpenOptions::new().write(true).open(path).await?,
    };
    let at = match placement {
        Placement::OwnFile => have,
        Placement::At(offset) => offset + have,
    };
    file.seek(SeekFrom::Start(at)).await?;
    Ok(BufWriter::with_capacity(WRITE_BUFFER, file))
}

/// Builds a header map from yt-dlp's `http_headers`, skipping what a client
/// must not set by hand and anything that does not parse.
pub fn header_map(headers: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        if matches!(lower.as_str(), "host" | "content-length" | "connection" | "range" | "cookie" | "accept-encoding") {
            continue;
        }
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            map.insert(n, v);
        }
    }
    map
}

/// Counts bytes across all connections of a download.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn add(&self, n: u64) -> u64 {
        self.0.fetch_add(n, Ordering::Relaxed) + n
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resume_where_they_stopped() {
        assert_eq!(effective_range(None, 0), None);
        assert_eq!(effective_range(None, 10), Some(ByteRange { start: 10, end: None }));
        assert_eq!(effective_range(Some(ByteRange::new(100, 199)), 40), Some(ByteRange::new(140, 199)));
    }

    #[test]
    fn range_in_query_replaces_an_old_one() {
        let url = Url::parse("https://r1.googlevideo.com/videoplayback?id=1&range=0-5&x=y")
            .unwrap_or_else(|_| Url::parse("https://a/").expect("valid"));
        let got = request_url(&url, Some(ByteRange::new(10, 20)), true);
        assert_eq!(got.query(), Some("id=1&x=y&range=10-20"));
        assert_eq!(request_url(&url, Some(ByteRange::new(10, 20)), false), url);
    }

    #[test]
    fn content_range_must_start_where_asked() {
        let mut h = HeaderMap::new();
        assert!(check_content_range(&h, ByteRange::new(5, 9)).is_ok());
        h.insert(CONTENT_RANGE, HeaderValue::from_static("bytes 5-9/100"));
        assert!(check_content_range(&h, ByteRange::new(5, 9)).is_ok());
        assert!(check_content_range(&h, ByteRange::new(0, 9)).is_err());
    }

    #[test]
    fn forbidden_headers_are_dropped() {
        let map = header_map(&[
            ("User-Agent".into(), "x".into()),
            ("Host".into(), "evil".into()),
            ("Cookie".into(), "a=b".into()),
            ("Bad\nName".into(), "v".into()),
            ("Referer".into(), "https://site/".into()),
        ]);
        assert_eq!(map.len(), 2);
        assert!(map.contains_key("user-agent") && map.contains_key("referer"));
    }
}
