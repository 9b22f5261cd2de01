//! The guards, each shown holding against a running server: bad input, SSRF
//! (live cases on loopback only), rate limits, login, limits, headers.

use crate::common;

use common::TestApp;
use fixture::FixtureSite;
use serde_json::{json, Value};
use std::net::SocketAddr;

/// A server on 127.0.0.2 (the "allowed" side) that redirects every request to `target`.
async fn redirector(target: String) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.expect("bind 127.0.0.2");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().fallback(move || {
        let target = target.clone();
        async move { axum::response::Redirect::temporary(&target) }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// A page on 127.0.0.2 whose JSON-LD points its media at `content_url`.
async fn page_pointing_at(content_url: String) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.expect("bind 127.0.0.2");
    let addr = listener.local_addr().expect("addr");
    let html = format!(
        r#"<!DOCTYPE html><html><head><title>x</title><script type="application/ld+json">
{{"@context":"https://schema.org","@type":"VideoObject","name":"Sneaky","duration":"PT20S","contentUrl":"{content_url}"}}
</script></head><body>hello</body></html>"#
    );
    let app = axum::Router::new().fallback(move || {
        let html = html.clone();
        async move { axum::response::Html(html) }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

async fn guarded_app() -> TestApp {
    // Only 127.0.0.2 is allowed: everything else on loopback is "private".
    TestApp::start_with(|c| c.allow_private_networks = Some("127.0.0.2/32".into())).await
}

#[tokio::test]
async fn ssrf_attempts_are_refused_and_never_reach_the_target() {
    let target = FixtureSite::start().await.expect("fixture on 127.0.0.1");
    let port = target.addr().port();
    let app = guarded_app().await;

    let attempts = [
        format!("http://127.0.0.1:{port}/watch/main"),
        format!("http://localhost:{port}/watch/main"),
        format!("http://LocalHost:{port}/watch/main"),
        format!("http://[::1]:{port}/watch/main"),
        format!("http://[::ffff:127.0.0.1]:{port}/watch/main"),
        format!("http://0.0.0.0:{port}/watch/main"),
        format!("http://2130706433:{port}/watch/main"),
        format!("http://0x7f000001:{port}/watch/main"),
        format!("http://0x7f.1:{port}/watch/main"),
        format!("http://127.1:{port}/watch/main"),
        format!("http://0177.0.0.1:{port}/watch/main"),
        format!("https://127.0.0.1:{port}/watch/main"),
    ];
    for url in &attempts {
        for path in ["/api/video-info", "/api/download"] {
            let (status, body) = app.post_json(path, json!({ "url": url, "quality": "720" })).await;
            assert_eq!(status, 403, "{path} {url} → {body}");
            assert_eq!(body["code"], "destination_refused", "{url}");
            let error = body["error"].as_str().unwrap_or_default();
            assert!(error.contains("private or local network"), "{url} → {error}");
        }
    }

    // A redirect from an allowed host to a refused one: refused on the hop.
    let hop = redirector(format!("http://127.0.0.1:{port}/watch/main")).await;
    let (status, body) = app.post_json("/api/video-info", json!({ "url": format!("http://{hop}/video") })).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().unwrap_or_default().contains("private or local network"), "{body}");

    // An allowed page whose media lives on a refused host.
    let page = page_pointing_at(format!("http://127.0.0.1:{port}/media/main/master.m3u8")).await;
    let (status, body) = app.post_json("/api/video-info", json!({ "url": format!("http://{page}/watch") })).await;
    assert_eq!(status, 403, "{body}");

    assert_eq!(target.hits(), 0, "nothing may reach the refused target");
    assert!(app.egress_refusals() > 0, "the proxy did the refusing on the hops");
    app.stop().await;
    target.stop().await;
}

#[tokio::test]
async fn the_allowed_side_still_works() {
    // The same guarded server happily reads a site on the allowed address.
    let allowed = FixtureSite::start_on("127.0.0.2:0".parse().expect("addr")).await.expect("fixture on 127.0.0.2");
    let app = guarded_app().await;
    let (status, body) = app.post_json("/api/video-info", json!({ "url": allowed.url("/watch/muxed") })).await;
    assert_eq!(status, 200, "{body}");
    assert!(allowed.hits() > 0);
    app.stop().await;
    allowed.stop().await;
}

#[tokio::test]
async fn thirty_bad_inputs_get_clear_answers_and_the_server_stays_healthy() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start().await;
    let long = format!("https://example.com/{}", "a".repeat(3000));
    let huge = format!(r#"{{"url": "https://example.com/{}"}}"#, "a".repeat(20_000));
    // (path, content type, body, status, a piece of the message)
    let cases: Vec<(&str, &str, String, u16, &str)> = vec![
        ("/api/video-info", "application/json", r#"{"url": ""}"#.into(), 400, "Paste a link"),
        ("/api/video-info", "application/json", r#"{"url": "   \n\t "}"#.into(), 400, "Paste a link"),
        ("/api/video-info", "application/json", r#"{"url": "not a link"}"#.into(), 400, "does not look like a link"),
        (
            "/api/video-info",
            "application/json",
            r#"{"url": "example.com/watch"}"#.into(),
            400,
            "does not look like a link",
        ),
        ("/api/video-info", "application/json", r#"{"url": "-J"}"#.into(), 400, "does not look like a link"),
        (
            "/api/video-info",
            "application/json",
            r#"{"url": "--exec=touch /tmp/x"}"#.into(),
            400,
            "does not look like a link",
        ),
        (
            "/api/video-info",
            "application/json",
            r#"{"url": " -https://example.com"}"#.into(),
            400,
            "does not look like a link",
        ),
        (
            "/api/video-info",
            "application/json",
            r#"{"url": "ftp://example.com/v.mp4"}"#.into(),
            400,
            "Only http:// and https://",
        ),
        (
            "/api/video-info",
            "application/json",
            r#"{"url": "file:///etc/passwd"}"#.into(),
            400,
            "Only http:// and https://",
        ),
        (
            "/api/video-info",
            "application/json",
            r#"{"url": "javascript:alert(1)"}"#.into(),
            400,
            "Only http:// and https://",
        ),
        (
            "/api/video-info",
            "application/json",
            r#"{"url": "data:text/html,hi"}"#.into(),
            400,
            "Only http:// and https://",
        ),
        (
            "/api/video-info",
            "application/json",
            r#"{"url": "gopher://example.com/"}"#.into(),
            400,
            "Only http:// and https://",
        ),
        ("/api/video-info", "application/json", r#"{"url": "http://"}"#.into(), 400, "does not look like a link"),
        ("/api/video-info", "application/json", format!(r#"{{"url": "{long}"}}"#), 400, "too long"),
        ("/api/video-info", "application/json", r#"{"url": 42}"#.into(), 400, "missing something"),
        ("/api/video-info", "application/json", r#"{"url": null}"#.into(), 400, "missing something"),
        ("/api/video-info", "application/json", r#"{"url": ["https://example.com"]}"#.into(), 400, "missing something"),
        ("/api/video-info", "application/json", r#"{"link": "https://example.com"}"#.into(), 400, "missing something"),
        (
            "/api/video-info",
            "application/json",
            r#"{"url": "http://exa mple.com/"}"#.into(),
            400,
            "does not look like a link",
        ),
        ("/api/video-info", "application/json", "{not json".into(), 400, "not valid JSON"),
        ("/api/video-info", "application/json", "".into(), 400, "not valid JSON"),
        ("/api/video-info", "text/plain", r#"{"url": "https://example.com"}"#.into(), 400, "as JSON"),
        ("/api/video-info", "application/x-www-form-urlencoded", "url=https://example.com".into(), 400, "as JSON"),
        ("/api/video-info", "application/json", huge, 413, "too large"),
        (
            "/api/download",
            "application/json",
            r#"{"url": "https://example.com/v", "quality": "4k"}"#.into(),
            400,
            "Unknown quality",
        ),
        (
            "/api/download",
            "application/json",
            r#"{"url": "https://example.com/v", "quality": "721"}"#.into(),
            400,
            "Unknown quality",
        ),
        (
            "/api/download",
            "application/json",
            r#"{"url": "https://example.com/v", "quality": ""}"#.into(),
            400,
            "Unknown quality",
        ),
        (
            "/api/download",
            "application/json",
            r#"{"url": "https://example.com/v", "quality": true}"#.into(),
            400,
            "Unknown quality",
        ),
        (
            "/api/download",
            "application/json",
            r#"{"url": "https://example.com/v", "quality": {"h": 720}}"#.into(),
            400,
            "Unknown quality",
        ),
        (
            "/api/download",
            "application/json",
            r#"{"url": "https://example.com/v", "quality": "../../etc"}"#.into(),
            400,
            "Unknown quality",
        ),
        (
            "/api/download",
            "application/json",
            r#"{"url": "javascript:alert(1)", "quality": "720"}"#.into(),
            400,
            "Only http:// and https://",
        ),
        ("/api/download", "application/json", r#"{"quality": "720"}"#.into(), 400, "missing something"),
        ("/api/cancel/not-a-uuid", "application/json", "{}".into(), 404, "Nothing is known"),
        ("/api/cancel/00000000-0000-0000-0000-000000000000", "application/json", "{}".into(), 404, "Nothing is known"),
    ];
    assert!(cases.len() >= 30);
    for (path, content_type, body, status, expected) in &cases {
        let response = app
            .client
            .post(app.url(path))
            .header("content-type", *content_type)
            .body(body.clone())
            .send()
            .await
            .expect("request");
        let got = response.status().as_u16();
        let reply: Value = response.json().await.unwrap_or(Value::Null);
        let shown = body.chars().take(60).collect::<String>();
        assert_eq!(got, *status, "{path} {shown} → {reply}");
        assert_eq!(reply["success"], false, "{path} {shown}");
        let error = reply["error"].as_str().unwrap_or_default();
        assert!(error.contains(expected), "{path} {shown} → {error:?} (wanted {expected:?})");
    }
    for (path, status) in [
        ("/api/status/..%2F..%2Fetc%2Fpasswd", 404),
        ("/api/file/%00", 404),
        ("/api/events/12345678-1234-1234-1234-1234567890ab", 404),
    ] {
        let (got, body) = app.get_json(path).await;
        assert_eq!(got, status, "{path} → {body}");
    }
    assert_eq!(site.hits(), 0, "no bad input reached a site");

    // Still healthy: the page renders and a real lookup works.
    let page = app.client.get(app.url("/")).send().await.expect("page");
    assert_eq!(page.status(), 200);
    let (status, _) = app.post_json("/api/video-info", json!({ "url": site.url("/watch/muxed") })).await;
    assert_eq!(status, 200);
    app.stop().await;
    site.stop().await;
}

#[tokio::test]
async fn posts_are_rate_limited_per_client_with_retry_after() {
    let app = TestApp::start_with(|c| {
        c.rate_limit_per_minute = 6;
        c.rate_limit_burst = 3;
    })
    .await;
    let body = json!({ "url": "not a link" });
    for _ in 0..3 {
        let (status, _) = app.post_json("/api/video-info", body.clone()).await;
        assert_eq!(status, 400);
    }
    let response = app.client.post(app.url("/api/video-info")).json(&body).send().await.expect("request");
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"].to_str().ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    assert!((1..=10).contains(&retry), "Retry-After {retry}");
    let reply: Value = response.json().await.expect("json");
    assert_eq!(reply["success"], false);
    assert!(reply["error"].as_str().unwrap_or_default().contains("Too many requests"));
    // GETs (status polling, the page) are not limited.
    for _ in 0..10 {
        let response = app.client.get(app.url("/")).send().await.expect("page");
        assert_eq!(response.status(), 200);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_forwarded_address_counts_only_behind_a_trusted_proxy() {
    let limited = |trusted: Option<&str>| {
        let trusted = trusted.map(str::to_string);
        TestApp::start_with(move |c| {
            c.rate_limit_per_minute = 1;
            c.rate_limit_burst = 1;
            c.trusted_proxies = trusted;
        })
    };
    let post = |app: &TestApp, forwarded: &'static str| {
        app.client
            .post(app.url("/api/video-info"))
            .header("x-forwarded-for", forwarded)
            .json(&json!({ "url": "x" }))
            .send()
    };
    // Behind a trusted proxy, two forwarded clients have separate budgets.
    let app = limited(Some("127.0.0.1/32")).await;
    assert_eq!(post(&app, "198.51.100.1").await.expect("req").status(), 400);
    assert_eq!(post(&app, "198.51.100.2").await.expect("req").status(), 400);
    assert_eq!(post(&app, "198.51.100.1").await.expect("req").status(), 429);
    app.stop().await;
    // Without, the header is ignored: it is all one client.
    let app = limited(None).await;
    assert_eq!(post(&app, "198.51.100.1").await.expect("req").status(), 400);
    assert_eq!(post(&app, "198.51.100.2").await.expect("req").status(), 429);
    app.stop().await;
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("kachay_session="))
        .map(str::to_string)
}

#[tokio::test]
async fn login_protects_pages_api_and_files() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start_with(|c| {
        c.access_password = Some("correct horse".into());
        c.secret_key = Some("test secret".into());
    })
    .await;
    let no_redirects =
        reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().expect("client");

    let page = no_redirects.get(app.url("/")).send().await.expect("page");
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/login");
    let login_page = no_redirects.get(app.url("/login")).send().await.expect("login page");
    assert_eq!(login_page.status(), 200);
    assert!(login_page.text().await.unwrap_or_default().contains(r#"type="password""#));

    let (status, body) = app.post_json("/api/video-info", json!({ "url": site.url("/watch/muxed") })).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    assert_eq!(site.hits(), 0);

    let wrong = no_redirects.post(app.url("/login")).form(&[("password", "wrong")]).send().await.expect("login");
    assert_eq!(wrong.status(), 401);
    assert!(session_cookie(&wrong).is_none());

    let login = |password: &'static str| no_redirects.post(app.url("/login")).form(&[("password", password)]).send();
    let ok = login("correct horse").await.expect("login");
    assert_eq!(ok.status(), 303);
    let cookie = session_cookie(&ok).expect("session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let alice = cookie.split(';').next().unwrap_or_default().to_string();
    let bob_cookie = session_cookie(&login("correct horse").await.expect("login")).expect("cookie");
    let bob = bob_cookie.split(';').next().unwrap_or_default().to_string();

    let page = no_redirects.get(app.url("/")).header("cookie", &alice).send().await.expect("page");
    assert_eq!(page.status(), 200);

    // Alice starts a download; Bob cannot see it, Alice and the token can.
    let started: Value = no_redirects
        .post(app.url("/api/download"))
        .header("cookie", &alice)
        .json(&json!({ "url": site.url("/watch/muxed"), "quality": "360" }))
        .send()
        .await
        .expect("download")
        .json()
        .await
        .expect("json");
    let id = started["download_id"].as_str().expect("id").to_string();
    let status_of = |cookie: Option<&str>, token: Option<&str>| {
        let mut request = no_redirects.get(app.url(&format!("/api/status/{id}")));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(status_of(Some(&alice), None).await.expect("status").status(), 200);
    assert_eq!(status_of(Some(&bob), None).await.expect("status").status(), 404);
    assert_eq!(status_of(None, Some("correct horse")).await.expect("status").status(), 200);
    assert_eq!(status_of(None, Some("nope")).await.expect("status").status(), 401);
    assert_eq!(status_of(Some("kachay_session=v1.99999999999.forged.00"), None).await.expect("status").status(), 401);

    // The file link works for Alice's session once done.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let body: Value = status_of(Some(&alice), None).await.expect("status").json().await.expect("json");
        if body["status"] == "completed" {
            break;
        }
        assert!(std::time::Instant::now() < deadline && body["status"] != "error", "{body}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let file =
        no_redirects.get(app.url(&format!("/api/file/{id}"))).header("cookie", &alice).send().await.expect("file");
    assert_eq!(file.status(), 200);
    let stranger = no_redirects.get(app.url(&format!("/api/file/{id}"))).send().await.expect("file");
    assert_eq!(stranger.status(), 401);
    app.stop().await;
    site.stop().await;
}

#[tokio::test]
async fn a_full_disk_quota_refuses_new_downloads() {
    let site = FixtureSite::start().await.expect("fixture");
    let app = TestApp::start_with(|c| c.disk_quota = Some("64K".into())).await;
    // Something already fills the quota.
    let job = app.download_dir.join("00000000-0000-4000-8000-000000000000");
    std::fs::create_dir_all(&job).expect("dir");
    std::fs::write(job.join("media.mp4"), vec![0u8; 100 * 1024]).expect("write");
    let (status, body) =
        app.post_json("/api/download", json!({ "url": site.url("/watch/muxed"), "quality": "360" })).await;
    assert_eq!(status, 507, "{body}");
    assert!(body["error"].as_str().unwrap_or_default().contains("full"), "{body}");
    std::fs::remove_dir_all(&job).expect("clean");
    let (status, body) =
        app.post_json("/api/download", json!({ "url": site.url("/watch/muxed"), "quality": "360" })).await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
    site.stop().await;
}

#[tokio::test]
async fn size_duration_and_per_client_limits_hold() {
    let site = FixtureSite::start().await.expect("fixture");
    // Longer than allowed: refused before anything is downloaded.
    let app = TestApp::start_with(|c| c.max_duration_secs = Some(15)).await;
    let (status, body) =
        app.post_json("/api/download", json!({ "url": site.url("/watch/main"), "quality": "360" })).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("too_long")), "{body}");
    app.stop().await;

    // A file that grows past MAX_FILESIZE is stopped and removed.
    let app = TestApp::start_with(|c| c.max_filesize = Some("300K".into())).await;
    let id = app.start_download(&site.url("/watch/main"), "1080").await;
    let done = app.wait_terminal(&id, std::time::Duration::from_secs(60)).await;
    assert_eq!(done["status"], "error", "{done}");
    assert!(done["error"].as_str().unwrap_or_default().contains("larger than this server allows"), "{done}");
    // With its code and the limit as a number: the page words it in Russian
    // (it used to show this English sentence behind «Загрузка не удалась»).
    assert_eq!(done["error_code"], "too_large", "{done}");
    assert_eq!(done["error_detail"]["limit"], 300 * 1024, "{done}");
    assert!(app.leftovers().is_empty(), "{:?}", app.leftovers());
    app.stop().await;

    // One client may not have more than MAX_JOBS_PER_CLIENT unfinished.
    let app = TestApp::start_with(|c| c.max_jobs_per_client = 1).await;
    let slow = site.url("/k/rate=50000/watch/main");
    let first = app.start_download(&slow, "1080").await;
    let (status, body) = app.post_json("/api/download", json!({ "url": slow, "quality": "720" })).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("too_many_downloads")), "{body}");
    let (status, _) = app.post_json(&format!("/api/cancel/{first}"), json!({})).await;
    assert_eq!(status, 200);
    app.wait_terminal(&first, std::time::Duration::from_secs(5)).await;
    let (status, body) = app.post_json("/api/download", json!({ "url": slow, "quality": "720" })).await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
    site.stop().await;
}

#[tokio::test]
async fn pages_carry_a_nonce_csp_and_the_other_security_headers() {
    let app = TestApp::start().await;
    let response = app.client.get(app.url("/")).send().await.expect("page");
    let headers = response.headers().clone();
    let csp = headers["content-security-policy"].to_str().expect("csp").to_string();
    let html = response.text().await.expect("html");
    let nonce =
        csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce in the CSP").to_string();
    assert!(html.contains(&format!(r#"nonce="{nonce}""#)), "the hydration script carries the nonce");
    assert!(!csp.contains("'unsafe-eval'") && csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    // Each response gets its own nonce.
    let again = app.client.get(app.url("/")).send().await.expect("page");
    assert_ne!(again.headers()["content-security-policy"].to_str().unwrap_or_default(), csp);
    // API answers are locked down too.
    let api = app.client.get(app.url("/api/status/nope")).send().await.expect("api");
    assert!(api.headers()["content-security-policy"].to_str().unwrap_or_default().contains("default-src 'none'"));
    app.stop().await;
}

#[tokio::test]
async fn leftovers_of_a_crashed_run_are_removed_at_start() {
    let dir = tempfile::tempdir().expect("dir");
    let ours = dir.path().join("0b6f3f6e-8f0e-4d8a-9a57-2f1f4c1b2a3d");
    std::fs::create_dir_all(&ours).expect("dir");
    std::fs::write(ours.join(engine::jobs::MARKER_FILE), b"").expect("marker");
    std::fs::write(ours.join("media.f400.mp4.part"), b"half").expect("part");
    let not_ours = dir.path().join("family-photos");
    std::fs::create_dir_all(&not_ours).expect("dir");
    let path = dir.path().to_path_buf();
    let app = TestApp::start_with(move |c| c.download_dir = path).await;
    // serve() cleans before it accepts; a request proves it is serving.
    let _ = app.client.get(app.url("/")).send().await.expect("page");
    assert!(!ours.exists(), "a half-written job is removed");
    assert!(not_ours.exists(), "anything else in DOWNLOAD_DIR is left alone");
    app.stop().await;
}
