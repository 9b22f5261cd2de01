//! Browser-side calls: the JSON API (gloo-net), the clipboard, localStorage
//! and cookies. On the server these do nothing: the page only calls them
//! after hydration.

use crate::api::{BatchDownloadRequest, BatchItem, DownloadRequest, JobStatus, VideoInfo, VideoInfoRequest};
use crate::i18n::{Failure, Lang};

/// Why a job's status could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusError {
    /// The server does not know the id (any more): 404.
    Gone,
    /// Anything else (network, server error).
    Other(Failure),
}

/// Asks the server what a link is.
pub async fn video_info(url: String) -> Result<VideoInfo, Failure> {
    imp::video_info(VideoInfoRequest { url }).await
}

/// Starts a download; returns its id.
pub async fn start_download(url: String, quality: String) -> Result<String, Failure> {
    imp::start_download(DownloadRequest { url, quality: Some(serde_json::Value::String(quality)) }).await
}

/// Starts one download per link (a playlist's videos), in one request.
pub async fn start_batch(urls: Vec<String>, quality: String) -> Result<Vec<BatchItem>, Failure> {
    imp::start_batch(BatchDownloadRequest { urls, quality: Some(serde_json::Value::String(quality)) }).await
}

/// Asks the server to stop a download.
pub async fn cancel_download(id: String) -> Result<(), Failure> {
    imp::cancel_download(id).await
}

/// The server's tool check as short lines of text in `lang`
/// (`GET /api/health?format=text`); `None` when it could not be fetched.
/// Text rather than the JSON report: the server words it, so the page's
/// script carries no report types or sentences.
pub async fn health_text(lang: Lang) -> Option<String> {
    imp::health_text(lang).await
}

/// The current status of a download.
pub async fn job_status(id: String) -> Result<JobStatus, StatusError> {
    imp::job_status(id).await
}

/// The caller's downloads on the server, newest first (`GET /api/downloads`):
/// at most `limit`; `None` when they could not be fetched.
pub async fn download_list(limit: usize) -> Option<Vec<crate::api::DownloadListItem>> {
    imp::download_list(limit).await
}

/// Follows a download's events, calling `on_status` for each, until its
/// terminal status or until the stream ends for good. Returns whether the
/// terminal status was seen.
pub async fn follow(id: String, on_status: impl Fn(JobStatus) + 'static) -> bool {
    imp::follow(id, on_status).await
}

/// Makes the browser save the finished file (its own download, not a page load).
pub fn save_file(url: &str) {
    imp::save_file(url)
}

/// Waits in the browser (no-op on the server).
pub async fn sleep_ms(ms: i32) {
    imp::sleep_ms(ms).await
}

/// Whether `navigator.clipboard.readText` exists here.
pub fn clipboard_available() -> bool {
    imp::clipboard_available()
}

/// The clipboard's text, when the browser allows reading it.
pub async fn read_clipboard() -> Option<String> {
    imp::read_clipboard().await
}

/// Remembers a preference in localStorage and in a cookie (a year).
pub fn remember(key: &str, value: &str) {
    store_set(key, value);
    imp::set_cookie(key, value);
}

/// A preference from localStorage.
pub fn recall(key: &str) -> Option<String> {
    store_get(key)
}

/// localStorage read (None when unavailable).
pub fn store_get(key: &str) -> Option<String> {
    imp::store_get(key)
}

/// localStorage write (ignored when unavailable or full).
pub fn store_set(key: &str, value: &str) {
    imp::store_set(key, value)
}

/// An attribute of `<html>`.
pub fn root_attribute(name: &str) -> Option<String> {
    imp::root_attribute(name)
}

/// Sets (or with `None` removes) an attribute of `<html>`.
pub fn set_root_attribute(name: &str, value: Option<&str>) {
    imp::set_root_attribute(name, value)
}

/// Puts the looked-up link into the address (`/?url=…`) without a reload,
/// so reloading or sharing the page shows the same video; `None` clears it.
pub fn show_link_in_address(link: Option<&str>) {
    imp::show_link_in_address(link)
}

/// Scrolls an element into view if it is off screen.
pub fn reveal(id: &str) {
    imp::reveal(id)
}

/// Focuses the element with this id (when it exists and can take focus).
pub fn focus(id: &str) -> bool {
    imp::focus(id)
}

/// After a row was removed: focus the list's heading, or the link field
/// when the list is now empty, so keyboard users keep their place.
pub fn focus_after_removal() {
    leptos::task::spawn_local(async {
        sleep_ms(0).await;
        if !focus("downloads-heading") {
            focus("url");
        }
    });
}

/// The path of the page: from the request during the server render, from
/// the address bar in the browser.
pub fn current_path() -> String {
    #[cfg(feature = "ssr")]
    {
        leptos::prelude::use_context::<http::request::Parts>()
            .map(|parts| parts.uri.path().to_string())
            .unwrap_or_else(|| "/".into())
    }
    #[cfg(not(feature = "ssr"))]
    {
        imp::location().0
    }
}

/// A parameter of the page's query string (`?url=…`), decoded.
pub fn query_param(name: &str) -> Option<String> {
    #[cfg(feature = "ssr")]
    let query = leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| parts.uri.query().map(str::to_string))
        .unwrap_or_default();
    #[cfg(not(feature = "ssr"))]
    let query = imp::location().1;
    find_param(query.trim_start_matches('?'), name)
}

/// `a=1&url=https%3A%2F%2Fx` → the decoded value of `name`.
pub fn find_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode_component(key) == name).then(|| decode_component(value))
    })
}

/// Form decoding: `+` is a space, `%XX` a byte; bad escapes stay as they are.
fn decode_component(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a click just now had a modifier held (so a link should open as
/// the browser would, in a new tab).
pub fn wants_new_tab(ev: &leptos::ev::MouseEvent) -> bool {
    ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key() || ev.button() != 0
}

#[cfg(feature = "hydrate")]
mod imp {
    use super::StatusError;
    use crate::api::{
        ApiErrorBody, BatchDownloadRequest, BatchDownloadStarted, BatchItem, DownloadRequest, DownloadStarted,
        JobStatus, VideoInfo, VideoInfoRequest, VideoInfoResponse,
    };
    use crate::i18n::{Failure, Lang};
    use contract::{Detail, ErrorCode};
    use futures::StreamExt;
    use gloo_net::eventsource::futures::EventSource;
    use gloo_net::eventsource::State;
    use gloo_net::http::{Request, Response};
    use wasm_bindgen::{JsCast, JsValue};

    fn unreachable() -> Failure {
        Failure::of(ErrorCode::Network)
    }

    fn bad_answer() -> Failure {
        Failure::of(ErrorCode::BadAnswer)
    }

    async fn failure(response: Response) -> Failure {
        let status = response.status();
        match response.json::<ApiErrorBody>().await {
            Ok(body) if body.code.is_some() => {
                let mut detail = body.detail.unwrap_or_default();
                detail.retry_after_secs = detail.retry_after_secs.or(body.retry_after_secs);
                Failure::from_server(body.code, Some(detail), body.error, body.hint)
            }
            _ => Failure::with(ErrorCode::HttpStatus, Detail::http_status(status)),
        }
    }

    /// POSTs `body` as JSON and reads a JSON answer; an error answer becomes
    /// its [`Failure`].
    async fn post_json<T: serde::de::DeserializeOwned>(url: &str, body: &impl serde::Serialize) -> Result<T, Failure> {
        let response =
            Request::post(url).json(body).map_err(|_| unreachable())?.send().await.map_err(|_| unreachable())?;
        if response.ok() {
            response.json().await.map_err(|_| bad_answer())
        } else {
            Err(failure(response).await)
        }
    }

    pub async fn video_info(body: VideoInfoRequest) -> Result<VideoInfo, Failure> {
        post_json::<VideoInfoResponse>("/api/video-info", &body).await.map(|reply| reply.info)
    }

    pub async fn start_download(body: DownloadRequest) -> Result<String, Failure> {
        post_json::<DownloadStarted>("/api/download", &body).await.map(|started| started.download_id)
    }

    pub async fn start_batch(body: BatchDownloadRequest) -> Result<Vec<BatchItem>, Failure> {
        post_json::<BatchDownloadStarted>("/api/download-batch", &body).await.map(|started| started.downloads)
    }

    pub async fn cancel_download(id: String) -> Result<(), Failure> {
        let response = Request::post(&format!("/api/cancel/{id}")).send().await.map_err(|_| unreachable())?;
        if response.ok() {
            Ok(())
        } else {
            Err(failure(response).await)
        }
    }

    pub async fn health_text(lang: Lang) -> Option<String> {
        let url = format!("/api/health?format=text&lang={}", lang.tag());
        let response = Request::get(&url).send().await.ok()?;
        if !response.ok() {
            return None;
        }
        response.text().await.ok()
    }

    pub async fn download_list(limit: usize) -> Option<Vec<crate::api::DownloadListItem>> {
        let response = Request::get(&format!("/api/downloads?limit={limit}")).send().await.ok()?;
        if !response.ok() {
            return None;
        }
        response.json::<crate::api::DownloadList>().await.ok().map(|list| list.downloads)
    }

    pub async fn job_status(id: String) -> Result<JobStatus, StatusError> {
        let response = Request::get(&format!("/api/status/{id}"))
            .send()
            .await
            .map_err(|_| StatusError::Other(unreachable()))?;
        match response.status() {
            200..=299 => response.json().await.map_err(|_| StatusError::Other(bad_answer())),
            404 | 410 => Err(StatusError::Gone),
            _ => Err(StatusError::Other(failure(response).await)),
        }
    }

    pub async fn follow(id: String, on_status: impl Fn(JobStatus) + 'static) -> bool {
        let Ok(mut source) = EventSource::new(&format!("/api/events/{id}")) else {
            return false;
        };
        let Ok(mut messages) = source.subscribe("message") else {
            return false;
        };
        let mut finished = false;
        // The browser reconnects by itself after a dropped connection; the
        // stream reports an error only once the source is closed for good.
        while let Some(item) = messages.next().await {
            let Ok((_, message)) = item else {
                if source.state() == State::Closed {
                    break;
                }
                continue;
            };
            let Some(text) = message.data().as_string() else { continue };
            let Ok(status) = serde_json::from_str::<JobStatus>(&text) else { continue };
            let terminal = status.is_terminal();
            on_status(status);
            if terminal {
                finished = true;
                break;
            }
        }
        source.close();
        finished
    }

    pub fn save_file(url: &str) {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        let Ok(element) = document.create_element("a") else { return };
        let Ok(anchor) = element.dyn_into::<web_sys::HtmlAnchorElement>() else { return };
        anchor.set_href(url);
        anchor.set_download("");
        anchor.click();
    }

    pub async fn sleep_ms(ms: i32) {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(window) = web_sys::window() {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }

    fn clipboard() -> Option<web_sys::Clipboard> {
        let navigator = web_sys::window()?.navigator();
        // Older browsers and insecure origins have no `navigator.clipboard`.
        let value = js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard")).ok()?;
        if value.is_undefined() || value.is_null() {
            return None;
        }
        let read = js_sys::Reflect::get(&value, &JsValue::from_str("readText")).ok()?;
        if !read.is_function() {
            return None;
        }
        value.dyn_into().ok()
    }

    pub fn clipboard_available() -> bool {
        clipboard().is_some()
    }

    pub async fn read_clipboard() -> Option<String> {
        let promise = clipboard()?.read_text();
        wasm_bindgen_futures::JsFuture::from(promise).await.ok()?.as_string()
    }

    fn storage() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok().flatten()
    }

    pub fn store_get(key: &str) -> Option<String> {
        storage()?.get_item(key).ok().flatten()
    }

    pub fn store_set(key: &str, value: &str) {
        if let Some(storage) = storage() {
            let _ = storage.set_item(key, value);
        }
    }

    pub fn set_cookie(key: &str, value: &str) {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        let Ok(document) = document.dyn_into::<web_sys::HtmlDocument>() else { return };
        let _ = document.set_cookie(&format!("{key}={value}; path=/; max-age=31536000; samesite=lax"));
    }

    fn root() -> Option<web_sys::Element> {
        web_sys::window()?.document()?.document_element()
    }

    pub fn root_attribute(name: &str) -> Option<String> {
        root()?.get_attribute(name)
    }

    pub fn set_root_attribute(name: &str, value: Option<&str>) {
        let Some(root) = root() else { return };
        let _ = match value {
            Some(value) => root.set_attribute(name, value),
            None => root.remove_attribute(name),
        };
    }

    pub fn show_link_in_address(link: Option<&str>) {
        let Some(window) = web_sys::window() else { return };
        let Ok(history) = window.history() else { return };
        let target = match link {
            Some(link) => format!("/?url={}", js_sys::encode_uri_component(link)),
            None => "/".to_string(),
        };
        let current = window.location().pathname().unwrap_or_default() + &window.location().search().unwrap_or_default();
        if current != target {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&target));
        }
    }

    pub fn focus(id: &str) -> bool {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return false };
        let Some(element) = document.get_element_by_id(id) else { return false };
        let Ok(element) = element.dyn_into::<web_sys::HtmlElement>() else { return false };
        if element.offset_parent().is_none() {
            return false; // hidden
        }
        element.focus().is_ok()
    }

    /// Path and query of the address bar.
    pub fn location() -> (String, String) {
        let Some(location) = web_sys::window().map(|w| w.location()) else { return ("/".into(), String::new()) };
        (location.pathname().unwrap_or_else(|_| "/".into()), location.search().unwrap_or_default())
    }

    pub fn reveal(id: &str) {
        let Some(window) = web_sys::window() else { return };
        let Some(element) = window.document().and_then(|d| d.get_element_by_id(id)) else { return };
        let rect = element.get_bounding_client_rect();
        let height = window.inner_height().ok().and_then(|h| h.as_f64()).unwrap_or(0.0);
        if rect.top() < 0.0 || rect.top() > height - 80.0 {
            let options = web_sys::ScrollIntoViewOptions::new();
            options.set_block(web_sys::ScrollLogicalPosition::Nearest);
            let reduce = window
                .match_media("(prefers-reduced-motion: reduce)")
                .ok()
                .flatten()
                .is_some_and(|m| m.matches());
            if !reduce {
                options.set_behavior(web_sys::ScrollBehavior::Smooth);
            }
            element.scroll_into_view_with_scroll_into_view_options(&options);
        }
    }
}

#[cfg(not(feature = "hydrate"))]
mod imp {
    use super::StatusError;
    use crate::api::{BatchDownloadRequest, BatchItem, DownloadRequest, JobStatus, VideoInfo, VideoInfoRequest};
    use crate::i18n::{Failure, Lang};

    fn browser_only() -> Failure {
        Failure::of(contract::ErrorCode::Network)
    }

    pub async fn video_info(_body: VideoInfoRequest) -> Result<VideoInfo, Failure> {
        Err(browser_only())
    }

    pub async fn start_download(_body: DownloadRequest) -> Result<String, Failure> {
        Err(browser_only())
    }

    pub async fn cancel_download(_id: String) -> Result<(), Failure> {
        Err(browser_only())
    }

    pub async fn start_batch(_body: BatchDownloadRequest) -> Result<Vec<BatchItem>, Failure> {
        Err(browser_only())
    }

    pub async fn job_status(_id: String) -> Result<JobStatus, StatusError> {
        Err(StatusError::Other(browser_only()))
    }

    pub async fn download_list(_limit: usize) -> Option<Vec<crate::api::DownloadListItem>> {
        None
    }

    pub async fn health_text(_lang: Lang) -> Option<String> {
        None
    }

    pub async fn follow(_id: String, _on_status: impl Fn(JobStatus) + 'static) -> bool {
        false
    }

    pub fn save_file(_url: &str) {}

    pub async fn sleep_ms(_ms: i32) {}

    pub fn clipboard_available() -> bool {
        false
    }

    pub async fn read_clipboard() -> Option<String> {
        None
    }

    pub fn store_get(_key: &str) -> Option<String> {
        None
    }

    pub fn store_set(_key: &str, _value: &str) {}

    pub fn set_cookie(_key: &str, _value: &str) {}

    pub fn root_attribute(_name: &str) -> Option<String> {
        None
    }

    pub fn set_root_attribute(_name: &str, _value: Option<&str>) {}

    pub fn show_link_in_address(_link: Option<&str>) {}

    pub fn reveal(_id: &str) {}

    #[cfg_attr(feature = "ssr", allow(dead_code))]
    pub fn location() -> (String, String) {
        ("/".into(), String::new())
    }

    pub fn focus(_id: &str) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::find_param;

    #[test]
    fn query_parameters_are_decoded() {
        let q = "lang=ru&url=https%3A%2F%2Fexample.com%2Fwatch%3Fv%3D1%26t%3D2&x=a+b";
        assert_eq!(find_param(q, "url").as_deref(), Some("https://example.com/watch?v=1&t=2"));
        assert_eq!(find_param(q, "x").as_deref(), Some("a b"));
        assert_eq!(find_param(q, "lang").as_deref(), Some("ru"));
        assert_eq!(find_param(q, "nope"), None);
        assert_eq!(find_param("url=%E2%9C%93%zz%4", "url").as_deref(), Some("✓%zz%4"));
        assert_eq!(find_param("", "url"), None);
    }
}
