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
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let ip = state.trusted_proxies.client_ip(peer, request.headers());
    request.extensions_mut().insert(ClientIp(ip));
    next.run(request).await
}

/// Per-client limits on POST requests.
pub struct PostLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl PostLimiter {
    pub fn new(per_minute: u32, burst: u32) -> PostLimiter {
        let per_minute = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
        PostLimiter { limiter: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)) }
    }

    /// `Err(wait)` when this client must wait before its next request.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.limiter
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
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
        if let Err(wait) = state.post_limiter.check(ip) {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return ApiError::RateLimited { retry_after: secs.max(1) }.into_response();
        }
    }
    next.run(request).await
}

/// The nonce of this response's inline scripts.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

/// Security headers on every answer; pages get a CSP that allows only the
/// app's own scripts: its files and the inline hydration script carrying
/// this response's nonce (Leptos adds it through `use_nonce`).
pub async fn security_headers(mut request: Request, next: Next) -> Response {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
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
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
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

/// Shared limiter handle.
pub type SharedLimiter = Arc<PostLimiter>;

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
