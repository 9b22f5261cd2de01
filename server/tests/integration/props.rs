//! Property tests (proptest) for the link check every request goes through.
//! Longer run: `PROPTEST_CASES=100000 cargo test -p server --test props`.

use proptest::prelude::*;
use server::api::{check_url, MAX_URL_LEN};

proptest! {
    #[test]
    fn whatever_is_accepted_is_a_plain_http_link(raw in any::<String>()) {
        if let Ok(url) = check_url(&raw) {
            let parsed = url::Url::parse(&url);
            prop_assert!(parsed.is_ok(), "{url:?}");
            let parsed = parsed.map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(matches!(parsed.scheme(), "http" | "https"), "{url:?}");
            prop_assert!(parsed.host_str().is_some_and(|h| !h.is_empty()), "{url:?}");
            prop_assert!(!url.starts_with('-'), "{url:?}");
            prop_assert!(!url.chars().any(char::is_whitespace), "{url:?}");
        }
    }

    #[test]
    fn link_like_input_never_panics_and_respects_the_length_limit(
        scheme in prop_oneof![Just("http"), Just("https"), Just("ftp"), Just("-http"), Just("")],
        host in "[a-z0-9.\\-\\[\\]:]{0,40}",
        path in any::<String>(),
        pad in 0usize..3000,
    ) {
        let raw = format!(" {scheme}://{host}/{path}{} ", "x".repeat(pad));
        if let Ok(url) = check_url(&raw) {
            prop_assert!(raw.trim().len() <= MAX_URL_LEN, "{} accepted", url.len());
        }
    }
}
