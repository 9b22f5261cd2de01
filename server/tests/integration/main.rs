//! The server's integration tests, one module per former test file, in one
//! test binary: the server and everything it depends on (about 350 MB of
//! debug binary) is linked once instead of once per file. Run one part with
//! `cargo test -p server --test integration hardening_web::`.

mod common;

mod cluster;
mod cluster_jobs;
mod downloads;
mod egress;
mod hardening_egress;
mod hardening_slots;
mod hardening_web;
mod health;
mod options;
mod playlist;
mod pot_provider;
mod props;
mod restart;
mod security;
mod video_info;
mod youtube_errors;
