//! Offline proof that the yt-dlp arguments built from the settings
//! (`server::ytdlp_args`) make yt-dlp load PO-token providers and use the
//! configured bgutil server.
//!
//! yt-dlp lists its PO-token providers only when its YouTube extractor
//! starts, which a fixture-site page never does. So the listing comes from a
//! YouTube address fetched through a proxy on 127.0.0.1 where nothing
//! listens (`YtDlp::diagnose`, the same run the health page makes): the
//! extractor starts, prints the providers and fails at once; nothing leaves
//! the machine. The fixture-site run shows the same arguments are accepted by
//! a normal run and that the JS runtime is reported. Finally yt-dlp's own
//! PO-token framework is asked for a token, and a fake bgutil server on
//! 127.0.0.1 answers `/ping` and `/get_pot`.
//!
//! The bgutil tests need the `bgutil-ytdlp-pot-provider` plugin next to
//! yt-dlp (`KACHAY_POT_PROVIDER=1 scripts/setup.sh`); without it they say
//! so loudly and pass without checking, installing nothing.

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
        c.ytdlp_extractor_args = Some("youtube:player_client=default".into());
    });
    let args = args_of(&config);
    let (ok, stderr) = verbose_run(&args, &site.url("/watch/main")).await;
    println!("yt-dlp -v on a fixture page:\n{}", debug_lines(&stderr));
    assert!(ok, "{stderr}");
    assert!(stderr.contains("'--extractor-args', 'youtubepot-bgutilhttp:base_url=http://127.0.0.1:4416'"), "{stderr}");
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

/// Whether yt-dlp loads the bgutil plugin; says so loudly when it does not.
async fn bgutil_installed() -> bool {
    let report = YtDlp::new(ytdlp_program()).diagnose().await.expect("yt-dlp -v runs");
    let installed = report.pot_providers.unwrap_or_default().iter().any(|p| p.name == "bgutil:http");
    if !installed {
        eprintln!(
            "\n\
             ************************************************************************\n\
             SKIPPED: the bgutil-ytdlp-pot-provider plugin is not installed next to\n\
             {}, so the PO-token provider cannot be tested.\n\
             Install it with: KACHAY_POT_PROVIDER=1 scripts/setup.sh\n\
             ************************************************************************\n",
            ytdlp_program().display()
        );
    }
    installed
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

#[tokio::test]
async fn bgutil_provider_is_loaded_with_our_settings() {
    if !bgutil_installed().await {
        return;
    }
    let (base, _asked, server) = fake_bgutil_server("a2FjaGF5LWZha2UtcG8tdG9rZW4=").await;
    let config = config(|c| c.pot_provider_url = Some(format!("{base}/")));
    let args = args_of(&config);

    let (_, stderr) = verbose_run(&args, "https://www.youtube.com/watch?v=jNQXAC9IVRw").await;
    println!("yt-dlp -v with Kachay's arguments:\n{}", debug_lines(&stderr));
    assert!(stderr.contains(&format!("youtubepot-bgutilhttp:base_url={base}'")), "the trailing / is dropped: {stderr}");
    let providers = stderr
        .lines()
        .find(|l| l.contains("[pot] PO Token Providers:"))
        .unwrap_or_else(|| panic!("no provider line in:\n{stderr}"));
    assert!(providers.contains("bgutil:http-"), "{providers}");

    let report = YtDlp::new(ytdlp_program()).with_extra_args(args).diagnose().await.expect("diagnose");
    let bgutil = report
        .pot_providers
        .unwrap_or_default()
        .into_iter()
        .find(|p| p.name == "bgutil:http")
        .expect("bgutil:http listed");
    assert!(bgutil.external && bgutil.available, "{bgutil:?}");
    server.abort();
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

#[tokio::test]
async fn bgutil_provider_gets_a_token_from_the_configured_server() {
    if !bgutil_installed().await {
        return;
    }
    // The virtualenv's Python sits next to its yt-dlp.
    let python = ytdlp_program().with_file_name("python");
    if !python.is_file() {
        eprintln!(
            "\n*** SKIPPED: no Python next to {} (not a virtualenv install), so yt-dlp's PO-token \
             framework cannot be driven directly. ***\n",
            ytdlp_program().display()
        );
        return;
    }
    let token = "a2FjaGF5LWZha2UtcG8tdG9rZW4=";
    let (base, asked, server) = fake_bgutil_server(token).await;
    let config = config(|c| c.pot_provider_url = Some(base.clone()));
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("fetch_token.py");
    std::fs::write(&script, FETCH_TOKEN).expect("script");

    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .args(["-v", "--ignore-config", "--no-update", "--no-cache-dir"])
        .args(args_of(&config))
        // Everything but the provider (which yt-dlp calls without a proxy)
        // would go to a dead proxy on 127.0.0.1.
        .args(["--proxy", &format!("http://127.0.0.1:{}", closed_port())])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{}", debug_lines(&stderr));
    for line in
        stderr.lines().filter(|l| !l.starts_with("[debug] params") && (l.contains("PO Token") || l.contains("bgutil")))
    {
        println!("{line}");
    }
    assert!(stdout.contains(&format!("PO_TOKEN={token}")), "stdout: {stdout}\nstderr: {stderr}");

    let asked = asked.lock().expect("asked").clone();
    println!("the fake bgutil server was asked: {asked:?}");
    assert!(asked.iter().any(|a| a.method == "GET" && a.path == "/ping"), "{asked:?}");
    let get_pot = asked
        .iter()
        .find(|a| a.method == "POST" && a.path == "/get_pot")
        .unwrap_or_else(|| panic!("no /get_pot in {asked:?}"));
    let body: serde_json::Value = serde_json::from_str(&get_pot.body).expect("JSON body");
    assert_eq!(body["content_binding"], "jNQXAC9IVRw");
    assert_eq!(body["innertube_context"]["client"]["clientName"], "WEB");
    server.abort();
}
