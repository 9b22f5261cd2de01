//! Proxy environment variables never route the guarded client around the
//! guard. The environment is process-wide, so this file holds one test and
//! runs as its own test binary: nothing else here reads the variables while
//! they are set.

mod common;

use common::{send, Site, ALLOWED};
use netguard::{ClientSettings, EgressPolicy, GuardedClient};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

const PROXY_VARIABLES: &[&str] = &["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];

#[test]
fn proxy_environment_variables_are_ignored() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    // A "proxy" on 127.0.0.3 that answers every request itself, so a request
    // sent through it is recognisable by its body and its connection count.
    let (proxy, origin) = runtime.block_on(async {
        (
            Site::start(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)), "proxy").await,
            Site::start(IpAddr::V4(ALLOWED), "origin").await,
        )
    });
    let proxy_url = format!("http://127.0.0.3:{}", proxy.port());
    // Set while only this thread runs (the runtime is single-threaded and
    // idle): reqwest reads these when a client is built.
    for name in PROXY_VARIABLES {
        std::env::set_var(name, &proxy_url);
    }
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");
    std::env::remove_var("REQUEST_METHOD"); // reqwest's CGI guard for HTTP_PROXY

    runtime.block_on(async {
        // Control: a plain reqwest client does go through the proxy, so the
        // variables are set the way reqwest reads them.
        let plain = reqwest::Client::new();
        let body =
            send(plain.get(origin.url("/control"))).await.expect("through the proxy").text().await.expect("body");
        assert!(body.starts_with("proxy "), "{body}");
        assert_eq!(proxy.accepted(), 1);
        assert_eq!(origin.accepted(), 0);

        let policy = EgressPolicy::allowing(["127.0.0.2/32".parse().expect("net")]);
        let client = GuardedClient::new(Arc::new(policy), &ClientSettings::default()).expect("client");
        let body = send(client.get(origin.url("/direct")).expect("allowed"))
            .await
            .expect("direct")
            .text()
            .await
            .expect("body");
        assert_eq!(body, "origin /direct");
        assert_eq!(proxy.accepted(), 1, "the guarded client used the proxy");
        assert_eq!(origin.accepted(), 1);
    });

    for name in PROXY_VARIABLES {
        std::env::remove_var(name);
    }
}
