//! The preview of what the link is: one video, or (handed over to
//! [`PlaylistCard`]) a playlist.

use super::card::{reveal_soon, CardHeading, DownloadButton, StartError, Starter, Stat, Thumb};
use super::clip_range::{Clip, ClipControl};
use super::options::{ExtraChoices, Extras};
use super::playlist_card::PlaylistCard;
use super::quality_picker::QualityPicker;
use crate::api::VideoInfo;
use crate::client;
use crate::downloads::{Downloads, Stored};
use crate::i18n;
use crate::prefs::{t, Prefs};
use leptos::either::Either;
use leptos::prelude::*;

/// The preview: thumbnail, title, channel, duration, views, qualities, and
/// the download's other choices.
#[component]
pub fn VideoCard(url: String, info: VideoInfo) -> impl IntoView {
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
    let starter = Starter::new(&info.qualities);
    let duration_secs = info.duration_secs;
    // `views` may be missing from an answer (it is optional in the API):
    // then the number is read from the grouped text.
    let views = info.views.or_else(|| {
        info.view_count.as_deref().and_then(|v| v.chars().filter(char::is_ascii_digit).collect::<String>().parse().ok())
    });
    let VideoInfo { title, uploader, thumbnail, qualities, subtitles, .. } = info;
    let has_choices = !qualities.is_empty();
    // A part can be cut only from a video whose length is known.
    let clip = duration_secs.filter(|_| has_choices).and_then(Clip::new);
    let extras = Extras::new();
    let sizes: Vec<(String, Option<u64>)> = qualities.iter().map(|q| (q.id.clone(), q.filesize_approx)).collect();
    let selected = starter.selected;
    let on_download = start_one(url, title.clone(), starter, clip, extras);
    let thumb = match thumbnail {
        Some(src) => Either::Left(view! { <Thumb src/> }),
        None => Either::Right(view! {
            <div class="thumb thumb-missing" aria-hidden="true">
                <svg viewBox="0 0 24 24"><path d="M8 5v14l11-7z"/></svg>
            </div>
        }),
    };
    let starting = starter.starting;
    view! {
        <article class="card" data-testid="video-card">
            <div class="card-top" class:with-clip=clip.is_some()>
                <div class="thumb-wrap">
                    {thumb}
                    {duration_secs.map(|d| view! { <span class="badge" aria-hidden="true">{i18n::clock(d)}</span> })}
                </div>
                <div class="card-body">
                    <CardHeading title uploader>
                        {duration_secs.map(|d| view! {
                            <Stat label=|t| t.duration>
                                <time datetime=i18n::iso_duration(d) data-testid="duration">{i18n::clock(d)}</time>
                            </Stat>
                        })}
                        {views.map(|v| view! {
                            <Stat label=|t| t.views testid="views">{move || i18n::group(v, prefs.lang.get())}</Stat>
                        })}
                    </CardHeading>
                </div>
                {clip.map(|clip| view! { <ClipControl clip sizes selected/> })}
            </div>
            <QualityPicker qualities selected audio_format=extras.audio_format/>
            {has_choices.then(|| view! { <ExtraChoices extras subtitles/> })}
            <div class="card-actions">
                <Show when=move || has_choices>
                    <DownloadButton on_click=on_download disabled=starting>
                        {move || if starting.get() { tr().starting } else { tr().download }}
                    </DownloadButton>
                </Show>
                <p class="no-js-only muted">{t(|t| t.needs_script)}</p>
                <StartError error=starter.error/>
            </div>
        </article>
    }
}

/// The Download button: starts the video in the chosen quality with the
/// other choices and adds it to the list. A wrong clip range sends nothing
/// (the fields say why).
fn start_one(
    url: String,
    title: String,
    starter: Starter,
    clip: Option<Clip>,
    extras: Extras,
) -> Callback<leptos::ev::MouseEvent> {
    let downloads = expect_context::<Downloads>();
    Callback::new(move |_| {
        let Ok(range) = clip.map(|c| c.for_download()).transpose() else { return };
        let Some((quality, label)) = starter.begin() else { return };
        let choices = extras.choices(&quality, range.flatten());
        let (url, title) = (url.clone(), title.clone());
        leptos::task::spawn_local(async move {
            let failure = match client::start_download(url, quality.clone(), choices).await {
                Ok(id) => {
                    let row = format!("dl-{id}");
                    downloads.add(Stored { id, title, quality, label, saved: false });
                    reveal_soon(row);
                    None
                }
                Err(failure) => Some(failure),
            };
            starter.finish(failure);
        });
    })
}
