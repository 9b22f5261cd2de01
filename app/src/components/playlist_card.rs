//! A playlist, a channel, or several pasted links: the videos to tick, one
//! quality (and audio format, and tags) for all, one button that starts
//! them all in one request.

use super::card::{reveal_soon, CardHeading, DownloadButton, StartError, Starter, Stat, Thumb};
use super::options::{ExtraChoices, Extras};
use super::quality_picker::QualityPicker;
use crate::api::{BatchItem, PlaylistInfo, PlaylistItem, VideoInfo};
use crate::client;
use crate::downloads::{Downloads, Stored};
use crate::i18n::{self, Failure};
use crate::prefs::{t, Prefs};
use leptos::prelude::*;

#[component]
pub fn PlaylistCard(info: VideoInfo, playlist: PlaylistInfo) -> impl IntoView {
    let prefs = Prefs::get();
    let tr = move || prefs.tr();
    let starter = Starter::new(&info.qualities);
    let PlaylistInfo { entries, count, truncated, pasted } = playlist;
    let total = entries.len();
    let picked = RwSignal::new(vec![true; total]);
    let picked_count = move || picked.with(|p| p.iter().filter(|b| **b).count());
    // The links that did not start: their titles and why.
    let refused = RwSignal::new(Vec::<(String, Failure)>::new());
    let thumbnail = info.thumbnail.clone().or_else(|| entries.iter().find_map(|e| e.thumbnail.clone()));
    let all_count = count.unwrap_or(total as u64);
    let extras = Extras::new();
    let selected = starter.selected;
    let on_download = start_picked(entries.clone(), picked, starter, extras, refused);
    // No picture for the list: the text takes the whole width.
    let has_thumb = thumbnail.is_some();
    let thumb = thumbnail.map(|src| {
        view! {
            <div class="thumb-wrap">
                <Thumb src/>
                <span class="badge">{move || i18n::videos(all_count, prefs.lang.get())}</span>
            </div>
        }
    });
    let starting = starter.starting;
    view! {
        <article class="card playlist-card" data-testid="video-card" data-playlist="true">
            <div class="card-top" class:no-thumb=!has_thumb>
                {thumb}
                <div class="card-body">
                    <p class="kicker">
                        {move || if pasted { prefs.tr().pasted_links } else { prefs.tr().playlist }}
                    </p>
                    <CardHeading title=info.title uploader=info.uploader>
                        <Stat label=|t| t.videos>{move || i18n::group(all_count, prefs.lang.get())}</Stat>
                    </CardHeading>
                    <Show when=move || truncated>
                        <p class="muted small">{move || i18n::showing_first(total as u64, count, prefs.lang.get())}</p>
                    </Show>
                </div>
            </div>
            <EntryList entries picked/>
            <QualityPicker qualities=info.qualities selected audio_format=extras.audio_format/>
            <ExtraChoices extras/>
            <div class="card-actions">
                <DownloadButton on_click=on_download disabled=Signal::derive(move || starting.get() || picked_count() == 0)>
                    {move || {
                        if starting.get() {
                            tr().starting.to_string()
                        } else {
                            i18n::download_videos(picked_count() as u64, prefs.lang.get())
                        }
                    }}
                </DownloadButton>
                <p class="no-js-only muted">{t(|t| t.needs_script)}</p>
                <StartError error=starter.error/>
                <Refused refused/>
            </div>
        </article>
    }
}

/// The Download button: starts the ticked entries in one request, adds
/// those that started to the list, and keeps why the others did not.
fn start_picked(
    entries: Vec<PlaylistItem>,
    picked: RwSignal<Vec<bool>>,
    starter: Starter,
    extras: Extras,
    refused: RwSignal<Vec<(String, Failure)>>,
) -> Callback<leptos::ev::MouseEvent> {
    let downloads = expect_context::<Downloads>();
    Callback::new(move |_| {
        let chosen: Vec<PlaylistItem> = picked
            .with_untracked(|p| entries.iter().zip(p.iter()).filter(|(_, on)| **on).map(|(e, _)| e.clone()).collect());
        if chosen.is_empty() {
            return;
        }
        let Some((quality, label)) = starter.begin() else { return };
        let choices = extras.choices(&quality, None);
        refused.set(Vec::new());
        leptos::task::spawn_local(async move {
            let urls = chosen.iter().map(|e| e.url.clone()).collect();
            let failure = match client::start_batch(urls, quality.clone(), choices).await {
                Ok(items) => {
                    let (started, failed) = sort_out(items, chosen, &quality, &label);
                    if let Some(first) = started.first() {
                        let row = format!("dl-{}", first.id);
                        downloads.add_many(started);
                        reveal_soon(row);
                    }
                    refused.set(failed);
                    None
                }
                Err(failure) => Some(failure),
            };
            starter.finish(failure);
        });
    })
}

/// The server's answer for each chosen entry (in the same order): the
/// downloads that started, and the titles of the others with why not.
fn sort_out(
    items: Vec<BatchItem>,
    chosen: Vec<PlaylistItem>,
    quality: &str,
    label: &str,
) -> (Vec<Stored>, Vec<(String, Failure)>) {
    let mut started = Vec::new();
    let mut failed = Vec::new();
    for (item, entry) in items.into_iter().zip(chosen) {
        match item.download_id {
            Some(id) => started.push(Stored {
                id,
                title: entry.title,
                quality: quality.to_string(),
                label: label.to_string(),
                saved: false,
            }),
            None => failed.push((
                entry.title,
                Failure::from_server(item.code, item.detail, item.error.unwrap_or_default(), None),
            )),
        }
    }
    (started, failed)
}

/// The entries to tick, with how many are ticked and a button that ticks
/// all or none.
#[component]
fn EntryList(entries: Vec<PlaylistItem>, picked: RwSignal<Vec<bool>>) -> impl IntoView {
    let prefs = Prefs::get();
    let tr = move || prefs.tr();
    let total = entries.len();
    let picked_count = move || picked.with(|p| p.iter().filter(|b| **b).count());
    let toggle_all = move |_| {
        let all = picked.with_untracked(|p| p.iter().all(|b| *b));
        picked.set(vec![!all; total]);
    };
    let rows = entries.into_iter().enumerate().map(|(i, entry)| view! { <EntryRow i entry picked/> }).collect_view();
    view! {
        <fieldset class="pl-entries">
            <legend class="pl-legend">
                {move || i18n::selected_of(picked_count() as u64, total as u64, prefs.lang.get())}
            </legend>
            <button type="button" class="ghost pl-toggle" on:click=toggle_all>
                {move || if picked_count() == total { tr().select_none } else { tr().select_all }}
            </button>
            <ul class="pl-list">{rows}</ul>
        </fieldset>
    }
}

/// One entry of the list, with its tick box.
#[component]
fn EntryRow(i: usize, entry: PlaylistItem, picked: RwSignal<Vec<bool>>) -> impl IntoView {
    let PlaylistItem { title, duration_secs, thumbnail, .. } = entry;
    let checked = move || picked.with(|p| p.get(i).copied().unwrap_or(false));
    let on_change = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        picked.update(|p| {
            if let Some(slot) = p.get_mut(i) {
                *slot = on;
            }
        });
    };
    view! {
        <li>
            <label class="pl-item" data-entry=i>
                <input type="checkbox" prop:checked=checked on:change=on_change/>
                <span class="pl-n" aria-hidden="true">{i + 1}</span>
                {thumbnail
                    .map(|src| {
                        view! { <img class="pl-thumb" src=src alt="" loading="lazy" referrerpolicy="no-referrer"/> }
                    })}
                <span class="pl-title">{title}</span>
                {duration_secs.map(|d| view! { <span class="pl-duration">{i18n::clock(d)}</span> })}
            </label>
        </li>
    }
}

/// The entries the server would not start, each with why.
#[component]
fn Refused(refused: RwSignal<Vec<(String, Failure)>>) -> impl IntoView {
    let prefs = Prefs::get();
    move || {
        let failed = refused.get();
        (!failed.is_empty()).then(|| {
            let lang = prefs.lang.get();
            view! {
                <div class="error" role="alert">
                    <p>{i18n::not_started(failed.len() as u64, lang)}</p>
                    <ul class="refused">
                        {failed
                            .into_iter()
                            .map(|(title, failure)| {
                                let error = failure.text(lang);
                                view! { <li>{title}": "{error}</li> }
                            })
                            .collect_view()}
                    </ul>
                </div>
            }
        })
    }
}
