//! `YtDlp::with_cookies_file`: yt-dlp gets a private copy, never the
//! administrator's file, for probes and downloads alike.
//!
//! yt-dlp writes its cookie jar back to the `--cookies` file when it exits.
//! To see what it was given, these tests run it through a small wrapper
//! script that, after the real yt-dlp has finished, records the `--cookies`
//! path, its mode and its content (which yt-dlp has just rewritten).

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use engine::download::{AudioFormat, DownloadSpec};
use engine::{FailureKind, QualityId, YtDlp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// The administrator's export: a header comment yt-dlp would replace, and a
/// cookie for 127.0.0.1.
const EXPORT: &str = "# Netscape HTTP Cookie File\n\
    # Exported for Kachay's tests; yt-dlp would rewrite this line.\n\n\
    127.0.0.1\tFALSE\t/\tFALSE\t0\tkachay\tfrom-the-file\n";

struct Setup {
    dir: tempfile::TempDir,
    cookies: PathBuf,
    log_dir: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let cookies = dir.path().join("exported-cookies.txt");
        std::fs::write(&cookies, EXPORT).expect("write cookies");
        let log_dir = dir.path().join("log");
        std::fs::create_dir(&log_dir).expect("log dir");
        let wrapper = dir.path().join("yt-dlp-wrapper");
        let real = fixture::ytdlp_program();
        let script = format!(
            "#!/bin/sh\n\
             {real} \"$@\"\n\
             status=$?\n\
             prev=\n\
             for a in \"$@\"; do\n\
               if [ \"$prev\" = --cookies ]; then\n\
                 {{ echo \"path=$a\"; stat -c 'mode=%a' \"$a\"; cat \"$a\"; }} > {log}/run-$$.log\n\
               fi\n\
               prev=$a\n\
             done\n\
             exit $status\n",
            real = quote(&real),
            log = quote(&log_dir),
        );
        std::fs::write(&wrapper, script).expect("write wrapper");
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Setup { dir, cookies, log_dir }
    }

    fn ytdlp(&self) -> YtDlp {
        YtDlp::new(self.dir.path().join("yt-dlp-wrapper")).with_cookies_file(&self.cookies)
    }

    /// What the wrapper recorded, one entry per yt-dlp run that had `--cookies`.
    fn runs(&self) -> Vec<Run> {
        let mut runs: Vec<Run> = std::fs::read_dir(&self.log_dir)
            .expect("log dir")
            .map(|e| {
                let text = std::fs::read_to_string(e.expect("entry").path()).expect("log");
                let mut lines = text.lines();
                let path = lines.next().and_then(|l| l.strip_prefix("path=")).expect("path line");
                let mode = lines.next().and_then(|l| l.strip_prefix("mode=")).expect("mode line");
                Run { path: PathBuf::from(path), mode: mode.to_owned(), content: lines.collect::<Vec<_>>().join("\n") }
            })
            .collect();
        runs.sort_by(|a, b| a.path.cmp(&b.path));
        runs
    }

    fn assert_original_untouched(&self) {
        assert_eq!(
            std::fs::read(&self.cookies).expect("read cookies"),
            EXPORT.as_bytes(),
            "the administrator's file must stay byte for byte the same"
        );
    }
}

#[derive(Debug)]
struct Run {
    path: PathBuf,
    mode: String,
    content: String,
}

fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

/// A page without video that records the `Cookie` header it gets and sets a
/// new cookie.
async fn cookie_page() -> (String, Arc<Mutex<Vec<String>>>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let record = Arc::clone(&record);
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&request);
                let cookie = head
                    .lines()
                    .find_map(|l| {
                        l.split_once(':')
                            .filter(|(name, _)| name.eq_ignore_ascii_case("cookie"))
                            .map(|(_, v)| v.trim().to_owned())
                    })
                    .unwrap_or_default();
                record.lock().expect("record").push(cookie);
                let body = "<html><body><p>No video here.</p></body></html>";
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\
                     Set-Cookie: fresh=from-the-server; Path=/; Max-Age=3600\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (format!("http://127.0.0.1:{port}/page"), seen, task)
}

#[tokio::test]
async fn probes_read_and_write_a_private_copy() {
    let setup = Setup::new();
    let (url, seen, server) = cookie_page().await;

    let err = setup.ytdlp().probe(&url).await.expect_err("the page has no video");
    assert_eq!(err.failure_kind(), Some(FailureKind::Unsupported), "{err}");
    assert_eq!(seen.lock().expect("seen").as_slice(), ["kachay=from-the-file"], "yt-dlp sent the cookie from the file");

    let runs = setup.runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = &runs[0];
    assert_ne!(run.path, setup.cookies, "yt-dlp got a copy, not the file");
    assert!(run.path.starts_with(std::env::temp_dir()), "{}", run.path.display());
    assert_eq!(run.mode, "600", "only this user may read the copy");
    assert!(
        run.content.contains("fresh\tfrom-the-server"),
        "yt-dlp wrote the server's cookie into its copy:\n{}",
        run.content
    );
    assert!(!run.path.exists(), "the copy is removed after the probe");
    setup.assert_original_untouched();

    // A real page of the fixture site works the same way.
    let probe =
        setup.ytdlp().probe(&support::site_url("/watch/main")).await.expect("the fixture page probes with cookies");
    assert!(!probe.choices().is_empty());
    let runs = setup.runs();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| !r.path.exists() && r.mode == "600"));
    setup.assert_original_untouched();
    server.abort();
}

#[tokio::test]
async fn downloads_use_a_copy_in_their_own_directory() {
    let setup = Setup::new();
    let url = support::site_url("/watch/progressive");
    let probe = support::probe(&url).await;
    let job = setup.dir.path().join("job");
    let spec = DownloadSpec {
        url,
        quality: QualityId::Auto,
        probe: Some(probe),
        dir: job.clone(),
        options: engine::DownloadOptions { audio_format: AudioFormat::M4a, ..Default::default() },
    };
    let file = setup
        .ytdlp()
        .download(&spec, &support::ffmpeg(), CancellationToken::new(), |_| {})
        .await
        .expect("the download works with cookies");
    assert!(file.size > 0);

    let runs = setup.runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].path, job.join(engine::cookies::JOB_COPY_NAME));
    assert_eq!(runs[0].mode, "600");
    assert!(runs[0].content.contains("kachay\tfrom-the-file"), "{}", runs[0].content);
    assert_eq!(
        support::list(&job),
        [file.path.file_name().expect("name").to_string_lossy().into_owned()],
        "only the finished file is left: the copy went with the run"
    );
    setup.assert_original_untouched();
}

#[tokio::test]
async fn a_failed_download_removes_its_copy_too() {
    let setup = Setup::new();
    let url = support::site_url("/watch/progressive");
    let probe = support::probe(&url).await;
    let job = setup.dir.path().join("job");
    let spec = DownloadSpec {
        url,
        quality: QualityId::Auto,
        probe: Some(probe),
        dir: job.clone(),
        options: engine::DownloadOptions { audio_format: AudioFormat::M4a, ..Default::default() },
    };
    // A yt-dlp that does not exist: the copy is made, the start fails.
    let missing = YtDlp::new(setup.dir.path().join("no-such-yt-dlp")).with_cookies_file(&setup.cookies);
    let err =
        missing.download(&spec, &support::ffmpeg(), CancellationToken::new(), |_| {}).await.expect_err("no program");
    assert!(matches!(err, engine::EngineError::YtDlpMissing(_)), "{err}");
    assert!(!job.join(engine::cookies::JOB_COPY_NAME).exists());
    setup.assert_original_untouched();
}
