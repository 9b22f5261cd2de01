//! Browser-side calls to the JSON API (gloo-net). On the server these are
//! never called: the page only fetches after hydration.

use crate::api::{VideoInfo, VideoInfoRequest};

/// Asks the server what a link is. The error is a sentence for the page.
pub async fn video_info(url: String) -> Result<VideoInfo, String> {
    imp::video_info(VideoInfoRequest { url }).await
}

#[cfg(feature = "hydrate")]
mod imp {
    use crate::api::{ApiErrorBody, VideoInfo, VideoInfoRequest, VideoInfoResponse};
    use gloo_net::http::{Request, Response};

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
    use crate::api::{VideoInfo, VideoInfoRequest};

    pub async fn video_info(_body: VideoInfoRequest) -> Result<VideoInfo, String> {
        Err("This action runs in the browser.".to_string())
    }
}
