//! The cache behind the plugin's `KachayPCP`: yt-dlp's own cache entries
//! (its key, its JSON value, its `expires_at`), kept here so that every
//! yt-dlp process the server starts reads what the others stored.

use super::tokens::now_secs;
use moka::future::Cache;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest key accepted (yt-dlp's are 64 hex characters).
pub const MAX_KEY_CHARS: usize = 128;
/// The largest value accepted (yt-dlp's are a token and a number in JSON,
/// a few hundred bytes).
pub const MAX_VALUE_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub value: Arc<str>,
    /// Unix seconds.
    pub expires_at: u64,
}

struct ByEntryExpiry;

impl moka::Expiry<String, Entry> for ByEntryExpiry {
    fn expire_after_create(&self, _key: &String, entry: &Entry, _created_at: Instant) -> Option<Duration> {
        Some(Duration::from_secs(entry.expires_at.saturating_sub(now_secs())))
    }

    fn expire_after_update(
        &self,
        _key: &String,
        entry: &Entry,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(Duration::from_secs(entry.expires_at.saturating_sub(now_secs())))
    }
}

/// Why an entry was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SharedError {
    #[error("a cache key is 1 to {MAX_KEY_CHARS} letters, digits, '-' or '_'")]
    BadKey,
    #[error("a cache value is at most {MAX_VALUE_BYTES} bytes")]
    TooLarge,
}

#[derive(Debug, Default)]
pub struct SharedStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub stores: AtomicU64,
}

pub struct SharedCache {
    cache: Cache<String, Entry>,
    pub stats: SharedStats,
}

pub fn check_key(key: &str) -> Result<(), SharedError> {
    let good = !key.is_empty()
        && key.len() <= MAX_KEY_CHARS
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if good {
        Ok(())
    } else {
        Err(SharedError::BadKey)
    }
}

impl SharedCache {
    pub fn new(max_entries: u64) -> SharedCache {
        SharedCache {
            cache: Cache::builder().max_capacity(max_entries).expire_after(ByEntryExpiry).build(),
            stats: SharedStats::default(),
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<Entry>, SharedError> {
        check_key(key)?;
        // moka drops an expired entry lazily; never hand one out meanwhile.
        let found = self.cache.get(key).await.filter(|e| e.expires_at > now_secs());
        let counter = if found.is_some() { &self.stats.hits } else { &self.stats.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(found)
    }

    /// Stores `value` until `expires_at`; one already past it is dropped.
    pub async fn store(&self, key: &str, value: &str, expires_at: u64) -> Result<(), SharedError> {
        check_key(key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(SharedError::TooLarge);
        }
        if expires_at <= now_secs() {
            self.cache.invalidate(key).await;
            return Ok(());
        }
        self.cache.insert(key.to_owned(), Entry { value: value.into(), expires_at }).await;
        self.stats.stores.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    pub async fn delete(&self, key: &str) -> Result<(), SharedError> {
        check_key(key)?;
        self.cache.invalidate(key).await;
        Ok(())
    }

    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_expire_and_are_bounded() {
        let cache = SharedCache::new(20);
        let now = now_secs();
        cache.store("a", "{\"po_token\":\"x\"}", now + 1).await.expect("stored");
        assert_eq!(
            cache.get("a").await.expect("key").map(|e| e.value.to_string()),
            Some("{\"po_token\":\"x\"}".into())
        );
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert_eq!(cache.get("a").await.expect("key"), None);
        // Already expired: not stored.
        cache.store("b", "v", now.saturating_sub(5)).await.expect("accepted");
        assert_eq!(cache.get("b").await.expect("key"), None);
        for i in 0..300 {
            cache.store(&format!("k{i}"), "v", now + 3600).await.expect("stored");
        }
        cache.cache.run_pending_tasks().await;
        assert!(cache.entry_count() <= 20, "{}", cache.entry_count());
    }

    #[tokio::test]
    async fn hostile_keys_and_values_are_refused() {
        let cache = SharedCache::new(20);
        let later = now_secs() + 3600;
        for key in ["", "../etc", "a/b", "a b", "ключ", &"a".repeat(MAX_KEY_CHARS + 1)] {
            assert_eq!(cache.store(key, "v", later).await, Err(SharedError::BadKey), "{key:?}");
            assert_eq!(cache.get(key).await, Err(SharedError::BadKey), "{key:?}");
        }
        assert_eq!(cache.store("k", &"v".repeat(MAX_VALUE_BYTES + 1), later).await, Err(SharedError::TooLarge));
        assert_eq!(cache.get("k").await, Ok(None));
        assert!(cache.store(&"a".repeat(MAX_KEY_CHARS), "v", later).await.is_ok());
    }
}
