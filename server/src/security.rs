//! Who is asking (client IP behind trusted proxies), how often (rate limits
//! with `governor`, a maintained GCRA limiter), and the headers every answer
//! carries (CSP with Leptos' nonce, nosniff, referrer policy, no framing).

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// The client's address, as far as it can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

/// Addresses of reverse proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// `TRUSTED_PROXIES`: a comma list of CIDRs or addresses.
    pub fn parse(setting: Option<&str>) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for entry in setting.unwrap_or_default().split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{entry:?} is not an address or CIDR"))?;
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The peer, unless it is a trusted proxy: then the right-most address in
    /// `X-Forwarded-For` that is not itself a trusted proxy.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|part| part.trim().parse::<IpAddr>().ok())
            .map(canonical)
            .collect();
        forwarded.into_iter().rev().find(|ip| !self.contains(*ip)).unwrap_or(peer)
    }
}

/// `::ffff:1.2.3.4` is `1.2.3.4`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Resolves the client's address for every request (stored as an extension).
pub async fn client_ip(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer =
        request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let ip = state.trusted_proxies.client_ip(peer, request.headers());
    request.extensions_mut().insert(ClientIp(ip));
    next.run(request).await
}

/// Per-client limits on POST requests.
pub struct PostLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    /// With `REDIS_URL`: the same limit, held by all nodes together (the
    /// local one is then unused).
    shared: Option<crate::cluster::limits::SharedLimiter>,
}

/// Why a POST may not go on.
#[derive(Debug)]
pub enum Throttled {
    /// Too fast: wait this long.
    Wait(Duration),
    /// The shared limit cannot be read (Redis is down).
    Unavailable(crate::cluster::Unavailable),
}

impl PostLimiter {
    pub fn new(per_minute: u32, burst: u32) -> PostLimiter {
        let per_minute = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
        PostLimiter { limiter: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)), shared: None }
    }

    /// The same limit, shared through Redis by every node.
    pub fn shared(redis: std::sync::Arc<crate::cluster::Redis>, per_minute: u32, burst: u32) -> PostLimiter {
        PostLimiter {
            shared: Some(crate::cluster::limits::SharedLimiter::new(redis, per_minute, burst)),
            ..PostLimiter::new(per_minute, burst)
        }
    }

    /// `Err(wait)` when this client must wait before its next request
    /// (this node's own count).
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.limiter.check_key(&ip).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Whether this client may send a POST now, by the shared count when
    /// there is one.
    pub async fn admit(&self, ip: IpAddr) -> Result<(), Throttled> {
        match &self.shared {
            Some(shared) => match shared.check(ip).await {
                Ok(result) => result.map_err(Throttled::Wait),
                Err(e) => Err(Throttled::Unavailable(e)),
            },
            None => self.check(ip).map_err(Throttled::Wait),
        }
    }

    /// Forgets clients that have not been seen for a while.
    pub fn shrink(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// 429 with `Retry-After` when a client sends POSTs too fast.
pub async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() == Method::POST {
        let ip = request.extensions().get::<ClientIp>().map(|c| c.0).unwrap_or(IpAddr::from([0, 0, 0, 0]));
        match state.post_limiter.admit(ip).await {
            Ok(()) => {}
            Err(Throttled::Wait(wait)) => {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                return ApiError::RateLimited { retry_after: secs.max(1) }.into_response();
            }
            Err(Throttled::Unavailable(e)) => {
                tracing::warn!(error = %e, "POST refused: the shared rate limit cannot be read");
                return ApiError::SharedStateUnavailable.into_response();
            }
        }
    }
    next.run(request).await
}

/// The nonce of this response's inline scripts.
#[derive(Debug, Clone)]
struct CspNonce(String);

/// Security headers on every answer; pages get a CSP that allows only the
/// app's own scripts: its files and the inline hydration script carrying
/// this response's nonce (Leptos adds it through `use_nonce`).
pub async fn security_headers(mut request: Request, next: Next) -> Response {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let is_html =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    let csp = if is_html {
        format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             style-src 'self' 'unsafe-inline'; img-src 'self' https: http: data:; connect-src 'self'; \
             media-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
             frame-ancestors 'none'"
        )
    } else {
        "default-src 'none'; frame-ancestors 'none'; sandbox".to_string()
    };
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    response
}

/// Makes the nonce of this request available to the Leptos render.
pub fn provide_nonce_from_request() {
    use leptos::prelude::{provide_context, use_context};
    if let Some(parts) = use_context::<http::request::Parts>() {
        if let Some(CspNonce(nonce)) = parts.extensions.get::<CspNonce>() {
            provide_context(leptos::nonce::Nonce::from_value(nonce.clone()));
        }
    }
}

/// The client an IPv6 address belongs to: its /64 (one household or server
/// gets a whole /64, so per-address limits would be no limits at all).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::V6(octets.into())
        }
        v4 => v4,
    }
}

/// Which `Host` names the server answers to (a DNS-rebinding defence, as
/// Transmission added after CVE-2018-5702): a page on `attacker.example`
/// whose name is made to resolve to 127.0.0.1 can send requests to a
/// password-less Kachay, but they carry `Host: attacker.example`.
///
/// IP literals are always answered: rebinding needs a name the attacker
/// controls, and a server bound to 0.0.0.0 is reached by addresses nobody
/// listed (its LAN IPs, a container's). Names: `localhost`, `ALLOWED_HOSTS`
/// and the host of `PUBLIC_URL`. With `ACCESS_PASSWORD` set, any name is
/// answered: a rebinding page cannot log in, and the session cookie is
/// never sent to its name.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    any: bool,
    names: std::collections::HashSet<String>,
}

impl HostPolicy {
    pub fn new(allowed_hosts: Option<&str>, public_url: Option<&url::Url>, password_set: bool) -> HostPolicy {
        let mut names: std::collections::HashSet<String> =
            allowed_hosts.unwrap_or_default().split(',').filter_map(|entry| host_name(entry.trim())).collect();
        names.insert("localhost".into());
        if let Some(host) = public_url.and_then(url::Url::host_str).and_then(host_name) {
            names.insert(host);
        }
        let any = password_set || allowed_hosts.unwrap_or_default().split(',').any(|e| e.trim() == "*");
        HostPolicy { any, names }
    }

    /// Whether a request carrying this `Host` is served. A request without
    /// one (HTTP/1.0, a hand-made client) is: browsers always send it.
    fn allows(&self, host: Option<&str>) -> bool {
        if self.any {
            return true;
        }
        let Some(host) = host else { return true };
        let Some(name) = host_name(host) else { return false };
        name.parse::<IpAddr>().is_ok() || self.names.contains(&name)
    }
}

/// The host of a `Host` value or a setting entry, lower-case, without port,
/// brackets or trailing dot: `[::1]:3000` → `::1`, `Kachay.LAN.:80` → `kachay.lan`.
fn host_name(value: &str) -> Option<String> {
    let value = value.trim();
    let host = if let Some(rest) = value.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))) {
            return None;
        }
        inside
    } else {
        match value.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            Some(_) => return None,
            None => value,
        }
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// 421 Misdirected Request for a `Host` the server does not answer to.
pub async fn allowed_host(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"))
        .or_else(|| request.uri().authority().map(|a| a.as_str()));
    if state.hosts.allows(host) {
        return next.run(request).await;
    }
    tracing::info!(host = ?host, "refused a request for a host name that is not allowed");
    if request.uri().path().starts_with("/api/") {
        return ApiError::HostNotAllowed.into_response();
    }
    let sentence = ApiError::HostNotAllowed.public_message();
    (axum::http::StatusCode::MISDIRECTED_REQUEST, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], sentence)
        .into_response()
}

/// Open event streams per client, each held by a [`StreamSlot`].
#[derive(Debug)]
pub struct StreamCounter {
    limit: usize,
    open: std::sync::Mutex<std::collections::HashMap<IpAddr, usize>>,
}

/// One open stream; dropping it (the stream ended or the client went away)
/// frees its place.
#[derive(Debug)]
pub struct StreamSlot {
    counter: Arc<StreamCounter>,
    client: IpAddr,
}

impl StreamCounter {
    pub fn new(limit: usize) -> Arc<StreamCounter> {
        Arc::new(StreamCounter { limit: limit.max(1), open: Default::default() })
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// A place for one more stream of `ip`, unless it has `limit` open.
    pub fn try_open(self: &Arc<Self>, ip: IpAddr) -> Option<StreamSlot> {
        let client = client_key(ip);
        let mut open = self.open.lock().ok()?;
        let count = open.entry(client).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(StreamSlot { counter: Arc::clone(self), client })
    }

    /// Streams `ip` has open now.
    pub fn open(&self, ip: IpAddr) -> usize {
        self.open.lock().ok().and_then(|open| open.get(&client_key(ip)).copied()).unwrap_or(0)
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.counter.open.lock() {
            if let Some(count) = open.get_mut(&self.client) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    open.remove(&self.client);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies = TrustedProxies::parse(Some("10.0.0.0/8, 127.0.0.1")).unwrap_or_default();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9, 10.1.2.3"));
        assert_eq!(proxies.client_ip(ip("10.0.0.5"), &headers), ip("203.0.113.9"));
        assert_eq!(proxies.client_ip(ip("::ffff:127.0.0.1"), &headers), ip("203.0.113.9"));
        // An untrusted peer cannot claim another address.
        assert_eq!(proxies.client_ip(ip("198.51.100.7"), &headers), ip("198.51.100.7"));
        // A spoofed left-most entry does not win over the last untrusted hop.
        headers.insert("x-forwarded-for", HeaderValue::from_static("1.1.1.1, 203.0.113.9"));
        assert_eq!(proxies.client_ip(ip("10.0.0.5"), &headers), ip("203.0.113.9"));
        // Garbage falls back to the peer.
        headers.insert("x-forwarded-for", HeaderValue::from_static("nonsense"));
        assert_eq!(proxies.client_ip(ip("10.0.0.5"), &headers), ip("10.0.0.5"));
        assert!(TrustedProxies::parse(Some("10.0.0.0/33")).is_err());
    }

    #[test]
    fn host_names_are_read_like_browsers_send_them() {
        let public = url::Url::parse("https://Video.Example.org/").ok();
        let policy = HostPolicy::new(Some("kachay.lan, nas.local:8080"), public.as_ref(), false);
        for host in [
            "localhost",
            "LOCALHOST.:3000",
            "127.0.0.1:3000",
            "192.168.1.20",
            "[::1]:3000",
            "[fe80::1]",
            "kachay.lan",
            "kachay.lan:3000",
            "nas.local",
            "video.example.org",
        ] {
            assert!(policy.allows(Some(host)), "{host}");
        }
        for host in [
            "rebind.attacker.example",
            "kachay.lan.attacker.example",
            "localhost.attacker.example",
            "[::1",
            "[::1]x",
            "a:b",
            "",
            "2130706433.attacker.example",
        ] {
            assert!(!policy.allows(Some(host)), "{host}");
        }
        assert!(policy.allows(None));
        assert!(HostPolicy::new(None, None, true).allows(Some("rebind.attacker.example")));
        assert!(HostPolicy::new(Some("*"), None, false).allows(Some("rebind.attacker.example")));
    }

    #[test]
    fn stream_slots_are_counted_per_client_and_freed_on_drop() {
        let counter = StreamCounter::new(2);
        let a = ip("192.0.2.1");
        let first = counter.try_open(a);
        let second = counter.try_open(a);
        assert!(first.is_some() && second.is_some());
        assert!(counter.try_open(a).is_none());
        assert!(counter.try_open(ip("192.0.2.2")).is_some(), "other clients have their own");
        drop(first);
        assert_eq!(counter.open(a), 1);
        assert!(counter.try_open(a).is_some());
        // One IPv6 /64 is one client.
        let _x = counter.try_open(ip("2001:db8::1"));
        let _y = counter.try_open(ip("2001:db8::2"));
        assert!(counter.try_open(ip("2001:db8::ffff:3")).is_none());
    }

    #[test]
    fn the_limiter_allows_a_burst_then_asks_to_wait() {
        let limiter = PostLimiter::new(60, 3);
        let client = ip("192.0.2.1");
        for _ in 0..3 {
            assert!(limiter.check(client).is_ok());
        }
        let wait = limiter.check(client).err().unwrap_or_default();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        assert!(limiter.check(ip("192.0.2.2")).is_ok(), "other clients are not affected");
    }
}
