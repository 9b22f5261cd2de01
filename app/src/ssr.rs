//! Server-only hooks the server binary can give the page.
//!
//! The page's form works without JavaScript as a plain `GET /?url=…`. To show
//! the video card in that server render, the server provides a
//! [`ServerLookup`] in the Leptos context (for example in the function it
//! passes to `leptos_routes_with_context`). Without it the page renders the
//! link in the field and looks it up once the script has loaded.

use crate::api::{ApiErrorBody, VideoInfo};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The future a lookup returns.
pub type LookupFuture = Pin<Box<dyn Future<Output = Result<VideoInfo, ApiErrorBody>> + Send>>;

/// Looks a link up the way `POST /api/video-info` does.
#[derive(Clone)]
pub struct ServerLookup(Arc<dyn Fn(String) -> LookupFuture + Send + Sync>);

impl ServerLookup {
    pub fn new(lookup: impl Fn(String) -> LookupFuture + Send + Sync + 'static) -> ServerLookup {
        ServerLookup(Arc::new(lookup))
    }

    pub fn lookup(&self, url: String) -> LookupFuture {
        (self.0)(url)
    }
}

impl std::fmt::Debug for ServerLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerLookup")
    }
}
