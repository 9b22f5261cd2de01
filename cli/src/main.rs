//! `kachay`: Kachay's command-line client. Probes video pages with yt-dlp,
//! shows what they are, and downloads them at the quality asked for with
//! the same engine as the web server — no server needed.
//!
//! See `kachay --help` for the options, the output and the exit codes.

mod args;
mod describe;
mod inputs;
mod interrupt;
mod report;
mod run;
mod save;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use crate::args::{Args, EXIT_FAILED, EXIT_USAGE};
use crate::inputs::{check_url, read_batch, Batch};
use crate::report::{Reporter, Style};
use crate::run::Plan;
use engine::DownloadOptions;

fn main() -> ExitCode {
    // Help and version exit 0; bad arguments print clap's message and exit 2.
    let args = Args::parse();

    // Engine logs, for debugging only: `RUST_LOG=engine=debug kachay …`.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }

    let plan = match plan(&args) {
        Ok(plan) => plan,
        Err(message) => {
            eprintln!("error: {message}\n\nFor more information, try '--help'.");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let reporter = Reporter::new(Style::detect(args.json, args.quiet));

    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let code = runtime.block_on(run::run(plan, reporter));
    // Do not wait for stray blocking work (a clean-up thread of a cancelled
    // download finishes on its own).
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    ExitCode::from(code)
}

/// Checks the URLs and reads the batch file: anything wrong here is a
/// usage error.
fn plan(args: &Args) -> Result<Plan, String> {
    if args.audio_bitrate.is_some() && args.audio_format == args::Audio::Flac {
        return Err("--audio-bitrate is for lossy formats; FLAC is lossless".to_owned());
    }
    if let (Some(start), Some(end)) = (args.start, args.end) {
        if end <= start {
            return Err("--end must come after --start".to_owned());
        }
    }
    let mut urls = Vec::new();
    for url in &args.urls {
        urls.push(check_url(url)?);
    }
    let batch = match &args.batch_file {
        Some(path) => {
            let quiet = args.json || args.quiet;
            if path.as_os_str() == "-" && !quiet && std::io::stdin().is_terminal() {
                eprintln!("Reading URLs from standard input, one per line (end with Ctrl-D)…");
            }
            read_batch(path)?
        }
        None => Batch::default(),
    };
    urls.extend(batch.urls);
    if urls.is_empty() && batch.broken.is_empty() {
        return Err(match &args.batch_file {
            Some(path) => format!("no URLs in {}", path.display()),
            None => "no URLs given: pass them as arguments or with --batch-file FILE".to_owned(),
        });
    }
    Ok(Plan {
        urls,
        broken: batch.broken,
        quality: args.quality.into(),
        options: DownloadOptions {
            audio_format: args.audio_format.into(),
            audio_bitrate: args.audio_bitrate,
            clip: None,
            subtitles: args.subs.iter().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect(),
            subtitle_mode: args.subs_mode.into(),
            subtitle_format: args.subs_format.into(),
            tags: !args.no_tags,
        },
        clip: (args.start, args.end),
        output: args.output.clone(),
        list_only: args.list_qualities,
        jobs: usize::from(args.jobs),
        ytdlp: args.ytdlp.clone(),
        ffmpeg: args.ffmpeg.clone(),
        native: args.engine == args::EngineChoice::Native,
        connections: usize::from(args.connections),
    })
}
