//! Choices for the yt-dlp answers captured from the offline fixture site
//! (`fixture/`), as saved in tests/data/fixture-*.info.json.

use crate::common;

use engine::{choices, QualityChoice, QualityId};

fn summary(list: &[QualityChoice]) -> Vec<(&'static str, &str, bool)> {
    list.iter().map(|c| (c.id.as_str(), c.format.as_str(), c.extract_audio)).collect()
}

#[test]
fn main_hls_merges_each_rendition_with_the_audio_track() {
    let info = common::load_info("fixture-main.info.json");
    let list = choices(&info);
    assert_eq!(
        summary(&list),
        [
            ("1080", "2000+aud-Stereo", false),
            ("720", "1200+aud-Stereo", false),
            ("480", "700+aud-Stereo", false),
            ("360", "400+aud-Stereo", false),
            ("auto", "bv*+ba/b", false),
            ("audio", "aud-Stereo", false),
        ]
    );
    // Sizes come from the bitrates over 20 s; the audio rendition has none.
    assert_eq!(list[0].filesize_approx, Some(2000 * 1000 / 8 * 20));
    assert_eq!(list[3].filesize_approx, Some(400 * 1000 / 8 * 20));
    assert_eq!(list[4].filesize_approx, list[0].filesize_approx);
    assert_eq!(list[5].filesize_approx, None);
    assert_eq!(list[0].height, Some(1080));
    assert_eq!(info.display_title(), "Тестовое видео 🎬 \"Кавычки\" / Slash");
    assert_eq!(info.display_uploader(), Some("Тестовый Автор"));
    assert_eq!(info.duration, Some(20.0));
    assert_eq!(info.view_count, Some(1_234_567));
    assert!(info.best_thumbnail().is_some_and(|t| t.ends_with("/thumb.jpg")));
}

#[test]
fn muxed_hls_extracts_audio_from_the_best_variant() {
    let info = common::load_info("fixture-muxed.info.json");
    let list = choices(&info);
    assert_eq!(
        summary(&list),
        [("720", "1000", false), ("360", "500", false), ("auto", "bv*+ba/b", false), ("audio", "1000", true),]
    );
    assert_eq!(list[0].filesize_approx, Some(1000 * 1000 / 8 * 10));
    assert_eq!(list[1].filesize_approx, Some(500 * 1000 / 8 * 10));
    assert_eq!(list[2].filesize_approx, list[0].filesize_approx);
    // No audio bitrate is known, so no honest size for the sound alone.
    assert_eq!(list[3].filesize_approx, None);
}

#[test]
fn direct_mp4_offers_auto_and_audio() {
    let info = common::load_info("fixture-direct.info.json");
    let list = choices(&info);
    assert_eq!(summary(&list), [("auto", "bv*+ba/b", false), ("audio", "mp4", true)]);
    assert!(list.iter().all(|c| c.filesize_approx.is_none()));
    assert_eq!(list.iter().map(|c| c.id).collect::<Vec<_>>(), [QualityId::Auto, QualityId::Audio]);
}
