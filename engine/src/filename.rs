//! File names for the browser: the video's title made safe for every file
//! system, and a plain-ASCII fallback for `Content-Disposition`.

/// Longest name [`sanitize_filename`] returns, in bytes (extension included).
pub const MAX_FILENAME_BYTES: usize = 200;

/// Used when nothing of the title is left.
const FALLBACK_STEM: &str = "video";

/// Device names Windows reserves, with any extension.
const WINDOWS_RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2",
    "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// `title` + `.` + `ext` as a file name every common file system accepts.
///
/// * Cyrillic, emoji and other letters stay; `"` becomes `'` (the quotes
///   keep their meaning); `/ \ : * ? < > |` and control characters become
///   spaces; bidirectional-override characters are dropped.
/// * Runs of whitespace collapse to one space; leading and trailing spaces
///   and dots go.
/// * A name Windows reserves (`CON`, `nul.txt`, `LPT1`…) gets a `_`.
/// * At most [`MAX_FILENAME_BYTES`] bytes, cut on a character boundary.
/// * Nothing left → `video`.
///
/// `ext` keeps only ASCII letters and digits; an empty one adds no dot.
pub fn sanitize_filename(title: &str, ext: &str) -> String {
    sanitize_filename_tagged(title, None, ext)
}

/// [`sanitize_filename`] with a tag kept whole before the extension, such
/// as a clip's range: `Title (0m04s-0m08s).mp4`. A long title is cut, never
/// the tag; the tag keeps only ASCII letters, digits, `.` and `-`.
pub fn sanitize_filename_tagged(title: &str, tag: Option<&str>, ext: &str) -> String {
    let ext: String = ext.trim_start_matches('.').chars().filter(char::is_ascii_alphanumeric).take(16).collect();
    let tag: String =
        tag.unwrap_or("").chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-')).take(40).collect();
    let mut suffix = if tag.is_empty() { String::new() } else { format!(" ({tag})") };
    if !ext.is_empty() {
        suffix.push('.');
        suffix.push_str(&ext);
    }

    let mapped: String = title
        .chars()
        .filter(|c| !is_bidi_control(*c))
        .map(|c| match c {
            '"' => '\'',
            '/' | '\\' | ':' | '*' | '?' | '<' | '>' | '|' => ' ',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let mut stem = mapped.split_whitespace().collect::<Vec<_>>().join(" ");

    let budget = MAX_FILENAME_BYTES.saturating_sub(suffix.len());
    if stem.len() > budget {
        let mut cut = budget;
        while !stem.is_char_boundary(cut) {
            cut -= 1;
        }
        stem.truncate(cut);
    }
    let mut stem = trim_edges(&stem).to_owned();
    if stem.is_empty() {
        stem = FALLBACK_STEM.to_owned();
    }
    let stem = unreserve(stem);
    format!("{stem}{suffix}")
}

/// A plain-ASCII version of a file name for the `filename=` parameter of
/// `Content-Disposition`: transliterated (`Привет` → `Privet`), then only
/// `A-Z a-z 0-9 space . _ ( ) -` kept. The extension survives; an empty
/// stem becomes `video`.
pub fn ascii_fallback(name: &str) -> String {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !ext.is_empty() && ext.len() <= 16 && ext.chars().all(|c| c.is_ascii_alphanumeric()) => {
            (stem, Some(ext))
        }
        _ => (name, None),
    };
    let plain = deunicode::deunicode(stem);
    let kept: String = plain
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '_' | '(' | ')' | '-') { c } else { ' ' })
        .collect();
    let collapsed = kept.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut stem = trim_edges(&collapsed).to_owned();
    if stem.is_empty() {
        stem = FALLBACK_STEM.to_owned();
    }
    let mut stem = unreserve(stem);
    let budget = match ext {
        Some(e) => MAX_FILENAME_BYTES.saturating_sub(e.len() + 1),
        None => MAX_FILENAME_BYTES,
    };
    stem.truncate(budget); // ASCII: every index is a boundary.
    let stem = trim_edges(&stem);
    match ext {
        Some(ext) => format!("{stem}.{ext}"),
        None => stem.to_owned(),
    }
}

fn trim_edges(s: &str) -> &str {
    s.trim_matches(|c: char| c == '.' || c.is_whitespace())
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `CON` → `CON_`, `com1.backup` → `com1_.backup`: Windows refuses a
/// device name before the first dot, whatever follows.
fn unreserve(stem: String) -> String {
    let base_len = stem.find('.').unwrap_or(stem.len());
    let base = stem[..base_len].trim_end();
    if WINDOWS_RESERVED.iter().any(|r| r.eq_ignore_ascii_case(base)) {
        let at = base.len();
        let mut out = stem;
        out.insert(at, '_');
        out
    } else {
        stem
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_survives_a_long_title() {
        assert_eq!(sanitize_filename_tagged("Title", Some("0m04s-0m08s"), "mp4"), "Title (0m04s-0m08s).mp4");
        assert_eq!(sanitize_filename_tagged("", Some("0m04s-0m08s"), "mp4"), "video (0m04s-0m08s).mp4");
        assert_eq!(sanitize_filename_tagged("T", Some("a/../b"), "mp4"), "T (a..b).mp4");
        let long = "ж".repeat(400);
        let name = sanitize_filename_tagged(&long, Some("1h02m03.5s-1h03m00s"), "mp4");
        assert!(name.ends_with(" (1h02m03.5s-1h03m00s).mp4"), "{name}");
        assert!(name.len() <= MAX_FILENAME_BYTES, "{}", name.len());
    }

    #[test]
    fn fixture_titles() {
        assert_eq!(
            sanitize_filename("Тестовое видео 🎬 \"Кавычки\" / Slash", "mp4"),
            "Тестовое видео 🎬 'Кавычки' Slash.mp4"
        );
        assert_eq!(
            sanitize_filename("Muxed clip — ёжик 🦔 'single' quotes", "m4a"),
            "Muxed clip — ёжик 🦔 'single' quotes.m4a"
        );
        assert_eq!(
            sanitize_filename("Progressive: Привет/Мир \"mp4\" 📼", "mp4"),
            "Progressive Привет Мир 'mp4' 📼.mp4"
        );
    }

    #[test]
    fn removes_what_file_systems_refuse() {
        let name = sanitize_filename("a/b\\c:d*e?f\"g<h>i|j\u{0}k\u{7f}l\nm\tn", "mkv");
        assert_eq!(name, "a b c d e f'g h i j k l m n.mkv");
        for bad in ['/', '\\', ':', '*', '?', '"', '<', '>', '|'] {
            assert!(!name.contains(bad), "{bad} in {name}");
        }
        assert!(!name.chars().any(char::is_control));
    }

    #[test]
    fn trims_dots_and_spaces_and_collapses_whitespace() {
        assert_eq!(sanitize_filename("  ..hidden   title..  ", "mp4"), "hidden title.mp4");
        assert_eq!(sanitize_filename("...", "mp4"), "video.mp4");
        assert_eq!(sanitize_filename("", "mp4"), "video.mp4");
        assert_eq!(sanitize_filename("/// ???", ".mp3"), "video.mp3");
        assert_eq!(sanitize_filename("clip", ""), "clip");
    }

    #[test]
    fn windows_reserved_names_get_a_suffix() {
        assert_eq!(sanitize_filename("CON", "mp4"), "CON_.mp4");
        assert_eq!(sanitize_filename("nul", "mp4"), "nul_.mp4");
        assert_eq!(sanitize_filename("com1.backup", "mp4"), "com1_.backup.mp4");
        assert_eq!(sanitize_filename("CONTROL", "mp4"), "CONTROL.mp4");
    }

    #[test]
    fn long_titles_are_cut_on_a_char_boundary() {
        let title = "Ж".repeat(300); // 2 bytes each
        let name = sanitize_filename(&title, "mp4");
        assert!(name.len() <= MAX_FILENAME_BYTES, "{}", name.len());
        assert!(name.ends_with("Ж.mp4"));
        let emoji = "🎬".repeat(100); // 4 bytes each
        let name = sanitize_filename(&emoji, "webm");
        assert!(name.len() <= MAX_FILENAME_BYTES);
        assert!(name.ends_with("🎬.webm"));
    }

    #[test]
    fn bidi_overrides_are_dropped() {
        assert_eq!(sanitize_filename("evil\u{202E}4pm.exe", "mp4"), "evil4pm.exe.mp4");
    }

    #[test]
    fn ascii_fallback_transliterates() {
        let plain = ascii_fallback("Тестовое видео 🎬 'Кавычки' Slash.mp4");
        assert!(plain.starts_with("Testovoe video"), "{plain}");
        assert!(plain.ends_with("Slash.mp4"), "{plain}");
        assert!(plain.contains("Kavychki"), "{plain}");
        assert!(plain.chars().all(|c| c.is_ascii_alphanumeric() || " ._()-".contains(c)));
        assert!(ascii_fallback("🎬🎬.mp4").is_ascii());
        assert!(ascii_fallback("日本語.m4a").ends_with(".m4a"));
        assert_eq!(ascii_fallback(".mp4"), "video.mp4");
        assert_eq!(ascii_fallback("\"\\\"\".mp4"), "video.mp4");
    }
}
