//! Links that belong to whoever is signed in rather than to a video: watch
//! history, watch later, liked videos, subscriptions, recommendations and
//! other feeds. With the operator's cookies given to yt-dlp, any visitor who
//! pastes one of these would read the operator's account, so they are
//! recognised here (by the server, to refuse them, and by the probe, never
//! to send cookies for them).
//!
//! The list follows yt-dlp's own account-feed extractors (`youtube:history`,
//! `youtube:watchlater`, `youtube:favorites`, `youtube:subscriptions`,
//! `youtube:recommended`, `youtube:notifications`, `vimeo:watchlater`,
//! `bilibili` watch later and favourites, `niconico:history`,
//! `nebula:subscriptions`) and the pages they redirect to, plus the account
//! pages of those sites yt-dlp may grow extractors for. A playlist that is
//! private to the operator cannot be told from a public one by its link: that
//! is why listings never run with cookies (see [`crate::YtDlp::probe`]).

use url::Url;

/// YouTube playlist ids that are an account's own lists: watch later,
/// liked videos, liked music.
const YOUTUBE_ACCOUNT_LISTS: &[&str] = &["WL", "LL", "LM"];
/// Id prefixes of lists made for the signed-in account: "My Mix"
/// (personalised radio) and the old favourites lists.
const YOUTUBE_ACCOUNT_LIST_PREFIXES: &[&str] = &["RDMM", "FL"];

/// Why `link` is an account page (a short English name for the log and the
/// error), or `None` for an ordinary link.
///
/// `link` is what a person pasted: yt-dlp's `:ythistory`-style keywords
/// count as well as http(s) links.
pub fn account_page(link: &str) -> Option<&'static str> {
    let link = link.trim();
    // Every yt-dlp "search keyword" that starts with ':' is an account feed
    // (`:ytfav`, `:ytwatchlater`, `:ythistory`, `:ytsubs`, `:ytrec`,
    // `:ytnotif`, `:vimeowatchlater`, …).
    if link.starts_with(':') {
        return Some("an account feed keyword");
    }
    let url = Url::parse(link).ok()?;
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    let path = url.path().to_ascii_lowercase();
    let on = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
    if on("youtube.com") || on("youtu.be") || on("youtube-nocookie.com") {
        return youtube(&url, &host, &path);
    }
    if on("vimeo.com") {
        let first = path.trim_matches('/').split('/').next().unwrap_or_default();
        return (path.contains("watchlater") || matches!(first, "home" | "manage" | "settings" | "library"))
            .then_some("a Vimeo account page");
    }
    if on("bilibili.com") {
        let is_account = path.starts_with("/watchlater")
            || path.starts_with("/medialist/detail/ml")
            || path.starts_with("/account/")
            || path.starts_with("/history")
            || (host.starts_with("space.") && path.contains("/favlist"));
        return is_account.then_some("a Bilibili account page");
    }
    if on("nicovideo.jp") {
        return (path == "/my" || path.starts_with("/my/")).then_some("a Niconico account page");
    }
    if on("nebula.tv") {
        return (path.starts_with("/myshows") || path.starts_with("/library")).then_some("a Nebula account page");
    }
    if on("twitch.tv") {
        return path.starts_with("/directory/following").then_some("a Twitch account page");
    }
    None
}

/// Whether `link` names a list of videos (a playlist, a channel, a user's
/// uploads) by its shape, before anything is fetched. Only sites whose link
/// shapes are known are recognised; the probe also catches listings that
/// turn out to be one after the fact.
pub fn looks_like_listing(link: &str) -> bool {
    let Ok(url) = Url::parse(link.trim()) else { return false };
    let Some(host) = url.host_str().map(|h| h.trim_end_matches('.').to_ascii_lowercase()) else { return false };
    let on = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
    if !on("youtube.com") {
        return false;
    }
    let path = url.path().to_ascii_lowercase();
    let has = |key: &str| url.query_pairs().any(|(k, _)| k == key);
    path.starts_with("/playlist")
        || path.starts_with("/@")
        || path.starts_with("/channel/")
        || path.starts_with("/c/")
        || path.starts_with("/user/")
        || (has("list") && !has("v"))
}

fn youtube(url: &Url, host: &str, path: &str) -> Option<&'static str> {
    let list = url.query_pairs().find(|(key, _)| key == "list").map(|(_, value)| value.trim().to_ascii_uppercase());
    if let Some(list) = list {
        if YOUTUBE_ACCOUNT_LISTS.contains(&list.as_str())
            || YOUTUBE_ACCOUNT_LIST_PREFIXES.iter().any(|p| list.starts_with(p))
        {
            return Some("a YouTube account playlist (watch later, liked videos, My Mix)");
        }
    }
    let first = path.trim_matches('/').split('/').next().unwrap_or_default();
    // The site's home page is the account's recommendations feed for yt-dlp
    // (`youtube:recommended` matches `https://youtube.com/`).
    if first.is_empty() && url.query_pairs().all(|(key, _)| key != "v") {
        return Some("the YouTube home page (recommendations of the signed-in account)");
    }
    if host.starts_with("studio.") {
        return Some("YouTube Studio");
    }
    match first {
        // history, subscriptions, library, playlists, channels, you, downloads,
        // purchases, … and trending/explore, which are personalised as well.
        "feed" | "feeds" => Some("a YouTube feed (history, subscriptions, library …)"),
        "account" | "account_notifications" | "account_privacy" | "paid_memberships" | "library" | "playlists" => {
            Some("a YouTube account page")
        }
        _ if first.starts_with("account_") => Some("a YouTube account page"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_feeds_are_recognised() {
        for link in [
            ":ytfav",
            ":ytfavorites",
            ":ytwatchlater",
            ":ythis",
            ":ythistory",
            ":ytsubs",
            ":ytsubscriptions",
            ":ytrec",
            ":ytnotif",
            ":vimeowatchlater",
            "https://www.youtube.com/feed/history",
            "https://www.youtube.com/feed/subscriptions",
            "https://m.youtube.com/feed/library",
            "https://youtube.com/feed/you",
            "https://www.youtube.com/feed/playlists",
            "https://www.youtube.com/playlist?list=WL",
            "https://www.youtube.com/playlist?list=LL",
            "https://music.youtube.com/playlist?list=LM",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=WL",
            "https://youtu.be/dQw4w9WgXcQ?list=LL",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=RDMMdQw4w9WgXcQ",
            "https://www.youtube.com/",
            "https://youtube.com",
            "https://www.YouTube.com./?hl=en",
            "https://studio.youtube.com/channel/UC123",
            "https://www.youtube.com/account",
            "https://www.youtube.com/paid_memberships",
            "https://vimeo.com/watchlater",
            "https://vimeo.com/home/watchlater",
            "https://www.bilibili.com/watchlater/",
            "https://space.bilibili.com/123/favlist?fid=456",
            "https://www.bilibili.com/medialist/detail/ml456",
            "https://www.nicovideo.jp/my/history",
            "https://nebula.tv/myshows",
            "https://www.twitch.tv/directory/following",
            "https://music.youtube.com/",
        ] {
            assert!(account_page(link).is_some(), "{link} should be an account page");
        }
    }

    #[test]
    fn ordinary_links_are_not() {
        for link in [
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "https://youtu.be/dQw4w9WgXcQ",
            "https://www.youtube.com/playlist?list=PLrAXtmErZgOeiKm4sgNOknGvNjby9efdf",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=PLrAXtmErZgOeiKm4sgNOknGvNjby9efdf",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=RDdQw4w9WgXcQ",
            "https://www.youtube.com/@LinusTechTips/videos",
            "https://www.youtube.com/shorts/abcdefghijk",
            "https://music.youtube.com/watch?v=dQw4w9WgXcQ",
            "https://vimeo.com/76979871",
            "https://www.bilibili.com/video/BV1xx411c7mD",
            "https://www.nicovideo.jp/watch/sm9",
            "https://rutube.ru/video/abc/",
            "https://example.com/feed/history",
            "https://notyoutube.com/feed/history",
            "not a link",
        ] {
            assert_eq!(account_page(link), None, "{link}");
        }
    }

    #[test]
    fn listings_are_told_by_their_shape() {
        for link in [
            "https://www.youtube.com/playlist?list=PLrAXtmErZgOeiKm4sgNOknGvNjby9efdf",
            "https://www.youtube.com/@LinusTechTips/videos",
            "https://www.youtube.com/channel/UC123/videos",
            "https://m.youtube.com/user/someone",
        ] {
            assert!(looks_like_listing(link), "{link}");
        }
        for link in ["https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=PL1", "https://example.com/playlist"] {
            assert!(!looks_like_listing(link), "{link}");
        }
    }
}
