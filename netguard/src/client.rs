//! The guarded HTTP client: a [`reqwest::Client`] whose every connection is
//! checked by an [`EgressPolicy`].
//!
//! Three hooks together cover every way reqwest can open a connection:
//!
//! - [`GuardedClient::get`]/[`head`](GuardedClient::head) run
//!   [`GuardedClient::check_url`] first. That is the only check an IP-literal
//!   host gets: hyper's connector connects to a host that parses as an address
//!   without asking the resolver.
//! - [`GuardResolver`] is the client's only resolver: names are resolved once
//!   by [`EgressPolicy::check_host`] and hyper connects to exactly the
//!   addresses that were checked.
//! - The redirect policy runs `check_url` on every hop (IP literals again skip
//!   the resolver) and stops after `max_redirects`.
//!
//! Proxies are switched off: `HTTP_PROXY`, `ALL_PROXY` … would otherwise send
//! the request to a proxy that connects wherever it likes.

use crate::policy::{shorten, EgressPolicy, Refusal};
use std::error::Error as StdError;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// How the guarded client is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSettings {
    /// Name lookup plus TCP (and TLS) connect, per connection.
    pub connect_timeout: Duration,
    /// How long an unused pooled connection is kept.
    pub pool_idle_timeout: Duration,
    /// Idle connections kept per host; the engine opens several parallel
    /// connections to one media host, so this is generous.
    pub pool_max_idle_per_host: usize,
    /// The `User-Agent` header; `None` sends none.
    pub user_agent: Option<String>,
    /// Redirects followed in one chain before the request fails with
    /// [`TooManyRedirects`].
    pub max_redirects: usize,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            pool_idle_timeout: Duration::from_secs(15),
            pool_max_idle_per_host: 64,
            user_agent: None,
            max_redirects: 10,
        }
    }
}

/// A redirect chain was longer than [`ClientSettings::max_redirects`]. The
/// hop past the limit is not requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("The site redirected too many times (more than {limit}).")]
pub struct TooManyRedirects {
    /// The limit that was exceeded.
    pub limit: usize,
}

/// An HTTP/1.1 client that connects only to destinations its
/// [`EgressPolicy`] allows. Cloning is cheap and shares the connection pool.
#[derive(Debug, Clone)]
pub struct GuardedClient {
    // reqwest::Client is itself an Arc around its pool and settings, so it
    // is not wrapped in another one.
    client: reqwest::Client,
    /// For host names on a port that is not public (see
    /// [`EgressPolicy::check_port`]): its resolver accepts a name only when
    /// every address it has is one the operator allowed. reqwest's resolver
    /// never learns the port, so the port decides which client asks. Built
    /// only when the operator allowed some networks (with none, no name on
    /// such a port can pass; with `true`, every one does).
    strict: Option<reqwest::Client>,
    policy: Arc<EgressPolicy>,
}

impl GuardedClient {
    /// Builds the client. Fails only when reqwest cannot set up TLS.
    pub fn new(policy: Arc<EgressPolicy>, settings: &ClientSettings) -> Result<GuardedClient, reqwest::Error> {
        let strict = if policy.allows_everything() || policy.allowed_networks().is_empty() {
            None
        } else {
            Some(build(&policy, settings, true)?)
        };
        Ok(GuardedClient { client: build(&policy, settings, false)?, strict, policy })
    }
}

/// One reqwest client under `policy`; `strict` resolvers accept only names
/// whose every address the operator allowed (any port is then fine).
fn build(
    policy: &Arc<EgressPolicy>,
    settings: &ClientSettings,
    strict: bool,
) -> Result<reqwest::Client, reqwest::Error> {
    let redirect_policy = {
        let policy = policy.clone();
        let limit = settings.max_redirects;
        reqwest::redirect::Policy::custom(move |attempt| {
            // `previous` holds the first URL and every hop followed so
            // far, so its length is the number of this redirect (the same
            // count reqwest's own `Policy::limited` uses).
            if attempt.previous().len() > limit {
                return attempt.error(TooManyRedirects { limit });
            }
            // A hop keeps the client it started on: a strict one may go
            // anywhere its resolver lets it, a normal one not to a name
            // on a port that is not public.
            match check_url(&policy, attempt.url(), strict) {
                Ok(()) => attempt.follow(),
                Err(refusal) => attempt.error(refusal),
            }
        })
    };
    let mut builder = reqwest::Client::builder()
        // Separate connections per range request, not streams of one
        // HTTP/2 connection (and no ALPN upgrade to h2).
        .http1_only()
        // Environment proxies would connect on our behalf, unchecked.
        .no_proxy()
        .dns_resolver(Arc::new(GuardResolver { policy: policy.clone(), strict }))
        .redirect(redirect_policy)
        .connect_timeout(settings.connect_timeout)
        .pool_idle_timeout(settings.pool_idle_timeout)
        .pool_max_idle_per_host(settings.pool_max_idle_per_host);
    if let Some(agent) = &settings.user_agent {
        builder = builder.user_agent(agent.as_str());
    }
    builder.build()
}

impl GuardedClient {
    /// The policy every connection is checked against.
    pub fn policy(&self) -> &EgressPolicy {
        &self.policy
    }

    /// Sync pre-check before any request: scheme http/https, a host, and for
    /// IP-literal hosts (in every form the url crate parses: decimal, hex,
    /// IPv6, mapped) the policy's `check_ip`. Host names are checked by the
    /// resolver at connect time.
    pub fn check_url(&self, url: &url::Url) -> Result<(), Refusal> {
        self.client_for(url).map(drop)
    }

    /// `check_url`, then [`reqwest::Client::get`].
    pub fn get(&self, url: url::Url) -> Result<reqwest::RequestBuilder, Refusal> {
        Ok(self.client_for(&url)?.get(url))
    }

    /// `check_url`, then [`reqwest::Client::head`].
    pub fn head(&self, url: url::Url) -> Result<reqwest::RequestBuilder, Refusal> {
        Ok(self.client_for(&url)?.head(url))
    }

    /// The pre-check, and the client whose resolver fits the URL's port.
    fn client_for(&self, url: &url::Url) -> Result<&reqwest::Client, Refusal> {
        match (&self.strict, needs_strict(&self.policy, url)) {
            (Some(strict), true) => {
                check_url(&self.policy, url, true)?;
                Ok(strict)
            }
            _ => {
                check_url(&self.policy, url, false)?;
                Ok(&self.client)
            }
        }
    }

    /// The underlying client. Its resolver and redirect policy still guard
    /// names and redirects, but a request built on it directly skips
    /// [`check_url`](Self::check_url), and with it the only check an
    /// IP-literal URL gets: run `check_url` before sending one.
    pub fn inner(&self) -> &reqwest::Client {
        &self.client
    }
}

/// True for a host name on a port that is not public: only a strict
/// resolver may take it.
fn needs_strict(policy: &EgressPolicy, url: &url::Url) -> bool {
    let port = url.port_or_known_default().unwrap_or(80);
    matches!(url.host(), Some(url::Host::Domain(name)) if name.parse::<IpAddr>().is_err())
        && !policy.port_is_public(port)
}

/// `strict`: the request goes through a strict resolver, which checks a
/// name's port rule itself; otherwise a name on a port that is not public
/// is refused here.
fn check_url(policy: &EgressPolicy, url: &url::Url, strict: bool) -> Result<(), Refusal> {
    let scheme = url.scheme();
    if scheme != "http" && scheme != "https" {
        return Err(Refusal::UnsupportedScheme { scheme: shorten(scheme) });
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let literal = |ip: IpAddr| policy.check_ip(ip).and_then(|()| policy.check_port(ip, port));
    match url.host() {
        None => Err(Refusal::MissingHost),
        Some(url::Host::Ipv4(v4)) => literal(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => literal(IpAddr::V6(v6)),
        Some(url::Host::Domain(name)) => {
            // For http(s) the url crate turns every numeric host into
            // Host::Ipv4, so this never matches today; it is here because
            // hyper connects straight to any host that parses as an address,
            // and such a host must never get past this check unexamined.
            match name.parse::<IpAddr>() {
                Ok(ip) => literal(ip),
                Err(_) if strict || policy.port_is_public(port) => Ok(()),
                Err(_) => Err(policy.port_refusal(port)),
            }
        }
    }
}

/// The client's resolver: one lookup through the policy, and exactly the
/// checked addresses go back to hyper (with port 0, which hyper replaces by
/// the URL's port).
struct GuardResolver {
    policy: Arc<EgressPolicy>,
    /// Every address must be one the operator allowed (the URL's port is
    /// not public; see [`GuardedClient`]).
    strict: bool,
}

/// What the resolver asks `check_host` for: a public port, since the real
/// one is not known here (a strict resolver checks the port rule itself).
const RESOLVER_PORT: u16 = 443;

impl reqwest::dns::Resolve for GuardResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let strict = self.strict;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let checked = policy.check_host(&host, RESOLVER_PORT).await.and_then(|addrs| {
                match addrs.iter().find(|addr| strict && !policy.operator_allowed(addr.ip())) {
                    // Any port of it would do; this is not one of those.
                    Some(_) => Err(policy.port_refusal(0)),
                    None => Ok(addrs),
                }
            });
            match checked {
                // Port 0, which hyper replaces by the URL's port.
                Ok(addrs) => Ok(Box::new(addrs.into_iter().map(|mut addr| {
                    addr.set_port(0);
                    addr
                })) as reqwest::dns::Addrs),
                Err(refusal) => Err(Box::new(refusal) as Box<dyn StdError + Send + Sync>),
            }
        })
    }
}

/// The policy refusal inside a reqwest error (resolver or redirect refusal),
/// found by walking `source()`.
pub fn refusal_of(err: &reqwest::Error) -> Option<Refusal> {
    find_in_chain::<Refusal>(err).cloned()
}

/// The redirect limit inside a reqwest error, when that is why it failed.
pub fn too_many_redirects(err: &reqwest::Error) -> Option<TooManyRedirects> {
    find_in_chain::<TooManyRedirects>(err).copied()
}

/// reqwest wraps what the resolver and the redirect policy return in one or
/// more layers of its own and hyper's errors, so the cause is searched for
/// down the whole chain rather than at a fixed depth.
fn find_in_chain<T: StdError + 'static>(err: &reqwest::Error) -> Option<&T> {
    let mut next: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(current) = next {
        if let Some(found) = current.downcast_ref::<T>() {
            return Some(found);
        }
        next = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::AddressClass;
    use reqwest::dns::Resolve as _;

    fn url(text: &str) -> url::Url {
        url::Url::parse(text).expect(text)
    }

    #[test]
    fn check_url_refuses_literals_and_other_schemes() {
        let policy = EgressPolicy::default();
        for link in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://127.1/",
            "http://0177.0.0.1/",
            "https://127.0.0.1./",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://0.0.0.0/",
            "http://169.254.169.254/latest/meta-data/",
        ] {
            let refusal = check_url(&policy, &url(link), false).expect_err(link);
            assert!(matches!(refusal, Refusal::Blocked { host: None, .. }), "{link}: {refusal:?}");
        }
        for link in ["file:///etc/passwd", "ftp://8.8.8.8/", "data:text/plain,hi", "ws://8.8.8.8/"] {
            assert!(matches!(check_url(&policy, &url(link), false), Err(Refusal::UnsupportedScheme { .. })), "{link}");
        }
        // Names are left to the resolver: no lookup happens here.
        assert_eq!(check_url(&policy, &url("http://localhost/"), false), Ok(()));
        assert_eq!(check_url(&policy, &url("https://example.invalid/"), false), Ok(()));
        assert_eq!(check_url(&policy, &url("https://1.1.1.1/"), false), Ok(()));
        assert_eq!(check_url(&policy, &url("https://[2606:4700::1111]/"), false), Ok(()));
    }

    #[tokio::test]
    async fn resolver_refuses_and_returns_exactly_the_checked_addresses() {
        let refusing = GuardResolver { policy: Arc::new(EgressPolicy::default()), strict: false };
        let err = match refusing.resolve("localhost".parse().expect("name")).await {
            Ok(addrs) => panic!("localhost resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(err) => err,
        };
        match err.downcast_ref::<Refusal>() {
            Some(Refusal::Blocked { host: Some(host), class: AddressClass::Loopback, .. }) => {
                assert_eq!(host, "localhost")
            }
            other => panic!("unexpected {other:?}"),
        }

        let policy = Arc::new(EgressPolicy::allow_all());
        let allowing = GuardResolver { policy: policy.clone(), strict: false };
        let resolved: Vec<_> = allowing.resolve("localhost".parse().expect("name")).await.expect("resolves").collect();
        let checked: Vec<_> = policy.check_host("localhost", 0).await.expect("checked");
        assert_eq!(resolved, checked);
        assert!(resolved.iter().all(|addr| addr.port() == 0));
    }
}
