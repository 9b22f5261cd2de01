//! Lookups shared by every node: yt-dlp's answer for a link, kept in Redis
//! for `INFO_CACHE_SECS`, so that a download reuses the preview's extraction
//! whichever node served the preview (and a second node's preview of the
//! same link runs no yt-dlp at all).
//!
//! The cache is a help, never a requirement: when Redis does not answer, the
//! node looks the link up itself (and says so in the log).

use super::Redis;
use engine::Probe;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

/// The largest answer kept in Redis (a long playlist's is a few MB).
const MAX_ENTRY_BYTES: usize = 16 << 20;

pub struct SharedInfo {
    redis: Arc<Redis>,
    ttl: Duration,
}

fn key(url: &str) -> String {
    let digest = Sha256::digest(url.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("kachay:info:{hex}")
}

impl SharedInfo {
    pub fn new(redis: Arc<Redis>, ttl: Duration) -> SharedInfo {
        SharedInfo { redis, ttl }
    }

    /// The answer another node (or this one) stored for `url`, if any.
    pub async fn get(&self, url: &str) -> Option<Probe> {
        let key = key(url);
        let raw: Option<String> =
            match self.redis.run(|mut c| async move { redis::cmd("GET").arg(key).query_async(&mut c).await }).await {
                Ok(raw) => raw,
                Err(e) => {
                    tracing::warn!(error = %e, "shared lookup cache unavailable; looking up here");
                    return None;
                }
            };
        let raw = raw?;
        match engine::info::read_answer(raw.as_bytes()) {
            Ok((info, raw)) => Some(Probe { info, raw: raw.into() }),
            Err(e) => {
                tracing::warn!(error = %e, "an unreadable entry in the shared lookup cache");
                None
            }
        }
    }

    /// Stores `probe` for the other nodes.
    pub async fn put(&self, url: &str, probe: &Probe) {
        if probe.raw.len() > MAX_ENTRY_BYTES || self.ttl.is_zero() {
            return;
        }
        let (key, raw, secs) = (key(url), Arc::clone(&probe.raw), self.ttl.as_secs().max(1));
        let stored = self
            .redis
            .run(|mut c| async move {
                redis::cmd("SET").arg(key).arg(&*raw).arg("EX").arg(secs).query_async::<()>(&mut c).await
            })
            .await;
        if let Err(e) = stored {
            tracing::warn!(error = %e, "could not share a lookup");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fixed_length_and_hide_the_link() {
        let k = key("https://example.com/watch?v=abc&token=secret");
        assert_eq!(k.len(), "kachay:info:".len() + 64);
        assert!(!k.contains("secret"));
        assert_ne!(k, key("https://example.com/watch?v=abd&token=secret"));
    }
}
