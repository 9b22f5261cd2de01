//! The port rule in the guarded client: public addresses only on 80, 443
//! and `EGRESS_PORTS`; what the operator allowed, on any port — host names
//! included, which only a resolver can judge.

mod common;

use common::{send, Site, ALLOWED};
use netguard::{refusal_of, ClientSettings, EgressPolicy, GuardedClient, Refusal};
use std::net::IpAddr;
use std::sync::Arc;

fn client(policy: EgressPolicy) -> GuardedClient {
    GuardedClient::new(Arc::new(policy), &ClientSettings::default()).expect("client")
}

fn allowing(nets: &[&str]) -> EgressPolicy {
    EgressPolicy::allowing(nets.iter().map(|net| net.parse().expect("test network")))
}

#[test]
fn public_literals_on_other_ports_are_refused_before_any_request() {
    let guarded = client(allowing(&["127.0.0.2/32"]).with_ports([8443]));
    for link in ["http://8.8.8.8:22/", "https://[2606:4700::1111]:6379/", "http://1.1.1.1:8080/"] {
        let refusal = guarded.get(url::Url::parse(link).expect("url")).expect_err(link);
        assert!(matches!(refusal, Refusal::Port { .. }), "{link}: {refusal:?}");
        assert!(refusal.to_string().contains("(80, 443 and 8443)"), "{refusal}");
    }
    for link in ["http://8.8.8.8/", "https://8.8.8.8/", "https://1.1.1.1:8443/"] {
        // Only built, never sent.
        assert!(guarded.get(url::Url::parse(link).expect("url")).is_ok(), "{link}");
    }
    // Names on other ports: with no network allowed, nothing could pass.
    let plain = client(EgressPolicy::default());
    let refusal = plain.get(url::Url::parse("http://example.invalid:8080/").expect("url")).expect_err("a name on 8080");
    assert!(matches!(refusal, Refusal::Port { port: 8080, .. }), "{refusal:?}");
}

#[tokio::test]
async fn allowed_networks_keep_every_port_names_included() {
    let site = Site::start(IpAddr::V4(ALLOWED), "allowed").await;
    let literal = client(allowing(&["127.0.0.2/32"]));
    let response = send(literal.get(site.url("/x")).expect("allowed literal")).await.expect("fetched");
    assert_eq!(response.status(), 200);

    // localhost on a random port: fetched when every address it has is
    // allowed (127.0.0.1 and, where it exists, ::1) …
    let local = Site::start_local("local").await;
    let link = url::Url::parse(&format!("http://localhost:{}/y", local.port())).expect("url");
    let both = client(allowing(&["127.0.0.0/8", "::1/128"]));
    let response =
        send(both.get(link.clone()).expect("a name")).await.expect("a name on the operator's network, any port");
    assert_eq!(response.status(), 200);
    assert!(local.accepted() >= 1);

    // … and never when it is not.
    let before = local.accepted();
    let other = client(allowing(&["127.0.0.2/32"]));
    let err = send(other.get(link).expect("names pass the pre-check")).await.expect_err("refused");
    assert!(refusal_of(&err).is_some(), "{err}");
    assert_eq!(local.accepted(), before, "a refused name was connected to");
}
