//! What a probe says about a video, in words and in JSON, and which quality
//! a download will really get.

use contract::format::group_thousands;
use engine::progress::format_bytes;
use engine::{InfoJson, Probe, QualityChoice, QualityId};
use serde::Serialize;

/// The quality a download asked for and what the video can give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// What the user asked for.
    pub requested: QualityId,
    /// The offered choice the engine will most likely take; `None` when the
    /// video lists no formats.
    pub selected: Option<QualityId>,
    /// A sentence when the result differs from the request.
    pub note: Option<String>,
}

/// Works out what `requested` turns into for a video offering `choices`,
/// the way the engine's download plan does: a height the video lacks gives
/// the best below it, or the best there is when nothing is lower.
pub fn select(choices: &[QualityChoice], requested: QualityId) -> Selection {
    let offered = |id: QualityId| choices.iter().find(|c| c.id == id);
    let plain = |selected: Option<QualityId>, note: Option<String>| Selection { requested, selected, note };
    if choices.is_empty() {
        return plain(None, Some("yt-dlp listed no formats for this video; trying anyway".to_owned()));
    }
    match requested {
        QualityId::Auto => plain(Some(QualityId::Auto), None),
        QualityId::Audio => match offered(QualityId::Audio) {
            Some(c) if c.extract_audio => plain(
                Some(QualityId::Audio),
                Some("no audio-only stream: the sound is taken out of the video".to_owned()),
            ),
            Some(_) => plain(Some(QualityId::Audio), None),
            None => {
                plain(Some(QualityId::Auto), Some("this video lists no sound; trying the best available".to_owned()))
            }
        },
        q => {
            if offered(q).is_some() {
                return plain(Some(q), None);
            }
            let wanted = q.height().unwrap_or(u32::MAX);
            let heights = choices.iter().filter(|c| c.id.height().is_some());
            let below = heights.clone().find(|c| c.id.height().is_some_and(|h| h <= wanted));
            match (below, heights.clone().next()) {
                (Some(b), _) => plain(
                    Some(b.id),
                    Some(format!("{} is not offered; downloading {}, the best below it", q.label(), b.id.label())),
                ),
                (None, Some(best)) => plain(
                    Some(best.id),
                    Some(format!(
                        "{} is not offered and nothing lower is; downloading {}, the best available",
                        q.label(),
                        best.id.label()
                    )),
                ),
                (None, None) => plain(
                    Some(QualityId::Auto),
                    Some(format!(
                        "this video does not give its picture height; downloading the best available instead of {}",
                        q.label()
                    )),
                ),
            }
        }
    }
}

/// `0:20`, `12:05`, `1:02:03`.
pub fn format_duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "?".to_owned();
    }
    // Non-negative and finite: the cast saturates at worst.
    let s = seconds.round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

fn size_text(size: Option<u64>) -> String {
    size.map(|s| format!("~{}", format_bytes(s))).unwrap_or_else(|| "size unknown".to_owned())
}

/// `by Author · 0:20 · 1,234,567 views`, leaving out what is unknown.
fn byline(info: &InfoJson) -> String {
    let mut parts = Vec::new();
    if let Some(u) = info.display_uploader() {
        parts.push(format!("by {u}"));
    }
    if let Some(d) = info.duration {
        parts.push(format_duration(d));
    }
    if let Some(v) = info.view_count {
        parts.push(format!("{} views", group_thousands(v)));
    }
    parts.join(" · ")
}

/// The few lines printed before a download: title, byline, qualities, and
/// what will be downloaded.
pub fn summary(probe: &Probe, selection: &Selection) -> Vec<String> {
    let info = &probe.info;
    let mut lines = vec![info.display_title().to_owned()];
    let by = byline(info);
    if !by.is_empty() {
        lines.push(format!("  {by}"));
    }
    let choices = probe.choices();
    if !choices.is_empty() {
        let list: Vec<String> = choices
            .iter()
            .map(|c| match c.filesize_approx {
                Some(s) => format!("{} {}", c.id, size_text(Some(s))),
                None => c.id.to_string(),
            })
            .collect();
        lines.push(format!("  qualities: {}", list.join(", ")));
    }
    let target = match selection.selected {
        Some(QualityId::Audio) => "audio only".to_owned(),
        Some(QualityId::Auto) | None => "the best available".to_owned(),
        Some(q) => q.label().to_owned(),
    };
    match &selection.note {
        Some(note) => lines.push(format!("  → {target} ({note})")),
        None => lines.push(format!("  → {target}")),
    }
    lines
}

/// The `--list-qualities` table for people.
pub fn table(url: &str, probe: &Probe) -> String {
    let info = &probe.info;
    let mut out = format!("{}\n", info.display_title());
    let mut field = |name: &str, value: String| out.push_str(&format!("  {name:<10}{value}\n"));
    if let Some(u) = info.display_uploader() {
        field("Uploader", u.to_owned());
    }
    if let Some(d) = info.duration {
        field("Duration", format_duration(d));
    }
    if let Some(v) = info.view_count {
        field("Views", group_thousands(v));
    }
    field("URL", url.to_owned());
    let subtitles = subtitle_langs(probe);
    if !subtitles.is_empty() {
        field("Subtitles", subtitles.join(", "));
    }

    let choices = probe.choices();
    if choices.is_empty() {
        out.push_str("\n  yt-dlp listed no formats for this video.\n");
        return out;
    }
    let rows: Vec<[String; 3]> = choices
        .iter()
        .map(|c| {
            let mut label = c.id.label().to_owned();
            if c.id == QualityId::Auto {
                if let Some(h) = c.height {
                    label.push_str(&format!(" ({h}p)"));
                }
            }
            if c.extract_audio {
                label.push_str(" (from the video)");
            }
            [c.id.to_string(), label, size_text(c.filesize_approx)]
        })
        .collect();
    let header = ["QUALITY".to_owned(), "DESCRIPTION".to_owned(), "SIZE".to_owned()];
    let width = |i: usize| rows.iter().chain(std::iter::once(&header)).map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1) = (width(0), width(1));
    out.push('\n');
    for row in std::iter::once(&header).chain(rows.iter()) {
        out.push_str(&format!("  {:<w0$}  {:<w1$}  {}\n", row[0], row[1], row[2]));
    }
    out
}

/// One quality in the JSON `info` event.
#[derive(Debug, Serialize)]
pub struct QualityJson {
    /// The value for `--quality`.
    pub id: QualityId,
    /// What the web page shows.
    pub label: &'static str,
    /// Picture height in pixels, when known.
    pub height: Option<u32>,
    /// Expected size in bytes, when known.
    pub size: Option<u64>,
}

/// The JSON `info` event's fields (without `event`).
#[derive(Debug, Serialize)]
pub struct InfoJsonOut {
    /// The URL as given.
    pub url: String,
    /// The video's title.
    pub title: String,
    /// Uploader or channel.
    pub uploader: Option<String>,
    /// Length in seconds.
    pub duration: Option<f64>,
    /// Number of views.
    pub view_count: Option<u64>,
    /// Thumbnail URL.
    pub thumbnail: Option<String>,
    /// The site's canonical page.
    pub webpage_url: Option<String>,
    /// Every quality offered, in picker order.
    pub qualities: Vec<QualityJson>,
    /// The quality asked for (downloads only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<QualityId>,
    /// The quality that will be downloaded (downloads only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected: Option<QualityId>,
    /// Why `selected` differs from `requested`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Subtitle languages for `--subs` (automatic ones marked `(auto)`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subtitles: Vec<String>,
}

/// The video's subtitle languages as `--subs` takes them; automatic ones
/// end in ` (auto)`.
fn subtitle_langs(probe: &Probe) -> Vec<String> {
    engine::info::extras::subtitles(&probe.raw)
        .into_iter()
        .map(|s| if s.automatic { format!("{} (auto)", s.lang) } else { s.lang })
        .collect()
}

/// The `info` event for `url`, with the selection when downloading.
pub fn info_json(url: &str, probe: &Probe, selection: Option<&Selection>) -> InfoJsonOut {
    let info = &probe.info;
    InfoJsonOut {
        url: url.to_owned(),
        title: info.display_title().to_owned(),
        uploader: info.display_uploader().map(str::to_owned),
        duration: info.duration,
        view_count: info.view_count,
        thumbnail: info.best_thumbnail().map(str::to_owned),
        webpage_url: info.webpage_url.clone(),
        qualities: probe
            .choices()
            .into_iter()
            .map(|c| QualityJson { id: c.id, label: c.id.label(), height: c.height, size: c.filesize_approx })
            .collect(),
        requested: selection.map(|s| s.requested),
        selected: selection.and_then(|s| s.selected),
        note: selection.and_then(|s| s.note.clone()),
        subtitles: subtitle_langs(probe),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(id: QualityId) -> QualityChoice {
        QualityChoice { id, filesize_approx: Some(1000), format: "x".into(), height: id.height(), extract_audio: false }
    }

    fn offered(ids: &[QualityId]) -> Vec<QualityChoice> {
        ids.iter().copied().map(choice).collect()
    }

    use QualityId::*;

    #[test]
    fn an_offered_quality_is_taken_as_is() {
        let c = offered(&[P1080, P720, P360, Auto, Audio]);
        for q in [P1080, P720, P360, Auto, Audio] {
            assert_eq!(select(&c, q), Selection { requested: q, selected: Some(q), note: None });
        }
    }

    #[test]
    fn a_missing_height_takes_the_best_below_and_says_so() {
        let c = offered(&[P1080, P720, P360, Auto, Audio]);
        let s = select(&c, P2160);
        assert_eq!(s.selected, Some(P1080));
        assert_eq!(s.note.as_deref(), Some("2160p (4K) is not offered; downloading 1080p, the best below it"));
        assert_eq!(select(&c, P480).selected, Some(P360));
        let c = offered(&[P720, Auto, Audio]);
        let s = select(&c, P360);
        assert_eq!(s.selected, Some(P720));
        assert!(s.note.unwrap_or_default().contains("nothing lower"));
    }

    #[test]
    fn unknown_heights_fall_back_to_the_best() {
        let c = offered(&[Auto, Audio]);
        let s = select(&c, P720);
        assert_eq!(s.selected, Some(Auto));
        assert!(s.note.is_some());
        assert_eq!(select(&[], P720).selected, None);
    }

    #[test]
    fn extracted_audio_is_mentioned() {
        let mut c = offered(&[P720, Auto, Audio]);
        if let Some(a) = c.last_mut() {
            a.extract_audio = true;
        }
        assert!(select(&c, Audio).note.is_some());
    }

    #[test]
    fn numbers_for_people() {
        assert_eq!(format_duration(20.0), "0:20");
        assert_eq!(format_duration(725.4), "12:05");
        assert_eq!(format_duration(3723.0), "1:02:03");
        assert_eq!(format_duration(f64::NAN), "?");
    }
}
