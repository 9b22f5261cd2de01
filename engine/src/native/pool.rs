//! How many connections one download keeps busy.
//!
//! It starts at `CONNECTIONS_PER_DOWNLOAD` and doubles while throughput still
//! rises (an origin that throttles each connection gets more of them), up to
//! a ceiling; it halves on 429/503 and pauses for `Retry-After`, and steps
//! down on resets and stalls. A global semaphore (`MAX_CONNECTIONS`) caps
//! all downloads together.

use std::time::Duration;

use tokio::time::Instant;

/// How long throughput is measured before deciding to grow.
const SAMPLE: Duration = Duration::from_millis(400);
/// Grow only when a sample beats the best one before by this factor.
const GAIN: f64 = 1.12;
/// Pause after a 429/503 without `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Longest `Retry-After` honoured; a site asking for more fails faster.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The per-download controller. Not shared between tasks: the download's
/// scheduler owns it.
#[derive(Debug)]
pub struct Pool {
    target: usize,
    min: usize,
    max: usize,
    paused_until: Option<Instant>,
    sample_start: Instant,
    sample_bytes: u64,
    /// Best bytes/s seen, with the target it was seen at.
    best: f64,
    /// Once the origin pushed back, growth stops for this download.
    capped: bool,
}

impl Pool {
    /// A pool starting at `start` connections that may grow to `max`.
    pub fn new(start: usize, max: usize) -> Pool {
        let start = start.max(1);
        Pool {
            target: start,
            min: 1,
            max: max.max(start),
            paused_until: None,
            sample_start: Instant::now(),
            sample_bytes: 0,
            best: 0.0,
            capped: false,
        }
    }

    /// Connections to keep busy now.
    pub fn target(&self) -> usize {
        self.target
    }

    /// When new requests may start again after a 429/503, if paused.
    pub fn paused_until(&self) -> Option<Instant> {
        self.paused_until.filter(|at| *at > Instant::now())
    }

    /// Counts bytes received; `busy` is how many requests are in flight.
    /// Grows the target when a full sample at the current target beat the
    /// best so far.
    pub fn record(&mut self, bytes: u64, busy: usize) {
        self.sample_bytes += bytes;
        let elapsed = self.sample_start.elapsed();
        if elapsed < SAMPLE {
            return;
        }
        let rate = self.sample_bytes as f64 / elapsed.as_secs_f64();
        // Only a sample with every slot busy says anything about more slots.
        let saturated = busy >= self.target;
        if saturated && !self.capped && self.target < self.max && rate > self.best * GAIN {
            // Slow start: double while it pays, so a download of a few
            // seconds still reaches the connections it can use.
            self.target = (self.target * 2).min(self.max);
            tracing::trace!(target = self.target, rate, "more connections");
        }
        if rate > self.best {
            self.best = rate;
        }
        self.sample_start = Instant::now();
        self.sample_bytes = 0;
    }

    /// The origin said 429 or 503: halve, stop growing, pause.
    pub fn push_back(&mut self, retry_after: Option<Duration>) {
        self.target = (self.target / 2).max(self.min);
        self.capped = true;
        let wait = retry_after.unwrap_or(DEFAULT_RETRY_AFTER).min(MAX_RETRY_AFTER);
        let until = Instant::now() + wait;
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
        tracing::debug!(target = self.target, wait_ms = wait.as_millis() as u64, "origin pushed back");
    }

    /// A connection was reset or stalled: one fewer.
    pub fn trouble(&mut self) {
        if self.target > self.min {
            self.target -= 1;
        }
    }
}

/// Reads `Retry-After` (seconds; HTTP dates are treated as the default).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn grows_while_throughput_rises_and_halves_on_push_back() {
        let mut pool = Pool::new(8, 32);
        assert_eq!(pool.target(), 8);
        // A full sample at 8 busy connections: grows.
        pool.record(8_000_000, 8);
        tokio::time::advance(SAMPLE).await;
        pool.record(1, 8);
        assert_eq!(pool.target(), 16);
        // Not saturated: no growth.
        tokio::time::advance(SAMPLE).await;
        pool.record(90_000_000, 3);
        assert_eq!(pool.target(), 16);
        // Higher again with 16 busy: grows, up to the ceiling.
        tokio::time::advance(SAMPLE).await;
        pool.record(200_000_000, 16);
        assert_eq!(pool.target(), 32);
        tokio::time::advance(SAMPLE).await;
        pool.record(900_000_000, 32);
        assert_eq!(pool.target(), 32);
        pool.push_back(Some(Duration::from_secs(2)));
        assert_eq!(pool.target(), 16);
        assert!(pool.paused_until().is_some());
        // After a push-back it never grows again.
        tokio::time::advance(Duration::from_secs(3)).await;
        pool.record(900_000_000_000, 16);
        assert_eq!(pool.target(), 16);
        assert!(pool.paused_until().is_none());
        for _ in 0..20 {
            pool.trouble();
        }
        assert_eq!(pool.target(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn flat_throughput_does_not_grow() {
        let mut pool = Pool::new(8, 32);
        tokio::time::advance(SAMPLE).await;
        pool.record(1_000_000, 8);
        let after_first = pool.target();
        tokio::time::advance(SAMPLE).await;
        pool.record(1_000_000, after_first);
        tokio::time::advance(SAMPLE).await;
        pool.record(1_000_000, after_first);
        assert_eq!(pool.target(), after_first);
        assert!(pool.target() <= 32);
    }

    #[test]
    fn retry_after_seconds() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(reqwest::header::RETRY_AFTER, reqwest::header::HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            reqwest::header::RETRY_AFTER,
            reqwest::header::HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }
}
