//! A public instance tried as a hostile site would: the real server binary,
//! started the way servers run (`no_proxy=127.0.0.1,localhost` and
//! `NO_PROXY` in its environment), a crafted origin on 127.0.0.2 (allowed
//! with `ALLOW_PRIVATE_NETWORKS=127.0.0.2/32`, standing in for a public
//! site) and, on 127.0.0.1, a listener that counts the connections it
//! accepts — which must stay at 0.
//!
//! - HLS with `SAMPLE-AES` makes yt-dlp hand the stream to ffmpeg; its key
//!   and segments on 127.0.0.1 are never fetched, whatever `no_proxy` says;
//! - key and segment URIs with `httpproxy://`, `tcp://`, `file://` open
//!   nothing;
//! - public addresses only on ports 80 and 443 (and `EGRESS_PORTS`), and
//!   refusals of names never show the address they resolved to;
//! - `kill -9` of the server leaves no yt-dlp or ffmpeg running, nor any
//!   child a yt-dlp started;
//! - the cookies copies of lookups and downloads do not outlive them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Query;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

/// What servers commonly have in their environment.
const NO_PROXY: &str = "127.0.0.1,localhost";

/// A listener on 127.0.0.1 that counts accepted connections.
struct Forbidden {
    port: u16,
    accepted: Arc<AtomicU64>,
}

impl Forbidden {
    async fn start() -> Forbidden {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("addr").port();
        let accepted = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                seen.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Forbidden { port, accepted }
    }

    fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }

    fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }
}

#[derive(serde::Deserialize)]
struct Playlist {
    key: String,
    seg: String,
}

/// The hostile origin on 127.0.0.2: `/sample-aes.m3u8?key=URI&seg=URI` is a
/// media playlist with a SAMPLE-AES key at `key` and its segments at `seg`;
/// `/slow` answers after two minutes; `/seg.ts` is a little MPEG-TS noise.
async fn hostile_origin() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.expect("bind 127.0.0.2");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new()
        .route(
            "/sample-aes.m3u8",
            get(|Query(p): Query<Playlist>| async move {
                let body = format!(
                    "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n\
                     #EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"{}\",IV=0x00000000000000000000000000000001\n\
                     #EXTINF:2.0,\n{}\n#EXTINF:2.0,\n{}\n#EXT-X-ENDLIST\n",
                    p.key, p.seg, p.seg
                );
                ([(header::CONTENT_TYPE, "application/vnd.apple.mpegurl")], body).into_response()
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(120)).await;
                vec![0u8; 16]
            }),
        )
        .route("/seg.ts", get(|| async { vec![0x47u8; 188 * 20] }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn playlist(origin: SocketAddr, key: &str, seg: &str) -> String {
    let mut url = url::Url::parse(&format!("http://{origin}/sample-aes.m3u8")).expect("url");
    url.query_pairs_mut().append_pair("key", key).append_pair("seg", seg);
    url.to_string()
}

/// The real server binary, stopped (SIGKILL) when dropped.
struct Server {
    child: Option<Child>,
    base: String,
    download_dir: PathBuf,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let download_dir = dir.path().join("downloads");
        std::fs::create_dir_all(&download_dir).expect("download dir");
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_server"));
        cmd.env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_OUTPUT_NAME", "kachay")
            .env("DOWNLOAD_DIR", &download_dir)
            .env("YTDLP", fixture::ytdlp_program())
            .env("ALLOW_PRIVATE_NETWORKS", "127.0.0.2/32")
            .env("RATE_LIMIT_PER_MINUTE", "100000")
            .env("RATE_LIMIT_BURST", "100000")
            .env("RUST_LOG", "info")
            .env("no_proxy", NO_PROXY)
            .env("NO_PROXY", NO_PROXY);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.stdout(Stdio::null()).spawn().expect("server binary starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Server {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            download_dir,
            client: reqwest::Client::builder().no_proxy().build().expect("client"),
            _dir: dir,
        }
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self.client.post(format!("{}{path}", self.base)).json(&body).send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn status(&self, id: &str) -> Value {
        let response = self.client.get(format!("{}/api/status/{id}", self.base)).send().await.expect("status");
        response.json().await.expect("json")
    }

    async fn start_download(&self, url: &str) -> String {
        let (status, body) = self.post("/api/download", json!({ "url": url, "quality": "auto" })).await;
        assert_eq!(status, 200, "{body}");
        body["download_id"].as_str().expect("id").to_owned()
    }

    async fn wait_terminal(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let body = self.status(id).await;
            if matches!(body["status"].as_str(), Some("completed" | "error" | "cancelled")) {
                return body;
            }
            assert!(Instant::now() < deadline, "still {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A job refused by the egress guard: worded as the guard's sentence, with
/// no code or hint of a site failure ("try again later" would be wrong).
fn assert_refusal(done: &Value) {
    assert!(done["error_code"].is_null() || done["error_code"] == "destination_refused", "{done}");
    assert!(done["hint"].is_null(), "{done}");
    assert!(done["error"].as_str().is_some_and(|e| e.starts_with("This server")), "{done}");
}

#[tokio::test]
async fn sample_aes_keys_and_segments_on_loopback_are_never_fetched_despite_no_proxy() {
    let forbidden = Forbidden::start().await;
    let origin = hostile_origin().await;
    let server = Server::start(&[]);
    let link = playlist(origin, &forbidden.url("http", "/k.key"), &forbidden.url("http", "/s.ts"));
    let id = server.start_download(&link).await;
    let done = server.wait_terminal(&id).await;
    println!("{done}");
    assert_eq!(forbidden.accepted(), 0, "ffmpeg connected to 127.0.0.1 around the egress guard");
    assert_eq!(done["status"], "error", "{done}");
    assert_refusal(&done);
    assert!(done["error"].as_str().is_some_and(|e| e.contains("loopback")), "{done}");
    assert_eq!(forbidden.accepted(), 0, "ffmpeg connected to 127.0.0.1 around the egress guard");
}

#[tokio::test]
async fn ffmpeg_opens_no_protocol_but_http_through_the_guard() {
    let forbidden = Forbidden::start().await;
    let origin = hostile_origin().await;
    let server = Server::start(&[]);
    let seg = format!("http://{origin}/seg.ts");
    let key = format!("http://{origin}/k.key");
    let cases = [
        ("httpproxy key", forbidden.url("httpproxy", "/k.key"), seg.clone()),
        ("httpproxy segment", key.clone(), forbidden.url("httpproxy", "/s.ts")),
        ("tcp segment", key.clone(), forbidden.url("tcp", "")),
        ("tls segment", key.clone(), forbidden.url("tls", "")),
        ("rtmp segment", key.clone(), forbidden.url("rtmp", "/live/x")),
        ("file segment", key.clone(), "file:///etc/hostname".to_owned()),
    ];
    for (what, key, seg) in cases {
        let id = server.start_download(&playlist(origin, &key, &seg)).await;
        let done = server.wait_terminal(&id).await;
        println!("{what}: {done}");
        assert_eq!(forbidden.accepted(), 0, "{what}: ffmpeg opened a connection to 127.0.0.1");
        assert_eq!(done["status"], "error", "{what}: {done}");
        let sentence = done["error"].as_str().unwrap_or_default();
        assert!(!sentence.is_empty() && !sentence.contains("exited with code"), "{what}: {done}");
        assert_eq!(forbidden.accepted(), 0, "{what}: ffmpeg opened a connection to 127.0.0.1");
    }
    // The one that used to open raw connections reads as a refusal.
    let id = server.start_download(&playlist(origin, &forbidden.url("httpproxy", "/k"), &seg)).await;
    let done = server.wait_terminal(&id).await;
    assert_refusal(&done);
    assert!(done["error"].as_str().is_some_and(|e| e.contains("ffmpeg")), "{done}");
    assert_eq!(forbidden.accepted(), 0);
}

#[tokio::test]
async fn public_addresses_only_on_web_ports_and_names_never_show_their_address() {
    let forbidden = Forbidden::start().await;
    let origin = hostile_origin().await;
    let server = Server::start(&[("EGRESS_PORTS", "8080")]);
    // Checked, never connected to: a refusal comes before any connection.
    for link in ["http://93.184.215.14:22/", "https://93.184.215.14:6379/x", "http://[2606:4700::1111]:25/"] {
        let (status, body) = server.post("/api/video-info", json!({ "url": link })).await;
        assert_eq!(status, 403, "{link}: {body}");
        assert_eq!(body["code"], "destination_refused", "{link}: {body}");
        let sentence = body["error"].as_str().unwrap_or_default();
        assert!(sentence.contains("80, 443 and 8080"), "{link}: {sentence}");
    }
    // The operator's own network keeps every port (the origin's is random).
    let (status, body) = server.post("/api/video-info", json!({ "url": format!("http://{origin}/seg.ts") })).await;
    assert_ne!(body["code"], "destination_refused", "{status} {body}");
    // A name is refused by its kind of address, not its address.
    let (status, body) =
        server.post("/api/video-info", json!({ "url": format!("http://localhost:{}/", forbidden.port) })).await;
    assert_eq!(status, 403, "{body}");
    let sentence = body["error"].as_str().unwrap_or_default();
    assert!(sentence.contains("loopback"), "{sentence}");
    assert!(!sentence.contains("127.0.0.1") && !sentence.contains("::1"), "{sentence}");
    assert_eq!(forbidden.accepted(), 0);
}

#[test]
fn a_bad_egress_ports_setting_stops_the_start_naming_the_variable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("LEPTOS_OUTPUT_NAME", "kachay")
        .env("DOWNLOAD_DIR", dir.path())
        .env("EGRESS_PORTS", "8080,http")
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server runs");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started with EGRESS_PORTS=8080,http");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("output");
    assert!(!output.status.success());
    let log = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(log.contains("EGRESS_PORTS") && log.contains("\"http\""), "{log}");
}

/// yt-dlp, ffmpeg (and the bootstrap's python) whose command line names
/// `dir`.
fn children_in(dir: &Path) -> Vec<(u32, String)> {
    fixture::inspect::processes_mentioning(&dir.display().to_string())
}

#[tokio::test]
async fn kill_9_of_the_server_leaves_no_yt_dlp_or_ffmpeg_running() {
    let origin = hostile_origin().await;
    let mut server = Server::start(&[]);
    // ffmpeg (under yt-dlp) waits for a key that takes two minutes.
    let link = playlist(origin, &format!("http://{origin}/slow"), &format!("http://{origin}/seg.ts"));
    let id = server.start_download(&link).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let running = children_in(&server.download_dir);
        let is_ffmpeg = |cmd: &String| cmd.split(' ').next().is_some_and(|program| program.ends_with("ffmpeg"));
        if running.iter().any(|(_, cmd)| is_ffmpeg(cmd)) {
            println!("running before the kill: {running:#?}");
            break;
        }
        let status = server.status(&id).await;
        assert!(status["status"] != "error", "the download failed early: {status}");
        assert!(Instant::now() < deadline, "ffmpeg never started: {running:#?} {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = children_in(&server.download_dir);
        if left.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            for (pid, _) in &left {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
            panic!("still running 5 s after kill -9 of the server: {left:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A stand-in yt-dlp in Python, as the real one is: it answers `--version`
/// and `-J`, and a download starts a child of its own (from its main thread,
/// as yt-dlp starts ffmpeg and deno) and waits, without any network, so that
/// nothing but the server's death can end either of them.
const IDLE_YTDLP: &str = r#"
import json, os, subprocess, sys, time
args = sys.argv[1:]
if '--version' in args:
    print('2026.10.26')
    sys.exit(0)
if '-J' in args:
    print(json.dumps({'id': 'idle', 'title': 'idle', 'duration': 2.0, 'extractor': 'generic',
        'webpage_url': args[-1], 'formats': [{'format_id': 'f', 'url': 'http://127.0.0.2:9/x.mp4',
        'ext': 'mp4', 'vcodec': 'avc1.42c01e', 'acodec': 'mp4a.40.2', 'height': 360}]}))
    sys.exit(0)
template = args[args.index('-o') + 1]
subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', 'kachay-grandchild', os.path.dirname(template)])
time.sleep(600)
"#;

#[tokio::test]
async fn kill_9_of_the_server_takes_yt_dlp_and_its_children_along_even_when_idle() {
    // With real yt-dlp and ffmpeg, the server's death also ends their
    // connections to its egress proxy, which often ends them too; this
    // stand-in waits on nothing, so only PR_SET_PDEATHSIG can stop it.
    let scratch = tempfile::tempdir().expect("tempdir");
    let program = scratch.path().join("yt-dlp");
    let python = workspace_python();
    std::fs::write(
        &program,
        format!(
            "#!{}
{IDLE_YTDLP}",
            python.display()
        ),
    )
    .expect("script");
    std::fs::set_permissions(&program, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let program_setting = program.display().to_string();
    let mut server = Server::start(&[("YTDLP", &program_setting), ("DOWNLOAD_ENGINE", "yt-dlp")]);
    let id = server.start_download("http://127.0.0.2:9/watch").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let running = children_in(&server.download_dir);
        if running.iter().any(|(_, cmd)| cmd.contains("kachay-grandchild")) && running.len() >= 2 {
            println!("running before the kill: {running:#?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the stand-in never started its child: {running:#?} {}",
            server.status(&id).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.kill();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = children_in(&server.download_dir);
        if left.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            for (pid, _) in &left {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
            panic!("still running 5 s after kill -9 of the server: {left:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The Python of the project's virtualenv (where the real yt-dlp runs).
fn workspace_python() -> PathBuf {
    let venv = fixture::workspace_dir().join(".venv/bin/python3");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("/usr/bin/python3")
    }
}

fn cookie_copies(dir: &Path) -> Vec<PathBuf> {
    walk(dir)
        .into_iter()
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.starts_with("kachay-cookies-") || name == "cookies.txt"
        })
        .collect()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[tokio::test]
async fn cookie_copies_do_not_outlive_lookups_and_downloads() {
    let forbidden = Forbidden::start().await;
    let origin = hostile_origin().await;
    let scratch = tempfile::tempdir().expect("tempdir");
    let tmp = scratch.path().join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    let cookies = scratch.path().join("cookies.txt");
    std::fs::write(&cookies, "# Netscape HTTP Cookie File\n.example.com\tTRUE\t/\tFALSE\t0\tk\tv\n").expect("cookies");
    std::fs::set_permissions(&cookies, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let cookies_setting = cookies.display().to_string();
    let tmp_setting = tmp.display().to_string();
    let server = Server::start(&[("COOKIES_FILE", &cookies_setting), ("TMPDIR", &tmp_setting)]);

    // A lookup that fails (no video there) and one that works.
    let (status, body) = server.post("/api/video-info", json!({ "url": format!("http://{origin}/nothing") })).await;
    assert_ne!(status, 200, "{body}");
    let (status, body) =
        server.post("/api/video-info", json!({ "url": playlist(origin, "http://x/k", "http://x/s") })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cookie_copies(&tmp), Vec::<PathBuf>::new(), "a lookup left its copy");

    // A download that fails (refused), and one cancelled while yt-dlp runs.
    let failed = server
        .start_download(&playlist(origin, &forbidden.url("http", "/k"), &format!("http://{origin}/seg.ts")))
        .await;
    let done = server.wait_terminal(&failed).await;
    assert_eq!(done["status"], "error", "{done}");
    let slow = server
        .start_download(&playlist(origin, &format!("http://{origin}/slow"), &format!("http://{origin}/seg.ts")))
        .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while cookie_copies(&server.download_dir).is_empty() {
        assert!(Instant::now() < deadline, "the running download never got its copy");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, body) = server.post(&format!("/api/cancel/{slow}"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let done = server.wait_terminal(&slow).await;
    assert_eq!(done["status"], "cancelled", "{done}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cookie_copies(&server.download_dir).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(cookie_copies(&server.download_dir), Vec::<PathBuf>::new(), "a download left its copy");
    assert_eq!(cookie_copies(&tmp), Vec::<PathBuf>::new(), "a lookup left its copy");
    assert_eq!(forbidden.accepted(), 0);
}
