//! The loopback relay against the fixture site: exact bytes for every kind
//! of range, ffmpeg cutting a clip while the site sends only part of the
//! file, no proxying for a wrong path, the real reason when the guard or
//! the site says no, and nothing left running once the relay is dropped.

use crate::support;

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use engine::native::relay::Relay;
use engine::native::REFUSAL_PREFIX;
use engine::{EngineError, FailureKind};
use fixture::FixtureSite;
use netguard::{ClientSettings, EgressPolicy, GuardedClient};
use reqwest::header::{HeaderMap, CONTENT_LENGTH, CONTENT_RANGE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::Url;

const LARGE: &str = "/media/large/large.mp4";

fn guarded(policy: EgressPolicy) -> GuardedClient {
    GuardedClient::new(Arc::new(policy), &ClientSettings::default()).expect("client")
}

/// A relay to `path` on the site, through a client that allows 127.0.0.1
/// (the default policy refuses it, as it must).
async fn relay_to(site: &FixtureSite, path: &str, size: Option<u64>) -> Relay {
    relay_with(EgressPolicy::allow_all(), &site.url(path), size).await
}

async fn relay_with(policy: EgressPolicy, url: &str, size: Option<u64>) -> Relay {
    let url = Url::parse(url).expect("url");
    Relay::start(guarded(policy), url, HeaderMap::new(), None, size).await.expect("relay starts")
}

/// A client for talking to the relay and, for reference, to the site.
fn plain() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("client")
}

struct Got {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

async fn get(url: &str, range: Option<&str>) -> Got {
    let mut request = plain().get(url);
    if let Some(range) = range {
        request = request.header("Range", range);
    }
    let response = request.send().await.expect("request");
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    let body = response.bytes().await.expect("body").to_vec();
    Got { status, headers, body }
}

fn header(headers: &HeaderMap, name: reqwest::header::HeaderName) -> String {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// One raw request; the whole answer as text up to its body.
async fn raw(relay: &Relay, request: &str) -> String {
    let mut stream = TcpStream::connect(relay.addr()).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await.expect("answer");
    String::from_utf8_lossy(&answer).into_owned()
}

fn ffprobe_duration(path: &std::path::Path) -> f64 {
    let ffprobe = std::env::var("FFPROBE").unwrap_or_else(|_| "ffprobe".to_owned());
    let out = std::process::Command::new(ffprobe)
        .args(["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(out.status.success(), "ffprobe: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("a duration")
}

/// `ffmpeg -ss 8 -i <relay> -t 4 -c copy`, as the engine would cut a
/// clip; the exit status, stderr and the output's path.
async fn cut_clip(relay: &Relay, dir: &std::path::Path) -> (bool, String, std::path::PathBuf) {
    let out = dir.join("clip.mp4");
    let child = tokio::process::Command::new(support::ffmpeg())
        .args(["-hide_banner", "-nostdin", "-v", "error", "-protocol_whitelist", "http,tcp", "-ss", "8", "-i"])
        .arg(relay.url().as_str())
        .args(["-t", "4", "-c", "copy", "-f", "mp4", "-y"])
        .arg(&out)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let done = tokio::time::timeout(Duration::from_secs(120), child).await.expect("ffmpeg finishes").expect("ffmpeg");
    (done.status.success(), String::from_utf8_lossy(&done.stderr).into_owned(), out)
}

#[tokio::test]
async fn relay_ranges_are_exactly_the_origins_bytes() {
    let site = FixtureSite::start().await.expect("site");
    let whole = get(&site.url(LARGE), None).await.body;
    let total = whole.len() as u64;
    assert!(total > 9_000_000, "large.mp4 is {total} bytes");
    let sent_before = site.bytes_sent();

    // Size not given: the relay asks for it once.
    let relay = relay_to(&site, LARGE, None).await;
    let url = relay.url().to_string();
    let mut relayed = 0;
    for (range, from, to) in [
        ("bytes=1000-1999", 1000, 2000),
        ("bytes=0-0", 0, 1),
        // Across several upstream ranges (they grow from 256 KiB).
        ("bytes=5000000-", 5_000_000, total),
        ("bytes=-500", total - 500, total),
        ("bytes=9000000-99999999", 9_000_000, total),
    ] {
        let got = get(&url, Some(range)).await;
        assert_eq!(got.status, 206, "{range}");
        assert_eq!(header(&got.headers, CONTENT_RANGE), format!("bytes {from}-{}/{total}", to - 1), "{range}");
        assert_eq!(got.body.len() as u64, to - from, "{range}");
        assert!(got.body == whole[from as usize..to as usize], "{range}: other bytes than the origin's");
        relayed += to - from;
    }
    let full = get(&url, None).await;
    assert_eq!(full.status, 200);
    assert!(full.body == whole, "the whole file differs");
    relayed += total;
    assert_eq!(relay.bytes_relayed(), relayed);

    // Answered from the known size, without going upstream.
    let requests = relay.upstream_requests();
    let head = plain().head(&url).send().await.expect("HEAD");
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(header(head.headers(), CONTENT_LENGTH), total.to_string());
    let past = get(&url, Some(&format!("bytes={total}-"))).await;
    assert_eq!(past.status, 416);
    assert_eq!(header(&past.headers, CONTENT_RANGE), format!("bytes */{total}"));
    assert_eq!(relay.upstream_requests(), requests, "HEAD and 416 went upstream");
    assert!(relay.failure().is_none());
    println!(
        "relay: {} bytes relayed in {} upstream requests; the site sent {} bytes for them",
        relay.bytes_relayed(),
        relay.upstream_requests(),
        site.bytes_sent() - sent_before
    );

    // Size given: a small range is one upstream request.
    let known = relay_to(&site, LARGE, Some(total)).await;
    let got = get(known.url().as_str(), Some("bytes=1000-1999")).await;
    assert!(got.status == 206 && got.body == whole[1000..2000]);
    assert_eq!(known.upstream_requests(), 1);
}

#[tokio::test]
async fn ffmpeg_cuts_a_clip_through_the_relay_reading_a_fraction_of_the_file() {
    let site = FixtureSite::start().await.expect("site");
    let source = site.media_dir().join("large/large.mp4");
    let total = std::fs::metadata(&source).map(|m| m.len()).expect("the large fixture");
    let relay = relay_to(&site, LARGE, None).await;
    // What the engine sets for an 8–12 s clip of 24 s: 14 s's share.
    relay.read_ahead_until(total * 14 / 24);
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, stderr, out) = cut_clip(&relay, dir.path()).await;
    assert!(ok, "ffmpeg failed: {stderr}");
    let duration = ffprobe_duration(&out);
    let spans = site.sent_spans(LARGE);
    let sent: u64 = spans.iter().map(|(a, b)| b - a).sum();
    println!(
        "clip of {duration:.2} s: the site sent {sent} of {total} bytes ({:.1} %) in {spans:?}, the relay passed on \
         {} in {} upstream requests",
        sent as f64 * 100.0 / total as f64,
        relay.bytes_relayed(),
        relay.upstream_requests()
    );
    assert!((3.5..=5.0).contains(&duration), "the clip lasts {duration} s");
    // ffmpeg reads the index, then seeks to the keyframe at 8 s. Its look
    // at the index can take two streamed ranges and one fetched ahead
    // (1.75 MiB, 4.4 s of this file), never 4.6–7.9 s; nothing is fetched
    // ahead from 14 s on, so nothing from 18 s on is sent.
    let gap = (support::byte_at(&source, 4.6), support::byte_at(&source, 7.9));
    let tail = support::byte_at(&source, 18.0);
    let overlap = |from: u64, to: u64| spans.iter().any(|&(a, b)| a < to && from < b);
    assert!(!overlap(gap.0, gap.1), "bytes {gap:?} (4.6–7.9 s) were sent: {spans:?}");
    assert!(!overlap(tail, total), "bytes from {tail} (18 s) on were sent: {spans:?}");
    assert!(relay.failure().is_none(), "{:?}", relay.failure());
}

#[tokio::test]
async fn a_closed_client_drops_the_upstream_request_at_once() {
    let site = FixtureSite::start().await.expect("site");
    // Slow enough that the relay is still waiting on the site when the
    // client goes.
    let path = format!("/k/rate=262144{LARGE}");
    let total = get(&site.url(LARGE), Some("bytes=0-0")).await;
    let total: u64 =
        header(&total.headers, CONTENT_RANGE).rsplit_once('/').and_then(|(_, t)| t.parse().ok()).expect("a size");
    let relay = relay_to(&site, &path, Some(total)).await;
    let sent_before = site.bytes_sent();

    let mut stream = TcpStream::connect(relay.addr()).await.expect("connect");
    let request = format!("GET {} HTTP/1.1\r\nHost: x\r\nRange: bytes=0-\r\n\r\n", relay.url().path());
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut seen = vec![0u8; 64 * 1024];
    let mut read = 0;
    while read < 100_000 {
        let n = stream.read(&mut seen).await.expect("read");
        assert!(n > 0, "the relay closed early");
        read += n;
    }
    assert!(support::eventually(Duration::from_secs(5), || site.in_flight() > 0).await);
    drop(stream);
    assert!(
        support::eventually(Duration::from_secs(2), || site.in_flight() == 0).await,
        "the site is still sending after the client left"
    );
    let after_close = site.bytes_sent() - sent_before;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let later = site.bytes_sent() - sent_before;
    println!("client read {read} bytes; the site sent {after_close} bytes, {later} a moment later");
    assert_eq!(after_close, later, "the site kept sending");
    assert!(later < 1024 * 1024, "the site sent {later} bytes for a client that read {read}");
    assert!(relay.failure().is_none(), "a client leaving is not a failure: {:?}", relay.failure());
}

#[tokio::test]
async fn a_wrong_path_is_404_and_fetches_nothing() {
    let site = FixtureSite::start().await.expect("site");
    let relay = relay_to(&site, LARGE, None).await;
    let good = relay.url().path().to_owned();
    let token = good.trim_start_matches('/').trim_end_matches("/media");
    assert_eq!(token.len(), 32);
    let mut wrong = token.chars().rev().collect::<String>();
    if wrong == token {
        wrong = "0".repeat(32);
    }
    for path in [format!("/{wrong}/media"), "/media".to_owned(), format!("{good}?x=1"), format!("/{token}"), "/".into()]
    {
        let answer = raw(&relay, &format!("GET {path} HTTP/1.1\r\nHost: x\r\nRange: bytes=0-\r\n\r\n")).await;
        assert!(answer.starts_with("HTTP/1.1 404 "), "{path}: {answer}");
    }
    let answer = raw(&relay, &format!("POST {good} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")).await;
    assert!(answer.starts_with("HTTP/1.1 405 "), "{answer}");
    let huge = format!("GET {good} HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000));
    assert!(raw(&relay, &huge).await.starts_with("HTTP/1.1 431 "));
    assert_eq!(relay.upstream_requests(), 0);
    assert_eq!((site.hits(), site.bytes_sent()), (0, 0), "the site was asked for something");
}

#[tokio::test]
async fn a_refused_origin_fails_ffmpeg_and_the_relay_says_why() {
    let site = FixtureSite::start().await.expect("site");
    // The default policy refuses 127.0.0.1, as production does.
    let relay = relay_with(EgressPolicy::default(), &site.url(LARGE), None).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, stderr, _) = cut_clip(&relay, dir.path()).await;
    assert!(!ok, "ffmpeg read a refused origin");
    println!("ffmpeg said: {}", stderr.trim());
    match relay.failure() {
        Some(EngineError::Fetch { message, .. }) => assert!(message.starts_with(REFUSAL_PREFIX), "{message}"),
        other => panic!("the relay kept {other:?}"),
    }
    assert_eq!(site.hits(), 0, "a refused destination was contacted");

    // A site that answers 403 is reported as such.
    let relay = relay_to(&site, &format!("/k/status=403{LARGE}"), None).await;
    let (ok, _, _) = cut_clip(&relay, dir.path()).await;
    assert!(!ok);
    match relay.failure() {
        Some(EngineError::Fetch { kind: FailureKind::Http(403), message }) => assert!(message.contains("403")),
        other => panic!("the relay kept {other:?}"),
    }
}

#[tokio::test]
async fn hiccups_upstream_are_asked_again_and_the_client_sees_one_unbroken_body() {
    let site = FixtureSite::start().await.expect("site");
    let whole = get(&site.url(LARGE), None).await.body;
    let total = whole.len() as u64;

    // The site cuts the first body it sends after 100,000 bytes. The size
    // is given, so that body is the answer's first range, not a size probe.
    let relay = relay_to(&site, &format!("/k/drop_once=100000{LARGE}"), Some(total)).await;
    let got = get(relay.url().as_str(), Some("bytes=0-599999")).await;
    assert_eq!(got.status, 206);
    assert_eq!(got.body.len(), 600_000, "the body was cut");
    assert!(got.body == whole[..600_000], "other bytes than the origin's");
    assert_eq!(relay.retries(), 1);
    assert!(relay.failure().is_none(), "{:?}", relay.failure());

    // The very first request answered 503: the size probe is asked again.
    let relay = relay_to(&site, &format!("/k/once=503{LARGE}"), None).await;
    let got = get(relay.url().as_str(), Some("bytes=1000-2999")).await;
    assert_eq!(got.status, 206);
    assert!(got.body == whole[1000..3000]);
    assert_eq!(relay.retries(), 1);

    // ffmpeg cuts its clip across a cut body as if nothing happened.
    let relay = relay_to(&site, &format!("/k/drop_once=50000{LARGE}"), Some(total)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, stderr, out) = cut_clip(&relay, dir.path()).await;
    assert!(ok, "ffmpeg failed: {stderr}");
    let duration = ffprobe_duration(&out);
    assert!((3.5..=5.0).contains(&duration), "the clip lasts {duration} s");
    assert_eq!(relay.retries(), 1);
    assert!(relay.failure().is_none(), "{:?}", relay.failure());
}

#[tokio::test]
async fn an_origin_that_keeps_failing_is_asked_a_bounded_number_of_times() {
    let site = FixtureSite::start().await.expect("site");
    // Always 503: the first request and four more, then a 502 that says 503.
    let relay = relay_to(&site, &format!("/k/status=503{LARGE}"), None).await;
    let got = get(relay.url().as_str(), Some("bytes=0-99")).await;
    assert_eq!(got.status, 502);
    assert_eq!((relay.upstream_requests(), relay.retries()), (5, 4));
    match relay.failure() {
        Some(EngineError::Fetch { kind: FailureKind::Http(503), message }) => assert!(message.contains("503")),
        other => panic!("the relay kept {other:?}"),
    }

    // A 404 will not change: asked once.
    let relay = relay_to(&site, &format!("/k/status=404{LARGE}"), None).await;
    let got = get(relay.url().as_str(), Some("bytes=0-99")).await;
    assert_eq!(got.status, 502);
    assert_eq!((relay.upstream_requests(), relay.retries()), (1, 0));

    // A site that cuts every body after 1,000 bytes still makes progress,
    // so the relay keeps going until the range is whole: each retry that
    // brought bytes starts the count over.
    let first = get(&site.url(LARGE), Some("bytes=0-9999")).await;
    let total: u64 =
        header(&first.headers, CONTENT_RANGE).rsplit_once('/').and_then(|(_, t)| t.parse().ok()).expect("a size");
    let whole = first.body;
    let relay = relay_to(&site, &format!("/k/drop=1000{LARGE}"), Some(total)).await;
    let got = get(relay.url().as_str(), Some("bytes=0-9999")).await;
    assert_eq!(got.status, 206);
    assert!(got.body == whole, "{} bytes", got.body.len());
    assert_eq!(relay.retries(), 9);

    // A hostile origin that cuts every body after 10 bytes makes progress
    // too, but the answer is given up after 32 retries in all, not asked
    // again for every 10 bytes of the range (999 times).
    let relay = relay_to(&site, &format!("/k/drop=10{LARGE}"), Some(total)).await;
    let got = get_cut(relay.url().as_str(), "bytes=0-9999").await;
    assert!(got < 10_000, "the whole range arrived ({got} bytes)");
    assert_eq!((relay.upstream_requests(), relay.retries()), (33, 32));
    assert!(relay.failure().is_some());
}

#[tokio::test]
async fn a_reader_that_reads_on_gets_several_ranges_at_once_and_the_exact_bytes() {
    let site = FixtureSite::start().await.expect("site");
    let whole = get(&site.url(LARGE), None).await.body;
    let total = whole.len() as u64;

    // 2 MB/s per connection: the ranges fetched ahead overlap in time.
    let relay = relay_to(&site, &format!("/k/rate=2000000{LARGE}"), Some(total)).await;
    site.reset_peak();
    let got = get(relay.url().as_str(), Some("bytes=0-")).await;
    assert_eq!(got.status, 206);
    assert!(got.body == whole, "other bytes than the origin's ({} of {total})", got.body.len());
    println!(
        "whole file through the relay: {} upstream requests, at most {} at once",
        relay.upstream_requests(),
        site.max_in_flight()
    );
    assert!(site.max_in_flight() >= 3, "{} upstream requests at once", site.max_in_flight());
    // 256 KiB and 512 KiB streamed, then 1 MiB ranges: none asked twice.
    let ranges = 2 + (total - 768 * 1024).div_ceil(1024 * 1024);
    assert_eq!(relay.upstream_requests(), ranges);

    // Every body cut after 700,000 bytes: each range ahead is asked again
    // from where it stopped, and the reader still gets the file.
    let relay = relay_to(&site, &format!("/k/drop=700000{LARGE}"), Some(total)).await;
    let got = get(relay.url().as_str(), Some("bytes=0-")).await;
    assert!(got.body == whole, "other bytes than the origin's ({} of {total})", got.body.len());
    assert!(relay.retries() >= 8, "{} retries", relay.retries());
    assert!(relay.failure().is_none(), "{:?}", relay.failure());
}

/// Readers that each take a little more than the streamed ranges and go
/// away leave their ranges fetched ahead to finish into the cache; however
/// many readers there were, no more than 8 such fetches run at once.
#[tokio::test]
async fn readers_that_keep_going_away_cannot_pile_up_fetches_ahead() {
    let site = FixtureSite::start().await.expect("site");
    let total = get(&site.url(LARGE), None).await.body.len() as u64;
    let relay = relay_to(&site, &format!("/k/rate=400000{LARGE}"), Some(total)).await;
    let readers: Vec<_> = (0..12u64)
        .map(|i| {
            let (addr, path) = (relay.addr(), relay.url().path().to_owned());
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("connect");
                let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nRange: bytes={}-\r\n\r\n", i * 700_000);
                stream.write_all(request.as_bytes()).await.expect("write");
                // Past the two streamed ranges (786,432 bytes) and the head.
                let mut buf = vec![0u8; 64 * 1024];
                let mut read = 0;
                while read < 800_000 {
                    let n = stream.read(&mut buf).await.expect("read");
                    assert!(n > 0, "the relay closed early");
                    read += n;
                }
            })
        })
        .collect();
    for reader in readers {
        tokio::time::timeout(Duration::from_secs(60), reader).await.expect("in time").expect("reader");
    }
    site.reset_peak();
    let now = site.in_flight();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    println!("after 12 readers left: {now} upstream answers in flight, at most {} later", site.max_in_flight());
    assert!(now <= 8 && site.max_in_flight() <= 8, "{now} then up to {} fetches at once", site.max_in_flight());
    assert!(relay.upstream_requests() > 24, "the readers never read ahead ({})", relay.upstream_requests());
}

#[tokio::test]
async fn what_was_fetched_is_not_fetched_again() {
    let site = FixtureSite::start().await.expect("site");
    let whole = get(&site.url(LARGE), None).await.body;
    let relay = relay_to(&site, LARGE, Some(whole.len() as u64)).await;
    // The keyframe check and then ffmpeg both read the index first.
    let first = get(relay.url().as_str(), Some("bytes=0-99999")).await;
    let asked = relay.upstream_requests();
    let again = get(relay.url().as_str(), Some("bytes=1000-49999")).await;
    assert!(first.body == whole[..100_000] && again.body == whole[1000..50_000]);
    assert_eq!(relay.upstream_requests(), asked, "the same bytes were asked for again");
}

/// An origin that answers every range with at most `per_answer` bytes (a
/// correct `Content-Range` for them).
async fn origin_of_short_answers(body: Vec<u8>, per_answer: u64) -> (String, Arc<std::sync::atomic::AtomicU64>) {
    use axum::http::{header, HeaderMap, StatusCode};
    use std::sync::atomic::{AtomicU64, Ordering};
    let body = Arc::new(body);
    let asked = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&asked);
    let app = axum::Router::new().route(
        "/large.mp4",
        axum::routing::get(move |headers: HeaderMap| {
            let body = Arc::clone(&body);
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                let total = body.len() as u64;
                let first = headers
                    .get(header::RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("bytes=")?.split_once('-')?.0.parse::<u64>().ok())
                    .unwrap_or(0);
                let last = (first + per_answer).min(total) - 1;
                let mut out = HeaderMap::new();
                out.insert(header::CONTENT_RANGE, format!("bytes {first}-{last}/{total}").parse().expect("header"));
                (StatusCode::PARTIAL_CONTENT, out, body[first as usize..=last as usize].to_vec())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/large.mp4", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, asked)
}

#[tokio::test]
async fn an_origin_that_answers_a_few_bytes_at_a_time_is_not_asked_for_every_few_bytes() {
    let body: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
    let (url, asked) = origin_of_short_answers(body.clone(), 1000).await;
    let relay = relay_with(EgressPolicy::allow_all(), &url, Some(body.len() as u64)).await;
    let got = get_cut(relay.url().as_str(), "bytes=0-").await;
    let asked = asked.load(std::sync::atomic::Ordering::SeqCst);
    println!("{got} bytes relayed in {asked} answers");
    assert!(got < body.len(), "the whole file arrived ({got} bytes)");
    // 4,000 answers would have brought it all; the answer's budget of 32
    // more answers, shared by the ranges fetched at once, stops it.
    assert!(asked <= 40, "the origin was asked {asked} times");
    assert!(relay.failure().is_some());
}

/// The bytes of an answer the relay cuts short (reqwest reports the cut).
async fn get_cut(url: &str, range: &str) -> usize {
    let mut response = plain().get(url).header("Range", range).send().await.expect("request");
    let mut got = 0;
    while let Ok(Some(chunk)) = response.chunk().await {
        got += chunk.len();
    }
    got
}

#[tokio::test]
async fn an_origin_without_ranges_serves_from_the_start_only() {
    // A server that always answers 200 with the whole body.
    let body: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let served = body.clone();
    let app = axum::Router::new().route(
        "/file",
        axum::routing::get(move || {
            let served = served.clone();
            async move { served }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let relay = relay_with(EgressPolicy::allow_all(), &format!("http://{addr}/file"), None).await;
    let url = relay.url().to_string();
    let head = get(&url, Some("bytes=0-99")).await;
    assert_eq!(head.status, 206);
    assert_eq!(header(&head.headers, CONTENT_RANGE), format!("bytes 0-99/{}", body.len()));
    assert!(head.body == body[..100]);
    assert!(relay.failure().is_none());

    let later = get(&url, Some("bytes=500000-")).await;
    assert_eq!(later.status, 502);
    match relay.failure() {
        Some(EngineError::Fetch { message, .. }) => assert!(message.contains("does not serve parts"), "{message}"),
        other => panic!("the relay kept {other:?}"),
    }
    server.abort();
}

#[tokio::test]
async fn dropping_the_relay_closes_its_port_and_its_connections() {
    let site = FixtureSite::start().await.expect("site");
    let path = format!("/k/rate=131072{LARGE}");
    let relay = relay_to(&site, &path, None).await;
    let addr = relay.addr();

    // A download under way when the relay goes.
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {} HTTP/1.1\r\nHost: x\r\nRange: bytes=0-\r\n\r\n", relay.url().path());
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 16 * 1024];
    assert!(stream.read(&mut buf).await.expect("read") > 0);
    drop(relay);

    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the connection outlived the relay");
    let mut refused = false;
    for _ in 0..40 {
        if TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "the port is still open");
    assert!(support::eventually(Duration::from_secs(2), || site.in_flight() == 0).await, "the site is still sending");

    // `shutdown` waits: the port is closed when it returns.
    let relay = relay_to(&site, LARGE, None).await;
    let addr = relay.addr();
    assert!(TcpStream::connect(addr).await.is_ok());
    relay.shutdown().await;
    assert!(TcpStream::connect(addr).await.is_err(), "the port is open after shutdown");
}
