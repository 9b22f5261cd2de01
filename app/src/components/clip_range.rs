//! The video card's clip control: which part of the video to download, as
//! two time fields and a slider with two handles, with the part's length
//! and expected size.

use super::card::handler;
use crate::i18n::{self, Failure, Texts};
use crate::prefs::{t, Prefs};
use contract::clip::{clock_ms, parse_time, ClipError, ClipRange};
use contract::{Detail, ErrorCode};
use leptos::ev::MouseEvent;
use leptos::prelude::*;
use leptos::web_sys::{Event, HtmlInputElement};

/// The closest the handles come: a clip of less than a second is no use,
/// and a gap keeps one handle from hiding the other.
const GAP_MS: u64 = 1000;

/// A card's clip: the two fields' text (what people typed, or the slider
/// wrote), read against the video's length.
#[derive(Clone, Copy)]
pub struct Clip {
    duration_ms: u64,
    start: RwSignal<String>,
    end: RwSignal<String>,
    /// Whether a wrong range says so: only once a field is left or a
    /// download refused, so a time half typed is not called wrong.
    shown: RwSignal<bool>,
}

impl Clip {
    /// The whole video of `duration_secs`; `None` when it is too short to cut.
    pub fn new(duration_secs: u64) -> Option<Clip> {
        let duration_ms = duration_secs.checked_mul(1000).filter(|d| *d >= 2 * GAP_MS)?;
        Some(Clip {
            duration_ms,
            start: RwSignal::new(clock_ms(0)),
            end: RwSignal::new(clock_ms(duration_ms)),
            shown: RwSignal::new(false),
        })
    }

    /// The part to download (tracked): `None` for the whole video.
    pub fn range(&self) -> Result<Option<ClipRange>, ClipError> {
        self.range_of(&self.start.get(), &self.end.get())
    }

    /// The same, untracked.
    fn range_now(&self) -> Result<Option<ClipRange>, ClipError> {
        self.range_of(&self.start.get_untracked(), &self.end.get_untracked())
    }

    fn range_of(&self, start: &str, end: &str) -> Result<Option<ClipRange>, ClipError> {
        ClipRange::from_bounds(Some(parse_time(start)?), Some(parse_time(end)?), Some(self.duration_ms))
    }

    /// Where a field's handle sits (tracked): its time while it is one,
    /// else the end it stands for.
    fn at(&self, field: RwSignal<String>) -> u64 {
        self.place(field, &field.get())
    }

    fn place(&self, field: RwSignal<String>, text: &str) -> u64 {
        let fallback = if field == self.start { 0 } else { self.duration_ms };
        parse_time(text).unwrap_or(fallback).min(self.duration_ms)
    }

    /// The part to send with a download; when the fields are wrong, they
    /// say why and nothing should be sent.
    pub fn for_download(&self) -> Result<Option<ClipRange>, ClipError> {
        let range = self.range_now();
        self.shown.set(range.is_err());
        range
    }

    fn reset(&self) {
        self.start.set(clock_ms(0));
        self.end.set(clock_ms(self.duration_ms));
        self.shown.set(false);
    }
}

/// Why a range is wrong, in the server's words for the same mistake (so
/// the page and the API say the same in both languages).
fn failure(error: ClipError) -> Failure {
    match error {
        ClipError::BadTime => Failure::of(ErrorCode::InvalidClipTime),
        ClipError::PastEnd { duration_ms } => {
            Failure::with(ErrorCode::InvalidClipRange, Detail::limit(duration_ms.div_ceil(1000)))
        }
        _ => Failure::of(ErrorCode::InvalidClipRange),
    }
}

/// The expected size of `part_ms` of a video of `whole_ms` whose file is
/// `size` bytes: by time, as the server estimates it. Split so that the
/// product cannot overflow.
pub fn share(size: u64, part_ms: u64, whole_ms: u64) -> u64 {
    if whole_ms == 0 {
        return size;
    }
    let part_ms = part_ms.min(whole_ms);
    size / whole_ms * part_ms + size % whole_ms * part_ms / whole_ms
}

/// `x` of `whole` as a CSS percentage, to a tenth (integers only: no float
/// printing in the WASM).
fn percent(x: u64, whole: u64) -> String {
    let permille = x.min(whole) * 1000 / whole.max(1);
    format!("{}.{}%", permille / 10, permille % 10)
}

/// The clip control. `sizes`: each quality's expected size of the whole
/// video; `selected`: the quality chosen.
///
/// Few elements, every changing value a `Signal` and every handler boxed:
/// the view code of each kind of element and binding is compiled once per
/// kind, so this control stays light in the WASM. The slider's track and
/// the chosen part are drawn by CSS from two custom properties.
#[component]
pub fn ClipControl(clip: Clip, sizes: Vec<(String, Option<u64>)>, selected: RwSignal<String>) -> impl IntoView {
    let prefs = Prefs::get();
    let whole = clip.duration_ms;
    let error = move || clip.range().err().filter(|_| clip.shown.get());

    // One handler for both fields and both handles. A handle stops a
    // second short of the other (the browser's own value is put back when
    // it went further). Typing moves the handles at once; a fix hides the
    // error at once, a mistake shows when the field is left.
    let on_input = handler(move |ev: Event| {
        let input = event_target::<HtmlInputElement>(&ev);
        let value = input.value();
        let name = input.name();
        let is_start = name.starts_with("clip-start");
        let field = if is_start { clip.start } else { clip.end };
        if name.ends_with("handle") {
            let wanted = value.parse::<u64>().unwrap_or(0).saturating_mul(1000).min(whole);
            let start = clip.place(clip.start, &clip.start.get_untracked());
            let end = clip.place(clip.end, &clip.end.get_untracked());
            let ms =
                if is_start { wanted.min(end.saturating_sub(GAP_MS)) } else { wanted.max(start + GAP_MS).min(whole) };
            if ms != wanted {
                input.set_value(&(ms / 1000).to_string());
            }
            field.set(clock_ms(ms));
        } else {
            field.set(value);
        }
        if clip.range_now().is_ok() {
            clip.shown.set(false);
        }
    });
    let on_change = handler(move |_: Event| clip.shown.set(clip.range_now().is_err()));
    let on_reset = handler(move |_: MouseEvent| clip.reset());

    let summary = Signal::derive(move || {
        let lang = prefs.lang.get();
        let tr = lang.tr();
        let (label, len_ms) = match clip.range() {
            Ok(Some(range)) => (tr.clip_length, range.len_ms()),
            Ok(None) => (tr.whole_video, whole),
            Err(_) => return String::new(),
        };
        let quality = selected.get();
        let full_size = sizes.iter().find(|(q, _)| *q == quality).and_then(|(_, size)| *size);
        let size = full_size.map(|b| format!(" · ≈ {}", i18n::bytes(share(b, len_ms, whole), lang)));
        format!("{label}: {}{}", i18n::span(len_ms.div_ceil(1000), lang), size.unwrap_or_default())
    });
    let uncut = Signal::derive(move || clip.range() == Ok(None));
    // The sentence and what to do, in the server's words; empty (and
    // hidden by CSS) while all is well.
    let error_text = Signal::derive(move || {
        let lang = prefs.lang.get();
        let Some(failure) = error().map(failure) else { return String::new() };
        match failure.hint(lang) {
            Some(hint) => format!("{} {hint}", failure.text(lang)),
            None => failure.text(lang),
        }
    });
    // A time that is not one marks its own field; a wrong range marks both.
    let invalid = move |field: RwSignal<String>| {
        Signal::derive(move || {
            let bad = error().is_some_and(|e| e != ClipError::BadTime || parse_time(&field.get()).is_err());
            bad.to_string()
        })
    };
    let value =
        move |field: RwSignal<String>, round: fn(u64) -> u64| Signal::derive(move || round(clip.at(field)).to_string());
    let spoken = move |field: RwSignal<String>| Signal::derive(move || clock_ms(clip.at(field)));
    let permille = move |field: RwSignal<String>| Signal::derive(move || percent(clip.at(field), whole));
    let max = (whole / 1000).to_string();
    let range_input = move |name: &'static str, label, field: RwSignal<String>, round: fn(u64) -> u64| {
        view! {
            <input
                type="range"
                name=name
                min="0"
                max=max.clone()
                step="1"
                aria-label=label
                aria-valuetext=spoken(field)
                prop:value=value(field, round)
                data-testid=name
            />
        }
    };
    let time_field = move |name: &'static str, label, field: RwSignal<String>| {
        view! {
            <label class="clip-time">
                {label}
                <input
                    type="text"
                    name=name
                    autocomplete="off"
                    spellcheck="false"
                    aria-invalid=invalid(field)
                    aria-describedby="clip-error"
                    prop:value=Signal::derive(move || field.get())
                    data-testid=name
                />
            </label>
        }
    };

    view! {
        <fieldset class="clip" data-testid="clip" on:input=on_input on:change=on_change>
            <legend>{t(|t| t.clip)}</legend>
            <div class="clip-slider" style:--clip-a=permille(clip.start) style:--clip-b=permille(clip.end)>
                {range_input("clip-start-handle", t(|t| t.clip_start_handle), clip.start, |ms| ms / 1000)}
                {range_input("clip-end-handle", t(|t| t.clip_end_handle), clip.end, |ms| ms.div_ceil(1000))}
            </div>
            {time_field("clip-start", t(|t| t.clip_start), clip.start)}
            {time_field("clip-end", t(|t| t.clip_end), clip.end)}
            <p class="clip-summary" data-testid="clip-summary">{summary}</p>
            <button type="button" class="ghost" hidden=uncut on:click=on_reset>
                {t(|t| t.whole_video)}
            </button>
            // Always there, so the sentence is read out when it appears.
            <p id="clip-error" class="error" role="alert" data-testid="clip-error">{error_text}</p>
        </fieldset>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_of_the_size_goes_by_time() {
        assert_eq!(share(5_000_000, 4000, 20_000), 1_000_000);
        assert_eq!(share(5_000_000, 20_000, 20_000), 5_000_000);
        assert_eq!(share(7, 1, 3), 2);
        assert_eq!(share(u64::MAX, 3_600_000, 36_000_000), u64::MAX / 10);
        assert_eq!(share(100, 5, 0), 100);
    }

    #[test]
    fn percentages_are_written_without_floats() {
        assert_eq!(percent(4000, 20_000), "20.0%");
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(30, 20), "100.0%");
    }

    #[test]
    fn a_wrong_range_is_worded_as_the_server_words_it() {
        assert_eq!(failure(ClipError::BadTime).code, ErrorCode::InvalidClipTime);
        assert_eq!(failure(ClipError::Reversed).detail, Detail::default());
        assert_eq!(failure(ClipError::PastEnd { duration_ms: 20_400 }).detail.limit, Some(21));
    }
}
