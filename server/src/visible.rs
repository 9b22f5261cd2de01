//! `VisibleJob`: the download named by the path's `{id}`, once the caller is
//! known to be allowed to see it. The status, events, cancel and file routes
//! take it as an argument instead of each parsing the id, checking the owner
//! and looking the job up.

use crate::auth::Session;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use engine::jobs::JobSnapshot;
use uuid::Uuid;

/// A download the caller may see, with its state when the request came in.
///
/// A malformed id, an unknown one, and (with login on) one started by
/// another session all answer the same 404, so ids cannot be probed.
#[derive(Debug, Clone)]
pub struct VisibleJob {
    pub id: Uuid,
    pub snapshot: JobSnapshot,
}

impl FromRequestParts<AppState> for VisibleJob {
    /// A path axum cannot read answers as axum answers it (as the plain
    /// `Path<String>` extractor did); everything else is an [`ApiError`].
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let session = parts.extensions.get::<Session>();
        VisibleJob::find(state, &raw, session).await.map_err(IntoResponse::into_response)
    }
}

impl VisibleJob {
    /// `raw` parsed, checked against `session` and looked up.
    pub async fn find(state: &AppState, raw: &str, session: Option<&Session>) -> Result<VisibleJob, ApiError> {
        let id = Uuid::parse_str(raw).map_err(|_| ApiError::NotFound)?;
        check_visible(state, id, session).await?;
        let snapshot = state.downloads.snapshot(id).await?.ok_or(ApiError::NotFound)?;
        Ok(VisibleJob { id, snapshot })
    }
}

/// With login on, a download is visible only to the session that started it
/// (and to bearer-token clients); others get the same 404 as an unknown id.
async fn check_visible(state: &AppState, id: Uuid, session: Option<&Session>) -> Result<(), ApiError> {
    if !state.auth.enabled() {
        return Ok(());
    }
    let session = session.ok_or(ApiError::NotFound)?;
    let owner = state.owner(id).await.ok_or(ApiError::NotFound)?;
    // The store keeps only browser sessions; a job without one was started
    // by a bearer-token client, which only token clients see.
    let owner = owner.session.map_or(Session::Token, Session::Browser);
    if session.may_see(&owner) {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}
