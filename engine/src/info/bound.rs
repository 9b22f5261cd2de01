//! Bounding the free text of yt-dlp's answer: titles, descriptions, names
//! and lists cut to sizes nothing downstream has to fear.

use serde::Deserialize;

use super::InfoJson;

/// Longest title kept, in characters (YouTube allows 100, Vimeo 128; the
/// rest is a hostile page's `og:title`).
pub const MAX_TITLE_CHARS: usize = 500;
/// Longest description kept, in characters (YouTube's own limit).
pub const MAX_DESCRIPTION_CHARS: usize = 5000;
/// Longest name (uploader, channel, album, format note …), in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest tag or category, in characters.
pub const MAX_TAG_CHARS: usize = 100;
/// Most tags, categories, artists … kept of one list.
pub const MAX_TAGS: usize = 100;
/// Most chapters kept.
pub const MAX_CHAPTERS: usize = 500;

const TITLE_FIELDS: &[&str] = &["title", "fulltitle", "alt_title", "playlist", "playlist_title"];
const DESCRIPTION_FIELDS: &[&str] = &["description"];
const NAME_FIELDS: &[&str] = &[
    "uploader",
    "uploader_id",
    "channel",
    "channel_id",
    "creator",
    "artist",
    "album",
    "album_artist",
    "track",
    "composer",
    "genre",
    "series",
    "season",
    "episode",
    "playlist_uploader",
    "playlist_uploader_id",
    "playlist_channel",
    "location",
    "license",
    "format",
    "format_note",
    "resolution",
];
const TAG_LIST_FIELDS: &[&str] =
    &["tags", "categories", "creators", "artists", "album_artists", "composers", "genres", "cast"];

/// Parses yt-dlp's `-J` answer with its free text (titles, descriptions,
/// names, tags, chapter titles; of the entries of a playlist too) cut to the
/// limits above, on character boundaries, ending in `…`. A page can put
/// megabytes into its title; nothing downstream (cache, page, file name)
/// should carry that.
///
/// Returns the answer and the text to keep for `--load-info-json`: the
/// bytes as yt-dlp printed them when nothing was cut, else the answer
/// written out again with the cuts (so yt-dlp sees the same short title).
pub fn read_answer(stdout: &[u8]) -> Result<(InfoJson, String), serde_json::Error> {
    let mut value: serde_json::Value = serde_json::from_slice(stdout)?;
    let cut = bound_free_text(&mut value, 0);
    let info = InfoJson::deserialize(&value)?;
    let raw = if cut == 0 {
        // `from_slice` succeeded, so the bytes are UTF-8 and nothing is lost.
        String::from_utf8_lossy(stdout).into_owned()
    } else {
        tracing::debug!(fields = cut, "cut over-long free text in yt-dlp's answer");
        serde_json::to_string(&value)?
    };
    Ok((info, raw))
}

/// Cuts the free text of one info object (and of its playlist entries and
/// formats) in place; returns how many values were cut or dropped.
pub fn bound_free_text(value: &mut serde_json::Value, depth: u32) -> usize {
    use serde_json::Value;
    let Value::Object(map) = value else { return 0 };
    let mut cut = 0;
    for (fields, max) in
        [(TITLE_FIELDS, MAX_TITLE_CHARS), (DESCRIPTION_FIELDS, MAX_DESCRIPTION_CHARS), (NAME_FIELDS, MAX_NAME_CHARS)]
    {
        for field in fields {
            if let Some(Value::String(text)) = map.get_mut(*field) {
                cut += usize::from(truncate_chars(text, max));
            }
        }
    }
    for field in TAG_LIST_FIELDS {
        if let Some(Value::Array(items)) = map.get_mut(*field) {
            cut += bound_list(items, MAX_TAGS);
            for item in items.iter_mut() {
                if let Value::String(text) = item {
                    cut += usize::from(truncate_chars(text, MAX_TAG_CHARS));
                }
            }
        }
    }
    if let Some(Value::Array(chapters)) = map.get_mut("chapters") {
        cut += bound_list(chapters, MAX_CHAPTERS);
        for chapter in chapters.iter_mut() {
            if let Some(Value::String(text)) = chapter.get_mut("title") {
                cut += usize::from(truncate_chars(text, MAX_NAME_CHARS));
            }
        }
    }
    for nested in ["formats", "requested_formats"] {
        if let Some(Value::Array(formats)) = map.get_mut(nested) {
            for format in formats.iter_mut() {
                cut += bound_free_text(format, depth + 1);
            }
        }
    }
    // Playlists of playlists are rare; two levels are plenty and the depth
    // keeps a crafted answer from recursing without end.
    if depth < 2 {
        if let Some(Value::Array(entries)) = map.get_mut("entries") {
            for entry in entries.iter_mut() {
                cut += bound_free_text(entry, depth + 1);
            }
        }
    }
    cut
}

fn bound_list(items: &mut Vec<serde_json::Value>, max: usize) -> usize {
    let extra = items.len().saturating_sub(max);
    items.truncate(max);
    extra
}

/// Keeps at most `max` characters (the last of them `…` when something was
/// cut); true when `text` was cut.
pub fn truncate_chars(text: &mut String, max: usize) -> bool {
    if max == 0 || text.char_indices().nth(max).is_none() {
        return false;
    }
    let keep = text.char_indices().nth(max - 1).map_or(text.len(), |(i, _)| i);
    text.truncate(keep);
    text.push('…');
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_is_cut_on_character_boundaries() {
        let mut text = "é".repeat(10);
        assert!(truncate_chars(&mut text, 4));
        assert_eq!(text, "ééé…");
        let mut short = "abc".to_string();
        assert!(!truncate_chars(&mut short, 3));
        assert_eq!(short, "abc");
    }

    #[test]
    fn huge_titles_and_lists_are_bounded_before_anyone_sees_them() {
        let huge = "Я".repeat(1_000_000);
        let answer = serde_json::json!({
            "title": huge, "description": huge, "uploader": huge, "tags": vec![huge.clone(); 500],
            "chapters": [{"title": huge, "start_time": 0}],
            "formats": [{"format_id": "1", "format_note": huge}],
            "_type": "playlist", "entries": [{"url": "https://example.com/1", "title": huge}],
        });
        let bytes = serde_json::to_vec(&answer).unwrap_or_default();
        let (info, raw) = read_answer(&bytes).expect("parses");
        assert_eq!(info.title.as_deref().map(|t| t.chars().count()), Some(MAX_TITLE_CHARS));
        assert!(info.title.as_deref().is_some_and(|t| t.ends_with('…')));
        assert_eq!(info.uploader.as_deref().map(|t| t.chars().count()), Some(MAX_NAME_CHARS));
        assert_eq!(
            info.entries.as_ref().and_then(|e| e[0].title.as_ref()).map(|t| t.chars().count()),
            Some(MAX_TITLE_CHARS)
        );
        assert!(raw.len() < 100_000, "the kept answer is cut too: {} bytes", raw.len());
        // An answer with nothing to cut is kept byte for byte.
        let plain = br#"{"title": "Short",  "id": "x"}"#;
        assert_eq!(read_answer(plain).map(|(_, raw)| raw).ok().as_deref(), Some(r#"{"title": "Short",  "id": "x"}"#));
    }
}
