//! A public instance's web-facing guards, each against the real server with
//! the real yt-dlp: bounded lookups (a global slot limit, capped answers, cut
//! free text), the Host allow-list, sessions and failed logins, the
//! operator's cookies, and the cap on event streams per client.
//!
//! Hostile origins are axum servers (and the fixture site) on 127.0.0.2,
//! allowed by `ALLOW_PRIVATE_NETWORKS=127.0.0.2/32`; a listener on 127.0.0.1
//! counts every connection and must count none. Clients on loopback get
//! their own addresses by binding to 127.0.1.x.

use crate::common;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use common::TestApp;
use fixture::FixtureSite;
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A listener on 127.0.0.1 that counts accepted connections.
async fn forbidden_target() -> (u16, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let count = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (port, count)
}

/// Serves `app` on 127.0.0.2 and returns its address.
pub(crate) async fn on_127_0_0_2(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.expect("bind 127.0.0.2");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// A client whose connections come from 127.0.1.`n` (no proxy, no redirects).
fn client_from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(IpAddr::from([127, 0, 1, n]))
        .build()
        .expect("client")
}

/// The server allows only the hostile side, 127.0.0.2.
pub(crate) fn hostile_side(config: &mut server::Config) {
    config.allow_private_networks = Some("127.0.0.2/32".into());
}

/// A watch page whose media is the fixture's progressive MP4, with `extra`
/// in its head (a crafted `og:title`, say).
pub(crate) fn watch_page(content_url: &str, extra: &str) -> String {
    format!(
        r#"<!DOCTYPE html><html><head><title>page</title>{extra}<script type="application/ld+json">
{{"@context":"https://schema.org","@type":"VideoObject","duration":"PT20S","contentUrl":"{content_url}"}}
</script></head><body>hello</body></html>"#
    )
}

#[derive(Clone, Default)]
pub(crate) struct Gauge {
    now: Arc<AtomicUsize>,
    pub(crate) peak: Arc<AtomicUsize>,
    pub(crate) hits: Arc<AtomicUsize>,
}

pub(crate) struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Gauge {
    pub(crate) fn enter(&self) -> InFlight {
        self.hits.fetch_add(1, Ordering::SeqCst);
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        InFlight(self.clone())
    }
}

// ---- Item 2: bounded lookups ------------------------------------------------

#[tokio::test]
async fn thirty_slow_lookups_from_thirty_clients_run_at_most_the_limit_at_once() {
    let media = FixtureSite::start_on("127.0.0.2:0".parse().expect("addr")).await.expect("fixture");
    let content = media.url(fixture::PROGRESSIVE.content_path);
    let gauge = Gauge::default();
    let origin = on_127_0_0_2(
        Router::new()
            .route(
                "/slow/{n}",
                get(|State((gauge, content)): State<(Gauge, String)>, Path(_n): Path<u32>| async move {
                    let _inside = gauge.enter();
                    // Slower than the lookup wait, so nobody gets a slot that frees.
                    tokio::time::sleep(Duration::from_secs(4)).await;
                    Html(watch_page(&content, ""))
                }),
            )
            .with_state((gauge.clone(), content)),
    )
    .await;
    let app = TestApp::start_with(|c| {
        hostile_side(c);
        c.max_concurrent_lookups = Some(3);
        c.lookup_wait_secs = 1;
    })
    .await;

    let requests = (1..=30u8).map(|n| {
        let client = client_from(n);
        let url = app.url("/api/video-info");
        let link = format!("http://{origin}/slow/{n}");
        async move {
            let response = client.post(url).json(&json!({ "url": link })).send().await.expect("request");
            let status = response.status().as_u16();
            let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, retry_after, body)
        }
    });
    let answers = futures::future::join_all(requests).await;

    let peak = gauge.peak.load(Ordering::SeqCst);
    assert!(peak <= 3, "{peak} lookups reached the site at once");
    let busy: Vec<_> = answers.iter().filter(|(status, _, _)| *status == 503).collect();
    let served = answers.iter().filter(|(status, _, _)| *status == 200).count();
    assert!(busy.len() >= 20, "only {} of 30 were turned away: {answers:?}", busy.len());
    assert_eq!(busy.len() + served, 30, "{answers:?}");
    assert!(served >= 1 && gauge.hits.load(Ordering::SeqCst) == served, "the slots were used: {served}");
    for (_, retry_after, body) in busy {
        assert_eq!(body["code"], "lookups_busy", "{body}");
        assert!(body["error"].as_str().is_some_and(|e| e.contains("Try again")), "{body}");
        let secs: u64 = retry_after.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0);
        assert!(secs >= 1, "Retry-After: {retry_after:?}");
    }
    app.stop().await;
    media.stop().await;
}

#[tokio::test]
async fn a_four_megabyte_og_title_is_cut_before_it_is_cached_or_sent() {
    let media = FixtureSite::start_on("127.0.0.2:0".parse().expect("addr")).await.expect("fixture");
    let content = media.url(fixture::PROGRESSIVE.content_path);
    // 4 MiB, the cut falling among two-byte characters.
    let huge = format!("{}{}", "Щ".repeat(1000), "A".repeat(4 * 1024 * 1024 - 2000));
    let description = "Ж".repeat(100_000);
    let page = watch_page(
        &content,
        &format!(
            r#"<meta property="og:title" content="{huge}"><meta property="og:description" content="{description}">"#
        ),
    );
    let gauge = Gauge::default();
    let origin = on_127_0_0_2(
        Router::new()
            .route(
                "/huge",
                get(|State((gauge, page)): State<(Gauge, Arc<String>)>| async move {
                    let _inside = gauge.enter();
                    Html(page.as_str().to_owned())
                }),
            )
            .with_state((gauge.clone(), Arc::new(page))),
    )
    .await;
    let app = TestApp::start_with(|c| {
        hostile_side(c);
        // yt-dlp reads a 4 MiB page slowly on a busy machine.
        c.probe_timeout_secs = 300;
    })
    .await;
    let link = format!("http://{origin}/huge");
    for round in 0..2 {
        let response =
            app.client.post(app.url("/api/video-info")).json(&json!({ "url": link })).send().await.expect("lookup");
        assert_eq!(response.status(), 200, "round {round}");
        let bytes = response.bytes().await.expect("body");
        assert!(bytes.len() < 64 * 1024, "round {round}: the answer is {} bytes", bytes.len());
        let body: Value = serde_json::from_slice(&bytes).expect("json");
        let title = body["info"]["title"].as_str().unwrap_or_default();
        assert!(title.starts_with("ЩЩЩ"), "the title is the page's: {title:.40}");
        assert!(title.chars().count() <= engine::info::MAX_TITLE_CHARS, "{} characters", title.chars().count());
        assert!(title.ends_with('…'), "cut visibly");
        let description = body["info"]["description"].as_str();
        assert!(description.is_none_or(|d| d.chars().count() <= engine::info::MAX_DESCRIPTION_CHARS));
    }
    assert_eq!(gauge.hits.load(Ordering::SeqCst), 1, "the second answer came from the cache");
    // A download of it carries the cut title too.
    let id = app.start_download(&link, "auto").await;
    let (_, status) = app.get_json(&format!("/api/status/{id}")).await;
    let title = status["title"].as_str().unwrap_or_default();
    assert!(title.chars().count() <= engine::info::MAX_TITLE_CHARS, "{} characters", title.chars().count());
    let done = app.wait_terminal(&id, Duration::from_secs(120)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let filename = done["filename"].as_str().unwrap_or_default();
    assert!(filename.len() < 1024, "the file name is bounded too: {} bytes", filename.len());
    app.stop().await;
    media.stop().await;
}

#[tokio::test]
async fn an_answer_larger_than_the_cap_is_refused_in_words() {
    let media = FixtureSite::start_on("127.0.0.2:0".parse().expect("addr")).await.expect("fixture");
    let content = media.url(fixture::PROGRESSIVE.content_path);
    // yt-dlp prints a title four times and writes `Щ` as `\u0429`: 1.5 Mi
    // of them (a 3 MiB page) make an answer of about 36 MiB.
    let huge = "Щ".repeat(3 * 512 * 1024);
    let page = Arc::new(watch_page(&content, &format!(r#"<meta property="og:title" content="{huge}">"#)));
    let origin = on_127_0_0_2(Router::new().route(
        "/enormous",
        get(move || {
            let page = Arc::clone(&page);
            async move { Html(page.as_str().to_owned()) }
        }),
    ))
    .await;
    let app = TestApp::start_with(|c| {
        hostile_side(c);
        c.probe_timeout_secs = 300;
    })
    .await;
    let (status, body) = app.post_json("/api/video-info", json!({ "url": format!("http://{origin}/enormous") })).await;
    assert_eq!((status, body["code"].as_str()), (502, Some("answer_too_large")), "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("too large")), "{body}");
    app.stop().await;
    media.stop().await;
}

// ---- Item 5: the Host allow-list -------------------------------------------

/// The status of `GET /api/status/<unknown id>` sent with `Host: host`:
/// 404 means the server answered, 421 that it refused the name.
async fn status_with_host(app: &TestApp, host: &str) -> (u16, Value) {
    let response = app
        .client
        .get(app.url("/api/status/00000000-0000-0000-0000-000000000000"))
        .header("host", host)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn without_a_password_only_known_host_names_are_served() {
    let app = TestApp::start_with(|c| {
        c.allowed_hosts = Some("kachay.lan, nas.home.arpa".into());
        c.public_url = Some("https://video.example.org".into());
    })
    .await;
    let port = app.addr.port();
    for host in ["rebind.attacker.example", "kachay.lan.attacker.example", "localhost.attacker.example"] {
        let (status, body) = status_with_host(&app, &format!("{host}:{port}")).await;
        assert_eq!(status, 421, "{host}: {body}");
        assert_eq!(body["code"], "host_not_allowed", "{body}");
        assert!(body["error"].as_str().is_some_and(|e| e.contains("ALLOWED_HOSTS")), "{body}");
    }
    // Pages too, in plain words.
    let page = app.client.get(app.url("/")).header("host", "rebind.attacker.example").send().await.expect("page");
    assert_eq!(page.status(), 421);
    assert!(page.text().await.unwrap_or_default().contains("ALLOWED_HOSTS"));
    // A rebinding page cannot start lookups either.
    let lookup = app
        .client
        .post(app.url("/api/video-info"))
        .header("host", "rebind.attacker.example")
        .json(&json!({ "url": "http://127.0.0.2:9/x" }))
        .send()
        .await
        .expect("lookup");
    assert_eq!(lookup.status(), 421);

    for host in [
        format!("localhost:{port}"),
        "LocalHost".to_string(),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        "192.168.1.20:3000".to_string(),
        "kachay.lan".to_string(),
        format!("NAS.home.arpa.:{port}"),
        "video.example.org".to_string(),
    ] {
        let (status, body) = status_with_host(&app, &host).await;
        assert_eq!((status, body["code"].as_str()), (404, Some("not_found")), "{host} should be served: {body}");
    }
    // The default client (Host: 127.0.0.1:PORT) is served as always.
    let (status, _) = app.get_json("/api/status/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(status, 404);
    app.stop().await;
}

#[tokio::test]
async fn with_a_password_any_host_name_is_served() {
    let app = TestApp::start_with(|c| c.access_password = Some("long enough".into())).await;
    let (status, body) = status_with_host(&app, "rebind.attacker.example").await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")), "{body}");
    app.stop().await;
}

// ---- Item 6: sessions and login --------------------------------------------

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("kachay_session="))
        .map(str::to_string)
}

async fn log_in(client: &reqwest::Client, app: &TestApp, password: &str) -> reqwest::Response {
    client.post(app.url("/login")).form(&[("password", password)]).send().await.expect("login")
}

/// `name=value` of a session cookie from a successful login.
async fn logged_in_cookie(client: &reqwest::Client, app: &TestApp, password: &str) -> String {
    let response = log_in(client, app, password).await;
    assert_eq!(response.status(), 303);
    let cookie = session_cookie(&response).expect("session cookie");
    cookie.split(';').next().unwrap_or_default().to_string()
}

/// 404 for an unknown id means the cookie was accepted, 401 that it was not.
async fn status_with_cookie(app: &TestApp, cookie: &str) -> u16 {
    app.client
        .get(app.url("/api/status/00000000-0000-0000-0000-000000000000"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("status")
        .status()
        .as_u16()
}

fn with_login(password: &'static str) -> impl FnOnce(&mut server::Config) {
    move |c| {
        c.access_password = Some(password.into());
        c.secret_key = Some("the same secret key".into());
    }
}

#[tokio::test]
async fn a_new_password_logs_every_session_out() {
    let browser = client_from(1);
    let app = TestApp::start_with(with_login("first password")).await;
    let cookie = logged_in_cookie(&browser, &app, "first password").await;
    assert_eq!(status_with_cookie(&app, &cookie).await, 404);
    app.stop().await;

    // The same settings again: the session survives a restart.
    let app = TestApp::start_with(with_login("first password")).await;
    assert_eq!(status_with_cookie(&app, &cookie).await, 404);
    app.stop().await;

    // A new password, the same SECRET_KEY: the old cookie is worthless.
    let app = TestApp::start_with(with_login("second password")).await;
    assert_eq!(status_with_cookie(&app, &cookie).await, 401);
    let fresh = logged_in_cookie(&browser, &app, "second password").await;
    assert_eq!(status_with_cookie(&app, &fresh).await, 404);
    app.stop().await;
}

#[tokio::test]
async fn logout_revokes_the_session_on_the_server() {
    let browser = client_from(2);
    let app = TestApp::start_with(with_login("a password")).await;
    let mine = logged_in_cookie(&browser, &app, "a password").await;
    let other = logged_in_cookie(&browser, &app, "a password").await;
    assert_eq!(status_with_cookie(&app, &mine).await, 404);
    let out = browser.post(app.url("/logout")).header("cookie", &mine).send().await.expect("logout");
    assert_eq!(out.status(), 303);
    let cleared = session_cookie(&out).unwrap_or_default();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // Someone who kept a copy of the cookie gets nothing with it.
    assert_eq!(status_with_cookie(&app, &mine).await, 401);
    let page = browser.get(app.url("/")).header("cookie", &mine).send().await.expect("page");
    assert_eq!(page.status(), 303, "back to the login page");
    // Other sessions go on.
    assert_eq!(status_with_cookie(&app, &other).await, 404);
    app.stop().await;
}

#[tokio::test]
async fn wrong_passwords_back_off_and_even_the_right_one_waits() {
    let guesser = client_from(3);
    let neighbour = client_from(4);
    let app = TestApp::start_with(with_login("the right one")).await;
    for attempt in 1..=5 {
        let response = log_in(&guesser, &app, &format!("guess {attempt}")).await;
        assert_eq!(response.status(), 401, "attempt {attempt}");
    }
    let sixth = log_in(&guesser, &app, "guess 6").await;
    assert_eq!(sixth.status(), 429);
    let retry_after: u64 =
        sixth.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    assert!((1..=10).contains(&retry_after), "Retry-After {retry_after}");
    assert!(sixth.text().await.unwrap_or_default().contains("Too many wrong passwords"));
    // The right password is refused too until the wait is over …
    let right = log_in(&guesser, &app, "the right one").await;
    assert_eq!(right.status(), 429);
    assert!(session_cookie(&right).is_none());
    // … and so are bearer tokens, the other way to try a password.
    let bearer = guesser
        .get(app.url("/api/status/00000000-0000-0000-0000-000000000000"))
        .bearer_auth("the right one")
        .send()
        .await
        .expect("bearer");
    assert_eq!(bearer.status(), 429);
    let body: Value = bearer.json().await.unwrap_or(Value::Null);
    assert_eq!(body["code"], "login_locked", "{body}");
    // Another client is not held up by this one.
    let cookie = logged_in_cookie(&neighbour, &app, "the right one").await;
    assert_eq!(status_with_cookie(&app, &cookie).await, 404);
    app.stop().await;
}

#[tokio::test]
async fn wrong_bearer_tokens_count_as_wrong_passwords() {
    let script = client_from(5);
    let app = TestApp::start_with(with_login("the right one")).await;
    let status = |token: &'static str| {
        script.get(app.url("/api/status/00000000-0000-0000-0000-000000000000")).bearer_auth(token).send()
    };
    for _ in 0..5 {
        assert_eq!(status("wrong").await.expect("request").status(), 401);
    }
    let locked = status("the right one").await.expect("request");
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key("retry-after"));
    app.stop().await;
}

#[tokio::test]
async fn guessing_spread_over_many_addresses_locks_every_login() {
    let app = TestApp::start_with(with_login("the right one")).await;
    // 25 addresses, 4 guesses each: none of them alone is held up.
    for n in 0..server::auth::GLOBAL_FAILURES / 4 {
        let client = client_from(10 + n as u8);
        for guess in 0..4 {
            let response = log_in(&client, &app, &format!("guess {n}/{guess}")).await;
            assert_eq!(response.status(), 401, "client {n}, guess {guess}");
        }
    }
    let fresh = client_from(200);
    let response = log_in(&fresh, &app, "the right one").await;
    assert_eq!(response.status(), 429, "the global budget of failures is spent");
    assert!(response.headers().contains_key("retry-after"));
    app.stop().await;
}

#[tokio::test]
async fn session_cookies_are_secure_when_the_public_url_is_https() {
    let browser = client_from(6);
    let app = TestApp::start_with(|c| {
        with_login("pw")(c);
        c.public_url = Some("https://video.example.org/".into());
    })
    .await;
    let response = log_in(&browser, &app, "pw").await;
    let cookie = session_cookie(&response).expect("cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
    let out = browser.post(app.url("/logout")).send().await.expect("logout");
    assert!(session_cookie(&out).is_some_and(|c| c.contains("; Secure")));
    app.stop().await;

    let app = TestApp::start_with(|c| {
        with_login("pw")(c);
        c.public_url = Some("http://192.168.1.20:3000".into());
    })
    .await;
    let cookie = session_cookie(&log_in(&browser, &app, "pw").await).expect("cookie");
    assert!(!cookie.contains("Secure"), "plain http cannot carry a Secure cookie: {cookie}");
    app.stop().await;
}

// ---- Item 7: the operator's cookies ------------------------------------------

/// A Netscape cookies file with a secret for `host`.
fn cookies_file(dir: &tempfile::TempDir, host: &str) -> std::path::PathBuf {
    let path = dir.path().join("cookies.txt");
    std::fs::write(
        &path,
        format!(
            "# Netscape HTTP Cookie File\n.youtube.com\tTRUE\t/\tTRUE\t1893456000\tLOGIN_INFO\toperator-secret\n\
             {host}\tFALSE\t/\tFALSE\t1893456000\tsession\toperator-secret\n"
        ),
    )
    .expect("write cookies");
    path
}

#[tokio::test]
async fn account_pages_are_refused_when_the_operator_s_cookies_are_configured() {
    let dir = tempfile::tempdir().expect("dir");
    let cookies = cookies_file(&dir, "127.0.0.2");
    let app = TestApp::start_with(|c| {
        hostile_side(c);
        c.cookies_file = Some(cookies.clone());
    })
    .await;
    for link in [
        "https://www.youtube.com/feed/history",
        "https://www.youtube.com/feed/subscriptions",
        "https://www.youtube.com/feed/library",
        "https://www.youtube.com/playlist?list=WL",
        "https://www.youtube.com/playlist?list=LL",
        "https://m.youtube.com/watch?v=dQw4w9WgXcQ&list=WL",
        "https://music.youtube.com/playlist?list=LM",
        "https://www.youtube.com/",
        "https://vimeo.com/watchlater",
    ] {
        let (status, body) = app.post_json("/api/video-info", json!({ "url": link })).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("account_page")), "{link}: {body}");
        let (status, body) = app.post_json("/api/download", json!({ "url": link })).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("account_page")), "{link}: {body}");
    }
    // Nothing was fetched for them: the egress proxy saw no connection.
    assert_eq!(app.egress_refusals(), 0);
    app.stop().await;
}

#[derive(Clone, Default)]
struct CookieLog {
    page_with_cookie: Arc<AtomicUsize>,
    list_with_cookie: Arc<AtomicUsize>,
    list_without_cookie: Arc<AtomicUsize>,
}

fn carries_secret(headers: &HeaderMap) -> bool {
    headers.get_all("cookie").iter().filter_map(|v| v.to_str().ok()).any(|v| v.contains("operator-secret"))
}

#[tokio::test]
async fn playlist_listings_never_show_what_the_operator_s_cookies_would() {
    let media = FixtureSite::start_on("127.0.0.2:0".parse().expect("addr")).await.expect("fixture");
    let content = media.url(fixture::PROGRESSIVE.content_path);
    let (forbidden_port, forbidden_hits) = forbidden_target().await;
    let log = CookieLog::default();
    let origin_listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.expect("bind");
    let origin = origin_listener.local_addr().expect("addr");
    let rss = move |entries: &[(&str, &str)]| {
        let items: String = entries
            .iter()
            .map(|(title, link)| format!("<item><title>{title}</title><link>{link}</link></item>\n"))
            .collect();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Lists</title><link>http://{origin}/list.rss</link><description>d</description>
{items}</channel></rss>"#
        )
    };
    let app_router = Router::new()
        .route(
            "/watch",
            get(|State((log, content, _)): State<(CookieLog, String, u16)>, headers: HeaderMap| async move {
                if carries_secret(&headers) {
                    log.page_with_cookie.fetch_add(1, Ordering::SeqCst);
                }
                Html(watch_page(&content, ""))
            }),
        )
        .route(
            "/list.rss",
            get(move |State((log, _, forbidden)): State<(CookieLog, String, u16)>, headers: HeaderMap| async move {
                // With the operator's cookies the site would show a private
                // list (whose link also points where the guard says no).
                let body = if carries_secret(&headers) {
                    log.list_with_cookie.fetch_add(1, Ordering::SeqCst);
                    rss(&[("Operator's private video", &format!("http://127.0.0.1:{forbidden}/private"))])
                } else {
                    log.list_without_cookie.fetch_add(1, Ordering::SeqCst);
                    rss(&[("Public video", &format!("http://{origin}/watch"))])
                };
                ([("content-type", "application/rss+xml")], body).into_response()
            }),
        )
        .with_state((log.clone(), content, forbidden_port));
    tokio::spawn(async move {
        let _ = axum::serve(origin_listener, app_router).await;
    });

    let dir = tempfile::tempdir().expect("dir");
    let cookies = cookies_file(&dir, "127.0.0.2");
    let app = TestApp::start_with(|c| {
        hostile_side(c);
        c.cookies_file = Some(cookies.clone());
    })
    .await;
    // A video page gets the cookies (that is what they are for) …
    let (status, body) = app.post_json("/api/video-info", json!({ "url": format!("http://{origin}/watch") })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(log.page_with_cookie.load(Ordering::SeqCst), 1, "the cookies are in use for videos");
    // … a listing is shown as anyone would see it.
    let (status, body) = app.post_json("/api/video-info", json!({ "url": format!("http://{origin}/list.rss") })).await;
    assert_eq!(status, 200, "{body}");
    let entries = body["info"]["playlist"]["entries"].as_array().cloned().unwrap_or_default();
    let titles: Vec<&str> = entries.iter().filter_map(|e| e["title"].as_str()).collect();
    assert_eq!(titles, ["Public video"], "{body}");
    assert!(!body.to_string().contains("private"), "{body}");
    assert!(log.list_without_cookie.load(Ordering::SeqCst) >= 1);
    assert_eq!(forbidden_hits.load(Ordering::SeqCst), 0);
    app.stop().await;
    media.stop().await;
}

// ---- Item 8 (part): event streams per client ---------------------------------

/// Opens `/api/events/{id}` from `client`; the response (its body still open) and status.
async fn open_stream(client: &reqwest::Client, app: &TestApp, id: &str) -> reqwest::Response {
    client.get(app.url(&format!("/api/events/{id}"))).send().await.expect("events")
}

#[tokio::test]
async fn event_streams_per_client_are_capped_and_freed_when_they_end() {
    let site = FixtureSite::start_on("127.0.0.2:0".parse().expect("addr")).await.expect("fixture");
    let app = TestApp::start_with(|c| {
        hostile_side(c);
        c.max_sse_per_client = 2;
    })
    .await;
    // A download slow enough to stay running while streams come and go.
    let id = app.start_download(&site.url("/k/total=20000/watch/progressive"), "auto").await;
    let (alice, bob) = (client_from(7), client_from(8));

    let first = open_stream(&alice, &app, &id).await;
    let second = open_stream(&alice, &app, &id).await;
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    let third = open_stream(&alice, &app, &id).await;
    assert_eq!(third.status(), 429);
    let body: Value = third.json().await.unwrap_or(Value::Null);
    assert_eq!(body["code"], "too_many_streams", "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("limit is 2")), "{body}");
    // Another client has its own allowance.
    let bobs = open_stream(&bob, &app, &id).await;
    assert_eq!(bobs.status(), 200);

    // A client that goes away frees its place (noticed at the next event).
    drop(first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let again = loop {
        let response = open_stream(&alice, &app, &id).await;
        if response.status() == 200 {
            break response;
        }
        assert!(tokio::time::Instant::now() < deadline, "the dropped stream was never freed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // Streams that end (the download is cancelled) free theirs too.
    let (status, _) = app.post_json(&format!("/api/cancel/{id}"), json!({})).await;
    assert_eq!(status, 200);
    for stream in [second, again, bobs] {
        let text = tokio::time::timeout(Duration::from_secs(20), stream.text()).await.expect("the stream ends");
        assert!(text.unwrap_or_default().contains("cancelled"));
    }
    for _ in 0..2 {
        let response = open_stream(&alice, &app, &id).await;
        assert_eq!(response.status(), 200, "the ended streams gave their places back");
        let _ = tokio::time::timeout(Duration::from_secs(10), response.text()).await;
    }
    app.stop().await;
    site.stop().await;
}
