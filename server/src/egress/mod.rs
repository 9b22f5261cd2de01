//! The egress guard: Kachay fetches links strangers type, so it must not be
//! usable to reach the machine it runs on or the networks around it
//! (loopback, private ranges, cloud metadata at 169.254.169.254, …).
//!
//! - [`EgressPolicy`] decides which addresses may be fetched, from the
//!   `ALLOW_PRIVATE_NETWORKS` setting; the API pre-checks a link with
//!   [`EgressPolicy::check_url`].
//! - [`EgressProxy`] is a forward proxy on 127.0.0.1 that yt-dlp and ffmpeg
//!   are sent through (`--proxy`), so every connection they make — including
//!   each redirect hop and every host a page points to — is checked, and the
//!   addresses checked are the addresses connected to.
//! - [`is_egress_refusal`] recognises the proxy's refusal in yt-dlp's stderr.

mod idle;
pub mod policy;
pub mod proxy;

pub use policy::{AddressClass, EgressPolicy, PolicyError, Refusal, RESOLVE_TIMEOUT};
pub use proxy::{EgressProxy, ProxyTimeouts, CONNECT_TIMEOUT, IDLE_TIMEOUT, REFUSAL_PREFIX};

/// True when yt-dlp's (or ffmpeg's) stderr shows that the egress proxy
/// refused a destination, so the caller can report a clear refusal instead
/// of a generic download failure. The refusal sentence itself follows
/// [`REFUSAL_PREFIX`] in the text.
pub fn is_egress_refusal(stderr: &str) -> bool {
    stderr.contains(REFUSAL_PREFIX)
}
