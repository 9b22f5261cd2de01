//! Which formats a download fetches, and by which protocol: the native
//! engine's `PROTOCOL_MAP`.
//!
//! The typed [`crate::info::Format`] keeps only what the quality picker
//! needs; downloading needs more of yt-dlp's format dict (headers, cookies,
//! fragments, downloader options, DRM and request flags), so it is read here
//! from the raw `-J` text of the probe.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::fragment::Unsupported;
use crate::download::{model_choice, AudioFormat};
use crate::info::InfoJson;
use crate::quality::QualityId;

/// How one format is fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// One file over http(s), fetched as concurrent byte ranges.
    Progressive,
    /// An HLS media playlist (`m3u8_native`).
    Hls,
    /// yt-dlp's `http_dash_segments`: the fragments are in the format dict.
    Dash,
}

/// The parts of a yt-dlp format dict the native engine reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NativeFormat {
    pub format_id: Option<String>,
    pub url: Option<String>,
    pub manifest_url: Option<String>,
    pub protocol: Option<String>,
    pub ext: Option<String>,
    pub vcodec: Option<String>,
    pub acodec: Option<String>,
    #[serde(deserialize_with = "lenient_u64")]
    pub filesize: Option<u64>,
    #[serde(deserialize_with = "lenient_u64")]
    pub filesize_approx: Option<u64>,
    #[serde(deserialize_with = "lenient_f64")]
    pub tbr: Option<f64>,
    pub http_headers: BTreeMap<String, Value>,
    /// yt-dlp's cookie string for this format's URL
    /// (`name=value; Domain=…; Path=/; …`).
    pub cookies: Option<String>,
    pub downloader_options: Option<DownloaderOptions>,
    pub has_drm: Option<Value>,
    pub request_data: Option<Value>,
    pub impersonate: Option<Value>,
    pub extra_param_to_segment_url: Option<Value>,
    pub extra_param_to_key_url: Option<Value>,
    pub hls_aes: Option<Value>,
    pub is_from_start: Option<Value>,
    /// Kept whole for [`super::dash::fragments`].
    #[serde(skip)]
    pub raw: Value,
}

/// `downloader_options` of a format.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DownloaderOptions {
    #[serde(deserialize_with = "lenient_u64")]
    pub http_chunk_size: Option<u64>,
}

fn lenient_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(v.as_u64().or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)))
}

fn lenient_f64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(v.as_f64())
}

impl NativeFormat {
    /// The format's id, or `?` for logs.
    pub fn id(&self) -> &str {
        self.format_id.as_deref().unwrap_or("?")
    }

    /// Whether the format carries video (`vcodec` not `none`).
    pub fn has_video(&self) -> bool {
        !self.vcodec.as_deref().is_some_and(|c| c.eq_ignore_ascii_case("none"))
    }

    /// Whether the format carries audio (`acodec` not `none`).
    pub fn has_audio(&self) -> bool {
        !self.acodec.as_deref().is_some_and(|c| c.eq_ignore_ascii_case("none"))
    }

    /// The request headers yt-dlp would send (string values only).
    pub fn headers(&self) -> Vec<(String, String)> {
        self.http_headers.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))).collect()
    }

    /// The format's media URL, which must be http(s).
    pub fn media_url(&self) -> Result<Url, Unsupported> {
        let raw = self.url.as_deref().ok_or_else(|| Unsupported::new(format!("format {} has no URL", self.id())))?;
        http_url(raw).ok_or_else(|| Unsupported::new(format!("format {} has a URL that is not http(s)", self.id())))
    }

    /// Decides the protocol, or why the native engine leaves this format to
    /// yt-dlp.
    pub fn route(&self) -> Result<Protocol, Unsupported> {
        let id = self.id();
        let flag = |v: &Option<Value>| v.as_ref().is_some_and(truthy);
        if flag(&self.has_drm) {
            return Err(Unsupported::new(format!("format {id} is DRM-protected")));
        }
        for (name, value) in [
            ("request_data", &self.request_data),
            ("impersonate", &self.impersonate),
            ("extra_param_to_segment_url", &self.extra_param_to_segment_url),
            ("extra_param_to_key_url", &self.extra_param_to_key_url),
            ("hls_aes", &self.hls_aes),
            ("is_from_start", &self.is_from_start),
        ] {
            if flag(value) {
                return Err(Unsupported::new(format!("format {id} needs {name}")));
            }
        }
        let protocol = self.protocol.as_deref().unwrap_or_default();
        match protocol {
            "http" | "https" => {
                self.media_url()?;
                Ok(Protocol::Progressive)
            }
            "m3u8_native" => {
                self.media_url()?;
                Ok(Protocol::Hls)
            }
            "http_dash_segments" => Ok(Protocol::Dash),
            other => Err(Unsupported::new(format!(
                "format {id} uses the {} protocol",
                if other.is_empty() { "unnamed" } else { other }
            ))),
        }
    }
}

/// JSON truthiness the way yt-dlp's Python reads these flags.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// `raw` parsed as an absolute http or https URL.
pub fn http_url(raw: &str) -> Option<Url> {
    let url = Url::parse(raw).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}

/// What the finished file is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Video (and audio) into MP4: the codecs fit.
    Mp4,
    /// Video (and audio) into Matroska: the codecs do not fit MP4.
    Mkv,
    /// Only the sound, in this container.
    Audio(AudioFormat),
}

impl Output {
    /// The finished file's extension.
    pub fn ext(self) -> &'static str {
        match self {
            Output::Mp4 => "mp4",
            Output::Mkv => "mkv",
            Output::Audio(a) => a.as_str(),
        }
    }
}

/// The formats one download fetches and how they are put together.
#[derive(Debug, Clone)]
pub struct Selection {
    /// One or two formats (video, then audio), each with its protocol.
    pub formats: Vec<(NativeFormat, Protocol)>,
    pub output: Output,
    /// The video's length in seconds, for estimates.
    pub duration: Option<f64>,
}

/// Picks the formats the yt-dlp path would take for `quality` and checks
/// that the native engine can fetch every one of them; `Err` says why not
/// (the job then runs yt-dlp, as before this engine existed).
pub fn select(
    info: &InfoJson,
    raw: &str,
    quality: QualityId,
    audio_format: AudioFormat,
) -> Result<Selection, Unsupported> {
    let top: Value =
        serde_json::from_str(raw).map_err(|e| Unsupported::new(format!("the info JSON does not parse: {e}")))?;
    if top.get("is_live").is_some_and(truthy)
        || matches!(top.get("live_status").and_then(Value::as_str), Some("is_live" | "is_upcoming" | "post_live"))
    {
        return Err(Unsupported::new("a live stream"));
    }
    if top.get("_has_drm").is_some_and(truthy) {
        return Err(Unsupported::new("the video is DRM-protected"));
    }
    let formats: Vec<Value> = match top.get("formats") {
        Some(Value::Array(list)) if !list.is_empty() => list.clone(),
        // A single-format result (e.g. a direct file) describes itself.
        _ => vec![top.clone()],
    };
    let choice = model_choice(info, quality).ok_or_else(|| Unsupported::new("no quality choice matches"))?;
    let mut ids: Vec<String> = choice.format.split('+').map(str::to_owned).collect();
    let exact = ids.iter().all(|id| !id.is_empty() && !id.contains(['/', '*', '[', ']', ',']));
    if !exact {
        // `auto` on a video without standard heights (a direct file): what
        // `bv*+ba/b` takes.
        ids = best_ids(info)
            .ok_or_else(|| Unsupported::new(format!("the selector {:?} names no exact formats", choice.format)))?;
    }
    let mut chosen = Vec::new();
    for id in &ids {
        let format = find_in(&formats, id)?;
        let protocol = format.route()?;
        chosen.push((format, protocol));
    }
    let output = match quality {
        QualityId::Audio => Output::Audio(audio_format),
        _ if chosen.iter().all(|(f, _)| fits_mp4(f)) => Output::Mp4,
        _ => Output::Mkv,
    };
    Ok(Selection { formats: chosen, output, duration: info.duration.filter(|d| d.is_finite() && *d > 0.0) })
}

/// The format `id` of a (re-extracted) info JSON.
pub fn find_format(raw: &str, id: &str) -> Result<NativeFormat, Unsupported> {
    let top: Value =
        serde_json::from_str(raw).map_err(|e| Unsupported::new(format!("the info JSON does not parse: {e}")))?;
    let formats: Vec<Value> = match top.get("formats") {
        Some(Value::Array(list)) if !list.is_empty() => list.clone(),
        _ => vec![top],
    };
    find_in(&formats, id)
}

fn find_in(formats: &[Value], id: &str) -> Result<NativeFormat, Unsupported> {
    let value = formats
        .iter()
        .find(|f| f.get("format_id").and_then(Value::as_str) == Some(id))
        .ok_or_else(|| Unsupported::new(format!("format {id} is not in the info JSON")))?;
    let mut format: NativeFormat = serde_json::from_value(value.clone())
        .map_err(|e| Unsupported::new(format!("format {id} does not parse: {e}")))?;
    format.raw = value.clone();
    Ok(format)
}

/// The best picture (the highest, the later among equals, as yt-dlp lists
/// best last) plus the best audio-only format when it has no sound.
fn best_ids(info: &InfoJson) -> Option<Vec<String>> {
    let formats = info.formats();
    let usable: Vec<&crate::info::Format> = formats
        .iter()
        .filter(|f| !f.is_storyboard() && f.format_id.as_deref().is_some_and(|i| !i.is_empty()))
        .collect();
    let video = usable
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, f)| f.has_video())
        .max_by_key(|(i, f)| (f.effective_p().unwrap_or(0), *i))
        .map(|(_, f)| f);
    let Some(video) = video else {
        return usable.last().and_then(|f| f.format_id.clone()).map(|id| vec![id]);
    };
    let mut ids = vec![video.format_id.clone()?];
    if !video.has_audio() {
        let audio = usable.iter().copied().rfind(|f| f.is_audio_only())?;
        ids.push(audio.format_id.clone()?);
    }
    Some(ids)
}

/// Whether the codecs go into MP4 without re-encoding (the same rule as the
/// yt-dlp path's `--merge-output-format`).
fn fits_mp4(f: &NativeFormat) -> bool {
    let typed = crate::info::Format {
        ext: f.ext.clone(),
        vcodec: f.vcodec.clone(),
        acodec: f.acodec.clone(),
        ..crate::info::Format::default()
    };
    crate::download::fits_mp4(&typed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> (InfoJson, String) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
        let raw = std::fs::read_to_string(&path).unwrap_or_default();
        let info: InfoJson = serde_json::from_str(&raw).unwrap_or_default();
        (info, raw)
    }

    #[test]
    fn fixture_hls_selects_video_and_audio_natively() {
        let (info, raw) = sample("fixture-main.info.json");
        let s = select(&info, &raw, QualityId::P720, AudioFormat::M4a).expect("native");
        let ids: Vec<&str> = s.formats.iter().map(|(f, _)| f.id()).collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert_eq!(ids[0], "1200");
        assert!(s.formats.iter().all(|(_, p)| *p == Protocol::Hls));
        assert_eq!(s.output, Output::Mp4);
        assert!(s.formats[0].0.headers().iter().any(|(k, _)| k == "User-Agent"));
    }

    #[test]
    fn direct_file_is_progressive() {
        let (info, raw) = sample("fixture-direct.info.json");
        let s = select(&info, &raw, QualityId::Auto, AudioFormat::M4a).expect("native");
        assert_eq!(s.formats.len(), 1);
        assert_eq!(s.formats[0].1, Protocol::Progressive);
        let s = select(&info, &raw, QualityId::Audio, AudioFormat::Mp3).expect("native");
        assert_eq!(s.output, Output::Audio(AudioFormat::Mp3));
    }

    #[test]
    fn youtube_https_formats_keep_their_chunk_size() {
        let (info, raw) = sample("youtube-sample.info.json");
        let s = select(&info, &raw, QualityId::P1080, AudioFormat::M4a).expect("native");
        assert!(s.formats.iter().all(|(_, p)| *p == Protocol::Progressive));
        let chunk = s.formats[0].0.downloader_options.as_ref().and_then(|o| o.http_chunk_size);
        assert_eq!(chunk, Some(10_485_760));
    }

    #[test]
    fn unsupported_formats_fall_back_with_a_reason() {
        let mut f = NativeFormat {
            format_id: Some("x".into()),
            url: Some("https://example.com/a.m3u8".into()),
            protocol: Some("m3u8_native".into()),
            ..NativeFormat::default()
        };
        assert_eq!(f.route(), Ok(Protocol::Hls));
        f.has_drm = Some(Value::Bool(true));
        assert!(f.route().is_err_and(|e| e.0.contains("DRM")));
        f.has_drm = None;
        f.request_data = Some(Value::String("a=b".into()));
        assert!(f.route().is_err_and(|e| e.0.contains("request_data")));
        f.request_data = None;
        for p in ["rtmp", "m3u8", "ism", "f4m", "websocket_frag", "mhtml"] {
            f.protocol = Some(p.into());
            assert!(f.route().is_err(), "{p}");
        }
        f.protocol = Some("https".into());
        f.url = Some("file:///etc/passwd".into());
        assert!(f.route().is_err());
    }

    #[test]
    fn live_streams_fall_back() {
        let raw = r#"{"is_live": true, "formats": [{"format_id": "a", "protocol": "m3u8_native", "url": "https://x/a.m3u8"}]}"#;
        let info: InfoJson = serde_json::from_str(raw).unwrap_or_default();
        assert!(select(&info, raw, QualityId::Auto, AudioFormat::M4a).is_err());
    }
}
