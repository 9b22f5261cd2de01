//! Browser-side calls to the JSON API (gloo-net). On the server these are
//! never called: the page only fetches after hydration.

use crate::api::{DownloadRequest, JobStatus, VideoInfo, VideoInfoRequest};

/// Asks the server what a link is. The error is a sentence for the page.
pub async fn video_info(url: String) -> Result<VideoInfo, String> {
    imp::video_info(VideoInfoRequest { url }).await
}

/// Starts a download; returns its id.
pub async fn start_download(url: String, quality: String) -> Result<String, String> {
    imp::start_download(DownloadRequest { url, quality: Some(serde_json::Value::String(quality)) }).await
}

/// Asks the server to stop a download.
pub async fn cancel_download(id: String) -> Result<(), String> {
    imp::cancel_download(id).await
}

/// Follows a download's events until its terminal status, calling `on_status`
/// for each. Returns when the stream ends.
pub async fn follow(id: String, on_status: impl Fn(JobStatus) + 'static) {
    imp::follow(id, on_status).await
}

/// Makes the browser save the finished file (its own download, not a page load).
pub fn save_file(url: &str) {
    imp::save_file(url)
}

#[cfg(feature = "hydrate")]
mod imp {
    use crate::api::{
        ApiErrorBody, DownloadRequest, DownloadStarted, JobStatus, VideoInfo, VideoInfoRequest, VideoInfoResponse,
    };
    use futures::StreamExt;
    use gloo_net::eventsource::futures::EventSource;
    use gloo_net::http::{Request, Response};
    use wasm_bindgen::JsCast;

    pub async fn start_download(body: DownloadRequest) -> Result<String, String> {
        let response = Request::post("/api/download")
            .json(&body)
            .map_err(|_| UNREACHABLE.to_string())?
            .send()
            .await
            .map_err(|_| UNREACHABLE.to_string())?;
        if response.ok() {
            let started: DownloadStarted = response
                .json()
                .await
                .map_err(|_| "The server sent an answer this page does not understand.".to_string())?;
            Ok(started.download_id)
        } else {
            Err(error_text(response).await)
        }
    }

    pub async fn cancel_download(id: String) -> Result<(), String> {
        let response = Request::post(&format!("/api/cancel/{id}"))
            .send()
            .await
            .map_err(|_| UNREACHABLE.to_string())?;
        if response.ok() {
            Ok(())
        } else {
            Err(error_text(response).await)
        }
    }

    pub async fn follow(id: String, on_status: impl Fn(JobStatus) + 'static) {
        let Ok(mut source) = EventSource::new(&format!("/api/events/{id}")) else {
            return;
        };
        let Ok(mut messages) = source.subscribe("message") else {
            return;
        };
        while let Some(Ok((_, message))) = messages.next().await {
            let Some(text) = message.data().as_string() else { continue };
            let Ok(status) = serde_json::from_str::<JobStatus>(&text) else { continue };
            let terminal = status.is_terminal();
            on_status(status);
            if terminal {
                break;
            }
        }
        source.close();
    }

    pub fn save_file(url: &str) {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        let Ok(element) = document.create_element("a") else { return };
        let Ok(anchor) = element.dyn_into::<web_sys::HtmlAnchorElement>() else { return };
        anchor.set_href(url);
        anchor.set_download("");
        anchor.click();
    }

    const UNREACHABLE: &str = "The server could not be reached. Check your connection and try again.";

    pub async fn video_info(body: VideoInfoRequest) -> Result<VideoInfo, String> {
        let response = Request::post("/api/video-info")
            .json(&body)
            .map_err(|_| UNREACHABLE.to_string())?
            .send()
            .await
            .map_err(|_| UNREACHABLE.to_string())?;
        if response.ok() {
            let reply: VideoInfoResponse = response
                .json()
                .await
                .map_err(|_| "The server sent an answer this page does not understand.".to_string())?;
            Ok(reply.info)
        } else {
            Err(error_text(response).await)
        }
    }

    async fn error_text(response: Response) -> String {
        let status = response.status();
        match response.json::<ApiErrorBody>().await {
            Ok(body) => body.error,
            Err(_) => format!("The server answered with an error ({status}). Try again in a moment."),
        }
    }
}

#[cfg(not(feature = "hydrate"))]
mod imp {
    use crate::api::{DownloadRequest, JobStatus, VideoInfo, VideoInfoRequest};

    const BROWSER_ONLY: &str = "This action runs in the browser.";

    pub async fn video_info(_body: VideoInfoRequest) -> Result<VideoInfo, String> {
        Err(BROWSER_ONLY.to_string())
    }

    pub async fn start_download(_body: DownloadRequest) -> Result<String, String> {
        Err(BROWSER_ONLY.to_string())
    }

    pub async fn cancel_download(_id: String) -> Result<(), String> {
        Err(BROWSER_ONLY.to_string())
    }

    pub async fn follow(_id: String, _on_status: impl Fn(JobStatus) + 'static) {}

    pub fn save_file(_url: &str) {}
}
