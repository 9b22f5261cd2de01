//! Kachay's PO-token service: what the yt-dlp plugin
//! (`ytdlp-plugins/kachay/yt_dlp_plugins/extractor/kachay_pot.py`) talks to.
//!
//! YouTube wants PO tokens for most clients, bound to the video or the
//! visitor. Each yt-dlp process only has its own memory cache, which dies
//! with it: the preview's lookup, the download's re-extraction and every
//! retry would mint again. This service lives as long as the server:
//!
//! - `POST /v1/pot` (the plugin's `KachayPTP`): a token from the service's
//!   cache, or minted once by the [`Minter`] however many ask at once;
//! - `GET|PUT|DELETE /v1/cache/{key}` (the plugin's `KachayPCP`): yt-dlp's
//!   own cache entries, shared by all its processes;
//! - `GET /v1/ping`.
//!
//! Like the egress proxy it listens on 127.0.0.1 only and answers 401 to
//! anyone without the per-start credential. The address reaches yt-dlp as an
//! extractor argument (`youtubepot-kachay:url=…;mint=1`), the credential in
//! its environment ([`KEY_VARIABLE`]): a command line is visible to every
//! user of the machine (`ps`) and printed by yt-dlp's own `-v`. The plugin
//! takes it out of its environment at once, so yt-dlp's children (ffmpeg,
//! deno) never see it. It is never logged.

mod minter;
mod shared;
mod tokens;

pub use minter::{BgutilMinter, MintError, MintRequest, Minted, Minter};
pub use shared::{SharedCache, MAX_KEY_CHARS, MAX_VALUE_BYTES};
pub use tokens::{Source, TokenCache, DEFAULT_TTL};

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use contract::api::PotServiceHealth;
use serde::Deserialize;
use serde_json::json;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path as FsPath, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tokio_util::sync::{CancellationToken, DropGuard};

/// The plugin, built into the server so that it always matches the service
/// it talks to; written to `DATA_DIR/ytdlp-plugins` at start.
pub const PLUGIN_SOURCE: &str = include_str!("../../../ytdlp-plugins/kachay/yt_dlp_plugins/extractor/kachay_pot.py");
/// The extractor-argument key both plugin classes read their settings from.
pub const EXTRACTOR_KEY: &str = "youtubepot-kachay";
/// The environment variable the plugin reads the credential from.
pub const KEY_VARIABLE: &str = "KACHAY_POT_KEY";
/// The largest request body the service reads.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// How big the caches may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PotLimits {
    /// Tokens the service keeps (`POT_CACHE_ENTRIES`).
    pub tokens: u64,
    /// yt-dlp cache entries kept for the plugin's cache provider.
    pub shared: u64,
}

impl Default for PotLimits {
    fn default() -> Self {
        Self { tokens: 1000, shared: 1000 }
    }
}

struct Inner {
    key: String,
    tokens: TokenCache,
    shared: SharedCache,
    minter: Option<Arc<dyn Minter>>,
}

/// The running service; stops when dropped.
pub struct PotService {
    addr: SocketAddr,
    inner: Arc<Inner>,
    _stop: DropGuard,
}

impl fmt::Debug for PotService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PotService").field("addr", &self.addr).field("key", &"<redacted>").finish()
    }
}

impl PotService {
    /// Binds 127.0.0.1:0 and serves until dropped.
    pub async fn start(minter: Option<Arc<dyn Minter>>, limits: PotLimits) -> io::Result<PotService> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            // 122 random bits from the operating system's generator.
            key: uuid::Uuid::new_v4().simple().to_string(),
            tokens: TokenCache::new(limits.tokens.max(1)),
            shared: SharedCache::new(limits.shared.max(1)),
            minter,
        });
        let stop = CancellationToken::new();
        let app = routes(inner.clone());
        let until = stop.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, app).with_graceful_shutdown(async move { until.cancelled().await });
            if let Err(e) = served.await {
                tracing::error!(error = %e, "the PO-token service stopped");
            }
        });
        tracing::debug!(%addr, "PO-token service listening");
        Ok(PotService { addr, inner, _stop: stop.drop_guard() })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The extractor argument that tells the plugin where the service is:
    /// `youtubepot-kachay:url=…;mint=1|0` (`mint=0`: no minter, so the
    /// provider says it is unavailable and only the cache is used).
    pub fn extractor_arg(&self) -> String {
        let mint = if self.inner.minter.is_some() { 1 } else { 0 };
        format!("{EXTRACTOR_KEY}:url={};mint={mint}", self.url())
    }

    /// The credential, for yt-dlp's environment ([`KEY_VARIABLE`]).
    pub fn key(&self) -> &str {
        &self.inner.key
    }

    pub fn minter(&self) -> Option<&Arc<dyn Minter>> {
        self.inner.minter.as_ref()
    }

    /// The counts for the health page (the health check fills in what yt-dlp
    /// loaded and whether the minter answers).
    pub fn health(&self) -> PotServiceHealth {
        let t = &self.inner.tokens.stats;
        let s = &self.inner.shared.stats;
        PotServiceHealth {
            running: true,
            minter: self.inner.minter.as_ref().map(|m| m.describe()),
            minter_reachable: None,
            minter_version: None,
            provider_loaded: false,
            cache_loaded: false,
            minted: t.minted.load(Ordering::Relaxed),
            served_from_cache: t.served_from_cache.load(Ordering::Relaxed),
            failures: t.failures.load(Ordering::Relaxed),
            tokens_cached: self.inner.tokens.entry_count(),
            shared_entries: self.inner.shared.entry_count(),
            shared_hits: s.hits.load(Ordering::Relaxed),
            shared_stores: s.stores.load(Ordering::Relaxed),
        }
    }
}

/// Writes the plugin into `dir` (as `kachay/yt_dlp_plugins/extractor/kachay_pot.py`:
/// yt-dlp's `--plugin-dirs` looks for `yt_dlp_plugins` one level down, one
/// folder per plugin), replacing an older copy, and returns `dir`.
pub fn install_plugin(dir: &FsPath) -> io::Result<PathBuf> {
    let package = dir.join("kachay").join("yt_dlp_plugins").join("extractor");
    std::fs::create_dir_all(&package)?;
    let file = package.join("kachay_pot.py");
    if std::fs::read_to_string(&file).ok().as_deref() != Some(PLUGIN_SOURCE) {
        let partial = package.join("kachay_pot.py.partial");
        std::fs::write(&partial, PLUGIN_SOURCE)?;
        std::fs::rename(&partial, &file)?;
    }
    Ok(std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()))
}

/// One line of at most `max` characters, for texts from elsewhere that end
/// up in a message.
pub fn one_line(text: &str, max: usize) -> String {
    let mut line: String = text.trim().chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    engine::info::truncate_chars(&mut line, max);
    line
}

fn routes(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/v1/ping", get(ping))
        .route("/v1/pot", post(pot))
        .route("/v1/cache/{key}", get(cache_get).put(cache_put).delete(cache_delete))
        .layer(axum::middleware::from_fn_with_state(inner.clone(), require_key))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(inner)
}

fn refusal(status: StatusCode, code: &str, error: impl Into<String>) -> Response {
    (status, Json(json!({ "code": code, "error": error.into() }))).into_response()
}

async fn require_key(
    State(inner): State<Arc<Inner>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !has_key(request.headers(), &inner.key) {
        tracing::info!("PO-token service: refused a request without the credential");
        return refusal(StatusCode::UNAUTHORIZED, "unauthorized", "Kachay's token service needs its credential.");
    }
    next.run(request).await
}

fn has_key(headers: &HeaderMap, key: &str) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    bool::from(given.as_bytes().ct_eq(key.as_bytes()))
}

async fn ping(State(inner): State<Arc<Inner>>) -> Response {
    let minter = inner.minter.as_ref().map(|m| m.describe());
    Json(json!({ "version": env!("CARGO_PKG_VERSION"), "minter": minter })).into_response()
}

async fn pot(
    State(inner): State<Arc<Inner>>,
    body: Result<Json<MintRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let request = match body {
        Ok(Json(request)) => request,
        Err(rejection) => return body_refusal(&rejection, "The request is not a PO-token request."),
    };
    if request.content_binding.trim().is_empty() || request.context.is_empty() || request.client.is_empty() {
        return refusal(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported",
            "A PO token needs a content binding, a context and a client.",
        );
    }
    let Some(minter) = inner.minter.as_deref() else {
        return refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_minter",
            "No PO-token minter is configured (POT_PROVIDER_URL).",
        );
    };
    match inner.tokens.get(minter, &request).await {
        Ok((token, source)) => {
            tracing::debug!(context = %request.context, client = %request.client, ?source, "PO token handed out");
            Json(json!({ "po_token": token.value, "expires_at": token.expires_at, "cached": source == Source::Cache }))
                .into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, context = %request.context, client = %request.client, "PO-token mint failed");
            refusal(StatusCode::BAD_GATEWAY, "minter_failed", e.to_string())
        }
    }
}

/// 413 for a body over [`MAX_BODY_BYTES`], else 400 with `what`.
fn body_refusal(rejection: &axum::extract::rejection::JsonRejection, what: &str) -> Response {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("The body is larger than {MAX_BODY_BYTES} bytes."),
        );
    }
    refusal(StatusCode::BAD_REQUEST, "bad_request", what)
}

#[derive(Deserialize)]
struct Store {
    value: String,
    expires_at: u64,
}

fn shared_refusal(e: shared::SharedError) -> Response {
    refusal(StatusCode::BAD_REQUEST, "bad_request", e.to_string())
}

async fn cache_get(State(inner): State<Arc<Inner>>, Path(key): Path<String>) -> Response {
    match inner.shared.get(&key).await {
        Ok(Some(entry)) => Json(json!({ "value": &*entry.value, "expires_at": entry.expires_at })).into_response(),
        Ok(None) => refusal(StatusCode::NOT_FOUND, "not_found", "No such entry."),
        Err(e) => shared_refusal(e),
    }
}

async fn cache_put(
    State(inner): State<Arc<Inner>>,
    Path(key): Path<String>,
    body: Result<Json<Store>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let store = match body {
        Ok(Json(store)) => store,
        Err(rejection) => return body_refusal(&rejection, "The body is not {\"value\", \"expires_at\"}."),
    };
    match inner.shared.store(&key, &store.value, store.expires_at).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => shared_refusal(e),
    }
}

async fn cache_delete(State(inner): State<Arc<Inner>>, Path(key): Path<String>) -> Response {
    match inner.shared.delete(&key).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => shared_refusal(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_must_match_exactly() {
        let mut headers = HeaderMap::new();
        assert!(!has_key(&headers, "abc"));
        headers.insert(header::AUTHORIZATION, "Bearer abd".parse().expect("header"));
        assert!(!has_key(&headers, "abc"));
        headers.insert(header::AUTHORIZATION, "Bearer ab".parse().expect("header"));
        assert!(!has_key(&headers, "abc"));
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().expect("header"));
        assert!(!has_key(&headers, "abc"));
        headers.insert(header::AUTHORIZATION, "Bearer abc".parse().expect("header"));
        assert!(has_key(&headers, "abc"));
    }

    #[test]
    fn the_plugin_is_written_once_and_replaced_when_different() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = install_plugin(dir.path()).expect("written");
        let file = root.join("kachay/yt_dlp_plugins/extractor/kachay_pot.py");
        assert_eq!(std::fs::read_to_string(&file).expect("read"), PLUGIN_SOURCE);
        std::fs::write(&file, "# old").expect("write");
        install_plugin(dir.path()).expect("written");
        assert_eq!(std::fs::read_to_string(&file).expect("read"), PLUGIN_SOURCE);
    }
}
