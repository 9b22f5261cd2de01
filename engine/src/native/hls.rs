//! An HLS media playlist (RFC 8216) as the [`Fragment`]s the native engine
//! fetches: one per segment, plus the initialization sections
//! (`EXT-X-MAP`) before the segments they apply to.
//!
//! Only finished, unencrypted or AES-128 playlists are handled; everything
//! else is [`Unsupported`] and the job falls back to yt-dlp.
//!
//! The playlist is read by `m3u8-rs` 6.0.1, the established, maintained HLS
//! parser for Rust (nom-based, MIT): master/media detection, playlist-level
//! tags, the segments' URIs and byte ranges. Four things it reads wrongly for
//! a downloader are taken from a scan of the tag lines instead, in playlist
//! order:
//! - `#EXT-X-KEY:METHOD=NONE` fails its key parser (it demands an IV for
//!   NONE, the inverse of the RFC; rutgersc/m3u8-rs PR #76) and the tag is
//!   silently kept as an unknown tag, so it would never clear a key;
//! - it attaches a KEY or MAP tag only to the segment right after it and
//!   keeps only the last KEY before a segment (PR #79), which loses the
//!   order of KEY and MAP tags: per RFC 8216 §4.3.2.4 a key applies to an
//!   `EXT-X-MAP` that follows it, not to one before it;
//! - any tag it cannot parse becomes an unknown tag without an error (an
//!   unreadable KEY would mean writing ciphertext as if it were media);
//! - `EXTINF` durations are `f32`.
//!
//! Both readings must agree on the segments (same URI lines in the same
//! order); when they do not, m3u8-rs has misread the playlist (it takes the
//! rest of an `EXTINF` title after a comma for a URI, for one) and it is
//! [`Unsupported`], left to yt-dlp's parser.

use url::Url;

use super::fragment::{Aes128Key, ByteRange, Fragment, Unsupported};

/// The most segments a playlist may have. Real VOD playlists have a few
/// thousand at most (10 hours of 2-second segments is 18 000); the bound
/// keeps a hostile playlist from making the engine allocate without limit.
pub const MAX_SEGMENTS: usize = 100_000;

/// A VOD media playlist, ready to fetch.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaPlaylist {
    /// Segments and initialization sections in output order.
    pub fragments: Vec<Fragment>,
    /// `#EXT-X-TARGETDURATION`: the longest segment, in seconds.
    pub target_duration: Option<f64>,
    /// The sum of the segments' `EXTINF` durations, in seconds.
    pub total_duration: f64,
}

/// Why a playlist was not turned into fragments.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HlsError {
    /// A valid playlist the native engine does not download (master, live,
    /// DRM, SAMPLE-AES, non-HTTP URIs, …); the caller falls back to yt-dlp.
    #[error("{0}")]
    Unsupported(#[from] Unsupported),
    /// Not a readable media playlist.
    #[error("unreadable HLS playlist: {0}")]
    Invalid(String),
}

fn invalid(reason: impl Into<String>) -> HlsError {
    HlsError::Invalid(reason.into())
}

fn unsupported(reason: impl Into<String>) -> HlsError {
    HlsError::Unsupported(Unsupported::new(reason))
}

/// Parses a media playlist fetched from `base` (the URL after redirects:
/// relative URIs resolve against it).
///
/// Rules, beyond RFC 8216:
/// - a segment's AES-128 IV is the tag's `IV`, else its media sequence
///   number (`EXT-X-MEDIA-SEQUENCE` + position) as 128-bit big-endian;
/// - an `EXT-X-MAP` becomes an init fragment before the first segment it
///   applies to, and again only when a later MAP names another URI or range;
///   it is encrypted with the AES-128 key in effect at the MAP tag, whose
///   `IV` the RFC then requires (without one it is [`Unsupported`]);
/// - a MAP `BYTERANGE` without `@offset` starts at byte 0; a segment's
///   `EXT-X-BYTERANGE` without one continues after the previous byte range
///   (segment or init section) when that was of the same URI, and is
///   [`HlsError::Invalid`] otherwise.
pub fn parse_media_playlist(text: &[u8], base: &Url) -> Result<MediaPlaylist, HlsError> {
    // A UTF-8 byte order mark would hide `#EXTM3U` from m3u8-rs.
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    if !text.starts_with(b"#EXTM3U") {
        return Err(invalid("does not start with #EXTM3U"));
    }
    let source = std::str::from_utf8(text).map_err(|_| invalid("not UTF-8"))?;
    if m3u8_rs::is_master_playlist(text) {
        return Err(unsupported("a master playlist (a list of variants), not a media playlist"));
    }
    // Scanned first: it enforces MAX_SEGMENTS before m3u8-rs builds a
    // segment list of whatever size.
    let lines = scan(source)?;
    let playlist = match m3u8_rs::parse_media_playlist(text) {
        Ok((rest, playlist)) if rest.iter().all(u8::is_ascii_whitespace) => playlist,
        Ok(_) => return Err(invalid("m3u8-rs stopped before the end of the playlist")),
        Err(_) => return Err(invalid("m3u8-rs could not parse it")),
    };
    if playlist.i_frames_only {
        return Err(unsupported("an I-frame-only playlist (trick play), not media"));
    }
    if playlist.playlist_type == Some(m3u8_rs::MediaPlaylistType::Event) {
        return Err(unsupported("a live event playlist (EXT-X-PLAYLIST-TYPE:EVENT)"));
    }
    if !playlist.end_list {
        return Err(unsupported("a live playlist (no EXT-X-ENDLIST)"));
    }
    let fragments = Builder::new(base, playlist.media_sequence).build(&lines, &playlist.segments)?;
    let total_duration = fragments.iter().filter(|f| !f.is_init).filter_map(|f| f.duration).sum();
    Ok(MediaPlaylist {
        fragments,
        // m3u8-rs reads a missing tag as 0, which is no target duration.
        target_duration: (playlist.target_duration > 0).then_some(playlist.target_duration as f64),
        total_duration,
    })
}

/// A line of the playlist that the scan reads itself (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Line<'a> {
    /// `#EXT-X-KEY:` and its attribute list.
    Key(&'a str),
    /// `#EXT-X-MAP:` and its attribute list.
    Map(&'a str),
    /// `#EXTINF:` and its value.
    Inf(&'a str),
    /// `#EXT-X-BYTERANGE:` (its value is m3u8-rs's).
    ByteRange,
    /// A segment URI.
    Uri(&'a str),
}

/// The lines m3u8-rs mishandles, in order, and every URI line. Lines are
/// classified as m3u8-rs does: blank lines skipped, `#` starts a tag or
/// comment, anything else is a URI.
fn scan(text: &str) -> Result<Vec<Line<'_>>, HlsError> {
    let mut lines = Vec::new();
    let mut uris = 0usize;
    for line in text.lines() {
        let line = line.trim();
        let scanned = if line.is_empty() {
            continue;
        } else if let Some(attributes) = line.strip_prefix("#EXT-X-KEY:") {
            Line::Key(attributes)
        } else if let Some(attributes) = line.strip_prefix("#EXT-X-MAP:") {
            Line::Map(attributes)
        } else if let Some(value) = line.strip_prefix("#EXTINF:") {
            Line::Inf(value)
        } else if line.starts_with("#EXT-X-BYTERANGE:") {
            Line::ByteRange
        } else if line.starts_with('#') {
            continue;
        } else {
            uris += 1;
            if uris > MAX_SEGMENTS {
                return Err(invalid(format!("more than {MAX_SEGMENTS} segments")));
            }
            Line::Uri(line)
        };
        lines.push(scanned);
    }
    Ok(lines)
}

/// The AES-128 key in effect (`None` = segments are not encrypted).
#[derive(Debug, Clone)]
struct KeyState {
    uri: Url,
    iv: Option<[u8; 16]>,
}

/// An `EXT-X-MAP`, read where it appeared.
#[derive(Debug, Clone)]
struct Map {
    url: Url,
    range: Option<ByteRange>,
    key: Option<Aes128Key>,
}

/// Walks the scanned lines and m3u8-rs's segments side by side.
struct Builder<'a> {
    base: &'a Url,
    media_sequence: u64,
    fragments: Vec<Fragment>,
    key: Option<KeyState>,
    /// A MAP tag seen since the last segment.
    pending_map: Option<Map>,
    /// URI and range of the init section last emitted.
    current_map: Option<(Url, Option<ByteRange>)>,
    /// The URI of the previous byte range and the offset right after it.
    previous_range: Option<(Url, u64)>,
}

impl<'a> Builder<'a> {
    fn new(base: &'a Url, media_sequence: u64) -> Builder<'a> {
        Builder {
            base,
            media_sequence,
            fragments: Vec::new(),
            key: None,
            pending_map: None,
            current_map: None,
            previous_range: None,
        }
    }

    fn build(mut self, lines: &[Line<'_>], segments: &[m3u8_rs::MediaSegment]) -> Result<Vec<Fragment>, HlsError> {
        // m3u8-rs and the scan classify lines alike; if they still disagree,
        // m3u8-rs swallowed or split a line (it takes the rest of an EXTINF
        // title after a comma for a URI, for one) and cannot be trusted with
        // this playlist, which may well be valid: yt-dlp's own parser gets it.
        let misread = || unsupported("a playlist m3u8-rs misreads (its segments differ from the URI lines)");
        let mut segments = segments.iter();
        let mut position = 0u64;
        let mut duration = None;
        let mut has_byte_range = false;
        self.fragments.reserve(segments.len() + 1);
        for line in lines {
            match *line {
                // Checked even after the last segment: a playlist naming a
                // hostile URI anywhere is not downloaded natively.
                Line::Key(attributes) => self.key = parse_key(attributes, self.base)?,
                Line::Map(attributes) => {
                    self.pending_map = Some(parse_map(attributes, self.base, self.key.as_ref())?);
                }
                Line::Inf(value) => duration = Some(parse_duration(value)?),
                Line::ByteRange => has_byte_range = true,
                Line::Uri(uri) => {
                    let segment = segments.next().ok_or_else(misread)?;
                    if segment.uri.trim() != uri {
                        return Err(misread());
                    }
                    if segment.byte_range.is_some() != has_byte_range {
                        return Err(invalid("unreadable EXT-X-BYTERANGE"));
                    }
                    self.push_segment(segment, position, duration.take())?;
                    has_byte_range = false;
                    position += 1;
                }
            }
        }
        if segments.next().is_some() {
            return Err(misread());
        }
        if position == 0 {
            return Err(invalid("no segments"));
        }
        Ok(self.fragments)
    }

    fn push_segment(
        &mut self,
        segment: &m3u8_rs::MediaSegment,
        position: u64,
        duration: Option<f64>,
    ) -> Result<(), HlsError> {
        if let Some(map) = self.pending_map.take() {
            let id = (map.url.clone(), map.range);
            // The same MAP repeated (e.g. after a discontinuity) initializes
            // nothing new.
            if self.current_map.as_ref() != Some(&id) {
                self.previous_range = map.range.and_then(|r| Some((map.url.clone(), r.end?.checked_add(1)?)));
                self.push(Fragment {
                    index: 0,
                    size: map.range.and_then(|r| r.len()),
                    url: map.url,
                    range: map.range,
                    key: map.key,
                    is_init: true,
                    duration: None,
                });
                self.current_map = Some(id);
            }
        }
        let url = resolve(self.base, &segment.uri, "segment")?;
        let range = match &segment.byte_range {
            Some(r) => Some(self.segment_range(&url, r.length, r.offset)?),
            None => {
                self.previous_range = None;
                None
            }
        };
        let key = self.key.as_ref().map(|k| Aes128Key {
            uri: k.uri.clone(),
            iv: k.iv.unwrap_or_else(|| sequence_iv(self.media_sequence, position)),
        });
        self.push(Fragment { index: 0, url, range, key, is_init: false, duration, size: range.and_then(|r| r.len()) });
        Ok(())
    }

    /// `EXT-X-BYTERANGE:<length>[@<offset>]` of `url`.
    fn segment_range(&mut self, url: &Url, length: u64, offset: Option<u64>) -> Result<ByteRange, HlsError> {
        let start = match (offset, &self.previous_range) {
            (Some(offset), _) => offset,
            (None, Some((previous, next))) if previous == url => *next,
            (None, _) => return Err(invalid("EXT-X-BYTERANGE without offset, not following a range of the same URI")),
        };
        let range = byte_range(length, start)?;
        self.previous_range = range.end.and_then(|end| Some((url.clone(), end.checked_add(1)?)));
        Ok(range)
    }

    fn push(&mut self, mut fragment: Fragment) {
        fragment.index = self.fragments.len();
        self.fragments.push(fragment);
    }
}

/// `length` bytes from `start`.
fn byte_range(length: u64, start: u64) -> Result<ByteRange, HlsError> {
    let end = length.checked_sub(1).ok_or_else(|| invalid("a byte range of 0 bytes"))?;
    let end = start.checked_add(end).ok_or_else(|| invalid("a byte range beyond 2^64"))?;
    Ok(ByteRange::new(start, end))
}

/// The IV of a segment without `IV=`: its media sequence number, as a
/// 128-bit big-endian integer (RFC 8216 §5.2).
fn sequence_iv(media_sequence: u64, position: u64) -> [u8; 16] {
    (u128::from(media_sequence) + u128::from(position)).to_be_bytes()
}

/// `#EXT-X-KEY`: the key for the segments that follow, or `None` for
/// `METHOD=NONE`.
fn parse_key(attributes: &str, base: &Url) -> Result<Option<KeyState>, HlsError> {
    let attributes = Attributes::parse(attributes)?;
    let method = attributes.get("METHOD").ok_or_else(|| invalid("EXT-X-KEY without METHOD"))?;
    match method {
        "NONE" => return Ok(None),
        "AES-128" => {}
        // SAMPLE-AES, SAMPLE-AES-CTR, SAMPLE-AES-CENC, …: encryption inside
        // the media (usually with DRM), not of whole segments.
        other => {
            return Err(unsupported(format!("encryption METHOD={} (only AES-128 is decrypted natively)", clip(other))))
        }
    }
    // RFC 8216: no KEYFORMAT means "identity", a key fetched as 16 raw bytes;
    // any other format is a DRM system's.
    if let Some(format) = attributes.get("KEYFORMAT").filter(|f| *f != "identity") {
        return Err(unsupported(format!(
            "EXT-X-KEY KEYFORMAT=\"{}\" (only identity keys are fetched natively)",
            clip(format)
        )));
    }
    let uri = attributes
        .get("URI")
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| invalid("AES-128 EXT-X-KEY without URI"))?;
    let uri = resolve(base, uri, "key")?;
    let iv = attributes.get("IV").map(parse_iv).transpose()?;
    Ok(Some(KeyState { uri, iv }))
}

/// `IV=0x…`: up to 32 hex digits, left-padded with zeros.
fn parse_iv(value: &str) -> Result<[u8; 16], HlsError> {
    let bad = || invalid(format!("EXT-X-KEY IV {:?} is not a 128-bit hex number", clip(value)));
    let hex = value.strip_prefix("0x").or_else(|| value.strip_prefix("0X")).ok_or_else(bad)?;
    if hex.is_empty() || hex.len() > 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    u128::from_str_radix(hex, 16).map(u128::to_be_bytes).map_err(|_| bad())
}

/// `#EXT-X-MAP`, encrypted with `key` if one is in effect.
fn parse_map(attributes: &str, base: &Url, key: Option<&KeyState>) -> Result<Map, HlsError> {
    let attributes = Attributes::parse(attributes)?;
    let uri = attributes.get("URI").filter(|u| !u.trim().is_empty()).ok_or_else(|| invalid("EXT-X-MAP without URI"))?;
    let url = resolve(base, uri, "EXT-X-MAP")?;
    let range = match attributes.get("BYTERANGE") {
        None => None,
        Some(value) => {
            let bad = || invalid(format!("EXT-X-MAP BYTERANGE {:?}", clip(value)));
            let (length, offset) = match value.split_once('@') {
                Some((length, offset)) => (length, Some(offset)),
                None => (value, None),
            };
            let length = length.trim().parse::<u64>().map_err(|_| bad())?;
            let offset = match offset {
                Some(offset) => offset.trim().parse::<u64>().map_err(|_| bad())?,
                // There is no previous segment to continue from: the init
                // section is at the start of the resource.
                None => 0,
            };
            Some(byte_range(length, offset)?)
        }
    };
    let key = match key {
        None => None,
        Some(KeyState { uri, iv: Some(iv) }) => Some(Aes128Key { uri: uri.clone(), iv: *iv }),
        // RFC 8216 §4.3.2.5 requires the IV here: an init section has no
        // media sequence number to derive one from.
        Some(KeyState { iv: None, .. }) => {
            return Err(unsupported("an AES-128 encrypted EXT-X-MAP without the IV the RFC requires"))
        }
    };
    Ok(Map { url, range, key })
}

/// `#EXTINF:<duration>,[<title>]`.
fn parse_duration(value: &str) -> Result<f64, HlsError> {
    let number = value.split_once(',').map_or(value, |(number, _title)| number);
    number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|d| d.is_finite() && *d >= 0.0)
        .ok_or_else(|| invalid(format!("EXTINF duration {:?}", clip(number))))
}

/// `uri` resolved against the playlist URL; only http(s) is fetched.
fn resolve(base: &Url, uri: &str, what: &str) -> Result<Url, HlsError> {
    let url = base.join(uri.trim()).map_err(|e| invalid(format!("{what} URI {:?}: {e}", clip(uri))))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        // The scheme only: a data: URI can be long.
        scheme => Err(unsupported(format!(
            "a {what} URI with scheme {}: (only http and https are fetched natively)",
            clip(scheme)
        ))),
    }
}

/// At most 40 characters of playlist text, for error messages and logs.
fn clip(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// An attribute list (RFC 8216 §4.2): `NAME=value,NAME="quoted value",…`,
/// quotes removed.
struct Attributes<'a>(Vec<(&'a str, &'a str)>);

impl<'a> Attributes<'a> {
    fn parse(list: &'a str) -> Result<Attributes<'a>, HlsError> {
        let bad = |why: &str| invalid(format!("attribute list {:?}: {why}", clip(list)));
        let mut attributes = Vec::new();
        let mut rest = list.trim();
        while !rest.is_empty() {
            let (name, after) = rest.split_once('=').ok_or_else(|| bad("a name without value"))?;
            let name = name.trim();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-') {
                return Err(bad("a malformed attribute name"));
            }
            let after = after.trim_start();
            // A quoted value runs to the next quote (it cannot contain one),
            // an unquoted one to the next comma.
            let (value, after) = match after.strip_prefix('"') {
                Some(quoted) => quoted.split_once('"').ok_or_else(|| bad("an unterminated quoted string"))?,
                None => after.split_at(after.find(',').unwrap_or(after.len())),
            };
            let after = after.trim_start();
            rest = match after.strip_prefix(',') {
                Some(next) => next.trim_start(),
                None if after.is_empty() => after,
                None => return Err(bad("text after a quoted value")),
            };
            if attributes.iter().any(|(n, _)| *n == name) {
                return Err(bad("a repeated attribute"));
            }
            attributes.push((name, value.trim()));
        }
        Ok(Attributes(attributes))
    }

    fn get(&self, name: &str) -> Option<&'a str> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://media.example/vod/abc/index.m3u8?token=t1";

    fn base() -> Url {
        Url::parse(BASE).expect("base URL")
    }

    fn parse(text: &str) -> Result<MediaPlaylist, HlsError> {
        parse_media_playlist(text.as_bytes(), &base())
    }

    fn parsed(text: &str) -> MediaPlaylist {
        parse(text).expect("playlist parses")
    }

    fn urls(playlist: &MediaPlaylist) -> Vec<&str> {
        playlist.fragments.iter().map(|f| f.url.as_str()).collect()
    }

    fn iv(n: u128) -> [u8; 16] {
        n.to_be_bytes()
    }

    fn assert_unsupported(text: &str, needle: &str) {
        match parse(text) {
            Err(HlsError::Unsupported(Unsupported(reason))) => {
                assert!(reason.contains(needle), "{reason:?} should mention {needle:?}");
            }
            other => panic!("expected Unsupported({needle:?}), got {other:?}"),
        }
    }

    fn assert_invalid(text: &str, needle: &str) {
        match parse(text) {
            Err(HlsError::Invalid(reason)) => {
                assert!(reason.contains(needle), "{reason:?} should mention {needle:?}");
            }
            other => panic!("expected Invalid({needle:?}), got {other:?}"),
        }
    }

    /// `ffmpeg -f hls -hls_time 4 -hls_playlist_type vod` (ffmpeg 5.1.9),
    /// byte for byte.
    const FFMPEG_TS: &str = "#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXTINF:4.000000,
index0.ts
#EXTINF:4.000000,
index1.ts
#EXTINF:1.000000,
index2.ts
#EXT-X-ENDLIST
";

    /// The same with `-hls_segment_type fmp4 -hls_flags single_file`.
    const FFMPEG_FMP4_SINGLE_FILE: &str = "#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI=\"index.m4s\",BYTERANGE=\"828@0\"
#EXTINF:4.000000,
#EXT-X-BYTERANGE:22876@828
index.m4s
#EXTINF:4.000000,
#EXT-X-BYTERANGE:22492@23704
index.m4s
#EXTINF:1.000000,
#EXT-X-BYTERANGE:5446@46196
index.m4s
#EXT-X-ENDLIST
";

    /// The TS one with `-hls_key_info_file` (key URI `k.key`, no IV in the
    /// key info file: ffmpeg then writes IV=0 itself); no final newline, as
    /// ffmpeg writes it.
    const FFMPEG_AES: &str = "#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-KEY:METHOD=AES-128,URI=\"k.key\",IV=0x00000000000000000000000000000000
#EXTINF:4.000000,
index0.ts
#EXTINF:4.000000,
index1.ts
#EXTINF:1.000000,
index2.ts
#EXT-X-ENDLIST";

    #[test]
    fn plain_ts_playlist_from_ffmpeg() {
        let playlist = parsed(FFMPEG_TS);
        assert_eq!(
            urls(&playlist),
            [
                "https://media.example/vod/abc/index0.ts",
                "https://media.example/vod/abc/index1.ts",
                "https://media.example/vod/abc/index2.ts",
            ]
        );
        assert_eq!(playlist.target_duration, Some(4.0));
        assert_eq!(playlist.total_duration, 9.0);
        for (i, fragment) in playlist.fragments.iter().enumerate() {
            assert_eq!(fragment.index, i);
            assert!(!fragment.is_init);
            assert_eq!(fragment.key, None);
            assert_eq!(fragment.range, None);
            assert_eq!(fragment.size, None);
        }
        let durations: Vec<_> = playlist.fragments.iter().map(|f| f.duration).collect();
        assert_eq!(durations, [Some(4.0), Some(4.0), Some(1.0)]);
    }

    #[test]
    fn fmp4_single_file_from_ffmpeg() {
        let playlist = parsed(FFMPEG_FMP4_SINGLE_FILE);
        let file = "https://media.example/vod/abc/index.m4s";
        assert_eq!(urls(&playlist), [file; 4]);
        let f = &playlist.fragments;
        assert!(f[0].is_init && !f[1].is_init && !f[2].is_init && !f[3].is_init);
        assert_eq!(f[0].range, Some(ByteRange::new(0, 827)));
        assert_eq!(f[0].size, Some(828));
        assert_eq!(f[0].duration, None);
        assert_eq!(f[1].range, Some(ByteRange::new(828, 23_703)));
        assert_eq!(f[2].range, Some(ByteRange::new(23_704, 46_195)));
        assert_eq!(f[3].range, Some(ByteRange::new(46_196, 51_641)));
        assert_eq!(f[3].size, Some(5446));
        assert_eq!(playlist.total_duration, 9.0);
        assert_eq!(f.iter().map(|f| f.index).collect::<Vec<_>>(), [0, 1, 2, 3]);
    }

    #[test]
    fn aes_playlist_from_ffmpeg() {
        let playlist = parsed(FFMPEG_AES);
        let key = Aes128Key { uri: Url::parse("https://media.example/vod/abc/k.key").expect("url"), iv: [0; 16] };
        assert_eq!(playlist.fragments.len(), 3);
        for fragment in &playlist.fragments {
            assert_eq!(fragment.key.as_ref(), Some(&key));
        }
    }

    #[test]
    fn relative_and_absolute_uris_keep_their_queries() {
        let playlist = parsed(
            "#EXTM3U
#EXT-X-TARGETDURATION:10
#EXTINF:10,
seg1.ts?sig=a%2Fb&x=1
#EXTINF:10,
/abs/seg2.ts
#EXTINF:10,
https://other.example/seg3.ts?token=z
#EXTINF:10,
//cdn2.example/seg4.ts
#EXTINF:10,
../up/seg5.ts
#EXTINF:10,
http://plain.example/seg6.ts
#EXT-X-ENDLIST
",
        );
        assert_eq!(
            urls(&playlist),
            [
                "https://media.example/vod/abc/seg1.ts?sig=a%2Fb&x=1",
                "https://media.example/abs/seg2.ts",
                "https://other.example/seg3.ts?token=z",
                "https://cdn2.example/seg4.ts",
                "https://media.example/vod/up/seg5.ts",
                "http://plain.example/seg6.ts",
            ]
        );
        assert_eq!(playlist.total_duration, 60.0);
    }

    #[test]
    fn aes_with_explicit_ivs_short_ones_left_padded() {
        let playlist = parsed(
            "#EXTM3U
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:100
#EXT-X-KEY:METHOD=AES-128,URI=\"https://keys.example/k1?id=9\",IV=0x0123456789ABCDEF0123456789abcdef
#EXTINF:6.006,
a.ts
#EXTINF:6.006,
b.ts
#EXT-X-KEY:METHOD=AES-128,URI=\"k2.bin\",IV=0X1f,KEYFORMAT=\"identity\",KEYFORMATVERSIONS=\"1\"
#EXTINF:3.5,
c.ts
#EXT-X-ENDLIST
",
        );
        let f = &playlist.fragments;
        let k1 = f[0].key.as_ref().expect("key");
        assert_eq!(k1.uri.as_str(), "https://keys.example/k1?id=9");
        assert_eq!(k1.iv, iv(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef));
        // An explicit IV is the same for every segment under the tag.
        assert_eq!(f[1].key.as_ref(), Some(k1));
        let k2 = f[2].key.as_ref().expect("key");
        assert_eq!(k2.uri.as_str(), "https://media.example/vod/abc/k2.bin");
        assert_eq!(k2.iv, iv(0x1f));
        assert_eq!(f[0].duration, Some(6.006));
        assert!((playlist.total_duration - 15.512).abs() < 1e-9);
    }

    #[test]
    fn aes_without_iv_uses_the_media_sequence_number() {
        let playlist = parsed(
            "#EXTM3U
#EXT-X-TARGETDURATION:10
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-KEY:METHOD=AES-128,URI=\"key.bin\"
#EXTINF:10,
s7.ts
#EXTINF:10,
s8.ts
#EXT-X-DISCONTINUITY
#EXTINF:10,
s9.ts
#EXT-X-ENDLIST
",
        );
        let ivs: Vec<_> = playlist.fragments.iter().map(|f| f.key.as_ref().expect("key").iv).collect();
        let mut seven = [0u8; 16];
        seven[15] = 7;
        assert_eq!(ivs[0], seven);
        assert_eq!(ivs, [iv(7), iv(8), iv(9)]);
    }

    #[test]
    fn key_rotation_and_method_none() {
        // Also a regression test for m3u8-rs 6.0.1, which drops METHOD=NONE.
        let playlist = parsed(
            "#EXTM3U
#EXT-X-TARGETDURATION:10
#EXT-X-KEY:METHOD=AES-128,URI=\"k1\"
#EXTINF:10,
0.ts
#EXTINF:10,
1.ts
#EXT-X-KEY:METHOD=AES-128,URI=\"k2\"
#EXTINF:10,
2.ts
#EXT-X-KEY:METHOD=NONE
#EXTINF:10,
3.ts
#EXTINF:10,
4.ts
#EXT-X-KEY:METHOD=AES-128,URI=\"k3\",IV=0x10
#EXTINF:10,
5.ts
#EXT-X-ENDLIST
",
        );
        let keys: Vec<_> =
            playlist.fragments.iter().map(|f| f.key.as_ref().map(|k| (k.uri.path().to_owned(), k.iv))).collect();
        let key = |name: &str, n| Some((format!("/vod/abc/{name}"), iv(n)));
        assert_eq!(keys, [key("k1", 0), key("k1", 1), key("k2", 2), None, None, key("k3", 16)]);
    }

    #[test]
    fn sample_aes_and_drm_are_refused() {
        let with_key =
            |tag: &str| format!("#EXTM3U\n#EXT-X-TARGETDURATION:10\n{tag}\n#EXTINF:10,\na.ts\n#EXT-X-ENDLIST\n");
        assert_unsupported(
            &with_key("#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://id\",KEYFORMAT=\"com.apple.streamingkeydelivery\",KEYFORMATVERSIONS=\"1\""),
            "METHOD=SAMPLE-AES",
        );
        assert_unsupported(
            &with_key("#EXT-X-KEY:METHOD=SAMPLE-AES-CTR,URI=\"data:text/plain;base64,AAAA\",KEYFORMAT=\"urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed\""),
            "METHOD=SAMPLE-AES-CTR",
        );
        assert_unsupported(&with_key("#EXT-X-KEY:METHOD=AES-256,URI=\"k\""), "METHOD=AES-256");
        assert_unsupported(
            &with_key("#EXT-X-KEY:METHOD=AES-128,URI=\"k\",KEYFORMAT=\"com.example.drm\""),
            "KEYFORMAT=\"com.example.drm\"",
        );
        // A refused key anywhere refuses the playlist, even past the last
        // segment.
        assert_unsupported(
            "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\na.ts\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"k\"\n#EXT-X-ENDLIST\n",
            "SAMPLE-AES",
        );
    }

    #[test]
    fn fmp4_map_emitted_before_its_segments_and_again_only_when_it_changes() {
        let playlist = parsed(
            "#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-MAP:URI=\"init-a.mp4\"
#EXTINF:4,
a1.m4s
#EXTINF:4,
a2.m4s
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI=\"init-a.mp4\"
#EXTINF:4,
a3.m4s
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI=\"init-b.mp4\"
#EXTINF:4,
b1.m4s
#EXT-X-MAP:URI=\"init-b.mp4\",BYTERANGE=\"500@100\"
#EXTINF:4,
b2.m4s
#EXT-X-ENDLIST
",
        );
        let names: Vec<_> = playlist
            .fragments
            .iter()
            .map(|f| (f.url.path().rsplit('/').next().unwrap_or_default(), f.is_init))
            .collect();
        assert_eq!(
            names,
            [
                ("init-a.mp4", true),
                ("a1.m4s", false),
                ("a2.m4s", false),
                ("a3.m4s", false),
                ("init-b.mp4", true),
                ("b1.m4s", false),
                ("init-b.mp4", true),
                ("b2.m4s", false),
            ]
        );
        let f = &playlist.fragments;
        assert_eq!(f.iter().map(|f| f.index).collect::<Vec<_>>(), (0..8).collect::<Vec<_>>());
        assert_eq!(f[4].range, None);
        assert_eq!(f[6].range, Some(ByteRange::new(100, 599)));
        assert_eq!(f[6].size, Some(500));
        // Init sections take no play time.
        assert_eq!(playlist.total_duration, 20.0);
    }

    #[test]
    fn a_map_is_encrypted_by_a_key_tag_before_it_not_after_it() {
        // KEY then MAP: the init section is under the key (RFC 8216
        // §4.3.2.4), which must carry an IV (§4.3.2.5).
        let playlist = parsed(
            "#EXTM3U
#EXT-X-TARGETDURATION:4
#EXT-X-KEY:METHOD=AES-128,URI=\"k\",IV=0x99
#EXT-X-MAP:URI=\"init.mp4\"
#EXTINF:4,
s.m4s
#EXT-X-ENDLIST
",
        );
        let f = &playlist.fragments;
        assert!(f[0].is_init);
        assert_eq!(f[0].key.as_ref().map(|k| k.iv), Some(iv(0x99)));
        assert_eq!(f[1].key.as_ref().map(|k| k.iv), Some(iv(0x99)));

        // MAP then KEY: the init section is in the clear, the segment is not.
        let playlist = parsed(
            "#EXTM3U
#EXT-X-TARGETDURATION:4
#EXT-X-MAP:URI=\"init.mp4\"
#EXT-X-KEY:METHOD=AES-128,URI=\"k\"
#EXTINF:4,
s.m4s
#EXT-X-ENDLIST
",
        );
        let f = &playlist.fragments;
        assert!(f[0].is_init);
        assert_eq!(f[0].key, None);
        assert_eq!(f[1].key.as_ref().map(|k| k.iv), Some(iv(0)));

        // A key cleared before the MAP leaves it in the clear.
        let playlist = parsed(
            "#EXTM3U
#EXT-X-TARGETDURATION:4
#EXT-X-KEY:METHOD=AES-128,URI=\"k\",IV=0x1
#EXTINF:4,
s1.m4s
#EXT-X-KEY:METHOD=NONE
#EXT-X-MAP:URI=\"init2.mp4\"
#EXTINF:4,
s2.m4s
#EXT-X-ENDLIST
",
        );
        let f = &playlist.fragments;
        assert!(f[1].is_init);
        assert_eq!((f[1].key.as_ref(), f[2].key.as_ref()), (None, None));

        // KEY without IV, then MAP: the RFC requires an IV; refused.
        assert_unsupported(
            "#EXTM3U
#EXT-X-TARGETDURATION:4
#EXT-X-KEY:METHOD=AES-128,URI=\"k\"
#EXT-X-MAP:URI=\"init.mp4\"
#EXTINF:4,
s.m4s
#EXT-X-ENDLIST
",
            "EXT-X-MAP without the IV",
        );
    }

    #[test]
    fn byte_ranges_with_and_without_offsets() {
        let playlist = parsed(
            "#EXTM3U
#EXT-X-VERSION:4
#EXT-X-TARGETDURATION:10
#EXTINF:10,
#EXT-X-BYTERANGE:1000@0
media.ts
#EXTINF:10,
#EXT-X-BYTERANGE:2000
media.ts
#EXTINF:10,
#EXT-X-BYTERANGE:500@10000
media.ts
#EXTINF:10,
#EXT-X-BYTERANGE:1
media.ts
#EXTINF:10,
other.ts
#EXT-X-ENDLIST
",
        );
        let ranges: Vec<_> = playlist.fragments.iter().map(|f| f.range).collect();
        assert_eq!(
            ranges,
            [
                Some(ByteRange::new(0, 999)),
                Some(ByteRange::new(1000, 2999)),
                Some(ByteRange::new(10_000, 10_499)),
                Some(ByteRange::new(10_500, 10_500)),
                None,
            ]
        );
        let sizes: Vec<_> = playlist.fragments.iter().map(|f| f.size).collect();
        assert_eq!(sizes, [Some(1000), Some(2000), Some(500), Some(1), None]);

        // An init section's range counts as the previous one (single-file
        // fMP4 written without offsets).
        let playlist = parsed(
            "#EXTM3U
#EXT-X-TARGETDURATION:10
#EXT-X-MAP:URI=\"f.mp4\",BYTERANGE=\"700\"
#EXTINF:10,
#EXT-X-BYTERANGE:300
f.mp4
#EXT-X-ENDLIST
",
        );
        let ranges: Vec<_> = playlist.fragments.iter().map(|f| f.range).collect();
        assert_eq!(ranges, [Some(ByteRange::new(0, 699)), Some(ByteRange::new(700, 999))]);
    }

    #[test]
    fn a_byte_range_without_offset_needs_a_previous_range_of_the_same_uri() {
        assert_invalid(
            "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n#EXT-X-BYTERANGE:100\na.ts\n#EXT-X-ENDLIST\n",
            "without offset",
        );
        assert_invalid(
            "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n#EXT-X-BYTERANGE:100@0\na.ts\n#EXTINF:10,\n#EXT-X-BYTERANGE:100\nb.ts\n#EXT-X-ENDLIST\n",
            "without offset",
        );
        assert_invalid(
            "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n#EXT-X-BYTERANGE:100@0\na.ts\n#EXTINF:10,\na.ts\n#EXTINF:10,\n#EXT-X-BYTERANGE:100\na.ts\n#EXT-X-ENDLIST\n",
            "without offset",
        );
        assert_invalid(
            "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n#EXT-X-BYTERANGE:0@0\na.ts\n#EXT-X-ENDLIST\n",
            "0 bytes",
        );
        assert_invalid(
            "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n#EXT-X-BYTERANGE:2@18446744073709551615\na.ts\n#EXT-X-ENDLIST\n",
            "2^64",
        );
        // m3u8-rs keeps a BYTERANGE it cannot read as an unknown tag; the
        // segment would silently become the whole file.
        assert_invalid(
            "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n#EXT-X-BYTERANGE:lots\na.ts\n#EXT-X-ENDLIST\n",
            "EXT-X-BYTERANGE",
        );
    }

    #[test]
    fn live_and_event_playlists_are_refused() {
        assert_unsupported(
            "#EXTM3U
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:51234
#EXTINF:2.000,
live51234.ts
#EXTINF:2.000,
live51235.ts
",
            "live playlist",
        );
        assert_unsupported(
            "#EXTM3U
#EXT-X-TARGETDURATION:2
#EXT-X-PLAYLIST-TYPE:EVENT
#EXTINF:2.000,
e0.ts
#EXT-X-ENDLIST
",
            "EVENT",
        );
        assert_unsupported(
            "#EXTM3U
#EXT-X-TARGETDURATION:2
#EXT-X-I-FRAMES-ONLY
#EXTINF:2.000,
#EXT-X-BYTERANGE:1000@0
f.ts
#EXT-X-ENDLIST
",
            "I-frame",
        );
    }

    #[test]
    fn master_playlist_is_refused() {
        assert_unsupported(
            "#EXTM3U
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=1280000,AVERAGE-BANDWIDTH=1000000,RESOLUTION=1280x720,CODECS=\"avc1.4d401f,mp4a.40.2\"
720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2560000,RESOLUTION=1920x1080
1080p/index.m3u8
",
            "master playlist",
        );
    }

    #[test]
    fn hostile_uris_are_refused_wherever_they_are() {
        let cases = [
            ("#EXTINF:10,\nfile:///etc/passwd", "segment URI with scheme file:"),
            ("#EXTINF:10,\nhttpproxy://127.0.0.1:8080/x", "scheme httpproxy:"),
            ("#EXTINF:10,\ndata:video/mp2t;base64,R0VU", "scheme data:"),
            (
                "#EXT-X-KEY:METHOD=AES-128,URI=\"data:text/plain;base64,AAAAAAAAAAAAAAAAAAAAAA==\"\n#EXTINF:10,\na.ts",
                "key URI with scheme data:",
            ),
            ("#EXT-X-KEY:METHOD=AES-128,URI=\"file:///tmp/k\"\n#EXTINF:10,\na.ts", "key URI with scheme file:"),
            ("#EXT-X-MAP:URI=\"file:///init.mp4\"\n#EXTINF:10,\na.m4s", "EXT-X-MAP URI with scheme file:"),
            ("#EXT-X-MAP:URI=\"ftp://h/init.mp4\"\n#EXTINF:10,\na.m4s", "scheme ftp:"),
            // Past the last segment too.
            ("#EXTINF:10,\na.ts\n#EXT-X-MAP:URI=\"gopher://h/x\"", "scheme gopher:"),
        ];
        for (body, needle) in cases {
            assert_unsupported(&format!("#EXTM3U\n#EXT-X-TARGETDURATION:10\n{body}\n#EXT-X-ENDLIST\n"), needle);
        }
        // A playlist served from a non-HTTP base resolves everything there.
        let err = parse_media_playlist(FFMPEG_TS.as_bytes(), &Url::parse("file:///srv/index.m3u8").expect("url"));
        assert!(matches!(err, Err(HlsError::Unsupported(_))), "{err:?}");
    }

    #[test]
    fn malformed_keys_are_invalid_not_ignored() {
        let with_key =
            |tag: &str| format!("#EXTM3U\n#EXT-X-TARGETDURATION:10\n{tag}\n#EXTINF:10,\na.ts\n#EXT-X-ENDLIST\n");
        for (tag, needle) in [
            ("#EXT-X-KEY:URI=\"k\"", "without METHOD"),
            ("#EXT-X-KEY:METHOD=AES-128", "without URI"),
            ("#EXT-X-KEY:METHOD=AES-128,URI=\"\"", "without URI"),
            ("#EXT-X-KEY:METHOD=AES-128,URI=\"k\",IV=0x", "IV"),
            ("#EXT-X-KEY:METHOD=AES-128,URI=\"k\",IV=1234", "IV"),
            ("#EXT-X-KEY:METHOD=AES-128,URI=\"k\",IV=0x0123456789abcdef0123456789abcdef0", "IV"),
            ("#EXT-X-KEY:METHOD=AES-128,URI=\"k\",IV=0x12g4", "IV"),
            ("#EXT-X-KEY:METHOD=AES-128,URI=\"k", "unterminated"),
            ("#EXT-X-KEY:METHOD=AES-128,URI=\"k\"x", "after a quoted value"),
            ("#EXT-X-KEY:METHOD=AES-128,METHOD=NONE", "repeated"),
        ] {
            assert_invalid(&with_key(tag), needle);
        }
    }

    #[test]
    fn not_a_media_playlist_is_invalid() {
        assert_invalid("", "#EXTM3U");
        assert_invalid("<html>403 Forbidden</html>", "#EXTM3U");
        assert_invalid("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXT-X-ENDLIST\n", "no segments");
        assert_invalid("#EXTM3U\n#EXTINF:ten,\na.ts\n#EXT-X-ENDLIST\n", "EXTINF");
        let latin1 = b"#EXTM3U\n#EXTINF:1,\n\xe9.ts\n#EXT-X-ENDLIST\n";
        assert!(matches!(parse_media_playlist(latin1, &base()), Err(HlsError::Invalid(_))));
    }

    #[test]
    fn tolerates_crlf_bom_blank_lines_and_comments() {
        let text = "\u{feff}#EXTM3U\r\n#EXT-X-TARGETDURATION:10\r\n\r\n# a comment\r\n#EXTINF:10,a title\r\n  a.ts\r\n#EXT-X-ENDLIST\r\n";
        let playlist = parsed(text);
        assert_eq!(urls(&playlist), ["https://media.example/vod/abc/a.ts"]);
        assert_eq!(playlist.total_duration, 10.0);
        // No TARGETDURATION: none, rather than 0.
        let playlist = parsed("#EXTM3U\n#EXTINF:3,\na.ts\n#EXT-X-ENDLIST");
        assert_eq!(playlist.target_duration, None);
    }

    #[test]
    fn playlists_m3u8_rs_misreads_fall_back_to_yt_dlp() {
        // m3u8-rs ends an EXTINF title at a comma and reads the rest of the
        // line as a segment URI.
        assert_unsupported(
            "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,Part 1, the beginning\na.ts\n#EXT-X-ENDLIST\n",
            "m3u8-rs misreads",
        );
    }

    #[test]
    fn more_than_max_segments_is_invalid() {
        let mut text = String::from("#EXTM3U\n#EXT-X-TARGETDURATION:1\n");
        for i in 0..=MAX_SEGMENTS {
            text.push_str(&format!("#EXTINF:1,\ns{i}.ts\n"));
        }
        text.push_str("#EXT-X-ENDLIST\n");
        assert_invalid(&text, "more than 100000 segments");
        // Exactly the maximum is fine.
        let at_max = text.replacen(&format!("#EXTINF:1,\ns{MAX_SEGMENTS}.ts\n"), "", 1);
        let playlist = parsed(&at_max);
        assert_eq!(playlist.fragments.len(), MAX_SEGMENTS);
        assert_eq!(playlist.fragments[MAX_SEGMENTS - 1].index, MAX_SEGMENTS - 1);
    }
}
