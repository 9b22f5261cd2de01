//! What a download makes besides the quality: the audio format and
//! bitrate, a clip, subtitles, tags. [`DownloadOptions`] is the checked
//! form the engine gets, stored with the job; the API's loose fields
//! ([`crate::api::DownloadChoices`]) are read into it by the server.

use serde::{Deserialize, Serialize};

use crate::clip::ClipRange;

/// The container and codec of an audio-only download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioFormat {
    /// AAC in MP4, copied without re-encoding when the source is AAC and no
    /// bitrate is asked for.
    #[default]
    M4a,
    /// MP3 (always encoded).
    Mp3,
    /// Opus in Ogg, copied when the source is Opus and no bitrate is asked for.
    Opus,
    /// FLAC: lossless, so no bitrate (it cannot add what the source lacks).
    Flac,
}

impl AudioFormat {
    /// Every format, in the order the page and the CLI offer them.
    pub const ALL: [AudioFormat; 4] = [AudioFormat::M4a, AudioFormat::Mp3, AudioFormat::Opus, AudioFormat::Flac];

    /// `"m4a"`, `"mp3"`, `"opus"`, `"flac"`: the API's name, yt-dlp's
    /// `--audio-format` and the file extension.
    pub fn as_str(self) -> &'static str {
        match self {
            AudioFormat::M4a => "m4a",
            AudioFormat::Mp3 => "mp3",
            AudioFormat::Opus => "opus",
            AudioFormat::Flac => "flac",
        }
    }

    /// The format named `name` (case-insensitive).
    pub fn from_name(name: &str) -> Option<AudioFormat> {
        AudioFormat::ALL.into_iter().find(|f| f.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// Whether a bitrate can be chosen (FLAC is lossless).
    pub fn lossy(self) -> bool {
        !matches!(self, AudioFormat::Flac)
    }

    /// What the picker shows.
    pub fn label(self) -> &'static str {
        match self {
            AudioFormat::M4a => "M4A (AAC)",
            AudioFormat::Mp3 => "MP3",
            AudioFormat::Opus => "Opus",
            AudioFormat::Flac => "FLAC",
        }
    }
}

/// The bitrates offered for lossy audio, kbit/s. Any other is refused:
/// a short list a person can choose from, each one every encoder takes.
pub const AUDIO_BITRATES: [u32; 6] = [96, 128, 160, 192, 256, 320];

/// Where chosen subtitles go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubtitleMode {
    /// Into the file (MP4: `mov_text`; MKV: as they are).
    #[default]
    Embed,
    /// Beside it as `.srt`/`.vtt`: the download becomes a ZIP.
    Files,
    /// Both.
    Both,
}

impl SubtitleMode {
    pub fn from_name(name: &str) -> Option<SubtitleMode> {
        match name.trim().to_ascii_lowercase().as_str() {
            "embed" => Some(SubtitleMode::Embed),
            "files" | "file" => Some(SubtitleMode::Files),
            "both" => Some(SubtitleMode::Both),
            _ => None,
        }
    }

    pub fn embeds(self) -> bool {
        matches!(self, SubtitleMode::Embed | SubtitleMode::Both)
    }

    pub fn writes_files(self) -> bool {
        matches!(self, SubtitleMode::Files | SubtitleMode::Both)
    }
}

/// The format of subtitle files saved beside the video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubtitleFormat {
    /// SubRip: what most players and editors read.
    #[default]
    Srt,
    /// WebVTT: what browsers read.
    Vtt,
}

impl SubtitleFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            SubtitleFormat::Srt => "srt",
            SubtitleFormat::Vtt => "vtt",
        }
    }

    pub fn from_name(name: &str) -> Option<SubtitleFormat> {
        match name.trim().to_ascii_lowercase().as_str() {
            "srt" => Some(SubtitleFormat::Srt),
            "vtt" | "webvtt" => Some(SubtitleFormat::Vtt),
            _ => None,
        }
    }
}

/// Everything about a download but its link and quality, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DownloadOptions {
    /// The format of an audio-only download.
    pub audio_format: AudioFormat,
    /// kbit/s for lossy audio (one of [`AUDIO_BITRATES`]); `None`: copy
    /// when the source fits, else the encoder's good default.
    pub audio_bitrate: Option<u32>,
    /// Only this part of the video.
    pub clip: Option<ClipRange>,
    /// Subtitle languages (the video's own codes: `en`, `ru`, `en-US` …).
    pub subtitles: Vec<String>,
    pub subtitle_mode: SubtitleMode,
    pub subtitle_format: SubtitleFormat,
    /// Title, artist, date, description, chapters and (audio) cover art
    /// written into the file.
    pub tags: bool,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        DownloadOptions {
            audio_format: AudioFormat::M4a,
            audio_bitrate: None,
            clip: None,
            subtitles: Vec::new(),
            subtitle_mode: SubtitleMode::Embed,
            subtitle_format: SubtitleFormat::Srt,
            tags: true,
        }
    }
}

impl DownloadOptions {
    /// Subtitle files go beside the video (the download is a ZIP).
    pub fn subtitle_files(&self) -> bool {
        !self.subtitles.is_empty() && self.subtitle_mode.writes_files()
    }

    /// Subtitles go into the video.
    pub fn embed_subtitles(&self) -> bool {
        !self.subtitles.is_empty() && self.subtitle_mode.embeds()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in AudioFormat::ALL {
            assert_eq!(AudioFormat::from_name(f.as_str()), Some(f));
            assert_eq!(serde_json::to_string(&f).unwrap_or_default(), format!("\"{}\"", f.as_str()));
        }
        assert_eq!(AudioFormat::from_name("OPUS"), Some(AudioFormat::Opus));
        assert_eq!(AudioFormat::from_name("wav"), None);
        assert_eq!(SubtitleMode::from_name("both"), Some(SubtitleMode::Both));
        assert_eq!(SubtitleFormat::from_name("vtt"), Some(SubtitleFormat::Vtt));
    }

    #[test]
    fn old_records_read_as_the_defaults() {
        let o: DownloadOptions = serde_json::from_str("{}")
            .unwrap_or_else(|_| DownloadOptions { tags: false, ..DownloadOptions::default() });
        assert_eq!(o, DownloadOptions::default());
        assert!(o.tags);
    }
}
