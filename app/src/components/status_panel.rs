//! The server's tool check, folded away in the footer.

use crate::client;
use crate::prefs::{t, Prefs};
use leptos::prelude::*;

/// A small panel in the footer: the server's tool check (yt-dlp and its age,
/// ffmpeg, JS runtime, PO-token providers, cookies, free disk), worded by the
/// server in the page's language. Fetched when first opened, and again when
/// the language changes while it has been opened.
#[component]
pub fn StatusPanel() -> impl IntoView {
    let lang = Prefs::get().lang;
    // `None`: not asked yet or waiting; `Some(None)`: no answer.
    let report = RwSignal::new(None::<Option<String>>);
    let opened = RwSignal::new(false);
    Effect::new(move |_| {
        let lang = lang.get();
        if opened.get() {
            report.set(None);
            leptos::task::spawn_local(async move {
                report.set(Some(client::health_text(lang).await));
            });
        }
    });
    let on_toggle = move |_| {
        if !opened.get_untracked() {
            opened.set(true);
        }
    };
    let text = move || match report.get() {
        None => Prefs::get().tr().status_checking.to_owned(),
        Some(None) => Prefs::get().tr().status_failed.to_owned(),
        Some(Some(text)) => text,
    };
    // A block per line, so a line too long for a phone wraps under its own
    // text (hanging indent) instead of looking like the next item.
    let lines =
        move || text().lines().map(|line| view! { <span class="status-line">{line.to_owned()}</span> }).collect_view();
    view! {
        <details class="status-panel" data-testid="status-panel" on:toggle=on_toggle>
            <summary>{t(|t| t.status_title)}</summary>
            <p aria-live="polite">{lines}</p>
        </details>
    }
}
