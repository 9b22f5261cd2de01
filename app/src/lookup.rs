//! Looking up the pasted link: what the server says it is or, for several
//! links pasted at once, a list made here to pick from.

use crate::api::{PlaylistInfo, PlaylistItem, Quality, VideoInfo};
use crate::client;
use crate::downloads::Announcer;
use crate::i18n::{Failure, Texts};
use crate::prefs::Prefs;
use leptos::prelude::*;

/// Where the lookup of the pasted link stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// Nothing asked on this page yet.
    Idle,
    Loading,
    Ready {
        url: String,
        info: VideoInfo,
    },
    Failed(Failure),
}

/// The page's lookup: started by the form, shown by the result below it.
#[derive(Clone, Copy)]
pub struct LinkLookup {
    pub state: RwSignal<Lookup>,
    /// The Paste button could not read the clipboard: the hint says to
    /// paste by hand.
    pub paste_hint: RwSignal<bool>,
    /// The script runs. Without it (server render, no JavaScript) nothing
    /// is under way, whatever `state` says.
    pub running: RwSignal<bool>,
    /// Only the newest lookup may update the page: an answer to an older
    /// request that arrives late is dropped.
    generation: StoredValue<u64>,
    prefs: Prefs,
    announcer: Announcer,
}

impl LinkLookup {
    /// `query_url`: the `?url=` of the address, looked up once the script
    /// runs, so the server render already shows it loading.
    pub fn new(query_url: &str, prefs: Prefs, announcer: Announcer) -> LinkLookup {
        let first = if query_url.trim().is_empty() { Lookup::Idle } else { Lookup::Loading };
        LinkLookup {
            state: RwSignal::new(first),
            paste_hint: RwSignal::new(false),
            running: RwSignal::new(false),
            generation: StoredValue::new(0u64),
            prefs,
            announcer,
        }
    }

    /// Whether a lookup is under way (tracked).
    pub fn busy(&self) -> bool {
        self.running.get() && self.state.with(|l| matches!(l, Lookup::Loading))
    }

    /// Looks up `link` (or several links separated by spaces or lines).
    pub fn look_up(self, link: String) {
        let LinkLookup { state, generation, prefs, announcer, .. } = self;
        let link = link.trim().to_string();
        self.paste_hint.set(false);
        if link.is_empty() {
            state.set(Lookup::Failed(Failure::of(contract::ErrorCode::MissingUrl)));
            return;
        }
        let ticket = generation.get_value() + 1;
        generation.set_value(ticket);
        // Several links at once: one list to pick from, one job each.
        let links = several_links(&link);
        if links.len() > 1 {
            let info = links_as_playlist(links, prefs.lang.get_untracked().tr().videos);
            state.set(Lookup::Ready { url: link, info });
            return;
        }
        state.set(Lookup::Loading);
        leptos::task::spawn_local(async move {
            let result = client::video_info(link.clone()).await;
            if generation.get_value() != ticket {
                return;
            }
            match result {
                Ok(info) => {
                    announcer.say(format!("{}: {}", prefs.lang.get_untracked().tr().found, info.title));
                    client::show_link_in_address(Some(&link));
                    state.set(Lookup::Ready { url: link, info });
                }
                Err(failure) => state.set(Lookup::Failed(failure)),
            }
        });
    }
}

/// The http(s) links in text separated by spaces or line breaks.
pub fn several_links(text: &str) -> Vec<String> {
    text.split_whitespace().filter(|word| looks_like_link(word)).map(str::to_string).collect()
}

/// Several pasted links shown like a playlist: every quality, one job each.
fn links_as_playlist(links: Vec<String>, title: &str) -> VideoInfo {
    const IDS: [&str; 8] = ["2160", "1440", "1080", "720", "480", "360", "auto", "audio"];
    let entries: Vec<PlaylistItem> = links
        .into_iter()
        .map(|url| PlaylistItem { title: url.clone(), url, duration: None, duration_secs: None, thumbnail: None })
        .collect();
    VideoInfo {
        title: title.to_string(),
        duration: None,
        uploader: None,
        view_count: None,
        thumbnail: None,
        qualities: IDS
            .iter()
            .map(|id| Quality { id: id.to_string(), label: id.to_string(), filesize_approx: None })
            .collect(),
        duration_secs: None,
        views: None,
        webpage_url: None,
        subtitles: Vec::new(),
        chapters: None,
        playlist: Some(PlaylistInfo { count: Some(entries.len() as u64), entries, truncated: false, pasted: true }),
    }
}

/// `http://…` or `https://…` with something after it.
pub fn looks_like_link(text: &str) -> bool {
    let text = text.trim();
    (text.starts_with("https://") || text.starts_with("http://"))
        && text.len() > 10
        && !text.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_links_are_looked_up_on_paste() {
        assert!(looks_like_link("https://example.com/watch?v=1"));
        assert!(looks_like_link("  http://127.0.0.1:4010/watch/main\n"));
        assert!(!looks_like_link("hello"));
        assert!(!looks_like_link("https://"));
        assert!(!looks_like_link("https://a.b/ c"));
    }
}
