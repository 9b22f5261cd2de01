//! The native engine never connects where the egress guard says no: a
//! hostile origin on 127.0.0.2 (allowed, standing in for a public site)
//! serves crafted formats, playlists and redirects pointing at 127.0.0.1,
//! whose listener counts every connection — and must count none.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::Router;
use engine::native::{NativeEngine, NativeError, NativeRequest, NativeSettings, REFUSAL_PREFIX};
use engine::{AudioFormat, InfoJson, Probe, QualityId};
use netguard::{ClientSettings, EgressPolicy, GuardedClient};
use tokio_util::sync::CancellationToken;

/// A listener on 127.0.0.1 that counts accepted connections.
async fn forbidden_target() -> (u16, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let count = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (port, count)
}

#[derive(Clone)]
struct Hostile {
    target: String,
}

#[derive(serde::Deserialize)]
struct To {
    to: String,
}

/// The crafted origin on 127.0.0.2: playlists whose segment, key or init
/// section is at `?to=`, and a redirect to `?to=`.
async fn hostile_origin(target: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.expect("bind 127.0.0.2");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new()
        .route(
            "/segment.m3u8",
            get(|Query(q): Query<To>| async move {
                format!("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n{}\n#EXT-X-ENDLIST\n", q.to)
            }),
        )
        .route(
            "/key.m3u8",
            get(|Query(q): Query<To>| async move {
                format!(
                    "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=AES-128,URI=\"{}\"\n#EXTINF:2,\nseg.ts\n#EXT-X-ENDLIST\n",
                    q.to
                )
            }),
        )
        .route(
            "/map.m3u8",
            get(|Query(q): Query<To>| async move {
                format!(
                    "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"{}\"\n#EXTINF:2,\nseg.m4s\n#EXT-X-ENDLIST\n",
                    q.to
                )
            }),
        )
        .route("/seg.ts", get(|| async { vec![0x47u8; 188 * 10] }))
        .route("/seg.m4s", get(|| async { vec![0u8; 100] }))
        .route("/redirect", get(|Query(q): Query<To>| async move { Redirect::temporary(&q.to) }))
        .route(
            "/target",
            get(|State(h): State<Hostile>| async move { h.target.clone().into_response() }),
        )
        .with_state(Hostile { target });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn engine() -> NativeEngine {
    let policy = Arc::new(EgressPolicy::allowing(["127.0.0.2/32".parse().expect("cidr")]));
    let client = GuardedClient::new(policy, &ClientSettings::default()).expect("client");
    NativeEngine::new(client, NativeSettings::default(), "ffmpeg", Default::default())
}

fn probe_with(protocol: &str, url: &str) -> Arc<Probe> {
    let raw = serde_json::json!({
        "id": "x", "title": "hostile", "duration": 2.0,
        "formats": [{
            "format_id": "v", "protocol": protocol, "url": url, "ext": "mp4",
            "vcodec": "avc1.42c01e", "acodec": "mp4a.40.2", "height": 360, "width": 640
        }]
    })
    .to_string();
    let info: InfoJson = serde_json::from_str(&raw).expect("info");
    Arc::new(Probe { info, raw: Arc::from(raw) })
}

async fn download(probe: Arc<Probe>) -> (Result<engine::DownloadedFile, NativeError>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let request = NativeRequest {
        probe,
        quality: QualityId::Auto,
        options: engine::DownloadOptions { audio_format: AudioFormat::M4a, ..Default::default() },
        dir: dir.path().join("job"),
        reextract: None,
    };
    let mut sink = |_p: engine::Progress| {};
    let result = engine().download(&request, CancellationToken::new(), &mut sink).await;
    (result, dir)
}

fn assert_refused(result: &Result<engine::DownloadedFile, NativeError>, case: &str) {
    match result {
        Err(NativeError::Failed(engine::EngineError::Fetch { message, .. })) => {
            assert!(message.starts_with(REFUSAL_PREFIX), "{case}: {message}");
        }
        other => panic!("{case}: expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn ip_literals_names_and_redirects_to_a_private_address_are_refused_unconnected() {
    let (port, hits) = forbidden_target().await;
    let origin = hostile_origin(format!("http://127.0.0.1:{port}/")).await;
    let targets = [
        format!("http://127.0.0.1:{port}/v.mp4"),
        format!("http://2130706433:{port}/v.mp4"),
        format!("http://0x7f000001:{port}/v.mp4"),
        format!("http://127.1:{port}/v.mp4"),
        format!("http://[::ffff:127.0.0.1]:{port}/v.mp4"),
        format!("http://localhost:{port}/v.mp4"),
        format!("http://0.0.0.0:{port}/v.mp4"),
    ];
    for target in &targets {
        // The format itself.
        let (result, dir) = download(probe_with("https", target)).await;
        assert_refused(&result, target);
        assert!(fixture::inspect::list(&dir.path().join("job")).is_empty(), "{target}: files left");
        // A redirect from the allowed origin.
        let via = format!("{origin}/redirect?to={}", urlencode(target));
        let (result, _dir) = download(probe_with("https", &via)).await;
        assert_refused(&result, &via);
        // An HLS segment, key and init section on the target.
        for kind in ["segment", "key", "map"] {
            let playlist = format!("{origin}/{kind}.m3u8?to={}", urlencode(target));
            let (result, _dir) = download(probe_with("m3u8_native", &playlist)).await;
            assert_refused(&result, &format!("{kind} at {target}"));
        }
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the forbidden listener was contacted");
}

#[tokio::test]
async fn non_http_segment_schemes_are_never_fetched_natively() {
    let (port, hits) = forbidden_target().await;
    let origin = hostile_origin(String::new()).await;
    for target in [
        "file:///etc/passwd".to_owned(),
        format!("httpproxy://127.0.0.1:{port}/k.key"),
        format!("tcp://127.0.0.1:{port}"),
        "data:application/octet-stream;base64,AAAA".to_owned(),
    ] {
        let playlist = format!("{origin}/segment.m3u8?to={}", urlencode(&target));
        let (result, dir) = download(probe_with("m3u8_native", &playlist)).await;
        // Either declined (yt-dlp's path, itself behind the proxy, then
        // decides) or refused; never fetched, never a file.
        assert!(result.is_err(), "{target}: {result:?}");
        assert!(fixture::inspect::list(&dir.path().join("job")).is_empty());
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
