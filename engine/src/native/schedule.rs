//! The sliding window: every fragment of every track of one download in one
//! queue, as many requests in flight as the [`Pool`] allows (a freed slot
//! takes the next fragment at once; nothing waits for the slowest of a
//! batch), each holding one of the global connection permits.
//!
//! Finished fragments are appended to their track in order (decrypted on
//! the way) and their files removed, so disk use stays near the window.
//! Failures are sorted here: retry with back-off and resume, slow down on
//! 429/503, re-extract once on 403/410, fail with a sentence otherwise.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use reqwest::header::COOKIE;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::cookies::CookieJar;
use super::decrypt::Aes128CbcDecryptor;
use super::fetch::{self, AttemptError, Counter, Placement, RequestParts};
use super::pool::Pool;
use super::source::{self, Selection};
use super::tracks::{self, refused, Track};
use super::{NativeError, NativeSettings, Reextract};
use crate::error::{EngineError, FailureKind};
use crate::progress::{Phase, Progress};
use netguard::{refusal_of, GuardedClient};

/// How often progress is published and throughput sampled.
const TICK: Duration = Duration::from_millis(250);
/// Share of the percentage for fetching; merging fills the rest.
const FETCH_SHARE: f64 = 95.0;
/// Back-off before the n-th retry of a fragment (and of the relay's
/// upstream ranges): 250 ms doubling, at most 8 s.
pub(super) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64.saturating_mul(1 << attempt.min(5))).min(Duration::from_secs(8))
}

pub(crate) struct Run<'a> {
    pub client: &'a GuardedClient,
    pub settings: &'a NativeSettings,
    pub connections: &'a Arc<Semaphore>,
    pub cookies: &'a CookieJar,
    pub reextract: Option<Reextract>,
    pub selection: &'a Selection,
    pub dir: &'a Path,
}

/// The fetched tracks (path and audio codec, in selection order) and the
/// progress at the end of fetching.
pub struct Fetched {
    pub tracks: Vec<(PathBuf, Option<String>)>,
    pub progress: Progress,
}

#[derive(Debug, Default, Clone)]
struct Slot {
    attempts: u32,
    /// Bytes of this fragment already on disk (resume point).
    have: u64,
    done: bool,
    in_flight: bool,
}

struct TrackState {
    slots: Vec<Slot>,
    /// Next fragment to append (own-file tracks).
    next_append: usize,
    out: Option<BufWriter<tokio::fs::File>>,
    keys: HashMap<Url, [u8; 16]>,
    done_media_bytes: u64,
    done_media_count: u64,
    complete: bool,
}

/// Track, fragment, bytes on disk, the links' generation the attempt used,
/// and how it ended.
type Outcome = (usize, usize, u64, u32, Result<u64, AttemptError>);

impl Run<'_> {
    pub async fn fetch_all(
        &self,
        mut tracks: Vec<Track>,
        cancel: &CancellationToken,
        on_progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Fetched, NativeError> {
        let mut states = Vec::with_capacity(tracks.len());
        for track in &tracks {
            states.push(prepare(track).await.map_err(EngineError::Io)?);
        }
        let mut ready: VecDeque<(usize, usize)> = interleave(&tracks);
        let mut delayed: Vec<(Instant, usize, usize)> = Vec::new();
        let mut pool = Pool::new(self.settings.connections_per_download, self.settings.max_connections_per_download);
        let counter = Arc::new(Counter::default());
        let mut in_flight: FuturesUnordered<futures::future::BoxFuture<'static, Outcome>> = FuturesUnordered::new();
        let mut reextracted = false;
        // Bumped when links are renewed: a 403 for an attempt made with the
        // old links is no reason to give up.
        let mut generation = 0u32;
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut meter = Meter::new(tracks.len());
        let started = Instant::now();

        loop {
            let now = Instant::now();
            delayed.retain(|(at, t, i)| {
                if *at <= now {
                    ready.push_front((*t, *i));
                    false
                } else {
                    true
                }
            });
            if pool.paused_until().is_none() {
                while in_flight.len() < pool.target() {
                    let Some((t, i)) = ready.pop_front() else { break };
                    let slot = &mut states[t].slots[i];
                    slot.in_flight = true;
                    in_flight.push(self.start(t, &tracks[t], i, slot.have, generation, &counter));
                }
            }
            if states.iter().all(|s| s.complete) {
                break;
            }
            let wake = delayed.iter().map(|d| d.0).chain(pool.paused_until()).min();
            tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(EngineError::Cancelled.into()),
                Some((t, i, have, used, result)) = in_flight.next(), if !in_flight.is_empty() => {
                    let slot = &mut states[t].slots[i];
                    slot.in_flight = false;
                    slot.have = have;
                    match result {
                        Ok(size) => {
                            slot.done = true;
                            let state = &mut states[t];
                            if !tracks[t].fragments[i].is_init {
                                state.done_media_bytes += size;
                                state.done_media_count += 1;
                            }
                            self.advance(&tracks[t], state).await?;
                        }
                        Err(AttemptError::Expired(_)) if used < generation => ready.push_front((t, i)),
                        Err(err) => {
                            let before = reextracted;
                            self.failed(&mut tracks, &mut states, t, i, err, &mut pool, &mut reextracted, &mut ready, &mut delayed).await?;
                            if reextracted && !before {
                                generation += 1;
                            }
                        }
                    }
                    self.check_size(&counter)?;
                }
                () = sleep_until(wake), if wake.is_some() => {}
                _ = ticker.tick() => {
                    let total = counter.get();
                    pool.record(meter.sample(total), in_flight.len());
                    self.check_size(&counter)?;
                    on_progress(meter.progress(&tracks, &states, total));
                }
            }
        }
        let total = counter.get();
        let mut progress = meter.progress(&tracks, &states, total);
        progress.percent = progress.percent.max(FETCH_SHARE);
        on_progress(progress.clone());
        tracing::debug!(
            bytes = total,
            secs = started.elapsed().as_secs_f64(),
            connections = pool.target(),
            "native fetch done"
        );
        Ok(Fetched { tracks: tracks.iter().map(|t| (t.path.clone(), t.acodec.clone())).collect(), progress })
    }

    fn check_size(&self, counter: &Counter) -> Result<(), EngineError> {
        match self.settings.max_filesize {
            Some(limit) if counter.get() > limit => Err(EngineError::TooLarge { limit }),
            _ => Ok(()),
        }
    }

    /// The request future for fragment `i` of `track`; it owns what it
    /// needs, so the scheduler may change the tracks while it runs.
    fn start(
        &self,
        t: usize,
        track: &Track,
        i: usize,
        have: u64,
        generation: u32,
        counter: &Arc<Counter>,
    ) -> futures::future::BoxFuture<'static, Outcome> {
        let fragment = track.fragments[i].clone();
        let client = self.client.clone();
        let headers = track.headers.clone();
        let cookie = track.cookie_for(&fragment.url);
        let (path, placement) = if track.direct {
            let offset = fragment.range.map(|r| r.start).unwrap_or(0);
            (track.path.clone(), Placement::At(offset))
        } else {
            (track.fragment_path(i), Placement::OwnFile)
        };
        let range_in_query = track.range_in_query;
        let stall_timeout = self.settings.stall_timeout;
        let response_timeout = self.settings.response_timeout;
        let connections = Arc::clone(self.connections);
        let counter = Arc::clone(counter);
        Box::pin(async move {
            let _permit = connections.acquire_owned().await;
            let parts = RequestParts {
                headers: &headers,
                cookie: cookie.as_deref(),
                range_in_query,
                stall_timeout,
                response_timeout,
            };
            let mut have = have;
            let mut count = |n: u64| {
                counter.add(n);
            };
            let result = fetch::attempt(&client, &fragment, &parts, &path, placement, &mut have, &mut count).await;
            (t, i, have, generation, result)
        })
    }

    /// Appends what is ready of `track` in order; marks it complete.
    async fn advance(&self, track: &Track, state: &mut TrackState) -> Result<(), EngineError> {
        if track.direct {
            state.complete = state.slots.iter().all(|s| s.done);
            return Ok(());
        }
        while state.next_append < track.fragments.len() && state.slots[state.next_append].done {
            let i = state.next_append;
            let fragment = &track.fragments[i];
            let key = match &fragment.key {
                Some(k) => Some((self.key(track, &mut state.keys, &k.uri).await?, k.iv)),
                None => None,
            };
            let path = track.fragment_path(i);
            let out =
                state.out.as_mut().ok_or_else(|| EngineError::Io(std::io::Error::other("track file not open")))?;
            append(out, &path, key).await?;
            let _ = tokio::fs::remove_file(&path).await;
            state.next_append += 1;
        }
        if state.next_append == track.fragments.len() && !state.complete {
            if let Some(mut out) = state.out.take() {
                out.flush().await?;
                out.into_inner().sync_all().await?;
            }
            state.complete = true;
        }
        Ok(())
    }

    /// The AES-128 key at `uri` (fetched once per track).
    async fn key(&self, track: &Track, keys: &mut HashMap<Url, [u8; 16]>, uri: &Url) -> Result<[u8; 16], EngineError> {
        if let Some(k) = keys.get(uri) {
            return Ok(*k);
        }
        let mut last = None;
        for attempt in 0..3u32 {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            let mut request = self.client.get(uri.clone()).map_err(|r| refused(&r))?;
            request = request.headers(track.headers.clone());
            if let Some(c) = track.cookie_for(uri) {
                request = request.header(COOKIE, c);
            }
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    if let Some(r) = refusal_of(&e) {
                        return Err(refused(&r));
                    }
                    last = Some(e.to_string());
                    continue;
                }
            };
            let status = response.status().as_u16();
            if status != 200 {
                last = Some(format!("HTTP {status}"));
                if status < 500 && status != 429 {
                    break;
                }
                continue;
            }
            match response.bytes().await {
                Ok(body) if body.len() == 16 => {
                    let mut key = [0u8; 16];
                    key.copy_from_slice(&body);
                    keys.insert(uri.clone(), key);
                    return Ok(key);
                }
                Ok(body) => {
                    last = Some(format!("{} bytes instead of 16", body.len()));
                    break;
                }
                Err(e) => last = Some(e.to_string()),
            }
        }
        tracing::debug!(detail = ?last, "AES key not fetched");
        Err(EngineError::Fetch {
            kind: FailureKind::Other,
            message: "The key that unlocks this video's parts could not be fetched.".to_owned(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn failed(
        &self,
        tracks: &mut [Track],
        states: &mut [TrackState],
        t: usize,
        i: usize,
        err: AttemptError,
        pool: &mut Pool,
        reextracted: &mut bool,
        ready: &mut VecDeque<(usize, usize)>,
        delayed: &mut Vec<(Instant, usize, usize)>,
    ) -> Result<(), EngineError> {
        let count = tracks[t].fragments.len();
        let part = || format!("part {} of {count}", i + 1);
        tracing::debug!(format = %tracks[t].format_id, fragment = i, error = %err, "fragment attempt failed");
        match err {
            AttemptError::Refused(r) => return Err(refused(&r)),
            AttemptError::Io(e) => return Err(EngineError::Io(e)),
            AttemptError::Status(code) => {
                return Err(EngineError::Fetch {
                    kind: FailureKind::Http(code),
                    message: format!("The video site answered HTTP {code} for {}.", part()),
                })
            }
            AttemptError::Expired(code) => {
                if *reextracted || self.reextract.is_none() {
                    return Err(EngineError::Fetch {
                        kind: FailureKind::Http(code),
                        message: format!(
                            "The video site refused {} (HTTP {code}){}.",
                            part(),
                            if *reextracted { " even after the links were renewed" } else { "" }
                        ),
                    });
                }
                *reextracted = true;
                self.renew(tracks).await?;
                ready.push_front((t, i));
                return Ok(());
            }
            AttemptError::PushBack { retry_after, .. } => pool.push_back(retry_after),
            AttemptError::Network(_) | AttemptError::Stalled => pool.trouble(),
            AttemptError::ServerError(_) => {}
            AttemptError::Mismatch(_) => states[t].slots[i].have = 0,
        }
        let slot = &mut states[t].slots[i];
        slot.attempts += 1;
        if slot.attempts >= self.settings.max_attempts {
            return Err(EngineError::Fetch {
                kind: FailureKind::Unreachable,
                message: format!(
                    "{} of the video could not be downloaded after {} tries ({err}).",
                    capitalize(&part()),
                    slot.attempts
                ),
            });
        }
        delayed.push((Instant::now() + backoff(slot.attempts), t, i));
        Ok(())
    }

    /// Signed links expired: a fresh probe, the same formats, new URLs.
    async fn renew(&self, tracks: &mut [Track]) -> Result<(), EngineError> {
        let Some(reextract) = &self.reextract else {
            return Ok(());
        };
        tracing::info!("the site refused a link; extracting again");
        let probe = reextract().await?;
        let ctx = tracks::Context { client: self.client, settings: self.settings, cookies: self.cookies };
        for track in tracks.iter_mut() {
            let changed = || EngineError::Fetch {
                kind: FailureKind::Other,
                message: "The video changed on the site while it was downloading.".to_owned(),
            };
            let format = source::find_format(&probe.raw, &track.format_id).map_err(|_| changed())?;
            let protocol = format.route().map_err(|_| changed())?;
            let fresh = match tracks::build(&ctx, &format, protocol, self.dir, self.selection.duration).await {
                Ok(t) => t,
                Err(NativeError::Failed(e)) => return Err(e),
                Err(NativeError::Unsupported(_)) => return Err(changed()),
            };
            if fresh.fragments.len() != track.fragments.len() || fresh.direct != track.direct {
                return Err(changed());
            }
            track.fragments = fresh.fragments;
            track.headers = fresh.headers;
            track.cookies = fresh.cookies;
        }
        Ok(())
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Every fragment once, tracks interleaved by their share done, so video
/// and audio finish together.
fn interleave(tracks: &[Track]) -> VecDeque<(usize, usize)> {
    let mut all: Vec<(f64, usize, usize)> = Vec::new();
    for (t, track) in tracks.iter().enumerate() {
        let n = track.fragments.len().max(1) as f64;
        for i in 0..track.fragments.len() {
            all.push((i as f64 / n, t, i));
        }
    }
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.into_iter().map(|(_, t, i)| (t, i)).collect()
}

async fn prepare(track: &Track) -> std::io::Result<TrackState> {
    let file = tokio::fs::OpenOptions::new().create(true).write(true).truncate(true).open(&track.path).await?;
    let out = if track.direct {
        let size = track.fragments.iter().filter_map(|f| f.range.and_then(|r| r.end).map(|e| e + 1)).max().unwrap_or(0);
        file.set_len(size).await?;
        None
    } else {
        Some(BufWriter::with_capacity(256 * 1024, file))
    };
    Ok(TrackState {
        slots: vec![Slot::default(); track.fragments.len()],
        next_append: 0,
        out,
        keys: HashMap::new(),
        done_media_bytes: 0,
        done_media_count: 0,
        complete: track.fragments.is_empty(),
    })
}

/// Appends a fragment file to the track, decrypting it when keyed.
async fn append(
    out: &mut BufWriter<tokio::fs::File>,
    path: &Path,
    key: Option<([u8; 16], [u8; 16])>,
) -> Result<(), EngineError> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut decryptor = key.map(|(k, iv)| Aes128CbcDecryptor::new(&k, &iv));
    let mut plain = Vec::with_capacity(buf.len() + 16);
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        match decryptor.as_mut() {
            Some(d) => {
                plain.clear();
                d.update(&buf[..n], &mut plain);
                out.write_all(&plain).await?;
            }
            None => out.write_all(&buf[..n]).await?,
        }
    }
    if let Some(d) = decryptor {
        plain.clear();
        d.finish(&mut plain).map_err(|e| {
            tracing::debug!(error = %e, "decryption failed");
            EngineError::Fetch {
                kind: FailureKind::Other,
                message: "A part of the video could not be decrypted.".to_owned(),
            }
        })?;
        out.write_all(&plain).await?;
    }
    Ok(())
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Speed, ETA and the overall percentage from byte counts.
struct Meter {
    stages: u32,
    last_total: u64,
    last_at: Instant,
    speed: Option<f64>,
    percent: f64,
}

impl Meter {
    fn new(stages: usize) -> Meter {
        Meter {
            stages: u32::try_from(stages).unwrap_or(u32::MAX),
            last_total: 0,
            last_at: Instant::now(),
            speed: None,
            percent: 0.0,
        }
    }

    /// Bytes since the last sample; updates the smoothed speed.
    fn sample(&mut self, total: u64) -> u64 {
        let now = Instant::now();
        let delta = total.saturating_sub(self.last_total);
        let secs = now.duration_since(self.last_at).as_secs_f64();
        if secs > 0.0 {
            let instant = delta as f64 / secs;
            self.speed = Some(match self.speed {
                Some(s) => s * 0.6 + instant * 0.4,
                None => instant,
            });
        }
        self.last_total = total;
        self.last_at = now;
        delta
    }

    fn progress(&mut self, tracks: &[Track], states: &[TrackState], downloaded: u64) -> Progress {
        let estimate: u64 = tracks.iter().zip(states).map(|(track, state)| track_estimate(track, state)).sum();
        let total = estimate.max(downloaded);
        let fraction = if total > 0 { downloaded as f64 / total as f64 } else { 0.0 };
        self.percent = self.percent.max((fraction * FETCH_SHARE).min(FETCH_SHARE - 0.5));
        let complete = states.iter().filter(|s| s.complete).count();
        let stage = u32::try_from(complete + 1).unwrap_or(u32::MAX).min(self.stages.max(1));
        let speed = self.speed.filter(|s| *s > 0.0);
        let eta = speed.map(|s| (total.saturating_sub(downloaded) as f64 / s).ceil() as u64);
        Progress {
            phase: Phase::Downloading,
            percent: self.percent,
            downloaded_bytes: downloaded,
            total_bytes: (total > 0).then_some(total),
            speed,
            eta,
            stage,
            stages: self.stages,
            post_step: None,
        }
    }
}

/// A track's expected size: exact when every fragment's size is known,
/// else extrapolated from the fragments done (after two), else the
/// format's estimate.
fn track_estimate(track: &Track, state: &TrackState) -> u64 {
    let known: Option<u64> = track.fragments.iter().map(|f| f.size).sum();
    if let Some(k) = known {
        return k;
    }
    let media = track.fragments.iter().filter(|f| !f.is_init).count() as u64;
    if state.done_media_count >= 2 && media > 0 {
        return state.done_media_bytes / state.done_media_count * media;
    }
    track.estimate.unwrap_or(state.done_media_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_eight_seconds() {
        assert_eq!(backoff(0), Duration::from_millis(250));
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(3), Duration::from_secs(2));
        assert_eq!(backoff(30), Duration::from_secs(8));
    }
}
