//! The single page: paste a link, see what it is, pick a quality, and follow
//! this browser's downloads.

use crate::api::{Quality, VideoInfo};
use crate::client;
use crate::downloads::{quality_words, Announcer, DownloadRow, Downloads, Stored};
use crate::i18n::{self, Failure, Lang};
use crate::prefs::{Prefs, Theme};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// Where the lookup of the pasted link stands.
#[derive(Debug, Clone, PartialEq)]
enum Lookup {
    /// Nothing asked on this page yet: the server render's answer (if the
    /// address carried `?url=`) shows.
    Idle,
    Loading,
    Ready { url: String, info: VideoInfo },
    Failed(Failure),
}

/// What the server render knows of a `?url=` in the address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum FirstLookup {
    /// No link in the address.
    Nothing,
    Ready { url: String, info: VideoInfo },
    Failed(Failure),
    /// The server render could not look it up: the browser does.
    Pending(String),
}

/// The server render's lookup of `?url=`, when the server gives the page a
/// [`crate::ssr::ServerLookup`].
#[cfg(feature = "ssr")]
fn first_lookup_fetcher() -> impl Fn(String) -> std::pin::Pin<Box<dyn std::future::Future<Output = FirstLookup> + Send>>
       + Send
       + Sync
       + 'static {
    let hook = use_context::<crate::ssr::ServerLookup>();
    move |url: String| {
        let hook = hook.clone();
        Box::pin(async move {
            if url.trim().is_empty() {
                return FirstLookup::Nothing;
            }
            match hook {
                Some(hook) => match hook.lookup(url.clone()).await {
                    Ok(info) => FirstLookup::Ready { url, info },
                    Err(body) => FirstLookup::Failed(Failure { code: body.code, message: body.error }),
                },
                None => FirstLookup::Pending(url),
            }
        })
    }
}

/// In the browser the answer comes with the page; this runs only if it
/// did not.
#[cfg(not(feature = "ssr"))]
fn first_lookup_fetcher() -> impl Fn(String) -> std::future::Ready<FirstLookup> + Send + Sync + 'static {
    |url: String| {
        std::future::ready(if url.trim().is_empty() { FirstLookup::Nothing } else { FirstLookup::Pending(url) })
    }
}

#[component]
pub fn HomePage() -> impl IntoView {
    let prefs = Prefs::get();
    let announcer = Announcer(RwSignal::new(String::new()));
    provide_context(announcer);
    let downloads = Downloads::new(prefs, announcer);
    provide_context(downloads);

    let query_url = use_query_map().with_untracked(|q| q.get("url")).unwrap_or_default();
    let url = RwSignal::new(query_url.clone());
    let lookup = RwSignal::new(Lookup::Idle);
    let paste_hint = RwSignal::new(false);
    let first = Resource::new_blocking(move || query_url.clone(), first_lookup_fetcher());
    // Only the newest lookup may update the page: an answer to an older
    // request that arrives late is dropped.
    let generation = StoredValue::new(0u64);

    let look_up = move |link: String| {
        let link = link.trim().to_string();
        paste_hint.set(false);
        if link.is_empty() {
            lookup.set(Lookup::Failed(Failure::new("missing_url", "Paste a link to a video first.")));
            return;
        }
        let ticket = generation.get_value() + 1;
        generation.set_value(ticket);
        lookup.set(Lookup::Loading);
        leptos::task::spawn_local(async move {
            let result = client::video_info(link.clone()).await;
            if generation.get_value() != ticket {
                return;
            }
            match result {
                Ok(info) => {
                    announcer.say(format!("{}: {}", prefs.lang.get_untracked().tr().found, info.title));
                    client::show_link_in_address(Some(&link));
                    lookup.set(Lookup::Ready { url: link, info });
                }
                Err(failure) => lookup.set(Lookup::Failed(failure)),
            }
        });
    };

    // Once the script runs: bring back this browser's downloads, and look up
    // a `?url=` the server render could not.
    Effect::new(move |_| downloads.restore());
    Effect::new(move |_| {
        if let Some(FirstLookup::Pending(link)) = first.get() {
            if lookup.with_untracked(|l| *l == Lookup::Idle) {
                look_up(link);
            }
        }
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        look_up(url.get_untracked());
    };
    // A link pasted into the field is looked up at once.
    let input_ref = NodeRef::<leptos::html::Input>::new();
    let on_paste = move |_: leptos::ev::ClipboardEvent| {
        leptos::task::spawn_local(async move {
            client::sleep_ms(0).await;
            let value = input_ref.get_untracked().map(|el| el.value()).unwrap_or_else(|| url.get_untracked());
            url.set(value.clone());
            if looks_like_link(&value) {
                look_up(value);
            }
        });
    };
    let on_paste_button = move |_| {
        leptos::task::spawn_local(async move {
            match client::read_clipboard().await.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) {
                Some(text) => {
                    url.set(text.clone());
                    look_up(text);
                }
                None => {
                    paste_hint.set(true);
                    client::focus("url");
                }
            }
        });
    };

    let busy = move || lookup.with(|l| matches!(l, Lookup::Loading));
    let tr = move || prefs.tr();

    view! {
        <div class="page">
            <header class="masthead">
                <div class="brand-row">
                    <h1 class="brand">
                        <Logo/>
                        {crate::PRODUCT_NAME}
                    </h1>
                    <Settings/>
                </div>
                <p class="tagline">{move || tr().tagline}</p>
            </header>
            <main>
                <form class="lookup" method="get" action="/" novalidate on:submit=on_submit>
                    <label class="visually-hidden" for="url">{move || tr().link_label}</label>
                    <div class="field">
                        <svg class="field-icon" viewBox="0 0 24 24" aria-hidden="true">
                            <path d="M10 14a5 5 0 0 0 7.07 0l3-3a5 5 0 0 0-7.07-7.07l-1.5 1.5M14 10a5 5 0 0 0-7.07 0l-3 3a5 5 0 0 0 7.07 7.07l1.5-1.5"/>
                        </svg>
                        <input
                            id="url"
                            name="url"
                            type="text"
                            inputmode="url"
                            autocomplete="off"
                            autocapitalize="off"
                            spellcheck="false"
                            enterkeyhint="go"
                            placeholder=move || tr().placeholder
                            node_ref=input_ref
                            bind:value=url
                            on:paste=on_paste
                            aria-describedby="paste-hint"
                        />
                    </div>
                    <div class="lookup-buttons">
                        <button type="button" class="secondary paste" on:click=on_paste_button>
                            <svg viewBox="0 0 24 24" aria-hidden="true">
                                <path d="M9 4h6M9 4a1 1 0 0 0-1 1v1h8V5a1 1 0 0 0-1-1M8 6H6a1 1 0 0 0-1 1v13a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1V7a1 1 0 0 0-1-1h-2"/>
                            </svg>
                            {move || tr().paste}
                        </button>
                        <button type="submit" class="primary" aria-disabled=move || busy().then_some("true")>
                            {move || if busy() { tr().looking } else { tr().get_info }}
                        </button>
                    </div>
                </form>
                <p id="paste-hint" class="hint" aria-live="polite">
                    {move || paste_hint.get().then(|| tr().paste_hint)}
                </p>
                <div class="result" aria-busy=move || busy().to_string()>
                    {move || match lookup.get() {
                        Lookup::Idle => {
                            view! {
                                <Suspense fallback=CardSkeleton>
                                    {move || {
                                        first
                                            .get()
                                            .map(|first| match first {
                                                FirstLookup::Nothing => view! { <Intro/> }.into_any(),
                                                FirstLookup::Ready { url, info } => {
                                                    view! { <VideoCard url info/> }.into_any()
                                                }
                                                FirstLookup::Failed(failure) => {
                                                    view! { <LookupError failure/> }.into_any()
                                                }
                                                FirstLookup::Pending(_) => {
                                                    view! {
                                                        <CardSkeleton/>
                                                        <p class="error no-js-only">{move || tr().needs_script}</p>
                                                    }
                                                        .into_any()
                                                }
                                            })
                                    }}
                                </Suspense>
                            }
                                .into_any()
                        }
                        Lookup::Loading => view! { <CardSkeleton/> }.into_any(),
                        Lookup::Failed(failure) => view! { <LookupError failure/> }.into_any(),
                        Lookup::Ready { url, info } => view! { <VideoCard url info/> }.into_any(),
                    }}
                </div>
                <section
                    class="downloads"
                    aria-labelledby="downloads-heading"
                    hidden=move || downloads.list.with(Vec::is_empty)
                >
                    <div class="downloads-head">
                        <h2 id="downloads-heading" tabindex="-1">
                            {move || tr().downloads}
                            <span class="count">{move || downloads.list.with(Vec::len)}</span>
                        </h2>
                        <Show when=move || downloads.any_finished()>
                            <button type="button" class="ghost" on:click=move |_| downloads.clear_finished()>
                                {move || tr().clear_finished}
                            </button>
                        </Show>
                    </div>
                    <ul class="download-list" data-testid="downloads">
                        <For each=move || downloads.list.get() key=|entry| entry.id.clone() let:entry>
                            <DownloadRow entry/>
                        </For>
                    </ul>
                </section>
            </main>
            <footer class="footer">
                <p>{move || tr().footer}</p>
            </footer>
            <div class="visually-hidden" role="status" aria-live="polite" aria-atomic="true">
                {move || announcer.0.get()}
            </div>
        </div>
    }
}

/// `http://…` or `https://…` with something after it.
fn looks_like_link(text: &str) -> bool {
    let text = text.trim();
    (text.starts_with("https://") || text.starts_with("http://")) && text.len() > 10 && !text.contains(char::is_whitespace)
}

/// The mark next to the name: an arrow into a tray.
#[component]
fn Logo() -> impl IntoView {
    view! {
        <span class="brand-mark" aria-hidden="true">
            <svg viewBox="0 0 24 24">
                <path d="M12 4v11m0 0-4.5-4.5M12 15l4.5-4.5M5 19h14"/>
            </svg>
        </span>
    }
}

/// Language and theme switches. They are links (`?lang=ru`, `?theme=dark`)
/// so they work before the script loads; after that they switch in place.
#[component]
fn Settings() -> impl IntoView {
    let prefs = Prefs::get();
    let tr = move || prefs.tr();
    let languages = Lang::ALL
        .into_iter()
        .map(|lang| {
            let on_click = move |ev: leptos::ev::MouseEvent| {
                if !client::wants_new_tab(&ev) {
                    ev.prevent_default();
                    prefs.set_lang(lang);
                }
            };
            view! {
                <a
                    class="seg-item"
                    href=format!("?lang={}", lang.tag())
                    hreflang=lang.tag()
                    lang=lang.tag()
                    title=lang.native_name()
                    aria-current=move || (prefs.lang.get() == lang).then_some("true")
                    on:click=on_click
                >
                    {lang.tag().to_uppercase()}
                </a>
            }
        })
        .collect_view();
    let themes = Theme::ALL
        .into_iter()
        .map(|theme| {
            let on_click = move |ev: leptos::ev::MouseEvent| {
                if !client::wants_new_tab(&ev) {
                    ev.prevent_default();
                    prefs.set_theme(theme);
                }
            };
            let icon = match theme {
                Theme::System => view! {
                    <svg viewBox="0 0 24 24" aria-hidden="true">
                        <rect x="3" y="4" width="18" height="12" rx="2"/>
                        <path d="M8 20h8M12 16v4"/>
                    </svg>
                }
                    .into_any(),
                Theme::Light => view! {
                    <svg viewBox="0 0 24 24" aria-hidden="true">
                        <circle cx="12" cy="12" r="4"/>
                        <path d="M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4"/>
                    </svg>
                }
                    .into_any(),
                Theme::Dark => view! {
                    <svg viewBox="0 0 24 24" aria-hidden="true">
                        <path d="M20 14.5A8 8 0 1 1 9.5 4a6.5 6.5 0 0 0 10.5 10.5z"/>
                    </svg>
                }
                    .into_any(),
            };
            view! {
                <a
                    class="seg-item icon"
                    href=format!("?theme={}", theme.as_str())
                    aria-label=move || theme.name(prefs.tr())
                    title=move || theme.name(prefs.tr())
                    aria-current=move || (prefs.theme.get() == theme).then_some("true")
                    data-theme-option=theme.as_str()
                    on:click=on_click
                >
                    {icon}
                </a>
            }
        })
        .collect_view();
    view! {
        <nav class="settings" aria-label=move || format!("{} · {}", tr().language, tr().theme)>
            <div class="seg" role="group" aria-label=move || tr().language>
                {languages}
            </div>
            <div class="seg" role="group" aria-label=move || tr().theme>
                {themes}
            </div>
        </nav>
    }
}

/// What to do, before anything was looked up.
#[component]
fn Intro() -> impl IntoView {
    let prefs = Prefs::get();
    view! {
        <ol class="intro">
            {(0..3)
                .map(|i| {
                    view! {
                        <li>
                            <span class="intro-n" aria-hidden="true">{i + 1}</span>
                            <span>{move || prefs.tr().steps[i]}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
}

#[component]
fn LookupError(failure: Failure) -> impl IntoView {
    let prefs = Prefs::get();
    view! {
        <p class="error" role="alert" data-testid="lookup-error">
            {move || failure.text(prefs.lang.get())}
        </p>
    }
}

/// A grey outline of the card while the server asks the site: the same
/// sizes as the card, so nothing jumps when it arrives.
#[component]
fn CardSkeleton() -> impl IntoView {
    let prefs = Prefs::get();
    view! {
        <article class="card skeleton js-only" aria-label=move || prefs.tr().loading_details>
            <div class="card-top">
                <div class="thumb"></div>
                <div class="card-body">
                    <div class="line wide"></div>
                    <div class="line wide second"></div>
                    <div class="stats-skel">
                        <div class="line short"></div>
                        <div class="line short"></div>
                        <div class="line short"></div>
                    </div>
                </div>
            </div>
            <div class="choices-skel">
                <div class="chip"></div>
                <div class="chip"></div>
                <div class="chip"></div>
                <div class="chip"></div>
            </div>
        </article>
    }
}

/// The preview: thumbnail, title, channel, duration, views, qualities.
#[component]
fn VideoCard(url: String, info: VideoInfo) -> impl IntoView {
    let prefs = Prefs::get();
    let tr = move || prefs.tr();
    let downloads = expect_context::<Downloads>();
    let selected = RwSignal::new(default_quality(&info.qualities));
    let starting = RwSignal::new(false);
    let start_error = RwSignal::new(None::<Failure>);
    let labels: Vec<(String, String)> = info.qualities.iter().map(|q| (q.id.clone(), q.label.clone())).collect();
    let duration_secs = info.duration_secs.or_else(|| info.duration.as_deref().and_then(i18n::parse_clock));
    let views = info.views.or_else(|| {
        info.view_count.as_deref().and_then(|v| v.chars().filter(char::is_ascii_digit).collect::<String>().parse().ok())
    });
    let VideoInfo { title, uploader, thumbnail, qualities, .. } = info;
    let job_title = title.clone();
    let on_download = move |_| {
        let quality = selected.get_untracked();
        if quality.is_empty() || starting.get_untracked() {
            return;
        }
        let label = labels.iter().find(|(id, _)| *id == quality).map(|(_, l)| l.clone()).unwrap_or_default();
        let (url, title) = (url.clone(), job_title.clone());
        starting.set(true);
        start_error.set(None);
        leptos::task::spawn_local(async move {
            match client::start_download(url, quality.clone()).await {
                Ok(id) => {
                    let row = format!("dl-{id}");
                    downloads.add(Stored { id, title, quality, label, saved: false });
                    leptos::task::spawn_local(async move {
                        client::sleep_ms(50).await;
                        client::reveal(&row);
                    });
                }
                Err(failure) => start_error.set(Some(failure)),
            }
            starting.set(false);
        });
    };
    let thumb = match thumbnail {
        Some(src) => view! {
            <img class="thumb" src=src alt="" referrerpolicy="no-referrer" decoding="async" data-testid="thumbnail"/>
        }
            .into_any(),
        None => view! {
            <div class="thumb thumb-missing" aria-hidden="true">
                <svg viewBox="0 0 24 24"><path d="M8 5v14l11-7z"/></svg>
            </div>
        }
            .into_any(),
    };
    let (video, audio): (Vec<Quality>, Vec<Quality>) = qualities.into_iter().partition(|q| q.id != "audio");
    let has_audio = !audio.is_empty();
    let has_choices = !video.is_empty() || has_audio;
    view! {
        <article class="card" data-testid="video-card">
            <div class="card-top">
                <div class="thumb-wrap">
                    {thumb}
                    {duration_secs.map(|d| view! { <span class="badge" aria-hidden="true">{i18n::clock(d)}</span> })}
                </div>
                <div class="card-body">
                    <h2 class="title" data-testid="title">{title}</h2>
                    <dl class="stats">
                        {uploader
                            .map(|u| {
                                view! {
                                    <div class="stat wide">
                                        <dt>{move || tr().channel}</dt>
                                        <dd data-testid="uploader">{u}</dd>
                                    </div>
                                }
                            })}
                        {duration_secs
                            .map(|d| {
                                view! {
                                    <div class="stat">
                                        <dt>{move || tr().duration}</dt>
                                        <dd>
                                            <time datetime=i18n::iso_duration(d) data-testid="duration">
                                                {i18n::clock(d)}
                                            </time>
                                        </dd>
                                    </div>
                                }
                            })}
                        {views
                            .map(|v| {
                                view! {
                                    <div class="stat">
                                        <dt>{move || tr().views}</dt>
                                        <dd data-testid="views">{move || i18n::group(v, prefs.lang.get())}</dd>
                                    </div>
                                }
                            })}
                    </dl>
                </div>
            </div>
            <fieldset class="qualities" data-testid="qualities">
                <legend>{move || tr().quality}</legend>
                <div class="choices">
                    {video.into_iter().map(|q| view! { <QualityOption quality=q selected/> }).collect_view()}
                </div>
                <Show when=move || has_audio>
                    <div class="choices audio-choices">
                        <span class="group-label" aria-hidden="true">{move || tr().audio_group}</span>
                        {audio.clone().into_iter().map(|q| view! { <QualityOption quality=q selected/> }).collect_view()}
                    </div>
                </Show>
            </fieldset>
            <div class="card-actions">
                <Show when=move || has_choices>
                    <button
                        type="button"
                        class="primary download-button"
                        on:click=on_download.clone()
                        aria-disabled=move || starting.get().then_some("true")
                    >
                        <svg viewBox="0 0 24 24" aria-hidden="true">
                            <path d="M12 4v11m0 0-4.5-4.5M12 15l4.5-4.5M5 19h14"/>
                        </svg>
                        {move || if starting.get() { tr().starting } else { tr().download }}
                    </button>
                </Show>
                <p class="no-js-only muted">{move || tr().needs_script}</p>
                {move || {
                    start_error
                        .get()
                        .map(|f| view! { <p class="error" role="alert">{move || f.text(prefs.lang.get())}</p> })
                }}
            </div>
        </article>
    }
}

#[component]
fn QualityOption(quality: Quality, selected: RwSignal<String>) -> impl IntoView {
    let prefs = Prefs::get();
    let Quality { id, label, filesize_approx } = quality;
    let size = move || filesize_approx.map(|b| format!("≈ {}", i18n::bytes(b, prefs.lang.get())));
    let is_audio = id == "audio";
    let words_id = id.clone();
    let words = move || quality_words(&words_id, &label, prefs.tr());
    let words2 = words.clone();
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
            <span class="quality-text">
                <span class="quality-label">{move || words().0}</span>
                <span class="quality-meta">
                    <span class="quality-hint">{move || words2().1}</span>
                    <span class="quality-size">{size}</span>
                </span>
            </span>
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_links_are_looked_up_on_paste() {
        assert!(looks_like_link("https://example.com/watch?v=1"));
        assert!(looks_like_link("  http://127.0.0.1:4010/watch/main\n"));
        assert!(!looks_like_link("hello"));
        assert!(!looks_like_link("https://"));
        assert!(!looks_like_link("https://a.b/ c"));
    }
}
