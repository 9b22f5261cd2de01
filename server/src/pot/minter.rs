//! Who makes the tokens: a [`Minter`]. Today that is a bgutil-compatible
//! HTTP server (`POT_PROVIDER_URL`, [`BgutilMinter`]); the trait is what a
//! native minter would implement later.

use futures::future::BoxFuture;
use netguard::{ClientSettings, EgressPolicy, GuardedClient};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// How long one mint may take (bgutil's own plugin waits 20 s; BotGuard on a
/// slow machine can take a while).
const MINT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `/ping` may take.
const PING_TIMEOUT: Duration = Duration::from_secs(3);
/// The largest answer read from a minter.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The longest token accepted (real ones are ~150 characters).
const MAX_TOKEN_CHARS: usize = 4096;

/// What a token is asked for. The first six fields are its cache key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct MintRequest {
    /// `gvs`, `player` or `subs`.
    pub context: String,
    /// The innertube client name, e.g. `WEB`.
    pub client: String,
    pub content_binding: String,
    /// The innertube context's `remoteHost`: the address YouTube saw.
    #[serde(default)]
    pub ip: Option<String>,
    /// The proxy the minter must fetch through (Kachay's egress proxy).
    #[serde(default)]
    pub proxy: Option<String>,
    #[serde(default)]
    pub source_address: Option<String>,
    #[serde(default = "yes")]
    pub verify_tls: bool,
    #[serde(default)]
    pub bypass_cache: bool,
    #[serde(default)]
    pub innertube_context: Option<serde_json::Value>,
    #[serde(default)]
    pub challenge: Option<String>,
    #[serde(default)]
    pub video_id: Option<String>,
}

fn yes() -> bool {
    true
}

/// A minter's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minted {
    pub token: String,
    /// Unix seconds; `None` when the minter did not say.
    pub expires_at: Option<u64>,
}

/// Why no token was made. The texts are whole sentences: the plugin shows
/// them in yt-dlp's output, and they end up on the health page.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error("The PO-token minter at {url} did not answer ({why}).")]
    Unreachable { url: String, why: String },
    #[error("The PO-token minter at {url} answered HTTP {status}.")]
    Status { url: String, status: u16 },
    #[error("The PO-token minter at {url} gave an answer Kachay cannot read ({why}).")]
    BadAnswer { url: String, why: String },
    #[error("The PO-token minter refused: {0}")]
    Refused(String),
    #[error("Kachay's egress guard refused the PO-token minter's address: {0}")]
    Egress(String),
}

/// Makes PO tokens.
pub trait Minter: Send + Sync {
    fn mint<'a>(&'a self, request: &'a MintRequest) -> BoxFuture<'a, Result<Minted, MintError>>;
    /// Whether it answers, and its version.
    fn ping(&self) -> BoxFuture<'_, Result<String, MintError>>;
    /// Where it is, for messages (no credentials).
    fn describe(&self) -> String;
}

/// A bgutil HTTP server: `POST {base}/get_pot`, `GET {base}/ping`.
pub struct BgutilMinter {
    base: url::Url,
    /// The instance's egress policy; the minter's own address is added to it
    /// when the client is first needed (see [`Self::client`]).
    policy: Arc<EgressPolicy>,
    client: OnceCell<GuardedClient>,
}

/// The body bgutil's `/get_pot` reads (its plugin sends the same).
#[derive(Serialize)]
struct BgutilAsk<'a> {
    content_binding: &'a str,
    proxy: Option<&'a str>,
    bypass_cache: bool,
    source_address: Option<&'a str>,
    disable_tls_verification: bool,
    innertube_context: Option<&'a serde_json::Value>,
    challenge: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BgutilAnswer {
    po_token: Option<String>,
    expires_at: Option<serde_json::Value>,
    error: Option<String>,
}

impl BgutilMinter {
    /// `base` is `POT_PROVIDER_URL` as checked at start (http or https).
    pub fn new(base: url::Url, policy: Arc<EgressPolicy>) -> BgutilMinter {
        BgutilMinter { base, policy, client: OnceCell::new() }
    }

    fn endpoint(&self, path: &str) -> url::Url {
        let mut url = self.base.clone();
        let joined = format!("{}/{path}", url.path().trim_end_matches('/'));
        url.set_path(&joined);
        url
    }

    /// The client for the minter. The operator named this address, so it is
    /// allowed even when it is private or loopback (as bgutil usually is) —
    /// but only the addresses the name had at the first mint: a name that
    /// later points somewhere else private is refused like any other
    /// (DNS rebinding), and redirects are never followed.
    async fn client(&self) -> Result<&GuardedClient, MintError> {
        self.client
            .get_or_try_init(|| async {
                let host = self.base.host_str().unwrap_or_default().trim_matches(['[', ']']).to_owned();
                let port = self.base.port_or_known_default().unwrap_or(80);
                let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
                    Ok(ip) => vec![ip],
                    Err(_) => tokio::net::lookup_host((host.as_str(), port))
                        .await
                        .map_err(|e| self.unreachable(format!("its name does not resolve: {e}")))?
                        .map(|a| a.ip())
                        .collect(),
                };
                let policy = Arc::new(self.policy.also_allowing(addresses.into_iter().map(ipnet::IpNet::from)));
                let settings = ClientSettings { max_redirects: 0, ..ClientSettings::default() };
                GuardedClient::new(policy, &settings).map_err(|e| self.unreachable(e.to_string()))
            })
            .await
    }

    fn unreachable(&self, why: String) -> MintError {
        MintError::Unreachable { url: self.describe(), why }
    }

    fn classify(&self, e: &reqwest::Error) -> MintError {
        if let Some(refusal) = netguard::refusal_of(e) {
            return MintError::Egress(refusal.to_string());
        }
        let why = if e.is_timeout() {
            "timed out".to_owned()
        } else if e.is_connect() {
            "connection refused".to_owned()
        } else if e.is_redirect() {
            "it redirected".to_owned()
        } else {
            e.to_string()
        };
        self.unreachable(why)
    }

    async fn read_json<T: serde::de::DeserializeOwned>(&self, response: reqwest::Response) -> Result<T, MintError> {
        let status = response.status().as_u16();
        let bytes = read_capped(response, MAX_ANSWER_BYTES).await.map_err(|e| self.classify(&e))?;
        let Some(bytes) = bytes else {
            return Err(MintError::BadAnswer { url: self.describe(), why: "it is too large".into() });
        };
        match serde_json::from_slice::<T>(&bytes) {
            Ok(value) => Ok(value),
            Err(_) if status != 200 => Err(MintError::Status { url: self.describe(), status }),
            Err(e) => Err(MintError::BadAnswer { url: self.describe(), why: e.to_string() }),
        }
    }
}

/// The body, or `None` when it is larger than `cap`.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > cap {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

impl Minter for BgutilMinter {
    fn mint<'a>(&'a self, request: &'a MintRequest) -> BoxFuture<'a, Result<Minted, MintError>> {
        Box::pin(async move {
            let client = self.client().await?;
            let ask = BgutilAsk {
                content_binding: &request.content_binding,
                proxy: request.proxy.as_deref(),
                bypass_cache: request.bypass_cache,
                source_address: request.source_address.as_deref(),
                disable_tls_verification: !request.verify_tls,
                innertube_context: request.innertube_context.as_ref(),
                challenge: request.challenge.as_deref(),
            };
            let url = self.endpoint("get_pot");
            let response = client
                .inner()
                .post(url)
                .json(&ask)
                .timeout(MINT_TIMEOUT)
                .send()
                .await
                .map_err(|e| self.classify(&e))?;
            let status = response.status().as_u16();
            let answer: BgutilAnswer = self.read_json(response).await?;
            if let Some(error) = answer.error.filter(|e| !e.trim().is_empty()) {
                return Err(MintError::Refused(crate::pot::one_line(&error, 300)));
            }
            if status != 200 {
                return Err(MintError::Status { url: self.describe(), status });
            }
            let token = answer
                .po_token
                .filter(|t| is_token(t))
                .ok_or_else(|| MintError::BadAnswer { url: self.describe(), why: "no valid poToken".into() })?;
            Ok(Minted { token, expires_at: answer.expires_at.as_ref().and_then(unix_seconds) })
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<String, MintError>> {
        Box::pin(async move {
            let client = self.client().await?;
            let response = client
                .inner()
                .get(self.endpoint("ping"))
                .timeout(PING_TIMEOUT)
                .send()
                .await
                .map_err(|e| self.classify(&e))?;
            let status = response.status().as_u16();
            if status != 200 {
                return Err(MintError::Status { url: self.describe(), status });
            }
            let answer: serde_json::Value = self.read_json(response).await?;
            Ok(answer.get("version").and_then(|v| v.as_str()).unwrap_or("unknown").to_owned())
        })
    }

    fn describe(&self) -> String {
        // Without any user:password the operator may have put in it.
        let mut shown = self.base.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        shown.as_str().trim_end_matches('/').to_owned()
    }
}

/// Base64 or base64url text of a sane length: what a PO token looks like.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_TOKEN_CHARS
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/' | b'='))
}

/// bgutil's `expiresAt`: an RFC 3339 date (`2026-12-07T10:00:00.000Z`), or
/// unix seconds from other minters.
fn unix_seconds(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => {
            let at = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
            u64::try_from(at.unix_timestamp()).ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_in_both_spellings() {
        assert_eq!(unix_seconds(&serde_json::json!("2026-12-07T10:00:00.000Z")), Some(1_796_637_600));
        assert_eq!(unix_seconds(&serde_json::json!("2026-12-07T12:00:00+02:00")), Some(1_796_637_600));
        assert_eq!(unix_seconds(&serde_json::json!(1_796_637_600u64)), Some(1_796_637_600));
        assert_eq!(unix_seconds(&serde_json::json!("tomorrow")), None);
        assert_eq!(unix_seconds(&serde_json::json!(-5)), None);
    }

    #[test]
    fn tokens_look_like_tokens() {
        assert!(is_token("MnQ-_ab+/cd=="));
        assert!(!is_token(""));
        assert!(!is_token("a b"));
        assert!(!is_token("<script>"));
        assert!(!is_token(&"a".repeat(MAX_TOKEN_CHARS + 1)));
    }

    #[test]
    fn endpoints_and_description() {
        let policy = Arc::new(EgressPolicy::default());
        let m = BgutilMinter::new(url::Url::parse("http://user:pw@127.0.0.1:4416/base/").expect("url"), policy);
        assert_eq!(m.endpoint("get_pot").as_str(), "http://user:pw@127.0.0.1:4416/base/get_pot");
        assert_eq!(m.describe(), "http://127.0.0.1:4416/base");
    }
}
