//! What the native engine fetches: a format becomes an ordered list of
//! [`Fragment`]s (an HLS media playlist's segments, a DASH format's
//! fragments, or byte ranges of one progressive file), each a single GET.
//!
//! The protocol modules (`hls`, `dash`, `http`) only turn their input into
//! fragments; fetching, retries and assembly are shared.

use url::Url;

/// A byte range of a resource, as sent in a `Range` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// Last byte, inclusive; `None` means to the end of the resource.
    pub end: Option<u64>,
}

impl ByteRange {
    /// `start..=end`.
    pub fn new(start: u64, end: u64) -> ByteRange {
        ByteRange { start, end: Some(end) }
    }

    /// Never: a range holds at least its first byte (here so `len` has
    /// its usual partner).
    pub fn is_empty(&self) -> bool {
        self.end.is_some_and(|e| e < self.start)
    }

    /// How many bytes, when the end is known.
    pub fn len(&self) -> Option<u64> {
        self.end.map(|e| e.saturating_sub(self.start) + 1)
    }

    /// The `Range` header value for the part from `offset` bytes in
    /// (0 = the whole range), e.g. `bytes=100-199`.
    pub fn header_from(&self, offset: u64) -> String {
        let from = self.start + offset;
        match self.end {
            Some(end) => format!("bytes={from}-{end}"),
            None => format!("bytes={from}-"),
        }
    }
}

/// The AES-128 key of an HLS segment (`#EXT-X-KEY:METHOD=AES-128`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Aes128Key {
    /// Where the 16-byte key is fetched from (absolute).
    pub uri: Url,
    /// The IV: from the tag's `IV=0x…`, else the segment's media sequence
    /// number as a 128-bit big-endian integer.
    pub iv: [u8; 16],
}

/// One GET of the download, in output order.
#[derive(Debug, Clone, PartialEq)]
pub struct Fragment {
    /// Position in the output (0-based, consecutive).
    pub index: usize,
    /// Absolute URL.
    pub url: Url,
    /// Only this part of the resource (`EXT-X-BYTERANGE`, a chunk of a
    /// progressive file); `None` = all of it.
    pub range: Option<ByteRange>,
    /// Decrypt the body with this key before appending it.
    pub key: Option<Aes128Key>,
    /// An initialization section (`EXT-X-MAP`, DASH `Initialization`): never
    /// skipped, always before the media it initializes.
    pub is_init: bool,
    /// Play time in seconds, when the manifest says.
    pub duration: Option<f64>,
    /// Exact size in bytes, when known in advance.
    pub size: Option<u64>,
}

/// A manifest or format the native engine will not download; the job falls
/// back to yt-dlp and logs the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unsupported(pub String);

impl Unsupported {
    /// An `Unsupported` with this reason.
    pub fn new(reason: impl Into<String>) -> Unsupported {
        Unsupported(reason.into())
    }
}
