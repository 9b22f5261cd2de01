//! The single page: paste a link, see what it is, pick a quality, and follow
//! this browser's downloads.
//!
//! The page only holds the state its parts share and lays them out; the
//! parts are in [`crate::components`], the lookup in [`crate::lookup`].

use crate::client;
use crate::components::{DownloadList, LookupForm, LookupResult, Settings, StatusPanel};
use crate::downloads::{Announcer, Downloads};
use crate::lookup::LinkLookup;
use crate::prefs::{t, Prefs};
use leptos::prelude::*;

#[component]
pub fn HomePage() -> impl IntoView {
    let prefs = Prefs::get();
    let announcer = Announcer(RwSignal::new(String::new()));
    provide_context(announcer);
    let downloads = Downloads::new(prefs, announcer);
    provide_context(downloads);

    // A link in the address (`/?url=…`: a reload, a shared link, a
    // bookmarklet, or the form sent before the script ran) is looked up as
    // soon as the script runs.
    let query_url = client::query_param("url").unwrap_or_default();
    let url = RwSignal::new(query_url.clone());
    let lookup = LinkLookup::new(&query_url, prefs, announcer);

    // Once the script runs: bring back this browser's downloads, and look up
    // the `?url=` of the address.
    Effect::new(move |_| {
        lookup.running.set(true);
        downloads.restore();
    });
    let first_link = StoredValue::new(query_url.clone());
    Effect::new(move |_| {
        let link = first_link.get_value();
        if !link.trim().is_empty() {
            lookup.look_up(link);
        }
    });

    view! {
        <div class="page">
            <header class="masthead">
                <div class="brand-row">
                    <h1 class="brand">
                        <Logo/>
                        {crate::PRODUCT_NAME}
                    </h1>
                    <Settings/>
                </div>
                <p class="tagline">{t(|t| t.tagline)}</p>
            </header>
            <main>
                <LookupForm lookup url initial_url=query_url/>
                <LookupResult lookup/>
                <DownloadList/>
            </main>
            <footer class="footer">
                <p>{t(|t| t.footer)}</p>
                <StatusPanel/>
            </footer>
            <div class="visually-hidden" role="status" aria-live="polite" aria-atomic="true">
                {move || announcer.0.get()}
            </div>
        </div>
    }
}

/// The mark next to the name: an arrow into a tray.
#[component]
fn Logo() -> impl IntoView {
    view! {
        <span class="brand-mark" aria-hidden="true">
            <svg viewBox="0 0 24 24">
                <path d="M12 4v11m0 0-4.5-4.5M12 15l4.5-4.5M5 19h14"/>
            </svg>
        </span>
    }
}
