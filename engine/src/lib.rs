//! Kachay's engine: runs `yt-dlp -J` on a URL and turns its answer into the
//! quality choices the picker offers.
//!
//! This crate knows nothing about the web: the server calls [`YtDlp::probe`],
//! shows [`choices`] to the user and hands the chosen selector to the
//! download stage.

pub mod error;
pub mod info;
pub mod quality;
pub mod ytdlp;

pub use error::{EngineError, FailureKind};
pub use info::{Format, InfoJson};
pub use quality::{choices, QualityChoice, QualityId};
pub use ytdlp::{Probe, YtDlp};
