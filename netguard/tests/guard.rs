//! The guarded client against real local listeners.
//!
//! The policy allows only 127.0.0.2 (the stand-in for a public site). The
//! forbidden target is a site on 127.0.0.1 and [::1] that counts the
//! connections it accepts; every refusal test ends by checking it accepted
//! none.

mod common;

use common::{chain, media, send, Site, ALLOWED};
use netguard::{
    refusal_of, too_many_redirects, AddressClass, ClientSettings, EgressPolicy, GuardedClient, Refusal,
    TooManyRedirects,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

fn allowing(nets: &[&str]) -> Arc<EgressPolicy> {
    Arc::new(EgressPolicy::allowing(nets.iter().map(|net| net.parse().expect("test network"))))
}

fn client_with(settings: &ClientSettings) -> GuardedClient {
    GuardedClient::new(allowing(&["127.0.0.2/32"]), settings).expect("client")
}

fn client() -> GuardedClient {
    client_with(&ClientSettings::default())
}

fn blocked(ip: IpAddr, embedded: Option<Ipv4Addr>, class: AddressClass) -> Refusal {
    Refusal::Blocked { host: None, ip, embedded, class }
}

/// Every spelling of the forbidden site's address as a URL, with the refusal
/// each must get.
fn literal_forms(port: u16) -> Vec<(String, Refusal)> {
    let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let loopback = blocked(lo, None, AddressClass::Loopback);
    vec![
        (format!("http://127.0.0.1:{port}/x"), loopback.clone()),
        (format!("http://2130706433:{port}/x"), loopback.clone()),
        (format!("http://0x7f000001:{port}/x"), loopback.clone()),
        (format!("http://0x7f.1:{port}/x"), loopback.clone()),
        (format!("http://127.1:{port}/x"), loopback.clone()),
        (format!("http://0177.0.0.1:{port}/x"), loopback.clone()),
        (format!("http://127.0.0.1.:{port}/x"), loopback.clone()),
        (format!("http://127%2e0.0.1:{port}/x"), loopback.clone()),
        (format!("https://127.0.0.1:{port}/x"), loopback),
        (format!("http://[::1]:{port}/x"), blocked(IpAddr::V6(Ipv6Addr::LOCALHOST), None, AddressClass::Loopback)),
        (
            format!("http://[::ffff:127.0.0.1]:{port}/x"),
            blocked(
                IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped()),
                Some(Ipv4Addr::LOCALHOST),
                AddressClass::Loopback,
            ),
        ),
        (
            format!("http://0.0.0.0:{port}/x"),
            blocked(IpAddr::V4(Ipv4Addr::UNSPECIFIED), None, AddressClass::Unspecified),
        ),
        (format!("http://0:{port}/x"), blocked(IpAddr::V4(Ipv4Addr::UNSPECIFIED), None, AddressClass::Unspecified)),
    ]
}

fn assert_localhost_refusal(refusal: Option<Refusal>, name: &str) {
    match refusal {
        Some(Refusal::Blocked { host: Some(host), ip, class: AddressClass::Loopback, .. }) => {
            assert_eq!(host, name);
            assert!(ip.is_loopback(), "{ip}");
        }
        other => panic!("{name}: unexpected {other:?}"),
    }
}

/// Names in /etc/hosts (besides localhost) whose addresses are all loopback
/// ones, like the machine's own name: names that resolve to the forbidden
/// site without any packet leaving the machine.
async fn loopback_names_from_etc_hosts() -> Vec<String> {
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let mut names = Vec::new();
    for line in hosts.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        let Some(Ok(ip)) = fields.next().map(str::parse::<IpAddr>) else {
            continue;
        };
        if ip != IpAddr::V4(Ipv4Addr::LOCALHOST) {
            continue;
        }
        for name in fields {
            let name = name.to_ascii_lowercase();
            if name == "localhost" || names.contains(&name) {
                continue;
            }
            let all_loopback = match tokio::net::lookup_host((name.as_str(), 0)).await {
                Ok(addrs) => {
                    let addrs: Vec<_> = addrs.collect();
                    !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback())
                }
                Err(_) => false,
            };
            if all_loopback {
                names.push(name);
            }
        }
    }
    names
}

#[tokio::test]
async fn refused_ip_literals_are_refused_before_any_request() {
    let target = Site::start_local("target").await;
    let client = client();
    for (link, expected) in literal_forms(target.port()) {
        let url = url::Url::parse(&link).expect(&link);
        assert_eq!(client.check_url(&url), Err(expected.clone()), "{link}");
        assert_eq!(client.get(url.clone()).err(), Some(expected.clone()), "{link}");
        assert_eq!(client.head(url).err(), Some(expected), "{link}");
    }
    for link in ["file:///etc/passwd", "ftp://127.0.0.2/x", "data:text/plain,x"] {
        let url = url::Url::parse(link).expect(link);
        assert!(matches!(client.get(url), Err(Refusal::UnsupportedScheme { .. })), "{link}");
    }
    assert_eq!(target.accepted(), 0, "{:?}", target.targets());
}

#[tokio::test]
async fn names_that_resolve_to_a_refused_address_are_refused_by_the_resolver() {
    let target = Site::start_local("target").await;
    let client = client();
    let port = target.port();
    let mut names = vec!["localhost".to_owned()];
    names.extend(loopback_names_from_etc_hosts().await);
    for name in &names {
        // The url crate lower-cases the host, so LOCALHOST is localhost.
        for spelling in [name.clone(), name.to_ascii_uppercase()] {
            let url = url::Url::parse(&format!("http://{spelling}:{port}/x")).expect("url");
            // Names pass the sync pre-check: only a lookup can judge them.
            let request = client.get(url).expect("names pass check_url");
            let err = send(request).await.expect_err("refused at connect time");
            assert!(err.is_connect(), "{spelling}: {}", chain(&err));
            assert_localhost_refusal(refusal_of(&err), name);
        }
    }
    // A trailing dot makes the name absolute; it may or may not resolve
    // offline, but it never connects.
    let url = url::Url::parse(&format!("http://localhost.:{port}/x")).expect("url");
    let err = send(client.get(url).expect("a name")).await.expect_err("refused");
    match refusal_of(&err) {
        Some(Refusal::Unresolvable { host, .. }) => assert_eq!(host, "localhost."),
        refusal => assert_localhost_refusal(refusal, "localhost."),
    }
    assert_eq!(target.accepted(), 0, "{:?}", target.targets());
}

#[tokio::test]
async fn redirects_to_refused_destinations_are_refused_and_never_followed() {
    let target = Site::start_local("target").await;
    let origin = Site::start(IpAddr::V4(ALLOWED), "origin").await;
    let client = client();
    let port = target.port();
    let mut requested = 0;
    for status in [301, 302, 303, 307, 308] {
        for (link, expected) in literal_forms(port) {
            let err = send(client.get(origin.redirect(status, &link)).expect("allowed")).await.expect_err(&link);
            requested += 1;
            assert!(err.is_redirect(), "{status} {link}: {}", chain(&err));
            assert_eq!(refusal_of(&err), Some(expected), "{status} {link}");
        }
        // Scheme-relative and path-absolute spellings of the same place.
        for link in [format!("//127.0.0.1:{port}/x"), format!("//[::1]:{port}/x")] {
            let err = send(client.get(origin.redirect(status, &link)).expect("allowed")).await.expect_err(&link);
            requested += 1;
            assert!(matches!(refusal_of(&err), Some(Refusal::Blocked { .. })), "{link}: {}", chain(&err));
        }
        // A name on a port that is not public: refused by the redirect
        // check (the port rule; a hop keeps the client it started on, whose
        // resolver cannot see ports), so it is never even looked up.
        let link = format!("http://localhost:{port}/x");
        let err = send(client.get(origin.redirect(status, &link)).expect("allowed")).await.expect_err(&link);
        requested += 1;
        assert!(err.is_redirect(), "{link}: {}", chain(&err));
        assert!(
            matches!(refusal_of(&err), Some(Refusal::Port { port: p, .. }) if p == port),
            "{link}: {}",
            chain(&err)
        );
        // On a web port, the name passes the redirect check and is refused
        // by the resolver.
        let link = "http://localhost/x".to_owned();
        let err = send(client.get(origin.redirect(status, &link)).expect("allowed")).await.expect_err(&link);
        requested += 1;
        assert!(err.is_connect(), "{link}: {}", chain(&err));
        assert_localhost_refusal(refusal_of(&err), "localhost");
        // A Location with no authority (file:///…; the url crate also drops
        // a file URL's "localhost") is not turned into a request at all:
        // tower-http's redirect layer cannot make an http::Uri of it, so the
        // policy is never asked and the 3xx comes back as the response.
        // Nothing is fetched.
        let response = send(client.get(origin.redirect(status, "file:///etc/passwd")).expect("allowed"))
            .await
            .expect("the 3xx itself");
        requested += 1;
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(response.headers()[reqwest::header::LOCATION], "file:///etc/passwd");
        // Other schemes with an authority reach the redirect policy, which
        // refuses them (one of them names the allowed host).
        let ftp = format!("ftp://{ALLOWED}:{}/x", origin.port());
        for link in ["file://127.0.0.2/etc/passwd", ftp.as_str(), "gopher://127.0.0.2/x"] {
            let err = send(client.get(origin.redirect(status, link)).expect("allowed")).await.expect_err(link);
            requested += 1;
            assert!(err.is_redirect(), "{link}: {}", chain(&err));
            match refusal_of(&err) {
                Some(Refusal::UnsupportedScheme { scheme }) => {
                    assert_eq!(Some(scheme.as_str()), link.split(':').next(), "{link}");
                }
                other => panic!("{status} {link}: unexpected {other:?}"),
            }
        }
    }
    assert_eq!(target.accepted(), 0, "{:?}", target.targets());
    // Every refusal came after the origin's redirect, not before it.
    assert_eq!(origin.accepted(), requested);
}

#[tokio::test]
async fn redirect_chains_stop_at_the_limit() {
    let origin = Site::start(IpAddr::V4(ALLOWED), "origin").await;
    let client = client_with(&ClientSettings { max_redirects: 3, ..ClientSettings::default() });
    let response =
        send(client.get(origin.url("/countdown/3")).expect("allowed")).await.expect("three redirects are allowed");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "done");
    assert_eq!(origin.accepted(), 4);

    let err =
        send(client.get(origin.url("/countdown/4")).expect("allowed")).await.expect_err("four redirects are too many");
    assert!(err.is_redirect(), "{}", chain(&err));
    assert_eq!(too_many_redirects(&err), Some(TooManyRedirects { limit: 3 }));
    assert_eq!(refusal_of(&err), None);
    // The hop past the limit (/countdown/0) was never requested.
    assert_eq!(origin.targets()[4..], ["/countdown/4", "/countdown/3", "/countdown/2", "/countdown/1"]);

    // The default limit is 10, also for a loop.
    let err = send(self::client().get(origin.url("/loop")).expect("allowed")).await.expect_err("a loop ends");
    assert_eq!(too_many_redirects(&err), Some(TooManyRedirects { limit: 10 }));
    assert_eq!(origin.accepted(), 8 + 11);
}

#[tokio::test]
async fn get_head_and_range_get_from_an_allowed_origin() {
    let origin = Site::start(IpAddr::V4(ALLOWED), "origin").await;
    let client = client_with(&ClientSettings { user_agent: Some("kachay-test/1".into()), ..ClientSettings::default() });
    assert!(client.policy().check_ip(IpAddr::V4(ALLOWED)).is_ok());

    let response = send(client.get(origin.url("/media")).expect("allowed")).await.expect("GET");
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    assert_eq!(response.bytes().await.expect("body").as_ref(), media());

    let request = client.get(origin.url("/media")).expect("allowed").header(reqwest::header::RANGE, "bytes=10-19");
    let response = send(request).await.expect("range GET");
    assert_eq!(response.status(), 206);
    assert_eq!(response.headers()[reqwest::header::CONTENT_RANGE], "bytes 10-19/256");
    assert_eq!(response.bytes().await.expect("body").as_ref(), &media()[10..20]);

    let response = send(client.head(origin.url("/media")).expect("allowed")).await.expect("HEAD");
    assert_eq!(response.status(), 200);
    // Not `content_length()`: for a HEAD response reqwest reports the
    // (empty) body's length, 0, not the header.
    assert_eq!(response.headers()[reqwest::header::CONTENT_LENGTH], "256");

    let requests = origin.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[1].header("range"), Some("bytes=10-19"));
    assert_eq!(requests[2].method, "HEAD");
    for request in &requests {
        assert_eq!(request.header("user-agent"), Some("kachay-test/1"));
        assert_eq!(request.header("accept-encoding"), None, "media is fetched raw");
    }
}

#[tokio::test]
async fn redirects_between_allowed_origins_are_followed() {
    let origin = Site::start(IpAddr::V4(ALLOWED), "origin").await;
    let other = Site::start(IpAddr::V4(ALLOWED), "other").await;
    let client = client();
    for status in [301, 302, 303, 307, 308] {
        let response = send(client.get(origin.redirect(status, other.url("/landing").as_str())).expect("allowed"))
            .await
            .expect("followed");
        assert_eq!(response.url(), &other.url("/landing"));
        assert_eq!(response.text().await.expect("body"), "other /landing");
    }
    // Relative, and an IPv4-mapped spelling of the allowed address.
    let response = send(client.get(origin.redirect(302, "/media")).expect("allowed")).await.expect("relative redirect");
    assert_eq!(response.bytes().await.expect("body").as_ref(), media());
    let mapped = format!("http://[::ffff:{ALLOWED}]:{}/mapped", other.port());
    let response = send(client.get(origin.redirect(307, &mapped)).expect("allowed"))
        .await
        .expect("mapped form of an allowed address");
    assert_eq!(response.text().await.expect("body"), "other /mapped");
    // 5 redirects, the relative one twice, the mapped one.
    assert_eq!(origin.accepted(), 8);
    assert_eq!(other.accepted(), 6);
}

#[tokio::test]
async fn allowed_names_connect_to_the_checked_addresses() {
    // With loopback allowed, localhost resolves through the guard and the
    // connection goes to the addresses it checked.
    let site = Site::start_local("local").await;
    let client = GuardedClient::new(allowing(&["127.0.0.0/8", "::1/128"]), &ClientSettings::default()).expect("client");
    let url = url::Url::parse(&format!("http://localhost:{}/hello", site.port())).expect("url");
    let response = send(client.get(url).expect("allowed")).await.expect("GET");
    assert_eq!(response.text().await.expect("body"), "local /hello");
    assert_eq!(site.accepted(), 1);
}
