//! A small HTTP/1.1 forward proxy that yt-dlp and ffmpeg are sent through.
//!
//! It listens on 127.0.0.1 only, answers 407 to anyone without the per-start
//! credential, and checks every destination with [`EgressPolicy`] before
//! connecting: `CONNECT host:port` tunnels (https) and absolute-form
//! `GET http://host/path` requests (plain http). Each plain request is checked
//! and sent over its own upstream connection to its own host, so requests for
//! several hosts on one keep-alive client connection are each routed (and
//! refused) on their own. Redirects are followed by the client, so every hop
//! comes through here again.

use super::idle::IdleTimeout;
use super::{EgressPolicy, Refusal};
use base64::Engine as _;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::ext::ReasonPhrase;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Uri, Version};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::{CancellationToken, DropGuard};

/// How long connecting to one destination address may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may go without a byte in either direction.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The start of the reason phrase and body of every refusal; yt-dlp prints
/// the reason phrase, see [`super::is_egress_refusal`].
pub const REFUSAL_PREFIX: &str = "Destination refused by Kachay's egress guard";
/// The reason phrase of the proxy's own 502s (the destination could not be
/// resolved, connected to, or gave no valid answer): yt-dlp prints it as
/// `HTTP Error 502: <this>`, which tells it apart from a site's own 502.
pub const UNREACHABLE_REASON: &str = "Kachay proxy could not reach the destination";

const PROXY_USER: &str = "kachay";

type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// Timeouts of an [`EgressProxy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyTimeouts {
    /// Connecting to one destination address.
    pub connect: Duration,
    /// A connection (client side or destination side) without traffic.
    pub idle: Duration,
}

impl Default for ProxyTimeouts {
    fn default() -> Self {
        Self { connect: CONNECT_TIMEOUT, idle: IDLE_TIMEOUT }
    }
}

/// The running proxy. Dropping it stops the listener and every connection.
pub struct EgressProxy {
    addr: SocketAddr,
    token: String,
    shared: Arc<Shared>,
    _stop: DropGuard,
}

impl fmt::Debug for EgressProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EgressProxy")
            .field("addr", &self.addr)
            .field("token", &"<redacted>")
            .field("refusals", &self.refusals())
            .finish()
    }
}

struct Shared {
    policy: Arc<EgressPolicy>,
    /// `kachay:<token>`, as the Basic credential decodes.
    credential: Vec<u8>,
    refusals: AtomicU64,
    timeouts: ProxyTimeouts,
    own_addr: SocketAddr,
    stop: CancellationToken,
}

impl EgressProxy {
    /// Binds 127.0.0.1:0 and serves until dropped, with the default timeouts
    /// (connect 10 s, idle 60 s).
    pub async fn start(policy: Arc<EgressPolicy>) -> io::Result<EgressProxy> {
        Self::start_with(policy, ProxyTimeouts::default()).await
    }

    /// Like [`start`](Self::start) with other timeouts.
    pub async fn start_with(policy: Arc<EgressPolicy>, timeouts: ProxyTimeouts) -> io::Result<EgressProxy> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        // 122 random bits from the operating system's generator.
        let token = uuid::Uuid::new_v4().simple().to_string();
        let stop = CancellationToken::new();
        let shared = Arc::new(Shared {
            policy,
            credential: format!("{PROXY_USER}:{token}").into_bytes(),
            refusals: AtomicU64::new(0),
            timeouts,
            own_addr: addr,
            stop: stop.clone(),
        });
        tokio::spawn(accept_loop(listener, shared.clone()));
        tracing::debug!(%addr, "egress proxy listening");
        Ok(EgressProxy { addr, token, shared, _stop: stop.drop_guard() })
    }

    /// The proxy URL with its credential, for `yt-dlp --proxy` and ffmpeg's
    /// `-http_proxy`: `http://kachay:<token>@127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{PROXY_USER}:{}@{}", self.token, self.addr)
    }

    /// The address the proxy listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many destinations were refused since the start.
    pub fn refusals(&self) -> u64 {
        self.shared.refusals.load(Ordering::Relaxed)
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let accepted = tokio::select! {
            _ = shared.stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!("egress proxy: accept failed: {e}");
                tokio::select! {
                    _ = shared.stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
                }
            }
        };
        tokio::spawn(serve_client(stream, shared.clone()));
    }
}

async fn serve_client(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(IdleTimeout::new(stream, shared.timeouts.idle));
    let handler = shared.clone();
    let service = service_fn(move |req| handle(req, handler.clone()));
    let connection = hyper::server::conn::http1::Builder::new()
        .preserve_header_case(true)
        .serve_connection(io, service)
        .with_upgrades();
    tokio::select! {
        _ = shared.stop.cancelled() => {}
        served = connection => {
            if let Err(e) = served {
                tracing::debug!("egress proxy: client connection ended: {e}");
            }
        }
    }
}

async fn handle(req: Request<Incoming>, shared: Arc<Shared>) -> Result<Response<ProxyBody>, Infallible> {
    if !shared.authorized(req.headers()) {
        tracing::info!("egress proxy: refused a request without the proxy credential");
        return Ok(proxy_auth_required());
    }
    Ok(if req.method() == Method::CONNECT { tunnel(req, shared).await } else { forward(req, shared).await })
}

impl Shared {
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(header::PROXY_AUTHORIZATION) else {
            return false;
        };
        let Ok(value) = value.to_str() else {
            return false;
        };
        let Some((scheme, encoded)) = value.trim().split_once(' ') else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        match base64::engine::general_purpose::STANDARD.decode(encoded.trim()) {
            Ok(given) => constant_time_eq(&given, &self.credential),
            Err(_) => false,
        }
    }

    /// Checks a destination; a refusal comes back as the response to send.
    async fn check(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Response<ProxyBody>> {
        let checked = self.policy.check_host(host, port).await.and_then(|addrs| {
            let own = self.own_addr;
            let loops = addrs
                .iter()
                .any(|addr| addr.port() == own.port() && (addr.ip() == own.ip() || addr.ip().is_unspecified()));
            if loops {
                Err(Refusal::ProxyLoop)
            } else {
                Ok(addrs)
            }
        });
        match checked {
            Ok(addrs) => Ok(addrs),
            Err(refusal) if refusal.is_policy() => {
                self.refusals.fetch_add(1, Ordering::Relaxed);
                // The sentence never names the address a name resolved to;
                // the log does (netguard logs the address it refused by).
                match &refusal {
                    Refusal::Blocked { ip, class, .. } => {
                        tracing::info!(host, port, %ip, ?class, reason = %refusal, "egress guard refused a destination")
                    }
                    _ => {
                        tracing::info!(host, port, reason = %refusal, "egress guard refused a destination")
                    }
                }
                Err(refused(&refusal))
            }
            Err(failure) => {
                tracing::info!(host, port, reason = %failure, "egress proxy could not resolve a destination");
                Err(text_response(StatusCode::BAD_GATEWAY, UNREACHABLE_REASON, &failure.to_string()))
            }
        }
    }

    async fn connect(&self, host: &str, addrs: &[SocketAddr]) -> Result<TcpStream, Response<ProxyBody>> {
        let mut last_error = None;
        for addr in addrs {
            match tokio::time::timeout(self.timeouts.connect, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => {
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Ok(Err(e)) => last_error = Some(e.to_string()),
                Err(_) => {
                    last_error = Some(format!("no answer within {} seconds", self.timeouts.connect.as_secs_f32()))
                }
            }
        }
        let detail = last_error.unwrap_or_else(|| "no address to connect to".to_owned());
        tracing::info!(host, "egress proxy could not connect: {detail}");
        Err(text_response(
            StatusCode::BAD_GATEWAY,
            UNREACHABLE_REASON,
            &format!("Kachay's proxy could not connect to {host}: {detail}."),
        ))
    }
}

/// `CONNECT host:port`: check, connect to the checked addresses, then copy
/// bytes both ways once the client has the 200.
async fn tunnel(mut req: Request<Incoming>, shared: Arc<Shared>) -> Response<ProxyBody> {
    let Some((host, port)) = req.uri().authority().and_then(|a| Some((a.host().to_owned(), a.port_u16()?))) else {
        return text_response(StatusCode::BAD_REQUEST, "Bad Request", "CONNECT needs a host:port target.");
    };
    let addrs = match shared.check(&host, port).await {
        Ok(addrs) => addrs,
        Err(response) => return response,
    };
    let upstream = match shared.connect(&host, &addrs).await {
        Ok(stream) => stream,
        Err(response) => return response,
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let idle = shared.timeouts.idle;
    let stop = shared.stop.clone();
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(e) => {
                tracing::debug!("egress proxy: CONNECT upgrade failed: {e}");
                return;
            }
        };
        let mut client = TokioIo::new(upgraded);
        let mut upstream = IdleTimeout::new(upstream, idle);
        tokio::select! {
            _ = stop.cancelled() => {}
            copied = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {
                if let Err(e) = copied {
                    tracing::debug!(host, "egress proxy: tunnel ended: {e}");
                }
            }
        }
    });
    let mut response = Response::new(empty());
    response.extensions_mut().insert(ReasonPhrase::from_static(b"Connection established"));
    response
}

/// An absolute-form request (`GET http://host/path`): check its own host,
/// connect to the checked addresses and send it there in origin form.
async fn forward(req: Request<Incoming>, shared: Arc<Shared>) -> Response<ProxyBody> {
    let (mut parts, body) = req.into_parts();
    match parts.uri.scheme_str() {
        Some("http") => {}
        Some(_) => {
            return text_response(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                "This proxy forwards only http:// requests; use CONNECT for https.",
            )
        }
        None => {
            return text_response(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                "This is Kachay's egress proxy: send requests in absolute form.",
            )
        }
    }
    let Some(authority) = parts.uri.authority().cloned() else {
        return text_response(StatusCode::BAD_REQUEST, "Bad Request", "The request has no host.");
    };
    let host = authority.host();
    let port = authority.port_u16().unwrap_or(80);
    let addrs = match shared.check(host, port).await {
        Ok(addrs) => addrs,
        Err(response) => return response,
    };
    let upstream = match shared.connect(host, &addrs).await {
        Ok(stream) => stream,
        Err(response) => return response,
    };
    let io = TokioIo::new(IdleTimeout::new(upstream, shared.timeouts.idle));
    let (mut sender, connection) = match hyper::client::conn::http1::Builder::new()
        .preserve_header_case(true)
        .handshake::<_, Incoming>(io)
        .await
    {
        Ok(handshake) => handshake,
        Err(e) => return upstream_failed(host, &e),
    };
    let stop = shared.stop.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = stop.cancelled() => {}
            done = connection => {
                if let Err(e) = done {
                    tracing::debug!("egress proxy: upstream connection ended: {e}");
                }
            }
        }
    });

    // Origin form, the destination's own Host, no proxy or hop-by-hop headers,
    // and one request per upstream connection.
    parts.uri = match parts.uri.path_and_query() {
        Some(path) => Uri::from(path.clone()),
        None => Uri::from_static("/"),
    };
    parts.version = Version::HTTP_11;
    strip_hop_by_hop(&mut parts.headers);
    let host_header = match authority.port_u16() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    match HeaderValue::from_str(&host_header) {
        Ok(value) => {
            parts.headers.insert(header::HOST, value);
        }
        Err(_) => return text_response(StatusCode::BAD_REQUEST, "Bad Request", "The host is not valid."),
    }
    parts.headers.insert(header::CONNECTION, HeaderValue::from_static("close"));

    match sender.send_request(Request::from_parts(parts, body)).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            Response::from_parts(parts, body.boxed())
        }
        Err(e) => upstream_failed(host, &e),
    }
}

fn upstream_failed(host: &str, error: &hyper::Error) -> Response<ProxyBody> {
    tracing::info!(host, "egress proxy: the destination failed: {error}");
    text_response(
        StatusCode::BAD_GATEWAY,
        UNREACHABLE_REASON,
        &format!("Kachay's proxy got no valid answer from {host}: {error}."),
    )
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .filter(|name| name != header::HOST)
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

fn refused(refusal: &Refusal) -> Response<ProxyBody> {
    let message = format!("{REFUSAL_PREFIX}: {refusal}");
    let mut response = text_response(StatusCode::FORBIDDEN, &message, &message);
    response.headers_mut().insert("x-kachay-egress", HeaderValue::from_static("refused"));
    response
}

fn proxy_auth_required() -> Response<ProxyBody> {
    let mut response = text_response(
        StatusCode::PROXY_AUTHENTICATION_REQUIRED,
        "Proxy Authentication Required",
        "This is Kachay's egress proxy; it serves only Kachay's own downloads.",
    );
    response.headers_mut().insert(header::PROXY_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"kachay\""));
    response
}

fn text_response(status: StatusCode, reason: &str, body: &str) -> Response<ProxyBody> {
    let mut response = Response::new(full(format!("{body}\n")));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    if let Ok(reason) = ReasonPhrase::try_from(reason.as_bytes()) {
        response.extensions_mut().insert(reason);
    }
    response
}

fn full(text: String) -> ProxyBody {
    Full::new(Bytes::from(text)).map_err(|never| match never {}).boxed()
}

fn empty() -> ProxyBody {
    Full::new(Bytes::new()).map_err(|never| match never {}).boxed()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn egress_hop_by_hop_headers_are_removed() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("connection", "keep-alive, x-secret"),
            ("x-secret", "1"),
            ("proxy-authorization", "Basic abc"),
            ("proxy-connection", "keep-alive"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("upgrade", "websocket"),
            ("user-agent", "yt-dlp"),
            ("range", "bytes=0-"),
        ] {
            headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        strip_hop_by_hop(&mut headers);
        let mut left: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["range", "user-agent"]);
    }

    #[test]
    fn egress_credential_comparison() {
        assert!(constant_time_eq(b"kachay:abc", b"kachay:abc"));
        assert!(!constant_time_eq(b"kachay:abd", b"kachay:abc"));
        assert!(!constant_time_eq(b"kachay:ab", b"kachay:abc"));
        assert!(!constant_time_eq(b"", b"kachay:abc"));
    }

    #[test]
    fn egress_refusal_response_carries_the_sentence() {
        let refusal = Refusal::MissingHost;
        let response = refused(&refusal);
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let reason = response.extensions().get::<ReasonPhrase>().expect("reason phrase");
        assert_eq!(std::str::from_utf8(reason.as_bytes()).expect("ascii"), format!("{REFUSAL_PREFIX}: {refusal}"));
    }
}
