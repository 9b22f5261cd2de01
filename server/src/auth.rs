//! Optional login: with `ACCESS_PASSWORD` set, people log in on `/login` and
//! get an HttpOnly, SameSite=Strict session cookie signed (HMAC-SHA256) with
//! `SECRET_KEY`; scripts may send `Authorization: Bearer <password>` instead.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

const COOKIE: &str = "kachay_session";

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

/// The login settings.
pub struct Auth {
    password: Option<String>,
    key: Vec<u8>,
    session_ttl: Duration,
}

impl Auth {
    /// `secret_key` None → a random key for this run (sessions end at restart).
    pub fn new(password: Option<String>, secret_key: Option<&str>, session_days: u64) -> Auth {
        let key = match secret_key.filter(|k| !k.is_empty()) {
            Some(k) => Sha256::digest(k.as_bytes()).to_vec(),
            None => {
                let random = format!("{}{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
                Sha256::digest(random.as_bytes()).to_vec()
            }
        };
        Auth {
            password: password.filter(|p| !p.is_empty()),
            key,
            session_ttl: Duration::from_secs(session_days.max(1) * 86_400),
        }
    }

    pub fn enabled(&self) -> bool {
        self.password.is_some()
    }

    /// Compares in constant time (over digests, so lengths do not leak).
    pub fn password_matches(&self, attempt: &str) -> bool {
        match &self.password {
            Some(password) => {
                let a = Sha256::digest(attempt.as_bytes());
                let b = Sha256::digest(password.as_bytes());
                a.ct_eq(&b).into()
            }
            None => false,
        }
    }

    fn mac(&self, payload: &str) -> String {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(payload.as_bytes());
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A new session cookie value: `v1.<expiry>.<id>.<mac>`.
    pub fn issue(&self) -> String {
        let expires = now_secs() + self.session_ttl.as_secs();
        let payload = format!("v1.{expires}.{}", uuid::Uuid::new_v4().simple());
        let mac = self.mac(&payload);
        format!("{payload}.{mac}")
    }

    /// The session id of a valid, unexpired cookie value.
    pub fn verify(&self, value: &str) -> Option<String> {
        let (payload, mac) = value.rsplit_once('.')?;
        let expected = self.mac(payload);
        if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
            return None;
        }
        let mut parts = payload.split('.');
        let (version, expires, id) = (parts.next()?, parts.next()?, parts.next()?);
        let expires: u64 = expires.parse().ok()?;
        (version == "v1" && expires > now_secs()).then(|| id.to_string())
    }

    /// Who sent this request, if anyone we know.
    pub fn session_of(&self, headers: &HeaderMap) -> Option<Session> {
        if !self.enabled() {
            return Some(Session::Public);
        }
        if let Some(token) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            return self.password_matches(token.trim()).then_some(Session::Token);
        }
        cookie(headers, COOKIE).and_then(|v| self.verify(&v)).map(Session::Browser)
    }

    fn cookie_header(&self, value: &str, secure: bool, max_age: u64) -> Option<HeaderValue> {
        let secure = if secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
        ))
        .ok()
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Paths that work without logging in: the login page and the static files it needs.
fn is_open(path: &str) -> bool {
    path == "/login" || path == "/logout" || path.starts_with("/pkg/") || path == "/favicon.svg"
}

/// Lets a request through with its [`Session`], or sends it to log in.
pub async fn require_login(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
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
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
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

async fn login(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<LoginForm>) -> Response {
    if !state.auth.enabled() {
        return Redirect::to("/").into_response();
    }
    if !state.auth.password_matches(&form.password) {
        tracing::info!("failed login");
        return (StatusCode::UNAUTHORIZED, Html(login_html(Some("That password is not right.")))).into_response();
    }
    let secure = headers.get("x-forwarded-proto").is_some_and(|v| v.as_bytes() == b"https");
    let mut response = Redirect::to("/").into_response();
    if let Some(cookie) = state.auth.cookie_header(&state.auth.issue(), secure, state.auth.session_ttl.as_secs()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

async fn logout(State(state): State<AppState>) -> Response {
    let mut response = Redirect::to("/login").into_response();
    if let Some(cookie) = state.auth.cookie_header("", false, 0) {
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
        let forged = value.replacen("v1.", "v1.9", 1);
        assert_eq!(auth.verify(&forged), None);
        assert_eq!(auth.verify("v1.99999999999.abc.def"), None);
        // Another key does not accept it.
        let other = Auth::new(Some("hunter2".into()), Some("another secret"), 1);
        assert_eq!(other.verify(&value), None);
        // An expired one is refused even with a good signature.
        let payload = "v1.1.someid";
        let expired = format!("{payload}.{}", auth.mac(payload));
        assert_eq!(auth.verify(&expired), None);
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
