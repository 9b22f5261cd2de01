//! Browser-side calls: the JSON API (gloo-net), the clipboard, localStorage
//! and cookies. On the server these do nothing: the page only calls them
//! after hydration.
//!
//! Each call is written once: the browser code sits in a
//! `#[cfg(feature = "hydrate")]` block of its body, next to the server's
//! answer (an error, `None`, or nothing) in a `#[cfg(not(...))]` one.

// On the server most bodies are empty, so their arguments go unused there.
#![cfg_attr(not(feature = "hydrate"), allow(unused_variables))]

use crate::api::{
    BatchDownloadRequest, BatchDownloadStarted, BatchItem, DownloadChoices, DownloadRequest, DownloadStarted,
    JobStatus, VideoInfo, VideoInfoRequest, VideoInfoResponse,
};
use crate::i18n::{Failure, Lang};
use contract::ErrorCode;
use serde::de::DeserializeOwned;
use serde::Serialize;

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
    post_json::<VideoInfoResponse>("/api/video-info", &VideoInfoRequest { url }).await.map(|reply| reply.info)
}

/// Starts a download; returns its id.
pub async fn start_download(url: String, quality: String, choices: DownloadChoices) -> Result<String, Failure> {
    let body = DownloadRequest { url, quality: Some(serde_json::Value::String(quality)), choices };
    post_json::<DownloadStarted>("/api/download", &body).await.map(|started| started.download_id)
}

/// Starts one download per link (a playlist's videos), in one request.
pub async fn start_batch(
    urls: Vec<String>,
    quality: String,
    choices: DownloadChoices,
) -> Result<Vec<BatchItem>, Failure> {
    let body = BatchDownloadRequest { urls, quality: Some(serde_json::Value::String(quality)), choices };
    post_json::<BatchDownloadStarted>("/api/download-batch", &body).await.map(|started| started.downloads)
}

/// Asks the server to stop a download.
pub async fn cancel_download(id: String) -> Result<(), Failure> {
    let reply = fetch(Method::Post, &format!("/api/cancel/{id}"), None).await?;
    if reply.ok() {
        Ok(())
    } else {
        Err(reply.failure())
    }
}

/// The server's tool check as short lines of text in `lang`
/// (`GET /api/health?format=text`); `None` when it could not be fetched.
/// Text rather than the JSON report: the server words it, so the page's
/// script carries no report types or sentences.
pub async fn health_text(lang: Lang) -> Option<String> {
    let reply = fetch(Method::Get, &format!("/api/health?format=text&lang={}", lang.tag()), None).await.ok()?;
    if !reply.ok() {
        return None;
    }
    reply.body
}

/// The current status of a download.
pub async fn job_status(id: String) -> Result<JobStatus, StatusError> {
    let reply = fetch(Method::Get, &format!("/api/status/{id}"), None).await.map_err(StatusError::Other)?;
    match reply.status {
        200..=299 => reply.json().ok_or_else(|| StatusError::Other(bad_answer())),
        404 | 410 => Err(StatusError::Gone),
        _ => Err(StatusError::Other(reply.failure())),
    }
}

/// The caller's downloads on the server, newest first (`GET /api/downloads`):
/// at most `limit`; `None` when they could not be fetched.
pub async fn download_list(limit: usize) -> Option<Vec<JobStatus>> {
    let reply = fetch(Method::Get, &format!("/api/downloads?limit={limit}"), None).await.ok()?;
    if !reply.ok() {
        return None;
    }
    reply.json::<Statuses>().map(|list| list.downloads)
}

/// `GET /api/downloads` as the page reads it: only the statuses. Reading
/// `contract::api::DownloadList` itself would bring serde's buffering
/// deserializer for its `#[serde(flatten)]` into the WASM (kilobytes) for
/// two times the page does not show.
#[derive(serde::Deserialize)]
struct Statuses {
    downloads: Vec<JobStatus>,
}

/// Follows a download's events, calling `on_status` for each, until its
/// terminal status or until the stream ends for good. Returns whether the
/// terminal status was seen.
pub async fn follow(id: String, on_status: impl Fn(JobStatus) + 'static) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use futures::StreamExt;
        use gloo_net::eventsource::futures::EventSource;
        use gloo_net::eventsource::State;

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
    #[cfg(not(feature = "hydrate"))]
    false
}

/// Makes the browser save the finished file (its own download, not a page load).
pub fn save_file(url: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(document) = web::document() else { return };
        let Ok(element) = document.create_element("a") else { return };
        let Ok(anchor) = element.dyn_into::<web_sys::HtmlAnchorElement>() else { return };
        anchor.set_href(url);
        anchor.set_download("");
        anchor.click();
    }
}

/// Waits in the browser (no-op on the server).
pub async fn sleep_ms(ms: i32) {
    #[cfg(feature = "hydrate")]
    {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(window) = web_sys::window() {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
}

/// The clipboard's text, when the browser allows reading it.
pub async fn read_clipboard() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let promise = web::clipboard()?.read_text();
        wasm_bindgen_futures::JsFuture::from(promise).await.ok()?.as_string()
    }
    #[cfg(not(feature = "hydrate"))]
    None
}

/// Remembers a preference in localStorage and in a cookie (a year).
pub fn remember(key: &str, value: &str) {
    store_set(key, value);
    set_cookie(key, value);
}

/// A preference from localStorage.
pub fn recall(key: &str) -> Option<String> {
    store_get(key)
}

/// localStorage read (None when unavailable).
pub fn store_get(key: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        web::storage()?.get_item(key).ok().flatten()
    }
    #[cfg(not(feature = "hydrate"))]
    None
}

/// localStorage write (ignored when unavailable or full).
pub fn store_set(key: &str, value: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(storage) = web::storage() {
        let _ = storage.set_item(key, value);
    }
}

/// A cookie for the server's render of the next page (a year).
fn set_cookie(key: &str, value: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(document) = web::document() else { return };
        let Ok(document) = document.dyn_into::<web_sys::HtmlDocument>() else { return };
        let _ = document.set_cookie(&format!("{key}={value}; path=/; max-age=31536000; samesite=lax"));
    }
}

/// An attribute of `<html>`.
pub fn root_attribute(name: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        web::root()?.get_attribute(name)
    }
    #[cfg(not(feature = "hydrate"))]
    None
}

/// Sets (or with `None` removes) an attribute of `<html>`.
pub fn set_root_attribute(name: &str, value: Option<&str>) {
    #[cfg(feature = "hydrate")]
    {
        let Some(root) = web::root() else { return };
        let _ = match value {
            Some(value) => root.set_attribute(name, value),
            None => root.remove_attribute(name),
        };
    }
}

/// Puts the looked-up link into the address (`/?url=…`) without a reload,
/// so reloading or sharing the page shows the same video; `None` clears it.
pub fn show_link_in_address(link: Option<&str>) {
    #[cfg(feature = "hydrate")]
    {
        let Some(window) = web_sys::window() else { return };
        let Ok(history) = window.history() else { return };
        let target = match link {
            Some(link) => format!("/?url={}", js_sys::encode_uri_component(link)),
            None => "/".to_string(),
        };
        let current =
            window.location().pathname().unwrap_or_default() + &window.location().search().unwrap_or_default();
        if current != target {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&target));
        }
    }
}

/// The named fields inside the element `id`, as (name, value) pairs the
/// way a form sends them: ticked boxes and chosen radio buttons only, every
/// select and text field. Empty when there is no such element (or on the
/// server).
pub fn form_values(id: &str) -> Vec<(String, String)> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let mut pairs = Vec::new();
        let Some(root) = web::document().and_then(|d| d.get_element_by_id(id)) else { return pairs };
        for tag in ["input", "select"] {
            let fields = root.get_elements_by_tag_name(tag);
            for i in 0..fields.length() {
                // `name`, `type`, `value` and `checked` are read by name in
                // JavaScript, so a select answers them as well.
                let Some(field) = fields.item(i).map(|f| f.unchecked_into::<web_sys::HtmlInputElement>()) else {
                    continue;
                };
                let kind = field.type_();
                let name = field.name();
                if name.is_empty() || (matches!(kind.as_str(), "checkbox" | "radio") && !field.checked()) {
                    continue;
                }
                pairs.push((name, field.value()));
            }
        }
        pairs
    }
    #[cfg(not(feature = "hydrate"))]
    Vec::new()
}

/// Sets what the element `id` shows: its text (`text`), an attribute
/// (`("aria-invalid", Some("true"))`, `None` removes it), a field's value,
/// or a CSS property (custom ones too). Parts of the page written as markup
/// are kept up to date this way (see `components::clip_range`).
pub fn set_text(id: &str, text: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(element) = web::document().and_then(|d| d.get_element_by_id(id)) {
        element.set_text_content(Some(text));
    }
}

/// See [`set_text`].
pub fn set_attribute(id: &str, name: &str, value: Option<&str>) {
    #[cfg(feature = "hydrate")]
    if let Some(element) = web::document().and_then(|d| d.get_element_by_id(id)) {
        let _ = match value {
            Some(value) => element.set_attribute(name, value),
            None => element.remove_attribute(name),
        };
    }
}

/// Whether the element `id` has the attribute `name` (a `<details>`'s
/// `open`, say).
pub fn has_attribute(id: &str, name: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        web::document().and_then(|d| d.get_element_by_id(id)).is_some_and(|e| e.has_attribute(name))
    }
    #[cfg(not(feature = "hydrate"))]
    false
}

/// See [`set_text`].
pub fn set_value(id: &str, value: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(element) = web::document().and_then(|d| d.get_element_by_id(id)) {
            element.unchecked_into::<web_sys::HtmlInputElement>().set_value(value);
        }
    }
}

/// See [`set_text`].
pub fn set_style(id: &str, property: &str, value: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(element) = web::document().and_then(|d| d.get_element_by_id(id)) {
            let _ = element.unchecked_into::<web_sys::HtmlElement>().style().set_property(property, value);
        }
    }
}

/// Whether `part` occurs in `text`. By hand: `str::contains` brings a
/// general string searcher into the WASM, more than a short filter needs.
pub fn has_part(text: &str, part: &str) -> bool {
    part.is_empty() || text.as_bytes().windows(part.len()).any(|w| w == part.as_bytes())
}

/// Hides the `<label>`s inside the element `id` whose `data-words` do not
/// contain `text` (and shows the others).
pub fn show_matching(id: &str, text: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(root) = web::document().and_then(|d| d.get_element_by_id(id)) else { return };
        let labels = root.get_elements_by_tag_name("label");
        for i in 0..labels.length() {
            let Some(label) = labels.item(i) else { continue };
            if let Some(words) = label.get_attribute("data-words") {
                label.unchecked_into::<web_sys::HtmlElement>().set_hidden(!has_part(&words, text));
            }
        }
    }
}

/// Scrolls an element into view if it is off screen.
pub fn reveal(id: &str) {
    #[cfg(feature = "hydrate")]
    {
        let Some(window) = web_sys::window() else { return };
        let Some(element) = window.document().and_then(|d| d.get_element_by_id(id)) else { return };
        let rect = element.get_bounding_client_rect();
        let height = window.inner_height().ok().and_then(|h| h.as_f64()).unwrap_or(0.0);
        if rect.top() < 0.0 || rect.top() > height - 80.0 {
            let options = web_sys::ScrollIntoViewOptions::new();
            options.set_block(web_sys::ScrollLogicalPosition::Nearest);
            let reduce =
                window.match_media("(prefers-reduced-motion: reduce)").ok().flatten().is_some_and(|m| m.matches());
            if !reduce {
                options.set_behavior(web_sys::ScrollBehavior::Smooth);
            }
            element.scroll_into_view_with_scroll_into_view_options(&options);
        }
    }
}

/// Focuses the element with this id (when it exists and can take focus).
pub fn focus(id: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(element) = web::document().and_then(|d| d.get_element_by_id(id)) else { return false };
        let Ok(element) = element.dyn_into::<web_sys::HtmlElement>() else { return false };
        if element.offset_parent().is_none() {
            return false; // hidden
        }
        element.focus().is_ok()
    }
    #[cfg(not(feature = "hydrate"))]
    false
}

/// After a row was removed: focus the list's heading, or the link field
/// when the list is now empty, so keyboard users keep their place. The
/// caller says which: the list hides itself when empty, and whether that
/// has reached the page by the time this runs is a race (the heading would
/// take the focus and then vanish with it).
pub fn focus_after_removal(list_empty: bool) {
    leptos::task::spawn_local(async move {
        sleep_ms(0).await;
        if list_empty || !focus("downloads-heading") {
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
        location().0
    }
}

/// A parameter of the page's query string (`?url=…`), decoded.
pub fn query_param(name: &str) -> Option<String> {
    #[cfg(feature = "ssr")]
    let query = leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| parts.uri.query().map(str::to_string))
        .unwrap_or_default();
    #[cfg(not(feature = "ssr"))]
    let query = location().1;
    find_param(query.trim_start_matches('?'), name)
}

/// This page's origin (`https://host:port`); `None` on the server.
pub fn origin() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window().and_then(|w| w.location().origin().ok())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// Path and query of the address bar.
#[cfg(not(feature = "ssr"))]
fn location() -> (String, String) {
    #[cfg(feature = "hydrate")]
    if let Some(location) = web_sys::window().map(|w| w.location()) {
        return (location.pathname().unwrap_or_else(|_| "/".into()), location.search().unwrap_or_default());
    }
    ("/".into(), String::new())
}

/// `a=1&url=https%3A%2F%2Fx` → the decoded value of `name`.
fn find_param(query: &str, name: &str) -> Option<String> {
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

#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
}

/// The server's answer, read in full: every caller wants all of it or none.
// Only the browser receives answers; on the server `fetch` fails at once.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct Reply {
    status: u16,
    /// `None` when the body could not be read.
    body: Option<String>,
}

impl Reply {
    fn ok(&self) -> bool {
        (200..=299).contains(&self.status)
    }

    /// The body as `T`, when it is one.
    fn json<T: DeserializeOwned>(&self) -> Option<T> {
        self.body.as_deref().and_then(|text| serde_json::from_str(text).ok())
    }

    /// An error answer as the page words it: the server's code and detail
    /// when it sent its error body, else just the HTTP status.
    fn failure(&self) -> Failure {
        match self.json::<crate::api::ApiErrorBody>() {
            Some(body) if body.code.is_some() => {
                let mut detail = body.detail.unwrap_or_default();
                detail.retry_after_secs = detail.retry_after_secs.or(body.retry_after_secs);
                Failure::from_server(body.code, Some(detail), body.error, body.hint)
            }
            _ => Failure::with(ErrorCode::HttpStatus, contract::Detail::http_status(self.status)),
        }
    }
}

/// POSTs `body` as JSON and reads a JSON answer; an error answer becomes
/// its [`Failure`].
async fn post_json<T: DeserializeOwned>(url: &str, body: &impl Serialize) -> Result<T, Failure> {
    let json = serde_json::to_string(body).map_err(|_| Failure::of(ErrorCode::Network))?;
    let reply = fetch(Method::Post, url, Some(json)).await?;
    if reply.ok() {
        reply.json().ok_or_else(bad_answer)
    } else {
        Err(reply.failure())
    }
}

/// A success answer that is not what the API promises.
fn bad_answer() -> Failure {
    Failure::of(ErrorCode::BadAnswer)
}

/// One request to the server (`json`: a JSON body). The only failure is not
/// reaching it; what it answered, error or not, is the caller's to read.
/// On the server there is nobody to ask: the page calls the API only after
/// hydration.
async fn fetch(method: Method, url: &str, json: Option<String>) -> Result<Reply, Failure> {
    #[cfg(feature = "hydrate")]
    {
        use gloo_net::http::Request;
        let unreachable = |_| Failure::of(ErrorCode::Network);
        let builder = match method {
            Method::Get => Request::get(url),
            Method::Post => Request::post(url),
        };
        // As gloo's `RequestBuilder::json` does it, with the text made above.
        let request = match json {
            Some(json) => builder.header("Content-Type", "application/json").body(json).map_err(unreachable)?,
            None => builder.build().map_err(unreachable)?,
        };
        let response = request.send().await.map_err(unreachable)?;
        Ok(Reply { status: response.status(), body: response.text().await.ok() })
    }
    #[cfg(not(feature = "hydrate"))]
    Err(Failure::of(ErrorCode::Network))
}

/// Small lookups shared by the browser bodies above.
#[cfg(feature = "hydrate")]
mod web {
    use wasm_bindgen::{JsCast, JsValue};

    pub fn document() -> Option<web_sys::Document> {
        web_sys::window()?.document()
    }

    pub fn root() -> Option<web_sys::Element> {
        document()?.document_element()
    }

    pub fn storage() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok().flatten()
    }

    pub fn clipboard() -> Option<web_sys::Clipboard> {
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
