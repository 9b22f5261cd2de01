//! The quality picker: which choices a video offers and the exact yt-dlp
//! selector behind each.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::info::{bitrate_size, Format, InfoJson};

/// One entry of the quality picker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QualityId {
    /// 2160p (4K).
    #[serde(rename = "2160")]
    P2160,
    /// 1440p.
    #[serde(rename = "1440")]
    P1440,
    /// 1080p.
    #[serde(rename = "1080")]
    P1080,
    /// 720p.
    #[serde(rename = "720")]
    P720,
    /// 480p.
    #[serde(rename = "480")]
    P480,
    /// 360p.
    #[serde(rename = "360")]
    P360,
    /// Whatever yt-dlp considers best.
    #[serde(rename = "auto")]
    Auto,
    /// Sound only.
    #[serde(rename = "audio")]
    Audio,
}

impl QualityId {
    /// Every id, in picker order.
    pub const ALL: [QualityId; 8] = [
        QualityId::P2160,
        QualityId::P1440,
        QualityId::P1080,
        QualityId::P720,
        QualityId::P480,
        QualityId::P360,
        QualityId::Auto,
        QualityId::Audio,
    ];

    /// The standard heights, highest first.
    const HEIGHTS: [QualityId; 6] =
        [QualityId::P2160, QualityId::P1440, QualityId::P1080, QualityId::P720, QualityId::P480, QualityId::P360];

    /// The id as used in URLs and JSON: `"2160"` … `"360"`, `"auto"`, `"audio"`.
    pub fn as_str(self) -> &'static str {
        match self {
            QualityId::P2160 => "2160",
            QualityId::P1440 => "1440",
            QualityId::P1080 => "1080",
            QualityId::P720 => "720",
            QualityId::P480 => "480",
            QualityId::P360 => "360",
            QualityId::Auto => "auto",
            QualityId::Audio => "audio",
        }
    }

    /// What the picker shows.
    pub fn label(self) -> &'static str {
        match self {
            QualityId::P2160 => "2160p (4K)",
            QualityId::P1440 => "1440p",
            QualityId::P1080 => "1080p",
            QualityId::P720 => "720p",
            QualityId::P480 => "480p",
            QualityId::P360 => "360p",
            QualityId::Auto => "Best available",
            QualityId::Audio => "Audio only",
        }
    }

    /// The nominal height for the standard ids; `None` for auto and audio.
    pub fn height(self) -> Option<u32> {
        match self {
            QualityId::P2160 => Some(2160),
            QualityId::P1440 => Some(1440),
            QualityId::P1080 => Some(1080),
            QualityId::P720 => Some(720),
            QualityId::P480 => Some(480),
            QualityId::P360 => Some(360),
            QualityId::Auto | QualityId::Audio => None,
        }
    }
}

impl fmt::Display for QualityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text given to [`QualityId::from_str`] is not a quality id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown quality {0:?}")]
pub struct ParseQualityError(pub String);

impl FromStr for QualityId {
    type Err = ParseQualityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        QualityId::ALL.into_iter().find(|id| id.as_str() == s).ok_or_else(|| ParseQualityError(s.to_owned()))
    }
}

/// One choice offered to the user, with the exact yt-dlp selector for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualityChoice {
    /// Which picker entry this is.
    pub id: QualityId,
    /// Expected size in bytes, when yt-dlp gave enough to estimate it.
    pub filesize_approx: Option<u64>,
    /// The `-f` selector for exactly this choice: `"315+251"`, `"22"`,
    /// `"bv*+ba/b"`. The download stage adds its own fallbacks.
    pub format: String,
    /// Height in pixels of the chosen video format, as yt-dlp reports it.
    pub height: Option<u32>,
    /// True when the sound must be extracted from a format that also carries
    /// video (the site offers no audio-only format).
    pub extract_audio: bool,
}

/// Effective heights below this are not offered as a standard choice.
const MIN_P: u32 = 300;
/// Effective heights above this (8K) are left to "Best available" rather
/// than passed off as 4K.
const MAX_P: u32 = 3240;

/// The standard id nearest to an effective height; ties go to the lower one.
fn bucket(p: u32) -> Option<QualityId> {
    if !(MIN_P..=MAX_P).contains(&p) {
        return None;
    }
    let mut best: Option<(QualityId, u32)> = None;
    // Lowest first, so that on a tie the lower one is kept.
    for id in QualityId::HEIGHTS.into_iter().rev() {
        let h = id.height().unwrap_or(0);
        let distance = h.abs_diff(p);
        if best.is_none_or(|(_, d)| distance < d) {
            best = Some((id, distance));
        }
    }
    best.map(|(id, _)| id)
}

/// Whether a format has an id to put in a selector.
fn selectable(f: &Format) -> bool {
    f.format_id.as_deref().is_some_and(|id| !id.is_empty())
}

/// Sum of two estimates; a missing second part is left out rather than
/// hiding the first.
fn add_sizes(video: Option<u64>, audio: Option<u64>) -> Option<u64> {
    video.map(|v| v.saturating_add(audio.unwrap_or(0)))
}

/// The choices to offer for a probed video, in picker order.
///
/// * A standard height is offered when some video format falls in it (by
///   [`Format::effective_p`], to the nearest of 2160/1440/1080/720/480/360).
///   Its selector is the last (best) format there, joined with the best
///   audio-only format (`"vid+aid"`) when it has no sound of its own.
/// * `auto` (`"bv*+ba/b"`) whenever there is any format.
/// * `audio`: the best audio-only format, or else the best format that may
///   carry sound, with `extract_audio` set.
///
/// Storyboards never count.
pub fn choices(info: &InfoJson) -> Vec<QualityChoice> {
    let duration = info.duration;
    let formats = info.formats();
    let usable: Vec<&Format> = formats.iter().filter(|f| !f.is_storyboard()).collect();
    if usable.is_empty() {
        return Vec::new();
    }

    let videos: Vec<&Format> = usable.iter().copied().filter(|f| f.has_video()).collect();
    // yt-dlp lists formats worst first, so the best of a kind is the last.
    let best_audio: Option<&Format> = usable.iter().copied().rfind(|f| f.is_audio_only() && selectable(f));
    let audio_size = best_audio.and_then(|a| a.size_estimate(duration));

    let mut out = Vec::new();

    for id in QualityId::HEIGHTS {
        let best = videos.iter().copied().rfind(|f| selectable(f) && f.effective_p().and_then(bucket) == Some(id));
        let Some(video) = best else { continue };
        let vid = video.format_id.as_deref().unwrap_or_default();
        let (format, filesize_approx) = match best_audio {
            Some(audio) if !video.has_audio() => (
                format!("{vid}+{}", audio.format_id.as_deref().unwrap_or_default()),
                add_sizes(video.size_estimate(duration), audio_size),
            ),
            _ => (vid.to_owned(), video.size_estimate(duration)),
        };
        out.push(QualityChoice { id, filesize_approx, format, height: video.height, extract_audio: false });
    }

    // What "bv*+ba/b" will most likely take: the highest picture, the later
    // one among equals (yt-dlp lists the best last).
    let best_video =
        videos.iter().copied().enumerate().max_by_key(|(i, f)| (f.effective_p().unwrap_or(0), *i)).map(|(_, f)| f);
    let auto_size = match best_video {
        Some(video) if !video.has_audio() => add_sizes(video.size_estimate(duration), audio_size),
        Some(video) => video.size_estimate(duration),
        None => usable.last().and_then(|f| f.size_estimate(duration)),
    };
    out.push(QualityChoice {
        id: QualityId::Auto,
        filesize_approx: auto_size,
        format: "bv*+ba/b".to_owned(),
        height: best_video.and_then(|v| v.height),
        extract_audio: false,
    });

    if let Some(audio) = best_audio {
        out.push(QualityChoice {
            id: QualityId::Audio,
            filesize_approx: audio_size,
            format: audio.format_id.clone().unwrap_or_default(),
            height: None,
            extract_audio: false,
        });
    } else if let Some(muxed) = usable.iter().copied().rfind(|f| f.has_audio() && selectable(f)) {
        out.push(QualityChoice {
            id: QualityId::Audio,
            filesize_approx: bitrate_size(muxed.abr, duration),
            format: muxed.format_id.clone().unwrap_or_default(),
            height: None,
            extract_audio: true,
        });
    }

    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_to_the_nearest_standard_height() {
        assert_eq!(bucket(2160), Some(QualityId::P2160));
        assert_eq!(bucket(2026), Some(QualityId::P2160));
        assert_eq!(bucket(1800), Some(QualityId::P1440)); // tie 1440/2160 → lower
        assert_eq!(bucket(1080), Some(QualityId::P1080));
        assert_eq!(bucket(900), Some(QualityId::P720)); // tie 720/1080 → lower
        assert_eq!(bucket(540), Some(QualityId::P480));
        assert_eq!(bucket(420), Some(QualityId::P360)); // tie → lower
        assert_eq!(bucket(300), Some(QualityId::P360));
        assert_eq!(bucket(299), None);
        assert_eq!(bucket(240), None);
        assert_eq!(bucket(4320), None);
    }

    #[test]
    fn ids_round_trip() {
        for id in QualityId::ALL {
            assert_eq!(id.as_str().parse::<QualityId>(), Ok(id));
            assert_eq!(id.to_string(), id.as_str());
            assert_eq!(serde_json::to_string(&id).ok(), Some(format!("\"{}\"", id.as_str())));
        }
        assert!("1080p".parse::<QualityId>().is_err());
        assert!("".parse::<QualityId>().is_err());
    }
}
