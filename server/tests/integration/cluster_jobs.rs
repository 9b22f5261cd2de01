//! Downloads in a cluster (`REDIS_URL`, `KACHAY_ROLE`): queued on one web
//! node, run by a worker, followed and cancelled on another web node; a
//! worker killed mid-download has its job finished by another.
//!
//! Nodes are `TestApp`s of their own, or the real server binary as separate
//! processes (the ten downloads, the worker killed with SIGKILL). All share a
//! real redis-server and one download directory, as the README's setup does.

use crate::common::redis::RedisServer;
use crate::common::TestApp;
use crate::downloads::read_events;
use fixture::FixtureSite;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

async fn node(redis: &str, role: &str, shared_dir: &Path) -> TestApp {
    let (redis, role, dir) = (redis.to_owned(), role.to_owned(), shared_dir.to_path_buf());
    TestApp::start_with(move |c| {
        c.redis_url = Some(redis);
        c.kachay_role = Some(role);
        c.download_dir = dir;
        c.max_concurrent_downloads = 2;
        // Nodes in one test process would otherwise share a name.
        c.kachay_worker_id = Some(uuid::Uuid::new_v4().to_string());
    })
    .await
}

async fn wait_status(app: &TestApp, id: &str, wanted: &[&str], limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let (status, body) = app.get_json(&format!("/api/status/{id}")).await;
        assert_eq!(status, 200, "{body}");
        if wanted.contains(&body["status"].as_str().unwrap_or_default()) {
            return body;
        }
        assert!(Instant::now() < deadline, "still {body} after {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A fixture site, a Redis, one shared directory, two web nodes and a worker.
struct Cluster {
    site: FixtureSite,
    _redis: RedisServer,
    shared: tempfile::TempDir,
    a: TestApp,
    b: TestApp,
    worker: TestApp,
}

impl Cluster {
    async fn start() -> Cluster {
        let site = FixtureSite::start().await.expect("fixture");
        let redis = RedisServer::start().await;
        let shared = tempfile::tempdir().expect("shared dir");
        let a = node(&redis.url(), "web", shared.path()).await;
        let b = node(&redis.url(), "web", shared.path()).await;
        let worker = node(&redis.url(), "worker", shared.path()).await;
        Cluster { site, _redis: redis, shared, a, b, worker }
    }
}

#[tokio::test]
async fn a_download_queued_on_one_web_node_runs_on_a_worker_and_is_followed_on_the_other() {
    let Cluster { site, _redis, shared: _shared, a, b, worker } = Cluster::start().await;

    // Throttled, so there is progress to follow.
    let id = a.start_download(&site.url("/k/rate=1500000/watch/main"), "360").await;
    let (status, events, _) = read_events(&b, &id, None).await;
    assert_eq!(status, 200);
    let states: Vec<&str> = events.iter().filter_map(|e| e.data["status"].as_str()).collect();
    assert_eq!(states.last(), Some(&"completed"), "{states:?}");
    assert!(states.contains(&"downloading"), "progress was followed on the other node: {states:?}");
    let ids: Vec<u64> = events.iter().filter_map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "event ids only grow: {ids:?}");
    // A reconnect that has seen the end is told so.
    let (status, _, _) = read_events(&b, &id, ids.last().copied()).await;
    assert_eq!(status, 204);

    let done = wait_status(&b, &id, &["completed"], Duration::from_secs(10)).await;
    let size = done["filesize"].as_u64().expect("filesize");
    for node in [&a, &b] {
        let file = node.client.get(node.url(&format!("/api/file/{id}"))).send().await.expect("file");
        assert_eq!(file.status(), 200);
        assert_eq!(file.bytes().await.expect("body").len() as u64, size, "the file from either web node");
    }
    // The listing on either node shows it.
    let (_, list) = a.get_json("/api/downloads").await;
    assert!(list["downloads"].as_array().is_some_and(|d| d.iter().any(|d| d["id"] == id.as_str())), "{list}");
    a.stop().await;
    b.stop().await;
    worker.stop().await;
}

/// A node as its own process: the real server binary with `role`.
struct NodeProcess {
    child: std::process::Child,
    base: String,
    client: reqwest::Client,
}

impl NodeProcess {
    async fn start(redis: &str, dir: &Path, role: &str, name: &str) -> NodeProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("KACHAY_ROLE", role)
            .env("KACHAY_WORKER_ID", name)
            .env("REDIS_URL", redis)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_OUTPUT_NAME", "kachay")
            .env("DOWNLOAD_DIR", dir)
            .env("DATA_DIR", dir.join(format!(".data-{name}")))
            .env("YTDLP", fixture::ytdlp_program())
            .env("ALLOW_PRIVATE_NETWORKS", "127.0.0.0/8")
            .env("MAX_CONCURRENT_DOWNLOADS", "2")
            .env("RATE_LIMIT_PER_MINUTE", "100000")
            .env("RATE_LIMIT_BURST", "10000")
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the server binary runs");
        let node = NodeProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder().no_proxy().build().expect("client"),
        };
        if role != "worker" {
            let deadline = Instant::now() + Duration::from_secs(30);
            while node.client.get(format!("{}/api/health", node.base)).send().await.is_err() {
                assert!(Instant::now() < deadline, "the web node did not start");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        node
    }

    async fn download(&self, url: &str) -> String {
        let answer = self
            .client
            .post(format!("{}/api/download", self.base))
            .json(&json!({ "url": url, "quality": "360" }))
            .send()
            .await
            .expect("answer");
        let body: Value = answer.json().await.expect("JSON");
        body["download_id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
    }

    async fn finished(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let body: Value = self
                .client
                .get(format!("{}/api/status/{id}", self.base))
                .send()
                .await
                .expect("status")
                .json()
                .await
                .expect("JSON");
            if matches!(body["status"].as_str(), Some("completed" | "error" | "cancelled")) {
                return body;
            }
            assert!(Instant::now() < deadline, "still {body}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn ten_downloads_through_two_web_processes_on_two_worker_processes_all_complete_once() {
    let site = FixtureSite::start().await.expect("fixture");
    let redis = RedisServer::start().await;
    let shared = tempfile::tempdir().expect("shared dir");
    let url = redis.url();
    let webs = [
        NodeProcess::start(&url, shared.path(), "web", "web1").await,
        NodeProcess::start(&url, shared.path(), "web", "web2").await,
    ];
    let _workers = [
        NodeProcess::start(&url, shared.path(), "worker", "w1").await,
        NodeProcess::start(&url, shared.path(), "worker", "w2").await,
    ];
    let page = site.url("/watch/main");
    let segments = |site: &FixtureSite| -> u64 {
        site.all_path_hits().iter().filter(|(path, _)| path.contains("/seg")).map(|(_, n)| n).sum()
    };
    // One alone first: what a single run asks of the site.
    let first = webs[0].download(&page).await;
    let done = webs[1].finished(&first).await;
    assert_eq!(done["status"], "completed", "{done}");
    let one_run = segments(&site);
    assert!(one_run > 0);

    let mut ids = Vec::new();
    for n in 0..9usize {
        ids.push(webs[n % 2].download(&page).await);
    }
    for (n, id) in ids.iter().enumerate() {
        let done = webs[(n + 1) % 2].finished(id).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_ne!(done["restarted"], true, "{done}");
    }
    // Each ran exactly once: a second run of any would have fetched its
    // segments again.
    assert_eq!(segments(&site), 10 * one_run);
    let list: Value = webs[1]
        .client
        .get(format!("{}/api/downloads?limit=50", webs[1].base))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("JSON");
    assert_eq!(list["downloads"].as_array().map(Vec::len), Some(10), "{list}");
    // The health page lists both workers.
    let health: Value = webs[0]
        .client
        .get(format!("{}/api/health", webs[0].base))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("JSON");
    let workers: Vec<&str> =
        health["cluster"]["workers"].as_array().into_iter().flatten().filter_map(|w| w["id"].as_str()).collect();
    assert_eq!(workers, ["w1", "w2"], "{health}");
}

#[tokio::test]
async fn a_download_is_cancelled_from_the_other_web_node() {
    let Cluster { site, _redis, shared, a, b, worker } = Cluster::start().await;
    // Slow enough to be cancelled mid-way.
    let id = a.start_download(&site.url("/k/total=150000/watch/main"), "360").await;
    wait_status(&b, &id, &["downloading"], Duration::from_secs(30)).await;
    let (status, body) = b.post_json(&format!("/api/cancel/{id}"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let done = wait_status(&a, &id, &["cancelled", "completed", "error"], Duration::from_secs(10)).await;
    assert_eq!(done["status"], "cancelled", "{done}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!shared.path().join(&id).exists(), "the worker removed the partial files");

    // A download nobody has taken yet is cancelled by the web node itself.
    worker.stop().await;
    let queued = a.start_download(&site.url("/watch/main"), "360").await;
    let (status, body) = b.post_json(&format!("/api/cancel/{queued}"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let done = wait_status(&a, &queued, &["cancelled"], Duration::from_secs(5)).await;
    assert_eq!(done["status"], "cancelled");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_worker_killed_mid_download_has_its_job_finished_by_another() {
    let site = FixtureSite::start().await.expect("fixture");
    let redis = RedisServer::start().await;
    let shared = tempfile::tempdir().expect("shared dir");
    let web = node(&redis.url(), "web", shared.path()).await;
    let mut first = NodeProcess::start(&redis.url(), shared.path(), "worker", "first").await;
    let id = web.start_download(&site.url("/k/total=300000/watch/main"), "360").await;
    wait_status(&web, &id, &["downloading"], Duration::from_secs(60)).await;
    first.child.kill().expect("SIGKILL");
    let _ = first.child.wait();

    let _second = NodeProcess::start(&redis.url(), shared.path(), "worker", "second").await;
    // Taken over once the dead worker's entry has been idle long enough.
    let done = wait_status(&web, &id, &["completed", "error", "cancelled"], Duration::from_secs(120)).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["restarted"], true, "{done}");
    let file = web.client.get(web.url(&format!("/api/file/{id}"))).send().await.expect("file");
    assert_eq!(file.status(), 200);
    web.stop().await;
}

#[tokio::test]
async fn the_health_page_lists_the_workers_and_the_queue() {
    let redis = RedisServer::start().await;
    let shared = tempfile::tempdir().expect("shared dir");
    let web = node(&redis.url(), "web", shared.path()).await;
    // Queued with no worker yet: a warning that says what to start.
    let site = FixtureSite::start().await.expect("fixture");
    let id = web.start_download(&site.url("/watch/main"), "360").await;
    let (_, body) = web.get_json("/api/health").await;
    assert_eq!(body["cluster"]["role"], "web", "{body}");
    assert_eq!(body["cluster"]["redis_reachable"], true, "{body}");
    assert_eq!(body["cluster"]["queued"], 1, "{body}");
    assert!(body["warnings"].as_array().is_some_and(|w| w.iter().any(|w| w["code"] == "no_workers")), "{body}");

    let worker = node(&redis.url(), "worker", shared.path()).await;
    wait_status(&web, &id, &["completed"], Duration::from_secs(60)).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, body) = web.get_json("/api/health").await;
        let workers = body["cluster"]["workers"].as_array().cloned().unwrap_or_default();
        if workers.len() == 1 {
            assert_eq!(workers[0]["slots"], 2, "{body}");
            assert_eq!(body["cluster"]["queued"], 0, "{body}");
            assert!(!body["warnings"].as_array().is_some_and(|w| w.iter().any(|w| w["code"] == "no_workers")));
            let text = web.client.get(web.url("/api/health?format=text")).send().await.expect("text");
            let text = text.text().await.expect("body");
            assert!(text.contains("Cluster: web node; Redis answers; workers 1, running 0, queued 0"), "{text}");
            break;
        }
        assert!(Instant::now() < deadline, "the worker never showed up: {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    worker.stop().await;
    web.stop().await;
}

#[tokio::test]
async fn per_client_limits_count_the_jobs_of_every_node_and_a_lost_redis_is_a_503() {
    let site = FixtureSite::start().await.expect("fixture");
    let mut redis = RedisServer::start().await;
    let shared = tempfile::tempdir().expect("shared dir");
    let start = |redis: String, dir: std::path::PathBuf| {
        TestApp::start_with(move |c| {
            c.redis_url = Some(redis);
            c.kachay_role = Some("web".into());
            c.download_dir = dir;
            c.max_jobs_per_client = 2;
        })
    };
    let a = start(redis.url(), shared.path().to_path_buf()).await;
    let b = start(redis.url(), shared.path().to_path_buf()).await;
    let page = site.url("/watch/main");
    let first = a.start_download(&page, "360").await;
    b.start_download(&page, "360").await;
    // No worker: both wait. A third, on either node, is over the limit.
    let (status, body) = a.post_json("/api/download", json!({ "url": page, "quality": "360" })).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "too_many_downloads", "{body}");
    assert_eq!(body["detail"]["count"], 2, "{body}");

    redis.stop().await;
    let started = Instant::now();
    let (status, body) = b.get_json(&format!("/api/status/{first}")).await;
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "shared_state_unavailable", "{body}");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn the_queue_takes_turns_across_clients() {
    let site = FixtureSite::start().await.expect("fixture");
    let redis = RedisServer::start().await;
    let shared = tempfile::tempdir().expect("shared dir");
    let start = |redis: String, role: &'static str, dir: std::path::PathBuf| {
        TestApp::start_with(move |c| {
            c.redis_url = Some(redis);
            c.kachay_role = Some(role.into());
            c.download_dir = dir;
            c.max_concurrent_downloads = 1;
            c.kachay_worker_id = Some(uuid::Uuid::new_v4().to_string());
            c.trusted_proxies = Some("127.0.0.1/32".into());
        })
    };
    let web = start(redis.url(), "web", shared.path().to_path_buf()).await;
    let download = |client: &'static str| {
        let (web, page) = (&web, site.url("/k/total=2000000/watch/main"));
        async move {
            let body: Value = web
                .client
                .post(web.url("/api/download"))
                .header("X-Forwarded-For", client)
                .json(&json!({ "url": page, "quality": "360" }))
                .send()
                .await
                .expect("answer")
                .json()
                .await
                .expect("JSON");
            body["download_id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
        }
    };
    // One client queues five, then another queues one; one worker, one slot.
    let mut many = Vec::new();
    for _ in 0..5 {
        many.push(download("198.51.100.1").await);
    }
    let single = download("198.51.100.2").await;
    let worker = start(redis.url(), "worker", shared.path().to_path_buf()).await;
    for id in many.iter().chain([&single]) {
        let done = wait_status(&web, id, &["completed", "error", "cancelled"], Duration::from_secs(120)).await;
        assert_eq!(done["status"], "completed", "{done}");
    }
    let finished = |client: &'static str| {
        let web = &web;
        async move {
            let list: Value = web
                .client
                .get(web.url("/api/downloads"))
                .header("X-Forwarded-For", client)
                .send()
                .await
                .expect("list")
                .json()
                .await
                .expect("JSON");
            let mut at: Vec<u64> =
                list["downloads"].as_array().into_iter().flatten().filter_map(|d| d["finished_at"].as_u64()).collect();
            at.sort_unstable();
            at
        }
    };
    let (many_at, single_at) = (finished("198.51.100.1").await, finished("198.51.100.2").await);
    assert_eq!((many_at.len(), single_at.len()), (5, 1));
    // The second client's one download ran second, not after the first's five.
    assert!(single_at[0] < many_at[1], "single {single_at:?}, many {many_at:?}");
    worker.stop().await;
    web.stop().await;
}

#[tokio::test]
async fn a_worker_that_loses_redis_keeps_trying_and_works_again_when_it_is_back() {
    let site = FixtureSite::start().await.expect("fixture");
    let mut redis = RedisServer::start().await;
    let shared = tempfile::tempdir().expect("shared dir");
    let worker = node(&redis.url(), "worker", shared.path()).await;
    redis.stop().await;
    // Long enough for several failed tries (and a growing pause).
    tokio::time::sleep(Duration::from_secs(3)).await;
    redis.restart().await;
    let web = node(&redis.url(), "web", shared.path()).await;
    let id = web.start_download(&site.url("/watch/main"), "360").await;
    let done = wait_status(&web, &id, &["completed", "error", "cancelled"], Duration::from_secs(60)).await;
    assert_eq!(done["status"], "completed", "{done}");
    web.stop().await;
    worker.stop().await;
}
