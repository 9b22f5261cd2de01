//! Who asks for a download, and whether they may queue one more: the owner
//! recorded with each job and the per-client and total limits on unfinished
//! jobs (`MAX_JOBS_PER_CLIENT`, `MAX_QUEUED_JOBS`), plus the disk room
//! (`DISK_QUOTA`, `MIN_FREE_DISK`). `/api/download` and
//! `/api/download-batch` both check here.

use crate::auth::Session;
use crate::error::ApiError;
use crate::security::ClientIp;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use contract::{Detail, ErrorCode};
use std::convert::Infallible;
use std::net::IpAddr;

/// The caller: the client address (as far as it can be trusted; `0.0.0.0`
/// when the middleware did not set one) and the login session (`Public`
/// when login is off).
#[derive(Debug, Clone)]
pub struct Requester {
    pub ip: IpAddr,
    pub session: Session,
}

impl<S: Send + Sync> FromRequestParts<S> for Requester {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ClientIp>().map(|c| c.0).unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let session = parts.extensions.get::<Session>().cloned().unwrap_or(Session::Public);
        Ok(Requester { ip, session })
    }
}

impl Requester {
    /// The engine's record of who asked: the client address, and the
    /// browser session when login is on.
    pub fn job_owner(&self) -> engine::JobOwner {
        engine::JobOwner {
            client: self.ip.to_string(),
            session: match &self.session {
                Session::Browser(id) => Some(id.clone()),
                Session::Public | Session::Token => None,
            },
        }
    }

    /// Unfinished downloads of this client and in total stay under their
    /// limits. The defaults (100 per client) let one person queue a long
    /// playlist. Counted in the job store, so jobs resumed after a restart
    /// count too.
    pub async fn check_capacity(&self, state: &AppState) -> Result<(), ApiError> {
        let counts = state.store.unfinished(self.ip.to_string()).await.map_err(|e| {
            tracing::error!(error = %e, "could not count downloads");
            ApiError::of(ErrorCode::ServerBusy)
        })?;
        let (mine, total) = (counts.client, counts.total);
        let config = &state.config;
        if mine >= config.max_jobs_per_client {
            let detail = Detail {
                count: Some(mine as u64),
                limit: Some(config.max_jobs_per_client as u64),
                ..Detail::default()
            };
            return Err(ApiError::with(ErrorCode::TooManyDownloads, detail));
        }
        if total >= config.max_queued_jobs {
            return Err(ApiError::of(ErrorCode::ServerBusy));
        }
        Ok(())
    }
}

/// How much room `DISK_QUOTA` and `MIN_FREE_DISK` leave, measured once per
/// request; entries of a batch with a known size take their share of it.
/// (The engine checks again when each job starts and while it writes.)
pub struct Room {
    quota: Option<u64>,
    min_free: Option<u64>,
    used: u64,
    free: Option<u64>,
}

impl Room {
    pub async fn measure(state: &AppState) -> Room {
        let limits = state.jobs.settings().disk;
        let quota = state.disk_quota.or(limits.quota);
        let dir = state.config.download_dir.clone();
        let (used, free) = if quota.is_none() && limits.min_free.is_none() {
            (0, None)
        } else {
            let walk = quota.is_some();
            let min_free = limits.min_free;
            tokio::task::spawn_blocking(move || {
                let free = min_free.and_then(|_| engine::diagnostics::free_space(&dir).ok());
                (if walk { engine::space::dir_size(&dir) } else { 0 }, free)
            })
            .await
            .unwrap_or((0, None))
        };
        Room { quota, min_free: limits.min_free, used, free }
    }

    /// `Err(disk_full)` when the quota is used up, or a download of `size`
    /// bytes would not fit; otherwise the size is taken from the room.
    pub fn check(&mut self, size: Option<u64>) -> Result<(), ApiError> {
        let size = size.unwrap_or(0);
        if let Some(quota) = self.quota {
            if self.used >= quota || self.used.saturating_add(size) > quota {
                return Err(ApiError::with(ErrorCode::DiskFull, Detail::limit(quota)));
            }
        }
        if let (Some(min_free), Some(free)) = (self.min_free, self.free) {
            if free.saturating_sub(size) < min_free {
                return Err(ApiError::of(ErrorCode::DiskFull));
            }
            self.free = Some(free.saturating_sub(size));
        }
        self.used = self.used.saturating_add(size);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(quota: Option<u64>, min_free: Option<u64>, used: u64, free: Option<u64>) -> Room {
        Room { quota, min_free, used, free }
    }

    #[test]
    fn the_room_is_shared_by_the_entries_of_a_batch() {
        let mut r = room(Some(100), None, 40, None);
        assert!(r.check(Some(50)).is_ok());
        assert!(r.check(Some(20)).is_err(), "40 + 50 + 20 > 100");
        assert!(r.check(Some(10)).is_ok());
        assert!(r.check(None).is_err(), "the quota is used up");

        let mut r = room(None, Some(10), 0, Some(50));
        assert!(r.check(Some(30)).is_ok());
        assert!(r.check(Some(11)).is_err(), "20 free - 11 < 10");
        assert!(r.check(None).is_ok());
    }

    #[test]
    fn the_owner_names_only_browser_sessions() {
        let ip = IpAddr::from([192, 0, 2, 7]);
        let owner = |session| Requester { ip, session }.job_owner();
        assert_eq!(owner(Session::Browser("s1".into())).session.as_deref(), Some("s1"));
        assert_eq!(owner(Session::Token).session, None);
        assert_eq!(owner(Session::Public).client, "192.0.2.7");
    }
}
