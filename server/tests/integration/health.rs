//! `GET /api/health` on a running server with the real yt-dlp and ffmpeg.

use crate::common;

use common::TestApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn reports_the_tools() {
    let app = TestApp::start().await;
    let (status, body) = app.get_json("/api/health").await;
    assert_eq!(status, 200, "{body}");
    println!("{}", serde_json::to_string_pretty(&body).unwrap_or_default());

    let report: app::api::HealthReport = serde_json::from_value(body.clone()).expect("a HealthReport");
    assert!(report.ytdlp.found, "{body}");
    let version = report.ytdlp.version.clone().expect("a version");
    assert_eq!(version.split('.').count(), 3, "{version}");
    let age = report.ytdlp.age_days.expect("an age");
    assert_eq!(report.ytdlp.outdated, age > 60);
    assert_eq!(report.ytdlp.update_command, ".venv/bin/pip install -U \"yt-dlp[default]\"");
    assert!(report.ffmpeg.found && report.ffmpeg.version.is_some(), "{body}");
    assert!(!report.cookies_configured);
    assert!(!report.pot_provider.configured);
    assert_eq!(report.pot_provider.reachable, None);
    assert!(report.disk.free_bytes.is_some_and(|b| b > 0), "{body}");
    assert_eq!(report.status == "ok", report.warnings.is_empty(), "{body}");
    if report.js_runtime.found {
        assert_eq!(report.js_runtime.name.as_deref(), Some("deno"));
    } else {
        assert!(report.warnings.iter().any(|w| w.code == "js_runtime_missing"), "{body}");
    }

    // Nothing in it names a server path.
    let text = body.to_string();
    assert!(!text.contains(&app.download_dir.display().to_string()), "{text}");
    assert!(!text.contains("/.venv/bin"), "{text}");

    // The tools are not run again for a while: the same check is reported.
    let (_, again) = app.get_json("/api/health").await;
    assert_eq!(again["checked_at"], body["checked_at"]);
    app.stop().await;
}

#[tokio::test]
async fn an_old_yt_dlp_and_a_missing_js_runtime_are_warnings() {
    // A "yt-dlp" that describes itself like an old one without a runtime.
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = dir.path().join("yt-dlp");
    std::fs::write(
        &fake,
        "#!/bin/sh\n\
         echo '[debug] yt-dlp version stable@2025.01.15 from yt-dlp/yt-dlp [c8541f8b1] (pip)' >&2\n\
         echo '[debug] JS runtimes: none' >&2\n\
         echo '[debug] [youtube] [pot] PO Token Providers: none' >&2\n\
         echo 'ERROR: [youtube] jNQXAC9IVRw: Unable to download API page' >&2\n\
         exit 1\n",
    )
    .expect("write");
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let app = TestApp::start_with(|c| c.ytdlp = Some(fake.clone())).await;
    let (status, body) = app.get_json("/api/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "warnings", "{body}");
    assert_eq!(body["ytdlp"]["version"], "2025.01.15");
    assert_eq!(body["ytdlp"]["outdated"], true);
    let codes: Vec<&str> =
        body["warnings"].as_array().map(|w| w.iter().filter_map(|w| w["code"].as_str()).collect()).unwrap_or_default();
    assert!(codes.contains(&"ytdlp_outdated"), "{body}");
    assert!(codes.contains(&"js_runtime_missing"), "{body}");

    // The same check as text for the page's panel (and curl), worded in the
    // browser's language unless `lang` says otherwise.
    let text = |query: &'static str, accept_language: &'static str| {
        let request = app.client.get(app.url(&format!("/api/health{query}")));
        async move {
            let response = request.header("accept-language", accept_language).send().await.expect("request");
            let status = response.status().as_u16();
            let content_type =
                response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            (status, content_type, response.text().await.unwrap_or_default())
        }
    };
    let (status, content_type, ru) = text("?format=text", "ru-RU,ru;q=0.9,en;q=0.5").await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/plain; charset=utf-8");
    let lines: Vec<&str> = ru.lines().collect();
    assert_eq!(lines[0], "Администратору стоит обратить внимание:", "{ru}");
    assert!(ru.contains("⚠ yt-dlp 2025.01.15 вышел"), "{ru}");
    assert!(ru.contains("pip install -U \"yt-dlp[default]\""), "{ru}");
    assert!(ru.contains("⚠ У yt-dlp нет JavaScript-движка"), "{ru}");
    assert!(lines.contains(&"JS-движок: не найден"), "{ru}");
    let (_, _, en) = text("?format=text&lang=en", "ru-RU").await;
    assert!(en.starts_with("Needs the administrator's attention:\n⚠ yt-dlp 2025.01.15 is "), "{en}");
    assert!(en.contains("\nJS runtime: not found\n"), "{en}");
    assert!(!en.contains(&app.download_dir.display().to_string()), "{en}");

    let (status, _, answer) = text("?format=xml", "en").await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("format must be json or text"), "{answer}");
    app.stop().await;
}

/// A bgutil minter stand-in that answers `/ping`.
async fn ping_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let body = r#"{"server_uptime":3.2,"version":"2.0.2"}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (base, task)
}

#[tokio::test]
async fn the_configured_minter_is_pinged() {
    let (base, server) = ping_server().await;
    let app = TestApp::start_with(|c| c.pot_provider_url = Some(base.clone())).await;
    let (_, body) = app.get_json("/api/health").await;
    assert_eq!(body["pot_provider"]["configured"], true, "{body}");
    assert_eq!(body["pot_provider"]["reachable"], true, "{body}");
    assert_eq!(body["pot_provider"]["server_version"], "2.0.2", "{body}");
    // Kachay's own plugin is always loaded.
    let plugin_warning =
        body["warnings"].as_array().is_some_and(|w| w.iter().any(|w| w["code"] == "pot_plugin_missing"));
    assert!(!plugin_warning, "{body}");
    assert_eq!(body["pot_service"]["provider_loaded"], true, "{body}");
    server.abort();
    app.stop().await;

    // A provider that does not answer is a warning.
    let dead = format!("http://127.0.0.1:{}", {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    });
    let app = TestApp::start_with(|c| c.pot_provider_url = Some(dead)).await;
    let (_, body) = app.get_json("/api/health").await;
    assert_eq!(body["pot_provider"]["reachable"], false, "{body}");
    assert!(
        body["warnings"].as_array().is_some_and(|w| w.iter().any(|w| w["code"] == "pot_provider_unreachable")),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn cookies_are_reported_as_a_yes_or_no_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cookies = dir.path().join("secret-cookies.txt");
    std::fs::write(
        &cookies,
        "# Netscape HTTP Cookie File\n.youtube.com\tTRUE\t/\tTRUE\t1893456000\tLOGIN_INFO\tvery-secret-value\n",
    )
    .expect("write");
    let app = TestApp::start_with(|c| c.cookies_file = Some(cookies.clone())).await;
    let (_, body) = app.get_json("/api/health").await;
    assert_eq!(body["cookies_configured"], true, "{body}");
    let text = body.to_string();
    assert!(!text.contains("very-secret-value") && !text.contains("secret-cookies"), "{text}");
    app.stop().await;
}
