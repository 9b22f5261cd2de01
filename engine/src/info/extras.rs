//! What a download can carry besides the picture and the sound: the
//! video's subtitle tracks, its chapters and the words tagged into the
//! file, read from yt-dlp's info JSON as it was printed.
//!
//! Read from the raw JSON on demand rather than kept in [`super::InfoJson`]:
//! YouTube's `automatic_captions` alone lists ~150 languages with six
//! formats each, which most lookups never need.

use std::collections::BTreeMap;

use serde_json::Value;

/// The most subtitle languages listed for one video (YouTube offers ~150
/// machine translations).
pub const MAX_SUBTITLE_LANGS: usize = 200;
/// The most chapters written into a file.
const MAX_CHAPTERS: usize = 500;

/// One subtitle language and where its files are.
#[derive(Debug, Clone, PartialEq)]
pub struct SubtitleSource {
    /// The site's code (`en`, `ru`, `en-US`, `en-orig`).
    pub lang: String,
    /// The site's name for it.
    pub name: Option<String>,
    /// Made by speech recognition (`automatic_captions`).
    pub automatic: bool,
    /// Its files, in yt-dlp's order (worst first): `(ext, url)`.
    pub files: Vec<SubtitleFile>,
}

/// One file of a subtitle language.
#[derive(Debug, Clone, PartialEq)]
pub struct SubtitleFile {
    /// `vtt`, `srt`, `ttml`, `json3`, …
    pub ext: String,
    pub url: String,
    /// yt-dlp's protocol for it, when not plain http (`m3u8_native` for
    /// HLS subtitle playlists).
    pub protocol: Option<String>,
}

impl SubtitleSource {
    /// The file the engine fetches: WebVTT or SubRip (ffmpeg reads both and
    /// converts to either), else ASS. Never an HLS subtitle playlist, TTML
    /// (ffmpeg cannot read it) or YouTube's JSON formats.
    pub fn best_file(&self) -> Option<&SubtitleFile> {
        const PREFERRED: [&str; 4] = ["vtt", "srt", "ass", "ssa"];
        let plain = |f: &&SubtitleFile| f.protocol.as_deref().is_none_or(|p| p == "http" || p == "https");
        PREFERRED.iter().find_map(|ext| self.files.iter().filter(plain).find(|f| f.ext.eq_ignore_ascii_case(ext)))
    }
}

/// One chapter, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Chapter {
    pub start: f64,
    pub end: f64,
    pub title: String,
}

/// The words and chapters a tagged file carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tags {
    pub title: Option<String>,
    /// The artist, else the uploader or channel.
    pub artist: Option<String>,
    /// `YYYY-MM-DD` from yt-dlp's `upload_date` (or `release_date`).
    pub date: Option<String>,
    pub description: Option<String>,
    /// The album, when the site names one (music sites).
    pub album: Option<String>,
    pub chapters: Vec<Chapter>,
    /// The page of the video.
    pub url: Option<String>,
}

/// The subtitle languages of a video: its own first, then automatic ones
/// whose language it has no own track for; each list in the site's order.
pub fn subtitles(raw: &str) -> Vec<SubtitleSource> {
    let Ok(top) = serde_json::from_str::<Value>(raw) else { return Vec::new() };
    subtitles_of(&top)
}

/// [`subtitles`] of an already parsed info JSON.
pub fn subtitles_of(top: &Value) -> Vec<SubtitleSource> {
    let mut out: Vec<SubtitleSource> = Vec::new();
    for (key, automatic) in [("subtitles", false), ("automatic_captions", true)] {
        let Some(Value::Object(map)) = top.get(key) else { continue };
        for (lang, list) in map {
            // `live_chat` is a JSON replay of the chat, not subtitles.
            if lang == "live_chat" || lang.is_empty() || lang.len() > 32 || out.len() >= MAX_SUBTITLE_LANGS {
                continue;
            }
            if out.iter().any(|s| s.lang == *lang) {
                continue;
            }
            let files: Vec<SubtitleFile> = list
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| {
                    let url = f.get("url")?.as_str()?.to_owned();
                    let ext = f.get("ext").and_then(Value::as_str).unwrap_or("vtt").to_owned();
                    let protocol = f.get("protocol").and_then(Value::as_str).map(str::to_owned);
                    Some(SubtitleFile { ext, url, protocol })
                })
                .collect();
            let name = list
                .as_array()
                .and_then(|l| l.iter().find_map(|f| f.get("name").and_then(Value::as_str)))
                .map(|n| n.chars().take(80).collect());
            let source = SubtitleSource { lang: lang.clone(), name, automatic, files };
            if source.best_file().is_some() {
                out.push(source);
            }
        }
    }
    out
}

/// The tags of a video.
pub fn tags(raw: &str) -> Tags {
    let Ok(top) = serde_json::from_str::<Value>(raw) else { return Tags::default() };
    let text =
        |key: &str| top.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let date = text("release_date").or_else(|| text("upload_date")).and_then(|d| {
        let digits: String = d.chars().filter(char::is_ascii_digit).collect();
        (digits.len() == 8).then(|| format!("{}-{}-{}", &digits[..4], &digits[4..6], &digits[6..]))
    });
    Tags {
        title: text("track").or_else(|| text("fulltitle")).or_else(|| text("title")),
        artist: text("artist").or_else(|| text("creator")).or_else(|| text("uploader")).or_else(|| text("channel")),
        date,
        description: text("description"),
        album: text("album"),
        chapters: chapters_of(&top),
        url: text("webpage_url"),
    }
}

fn chapters_of(top: &Value) -> Vec<Chapter> {
    let duration = top.get("duration").and_then(Value::as_f64).filter(|d| d.is_finite() && *d > 0.0);
    let mut out: Vec<Chapter> = top
        .get("chapters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let start = c.get("start_time").and_then(Value::as_f64).filter(|s| s.is_finite() && *s >= 0.0)?;
            let end = c.get("end_time").and_then(Value::as_f64).filter(|e| e.is_finite());
            let title = c.get("title").and_then(Value::as_str).unwrap_or("").chars().take(200).collect();
            Some(Chapter { start, end: end.unwrap_or(f64::NAN), title })
        })
        .take(MAX_CHAPTERS)
        .collect();
    out.sort_by(|a, b| a.start.total_cmp(&b.start));
    // A missing end is the next chapter's start (or the video's end).
    let starts: Vec<f64> = out.iter().map(|c| c.start).skip(1).collect();
    for (i, c) in out.iter_mut().enumerate() {
        if !c.end.is_finite() || c.end <= c.start {
            c.end = starts.get(i).copied().or(duration).unwrap_or(c.start + 1.0);
        }
    }
    out.retain(|c| c.end > c.start);
    out
}

/// How many chapters a video has.
pub fn chapter_count(raw: &str) -> usize {
    serde_json::from_str::<Value>(raw).map(|top| chapters_of(&top).len()).unwrap_or(0)
}

/// The languages by code, for checking a request against them.
pub fn subtitle_langs(raw: &str) -> BTreeMap<String, bool> {
    subtitles(raw).into_iter().map(|s| (s.lang, s.automatic)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn own_subtitles_come_first_and_hide_automatic_ones() {
        let raw = json!({
            "subtitles": {
                "ru": [{"ext": "json3", "url": "https://x/ru.json3"}, {"ext": "vtt", "url": "https://x/ru.vtt", "name": "Русский"}],
                "live_chat": [{"ext": "json", "url": "https://x/chat"}],
            },
            "automatic_captions": {
                "ru": [{"ext": "vtt", "url": "https://x/ru-auto.vtt"}],
                "en": [{"ext": "srv3", "url": "https://x/en.srv3"}, {"ext": "vtt", "url": "https://x/en.vtt"}],
                "de": [{"ext": "json3", "url": "https://x/de.json3"}],
                "fr": [{"ext": "vtt", "url": "https://x/fr.m3u8", "protocol": "m3u8_native"}],
            },
        })
        .to_string();
        let subs = subtitles(&raw);
        let langs: Vec<(&str, bool)> = subs.iter().map(|s| (s.lang.as_str(), s.automatic)).collect();
        assert_eq!(langs, [("ru", false), ("en", true)], "no chat, no file ffmpeg cannot read, no HLS");
        assert_eq!(subs[0].name.as_deref(), Some("Русский"));
        assert_eq!(subs[0].best_file().map(|f| f.url.as_str()), Some("https://x/ru.vtt"));
    }

    #[test]
    fn tags_and_chapters() {
        let raw = json!({
            "title": "T", "uploader": "U", "upload_date": "20240501", "description": "D",
            "duration": 20.0,
            "chapters": [
                {"start_time": 10.0, "title": "Two"},
                {"start_time": 0.0, "end_time": 10.0, "title": "One"},
            ],
        })
        .to_string();
        let t = tags(&raw);
        assert_eq!(t.title.as_deref(), Some("T"));
        assert_eq!(t.artist.as_deref(), Some("U"));
        assert_eq!(t.date.as_deref(), Some("2024-05-01"));
        assert_eq!(t.chapters.len(), 2);
        assert_eq!((t.chapters[1].start, t.chapters[1].end), (10.0, 20.0));
        assert_eq!(chapter_count(&raw), 2);
        assert_eq!(tags("not json"), Tags::default());
    }
}
