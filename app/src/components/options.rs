//! What a download makes besides the quality, as both cards offer it: the
//! audio format and bitrate (under the picker, when sound only is chosen),
//! and in "More options" the subtitles (one video) and the tags switch.

use crate::api::{DownloadChoices, SubtitleTrack};
use crate::i18n::Texts;
use crate::prefs::{t, Prefs};
use contract::clip::{clock_ms, ClipRange};
use contract::media::{AudioFormat, SubtitleFormat, SubtitleMode, AUDIO_BITRATES};
use leptos::either::Either;
use leptos::prelude::*;

/// The most subtitle languages one download takes (the server's limit).
const MAX_SUBTITLES: usize = 20;

/// More automatic languages than this get a filter field.
const FILTER_FROM: usize = 8;

/// A card's choices besides the quality and the clip.
#[derive(Clone, Copy)]
pub struct Extras {
    pub audio_format: RwSignal<AudioFormat>,
    /// kbit/s; `None`: the server's choice.
    audio_bitrate: RwSignal<Option<u32>>,
    subtitles: RwSignal<Vec<String>>,
    subtitle_mode: RwSignal<SubtitleMode>,
    subtitle_format: RwSignal<SubtitleFormat>,
    prefs: Prefs,
}

impl Extras {
    pub fn new() -> Extras {
        Extras {
            audio_format: RwSignal::new(AudioFormat::default()),
            audio_bitrate: RwSignal::new(None),
            subtitles: RwSignal::new(Vec::new()),
            subtitle_mode: RwSignal::new(SubtitleMode::default()),
            subtitle_format: RwSignal::new(SubtitleFormat::default()),
            prefs: Prefs::get(),
        }
    }

    /// The request's optional fields for `quality` and `clip`: only what
    /// differs from the server's defaults, but the audio format always for
    /// sound only (it is what people picked).
    pub fn choices(&self, quality: &str, clip: Option<ClipRange>) -> DownloadChoices {
        let mut choices = DownloadChoices::default();
        if let Some(range) = clip {
            choices.start = Some(clock_ms(range.start_ms).into());
            choices.end = Some(clock_ms(range.end_ms).into());
        }
        if quality == "audio" {
            let format = self.audio_format.get_untracked();
            choices.audio_format = Some(format.as_str().into());
            choices.audio_bitrate = self.audio_bitrate.get_untracked().filter(|_| format.lossy()).map(Into::into);
        }
        let subtitles = self.subtitles.get_untracked();
        if !subtitles.is_empty() {
            let mode = self.subtitle_mode.get_untracked();
            choices.subtitle_mode = Some(mode_name(mode).into());
            if mode.writes_files() {
                choices.subtitle_format = Some(self.subtitle_format.get_untracked().as_str().into());
            }
            choices.subtitles = Some(subtitles);
        }
        if !self.prefs.tags.get_untracked() {
            choices.tags = Some(false);
        }
        choices
    }
}

fn mode_name(mode: SubtitleMode) -> &'static str {
    match mode {
        SubtitleMode::Embed => "embed",
        SubtitleMode::Files => "files",
        SubtitleMode::Both => "both",
    }
}

/// The audio format and bitrate, shown while sound only is chosen. FLAC
/// has no bitrate (it is lossless), so that choice is off for it.
#[component]
pub fn AudioOptions(extras: Extras, selected: RwSignal<String>) -> impl IntoView {
    let prefs = Prefs::get();
    let format = extras.audio_format;
    let bitrate = extras.audio_bitrate;
    // Made afresh each time the choices appear (sound only chosen again).
    let formats = move || {
        AudioFormat::ALL
            .into_iter()
            .map(|f| view! { <option value=f.as_str() selected=move || format.get() == f>{f.label()}</option> })
            .collect_view()
    };
    let rates = move || {
        AUDIO_BITRATES
            .into_iter()
            .map(|rate| {
                let text = move || format!("{rate}\u{a0}{}", prefs.tr().kbps);
                view! { <option value=rate.to_string() selected=move || bitrate.get() == Some(rate)>{text}</option> }
            })
            .collect_view()
    };
    view! {
        <Show when=move || selected.with(|q| q == "audio")>
            <div class="audio-options" data-testid="audio-options">
                <label class="select-field">
                    <span>{t(|t| t.audio_format)}</span>
                    <select
                        data-testid="audio-format"
                        on:change=move |ev| {
                            if let Some(f) = AudioFormat::from_name(&event_target_value(&ev)) {
                                format.set(f);
                            }
                        }
                    >
                        {formats()}
                    </select>
                </label>
                <label class="select-field">
                    <span>{t(|t| t.audio_bitrate)}</span>
                    <select
                        data-testid="audio-bitrate"
                        disabled=move || !format.get().lossy()
                        on:change=move |ev| bitrate.set(event_target_value(&ev).parse().ok())
                    >
                        <option value="" selected=move || bitrate.get().is_none()>{t(|t| t.bitrate_default)}</option>
                        {rates()}
                    </select>
                </label>
            </div>
        </Show>
    }
}

/// "More options": the subtitles (when `subtitles` has any) and the tags
/// switch, folded away.
#[component]
pub fn MoreOptions(extras: Extras, #[prop(optional)] subtitles: Vec<SubtitleTrack>) -> impl IntoView {
    let prefs = Prefs::get();
    let has_subtitles = !subtitles.is_empty();
    // What is inside, shown while it is folded: the languages chosen, or
    // that there are subtitles to choose.
    let peek = move || {
        let chosen = extras.subtitles.with(|s| s.join(", "));
        match (chosen.is_empty(), has_subtitles) {
            (false, _) => format!("{}: {chosen}", prefs.tr().subtitles),
            (true, true) => prefs.tr().subtitles.to_string(),
            (true, false) => String::new(),
        }
    };
    let picker = has_subtitles.then(|| view! { <SubtitlePicker tracks=subtitles extras/> });
    view! {
        <details class="more-options" data-testid="more-options">
            <summary>
                <span>{t(|t| t.more_options)}</span>
                <span class="more-peek">{peek}</span>
            </summary>
            <div class="more-body">
                {picker}
                <label class="check">
                    <input
                        type="checkbox"
                        role="switch"
                        prop:checked=move || prefs.tags.get()
                        on:change=move |ev| prefs.set_tags(event_target_checked(&ev))
                        data-testid="tags"
                    />
                    <span>{t(|t| t.tags)}</span>
                </label>
            </div>
        </details>
    }
}

/// The video's subtitle languages to tick (its own first; the automatic
/// ones, often dozens, folded with a filter), where they go, and as what.
#[component]
fn SubtitlePicker(tracks: Vec<SubtitleTrack>, extras: Extras) -> impl IntoView {
    let filter = RwSignal::new(String::new());
    let (automatic, own): (Vec<SubtitleTrack>, Vec<SubtitleTrack>) = tracks.into_iter().partition(|t| t.automatic);
    let own_rows = own.into_iter().map(|track| view! { <SubtitleRow track extras filter/> }).collect_view();
    let automatic_view = (!automatic.is_empty()).then(|| {
        let count = automatic.len();
        let filter_field = (count > FILTER_FROM).then(|| {
            view! {
                <input
                    type="search"
                    class="sub-filter"
                    autocomplete="off"
                    aria-label=t(|t| t.filter_languages)
                    placeholder=t(|t| t.filter_languages)
                    prop:value=move || filter.get()
                    on:input=move |ev| filter.set(event_target_value(&ev).to_ascii_lowercase())
                />
            }
        });
        let rows = automatic.into_iter().map(|track| view! { <SubtitleRow track extras filter/> }).collect_view();
        view! {
            <details class="sub-automatic">
                <summary>{t(|t| t.automatic_subtitles)}" ("{count}")"</summary>
                {filter_field}
                <ul class="sub-list scroll">{rows}</ul>
            </details>
        }
    });
    let mode = extras.subtitle_mode;
    let format = extras.subtitle_format;
    let any = move || extras.subtitles.with(|s| !s.is_empty());
    let modes = move || {
        [
            (SubtitleMode::Embed, t(|t| t.subtitles_embed)),
            (SubtitleMode::Files, t(|t| t.subtitles_files)),
            (SubtitleMode::Both, t(|t| t.subtitles_both)),
        ]
        .into_iter()
        .map(|(m, text)| view! { <Choice name="sub-mode" value=mode_name(m) signal=mode option=m text/> })
        .collect_view()
    };
    let formats = move || {
        [SubtitleFormat::Srt, SubtitleFormat::Vtt]
            .into_iter()
            .map(|f| {
                let text = move || if f == SubtitleFormat::Srt { "SRT" } else { "WebVTT" };
                view! { <Choice name="sub-format" value=f.as_str() signal=format option=f text/> }
            })
            .collect_view()
    };
    view! {
        <fieldset class="subs" data-testid="subtitles">
            <legend>{t(|t| t.subtitles)}</legend>
            <ul class="sub-list">{own_rows}</ul>
            {automatic_view}
            <Show when=any>
                <fieldset class="sub-choice">
                    <legend>{t(|t| t.subtitles_where)}</legend>
                    {modes()}
                </fieldset>
                <Show when=move || mode.get().writes_files()>
                    <fieldset class="sub-choice">
                        <legend>{t(|t| t.subtitles_format)}</legend>
                        {formats()}
                    </fieldset>
                </Show>
            </Show>
        </fieldset>
    }
}

/// One subtitle language to tick. Past the server's limit the others
/// cannot be ticked.
#[component]
fn SubtitleRow(track: SubtitleTrack, extras: Extras, filter: RwSignal<String>) -> impl IntoView {
    let prefs = Prefs::get();
    let SubtitleTrack { lang, name, automatic } = track;
    let words = format!("{} {}", lang, name.as_deref().unwrap_or_default()).to_ascii_lowercase();
    let hidden = move || filter.with(|f| !words.contains(f.trim()));
    let key = lang.clone();
    let checked = Memo::new(move |_| extras.subtitles.with(|s| s.contains(&key)));
    let full = move || extras.subtitles.with(|s| s.len() >= MAX_SUBTITLES);
    let key = lang.clone();
    let on_change = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        extras.subtitles.update(|s| {
            s.retain(|l| *l != key);
            if on {
                s.push(key.clone());
            }
        });
    };
    // The site's name for the language (in that language, as a screen
    // reader should say it), then its code; or the code alone.
    let shown = match name {
        Some(name) => Either::Left(view! {
            <span lang=lang.clone()>{name}</span>
            <span class="muted">{lang.clone()}</span>
        }),
        None => Either::Right(view! { <span>{lang.clone()}</span> }),
    };
    view! {
        <li hidden=hidden>
            <label class="check" data-lang=lang>
                <input
                    type="checkbox"
                    prop:checked=checked
                    disabled=move || full() && !checked.get()
                    on:change=on_change
                />
                {shown}
                {automatic.then(|| view! { <span class="muted">"· "{move || prefs.lang.get().tr().automatic}</span> })}
            </label>
        </li>
    }
}

/// One radio button of a small choice held in `signal`.
#[component]
fn Choice<T, F>(name: &'static str, value: &'static str, signal: RwSignal<T>, option: T, text: F) -> impl IntoView
where
    T: Copy + PartialEq + Send + Sync + 'static,
    F: Fn() -> &'static str + Send + Sync + 'static,
{
    view! {
        <label class="check">
            <input
                type="radio"
                name=name
                value=value
                prop:checked=move || signal.get() == option
                on:change=move |_| signal.set(option)
            />
            <span>{text}</span>
        </label>
    }
}
