//! The Kachay server: the JSON API, the server-rendered page and static files.
//!
//! `router(state)` builds the whole app; `serve(listener, state, shutdown)`
//! runs it on a listener the caller bound, so tests can use 127.0.0.1:0.

pub mod api;
pub mod config;
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

/// Serves the app until `shutdown` completes, then drains open connections.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state).into_make_service())
        .with_graceful_shutdown(shutdown)
        .await
}
