//! The native download engine: yt-dlp extracts, Kachay moves the bytes.
//!
//! One module per protocol (as yt-dlp's `downloader/` does): each turns a
//! format of the info JSON into [`Fragment`]s; fetching them concurrently,
//! retrying, decrypting and assembling them is shared.

pub mod fragment;

pub use fragment::{Aes128Key, ByteRange, Fragment, Unsupported};
