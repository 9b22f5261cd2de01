//! Nothing lost on restart: the real server stopped (gracefully, or with
//! `kill -9` as a real process) and started again on the same DOWNLOAD_DIR
//! and DATA_DIR, with the real yt-dlp, ffmpeg, SQLite and the fixture site.
//! Also the history, `GET /api/downloads`, and a damaged or newer database.

use crate::common;

use common::TestApp;
use fixture::FixtureSite;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

struct Dirs {
    downloads: tempfile::TempDir,
    data: tempfile::TempDir,
}

impl Dirs {
    fn new() -> Dirs {
        Dirs { downloads: tempfile::tempdir().expect("temp dir"), data: tempfile::tempdir().expect("temp dir") }
    }

    async fn start(&self, adjust: impl FnOnce(&mut server::Config)) -> TestApp {
        match TestApp::start_in(self.downloads.path(), self.data.path(), adjust).await {
            Ok(app) => app,
            Err(e) => panic!("server did not start: {e}"),
        }
    }

    fn database(&self) -> std::path::PathBuf {
        self.data.path().join("jobs.sqlite3")
    }
}

async fn file_bytes(app: &TestApp, id: &str) -> Vec<u8> {
    let response = app.client.get(app.url(&format!("/api/file/{id}"))).send().await.expect("request");
    assert_eq!(response.status(), 200);
    response.bytes().await.expect("body").to_vec()
}

/// The events of a finished job's stream: (id, data) pairs.
async fn events(app: &TestApp, id: &str, last_seen: Option<&str>) -> (u16, Vec<(String, Value)>) {
    let mut request = app.client.get(app.url(&format!("/api/events/{id}")));
    if let Some(seen) = last_seen {
        request = request.header("last-event-id", seen);
    }
    let response =
        tokio::time::timeout(Duration::from_secs(10), request.send()).await.expect("answered").expect("request");
    let status = response.status().as_u16();
    let text = tokio::time::timeout(Duration::from_secs(10), response.text())
        .await
        .expect("a finished job's stream ends")
        .unwrap_or_default();
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let id = block.lines().find_map(|l| l.strip_prefix("id:")).map(|s| s.trim().to_string());
        let data =
            block.lines().find_map(|l| l.strip_prefix("data:")).and_then(|d| serde_json::from_str(d.trim()).ok());
        if let (Some(id), Some(data)) = (id, data) {
            out.push((id, data));
        }
    }
    (status, out)
}

#[tokio::test]
async fn a_completed_download_keeps_its_id_status_events_and_file_byte_for_byte() {
    let site = FixtureSite::start().await.expect("fixture");
    let dirs = Dirs::new();
    let app = dirs.start(|_| {}).await;
    let id = app.start_download(&site.url("/watch/main"), "360").await;
    let done = app.wait_terminal(&id, Duration::from_secs(90)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let bytes = file_bytes(&app, &id).await;
    let (_, before) = events(&app, &id, None).await;
    app.stop().await;

    let app = dirs.start(|_| {}).await;
    let (status, after) = app.get_json(&format!("/api/status/{id}")).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after, done, "the same status after the restart");
    assert_eq!(file_bytes(&app, &id).await, bytes, "the same file, byte for byte");
    let (_, events_after) = events(&app, &id, None).await;
    assert_eq!(events_after, before, "the same terminal event, with the same id");
    let (seen, _) = before.last().cloned().expect("a terminal event");
    let (status, _) = events(&app, &id, Some(&seen)).await;
    assert_eq!(status, 204, "a client that saw the end is told to stop");
    // Unknown ids are still unknown.
    let (status, _) = app.get_json(&format!("/api/status/{}", uuid_v4())).await;
    assert_eq!(status, 404);
    app.stop().await;
}

fn uuid_v4() -> String {
    // Any id no job has.
    "5f0c6e7a-3a8d-4c9b-9e2f-1b2c3d4e5f60".to_string()
}

#[tokio::test]
async fn running_and_queued_downloads_go_on_after_a_graceful_restart() {
    let site = FixtureSite::start().await.expect("fixture");
    let dirs = Dirs::new();
    let one_at_a_time = |c: &mut server::Config| c.max_concurrent_downloads = 1;
    let app = dirs.start(one_at_a_time).await;
    // The second link looked up first, so it queues at once behind the first.
    let (status, _) = app.post_json("/api/video-info", json!({ "url": site.url("/watch/muxed") })).await;
    assert_eq!(status, 200);
    let running = app.start_download(&site.url("/k/total=100000/watch/main"), "360").await;
    let queued = app.start_download(&site.url("/watch/muxed"), "360").await;
    app.wait_until_downloading(&running).await;
    let (_, body) = app.get_json(&format!("/api/status/{queued}")).await;
    assert_eq!(body["status"], "queued", "{body}");
    app.stop().await;

    let app = dirs.start(one_at_a_time).await;
    // The running one starts again by itself and says so; the queued one
    // waits its turn.
    let (_, first) = app.get_json(&format!("/api/status/{running}")).await;
    assert!(matches!(first["status"].as_str(), Some("queued" | "downloading" | "merging")), "{first}");
    assert_eq!(first["restarted"], true, "{first}");
    let text = first["status_text"].as_str().unwrap_or_default();
    assert!(text.starts_with("Restarted after the server restarted"), "{text}");
    let (_, second) = app.get_json(&format!("/api/status/{queued}")).await;
    assert_eq!(second["status"], "queued", "{second}");
    assert!(second.get("restarted").is_none(), "it never ran: {second}");

    let first = app.wait_terminal(&running, Duration::from_secs(120)).await;
    assert_eq!(first["status"], "completed", "{first}");
    let text = first["status_text"].as_str().unwrap_or_default();
    assert!(text.starts_with("Done") && !text.contains("Restarted"), "the note goes once it is done: {first}");
    let second = app.wait_terminal(&queued, Duration::from_secs(90)).await;
    assert_eq!(second["status"], "completed", "{second}");
    assert!(!file_bytes(&app, &running).await.is_empty());
    assert!(!file_bytes(&app, &queued).await.is_empty());

    // In order: the one queued first finished first.
    let (_, list) = app.get_json("/api/downloads").await;
    let items = list["downloads"].as_array().expect("downloads");
    let finished =
        |id: &str| items.iter().find(|i| i["id"] == id).and_then(|i| i["finished_at"].as_u64()).expect("finished_at");
    assert!(finished(&running) <= finished(&queued), "{list}");
    app.stop().await;
}

/// A free port on 127.0.0.1.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// The real server binary on these directories.
fn server_process(dirs: &Dirs, port: u16) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_OUTPUT_NAME", "kachay")
        .env("DOWNLOAD_DIR", dirs.downloads.path())
        .env("DATA_DIR", dirs.data.path())
        .env("YTDLP", fixture::ytdlp_program())
        .env("ALLOW_PRIVATE_NETWORKS", "127.0.0.0/8")
        .env("MAX_CONCURRENT_DOWNLOADS", "1")
        .env("RATE_LIMIT_PER_MINUTE", "100000")
        .env("RATE_LIMIT_BURST", "10000")
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    command
}

async fn wait_listening(port: u16, child: &mut std::process::Child) {
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let probe = client.get(format!("http://127.0.0.1:{port}/api/status/{}", uuid_v4())).send().await;
        if probe.is_ok_and(|r| r.status() == 404) {
            return;
        }
        assert!(child.try_wait().ok().flatten().is_none(), "the server exited while starting");
        assert!(tokio::time::Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn after_kill_9_the_next_start_removes_only_partial_files_no_job_owns() {
    let site = FixtureSite::start().await.expect("fixture");
    let dirs = Dirs::new();
    let port = free_port();
    let mut child = server_process(&dirs, port).spawn().expect("server starts");
    wait_listening(port, &mut child).await;
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let base = format!("http://127.0.0.1:{port}");
    let start = |url: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let body: Value = client
                .post(format!("{base}/api/download"))
                .json(&json!({ "url": url, "quality": "360" }))
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("JSON");
            body["download_id"].as_str().expect("download_id").to_string()
        }
    };
    // The second link looked up first, so it queues at once.
    let preview = client.post(format!("{base}/api/video-info")).json(&json!({ "url": site.url("/watch/muxed") }));
    assert_eq!(preview.send().await.expect("request").status(), 200);
    let running = start(site.url("/k/total=50000/watch/main")).await;
    let queued = start(site.url("/watch/muxed")).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let body: Value = client
            .get(format!("{base}/api/status/{running}"))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON");
        if body["downloaded_bytes"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never started: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Partial files of the running job are on disk now.
    assert!(dir_has_files(&dirs.downloads.path().join(&running)));
    child.kill().expect("SIGKILL");
    let _ = child.wait();

    // What a crash leaves that no job owns, and what is not Kachay's.
    let downloads = dirs.downloads.path();
    let stray = downloads.join("0b7e9d1c-58a4-4f0e-9a55-6f1d2c3b4a59");
    std::fs::create_dir(&stray).expect("mkdir");
    std::fs::write(stray.join(engine::jobs::MARKER_FILE), b"x").expect("marker");
    std::fs::write(stray.join("media.f1.mp4.part"), b"partial").expect("partial");
    let unmarked = downloads.join("7c1f4e2a-9b3d-4a6e-8f0c-2d5e6a7b8c90");
    std::fs::create_dir(&unmarked).expect("mkdir");
    std::fs::write(unmarked.join("keep.bin"), b"not a job's").expect("file");
    std::fs::write(downloads.join("notes.txt"), b"mine").expect("file");

    let app = dirs.start(|c| c.max_concurrent_downloads = 1).await;
    // Answered only once start-up (resume, clean-up) is done.
    let (_, body) = app.get_json(&format!("/api/status/{running}")).await;
    assert_eq!(body["restarted"], true, "{body}");
    assert!(!stray.exists(), "a job directory no job owns is removed");
    assert!(unmarked.join("keep.bin").exists(), "a directory without the marker is not Kachay's");
    assert!(downloads.join("notes.txt").exists());
    // Both jobs were in the store: the running one starts again, the queued
    // one waits, and both complete.
    let (_, body) = app.get_json(&format!("/api/status/{running}")).await;
    assert_eq!(body["restarted"], true, "{body}");
    let first = app.wait_terminal(&running, Duration::from_secs(120)).await;
    assert_eq!(first["status"], "completed", "{first}");
    let second = app.wait_terminal(&queued, Duration::from_secs(90)).await;
    assert_eq!(second["status"], "completed", "{second}");
    app.stop().await;
}

fn dir_has_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).map(|d| d.count() > 1).unwrap_or(false)
}

#[tokio::test]
async fn a_damaged_database_stops_the_start_with_a_sentence_naming_the_file() {
    let dirs = Dirs::new();
    let garbage = b"definitely not SQLite\n".repeat(200);
    std::fs::write(dirs.database(), &garbage).expect("write");

    let err = TestApp::start_in(dirs.downloads.path(), dirs.data.path(), |_| {}).await.err().expect("refused");
    let text = err.to_string();
    assert!(text.contains(&dirs.database().display().to_string()), "{text}");

    // The real binary: exits with a failure and says the same in its log.
    let output = server_process(&dirs, free_port()).stdout(std::process::Stdio::piped()).output().expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&dirs.database().display().to_string()), "{stderr}");
    assert!(stderr.contains("damaged or not a database"), "{stderr}");
    assert_eq!(std::fs::read(dirs.database()).expect("read"), garbage, "left as it was");
}

#[tokio::test]
async fn a_database_from_a_newer_version_is_refused_untouched() {
    let dirs = Dirs::new();
    {
        let conn = rusqlite::Connection::open(dirs.database()).expect("sqlite");
        conn.execute_batch("CREATE TABLE jobs (id TEXT PRIMARY KEY, future BLOB); PRAGMA user_version = 99;")
            .expect("schema");
    }
    let before = std::fs::read(dirs.database()).expect("read");
    let err = TestApp::start_in(dirs.downloads.path(), dirs.data.path(), |_| {}).await.err().expect("refused");
    let text = err.to_string();
    assert!(text.contains(&dirs.database().display().to_string()), "{text}");
    assert!(text.contains("schema version 99"), "{text}");
    assert_eq!(std::fs::read(dirs.database()).expect("read"), before, "not altered");
}

fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder().no_proxy().local_address(std::net::IpAddr::from(ip)).build().expect("client")
}

async fn get(client: &reqwest::Client, url: String, cookie: Option<&str>) -> (u16, Value) {
    let mut request = client.get(url);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn post(client: &reqwest::Client, url: String, body: Value, cookie: Option<&str>) -> Value {
    let mut request = client.post(url).json(&body);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.expect("request").json().await.expect("JSON")
}

fn ids(list: &Value) -> Vec<String> {
    list["downloads"]
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["id"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_history_shows_the_callers_downloads_newest_first_in_pages_across_a_restart() {
    let site = FixtureSite::start().await.expect("fixture");
    let dirs = Dirs::new();
    // Slow and one at a time, so most stay queued: the history lists every state.
    let adjust = |c: &mut server::Config| c.max_concurrent_downloads = 1;
    let app = dirs.start(adjust).await;
    let alice = client_from([127, 0, 1, 1]);
    let bob = client_from([127, 0, 1, 2]);
    let link = site.url("/k/rate=100000/watch/main");
    let mut mine = Vec::new();
    for _ in 0..3 {
        let body = post(&alice, app.url("/api/download"), json!({ "url": link, "quality": "360" }), None).await;
        mine.push(body["download_id"].as_str().expect("id").to_string());
    }
    let body = post(&bob, app.url("/api/download"), json!({ "url": link, "quality": "360" }), None).await;
    let bobs = body["download_id"].as_str().expect("id").to_string();

    let (status, page) = get(&alice, app.url("/api/downloads?limit=2"), None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["success"], true);
    assert_eq!(ids(&page), vec![mine[2].clone(), mine[1].clone()], "newest first: {page}");
    let item = &page["downloads"][0];
    assert!(item["created_at"].as_u64().is_some_and(|t| t > 1_700_000_000_000), "{item}");
    assert!(item["status"].is_string() && item["status_text"].is_string() && item["quality"] == "360", "{item}");
    let next = page["next_before"].as_str().expect("a next page").to_string();
    let (_, rest) = get(&alice, app.url(&format!("/api/downloads?limit=2&before={next}")), None).await;
    assert_eq!(ids(&rest), vec![mine[0].clone()], "{rest}");
    assert!(rest.get("next_before").is_none(), "the last page: {rest}");
    let (_, theirs) = get(&bob, app.url("/api/downloads"), None).await;
    assert_eq!(ids(&theirs), vec![bobs.clone()], "only the caller's: {theirs}");

    // Bad paging values are refused in words.
    for bad in ["limit=0", "limit=101", "limit=lots", "before=../../etc", "before=12"] {
        let (status, body) = get(&alice, app.url(&format!("/api/downloads?{bad}")), None).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"].as_str().is_some_and(|e| e.ends_with('.')), "{body}");
    }

    // A finished download is listed as the status shows it.
    let cancelled = post(&alice, app.url(&format!("/api/cancel/{}", mine[2])), json!({}), None).await;
    assert_eq!(cancelled["success"], true, "{cancelled}");
    app.wait_terminal(&mine[2], Duration::from_secs(10)).await;
    let (_, status) = app.get_json(&format!("/api/status/{}", mine[2])).await;
    let (_, page) = get(&alice, app.url("/api/downloads"), None).await;
    let listed = page["downloads"][0].clone();
    assert_eq!(listed["status"], "cancelled");
    assert!(listed["finished_at"].as_u64().is_some(), "{listed}");
    for key in ["status", "progress", "status_text", "id", "quality", "title"] {
        assert_eq!(listed[key], status[key], "{key}");
    }
    app.stop().await;

    // After a restart the same lists.
    let app = dirs.start(adjust).await;
    let (_, page) = get(&alice, app.url("/api/downloads"), None).await;
    assert_eq!(ids(&page), vec![mine[2].clone(), mine[1].clone(), mine[0].clone()], "{page}");
    let (_, theirs) = get(&bob, app.url("/api/downloads"), None).await;
    assert_eq!(ids(&theirs), vec![bobs], "{theirs}");
    app.stop().await;
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("kachay_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

#[tokio::test]
async fn with_login_the_history_is_the_sessions_and_survives_a_restart() {
    let site = FixtureSite::start().await.expect("fixture");
    let dirs = Dirs::new();
    let adjust = |c: &mut server::Config| {
        c.access_password = Some("correct horse".into());
        c.secret_key = Some("test secret".into());
        c.max_concurrent_downloads = 1;
    };
    let app = dirs.start(adjust).await;
    let client =
        reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let login = || client.post(app.url("/login")).form(&[("password", "correct horse")]).send();
    let alice = session_cookie(&login().await.expect("login")).expect("cookie");
    let bob = session_cookie(&login().await.expect("login")).expect("cookie");
    let link = site.url("/k/rate=100000/watch/main");
    let a = post(&client, app.url("/api/download"), json!({ "url": link, "quality": "360" }), Some(&alice)).await;
    let a = a["download_id"].as_str().expect("id").to_string();
    let b = post(&client, app.url("/api/download"), json!({ "url": link, "quality": "360" }), Some(&bob)).await;
    let b = b["download_id"].as_str().expect("id").to_string();

    let (_, list) = get(&client, app.url("/api/downloads"), Some(&alice)).await;
    assert_eq!(ids(&list), vec![a.clone()], "{list}");
    let (status, _) = get(&client, app.url("/api/downloads"), None).await;
    assert_eq!(status, 401, "no session, no list");
    app.stop().await;

    let app = dirs.start(adjust).await;
    let (_, list) = get(&client, app.url("/api/downloads"), Some(&bob)).await;
    assert_eq!(ids(&list), vec![b.clone()], "{list}");
    // Ownership came from the store: Bob still cannot see Alice's download.
    let (status, _) = get(&client, app.url(&format!("/api/status/{a}")), Some(&bob)).await;
    assert_eq!(status, 404);
    let (status, _) = get(&client, app.url(&format!("/api/status/{a}")), Some(&alice)).await;
    assert_eq!(status, 200);
    let token = reqwest::Client::builder().no_proxy().build().expect("client");
    let all = token
        .get(app.url("/api/downloads"))
        .bearer_auth("correct horse")
        .send()
        .await
        .expect("request")
        .json::<Value>()
        .await
        .expect("JSON");
    assert_eq!(ids(&all), vec![b, a], "a bearer token sees every download: {all}");
    app.stop().await;
}
