//! The progress parser and tracker on real yt-dlp output captured from the
//! fixture site (`tests/data/progress/*.txt`, see `capture.py` there).

use crate::common;

use engine::download::{plan, AudioFormat};
use engine::progress::{
    parse_line, status_text, Phase, PostStatus, PostStep, Progress, ProgressTracker, TickStatus, YtDlpEvent,
};
use engine::QualityId;

fn capture(name: &str) -> Vec<String> {
    let path = common::data_path(&format!("progress/{name}.txt"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Every event of a capture, in order.
fn events(name: &str) -> Vec<YtDlpEvent> {
    capture(name).iter().filter_map(|l| parse_line(l)).collect()
}

/// Feeds a capture through a tracker; returns every progress it gave.
fn track(name: &str, sizes: Vec<Option<u64>>) -> (Vec<Progress>, ProgressTracker) {
    let mut tracker = ProgressTracker::new(sizes);
    let out = events(name).iter().filter_map(|e| tracker.feed(e)).collect();
    (out, tracker)
}

fn assert_monotonic(progress: &[Progress]) {
    for pair in progress.windows(2) {
        assert!(
            pair[1].percent >= pair[0].percent,
            "percent went back from {} to {}",
            pair[0].percent,
            pair[1].percent
        );
        assert!((0.0..=100.0).contains(&pair[1].percent));
    }
}

#[test]
fn every_tagged_line_parses() {
    for name in
        ["http-progressive", "hls-main-720-merge", "hls-muxed-720", "audio-m4a-main", "audio-mp3-muxed", "http-drop"]
    {
        for line in capture(name) {
            let tagged = line.starts_with("[kachay-");
            let parsed = parse_line(&line);
            if tagged {
                assert!(parsed.is_some(), "{name}: not parsed: {line}");
            }
            if line.starts_with("WARNING:") {
                assert!(matches!(parsed, Some(YtDlpEvent::Warning(_))), "{line}");
            }
        }
    }
}

#[test]
fn http_progressive_is_one_stage_with_exact_size() {
    let (progress, mut tracker) = track("http-progressive", vec![None]);
    assert_monotonic(&progress);
    assert!(progress.len() >= 10, "{}", progress.len());
    assert!(progress.iter().all(|p| p.phase == Phase::Downloading));
    assert!(progress.iter().all(|p| p.stage == 1 && p.stages == 1));
    // The HTTP server said how big the file is.
    assert!(progress.iter().all(|p| p.total_bytes == Some(493_054)));
    let middle = &progress[progress.len() / 2];
    assert!(middle.percent > 1.0 && middle.percent < 95.0, "{middle:?}");
    let expected = 95.0 * middle.downloaded_bytes as f64 / 493_054.0;
    assert!((middle.percent - expected).abs() < 0.5, "{middle:?}");
    // The rate knob was 200 000 B/s.
    let speed = middle.speed.expect("speed known mid-download");
    assert!((100_000.0..400_000.0).contains(&speed), "{speed}");
    let eta = middle.eta.expect("eta known mid-download");
    assert!(eta <= 5, "{eta}");
    let text = status_text(middle);
    assert!(text.contains("% of ~481.50 KiB at "), "{text}");
    assert!(text.contains(", ETA "), "{text}");

    let last = progress.last().expect("some progress");
    assert_eq!(last.downloaded_bytes, 493_054);
    assert!((last.percent - 95.0).abs() < 0.01, "{last:?}");
    let done = tracker.complete(493_054);
    assert_eq!(done.phase, Phase::Completed);
    assert_eq!(done.percent, 100.0);
    assert_eq!(status_text(&done), "Done: 481.50 KiB");
}

#[test]
fn hls_percent_from_yt_dlp_goes_down_but_ours_does_not() {
    // The trap: yt-dlp's own `_percent` for HLS goes down as the size
    // estimate grows.
    let ticks: Vec<_> = events("hls-main-720-merge")
        .into_iter()
        .filter_map(|e| match e {
            YtDlpEvent::Download(t) => Some(t),
            _ => None,
        })
        .collect();
    let raw: Vec<f64> = ticks.iter().filter_map(|t| t.percent).collect();
    assert!(raw.windows(2).any(|w| w[1] < w[0] - 1.0), "the capture should show yt-dlp's percent going down");
    assert!(ticks.iter().all(|t| t.total_bytes.is_none() || t.status == TickStatus::Finished));
    assert!(ticks
        .iter()
        .filter(|t| t.status == TickStatus::Downloading)
        .all(|t| t.fragment_count.is_some() && t.fragment_index.is_some()));

    let info = common::load_info("fixture-main.info.json");
    let plan = plan(&info, QualityId::P720, AudioFormat::M4a);
    assert_eq!(plan.stage_sizes.len(), 2, "{plan:?}");
    let (progress, _) = track("hls-main-720-merge", plan.stage_sizes.clone());
    assert_monotonic(&progress);
}

#[test]
fn video_plus_audio_is_two_weighted_stages_then_a_merge() {
    let info = common::load_info("fixture-main.info.json");
    let plan = plan(&info, QualityId::P720, AudioFormat::M4a);
    let sizes = plan.stage_sizes.clone();
    let (video, audio) = (sizes[0].expect("video size from tbr") as f64, sizes[1].expect("audio size guessed") as f64);
    let (progress, mut tracker) = track("hls-main-720-merge", sizes);
    assert_monotonic(&progress);

    let stage_one: Vec<_> = progress.iter().filter(|p| p.phase == Phase::Downloading && p.stage == 1).collect();
    let stage_two: Vec<_> = progress.iter().filter(|p| p.phase == Phase::Downloading && p.stage == 2).collect();
    assert!(stage_one.len() > 50 && stage_two.len() > 50);
    assert!(progress.iter().all(|p| p.stages == 2));
    // Stage one ends at the video's share of 95 %, not at 50 %.
    let share = 95.0 * video / (video + audio);
    let end_one = stage_one.last().map(|p| p.percent).unwrap_or_default();
    assert!((end_one - share).abs() < 0.5, "{end_one} vs {share}");
    // Halfway through the video's fragments, about halfway through its share.
    let half = stage_one.iter().find(|p| p.downloaded_bytes >= 953_536).map(|p| p.percent).unwrap_or_default();
    assert!((half - share / 2.0).abs() < share * 0.1, "{half} vs {}", share / 2.0);
    // Stage two continues from there and ends at 95 %.
    assert!(stage_two.first().map(|p| p.percent).unwrap_or_default() >= end_one);
    let end_two = stage_two.last().map(|p| p.percent).unwrap_or_default();
    assert!((end_two - 95.0).abs() < 0.01, "{end_two}");
    // Bytes add up across stages: 1 906 884 video + 180 292 audio.
    assert_eq!(stage_two.last().map(|p| p.downloaded_bytes), Some(1_906_884 + 180_292));
    // The overall ETA counts the audio still to come.
    let mid = stage_one[stage_one.len() / 2];
    assert!(mid.total_bytes.is_some_and(|t| t > mid.downloaded_bytes));

    let merging: Vec<_> = progress.iter().filter(|p| p.phase == Phase::Merging).collect();
    assert!(!merging.is_empty());
    assert!(merging.iter().all(|p| p.post_step == Some(PostStep::Merge) && p.percent >= 95.0));
    assert_eq!(status_text(merging[0]), "Merging video and audio…");
    let merge_pos = progress.iter().position(|p| p.phase == Phase::Merging).unwrap_or(0);
    assert!(progress[merge_pos..].iter().all(|p| p.phase == Phase::Merging));

    let done = tracker.complete(1_980_670);
    assert_eq!((done.phase, done.percent), (Phase::Completed, 100.0));

    let file = events("hls-main-720-merge").into_iter().find_map(|e| match e {
        YtDlpEvent::File(p) => Some(p),
        _ => None,
    });
    assert!(file.is_some_and(|p| p.ends_with("media.mp4")));
}

#[test]
fn equal_weights_without_sizes() {
    let (progress, _) = track("hls-main-720-merge", vec![None, None]);
    assert_monotonic(&progress);
    let end_one = progress.iter().rfind(|p| p.stage == 1 && p.phase == Phase::Downloading).map(|p| p.percent);
    assert_eq!(end_one, Some(47.5));
}

#[test]
fn muxed_hls_is_one_stage_then_a_fixup() {
    let (progress, _) = track("hls-muxed-720", vec![Some(1_250_000)]);
    assert_monotonic(&progress);
    assert!(progress.iter().all(|p| p.stages == 1));
    let fixup = progress.iter().find(|p| p.phase == Phase::Merging).expect("FixupM3u8 shows");
    assert_eq!(fixup.post_step, Some(PostStep::Fixup));
    assert_eq!(status_text(fixup), "Finishing the file…");
}

#[test]
fn audio_extraction_shows_as_extracting() {
    for name in ["audio-m4a-main", "audio-mp3-muxed"] {
        let pp: Vec<_> = events(name)
            .into_iter()
            .filter_map(|e| match e {
                YtDlpEvent::PostProcess(pp) => Some(pp),
                _ => None,
            })
            .collect();
        let names: Vec<_> =
            pp.iter().filter(|p| p.status == PostStatus::Started).map(|p| p.postprocessor.as_str()).collect();
        assert_eq!(names, ["FixupM3u8", "ExtractAudio", "MoveFiles"], "{name}");

        let (progress, mut tracker) = track(name, vec![None]);
        assert_monotonic(&progress);
        let extracting =
            progress.iter().find(|p| p.post_step == Some(PostStep::ExtractAudio)).expect("ExtractAudio shows");
        assert_eq!(extracting.phase, Phase::Merging);
        assert_eq!(status_text(extracting), "Extracting audio…");
        // MoveFiles is bookkeeping: it changes nothing.
        let last = progress.last().expect("progress");
        assert_eq!(last.post_step, Some(PostStep::ExtractAudio));
        assert_eq!(last.percent, 99.0);
        assert_eq!(tracker.complete(1).percent, 100.0);
    }
}

#[test]
fn a_dropped_connection_ends_with_an_error_line() {
    let lines = capture("http-drop");
    let error = lines.iter().rev().find_map(|l| match parse_line(l) {
        Some(YtDlpEvent::Error(e)) => Some(e),
        _ => None,
    });
    assert_eq!(
        error.as_deref(),
        Some("[download] Got error: 50000 bytes read, 125614 more expected. Giving up after 10 retries")
    );
    let (kind, message) = engine::error::classify(&lines.join("\n"));
    assert_eq!(kind, engine::FailureKind::Other);
    assert!(message.starts_with("Got error: 50000 bytes read"), "{message}");
    let (progress, _) = track("http-drop", vec![None]);
    assert_monotonic(&progress);
    assert!(progress.iter().all(|p| p.percent < 95.0));
}
