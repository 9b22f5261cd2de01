//! The video card's clip control: which part of the video to download, as
//! two time fields and a slider with two handles, with the part's length
//! and expected size.

use super::card::ErrorBox;
use crate::i18n::{self, Failure, Texts};
use crate::prefs::{t, Prefs};
use contract::clip::{clock_ms, parse_time, ClipError, ClipRange};
use contract::{Detail, ErrorCode};
use leptos::prelude::*;
use leptos::web_sys::HtmlInputElement;

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
        let start = self.start.with(|s| parse_time(s))?;
        let end = self.end.with(|s| parse_time(s))?;
        ClipRange::from_bounds(Some(start), Some(end), Some(self.duration_ms))
    }

    /// The part to send with a download; when the fields are wrong, they
    /// say why and nothing should be sent.
    pub fn for_download(&self) -> Result<Option<ClipRange>, ClipError> {
        let range = untrack(|| self.range());
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

/// The clip control. `full_size`: the chosen quality's expected size of
/// the whole video.
#[component]
pub fn ClipControl(clip: Clip, #[prop(into)] full_size: Signal<Option<u64>>) -> impl IntoView {
    let prefs = Prefs::get();
    let whole = clip.duration_ms;
    // Where the handles sit: the fields' times while they are times.
    let start_ms = move || clip.start.with(|s| parse_time(s).ok()).unwrap_or(0).min(whole);
    let end_ms = move || clip.end.with(|s| parse_time(s).ok()).unwrap_or(whole).min(whole);
    let error = move || clip.range().err().filter(|_| clip.shown.get());
    // A time that is not one marks its own field; a wrong range marks both.
    let bad = move |field: RwSignal<String>| {
        error().is_some_and(|e| e != ClipError::BadTime || field.with(|s| parse_time(s).is_err())).then_some("true")
    };

    // A handle stops a second short of the other; the browser's own value
    // is put back when it went further.
    let drag = move |ev: leptos::ev::Event, is_start: bool| {
        let input = event_target::<HtmlInputElement>(&ev);
        let Ok(secs) = input.value().parse::<u64>() else { return };
        let wanted = secs.saturating_mul(1000).min(whole);
        let ms = if is_start {
            wanted.min(end_ms().saturating_sub(GAP_MS))
        } else {
            wanted.max(start_ms() + GAP_MS).min(whole)
        };
        if ms != wanted {
            input.set_value(&(ms / 1000).to_string());
        }
        let field = if is_start { clip.start } else { clip.end };
        field.set(clock_ms(ms));
        clip.shown.set(false);
    };
    // Typing: the handles follow at once; a fix hides the error at once,
    // a mistake shows when the field is left.
    let typed = move |ev: leptos::ev::Event, field: RwSignal<String>| {
        field.set(event_target_value(&ev));
        if untrack(|| clip.range().is_ok()) {
            clip.shown.set(false);
        }
    };
    let left = move |_| clip.shown.set(untrack(|| clip.range().is_err()));

    let summary = move || {
        let lang = prefs.lang.get();
        let tr = lang.tr();
        let (label, len_ms) = match clip.range() {
            Ok(Some(range)) => (tr.clip_length, range.len_ms()),
            Ok(None) => (tr.whole_video, whole),
            Err(_) => return String::new(),
        };
        let size = full_size.get().map(|b| format!(" · ≈ {}", i18n::bytes(share(b, len_ms, whole), lang)));
        format!("{label}: {}{}", i18n::span(len_ms.div_ceil(1000), lang), size.unwrap_or_default())
    };
    let cut = move || clip.range() != Ok(None);

    view! {
        <fieldset class="clip" data-testid="clip">
            <legend>{t(|t| t.clip)}</legend>
            <div class="clip-slider">
                <div class="clip-track" aria-hidden="true">
                    <div
                        class="clip-fill"
                        style:left=move || percent(start_ms(), whole)
                        style:width=move || percent(end_ms().saturating_sub(start_ms()), whole)
                    ></div>
                </div>
                <input
                    type="range"
                    min="0"
                    max=(whole / 1000).to_string()
                    step="1"
                    aria-label=t(|t| t.clip_start_handle)
                    aria-valuetext=move || clock_ms(start_ms())
                    prop:value=move || (start_ms() / 1000).to_string()
                    on:input=move |ev| drag(ev, true)
                    data-testid="clip-start-handle"
                />
                <input
                    type="range"
                    min="0"
                    max=(whole / 1000).to_string()
                    step="1"
                    aria-label=t(|t| t.clip_end_handle)
                    aria-valuetext=move || clock_ms(end_ms())
                    prop:value=move || end_ms().div_ceil(1000).to_string()
                    on:input=move |ev| drag(ev, false)
                    data-testid="clip-end-handle"
                />
            </div>
            <div class="clip-times">
                <label class="clip-time">
                    <span>{t(|t| t.clip_start)}</span>
                    <input
                        type="text"
                        autocomplete="off"
                        spellcheck="false"
                        aria-invalid=move || bad(clip.start)
                        aria-describedby="clip-error"
                        prop:value=move || clip.start.get()
                        on:input=move |ev| typed(ev, clip.start)
                        on:change=left
                        data-testid="clip-start"
                    />
                </label>
                <label class="clip-time">
                    <span>{t(|t| t.clip_end)}</span>
                    <input
                        type="text"
                        autocomplete="off"
                        spellcheck="false"
                        aria-invalid=move || bad(clip.end)
                        aria-describedby="clip-error"
                        prop:value=move || clip.end.get()
                        on:input=move |ev| typed(ev, clip.end)
                        on:change=left
                        data-testid="clip-end"
                    />
                </label>
            </div>
            <div class="clip-foot">
                <p class="clip-summary" data-testid="clip-summary">{summary}</p>
                <button type="button" class="ghost" hidden=move || !cut() on:click=move |_| clip.reset()>
                    {t(|t| t.whole_video)}
                </button>
            </div>
            <div id="clip-error">
                {move || error().map(|e| view! { <ErrorBox failure=failure(e) testid="clip-error"/> })}
            </div>
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
