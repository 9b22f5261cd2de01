//! The Kachay server: the JSON API, the server-rendered page and static files.
//!
//! `router(state)` builds the whole app; `serve(listener, state, shutdown)`
//! runs it on a listener the caller bound, so tests can use 127.0.0.1:0.

pub mod api;
pub mod config;
pub mod downloads;
pub mod egress;
pub mod error;
pub mod state;

use app::{shell, App};
use axum::extract::MatchedPath;
use axum::http::Request;
use axum::Router;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::future::Future;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub use config::Config;
pub use state::AppState;

/// The whole application: API, pages, static files.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .merge(api::routes())
        .merge(downloads::routes())
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                // Spans are named by the route template, never by the raw path.
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map(MatchedPath::as_str)
                    .unwrap_or("fallback");
                tracing::info_span!("request", method = %request.method(), route)
            }),
        )
        .with_state(state)
}

/// Serves the app until `shutdown` completes, then drains open connections
/// and stops every download, removing partial files. Files left by an earlier
/// run are removed first, and a reaper removes finished files after their TTL.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let jobs = state.jobs.clone();
    match jobs.clean_leftovers().await {
        Ok(0) => {}
        Ok(n) => tracing::info!("removed {n} leftover download(s) from an earlier run"),
        Err(e) => tracing::warn!("could not clean the download directory: {e}"),
    }
    let reaper = jobs.spawn_reaper();
    // Downloads stop first, so their event streams end and connections drain.
    let stop_jobs = jobs.clone();
    let shutdown = async move {
        shutdown.await;
        stop_jobs.shutdown().await;
    };
    let served = axum::serve(listener, router(state).into_make_service())
        .with_graceful_shutdown(shutdown)
        .await;
    reaper.abort();
    served
}
