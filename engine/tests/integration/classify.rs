//! The stderr classifier on texts captured from yt-dlp 2026.10.26 run
//! against 127.0.0.1 (see tests/data/README.md).

use crate::common;

use engine::error::classify;
use engine::FailureKind;

fn captured(name: &str) -> String {
    std::fs::read_to_string(common::data_path(&format!("stderr/{name}.txt"))).expect("captured stderr file")
}

#[test]
fn http_404() {
    assert_eq!(
        classify(&captured("http-404")),
        (FailureKind::Http(404), "Unable to download webpage: HTTP Error 404: File not found".to_owned())
    );
}

#[test]
fn page_without_video_is_unsupported() {
    let (kind, message) = classify(&captured("unsupported-url"));
    assert_eq!(kind, FailureKind::Unsupported);
    assert!(message.starts_with("Unsupported URL: http://127.0.0.1:"), "{message}");
    assert!(!message.contains("WARNING"));
}

#[test]
fn not_a_url() {
    assert_eq!(
        classify(&captured("invalid-url")),
        (FailureKind::InvalidUrl, "'not-a-url' is not a valid URL".to_owned())
    );
}

#[test]
fn connection_refused() {
    let (kind, message) = classify(&captured("connection-refused"));
    assert_eq!(kind, FailureKind::Unreachable);
    assert!(message.starts_with("Unable to download webpage: "), "{message}");
    assert!(message.contains("Connection refused"), "{message}");
    assert!(!message.contains("caused by"), "{message}");
}

#[test]
fn connection_reset() {
    let (kind, message) = classify(&captured("connection-reset"));
    assert_eq!(kind, FailureKind::Unreachable);
    assert!(message.contains("Connection reset by peer"), "{message}");
}

#[test]
fn name_resolution_failure() {
    let (kind, message) = classify(&captured("name-resolution"));
    assert_eq!(kind, FailureKind::Unreachable);
    assert!(message.contains("Failed to resolve 'no-such-host.invalid'"), "{message}");
}

#[test]
fn read_timeout() {
    let (kind, message) = classify(&captured("read-timeout"));
    assert_eq!(kind, FailureKind::Unreachable);
    assert!(message.contains("Read timed out"), "{message}");
}

#[test]
fn format_unavailable() {
    assert_eq!(
        classify(&captured("format-unavailable")),
        (
            FailureKind::FormatUnavailable,
            "Requested format is not available. Use --list-formats for a list of available formats".to_owned()
        )
    );
}

#[test]
fn no_message_keeps_the_prefix_or_tag() {
    let dir = common::data_path("stderr");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("stderr dir") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("readable");
        let (_, message) = classify(&text);
        assert!(!message.starts_with("ERROR"), "{message}");
        assert!(!message.starts_with('['), "{message}");
        assert!(!message.contains('\n'), "{message}");
        seen += 1;
    }
    assert!(seen >= 8);
}

/// A failure that only looks like a missing token is not called one: the
/// same final error without the warnings stays what it was.
#[test]
fn a_missing_po_token_needs_yt_dlps_own_warning() {
    let text = captured("youtube-po-token-unavailable");
    let last = text.lines().last().unwrap_or_default();
    assert_eq!(classify(last).0, FailureKind::FormatUnavailable);
    let skipped_only: String = text.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(classify(&skipped_only).0, FailureKind::PoTokenUnavailable);
    // A removed video stays removed, whatever the warnings.
    let removed = format!("{}\nERROR: [youtube] x: Video unavailable", text.lines().next().unwrap_or_default());
    assert_eq!(classify(&removed).0, FailureKind::Removed);
}

/// The YouTube texts: yt-dlp 2026.10.26's own output for YouTube's
/// playability answers (see tests/data/README.md), and HTTP errors.
#[test]
fn youtube_failures() {
    let cases: &[(&str, FailureKind, &str)] = &[
        (
            "youtube-bot-check",
            FailureKind::BotCheck,
            "Sign in to confirm you’re not a bot. Use --cookies-from-browser or --cookies",
        ),
        (
            "youtube-private",
            FailureKind::Private,
            "Private video. Sign in if you've been granted access to this video.",
        ),
        ("youtube-members-only", FailureKind::MembersOnly, "Join this channel to get access to members-only content"),
        (
            "youtube-age-restricted",
            FailureKind::AgeRestricted,
            "Sign in to confirm your age. This video may be inappropriate",
        ),
        (
            "youtube-geo-blocked",
            FailureKind::GeoBlocked,
            "The uploader has not made this video available in your country",
        ),
        (
            "youtube-removed-by-uploader",
            FailureKind::Removed,
            "Video unavailable. This video has been removed by the uploader",
        ),
        (
            "youtube-account-terminated",
            FailureKind::Removed,
            "Video unavailable. This video is no longer available because the YouTube account",
        ),
        ("youtube-video-unavailable", FailureKind::Removed, "Video unavailable"),
        ("youtube-live-not-started", FailureKind::LiveNotStarted, "This live event will begin in 2 days."),
        ("youtube-premiere", FailureKind::LiveNotStarted, "Premieres in 6 hours"),
        ("youtube-rate-limited", FailureKind::Http(429), "This content isn't available, try again later."),
        ("youtube-http-429", FailureKind::Http(429), "Unable to download webpage: HTTP Error 429: Too Many Requests"),
        ("youtube-http-403", FailureKind::Http(403), "Unable to download webpage: HTTP Error 403: Forbidden"),
        ("youtube-video-data-403", FailureKind::Http(403), "unable to download video data: HTTP Error 403: Forbidden"),
        ("youtube-format-unavailable", FailureKind::FormatUnavailable, "Requested format is not available."),
        // Composed from yt-dlp 2026.10.26's message templates (its PO-token
        // director's warning and `_report_pot_format_skipped`) and the
        // Kachay plugin's own sentence: a minter that is down.
        ("youtube-po-token-unavailable", FailureKind::PoTokenUnavailable, "Requested format is not available."),
    ];
    for (file, kind, start) in cases {
        let (got, message) = classify(&captured(file));
        assert_eq!(got, *kind, "{file}: {message}");
        assert!(message.starts_with(start), "{file}: {message}");
        assert!(!message.contains("dQw4w9WgXcQ"), "{file}: the id stays out: {message}");
        assert!(!message.contains("caused by"), "{file}: {message}");
    }
}

#[test]
fn youtube_geo_block_keeps_only_the_error_line() {
    let (_, message) = classify(&captured("youtube-geo-blocked"));
    assert_eq!(message, "The uploader has not made this video available in your country");
}

/// Other wordings seen in yt-dlp reports, as one-line stderr.
#[test]
fn youtube_variants() {
    let cases: &[(&str, FailureKind)] = &[
        // The members-only text YouTube shows since late 2024.
        ("ERROR: [youtube] epoGMzLgyFQ: Join this channel from your computer or Android app to get access to members-only content like this video.", FailureKind::MembersOnly),
        // A plugin overriding the extractor changes the tag.
        ("ERROR: [youtube+GetPOT] CviUGzWvm6w: Premieres in 6 hours", FailureKind::LiveNotStarted),
        ("ERROR: [youtube] Q1i3iDqIDBQ: Sign in to confirm you're not a bot. This helps protect our community. Learn more", FailureKind::BotCheck),
        ("ERROR: [youtube] x: Playback on other websites has been disabled by the video owner. YouTube is requiring a captcha challenge before playback", FailureKind::BotCheck),
        ("ERROR: [youtube] Saix8wDp2iA: This video has been removed for violating YouTube's Terms of Service", FailureKind::Removed),
        ("ERROR: [generic] x: This video is not available from your location due to geo restriction", FailureKind::GeoBlocked),
    ];
    for (stderr, kind) in cases {
        assert_eq!(classify(stderr).0, *kind, "{stderr}");
    }
}
