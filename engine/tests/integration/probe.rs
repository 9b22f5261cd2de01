//! `YtDlp` against real yt-dlp and servers on 127.0.0.1.

use crate::common;

use std::ffi::OsString;
use std::time::{Duration, Instant};

use engine::{EngineError, FailureKind, QualityId, YtDlp};

fn ytdlp() -> YtDlp {
    YtDlp::new(common::ytdlp_program())
}

#[tokio::test]
async fn version_is_a_date() {
    let version = ytdlp().version().await.expect("yt-dlp --version");
    assert!(version.starts_with("20"), "{version}");
    assert!(version.len() >= 10 && !version.contains('\n'), "{version}");
}

#[tokio::test]
async fn probes_a_direct_mp4() {
    let dir = tempfile::tempdir().expect("tempdir");
    common::make_mp4(&dir.path().join("out.mp4")).await;
    let server = common::serve_dir(dir.path()).await;
    let url = server.url("out.mp4");

    let probe = ytdlp().probe(&url).await.expect("probe succeeds");
    assert_eq!(probe.info.display_title(), "out");
    assert_eq!(probe.info.extractor.as_deref(), Some("generic"));
    assert_eq!(probe.info.webpage_url.as_deref(), Some(url.as_str()));
    let formats = probe.info.formats();
    assert_eq!(formats.len(), 1);
    assert_eq!(formats[0].format_id.as_deref(), Some("mp4"));
    assert_eq!(formats[0].url.as_deref(), Some(url.as_str()));

    let ids: Vec<QualityId> = probe.choices().iter().map(|c| c.id).collect();
    assert_eq!(ids, [QualityId::Auto, QualityId::Audio]);

    // `raw` is yt-dlp's stdout itself and parses to the same thing.
    assert!(probe.raw.trim_start().starts_with('{'));
    let reparsed: engine::InfoJson = serde_json::from_str(&probe.raw).expect("raw is JSON");
    assert_eq!(reparsed, probe.info);
    let value: serde_json::Value = serde_json::from_str(&probe.raw).expect("raw is JSON");
    assert_eq!(value["formats"][0]["format_id"], "mp4");
}

#[tokio::test]
async fn missing_page_is_http_404() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = common::serve_dir(dir.path()).await;
    let err = ytdlp().probe(&server.url("nothing.mp4")).await.expect_err("404");
    match err {
        EngineError::YtDlp { kind, message } => {
            assert_eq!(kind, FailureKind::Http(404));
            assert!(message.contains("HTTP Error 404"), "{message}");
        }
        other => panic!("expected a yt-dlp error, got {other:?}"),
    }
}

#[tokio::test]
async fn page_without_video_is_unsupported() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("page.html"), "<!doctype html><title>Hello</title><p>No video here.</p>")
        .expect("write page");
    let server = common::serve_dir(dir.path()).await;
    let err = ytdlp().probe(&server.url("page.html")).await.expect_err("unsupported");
    assert_eq!(err.failure_kind(), Some(FailureKind::Unsupported), "{err:?}");
}

#[tokio::test]
async fn invalid_url_is_reported_as_such() {
    let err = ytdlp().probe("not-a-url").await.expect_err("invalid");
    assert_eq!(err.failure_kind(), Some(FailureKind::InvalidUrl), "{err:?}");
    assert_eq!(err.to_string(), "'not-a-url' is not a valid URL");
}

#[tokio::test]
async fn url_that_looks_like_an_option_is_not_one() {
    // After `--`, yt-dlp must treat this as a URL, not as its --version flag.
    let err = ytdlp().probe("--version").await.expect_err("not a URL");
    assert_eq!(err.failure_kind(), Some(FailureKind::InvalidUrl), "{err:?}");
}

#[tokio::test]
async fn closed_port_is_unreachable() {
    let port = common::closed_port().await;
    let err = ytdlp().probe(&format!("http://127.0.0.1:{port}/video.mp4")).await.expect_err("refused");
    match err {
        EngineError::YtDlp { kind, message } => {
            assert_eq!(kind, FailureKind::Unreachable);
            assert!(message.contains("Connection refused"), "{message}");
            assert!(!message.contains("Traceback"), "{message}");
        }
        other => panic!("expected a yt-dlp error, got {other:?}"),
    }
}

#[tokio::test]
async fn silent_server_hits_the_probe_timeout() {
    let mut silent = common::serve_silence().await;
    let started = Instant::now();
    let err = ytdlp()
        .with_probe_timeout(Duration::from_secs(3))
        .probe(&silent.server.url("video.mp4"))
        .await
        .expect_err("times out");
    assert!(matches!(err, EngineError::Timeout(d) if d == Duration::from_secs(3)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    // yt-dlp would wait 20 s for an answer; if it got as far as connecting,
    // its connection closing now shows that it was killed.
    let got = silent.accepted.try_recv().is_ok();
    if got {
        tokio::time::timeout(Duration::from_secs(5), silent.closed.recv())
            .await
            .expect("yt-dlp was killed and its connection closed");
    }
}

#[tokio::test]
async fn extra_args_reach_yt_dlp_before_the_url() {
    // A later --socket-timeout overrides the built-in 20 s, so yt-dlp gives
    // up by itself long before the probe's own limit.
    let silent = common::serve_silence().await;
    let started = Instant::now();
    let err = ytdlp()
        .with_probe_timeout(Duration::from_secs(30))
        .with_extra_args(vec![OsString::from("--socket-timeout"), OsString::from("1")])
        .probe(&silent.server.url("video.mp4"))
        .await
        .expect_err("socket timeout");
    assert_eq!(err.failure_kind(), Some(FailureKind::Unreachable), "{err:?}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn missing_program_is_reported() {
    let missing = std::env::temp_dir().join("kachay-no-such-dir/yt-dlp");
    let yt = YtDlp::new(&missing);
    assert_eq!(yt.program(), missing.as_path());
    match yt.probe("http://127.0.0.1:9/x.mp4").await {
        Err(EngineError::YtDlpMissing(path)) => assert_eq!(path, missing),
        other => panic!("expected YtDlpMissing, got {other:?}"),
    }
    assert!(matches!(yt.version().await, Err(EngineError::YtDlpMissing(_))));
}

#[tokio::test]
async fn dropping_the_probe_kills_yt_dlp() {
    // The caller gives up once yt-dlp has connected; dropping the future must
    // kill the child (kill_on_drop), which closes its connection.
    let mut silent = common::serve_silence().await;
    let (yt, url) = (ytdlp(), silent.server.url("video.mp4"));
    let probe = yt.probe(&url);
    tokio::select! {
        result = probe => panic!("probe finished early: {result:?}"),
        _ = silent.accepted.recv() => {}
    }
    tokio::time::timeout(Duration::from_secs(5), silent.closed.recv())
        .await
        .expect("yt-dlp was killed when the probe was dropped");
}

#[test]
fn builder_keeps_settings() {
    let yt = YtDlp::new("yt-dlp")
        .with_probe_timeout(Duration::from_secs(5))
        .with_extra_args(vec!["--proxy".into(), "http://127.0.0.1:1".into()]);
    assert_eq!(yt.probe_timeout(), Duration::from_secs(5));
    assert_eq!(yt.extra_args().len(), 2);
    assert_eq!(YtDlp::new("x").probe_timeout(), Duration::from_secs(60));
}
