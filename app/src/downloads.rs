//! This browser's downloads: started here, kept in localStorage (id, title,
//! quality) so the list survives a reload, completed with the server's
//! history (`/api/downloads`, so a new browser sees them too), followed live through
//! `/api/events/{id}`, and shown as rows with progress, speed, time left,
//! Cancel, Save again and Remove.

use crate::api::JobStatus;
use crate::client::{self, StatusError};
use crate::i18n::{self, Failure, Lang, Texts, Tr};
use crate::prefs::Prefs;
use contract::{JobState, PostStep};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

/// localStorage key of the list.
const STORE_KEY: &str = "kachay_downloads";
/// The list keeps at most this many rows.
const MAX_ROWS: usize = 50;
/// localStorage key of the ids removed from the list here, so the server's
/// history does not bring them back on the next load.
const DISMISSED_KEY: &str = "kachay_dismissed";
/// The dismissed list keeps at most this many ids (the server forgets
/// finished downloads after FILE_TTL_SECS anyway).
const MAX_DISMISSED: usize = 200;
/// At most this many rows follow their download over an event stream; the
/// others ask for the status every [`POLL_MS`]. A browser opens only six
/// HTTP/1.1 connections to a server: a playlist's worth of streams would
/// leave none for the page's own requests.
const MAX_STREAMS: usize = 3;
const POLL_MS: i32 = 1500;

/// What localStorage keeps of a download.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stored {
    pub id: String,
    pub title: String,
    /// The quality id (`720`, `audio`, …).
    pub quality: String,
    /// The server's label for it (used for ids this page does not know).
    #[serde(default)]
    pub label: String,
    /// The browser has already been handed the file once.
    #[serde(default)]
    pub saved: bool,
}

/// One row of the list.
#[derive(Clone)]
pub struct Entry {
    pub id: String,
    pub title: String,
    pub quality: String,
    pub label: String,
    /// The last status the server sent; `None` until the first arrives.
    pub status: ArcRwSignal<Option<JobStatus>>,
    /// The server no longer knows the id (404).
    pub gone: ArcRwSignal<bool>,
    pub saved: ArcRwSignal<bool>,
    /// The last quarter of progress announced (0–3).
    announced: Arc<AtomicU8>,
}

impl Entry {
    fn new(stored: Stored) -> Entry {
        Entry {
            id: stored.id,
            title: stored.title,
            quality: stored.quality,
            label: stored.label,
            status: ArcRwSignal::new(None),
            gone: ArcRwSignal::new(false),
            saved: ArcRwSignal::new(stored.saved),
            announced: Arc::new(AtomicU8::new(0)),
        }
    }

    fn stored(&self) -> Stored {
        Stored {
            id: self.id.clone(),
            title: self.title.clone(),
            quality: self.quality.clone(),
            label: self.label.clone(),
            saved: self.saved.get_untracked(),
        }
    }

    /// `queued`, `downloading`, `merging`, `completed`, `error`,
    /// `cancelled`, or `expired` when the server forgot it.
    pub fn state(&self) -> &'static str {
        if self.gone.get() {
            return "expired";
        }
        self.status.with(|s| s.as_ref().map(|s| s.status).unwrap_or_default().as_str())
    }

    pub fn finished(&self) -> bool {
        self.gone.get() || self.status.with(|s| s.as_ref().is_some_and(JobStatus::is_terminal))
    }

    fn file_url(&self) -> String {
        format!("/api/file/{}", self.id)
    }
}

/// Ids removed from the list in this browser.
fn dismissed() -> Vec<String> {
    client::store_get(DISMISSED_KEY).and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default()
}

fn dismiss(ids: Vec<String>) {
    if ids.is_empty() {
        return;
    }
    let mut all = dismissed();
    all.retain(|id| !ids.contains(id));
    all.extend(ids);
    let excess = all.len().saturating_sub(MAX_DISMISSED);
    all.drain(..excess);
    if let Ok(text) = serde_json::to_string(&all) {
        client::store_set(DISMISSED_KEY, &text);
    }
}

/// Polite announcements for screen readers (one live region for the page).
#[derive(Clone, Copy)]
pub struct Announcer(pub RwSignal<String>);

impl Announcer {
    pub fn say(&self, text: String) {
        // The same sentence twice in a row is still read out.
        let text = if self.0.with_untracked(|t| *t == text) { format!("{text}\u{a0}") } else { text };
        self.0.set(text);
    }
}

/// The list, shared through context.
#[derive(Clone, Copy)]
pub struct Downloads {
    pub list: RwSignal<Vec<Entry>>,
    prefs: Prefs,
    announcer: Announcer,
    /// Event streams open now.
    streams: StoredValue<usize>,
}

impl Downloads {
    pub fn new(prefs: Prefs, announcer: Announcer) -> Downloads {
        Downloads { list: RwSignal::new(Vec::new()), prefs, announcer, streams: StoredValue::new(0) }
    }

    /// A download this page just started: first in the list, saved by
    /// itself when it completes.
    pub fn add(&self, stored: Stored) {
        self.add_many(vec![stored]);
    }

    /// Several downloads at once (a playlist), in the order given, announced once.
    pub fn add_many(&self, items: Vec<Stored>) {
        let Some(first) = items.first() else { return };
        let tr = self.prefs.lang.get_untracked().tr();
        let count = items.len();
        self.announcer.say(if count == 1 {
            format!("{}: {}", tr.announce_started, first.title)
        } else {
            format!("{}: {}", tr.announce_started, i18n::videos(count as u64, self.prefs.lang.get_untracked()))
        });
        let entries: Vec<Entry> = items.into_iter().map(Entry::new).collect();
        self.list.update(|list| {
            list.retain(|e| !entries.iter().any(|n| n.id == e.id));
            for (i, entry) in entries.iter().enumerate() {
                list.insert(i, entry.clone());
            }
            list.truncate(MAX_ROWS.max(entries.len()));
        });
        self.persist();
        for entry in entries {
            let this = *self;
            leptos::task::spawn_local(async move { this.watch(entry, true).await });
        }
    }

    /// After a reload: the downloads kept in localStorage, each checked
    /// with the server (running ones followed again, finished ones shown
    /// as they ended, forgotten ones marked expired).
    pub fn restore(&self) {
        let stored: Vec<Stored> =
            client::store_get(STORE_KEY).and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default();
        let entries: Vec<Entry> = stored.into_iter().take(MAX_ROWS).map(Entry::new).collect();
        if !entries.is_empty() {
            self.list.set(entries.clone());
        }
        for entry in entries {
            let this = *self;
            leptos::task::spawn_local(async move { this.watch(entry, false).await });
        }
        let this = *self;
        leptos::task::spawn_local(async move { this.add_from_server().await });
    }

    /// The server's history of this person's downloads: rows this browser
    /// does not have yet (another browser, cleared storage) join the list in
    /// the server's order. They count as saved already, so opening the page
    /// never starts a file download by itself; "Save again" fetches it.
    async fn add_from_server(self) {
        let Some(items) = client::download_list(MAX_ROWS).await else { return };
        let mut known: Vec<String> = self.list.with_untracked(|list| list.iter().map(|e| e.id.clone()).collect());
        known.extend(dismissed());
        let mut added = Vec::new();
        for status in items {
            if status.id.is_empty() || known.contains(&status.id) {
                continue;
            }
            let entry = Entry::new(Stored {
                id: status.id.clone(),
                title: status.title.clone().unwrap_or_default(),
                quality: status.quality.clone(),
                label: String::new(),
                saved: true,
            });
            entry.status.set(Some(status));
            added.push(entry);
        }
        if added.is_empty() {
            return;
        }
        self.list.update(|list| {
            // After this browser's own rows, which are at least as new.
            list.extend(added.iter().cloned());
            list.truncate(MAX_ROWS);
        });
        self.persist();
        for entry in added {
            if !entry.status.with_untracked(|s| s.as_ref().is_some_and(JobStatus::is_terminal)) {
                leptos::task::spawn_local(async move { self.watch(entry, false).await });
            }
        }
    }

    pub fn remove(&self, id: &str) {
        self.list.update(|list| list.retain(|e| e.id != id));
        dismiss(vec![id.to_string()]);
        self.persist();
    }

    pub fn clear_finished(&self) {
        let finished: Vec<String> =
            self.list.with_untracked(|list| list.iter().filter(|e| e.finished()).map(|e| e.id.clone()).collect());
        self.list.update(|list| list.retain(|e| !e.finished()));
        dismiss(finished);
        self.persist();
    }

    fn persist(&self) {
        let stored: Vec<Stored> = self.list.with_untracked(|list| list.iter().map(Entry::stored).collect());
        if let Ok(text) = serde_json::to_string(&stored) {
            client::store_set(STORE_KEY, &text);
        }
    }

    /// Keeps one entry up to date until it ends: over an event stream when
    /// one is free, else by asking for the status now and then.
    async fn watch(self, entry: Entry, fresh: bool) {
        if !fresh && !self.check(&entry).await {
            return;
        }
        let mut early_ends = 0;
        loop {
            if self.streams.get_value() < MAX_STREAMS && early_ends < 30 {
                self.streams.update_value(|n| *n += 1);
                let follower = entry.clone();
                let finished = client::follow(entry.id.clone(), move |status| self.apply(&follower, status)).await;
                self.streams.update_value(|n| *n = n.saturating_sub(1));
                // The stream can end early (server restart, network change):
                // the status tells whether to carry on.
                if finished || !self.check(&entry).await {
                    return;
                }
                early_ends += 1;
                client::sleep_ms(1000).await;
            } else {
                client::sleep_ms(POLL_MS).await;
                if !self.check(&entry).await {
                    return;
                }
            }
        }
    }

    /// Asks for the status once; false when nothing more will happen.
    async fn check(&self, entry: &Entry) -> bool {
        match client::job_status(entry.id.clone()).await {
            Ok(status) => {
                let terminal = status.is_terminal();
                self.apply(entry, status);
                !terminal
            }
            Err(StatusError::Gone) => {
                entry.gone.set(true);
                false
            }
            Err(StatusError::Other(_)) => true,
        }
    }

    fn apply(&self, entry: &Entry, status: JobStatus) {
        let tr = self.prefs.lang.get_untracked().tr();
        let before = entry.status.with_untracked(|s| s.as_ref().map(|s| s.status));
        let phase = status.status;
        if before.is_some_and(|before| before != phase) {
            let said = match phase {
                JobState::Merging => Some(tr.announce_merging),
                JobState::Completed => Some(tr.announce_done),
                JobState::Cancelled => Some(tr.announce_cancelled),
                JobState::Error => Some(tr.announce_failed),
                JobState::Queued | JobState::Downloading => None,
            };
            if let Some(said) = said {
                self.announcer.say(format!("{said}: {}", entry.title));
            }
        }
        if phase == JobState::Downloading {
            let quarter = (status.progress / 25.0).floor().clamp(0.0, 3.0) as u8;
            if quarter > entry.announced.load(Ordering::Relaxed) {
                entry.announced.store(quarter, Ordering::Relaxed);
                let lang = self.prefs.lang.get_untracked();
                self.announcer.say(format!("{}: {}", entry.title, i18n::percent(f64::from(quarter) * 25.0, lang)));
            }
        }
        // The browser's own download starts once, by itself.
        if phase == JobState::Completed && !entry.saved.get_untracked() {
            entry.saved.set(true);
            client::save_file(&entry.file_url());
            self.persist();
        }
        entry.status.set(Some(status));
    }
}

/// The words for a quality id: `1080p` + `Full HD`, `Best` + `best
/// available`, `Audio only` + `M4A`; unknown ids keep the server's label.
pub fn quality_words(id: &str, server_label: &str, tr: &'static Tr) -> (String, Option<&'static str>) {
    match id {
        "auto" => (tr.best.to_string(), Some(tr.best_hint)),
        "audio" => (tr.audio_only.to_string(), Some(tr.audio_hint)),
        "2160" => ("2160p".into(), Some("4K")),
        "1440" => ("1440p".into(), Some("QHD")),
        "1080" => ("1080p".into(), Some("Full HD")),
        "720" => ("720p".into(), Some("HD")),
        "480" | "360" | "240" | "144" => (format!("{id}p"), Some("SD")),
        _ if !server_label.is_empty() => (server_label.to_string(), None),
        _ => (id.to_string(), None),
    }
}

/// The line under a row's bar.
fn row_text(status: Option<&JobStatus>, gone: bool, lang: Lang) -> String {
    let tr = lang.tr();
    if gone {
        return tr.expired.to_string();
    }
    let Some(s) = status else { return tr.checking.to_string() };
    let text = row_phase_text(s, lang);
    if s.restarted && !s.is_terminal() {
        format!("{} · {text}", tr.restarted)
    } else {
        text
    }
}

fn row_phase_text(s: &JobStatus, lang: Lang) -> String {
    let tr = lang.tr();
    match s.status {
        JobState::Queued => tr.queued.to_string(),
        JobState::Downloading => {
            if s.downloaded_bytes == 0 && s.progress <= 0.0 {
                return tr.starting_download.to_string();
            }
            let mut parts = Vec::with_capacity(3);
            let mut amount = i18n::bytes(s.downloaded_bytes, lang);
            if let Some(total) = s.total_bytes.filter(|t| *t >= s.downloaded_bytes && *t > 0) {
                amount = format!("{amount} {} ~{}", tr.of, i18n::bytes(total, lang));
            }
            parts.push(amount);
            if let Some(speed) = s.speed_bps {
                parts.push(i18n::speed(speed, lang));
            }
            if let Some(secs) = s.eta_secs {
                parts.push(i18n::eta(secs, lang));
            }
            parts.join(" · ")
        }
        JobState::Merging => match s.post_step {
            Some(PostStep::Merge) => tr.merging.to_string(),
            Some(PostStep::ExtractAudio) => tr.extracting_audio.to_string(),
            Some(PostStep::Fixup | PostStep::Other) | None => tr.finishing.to_string(),
        },
        JobState::Completed => match s.filesize.or(s.total_bytes) {
            Some(size) => format!("{} · {}", tr.done, i18n::bytes(size, lang)),
            None => tr.done.to_string(),
        },
        JobState::Error => {
            let failure = Failure::of_job(s);
            let text = failure.text(lang);
            if lang == Lang::En || failure.code != contract::ErrorCode::Unknown {
                text
            } else {
                // A code this page does not know: the server's own (English)
                // sentence, introduced.
                format!("{}: {text}", tr.failed)
            }
        }
        JobState::Cancelled => tr.cancelled.to_string(),
    }
}

/// One download.
#[component]
pub fn DownloadRow(entry: Entry) -> impl IntoView {
    let prefs = Prefs::get();
    let downloads = expect_context::<Downloads>();
    let e = entry.clone();
    let state = Signal::derive(move || e.state());
    let e = entry.clone();
    let percent =
        Signal::derive(move || e.status.with(|s| s.as_ref().map(|s| s.progress).unwrap_or(0.0)).clamp(0.0, 100.0));
    let e = entry.clone();
    let finished = Signal::derive(move || e.finished());
    let e = entry.clone();
    let text = move || e.status.with(|s| row_text(s.as_ref(), e.gone.get(), prefs.lang.get()));
    let e = entry.clone();
    let hint = move || {
        let lang = prefs.lang.get();
        e.status.with(|s| {
            s.as_ref()
                .filter(|s| s.status == JobState::Error && !e.gone.get())
                .and_then(|s| Failure::of_job(s).hint(lang))
        })
    };
    let (label_id, label) = (entry.quality.clone(), entry.label.clone());
    let quality = move || quality_words(&label_id, &label, prefs.tr()).0;
    let title = entry.title.clone();
    let bar_title = entry.title.clone();
    let id = entry.id.clone();
    let dom_id = format!("dl-{id}");
    let file_url = entry.file_url();
    let saved = entry.saved.clone();
    let remove_id = id.clone();
    // One button that cancels while the download runs and removes the row
    // once it has ended: keyboard focus stays on it through the change.
    let on_action = move |_| {
        if finished.get_untracked() {
            downloads.remove(&remove_id);
            client::focus_after_removal(downloads.list.with_untracked(Vec::is_empty));
        } else {
            let id = remove_id.clone();
            leptos::task::spawn_local(async move {
                let _ = client::cancel_download(id).await;
            });
        }
    };
    let e = entry.clone();
    let on_save = move |_| {
        e.saved.set(true);
        downloads.persist();
    };
    view! {
        <li class="download" id=dom_id data-testid="download" data-id=id.clone() data-status=state>
            <div class="download-head">
                <span class="download-title">{title}</span>
                <span class="download-quality">{quality}</span>
            </div>
            <div
                class="bar"
                role="progressbar"
                aria-label=move || format!("{} {}", prefs.tr().progress_of, bar_title)
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=move || (percent.get().round() as u64).to_string()
                aria-valuetext=move || i18n::percent(percent.get(), prefs.lang.get())
            >
                <div class="bar-fill" style:width=move || format!("{}%", i18n::decimal(percent.get(), 1, Lang::En))></div>
            </div>
            <div class="download-foot">
                <span class="download-percent" data-testid="percent">
                    {move || if state.get() == "expired" { "—".to_string() } else { i18n::percent(percent.get(), prefs.lang.get()) }}
                </span>
                <span class="download-text">
                    {text}
                    {move || hint().map(|h| view! { <span class="download-hint">{h}</span> })}
                </span>
                <span class="download-actions">
                    <Show when=move || state.get() == "completed">
                        <a class="button secondary" href=file_url.clone() download="" data-testid="save" on:click=on_save.clone()>
                            {
                                let saved = saved.clone();
                                move || if saved.get() { prefs.tr().save_again } else { prefs.tr().save }
                            }
                        </a>
                    </Show>
                    <button type="button" class="secondary" data-testid="row-action" on:click=on_action>
                        {move || if finished.get() { prefs.tr().remove } else { prefs.tr().cancel }}
                    </button>
                </span>
            </div>
        </li>
    }
}

impl Downloads {
    pub fn any_finished(&self) -> bool {
        self.list.with(|list| list.iter().any(Entry::finished))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use contract::ErrorCode;

    fn status(phase: JobState) -> JobStatus {
        JobStatus {
            status: phase,
            progress: 50.0,
            speed: Some("2.50 MiB/s".into()),
            eta: Some("1m 05s".into()),
            status_text: String::new(),
            title: None,
            filename: None,
            error: None,
            id: "x".into(),
            quality: "720".into(),
            downloaded_bytes: 5_000_000,
            total_bytes: Some(10_000_000),
            filesize: None,
            file_url: None,
            error_code: None,
            error_detail: None,
            post_step: None,
            hint: None,
            speed_bps: Some(2_600_000.0),
            eta_secs: Some(65),
            engine: None,
            restarted: false,
        }
    }

    #[test]
    fn rows_read_in_both_languages() {
        let s = status(JobState::Downloading);
        assert_eq!(
            row_text(Some(&s), false, Lang::En),
            "5.0\u{a0}MB of ~10\u{a0}MB · 2.6\u{a0}MB/s · 1\u{a0}min 05\u{a0}s left"
        );
        assert_eq!(
            row_text(Some(&s), false, Lang::Ru),
            "5,0\u{a0}МБ из ~10\u{a0}МБ · 2,6\u{a0}МБ/с · осталось\u{a0}1\u{a0}мин 05\u{a0}с"
        );
        let mut failed = status(JobState::Error);
        failed.error = Some("The site refused access to this video.".into());
        failed.error_code = Some(ErrorCode::RemoteForbidden);
        assert_eq!(row_text(Some(&failed), false, Lang::En), "The site refused access to this video.");
        assert_eq!(row_text(Some(&failed), false, Lang::Ru), "Сайт закрыл доступ к этому видео.");
        assert_eq!(row_text(None, true, Lang::Ru), crate::i18n::RU.expired);
        // Numbers come as numbers: the English text fields are not read.
        let mut merging = status(JobState::Merging);
        merging.status_text = "Something else entirely".into();
        merging.post_step = Some(PostStep::ExtractAudio);
        assert_eq!(row_text(Some(&merging), false, Lang::Ru), crate::i18n::RU.extracting_audio);
        let mut slow = status(JobState::Error);
        slow.error = Some("The file is larger than this server allows (100.00 MiB).".into());
        slow.error_code = Some(ErrorCode::TooLarge);
        slow.error_detail = Some(contract::Detail::limit(100 * 1024 * 1024));
        assert_eq!(row_text(Some(&slow), false, Lang::Ru), "Файл больше, чем разрешает этот сервер (105\u{a0}МБ).");
    }
}
