//! The parts of yt-dlp's `-J` answer that Kachay uses.
//!
//! Every field is optional: yt-dlp leaves out (or writes `null` for) whatever
//! an extractor did not find. Numbers are read leniently: a field of the wrong
//! type becomes `None` instead of failing the whole probe.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

mod bound;
pub mod extras;
mod lenient;

pub use bound::{
    bound_free_text, read_answer, truncate_chars, MAX_CHAPTERS, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_TAGS,
    MAX_TAG_CHARS, MAX_TITLE_CHARS,
};

/// The top level of `yt-dlp -J` output for a single video.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InfoJson {
    /// The site's id of the video.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The video's title.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The untruncated title, when the site shortens `title`.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub fulltitle: Option<String>,
    /// Who uploaded the video.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub uploader: Option<String>,
    /// The channel the video belongs to.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The uploader's id on the site.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub uploader_id: Option<String>,
    /// Length in seconds.
    #[serde(deserialize_with = "lenient::f64", skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Number of views.
    #[serde(deserialize_with = "lenient::u64", skip_serializing_if = "Option::is_none")]
    pub view_count: Option<u64>,
    /// yt-dlp's preferred thumbnail URL.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
    /// Every thumbnail yt-dlp found, worst first.
    #[serde(deserialize_with = "lenient::list", skip_serializing_if = "Option::is_none")]
    pub thumbnails: Option<Vec<Thumbnail>>,
    /// The canonical page URL of the video.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub webpage_url: Option<String>,
    /// The URL as the user gave it.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub original_url: Option<String>,
    /// The extractor that handled the URL, e.g. `youtube` or `generic`.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub extractor: Option<String>,
    /// The extractor's key, e.g. `Youtube` or `Generic`.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub extractor_key: Option<String>,
    /// File extension of the selected format.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub ext: Option<String>,
    /// Every format, in yt-dlp's order: worst first, best last.
    #[serde(deserialize_with = "lenient::list", skip_serializing_if = "Option::is_none")]
    pub formats: Option<Vec<Format>>,
    /// Whether this is a live stream right now.
    #[serde(deserialize_with = "lenient::bool", skip_serializing_if = "Option::is_none")]
    pub is_live: Option<bool>,
    /// `not_live`, `is_live`, `is_upcoming`, `was_live` or `post_live`.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub live_status: Option<String>,
    /// A playlist's entries (flat: links and titles), capped by the probe.
    #[serde(deserialize_with = "lenient::list", skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<PlaylistEntry>>,
    /// How many entries the whole playlist has, when the site says.
    #[serde(deserialize_with = "lenient::u64", skip_serializing_if = "Option::is_none")]
    pub playlist_count: Option<u64>,
    /// yt-dlp's `_type`: `video`, `playlist`, `url`, …
    #[serde(rename = "_type", deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Height of the selected format (set when there is a single format).
    #[serde(deserialize_with = "lenient::u32", skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Width of the selected format.
    #[serde(deserialize_with = "lenient::u32", skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Video codec of the selected format.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub vcodec: Option<String>,
    /// Audio codec of the selected format.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub acodec: Option<String>,
    /// Exact size in bytes of the selected format.
    #[serde(deserialize_with = "lenient::u64", skip_serializing_if = "Option::is_none")]
    pub filesize: Option<u64>,
    /// Estimated size in bytes of the selected format.
    #[serde(deserialize_with = "lenient::u64", skip_serializing_if = "Option::is_none")]
    pub filesize_approx: Option<u64>,
    /// Total bitrate of the selected format, kbit/s.
    #[serde(deserialize_with = "lenient::f64", skip_serializing_if = "Option::is_none")]
    pub tbr: Option<f64>,
    /// Id of the selected format (`"313+251"` when merged).
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub format_id: Option<String>,
    /// Media URL of the selected format (set when there is a single format).
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Protocol of the selected format.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// One thumbnail image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thumbnail {
    /// Image URL.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Width in pixels.
    #[serde(deserialize_with = "lenient::u32", skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels.
    #[serde(deserialize_with = "lenient::u32", skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// yt-dlp's preference; higher is better.
    #[serde(deserialize_with = "lenient::i64", skip_serializing_if = "Option::is_none")]
    pub preference: Option<i64>,
    /// yt-dlp's id for the thumbnail.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// One entry of a flat playlist listing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlaylistEntry {
    /// The entry's page (or a form yt-dlp can extract from).
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub webpage_url: Option<String>,
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(deserialize_with = "lenient::f64", skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub uploader: Option<String>,
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
}

/// One downloadable format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Format {
    /// The id to put in a `-f` selector.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub format_id: Option<String>,
    /// Free text such as `1080p`, `medium` or `storyboard`.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub format_note: Option<String>,
    /// File extension.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub ext: Option<String>,
    /// `https`, `m3u8_native`, `mhtml`, …
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Media URL.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Width in pixels.
    #[serde(deserialize_with = "lenient::u32", skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels.
    #[serde(deserialize_with = "lenient::u32", skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Frames per second.
    #[serde(deserialize_with = "lenient::f64", skip_serializing_if = "Option::is_none")]
    pub fps: Option<f64>,
    /// Video codec; `"none"` for audio-only formats.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub vcodec: Option<String>,
    /// Audio codec; `"none"` for video-only formats.
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub acodec: Option<String>,
    /// Exact size in bytes.
    #[serde(deserialize_with = "lenient::u64", skip_serializing_if = "Option::is_none")]
    pub filesize: Option<u64>,
    /// Estimated size in bytes.
    #[serde(deserialize_with = "lenient::u64", skip_serializing_if = "Option::is_none")]
    pub filesize_approx: Option<u64>,
    /// Total bitrate, kbit/s.
    #[serde(deserialize_with = "lenient::f64", skip_serializing_if = "Option::is_none")]
    pub tbr: Option<f64>,
    /// Video bitrate, kbit/s.
    #[serde(deserialize_with = "lenient::f64", skip_serializing_if = "Option::is_none")]
    pub vbr: Option<f64>,
    /// Audio bitrate, kbit/s.
    #[serde(deserialize_with = "lenient::f64", skip_serializing_if = "Option::is_none")]
    pub abr: Option<f64>,
    /// `1920x1080`, `audio only`, …
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// `mp4_dash`, `webm_dash`, …
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// `SDR`, `HDR10`, …
    #[serde(deserialize_with = "lenient::string", skip_serializing_if = "Option::is_none")]
    pub dynamic_range: Option<String>,
}

fn known(codec: &Option<String>) -> Option<&str> {
    codec.as_deref().map(str::trim).filter(|c| !c.is_empty())
}

impl Format {
    /// Whether this format (probably) carries video.
    ///
    /// `vcodec: "none"` means no. An unknown codec counts as video unless the
    /// format is plainly audio-only (`resolution: "audio only"`, or no
    /// dimensions while an audio codec is named).
    pub fn has_video(&self) -> bool {
        match known(&self.vcodec) {
            Some(codec) => !codec.eq_ignore_ascii_case("none"),
            None => {
                let says_audio_only = self.resolution.as_deref().is_some_and(|r| r.eq_ignore_ascii_case("audio only"));
                let no_dimensions = self.width.is_none() && self.height.is_none();
                let names_audio = known(&self.acodec).is_some_and(|c| !c.eq_ignore_ascii_case("none"));
                !(says_audio_only || (no_dimensions && names_audio))
            }
        }
    }

    /// Whether this format may carry audio: only `acodec: "none"` says no.
    pub fn has_audio(&self) -> bool {
        known(&self.acodec).is_none_or(|c| !c.eq_ignore_ascii_case("none"))
    }

    /// Audio and no video.
    pub fn is_audio_only(&self) -> bool {
        self.has_audio() && !self.has_video()
    }

    /// A storyboard (a grid of preview images), not something to download.
    pub fn is_storyboard(&self) -> bool {
        let is = |field: &Option<String>, value: &str| field.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(value));
        is(&self.format_note, "storyboard") || is(&self.protocol, "mhtml") || is(&self.ext, "mhtml")
    }

    /// Size in bytes: `filesize`, else `filesize_approx`, else total bitrate
    /// × duration.
    pub fn size_estimate(&self, duration: Option<f64>) -> Option<u64> {
        self.filesize.or(self.filesize_approx).or_else(|| bitrate_size(self.tbr, duration))
    }

    /// The effective height class of the picture, as YouTube names it: for
    /// landscape `max(height, width·9/16)`, for portrait `max(width,
    /// height·9/16)`. So 1920×800 is 1080 and a 1080×1920 short is 1080.
    pub fn effective_p(&self) -> Option<u32> {
        match (self.width.filter(|w| *w > 0), self.height.filter(|h| *h > 0)) {
            (Some(w), Some(h)) if w >= h => Some(h.max(nine_sixteenths(w))),
            (Some(w), Some(h)) => Some(w.max(nine_sixteenths(h))),
            (None, Some(h)) => Some(h),
            _ => None,
        }
    }
}

fn nine_sixteenths(x: u32) -> u32 {
    // Round half up, in integers: (x·9 + 8) / 16.
    let scaled = (u64::from(x) * 9 + 8) / 16;
    u32::try_from(scaled).unwrap_or(u32::MAX)
}

/// Bytes for a bitrate in kbit/s over `duration` seconds.
pub(crate) fn bitrate_size(kbps: Option<f64>, duration: Option<f64>) -> Option<u64> {
    let kbps = kbps.filter(|v| v.is_finite() && *v > 0.0)?;
    let duration = duration.filter(|v| v.is_finite() && *v > 0.0)?;
    let bytes = (kbps * 1000.0 / 8.0 * duration).round();
    // Float-to-int `as` saturates; the value is positive and finite here.
    Some(bytes as u64)
}

impl InfoJson {
    /// Title, else full title, else id, else `"Untitled"`.
    pub fn display_title(&self) -> &str {
        [&self.title, &self.fulltitle, &self.id]
            .into_iter()
            .find_map(|s| s.as_deref().map(str::trim).filter(|s| !s.is_empty()))
            .unwrap_or("Untitled")
    }

    /// Uploader, else channel.
    pub fn display_uploader(&self) -> Option<&str> {
        [&self.uploader, &self.channel].into_iter().find_map(|s| s.as_deref().map(str::trim).filter(|s| !s.is_empty()))
    }

    /// `thumbnail`, else the thumbnail with the highest preference (then
    /// width); among equals the later one, as yt-dlp lists worst first.
    pub fn best_thumbnail(&self) -> Option<&str> {
        if let Some(url) = self.thumbnail.as_deref().filter(|u| !u.is_empty()) {
            return Some(url);
        }
        self.thumbnails
            .as_deref()?
            .iter()
            .filter(|t| t.url.as_deref().is_some_and(|u| !u.is_empty()))
            .max_by_key(|t| (t.preference.unwrap_or(i64::MIN), t.width.unwrap_or(0)))
            .and_then(|t| t.url.as_deref())
    }

    /// Whether yt-dlp answered with a playlist rather than one video.
    pub fn is_playlist(&self) -> bool {
        matches!(self.kind.as_deref(), Some("playlist" | "multi_video"))
    }

    /// The playlist's entries that can be downloaded one by one: each with a
    /// plain http(s) link (yt-dlp's internal `#__youtubedl_smuggle` part removed).
    pub fn playlist_entries(&self) -> Vec<PlaylistEntry> {
        self.entries
            .iter()
            .flatten()
            .filter_map(|entry| {
                let raw = entry.url.as_deref().or(entry.webpage_url.as_deref())?;
                let url = match raw.split_once("#__youtubedl_smuggle") {
                    Some((base, _)) => base,
                    None => raw,
                };
                (url.starts_with("http://") || url.starts_with("https://"))
                    .then(|| PlaylistEntry { url: Some(url.to_string()), ..entry.clone() })
            })
            .collect()
    }

    /// The formats, worst first. When `formats` is missing or empty, a single
    /// format built from the top-level fields (yt-dlp puts a lone format
    /// there), or none if those are empty too.
    pub fn formats(&self) -> Cow<'_, [Format]> {
        if let Some(formats) = self.formats.as_deref().filter(|f| !f.is_empty()) {
            return Cow::Borrowed(formats);
        }
        let single = Format {
            format_id: self.format_id.clone(),
            ext: self.ext.clone(),
            protocol: self.protocol.clone(),
            url: self.url.clone(),
            width: self.width,
            height: self.height,
            vcodec: self.vcodec.clone(),
            acodec: self.acodec.clone(),
            filesize: self.filesize,
            filesize_approx: self.filesize_approx,
            tbr: self.tbr,
            ..Format::default()
        };
        if single == Format::default() {
            Cow::Owned(Vec::new())
        } else {
            Cow::Owned(vec![single])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(width: Option<u32>, height: Option<u32>) -> Format {
        Format { width, height, ..Format::default() }
    }

    #[test]
    fn effective_p_follows_the_long_side() {
        assert_eq!(fmt(Some(1920), Some(800)).effective_p(), Some(1080));
        assert_eq!(fmt(Some(1080), Some(1920)).effective_p(), Some(1080));
        assert_eq!(fmt(Some(1280), Some(720)).effective_p(), Some(720));
        assert_eq!(fmt(Some(854), Some(480)).effective_p(), Some(480));
        assert_eq!(fmt(Some(1080), Some(1080)).effective_p(), Some(1080));
        assert_eq!(fmt(None, Some(720)).effective_p(), Some(720));
        assert_eq!(fmt(Some(1280), None).effective_p(), None);
        assert_eq!(fmt(None, None).effective_p(), None);
    }

    #[test]
    fn wrong_types_become_none() {
        let json = r#"{"height": "720", "width": 1280.0, "filesize": -5, "fps": "fast",
                       "vcodec": null, "format_id": 22, "tbr": [1]}"#;
        let f: Format = serde_json::from_str(json).unwrap_or_default();
        assert_eq!(f.height, Some(720));
        assert_eq!(f.width, Some(1280));
        assert_eq!(f.filesize, None);
        assert_eq!(f.fps, None);
        assert_eq!(f.vcodec, None);
        assert_eq!(f.format_id.as_deref(), Some("22"));
        assert_eq!(f.tbr, None);
    }

    #[test]
    fn size_from_bitrate() {
        let f = Format { tbr: Some(128.0), ..Format::default() };
        assert_eq!(f.size_estimate(Some(10.0)), Some(160_000));
        assert_eq!(f.size_estimate(None), None);
    }
}
