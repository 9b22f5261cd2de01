//! What every handler shares.

use crate::auth::{Auth, Session};
use crate::config::{Config, ConfigError};
use crate::egress::{EgressPolicy, EgressProxy};
use crate::security::{PostLimiter, TrustedProxies};
use axum::extract::FromRef;
use engine::jobs::{JobManager, JobSettings};
use engine::native::cookies::CookieJar;
use engine::native::{NativeEngine, NativeSettings};
use engine::{Probe, YtDlp};
use leptos::config::LeptosOptions;
use moka::future::Cache;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// Who started a download.
#[derive(Debug, Clone)]
pub struct Owner {
    pub session: Session,
    pub ip: IpAddr,
}

/// Shared state, cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
    pub ytdlp: Arc<YtDlp>,
    /// Recent lookups by URL. Only successes are kept; concurrent lookups of
    /// one URL share a single yt-dlp run.
    pub info_cache: Cache<String, Arc<Probe>>,
    /// Downloads: queue, progress, files.
    pub jobs: JobManager,
    /// Which destinations the server may fetch from.
    pub egress: Arc<EgressPolicy>,
    /// The proxy every yt-dlp and ffmpeg connection goes through.
    pub egress_proxy: Arc<EgressProxy>,
    pub trusted_proxies: Arc<TrustedProxies>,
    pub post_limiter: Arc<PostLimiter>,
    pub auth: Arc<Auth>,
    /// Who started each download.
    pub owners: Arc<Mutex<HashMap<Uuid, Owner>>>,
    pub disk_quota: Option<u64>,
}

/// A problem that stops the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not start the egress proxy: {0}")]
    Proxy(#[from] std::io::Error),
    #[error("could not set up the download engine's HTTP client: {0}")]
    Client(String),
}

/// The native engine: one guarded HTTP client under the same egress policy
/// as the proxy, the connection limits, and the operator's cookies.
fn native_engine(
    config: &Config,
    egress: &Arc<EgressPolicy>,
    max_filesize: Option<u64>,
    cookies_file: Option<&std::path::Path>,
) -> Result<NativeEngine, StartError> {
    let client = netguard::GuardedClient::new(Arc::clone(egress), &netguard::ClientSettings::default())
        .map_err(|e| StartError::Client(e.to_string()))?;
    let cookies = match cookies_file {
        Some(path) => CookieJar::from_netscape_file(path)
            .map_err(|e| ConfigError::invalid("COOKIES_FILE", format!("cannot be read: {e}")))?,
        None => CookieJar::default(),
    };
    let per_download = config.connections_per_download.max(1);
    let settings = NativeSettings {
        connections_per_download: per_download,
        max_connections_per_download: per_download.saturating_mul(4),
        max_connections: config.max_connections.max(1),
        max_filesize,
        ..NativeSettings::default()
    };
    Ok(NativeEngine::new(client, settings, config.ffmpeg_program(), cookies))
}

impl AppState {
    /// Checks the settings and starts the egress proxy.
    pub async fn build(config: Config, leptos_options: LeptosOptions) -> Result<AppState, StartError> {
        let egress_ports = EgressPolicy::parse_ports(config.egress_ports.as_deref())
            .map_err(|e| ConfigError::invalid("EGRESS_PORTS", e.to_string()))?;
        let egress = Arc::new(
            EgressPolicy::from_setting(config.allow_private_networks.as_deref())
                .map_err(|e| ConfigError::invalid("ALLOW_PRIVATE_NETWORKS", e.to_string()))?
                .with_ports(egress_ports),
        );
        let trusted_proxies = TrustedProxies::parse(config.trusted_proxies.as_deref())
            .map_err(|e| ConfigError::invalid("TRUSTED_PROXIES", e))?;
        let max_filesize = config.max_filesize_bytes()?;
        let disk_quota = config.disk_quota_bytes()?;
        let egress_proxy = Arc::new(EgressProxy::start(egress.clone()).await?);

        let mut extra_args: Vec<std::ffi::OsString> = vec!["--proxy".into(), egress_proxy.url().into()];
        extra_args.extend(crate::ytdlp_args::ytdlp_args(&config)?);
        let mut ytdlp = YtDlp::new(config.ytdlp_program())
            .with_probe_timeout(config.probe_timeout())
            .with_download_timeout(Duration::from_secs(config.download_timeout_secs.max(1)))
            .with_max_playlist_items(config.max_playlist_items.max(1))
            .with_extra_args(extra_args);
        if let Some(limit) = max_filesize {
            ytdlp = ytdlp.with_max_filesize(limit);
        }
        if let Some(cookies) = crate::ytdlp_args::cookies_file(&config)? {
            ytdlp = ytdlp.with_cookies_file(cookies);
        }
        let native = if config.native_engine()? {
            Some(native_engine(&config, &egress, max_filesize, ytdlp.cookies_file())?)
        } else {
            None
        };
        let ytdlp = Arc::new(ytdlp);
        let jobs = JobManager::new(
            ytdlp.clone(),
            JobSettings {
                download_dir: config.download_dir.clone(),
                max_concurrent: config.max_concurrent_downloads.max(1),
                ffmpeg: config.ffmpeg_program(),
                file_ttl: config.file_ttl(),
                native,
            },
        );
        let info_cache = Cache::builder().max_capacity(512).time_to_live(config.info_cache_ttl()).build();
        let post_limiter = PostLimiter::new(config.rate_limit_per_minute, config.rate_limit_burst);
        let auth = Auth::new(config.access_password.clone(), config.secret_key.as_deref(), config.session_days);
        if auth.enabled() && config.secret_key.as_deref().is_none_or(str::is_empty) {
            tracing::warn!("SECRET_KEY is not set: logins last only until the server restarts");
        }
        Ok(AppState {
            config: Arc::new(config),
            leptos_options,
            ytdlp,
            info_cache,
            jobs,
            egress,
            egress_proxy,
            trusted_proxies: Arc::new(trusted_proxies),
            post_limiter: Arc::new(post_limiter),
            auth: Arc::new(auth),
            owners: Arc::new(Mutex::new(HashMap::new())),
            disk_quota,
        })
    }

    /// Who started download `id`, if known.
    pub fn owner(&self, id: Uuid) -> Option<Owner> {
        self.owners.lock().ok().and_then(|owners| owners.get(&id).cloned())
    }
}
