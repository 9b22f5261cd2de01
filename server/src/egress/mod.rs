//! The egress guard: Kachay fetches links strangers type, so it must not be
//! usable to reach the machine it runs on or the networks around it
//! (loopback, private ranges, cloud metadata at 169.254.169.254, …).
//!
//! - [`EgressPolicy`] decides which addresses may be fetched, from the
//!   `ALLOW_PRIVATE_NETWORKS` setting; the API pre-checks a link with
//!   [`EgressPolicy::check_url`]. The policy lives in the `netguard` crate
//!   (the engine's native downloader uses it too) and is re-exported here.
//! - [`EgressProxy`] is a forward proxy on 127.0.0.1 that yt-dlp and ffmpeg
//!   are sent through (`--proxy`), so every connection they make — including
//!   each redirect hop and every host a page points to — is checked, and the
//!   addresses checked are the addresses connected to.
//! - [`is_egress_refusal`] and [`egress_refusal_message`] recognise the proxy's
//!   refusal in yt-dlp's and ffmpeg's output.

mod idle;
pub mod proxy;

pub use netguard::{EgressPolicy, Refusal};
pub use proxy::{EgressProxy, ProxyTimeouts, REFUSAL_PREFIX};

/// True when yt-dlp's or ffmpeg's output shows that the egress proxy refused
/// a destination, so the caller can report a clear refusal instead of a
/// generic download failure.
///
/// Check stderr AND stdout: when yt-dlp downloads HLS fragments, the refusal
/// is only on stdout ("\[download\] Got error: HTTP Error 403: Destination
/// refused by Kachay's egress guard: …") and stderr only says "ERROR: The
/// downloaded file is empty". See `server/tests/data/egress/`.
pub fn is_egress_refusal(output: &str) -> bool {
    find_refusal(output).is_some()
}

/// The sentence the proxy gave for its first refusal in yt-dlp's or ffmpeg's
/// output, e.g. "This server does not download from private or local network
/// addresses (127.0.0.1, a loopback address).", for showing to the person.
pub fn egress_refusal_message(output: &str) -> Option<String> {
    let rest = find_refusal(output)?;
    let rest = rest.strip_prefix(':').unwrap_or(rest).trim_start();
    // The sentence ends at the first full stop outside parentheses that is
    // followed by the end, a space, a quote or a closing bracket (yt-dlp and
    // ffmpeg wrap it in several ways; IP addresses never match this).
    let mut depth = 0usize;
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '.' if depth == 0 => {
                let next = chars.peek().map(|&(_, n)| n);
                if matches!(next, None | Some(' ' | '\n' | '\r' | '"' | '\'' | '\\' | ')' | '>' | '.')) {
                    let sentence = rest[..=i].replace("\\'", "'");
                    return (!sentence.trim().is_empty()).then_some(sentence);
                }
            }
            '\n' => return None,
            _ => {}
        }
    }
    None
}

/// The text after the first refusal marker (python's repr may escape the
/// apostrophe in "Kachay's").
fn find_refusal(output: &str) -> Option<&str> {
    const ESCAPED: &str = "Destination refused by Kachay\\'s egress guard";
    [REFUSAL_PREFIX, ESCAPED]
        .iter()
        .filter_map(|marker| output.find(marker).map(|at| &output[at + marker.len()..]))
        .max_by_key(|rest| rest.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use netguard::AddressClass;

    const SENTENCE: &str = "This server does not download from private or local network \
                            addresses (127.0.0.1, a loopback address).";

    fn data(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/egress").join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn egress_captured_outputs_are_recognised() {
        for name in [
            "yt-dlp-http-refused.txt",
            "yt-dlp-https-refused.txt",
            "yt-dlp-redirect-refused.txt",
            "yt-dlp-hls-segment-refused.stdout.txt",
            "ffmpeg-refused.txt",
            "ffmpeg-hls-segment-refused.txt",
        ] {
            let text = data(name);
            assert!(is_egress_refusal(&text), "{name}");
            assert_eq!(egress_refusal_message(&text).as_deref(), Some(SENTENCE), "{name}");
        }
        let stderr = data("yt-dlp-hls-segment-refused.stderr.txt");
        assert!(!is_egress_refusal(&stderr), "that stderr has no refusal");
    }

    #[test]
    fn egress_other_failures_are_not_refusals() {
        for other in [
            "ERROR: Unsupported URL: http://127.0.0.2:40000/page",
            "ERROR: [generic] Unable to download webpage: HTTP Error 404: Not Found (caused by <HTTPError 404: Not Found>)",
            "ERROR: [generic] Unable to download webpage: HTTP Error 403: Forbidden (caused by <HTTPError 403: Forbidden>)",
            "ERROR: Unable to download webpage: ('Unable to connect to proxy', OSError('Tunnel connection failed: 407 Proxy Authentication Required'))",
            "ERROR: [generic] Unable to download webpage: HTTP Error 502: Bad Gateway",
            "",
        ] {
            assert!(!is_egress_refusal(other), "{other}");
            assert_eq!(egress_refusal_message(other), None, "{other}");
        }
    }

    #[test]
    fn egress_message_of_other_refusals() {
        for refusal in [
            Refusal::MissingHost,
            Refusal::ProxyLoop,
            Refusal::InvalidHost { host: "a b".into() },
            Refusal::Blocked {
                host: Some("localhost.".into()),
                ip: "::1".parse().expect("ip"),
                embedded: None,
                class: AddressClass::Loopback,
            },
            Refusal::Blocked {
                host: None,
                ip: "::ffff:169.254.169.254".parse().expect("ip"),
                embedded: Some(std::net::Ipv4Addr::new(169, 254, 169, 254)),
                class: AddressClass::LinkLocal,
            },
        ] {
            let sentence = refusal.to_string();
            for wrapped in [
                format!("HTTP Error 403: {REFUSAL_PREFIX}: {sentence} (caused by <HTTPError 403: {REFUSAL_PREFIX}: {sentence}>)"),
                format!("[download] Got error: HTTP Error 403: {REFUSAL_PREFIX}: {sentence}. Retrying fragment 1 (1/10)..."),
                format!("OSError(\"Tunnel connection failed: 403 {REFUSAL_PREFIX}: {sentence}\"))"),
                format!("[http @ 0x1] HTTP error 403 {REFUSAL_PREFIX}: {sentence}\nnext line"),
                format!("{REFUSAL_PREFIX}: {sentence}"),
            ] {
                assert_eq!(egress_refusal_message(&wrapped).as_deref(), Some(sentence.as_str()), "{wrapped}");
            }
        }
        let escaped = "ProxyError('(\\'Unable\\', OSError(\"Tunnel connection failed: 403 Destination refused by Kachay\\'s egress guard: This server does not send its proxy\\'s requests back to the proxy itself.\"))')";
        assert!(is_egress_refusal(escaped));
        assert_eq!(
            egress_refusal_message(escaped).as_deref(),
            Some("This server does not send its proxy's requests back to the proxy itself.")
        );
    }
}
