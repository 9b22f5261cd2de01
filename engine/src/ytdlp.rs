//! Running the yt-dlp program.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use crate::cookies::TempCopy;
use crate::error::{classify, EngineError};
use crate::info::InfoJson;
use crate::quality::{self, QualityChoice};

/// Default time limit for one probe.
/// How many entries of a playlist a probe lists by default.
pub const DEFAULT_MAX_PLAYLIST_ITEMS: usize = 50;

pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// Most bytes of stdout read from yt-dlp. A YouTube `-J` is about 1 MB and
/// a flat playlist entry about 1.5 KB (a 5000-entry listing ~7.5 MB); yt-dlp
/// prints a title four times (title, fulltitle, two file names), so a page
/// with a 4 MiB `og:title` makes ~17 MB, which is read and then cut.
pub const MAX_STDOUT: u64 = 32 * 1024 * 1024;
/// The start of the message of a probe whose answer was longer than
/// [`MAX_STDOUT`] (the server words it by this).
pub const ANSWER_TOO_LARGE: &str = "yt-dlp's answer is larger than this server reads";
/// Most bytes of stderr kept from yt-dlp.
const MAX_STDERR: u64 = 1024 * 1024;

/// A configured yt-dlp program.
#[derive(Debug, Clone)]
pub struct YtDlp {
    program: PathBuf,
    probe_timeout: Duration,
    download_timeout: Option<Duration>,
    max_filesize: Option<u64>,
    max_playlist_items: usize,
    extra_args: Vec<OsString>,
    /// Variables for yt-dlp's environment: a secret goes here rather than on
    /// its command line, which `ps` and yt-dlp's own `-v` show.
    extra_env: Vec<(OsString, OsString)>,
    cookies_file: Option<PathBuf>,
}

/// The result of a successful probe.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The parsed answer.
    pub info: InfoJson,
    /// yt-dlp's stdout exactly as printed, for `--load-info-json`.
    pub raw: Arc<str>,
}

impl Probe {
    /// The quality choices for this video (see [`quality::choices`]).
    pub fn choices(&self) -> Vec<QualityChoice> {
        quality::choices(&self.info)
    }
}

/// What a finished child left behind.
struct Output {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl YtDlp {
    /// yt-dlp at `program` (a path, or a bare name looked up in `PATH`),
    /// with a 60 s probe timeout and no extra arguments.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            probe_timeout: DEFAULT_PROBE_TIMEOUT,
            download_timeout: None,
            max_filesize: None,
            max_playlist_items: DEFAULT_MAX_PLAYLIST_ITEMS,
            extra_args: Vec::new(),
            extra_env: Vec::new(),
            cookies_file: None,
        }
    }

    /// Sets the time limit for [`probe`](Self::probe) and
    /// [`version`](Self::version); yt-dlp is killed when it runs out.
    pub fn with_probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = timeout;
        self
    }

    /// Sets a time limit for a whole [`download`](Self::download) (the
    /// probe it may run first included); yt-dlp and its children are killed
    /// when it runs out. Without one, a download may take as long as it needs.
    pub fn with_download_timeout(mut self, timeout: Duration) -> Self {
        self.download_timeout = Some(timeout);
        self
    }

    /// The download time limit, if any.
    pub fn download_timeout(&self) -> Option<Duration> {
        self.download_timeout
    }

    /// Lists at most `items` entries of a playlist or channel (default 50).
    pub fn with_max_playlist_items(mut self, items: usize) -> Self {
        self.max_playlist_items = items.max(1);
        self
    }

    /// The playlist cap.
    pub fn max_playlist_items(&self) -> usize {
        self.max_playlist_items
    }

    /// Refuses files larger than `bytes`: yt-dlp skips formats it knows are
    /// larger (`--max-filesize`), and a download whose files grow past it on
    /// disk is stopped and removed.
    pub fn with_max_filesize(mut self, bytes: u64) -> Self {
        self.max_filesize = Some(bytes);
        self
    }

    /// The size limit, if any.
    pub fn max_filesize(&self) -> Option<u64> {
        self.max_filesize
    }

    /// Arguments put after the fixed options and before `--` (e.g. `--proxy`).
    pub fn with_extra_args(mut self, args: Vec<OsString>) -> Self {
        self.extra_args = args;
        self
    }

    /// Sets `name` in every yt-dlp run's environment.
    pub fn with_env(mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.extra_env.push((name.into(), value.into()));
        self
    }

    /// Gives yt-dlp the cookies in `path` (Netscape format; check it first
    /// with [`check_cookies_file`](crate::cookies::check_cookies_file)).
    ///
    /// yt-dlp writes its cookie jar back to the file it is given, so every
    /// run gets a private copy (0600) instead: a probe in the temp directory,
    /// a download in its job directory. The copy is removed when the run
    /// ends; `path` itself is only read.
    pub fn with_cookies_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.cookies_file = Some(path.into());
        self
    }

    /// The cookies file, if any.
    pub fn cookies_file(&self) -> Option<&Path> {
        self.cookies_file.as_deref()
    }

    /// The program this runs.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The probe time limit.
    pub fn probe_timeout(&self) -> Duration {
        self.probe_timeout
    }

    /// The extra arguments.
    pub fn extra_args(&self) -> &[OsString] {
        &self.extra_args
    }

    /// The extra environment variables.
    pub fn extra_env(&self) -> &[(OsString, OsString)] {
        &self.extra_env
    }

    /// A command for this yt-dlp, hardened (see [`crate::process`]), with its
    /// environment variables; the caller adds the arguments.
    pub(crate) fn command(&self) -> tokio::process::Command {
        let mut cmd = crate::process::ytdlp_command(&self.program);
        cmd.envs(self.extra_env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// yt-dlp's version, e.g. `"2026.10.26"`.
    pub async fn version(&self) -> Result<String, EngineError> {
        let mut cmd = self.command();
        cmd.arg("--version");
        let out = self.run(cmd).await?;
        if !out.status.success() {
            return Err(self.failure(&out));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Asks yt-dlp about `url` without downloading anything.
    ///
    /// Runs `yt-dlp -J --no-playlist --ignore-config --no-update
    /// --socket-timeout 20 [--cookies COPY] [extra args] -- URL`. yt-dlp is killed when the
    /// time limit runs out or when the returned future is dropped.
    ///
    /// The operator's cookies are never used for listings: an account page
    /// (history, watch later …, see [`crate::account`]) or a link shaped like
    /// a playlist or channel runs without them, and an answer that turns out
    /// to be a listing anyway is thrown away and made again without them, so
    /// no one is shown the operator's private lists.
    pub async fn probe(&self, url: &str) -> Result<Probe, EngineError> {
        let with_cookies = self.cookies_file.is_some()
            && crate::account::account_page(url).is_none()
            && !crate::account::looks_like_listing(url);
        let probe = self.probe_once(url, with_cookies).await?;
        if with_cookies && probe.info.is_playlist() {
            tracing::debug!(url, "a listing: asking again without cookies");
            return self.probe_once(url, false).await;
        }
        Ok(probe)
    }

    async fn probe_once(&self, url: &str, with_cookies: bool) -> Result<Probe, EngineError> {
        // Removed when this function returns or its future is dropped.
        let cookies = match self.cookies_file.as_ref().filter(|_| with_cookies) {
            Some(source) => Some(TempCopy::new(source).await?),
            None => None,
        };
        let mut cmd = self.command();
        cmd.args([
            "-J",
            "--no-playlist",
            "--ignore-config",
            "--no-update",
            "--socket-timeout",
            "20",
            // A playlist or channel is listed, not extracted entry by entry,
            // and never beyond the cap (endless radio playlists included).
            "--flat-playlist",
            "--playlist-items",
        ]);
        cmd.arg(format!("1:{}", self.max_playlist_items));
        if let Some(copy) = &cookies {
            cmd.arg("--cookies").arg(copy.path());
        }
        cmd.args(&self.extra_args).arg("--").arg(url);

        tracing::debug!(program = %self.program.display(), url, "probing");
        let out = self.run(cmd).await?;
        if !out.status.success() {
            let err = self.failure(&out);
            tracing::debug!(url, status = %out.status, error = %err, "probe failed");
            return Err(err);
        }

        if out.stdout.len() as u64 > MAX_STDOUT {
            return Err(EngineError::YtDlp {
                kind: crate::error::FailureKind::Other,
                message: format!("{ANSWER_TOO_LARGE} ({} MiB).", MAX_STDOUT >> 20),
            });
        }
        let (info, raw) = crate::info::read_answer(&out.stdout)?;
        let raw: Arc<str> = raw.into();
        tracing::debug!(url, title = info.display_title(), "probe done");
        Ok(Probe { info, raw })
    }

    fn failure(&self, out: &Output) -> EngineError {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let (kind, message) = classify(&stderr);
        let message = if stderr.trim().is_empty() { format!("yt-dlp exited with {}", out.status) } else { message };
        EngineError::YtDlp { kind, message }
    }

    /// Runs `cmd` to the end under the time limit, reading stdout and stderr
    /// at the same time so that neither pipe can fill up and stall it.
    async fn run(&self, mut cmd: Command) -> Result<Output, EngineError> {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);

        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => EngineError::YtDlpMissing(self.program.clone()),
            _ => EngineError::Spawn(e),
        })?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();

        let finished = tokio::time::timeout(self.probe_timeout, async {
            let (stdout, stderr, status) =
                tokio::try_join!(read_capped(stdout, MAX_STDOUT), read_capped(stderr, MAX_STDERR), child.wait(),)?;
            Ok::<_, io::Error>(Output { status, stdout, stderr })
        })
        .await;

        match finished {
            Ok(output) => Ok(output?),
            Err(_elapsed) => {
                // Kill and reap now rather than leave it to the drop.
                if let Err(e) = child.kill().await {
                    tracing::warn!(error = %e, "could not kill yt-dlp after timeout");
                }
                Err(EngineError::Timeout(self.probe_timeout))
            }
        }
    }
}

/// Reads a pipe to its end, keeping at most `cap` bytes and one more (so a
/// caller can tell the output was longer) and discarding the rest (so the
/// child never blocks on a full pipe).
async fn read_capped<R: AsyncRead + Unpin>(pipe: Option<R>, cap: u64) -> io::Result<Vec<u8>> {
    let Some(mut pipe) = pipe else {
        return Ok(Vec::new());
    };
    let mut kept = Vec::new();
    (&mut pipe).take(cap.saturating_add(1)).read_to_end(&mut kept).await?;
    tokio::io::copy(&mut pipe, &mut tokio::io::sink()).await?;
    Ok(kept)
}
