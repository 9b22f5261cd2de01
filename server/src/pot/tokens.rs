//! The service's own cache of minted tokens: one entry per request key, kept
//! until the token expires, with simultaneous requests for one key sharing a
//! single mint.
//!
//! moka gives the three properties the service needs without locks of our
//! own: a bounded size (`max_capacity`, least-recently-used out first),
//! per-entry expiry ([`moka::Expiry`] reads the token's own `expires_at`),
//! and single-flight (`try_get_with` runs one init future per key; callers
//! that arrive meanwhile wait for it and get its result, or its error).

use super::minter::{MintError, MintRequest, Minter};
use moka::future::Cache;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a token lives when the minter does not say (yt-dlp's WebPO cache
/// spec uses the same: YouTube states 12 hours, half is safe).
pub const DEFAULT_TTL: Duration = Duration::from_secs(6 * 3600);

/// A token is not handed out in its last seconds: the download that asked
/// for it still has to use it.
const EXPIRY_MARGIN_SECS: u64 = 30;

/// A minted token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub value: String,
    /// Unix seconds.
    pub expires_at: u64,
}

/// What identifies a token: the same fields yt-dlp's WebPO cache spec keys
/// on (content binding, client, IP, proxy, source address), plus the
/// context. Stored hashed, so the cache never holds the proxy's credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenKey([u8; 32]);

impl TokenKey {
    pub fn of(request: &MintRequest) -> TokenKey {
        let mut hash = Sha256::new();
        for part in [
            Some(request.context.as_str()),
            Some(request.client.as_str()),
            Some(request.content_binding.as_str()),
            request.ip.as_deref(),
            request.proxy.as_deref(),
            request.source_address.as_deref(),
        ] {
            // Length-prefixed, and `None` apart from `Some("")`.
            match part {
                Some(text) => {
                    hash.update([1]);
                    hash.update((text.len() as u64).to_le_bytes());
                    hash.update(text.as_bytes());
                }
                None => hash.update([0]),
            }
        }
        TokenKey(hash.finalize().into())
    }
}

/// Counts for the health page.
#[derive(Debug, Default)]
pub struct TokenStats {
    /// Tokens the minter made.
    pub minted: AtomicU64,
    /// Answers given without a mint of their own (from the cache, or by
    /// waiting for a mint another request started).
    pub served_from_cache: AtomicU64,
    /// Mints that failed.
    pub failures: AtomicU64,
}

/// How a token was had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Minted,
    Cache,
}

struct ByTokenExpiry;

impl moka::Expiry<TokenKey, Token> for ByTokenExpiry {
    fn expire_after_create(&self, _key: &TokenKey, token: &Token, _created_at: Instant) -> Option<Duration> {
        Some(time_left(token.expires_at))
    }

    fn expire_after_update(
        &self,
        _key: &TokenKey,
        token: &Token,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(time_left(token.expires_at))
    }
}

/// Time until `expires_at` less the margin; zero when already past it.
fn time_left(expires_at: u64) -> Duration {
    Duration::from_secs(expires_at.saturating_sub(now_secs()).saturating_sub(EXPIRY_MARGIN_SECS))
}

pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The tokens, bounded by count.
pub struct TokenCache {
    cache: Cache<TokenKey, Token>,
    pub stats: TokenStats,
}

impl TokenCache {
    pub fn new(max_entries: u64) -> TokenCache {
        TokenCache {
            cache: Cache::builder().max_capacity(max_entries).expire_after(ByTokenExpiry).build(),
            stats: TokenStats::default(),
        }
    }

    /// The token for `request`: from the cache, or minted once however many
    /// ask at the same time. `bypass_cache` drops the cached one first (the
    /// new one is cached for the others).
    pub async fn get(&self, minter: &dyn Minter, request: &MintRequest) -> Result<(Token, Source), Arc<MintError>> {
        let key = TokenKey::of(request);
        if request.bypass_cache {
            self.cache.invalidate(&key).await;
        }
        let minted_here = AtomicBool::new(false);
        let result = self
            .cache
            .try_get_with(key, async {
                minted_here.store(true, Ordering::Relaxed);
                let minted = minter.mint(request).await;
                match &minted {
                    Ok(_) => self.stats.minted.fetch_add(1, Ordering::Relaxed),
                    Err(_) => self.stats.failures.fetch_add(1, Ordering::Relaxed),
                };
                let minted = minted?;
                let expires_at = minted.expires_at.unwrap_or_else(|| now_secs().saturating_add(DEFAULT_TTL.as_secs()));
                Ok::<_, MintError>(Token { value: minted.token, expires_at })
            })
            .await;
        let token = result?;
        if minted_here.load(Ordering::Relaxed) {
            Ok((token, Source::Minted))
        } else {
            self.stats.served_from_cache.fetch_add(1, Ordering::Relaxed);
            Ok((token, Source::Cache))
        }
    }

    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    #[cfg(test)]
    async fn settle(&self) {
        self.cache.run_pending_tasks().await;
    }
}

#[cfg(test)]
mod tests {
    use super::super::minter::Minted;
    use super::*;
    use futures::future::BoxFuture;
    use std::sync::atomic::AtomicUsize;

    /// Counts mints; each takes `delay` and lives `lifetime` seconds.
    struct Counting {
        mints: AtomicUsize,
        delay: Duration,
        lifetime: u64,
        fail: bool,
    }

    impl Counting {
        fn new(delay: Duration, lifetime: u64) -> Counting {
            Counting { mints: AtomicUsize::new(0), delay, lifetime, fail: false }
        }
    }

    impl Minter for Counting {
        fn mint<'a>(&'a self, request: &'a MintRequest) -> BoxFuture<'a, Result<Minted, MintError>> {
            Box::pin(async move {
                let n = self.mints.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(self.delay).await;
                if self.fail {
                    return Err(MintError::Refused("no".into()));
                }
                Ok(Minted {
                    token: format!("{}-{n}", request.content_binding),
                    expires_at: Some(now_secs() + self.lifetime),
                })
            })
        }

        fn ping(&self) -> BoxFuture<'_, Result<String, MintError>> {
            Box::pin(async { Ok("test".to_owned()) })
        }

        fn describe(&self) -> String {
            "test".to_owned()
        }
    }

    fn request(binding: &str) -> MintRequest {
        MintRequest {
            context: "gvs".into(),
            client: "WEB".into(),
            content_binding: binding.into(),
            ip: Some("203.0.113.7".into()),
            proxy: Some("http://kachay:secret@127.0.0.1:1".into()),
            ..MintRequest::default()
        }
    }

    #[tokio::test]
    async fn simultaneous_requests_for_one_key_mint_once() {
        let minter = Counting::new(Duration::from_millis(300), 3600);
        let cache = TokenCache::new(100);
        let ask = request("video-a");
        let asks = (0..20).map(|_| cache.get(&minter, &ask));
        let answers = futures::future::join_all(asks).await;
        assert_eq!(minter.mints.load(Ordering::SeqCst), 1);
        let tokens: Vec<_> = answers.into_iter().map(|a| a.expect("token").0.value).collect();
        assert!(tokens.iter().all(|t| t == "video-a-1"), "{tokens:?}");
        assert_eq!(cache.stats.minted.load(Ordering::Relaxed), 1);
        assert_eq!(cache.stats.served_from_cache.load(Ordering::Relaxed), 19);
        // Another binding is another token.
        let other = cache.get(&minter, &request("video-b")).await.expect("token");
        assert_eq!((other.0.value.as_str(), other.1), ("video-b-2", Source::Minted));
    }

    #[tokio::test]
    async fn every_key_field_separates_tokens() {
        let minter = Counting::new(Duration::ZERO, 3600);
        let cache = TokenCache::new(100);
        let base = request("v");
        let variants = [
            MintRequest { context: "player".into(), ..base.clone() },
            MintRequest { client: "MWEB".into(), ..base.clone() },
            MintRequest { ip: None, ..base.clone() },
            MintRequest { ip: Some(String::new()), ..base.clone() },
            MintRequest { proxy: None, ..base.clone() },
            MintRequest { source_address: Some("192.0.2.1".into()), ..base.clone() },
            base.clone(),
        ];
        for v in &variants {
            cache.get(&minter, v).await.expect("token");
        }
        assert_eq!(minter.mints.load(Ordering::SeqCst), variants.len());
        // Fields outside the key do not matter.
        let same = MintRequest { video_id: Some("other".into()), challenge: Some("c".into()), ..base };
        assert_eq!(cache.get(&minter, &same).await.expect("token").1, Source::Cache);
    }

    #[tokio::test]
    async fn an_expired_token_is_minted_again() {
        // Lives 31 s: with the 30 s margin it is stale after one second.
        let minter = Counting::new(Duration::ZERO, EXPIRY_MARGIN_SECS + 1);
        let cache = TokenCache::new(100);
        assert_eq!(cache.get(&minter, &request("v")).await.expect("token").1, Source::Minted);
        assert_eq!(cache.get(&minter, &request("v")).await.expect("token").1, Source::Cache);
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let (token, source) = cache.get(&minter, &request("v")).await.expect("token");
        assert_eq!((token.value.as_str(), source), ("v-2", Source::Minted));
    }

    #[tokio::test]
    async fn a_token_already_expired_is_not_cached() {
        let minter = Counting::new(Duration::ZERO, 0);
        let cache = TokenCache::new(100);
        cache.get(&minter, &request("v")).await.expect("token");
        cache.get(&minter, &request("v")).await.expect("token");
        assert_eq!(minter.mints.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn bypass_cache_mints_anew_and_the_new_token_is_shared() {
        let minter = Counting::new(Duration::ZERO, 3600);
        let cache = TokenCache::new(100);
        cache.get(&minter, &request("v")).await.expect("token");
        let fresh = MintRequest { bypass_cache: true, ..request("v") };
        let (token, source) = cache.get(&minter, &fresh).await.expect("token");
        assert_eq!((token.value.as_str(), source), ("v-2", Source::Minted));
        let (again, source) = cache.get(&minter, &request("v")).await.expect("token");
        assert_eq!((again.value.as_str(), source), ("v-2", Source::Cache));
    }

    #[tokio::test]
    async fn the_cache_is_bounded() {
        let minter = Counting::new(Duration::ZERO, 3600);
        let cache = TokenCache::new(50);
        for i in 0..500 {
            cache.get(&minter, &request(&format!("video-{i}"))).await.expect("token");
        }
        cache.settle().await;
        assert!(cache.entry_count() <= 50, "{}", cache.entry_count());
    }

    #[tokio::test]
    async fn a_failed_mint_is_shared_by_its_waiters_and_not_cached() {
        let minter = Counting { fail: true, ..Counting::new(Duration::from_millis(200), 3600) };
        let cache = TokenCache::new(10);
        let ask = request("v");
        let answers = futures::future::join_all((0..5).map(|_| cache.get(&minter, &ask))).await;
        assert!(answers.iter().all(Result::is_err));
        assert_eq!(minter.mints.load(Ordering::SeqCst), 1);
        assert_eq!(cache.stats.failures.load(Ordering::Relaxed), 1);
        // The next ask tries again.
        assert!(cache.get(&minter, &request("v")).await.is_err());
        assert_eq!(minter.mints.load(Ordering::SeqCst), 2);
    }
}
