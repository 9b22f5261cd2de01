//! The `Cookie` header of a media request: the cookies yt-dlp attached to a
//! format (its `cookies` field) and those of the operator's `COOKIES_FILE`
//! (Netscape format) whose domain, path and `secure` flag match the URL.
//! Values are never logged.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use url::Url;

/// One cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cookie {
    name: String,
    value: String,
    /// Lower case, without a leading dot.
    domain: String,
    /// True when subdomains match too (a leading dot, or the Netscape flag).
    subdomains: bool,
    path: String,
    secure: bool,
    /// Unix seconds; 0 = a session cookie.
    expires: u64,
}

impl Cookie {
    fn matches(&self, url: &Url, now: u64) -> bool {
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
            return false;
        };
        let domain_ok = host == self.domain || (self.subdomains && host.ends_with(&format!(".{}", self.domain)));
        let path_ok = url.path().starts_with(&self.path) || self.path.is_empty();
        let secure_ok = !self.secure || url.scheme() == "https";
        let fresh = self.expires == 0 || self.expires > now;
        domain_ok && path_ok && secure_ok && fresh
    }
}

/// Cookies for media requests.
#[derive(Debug, Clone, Default)]
pub struct CookieJar {
    cookies: Vec<Cookie>,
}

impl CookieJar {
    /// Reads a Netscape cookies file (lines of 7 tab-separated fields;
    /// `#HttpOnly_` lines count, other `#` lines are comments).
    pub fn from_netscape_file(path: &Path) -> std::io::Result<CookieJar> {
        let text = std::fs::read_to_string(path)?;
        Ok(CookieJar::from_netscape(&text))
    }

    /// Parses Netscape cookies text; malformed lines are skipped.
    pub fn from_netscape(text: &str) -> CookieJar {
        let cookies = text
            .lines()
            .filter_map(|line| {
                let line = line.strip_prefix("#HttpOnly_").unwrap_or(line);
                if line.starts_with('#') || line.trim().is_empty() {
                    return None;
                }
                let f: Vec<&str> = line.split('\t').collect();
                let [domain, flag, path, secure, expires, name, value] = f.as_slice() else {
                    return None;
                };
                let lower = domain.to_ascii_lowercase();
                Some(Cookie {
                    name: (*name).to_owned(),
                    value: value.trim_end_matches('\r').to_owned(),
                    subdomains: lower.starts_with('.') || flag.eq_ignore_ascii_case("TRUE"),
                    domain: lower.trim_start_matches('.').to_owned(),
                    path: (*path).to_owned(),
                    secure: secure.eq_ignore_ascii_case("TRUE"),
                    expires: expires.parse().unwrap_or(0),
                })
            })
            .collect();
        CookieJar { cookies }
    }

    /// Parses yt-dlp's per-format `cookies` string, e.g.
    /// `a=1; Domain=.example.com; Path=/; Secure; Expires=1700000000; b=2; …`.
    /// A cookie without a `Domain` belongs to `url`'s host.
    pub fn from_ytdlp(text: &str, url: &Url) -> CookieJar {
        const ATTRIBUTES: [&str; 7] = ["domain", "path", "secure", "expires", "max-age", "httponly", "samesite"];
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let mut cookies: Vec<Cookie> = Vec::new();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            let lower = key.trim().to_ascii_lowercase();
            if ATTRIBUTES.contains(&lower.as_str()) {
                let Some(last) = cookies.last_mut() else { continue };
                match lower.as_str() {
                    "domain" => {
                        let d = value.trim().to_ascii_lowercase();
                        last.subdomains = true;
                        last.domain = d.trim_start_matches('.').to_owned();
                    }
                    "path" => last.path = value.trim().to_owned(),
                    "secure" => last.secure = true,
                    "expires" => last.expires = value.trim().parse().unwrap_or(0),
                    _ => {}
                }
                continue;
            }
            cookies.push(Cookie {
                name: key.trim().to_owned(),
                value: value.trim().to_owned(),
                domain: host.clone(),
                subdomains: false,
                path: "/".to_owned(),
                secure: false,
                expires: 0,
            });
        }
        CookieJar { cookies }
    }

    /// Both jars' cookies.
    pub fn merged(&self, other: &CookieJar) -> CookieJar {
        let mut cookies = self.cookies.clone();
        cookies.extend(other.cookies.iter().cloned());
        CookieJar { cookies }
    }

    /// The `Cookie` header for `url`, if any cookie matches.
    pub fn header_for(&self, url: &Url) -> Option<String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let pairs: Vec<String> =
            self.cookies.iter().filter(|c| c.matches(url, now)).map(|c| format!("{}={}", c.name, c.value)).collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// True when there is no cookie at all.
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|_| Url::parse("http://invalid.test/").expect("valid"))
    }

    #[test]
    fn netscape_cookies_match_domain_path_and_scheme() {
        let jar = CookieJar::from_netscape(
            "# Netscape HTTP Cookie File\n\
             .example.com\tTRUE\t/\tTRUE\t0\tSID\tabc\n\
             #HttpOnly_media.example.com\tFALSE\t/v\tFALSE\t0\tTOK\txyz\n\
             other.org\tFALSE\t/\tFALSE\t1\tOLD\tgone\n\
             broken line\n",
        );
        assert_eq!(jar.header_for(&url("https://cdn.example.com/a")).as_deref(), Some("SID=abc"));
        assert_eq!(jar.header_for(&url("http://cdn.example.com/a")), None, "secure only");
        assert_eq!(jar.header_for(&url("https://media.example.com/v/1")).as_deref(), Some("SID=abc; TOK=xyz"));
        assert_eq!(jar.header_for(&url("https://media.example.com/x")).as_deref(), Some("SID=abc"));
        assert_eq!(jar.header_for(&url("https://other.org/")), None, "expired");
        assert_eq!(jar.header_for(&url("https://notexample.com/")), None);
    }

    #[test]
    fn ytdlp_cookie_strings_are_read() {
        let base = url("https://site.test/watch");
        let jar = CookieJar::from_ytdlp(
            "a=1; Domain=.site.test; Path=/; Secure; Expires=4102444800; b=2; Path=/media",
            &base,
        );
        assert_eq!(jar.header_for(&url("https://cdn.site.test/x")).as_deref(), Some("a=1"));
        assert_eq!(jar.header_for(&url("https://site.test/media/x")).as_deref(), Some("a=1; b=2"));
        assert!(CookieJar::from_ytdlp("", &base).is_empty());
    }
}
