//! Kachay's engine: runs `yt-dlp -J` on a URL and turns its answer into the
//! quality choices the picker offers, downloads the chosen quality with
//! progress, and manages the queue of download jobs.
//!
//! This crate knows nothing about the web: the server calls [`YtDlp::probe`],
//! shows [`choices`] to the user, submits a [`jobs::JobRequest`] to the
//! [`jobs::JobManager`] and serves the finished file.

pub mod account;
pub mod cookies;
pub mod diagnostics;
pub mod dispatch;
pub mod download;
pub mod error;
pub mod filename;
pub mod info;
pub mod jobs;
pub mod native;
pub mod package;
pub mod process;
pub mod progress;
pub mod quality;
pub mod space;
pub mod store;
pub mod ytdlp;
pub mod ytdlp_options;

pub use download::{AudioFormat, DownloadOptions, DownloadSpec, DownloadedFile};
pub use error::{EngineError, FailureKind};
pub use info::{Format, InfoJson, PlaylistEntry};
pub use jobs::{FinishedFile, JobFailure, JobManager, JobOwner, JobRequest, JobSettings, JobSnapshot, Resumed};
pub use progress::{Phase, Progress};
pub use quality::{choices, QualityChoice, QualityId};
pub use store::{JobStore, SqliteStore, StoreError};
pub use ytdlp::{Probe, YtDlp};
pub use ytdlp_options::{ExtractorArgs, JsRuntime, OptionsError, YtDlpOptions};
