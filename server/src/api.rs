//! The JSON API (seed-compatible routes under `/api`).

use crate::cluster::slots::NoSlot;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{FromRequest, State};
use axum::routing::post;
use axum::{Json, Router};
use contract::api::{
    PlaylistInfo, PlaylistItem, Quality, SubtitleTrack, VideoInfo, VideoInfoRequest, VideoInfoResponse,
};
use contract::format::{format_duration, group_thousands};
use contract::{Detail, ErrorCode};
use engine::{choices, Probe, QualityId};
use std::sync::Arc;

/// The longest link accepted, in bytes.
pub const MAX_URL_LEN: usize = 2048;

/// `axum::Json` whose rejections speak our error format.
#[derive(FromRequest)]
#[from_request(via(Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/video-info", post(video_info))
}

async fn video_info(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<VideoInfoRequest>,
) -> Result<Json<VideoInfoResponse>, ApiError> {
    let url = check_url(&request.url)?;
    let probe = lookup(&state, url).await?;
    Ok(Json(VideoInfoResponse { success: true, info: describe(&probe, state.ytdlp.max_playlist_items()) }))
}

/// Why a lookup that ran (or waited) in the cache's loader failed.
#[derive(Debug)]
enum LookupFailure {
    /// No lookup slot became free within the wait.
    Busy {
        waited: std::time::Duration,
    },
    Engine(Arc<engine::EngineError>),
    /// The shared lookup limit cannot be read (Redis is down).
    Unavailable(crate::cluster::Unavailable),
}

/// Looks a link up, answering from the cache when it was seen recently.
/// The destination is checked by the egress guard first (the proxy checks
/// every connection yt-dlp makes, redirects included, as well).
///
/// At most `MAX_CONCURRENT_LOOKUPS` yt-dlp lookups run at once: each costs a
/// Python process and its memory, and a slow page could otherwise hold one
/// per request. A lookup waits `LOOKUP_WAIT_SECS` for a slot, then gives up
/// with 503 and `Retry-After`. With the operator's cookies configured, links
/// to account pages are refused before anything runs.
pub async fn lookup(state: &AppState, url: String) -> Result<Arc<Probe>, ApiError> {
    if state.ytdlp.cookies_file().is_some() {
        if let Some(what) = engine::account::account_page(&url) {
            tracing::info!(what, "refused an account page (cookies are configured)");
            return Err(ApiError::AccountPage(what));
        }
    }
    if let Some(probe) = state.info_cache.get(&url).await {
        return Ok(probe);
    }
    let parsed = url::Url::parse(&url).map_err(|_| ApiError::of(ErrorCode::InvalidUrl))?;
    if let Err(refusal) = state.egress.check_url(&parsed).await {
        return Err(if refusal.is_policy() {
            ApiError::Refused(refusal.to_string())
        } else {
            ApiError::of(ErrorCode::RemoteUnreachable)
        });
    }
    let ytdlp = state.ytdlp.clone();
    let slots = Arc::clone(&state.lookup_slots);
    let wait = state.config.lookup_wait();
    let key = url.clone();
    let shared = state.shared.clone();
    // The slot is taken inside the loader, so that lookups of one link
    // waiting for the same run do not hold slots of their own; an answer
    // another node shared needs none.
    let loader = async move {
        if let Some(probe) = match &shared {
            Some(shared) => shared.info.get(&url).await,
            None => None,
        } {
            return Ok(Arc::new(probe));
        }
        let deadline = tokio::time::Instant::now() + wait;
        let _slot = match tokio::time::timeout_at(deadline, slots.acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) | Err(_) => return Err(LookupFailure::Busy { waited: wait }),
        };
        // With several nodes, the limit is for all of them together.
        let _lease = match &shared {
            Some(shared) => Some(shared.lookups.acquire(deadline).await.map_err(|e| match e {
                NoSlot::Busy => LookupFailure::Busy { waited: wait },
                NoSlot::Unavailable(e) => LookupFailure::Unavailable(e),
            })?),
            None => None,
        };
        let probe = ytdlp.probe(&url).await.map_err(|e| LookupFailure::Engine(Arc::new(e)))?;
        if let Some(shared) = &shared {
            shared.info.put(&url, &probe).await;
        }
        Ok(Arc::new(probe))
    };
    state.info_cache.try_get_with(key, loader).await.map_err(|failure| match &*failure {
        LookupFailure::Busy { waited } => {
            tracing::warn!(waited_secs = waited.as_secs(), "every lookup slot is busy");
            ApiError::LookupsBusy { retry_after: waited.as_secs().clamp(2, 30) }
        }
        LookupFailure::Engine(err) => ApiError::Engine(Arc::clone(err)),
        LookupFailure::Unavailable(e) => {
            tracing::warn!(error = %e, "lookup refused: the shared lookup limit cannot be read");
            ApiError::SharedStateUnavailable
        }
    })
}

/// Trims the link and checks it is one we are willing to hand to yt-dlp.
pub fn check_url(raw: &str) -> Result<String, ApiError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(ApiError::of(ErrorCode::MissingUrl));
    }
    if trimmed.len() > MAX_URL_LEN {
        return Err(ApiError::with(ErrorCode::UrlTooLong, Detail::limit(MAX_URL_LEN as u64)));
    }
    if trimmed.starts_with('-') {
        return Err(ApiError::of(ErrorCode::InvalidUrl));
    }
    let parsed = url::Url::parse(trimmed).map_err(|_| ApiError::of(ErrorCode::InvalidUrl))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ApiError::of(ErrorCode::UnsupportedScheme));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::with(ErrorCode::InvalidUrl, Detail::reason("That link has no site name in it.")));
    }
    Ok(parsed.to_string())
}

/// The preview card's contents, in the seed service's shape.
pub fn describe(probe: &Probe, max_items: usize) -> VideoInfo {
    let info = &probe.info;
    let duration_secs = whole_secs(info.duration);
    let playlist = info.is_playlist().then(|| playlist_of(info, max_items));
    let qualities = if playlist.is_some() {
        // One quality for all entries: every choice, sizes unknown (each
        // entry gets the best it has at or below the choice).
        QualityId::ALL
            .iter()
            .map(|id| Quality { id: id.as_str().to_string(), label: id.label().to_string(), filesize_approx: None })
            .collect()
    } else {
        choices(info)
            .into_iter()
            .map(|choice| Quality {
                id: choice.id.as_str().to_string(),
                label: choice.id.label().to_string(),
                filesize_approx: choice.filesize_approx,
            })
            .collect()
    };
    VideoInfo {
        title: info.display_title().to_string(),
        duration: duration_secs.map(format_duration),
        uploader: info.display_uploader().map(str::to_string),
        view_count: info.view_count.map(group_thousands),
        thumbnail: info.best_thumbnail().map(str::to_string),
        qualities,
        duration_secs,
        views: info.view_count,
        webpage_url: info.webpage_url.clone(),
        subtitles: if playlist.is_some() { Vec::new() } else { subtitle_tracks(probe) },
        chapters: u32::try_from(engine::info::extras::chapter_count(&probe.raw)).ok().filter(|n| *n > 0),
        playlist,
    }
}

fn subtitle_tracks(probe: &Probe) -> Vec<SubtitleTrack> {
    engine::info::extras::subtitles(&probe.raw)
        .into_iter()
        .map(|s| SubtitleTrack { lang: s.lang, name: s.name, automatic: s.automatic })
        .collect()
}

fn whole_secs(duration: Option<f64>) -> Option<u64> {
    duration.filter(|d| d.is_finite() && *d >= 0.0).map(|d| d.round() as u64)
}

fn playlist_of(info: &engine::InfoJson, max_items: usize) -> PlaylistInfo {
    let entries: Vec<PlaylistItem> = info
        .playlist_entries()
        .into_iter()
        .take(max_items)
        .enumerate()
        .map(|(i, entry)| {
            let duration_secs = whole_secs(entry.duration);
            PlaylistItem {
                url: entry.url.unwrap_or_default(),
                title: entry.title.or(entry.id).unwrap_or_else(|| format!("#{}", i + 1)),
                duration: duration_secs.map(format_duration),
                duration_secs,
                thumbnail: entry.thumbnail,
            }
        })
        .collect();
    let truncated = match info.playlist_count {
        Some(count) => count > entries.len() as u64,
        None => entries.len() >= max_items,
    };
    PlaylistInfo { entries, count: info.playlist_count, truncated, pasted: false }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_trimmed_and_normalised() {
        assert_eq!(check_url("  https://example.com/watch?v=1 \n").ok(), Some("https://example.com/watch?v=1".into()));
    }

    #[test]
    fn bad_links_are_refused_with_a_reason() {
        for (input, code) in [
            ("", "missing_url"),
            ("   ", "missing_url"),
            ("not a link", "invalid_url"),
            ("-J", "invalid_url"),
            ("--exec=rm", "invalid_url"),
            ("ftp://example.com/v.mp4", "unsupported_scheme"),
            ("file:///etc/passwd", "unsupported_scheme"),
            ("javascript:alert(1)", "unsupported_scheme"),
        ] {
            match check_url(input) {
                Err(err) => assert_eq!(err.code().as_str(), code, "{input:?}"),
                other => panic!("{input:?} gave {other:?}"),
            }
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(check_url(&long).is_err_and(|e| e.code() == ErrorCode::UrlTooLong));
    }
}
