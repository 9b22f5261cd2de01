//! The quality picker both cards show, and the choice it starts on.

use crate::api::Quality;
use crate::downloads::quality_words;
use crate::i18n;
use crate::prefs::{t, Prefs};
use contract::media::AudioFormat;
use leptos::prelude::*;

/// The quality choices: video heights and "best" in a grid, sound only set
/// apart below them. One radio group. `audio_format`: the format chosen for
/// sound only, which its choice names.
#[component]
pub fn QualityPicker(
    qualities: Vec<Quality>,
    selected: RwSignal<String>,
    audio_format: RwSignal<String>,
) -> impl IntoView {
    let (video, audio): (Vec<Quality>, Vec<Quality>) = qualities.into_iter().partition(|q| q.id != "audio");
    let audio_view = (!audio.is_empty()).then(|| {
        view! {
            <div class="choices audio-choices">
                <span class="group-label" aria-hidden="true">{t(|t| t.audio_group)}</span>
                {audio.into_iter().map(|q| view! { <QualityOption quality=q selected audio_format/> }).collect_view()}
            </div>
        }
    });
    view! {
        <fieldset class="qualities" data-testid="qualities">
            <legend>{t(|t| t.quality)}</legend>
            <div class="choices">
                {video.into_iter().map(|q| view! { <QualityOption quality=q selected audio_format/> }).collect_view()}
            </div>
            {audio_view}
        </fieldset>
    }
}

#[component]
fn QualityOption(quality: Quality, selected: RwSignal<String>, audio_format: RwSignal<String>) -> impl IntoView {
    let prefs = Prefs::get();
    let Quality { id, label, filesize_approx } = quality;
    let size = move || filesize_approx.map(|b| format!("≈ {}", i18n::bytes(b, prefs.lang.get())));
    let is_audio = id == "audio";
    let words_id = id.clone();
    let words = move || quality_words(&words_id, &label, prefs.tr());
    let words2 = words.clone();
    let hint = move || {
        if is_audio {
            Some(AudioFormat::from_name(&audio_format.get()).unwrap_or_default().label())
        } else {
            words2().1
        }
    };
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
                    <span class="quality-hint">{hint}</span>
                </span>
                <span class="quality-size">{size}</span>
            </span>
        </label>
    }
}

/// The picker starts on "auto" when offered, else the first choice.
pub fn default_quality(qualities: &[Quality]) -> String {
    qualities.iter().find(|q| q.id == "auto").or_else(|| qualities.first()).map(|q| q.id.clone()).unwrap_or_default()
}
