//! YouTube's refusals reach people as a code, a sentence and a hint, for
//! lookups (`POST /api/video-info`) and downloads (`GET /api/status/{id}`).
//!
//! A stand-in yt-dlp prints the stderr real yt-dlp 2026.10.26 prints for
//! YouTube (engine/tests/data/stderr/youtube-*.txt): the server never knows
//! the difference, and no request leaves the machine.

use crate::common;

use common::TestApp;
use serde_json::json;
use std::path::{Path, PathBuf};

fn engine_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/data").join(name)
}

/// A yt-dlp that answers `-J` with a saved probe when `probe_ok`, and
/// otherwise fails with the captured stderr `case`.
fn fake_ytdlp(dir: &Path, case: &str, probe_ok: bool) -> PathBuf {
    let stderr = engine_data(&format!("stderr/youtube-{case}.txt"));
    let info = engine_data("fixture-main.info.json");
    let program = dir.join(format!("yt-dlp-{case}"));
    let probe = if probe_ok {
        format!("for a in \"$@\"; do [ \"$a\" = -J ] && exec cat '{}'; done\n", info.display())
    } else {
        String::new()
    };
    std::fs::write(&program, format!("#!/bin/sh\n{probe}cat '{}' >&2\nexit 1\n", stderr.display())).expect("write");
    std::fs::set_permissions(&program, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    program
}

#[tokio::test]
async fn lookups_say_what_youtube_refused_and_what_helps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        ("bot-check", 502, "bot_check", "YouTube asked this server to prove it is not a bot.", "POT_PROVIDER_URL"),
        (
            "po-token-unavailable",
            502,
            "po_token_unavailable",
            "YouTube asked for a PO token, and the server could not get one.",
            "POT_PROVIDER_URL",
        ),
        ("age-restricted", 422, "age_restricted", "YouTube shows this video only to signed-in adults.", "COOKIES_FILE"),
        ("members-only", 422, "members_only", "This video is only for the channel's paying members.", "member"),
        ("private", 422, "private_video", "This video is private", "access"),
        ("geo-blocked", 422, "geo_blocked", "This video is not available in the country this server is in.", "country"),
        ("account-terminated", 422, "video_removed", "This video is no longer available", "browser"),
        ("premiere", 422, "live_not_started", "This live stream or premiere has not started yet.", "started"),
        ("rate-limited", 502, "remote_rate_limited", "The site is limiting requests from this server.", "hour"),
        ("video-data-403", 502, "remote_forbidden", "The site refused access to this video.", "yt-dlp"),
    ];
    for (case, status, code, sentence, hint) in cases {
        let program = fake_ytdlp(dir.path(), case, false);
        let app = TestApp::start_with(|c| c.ytdlp = Some(program)).await;
        let (got, body) =
            app.post_json("/api/video-info", json!({ "url": "http://127.0.0.1:9/watch?v=dQw4w9WgXcQ" })).await;
        assert_eq!(got, status, "{case}: {body}");
        assert_eq!(body["success"], false);
        assert_eq!(body["code"], code, "{case}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.starts_with(sentence), "{case}: {body}");
        let hint_text = body["hint"].as_str().unwrap_or_default();
        assert!(hint_text.contains(hint), "{case}: {body}");
        // The Russian for the same code is in the shared table.
        let typed = contract::ErrorCode::from_name(code);
        assert_ne!(typed, contract::ErrorCode::Unknown, "{code}");
        let russian = contract::sentences::sentence(typed, contract::Lang::Ru, &contract::Detail::default());
        assert!(!russian.is_empty() && !russian.starts_with(sentence), "{code}: {russian}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_failed_download_carries_the_code_and_the_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let program = fake_ytdlp(dir.path(), "bot-check", true);
    // yt-dlp's downloader is where YouTube's refusals come from (the
    // native engine only meets them during extraction).
    let app = TestApp::start_with(|c| {
        c.ytdlp = Some(program);
        c.download_engine = Some("yt-dlp".into());
    })
    .await;
    let url = "http://127.0.0.1:9/watch?v=dQw4w9WgXcQ";
    let (status, body) = app.post_json("/api/video-info", json!({ "url": url })).await;
    assert_eq!(status, 200, "{body}");
    let id = app.start_download(url, "auto").await;
    let done = app.wait_terminal(&id, std::time::Duration::from_secs(30)).await;
    assert_eq!(done["status"], "error", "{done}");
    assert_eq!(done["error_code"], "bot_check", "{done}");
    assert_eq!(done["error"], "YouTube asked this server to prove it is not a bot.", "{done}");
    assert!(done["hint"].as_str().is_some_and(|h| h.contains("COOKIES_FILE")), "{done}");
    app.stop().await;
}

#[tokio::test]
async fn other_errors_have_no_hint_field() {
    let app = TestApp::start().await;
    let (status, body) = app.post_json("/api/video-info", json!({ "url": "ftp://example.com/video.mp4" })).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "unsupported_scheme", "{body}");
    assert!(body.get("hint").is_none(), "{body}");
    // A text that is not a link gets the same hint the page has always shown
    // for it (the server and the page now read one table).
    let (status, body) = app.post_json("/api/video-info", json!({ "url": "not a link" })).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["hint"], "Copy the whole address from the browser's address bar.", "{body}");
    app.stop().await;
}
