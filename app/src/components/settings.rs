//! The language and theme switches in the masthead.

use crate::client;
use crate::i18n::Lang;
use crate::prefs::{t, Prefs, Theme};
use leptos::prelude::*;

/// Language and theme switches. They are links (`?lang=ru`, `?theme=dark`)
/// so they work before the script loads; after that they switch in place.
#[component]
pub fn Settings() -> impl IntoView {
    let prefs = Prefs::get();
    let tr = move || prefs.tr();
    view! {
        <nav class="settings" aria-label=move || format!("{} · {}", tr().language, tr().theme)>
            <div class="seg" role="group" aria-label=t(|t| t.language)>
                {language_links(prefs)}
            </div>
            <div class="seg" role="group" aria-label=t(|t| t.theme)>
                {theme_links(prefs)}
            </div>
        </nav>
    }
}

/// One link per language, named in that language.
fn language_links(prefs: Prefs) -> impl IntoView {
    Lang::ALL
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
        .collect_view()
}

/// One link per theme, shown as its icon.
fn theme_links(prefs: Prefs) -> impl IntoView {
    Theme::ALL
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
        .collect_view()
}
