//! The stderr classifier on texts captured from yt-dlp 2026.10.26 run
//! against 127.0.0.1 (see tests/data/README.md).

mod common;

use engine::error::classify;
use engine::FailureKind;

fn captured(name: &str) -> String {
    std::fs::read_to_string(common::data_path(&format!("stderr/{name}.txt")))
        .expect("captured stderr file")
}

#[test]
fn http_404() {
    assert_eq!(
        classify(&captured("http-404")),
        (
            FailureKind::Http(404),
            "Unable to download webpage: HTTP Error 404: File not found".to_owned()
        )
    );
}

#[test]
fn page_without_video_is_unsupported() {
    let (kind, message) = classify(&captured("unsupported-url"));
    assert_eq!(kind, FailureKind::Unsupported);
    assert!(
        message.starts_with("Unsupported URL: http://127.0.0.1:"),
        "{message}"
    );
    assert!(!message.contains("WARNING"));
}

#[test]
fn not_a_url() {
    assert_eq!(
        classify(&captured("invalid-url")),
        (
            FailureKind::InvalidUrl,
            "'not-a-url' is not a valid URL".to_owned()
        )
    );
}

#[test]
fn connection_refused() {
    let (kind, message) = classify(&captured("connection-refused"));
    assert_eq!(kind, FailureKind::Unreachable);
    assert!(
        message.starts_with("Unable to download webpage: "),
        "{message}"
    );
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
    assert!(
        message.contains("Failed to resolve 'no-such-host.invalid'"),
        "{message}"
    );
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
            "Requested format is not available. Use --list-formats for a list of available formats"
                .to_owned()
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
