//! The video card's clip control: which part of the video to download, as
//! two time fields and a slider with two handles, with the part's length
//! and expected size.
//!
//! Written as markup, like the download's other choices (`options`): the
//! fields hold the times, and after each change [`Look`] is worked out from
//! them and put on the page ([`paint`]). Views with a binding for each of
//! the dozen things that change would weigh several times more in the
//! page's WASM. The markup is made again only when the language changes.

use super::card::push_escaped;
use crate::client;
use crate::i18n::{self, Failure, Lang, Texts, Tr};
use crate::prefs::Prefs;
use contract::clip::{clock_ms, parse_time, ClipError, ClipRange};
use contract::{Detail, ErrorCode};
use leptos::prelude::*;
use leptos::web_sys::{Event, HtmlInputElement};

/// The element holding the fields (there is one card at a time); the
/// fields and the rest have ids from it.
const FIELDS: &str = "clip";

/// The closest the handles come: a clip of less than a second is no use,
/// and a gap keeps one handle from hiding the other.
const GAP_MS: u64 = 1000;

/// A card's clip: the video's length, and whether a wrong range says so.
#[derive(Clone, Copy)]
pub struct Clip {
    duration_ms: u64,
    /// Only once a field is left or a download refused, so a time half
    /// typed is not called wrong.
    shown: RwSignal<bool>,
}

impl Clip {
    /// The whole video of `duration_secs`; `None` when it is too short to cut.
    pub fn new(duration_secs: u64) -> Option<Clip> {
        let duration_ms = duration_secs.checked_mul(1000).filter(|d| *d >= 2 * GAP_MS)?;
        Some(Clip { duration_ms, shown: RwSignal::new(false) })
    }

    /// The two fields' text (the whole video before they are on the page).
    fn times(&self) -> (String, String) {
        let form = client::form_values(FIELDS);
        let field = |name: &str, default: u64| {
            form.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_else(|| clock_ms(default))
        };
        (field("clip-start", 0), field("clip-end", self.duration_ms))
    }

    /// The part the fields name: `None` for the whole video.
    fn range_of(&self, start: &str, end: &str) -> Result<Option<ClipRange>, ClipError> {
        ClipRange::from_bounds(Some(parse_time(start)?), Some(parse_time(end)?), Some(self.duration_ms))
    }

    /// Where a handle sits: its field's time while it is one, else the end
    /// it stands for.
    fn place(&self, text: &str, fallback: u64) -> u64 {
        parse_time(text).unwrap_or(fallback).min(self.duration_ms)
    }

    /// The part to send with a download; when the fields are wrong, they
    /// say why and nothing should be sent.
    pub fn for_download(&self) -> Result<Option<ClipRange>, ClipError> {
        let (start, end) = self.times();
        let range = self.range_of(&start, &end);
        self.shown.set(range.is_err());
        range
    }
}

/// What the control shows for the fields as they stand.
#[derive(Debug, PartialEq)]
struct Look {
    /// The handles' places, in milliseconds.
    start_ms: u64,
    end_ms: u64,
    /// `Clip: 4 s · ≈ 1.2 MB`, or the whole video's; empty while wrong.
    summary: String,
    /// Why the range is wrong and what to do, once shown; else empty.
    error: String,
    bad_start: bool,
    bad_end: bool,
    /// A part is chosen (the button back to the whole video shows).
    cut: bool,
}

impl Look {
    /// `size`: the chosen quality's expected size of the whole video.
    fn of(clip: &Clip, start: &str, end: &str, size: Option<u64>, lang: Lang) -> Look {
        let whole = clip.duration_ms;
        let range = clip.range_of(start, end);
        let tr = lang.tr();
        let summary = match range {
            Ok(part) => {
                let (label, len_ms) = match part {
                    Some(range) => (tr.clip_length, range.len_ms()),
                    None => (tr.whole_video, whole),
                };
                let size = size.map(|b| format!(" · ≈ {}", i18n::bytes(share(b, len_ms, whole), lang)));
                format!("{label}: {}{}", i18n::span(len_ms.div_ceil(1000), lang), size.unwrap_or_default())
            }
            Err(_) => String::new(),
        };
        let error = range.err().filter(|_| clip.shown.get_untracked());
        let text = error.map(failure).map(|f| match f.hint(lang) {
            Some(hint) => format!("{} {hint}", f.text(lang)),
            None => f.text(lang),
        });
        // A time that is not one marks its own field; a wrong range marks both.
        let bad = |text: &str| error.is_some_and(|e| e != ClipError::BadTime || parse_time(text).is_err());
        Look {
            start_ms: clip.place(start, 0),
            end_ms: clip.place(end, whole),
            summary,
            error: text.unwrap_or_default(),
            bad_start: bad(start),
            bad_end: bad(end),
            cut: range != Ok(None),
        }
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

/// The fields and the rest, showing `look`; `start` and `end` are the
/// fields' text (what people typed, so escaped).
fn markup(tr: &Tr, clip: &Clip, start: &str, end: &str, look: &Look) -> String {
    let max = clip.duration_ms / 1000;
    let mut html = format!("<legend>{}</legend><div class=\"clip-slider\" id=\"clip-slider\">", tr.clip);
    for (name, label, ms) in [
        ("clip-start-handle", tr.clip_start_handle, look.start_ms / 1000),
        ("clip-end-handle", tr.clip_end_handle, look.end_ms.div_ceil(1000)),
    ] {
        html.push_str(&format!(
            "<input type=\"range\" id=\"{name}\" name=\"{name}\" data-testid=\"{name}\" min=\"0\" max=\"{max}\" \
             step=\"1\" value=\"{ms}\" aria-label=\"{label}\" aria-valuetext=\"{}\">",
            clock_ms(ms * 1000)
        ));
    }
    html.push_str("</div>");
    for (name, label, text, bad) in
        [("clip-start", tr.clip_start, start, look.bad_start), ("clip-end", tr.clip_end, end, look.bad_end)]
    {
        html.push_str(&format!(
            "<label class=\"clip-time\">{label}<input type=\"text\" id=\"{name}\" name=\"{name}\" \
             data-testid=\"{name}\" autocomplete=\"off\" spellcheck=\"false\" aria-describedby=\"clip-error\" \
             aria-invalid=\"{bad}\" value=\""
        ));
        push_escaped(&mut html, text);
        html.push_str("\"></label>");
    }
    html.push_str("<p class=\"clip-summary\" id=\"clip-summary\" data-testid=\"clip-summary\">");
    html.push_str(&look.summary);
    html.push_str(&format!(
        "</p><button type=\"button\" class=\"ghost\" id=\"clip-reset\"{}>{}</button>",
        if look.cut { "" } else { " hidden" },
        tr.whole_video
    ));
    // Always there, so the sentence is read out when it appears.
    html.push_str("<p class=\"error\" id=\"clip-error\" role=\"alert\" data-testid=\"clip-error\">");
    html.push_str(&look.error);
    html.push_str("</p>");
    html
}

/// Puts `look` on the page (the fields' text stays as typed).
fn paint(clip: &Clip, look: &Look) {
    let whole = clip.duration_ms;
    client::set_style("clip-slider", "--clip-a", &percent(look.start_ms, whole));
    client::set_style("clip-slider", "--clip-b", &percent(look.end_ms, whole));
    for (id, secs, ms) in [
        ("clip-start-handle", look.start_ms / 1000, look.start_ms),
        ("clip-end-handle", look.end_ms.div_ceil(1000), look.end_ms),
    ] {
        client::set_value(id, &secs.to_string());
        client::set_attribute(id, "aria-valuetext", Some(&clock_ms(ms)));
    }
    client::set_attribute("clip-start", "aria-invalid", Some(if look.bad_start { "true" } else { "false" }));
    client::set_attribute("clip-end", "aria-invalid", Some(if look.bad_end { "true" } else { "false" }));
    client::set_text("clip-summary", &look.summary);
    client::set_text("clip-error", &look.error);
    client::set_attribute("clip-reset", "hidden", (!look.cut).then_some(""));
}

/// The clip control. `sizes`: each quality's expected size of the whole
/// video; `selected`: the quality chosen.
#[component]
pub fn ClipControl(clip: Clip, sizes: Vec<(String, Option<u64>)>, selected: RwSignal<String>) -> impl IntoView {
    let prefs = Prefs::get();
    let whole = clip.duration_ms;
    let look_now = move |sizes: &[(String, Option<u64>)]| {
        let (start, end) = clip.times();
        let quality = selected.get_untracked();
        let size = sizes.iter().find(|(q, _)| *q == quality).and_then(|(_, size)| *size);
        let look = Look::of(&clip, &start, &end, size, prefs.lang.get_untracked());
        (start, end, look)
    };
    let sizes = std::sync::Arc::new(sizes);
    let repaint = {
        let sizes = sizes.clone();
        move || paint(&clip, &look_now(&sizes).2)
    };
    // Made again in another language, from the fields as they stand.
    let html = move || {
        let tr = prefs.tr();
        let (start, end, look) = look_now(&sizes);
        markup(tr, &clip, &start, &end, &look)
    };
    // Another quality (its size), a refused download (the error), or
    // another language (the markup is new: what CSS draws from is set again).
    let again = repaint.clone();
    Effect::new(move |_| {
        selected.track();
        clip.shown.track();
        prefs.lang.track();
        again();
    });

    let on_input_paint = repaint.clone();
    // Both fields and both handles. A handle stops a second short of the
    // other (its own value is put back when it went further) and writes
    // its field. Typing moves the handles at once; a fix hides the error at
    // once, a mistake shows when the field is left.
    let on_input = move |ev: Event| {
        let input = event_target::<HtmlInputElement>(&ev);
        let name = input.name();
        if let Some(field) = name.strip_suffix("-handle") {
            let (start, end) = clip.times();
            let wanted = input.value().parse::<u64>().unwrap_or(0).saturating_mul(1000).min(whole);
            let ms = if field == "clip-start" {
                wanted.min(clip.place(&end, whole).saturating_sub(GAP_MS))
            } else {
                wanted.max(clip.place(&start, 0) + GAP_MS).min(whole)
            };
            if ms != wanted {
                input.set_value(&(ms / 1000).to_string());
            }
            client::set_value(field, &clock_ms(ms));
        }
        let (start, end) = clip.times();
        if clip.range_of(&start, &end).is_ok() {
            clip.shown.set(false);
        }
        on_input_paint();
    };
    let on_change = move |_: Event| {
        let (start, end) = clip.times();
        clip.shown.set(clip.range_of(&start, &end).is_err());
    };
    let on_click = move |ev: leptos::ev::MouseEvent| {
        if event_target::<HtmlInputElement>(&ev).id() == "clip-reset" {
            client::set_value("clip-start", &clock_ms(0));
            client::set_value("clip-end", &clock_ms(whole));
            clip.shown.set(false);
            repaint();
        }
    };
    view! {
        <fieldset
            id=FIELDS
            class="clip"
            data-testid="clip"
            inner_html=html
            on:input=on_input
            on:change=on_change
            on:click=on_click
        ></fieldset>
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

    #[test]
    fn the_look_follows_the_fields() {
        let owner = Owner::new();
        owner.set();
        let Some(clip) = Clip::new(20) else { panic!("a 20 s video can be cut") };
        let whole = Look::of(&clip, "0:00", "0:20", Some(5_000_000), Lang::En);
        assert_eq!((whole.summary.as_str(), whole.cut), ("Whole video: 20\u{a0}s · ≈ 5.0\u{a0}MB", false));
        let part = Look::of(&clip, "4", "0:08", Some(5_000_000), Lang::Ru);
        assert_eq!((part.start_ms, part.end_ms, part.cut), (4000, 8000, true));
        assert_eq!(part.summary, "Фрагмент: 4\u{a0}с · ≈ 1,0\u{a0}МБ");
        // Wrong, but not said until shown; then in the page's language.
        let reversed = Look::of(&clip, "0:08", "0:04", None, Lang::En);
        assert_eq!((reversed.summary.as_str(), reversed.error.as_str(), reversed.bad_end), ("", "", false));
        clip.shown.set(true);
        let reversed = Look::of(&clip, "0:08", "0:04", None, Lang::Ru);
        assert!(reversed.error.starts_with("Конец фрагмента"), "{}", reversed.error);
        assert!(reversed.bad_start && reversed.bad_end);
        let not_a_time = Look::of(&clip, "1:75", "0:04", None, Lang::En);
        assert!(not_a_time.bad_start && !not_a_time.bad_end);
        assert!(not_a_time.error.contains("1:02:03.5"), "{}", not_a_time.error);
        let html = markup(Lang::En.tr(), &clip, "<b>", "0:04", &not_a_time);
        assert!(html.contains("value=\"&lt;b&gt;\"") && !html.contains("<b>"), "{html}");
    }
}
