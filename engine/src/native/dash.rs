//! The fragments of a yt-dlp `http_dash_segments` format: yt-dlp has already
//! read the MPD and lists every fragment in the format's `fragments`.
//!
//! ```json
//! {"protocol": "http_dash_segments",
//!  "manifest_url": "https://cdn.example/v/manifest.mpd",
//!  "fragment_base_url": "https://cdn.example/v/video/",
//!  "fragments": [{"path": "init.mp4"}, {"path": "seg-1.m4s", "duration": 4.0}, …]}
//! ```
//!
//! A fragment has a `url` (absolute), or a `path` joined to
//! `fragment_base_url` (else `manifest_url`) as yt-dlp's `urljoin` does; the
//! URL wins when both are there, as in yt-dlp's `DashSegmentsFD`.

use serde_json::Value;
use url::Url;

use super::fragment::{Fragment, Unsupported};

/// The most fragments a format may have (as for HLS segments): a bound on
/// what a hostile info JSON can make the engine allocate.
pub const MAX_FRAGMENTS: usize = 100_000;

/// The fragments of `format`, one element of the info JSON's `formats`.
///
/// The first fragment is marked `is_init` when it has no `duration` and all
/// the others have one: that is how yt-dlp lists a representation's
/// `Initialization` segment (prepended without a duration) ahead of media
/// segments, which have durations whenever the MPD gives a timeline or a
/// segment duration. Without durations the init segment cannot be told apart
/// and nothing is marked; it is still fetched first.
///
/// Live formats are refused (`is_live: true`, `live_status` `is_live` or
/// `is_upcoming`), but yt-dlp puts those on the video, not the format: pass
/// the format with them merged in, as yt-dlp's downloader sees it, or check
/// the info JSON before calling.
pub fn fragments(format: &Value) -> Result<Vec<Fragment>, Unsupported> {
    let refuse = |reason: &str| Err(Unsupported::new(reason));
    match format.get("protocol").and_then(Value::as_str) {
        None | Some("http_dash_segments") => {}
        Some(other) => return Err(Unsupported::new(format!("protocol {} is not http_dash_segments", clip(other)))),
    }
    let live_status = format.get("live_status").and_then(Value::as_str);
    if format.get("is_live").and_then(Value::as_bool) == Some(true)
        || matches!(live_status, Some("is_live" | "is_upcoming"))
    {
        return refuse("a live DASH format");
    }
    // yt-dlp leaves `fragments` out of `-J` when it is a generator (YouTube
    // live and post-live), which lands here too.
    let list = match format.get("fragments").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => list,
        _ => return refuse("a DASH format without fragments"),
    };
    if list.len() > MAX_FRAGMENTS {
        return Err(Unsupported::new(format!("a DASH format with more than {MAX_FRAGMENTS} fragments")));
    }
    let base = ["fragment_base_url", "manifest_url"]
        .iter()
        .find_map(|key| format.get(*key).and_then(Value::as_str))
        .filter(|base| !base.is_empty());
    let has_init = list.len() > 1 && duration(&list[0]).is_none() && list[1..].iter().all(|f| duration(f).is_some());
    list.iter()
        .enumerate()
        .map(|(index, fragment)| {
            Ok(Fragment {
                index,
                url: fragment_url(fragment, base, index)?,
                range: None,
                key: None,
                is_init: has_init && index == 0,
                duration: duration(fragment),
                size: fragment.get("filesize").and_then(Value::as_u64),
            })
        })
        .collect()
}

fn duration(fragment: &Value) -> Option<f64> {
    fragment.get("duration").and_then(Value::as_f64).filter(|d| d.is_finite() && *d >= 0.0)
}

/// The absolute http(s) URL of fragment `index`.
fn fragment_url(fragment: &Value, base: Option<&str>, index: usize) -> Result<Url, Unsupported> {
    let text = |key| fragment.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
    let url = if let Some(url) = text("url") {
        Url::parse(url).map_err(|e| Unsupported::new(format!("DASH fragment {index}: url {:?}: {e}", clip(url))))?
    } else if let Some(path) = text("path") {
        urljoin(base, path).ok_or_else(|| {
            Unsupported::new(format!("DASH fragment {index}: path {:?} without an http(s) base URL", clip(path)))
        })?
    } else {
        return Err(Unsupported::new(format!("DASH fragment {index} has neither url nor path")));
    };
    match url.scheme() {
        "http" | "https" => Ok(url),
        scheme => Err(Unsupported::new(format!(
            "DASH fragment {index}: scheme {}: (only http and https are fetched natively)",
            clip(scheme)
        ))),
    }
}

/// yt-dlp's `urljoin(base, path)`: an absolute or scheme-relative `path`
/// stands alone (a scheme-relative one still needs the base's scheme),
/// otherwise `base` must be an http(s) URL and `path` is resolved against it
/// (RFC 3986, as Python's `urllib.parse.urljoin`).
fn urljoin(base: Option<&str>, path: &str) -> Option<Url> {
    if let Ok(url) = Url::parse(path) {
        return Some(url);
    }
    let base = Url::parse(base?).ok()?;
    if !matches!(base.scheme(), "http" | "https") {
        return None;
    }
    base.join(path).ok()
}

/// At most 40 characters of info JSON text, for error messages and logs.
fn clip(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(format: &str) -> Result<Vec<Fragment>, Unsupported> {
        fragments(&serde_json::from_str(format).expect("test JSON"))
    }

    fn refused(format: &Value, needle: &str) {
        match fragments(format) {
            Err(Unsupported(reason)) => {
                assert!(reason.contains(needle), "{reason:?} should mention {needle:?}");
            }
            Ok(f) => panic!("expected Unsupported({needle:?}), got {} fragments", f.len()),
        }
    }

    /// A format as `yt-dlp -J` (2026.10) writes it for an MPD with a
    /// `SegmentTemplate` of relative media and initialization URLs: paths
    /// against `fragment_base_url`, the init segment first without duration.
    const PATH_STYLE: &str = r#"{
        "format_id": "video-1080p",
        "format_index": null,
        "url": "https://cdn.example/vod/123/manifest.mpd",
        "manifest_url": "https://cdn.example/vod/123/manifest.mpd",
        "tbr": 4500.0,
        "ext": "mp4",
        "width": 1920,
        "height": 1080,
        "vcodec": "avc1.640028",
        "acodec": "none",
        "dynamic_range": "SDR",
        "container": "mp4_dash",
        "fragment_base_url": "https://cdn.example/vod/123/video/1080p/",
        "fragments": [
            {"path": "init.mp4"},
            {"path": "seg-1.m4s", "duration": 4.0},
            {"path": "seg-2.m4s", "duration": 4.0},
            {"path": "seg-3.m4s?v=2", "duration": 1.52}
        ],
        "protocol": "http_dash_segments",
        "video_ext": "mp4",
        "audio_ext": "none",
        "resolution": "1920x1080",
        "aspect_ratio": 1.78,
        "filesize_approx": 5355000,
        "http_headers": {"User-Agent": "Mozilla/5.0"},
        "format": "video-1080p - 1920x1080"
    }"#;

    /// The same for an MPD whose `SegmentTemplate` holds absolute URLs:
    /// yt-dlp then writes `url` for each fragment, with sizes when the
    /// extractor knows them.
    const URL_STYLE: &str = r#"{
        "format_id": "audio-128k",
        "url": "https://cdn.example/vod/123/manifest.mpd",
        "manifest_url": "https://cdn.example/vod/123/manifest.mpd",
        "ext": "m4a",
        "acodec": "mp4a.40.2",
        "vcodec": "none",
        "abr": 128.0,
        "asr": 48000,
        "container": "m4a_dash",
        "fragment_base_url": "https://cdn.example/vod/123/",
        "fragments": [
            {"url": "https://media.example/a/init.m4a?sig=x%2Fy", "filesize": 812},
            {"url": "https://media.example/a/1.m4a?sig=x%2Fy", "duration": 10.0, "filesize": 160321},
            {"url": "https://media.example/a/2.m4a?sig=x%2Fy", "duration": 10.0}
        ],
        "protocol": "http_dash_segments",
        "format": "audio-128k - audio only"
    }"#;

    #[test]
    fn path_fragments_join_fragment_base_url() {
        let f = parse(PATH_STYLE).expect("fragments");
        let urls: Vec<_> = f.iter().map(|f| f.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://cdn.example/vod/123/video/1080p/init.mp4",
                "https://cdn.example/vod/123/video/1080p/seg-1.m4s",
                "https://cdn.example/vod/123/video/1080p/seg-2.m4s",
                "https://cdn.example/vod/123/video/1080p/seg-3.m4s?v=2",
            ]
        );
        assert!(f[0].is_init && f[1..].iter().all(|f| !f.is_init));
        let durations: Vec<_> = f.iter().map(|f| f.duration).collect();
        assert_eq!(durations, [None, Some(4.0), Some(4.0), Some(1.52)]);
        assert_eq!(f.iter().map(|f| f.index).collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert!(f.iter().all(|f| f.range.is_none() && f.key.is_none() && f.size.is_none()));
    }

    #[test]
    fn url_fragments_are_taken_as_they_are() {
        let f = parse(URL_STYLE).expect("fragments");
        assert_eq!(f[0].url.as_str(), "https://media.example/a/init.m4a?sig=x%2Fy");
        assert_eq!(f[2].url.as_str(), "https://media.example/a/2.m4a?sig=x%2Fy");
        assert!(f[0].is_init);
        let sizes: Vec<_> = f.iter().map(|f| f.size).collect();
        assert_eq!(sizes, [Some(812), Some(160_321), None]);
    }

    #[test]
    fn paths_join_like_yt_dlp_urljoin() {
        let format = |base: &str, path: &str| json!({"fragment_base_url": base, "fragments": [{"path": path}]});
        for (base, path, joined) in [
            ("https://h/a/b/", "c.m4s", "https://h/a/b/c.m4s"),
            // No trailing slash: the last segment of the base is replaced.
            ("https://h/a/b", "c.m4s", "https://h/a/c.m4s"),
            ("https://h/a/b/", "/root.m4s", "https://h/root.m4s"),
            ("https://h/a/b/", "../up.m4s", "https://h/a/up.m4s"),
            ("https://h/a/b/?q=1", "c.m4s?r=2", "https://h/a/b/c.m4s?r=2"),
            ("https://h/a/", "//other/x.m4s", "https://other/x.m4s"),
            ("http://h/a/", "https://abs/x.m4s", "https://abs/x.m4s"),
        ] {
            let f = fragments(&format(base, path)).expect("fragments");
            assert_eq!(f[0].url.as_str(), joined, "{base} + {path}");
        }
    }

    #[test]
    fn manifest_url_is_the_base_without_fragment_base_url() {
        let f = fragments(&json!({
            "manifest_url": "https://cdn.example/v/stream.mpd?token=abc",
            "fragments": [{"path": "init.mp4"}, {"path": "1.m4s", "duration": 2.0}]
        }))
        .expect("fragments");
        assert_eq!(f[0].url.as_str(), "https://cdn.example/v/init.mp4");
        assert_eq!(f[1].url.as_str(), "https://cdn.example/v/1.m4s");
    }

    #[test]
    fn init_is_marked_only_when_the_first_alone_lacks_a_duration() {
        let marks = |fragments_json: Value| -> Vec<bool> {
            fragments(&json!({"fragment_base_url": "https://h/", "fragments": fragments_json}))
                .expect("fragments")
                .iter()
                .map(|f| f.is_init)
                .collect()
        };
        // SegmentList without durations: nothing to tell the init apart.
        assert_eq!(marks(json!([{"path": "a"}, {"path": "b"}])), [false, false]);
        // Every fragment has a duration: no init segment.
        assert_eq!(marks(json!([{"path": "a", "duration": 1.0}, {"path": "b", "duration": 1.0}])), [false, false]);
        // A lone fragment without duration is the media itself.
        assert_eq!(marks(json!([{"path": "a"}])), [false]);
        // Another fragment without duration: ambiguous, not marked.
        assert_eq!(marks(json!([{"path": "i"}, {"path": "a", "duration": 1.0}, {"path": "b"}])), [false, false, false]);
        assert_eq!(marks(json!([{"path": "i"}, {"path": "a", "duration": 1}])), [true, false]);
    }

    #[test]
    fn refusals() {
        refused(&json!({"fragment_base_url": "https://h/"}), "without fragments");
        refused(&json!({"fragment_base_url": "https://h/", "fragments": []}), "without fragments");
        refused(&json!({"fragments": "lazy"}), "without fragments");
        refused(
            &json!({"fragment_base_url": "https://h/", "fragments": [{"path": "a"}, {"duration": 2.0}]}),
            "fragment 1 has neither url nor path",
        );
        refused(&json!({"fragments": [{"path": "a.m4s"}]}), "without an http(s) base");
        refused(
            &json!({"fragment_base_url": "file:///srv/v/", "fragments": [{"path": "a.m4s"}]}),
            "without an http(s) base",
        );
        refused(&json!({"fragments": [{"url": "file:///etc/passwd"}]}), "scheme file:");
        refused(
            &json!({"fragment_base_url": "https://h/", "fragments": [{"path": "data:video/mp4;base64,AAAA"}]}),
            "scheme data:",
        );
        refused(&json!({"fragments": [{"url": "relative/a.m4s"}]}), "url \"relative/a.m4s\"");
        refused(&json!({"is_live": true, "fragments": [{"url": "https://h/a.m4s"}]}), "live");
        refused(&json!({"live_status": "is_live", "fragments": [{"url": "https://h/a.m4s"}]}), "live");
        refused(
            &json!({"protocol": "http_dash_segments_generator", "fragments": [{"url": "https://h/a"}]}),
            "protocol http_dash_segments_generator",
        );
        let many: Vec<Value> =
            (0..=MAX_FRAGMENTS).map(|i| json!({"url": format!("https://h/{i}.m4s"), "duration": 1.0})).collect();
        refused(&json!({"fragments": many}), "more than 100000 fragments");
    }
}
