//! What the engine accepts from yt-dlp as "the finished file", and what its
//! children leave behind: a stand-in yt-dlp (a shell script, so the output
//! can be crafted exactly) prints the `[kachay-file]` line a hostile or
//! confused run could print, and the cookies copy it was given is looked
//! for afterwards.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine::download::{finished_file_in, DownloadSpec};
use engine::{AudioFormat, EngineError, InfoJson, Probe, QualityId, YtDlp};
use tokio_util::sync::CancellationToken;

const COOKIES: &str = "# Netscape HTTP Cookie File\n.example.com\tTRUE\t/\tFALSE\t0\tk\tv\n";

/// A yt-dlp that runs `body` (sh) with `$dir` = the job directory and
/// `$cookies` = the cookies copy it was given (recorded in `cookies-path`
/// next to the job directory).
fn fake_ytdlp(root: &Path, body: &str) -> PathBuf {
    let script = root.join("fake-yt-dlp");
    let text = format!(
        "#!/bin/sh\n\
         dir=''; cookies=''\n\
         while [ $# -gt 0 ]; do\n\
           case \"$1\" in\n\
             --load-info-json) dir=$(dirname \"$2\"); shift;;\n\
             --cookies) cookies=\"$2\"; shift;;\n\
           esac\n\
           shift\n\
         done\n\
         printf '%s' \"$cookies\" > \"$dir/../cookies-path\"\n\
         {body}\n"
    );
    std::fs::write(&script, text).expect("write script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    script
}

fn probe() -> Arc<Probe> {
    let raw = serde_json::json!({
        "id": "x", "title": "t", "duration": 2.0,
        "formats": [{"format_id": "f", "url": "http://127.0.0.2/x.mp4", "ext": "mp4",
                     "vcodec": "avc1", "acodec": "mp4a.40.2", "height": 360}]
    })
    .to_string();
    let info: InfoJson = serde_json::from_str(&raw).expect("info");
    Arc::new(Probe { info, raw: Arc::from(raw) })
}

struct Run {
    result: Result<engine::DownloadedFile, EngineError>,
    job: PathBuf,
    cookies_given: Option<PathBuf>,
    _root: tempfile::TempDir,
}

async fn run(body: &str) -> Run {
    let root = tempfile::tempdir().expect("tempdir");
    let program = fake_ytdlp(root.path(), body);
    let cookies = root.path().join("cookies.source.txt");
    std::fs::write(&cookies, COOKIES).expect("cookies");
    let job = root.path().join("job");
    let spec = DownloadSpec {
        url: "http://127.0.0.2/page".into(),
        quality: QualityId::Auto,
        probe: Some(probe()),
        dir: job.clone(),
        options: engine::DownloadOptions { audio_format: AudioFormat::M4a, ..Default::default() },
    };
    let ytdlp = YtDlp::new(program).with_cookies_file(&cookies);
    let result = ytdlp.download(&spec, Path::new("/usr/bin/ffmpeg"), CancellationToken::new(), |_| {}).await;
    let cookies_given =
        std::fs::read_to_string(root.path().join("cookies-path")).ok().filter(|p| !p.is_empty()).map(PathBuf::from);
    Run { result, job, cookies_given, _root: root }
}

fn assert_no_cookie_copy(run: &Run) {
    let given = run.cookies_given.as_ref().expect("yt-dlp was given a cookies copy");
    assert!(given.starts_with(&run.job), "the download's copy lives in its job dir: {}", given.display());
    assert!(!given.exists(), "the cookies copy {} was left behind", given.display());
}

#[tokio::test]
async fn a_file_outside_the_job_directory_is_refused() {
    let run = run("echo leaked > \"$dir/../outside.mp4\"\n\
         echo \"[kachay-file] $dir/../outside.mp4\"")
    .await;
    let err = run.result.as_ref().expect_err("a ../ path must not be accepted");
    assert!(err.to_string().contains("not in the download's own folder"), "{err}");
    assert_no_cookie_copy(&run);
}

#[tokio::test]
async fn a_symlink_out_of_the_job_directory_is_refused() {
    let run = run("ln -s /etc/hostname \"$dir/media.mp4\"\n\
         echo \"[kachay-file] $dir/media.mp4\"")
    .await;
    assert!(run.result.is_err(), "a symlink to /etc/hostname was accepted: {:?}", run.result);
    // Nor found by looking: only regular files count.
    let quiet = run_quietly_linked().await;
    assert!(quiet.result.is_err(), "found through the symlink: {:?}", quiet.result);
    assert_no_cookie_copy(&run);
}

async fn run_quietly_linked() -> Run {
    run("ln -s /etc/hostname \"$dir/media.mp4\"").await
}

#[tokio::test]
async fn the_file_line_counts_only_on_stdout() {
    let run = run("echo video > \"$dir/media.mp4\"\n\
         echo \"[kachay-file] /etc/hostname\" >&2")
    .await;
    let file = run.result.as_ref().expect("the real file is found in the job dir");
    assert_eq!(file.path, run.job.canonicalize().expect("job").join("media.mp4"));
    assert_eq!(file.size, 6);
    assert_no_cookie_copy(&run);
}

#[tokio::test]
async fn a_regular_file_in_the_job_directory_is_accepted() {
    let run = run("echo video > \"$dir/media.mp4\"\n\
         echo \"[kachay-file] $dir/media.mp4\"")
    .await;
    let file = run.result.as_ref().expect("accepted");
    assert_eq!(file.ext, "mp4");
    assert_no_cookie_copy(&run);
}

#[tokio::test]
async fn a_failed_run_leaves_no_cookie_copy() {
    let run = run("echo 'ERROR: it broke' >&2; exit 1").await;
    assert!(run.result.is_err());
    assert_no_cookie_copy(&run);
}

#[tokio::test]
async fn a_cancelled_run_leaves_no_cookie_copy() {
    let root = tempfile::tempdir().expect("tempdir");
    let program = fake_ytdlp(root.path(), "sleep 30");
    let cookies = root.path().join("c.txt");
    std::fs::write(&cookies, COOKIES).expect("cookies");
    let job = root.path().join("job");
    let spec = DownloadSpec {
        url: "http://127.0.0.2/page".into(),
        quality: QualityId::Auto,
        probe: Some(probe()),
        dir: job.clone(),
        options: engine::DownloadOptions { audio_format: AudioFormat::M4a, ..Default::default() },
    };
    let ytdlp = YtDlp::new(program).with_cookies_file(&cookies);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let recorded = root.path().join("cookies-path");
    let watcher = tokio::spawn(async move {
        while !recorded.exists() {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        trigger.cancel();
    });
    let result = ytdlp.download(&spec, Path::new("/usr/bin/ffmpeg"), cancel, |_| {}).await;
    watcher.await.expect("watcher");
    assert!(matches!(result, Err(EngineError::Cancelled)), "{result:?}");
    let given = std::fs::read_to_string(root.path().join("cookies-path")).expect("recorded");
    assert!(!Path::new(&given).exists(), "the copy {given} survived the cancel");
}

#[tokio::test]
async fn a_panic_during_the_run_leaves_no_cookie_copy() {
    let root = tempfile::tempdir().expect("tempdir");
    let program = fake_ytdlp(root.path(), "sleep 30");
    let cookies = root.path().join("c.txt");
    std::fs::write(&cookies, COOKIES).expect("cookies");
    let spec = DownloadSpec {
        url: "http://127.0.0.2/page".into(),
        quality: QualityId::Auto,
        probe: Some(probe()),
        dir: root.path().join("job"),
        options: engine::DownloadOptions { audio_format: AudioFormat::M4a, ..Default::default() },
    };
    let ytdlp = YtDlp::new(program).with_cookies_file(&cookies);
    // The first progress call (at the start) panics, as a bug would.
    let task = tokio::spawn(async move {
        ytdlp
            .download(&spec, Path::new("/usr/bin/ffmpeg"), CancellationToken::new(), |_| {
                panic!("a bug in a progress callback")
            })
            .await
    });
    assert!(task.await.is_err_and(|e| e.is_panic()));
    // The clean-up of the dropped run finishes on a thread of its own.
    let job_copy = root.path().join("job").join(engine::cookies::JOB_COPY_NAME);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while job_copy.exists() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!job_copy.exists(), "the cookies copy survived the panic");
}

#[test]
fn finished_files_must_be_regular_files_directly_in_the_job_directory() {
    let root = tempfile::tempdir().expect("tempdir");
    let job = root.path().join("job");
    std::fs::create_dir_all(job.join("sub")).expect("dirs");
    std::fs::write(job.join("media.mp4"), "v").expect("file");
    std::fs::write(job.join("sub/media.mp4"), "v").expect("file");
    std::fs::write(root.path().join("outside.mp4"), "v").expect("file");
    std::os::unix::fs::symlink("/etc/hostname", job.join("link.mp4")).expect("symlink");
    std::os::unix::fs::symlink(job.join("media.mp4"), job.join("inner-link.mp4")).expect("symlink");

    let ok = finished_file_in(&job, &job.join("media.mp4")).expect("the plain case");
    assert_eq!(ok, job.canonicalize().expect("job").join("media.mp4"));
    assert_eq!(finished_file_in(&job, &job.join("./media.mp4")).ok(), Some(ok.clone()));
    // A link to a file inside resolves to that file, which is fine.
    assert_eq!(finished_file_in(&job, &job.join("inner-link.mp4")).ok(), Some(ok));
    for bad in [
        job.join("../outside.mp4"),
        job.join("sub/../../outside.mp4"),
        job.join("sub/media.mp4"),
        job.join("link.mp4"),
        job.join("sub"),
        job.clone(),
        job.join("missing.mp4"),
        PathBuf::from("/etc/hostname"),
    ] {
        assert!(finished_file_in(&job, &bad).is_err(), "{} was accepted", bad.display());
    }
}
