//! The single page: paste a link, see what it is, pick a quality.

use crate::api::{format_bytes, JobStatus, Quality, VideoInfo};
use crate::client;
use leptos::prelude::*;

/// A download this page started, newest first.
#[derive(Debug, Clone, PartialEq)]
struct DownloadEntry {
    id: String,
    title: String,
    quality: String,
}

/// The page's list of downloads, shared through context.
#[derive(Clone, Copy)]
struct Downloads(RwSignal<Vec<DownloadEntry>>);

/// Where the lookup of the pasted link stands.
#[derive(Debug, Clone, PartialEq)]
enum Lookup {
    Idle,
    Loading,
    Ready { url: String, info: VideoInfo },
    Failed(String),
}

#[component]
pub fn HomePage() -> impl IntoView {
    let url = RwSignal::new(String::new());
    let lookup = RwSignal::new(Lookup::Idle);
    let downloads = RwSignal::new(Vec::<DownloadEntry>::new());
    provide_context(Downloads(downloads));
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
            let result = client::video_info(link.clone()).await;
            if generation.get_value() == ticket {
                lookup.set(match result {
                    Ok(info) => Lookup::Ready { url: link, info },
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
                    Lookup::Ready { url, info } => view! { <VideoCard url info/> }.into_any(),
                }}
            </div>
            <section class="downloads" aria-labelledby="downloads-heading" hidden=move || downloads.with(Vec::is_empty)>
                <h2 id="downloads-heading">"Downloads"</h2>
                <ul class="download-list" data-testid="downloads">
                    <For each=move || downloads.get() key=|entry| entry.id.clone() let:entry>
                        <DownloadRow entry/>
                    </For>
                </ul>
            </section>
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
fn VideoCard(url: String, info: VideoInfo) -> impl IntoView {
    let selected = RwSignal::new(default_quality(&info.qualities));
    let downloads = expect_context::<Downloads>().0;
    let starting = RwSignal::new(false);
    let start_error = RwSignal::new(None::<String>);
    let labels: Vec<(String, String)> = info.qualities.iter().map(|q| (q.id.clone(), q.label.clone())).collect();
    let VideoInfo { title, duration, uploader, view_count, thumbnail, qualities, .. } = info;
    let job_title = title.clone();
    let on_download = move |_| {
        let quality = selected.get_untracked();
        if quality.is_empty() {
            return;
        }
        let label = labels.iter().find(|(id, _)| *id == quality).map(|(_, l)| l.clone()).unwrap_or_default();
        let (url, title) = (url.clone(), job_title.clone());
        starting.set(true);
        start_error.set(None);
        leptos::task::spawn_local(async move {
            match client::start_download(url, quality).await {
                Ok(id) => downloads.update(|list| list.insert(0, DownloadEntry { id, title, quality: label })),
                Err(message) => start_error.set(Some(message)),
            }
            starting.set(false);
        });
    };
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
                <div class="card-actions">
                    <button type="button" class="primary" on:click=on_download disabled=move || starting.get()>
                        "Download"
                    </button>
                    {move || start_error.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
                </div>
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

/// One download: live progress from server-sent events, Cancel, Save file.
#[component]
fn DownloadRow(entry: DownloadEntry) -> impl IntoView {
    let DownloadEntry { id, title, quality } = entry;
    let status = RwSignal::new(None::<JobStatus>);
    let saved = StoredValue::new(false);
    let file_url = format!("/api/file/{id}");
    {
        let id = id.clone();
        let file_url = file_url.clone();
        leptos::task::spawn_local(async move {
            client::follow(id, move |next| {
                // The browser's own download starts once, by itself.
                if next.status == "completed" && !saved.get_value() {
                    saved.set_value(true);
                    client::save_file(&file_url);
                }
                status.set(Some(next));
            })
            .await;
        });
    }
    let state = move || status.with(|s| s.as_ref().map(|s| s.status.clone()).unwrap_or_else(|| "queued".into()));
    let percent = move || status.with(|s| s.as_ref().map(|s| s.progress).unwrap_or(0.0));
    let running = move || !matches!(state().as_str(), "completed" | "error" | "cancelled");
    let cancel_id = id.clone();
    let on_cancel = move |_| {
        let id = cancel_id.clone();
        leptos::task::spawn_local(async move {
            let _ = client::cancel_download(id).await;
        });
    };
    view! {
        <li class="download" data-testid="download" data-id=id.clone() data-status=state>
            <div class="download-head">
                <span class="download-title">{title}</span>
                <span class="download-quality">{quality}</span>
            </div>
            <div
                class="bar"
                role="progressbar"
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=move || format!("{:.0}", percent())
            >
                <div class="bar-fill" style:width=move || format!("{:.1}%", percent())></div>
            </div>
            <div class="download-foot">
                <span class="download-percent" data-testid="percent">{move || format!("{:.1}%", percent())}</span>
                <span class="download-text" aria-live="polite">
                    {move || status.with(|s| s.as_ref().map(row_text).unwrap_or_else(|| "Waiting to start…".into()))}
                </span>
                <span class="download-actions">
                    <Show when=running>
                        <button type="button" class="secondary" on:click=on_cancel.clone()>"Cancel"</button>
                    </Show>
                    <Show when=move || state() == "completed">
                        <a class="button secondary" href=file_url.clone() download="" data-testid="save">"Save file"</a>
                    </Show>
                </span>
            </div>
        </li>
    }
}

/// The line under a download's bar.
fn row_text(status: &JobStatus) -> String {
    match status.status.as_str() {
        "completed" => match (&status.filename, status.filesize) {
            (Some(name), Some(size)) => format!("Done: {name} ({})", format_bytes(size)),
            _ => "Done.".into(),
        },
        "error" => status.error.clone().unwrap_or_else(|| "The download failed.".into()),
        "cancelled" => "Cancelled.".into(),
        _ => status.status_text.clone(),
    }
}
