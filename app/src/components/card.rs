//! What the video card and the playlist card share: the picture, title and
//! stats at the top, the start button and its state, and the error box.

use super::quality_picker::default_quality;
use crate::api::Quality;
use crate::client;
use crate::i18n::{Failure, Tr};
use crate::prefs::{t, Prefs};
use leptos::prelude::*;

/// A card's start: the chosen quality, whether a start is under way (the
/// button says so and ignores clicks meanwhile), and why the last one failed.
#[derive(Clone, Copy)]
pub struct Starter {
    pub selected: RwSignal<String>,
    pub starting: RwSignal<bool>,
    pub error: RwSignal<Option<Failure>>,
    /// The server's label of each quality id, kept with the download so
    /// the list can name qualities this page does not know.
    labels: StoredValue<Vec<(String, String)>>,
}

impl Starter {
    pub fn new(qualities: &[Quality]) -> Starter {
        Starter {
            selected: RwSignal::new(default_quality(qualities)),
            starting: RwSignal::new(false),
            error: RwSignal::new(None),
            labels: StoredValue::new(qualities.iter().map(|q| (q.id.clone(), q.label.clone())).collect()),
        }
    }

    /// Marks a start under way and gives the chosen quality's id and label;
    /// `None` when nothing is chosen or a start is already under way.
    pub fn begin(&self) -> Option<(String, String)> {
        let quality = self.selected.get_untracked();
        if quality.is_empty() || self.starting.get_untracked() {
            return None;
        }
        let label = self.labels.with_value(|labels| {
            labels.iter().find(|(id, _)| *id == quality).map(|(_, l)| l.clone()).unwrap_or_default()
        });
        self.starting.set(true);
        self.error.set(None);
        Some((quality, label))
    }

    /// The start is over; `failure` when the server refused it.
    pub fn finish(&self, failure: Option<Failure>) {
        if let Some(failure) = failure {
            self.error.set(Some(failure));
        }
        self.starting.set(false);
    }
}

/// `text` added to `html` as text: the characters markup gives a meaning
/// escaped.
pub fn push_escaped(html: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            c => html.push(c),
        }
    }
}

/// Scrolls the list to a row just added, once it is drawn.
pub fn reveal_soon(row: String) {
    leptos::task::spawn_local(async move {
        client::sleep_ms(50).await;
        client::reveal(&row);
    });
}

/// The site's picture of the video or playlist.
#[component]
pub fn Thumb(src: String) -> impl IntoView {
    view! { <img class="thumb" src=src alt="" referrerpolicy="no-referrer" decoding="async" data-testid="thumbnail"/> }
}

/// The title, then the stats: the channel when the site names one, then
/// the card's own (`children`).
#[component]
pub fn CardHeading(title: String, uploader: Option<String>, children: Children) -> impl IntoView {
    view! {
        <h2 class="title" data-testid="title">{title}</h2>
        <dl class="stats">
            {uploader.map(|u| view! { <Stat label=|t| t.channel wide=true testid="uploader">{u}</Stat> })}
            {children()}
        </dl>
    }
}

/// One stat: its name (`label` of the language's table) and its value.
#[component]
pub fn Stat(
    label: fn(&'static Tr) -> &'static str,
    /// Takes a whole row (long values such as a channel's name).
    #[prop(optional)]
    wide: bool,
    #[prop(optional)] testid: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    view! {
        <div class=if wide { "stat wide" } else { "stat" }>
            <dt>{t(label)}</dt>
            <dd data-testid=testid>{children()}</dd>
        </div>
    }
}

/// The card's main button; `children` is its text.
#[component]
pub fn DownloadButton(
    on_click: Callback<leptos::ev::MouseEvent>,
    #[prop(into)] disabled: Signal<bool>,
    children: Children,
) -> impl IntoView {
    view! {
        <button
            type="button"
            class="primary download-button"
            on:click=move |ev| on_click.run(ev)
            aria-disabled=move || disabled.get().then_some("true")
        >
            <svg viewBox="0 0 24 24" aria-hidden="true">
                <path d="M12 4v11m0 0-4.5-4.5M12 15l4.5-4.5M5 19h14"/>
            </svg>
            {children()}
        </button>
    }
}

/// Why the last start failed, when it did.
#[component]
pub fn StartError(error: RwSignal<Option<Failure>>) -> impl IntoView {
    move || error.get().map(|failure| view! { <ErrorBox failure/> })
}

/// An error sentence, and below it what to do about it when there is something.
#[component]
pub fn ErrorBox(failure: Failure, #[prop(optional)] testid: Option<&'static str>) -> impl IntoView {
    let prefs = Prefs::get();
    let hint_failure = failure.clone();
    let hint = move || hint_failure.hint(prefs.lang.get());
    view! {
        <div class="error" role="alert" data-testid=testid>
            <p>{move || failure.text(prefs.lang.get())}</p>
            {move || hint().map(|h| view! { <p class="error-hint">{h}</p> })}
        </div>
    }
}
