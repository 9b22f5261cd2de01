//! # netguard
//!
//! Kachay fetches links strangers type. This crate keeps that from being a way
//! to reach the machine Kachay runs on or the networks around it (loopback,
//! private ranges, cloud metadata at 169.254.169.254, …). The server's egress
//! proxy (for yt-dlp and ffmpeg) and the engine's native downloader both use it.
//!
//! ## What it guarantees
//!
//! - [`EgressPolicy`] classifies addresses and refuses every special-purpose
//!   range (and the IPv6 forms that embed a refused IPv4 address) unless the
//!   operator allowed it with `ALLOW_PRIVATE_NETWORKS`. A host name is
//!   resolved once and refused when ANY of its addresses is refused; the
//!   checked addresses are the ones connected to, so a rebinding DNS server
//!   gets no second lookup to answer differently.
//! - [`GuardedClient`] never opens a connection to a refused address:
//!   - IP-literal URLs, in every form the url crate understands (`2130706433`,
//!     `0x7f000001`, `127.1`, `[::ffff:127.0.0.1]` …), are refused by
//!     [`GuardedClient::check_url`] before a request exists;
//!   - host names go through the client's only resolver, which is the policy;
//!   - every redirect hop is checked the same way, non-http(s) targets are
//!     refused, and chains stop after [`ClientSettings::max_redirects`];
//!   - proxy environment variables (`HTTP_PROXY`, `ALL_PROXY` …) are ignored.
//!
//!   A refusal comes back either as the [`Refusal`] from `get`/`head`, or
//!   inside the `reqwest::Error` of the send, where [`refusal_of`] finds it.
//!   Requests built on [`GuardedClient::inner`] directly skip the IP-literal
//!   pre-check (see there).
//!
//! ## Why reqwest
//!
//! It is well kept and widely used, does TLS with rustls (no system OpenSSL),
//! streams bodies, and has the two hooks the guard needs: a custom DNS
//! resolver ([`reqwest::dns::Resolve`]), whose answer is exactly what hyper
//! connects to, and a custom redirect policy that sees every hop before it is
//! requested.
//!
//! ## Why HTTP/1.1 only
//!
//! The native downloader fetches one file with several range requests at
//! once, and wants them on truly separate TCP connections (each with its own
//! congestion window, and what per-connection throttling expects). HTTP/2
//! would multiplex them onto one connection to the host, so the client is
//! built with `http1_only` and reqwest's `http2` feature stays off.

mod client;
mod policy;

pub use client::{refusal_of, too_many_redirects, ClientSettings, GuardedClient, TooManyRedirects};
pub use policy::{AddressClass, EgressPolicy, PolicyError, Refusal, RESOLVE_TIMEOUT};
