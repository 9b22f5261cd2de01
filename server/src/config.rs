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
        }
    }
}

/// A setting that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("bad configuration: {0}")]
pub struct ConfigError(#[from] Box<figment::Error>);

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
];

impl Config {
    /// Defaults overridden by the environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Env::raw().only(VARIABLES))
            .extract()
            .map_err(|e| ConfigError(Box::new(e)))
    }

    /// The address to listen on: `LEPTOS_SITE_ADDR` (default 127.0.0.1:3000)
    /// with its port replaced by `PORT` when that is set.
    pub fn bind_addr(&self) -> SocketAddr {
        let base = self
            .leptos_site_addr
            .unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 3000));
        SocketAddr::new(base.ip(), self.port.unwrap_or(base.port()))
    }

    /// The yt-dlp to run: `YTDLP`, else the project's virtualenv (next to the
    /// working directory or the source tree), else `yt-dlp` from PATH.
    pub fn ytdlp_program(&self) -> PathBuf {
        if let Some(path) = &self.ytdlp {
            return path.clone();
        }
        let candidates = [
            PathBuf::from(".venv/bin/yt-dlp"),
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/yt-dlp"),
        ];
        candidates
            .into_iter()
            .find(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("yt-dlp"))
    }

    /// The ffmpeg to run: `FFMPEG`, else `ffmpeg` from PATH.
    pub fn ffmpeg_program(&self) -> PathBuf {
        self.ffmpeg.clone().unwrap_or_else(|| PathBuf::from("ffmpeg"))
    }

    pub fn info_cache_ttl(&self) -> Duration {
        Duration::from_secs(self.info_cache_secs)
    }

    pub fn file_ttl(&self) -> Duration {
        Duration::from_secs(self.file_ttl_secs)
    }

    pub fn probe_timeout(&self) -> Duration {
        Duration::from_secs(self.probe_timeout_secs.max(1))
    }
}

#[cfg(test)]
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
    fn a_bad_value_names_the_variable() {
        Jail::expect_with(|jail| {
            jail.set_env("PORT", "eighty");
            let err = Config::from_env().err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("PORT") && err.contains("eighty"), "{err}");
            Ok(())
        });
    }
}
