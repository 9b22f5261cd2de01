//! `server`: runs Kachay with settings from the environment.

use leptos::config::{get_configuration, LeptosOptions};
use server::{serve, work, AppState, Config};
use std::path::Path;
use std::process::ExitCode;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tower_http=info")))
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let leptos = get_configuration(None).map_err(|e| format!("leptos configuration: {e}"))?;
    let addr = config.bind_addr();
    warn_if_exposed(&config, addr);
    let state = AppState::build(config, site_options(leptos.leptos_options)).await.map_err(|e| e.to_string())?;
    match state.ytdlp.version().await {
        Ok(version) => tracing::info!(program = %state.ytdlp.program().display(), %version, "yt-dlp found"),
        Err(e) => tracing::warn!("yt-dlp is not usable: {e}. Run scripts/setup.sh or set YTDLP."),
    }
    if !state.role.serves() {
        tracing::info!("working for the cluster (KACHAY_ROLE=worker): no listener");
        return work(state, shutdown_signal()).await.map_err(|e| format!("worker stopped: {e}"));
    }
    let listener = TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!("listening on http://{addr}");
    serve(listener, state, shutdown_signal()).await.map_err(|e| format!("server stopped: {e}"))
}

/// Reachable from other machines with no password: say so loudly.
fn warn_if_exposed(config: &Config, addr: std::net::SocketAddr) {
    let password = config.access_password.as_deref().is_some_and(|p| !p.is_empty());
    if !addr.ip().is_loopback() && !password {
        tracing::warn!(
            "listening on {addr}, which other machines can reach, with no ACCESS_PASSWORD: anyone who \
             can reach it can use this server. Set ACCESS_PASSWORD (see the README)."
        );
    }
}

/// Run outside cargo-leptos with no `LEPTOS_SITE_ROOT`, the binary still finds
/// the compiled site where `cargo leptos build` puts it.
fn site_options(mut options: LeptosOptions) -> LeptosOptions {
    let configured = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    if std::env::var_os("LEPTOS_SITE_ROOT").is_none() && !configured.exists() {
        let built = Path::new("target/site");
        if built.join(&*options.site_pkg_dir).exists() {
            tracing::info!("serving the site from {}", built.display());
            options.site_root = "target/site".into();
        }
    }
    options
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
