//! Progressive files (`http`/`https` formats): the size is asked for with a
//! one-byte range, then the file is cut into byte ranges that separate
//! connections fetch into their place in one pre-sized file.

use reqwest::header::{HeaderMap, CONTENT_RANGE, COOKIE, RANGE};
use url::Url;

use super::fragment::{ByteRange, Fragment};
use netguard::{refusal_of, GuardedClient, Refusal};

/// Smallest chunk worth a request of its own.
const MIN_CHUNK: u64 = 512 * 1024;
/// Largest chunk when the format names no `http_chunk_size`: a slow chunk
/// at the end is what a sliding window still waits for.
const MAX_CHUNK: u64 = 8 * 1024 * 1024;

/// Why the size could not be learnt.
#[derive(Debug, thiserror::Error)]
pub enum SizeError {
    #[error("{0}")]
    Refused(Refusal),
    #[error("the site answered HTTP {0}")]
    Status(u16),
    #[error("the connection failed: {0}")]
    Network(String),
}

/// Bytes asked for with the size: enough to tell MP4, Matroska and MPEG-TS
/// apart (two TS packets), so a clip's check of the container costs no
/// request of its own.
pub const HEAD_BYTES: u64 = 376;

/// What the server said about the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    /// The total size, when the server answered a range request (and so
    /// supports ranges).
    pub size: Option<u64>,
    /// The file's first bytes (up to [`HEAD_BYTES`]) when it answered with
    /// a range.
    pub head: Vec<u8>,
}

/// Asks for the first [`HEAD_BYTES`]: a 206 with `Content-Range: bytes
/// 0-375/N` gives the size, proves ranges work and brings the bytes that
/// say what the file is; a 200 means no ranges (one connection), and its
/// body is not read.
pub async fn probe_size(
    client: &GuardedClient,
    url: &Url,
    headers: &HeaderMap,
    cookie: Option<&str>,
    range_in_query: bool,
) -> Result<Probed, SizeError> {
    let mut target = url.clone();
    if range_in_query {
        target.query_pairs_mut().append_pair("range", &format!("0-{}", HEAD_BYTES - 1));
    }
    let mut request = client.get(target).map_err(SizeError::Refused)?.headers(headers.clone());
    if !range_in_query {
        request = request.header(RANGE, format!("bytes=0-{}", HEAD_BYTES - 1));
    }
    if let Some(c) = cookie {
        request = request.header(COOKIE, c);
    }
    let response = request.send().await.map_err(|e| match refusal_of(&e) {
        Some(r) => SizeError::Refused(r),
        None => SizeError::Network(e.to_string()),
    })?;
    let mut response = response;
    let status = response.status().as_u16();
    let size = match status {
        206 => response
            .headers()
            .get(CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit_once('/'))
            .and_then(|(_, total)| total.trim().parse::<u64>().ok()),
        // googlevideo answers a `range=` query with 200 and just those bytes.
        200 if range_in_query => None,
        200 => None,
        other => return Err(SizeError::Status(other)),
    };
    let mut head = Vec::new();
    if status == 206 {
        // At most HEAD_BYTES are kept, whatever the origin sends; a failure
        // here only costs the sniff.
        while (head.len() as u64) < HEAD_BYTES {
            match tokio::time::timeout(std::time::Duration::from_secs(10), response.chunk()).await {
                Ok(Ok(Some(bytes))) => {
                    let room = usize::try_from(HEAD_BYTES).unwrap_or(0) - head.len();
                    head.extend_from_slice(&bytes[..bytes.len().min(room)]);
                }
                _ => break,
            }
        }
    }
    // The rest (a whole file on a 200) is not read: dropping the response
    // closes that connection.
    drop(response);
    Ok(Probed { size, head })
}

/// Chunk size for a file of `size` bytes fetched over about `connections`
/// connections: four chunks per connection so that a freed connection finds
/// work, within [`MIN_CHUNK`] and the format's `http_chunk_size` (or
/// [`MAX_CHUNK`]).
pub fn chunk_size(size: u64, connections: usize, http_chunk_size: Option<u64>) -> u64 {
    let ceiling = http_chunk_size.filter(|c| *c > 0).unwrap_or(MAX_CHUNK).max(1);
    let wanted = size.div_ceil((connections.max(1) as u64) * 4);
    wanted.clamp(MIN_CHUNK.min(ceiling), ceiling)
}

/// The ranges of a file of `size` bytes, in order.
pub fn fragments(url: &Url, size: u64, chunk: u64) -> Vec<Fragment> {
    let chunk = chunk.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    while start < size {
        let end = (start + chunk).min(size) - 1;
        out.push(Fragment {
            index: out.len(),
            url: url.clone(),
            range: Some(ByteRange::new(start, end)),
            key: None,
            is_init: false,
            duration: None,
            size: Some(end - start + 1),
        });
        start = end + 1;
    }
    out
}

/// One fragment for the whole resource (a server without range support).
pub fn whole(url: &Url, size: Option<u64>) -> Vec<Fragment> {
    vec![Fragment { index: 0, url: url.clone(), range: None, key: None, is_init: false, duration: None, size }]
}

/// googlevideo takes the range as a query parameter (as yt-dlp sends it).
pub fn wants_range_in_query(url: &Url) -> bool {
    url.host_str().is_some_and(|h| h == "googlevideo.com" || h.ends_with(".googlevideo.com"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("https://cdn.example.com/v.mp4").unwrap_or_else(|_| Url::parse("https://a/").expect("valid"))
    }

    #[test]
    fn ranges_cover_the_file_exactly_once() {
        for (size, chunk) in [(1u64, 10u64), (10, 10), (11, 10), (10_000_000, 1_048_576), (7, 3)] {
            let f = fragments(&url(), size, chunk);
            let mut next = 0;
            for (i, frag) in f.iter().enumerate() {
                assert_eq!(frag.index, i);
                let r = frag.range.expect("range");
                assert_eq!(r.start, next);
                next = r.end.expect("end") + 1;
                assert_eq!(frag.size, r.len());
            }
            assert_eq!(next, size);
        }
        assert!(fragments(&url(), 0, 10).is_empty());
    }

    #[test]
    fn chunk_sizes_follow_the_connections_and_the_format() {
        assert_eq!(chunk_size(100 * 1024 * 1024, 8, None), 100 * 1024 * 1024 / 32);
        assert_eq!(chunk_size(1_000, 8, None), MIN_CHUNK);
        assert_eq!(chunk_size(10_000_000_000, 8, None), MAX_CHUNK);
        assert_eq!(chunk_size(10_000_000_000, 8, Some(10_485_760)), 10_485_760);
        assert_eq!(chunk_size(1_000_000, 8, Some(100_000)), 100_000);
    }

    #[test]
    fn only_googlevideo_gets_query_ranges() {
        let yt = Url::parse("https://rr1---sn-x.googlevideo.com/videoplayback?a=1").expect("valid");
        assert!(wants_range_in_query(&yt));
        assert!(!wants_range_in_query(&url()));
        let evil = Url::parse("https://googlevideo.com.evil.test/").expect("valid");
        assert!(!wants_range_in_query(&evil));
    }
}
