//! What every part of Kachay agrees on: the JSON API's shapes ([`api`]), the
//! error codes ([`ErrorCode`]) and job states ([`JobState`]) as enums, and
//! one table of sentences for them in every language ([`sentences`]).
//!
//! Serde only, so the browser (WASM) and the server build the same types:
//! a code the page does not translate, or a language without a sentence for
//! some code, is a compile error rather than an English fallback at run time.

pub mod api;
pub mod clip;
mod code;
pub mod format;
mod lang;
pub mod media;
pub mod sentences;
mod state;

pub use code::{Detail, ErrorCode};
pub use lang::Lang;
pub use state::{JobState, PostStep};
