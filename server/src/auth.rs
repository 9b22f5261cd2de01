//! Optional login: with `ACCESS_PASSWORD` set, people log in on `/login` and
//! get an HttpOnly, SameSite=Strict session cookie signed by the `cookie`
//! crate's signed jar (HMAC-SHA256) with a key made of `SECRET_KEY` and the
//! password, so a new password logs every session out; scripts may send
//! `Authorization: Bearer <password>` instead.
//! Logging out revokes the session on the server, and wrong passwords (form
//! or bearer) back off per client and for everyone together.

use crate::error::ApiError;
use crate::security::{client_key, ClientIp};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Extension;
use axum::{Form, Router};
use cookie::{Cookie, CookieJar, Key, SameSite};
use sha2::{Digest, Sha256, Sha512};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

const COOKIE: &str = "kachay_session";

/// Wrong passwords a client may send before it has to wait.
const FREE_FAILURES: u32 = 5;
/// The first wait; it doubles with every further wrong password.
const FIRST_LOCKOUT: Duration = Duration::from_secs(10);
/// The longest wait for one client.
const MAX_LOCKOUT: Duration = Duration::from_secs(3600);
/// Wrong passwords from everyone together within [`GLOBAL_WINDOW`] before
/// every password check waits (guessing spread over many addresses).
pub const GLOBAL_FAILURES: usize = 100;
const GLOBAL_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Clients remembered with failures; beyond, the oldest quiet ones go.
const MAX_TRACKED_CLIENTS: usize = 100_000;
/// Logged-out sessions remembered until they expire; beyond, every session
/// issued so far is ended at once (a bounded set that stays correct).
const MAX_REVOKED: usize = 10_000;

/// Who a request belongs to: downloads are visible only to the session that
/// started them when login is on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Session {
    /// Login is off: everyone is the same public user.
    Public,
    /// A bearer-token client (sees every download).
    Token,
    /// A logged-in browser session.
    Browser(String),
}

impl Session {
    /// May this session see a download started by `owner`?
    pub fn may_see(&self, owner: &Session) -> bool {
        matches!(self, Session::Public | Session::Token) || self == owner
    }
}

/// The login settings, the revoked sessions and the failed-login record.
pub struct Auth {
    password: Option<String>,
    key: Key,
    session_ttl: Duration,
    secure_cookies: bool,
    revoked: Mutex<Revoked>,
    throttle: LoginThrottle,
}

/// Sessions ended by logging out, until their cookies would have expired.
#[derive(Default)]
struct Revoked {
    ids: HashMap<String, u64>,
    /// Sessions issued at or before this second are no longer valid.
    issued_after: u64,
}

impl Auth {
    /// `secret_key` None → a random key for this run (sessions end at restart).
    pub fn new(password: Option<String>, secret_key: Option<&str>, session_days: u64) -> Auth {
        let secret = match secret_key.filter(|k| !k.is_empty()) {
            Some(k) => Sha256::digest(k.as_bytes()).to_vec(),
            None => {
                let random = format!("{}{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
                Sha256::digest(random.as_bytes()).to_vec()
            }
        };
        let password = password.filter(|p| !p.is_empty());
        // The signing key depends on the password too: a new password makes
        // every cookie signed before it worthless. SHA-512 gives the 64 bytes
        // a `Key` is made of.
        let mut key = Sha512::new();
        key.update(b"kachay session v3\0");
        key.update(&secret);
        key.update(Sha256::digest(password.as_deref().unwrap_or_default().as_bytes()));
        Auth {
            password,
            key: Key::from(&key.finalize()),
            session_ttl: Duration::from_secs(session_days.max(1) * 86_400),
            secure_cookies: false,
            revoked: Mutex::new(Revoked::default()),
            throttle: LoginThrottle::default(),
        }
    }

    /// Cookies get `Secure` (the site is served over https, `PUBLIC_URL`).
    pub fn with_secure_cookies(mut self, secure: bool) -> Auth {
        self.secure_cookies = secure;
        self
    }

    pub fn enabled(&self) -> bool {
        self.password.is_some()
    }

    /// Compares in constant time (over digests, so lengths do not leak).
    fn password_matches(&self, attempt: &str) -> bool {
        match &self.password {
            Some(password) => {
                let a = Sha256::digest(attempt.as_bytes());
                let b = Sha256::digest(password.as_bytes());
                a.ct_eq(&b).into()
            }
            None => false,
        }
    }

    /// `payload` with its signature in front, as the signed jar makes it.
    fn sign(&self, payload: String) -> String {
        let mut jar = CookieJar::new();
        jar.signed_mut(&self.key).add(Cookie::new(COOKIE, payload));
        jar.get(COOKIE).map(|c| c.value().to_string()).unwrap_or_default()
    }

    /// A new session cookie value: the signature, then `v3.<issued>.<expiry>.<id>`.
    /// The times are in the signed value because a client may keep a cookie
    /// past its `Max-Age`.
    fn issue(&self) -> String {
        let issued = now_secs();
        let expires = issued + self.session_ttl.as_secs();
        self.sign(format!("v3.{issued}.{expires}.{}", uuid::Uuid::new_v4().simple()))
    }

    /// The session id of a valid, unexpired, not revoked cookie value.
    fn verify(&self, value: &str) -> Option<String> {
        let (id, expires, issued) = self.signed_parts(value)?;
        if expires <= now_secs() {
            return None;
        }
        let revoked = self.revoked.lock().ok()?;
        (issued > revoked.issued_after && !revoked.ids.contains_key(&id)).then_some(id)
    }

    /// Id, expiry and issue time of a cookie whose signature holds.
    fn signed_parts(&self, value: &str) -> Option<(String, u64, u64)> {
        let jar = CookieJar::new();
        let verified = jar.signed(&self.key).verify(Cookie::new(COOKIE, value.to_string()))?;
        let mut parts = verified.value().split('.');
        let (version, issued, expires, id) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version != "v3" || parts.next().is_some() {
            return None;
        }
        Some((id.to_string(), expires.parse().ok()?, issued.parse().ok()?))
    }

    /// Ends the session of this cookie value for good (logout). The set of
    /// revoked ids is bounded: when it is full of unexpired ones, every
    /// session issued so far ends instead.
    fn revoke(&self, value: &str) {
        let Some((id, expires, _)) = self.signed_parts(value) else { return };
        let now = now_secs();
        if expires <= now {
            return;
        }
        let Ok(mut revoked) = self.revoked.lock() else { return };
        if revoked.ids.len() >= MAX_REVOKED {
            revoked.ids.retain(|_, expires| *expires > now);
        }
        if revoked.ids.len() >= MAX_REVOKED {
            tracing::warn!("too many logged-out sessions to remember: every session has been ended");
            revoked.ids.clear();
            revoked.issued_after = now;
            return;
        }
        revoked.ids.insert(id, expires);
    }

    /// The bearer token of a request, if it carries one.
    fn bearer<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
    }

    /// Who sent this request, if anyone we know.
    fn session_of(&self, headers: &HeaderMap) -> Option<Session> {
        if !self.enabled() {
            return Some(Session::Public);
        }
        if let Some(token) = self.bearer(headers) {
            return self.password_matches(token).then_some(Session::Token);
        }
        session_cookie(headers).and_then(|v| self.verify(&v)).map(Session::Browser)
    }

    /// `Set-Cookie` for a new session.
    fn login_cookie(&self, secure: bool) -> Option<HeaderValue> {
        let max_age = i64::try_from(self.session_ttl.as_secs()).unwrap_or(i64::MAX);
        set_cookie(cookie_attributes(self.issue(), secure).max_age(cookie::time::Duration::seconds(max_age)).build())
    }

    /// `Set-Cookie` that makes the browser forget its session cookie.
    fn logout_cookie(&self) -> Option<HeaderValue> {
        let mut cookie = cookie_attributes(String::new(), self.secure_cookies).build();
        cookie.make_removal();
        set_cookie(cookie)
    }
}

fn cookie_attributes(value: String, secure: bool) -> cookie::CookieBuilder<'static> {
    Cookie::build((COOKIE, value)).path("/").http_only(true).same_site(SameSite::Strict).secure(secure)
}

fn set_cookie(cookie: Cookie<'_>) -> Option<HeaderValue> {
    HeaderValue::from_str(&cookie.to_string()).ok()
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The (still signed) value of the session cookie a request carries.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .flatten()
        .find(|c| c.name() == COOKIE)
        .map(|c| c.value().to_string())
}

/// Paths that work without logging in: the login page and the static files it needs.
fn is_open(path: &str) -> bool {
    path == "/login" || path == "/logout" || path.starts_with("/pkg/") || path == "/favicon.svg"
}

/// Failed logins, per client and for everyone: the first [`FREE_FAILURES`]
/// cost nothing, then a client waits [`FIRST_LOCKOUT`], doubling with each
/// further failure up to [`MAX_LOCKOUT`]; [`GLOBAL_FAILURES`] failures from
/// anyone within [`GLOBAL_WINDOW`] make every password check wait. Both
/// are kept in bounded memory. A correct password forgets the client's count.
#[derive(Default)]
struct LoginThrottle {
    inner: Mutex<ThrottleState>,
}

#[derive(Default)]
struct ThrottleState {
    clients: HashMap<IpAddr, Failures>,
    /// When the recent failures happened, oldest first (at most GLOBAL_FAILURES).
    recent: VecDeque<Instant>,
}

struct Failures {
    count: u32,
    locked_until: Option<Instant>,
    last: Instant,
}

impl LoginThrottle {
    /// `Err(wait)` while `ip` (or everyone) must wait before a password is checked.
    fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let Ok(mut state) = self.inner.lock() else { return Ok(()) };
        while state.recent.front().is_some_and(|t| now.duration_since(*t) >= GLOBAL_WINDOW) {
            state.recent.pop_front();
        }
        let global = (state.recent.len() >= GLOBAL_FAILURES)
            .then(|| state.recent.front().map(|first| GLOBAL_WINDOW.saturating_sub(now.duration_since(*first))))
            .flatten();
        let client = state
            .clients
            .get(&client_key(ip))
            .and_then(|f| f.locked_until)
            .and_then(|until| until.checked_duration_since(now));
        match client.into_iter().chain(global).max() {
            Some(wait) if !wait.is_zero() => Err(wait),
            _ => Ok(()),
        }
    }

    /// A wrong password from `ip`.
    fn failed(&self, ip: IpAddr) {
        let now = Instant::now();
        let Ok(mut state) = self.inner.lock() else { return };
        if state.recent.len() >= GLOBAL_FAILURES {
            state.recent.pop_front();
        }
        state.recent.push_back(now);
        let key = client_key(ip);
        if !state.clients.contains_key(&key) && state.clients.len() >= MAX_TRACKED_CLIENTS {
            state
                .clients
                .retain(|_, f| f.locked_until.is_some_and(|t| t > now) || now.duration_since(f.last) < MAX_LOCKOUT);
            if state.clients.len() >= MAX_TRACKED_CLIENTS {
                // The global window still counts this one.
                return;
            }
        }
        let entry = state.clients.entry(key).or_insert(Failures { count: 0, locked_until: None, last: now });
        // A client quiet for longer than the longest wait starts afresh.
        if now.duration_since(entry.last) >= MAX_LOCKOUT {
            entry.count = 0;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
        if entry.count >= FREE_FAILURES {
            let doublings = (entry.count - FREE_FAILURES).min(16);
            let wait = FIRST_LOCKOUT.saturating_mul(1 << doublings).min(MAX_LOCKOUT);
            entry.locked_until = Some(now + wait);
        }
    }

    /// The right password from `ip`.
    fn succeeded(&self, ip: IpAddr) {
        if let Ok(mut state) = self.inner.lock() {
            state.clients.remove(&client_key(ip));
        }
    }
}

fn whole_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

fn client_of(request: &Request) -> IpAddr {
    request.extensions().get::<ClientIp>().map(|c| c.0).unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// Lets a request through with its [`Session`], or sends it to log in.
/// A bearer token is a password guess like any other: it is refused while
/// the client must wait, and a wrong one counts as a failure.
pub async fn require_login(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if state.auth.enabled() && state.auth.bearer(request.headers()).is_some() {
        let ip = client_of(&request);
        if let Err(wait) = state.auth.throttle.check(ip) {
            return ApiError::LoginLocked { retry_after: whole_secs(wait) }.into_response();
        }
        match state.auth.session_of(request.headers()) {
            Some(session) => {
                state.auth.throttle.succeeded(ip);
                request.extensions_mut().insert(session);
                return next.run(request).await;
            }
            None => {
                tracing::info!("wrong bearer token");
                state.auth.throttle.failed(ip);
            }
        }
    }
    match state.auth.session_of(request.headers()) {
        Some(session) => {
            request.extensions_mut().insert(session);
            next.run(request).await
        }
        None if is_open(request.uri().path()) => next.run(request).await,
        None if request.uri().path().starts_with("/api/") => ApiError::Unauthorized.into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/login", get(login_page).post(login)).route("/logout", post(logout))
}

#[derive(serde::Deserialize)]
struct LoginForm {
    #[serde(default)]
    password: String,
}

async fn login_page(State(state): State<AppState>) -> Response {
    if !state.auth.enabled() {
        return Redirect::to("/").into_response();
    }
    Html(login_html(None)).into_response()
}

async fn login(
    State(state): State<AppState>,
    client: Option<Extension<ClientIp>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if !state.auth.enabled() {
        return Redirect::to("/").into_response();
    }
    let ip = client.map(|c| c.0 .0).unwrap_or(IpAddr::from([0, 0, 0, 0]));
    // Checked before the password: while a client waits, even the right
    // one is refused, so guessing gains nothing.
    if let Err(wait) = state.auth.throttle.check(ip) {
        let secs = whole_secs(wait);
        let message = ApiError::LoginLocked { retry_after: secs }.public_message();
        let mut response = (StatusCode::TOO_MANY_REQUESTS, Html(login_html(Some(&message)))).into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return response;
    }
    if !state.auth.password_matches(&form.password) {
        tracing::info!("failed login");
        state.auth.throttle.failed(ip);
        return (StatusCode::UNAUTHORIZED, Html(login_html(Some("That password is not right.")))).into_response();
    }
    state.auth.throttle.succeeded(ip);
    let secure =
        state.auth.secure_cookies || headers.get("x-forwarded-proto").is_some_and(|v| v.as_bytes() == b"https");
    let mut response = Redirect::to("/").into_response();
    if let Some(cookie) = state.auth.login_cookie(secure) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// Ends the session on the server too: the old cookie value stops working
/// even if someone kept a copy.
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(value) = session_cookie(&headers) {
        state.auth.revoke(&value);
    }
    let mut response = Redirect::to("/login").into_response();
    if let Some(cookie) = state.auth.logout_cookie() {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

fn login_html(error: Option<&str>) -> String {
    let error = error
        .map(|e| format!(r#"<p class="error" role="alert" data-testid="login-error">{e}</p>"#))
        .unwrap_or_default();
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · Kachay</title><link rel="stylesheet" href="/pkg/kachay.css"><link rel="icon" href="/favicon.svg"></head>
<body><main class="page login"><h1 class="brand"><span class="brand-mark" aria-hidden="true">⬇</span>Kachay</h1>
<form class="lookup" method="post" action="/login">
<label class="visually-hidden" for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" placeholder="Password" required autofocus>
<button type="submit" class="primary">Log in</button></form>{error}</main></body></html>"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_signed_and_expire() {
        let auth = Auth::new(Some("hunter2".into()), Some("a secret"), 1);
        let value = auth.issue();
        assert!(auth.verify(&value).is_some());
        // Tampering with any part breaks the signature.
        let forged = value.replacen("v3.", "v3.9", 1);
        assert_eq!(auth.verify(&forged), None);
        assert_eq!(auth.verify("v3.1.99999999999.abc"), None);
        let (signature, payload) = value.split_at(44);
        assert_eq!(auth.verify(&format!("{signature}v3.1.99999999999.abc")), None, "{payload}");
        // Another key does not accept it, nor the same key with another password.
        let other = Auth::new(Some("hunter2".into()), Some("another secret"), 1);
        assert_eq!(other.verify(&value), None);
        let rotated = Auth::new(Some("hunter3".into()), Some("a secret"), 1);
        assert_eq!(rotated.verify(&value), None);
        let same = Auth::new(Some("hunter2".into()), Some("a secret"), 1);
        assert!(same.verify(&value).is_some(), "a restart with the same settings keeps sessions");
        // An expired one is refused even with a good signature.
        let expired = auth.sign("v3.0.1.someid".into());
        assert!(auth.signed_parts(&expired).is_some());
        assert_eq!(auth.verify(&expired), None);
    }

    #[test]
    fn set_cookie_headers() {
        let auth = Auth::new(Some("hunter2".into()), Some("a secret"), 2);
        let login = auth.login_cookie(false).map(|v| v.to_str().unwrap_or_default().to_string()).unwrap_or_default();
        let value = login.strip_prefix("kachay_session=").and_then(|v| v.split(';').next()).unwrap_or_default();
        assert!(auth.verify(value).is_some(), "{login}");
        for attribute in ["; HttpOnly", "; SameSite=Strict", "; Path=/", "; Max-Age=172800"] {
            assert!(login.contains(attribute), "{attribute} in {login}");
        }
        assert!(!login.contains("Secure"), "{login}");
        assert!(auth.login_cookie(true).is_some_and(|v| v.to_str().unwrap_or_default().contains("; Secure")));
        let logout = auth.with_secure_cookies(true).logout_cookie();
        let logout = logout.as_ref().and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(logout.starts_with("kachay_session=;"), "{logout}");
        for attribute in ["; HttpOnly", "; SameSite=Strict", "; Max-Age=0", "; Secure"] {
            assert!(logout.contains(attribute), "{attribute} in {logout}");
        }
    }

    #[test]
    fn logout_revokes_and_the_revoked_set_stays_bounded() {
        let auth = Auth::new(Some("hunter2".into()), Some("a secret"), 1);
        let kept = auth.issue();
        let gone = auth.issue();
        auth.revoke(&gone);
        assert!(auth.verify(&gone).is_none());
        assert!(auth.verify(&kept).is_some());
        for _ in 0..MAX_REVOKED {
            auth.revoke(&auth.issue());
        }
        let revoked = auth.revoked.lock().map(|r| r.ids.len()).unwrap_or(usize::MAX);
        assert!(revoked <= MAX_REVOKED, "{revoked}");
        // Overflowing ended every session issued so far, the kept one too.
        assert!(auth.verify(&kept).is_none());
    }

    #[test]
    fn wrong_passwords_back_off_per_client_and_globally() {
        let throttle = LoginThrottle::default();
        let a: IpAddr = [192, 0, 2, 1].into();
        for _ in 0..FREE_FAILURES - 1 {
            throttle.failed(a);
            assert!(throttle.check(a).is_ok());
        }
        throttle.failed(a);
        let first = throttle.check(a).err().unwrap_or_default();
        assert!(first > Duration::from_secs(9) && first <= FIRST_LOCKOUT, "{first:?}");
        throttle.failed(a);
        let second = throttle.check(a).err().unwrap_or_default();
        assert!(second > FIRST_LOCKOUT, "doubles: {second:?}");
        assert!(throttle.check([192, 0, 2, 2].into()).is_ok(), "others are not locked by one client");
        throttle.succeeded(a);
        assert!(throttle.check(a).is_ok());
        // Many clients, a few guesses each: everyone waits.
        for i in 0..GLOBAL_FAILURES {
            throttle.failed(IpAddr::from([10, 0, (i / 250) as u8, (i % 250) as u8]));
        }
        assert!(throttle.check([192, 0, 2, 3].into()).is_err());
    }

    #[test]
    fn passwords_and_tokens() {
        let auth = Auth::new(Some("hunter2".into()), None, 1);
        assert!(auth.password_matches("hunter2"));
        assert!(!auth.password_matches("hunter3"));
        assert!(!auth.password_matches(""));
        let mut headers = HeaderMap::new();
        assert_eq!(auth.session_of(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer hunter2"));
        assert_eq!(auth.session_of(&headers), Some(Session::Token));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer nope"));
        assert_eq!(auth.session_of(&headers), None);
        let open = Auth::new(None, None, 1);
        assert_eq!(open.session_of(&HeaderMap::new()), Some(Session::Public));
    }
}
