//! Quality choices from real and realistic yt-dlp answers.

use crate::common;

use engine::{choices, Format, InfoJson, QualityChoice, QualityId};

fn ids(list: &[QualityChoice]) -> Vec<&'static str> {
    list.iter().map(|c| c.id.as_str()).collect()
}

fn pick(list: &[QualityChoice], id: QualityId) -> &QualityChoice {
    list.iter().find(|c| c.id == id).expect("choice is offered")
}

fn info(json: &str) -> InfoJson {
    serde_json::from_str(json).expect("valid test JSON")
}

#[test]
fn youtube_sample_offers_every_height_with_merged_selectors() {
    let info = common::load_info("youtube-sample.info.json");
    let list = choices(&info);
    assert_eq!(ids(&list), ["2160", "1440", "1080", "720", "480", "360", "auto", "audio"]);

    let selectors: Vec<&str> = list.iter().map(|c| c.format.as_str()).collect();
    assert_eq!(selectors, ["313+251", "271+251", "248+251", "247+251", "244+251", "243+251", "bv*+ba/b", "251"]);
    assert!(list.iter().all(|c| !c.extract_audio));
}

#[test]
fn youtube_sample_sizes_are_video_plus_audio() {
    let info = common::load_info("youtube-sample.info.json");
    let list = choices(&info);
    // 313: filesize 897486343, 251: filesize 8264649.
    assert_eq!(pick(&list, QualityId::P2160).filesize_approx, Some(897_486_343 + 8_264_649));
    // yt-dlp itself chose 313+251 for this video and wrote the same total.
    assert_eq!(pick(&list, QualityId::P2160).filesize_approx, info.filesize_approx);
    // 248: filesize 126606213.
    assert_eq!(pick(&list, QualityId::P1080).filesize_approx, Some(126_606_213 + 8_264_649));
    // 243: filesize 22260935.
    assert_eq!(pick(&list, QualityId::P360).filesize_approx, Some(22_260_935 + 8_264_649));
    // auto takes the best picture (313) plus the best sound (251).
    assert_eq!(pick(&list, QualityId::Auto).filesize_approx, Some(905_750_992));
    assert_eq!(pick(&list, QualityId::Auto).height, Some(2160));
    assert_eq!(pick(&list, QualityId::Audio).filesize_approx, Some(8_264_649));
    assert_eq!(pick(&list, QualityId::P1440).height, Some(1440));
}

#[test]
fn youtube_sample_storyboards_are_never_offered() {
    let info = common::load_info("youtube-sample.info.json");
    let formats = info.formats();
    let storyboards: Vec<&Format> = formats.iter().filter(|f| f.is_storyboard()).collect();
    assert_eq!(storyboards.len(), 3, "the sample has sb0, sb1 and sb2");
    assert!(storyboards.iter().all(|f| !f.has_video() && !f.has_audio()));
    for choice in choices(&info) {
        assert!(!choice.format.contains("sb"), "{choice:?}");
    }
}

#[test]
fn youtube_sample_metadata() {
    let info = common::load_info("youtube-sample.info.json");
    assert_eq!(info.display_title(), "Pinchflat Example Video");
    assert_eq!(info.display_uploader(), Some("PinchflatTestChannel"));
    assert_eq!(info.duration, Some(582.0));
    assert_eq!(info.extractor.as_deref(), Some("youtube"));
    assert_eq!(info.kind.as_deref(), Some("video"));
    assert_eq!(info.is_live, Some(false));
    assert!(!info.is_playlist());
    assert_eq!(info.best_thumbnail(), Some("https://i.ytimg.com/vi/ABC123/maxresdefault.jpg"));
    let formats = info.formats();
    let f18 = formats.iter().find(|f| f.format_id.as_deref() == Some("18")).expect("format 18");
    assert!(f18.has_video() && f18.has_audio() && !f18.is_audio_only());
    assert_eq!(f18.size_estimate(info.duration), Some(43_017_640));
    let f251 = formats.iter().find(|f| f.format_id.as_deref() == Some("251")).expect("format 251");
    assert!(f251.is_audio_only());
    // 625 has only a bitrate: 17120.78 kbit/s over 582 s.
    let f625 = formats.iter().find(|f| f.format_id.as_deref() == Some("625")).expect("format 625");
    assert_eq!(f625.size_estimate(info.duration), Some(1_245_536_745));
}

#[test]
fn direct_mp4_gives_auto_and_audio_only() {
    // The shape yt-dlp's generic extractor gives a bare .mp4 link.
    let info = info(
        r#"{"id": "out", "title": "out", "direct": true,
            "formats": [{"format_id": "mp4", "url": "http://127.0.0.1:8000/out.mp4", "ext": "mp4",
                         "vcodec": null, "protocol": "http", "video_ext": "mp4", "audio_ext": "none",
                         "vbr": null, "abr": null, "tbr": null, "resolution": null,
                         "dynamic_range": "SDR", "aspect_ratio": null, "filesize_approx": null}],
            "extractor": "generic", "_type": "video"}"#,
    );
    let list = choices(&info);
    assert_eq!(ids(&list), ["auto", "audio"]);
    let auto = pick(&list, QualityId::Auto);
    assert_eq!(auto.format, "bv*+ba/b");
    assert_eq!(auto.filesize_approx, None);
    let audio = pick(&list, QualityId::Audio);
    assert_eq!(audio.format, "mp4");
    assert!(audio.extract_audio);
    assert_eq!(audio.filesize_approx, None);
}

#[test]
fn muxed_hls_offers_its_heights_and_extracts_audio() {
    // Each variant carries video and sound; there is no audio-only rendition.
    let info = info(
        r#"{"id": "muxed", "title": "Muxed", "duration": 20.0,
            "formats": [
              {"format_id": "928", "protocol": "m3u8_native", "ext": "mp4", "width": 640, "height": 360,
               "vcodec": "avc1.64001e", "acodec": "mp4a.40.2", "tbr": 928.0},
              {"format_id": "2628", "protocol": "m3u8_native", "ext": "mp4", "width": 1280, "height": 720,
               "vcodec": "avc1.64001f", "acodec": "mp4a.40.2", "tbr": 2628.0, "abr": 128.0}
            ]}"#,
    );
    let list = choices(&info);
    assert_eq!(ids(&list), ["720", "360", "auto", "audio"]);
    assert_eq!(pick(&list, QualityId::P720).format, "2628");
    assert_eq!(pick(&list, QualityId::P360).format, "928");
    // 928 kbit/s for 20 s.
    assert_eq!(pick(&list, QualityId::P360).filesize_approx, Some(2_320_000));
    assert_eq!(pick(&list, QualityId::Auto).filesize_approx, Some(6_570_000));
    let audio = pick(&list, QualityId::Audio);
    assert!(audio.extract_audio);
    assert_eq!(audio.format, "2628");
    // 128 kbit/s for 20 s.
    assert_eq!(audio.filesize_approx, Some(320_000));
    assert!(list.iter().filter(|c| c.id != QualityId::Audio).all(|c| !c.extract_audio));
}

#[test]
fn cinema_and_portrait_frames_land_in_the_right_bucket() {
    let info = info(
        r#"{"formats": [
              {"format_id": "wide", "width": 1920, "height": 800, "vcodec": "avc1", "acodec": "mp4a"},
              {"format_id": "short", "width": 720, "height": 1280, "vcodec": "avc1", "acodec": "mp4a"}
            ]}"#,
    );
    let list = choices(&info);
    assert_eq!(ids(&list), ["1080", "720", "auto", "audio"]);
    assert_eq!(pick(&list, QualityId::P1080).format, "wide");
    assert_eq!(pick(&list, QualityId::P1080).height, Some(800));
    assert_eq!(pick(&list, QualityId::P720).format, "short");
}

#[test]
fn only_height_known_is_enough() {
    let info = info(r#"{"formats": [{"format_id": "hd", "height": 720}]}"#);
    assert_eq!(ids(&choices(&info)), ["720", "auto", "audio"]);
}

#[test]
fn tiny_renditions_are_not_standard_choices() {
    let info = info(
        r#"{"formats": [
              {"format_id": "144", "width": 256, "height": 144, "vcodec": "avc1", "acodec": "none"},
              {"format_id": "240", "width": 426, "height": 240, "vcodec": "avc1", "acodec": "none"},
              {"format_id": "a", "vcodec": "none", "acodec": "opus", "filesize": 1000}
            ]}"#,
    );
    let list = choices(&info);
    assert_eq!(ids(&list), ["auto", "audio"]);
    assert_eq!(pick(&list, QualityId::Audio).format, "a");
    assert!(!pick(&list, QualityId::Audio).extract_audio);
}

#[test]
fn audio_only_sites_offer_auto_and_audio() {
    let info = info(
        r#"{"duration": 10, "formats": [
              {"format_id": "mp3-128", "vcodec": "none", "acodec": "mp3", "abr": 128},
              {"format_id": "opus-160", "resolution": "audio only", "abr": 160}
            ]}"#,
    );
    let list = choices(&info);
    assert_eq!(ids(&list), ["auto", "audio"]);
    let audio = pick(&list, QualityId::Audio);
    assert_eq!(audio.format, "opus-160");
    assert_eq!(audio.filesize_approx, None, "opus-160 has no tbr or size");
    assert_eq!(pick(&list, QualityId::Auto).filesize_approx, None);
}

#[test]
fn single_format_at_top_level_is_used() {
    let info = info(
        r#"{"id": "x", "format_id": "hls-1080", "url": "http://127.0.0.1/x.m3u8", "ext": "mp4",
            "width": 1920, "height": 1080, "vcodec": "avc1", "acodec": "mp4a", "filesize_approx": 5000}"#,
    );
    let list = choices(&info);
    assert_eq!(ids(&list), ["1080", "auto", "audio"]);
    assert_eq!(pick(&list, QualityId::P1080).format, "hls-1080");
    assert_eq!(pick(&list, QualityId::P1080).filesize_approx, Some(5000));
    assert!(pick(&list, QualityId::Audio).extract_audio);
}

#[test]
fn missing_fields_everywhere_do_not_panic() {
    let samples = [
        "{}",
        r#"{"formats": []}"#,
        r#"{"formats": [{}]}"#,
        r#"{"formats": [{}, {"height": 1080}, {"vcodec": "none"}, {"acodec": "none"}]}"#,
        r#"{"formats": null, "thumbnails": null, "duration": null, "_type": null}"#,
        r#"{"formats": "weird", "thumbnails": [1, "x", {}], "duration": "long", "is_live": "no"}"#,
        r#"{"formats": [{"format_id": "a", "width": 0, "height": 0, "tbr": -1}], "duration": -5}"#,
        r#"{"formats": [{"format_id": "big", "width": 4294967295, "height": 4294967295, "filesize": 1e300}]}"#,
    ];
    for json in samples {
        let info = info(json);
        let _ = choices(&info);
        let _ = info.display_title();
        let _ = info.best_thumbnail();
    }
    assert!(choices(&InfoJson::default()).is_empty());
    assert_eq!(InfoJson::default().display_title(), "Untitled");
}

#[test]
fn formats_without_ids_are_not_offered_by_id() {
    // Auto still works; a per-height selector needs a format id.
    let info = info(r#"{"formats": [{"height": 1080, "vcodec": "avc1", "acodec": "mp4a"}]}"#);
    assert_eq!(ids(&choices(&info)), ["auto"]);
}

#[test]
fn only_storyboards_means_nothing_to_offer() {
    let info = info(
        r#"{"formats": [{"format_id": "sb0", "format_note": "storyboard", "ext": "mhtml",
                         "protocol": "mhtml", "vcodec": "none", "acodec": "none", "width": 160, "height": 90}]}"#,
    );
    assert!(choices(&info).is_empty());
}

#[test]
fn best_thumbnail_falls_back_to_the_list() {
    let info = info(
        r#"{"thumbnails": [
              {"url": "http://t/small.jpg", "preference": -5, "width": 120},
              {"url": "http://t/big.jpg", "preference": 0, "width": 1280},
              {"url": "http://t/other.jpg", "preference": 0, "width": 640},
              {"preference": 10}
            ]}"#,
    );
    assert_eq!(info.best_thumbnail(), Some("http://t/big.jpg"));
    let info = info_with_title_fallbacks();
    assert_eq!(info.display_title(), "Full");
    assert_eq!(info.display_uploader(), Some("Chan"));
}

fn info_with_title_fallbacks() -> InfoJson {
    info(r#"{"title": "", "fulltitle": "Full", "id": "x", "channel": "Chan"}"#)
}

#[test]
fn choices_serialize_with_string_ids() {
    let info = common::load_info("youtube-sample.info.json");
    let list = choices(&info);
    let json = serde_json::to_value(&list).expect("serializes");
    assert_eq!(json[0]["id"], "2160");
    assert_eq!(json[0]["format"], "313+251");
    assert_eq!(json[7]["id"], "audio");
    let back: Vec<QualityChoice> = serde_json::from_value(json).expect("deserializes");
    assert_eq!(back, list);
}

#[test]
fn info_json_round_trips_through_serde() {
    let info = common::load_info("youtube-sample.info.json");
    let text = serde_json::to_string(&info).expect("serializes");
    let again: InfoJson = serde_json::from_str(&text).expect("parses again");
    assert_eq!(again, info);
    assert!(text.contains("\"_type\":\"video\""));
}
