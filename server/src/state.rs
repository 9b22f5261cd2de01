//! What every handler shares.

use crate::auth::Auth;
use crate::cluster::store::RedisStore;
use crate::config::{Config, ConfigError, Role};
use crate::egress::{EgressPolicy, EgressProxy};
use crate::jobs::Jobs;
use crate::pot::{BgutilMinter, Minter, PotLimits, PotService};
use crate::security::{HostPolicy, PostLimiter, StreamCounter, TrustedProxies};
use axum::extract::FromRef;
use engine::jobs::{JobManager, JobOwner, JobSettings};
use engine::native::cookies::CookieJar;
use engine::native::{NativeEngine, NativeSettings};
use engine::store::{JobStore, SqliteStore, StoreError};
use engine::{Probe, YtDlp};
use leptos::config::LeptosOptions;
use moka::future::Cache;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Shared state, cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
    pub ytdlp: Arc<YtDlp>,
    /// Recent lookups by URL. Only successes are kept; concurrent lookups of
    /// one URL share a single yt-dlp run.
    pub info_cache: Cache<String, Arc<Probe>>,
    /// The downloads this node runs (all of them on a single node; what its
    /// worker took in a cluster).
    pub jobs: JobManager,
    /// The downloads as the routes see them, wherever they run.
    pub downloads: Jobs,
    /// What this node does (`KACHAY_ROLE`).
    pub role: Role,
    /// Which destinations the server may fetch from.
    pub egress: Arc<EgressPolicy>,
    /// The proxy every yt-dlp and ffmpeg connection goes through.
    pub egress_proxy: Arc<EgressProxy>,
    /// PO tokens for yt-dlp's YouTube extractor, shared by all its runs.
    pub pot: Arc<PotService>,
    /// What several nodes share (`REDIS_URL`); `None`: this process alone.
    pub shared: Option<Arc<crate::cluster::Shared>>,
    pub trusted_proxies: Arc<TrustedProxies>,
    pub post_limiter: Arc<PostLimiter>,
    pub auth: Arc<Auth>,
    /// Every job, its owner and state: the source of truth for who may see
    /// a download and for the per-client and total limits.
    pub store: Arc<dyn JobStore>,
    pub disk_quota: Option<u64>,
    /// yt-dlp lookups running at once (`MAX_CONCURRENT_LOOKUPS`).
    pub lookup_slots: Arc<tokio::sync::Semaphore>,
    /// The `Host` names answered without a password.
    pub hosts: Arc<HostPolicy>,
    /// Open `/api/events` streams per client.
    pub sse_streams: Arc<StreamCounter>,
}

/// What a cached lookup costs in memory, roughly: yt-dlp's answer as text,
/// the parsed copy of it (counted as large again: it holds the same URLs
/// and names), the key, and some overhead.
#[allow(clippy::ptr_arg)] // moka's weigher is `Fn(&K, &V)` with `K = String`.
fn info_weight(url: &String, probe: &Arc<Probe>) -> u32 {
    let bytes = url.len().saturating_add(probe.raw.len().saturating_mul(2)).saturating_add(1024);
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// A problem that stops the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not start the egress proxy: {0}")]
    Proxy(#[from] std::io::Error),
    #[error("could not start the PO-token service: {0}")]
    PotService(std::io::Error),
    #[error("could not write the yt-dlp plugin to {dir}: {error}")]
    Plugin { dir: std::path::PathBuf, error: std::io::Error },
    #[error("could not set up the download engine's HTTP client: {0}")]
    Client(String),
    #[error(transparent)]
    Store(#[from] StoreError),
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

/// The token service, with the minter `POT_PROVIDER_URL` names (if any).
async fn start_pot_service(config: &Config, egress: &Arc<EgressPolicy>) -> Result<PotService, StartError> {
    let minter =
        config.pot_minter_url()?.map(|url| Arc::new(BgutilMinter::new(url, Arc::clone(egress))) as Arc<dyn Minter>);
    let entries = config.pot_cache_entries.max(1);
    PotService::start(minter, PotLimits { tokens: entries, shared: entries }).await.map_err(StartError::PotService)
}

impl AppState {
    /// Checks the settings and starts the egress proxy and the token service.
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
        let min_free_disk = config.min_free_disk_bytes()?;
        let speed_floor = config.speed_floor()?;
        let egress_proxy = Arc::new(EgressProxy::start(egress.clone()).await?);
        let pot = Arc::new(start_pot_service(&config, &egress).await?);

        let mut extra_args: Vec<std::ffi::OsString> = vec!["--proxy".into(), egress_proxy.url().into()];
        let mut options = crate::ytdlp_args::ytdlp_options(&config)?;
        let plugin_dir = config.plugin_dir();
        let plugin_dir = crate::pot::install_plugin(&plugin_dir)
            .map_err(|error| StartError::Plugin { dir: plugin_dir.clone(), error })?;
        options.plugin_dirs.insert(0, plugin_dir);
        options.pot_service = Some(pot.extractor_arg());
        extra_args.extend(options.to_args().map_err(|e| ConfigError::invalid("YTDLP_EXTRACTOR_ARGS", e.to_string()))?);
        let mut ytdlp = YtDlp::new(config.ytdlp_program())
            .with_probe_timeout(config.probe_timeout())
            .with_download_timeout(Duration::from_secs(config.download_timeout_secs.max(1)))
            .with_max_playlist_items(config.max_playlist_items.max(1))
            .with_extra_args(extra_args)
            .with_env(crate::pot::KEY_VARIABLE, pot.key());
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
        let role = config.role()?;
        let redis = match config.redis_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) => Some(Arc::new(
                crate::cluster::Redis::new(url).map_err(|e| ConfigError::invalid("REDIS_URL", e.to_string()))?,
            )),
            None => None,
        };
        let settings = JobSettings {
            download_dir: config.download_dir.clone(),
            max_concurrent: config.max_concurrent_downloads.max(1),
            ffmpeg: config.ffmpeg_program(),
            file_ttl: config.file_ttl(),
            native,
            max_running_per_client: Some(config.running_per_client()),
            speed_floor,
            disk: engine::space::DiskLimits { quota: disk_quota, min_free: min_free_disk },
        };
        // One process: jobs run here and are written to SQLite. With Redis:
        // jobs are recorded there and run by the workers (this one's manager
        // runs what its worker takes, with no store of its own).
        let (store, jobs, downloads): (Arc<dyn JobStore>, JobManager, Jobs) = match &redis {
            None => {
                let store: Arc<dyn JobStore> = Arc::new(SqliteStore::open(config.job_database())?);
                let jobs = JobManager::with_store(ytdlp.clone(), settings, Arc::clone(&store));
                (store, jobs.clone(), Jobs::Local(jobs))
            }
            Some(redis) => {
                let dir = std::path::absolute(&config.download_dir).unwrap_or_else(|_| config.download_dir.clone());
                let records = Arc::new(RedisStore::new(Arc::clone(redis), dir, config.file_ttl_secs));
                let store: Arc<dyn JobStore> = records.clone();
                (store, JobManager::new(ytdlp.clone(), settings), Jobs::Cluster(records))
            }
        };
        let info_cache = Cache::builder()
            .weigher(info_weight)
            .max_capacity(config.info_cache_bytes()?)
            .time_to_live(config.info_cache_ttl())
            .build();
        // A lease outlives the longest lookup (killed at PROBE_TIMEOUT_SECS).
        let lookup_life = config.probe_timeout() + Duration::from_secs(30);
        let shared = redis.as_ref().map(|r| {
            Arc::new(crate::cluster::Shared::new(
                Arc::clone(r),
                config.info_cache_ttl(),
                config.lookup_limit(),
                lookup_life,
            ))
        });
        let post_limiter = match &redis {
            Some(redis) => {
                PostLimiter::shared(Arc::clone(redis), config.rate_limit_per_minute, config.rate_limit_burst)
            }
            None => PostLimiter::new(config.rate_limit_per_minute, config.rate_limit_burst),
        };
        let public_url = config.public_url()?;
        let auth = Auth::new(config.access_password.clone(), config.secret_key.as_deref(), config.session_days)
            .with_secure_cookies(public_url.as_ref().is_some_and(|u| u.scheme() == "https"));
        let hosts = HostPolicy::new(config.allowed_hosts.as_deref(), public_url.as_ref(), auth.enabled());
        let lookup_slots = Arc::new(tokio::sync::Semaphore::new(config.lookup_limit()));
        let sse_streams = StreamCounter::new(config.max_sse_per_client);
        if auth.enabled() && config.secret_key.as_deref().is_none_or(str::is_empty) {
            tracing::warn!("SECRET_KEY is not set: logins last only until the server restarts");
        }
        Ok(AppState {
            config: Arc::new(config),
            leptos_options,
            ytdlp,
            info_cache,
            jobs,
            downloads,
            role,
            egress,
            egress_proxy,
            pot,
            shared,
            trusted_proxies: Arc::new(trusted_proxies),
            post_limiter: Arc::new(post_limiter),
            auth: Arc::new(auth),
            store,
            disk_quota,
            lookup_slots,
            hosts: Arc::new(hosts),
            sse_streams,
        })
    }

    /// Who started download `id`, if known (a store failure counts as
    /// unknown: the download is then hidden, never shown to the wrong person).
    pub async fn owner(&self, id: Uuid) -> Option<JobOwner> {
        match self.store.owner(id).await {
            Ok(owner) => owner,
            Err(e) => {
                tracing::error!(%id, error = %e, "could not read a download's owner");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_info_cache_is_bounded_by_bytes_not_entries() {
        let cache: Cache<String, Arc<Probe>> = Cache::builder().weigher(info_weight).max_capacity(1 << 20).build();
        let probe = |bytes: usize| Arc::new(Probe { info: engine::InfoJson::default(), raw: "x".repeat(bytes).into() });
        // Ten answers of 200 KB: each weighs ~400 KB, so about two fit in 1 MiB.
        for i in 0..10 {
            cache.insert(format!("https://example.com/{i}"), probe(200_000)).await;
        }
        cache.run_pending_tasks().await;
        assert!(cache.weighted_size() <= 1 << 20, "{}", cache.weighted_size());
        assert!(cache.entry_count() <= 3, "{}", cache.entry_count());
        // Small answers still fit by the hundred.
        for i in 0..100 {
            cache.insert(format!("https://example.com/small/{i}"), probe(100)).await;
        }
        cache.run_pending_tasks().await;
        assert!(cache.entry_count() >= 50, "{}", cache.entry_count());
    }
}
