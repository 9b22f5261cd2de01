//! Local HTTP listeners for the guard tests. Everything listens on and
//! connects to loopback addresses only.
//!
//! A [`Site`] counts every TCP connection it accepts and records every
//! request head, so a test can prove that a refused destination was never
//! contacted (its count stays 0) and that an allowed one was.

#![allow(dead_code)] // each test binary uses a different part of this

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The allowed "public" origin: the tests' policy allows only this address.
pub const ALLOWED: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// The bytes `/media` serves (256 distinct bytes, so a wrong range shows).
pub fn media() -> Vec<u8> {
    (0..=255u8).collect()
}

/// One request head as the site received it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

pub struct Site {
    addrs: Vec<SocketAddr>,
    name: &'static str,
    accepted: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Request>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Site {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Site {
    /// A site on `ip`, on a free port.
    pub async fn start(ip: IpAddr, name: &'static str) -> Site {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind");
        Self::serve(vec![listener], name)
    }

    /// A site on 127.0.0.1 and, when the machine has IPv6 loopback, on
    /// [::1] with the same port: the forbidden target, reached by every
    /// spelling of "this machine" (0.0.0.0 and ::ffff:127.0.0.1 included).
    pub async fn start_local(name: &'static str) -> Site {
        for _ in 0..20 {
            let v4 = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind 127.0.0.1");
            let port = v4.local_addr().expect("addr").port();
            match TcpListener::bind((Ipv6Addr::LOCALHOST, port)).await {
                Ok(v6) => return Self::serve(vec![v4, v6], name),
                // The port is taken on ::1: try another one.
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
                // No IPv6 loopback here: nothing can connect to [::1] either.
                Err(_) => return Self::serve(vec![v4], name),
            }
        }
        panic!("no port free on both 127.0.0.1 and [::1]");
    }

    fn serve(listeners: Vec<TcpListener>, name: &'static str) -> Site {
        let accepted = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let mut addrs = Vec::new();
        let mut tasks = Vec::new();
        for listener in listeners {
            addrs.push(listener.local_addr().expect("addr"));
            let (count, log) = (accepted.clone(), requests.clone());
            tasks.push(tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    count.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(answer(stream, name, log.clone()));
                }
            }));
        }
        Site { addrs, name, accepted, requests, tasks }
    }

    pub fn port(&self) -> u16 {
        self.addrs[0].port()
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("lock").clone()
    }

    pub fn targets(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.target).collect()
    }

    /// `http://ADDR/path` on the site's first address.
    pub fn url(&self, path: &str) -> url::Url {
        url::Url::parse(&format!("http://{}{path}", self.addrs[0])).expect("site url")
    }

    /// A path on this site that answers `status` with `Location: to`.
    pub fn redirect(&self, status: u16, to: &str) -> url::Url {
        let to: String = url::form_urlencoded::byte_serialize(to.as_bytes()).collect();
        self.url(&format!("/redirect?status={status}&to={to}"))
    }
}

async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await.ok()?.ok()?;
        if n == 0 || head.len() > 16 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(head).ok()
}

fn parse_head(head: &str) -> Option<Request> {
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Some(Request { method, target, headers })
}

struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn new(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply { status, headers: Vec::new(), body: body.into() }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

/// Routes:
/// - `/media`: [`media`], honouring `Range: bytes=A-B` with a 206;
/// - `/redirect?status=S&to=URL`: S with `Location: URL`;
/// - `/countdown/N`: 302 to `/countdown/N-1`, and 200 "done" at 0;
/// - `/loop`: 302 to itself;
/// - anything else: 200 "NAME PATH".
fn route(name: &str, request: &Request) -> Reply {
    let url = url::Url::parse(&format!("http://site{}", request.target)).ok();
    let path = url.as_ref().map(|u| u.path().to_owned()).unwrap_or_default();
    let query =
        |key: &str| url.as_ref().and_then(|u| u.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned()));
    if path == "/media" {
        let media = media();
        let range = request
            .header("range")
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.split_once('-'))
            .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)))
            .filter(|&(a, b)| a <= b && b < media.len());
        return match range {
            Some((a, b)) => {
                Reply::new(206, &media[a..=b]).header("Content-Range", format!("bytes {a}-{b}/{}", media.len()))
            }
            None => Reply::new(200, media),
        };
    }
    if path == "/redirect" {
        let status = query("status").and_then(|s| s.parse().ok()).unwrap_or(302);
        let to = query("to").unwrap_or_default();
        return Reply::new(status, "").header("Location", to);
    }
    if let Some(n) = path.strip_prefix("/countdown/") {
        return match n.parse::<u32>() {
            Ok(0) => Reply::new(200, "done"),
            Ok(n) => Reply::new(302, "").header("Location", format!("/countdown/{}", n - 1)),
            Err(_) => Reply::new(400, "bad countdown"),
        };
    }
    if path == "/loop" {
        return Reply::new(302, "").header("Location", "/loop");
    }
    Reply::new(200, format!("{name} {path}"))
}

async fn answer(mut stream: TcpStream, name: &'static str, log: Arc<Mutex<Vec<Request>>>) {
    let Some(request) = read_head(&mut stream).await.as_deref().and_then(parse_head) else {
        return;
    };
    log.lock().expect("lock").push(request.clone());
    let reply = route(name, &request);
    let mut head = format!("HTTP/1.1 {} X\r\n", reply.status);
    for (key, value) in &reply.headers {
        head.push_str(&format!("{key}: {value}\r\n"));
    }
    // One request per connection keeps the accepted-connection count an
    // exact count of requests.
    head.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", reply.body.len()));
    let _ = stream.write_all(head.as_bytes()).await;
    if request.method != "HEAD" {
        let _ = stream.write_all(&reply.body).await;
    }
    let _ = stream.shutdown().await;
}

/// `send()` with a deadline, so a broken guard fails the test instead of
/// hanging it.
pub async fn send(request: reqwest::RequestBuilder) -> Result<reqwest::Response, reqwest::Error> {
    tokio::time::timeout(Duration::from_secs(20), request.send()).await.expect("request finished within 20 s")
}

/// The error and its `source()` chain, one line per layer, for messages.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut layers = Vec::new();
    let mut next = Some(err);
    while let Some(current) = next {
        layers.push(format!("{current}  [{current:?}]"));
        next = current.source();
    }
    layers.join("\n  caused by: ")
}
