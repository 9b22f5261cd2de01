//! The link field with its Paste and Get buttons. It is a plain GET form,
//! so without the script it still loads `/?url=…` (which the server then
//! renders as loading); with the script it looks the link up in place.

use crate::client;
use crate::lookup::{looks_like_link, several_links, LinkLookup};
use crate::prefs::{t, Prefs};
use leptos::html::Input;
use leptos::prelude::*;

/// `url`: the field's text. `initial_url`: the `?url=` of the address, also
/// written as the field's attribute so the server render shows it.
#[component]
pub fn LookupForm(lookup: LinkLookup, url: RwSignal<String>, initial_url: String) -> impl IntoView {
    let prefs = Prefs::get();
    let tr = move || prefs.tr();
    let busy = move || lookup.busy();
    let paste_hint = lookup.paste_hint;
    let input_ref = NodeRef::<Input>::new();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        lookup.look_up(url.get_untracked());
    };
    let on_paste = move |ev: leptos::ev::ClipboardEvent| look_up_pasted(ev, lookup, url, input_ref);
    let on_paste_button = move |_| paste_from_clipboard(lookup, url);
    view! {
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
    }
}

/// A link pasted into the field is looked up at once.
fn look_up_pasted(
    ev: leptos::ev::ClipboardEvent,
    lookup: LinkLookup,
    url: RwSignal<String>,
    input_ref: NodeRef<Input>,
) {
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
        lookup.look_up(joined);
        return;
    }
    leptos::task::spawn_local(async move {
        client::sleep_ms(0).await;
        let value = input_ref.get_untracked().map(|el| el.value()).unwrap_or_else(|| url.get_untracked());
        url.set(value.clone());
        if looks_like_link(&value) {
            lookup.look_up(value);
        }
    });
}

/// The Paste button: looks up the clipboard's text or, when the browser
/// will not give it, says to paste by hand and puts the cursor in the field.
fn paste_from_clipboard(lookup: LinkLookup, url: RwSignal<String>) {
    leptos::task::spawn_local(async move {
        match client::read_clipboard().await.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) {
            Some(text) => {
                url.set(text.clone());
                lookup.look_up(text);
            }
            None => {
                lookup.paste_hint.set(true);
                client::focus("url");
            }
        }
    });
}
