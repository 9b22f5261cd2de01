#![recursion_limit = "256"]
//! The Kachay server: the JSON API, the server-rendered page and static files.
//!
//! `router(state)` builds the whole app; `serve(listener, state, shutdown)`
//! runs it on a listener the caller bound, so tests can use 127.0.0.1:0.

pub mod api;
pub mod auth;
pub mod capacity;
pub mod cluster;
pub mod config;
pub mod downloads;
pub mod egress;
pub mod error;
pub mod health;
pub mod jobs;
pub mod pot;
pub mod security;
pub mod state;
pub mod visible;
pub mod ytdlp_args;

use app::{shell, App};
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::Request;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::Router;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub use config::Config;
pub use state::AppState;

/// The largest JSON body the API reads.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The whole application: API, pages, static files, behind the guards.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .merge(api::routes())
        .merge(downloads::routes())
        .merge(auth::routes())
        .merge(health::routes())
        .leptos_routes_with_context(&state, routes, security::provide_nonce_from_request, move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            security::provide_nonce_from_request,
            shell,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Layers run outside-in from the bottom: headers, trace, client IP,
        // rate limit (so failed logins are limited too), login.
        .layer(from_fn_with_state(state.clone(), auth::require_login))
        .layer(from_fn_with_state(state.clone(), security::rate_limit))
        .layer(from_fn_with_state(state.clone(), security::client_ip))
        // Before anything else looks at the request: a name the server does
        // not answer to gets 421 (DNS rebinding, see `security::HostPolicy`).
        .layer(from_fn_with_state(state.clone(), security::allowed_host))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            // Spans are named by the route template, never by the raw path.
            let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or("fallback");
            tracing::info_span!("request", method = %request.method(), route)
        }))
        .layer(from_fn(security::security_headers))
        .with_state(state)
}

/// What runs beside the listener: the downloads of the earlier run (one
/// process), the reaper, and in a cluster this node's worker.
pub struct Background {
    jobs: engine::JobManager,
    reaper: tokio::task::JoinHandle<()>,
    worker: Option<cluster::worker::Worker>,
}

impl Background {
    /// On a single node, the earlier run's jobs are taken up first, so the
    /// clean-up after removes only files that no job owns. A cluster's jobs
    /// are taken up by its workers from the queue, and nothing is cleaned:
    /// `DOWNLOAD_DIR` is shared, the other nodes' jobs are in it.
    pub async fn start(state: &AppState) -> std::io::Result<Background> {
        let jobs = state.jobs.clone();
        let worker = match &state.downloads {
            jobs::Jobs::Local(_) => {
                match jobs.resume().await {
                    Ok(r) if r == engine::Resumed::default() => {}
                    Ok(r) => tracing::info!(
                        finished = r.finished,
                        queued = r.queued,
                        restarted = r.restarted,
                        "took up the downloads of the earlier run"
                    ),
                    Err(e) => return Err(std::io::Error::other(e.to_string())),
                }
                match jobs.clean_leftovers().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!("removed {n} leftover download(s) from an earlier run"),
                    Err(e) => tracing::warn!("could not clean the download directory: {e}"),
                }
                None
            }
            jobs::Jobs::Cluster(store) if state.role.works() => Some(cluster::worker::Worker::start(
                state.config.worker_id(),
                Arc::clone(store),
                jobs.clone(),
                state.config.max_concurrent_downloads.max(1),
            )),
            jobs::Jobs::Cluster(_) => None,
        };
        Ok(Background { reaper: jobs.spawn_reaper(), jobs, worker })
    }

    /// Stops the downloads running here: on a single node they stay queued
    /// or running in the job store, to go on at the next start; a worker's
    /// stay in the queue for another worker (or this one, started again).
    pub async fn stop(self) {
        match &self.worker {
            Some(worker) => worker.stop().await,
            None => self.jobs.shutdown().await,
        }
        self.reaper.abort();
    }
}

/// A worker without a listener (`KACHAY_ROLE=worker`): takes and runs
/// downloads until `shutdown` completes.
pub async fn work(state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let background = Background::start(&state).await?;
    shutdown.await;
    background.stop().await;
    Ok(())
}

/// Serves the app until `shutdown` completes, then stops every download
/// (see [`Background::stop`]) and drains open connections. A reaper removes
/// finished files (and their jobs) after their TTL.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let background = Background::start(&state).await?;
    // Downloads stop first, so their event streams end and connections drain.
    let shutdown = async move {
        shutdown.await;
        background.stop().await;
    };
    let limiter = state.post_limiter.clone();
    let janitor = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            limiter.shrink();
        }
    });
    let served = axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    janitor.abort();
    served
}
