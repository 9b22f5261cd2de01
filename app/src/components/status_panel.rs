//! The server's tool check, folded away in the footer.

use super::card::push_escaped;
use crate::client;
use crate::prefs::{t, Prefs};
use leptos::prelude::*;

/// A small panel in the footer: the server's tool check (yt-dlp and its age,
/// ffmpeg, JS runtime, PO-token providers, cookies, free disk), worded by the
/// server in the page's language. Fetched when first opened, and again when
/// the language changes while it has been opened.
#[component]
pub fn StatusPanel() -> impl IntoView {
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
    view! {
        <details class="status-panel" data-testid="status-panel" on:toggle=on_toggle>
            <summary>{t(|t| t.status_title)}</summary>
            <p aria-live="polite" inner_html=move || lines_html(&text())></p>
        </details>
    }
}

/// A block per line, so a line too long for a phone wraps under its own
/// text (hanging indent) instead of looking like the next item. Written as
/// escaped HTML rather than a list of views: the same DOM for 2 KB less of
/// the page's WebAssembly (a generic list renderer is not small).
fn lines_html(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + 64);
    for line in text.lines() {
        html.push_str("<span class=\"status-line\">");
        push_escaped(&mut html, line);
        html.push_str("</span>");
    }
    html
}

#[cfg(test)]
mod tests {
    use super::lines_html;

    #[test]
    fn each_line_is_a_block_and_markup_stays_text() {
        assert_eq!(
            lines_html("yt-dlp: 1\n<b>x</b> & \"y\""),
            "<span class=\"status-line\">yt-dlp: 1</span>\
             <span class=\"status-line\">&lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot;</span>"
        );
        assert_eq!(lines_html(""), "");
    }
}
