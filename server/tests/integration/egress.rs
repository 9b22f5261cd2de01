//! Live tests of the egress proxy. Everything here connects to loopback
//! addresses only (127.0.0.0/8 and [::1]); the private, link-local and other
//! ranges are covered by the classifier tests in `netguard/src/policy.rs`.
//!
//! The "refused target" is a tiny HTTP server on 127.0.0.1 (and [::1]) that
//! counts every TCP connection it accepts; the allowed side listens on
//! 127.0.0.2 (and 127.0.0.3), and the proxy's policy allows only those.
//! Every refusal test ends by checking that the target accepted nothing.

use base64::Engine as _;
use server::egress::{
    egress_refusal_message, is_egress_refusal, EgressPolicy, EgressProxy, ProxyTimeouts, REFUSAL_PREFIX,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const ALLOWED: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const ALLOWED_TOO: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

/// A tiny HTTP server that counts accepted connections and records the
/// request heads it got. `/redirect?to=URL` answers 302 to URL; any
/// other path answers 200 with "<name> <path>".
struct Site {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Drop for Site {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Site {
    async fn start(ip: IpAddr, name: &'static str) -> std::io::Result<Site> {
        let listener = TcpListener::bind((ip, 0)).await?;
        let addr = listener.local_addr()?;
        let accepted = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (count, log) = (accepted.clone(), requests.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(answer(stream, name, log.clone()));
            }
        });
        Ok(Site { addr, accepted, requests, task })
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

async fn answer(stream: TcpStream, name: &'static str, log: Arc<Mutex<Vec<String>>>) {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => head.push_str(&line),
        }
    }
    log.lock().expect("lock").push(head.clone());
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let response = if let Some(to) = path.strip_prefix("/redirect?to=") {
        format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    } else if let Some(segment) = path.strip_prefix("/media.m3u8?segment=") {
        let body = format!(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n\
             #EXTINF:2.0,\n{segment}\n#EXT-X-ENDLIST\n"
        );
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.apple.mpegurl\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    } else {
        let body = format!("{name} {path}");
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let mut stream = reader.into_inner();
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn allow_only(ips: &[Ipv4Addr]) -> Arc<EgressPolicy> {
    let setting = ips.iter().map(|ip| format!("{ip}/32")).collect::<Vec<_>>().join(",");
    Arc::new(EgressPolicy::from_setting(Some(&setting)).expect("policy"))
}

fn proxy_authorization(proxy: &EgressProxy) -> String {
    let url = url::Url::parse(&proxy.url()).expect("proxy url");
    let password = url.password().expect("password in the proxy url");
    let credential = format!("{}:{password}", url.username());
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credential))
}

fn client(proxy: &EgressProxy) -> reqwest::Client {
    reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(proxy.url()).expect("proxy"))
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

#[derive(Debug)]
struct RawResponse {
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One client connection to the proxy, speaking raw HTTP/1.1, so tests
/// control exactly what the proxy sees (and that it is ONE connection).
struct RawClient {
    reader: BufReader<TcpStream>,
}

impl RawClient {
    async fn connect(proxy: &EgressProxy) -> RawClient {
        let stream = TcpStream::connect(proxy.local_addr()).await.expect("connect to the proxy");
        RawClient { reader: BufReader::new(stream) }
    }

    async fn send(&mut self, head: &str) -> RawResponse {
        self.reader.get_mut().write_all(head.as_bytes()).await.expect("write");
        tokio::time::timeout(Duration::from_secs(20), self.read_response()).await.expect("proxy answered in time")
    }

    async fn read_response(&mut self) -> RawResponse {
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line).await.expect("status line");
        let mut parts = status_line.trim_end().splitn(3, ' ');
        let _version = parts.next();
        let status =
            parts.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let reason = parts.next().unwrap_or("").to_owned();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).await.expect("header");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').expect("header line");
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
        let mut response = RawResponse { status, reason, headers, body: String::new() };
        let length: usize = response.header("content-length").map(|v| v.parse().expect("content-length")).unwrap_or(0);
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).await.expect("body");
        response.body = String::from_utf8(body).expect("utf-8 body");
        response
    }
}

fn get(target: &str, auth: Option<&str>) -> String {
    let authority = target.strip_prefix("http://").and_then(|rest| rest.split('/').next()).expect("absolute http url");
    let auth = auth.map(|a| format!("Proxy-Authorization: {a}\r\n")).unwrap_or_default();
    format!("GET {target} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: egress-test\r\n{auth}\r\n")
}

fn connect(authority: &str, auth: Option<&str>) -> String {
    let auth = auth.map(|a| format!("Proxy-Authorization: {a}\r\n")).unwrap_or_default();
    format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n{auth}\r\n")
}

fn assert_refused(response: &RawResponse, what: &str) {
    assert_eq!(response.status, 403, "{what}: {response:?}");
    assert!(response.reason.starts_with(REFUSAL_PREFIX), "{what}: {response:?}");
    assert!(response.body.starts_with(REFUSAL_PREFIX), "{what}: {response:?}");
    assert_eq!(response.header("x-kachay-egress"), Some("refused"), "{what}");
}

async fn v6_loopback_site(name: &'static str) -> Option<Site> {
    match Site::start(IpAddr::V6(Ipv6Addr::LOCALHOST), name).await {
        Ok(site) => Some(site),
        Err(e) => {
            eprintln!("SKIPPED the [::1] cases: this machine has no IPv6 loopback ({e})");
            None
        }
    }
}

#[tokio::test]
async fn get_to_the_allowed_host_works_and_leaks_no_credential() {
    let allowed = Site::start(ALLOWED.into(), "allowed").await.expect("site");
    let proxy = EgressProxy::start(allow_only(&[ALLOWED])).await.expect("proxy");
    let response = client(&proxy).get(allowed.url("/page?q=1")).send().await.expect("request through the proxy");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "allowed /page?q=1");
    assert_eq!(allowed.accepted(), 1);
    let requests = allowed.requests();
    let head = requests.first().expect("one request");
    // Origin form, the destination's own Host, no proxy headers.
    assert!(head.starts_with("GET /page?q=1 HTTP/1.1\r\n"), "{head}");
    assert!(head.to_ascii_lowercase().contains(&format!("host: {}\r\n", allowed.addr)), "{head}");
    assert!(!head.to_ascii_lowercase().contains("proxy-"), "{head}");
    assert_eq!(proxy.refusals(), 0);
}

#[tokio::test]
async fn gets_to_loopback_spellings_are_refused_and_never_connected() {
    let target = Site::start(Ipv4Addr::LOCALHOST.into(), "target").await.expect("site");
    let target6 = v6_loopback_site("target6").await;
    let proxy = EgressProxy::start(allow_only(&[ALLOWED])).await.expect("proxy");
    let auth = proxy_authorization(&proxy);
    let port = target.addr.port();
    let mut hosts: Vec<String> = [
        "127.0.0.1",
        "localhost",
        "0.0.0.0",
        "2130706433",
        "0x7f000001",
        "0x7f.1",
        "127.1",
        "0177.0.0.1",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::127.0.0.1]",
    ]
    .iter()
    .map(|host| format!("{host}:{port}"))
    .collect();
    if let Some(site) = &target6 {
        hosts.push(format!("[::1]:{}", site.addr.port()));
        hosts.push(format!("[::]:{}", site.addr.port()));
        hosts.push(format!("localhost:{}", site.addr.port()));
    }
    let mut raw = RawClient::connect(&proxy).await;
    for authority in &hosts {
        let response = raw.send(&get(&format!("http://{authority}/secret"), Some(&auth))).await;
        assert_refused(&response, authority);
    }
    // The same through reqwest (which normalises the numeric forms itself).
    let client = client(&proxy);
    for link in [
        format!("http://127.0.0.1:{port}/secret"),
        format!("http://localhost:{port}/secret"),
        format!("http://2130706433:{port}/secret"),
        format!("http://0x7f000001:{port}/secret"),
    ] {
        let response = client.get(&link).send().await.expect(&link);
        assert_eq!(response.status(), 403, "{link}");
        let body = response.text().await.expect("body");
        assert!(body.starts_with(REFUSAL_PREFIX), "{link}: {body}");
    }
    assert_eq!(target.accepted(), 0, "the refused target was connected to");
    if let Some(site) = &target6 {
        assert_eq!(site.accepted(), 0, "the [::1] target was connected to");
    }
    assert_eq!(proxy.refusals(), hosts.len() as u64 + 4);
}

#[tokio::test]
async fn connect_to_refused_targets_is_refused_and_allowed_tunnels_work() {
    let target = Site::start(Ipv4Addr::LOCALHOST.into(), "target").await.expect("site");
    let target6 = v6_loopback_site("target6").await;
    let allowed = Site::start(ALLOWED.into(), "allowed").await.expect("site");
    let proxy = EgressProxy::start(allow_only(&[ALLOWED])).await.expect("proxy");
    let auth = proxy_authorization(&proxy);
    let port = target.addr.port();
    let mut authorities: Vec<String> =
        ["127.0.0.1", "localhost", "2130706433", "0.0.0.0"].iter().map(|host| format!("{host}:{port}")).collect();
    if let Some(site) = &target6 {
        authorities.push(format!("[::1]:{}", site.addr.port()));
    }
    for authority in &authorities {
        let mut raw = RawClient::connect(&proxy).await;
        let response = raw.send(&connect(authority, Some(&auth))).await;
        assert_refused(&response, authority);
    }
    assert_eq!(target.accepted(), 0, "the refused target was connected to");
    if let Some(site) = &target6 {
        assert_eq!(site.accepted(), 0, "the [::1] target was connected to");
    }
    assert_eq!(proxy.refusals(), authorities.len() as u64);

    // An allowed CONNECT tunnels bytes both ways.
    let mut raw = RawClient::connect(&proxy).await;
    let response = raw.send(&connect(&allowed.addr.to_string(), Some(&auth))).await;
    assert_eq!(response.status, 200, "{response:?}");
    let tunnelled = raw.send(&format!("GET /through-the-tunnel HTTP/1.1\r\nHost: {}\r\n\r\n", allowed.addr)).await;
    assert_eq!(tunnelled.status, 200);
    assert_eq!(tunnelled.body, "allowed /through-the-tunnel");
    assert_eq!(allowed.accepted(), 1);
}

#[tokio::test]
async fn redirect_to_a_refused_host_is_refused_on_the_second_hop() {
    let target = Site::start(Ipv4Addr::LOCALHOST.into(), "target").await.expect("site");
    let allowed = Site::start(ALLOWED.into(), "allowed").await.expect("site");
    let proxy = EgressProxy::start(allow_only(&[ALLOWED])).await.expect("proxy");
    let link = allowed.url(&format!("/redirect?to={}", target.url("/secret")));

    // A client following redirects itself, as yt-dlp does: every hop is
    // a new request through the proxy. (reqwest's own redirect following
    // drops the proxy credential on a cross-host hop and gets a 407, so
    // the hops are followed by hand here; yt-dlp's hop is tested below.)
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(proxy.url()).expect("proxy"))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let first = client.get(&link).send().await.expect("first hop");
    assert_eq!(first.status(), 302);
    let location = first.headers().get("location").and_then(|v| v.to_str().ok()).expect("location").to_owned();
    assert_eq!(location, target.url("/secret"));
    let second = client.get(&location).send().await.expect("second hop");
    assert_eq!(second.status(), 403);
    let body = second.text().await.expect("body");
    assert!(body.starts_with(REFUSAL_PREFIX), "{body}");
    assert!(body.contains("127.0.0.1"), "{body}");

    // The same with a redirect to a name and to a numeric spelling.
    for to in [
        format!("http://localhost:{}/secret", target.addr.port()),
        format!("http://2130706433:{}/secret", target.addr.port()),
    ] {
        let hop = client.get(allowed.url(&format!("/redirect?to={to}"))).send().await.expect("first hop");
        assert_eq!(hop.status(), 302);
        let next = hop.headers().get("location").and_then(|v| v.to_str().ok()).expect("location").to_owned();
        let refused = client.get(&next).send().await.expect("second hop");
        assert_eq!(refused.status(), 403, "{to}");
    }

    assert_eq!(allowed.accepted(), 3);
    assert_eq!(target.accepted(), 0, "the redirect reached the target");
    assert_eq!(proxy.refusals(), 3);
}

#[tokio::test]
async fn keep_alive_requests_to_different_hosts_are_each_checked_and_routed() {
    let target = Site::start(Ipv4Addr::LOCALHOST.into(), "target").await.expect("site");
    let a = Site::start(ALLOWED.into(), "site-a").await.expect("site");
    let b = Site::start(ALLOWED_TOO.into(), "site-b").await.expect("site");
    let proxy = EgressProxy::start(allow_only(&[ALLOWED, ALLOWED_TOO])).await.expect("proxy");
    let auth = proxy_authorization(&proxy);
    let mut raw = RawClient::connect(&proxy).await;

    let one = raw.send(&get(&a.url("/one"), Some(&auth))).await;
    assert_eq!((one.status, one.body.as_str()), (200, "site-a /one"));
    let two = raw.send(&get(&b.url("/two"), Some(&auth))).await;
    assert_eq!((two.status, two.body.as_str()), (200, "site-b /two"));
    let three = raw.send(&get(&target.url("/three"), Some(&auth))).await;
    assert_refused(&three, "target on a kept-alive connection");
    let four = raw.send(&get(&a.url("/four"), Some(&auth))).await;
    assert_eq!((four.status, four.body.as_str()), (200, "site-a /four"));
    let five = raw.send(&get(&b.url("/five"), Some(&auth))).await;
    assert_eq!((five.status, five.body.as_str()), (200, "site-b /five"));

    assert_eq!(a.accepted(), 2);
    assert_eq!(b.accepted(), 2);
    assert_eq!(target.accepted(), 0);
    let paths = |site: &Site| -> Vec<String> {
        site.requests().iter().map(|head| head.split_whitespace().nth(1).unwrap_or("").to_owned()).collect()
    };
    assert_eq!(paths(&a), ["/one", "/four"]);
    assert_eq!(paths(&b), ["/two", "/five"]);
    assert_eq!(proxy.refusals(), 1);
}

#[tokio::test]
async fn requests_without_the_credential_get_407_and_go_nowhere() {
    let allowed = Site::start(ALLOWED.into(), "allowed").await.expect("site");
    let proxy = EgressProxy::start(allow_only(&[ALLOWED])).await.expect("proxy");
    let url = url::Url::parse(&proxy.url()).expect("proxy url");
    assert_eq!(url.host_str(), Some("127.0.0.1"));
    assert_eq!(url.username(), "kachay");
    assert!(url.password().is_some_and(|p| p.len() >= 32));

    let wrong = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("kachay:not-the-token"));
    for auth in [None, Some(wrong.as_str()), Some("Bearer abc"), Some("Basic !!!")] {
        let mut raw = RawClient::connect(&proxy).await;
        let response = raw.send(&get(&allowed.url("/x"), auth)).await;
        assert_eq!(response.status, 407, "{auth:?}");
        assert_eq!(response.header("proxy-authenticate"), Some("Basic realm=\"kachay\""));
        let mut raw = RawClient::connect(&proxy).await;
        let response = raw.send(&connect(&allowed.addr.to_string(), auth)).await;
        assert_eq!(response.status, 407, "CONNECT {auth:?}");
    }
    // A client that knows the address but not the token.
    let anonymous = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(format!("http://{}", proxy.local_addr())).expect("proxy"))
        .build()
        .expect("client");
    let response = anonymous.get(allowed.url("/x")).send().await.expect("request");
    assert_eq!(response.status(), 407);
    assert_eq!(allowed.accepted(), 0);

    // Every start has its own token.
    let other = EgressProxy::start(allow_only(&[ALLOWED])).await.expect("proxy");
    assert_ne!(url::Url::parse(&other.url()).expect("url").password(), url.password());
}

#[tokio::test]
async fn allow_all_still_reaches_loopback() {
    let target = Site::start(Ipv4Addr::LOCALHOST.into(), "target").await.expect("site");
    let proxy = EgressProxy::start(Arc::new(EgressPolicy::allow_all())).await.expect("proxy");
    let response = client(&proxy).get(target.url("/ok")).send().await.expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "target /ok");
    // Even so, the proxy does not forward to itself.
    let auth = proxy_authorization(&proxy);
    let mut raw = RawClient::connect(&proxy).await;
    let looped = raw.send(&get(&format!("http://{}/", proxy.local_addr()), Some(&auth))).await;
    assert_refused(&looped, "the proxy itself");
}

#[tokio::test]
async fn the_proxy_stops_when_dropped() {
    let proxy = EgressProxy::start(allow_only(&[ALLOWED])).await.expect("proxy");
    let addr = proxy.local_addr();
    let mut open = RawClient::connect(&proxy).await;
    drop(proxy);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(addr).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "still listening after drop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Open client connections are closed too.
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), open.reader.read(&mut byte)).await.expect("closed in time");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[tokio::test]
async fn idle_tunnels_and_client_connections_are_closed() {
    let allowed = Site::start(ALLOWED.into(), "allowed").await.expect("site");
    let timeouts = ProxyTimeouts { connect: Duration::from_secs(10), idle: Duration::from_millis(300) };
    let proxy = EgressProxy::start_with(allow_only(&[ALLOWED]), timeouts).await.expect("proxy");
    let auth = proxy_authorization(&proxy);
    let mut byte = [0u8; 1];

    // A client that connects and says nothing.
    let mut silent = RawClient::connect(&proxy).await;
    let read = tokio::time::timeout(Duration::from_secs(5), silent.reader.read(&mut byte))
        .await
        .expect("closed by the idle timeout");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");

    // A tunnel nobody uses (the site waits for a request that never comes).
    let mut raw = RawClient::connect(&proxy).await;
    let response = raw.send(&connect(&allowed.addr.to_string(), Some(&auth))).await;
    assert_eq!(response.status, 200);
    let started = tokio::time::Instant::now();
    let read = tokio::time::timeout(Duration::from_secs(5), raw.reader.read(&mut byte))
        .await
        .expect("tunnel closed by the idle timeout");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn an_allowed_destination_that_is_down_gets_502() {
    let closed_port = {
        let listener = TcpListener::bind((ALLOWED, 0)).await.expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let proxy = EgressProxy::start(allow_only(&[ALLOWED])).await.expect("proxy");
    let auth = proxy_authorization(&proxy);
    let mut raw = RawClient::connect(&proxy).await;
    let response = raw.send(&get(&format!("http://{ALLOWED}:{closed_port}/x"), Some(&auth))).await;
    assert_eq!(response.status, 502, "{response:?}");
    assert!(response.body.contains("could not connect"), "{response:?}");
    assert!(!is_egress_refusal(&response.body));
    let response = raw.send(&connect(&format!("{ALLOWED}:{closed_port}"), Some(&auth))).await;
    assert_eq!(response.status, 502, "{response:?}");
    assert_eq!(proxy.refusals(), 0);
}

#[tokio::test]
async fn requests_that_are_not_proxy_requests_are_rejected() {
    let proxy = EgressProxy::start(allow_only(&[ALLOWED])).await.expect("proxy");
    let auth = proxy_authorization(&proxy);
    let mut raw = RawClient::connect(&proxy).await;
    // Origin form: someone talking to the proxy as if it were a website.
    let response = raw
        .send(&format!("GET /admin HTTP/1.1\r\nHost: {}\r\nProxy-Authorization: {auth}\r\n\r\n", proxy.local_addr()))
        .await;
    assert_eq!(response.status, 400, "{response:?}");
    // https in absolute form (clients must CONNECT for https).
    let response = raw
        .send(&format!("GET https://{ALLOWED}:443/ HTTP/1.1\r\nHost: {ALLOWED}\r\nProxy-Authorization: {auth}\r\n\r\n"))
        .await;
    assert_eq!(response.status, 400, "{response:?}");
}

fn yt_dlp() -> Option<PathBuf> {
    let path = std::env::var_os("KACHAY_YT_DLP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/yt-dlp"));
    if path.exists() {
        Some(path)
    } else {
        eprintln!("SKIPPED: no yt-dlp at {} (run the setup script, or set KACHAY_YT_DLP)", path.display());
        None
    }
}

async fn run_yt_dlp(yt_dlp: &PathBuf, proxy: &EgressProxy, link: &str) -> (bool, String) {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(yt_dlp)
            .args(["-J", "--ignore-config", "--no-update", "--proxy"])
            .arg(proxy.url())
            .args(["--", link])
            .env_remove("http_proxy")
            .env_remove("https_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("all_proxy")
            .env_remove("ALL_PROXY")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("yt-dlp finished in time")
    .expect("yt-dlp ran");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    println!("--- yt-dlp {link}\nexit: {:?}\n{stderr}---", output.status.code());
    (output.status.success(), stderr)
}

#[tokio::test]
async fn yt_dlp_through_the_proxy_is_refused_and_reaches_nothing() {
    let Some(yt_dlp) = yt_dlp() else { return };
    let target = Site::start(Ipv4Addr::LOCALHOST.into(), "target").await.expect("site");
    let allowed = Site::start(ALLOWED.into(), "allowed").await.expect("site");
    let proxy = EgressProxy::start(allow_only(&[ALLOWED])).await.expect("proxy");

    // Direct: plain http, then https (a CONNECT).
    for link in [target.url("/x"), format!("https://127.0.0.1:{}/x", target.addr.port())] {
        let (ok, stderr) = run_yt_dlp(&yt_dlp, &proxy, &link).await;
        assert!(!ok, "{link}");
        assert!(is_egress_refusal(&stderr), "{link}: {stderr}");
        assert!(!stderr.contains(&proxy.url()), "the credential leaked: {stderr}");
    }
    // Through a redirect from the allowed host.
    let link = allowed.url(&format!("/redirect?to={}", target.url("/x")));
    let (ok, stderr) = run_yt_dlp(&yt_dlp, &proxy, &link).await;
    assert!(!ok);
    assert!(is_egress_refusal(&stderr), "{stderr}");
    assert!(allowed.accepted() >= 1, "the first hop went through");

    assert_eq!(target.accepted(), 0, "yt-dlp reached the refused target");
    assert!(proxy.refusals() >= 3);
}

#[tokio::test]
async fn yt_dlp_hls_segments_on_a_refused_host_are_not_fetched() {
    let Some(yt_dlp) = yt_dlp() else { return };
    let target = Site::start(Ipv4Addr::LOCALHOST.into(), "target").await.expect("site");
    let allowed = Site::start(ALLOWED.into(), "allowed").await.expect("site");
    let proxy = EgressProxy::start(allow_only(&[ALLOWED])).await.expect("proxy");
    let dir = tempfile::tempdir().expect("temp dir");
    // An allowed playlist whose segment lives on the refused host.
    let link = allowed.url(&format!("/media.m3u8?segment={}", target.url("/seg0.ts")));
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(&yt_dlp)
            .args(["--ignore-config", "--no-update", "--no-progress", "--proxy"])
            .arg(proxy.url())
            .arg("-P")
            .arg(dir.path())
            .args(["--", &link])
            .env_remove("http_proxy")
            .env_remove("HTTP_PROXY")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("yt-dlp finished in time")
    .expect("yt-dlp ran");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("--- yt-dlp {link}\nexit: {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}---", output.status.code());
    assert!(!output.status.success());
    // For fragments the refusal is on stdout only; stderr just says
    // "ERROR: The downloaded file is empty".
    assert!(is_egress_refusal(&stdout), "{stdout}");
    assert_eq!(
        egress_refusal_message(&stdout).as_deref(),
        Some("This server does not download from private or local network addresses (127.0.0.1, a loopback address).")
    );
    assert_eq!(target.accepted(), 0, "a segment was fetched from the refused host");
    assert!(proxy.refusals() >= 1);
}

#[tokio::test]
async fn ffmpeg_through_the_proxy_is_refused_and_reaches_nothing() {
    let ffmpeg = PathBuf::from(std::env::var_os("KACHAY_FFMPEG").unwrap_or_else(|| "ffmpeg".into()));
    let target = Site::start(Ipv4Addr::LOCALHOST.into(), "target").await.expect("site");
    let allowed = Site::start(ALLOWED.into(), "allowed").await.expect("site");
    let proxy = EgressProxy::start(allow_only(&[ALLOWED])).await.expect("proxy");
    for link in [target.url("/x.m3u8"), allowed.url(&format!("/media.m3u8?segment={}", target.url("/seg0.ts")))] {
        let output = tokio::time::timeout(
            Duration::from_secs(60),
            tokio::process::Command::new(&ffmpeg)
                .args(["-nostdin", "-hide_banner", "-http_proxy"])
                .arg(proxy.url())
                .args(["-i", &link, "-f", "null", "-"])
                .env_remove("http_proxy")
                .env_remove("HTTP_PROXY")
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("ffmpeg finished in time");
        let output = match output {
            Ok(output) => output,
            Err(e) => {
                eprintln!("SKIPPED: could not run {}: {e}", ffmpeg.display());
                return;
            }
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        println!("--- ffmpeg {link}\nexit: {:?}\n{stderr}---", output.status.code());
        assert!(!output.status.success(), "{link}");
        assert!(is_egress_refusal(&stderr), "{link}: {stderr}");
    }
    assert_eq!(target.accepted(), 0, "ffmpeg reached the refused target");
    assert!(proxy.refusals() >= 2);
}
