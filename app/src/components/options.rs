//! What a download makes besides the quality, as both cards offer it: the
//! audio format and bitrate (under the picker, while sound only is chosen),
//! and in "More options" the subtitles (one video) and the tags switch.
//!
//! Written as markup, not as views: these are plain form fields that keep
//! their own state, read when the download starts ([`client::form_values`]),
//! and CSS (`:has()`) shows the parts that depend on other choices. A view
//! per field, each with its bindings, would weigh tens of kilobytes in the
//! page's WASM; this weighs a few. The markup is made again only when the
//! language changes, from the fields' values (and what is unfolded) at that
//! moment.

use super::card::push_escaped;
use crate::api::{DownloadChoices, SubtitleTrack};
use crate::client;
use crate::i18n::Tr;
use crate::prefs::Prefs;
use contract::clip::{clock_ms, ClipRange};
use contract::media::{AudioFormat, SubtitleFormat, SubtitleMode};
use leptos::prelude::*;
use leptos::web_sys::{Event, HtmlInputElement};

/// The element holding the fields (there is one card at a time).
const FIELDS: &str = "extras";

/// The fields' (name, value) pairs, as [`client::form_values`] reads them.
type Form = [(String, String)];

/// The most subtitle languages one download takes (the server's limit).
const MAX_SUBTITLES: usize = 20;

/// More automatic languages than this get a filter field.
const FILTER_FROM: usize = 8;

/// `contract::media::AUDIO_BITRATES` as the select's values (a test keeps
/// them equal).
const BITRATES: [&str; 6] = ["96", "128", "160", "192", "256", "320"];

/// A card's choices besides the quality and the clip.
#[derive(Clone, Copy)]
pub struct Extras {
    /// The name of the format chosen for sound only, which the quality
    /// picker shows.
    pub audio_format: RwSignal<String>,
    prefs: Prefs,
}

impl Extras {
    pub fn new() -> Extras {
        Extras { audio_format: RwSignal::new(AudioFormat::default().as_str().into()), prefs: Prefs::get() }
    }

    /// The request's optional fields for `quality` and `clip`, as the
    /// fields stand: only what differs from the server's defaults, but the
    /// audio format always for sound only (it is what people picked).
    pub fn choices(&self, quality: &str, clip: Option<ClipRange>) -> DownloadChoices {
        let form = client::form_values(FIELDS);
        let mut choices = DownloadChoices::default();
        if let Some(range) = clip {
            choices.start = Some(clock_ms(range.start_ms).into());
            choices.end = Some(clock_ms(range.end_ms).into());
        }
        if quality == "audio" {
            let format = value(&form, "audio-format").and_then(AudioFormat::from_name).unwrap_or_default();
            choices.audio_format = Some(format.as_str().into());
            let rate = value(&form, "audio-bitrate").and_then(|b| b.parse::<u64>().ok());
            choices.audio_bitrate = rate.filter(|_| format.lossy()).map(Into::into);
        }
        let subtitles: Vec<String> = form.iter().filter(|(n, _)| n == "sub").map(|(_, v)| v.clone()).collect();
        if !subtitles.is_empty() {
            let mode = value(&form, "sub-mode").and_then(SubtitleMode::from_name).unwrap_or_default();
            choices.subtitle_mode = Some(mode_name(mode).into());
            if mode.writes_files() {
                let format = value(&form, "sub-format").and_then(SubtitleFormat::from_name).unwrap_or_default();
                choices.subtitle_format = Some(format.as_str().into());
            }
            choices.subtitles = Some(subtitles);
        }
        if !self.prefs.tags.get_untracked() {
            choices.tags = Some(false);
        }
        choices
    }

    /// What a change of a field does at once (`input` bubbles up from
    /// selects, tick boxes and radio buttons too): the format shows in the
    /// picker, the filter filters, a language past the limit is not ticked,
    /// the tags switch is remembered.
    fn on_input(self) -> impl FnMut(Event) + 'static {
        move |ev: Event| {
            let input = event_target::<HtmlInputElement>(&ev);
            match input.name().as_str() {
                "audio-format" => self.audio_format.set(input.value()),
                "sub" if input.checked() => {
                    let picked = client::form_values(FIELDS).iter().filter(|(n, _)| n == "sub").count();
                    if picked > MAX_SUBTITLES {
                        input.set_checked(false);
                    }
                }
                "sub-filter" => client::show_matching(FIELDS, &input.value().trim().to_ascii_lowercase()),
                "tags" => self.prefs.set_tags(input.checked()),
                _ => {}
            }
        }
    }
}

/// The first value of the field `name`.
fn value<'a>(form: &'a Form, name: &str) -> Option<&'a str> {
    form.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn mode_name(mode: SubtitleMode) -> &'static str {
    match mode {
        SubtitleMode::Embed => "embed",
        SubtitleMode::Files => "files",
        SubtitleMode::Both => "both",
    }
}

/// The audio format and bitrate, then "More options" with the subtitles
/// (when `subtitles` has any) and the tags switch.
#[component]
pub fn ExtraChoices(extras: Extras, #[prop(optional)] subtitles: Vec<SubtitleTrack>) -> impl IntoView {
    let prefs = extras.prefs;
    let html = move || {
        let form = client::form_values(FIELDS);
        let mut html = String::from("<div class=\"audio-options\">");
        html.push_str(&audio_markup(prefs.tr(), &form));
        // What is inside shows beside the title (CSS hides it when there
        // are no subtitles); folded or not stays as it was.
        html.push_str(&format!(
            "</div><details class=\"more-options\" id=\"more-options\" data-testid=\"more-options\"{}>\
             <summary>{}<span class=\"more-peek\">{}</span></summary><div class=\"more-body\">",
            open_if("more-options"),
            prefs.tr().more_options,
            prefs.tr().subtitles,
        ));
        html.push_str(&more_markup(prefs.tr(), &subtitles, &form, prefs.tags.get_untracked()));
        html.push_str("</div></details>");
        html
    };
    view! { <div id=FIELDS class="extras" inner_html=html on:input=extras.on_input()></div> }
}

/// ` open` when the `<details>` `id` is open on the page.
fn open_if(id: &str) -> &'static str {
    if client::has_attribute(id, "open") {
        " open"
    } else {
        ""
    }
}

/// The format and bitrate selects. FLAC has no bitrate (it is lossless):
/// CSS hides that select while FLAC is chosen.
fn audio_markup(tr: &Tr, form: &Form) -> String {
    let mut html = String::new();
    let formats = AudioFormat::ALL.map(|f| (f.as_str(), f.label()));
    select(&mut html, "", tr.audio_format, "audio-format", &formats, value(form, "audio-format").unwrap_or("m4a"));
    let mut rates = vec![("", tr.bitrate_default)];
    rates.extend(BITRATES.map(|b| (b, b)));
    select(
        &mut html,
        " bitrate",
        tr.audio_bitrate,
        "audio-bitrate",
        &rates,
        value(form, "audio-bitrate").unwrap_or(""),
    );
    html
}

/// A labelled select of `(value, words)` options (this page's own words and
/// numbers: nothing to escape), `chosen` selected.
fn select(html: &mut String, class: &str, label: &str, name: &str, options: &[(&str, &str)], chosen: &str) {
    html.push_str(&format!("<label class=\"select-field{class}\">{label}<select name=\"{name}\">"));
    for (value, words) in options {
        let selected = if *value == chosen { " selected" } else { "" };
        html.push_str(&format!("<option value=\"{value}\"{selected}>{words}</option>"));
    }
    html.push_str("</select></label>");
}

/// The subtitles (their own languages first; the automatic ones, often
/// dozens, folded, with a filter when there are many; where they go and as
/// what, which CSS shows once a language is ticked), then the tags switch.
/// `form`: the fields as they stand (empty the first time: the defaults).
fn more_markup(tr: &Tr, tracks: &[SubtitleTrack], form: &Form, tags: bool) -> String {
    let mut html = String::new();
    let first = form.is_empty();
    let chosen = |name: &str, value: &str, default: bool| {
        let on = if first { default } else { form.iter().any(|(n, v)| n == name && v == value) };
        if on {
            " checked"
        } else {
            ""
        }
    };
    if !tracks.is_empty() {
        let filter = value(form, "sub-filter").unwrap_or_default().trim().to_ascii_lowercase();
        let rows = |html: &mut String, automatic: bool| {
            for track in tracks.iter().filter(|t| t.automatic == automatic) {
                subtitle_row(html, track, chosen("sub", &track.lang, false), &filter);
            }
        };
        html.push_str(&format!("<fieldset class=\"subs\"><legend>{}</legend><div class=\"sub-list\">", tr.subtitles));
        rows(&mut html, false);
        html.push_str("</div>");
        let automatic = tracks.iter().filter(|t| t.automatic).count();
        if automatic > 0 {
            html.push_str(&format!(
                "<details class=\"sub-automatic\" id=\"sub-automatic\"{}><summary>{} ({automatic})</summary>",
                open_if("sub-automatic"),
                tr.automatic_subtitles
            ));
            if automatic > FILTER_FROM {
                html.push_str(&format!(
                    "<input type=\"search\" name=\"sub-filter\" class=\"sub-filter\" autocomplete=\"off\" \
                     aria-label=\"{0}\" placeholder=\"{0}\" value=\"",
                    tr.filter_languages
                ));
                push_escaped(&mut html, value(form, "sub-filter").unwrap_or_default());
                html.push_str("\">");
            }
            html.push_str("<div class=\"sub-list scroll\">");
            rows(&mut html, true);
            html.push_str("</div></details>");
        }
        if tracks.len() > MAX_SUBTITLES {
            html.push_str(&format!("<p class=\"muted small\">{}</p>", tr.subtitles_limit));
        }
        let group = |html: &mut String, class: &str, legend: &str, name: &str, options: &[(&str, &str)]| {
            html.push_str(&format!("<fieldset class=\"sub-choice {class}\"><legend>{legend}</legend>"));
            for (i, (value, words)) in options.iter().enumerate() {
                choice(html, "radio", name, value, chosen(name, value, i == 0), words);
            }
            html.push_str("</fieldset>");
        };
        let modes = [("embed", tr.subtitles_embed), ("files", tr.subtitles_files), ("both", tr.subtitles_both)];
        group(&mut html, "sub-mode", tr.subtitles_where, "sub-mode", &modes);
        group(&mut html, "sub-format", tr.subtitles_format, "sub-format", &[("srt", "SRT"), ("vtt", "WebVTT")]);
        html.push_str("</fieldset>");
    }
    html.push_str(&format!(
        "<label class=\"check\"><input type=\"checkbox\" role=\"switch\" name=\"tags\" value=\"on\"{}>{}</label>",
        chosen("tags", "on", tags),
        tr.tags
    ));
    html
}

/// One subtitle language to tick: the site's name for it (marked as that
/// language, so a screen reader says it right) and its code, or the code
/// alone; hidden when it does not match `filter`.
fn subtitle_row(html: &mut String, track: &SubtitleTrack, checked: &str, filter: &str) {
    let name = track.name.as_deref().unwrap_or_default();
    let words = format!("{} {name}", track.lang).to_ascii_lowercase();
    html.push_str("<label class=\"check\" data-lang=\"");
    push_escaped(html, &track.lang);
    html.push_str("\" data-words=\"");
    push_escaped(html, &words);
    html.push_str(if client::has_part(&words, filter) { "\">" } else { "\" hidden>" });
    html.push_str("<input type=\"checkbox\" name=\"sub\" value=\"");
    push_escaped(html, &track.lang);
    html.push_str(&format!("\"{checked}>"));
    if !name.is_empty() {
        html.push_str("<span lang=\"");
        push_escaped(html, &track.lang);
        html.push_str("\">");
        push_escaped(html, name);
        html.push_str("</span><span class=\"muted\">");
        push_escaped(html, &track.lang);
        html.push_str("</span>");
    } else {
        push_escaped(html, &track.lang);
    }
    html.push_str("</label>");
}

/// A tick box or radio button with its words (this page's own).
fn choice(html: &mut String, kind: &str, name: &str, value: &str, checked: &str, words: &str) {
    html.push_str(&format!(
        "<label class=\"check\"><input type=\"{kind}\" name=\"{name}\" value=\"{value}\"{checked}>{words}</label>"
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{Lang, Texts};
    use contract::media::AUDIO_BITRATES;

    #[test]
    fn the_bitrates_offered_are_the_servers() {
        assert_eq!(BITRATES.map(|b| b.parse::<u32>().unwrap_or(0)), AUDIO_BITRATES);
    }

    fn track(lang: &str, name: Option<&str>, automatic: bool) -> SubtitleTrack {
        SubtitleTrack { lang: lang.into(), name: name.map(Into::into), automatic }
    }

    #[test]
    fn a_sites_words_stay_text() {
        let tracks = [track("en", Some("English <b>"), false), track("x\"y", None, true)];
        let html = more_markup(Lang::En.tr(), &tracks, &[], true);
        assert!(
            html.contains("<span lang=\"en\">English &lt;b&gt;</span><span class=\"muted\">en</span></label>"),
            "{html}"
        );
        assert!(html.contains("value=\"x&quot;y\""), "{html}");
        assert!(!html.contains("<b>"), "{html}");
    }

    #[test]
    fn the_markup_is_made_again_from_the_fields() {
        let tracks = [track("en", None, false), track("ru", None, false)];
        let first = more_markup(Lang::En.tr(), &tracks, &[], false);
        assert!(first.contains("value=\"embed\" checked") && first.contains("value=\"srt\" checked"), "{first}");
        assert!(!first.contains("value=\"on\" checked"), "{first}");
        let form: Vec<(String, String)> = [("sub", "ru"), ("sub-mode", "files"), ("sub-format", "vtt"), ("tags", "on")]
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .into();
        let again = more_markup(Lang::Ru.tr(), &tracks, &form, false);
        assert!(again.contains("value=\"ru\" checked") && !again.contains("value=\"en\" checked"), "{again}");
        assert!(again.contains("value=\"files\" checked") && !again.contains("value=\"embed\" checked"), "{again}");
        assert!(again.contains("value=\"vtt\" checked") && again.contains("value=\"on\" checked"), "{again}");
        assert!(again.contains("Субтитры"), "{again}");
        let audio = audio_markup(Lang::En.tr(), &[("audio-format".into(), "flac".into())]);
        assert!(audio.contains("<option value=\"flac\" selected>FLAC</option>"), "{audio}");
        assert!(audio.contains("<option value=\"\" selected>Default</option>"), "{audio}");
    }
}
