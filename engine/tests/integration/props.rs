//! Property tests (proptest) for what strangers' input reaches: the progress
//! parser (yt-dlp output for any site), the progress tracker and the file-name
//! sanitizer (titles from any site). CI runs the default 256 cases each; for a
//! longer run: `PROPTEST_CASES=100000 cargo test -p engine --test props`.

use engine::filename::{ascii_fallback, sanitize_filename, MAX_FILENAME_BYTES};
use engine::progress::{parse_line, ProgressTracker, YtDlpEvent};
use proptest::prelude::*;

/// A download tick line as yt-dlp prints it, with arbitrary numbers.
fn tick_line() -> impl Strategy<Value = String> {
    (
        any::<u32>(),
        proptest::option::of(any::<u32>()),
        proptest::option::of(0u32..50),
        proptest::option::of(1u32..50),
        proptest::option::of(any::<f32>()),
        prop_oneof![Just("downloading"), Just("finished"), Just("error"), Just("weird")],
    )
        .prop_map(|(done, total, index, count, speed, status)| {
            let field = |name: &str, v: Option<String>| v.map(|v| format!(r#","{name}":{v}"#)).unwrap_or_default();
            format!(
                r#"[kachay-dl] {{"status":"{status}","downloaded_bytes":{done}{}{}{}{}}}"#,
                field("total_bytes_estimate", total.map(|t| t.to_string())),
                field("fragment_index", index.map(|i| i.to_string())),
                field("fragment_count", count.map(|c| c.to_string())),
                field("speed", speed.filter(|s| s.is_finite()).map(|s| s.to_string())),
            )
        })
}

proptest! {
    #[test]
    fn any_line_parses_without_panicking(line in any::<String>()) {
        let _ = parse_line(&line);
        let _ = parse_line(&format!("[kachay-dl] {line}"));
        let _ = parse_line(&format!("[kachay-pp] {line}"));
        let _ = parse_line(&format!("[kachay-file] {line}"));
    }

    #[test]
    fn progress_never_goes_backwards_and_stays_in_range(
        lines in proptest::collection::vec(tick_line(), 1..60),
        stages in proptest::collection::vec(proptest::option::of(1u64..10_000_000), 1..3),
    ) {
        let mut tracker = ProgressTracker::new(stages);
        let mut last = 0.0f64;
        for line in &lines {
            if let Some(event @ YtDlpEvent::Download(_)) = parse_line(line) {
                if let Some(progress) = tracker.feed(&event) {
                    prop_assert!(progress.percent >= last, "{} after {last} on {line}", progress.percent);
                    prop_assert!((0.0..=100.0).contains(&progress.percent), "{}", progress.percent);
                    last = progress.percent;
                }
            }
        }
        let done = tracker.complete(1234);
        prop_assert_eq!(done.percent, 100.0);
    }

    #[test]
    fn file_names_are_safe_on_every_file_system(title in any::<String>(), ext in "[a-z0-9]{0,5}") {
        let name = sanitize_filename(&title, &ext);
        prop_assert!(!name.is_empty());
        prop_assert!(name.len() <= MAX_FILENAME_BYTES, "{} bytes", name.len());
        prop_assert!(!name.chars().any(|c| "/\\:*?\"<>|".contains(c) || c.is_control()), "{name:?}");
        prop_assert!(!name.starts_with(' ') && !name.starts_with('.'), "{name:?}");
        prop_assert!(name != "." && name != "..");
        if !ext.is_empty() {
            let suffix = format!(".{ext}");
            prop_assert!(name.ends_with(&suffix), "{name:?}");
        }
        let ascii = ascii_fallback(&name);
        prop_assert!(ascii.is_ascii() && !ascii.is_empty(), "{ascii:?}");
        prop_assert!(!ascii.contains('"') && !ascii.contains('\\'), "{ascii:?}");
    }
}
