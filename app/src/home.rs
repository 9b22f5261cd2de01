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
    // soon as the script runs. A phone's "Share → Kachay" often sends the
    // link inside `text` ("Look at this https://youtu.be/…") or `title`.
    let query_url = shared_link(client::query_param("url"), client::query_param("text"), client::query_param("title"));
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
                <Bookmarklet/>
                <StatusPanel/>
            </footer>
            <div class="visually-hidden" role="status" aria-live="polite" aria-atomic="true">
                {move || announcer.0.get()}
            </div>
        </div>
    }
}

/// A link to drag to the bookmarks bar: on any page, it opens this server
/// with that page's address looked up (`/?url=…`; with login on, the
/// browser's session cookie goes along). Its address needs this server's
/// origin, which only the browser knows for sure (behind a proxy, the server
/// may not), so the link gets it once the script runs.
#[component]
fn Bookmarklet() -> impl IntoView {
    let href = RwSignal::new(None::<String>);
    Effect::new(move |_| href.set(client::origin().map(|origin| bookmarklet(&origin))));
    view! {
        <p class="bookmarklet" data-testid="bookmarklet" hidden=move || href.get().is_none()>
            {t(|t| t.bookmarklet_lead)} " "
            <a href=move || href.get() class="bookmarklet-link">{t(|t| t.bookmarklet_name)}</a>
            " " {t(|t| t.bookmarklet_tail)}
        </p>
    }
}

/// The bookmarklet's script for the server at `origin`.
fn bookmarklet(origin: &str) -> String {
    format!("javascript:location.href='{origin}/?url='+encodeURIComponent(location.href)")
}

/// The link a share carries: `url`, else the first link in `text`, else in
/// `title`; empty when there is none.
fn shared_link(url: Option<String>, text: Option<String>, title: Option<String>) -> String {
    if let Some(url) = url.filter(|u| !u.trim().is_empty()) {
        return url;
    }
    [text, title]
        .into_iter()
        .flatten()
        .find_map(|t| crate::lookup::several_links(&t).into_iter().next())
        .unwrap_or_default()
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

#[cfg(test)]
mod tests {
    use super::{bookmarklet, shared_link};

    #[test]
    fn the_bookmarklet_sends_the_page_to_this_server() {
        assert_eq!(
            bookmarklet("https://video.example.org"),
            "javascript:location.href='https://video.example.org/?url='+encodeURIComponent(location.href)"
        );
    }

    #[test]
    fn a_share_gives_its_link_wherever_it_is() {
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(
            shared_link(some("https://a.example/v"), some("x https://b.example/w"), None),
            "https://a.example/v"
        );
        assert_eq!(
            shared_link(Some(" ".into()), some("Look at this https://youtu.be/abc"), None),
            "https://youtu.be/abc"
        );
        assert_eq!(shared_link(None, some("no link here"), some("Title https://c.example/t")), "https://c.example/t");
        assert_eq!(shared_link(None, some("javascript:alert(1)"), None), "");
        assert_eq!(shared_link(None, None, None), "");
    }
}
