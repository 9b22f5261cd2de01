//! What goes into the finished file besides the picture and the sound:
//! subtitle files, the chapters and the cover image, fetched through the
//! egress guard *before* the media, so that a subtitle that cannot be had
//! fails the download before gigabytes are moved.
//!
//! Every file is bounded in size and handed to ffmpeg as a local file
//! only; the cover is decoded and re-encoded on its own first (bounded in
//! pixels), so a broken or hostile image costs the cover, not the video.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use reqwest::header::COOKIE;
use url::Url;

use super::cookies::CookieJar;
use super::source::{http_url, Output};
use super::tracks::refused;
use crate::download::{AudioFormat, DownloadOptions, MEDIA_STEM};
use crate::error::{EngineError, FailureKind};
use crate::info::extras::{subtitles_of, tags, Tags};
use crate::ytdlp::Probe;
use netguard::{refusal_of, GuardedClient};

/// Largest subtitle file read (a feature film's SRT is ~100 KB).
const MAX_SUBTITLE_BYTES: usize = 4 * 1024 * 1024;
/// Largest thumbnail read.
const MAX_COVER_BYTES: usize = 8 * 1024 * 1024;
/// The most pixels a cover image may decode to (a 4K frame is 8.3 M): a
/// tiny PNG can claim to be 60000×60000.
const MAX_COVER_PIXELS: u64 = 16 * 1024 * 1024;

/// One subtitle language, fetched.
#[derive(Debug, Clone)]
pub struct SubtitleInput {
    pub lang: String,
    pub name: Option<String>,
    /// The file as the site gave it (`media.sub.en.vtt`).
    pub path: PathBuf,
    /// Its format: `vtt`, `srt`, `ass`, `ssa`.
    pub ext: String,
}

/// Everything fetched and written besides the media.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    pub subtitles: Vec<SubtitleInput>,
    /// `FFMETADATA1` with the chapters (shifted to a clip), when there are any.
    pub chapters: Option<PathBuf>,
    /// A JPEG ready to embed (audio files only).
    pub cover: Option<PathBuf>,
    /// The words to tag, when tags are on.
    pub tags: Option<Tags>,
}

pub(crate) struct Fetcher<'a> {
    pub client: &'a GuardedClient,
    pub cookies: &'a CookieJar,
    pub ffmpeg: &'a Path,
}

/// Fetches and writes what `options` ask for, into `dir`.
pub(crate) async fn prepare(
    fetcher: &Fetcher<'_>,
    probe: &Probe,
    options: &DownloadOptions,
    output: Output,
    dir: &Path,
) -> Result<Extras, EngineError> {
    let mut extras = Extras::default();
    if !options.subtitles.is_empty() {
        let top: serde_json::Value = serde_json::from_str(&probe.raw).unwrap_or_default();
        let offered = subtitles_of(&top);
        for lang in &options.subtitles {
            let source = offered.iter().find(|s| s.lang == *lang).ok_or_else(|| EngineError::Fetch {
                kind: FailureKind::Other,
                message: format!("The video has no subtitles in \"{lang}\"."),
            })?;
            let file = source.best_file().ok_or_else(|| EngineError::Fetch {
                kind: FailureKind::Other,
                message: format!("The subtitles in \"{lang}\" are in a format Kachay cannot read."),
            })?;
            let url = http_url(&file.url).ok_or_else(|| EngineError::Fetch {
                kind: FailureKind::Other,
                message: format!("The subtitles in \"{lang}\" have no usable link."),
            })?;
            let what = format!("the subtitles in \"{lang}\"");
            let body = fetch_bounded(fetcher, &url, MAX_SUBTITLE_BYTES, &what).await?;
            let ext = file.ext.to_ascii_lowercase();
            let path = dir.join(format!("{MEDIA_STEM}.sub{}.{ext}", extras.subtitles.len()));
            tokio::fs::write(&path, body).await?;
            extras.subtitles.push(SubtitleInput { lang: lang.clone(), name: source.name.clone(), path, ext });
        }
    }
    if options.tags {
        let t = tags(&probe.raw);
        let clip = options.clip.map(|c| (c.start_ms as f64 / 1000.0, c.end_ms as f64 / 1000.0));
        if let Some(text) = chapters_file(&t, clip) {
            let path = dir.join(format!("{MEDIA_STEM}.chapters.txt"));
            tokio::fs::write(&path, text).await?;
            extras.chapters = Some(path);
        }
        let wants_cover = matches!(output, Output::Audio(AudioFormat::M4a | AudioFormat::Mp3 | AudioFormat::Flac));
        if wants_cover {
            if let Some(url) = probe.info.best_thumbnail().and_then(http_url) {
                extras.cover = cover(fetcher, &url, dir).await;
            }
        }
        extras.tags = Some(t);
    }
    Ok(extras)
}

/// The thumbnail as a JPEG of at most 1280 px wide, or `None` (logged):
/// a missing cover never fails a download.
async fn cover(fetcher: &Fetcher<'_>, url: &Url, dir: &Path) -> Option<PathBuf> {
    let body = match fetch_bounded(fetcher, url, MAX_COVER_BYTES, "the thumbnail").await {
        Ok(body) => body,
        Err(e) => {
            tracing::info!(error = %e, "no cover art: the thumbnail could not be fetched");
            return None;
        }
    };
    let raw = dir.join(format!("{MEDIA_STEM}.cover.raw"));
    let jpeg = dir.join(format!("{MEDIA_STEM}.cover.jpg"));
    tokio::fs::write(&raw, body).await.ok()?;
    let mut cmd = crate::process::command(fetcher.ffmpeg);
    cmd.args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-protocol_whitelist", "file,pipe"])
        .args(["-max_pixels", &MAX_COVER_PIXELS.to_string()])
        .arg("-i")
        .arg(&raw)
        .args(["-frames:v", "1", "-vf", "scale='min(1280,iw)':-2", "-q:v", "3", "-c:v", "mjpeg", "-f", "image2"])
        .arg(&jpeg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let done = match cmd.output().await {
        Ok(out) if out.status.success() => tokio::fs::metadata(&jpeg).await.is_ok_and(|m| m.len() > 0),
        Ok(out) => {
            let detail = String::from_utf8_lossy(&out.stderr).chars().take(300).collect::<String>();
            tracing::info!(%detail, "no cover art: the thumbnail is not an image ffmpeg reads");
            false
        }
        Err(e) => {
            tracing::info!(error = %e, "no cover art: ffmpeg did not start");
            false
        }
    };
    let _ = tokio::fs::remove_file(&raw).await;
    if done {
        Some(jpeg)
    } else {
        let _ = tokio::fs::remove_file(&jpeg).await;
        None
    }
}

/// GETs `url` through the guard, refusing more than `max` bytes.
async fn fetch_bounded(fetcher: &Fetcher<'_>, url: &Url, max: usize, what: &str) -> Result<Vec<u8>, EngineError> {
    let unreachable = |detail: String| {
        tracing::debug!(%detail, "{what} unreachable");
        EngineError::Fetch {
            kind: FailureKind::Unreachable,
            message: format!("The video site could not be reached for {what}."),
        }
    };
    let mut request = fetcher.client.get(url.clone()).map_err(|r| refused(&r))?;
    if let Some(cookie) = fetcher.cookies.header_for(url) {
        request = request.header(COOKIE, cookie);
    }
    let net = |e: reqwest::Error| match refusal_of(&e) {
        Some(r) => refused(&r),
        None => unreachable(e.to_string()),
    };
    let mut response = request.send().await.map_err(net)?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(EngineError::Fetch {
            kind: FailureKind::Http(status),
            message: format!("The video site answered HTTP {status} for {what}."),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(net)? {
        if body.len() + chunk.len() > max {
            return Err(EngineError::Fetch {
                kind: FailureKind::Other,
                message: format!("The video site sent too much for {what}."),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The chapters as an `FFMETADATA1` file, shifted into `clip` (seconds)
/// and cut to it; `None` when none are left.
pub fn chapters_file(tags: &Tags, clip: Option<(f64, f64)>) -> Option<String> {
    let mut out = String::from(";FFMETADATA1\n");
    let mut any = false;
    for c in &tags.chapters {
        let (start, end) = match clip {
            None => (c.start, c.end),
            Some((from, to)) => (c.start.max(from) - from, c.end.min(to) - from),
        };
        if end - start < 0.001 {
            continue;
        }
        any = true;
        out.push_str(&format!(
            "[CHAPTER]\nTIMEBASE=1/1000\nSTART={}\nEND={}\ntitle={}\n",
            (start * 1000.0).round() as u64,
            (end * 1000.0).round() as u64,
            escape_ffmetadata(&c.title)
        ));
    }
    any.then_some(out)
}

/// `=`, `;`, `#`, `\` and line breaks are special in `FFMETADATA1`.
fn escape_ffmetadata(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '=' | ';' | '#' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' => out.push_str("\\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// The ISO 639-2 code MP4 needs for a language (`en` → `eng`); the mov
/// muxer writes `und` for any two-letter code.
pub fn iso639_2(lang: &str) -> Option<&'static str> {
    const TABLE: [(&str, &str); 40] = [
        ("ar", "ara"),
        ("bg", "bul"),
        ("bn", "ben"),
        ("cs", "cze"),
        ("da", "dan"),
        ("de", "ger"),
        ("el", "gre"),
        ("en", "eng"),
        ("es", "spa"),
        ("et", "est"),
        ("fa", "per"),
        ("fi", "fin"),
        ("fr", "fre"),
        ("he", "heb"),
        ("hi", "hin"),
        ("hr", "hrv"),
        ("hu", "hun"),
        ("hy", "arm"),
        ("id", "ind"),
        ("it", "ita"),
        ("ja", "jpn"),
        ("ka", "geo"),
        ("kk", "kaz"),
        ("ko", "kor"),
        ("lt", "lit"),
        ("lv", "lav"),
        ("nl", "dut"),
        ("no", "nor"),
        ("pl", "pol"),
        ("pt", "por"),
        ("ro", "rum"),
        ("ru", "rus"),
        ("sk", "slo"),
        ("sr", "srp"),
        ("sv", "swe"),
        ("th", "tha"),
        ("tr", "tur"),
        ("uk", "ukr"),
        ("vi", "vie"),
        ("zh", "chi"),
    ];
    let base = lang.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
    if base.len() == 3 && base.chars().all(|c| c.is_ascii_lowercase()) {
        return TABLE.iter().map(|(_, three)| *three).find(|t| *t == base);
    }
    TABLE.iter().find(|(two, _)| *two == base).map(|(_, three)| *three)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::extras::Chapter;

    #[test]
    fn chapters_are_shifted_into_a_clip() {
        let tags = Tags {
            chapters: vec![
                Chapter { start: 0.0, end: 5.0, title: "A=1; #2".into() },
                Chapter { start: 5.0, end: 20.0, title: "B".into() },
            ],
            ..Tags::default()
        };
        let whole = chapters_file(&tags, None).unwrap_or_default();
        assert!(whole.contains("START=0\nEND=5000\ntitle=A\\=1\\; \\#2\n"), "{whole}");
        let clip = chapters_file(&tags, Some((4.0, 8.0))).unwrap_or_default();
        assert!(clip.contains("START=0\nEND=1000\n"), "{clip}");
        assert!(clip.contains("START=1000\nEND=4000\ntitle=B"), "{clip}");
        assert_eq!(chapters_file(&tags, Some((20.0, 30.0))), None);
        assert_eq!(chapters_file(&Tags::default(), None), None);
    }

    #[test]
    fn languages_for_mp4() {
        assert_eq!(iso639_2("en"), Some("eng"));
        assert_eq!(iso639_2("en-US"), Some("eng"));
        assert_eq!(iso639_2("ru"), Some("rus"));
        assert_eq!(iso639_2("rus"), Some("rus"));
        assert_eq!(iso639_2("xx"), None);
    }
}
