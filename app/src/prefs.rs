//! The visitor's language and theme: chosen on the page, remembered in
//! localStorage and in a cookie (so the next server render already uses
//! them), and read from `Accept-Language` / `prefers-color-scheme` when no
//! choice was made.

use crate::i18n::{Lang, Texts, Tr};
use leptos::prelude::*;

/// Cookie and localStorage key of the language.
pub const LANG_KEY: &str = "kachay_lang";
/// Cookie and localStorage key of the theme.
pub const THEME_KEY: &str = "kachay_theme";
/// localStorage key of the tags switch (`off` when off). Not a cookie: the
/// server renders it on, and the page sets it after hydration.
pub const TAGS_KEY: &str = "kachay_tags";

/// The colour theme people chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// Follow `prefers-color-scheme`.
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn parse(text: &str) -> Option<Theme> {
        match text.trim() {
            "system" => Some(Theme::System),
            "light" => Some(Theme::Light),
            "dark" => Some(Theme::Dark),
            _ => None,
        }
    }

    pub fn name(self, tr: &Tr) -> &'static str {
        match self {
            Theme::System => tr.theme_system,
            Theme::Light => tr.theme_light,
            Theme::Dark => tr.theme_dark,
        }
    }
}

/// The page's language and theme, and whether downloads carry tags,
/// shared through context.
#[derive(Debug, Clone, Copy)]
pub struct Prefs {
    pub lang: RwSignal<Lang>,
    pub theme: RwSignal<Theme>,
    /// Title, artist, date, chapters and cover art written into the file.
    pub tags: RwSignal<bool>,
}

impl Prefs {
    pub fn get() -> Prefs {
        expect_context::<Prefs>()
    }

    /// The table of the current language (tracked).
    pub fn tr(&self) -> &'static Tr {
        self.lang.get().tr()
    }

    /// Switches the language, remembering the choice.
    pub fn set_lang(&self, lang: Lang) {
        self.lang.set(lang);
        crate::client::remember(LANG_KEY, lang.tag());
        crate::client::set_root_attribute("lang", Some(lang.tag()));
    }

    /// Switches the theme, remembering the choice.
    pub fn set_theme(&self, theme: Theme) {
        self.theme.set(theme);
        crate::client::remember(THEME_KEY, theme.as_str());
        crate::client::set_root_attribute("data-theme-choice", Some(theme.as_str()));
        let applied = match theme {
            Theme::System => None,
            other => Some(other.as_str()),
        };
        crate::client::set_root_attribute("data-theme", applied);
    }

    /// Switches tags on or off, remembering the choice.
    pub fn set_tags(&self, on: bool) {
        self.tags.set(on);
        crate::client::store_set(TAGS_KEY, if on { "on" } else { "off" });
    }
}

/// A fixed sentence of the current language, for a view: `{t(|t| t.paste)}`.
/// Every call returns the same closure type, so the code that keeps a text
/// node or an attribute up to date is compiled once for all of them (a
/// closure apiece would be compiled apiece, which weighs on the WASM).
pub fn t(pick: fn(&'static Tr) -> &'static str) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    let prefs = Prefs::get();
    move || pick(prefs.tr())
}

/// What the server knows of the visitor's choices: a `?lang=` / `?theme=`
/// in the address (links that work without JavaScript), then the cookies,
/// then `Accept-Language`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Initial {
    pub lang: Lang,
    pub theme: Theme,
    /// The address asked for a language (a cookie should remember it).
    pub lang_from_query: bool,
    /// The address asked for a theme.
    pub theme_from_query: bool,
}

impl Initial {
    pub fn from_request(query: Option<&str>, cookie: Option<&str>, accept_language: Option<&str>) -> Initial {
        let query_value = |key: &str| {
            query.unwrap_or_default().split('&').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                (k == key).then_some(v)
            })
        };
        let cookie_value = |key: &str| {
            cookie.unwrap_or_default().split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                (k == key).then_some(v)
            })
        };
        let query_lang = query_value("lang").and_then(Lang::from_tag);
        let query_theme = query_value("theme").and_then(Theme::parse);
        let lang = query_lang
            .or_else(|| cookie_value(LANG_KEY).and_then(Lang::from_tag))
            .or_else(|| accept_language.and_then(Lang::from_accept_language))
            .unwrap_or_default();
        let theme = query_theme.or_else(|| cookie_value(THEME_KEY).and_then(Theme::parse)).unwrap_or_default();
        Initial { lang, theme, lang_from_query: query_lang.is_some(), theme_from_query: query_theme.is_some() }
    }

    /// During the server render: from the request in context.
    #[cfg(feature = "ssr")]
    pub fn detect() -> Initial {
        let Some(parts) = use_context::<http::request::Parts>() else { return Initial::default() };
        let header = |name: http::header::HeaderName| {
            parts.headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join("; ")
        };
        let cookie = header(http::header::COOKIE);
        let accept = header(http::header::ACCEPT_LANGUAGE);
        Initial::from_request(parts.uri.query(), Some(&cookie), Some(&accept))
    }

    /// In the browser: what the server rendered into `<html>` (so hydration
    /// starts from the same state).
    #[cfg(not(feature = "ssr"))]
    pub fn detect() -> Initial {
        let lang = crate::client::root_attribute("lang").and_then(|t| Lang::from_tag(&t)).unwrap_or_default();
        let theme =
            crate::client::root_attribute("data-theme-choice").and_then(|t| Theme::parse(&t)).unwrap_or_default();
        Initial { lang, theme, lang_from_query: false, theme_from_query: false }
    }
}

/// Makes the choices of this request available to the page.
pub fn provide_prefs() -> Prefs {
    if let Some(prefs) = use_context::<Prefs>() {
        return prefs;
    }
    let initial = Initial::detect();
    let prefs =
        Prefs { lang: RwSignal::new(initial.lang), theme: RwSignal::new(initial.theme), tags: RwSignal::new(true) };
    provide_context(prefs);
    // After hydration: a choice kept in localStorage but missing from the
    // cookies (cleared, or expired) still wins, and is written back.
    Effect::new(move |_| {
        if let Some(lang) = crate::client::recall(LANG_KEY).and_then(|t| Lang::from_tag(&t)) {
            if lang != prefs.lang.get_untracked() {
                prefs.set_lang(lang);
            } else {
                crate::client::remember(LANG_KEY, lang.tag());
            }
        }
        if let Some(theme) = crate::client::recall(THEME_KEY).and_then(|t| Theme::parse(&t)) {
            if theme != prefs.theme.get_untracked() {
                prefs.set_theme(theme);
            } else {
                crate::client::remember(THEME_KEY, theme.as_str());
            }
        }
        if crate::client::store_get(TAGS_KEY).as_deref() == Some("off") {
            prefs.tags.set(false);
        }
    });
    prefs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_beats_the_cookie_which_beats_the_header() {
        let i = Initial::from_request(None, None, Some("ru-RU,ru;q=0.9"));
        assert_eq!((i.lang, i.theme), (Lang::Ru, Theme::System));
        let i = Initial::from_request(None, Some("a=b; kachay_lang=en; kachay_theme=dark"), Some("ru"));
        assert_eq!((i.lang, i.theme, i.lang_from_query), (Lang::En, Theme::Dark, false));
        let i = Initial::from_request(Some("url=x&lang=ru&theme=light"), Some("kachay_lang=en"), None);
        assert_eq!((i.lang, i.theme, i.lang_from_query, i.theme_from_query), (Lang::Ru, Theme::Light, true, true));
        let i = Initial::from_request(Some("lang=xx"), Some("kachay_theme=nonsense"), Some("de"));
        assert_eq!((i.lang, i.theme), (Lang::En, Theme::System));
    }
}
