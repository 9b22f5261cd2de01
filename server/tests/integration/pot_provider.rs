//! Offline proof that the yt-dlp arguments the server builds make yt-dlp
//! load PO-token providers: Kachay's own (its token service and shared
//! cache), and any in `YTDLP_PLUGIN_DIRS`.
//!
//! yt-dlp lists its PO-token providers only when its YouTube extractor
//! starts, which a fixture-site page never does. So the listing comes from a
//! YouTube address fetched through a proxy on 127.0.0.1 where nothing
//! listens (`YtDlp::diagnose`, the same run the health page makes): the
//! extractor starts, prints the providers and fails at once; nothing leaves
//! the machine. The fixture-site run shows the same arguments are accepted by
//! a normal run and that the JS runtime is reported. Finally yt-dlp's own
//! PO-token framework is asked for a token in separate processes: Kachay's
//! provider gets it from the server's token service, which asks a fake
//! bgutil minter on 127.0.0.1 (`/ping`, `/get_pot`) once. The plugin's own
//! tests, in Python, are in `ytdlp-plugins/tests`.

use crate::common::TestApp;
use engine::YtDlp;
use server::config::Config;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn ytdlp_program() -> PathBuf {
    fixture::ytdlp_program()
}

/// A config for the fixture yt-dlp with `adjust` applied.
fn config(adjust: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config { ytdlp: Some(ytdlp_program()), ..Config::default() };
    adjust(&mut config);
    config
}

fn args_of(config: &Config) -> Vec<OsString> {
    server::ytdlp_args::ytdlp_args(config).expect("valid settings")
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// `yt-dlp -v --ignore-config --no-update ARGS --simulate -- URL` (plus a
/// dead proxy for YouTube addresses): exit success and stderr.
async fn verbose_run(args: &[OsString], url: &str) -> (bool, String) {
    let mut cmd = tokio::process::Command::new(ytdlp_program());
    cmd.args(["-v", "--ignore-config", "--no-update", "--no-cache-dir"]).args(args);
    if url.contains("youtube.com") {
        cmd.args(["--proxy", &format!("http://127.0.0.1:{}", closed_port())]).args(["--extractor-retries", "0"]);
    }
    let out = cmd
        .args(["--simulate", "--", url])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("yt-dlp runs");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn debug_lines(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| {
            l.starts_with("[debug] Command-line")
                || l.starts_with("[debug] yt-dlp version")
                || l.starts_with("[debug] JS runtimes")
                || l.starts_with("[debug] Plugin directories")
                || l.contains("[pot]")
                || l.contains("[jsc]")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A minimal PO-token provider plugin, in its own plugin directory.
fn write_test_plugin(root: &Path) -> PathBuf {
    let plugins = root.join("plugins");
    let package = plugins.join("kachay-test-provider/yt_dlp_plugins/extractor");
    std::fs::create_dir_all(&package).expect("plugin dirs");
    std::fs::write(
        package.join("getpot_kachaytest.py"),
        r#"from yt_dlp.extractor.youtube.pot.provider import (
    PoTokenProvider, PoTokenProviderRejectedRequest, register_provider)


@register_provider
class KachayTestPTP(PoTokenProvider):
    PROVIDER_VERSION = '0.1.0'
    PROVIDER_NAME = 'kachay-test'
    BUG_REPORT_LOCATION = 'https://example.invalid/'
    _SUPPORTED_CLIENTS = None
    _SUPPORTED_CONTEXTS = None
    _SUPPORTED_EXTERNAL_REQUEST_FEATURES = None

    def is_available(self):
        return True

    def _real_request_pot(self, request):
        raise PoTokenProviderRejectedRequest('test provider')
"#,
    )
    .expect("plugin file");
    plugins
}

#[tokio::test]
async fn a_plugin_directory_from_the_settings_loads_its_provider() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugins = write_test_plugin(dir.path());
    let config = config(|c| c.ytdlp_plugin_dirs = Some(plugins.display().to_string()));
    let args = args_of(&config);

    let report = YtDlp::new(ytdlp_program()).with_extra_args(args.clone()).diagnose().await.expect("yt-dlp -v runs");
    let providers = report.pot_providers.expect("the YouTube extractor listed its providers");
    let ours = providers.iter().find(|p| p.name == "kachay-test");
    assert!(ours.is_some_and(|p| p.external && p.available && p.version.as_deref() == Some("0.1.0")), "{providers:?}");
}

#[tokio::test]
async fn the_same_arguments_work_on_a_fixture_page_and_report_the_js_runtime() {
    let site = fixture::FixtureSite::start().await.expect("fixture site");
    let config = config(|c| {
        c.pot_provider_url = Some("http://127.0.0.1:4416".into());
        c.ytdlp_extractor_args = Some("youtube:player_client=default;pot_trace=true".into());
    });
    let args = args_of(&config);
    let (ok, stderr) = verbose_run(&args, &site.url("/watch/main")).await;
    println!("yt-dlp -v on a fixture page:\n{}", debug_lines(&stderr));
    assert!(ok, "{stderr}");
    assert!(stderr.contains("'--extractor-args', 'youtube:player_client=default;pot_trace=true'"), "{stderr}");
    let has_runtime_flag = args.iter().any(|a| a == "--js-runtimes");
    if has_runtime_flag {
        assert!(stderr.contains("[debug] JS runtimes: deno-"), "{stderr}");
    } else {
        eprintln!(
            "\n*** NOTE: no deno next to {} or on PATH, so no --js-runtimes flag was checked. ***\n",
            ytdlp_program().display()
        );
    }
    site.stop().await;
}

/// What the fake bgutil server was asked.
#[derive(Debug, Clone)]
struct Asked {
    method: String,
    path: String,
    body: String,
}

/// A bgutil HTTP server stand-in on 127.0.0.1: `/ping` and `/get_pot`, as
/// the plugin's `getpot_bgutil_http.py` calls them.
async fn fake_bgutil_server(token: &'static str) -> (String, Arc<Mutex<Vec<Asked>>>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let asked = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&asked);
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let record = Arc::clone(&record);
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut buf = [0u8; 8192];
                let head_end = loop {
                    if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at + 4;
                    }
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => data.extend_from_slice(&buf[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.split_once(':')
                            .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                            .and_then(|(_, v)| v.trim().parse().ok())
                    })
                    .unwrap_or(0);
                while data.len() < head_end + length {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => data.extend_from_slice(&buf[..n]),
                    }
                }
                let mut first = head.lines().next().unwrap_or_default().split_whitespace();
                let method = first.next().unwrap_or_default().to_owned();
                let path = first.next().unwrap_or_default().to_owned();
                let body = String::from_utf8_lossy(&data[head_end..]).into_owned();
                let answer = match (method.as_str(), path.as_str()) {
                    ("GET", "/ping") => Some(r#"{"server_uptime": 1.5, "version": "2.0.2"}"#.to_owned()),
                    ("POST", "/get_pot") => Some(format!(
                        r#"{{"poToken": "{token}", "contentBinding": "x", "expiresAt": "2099-01-01T00:00:00.000Z"}}"#
                    )),
                    _ => None,
                };
                record.lock().expect("record").push(Asked { method, path, body });
                let (status, body) = match answer {
                    Some(json) => ("200 OK", json),
                    None => ("404 Not Found", "{}".to_owned()),
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (base, asked, task)
}

/// Asks yt-dlp's PO-token framework (the YouTube extractor's
/// `fetch_po_token`, as it does before a player request) for a token, with
/// yt-dlp's own option parsing of our arguments.
const FETCH_TOKEN: &str = r#"
import sys
import yt_dlp
from yt_dlp.globals import plugin_dirs
from yt_dlp.plugins import load_all_plugins
from yt_dlp.extractor.youtube.pot.provider import PoTokenContext

parsed = yt_dlp.parse_options(sys.argv[1:])
plugin_dirs.value = parsed.options.plugin_dirs
if plugin_dirs.value:
    load_all_plugins()
with yt_dlp.YoutubeDL(parsed.ydl_opts) as ydl:
    ie = ydl.get_info_extractor('Youtube')
    ie.initialize()
    token = ie.fetch_po_token(
        client='web', context=PoTokenContext.PLAYER, ytcfg=ie._get_default_ytcfg('web'),
        video_id='jNQXAC9IVRw', required=True)
    print('PO_TOKEN=' + str(token))
"#;

/// Runs [`FETCH_TOKEN`] with the server's yt-dlp arguments and `proxy` (a
/// dead one, for anything that would go to YouTube): stdout and stderr. The
/// proxy is part of a token's key, so runs that should share a token share
/// a proxy, as the server's runs share its egress proxy.
async fn fetch_token(app: &TestApp, proxy: &str) -> (String, String) {
    // The virtualenv's Python sits next to its yt-dlp.
    let python = ytdlp_program().with_file_name("python");
    assert!(python.is_file(), "no Python next to {}", ytdlp_program().display());
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("fetch_token.py");
    std::fs::write(&script, FETCH_TOKEN).expect("script");
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .args(["-v", "--ignore-config", "--no-update", "--no-cache-dir"])
        .args(app.ytdlp.extra_args())
        .envs(app.ytdlp.extra_env().iter().map(|(k, v)| (k, v)))
        .args(["--proxy", proxy])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("python runs");
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn mints(asked: &Mutex<Vec<Asked>>) -> Vec<serde_json::Value> {
    let asked = asked.lock().expect("asked");
    asked
        .iter()
        .filter(|a| a.method == "POST" && a.path == "/get_pot")
        .map(|a| serde_json::from_str(&a.body).expect("JSON body"))
        .collect()
}

#[tokio::test]
async fn kachays_provider_and_cache_are_loaded_and_the_health_page_says_so() {
    let (base, _asked, minter) = fake_bgutil_server("a2FjaGF5LWZha2UtcG8tdG9rZW4=").await;
    let app = TestApp::start_with(|c| c.pot_provider_url = Some(format!("{base}/"))).await;
    let args: Vec<String> = app.ytdlp.extra_args().iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let service = args.iter().find(|a| a.starts_with("youtubepot-kachay:")).expect("the service's argument");
    assert!(
        service.starts_with("youtubepot-kachay:url=http://127.0.0.1:") && service.ends_with(";mint=1"),
        "{service}"
    );
    assert!(!args.iter().any(|a| a.contains("bgutilhttp")), "the minter is the service's business: {args:?}");
    // The credential is in yt-dlp's environment, never on its command line.
    let (_, key) = app.ytdlp.extra_env().iter().find(|(k, _)| k == "KACHAY_POT_KEY").expect("the key variable");
    let key = key.to_string_lossy().into_owned();
    assert_eq!(key.len(), 32, "a fresh random key");
    assert!(!args.iter().any(|a| a.contains(&key)), "{args:?}");

    let (_, body) = app.get_json("/api/health").await;
    let pot = &body["pot_service"];
    assert_eq!(pot["running"], true, "{body}");
    assert_eq!(pot["provider_loaded"], true, "{body}");
    assert_eq!(pot["cache_loaded"], true, "{body}");
    assert_eq!(pot["minter"], base.as_str(), "{body}");
    assert_eq!(pot["minter_reachable"], true, "{body}");
    assert_eq!(pot["minter_version"], "2.0.2", "{body}");
    let warnings = body["warnings"].as_array().cloned().unwrap_or_default();
    assert!(!warnings.iter().any(|w| w["code"].as_str().is_some_and(|c| c.starts_with("pot_"))), "{body}");
    let kachay = body["pot_provider"]["providers"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "kachay").cloned())
        .unwrap_or_else(|| panic!("kachay listed: {body}"));
    assert_eq!(kachay["available"], true, "{kachay}");
    // The credential is never shown.
    assert!(!body.to_string().contains(&key), "{body}");
    let text =
        app.client.get(app.url("/api/health?format=text")).send().await.expect("text").text().await.expect("body");
    assert!(text.contains("PO-token service: Kachay's plugin loaded; minted 0, from cache 0, failed 0"), "{text}");
    assert!(text.contains("PO-token minter: answers (2.0.2)"), "{text}");
    assert!(!text.contains(&key), "{text}");
    minter.abort();
    app.stop().await;
}

#[tokio::test]
async fn two_yt_dlp_runs_share_one_minted_token() {
    let token = "a2FjaGF5LWZha2UtcG8tdG9rZW4=";
    let (base, asked, minter) = fake_bgutil_server(token).await;
    let app = TestApp::start_with(|c| c.pot_provider_url = Some(base.clone())).await;
    let proxy = format!("http://127.0.0.1:{}", closed_port());
    for run in 1..=2 {
        let (stdout, stderr) = fetch_token(&app, &proxy).await;
        println!("run {run}:\n{}", debug_lines(&stderr));
        assert!(stdout.contains(&format!("PO_TOKEN={token}")), "run {run}: stdout: {stdout}\nstderr: {stderr}");
    }
    let mints = mints(&asked);
    assert_eq!(mints.len(), 1, "one mint for two processes: {mints:?}");
    assert_eq!(mints[0]["content_binding"], "jNQXAC9IVRw");
    assert_eq!(mints[0]["innertube_context"]["client"]["clientName"], "WEB");
    // The minter fetches from YouTube through the proxy yt-dlp was given.
    assert_eq!(mints[0]["proxy"], proxy.as_str());
    let (_, body) = app.get_json("/api/health").await;
    assert_eq!(body["pot_service"]["minted"], 1, "{body}");
    assert_eq!(body["pot_service"]["failures"], 0, "{body}");
    minter.abort();
    app.stop().await;
}

#[tokio::test]
async fn a_minter_that_is_down_is_named_in_yt_dlps_output_and_on_the_health_page() {
    let dead = format!("http://127.0.0.1:{}", closed_port());
    let app = TestApp::start_with(|c| c.pot_provider_url = Some(dead.clone())).await;
    let (stdout, stderr) = fetch_token(&app, &format!("http://127.0.0.1:{}", closed_port())).await;
    assert!(stdout.contains("PO_TOKEN=None"), "stdout: {stdout}\nstderr: {stderr}");
    let warning = stderr
        .lines()
        .find(|l| l.contains("from \"kachay\" provider"))
        .unwrap_or_else(|| panic!("no warning from the provider in:\n{stderr}"));
    assert!(warning.contains(&format!("The PO-token minter at {dead} did not answer")), "{warning}");
    // What a lookup that then fails would be reported as.
    let failed = format!("{stderr}\nERROR: [youtube] jNQXAC9IVRw: Requested format is not available");
    assert_eq!(engine::error::classify(&failed).0, engine::FailureKind::PoTokenUnavailable);
    let (_, body) = app.get_json("/api/health").await;
    assert_eq!(body["pot_service"]["failures"], 1, "{body}");
    assert_eq!(body["pot_service"]["minter_reachable"], false, "{body}");
    assert!(
        body["warnings"].as_array().is_some_and(|w| w.iter().any(|w| w["code"] == "pot_provider_unreachable")),
        "{body}"
    );
    app.stop().await;
}
