//! From a selected format to a [`Track`]: its fragments (reading the HLS
//! playlist or probing the file's size where needed), the headers and
//! cookies its requests carry, and where its bytes go on disk.

use std::path::{Path, PathBuf};

use reqwest::header::{HeaderMap, COOKIE};
use url::Url;

use super::cookies::CookieJar;
use super::fetch::header_map;
use super::fragment::{Fragment, Unsupported};
use super::source::{NativeFormat, Protocol, Selection};
use super::{dash, hls, http, NativeError, NativeSettings, REFUSAL_PREFIX};
use crate::download::MEDIA_STEM;
use crate::error::{EngineError, FailureKind};
use netguard::{refusal_of, GuardedClient, Refusal};

/// Largest HLS media playlist read (a 6-hour stream of 2 s segments is
/// about 1 MB).
const MAX_PLAYLIST_BYTES: usize = 16 * 1024 * 1024;
/// Attempts at reading a playlist or probing a size.
const PLAN_ATTEMPTS: u32 = 3;

pub(crate) struct Context<'a> {
    pub client: &'a GuardedClient,
    pub settings: &'a NativeSettings,
    pub cookies: &'a CookieJar,
}

/// One format to fetch.
#[derive(Debug, Clone)]
pub struct Track {
    pub format_id: String,
    pub acodec: Option<String>,
    pub fragments: Vec<Fragment>,
    pub headers: HeaderMap,
    pub cookies: CookieJar,
    pub range_in_query: bool,
    /// The assembled track.
    pub path: PathBuf,
    /// Fragments are written at their range's offset straight into `path`
    /// (progressive files); otherwise each goes to a file of its own first
    /// and is appended in order.
    pub direct: bool,
    /// Expected bytes, for progress.
    pub estimate: Option<u64>,
    /// A progressive file's first bytes, from the size probe (empty when
    /// unknown): what a clip sniffs the container from.
    pub head: Vec<u8>,
}

impl Track {
    /// Where fragment `index` is written before it is appended.
    pub fn fragment_path(&self, index: usize) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".frag{index:05}"));
        PathBuf::from(name)
    }

    /// The `Cookie` header for a request to `url`.
    pub fn cookie_for(&self, url: &Url) -> Option<String> {
        self.cookies.header_for(url)
    }
}

/// A failure a person can read, with the refusal marker the server
/// recognises when the guard said no.
pub fn refused(refusal: &Refusal) -> EngineError {
    EngineError::Fetch { kind: FailureKind::Other, message: format!("{REFUSAL_PREFIX}: {refusal}") }
}

fn http_failure(status: u16, what: &str) -> EngineError {
    EngineError::Fetch {
        kind: FailureKind::Http(status),
        message: format!("The video site answered HTTP {status} for {what}."),
    }
}

fn unreachable(what: &str, detail: &str) -> EngineError {
    tracing::debug!(%detail, "{what} unreachable");
    EngineError::Fetch {
        kind: FailureKind::Unreachable,
        message: format!("The video site could not be reached for {what}."),
    }
}

/// Plans every selected format.
pub(crate) async fn plan(ctx: &Context<'_>, selection: &Selection, dir: &Path) -> Result<Vec<Track>, NativeError> {
    let mut tracks = Vec::with_capacity(selection.formats.len());
    for (format, protocol) in &selection.formats {
        tracks.push(build(ctx, format, *protocol, dir, selection.duration).await?);
    }
    Ok(tracks)
}

/// Plans one format.
pub(crate) async fn build(
    ctx: &Context<'_>,
    format: &NativeFormat,
    protocol: Protocol,
    dir: &Path,
    duration: Option<f64>,
) -> Result<Track, NativeError> {
    let safe_id: String = format
        .id()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .take(40)
        .collect();
    let path = dir.join(format!("{MEDIA_STEM}.f{safe_id}.track"));
    let headers = header_map(&format.headers());
    let media_url = format.media_url().ok();
    let format_cookies = match (&format.cookies, &media_url) {
        (Some(text), Some(url)) => CookieJar::from_ytdlp(text, url),
        _ => CookieJar::default(),
    };
    let cookies = format_cookies.merged(ctx.cookies);
    let estimate_from_format =
        format.filesize.or(format.filesize_approx).or_else(|| Some((format.tbr? * 1000.0 / 8.0 * duration?) as u64));

    let mut track = Track {
        format_id: format.id().to_owned(),
        acodec: format.acodec.clone(),
        fragments: Vec::new(),
        headers,
        cookies,
        range_in_query: false,
        path,
        direct: false,
        estimate: estimate_from_format,
        head: Vec::new(),
    };
    match protocol {
        Protocol::Progressive => {
            let url = format.media_url()?;
            track.range_in_query = http::wants_range_in_query(&url);
            let cookie = track.cookie_for(&url);
            let probed = with_retries(|| {
                http::probe_size(ctx.client, &url, &track.headers, cookie.as_deref(), track.range_in_query)
            })
            .await
            .map_err(|e| match e {
                http::SizeError::Refused(r) => refused(&r),
                http::SizeError::Status(s) => http_failure(s, "the video file"),
                http::SizeError::Network(d) => unreachable("the video file", &d),
            })?;
            let size = probed.size.or(format.filesize);
            match (probed.size, size) {
                (Some(_), Some(size)) => {
                    let chunk_option = format.downloader_options.as_ref().and_then(|o| o.http_chunk_size);
                    let chunk = http::chunk_size(size, ctx.settings.connections_per_download, chunk_option);
                    track.fragments = http::fragments(&url, size, chunk);
                    track.direct = true;
                    track.estimate = Some(size);
                    track.head = probed.head;
                }
                // No range support: one connection for the whole file.
                _ => track.fragments = http::whole(&url, size),
            }
        }
        Protocol::Hls => {
            let url = format.media_url()?;
            let (body, final_url) = read_playlist(ctx.client, &url, &track).await?;
            let playlist = hls::parse_media_playlist(&body, &final_url).map_err(|e| match e {
                hls::HlsError::Unsupported(u) => NativeError::Unsupported(u),
                hls::HlsError::Invalid(why) => {
                    tracing::debug!(%why, "unreadable media playlist");
                    NativeError::Failed(EngineError::Fetch {
                        kind: FailureKind::Other,
                        message: "The video's playlist could not be read.".to_owned(),
                    })
                }
            })?;
            let known: Option<u64> = playlist.fragments.iter().map(|f| f.size).sum();
            track.estimate = known.or(track.estimate);
            track.fragments = playlist.fragments;
        }
        Protocol::Dash => {
            track.fragments = dash::fragments(&format.raw)?;
            let known: Option<u64> = track.fragments.iter().map(|f| f.size).sum();
            track.estimate = known.or(track.estimate);
        }
    }
    if track.fragments.is_empty() {
        return Err(Unsupported::new(format!("format {} has nothing to fetch", format.id())).into());
    }
    tracing::debug!(
        format = %track.format_id,
        protocol = ?protocol,
        fragments = track.fragments.len(),
        direct = track.direct,
        "native track planned"
    );
    Ok(track)
}

async fn with_retries<T, E, F, Fut>(mut op: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: RetryClass,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt < PLAN_ATTEMPTS && e.retryable() => {
                tokio::time::sleep(std::time::Duration::from_millis(300 * u64::from(attempt))).await;
            }
            Err(e) => return Err(e),
        }
    }
}

trait RetryClass {
    fn retryable(&self) -> bool;
}

impl RetryClass for http::SizeError {
    fn retryable(&self) -> bool {
        match self {
            http::SizeError::Refused(_) => false,
            http::SizeError::Status(s) => *s == 429 || *s >= 500,
            http::SizeError::Network(_) => true,
        }
    }
}

#[derive(Debug)]
enum PlaylistError {
    Refused(Refusal),
    Status(u16),
    Network(String),
    TooLarge,
}

impl RetryClass for PlaylistError {
    fn retryable(&self) -> bool {
        match self {
            PlaylistError::Status(s) => *s == 429 || *s >= 500,
            PlaylistError::Network(_) => true,
            PlaylistError::Refused(_) | PlaylistError::TooLarge => false,
        }
    }
}

/// GETs a media playlist (bounded), returning its bytes and the URL it came
/// from after redirects (segment URIs are relative to that).
async fn read_playlist(client: &GuardedClient, url: &Url, track: &Track) -> Result<(Vec<u8>, Url), NativeError> {
    let got = with_retries(|| async {
        let mut request = client.get(url.clone()).map_err(PlaylistError::Refused)?;
        request = request.headers(track.headers.clone());
        if let Some(c) = track.cookie_for(url) {
            request = request.header(COOKIE, c);
        }
        let net = |e: reqwest::Error| match refusal_of(&e) {
            Some(r) => PlaylistError::Refused(r),
            None => PlaylistError::Network(e.to_string()),
        };
        let mut response = request.send().await.map_err(net)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(PlaylistError::Status(status));
        }
        let final_url = response.url().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(net)? {
            if body.len() + chunk.len() > MAX_PLAYLIST_BYTES {
                return Err(PlaylistError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, final_url))
    })
    .await;
    got.map_err(|e| {
        NativeError::Failed(match e {
            PlaylistError::Refused(r) => refused(&r),
            PlaylistError::Status(s) => http_failure(s, "the video's playlist"),
            PlaylistError::Network(d) => unreachable("the video's playlist", &d),
            PlaylistError::TooLarge => EngineError::Fetch {
                kind: FailureKind::Other,
                message: "The video's playlist is too large to read.".to_owned(),
            },
        })
    })
}
