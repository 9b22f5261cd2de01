//! Settings: defaults, then environment variables (figment merges the two
//! and reports a bad value by the variable's name).

use figment::{
    providers::{Env, Serialized},
    Figment,
};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a node does (`KACHAY_ROLE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Serves the page and the API, and downloads.
    All,
    /// Serves and queues; never downloads.
    Web,
    /// Downloads; no listener.
    Worker,
}

impl Role {
    /// Its `KACHAY_ROLE` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::All => "all",
            Role::Web => "web",
            Role::Worker => "worker",
        }
    }

    pub fn serves(self) -> bool {
        self != Role::Worker
    }

    pub fn works(self) -> bool {
        self != Role::Web
    }
}

/// Every setting the server reads, with its default.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// `LEPTOS_SITE_ADDR`: the address to bind (cargo-leptos sets it).
    pub leptos_site_addr: Option<SocketAddr>,
    /// `PORT`: overrides the port of the address.
    pub port: Option<u16>,
    /// `DOWNLOAD_DIR`: where finished files wait for the browser.
    pub download_dir: PathBuf,
    /// `YTDLP`: the yt-dlp program; default the project's virtualenv, then PATH.
    pub ytdlp: Option<PathBuf>,
    /// `FFMPEG`: the ffmpeg program; default PATH.
    pub ffmpeg: Option<PathBuf>,
    /// `INFO_CACHE_SECS`: how long a link's details are reused.
    pub info_cache_secs: u64,
    /// `PROBE_TIMEOUT_SECS`: the longest a link lookup may take.
    pub probe_timeout_secs: u64,
    /// `MAX_CONCURRENT_DOWNLOADS`: downloads running at once; more wait in a queue.
    pub max_concurrent_downloads: usize,
    /// `FILE_TTL_SECS`: how long a finished file stays available.
    pub file_ttl_secs: u64,
    /// `ALLOW_PRIVATE_NETWORKS`: `true`, or a comma list of CIDRs the egress
    /// guard lets through although they are private or local.
    #[serde(default, deserialize_with = "string_like")]
    pub allow_private_networks: Option<String>,
    /// `MAX_JOBS_PER_CLIENT`: unfinished downloads one client may have.
    pub max_jobs_per_client: usize,
    /// `MAX_QUEUED_JOBS`: unfinished downloads in total.
    pub max_queued_jobs: usize,
    /// `MAX_FILESIZE`: the largest file downloaded (`500M`, `4G`, bytes).
    #[serde(default, deserialize_with = "string_like")]
    pub max_filesize: Option<String>,
    /// `MAX_DURATION_SECS`: the longest video accepted.
    pub max_duration_secs: Option<u64>,
    /// `DISK_QUOTA`: the most `DOWNLOAD_DIR` may hold (`20G`, bytes);
    /// new downloads are refused while it is full.
    #[serde(default, deserialize_with = "string_like")]
    pub disk_quota: Option<String>,
    /// `DOWNLOAD_TIMEOUT_SECS`: the longest one download may run.
    pub download_timeout_secs: u64,
    /// `RATE_LIMIT_PER_MINUTE`: POST requests per client IP and minute.
    pub rate_limit_per_minute: u32,
    /// `RATE_LIMIT_BURST`: how many of those may come at once.
    pub rate_limit_burst: u32,
    /// `TRUSTED_PROXIES`: comma list of CIDRs whose `X-Forwarded-For` is believed.
    #[serde(default, deserialize_with = "string_like")]
    pub trusted_proxies: Option<String>,
    /// `ACCESS_PASSWORD`: when set, people log in first.
    #[serde(default, deserialize_with = "string_like")]
    pub access_password: Option<String>,
    /// `SECRET_KEY`: signs session cookies (random per start when unset).
    #[serde(default, deserialize_with = "string_like")]
    pub secret_key: Option<String>,
    /// `SESSION_DAYS`: how long a login lasts.
    pub session_days: u64,
    /// `JS_RUNTIME`: the JavaScript runtime yt-dlp uses for YouTube (a path,
    /// or `NAME:PATH` such as `node:/usr/bin/node`); default deno next to
    /// yt-dlp, then deno on PATH.
    #[serde(default, deserialize_with = "string_like")]
    pub js_runtime: Option<String>,
    /// `POT_PROVIDER_URL`: the PO-token minter, a bgutil-compatible HTTP
    /// server (e.g. `http://127.0.0.1:4416`), asked by Kachay's token service.
    #[serde(default, deserialize_with = "string_like")]
    pub pot_provider_url: Option<String>,
    /// `POT_CACHE_ENTRIES`: PO tokens the token service keeps (and as many
    /// yt-dlp cache entries).
    pub pot_cache_entries: u64,
    /// `YTDLP_PLUGIN_DIRS`: more yt-dlp plugin directories, `:`-separated.
    #[serde(default, deserialize_with = "string_like")]
    pub ytdlp_plugin_dirs: Option<String>,
    /// `YTDLP_EXTRACTOR_ARGS`: further `KEY:ARGS` extractor arguments,
    /// separated by spaces or newlines.
    #[serde(default, deserialize_with = "string_like")]
    pub ytdlp_extractor_args: Option<String>,
    /// `COOKIES_FILE`: a Netscape cookies.txt for yt-dlp (each run gets a copy).
    pub cookies_file: Option<PathBuf>,
    /// `MAX_PLAYLIST_ITEMS`: entries listed from a playlist or channel.
    pub max_playlist_items: usize,
    /// `DOWNLOAD_ENGINE`: `native` (Kachay fetches the media itself, yt-dlp
    /// only extracts) or `yt-dlp` (yt-dlp's own downloader for everything).
    #[serde(default, deserialize_with = "string_like")]
    pub download_engine: Option<String>,
    /// `CONNECTIONS_PER_DOWNLOAD`: connections a native download starts with
    /// (it grows while throughput still rises, up to four times this).
    pub connections_per_download: usize,
    /// `MAX_CONNECTIONS`: connections of all native downloads together.
    pub max_connections: usize,
    /// `MAX_CONCURRENT_LOOKUPS`: yt-dlp lookups running at once (default
    /// twice the cores, at least 2); more wait `LOOKUP_WAIT_SECS`, then 503.
    pub max_concurrent_lookups: Option<usize>,
    /// `LOOKUP_WAIT_SECS`: how long a lookup waits for a free slot.
    pub lookup_wait_secs: u64,
    /// `INFO_CACHE_SIZE`: the most memory cached lookups may use (`128M`).
    #[serde(default, deserialize_with = "string_like")]
    pub info_cache_size: Option<String>,
    /// `ALLOWED_HOSTS`: comma list of host names the server answers to
    /// without a password (besides IP addresses, `localhost` and the host of
    /// `PUBLIC_URL`); `*` answers to any.
    #[serde(default, deserialize_with = "string_like")]
    pub allowed_hosts: Option<String>,
    /// `PUBLIC_URL`: the address people use, e.g. `https://video.example.org`
    /// (its host is allowed; `https` makes the login cookie `Secure`).
    #[serde(default, deserialize_with = "string_like")]
    pub public_url: Option<String>,
    /// `MAX_SSE_PER_CLIENT`: open `/api/events` streams per client address.
    pub max_sse_per_client: usize,
    /// `REDIS_URL`: state shared by several Kachay nodes (so far the POST
    /// rate limit); unset, everything stays in this process.
    #[serde(default, deserialize_with = "string_like")]
    pub redis_url: Option<String>,
    /// `KACHAY_ROLE`: `all` (serves and downloads), `web` (serves, queues,
    /// never downloads) or `worker` (downloads, no listener); `web` and
    /// `worker` need `REDIS_URL`.
    #[serde(default, deserialize_with = "string_like")]
    pub kachay_role: Option<String>,
    /// `KACHAY_WORKER_ID`: this worker's name in the queue; one that starts
    /// again under the same name takes up its own unfinished downloads at
    /// once. Default: the host name and the process id.
    #[serde(default, deserialize_with = "string_like")]
    pub kachay_worker_id: Option<String>,
    /// `MAX_RUNNING_PER_CLIENT`: downloads one client may run at once; `0`
    /// (the default) means one fewer than `MAX_CONCURRENT_DOWNLOADS` (at
    /// least 1), so a slot is always left for someone else.
    #[serde(default)]
    pub max_running_per_client: usize,
    /// `MIN_SPEED`: the slowest a download may be over a whole
    /// `MIN_SPEED_WINDOW_SECS` (bytes per second, or `10K`, `1M`).
    #[serde(default, deserialize_with = "string_like")]
    pub min_speed: Option<String>,
    /// `MIN_SPEED_WINDOW_SECS`: how long a download may stay below
    /// `MIN_SPEED` before it is stopped; `0` turns the floor off.
    #[serde(default = "default_min_speed_window")]
    pub min_speed_window_secs: u64,
    /// `MIN_FREE_DISK`: free space that must stay on the file system of
    /// `DOWNLOAD_DIR` (`1G`, bytes; `0` = no check).
    #[serde(default, deserialize_with = "string_like")]
    pub min_free_disk: Option<String>,
    /// `DATA_DIR`: where the job database lives; default `data` next to
    /// `DOWNLOAD_DIR` (see [`Config::data_dir`]).
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// `EGRESS_PORTS`: ports public sites may be fetched on besides 80 and
    /// 443, comma-separated (`ALLOW_PRIVATE_NETWORKS` ranges: any port).
    #[serde(default, deserialize_with = "string_like")]
    pub egress_ports: Option<String>,
}

fn default_min_speed_window() -> u64 {
    120
}

impl Default for Config {
    fn default() -> Self {
        Config {
            leptos_site_addr: None,
            port: None,
            download_dir: PathBuf::from("downloads"),
            ytdlp: None,
            ffmpeg: None,
            info_cache_secs: 300,
            probe_timeout_secs: 60,
            max_concurrent_downloads: 3,
            file_ttl_secs: 3600,
            allow_private_networks: None,
            max_jobs_per_client: 100,
            max_queued_jobs: 500,
            max_filesize: Some("8G".into()),
            max_duration_secs: Some(6 * 3600),
            disk_quota: None,
            download_timeout_secs: 4 * 3600,
            rate_limit_per_minute: 60,
            rate_limit_burst: 20,
            trusted_proxies: None,
            access_password: None,
            secret_key: None,
            session_days: 30,
            js_runtime: None,
            pot_provider_url: None,
            pot_cache_entries: 1000,
            ytdlp_plugin_dirs: None,
            ytdlp_extractor_args: None,
            cookies_file: None,
            max_playlist_items: 50,
            download_engine: None,
            connections_per_download: 8,
            max_connections: 64,
            max_concurrent_lookups: None,
            lookup_wait_secs: 5,
            info_cache_size: Some("128M".into()),
            allowed_hosts: None,
            public_url: None,
            max_sse_per_client: 16,
            redis_url: None,
            kachay_role: None,
            kachay_worker_id: None,
            max_running_per_client: 0,
            min_speed: Some("10K".into()),
            min_speed_window_secs: default_min_speed_window(),
            min_free_disk: Some("1G".into()),
            data_dir: None,
            egress_ports: None,
        }
    }
}

/// Environment values are typed by figment (`true` becomes a bool, `12345`
/// a number); settings that are text take any of them as text.
fn string_like<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Bool(bool),
        Int(i64),
        Uint(u64),
        Float(f64),
    }
    Ok(Option::<Scalar>::deserialize(d)?.map(|v| match v {
        Scalar::Text(s) => s,
        Scalar::Bool(b) => b.to_string(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Uint(u) => u.to_string(),
        Scalar::Float(f) => f.to_string(),
    }))
}

/// A setting that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("bad configuration: {0}")]
    Read(#[from] Box<figment::Error>),
    #[error("bad configuration: {name}: {message}")]
    Invalid { name: &'static str, message: String },
}

impl ConfigError {
    pub fn invalid(name: &'static str, message: impl Into<String>) -> Self {
        ConfigError::Invalid { name, message: message.into() }
    }
}

/// `500M`, `4G`, `1.5G`, `123456` (bytes; K/M/G/T are powers of 1024).
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&text[..i], text[i..].trim().to_ascii_uppercase()),
        None => (text, String::new()),
    };
    let factor: u64 = match unit.trim_end_matches("IB").trim_end_matches('B') {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        "P" => 1 << 50,
        _ => return None,
    };
    let value: f64 = number.trim().parse().ok()?;
    (value.is_finite() && value >= 0.0).then_some((value * factor as f64) as u64)
}

fn parse_size_setting(name: &'static str, value: Option<&str>) -> Result<Option<u64>, ConfigError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) => match parse_size(text) {
            Some(0) => Ok(None),
            Some(bytes) => Ok(Some(bytes)),
            None => Err(ConfigError::invalid(name, format!("{text:?} is not a size like 500M or 4G"))),
        },
    }
}

const VARIABLES: &[&str] = &[
    "leptos_site_addr",
    "port",
    "download_dir",
    "ytdlp",
    "ffmpeg",
    "info_cache_secs",
    "probe_timeout_secs",
    "max_concurrent_downloads",
    "file_ttl_secs",
    "allow_private_networks",
    "max_jobs_per_client",
    "max_queued_jobs",
    "max_filesize",
    "max_duration_secs",
    "disk_quota",
    "download_timeout_secs",
    "rate_limit_per_minute",
    "rate_limit_burst",
    "trusted_proxies",
    "access_password",
    "secret_key",
    "session_days",
    "js_runtime",
    "pot_provider_url",
    "pot_cache_entries",
    "ytdlp_plugin_dirs",
    "ytdlp_extractor_args",
    "cookies_file",
    "max_playlist_items",
    "download_engine",
    "connections_per_download",
    "max_connections",
    "max_concurrent_lookups",
    "lookup_wait_secs",
    "info_cache_size",
    "allowed_hosts",
    "public_url",
    "redis_url",
    "kachay_role",
    "kachay_worker_id",
    "max_sse_per_client",
    "max_running_per_client",
    "min_speed",
    "min_speed_window_secs",
    "min_free_disk",
    "data_dir",
    "egress_ports",
];

impl Config {
    /// Defaults overridden by the environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Env::raw().only(VARIABLES))
            .extract()
            .map_err(|e| ConfigError::Read(Box::new(e)))
    }

    /// The address to listen on: `LEPTOS_SITE_ADDR` (default 127.0.0.1:3000)
    /// with its port replaced by `PORT` when that is set.
    pub fn bind_addr(&self) -> SocketAddr {
        let base = self.leptos_site_addr.unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 3000));
        SocketAddr::new(base.ip(), self.port.unwrap_or(base.port()))
    }

    /// The yt-dlp to run: `YTDLP`, else the project's virtualenv (in the
    /// working directory, or above the server binary: `target/release/server`
    /// finds the checkout's `.venv`), else `yt-dlp` from PATH. The binary's
    /// own place rather than the source tree's: a release build must not
    /// carry the path it was built in.
    pub fn ytdlp_program(&self) -> PathBuf {
        if let Some(path) = &self.ytdlp {
            return path.clone();
        }
        let venv = Path::new(".venv/bin/yt-dlp");
        let beside_binary = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.ancestors().skip(1).take(4).map(|dir| dir.join(venv)).find(|p| p.is_file()));
        Some(venv.to_path_buf()).filter(|p| p.is_file()).or(beside_binary).unwrap_or_else(|| PathBuf::from("yt-dlp"))
    }

    /// The ffmpeg to run: `FFMPEG`, else `ffmpeg` from PATH.
    pub fn ffmpeg_program(&self) -> PathBuf {
        self.ffmpeg.clone().unwrap_or_else(|| PathBuf::from("ffmpeg"))
    }

    pub fn info_cache_ttl(&self) -> Duration {
        Duration::from_secs(self.info_cache_secs)
    }

    /// `MAX_FILESIZE` in bytes (`0` or empty: no limit).
    pub fn max_filesize_bytes(&self) -> Result<Option<u64>, ConfigError> {
        parse_size_setting("MAX_FILESIZE", self.max_filesize.as_deref())
    }

    /// `DISK_QUOTA` in bytes (`0` or empty: no quota).
    pub fn disk_quota_bytes(&self) -> Result<Option<u64>, ConfigError> {
        parse_size_setting("DISK_QUOTA", self.disk_quota.as_deref())
    }

    /// `MIN_FREE_DISK` in bytes (`0` or empty: no check).
    pub fn min_free_disk_bytes(&self) -> Result<Option<u64>, ConfigError> {
        parse_size_setting("MIN_FREE_DISK", self.min_free_disk.as_deref())
    }

    /// Running downloads per client: `MAX_RUNNING_PER_CLIENT`, or by default
    /// all slots but one. One client alone still gets nearly all the
    /// throughput, and another client's download starts at once instead of
    /// waiting for one of the first client's to finish (downloads cannot be
    /// paused to make room).
    pub fn running_per_client(&self) -> usize {
        let max = self.max_concurrent_downloads.max(1);
        match self.max_running_per_client {
            0 => max.saturating_sub(1).max(1),
            n => n.min(max),
        }
    }

    /// `MIN_SPEED` over `MIN_SPEED_WINDOW_SECS`; `None` when either is 0.
    pub fn speed_floor(&self) -> Result<Option<engine::jobs::SpeedFloor>, ConfigError> {
        let min_speed = parse_size_setting("MIN_SPEED", self.min_speed.as_deref())?;
        Ok(match (min_speed, self.min_speed_window_secs) {
            (Some(min_speed), secs) if secs > 0 => {
                Some(engine::jobs::SpeedFloor { min_speed, window: Duration::from_secs(secs) })
            }
            _ => None,
        })
    }

    /// `DATA_DIR`, or `data` beside `DOWNLOAD_DIR` (`downloads` → `data`,
    /// `/srv/kachay/files` → `/srv/kachay/data`): kept out of the download
    /// directory so that clearing downloads never takes the history along.
    pub fn data_dir(&self) -> PathBuf {
        match &self.data_dir {
            Some(dir) if !dir.as_os_str().is_empty() => dir.clone(),
            _ => {
                self.download_dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).join("data")
            }
        }
    }

    /// `POT_PROVIDER_URL`, checked: an `http://` or `https://` address
    /// without query or fragment; `None` when unset.
    pub fn pot_minter_url(&self) -> Result<Option<url::Url>, ConfigError> {
        let Some(setting) = self.pot_provider_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let base = engine::ytdlp_options::provider_base_url(setting)
            .map_err(|e| ConfigError::invalid("POT_PROVIDER_URL", e.to_string()))?;
        url::Url::parse(&base).map(Some).map_err(|e| ConfigError::invalid("POT_PROVIDER_URL", e.to_string()))
    }

    /// `KACHAY_ROLE`, checked against `REDIS_URL`.
    pub fn role(&self) -> Result<Role, ConfigError> {
        let role = match self.kachay_role.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            None => Role::All,
            Some(r) if r.eq_ignore_ascii_case("all") => Role::All,
            Some(r) if r.eq_ignore_ascii_case("web") => Role::Web,
            Some(r) if r.eq_ignore_ascii_case("worker") => Role::Worker,
            Some(_) => return Err(ConfigError::invalid("KACHAY_ROLE", "it must be all, web or worker")),
        };
        let clustered = self.redis_url.as_deref().is_some_and(|u| !u.trim().is_empty());
        if role != Role::All && !clustered {
            return Err(ConfigError::invalid("KACHAY_ROLE", "web and worker need REDIS_URL"));
        }
        Ok(role)
    }

    /// `KACHAY_WORKER_ID`, or the host name and process id.
    pub fn worker_id(&self) -> String {
        if let Some(id) = self.kachay_worker_id.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
            return id.to_owned();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        format!("{}-{}", host.trim(), std::process::id())
    }

    /// Where the yt-dlp plugin is written at start: `ytdlp-plugins` in
    /// [`data_dir`](Self::data_dir).
    pub fn plugin_dir(&self) -> PathBuf {
        self.data_dir().join("ytdlp-plugins")
    }

    /// The job database: `jobs.sqlite3` in [`data_dir`](Self::data_dir).
    pub fn job_database(&self) -> PathBuf {
        self.data_dir().join("jobs.sqlite3")
    }

    pub fn file_ttl(&self) -> Duration {
        Duration::from_secs(self.file_ttl_secs)
    }

    pub fn probe_timeout(&self) -> Duration {
        Duration::from_secs(self.probe_timeout_secs.max(1))
    }

    /// `MAX_CONCURRENT_LOOKUPS`, else twice the cores; at least 1 when set,
    /// at least 2 by default.
    pub fn lookup_limit(&self) -> usize {
        match self.max_concurrent_lookups {
            Some(n) => n.max(1),
            None => std::thread::available_parallelism().map_or(2, |n| n.get().saturating_mul(2)).max(2),
        }
    }

    pub fn lookup_wait(&self) -> Duration {
        Duration::from_secs(self.lookup_wait_secs)
    }

    /// `INFO_CACHE_SIZE` in bytes (`0` or empty: nothing is cached).
    pub fn info_cache_bytes(&self) -> Result<u64, ConfigError> {
        Ok(parse_size_setting("INFO_CACHE_SIZE", self.info_cache_size.as_deref())?.unwrap_or(0))
    }

    /// `PUBLIC_URL`, checked: an http(s) URL with a host.
    pub fn public_url(&self) -> Result<Option<url::Url>, ConfigError> {
        let Some(text) = self.public_url.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let url = url::Url::parse(text)
            .map_err(|e| ConfigError::invalid("PUBLIC_URL", format!("{text:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(ConfigError::invalid(
                "PUBLIC_URL",
                format!("{text:?} should look like https://video.example.org"),
            ));
        }
        Ok(Some(url))
    }

    /// `DOWNLOAD_ENGINE`: true for `native` (the default), false for `yt-dlp`.
    pub fn native_engine(&self) -> Result<bool, ConfigError> {
        match self.download_engine.as_deref().map(str::trim).map(str::to_ascii_lowercase).as_deref() {
            None | Some("") | Some("native") => Ok(true),
            Some("yt-dlp") | Some("ytdlp") => Ok(false),
            Some(other) => {
                Err(ConfigError::invalid("DOWNLOAD_ENGINE", format!("{other:?} is neither \"native\" nor \"yt-dlp\"")))
            }
        }
    }
}

#[cfg(test)]
// `Jail::expect_with` closures return `figment::Result`: its error is large by design.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults_listen_on_loopback_3000() {
        Jail::expect_with(|_| {
            let config = Config::from_env().map_err(|e| e.to_string())?;
            assert_eq!(config.bind_addr().to_string(), "127.0.0.1:3000");
            assert_eq!(config.download_dir, PathBuf::from("downloads"));
            Ok(())
        });
    }

    #[test]
    fn port_overrides_the_site_address_port() {
        Jail::expect_with(|jail| {
            jail.set_env("LEPTOS_SITE_ADDR", "0.0.0.0:3000");
            jail.set_env("PORT", "8080");
            jail.set_env("DOWNLOAD_DIR", "/srv/videos");
            let config = Config::from_env().map_err(|e| e.to_string())?;
            assert_eq!(config.bind_addr().to_string(), "0.0.0.0:8080");
            assert_eq!(config.download_dir, PathBuf::from("/srv/videos"));
            Ok(())
        });
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size("500M"), Some(500 << 20));
        assert_eq!(parse_size("4G"), Some(4 << 30));
        assert_eq!(parse_size("1.5g"), Some(3 << 29));
        assert_eq!(parse_size("2 GiB"), Some(2 << 30));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("-1G"), None);
        assert_eq!(parse_size("5Q"), None);
        assert_eq!(parse_size("1P"), Some(1 << 50));
    }

    #[test]
    fn text_settings_take_values_that_look_like_other_types() {
        Jail::expect_with(|jail| {
            jail.set_env("ALLOW_PRIVATE_NETWORKS", "true");
            jail.set_env("ACCESS_PASSWORD", "12345");
            jail.set_env("MAX_FILESIZE", "1000000");
            let config = Config::from_env().map_err(|e| e.to_string())?;
            assert_eq!(config.allow_private_networks.as_deref(), Some("true"));
            assert_eq!(config.access_password.as_deref(), Some("12345"));
            assert_eq!(config.max_filesize_bytes().ok().flatten(), Some(1_000_000));
            Ok(())
        });
    }

    #[test]
    fn public_instance_settings_are_checked() {
        Jail::expect_with(|jail| {
            jail.set_env("PUBLIC_URL", "https://video.example.org/");
            jail.set_env("INFO_CACHE_SIZE", "64M");
            let config = Config::from_env().map_err(|e| e.to_string())?;
            assert_eq!(config.public_url().ok().flatten().map(|u| u.scheme().to_string()).as_deref(), Some("https"));
            assert_eq!(config.info_cache_bytes().ok(), Some(64 << 20));
            assert!(config.lookup_limit() >= 2);
            jail.set_env("PUBLIC_URL", "video.example.org");
            let config = Config::from_env().map_err(|e| e.to_string())?;
            let err = config.public_url().err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("PUBLIC_URL"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn slots_and_floors_have_safe_defaults() {
        Jail::expect_with(|jail| {
            let config = Config::from_env().map_err(|e| e.to_string())?;
            assert_eq!(config.running_per_client(), 2, "3 slots: one is kept for others");
            assert_eq!(config.min_free_disk_bytes().ok().flatten(), Some(1 << 30));
            let floor = config.speed_floor().ok().flatten();
            assert_eq!(floor.map(|f| (f.min_speed, f.window.as_secs())), Some((10 << 10, 120)));
            jail.set_env("MAX_CONCURRENT_DOWNLOADS", "1");
            jail.set_env("MIN_SPEED_WINDOW_SECS", "0");
            jail.set_env("MIN_FREE_DISK", "0");
            let config = Config::from_env().map_err(|e| e.to_string())?;
            assert_eq!(config.running_per_client(), 1);
            assert!(config.speed_floor().ok().flatten().is_none());
            assert!(config.min_free_disk_bytes().ok().flatten().is_none());
            jail.set_env("MAX_CONCURRENT_DOWNLOADS", "4");
            jail.set_env("MAX_RUNNING_PER_CLIENT", "9");
            jail.set_env("MIN_SPEED", "slow");
            let config = Config::from_env().map_err(|e| e.to_string())?;
            assert_eq!(config.running_per_client(), 4);
            let err = config.speed_floor().err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("MIN_SPEED"), "{err}");
            Ok(())
        });
    }

    /// The fields of `Config`, by serialising it: no second list to keep.
    fn field_names() -> Vec<String> {
        match serde_json::to_value(Config::default()) {
            Ok(serde_json::Value::Object(fields)) => fields.keys().cloned().collect(),
            other => panic!("Config should serialise to an object: {other:?}"),
        }
    }

    #[test]
    fn every_field_has_its_variable() {
        let mut fields = field_names();
        let mut variables: Vec<String> = VARIABLES.iter().map(|v| v.to_string()).collect();
        fields.sort();
        variables.sort();
        assert_eq!(fields, variables, "VARIABLES and the fields of Config differ");
    }

    #[test]
    fn every_variable_is_documented_in_the_readme() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));
        let start = readme.find("\n## Configuration").expect("README.md has a ## Configuration section");
        let section = &readme[start + 1..];
        let section = &section[..section.find("\n## ").unwrap_or(section.len())];
        let mut missing = Vec::new();
        for field in field_names() {
            let name = format!("`{}`", field.to_ascii_uppercase());
            if !section.contains(&name) {
                missing.push(name);
            }
        }
        assert!(missing.is_empty(), "not documented in README.md's ## Configuration: {missing:?}");
    }

    /// Each variable, set to a value its field can take, changes that field.
    #[test]
    fn every_variable_is_read_from_the_environment() {
        // A number, some text (paths, names), an address: every field takes one.
        const CANDIDATES: &[&str] = &["7", "kachay-config-test", "127.0.0.1:4321"];
        Jail::expect_with(|jail| {
            let field = |config: &Config, name: &str| serde_json::to_value(config).ok().map(|v| v[name].clone());
            let base = Config::from_env().map_err(|e| e.to_string())?;
            let mut unread = Vec::new();
            for name in field_names() {
                let variable = name.to_ascii_uppercase();
                let read = CANDIDATES.iter().any(|value| {
                    jail.set_env(&variable, value);
                    Config::from_env().is_ok_and(|config| field(&config, &name) != field(&base, &name))
                });
                // Set from outside (`YTDLP` in the test run) or not, it is
                // gone for the next field; the jail puts it back at the end.
                std::env::remove_var(&variable);
                if !read {
                    unread.push(variable);
                }
            }
            assert!(unread.is_empty(), "not read from the environment: {unread:?}");
            Ok(())
        });
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        Jail::expect_with(|jail| {
            jail.set_env("PORT", "eighty");
            let err = Config::from_env().err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("PORT") && err.contains("eighty"), "{err}");
            Ok(())
        });
    }
}
