//! The single page: paste a link, see what it is, pick a quality, and follow
//! this browser's downloads.

use crate::api::{PlaylistInfo, PlaylistItem, Quality, VideoInfo};
use crate::client;
use crate::downloads::{quality_words, Announcer, DownloadRow, Downloads, Stored};
use crate::i18n::{self, Failure, Lang, Texts};
use crate::prefs::{t, Prefs, Theme};
use leptos::prelude::*;
use leptos::either::{Either, EitherOf4};

/// Where the lookup of the pasted link stands.
#[derive(Debug, Clone, PartialEq)]
enum Lookup {
    /// Nothing asked on this page yet.
    Idle,
    Loading,
    Ready { url: String, info: VideoInfo },
    Failed(Failure),
}

#[component]
pub fn HomePage() -> impl IntoView {
    let prefs = Prefs::get();
    let announcer = Announcer(RwSignal::new(String::new()));
    provide_context(announcer);
    let downloads = Downloads::new(prefs, announcer);
    provide_context(downloads);

    // A link in the address (`/?url=…`: a reload, a shared link, a
    // bookmarklet, or the form sent before the script ran) is looked up as
    // soon as the script runs.
    let query_url = client::query_param("url").unwrap_or_default();
    let url = RwSignal::new(query_url.clone());
    // Also written as the attribute, so the server render shows it.
    let initial_url = query_url.clone();
    let lookup = RwSignal::new(if query_url.trim().is_empty() { Lookup::Idle } else { Lookup::Loading });
    let paste_hint = RwSignal::new(false);
    // Only the newest lookup may update the page: an answer to an older
    // request that arrives late is dropped.
    let generation = StoredValue::new(0u64);

    let look_up = move |link: String| {
        let link = link.trim().to_string();
        paste_hint.set(false);
        if link.is_empty() {
            lookup.set(Lookup::Failed(Failure::of(contract::ErrorCode::MissingUrl)));
            return;
        }
        let ticket = generation.get_value() + 1;
        generation.set_value(ticket);
        // Several links at once: one list to pick from, one job each.
        let links = several_links(&link);
        if links.len() > 1 {
            let info = links_as_playlist(links, prefs.lang.get_untracked().tr().videos);
            lookup.set(Lookup::Ready { url: link, info });
            return;
        }
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
    // the `?url=` of the address.
    let running = RwSignal::new(false);
    Effect::new(move |_| {
        running.set(true);
        downloads.restore();
    });
    let first_link = StoredValue::new(query_url.clone());
    Effect::new(move |_| {
        let link = first_link.get_value();
        if !link.trim().is_empty() {
            look_up(link);
        }
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        look_up(url.get_untracked());
    };
    // A link pasted into the field is looked up at once.
    let input_ref = NodeRef::<leptos::html::Input>::new();
    let on_paste = move |ev: leptos::ev::ClipboardEvent| {
        // A field drops the line breaks of pasted text, which would glue
        // several links together: take them from the clipboard data instead.
        #[cfg(feature = "hydrate")]
        let pasted = ev.clipboard_data().and_then(|data| data.get_data("text").ok()).unwrap_or_default();
        #[cfg(not(feature = "hydrate"))]
        let pasted = String::new();
        let links = several_links(&pasted);
        if links.len() > 1 {
            ev.prevent_default();
            let joined = links.join(" ");
            url.set(joined.clone());
            look_up(joined);
            return;
        }
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

    // Without the script (server render, no JavaScript) nothing is under way.
    let busy = move || running.get() && lookup.with(|l| matches!(l, Lookup::Loading));
    let tr = move || prefs.tr();

    let header = view! {
        <header class="masthead">
            <div class="brand-row">
                <h1 class="brand">
                    <Logo/>
                    {crate::PRODUCT_NAME}
                </h1>
                <Settings/>
            </div>
            <p class="tagline">{t(|t| t.tagline)}</p>
        </header>
    };
    let form = view! {
        <form class="lookup" method="get" action="/" novalidate on:submit=on_submit>
            <label class="visually-hidden" for="url">{t(|t| t.link_label)}</label>
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
                    placeholder=t(|t| t.placeholder)
                    node_ref=input_ref
                    value=initial_url
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
                    {t(|t| t.paste)}
                </button>
                <button type="submit" class="primary" aria-disabled=move || busy().then_some("true")>
                    {move || if busy() { tr().looking } else { tr().get_info }}
                </button>
            </div>
        </form>
        <p id="paste-hint" class="hint" aria-live="polite">
            {move || paste_hint.get().then(|| tr().paste_hint)}
        </p>
    };
    let result = view! {
        <div class="result" aria-busy=move || busy().to_string()>
            {move || match lookup.get() {
                Lookup::Idle => EitherOf4::A(view! { <Intro/> }),
                Lookup::Loading => {
                    EitherOf4::B(
                        view! {
                            <CardSkeleton/>
                            <p class="notice no-js-only">{t(|t| t.needs_script)}</p>
                        },
                    )
                }
                Lookup::Failed(failure) => EitherOf4::C(view! { <LookupError failure/> }),
                Lookup::Ready { url, info } => EitherOf4::D(view! { <VideoCard url info/> }),
            }}
        </div>
    };
    let list = view! {
        <section
            class="downloads"
            aria-labelledby="downloads-heading"
            hidden=move || downloads.list.with(Vec::is_empty)
        >
            <div class="downloads-head">
                <h2 id="downloads-heading" tabindex="-1">
                    {t(|t| t.downloads)}
                    <span class="count">{move || downloads.list.with(Vec::len)}</span>
                </h2>
                <Show when=move || downloads.any_finished()>
                    <button type="button" class="ghost" on:click=move |_| downloads.clear_finished()>
                        {t(|t| t.clear_finished)}
                    </button>
                </Show>
            </div>
            <ul class="download-list" data-testid="downloads">
                <For each=move || downloads.list.get() key=|entry| entry.id.clone() let:entry>
                    <DownloadRow entry/>
                </For>
            </ul>
        </section>
    };
    view! {
        <div class="page">
            {header}
            <main>{form}{result}{list}</main>
            <footer class="footer">
                <p>{t(|t| t.footer)}</p>
                <StatusPanel/>
            </footer>
            <div class="visually-hidden" role="status" aria-live="polite" aria-atomic="true">
                {move || announcer.0.get()}
            </div>
        </div>
    }
}

/// `http://…` or `https://…` with something after it.
/// The http(s) links in text separated by spaces or line breaks.
fn several_links(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|word| looks_like_link(word))
        .map(str::to_string)
        .collect()
}

/// Several pasted links shown like a playlist: every quality, one job each.
fn links_as_playlist(links: Vec<String>, title: &str) -> VideoInfo {
    const IDS: [&str; 8] = ["2160", "1440", "1080", "720", "480", "360", "auto", "audio"];
    let entries: Vec<PlaylistItem> = links
        .into_iter()
        .map(|url| PlaylistItem { title: url.clone(), url, duration: None, duration_secs: None, thumbnail: None })
        .collect();
    VideoInfo {
        title: title.to_string(),
        duration: None,
        uploader: None,
        view_count: None,
        thumbnail: None,
        qualities: IDS
            .iter()
            .map(|id| Quality { id: id.to_string(), label: id.to_string(), filesize_approx: None })
            .collect(),
        duration_secs: None,
        views: None,
        webpage_url: None,
        playlist: Some(PlaylistInfo { count: Some(entries.len() as u64), entries, truncated: false, pasted: true }),
    }
}

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
                    {lang.short_name()}
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
                Theme::System => "M5 4h14a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zM8 20h8M12 16v4",
                Theme::Light => "M12 8a4 4 0 1 0 0 8a4 4 0 1 0 0-8zM12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4",
                Theme::Dark => "M20 14.5A8 8 0 1 1 9.5 4a6.5 6.5 0 0 0 10.5 10.5z",
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
                    <svg viewBox="0 0 24 24" aria-hidden="true">
                        <path d=icon/>
                    </svg>
                </a>
            }
        })
        .collect_view();
    view! {
        <nav class="settings" aria-label=move || format!("{} · {}", tr().language, tr().theme)>
            <div class="seg" role="group" aria-label=t(|t| t.language)>
                {languages}
            </div>
            <div class="seg" role="group" aria-label=t(|t| t.theme)>
                {themes}
            </div>
        </nav>
    }
}

/// What to do, before anything was looked up.
#[component]
fn Intro() -> impl IntoView {
    let steps = [t(|t| t.steps[0]), t(|t| t.steps[1]), t(|t| t.steps[2])];
    view! {
        <ol class="intro">
            {steps
                .into_iter()
                .enumerate()
                .map(|(i, step)| {
                    view! {
                        <li>
                            <span class="intro-n" aria-hidden="true">{i + 1}</span>
                            <span>{step}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
}

#[component]
fn LookupError(failure: Failure) -> impl IntoView {
    view! { <ErrorBox failure testid="lookup-error"/> }
}

/// An error sentence, and below it what to do about it when there is something.
#[component]
fn ErrorBox(failure: Failure, #[prop(optional)] testid: Option<&'static str>) -> impl IntoView {
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

/// A grey outline of the card while the server asks the site: the same
/// sizes as the card, so nothing jumps when it arrives.
#[component]
fn CardSkeleton() -> impl IntoView {
    view! {
        <article class="card skeleton js-only" aria-label=t(|t| t.loading_details)>
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
    match info.playlist.clone() {
        Some(playlist) => Either::Left(view! { <PlaylistCard info playlist/> }),
        None => Either::Right(view! { <SingleCard url info/> }),
    }
}

/// One video.
#[component]
fn SingleCard(url: String, info: VideoInfo) -> impl IntoView {
    let prefs = Prefs::get();
    let tr = move || prefs.tr();
    let downloads = expect_context::<Downloads>();
    let selected = RwSignal::new(default_quality(&info.qualities));
    let starting = RwSignal::new(false);
    let start_error = RwSignal::new(None::<Failure>);
    let labels: Vec<(String, String)> = info.qualities.iter().map(|q| (q.id.clone(), q.label.clone())).collect();
    let duration_secs = info.duration_secs;
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
        Some(src) => Either::Left(view! {
            <img class="thumb" src=src alt="" referrerpolicy="no-referrer" decoding="async" data-testid="thumbnail"/>
        }),
        None => Either::Right(view! {
            <div class="thumb thumb-missing" aria-hidden="true">
                <svg viewBox="0 0 24 24"><path d="M8 5v14l11-7z"/></svg>
            </div>
        }),
    };
    let has_choices = !qualities.is_empty();
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
                                        <dt>{t(|t| t.channel)}</dt>
                                        <dd data-testid="uploader">{u}</dd>
                                    </div>
                                }
                            })}
                        {duration_secs
                            .map(|d| {
                                view! {
                                    <div class="stat">
                                        <dt>{t(|t| t.duration)}</dt>
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
                                        <dt>{t(|t| t.views)}</dt>
                                        <dd data-testid="views">{move || i18n::group(v, prefs.lang.get())}</dd>
                                    </div>
                                }
                            })}
                    </dl>
                </div>
            </div>
            <QualityPicker qualities selected/>
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
                <p class="no-js-only muted">{t(|t| t.needs_script)}</p>
                {move || {
                    start_error
                        .get()
                        .map(|failure| view! { <ErrorBox failure/> })
                }}
            </div>
        </article>
    }
}

/// The quality choices: video heights and "best" in a grid, sound only set
/// apart below them. One radio group.
#[component]
fn QualityPicker(qualities: Vec<Quality>, selected: RwSignal<String>) -> impl IntoView {
    let (video, audio): (Vec<Quality>, Vec<Quality>) = qualities.into_iter().partition(|q| q.id != "audio");
    let audio_view = (!audio.is_empty()).then(|| {
        view! {
            <div class="choices audio-choices">
                <span class="group-label" aria-hidden="true">{t(|t| t.audio_group)}</span>
                {audio.into_iter().map(|q| view! { <QualityOption quality=q selected/> }).collect_view()}
            </div>
        }
    });
    view! {
        <fieldset class="qualities" data-testid="qualities">
            <legend>{t(|t| t.quality)}</legend>
            <div class="choices">
                {video.into_iter().map(|q| view! { <QualityOption quality=q selected/> }).collect_view()}
            </div>
            {audio_view}
        </fieldset>
    }
}

/// A playlist or channel: its videos to tick, one quality for all, one
/// button that starts them all.
#[component]
fn PlaylistCard(info: VideoInfo, playlist: PlaylistInfo) -> impl IntoView {
    let prefs = Prefs::get();
    let tr = move || prefs.tr();
    let downloads = expect_context::<Downloads>();
    let selected = RwSignal::new(default_quality(&info.qualities));
    let PlaylistInfo { entries, count, truncated, pasted } = playlist;
    let total = entries.len();
    let picked = RwSignal::new(vec![true; total]);
    let picked_count = move || picked.with(|p| p.iter().filter(|b| **b).count());
    let starting = RwSignal::new(false);
    let start_error = RwSignal::new(None::<Failure>);
    // The links that did not start: their titles and why.
    let refused = RwSignal::new(Vec::<(String, Failure)>::new());
    let labels: Vec<(String, String)> = info.qualities.iter().map(|q| (q.id.clone(), q.label.clone())).collect();
    let thumbnail = info.thumbnail.clone().or_else(|| entries.iter().find_map(|e| e.thumbnail.clone()));
    let all_count = count.unwrap_or(total as u64);
    let list = entries.clone();
    let on_download = move |_| {
        let quality = selected.get_untracked();
        let chosen: Vec<PlaylistItem> = picked.with_untracked(|p| {
            list.iter().zip(p.iter()).filter(|(_, on)| **on).map(|(e, _)| e.clone()).collect()
        });
        if chosen.is_empty() || quality.is_empty() || starting.get_untracked() {
            return;
        }
        let label = labels.iter().find(|(id, _)| *id == quality).map(|(_, l)| l.clone()).unwrap_or_default();
        starting.set(true);
        start_error.set(None);
        refused.set(Vec::new());
        leptos::task::spawn_local(async move {
            let urls = chosen.iter().map(|e| e.url.clone()).collect();
            match client::start_batch(urls, quality.clone()).await {
                Ok(items) => {
                    let mut started = Vec::new();
                    let mut failed = Vec::new();
                    for (item, entry) in items.into_iter().zip(chosen) {
                        match item.download_id {
                            Some(id) => started.push(Stored {
                                id,
                                title: entry.title,
                                quality: quality.clone(),
                                label: label.clone(),
                                saved: false,
                            }),
                            None => failed.push((
                                entry.title,
                                Failure::from_server(item.code, item.detail, item.error.unwrap_or_default(), None),
                            )),
                        }
                    }
                    if let Some(first) = started.first() {
                        let row = format!("dl-{}", first.id);
                        downloads.add_many(started);
                        leptos::task::spawn_local(async move {
                            client::sleep_ms(50).await;
                            client::reveal(&row);
                        });
                    }
                    refused.set(failed);
                }
                Err(failure) => start_error.set(Some(failure)),
            }
            starting.set(false);
        });
    };
    let toggle_all = move |_| {
        let all = picked.with_untracked(|p| p.iter().all(|b| *b));
        picked.set(vec![!all; total]);
    };
    // No picture for the list: the text takes the whole width.
    let has_thumb = thumbnail.is_some();
    let thumb = thumbnail.map(|src| {
        view! {
            <div class="thumb-wrap">
                <img class="thumb" src=src alt="" referrerpolicy="no-referrer" decoding="async" data-testid="thumbnail"/>
                <span class="badge">{move || i18n::videos(all_count, prefs.lang.get())}</span>
            </div>
        }
    });
    let rows = entries
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            let PlaylistItem { title, duration_secs, thumbnail, .. } = entry;
            let secs = duration_secs;
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
                                view! {
                                    <img class="pl-thumb" src=src alt="" loading="lazy" referrerpolicy="no-referrer"/>
                                }
                            })}
                        <span class="pl-title">{title}</span>
                        {secs.map(|d| view! { <span class="pl-duration">{i18n::clock(d)}</span> })}
                    </label>
                </li>
            }
        })
        .collect_view();
    let title = info.title.clone();
    let uploader = info.uploader.clone();
    view! {
        <article class="card playlist-card" data-testid="video-card" data-playlist="true">
            <div class="card-top" class:no-thumb=!has_thumb>
                {thumb}
                <div class="card-body">
                    <p class="kicker">
                        {move || if pasted { prefs.tr().pasted_links } else { prefs.tr().playlist }}
                    </p>
                    <h2 class="title" data-testid="title">{title}</h2>
                    <dl class="stats">
                        {uploader
                            .map(|u| {
                                view! {
                                    <div class="stat wide">
                                        <dt>{t(|t| t.channel)}</dt>
                                        <dd data-testid="uploader">{u}</dd>
                                    </div>
                                }
                            })}
                        <div class="stat">
                            <dt>{t(|t| t.videos)}</dt>
                            <dd>{move || i18n::group(all_count, prefs.lang.get())}</dd>
                        </div>
                    </dl>
                    <Show when=move || truncated>
                        <p class="muted small">{move || i18n::showing_first(total as u64, count, prefs.lang.get())}</p>
                    </Show>
                </div>
            </div>
            <fieldset class="pl-entries">
                <legend class="pl-legend">
                    {move || i18n::selected_of(picked_count() as u64, total as u64, prefs.lang.get())}
                </legend>
                <button type="button" class="ghost pl-toggle" on:click=toggle_all>
                    {move || if picked_count() == total { tr().select_none } else { tr().select_all }}
                </button>
                <ul class="pl-list">{rows}</ul>
            </fieldset>
            <QualityPicker qualities=info.qualities selected/>
            <div class="card-actions">
                <button
                    type="button"
                    class="primary download-button"
                    on:click=on_download
                    aria-disabled=move || (starting.get() || picked_count() == 0).then_some("true")
                >
                    <svg viewBox="0 0 24 24" aria-hidden="true">
                        <path d="M12 4v11m0 0-4.5-4.5M12 15l4.5-4.5M5 19h14"/>
                    </svg>
                    {move || {
                        if starting.get() {
                            tr().starting.to_string()
                        } else {
                            i18n::download_videos(picked_count() as u64, prefs.lang.get())
                        }
                    }}
                </button>
                <p class="no-js-only muted">{t(|t| t.needs_script)}</p>
                {move || start_error.get().map(|failure| view! { <ErrorBox failure/> })}
                {move || {
                    let failed = refused.get();
                    (!failed.is_empty())
                        .then(|| {
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
                <span class="quality-line">
                    <span class="quality-label">{move || words().0}</span>
                    <span class="quality-hint">{move || words2().1}</span>
                </span>
                <span class="quality-size">{size}</span>
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

/// A small panel in the footer: the server's tool check (yt-dlp and its age,
/// ffmpeg, JS runtime, PO-token providers, cookies, free disk), worded by the
/// server in the page's language. Fetched when first opened, and again when
/// the language changes while it has been opened.
#[component]
fn StatusPanel() -> impl IntoView {
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
    // One text node, its lines kept by `white-space: pre-line`.
    view! {
        <details class="status-panel" data-testid="status-panel" on:toggle=on_toggle>
            <summary>{t(|t| t.status_title)}</summary>
            <p aria-live="polite">{text}</p>
        </details>
    }
}
