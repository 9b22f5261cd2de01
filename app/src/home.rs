//! The single page: paste a link, see what it is, pick a quality.

use crate::api::{format_bytes, Quality, VideoInfo};
use crate::client;
use leptos::prelude::*;

/// Where the lookup of the pasted link stands.
#[derive(Debug, Clone, PartialEq)]
enum Lookup {
    Idle,
    Loading,
    Ready(VideoInfo),
    Failed(String),
}

#[component]
pub fn HomePage() -> impl IntoView {
    let url = RwSignal::new(String::new());
    let lookup = RwSignal::new(Lookup::Idle);
    // Only the newest lookup may update the page: an answer to an older
    // request that arrives late is dropped.
    let generation = StoredValue::new(0u64);

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let link = url.get_untracked().trim().to_string();
        if link.is_empty() {
            lookup.set(Lookup::Failed("Paste a link to a video first.".into()));
            return;
        }
        let ticket = generation.get_value() + 1;
        generation.set_value(ticket);
        lookup.set(Lookup::Loading);
        leptos::task::spawn_local(async move {
            let result = client::video_info(link).await;
            if generation.get_value() == ticket {
                lookup.set(match result {
                    Ok(info) => Lookup::Ready(info),
                    Err(message) => Lookup::Failed(message),
                });
            }
        });
    };

    let busy = move || lookup.with(|l| matches!(l, Lookup::Loading));

    view! {
        <main class="page">
            <header class="masthead">
                <h1 class="brand">
                    <span class="brand-mark" aria-hidden="true">"⬇"</span>
                    {crate::PRODUCT_NAME}
                </h1>
                <p class="tagline">"Paste a video link, pick a quality, get the file."</p>
            </header>
            <form class="lookup" on:submit=on_submit novalidate>
                <label class="visually-hidden" for="url">"Video link"</label>
                <input
                    id="url"
                    name="url"
                    type="text"
                    inputmode="url"
                    autocomplete="off"
                    spellcheck="false"
                    placeholder="https://www.youtube.com/watch?v=…"
                    bind:value=url
                />
                <button type="submit" class="primary" disabled=busy>
                    {move || if busy() { "Looking…" } else { "Get info" }}
                </button>
            </form>
            <div class="result" aria-live="polite" aria-busy=move || busy().to_string()>
                {move || match lookup.get() {
                    Lookup::Idle => ().into_any(),
                    Lookup::Loading => view! { <CardSkeleton/> }.into_any(),
                    Lookup::Failed(message) => {
                        view! {
                            <p class="error" role="alert" data-testid="lookup-error">
                                {message}
                            </p>
                        }
                            .into_any()
                    }
                    Lookup::Ready(info) => view! { <VideoCard info/> }.into_any(),
                }}
            </div>
        </main>
    }
}

/// A grey outline of the card while the server asks the site.
#[component]
fn CardSkeleton() -> impl IntoView {
    view! {
        <article class="card skeleton" aria-label="Loading video details">
            <div class="thumb"></div>
            <div class="card-body">
                <div class="line wide"></div>
                <div class="line"></div>
                <div class="line short"></div>
            </div>
        </article>
    }
}

/// The preview: thumbnail, title, uploader, duration, views, qualities.
#[component]
fn VideoCard(info: VideoInfo) -> impl IntoView {
    let selected = RwSignal::new(default_quality(&info.qualities));
    let VideoInfo { title, duration, uploader, view_count, thumbnail, qualities, .. } = info;
    let thumb = match thumbnail {
        Some(src) => view! {
            <img class="thumb" src=src alt="" referrerpolicy="no-referrer" data-testid="thumbnail"/>
        }
            .into_any(),
        None => view! { <div class="thumb thumb-missing" aria-hidden="true">"▶"</div> }.into_any(),
    };
    view! {
        <article class="card" data-testid="video-card">
            {thumb}
            <div class="card-body">
                <h2 class="title" data-testid="title">{title}</h2>
                <dl class="facts">
                    {uploader.map(|u| view! { <dt>"Channel"</dt><dd data-testid="uploader">{u}</dd> })}
                    {duration.map(|d| view! { <dt>"Duration"</dt><dd data-testid="duration">{d}</dd> })}
                    {view_count.map(|v| view! { <dt>"Views"</dt><dd data-testid="views">{v}</dd> })}
                </dl>
                <fieldset class="qualities" data-testid="qualities">
                    <legend>"Quality"</legend>
                    {qualities
                        .into_iter()
                        .map(|q| view! { <QualityOption quality=q selected/> })
                        .collect_view()}
                </fieldset>
            </div>
        </article>
    }
}

#[component]
fn QualityOption(quality: Quality, selected: RwSignal<String>) -> impl IntoView {
    let Quality { id, label, filesize_approx } = quality;
    let size = filesize_approx.map(|b| format!("≈ {}", format_bytes(b)));
    let is_audio = id == "audio";
    let value = id.clone();
    let input_value = id.clone();
    let marker = id.clone();
    let checked = move || selected.with(|s| *s == id);
    view! {
        <label class="quality" class:audio=is_audio data-quality=marker>
            <input
                type="radio"
                name="quality"
                value=input_value
                prop:checked=checked
                on:change=move |_| selected.set(value.clone())
            />
            <span class="quality-label">{label}</span>
            <span class="quality-size">{size}</span>
        </label>
    }
}

/// The picker starts on "auto" when offered, else the first choice.
fn default_quality(qualities: &[Quality]) -> String {
    qualities
        .iter()
        .find(|q| q.id == "auto")
        .or_else(|| qualities.first())
        .map(|q| q.id.clone())
        .unwrap_or_default()
}
