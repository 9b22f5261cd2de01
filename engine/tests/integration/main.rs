//! The engine's integration tests, one module per former test file, in one
//! test binary: the engine and its dependencies are linked once instead of
//! once per file. Run one part with `cargo test -p engine --test integration native::`.

mod common;
mod support;

mod children;
mod classify;
mod cookies;
mod download;
mod download_options;
mod fixture_samples;
mod jobs;
mod native;
mod native_guard;
mod native_options;
mod probe;
mod progress;
mod props;
mod quality;
mod relay;
mod store;
