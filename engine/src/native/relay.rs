//! A loopback relay: a tiny HTTP/1.1 server on 127.0.0.1 that serves ONE
//! remote file to ffmpeg, so ffmpeg can seek in it (`-ss`/`-to` on a
//! progressive MP4 reads the index, then only the clip's byte ranges)
//! without ever opening a connection of its own. Every byte comes through
//! the [`GuardedClient`], with the track's headers and cookie.
//!
//! ## What it answers
//!
//! Only `GET` and `HEAD` of `/<token>/media`, where the token is 128 random
//! bits: any other path is a 404 that touches nothing upstream, so another
//! local user cannot use the port as an open proxy to the origin. A request
//! without `Range` gets a 200 with the whole file; `Range: bytes=a-b`,
//! `bytes=a-` and `bytes=-n` get a 206 with `Content-Range`. Each answer
//! has a `Content-Length` and `Connection: close`: one request per
//! connection, which is what ffmpeg's http protocol does by default
//! (`multiple_requests=0`): it reconnects on every seek.
//!
//! ## How little it fetches
//!
//! - The file's size is known before an answer starts (the caller's `size`,
//!   else one `bytes=0-0` request, remembered), so the answer's headers are
//!   computed locally and a HEAD or an unsatisfiable range costs nothing
//!   upstream.
//! - A body starts as upstream ranges streamed through as they arrive:
//!   `FIRST_CHUNK`, then twice that. ffmpeg's first request is always
//!   `bytes=0-`, of which it reads the index and then reconnects
//!   elsewhere; asking the origin for the whole rest of the file would let
//!   it push megabytes into socket buffers that nobody reads.
//! - A reader that took both (`READ_AHEAD_AFTER`) reads on: the next
//!   `MAX_CHUNK` ranges are fetched `AHEAD` at once, each whole into
//!   memory, and handed over in order. An origin's wait per request and
//!   its throttle per connection are then paid once for several ranges (a
//!   20 s clip from a site throttled to 500 KB/s per connection: 9.7 s
//!   against 19.4 s one range at a time). What is under way ahead is never
//!   more than what the reader has already had (at least one range), so a
//!   reader that seeks away costs the origin at most about what it used;
//!   and no range ahead starts past the caller's horizon
//!   ([`Relay::read_ahead_until`], a clip's estimated end).
//! - What was fetched stays in a small cache (`CACHE_BYTES`) for the next
//!   answer: the keyframe check and ffmpeg read the same index and the
//!   same first seconds. Ranges fetched ahead finish into it even when
//!   their reader went away.
//! - Bytes are pulled from the origin only as fast as ffmpeg takes them (one
//!   body chunk at a time, written before the next is read), into a socket
//!   with a small fixed send buffer (`SEND_BUFFER`; on loopback Linux
//!   would grow it to megabytes). While a request is answered the
//!   connection's read side is watched: when ffmpeg closes it, the
//!   answer's future is dropped and with it the streamed upstream request,
//!   at once rather than at the next failed write.
//!
//! ## When the origin misbehaves
//!
//! A 5xx or 429, a reset, a body cut short or a stall is asked again (up to
//! `RETRIES` times in a row and `MAX_RETRIES_PER_ANSWER` in all, with a
//! short back-off), from the first byte not yet had: ffmpeg sees one
//! unbroken answer. An answer shorter than asked for is paid from the same
//! budget of 32, so an origin sending a few bytes per answer cannot make the
//! relay ask again for every few bytes of the file. A refusal by the egress
//! guard, another status, or a hiccup that persists answers 502 (or cuts a
//! body already under way) and the first such failure is kept:
//! [`Relay::failure`] gives the real reason instead of "ffmpeg failed". An origin that ignores `Range` (a 200 to a ranged
//! request) is served from offset 0 only; a read at any other offset fails
//! clearly (`Upstream::NoRanges`) rather than download and skip up to
//! the offset, which on a seek-heavy read (index at the end) would fetch
//! the file several times over: the caller should fetch such a file whole.
//!
//! ## Why hand-written HTTP and not hyper
//!
//! hyper and hyper-util are in the lock file (through reqwest and axum) but
//! are not dependencies of the engine, and this module must not grow the
//! engine's manifest. The subset needed is small and bounded: one request
//! head of at most `MAX_HEAD` bytes read under a timeout, a method, a
//! path compared with the token, one optional `Range` header; no request
//! bodies, no keep-alive, no chunked encoding. A strict little parser over
//! that is easier to check than a server framework's configuration, and
//! lets the relay watch the client's socket for a close, which hyper's
//! service API does not expose.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT_ENCODING, CONTENT_RANGE, COOKIE, RANGE};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{OnceCell, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use url::Url;

use super::tracks::refused;
use crate::error::{EngineError, FailureKind};
use netguard::{refusal_of, GuardedClient, Refusal};

/// Largest request head read; ffmpeg's is about 200 bytes.
const MAX_HEAD: usize = 8 * 1024;
/// A connection must send its whole request head within this.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; ffmpeg uses one at a time (two briefly
/// while it reconnects). More are answered 503 and closed.
const MAX_CONNECTIONS: usize = 16;
/// The first upstream range of an answer: enough for ffmpeg's probe and a
/// faststart index, little to waste when it seeks away.
const FIRST_CHUNK: u64 = 256 * 1024;
/// The send buffer of a connection to ffmpeg (the kernel doubles it).
const SEND_BUFFER: u32 = 64 * 1024;
/// The size of a range fetched ahead. What the origin sent of the ranges
/// under way when ffmpeg stops is wasted: a clip's reader stops on every
/// seek, so they stay small (1 MiB is still only one request per ~3 s of
/// 3 Mbit/s video), and several go at once instead.
const MAX_CHUNK: u64 = 1024 * 1024;
/// Upstream ranges fetched at once, ahead of a reader that has shown it
/// reads on (it took the streamed ones): each is a request of its own, so
/// an origin's per-request wait and per-connection throttle are paid once
/// for several. At most this many times `MAX_CHUNK` is in memory.
const AHEAD: usize = 4;
/// A reader is taken to read on once it has had this much of one answer
/// (the first two upstream ranges): only then is `AHEAD` used. ffprobe's
/// and ffmpeg's look at the index stops before.
const READ_AHEAD_AFTER: u64 = 3 * FIRST_CHUNK;
/// Ranges fetched ahead at once by one relay, whatever the answers.
const MAX_AHEAD_IN_ALL: usize = 2 * AHEAD;
/// Fetched parts kept for the next answer that needs them: ffmpeg and the
/// keyframe check before it read the same index and the same first
/// seconds of the clip.
const CACHE_BYTES: usize = 4 * 1024 * 1024;
/// An upstream response's headers must arrive within this.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
/// Upstream hiccups (a 5xx or 429, a reset, a body cut short, a stall) in a
/// row that are asked again, resuming where the bytes stopped. A byte of
/// progress starts the count over. ffmpeg waits on its socket meanwhile:
/// without this, one reset of the origin's connection failed the clip.
const RETRIES: u32 = 4;
/// Retries of one answer in all, progress or not: an origin that sends a
/// few bytes and then cuts every body would otherwise be asked again for
/// every few bytes of the file, holding the download's slot for hours.
const MAX_RETRIES_PER_ANSWER: u32 = 32;
/// No body byte from the origin for this long fails the answer (ffmpeg has
/// no read timeout of its own by default, it would wait forever).
const STALL_TIMEOUT: Duration = Duration::from_secs(30);
/// What the file is called in failures.
const WHAT: &str = "the video file";

/// A running relay. Dropping it (or [`Relay::shutdown`]) stops the server
/// and every connection, and with them every upstream request.
pub struct Relay {
    shared: Arc<Shared>,
    addr: SocketAddr,
    /// Holds the token: not for logs.
    url: Url,
    tracker: TaskTracker,
}

impl std::fmt::Debug for Relay {
    // Neither the token nor the origin URL (it may be signed) is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("addr", &self.addr)
            .field("bytes_relayed", &self.bytes_relayed())
            .field("upstream_requests", &self.upstream_requests())
            .finish_non_exhaustive()
    }
}

/// What the server task and the connections share.
struct Shared {
    client: GuardedClient,
    url: Url,
    /// The track's headers with its cookie, and `Accept-Encoding: identity`
    /// (ranges are of the stored bytes, never of a compressed form).
    headers: HeaderMap,
    /// `/<token>/media`.
    path: String,
    /// The file's size: the caller's, or learnt once from the origin.
    size: OnceCell<u64>,
    relayed: AtomicU64,
    upstream_requests: AtomicU64,
    retries: AtomicU64,
    failures: AtomicU64,
    /// The first upstream failure, kept as kind and message because
    /// [`EngineError`] is not `Clone`.
    failure: Mutex<Option<(FailureKind, String)>>,
    /// Read-ahead starts no range at or past this byte (see
    /// [`Relay::read_ahead_until`]).
    horizon: AtomicU64,
    cache: Mutex<Cache>,
    cancel: CancellationToken,
    slots: Arc<Semaphore>,
    /// Ranges fetched ahead at once, all answers together: those of
    /// readers that went away finish into the cache, and a reader that
    /// keeps seeking must not pile them up (memory is `MAX_CHUNK` each).
    ahead_slots: Semaphore,
}

/// Parts of the file fetched before, oldest first, at most `CACHE_BYTES`.
#[derive(Default)]
struct Cache {
    parts: std::collections::VecDeque<(u64, Arc<[u8]>)>,
    bytes: usize,
}

impl Cache {
    /// A kept part holding byte `pos`, and where `pos` is in it.
    fn find(&self, pos: u64) -> Option<(Arc<[u8]>, usize)> {
        self.parts.iter().rev().find_map(|(start, bytes)| {
            let offset = usize::try_from(pos.checked_sub(*start)?).ok()?;
            (offset < bytes.len()).then(|| (Arc::clone(bytes), offset))
        })
    }

    fn keep(&mut self, start: u64, bytes: Arc<[u8]>) {
        if bytes.is_empty()
            || bytes.len() > CACHE_BYTES
            || self.find(start).is_some_and(|(b, o)| b.len() - o >= bytes.len())
        {
            return;
        }
        self.bytes += bytes.len();
        self.parts.push_back((start, bytes));
        while self.bytes > CACHE_BYTES {
            match self.parts.pop_front() {
                Some((_, old)) => self.bytes -= old.len(),
                None => break,
            }
        }
    }
}

impl Relay {
    /// Binds 127.0.0.1 on a random port and serves `url` there. `headers`
    /// and `cookie` go on every upstream request (a track's `headers` and
    /// `cookie_for(url)`). `size` is the file's exact size when already
    /// known (it saves one request); not an estimate: answers' headers are
    /// computed from it, and an origin that reports another size fails the
    /// relay. Must be called inside a Tokio runtime. Nothing is fetched
    /// until ffmpeg asks; a destination the guard refuses shows up then, in
    /// [`Relay::failure`].
    pub async fn start(
        client: GuardedClient,
        url: Url,
        mut headers: HeaderMap,
        cookie: Option<String>,
        size: Option<u64>,
    ) -> io::Result<Relay> {
        // The relay sets the range itself, per upstream request.
        headers.remove(RANGE);
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        if let Some(cookie) = cookie {
            let value = HeaderValue::from_str(&cookie)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "the cookie is not a valid header value"))?;
            headers.insert(COOKIE, value);
        }
        let token = random_token()?;
        let listener = listen()?;
        let addr = listener.local_addr()?;
        let relay_url = Url::parse(&format!("http://{addr}/{token}/media")).map_err(io::Error::other)?;
        let shared = Arc::new(Shared {
            client,
            url,
            headers,
            path: format!("/{token}/media"),
            size: OnceCell::new_with(size),
            relayed: AtomicU64::new(0),
            upstream_requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            failure: Mutex::new(None),
            horizon: AtomicU64::new(u64::MAX),
            cache: Mutex::default(),
            cancel: CancellationToken::new(),
            slots: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
            ahead_slots: Semaphore::new(MAX_AHEAD_IN_ALL),
        });
        let tracker = TaskTracker::new();
        tracker.spawn(accept_loop(listener, Arc::clone(&shared), tracker.clone()));
        tracing::debug!(%addr, known_size = ?size, "relay started");
        Ok(Relay { shared, addr, url: relay_url, tracker })
    }

    /// Where the reader most likely stops (a clip's end, estimated from the
    /// file's size and length): ranges fetched ahead of it start before
    /// this byte, so what the origin sends past the clip is bounded by one
    /// `MAX_CHUNK`, not by `AHEAD` of them. Reads past it are still
    /// answered, one range at a time.
    pub fn read_ahead_until(&self, byte: u64) {
        self.shared.horizon.store(byte, Ordering::Relaxed);
    }

    /// `http://127.0.0.1:PORT/<token>/media`, for ffmpeg's `-i`.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The address the relay listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Body bytes written to clients so far.
    pub fn bytes_relayed(&self) -> u64 {
        self.shared.relayed.load(Ordering::Relaxed)
    }

    /// Requests sent to the origin so far.
    pub fn upstream_requests(&self) -> u64 {
        self.shared.upstream_requests.load(Ordering::Relaxed)
    }

    /// Upstream requests that were a second try after a hiccup.
    pub fn retries(&self) -> u64 {
        self.shared.retries.load(Ordering::Relaxed)
    }

    /// Answers that failed upstream (a 502, or a body cut short), counted
    /// so a caller can tell whether a given read of ffmpeg's met one:
    /// ffmpeg takes a body that ends early for the end of the file.
    pub fn failures(&self) -> u64 {
        self.shared.failures.load(Ordering::SeqCst)
    }

    /// The first thing that went wrong upstream (refused by the guard, an
    /// HTTP status, unreachable, stalled, no range support), in the same
    /// words the native engine uses for its own failures.
    pub fn failure(&self) -> Option<EngineError> {
        let kept = self.shared.failure.lock().unwrap_or_else(PoisonError::into_inner).clone();
        kept.map(|(kind, message)| EngineError::Fetch { kind, message })
    }

    /// Stops the server and every connection, and waits until they are
    /// gone (the port is closed when this returns).
    pub async fn shutdown(self) {
        self.stop();
        self.tracker.wait().await;
    }

    fn stop(&self) {
        if !self.shared.cancel.is_cancelled() {
            tracing::debug!(
                relayed = self.bytes_relayed(),
                upstream_requests = self.upstream_requests(),
                "relay stopped"
            );
        }
        self.shared.cancel.cancel();
        self.tracker.close();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // Every task waits on the token, so each ends (dropping its socket
        // and upstream response) the next time the runtime polls it.
        self.stop();
    }
}

/// 128 bits from the kernel's CSPRNG, as hex. (The engine has no `rand`
/// crate, and runs on Linux only anyway: see `process.rs`.)
fn random_token() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A listener on 127.0.0.1 whose connections have a small, fixed send
/// buffer (Linux copies it to every accepted socket). On loopback the
/// kernel would otherwise grow it to megabytes, and everything written
/// into it counts as read from the origin even when ffmpeg closes the
/// connection without reading it (it reconnects on every seek).
fn listen() -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_send_buffer_size(SEND_BUFFER)?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    socket.listen(64)
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, tracker: TaskTracker) {
    loop {
        let accepted = tokio::select! {
            () = shared.cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _peer)) => {
                let slot = Arc::clone(&shared.slots).try_acquire_owned();
                let shared = Arc::clone(&shared);
                tracker.spawn(async move {
                    match slot {
                        Ok(_slot) => serve(&shared, stream).await,
                        Err(_) => busy(stream).await,
                    }
                });
            }
            Err(e) => {
                // Out of file descriptors and the like: do not spin.
                tracing::debug!(error = %e, "relay accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    // The listener is dropped here: the port closes.
}

async fn busy(mut stream: TcpStream) {
    let head = status_head(503, "Service Unavailable", "");
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(head.as_bytes())).await;
}

/// One connection: one request, one answer.
async fn serve(shared: &Arc<Shared>, mut stream: TcpStream) {
    // Answers are written in few large writes; small ones (error heads)
    // should not wait for Nagle.
    let _ = stream.set_nodelay(true);
    let head = tokio::select! {
        () = shared.cancel.cancelled() => return,
        head = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)) => head,
    };
    let parsed = match head {
        Ok(Ok(bytes)) => parse_request(&bytes, &shared.path),
        Ok(Err(HeadError::TooLarge)) => Err(Reject::HeadTooLarge),
        Ok(Err(HeadError::Io(e))) => {
            tracing::debug!(error = %e, "relay: reading the request failed");
            return;
        }
        Err(_) => {
            tracing::debug!("relay: no request head in time");
            return;
        }
    };
    let (reader, mut writer) = stream.split();
    match parsed {
        Err(reject) => {
            tracing::debug!(?reject, "relay: request refused");
            let _ = writer.write_all(reject.head().as_bytes()).await;
        }
        Ok(request) => {
            tokio::select! {
                () = shared.cancel.cancelled() => {}
                () = client_gone(reader) => tracing::debug!("relay: client closed; upstream request dropped"),
                () = respond(shared, &request, &mut writer) => {}
            }
        }
    }
    let _ = writer.shutdown().await;
}

#[derive(Debug)]
enum HeadError {
    TooLarge,
    Io(io::Error),
}

/// Reads up to the blank line that ends the head (bytes after it, which a
/// client sending one request does not send, are ignored).
async fn read_head<R: AsyncRead + Unpin>(stream: &mut R) -> Result<Vec<u8>, HeadError> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).await.map_err(HeadError::Io)?;
        if n == 0 {
            return Err(HeadError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        // Search only where a terminator can newly appear.
        let from = head.len().saturating_sub(3);
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = find_head_end(&head[from..]) {
            head.truncate(from + end);
            return Ok(head);
        }
        if head.len() > MAX_HEAD {
            return Err(HeadError::TooLarge);
        }
    }
}

/// The end of the head (just before the blank line), `\r\n\r\n` or a bare
/// `\n\n`.
fn find_head_end(bytes: &[u8]) -> Option<usize> {
    let crlf = bytes.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = bytes.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Resolves when the client closed its side (or the socket failed): with
/// one request per connection a well-behaved client sends nothing more, so
/// end of stream means it is gone. Stray bytes are discarded.
async fn client_gone<R: AsyncRead + Unpin>(mut reader: R) {
    let mut sink = [0u8; 512];
    loop {
        match reader.read(&mut sink).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// A request the relay serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Request {
    head_only: bool,
    range: Option<RangeSpec>,
}

/// One `Range: bytes=` spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeSpec {
    /// `a-b` (inclusive) or `a-`.
    From { start: u64, end: Option<u64> },
    /// `-n`: the last `n` bytes.
    Suffix(u64),
}

/// A request answered without going upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reject {
    BadRequest,
    NotFound,
    MethodNotAllowed,
    /// Several ranges, or a unit other than bytes: not for ffmpeg.
    RangeNotSupported,
    HeadTooLarge,
    VersionNotSupported,
}

impl Reject {
    fn head(self) -> String {
        match self {
            Reject::BadRequest => status_head(400, "Bad Request", ""),
            Reject::NotFound => status_head(404, "Not Found", ""),
            Reject::MethodNotAllowed => status_head(405, "Method Not Allowed", "Allow: GET, HEAD\r\n"),
            Reject::RangeNotSupported => status_head(416, "Range Not Satisfiable", ""),
            Reject::HeadTooLarge => status_head(431, "Request Header Fields Too Large", ""),
            Reject::VersionNotSupported => status_head(505, "HTTP Version Not Supported", ""),
        }
    }
}

/// A bodiless answer.
fn status_head(code: u16, reason: &str, extra: &str) -> String {
    format!("HTTP/1.1 {code} {reason}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n")
}

/// Parses a request head (without the blank line). The method is checked
/// before the path so that a wrong path never reaches anything else.
fn parse_request(head: &[u8], path: &str) -> Result<Request, Reject> {
    let mut lines = head.split(|b| *b == b'\n').map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let request_line = lines.next().ok_or(Reject::BadRequest)?;
    let request_line = std::str::from_utf8(request_line).map_err(|_| Reject::BadRequest)?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Reject::BadRequest);
    };
    if !version.starts_with("HTTP/") {
        return Err(Reject::BadRequest);
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(Reject::VersionNotSupported);
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Err(Reject::MethodNotAllowed),
    };
    if !same_secret(target.as_bytes(), path.as_bytes()) {
        return Err(Reject::NotFound);
    }
    let mut range = None;
    for line in lines {
        // Folded continuation lines are obsolete and a smuggling vector.
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            return Err(Reject::BadRequest);
        }
        let colon = line.iter().position(|b| *b == b':').ok_or(Reject::BadRequest)?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.is_empty() || name.iter().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
            return Err(Reject::BadRequest);
        }
        if name.eq_ignore_ascii_case(b"range") {
            if range.is_some() {
                return Err(Reject::BadRequest);
            }
            let value = std::str::from_utf8(value).map_err(|_| Reject::BadRequest)?;
            range = Some(parse_range(value)?);
        }
    }
    Ok(Request { head_only, range })
}

/// Compares in time independent of where the first difference is, so the
/// token cannot be learnt byte by byte from response times.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn parse_range(value: &str) -> Result<RangeSpec, Reject> {
    let value = value.trim();
    let (unit, spec) = value.split_once('=').ok_or(Reject::BadRequest)?;
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return Err(Reject::RangeNotSupported);
    }
    let (first, last) = spec.split_once('-').ok_or(Reject::BadRequest)?;
    let (first, last) = (first.trim(), last.trim());
    let number = |s: &str| -> Result<u64, Reject> {
        // `u64::from_str` takes a leading `+`; a range does not.
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Reject::BadRequest);
        }
        s.parse().map_err(|_| Reject::BadRequest)
    };
    if first.is_empty() {
        return match number(last)? {
            0 => Err(Reject::RangeNotSupported),
            n => Ok(RangeSpec::Suffix(n)),
        };
    }
    let start = number(first)?;
    let end = if last.is_empty() { None } else { Some(number(last)?) };
    if end.is_some_and(|end| end < start) {
        return Err(Reject::BadRequest);
    }
    Ok(RangeSpec::From { start, end })
}

/// The bytes `[start, start + len)` an answer carries, or `None` when the
/// range is not satisfiable in a file of `total` bytes.
fn resolve(range: Option<RangeSpec>, total: u64) -> Option<(u64, u64)> {
    match range {
        None => Some((0, total)),
        Some(RangeSpec::From { start, end }) => {
            if start >= total {
                return None;
            }
            let last = end.map_or(total - 1, |end| end.min(total - 1));
            Some((start, last - start + 1))
        }
        Some(RangeSpec::Suffix(n)) => {
            if total == 0 {
                return None;
            }
            let start = total.saturating_sub(n);
            Some((start, total - start))
        }
    }
}

/// The head of a successful answer.
fn success_head(ranged: bool, start: u64, len: u64, total: u64) -> String {
    if ranged {
        let last = start + len - 1;
        format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{last}/{total}\r\n\
             Content-Length: {len}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n"
        )
    } else {
        format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n")
    }
}

/// Why the origin did not give what was asked.
#[derive(Debug)]
enum Upstream {
    Refused(Refusal),
    Status(u16),
    Network(String),
    Stalled,
    /// A 200 to a ranged request at an offset other than 0.
    NoRanges,
    /// Neither the caller nor the origin said how large the file is.
    NoSize,
    /// The origin sent another range or size than asked for or known.
    Mismatch(String),
}

impl std::fmt::Display for Upstream {
    /// For logs: the details behind the sentence people get.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Upstream::Refused(refusal) => write!(f, "refused: {refusal}"),
            Upstream::Status(status) => write!(f, "HTTP {status}"),
            Upstream::Network(detail) => write!(f, "network: {detail}"),
            Upstream::Stalled => f.write_str("stalled"),
            Upstream::NoRanges => f.write_str("a 200 to a range request past offset 0"),
            Upstream::NoSize => f.write_str("no size"),
            Upstream::Mismatch(detail) => write!(f, "sent {detail}"),
        }
    }
}

impl Upstream {
    fn from_reqwest(e: reqwest::Error) -> Upstream {
        if let Some(refusal) = refusal_of(&e) {
            return Upstream::Refused(refusal);
        }
        if e.is_timeout() {
            return Upstream::Stalled;
        }
        Upstream::Network(describe(e))
    }

    /// Worth asking again: the origin or the path to it hiccuped. A
    /// refusal, a 4xx or an answer of the wrong shape will not change.
    fn is_transient(&self) -> bool {
        match self {
            Upstream::Status(status) => *status == 408 || *status == 429 || *status >= 500,
            Upstream::Network(_) | Upstream::Stalled => true,
            Upstream::Refused(_) | Upstream::NoRanges | Upstream::NoSize | Upstream::Mismatch(_) => false,
        }
    }

    /// The same words as the rest of the native engine (see `tracks.rs`).
    fn to_failure(&self) -> (FailureKind, String) {
        match self {
            Upstream::Refused(refusal) => match refused(refusal) {
                EngineError::Fetch { kind, message } => (kind, message),
                other => (FailureKind::Other, other.to_string()),
            },
            Upstream::Status(status) => {
                (FailureKind::Http(*status), format!("The video site answered HTTP {status} for {WHAT}."))
            }
            Upstream::Network(_) => {
                (FailureKind::Unreachable, format!("The video site could not be reached for {WHAT}."))
            }
            Upstream::Stalled => (FailureKind::Unreachable, format!("The video site stopped sending {WHAT}.")),
            Upstream::NoRanges => (
                FailureKind::Other,
                format!("The video site does not serve parts of {WHAT}, so a clip cannot be cut without all of it."),
            ),
            Upstream::NoSize => (FailureKind::Other, format!("The video site did not say how large {WHAT} is.")),
            Upstream::Mismatch(_) => {
                (FailureKind::Other, format!("The video site sent another part of {WHAT} than was asked for."))
            }
        }
    }
}

/// The error and its causes, without the URL (it may carry signed tokens).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

impl Shared {
    /// Keeps the first failure; later ones are usually its consequences.
    fn fail(&self, why: &Upstream) {
        self.failures.fetch_add(1, Ordering::SeqCst);
        let mut kept = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.is_none() {
            let (kind, message) = why.to_failure();
            tracing::info!(detail = %why, %message, "relay: upstream failed");
            *kept = Some((kind, message));
        } else {
            tracing::debug!(detail = %why, "relay: upstream failed again");
        }
    }

    /// One upstream GET of `bytes=first-last`, its headers under a timeout.
    async fn get(&self, first: u64, last: u64) -> Result<reqwest::Response, Upstream> {
        let request = self
            .client
            .get(self.url.clone())
            .map_err(Upstream::Refused)?
            .headers(self.headers.clone())
            .header(RANGE, format!("bytes={first}-{last}"));
        self.upstream_requests.fetch_add(1, Ordering::Relaxed);
        match tokio::time::timeout(RESPONSE_TIMEOUT, request.send()).await {
            Err(_) => Err(Upstream::Stalled),
            Ok(sent) => sent.map_err(Upstream::from_reqwest),
        }
    }

    /// The file's size, asked for once with `bytes=0-0` unless known.
    async fn total(&self) -> Result<u64, Upstream> {
        self.size
            .get_or_try_init(|| async {
                let mut failures = 0;
                loop {
                    match self.ask_total().await {
                        Err(why) if why.is_transient() && failures < RETRIES => {
                            failures += 1;
                            self.before_retry(&why, failures, 0).await;
                        }
                        done => return done,
                    }
                }
            })
            .await
            .copied()
    }

    async fn ask_total(&self) -> Result<u64, Upstream> {
        let response = self.get(0, 0).await?;
        let status = response.status().as_u16();
        let total = match status {
            206 | 416 => content_range(response.headers()).and_then(|r| r.total),
            // No range support; the length of the whole body is the size.
            // Dropping the response closes that connection, so its body is
            // not read.
            200 => response.content_length(),
            _ => return Err(Upstream::Status(status)),
        };
        total.ok_or(Upstream::NoSize)
    }

    async fn before_retry(&self, why: &Upstream, attempt: u32, pos: u64) {
        tracing::debug!(detail = %why, attempt, pos, "relay: upstream hiccup, asking again");
        self.retries.fetch_add(1, Ordering::Relaxed);
        // The fragment scheduler's back-off: 250 ms, doubling.
        tokio::time::sleep(super::schedule::backoff(attempt - 1)).await;
    }

    /// Fetches `[start, start + len)` from the origin and writes it to
    /// `out`. `head` is written before the first byte, once the bytes are
    /// sure to come (until then a failure can still be a 502). The body is
    /// made of parts fetched before (the cache), one range streamed as it
    /// arrives (small: a reader that seeks away wastes little of it), and
    /// for a reader that took all of that, ranges fetched `AHEAD` at once.
    /// A transient failure is asked again from the first byte not yet had,
    /// so the client sees one unbroken body.
    async fn pump<W: AsyncWrite + Unpin>(
        self: &Arc<Self>,
        out: &mut W,
        head: &str,
        start: u64,
        len: u64,
    ) -> Result<(), Stop> {
        let end = start + len;
        let mut pos = start;
        let mut head = Some(head);
        let budget = Arc::new(AtomicU32::new(MAX_RETRIES_PER_ANSWER));
        let mut failures = 0;
        let mut chunk = FIRST_CHUNK;
        let mut ahead: Option<Ahead> = None;
        while pos < end {
            let cached = self.cache.lock().unwrap_or_else(PoisonError::into_inner).find(pos);
            if let Some((bytes, offset)) = cached {
                let n = usize::try_from(end - pos).unwrap_or(usize::MAX).min(bytes.len() - offset);
                self.deliver(out, &mut head, &bytes[offset..offset + n]).await?;
                pos += n as u64;
                continue;
            }
            if let Some(ahead) = ahead.as_mut() {
                let bytes = ahead.take(pos, pos - start).await.map_err(|why| stop(head, why))?;
                let n = usize::try_from(end - pos).unwrap_or(usize::MAX).min(bytes.len());
                self.deliver(out, &mut head, &bytes[..n]).await?;
                pos += n as u64;
                continue;
            }
            let before = pos;
            let want_end = end.min(pos.saturating_add(chunk));
            let mut tee = Some(Vec::new());
            let streamed = self.piece(out, &mut head, &mut pos, want_end, end, &mut tee).await;
            self.relayed.fetch_add(pos - before, Ordering::Relaxed);
            if let Some(bytes) = tee {
                self.keep(before, bytes);
            }
            match streamed {
                // An answer shorter than asked for is paid from the budget:
                // one that sends a few bytes per answer would otherwise be
                // asked again for every few bytes of the file.
                Ok(()) if pos < want_end && !spend(&budget) => {
                    return Err(stop(head, Upstream::Mismatch("answers far shorter than asked for".to_owned())));
                }
                Ok(()) => {
                    failures = 0;
                    chunk = (chunk * 2).min(MAX_CHUNK);
                    if pos - start >= READ_AHEAD_AFTER {
                        ahead = Some(Ahead::new(Arc::clone(self), end, Arc::clone(&budget)));
                    }
                }
                Err(Stop::Client) => return Err(Stop::Client),
                Err(Stop::Before(why) | Stop::During(why)) => {
                    if pos > before {
                        failures = 0;
                    }
                    if why.is_transient() && failures < RETRIES && spend(&budget) {
                        failures += 1;
                        self.before_retry(&why, failures, pos).await;
                        continue;
                    }
                    return Err(stop(head, why));
                }
            }
        }
        Ok(())
    }

    /// Writes the head if not yet written, then `bytes`.
    async fn deliver<W: AsyncWrite + Unpin>(
        &self,
        out: &mut W,
        head: &mut Option<&str>,
        bytes: &[u8],
    ) -> Result<(), Stop> {
        if let Some(text) = head.take() {
            out.write_all(text.as_bytes()).await.map_err(|_| Stop::Client)?;
        }
        out.write_all(bytes).await.map_err(|_| Stop::Client)?;
        self.relayed.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    fn keep(&self, start: u64, bytes: impl Into<Arc<[u8]>>) {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner).keep(start, bytes.into());
    }

    fn is_cached(&self, pos: u64) -> bool {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner).find(pos).is_some()
    }

    /// One upstream range, `[*pos, want_end)`, written to `out` as it
    /// arrives (`*pos` follows; `head` first, if still unwritten) and
    /// copied into `tee` while that stays under `MAX_CHUNK` (a 200 may
    /// bring the whole file). A short range is fine: the caller goes on
    /// from where it stopped. `out` is ffmpeg's socket for the streamed
    /// ranges, a buffer for those fetched ahead.
    async fn piece<W: AsyncWrite + Unpin>(
        &self,
        out: &mut W,
        head: &mut Option<&str>,
        pos: &mut u64,
        want_end: u64,
        end: u64,
        tee: &mut Option<Vec<u8>>,
    ) -> Result<(), Stop> {
        let response = self.get(*pos, want_end - 1).await.map_err(Stop::Before)?;
        let (mut response, piece_end) = self.check(response, *pos, want_end, end).map_err(Stop::Before)?;
        if let Some(text) = head.take() {
            out.write_all(text.as_bytes()).await.map_err(|_| Stop::Client)?;
        }
        while *pos < piece_end {
            let bytes = next_chunk(&mut response).await.map_err(Stop::During)?;
            let room = usize::try_from(piece_end - *pos).unwrap_or(usize::MAX);
            let part = &bytes[..bytes.len().min(room)];
            out.write_all(part).await.map_err(|_| Stop::Client)?;
            *pos += part.len() as u64;
            if tee.as_ref().is_some_and(|t| t.len() + part.len() > MAX_CHUNK as usize) {
                *tee = None;
            }
            if let Some(t) = tee.as_mut() {
                t.extend_from_slice(part);
            }
        }
        if piece_end == want_end {
            drain_end(&mut response).await;
        }
        Ok(())
    }

    /// `[start, start + len)` whole, for [`Ahead`]: asked again after a
    /// hiccup or a short answer (from the first byte not yet had, paid from
    /// the answer's `budget`), and kept in the cache. Runs on after its
    /// reader is gone (a reader that seeks away may want it next), until
    /// the relay stops.
    async fn fetch_ahead(self: Arc<Self>, start: u64, len: u64, budget: Arc<AtomicU32>) -> Result<Arc<[u8]>, Upstream> {
        let cancel = self.cancel.clone();
        tokio::select! {
            () = cancel.cancelled() => Err(Upstream::Network("the relay stopped".to_owned())),
            got = async {
                let _slot = self.ahead_slots.acquire().await.map_err(|_| Upstream::Network("the relay stopped".to_owned()))?;
                self.fetch_range(start, start + len, &budget).await
            } => {
                let bytes: Arc<[u8]> = got?.into();
                self.keep(start, Arc::clone(&bytes));
                Ok(bytes)
            }
        }
    }

    async fn fetch_range(&self, start: u64, end: u64, budget: &AtomicU32) -> Result<Vec<u8>, Upstream> {
        let mut buf = Vec::with_capacity(usize::try_from(end - start).unwrap_or(0));
        let mut failures = 0;
        loop {
            let had = buf.len();
            let pos = start + had as u64;
            match self.read_range(&mut buf, pos, end).await {
                Ok(()) if start + buf.len() as u64 >= end => return Ok(buf),
                // A shorter answer than asked: the rest is asked for.
                Ok(()) if spend(budget) => failures = 0,
                Ok(()) => return Err(Upstream::Mismatch("answers far shorter than asked for".to_owned())),
                Err(why) => {
                    if buf.len() > had {
                        failures = 0;
                    }
                    if !(why.is_transient() && failures < RETRIES && spend(budget)) {
                        return Err(why);
                    }
                    failures += 1;
                    self.before_retry(&why, failures, start + buf.len() as u64).await;
                }
            }
        }
    }

    /// One upstream answer to `bytes=pos-(end-1)`, appended to `buf`.
    async fn read_range(&self, buf: &mut Vec<u8>, pos: u64, end: u64) -> Result<(), Upstream> {
        let mut at = pos;
        self.piece(buf, &mut None, &mut at, end, end, &mut None).await.map_err(|stop| match stop {
            Stop::Before(why) | Stop::During(why) => why,
            // Writing into memory does not fail.
            Stop::Client => Upstream::Network("the buffer refused bytes".to_owned()),
        })
    }

    /// Checks an upstream answer to `bytes=pos-(want_end-1)`, and returns
    /// it with where its useful bytes end.
    fn check(
        &self,
        response: reqwest::Response,
        pos: u64,
        want_end: u64,
        end: u64,
    ) -> Result<(reqwest::Response, u64), Upstream> {
        match response.status().as_u16() {
            206 => {
                let Some(got) = content_range(response.headers()) else {
                    return Err(Upstream::Mismatch("a 206 without a usable Content-Range".to_owned()));
                };
                let known = self.size.get().copied();
                if got.first != pos {
                    return Err(Upstream::Mismatch(format!("bytes {}-{} for {pos}-", got.first, got.last)));
                }
                if let (Some(total), Some(known)) = (got.total, known) {
                    if total != known {
                        return Err(Upstream::Mismatch(format!("a size of {total}, not {known}")));
                    }
                }
                // A shorter range than asked is fine: the next one goes on
                // from where it stops.
                Ok((response, want_end.min(got.last + 1)))
            }
            // The origin ignored the range and sends the file from its
            // first byte: usable when that is where the answer starts,
            // and then for the whole answer (no later ranges).
            200 if pos == 0 => Ok((response, end)),
            200 => Err(Upstream::NoRanges),
            status => Err(Upstream::Status(status)),
        }
    }
}

/// How an answer stopped early.
#[derive(Debug)]
enum Stop {
    /// Before the head was written: answer 502.
    Before(Upstream),
    /// Mid-body: the connection is cut (the length will not match).
    During(Upstream),
    /// Writing to the client failed: it is gone.
    Client,
}

/// A failure ends an answer with a 502 while its head is unwritten, else
/// cuts its body.
fn stop(head: Option<&str>, why: Upstream) -> Stop {
    if head.is_some() {
        Stop::Before(why)
    } else {
        Stop::During(why)
    }
}

/// Takes one retry from an answer's budget; false when none is left.
fn spend(budget: &AtomicU32) -> bool {
    budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(1)).is_ok()
}

/// The next body chunk of an upstream answer, under the stall timeout.
async fn next_chunk(response: &mut reqwest::Response) -> Result<impl std::ops::Deref<Target = [u8]>, Upstream> {
    match tokio::time::timeout(STALL_TIMEOUT, response.chunk()).await {
        Err(_) => Err(Upstream::Stalled),
        Ok(Err(e)) => Err(Upstream::from_reqwest(e)),
        Ok(Ok(None)) => Err(Upstream::Network("the body ended early".to_owned())),
        Ok(Ok(Some(bytes))) => Ok(bytes),
    }
}

/// After a range's last byte: reading the end of the body lets the
/// connection go back to the pool for the next range instead of being
/// closed.
async fn drain_end(response: &mut reqwest::Response) {
    let _ = tokio::time::timeout(Duration::from_millis(200), response.chunk()).await;
}

/// A range being fetched ahead.
type Fetch = tokio::task::JoinHandle<Result<Arc<[u8]>, Upstream>>;

/// The ranges fetched ahead of one answer's reader, in order. Dropping it
/// leaves those under way to finish into the cache.
struct Ahead {
    shared: Arc<Shared>,
    end: u64,
    /// Where the next range to start begins.
    next: u64,
    budget: Arc<AtomicU32>,
    /// Each range's start and its fetch.
    pending: std::collections::VecDeque<(u64, Fetch)>,
}

impl Ahead {
    fn new(shared: Arc<Shared>, end: u64, budget: Arc<AtomicU32>) -> Ahead {
        Ahead { shared, end, next: 0, budget, pending: std::collections::VecDeque::new() }
    }

    /// The range that starts at `pos` (at most `MAX_CHUNK`), once it is
    /// all in; the next ones are under way meanwhile. `taken` is what the
    /// reader has had of this answer so far.
    async fn take(&mut self, pos: u64, taken: u64) -> Result<Arc<[u8]>, Upstream> {
        // Ranges that finished before the reader got to them reach it
        // through the cache: they are behind it now.
        while self.pending.front().is_some_and(|(start, _)| *start < pos) {
            self.pending.pop_front();
        }
        if self.pending.front().map(|(start, _)| *start) != Some(pos) {
            // The reader came here another way: plan from here.
            self.pending.clear();
            self.next = pos;
        }
        self.fill(taken);
        let Some((_, task)) = self.pending.pop_front() else {
            return Err(Upstream::Network("nothing left to fetch".to_owned()));
        };
        let got = task.await.unwrap_or_else(|e| Err(Upstream::Network(format!("the fetch stopped: {e}"))))?;
        // These bytes go to the reader now: the window moves on past them.
        self.fill(taken + got.len() as u64);
        Ok(got)
    }

    /// Starts ranges until `AHEAD` are under way, and no more bytes than
    /// the reader has taken (so what an origin can have sent for nothing
    /// when the reader seeks away stays at most what it used). Past the
    /// horizon, or where the cache takes over, only the one the reader
    /// needs next.
    fn fill(&mut self, taken: u64) {
        let horizon = self.shared.horizon.load(Ordering::Relaxed);
        let room = taken.clamp(MAX_CHUNK, AHEAD as u64 * MAX_CHUNK);
        let mut under_way: u64 = self.pending.iter().map(|(start, _)| self.end.min(start + MAX_CHUNK) - start).sum();
        while self.pending.len() < AHEAD && self.next < self.end && (self.pending.is_empty() || under_way < room) {
            if !self.pending.is_empty() && (self.next >= horizon || self.shared.is_cached(self.next)) {
                break;
            }
            let (start, len) = (self.next, MAX_CHUNK.min(self.end - self.next));
            let task = tokio::spawn(Arc::clone(&self.shared).fetch_ahead(start, len, Arc::clone(&self.budget)));
            self.pending.push_back((start, task));
            self.next += len;
            under_way += len;
        }
    }
}

/// Answers a parsed request. Upstream failures are kept in `shared`.
async fn respond<W: AsyncWrite + Unpin>(shared: &Arc<Shared>, request: &Request, out: &mut W) {
    let total = match shared.total().await {
        Ok(total) => total,
        Err(why) => {
            shared.fail(&why);
            let _ = out.write_all(status_head(502, "Bad Gateway", "").as_bytes()).await;
            return;
        }
    };
    let Some((start, len)) = resolve(request.range, total) else {
        let extra = format!("Content-Range: bytes */{total}\r\n");
        let _ = out.write_all(status_head(416, "Range Not Satisfiable", &extra).as_bytes()).await;
        return;
    };
    let head = success_head(request.range.is_some(), start, len, total);
    tracing::debug!(head_only = request.head_only, start, len, "relay: answering");
    if request.head_only || len == 0 {
        let _ = out.write_all(head.as_bytes()).await;
        return;
    }
    match shared.pump(out, &head, start, len).await {
        Ok(()) | Err(Stop::Client) => {}
        Err(Stop::Before(why)) => {
            shared.fail(&why);
            let _ = out.write_all(status_head(502, "Bad Gateway", "").as_bytes()).await;
        }
        Err(Stop::During(why)) => shared.fail(&why),
    }
}

/// A `Content-Range: bytes first-last/total` (total `None` for `*`), or
/// the `bytes */total` of a 416 (as `first` 1 > `last` 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ContentRange {
    first: u64,
    last: u64,
    total: Option<u64>,
}

fn content_range(headers: &HeaderMap) -> Option<ContentRange> {
    let value = headers.get(CONTENT_RANGE)?.to_str().ok()?.trim();
    let rest = value.strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let total = match total.trim() {
        "*" => None,
        digits => Some(digits.parse().ok()?),
    };
    if range.trim() == "*" {
        return Some(ContentRange { first: 1, last: 0, total });
    }
    let (first, last) = range.split_once('-')?;
    let (first, last) = (first.trim().parse().ok()?, last.trim().parse().ok()?);
    (first <= last).then_some(ContentRange { first, last, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/0123456789abcdef0123456789abcdef/media";

    fn request(text: &str) -> Result<Request, Reject> {
        parse_request(text.as_bytes(), PATH)
    }

    #[test]
    fn ffmpeg_requests_parse() {
        let head = format!(
            "GET {PATH} HTTP/1.1\r\nUser-Agent: Lavf/59.27.100\r\nAccept: */*\r\nRange: bytes=0-\r\n\
             Connection: close\r\nHost: 127.0.0.1:4000\r\nIcy-MetaData: 1"
        );
        assert_eq!(
            request(&head),
            Ok(Request { head_only: false, range: Some(RangeSpec::From { start: 0, end: None }) })
        );
        assert_eq!(request(&format!("HEAD {PATH} HTTP/1.0\nHost: x")), Ok(Request { head_only: true, range: None }));
        assert_eq!(
            request(&format!("GET {PATH} HTTP/1.1\r\nrange:  bytes=10-20 ")),
            Ok(Request { head_only: false, range: Some(RangeSpec::From { start: 10, end: Some(20) }) })
        );
        assert_eq!(
            request(&format!("GET {PATH} HTTP/1.1\r\nRange: bytes=-500")),
            Ok(Request { head_only: false, range: Some(RangeSpec::Suffix(500)) })
        );
    }

    #[test]
    fn anything_else_is_refused_before_going_upstream() {
        assert_eq!(request("GET /0123456789abcdef0123456789abcdee/media HTTP/1.1"), Err(Reject::NotFound));
        assert_eq!(request(&format!("GET {PATH}/ HTTP/1.1")), Err(Reject::NotFound));
        assert_eq!(request(&format!("GET {PATH}?x=1 HTTP/1.1")), Err(Reject::NotFound));
        assert_eq!(request("GET http://127.0.0.1/media HTTP/1.1"), Err(Reject::NotFound));
        assert_eq!(request(&format!("POST {PATH} HTTP/1.1")), Err(Reject::MethodNotAllowed));
        assert_eq!(request(&format!("GET {PATH} HTTP/2")), Err(Reject::VersionNotSupported));
        assert_eq!(request(&format!("GET  {PATH} HTTP/1.1")), Err(Reject::BadRequest));
        assert_eq!(request(&format!("GET {PATH} HTTP/1.1\r\n folded")), Err(Reject::BadRequest));
        assert_eq!(request(&format!("GET {PATH} HTTP/1.1\r\nRange : bytes=0-")), Err(Reject::BadRequest));
        assert_eq!(
            request(&format!("GET {PATH} HTTP/1.1\r\nRange: bytes=0-\r\nRange: bytes=5-")),
            Err(Reject::BadRequest)
        );
        assert_eq!(request(&format!("GET {PATH} HTTP/1.1\r\nno colon")), Err(Reject::BadRequest));
    }

    #[test]
    fn ranges_parse_strictly() {
        assert_eq!(parse_range("bytes=5-9"), Ok(RangeSpec::From { start: 5, end: Some(9) }));
        assert_eq!(parse_range("Bytes = 5-"), Ok(RangeSpec::From { start: 5, end: None }));
        assert_eq!(parse_range("bytes=-3"), Ok(RangeSpec::Suffix(3)));
        assert_eq!(parse_range("bytes=0-1,5-9"), Err(Reject::RangeNotSupported));
        assert_eq!(parse_range("items=0-1"), Err(Reject::RangeNotSupported));
        assert_eq!(parse_range("bytes=-0"), Err(Reject::RangeNotSupported));
        for bad in ["bytes=9-5", "bytes=+5-", "bytes=a-b", "bytes=-", "bytes=5", "bytes", "bytes=99999999999999999999-"]
        {
            assert_eq!(parse_range(bad), Err(Reject::BadRequest), "{bad}");
        }
    }

    #[test]
    fn ranges_resolve_against_the_size() {
        let from = |start, end| Some(RangeSpec::From { start, end });
        assert_eq!(resolve(None, 100), Some((0, 100)));
        assert_eq!(resolve(None, 0), Some((0, 0)));
        assert_eq!(resolve(from(0, None), 100), Some((0, 100)));
        assert_eq!(resolve(from(10, Some(19)), 100), Some((10, 10)));
        assert_eq!(resolve(from(90, Some(500)), 100), Some((90, 10)));
        assert_eq!(resolve(from(100, None), 100), None);
        assert_eq!(resolve(from(0, None), 0), None);
        assert_eq!(resolve(Some(RangeSpec::Suffix(10)), 100), Some((90, 10)));
        assert_eq!(resolve(Some(RangeSpec::Suffix(500)), 100), Some((0, 100)));
        assert_eq!(resolve(Some(RangeSpec::Suffix(5)), 0), None);
    }

    #[test]
    fn heads_say_what_follows() {
        assert_eq!(
            success_head(true, 10, 5, 100),
            "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 10-14/100\r\nContent-Length: 5\r\n\
             Accept-Ranges: bytes\r\nConnection: close\r\n\r\n"
        );
        assert!(success_head(false, 0, 100, 100).starts_with("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"));
    }

    #[test]
    fn content_ranges_parse() {
        let parse = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(CONTENT_RANGE, HeaderValue::from_static(v));
            content_range(&h)
        };
        assert_eq!(parse("bytes 0-0/9700000"), Some(ContentRange { first: 0, last: 0, total: Some(9_700_000) }));
        assert_eq!(parse("bytes 5-9/*"), Some(ContentRange { first: 5, last: 9, total: None }));
        assert_eq!(parse("bytes */42"), Some(ContentRange { first: 1, last: 0, total: Some(42) }));
        assert_eq!(parse("bytes 9-5/10"), None);
        assert_eq!(parse("items 0-1/2"), None);
        assert_eq!(content_range(&HeaderMap::new()), None);
    }

    #[test]
    fn head_ends_at_the_blank_line() {
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest"), Some(20));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\n\n"), Some(14));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n"), None);
    }

    #[test]
    fn tokens_are_128_bits_of_hex() {
        let (a, b) = (random_token().expect("token"), random_token().expect("token"));
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
    }
}
