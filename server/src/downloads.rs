//! Downloads: start, follow (polling or server-sent events), cancel, fetch.

use crate::api::{check_url, lookup, ApiJson};
use crate::auth::Session;
use crate::capacity::{Requester, Room};
use crate::error::ApiError;
use crate::state::AppState;
use crate::visible::VisibleJob;
use axum::body::Body;
use axum::extract::Query;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use contract::api::DownloadChoices;
use contract::api::{
    BatchDownloadRequest, BatchDownloadStarted, BatchItem, Done, DownloadRequest, DownloadStarted, JobStatus,
};
use contract::api::{DownloadList, DownloadListItem};
use contract::clip::{parse_bound, ClipError, ClipRange};
use contract::media::{SubtitleFormat, SubtitleMode, AUDIO_BITRATES};
use contract::{sentences, Detail, ErrorCode, Lang};
use engine::download::{AudioFormat, DownloadOptions};
use engine::jobs::{JobRequest, JobSnapshot};
use engine::progress::{format_eta, format_speed, status_text, Phase};
use engine::store::OwnerFilter;
use engine::{filename::ascii_fallback, QualityId};
use futures::stream::{self, Stream, StreamExt};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::convert::Infallible;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tower::ServiceExt;
use tower_http::services::ServeFile;
use uuid::Uuid;

/// At most this many progress events a second per subscriber.
const EVENT_INTERVAL: Duration = Duration::from_millis(100);
/// Lookups of one batch running at once (most links are in the cache from
/// the preview; the others cost a yt-dlp run each).
const BATCH_LOOKUPS: usize = 4;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/download", post(start))
        .route("/api/download-batch", post(start_batch))
        .route("/api/status/{id}", get(status))
        .route("/api/events/{id}", get(events))
        .route("/api/cancel/{id}", post(cancel))
        .route("/api/file/{id}", get(file))
        .route("/api/downloads", get(history))
}

async fn start(
    State(state): State<AppState>,
    requester: Requester,
    ApiJson(request): ApiJson<DownloadRequest>,
) -> Result<Json<DownloadStarted>, ApiError> {
    let url = check_url(&request.url)?;
    let quality = parse_quality(request.quality.as_ref())?;
    let bounds = read_bounds(&request.choices)?;
    requester.check_capacity(&state).await?;
    let mut room = Room::measure(&state).await;
    room.check(None)?;
    // A lookup made for the preview is reused: no second extraction. A miss
    // is looked up now, so a bad link fails here, in words.
    let probe = lookup(&state, url.clone()).await?;
    if probe.info.is_playlist() {
        return Err(ApiError::of(ErrorCode::IsPlaylist));
    }
    check_duration(&state, &probe.info)?;
    let options = read_options(&request.choices, bounds, &probe, true)?;
    let size = clip_share(engine::space::known_size(&probe.info, quality), &options, &probe.info);
    check_size(&state, size)?;
    room.check(size)?;
    let owner = requester.job_owner();
    // Answered only once the job is in the store: a crash right after the
    // answer cannot lose an id the client already has.
    let id = state.downloads.submit(JobRequest { url, quality, probe: Some(probe), options, owner }).await?;
    Ok(Json(DownloadStarted { success: true, download_id: id.to_string() }))
}

/// Several links, one quality: one job each, in order. Counts as one request
/// for the rate limit, so a 50-video playlist queues up instead of failing.
/// Every link gets each check `/api/download` makes (link, egress, lookup,
/// playlist, duration, size, per-client and total limits, disk), and its own
/// answer: one bad link does not fail the others.
async fn start_batch(
    State(state): State<AppState>,
    requester: Requester,
    ApiJson(request): ApiJson<BatchDownloadRequest>,
) -> Result<Json<BatchDownloadStarted>, ApiError> {
    let quality = parse_quality(request.quality.as_ref())?;
    let bounds = read_bounds(&request.choices)?;
    let max = state.config.max_playlist_items.max(1);
    if request.urls.is_empty() {
        return Err(ApiError::of(ErrorCode::MissingUrl));
    }
    if request.urls.len() > max {
        return Err(ApiError::with(ErrorCode::TooManyLinks, Detail::limit(max as u64)));
    }
    let mut room = Room::measure(&state).await;
    room.check(None)?;
    // Lookups (the cache first, like /api/download) run a few at a time, in
    // order; a client already at its limit costs no lookup.
    let looked_up: Vec<Result<(String, Arc<engine::Probe>), ApiError>> = stream::iter(request.urls.clone())
        .map(|raw| {
            let state = state.clone();
            let requester = &requester;
            async move {
                let url = check_url(&raw)?;
                requester.check_capacity(&state).await?;
                let probe = lookup(&state, url.clone()).await?;
                Ok((url, probe))
            }
        })
        .buffered(BATCH_LOOKUPS)
        .collect()
        .await;
    let mut downloads = Vec::with_capacity(request.urls.len());
    for (raw, looked_up) in request.urls.iter().zip(looked_up) {
        let outcome = async {
            let (url, probe) = looked_up?;
            if probe.info.is_playlist() {
                return Err(ApiError::of(ErrorCode::IsPlaylist));
            }
            check_duration(&state, &probe.info)?;
            let options = read_options(&request.choices, bounds, &probe, false)?;
            let size = clip_share(engine::space::known_size(&probe.info, quality), &options, &probe.info);
            check_size(&state, size)?;
            // Again: the entries accepted before this one count.
            requester.check_capacity(&state).await?;
            room.check(size)?;
            let owner = requester.job_owner();
            state.downloads.submit(JobRequest { url, quality, probe: Some(probe), options, owner }).await
        }
        .await;
        downloads.push(match outcome {
            Ok(id) => {
                BatchItem { url: raw.clone(), download_id: Some(id.to_string()), error: None, code: None, detail: None }
            }
            Err(e) => BatchItem {
                url: raw.clone(),
                download_id: None,
                error: Some(e.public_message()),
                code: Some(e.code()),
                detail: Some(e.parts().1).filter(|d| !d.is_empty()),
            },
        });
    }
    Ok(Json(BatchDownloadStarted { success: true, downloads }))
}

/// A clip's `start` and `end` in milliseconds, as given: checked for being
/// times before any lookup (the range itself needs the video's length).
fn read_bounds(choices: &DownloadChoices) -> Result<(Option<u64>, Option<u64>), ApiError> {
    let bound = |v: &Option<serde_json::Value>| match v {
        None => Ok(None),
        Some(v) => parse_bound(v).map_err(|_| ApiError::of(ErrorCode::InvalidClipTime)),
    };
    Ok((bound(&choices.start)?, bound(&choices.end)?))
}

/// The request's optional fields, checked against the video: the clip
/// within its length, subtitle languages it has. `strict_langs` off (a
/// batch, one choice for many videos) drops the languages a video lacks
/// instead of refusing it.
fn read_options(
    choices: &DownloadChoices,
    (start, end): (Option<u64>, Option<u64>),
    probe: &engine::Probe,
    strict_langs: bool,
) -> Result<DownloadOptions, ApiError> {
    let duration_ms = probe.info.duration.filter(|d| d.is_finite() && *d > 0.0).map(|d| (d * 1000.0).round() as u64);
    let clip = ClipRange::from_bounds(start, end, duration_ms).map_err(|e| match e {
        ClipError::BadTime => ApiError::of(ErrorCode::InvalidClipTime),
        ClipError::PastEnd { duration_ms } => {
            ApiError::with(ErrorCode::InvalidClipRange, Detail::limit(duration_ms.div_ceil(1000)))
        }
        ClipError::Reversed | ClipError::TooShort | ClipError::EndUnknown => ApiError::of(ErrorCode::InvalidClipRange),
    })?;
    let audio_format = match choices.audio_format.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => AudioFormat::M4a,
        Some(name) => AudioFormat::from_name(name).ok_or_else(|| ApiError::of(ErrorCode::InvalidAudioFormat))?,
    };
    let audio_bitrate = match &choices.audio_bitrate {
        None | Some(serde_json::Value::Null) => None,
        Some(value) => {
            let text = match value {
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::String(s) => s.trim().to_ascii_lowercase(),
                _ => String::new(),
            };
            let digits = text.strip_suffix("kbps").or_else(|| text.strip_suffix('k')).unwrap_or(&text).trim();
            match digits.parse::<u32>() {
                Ok(rate) if AUDIO_BITRATES.contains(&rate) && audio_format.lossy() => Some(rate),
                _ => return Err(ApiError::of(ErrorCode::InvalidAudioFormat)),
            }
        }
    };
    let subtitle_mode = match choices.subtitle_mode.as_deref() {
        None => SubtitleMode::Embed,
        Some(name) => SubtitleMode::from_name(name).ok_or_else(|| ApiError::of(ErrorCode::InvalidSubtitles))?,
    };
    let subtitle_format = match choices.subtitle_format.as_deref() {
        None => SubtitleFormat::Srt,
        Some(name) => SubtitleFormat::from_name(name).ok_or_else(|| ApiError::of(ErrorCode::InvalidSubtitles))?,
    };
    let mut subtitles: Vec<String> = Vec::new();
    let wanted = choices.subtitles.as_deref().unwrap_or_default();
    if wanted.len() > MAX_SUBTITLE_CHOICES {
        return Err(ApiError::with(ErrorCode::InvalidSubtitles, Detail::limit(MAX_SUBTITLE_CHOICES as u64)));
    }
    if !wanted.is_empty() {
        let offered = engine::info::extras::subtitle_langs(&probe.raw);
        for lang in wanted {
            let lang = lang.trim();
            if offered.contains_key(lang) {
                if !subtitles.iter().any(|l| l == lang) {
                    subtitles.push(lang.to_owned());
                }
            } else if strict_langs {
                let shown: String = lang.chars().filter(|c| !c.is_control()).take(32).collect();
                return Err(ApiError::with(ErrorCode::InvalidSubtitles, Detail::reason(shown)));
            }
        }
    }
    Ok(DownloadOptions {
        audio_format,
        audio_bitrate,
        clip,
        subtitles,
        subtitle_mode,
        subtitle_format,
        tags: choices.tags.unwrap_or(true),
    })
}

/// The part of a video's size a clip of it takes (by time: the bitrate of
/// a clip is the video's, give or take).
fn clip_share(size: Option<u64>, options: &DownloadOptions, info: &engine::InfoJson) -> Option<u64> {
    let (Some(size), Some(clip), Some(duration)) = (size, options.clip, info.duration) else { return size };
    if !(duration.is_finite() && duration > 0.0) {
        return Some(size);
    }
    let share = (clip.len_ms() as f64 / 1000.0 / duration).clamp(0.0, 1.0);
    Some((size as f64 * share).ceil() as u64)
}

/// The most subtitle languages one download takes.
const MAX_SUBTITLE_CHOICES: usize = 20;

/// A video whose exact size is known and over `MAX_FILESIZE` is refused
/// before anything is downloaded (the engine stops one that grows past it).
fn check_size(state: &AppState, size: Option<u64>) -> Result<(), ApiError> {
    let (Some(limit), Some(size)) = (state.ytdlp.max_filesize(), size) else { return Ok(()) };
    if size > limit {
        return Err(ApiError::with(ErrorCode::TooLarge, Detail::limit(limit)));
    }
    Ok(())
}

fn check_duration(state: &AppState, info: &engine::InfoJson) -> Result<(), ApiError> {
    let (Some(limit), Some(duration)) = (state.config.max_duration_secs, info.duration) else {
        return Ok(());
    };
    if duration > limit as f64 {
        return Err(ApiError::with(ErrorCode::TooLong, Detail::limit(limit)));
    }
    Ok(())
}

/// Items per page of `GET /api/downloads` unless `limit` says otherwise,
/// and the most it gives at once.
const HISTORY_PAGE: usize = 20;
const HISTORY_MAX_PAGE: usize = 100;

#[derive(Debug, serde::Deserialize)]
struct HistoryQuery {
    limit: Option<String>,
    before: Option<String>,
}

/// The caller's downloads, newest first: the session's with login on (every
/// download for a bearer token), the client address's otherwise. Paged:
/// `limit` (1–100, default 20) and `before`, the id of the last item seen;
/// `next_before` is set while there may be more.
async fn history(
    State(state): State<AppState>,
    requester: Requester,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<DownloadList>, ApiError> {
    let limit = match query.limit.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        None => HISTORY_PAGE,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=HISTORY_MAX_PAGE).contains(&n) => n,
            _ => return Err(ApiError::with(ErrorCode::InvalidLimit, Detail::limit(HISTORY_MAX_PAGE as u64))),
        },
    };
    let before = match query.before.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        None => None,
        Some(text) => Some(Uuid::parse_str(text).map_err(|_| ApiError::of(ErrorCode::InvalidCursor))?),
    };
    let filter = if state.auth.enabled() {
        match requester.session {
            Session::Browser(id) => OwnerFilter::Session(id),
            Session::Token => OwnerFilter::All,
            Session::Public => return Err(ApiError::NotFound),
        }
    } else {
        OwnerFilter::Client(requester.ip.to_string())
    };
    let records = state.store.list(filter, before, limit).await.map_err(|e| {
        tracing::error!(error = %e, "could not list downloads");
        ApiError::of(ErrorCode::ServerBusy)
    })?;
    let next_before = (records.len() == limit).then(|| records.last().map(|r| r.snapshot.id.to_string())).flatten();
    let downloads = records
        .into_iter()
        .map(|record| {
            // The live state is fresher than the store's (progress is
            // written about once a second).
            let snapshot = state.downloads.freshest(record.snapshot);
            DownloadListItem {
                created_at: unix_millis(snapshot.created_at),
                finished_at: snapshot.finished_at.map(unix_millis),
                status: to_status(&snapshot),
            }
        })
        .collect();
    Ok(Json(DownloadList { success: true, downloads, next_before }))
}

fn unix_millis(t: std::time::SystemTime) -> u64 {
    let ms = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis();
    u64::try_from(ms).unwrap_or(u64::MAX)
}

/// `"720"`, `720`, `"audio"`; missing or null means `auto`.
fn parse_quality(value: Option<&serde_json::Value>) -> Result<QualityId, ApiError> {
    let text = match value {
        None | Some(serde_json::Value::Null) => return Ok(QualityId::Auto),
        Some(serde_json::Value::String(s)) => s.trim().to_ascii_lowercase(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(_) => String::new(),
    };
    let text = text.strip_suffix('p').unwrap_or(&text);
    QualityId::from_str(text).map_err(|_| ApiError::of(ErrorCode::InvalidQuality))
}

async fn status(job: VisibleJob) -> Json<JobStatus> {
    Json(to_status(&job.snapshot))
}

async fn cancel(State(state): State<AppState>, job: VisibleJob) -> Result<Json<Done>, ApiError> {
    if state.downloads.cancel(job.id).await? {
        Ok(Json(Done { success: true }))
    } else {
        Err(ApiError::NotFound)
    }
}

/// The seed's status shape, filled from a job snapshot.
fn to_status(job: &JobSnapshot) -> JobStatus {
    let progress = &job.progress;
    let moving = matches!(job.phase, Phase::Downloading);
    let file = job.file.as_ref().filter(|_| job.phase == Phase::Completed);
    let failure = job.error.as_ref().filter(|_| job.phase == Phase::Error).map(crate::error::job_failure);
    let sentence = failure.as_ref().map(|(code, detail)| sentences::sentence(*code, Lang::En, detail));
    JobStatus {
        status: job.phase,
        progress: (progress.percent * 10.0).round() / 10.0,
        speed: progress.speed.filter(|_| moving).map(format_speed),
        eta: progress.eta.filter(|_| moving).map(format_eta),
        status_text: match &sentence {
            Some(sentence) => sentence.clone(),
            None if job.restarted && !job.phase.is_finished() => {
                format!("{RESTARTED} · {}", status_text(progress))
            }
            None => status_text(progress),
        },
        title: job.title.clone(),
        filename: file.map(|f| f.file_name.clone()),
        error: sentence,
        id: job.id.to_string(),
        quality: job.quality.as_str().to_string(),
        downloaded_bytes: progress.downloaded_bytes,
        total_bytes: progress.total_bytes,
        filesize: file.map(|f| f.size),
        file_url: file.map(|_| format!("/api/file/{}", job.id)),
        error_code: failure.as_ref().map(|(code, _)| *code),
        hint: failure.as_ref().and_then(|(code, _)| sentences::hint(*code, Lang::En)).map(str::to_string),
        error_detail: failure.map(|(_, detail)| detail).filter(|d| !d.is_empty()),
        post_step: progress.post_step.filter(|_| job.phase == Phase::Merging),
        speed_bps: progress.speed.filter(|_| moving),
        eta_secs: progress.eta.filter(|_| moving),
        engine: job.engine.map(|e| e.as_str().to_string()),
        restarted: job.restarted,
    }
}

/// What a download that was running when the server stopped says while it
/// runs again.
const RESTARTED: &str = "Restarted after the server restarted";

/// Server-sent events: the current state at once, then every change (at most
/// ten a second), ending after the terminal status. A reconnect carrying
/// `Last-Event-ID` gets only what it has not seen; one that has seen the end
/// gets 204, which tells the browser to stop reconnecting.
///
/// A client may hold `MAX_SSE_PER_CLIENT` streams open at once (each is a
/// connection and a task for as long as the download runs); more get 429.
/// The place is freed when the stream ends or the client goes away.
async fn events(
    State(state): State<AppState>,
    job: VisibleJob,
    requester: Requester,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let receiver = state.downloads.subscribe(job.id).await?.ok_or(ApiError::NotFound)?;
    let last_seen =
        headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    let current = receiver.borrow().clone();
    if let Some(seen) = last_seen {
        if seen >= current.seq && current.phase.is_finished() {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
    }
    let Some(slot) = state.sse_streams.try_open(requester.ip) else {
        return Err(ApiError::TooManyStreams { limit: state.sse_streams.limit() });
    };
    // The slot lives as long as the stream: dropped when it ends or when
    // the connection closes.
    let stream = futures::StreamExt::map(status_stream(receiver, last_seen), move |event| {
        let _held = &slot;
        event
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)).text("keep-alive"))
        .into_response())
}

struct StreamState {
    receiver: watch::Receiver<JobSnapshot>,
    last_sent: Option<u64>,
    first: bool,
    done: bool,
}

fn status_stream(
    receiver: watch::Receiver<JobSnapshot>,
    last_seen: Option<u64>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let start = StreamState { receiver, last_sent: last_seen, first: true, done: false };
    stream::unfold(start, |mut s| async move {
        if s.done {
            return None;
        }
        loop {
            if !s.first {
                tokio::time::sleep(EVENT_INTERVAL).await;
                if s.receiver.changed().await.is_err() {
                    // The job is gone (reaped); say so once and end.
                    return None;
                }
            }
            s.first = false;
            let snapshot = s.receiver.borrow_and_update().clone();
            if s.last_sent.is_some_and(|seen| snapshot.seq <= seen) {
                continue;
            }
            s.last_sent = Some(snapshot.seq);
            s.done = snapshot.phase.is_finished();
            let event = Event::default()
                .id(snapshot.seq.to_string())
                .retry(Duration::from_secs(2))
                .json_data(to_status(&snapshot))
                .unwrap_or_else(|_| Event::default().comment("unserialisable status"));
            return Some((Ok(event), s));
        }
    })
}

/// RFC 5987 `attr-char`s stay as they are; everything else is percent-encoded.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment; filename="ascii"; filename*=UTF-8''utf-8` (RFC 6266).
fn content_disposition(file_name: &str) -> String {
    let ascii = ascii_fallback(file_name).replace(['"', '\\'], "");
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{}", utf8_percent_encode(file_name, ATTR_CHAR))
}

/// The finished file as an attachment, with Range support so a browser can
/// resume. It stays available until the reaper's TTL, so a failed browser
/// download can be retried.
async fn file(job: VisibleJob, request: Request<Body>) -> Result<Response, ApiError> {
    let snapshot = job.snapshot;
    let finished = snapshot.file.as_ref().filter(|_| snapshot.phase == Phase::Completed).ok_or(ApiError::NotReady)?;
    let mut response =
        ServeFile::new(&finished.path).oneshot(request).await.map_err(|_| ApiError::NotFound)?.map(Body::new);
    if response.status() == StatusCode::NOT_FOUND {
        return Err(ApiError::NotFound);
    }
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&content_disposition(&finished.file_name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_accepts_strings_numbers_and_nothing() {
        use serde_json::json;
        assert_eq!(parse_quality(None).ok(), Some(QualityId::Auto));
        assert_eq!(parse_quality(Some(&json!(null))).ok(), Some(QualityId::Auto));
        assert_eq!(parse_quality(Some(&json!("720"))).ok(), Some(QualityId::P720));
        assert_eq!(parse_quality(Some(&json!(1080))).ok(), Some(QualityId::P1080));
        assert_eq!(parse_quality(Some(&json!("720p"))).ok(), Some(QualityId::P720));
        assert_eq!(parse_quality(Some(&json!("AUDIO"))).ok(), Some(QualityId::Audio));
        for bad in [json!("721"), json!("best"), json!(""), json!([720]), json!({"q": 1}), json!(true)] {
            assert!(parse_quality(Some(&bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn content_disposition_keeps_the_real_title() {
        let header = content_disposition("Тестовое видео 🎬 'Кавычки' Slash.mp4");
        assert!(header.starts_with("attachment; filename=\""), "{header}");
        assert!(header.contains("filename*=UTF-8''%D0%A2%D0%B5%D1%81%D1%82"), "{header}");
        assert!(header.contains("%F0%9F%8E%AC"), "emoji kept: {header}");
        let ascii = header.split('"').nth(1).unwrap_or_default();
        assert!(ascii.is_ascii() && ascii.ends_with(".mp4"), "{ascii}");
    }
}
