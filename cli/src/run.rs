//! The work itself: probe every URL, show what it is, download it with the
//! engine's [`JobManager`], and move each finished file to its final name.
//!
//! Why the `JobManager` rather than calling `YtDlp::download` directly: it
//! is the engine's shared queue (the server runs the same code), and it
//! already gives what `--jobs` needs — a FIFO queue behind a concurrency
//! limit, a directory per job, progress snapshots whose percentage never
//! goes down, and cancellation that stops the yt-dlp process group and
//! removes the job's files before reporting `Cancelled`. The client adds
//! only what is its own: the summaries, the throttled display, and the
//! move to `--output`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use contract::clip::{ClipError, ClipRange};
use engine::jobs::JobSnapshot;
use engine::{DownloadOptions, JobManager, JobRequest, JobSettings, Phase, Probe, QualityId, YtDlp};
use futures::StreamExt;
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::args::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE};
use crate::describe;
use crate::inputs::BrokenLine;
use crate::interrupt::{self, WorkDir};
use crate::report::{Failure, Reporter, Tracker};
use crate::save::save_unique;

/// Progress is shown (and sent as JSON) at most this often per download.
const SHOW_EVERY: Duration = Duration::from_millis(200);

/// What to do, checked and ready.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The URLs, in order.
    pub urls: Vec<String>,
    /// Batch-file lines that are not URLs (reported, counted as failures).
    pub broken: Vec<BrokenLine>,
    /// The quality asked for.
    pub quality: QualityId,
    /// Audio format, subtitles, tags (the clip is checked per video).
    pub options: DownloadOptions,
    /// `--start` and `--end`, milliseconds.
    pub clip: (Option<u64>, Option<u64>),
    /// Where finished files go.
    pub output: PathBuf,
    /// `--list-qualities`: probe and describe only.
    pub list_only: bool,
    /// Downloads (and probes) at once.
    pub jobs: usize,
    /// The yt-dlp program.
    pub ytdlp: PathBuf,
    /// The ffmpeg program.
    pub ffmpeg: PathBuf,
    /// Fetch with the native engine (else yt-dlp's downloader).
    pub native: bool,
    /// Connections each native download starts with.
    pub connections: usize,
}

/// How one URL ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Saved,
    Failed,
    Cancelled,
}

/// Runs the plan; returns the exit code.
pub async fn run(plan: Plan, reporter: Arc<Reporter>) -> u8 {
    let work_dir: WorkDir = Arc::default();
    let token = match interrupt::install(Arc::clone(&reporter), Arc::clone(&work_dir)) {
        Ok(token) => token,
        Err(e) => {
            reporter.warn(&format!("Ctrl-C will not clean up: cannot listen for signals: {e}"));
            CancellationToken::new()
        }
    };

    for b in &plan.broken {
        reporter.error(&Failure::bad_line(b.line, &b.text, &b.reason));
    }
    let broken = plan.broken.len();

    let outcomes = if plan.list_only {
        list(&plan, &reporter, &token).await
    } else {
        match download_all(&plan, &reporter, &token, &work_dir).await {
            Ok(outcomes) => outcomes,
            Err(message) => {
                reporter.always(&format!("error: {message}"));
                return EXIT_USAGE;
            }
        }
    };

    if token.is_cancelled() {
        reporter.always("Stopped. Partial files were removed.");
        return EXIT_INTERRUPTED;
    }
    let saved = outcomes.iter().filter(|o| **o == Outcome::Saved).count();
    let failed = outcomes.len() - saved + broken;
    if !plan.list_only && plan.urls.len() + broken > 1 {
        reporter.note(&format!("{saved} saved, {failed} failed."));
    }
    if failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

/// The plan's options for one video: the clip checked against its length,
/// the subtitle languages against the ones it has.
fn options_for(plan: &Plan, probe: &Probe) -> Result<DownloadOptions, String> {
    let duration_ms = probe.info.duration.filter(|d| d.is_finite() && *d > 0.0).map(|d| (d * 1000.0).round() as u64);
    let clip = ClipRange::from_bounds(plan.clip.0, plan.clip.1, duration_ms).map_err(|e| match e {
        ClipError::PastEnd { duration_ms } => {
            format!("--start/--end lie past the end of the video ({})", contract::clip::clock_ms(duration_ms))
        }
        other => format!("--start/--end: {other}"),
    })?;
    if !plan.options.subtitles.is_empty() {
        let offered = engine::info::extras::subtitle_langs(&probe.raw);
        if let Some(missing) = plan.options.subtitles.iter().find(|l| !offered.contains_key(l.as_str())) {
            let have: Vec<&str> = offered.keys().map(String::as_str).collect();
            return Err(if have.is_empty() {
                format!("this video has no subtitles (asked for {missing:?})")
            } else {
                format!("this video has no subtitles in {missing:?}; it has: {}", have.join(", "))
            });
        }
    }
    Ok(DownloadOptions { clip, ..plan.options.clone() })
}

/// The reason a probe cannot be downloaded as one video, if any.
fn not_a_video(probe: &Probe) -> Option<String> {
    probe
        .info
        .is_playlist()
        .then(|| format!("this is a playlist ({}); pass the links of its videos instead", probe.info.display_title()))
}

/// `--list-qualities`: probes `jobs` URLs at a time, prints in input order.
async fn list(plan: &Plan, reporter: &Reporter, token: &CancellationToken) -> Vec<Outcome> {
    let ytdlp = YtDlp::new(&plan.ytdlp);
    let probes = futures::stream::iter(plan.urls.iter())
        .map(|url| {
            let ytdlp = &ytdlp;
            async move { (url, ytdlp.probe(url).await) }
        })
        .buffered(plan.jobs);
    tokio::pin!(probes);
    let mut outcomes = Vec::new();
    loop {
        let next = tokio::select! {
            biased;
            () = token.cancelled() => return outcomes,
            next = probes.next() => next,
        };
        let Some((url, result)) = next else { break };
        let outcome = match result {
            Ok(probe) => match not_a_video(&probe) {
                Some(why) => {
                    reporter.error(&Failure::new(url, "playlist", why));
                    Outcome::Failed
                }
                None => {
                    let first = !outcomes.contains(&Outcome::Saved);
                    reporter.listing(url, &probe, first);
                    Outcome::Saved
                }
            },
            Err(e) => {
                reporter.error(&Failure::engine(url, &e));
                Outcome::Failed
            }
        };
        outcomes.push(outcome);
    }
    outcomes
}

/// Shared by the tasks of one run.
struct Ctx {
    plan: Plan,
    reporter: Arc<Reporter>,
    token: CancellationToken,
    ytdlp: YtDlp,
    manager: JobManager,
    probe_slots: Semaphore,
}

/// Downloads every URL; `Err` when the output directory is unusable.
async fn download_all(
    plan: &Plan,
    reporter: &Arc<Reporter>,
    token: &CancellationToken,
    work_dir: &WorkDir,
) -> Result<Vec<Outcome>, String> {
    let ffmpeg = engine::download::resolve_program(&plan.ffmpeg);
    if !ffmpeg.is_file() {
        reporter.warn(&format!(
            "ffmpeg was not found at {}: merging video with audio and extracting audio will fail \
             (install ffmpeg or pass --ffmpeg PATH)",
            plan.ffmpeg.display()
        ));
    }
    tokio::fs::create_dir_all(&plan.output)
        .await
        .map_err(|e| format!("cannot create the output directory {}: {e}", plan.output.display()))?;
    let output = plan.output.clone();
    let work = tokio::task::spawn_blocking(move || tempfile::Builder::new().prefix(".kachay-").tempdir_in(&output))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
        .map_err(|e| format!("cannot write into {}: {e}", plan.output.display()))?;
    let _ = work_dir.set(work.path().to_owned());

    let ytdlp = YtDlp::new(&plan.ytdlp);
    let mut settings = JobSettings::new(work.path(), &plan.ffmpeg);
    settings.max_concurrent = plan.jobs;
    if plan.native {
        settings.native = Some(native_engine(plan)?);
    }
    let manager = JobManager::new(Arc::new(ytdlp.clone()), settings);
    let ctx = Arc::new(Ctx {
        plan: plan.clone(),
        reporter: Arc::clone(reporter),
        token: token.clone(),
        ytdlp,
        manager: manager.clone(),
        probe_slots: Semaphore::new(plan.jobs),
    });

    let tasks: Vec<_> = plan.urls.iter().map(|url| tokio::spawn(one(Arc::clone(&ctx), url.clone()))).collect();
    let mut outcomes = Vec::new();
    for task in futures::future::join_all(tasks).await {
        outcomes.push(match task {
            Ok(outcome) => outcome,
            Err(e) => {
                reporter.always(&format!("error: a download task stopped unexpectedly: {e}"));
                Outcome::Failed
            }
        });
    }
    // Every job has finished; this only closes the queue.
    manager.shutdown().await;
    let path = work.path().to_owned();
    if let Err(e) = tokio::task::spawn_blocking(move || work.close())
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
    {
        reporter.warn(&format!("could not remove the work directory {}: {e}", path.display()));
    }
    Ok(outcomes)
}

/// The native engine for the command line. The person runs it on their own
/// machine for links they chose, as they would run yt-dlp: no address is
/// refused (the server's egress guard protects a machine from strangers).
fn native_engine(plan: &Plan) -> Result<engine::native::NativeEngine, String> {
    let policy = Arc::new(netguard::EgressPolicy::allow_all());
    let client = netguard::GuardedClient::new(policy, &netguard::ClientSettings::default())
        .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
    let settings = engine::native::NativeSettings {
        connections_per_download: plan.connections,
        max_connections_per_download: plan.connections.saturating_mul(4),
        max_connections: plan.connections.saturating_mul(4).saturating_mul(plan.jobs).max(1),
        ..engine::native::NativeSettings::default()
    };
    Ok(engine::native::NativeEngine::new(client, settings, &plan.ffmpeg, engine::native::cookies::CookieJar::default()))
}

/// Probes, describes, downloads and saves one URL.
async fn one(ctx: Arc<Ctx>, url: String) -> Outcome {
    let token = &ctx.token;
    let probed = {
        let permit = tokio::select! {
            biased;
            () = token.cancelled() => return Outcome::Cancelled,
            permit = ctx.probe_slots.acquire() => permit,
        };
        let probed = tokio::select! {
            biased;
            () = token.cancelled() => return Outcome::Cancelled,
            probed = ctx.ytdlp.probe(&url) => probed,
        };
        drop(permit);
        probed
    };
    let probe = match probed {
        Ok(probe) => probe,
        Err(e) => {
            ctx.reporter.error(&Failure::engine(&url, &e));
            return Outcome::Failed;
        }
    };
    if let Some(why) = not_a_video(&probe) {
        ctx.reporter.error(&Failure::new(&url, "playlist", why));
        return Outcome::Failed;
    }
    let selection = describe::select(&probe.choices(), ctx.plan.quality);
    ctx.reporter.info(&url, &probe, &selection);

    let title = probe.info.display_title().to_owned();
    let mut tracker = ctx.reporter.track(&url, &title);
    if token.is_cancelled() {
        tracker.cancelled();
        return Outcome::Cancelled;
    }
    let options = match options_for(&ctx.plan, &probe) {
        Ok(options) => options,
        Err(why) => {
            tracker.failed(&Failure::new(&url, "bad_option", why));
            return Outcome::Failed;
        }
    };
    let id = ctx.manager.submit(JobRequest {
        url: url.clone(),
        quality: ctx.plan.quality,
        probe: Some(Arc::new(probe)),
        options,
        owner: Default::default(),
    });
    let Some(mut rx) = ctx.manager.subscribe(id) else {
        tracker.failed(&Failure::new(&url, "other", "the download vanished from the queue"));
        return Outcome::Failed;
    };
    let last = follow(&ctx, id, &mut rx, &mut tracker).await;

    match last.phase {
        Phase::Completed => match last.file {
            Some(file) => save(&ctx, &url, &file.path, &file.file_name, &mut tracker).await,
            None => {
                tracker.failed(&Failure::new(&url, "other", "the download left no file"));
                Outcome::Failed
            }
        },
        Phase::Cancelled => {
            tracker.cancelled();
            Outcome::Cancelled
        }
        _ => {
            let failure = match &last.error {
                Some(e) => Failure::job(&url, e),
                None => Failure::new(&url, "other", "the download failed"),
            };
            tracker.failed(&failure);
            Outcome::Failed
        }
    }
}

/// Shows the job's progress at most every [`SHOW_EVERY`] until it finishes;
/// cancels it when the run is interrupted. Returns the final snapshot.
async fn follow(ctx: &Ctx, id: Uuid, rx: &mut watch::Receiver<JobSnapshot>, tracker: &mut Tracker) -> JobSnapshot {
    let mut cancel_sent = false;
    loop {
        let snapshot = rx.borrow_and_update().clone();
        if snapshot.phase.is_finished() {
            return snapshot;
        }
        tracker.update(&snapshot);
        let earliest = Instant::now() + SHOW_EVERY;
        loop {
            let next_change = async {
                tokio::time::sleep_until(earliest).await;
                rx.changed().await
            };
            tokio::select! {
                biased;
                () = ctx.token.cancelled(), if !cancel_sent => {
                    cancel_sent = true;
                    ctx.manager.cancel(id);
                }
                changed = next_change => {
                    if changed.is_err() {
                        // The job is gone from the manager; its last state stands.
                        return rx.borrow().clone();
                    }
                    break;
                }
            }
        }
    }
}

/// Moves the finished file to `--output` under its title and removes the
/// job's directory.
async fn save(ctx: &Ctx, url: &str, path: &Path, name: &str, tracker: &mut Tracker) -> Outcome {
    let (src, dir, name) = (path.to_owned(), ctx.plan.output.clone(), name.to_owned());
    let moved = tokio::task::spawn_blocking(move || {
        let saved = save_unique(&src, &dir, &name);
        if let Some(job_dir) = src.parent() {
            let _ = std::fs::remove_dir_all(job_dir);
        }
        saved
    })
    .await;
    match moved {
        Ok(Ok(saved)) => {
            let size = std::fs::metadata(&saved).map(|m| m.len()).unwrap_or(0);
            let absolute = std::path::absolute(&saved).unwrap_or_else(|_| saved.clone());
            tracker.done(&saved, &absolute, size);
            Outcome::Saved
        }
        Ok(Err(e)) => {
            tracker.failed(&Failure::new(
                url,
                "io",
                format!("could not save the file into {}: {e}", ctx.plan.output.display()),
            ));
            Outcome::Failed
        }
        Err(e) => {
            tracker.failed(&Failure::new(url, "io", format!("could not save the file: {e}")));
            Outcome::Failed
        }
    }
}
