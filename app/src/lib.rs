//! The Kachay web app: the page (rendered on the server, hydrated in the
//! browser) and the API types both sides share.

// The page's view types nest deeply in release builds (no type erasure).
#![recursion_limit = "256"]

/// The JSON API, shared with the server (the `contract` crate).
pub use contract::api;
pub mod client;
mod components;
mod downloads;
mod home;
pub mod i18n;
mod lookup;
pub mod prefs;

use i18n::Texts;
use leptos::either::Either;
use leptos::prelude::*;
use prefs::{Initial, Prefs, Theme};

/// The product's name as people see it.
pub const PRODUCT_NAME: &str = "Kachay";

/// Runs before the first paint, before the WASM: marks that scripts run
/// (`js` class) and applies a theme kept in localStorage, so the page never
/// flashes the wrong theme even when the cookie is missing. It carries the
/// response's CSP nonce.
const BOOT_SCRIPT: &str =
    "(function(){var d=document.documentElement;d.classList.remove('no-js');d.classList.add('js');\
try{var t=localStorage.getItem('kachay_theme');if(t==='light'||t==='dark'){d.setAttribute('data-theme',t);\
d.setAttribute('data-theme-choice',t)}else if(t==='system'){d.removeAttribute('data-theme');\
d.setAttribute('data-theme-choice',t)}}catch(e){}})();";

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let initial = Initial::detect();
    #[cfg(feature = "ssr")]
    remember_query_choices(&initial);
    let applied_theme = match initial.theme {
        Theme::System => None,
        other => Some(other.as_str()),
    };
    view! {
        <!DOCTYPE html>
        <html
            lang=initial.lang.tag()
            class="no-js"
            data-theme=applied_theme
            data-theme-choice=initial.theme.as_str()
        >
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover"/>
                <meta name="color-scheme" content="light dark"/>
                <meta name="theme-color" media="(prefers-color-scheme: light)" content="#f4f5f8"/>
                <meta name="theme-color" media="(prefers-color-scheme: dark)" content="#0f1115"/>
                <meta name="description" content=initial.lang.tr().tagline/>
                <title>{PRODUCT_NAME}</title>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                // Installable: on a phone, "Share → Kachay" opens `/?url=…`
                // (or `?text=…`, see `HomePage`) through the manifest's `share_target`.
                <link rel="manifest" href="/manifest.webmanifest"/>
                <link rel="apple-touch-icon" href="/icons/apple-touch-icon.png"/>
                <link id="leptos" rel="stylesheet" href="/pkg/kachay.css"/>
                <script nonce=leptos::nonce::use_nonce() inner_html=BOOT_SCRIPT></script>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// A `?lang=` or `?theme=` link followed without JavaScript: the cookie
/// remembers it for the next pages.
#[cfg(feature = "ssr")]
fn remember_query_choices(initial: &Initial) {
    use http::header::{HeaderValue, SET_COOKIE};
    let Some(response) = use_context::<leptos_axum::ResponseOptions>() else { return };
    let mut cookies = Vec::new();
    if initial.lang_from_query {
        cookies.push(format!("{}={}", prefs::LANG_KEY, initial.lang.tag()));
    }
    if initial.theme_from_query {
        cookies.push(format!("{}={}", prefs::THEME_KEY, initial.theme.as_str()));
    }
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&format!("{cookie}; Path=/; Max-Age=31536000; SameSite=Lax")) {
            response.append_header(SET_COOKIE, value);
        }
    }
}

#[component]
pub fn App() -> impl IntoView {
    let prefs = prefs::provide_prefs();
    // One page: no router (it would weigh on the WASM for a single route).
    // Any other path gets the not-found text (the server answers 404).
    if client::current_path() == "/" {
        Either::Left(view! { <home::HomePage/> })
    } else {
        Either::Right(view! { <NotFound prefs/> })
    }
}

#[component]
fn NotFound(prefs: Prefs) -> impl IntoView {
    let text = move || prefs.lang.get().tr().page_not_found;
    let home = move || prefs.lang.get().tr().go_home;
    view! {
        <main class="not-found">
            <p>{text}</p>
            <p><a href="/">{home}</a></p>
        </main>
    }
}
