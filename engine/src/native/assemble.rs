//! The finished file: a clip's parts chosen before anything is fetched,
//! then one ffmpeg run that trims, merges, embeds the subtitles, the tags,
//! the chapters and the cover, and (for subtitles as files) a ZIP.
//!
//! **Clips fetch only what covers them.** An HLS or DASH track keeps the
//! segments that overlap the range (their durations are in the manifest);
//! a progressive file is not fetched at all: ffmpeg reads it through a
//! loopback [`Relay`] that turns each of its seeks into a ranged GET
//! through the egress guard, so only the index and the clip's bytes move.
//!
//! **Cutting: stream copy when the start is on a keyframe, else the clip
//! is re-encoded (only the clip: `libx264 veryfast`, AAC).** A copy that starts between keyframes either begins with
//! frames that cannot be decoded or, as ffmpeg does it, starts early at the
//! previous keyframe: the clip would not be the range asked for. Segment
//! boundaries are keyframes, so a range on them (the common case of
//! `0:30-1:00` in a 2 s or 6 s segmented stream) is copied, at disk speed.
//! Re-encoding only the first GOP and copying the rest ("smart cut") was
//! left out: the re-encoded head's codec parameters differ from the
//! source's, and MP4 has one set per track, which breaks players.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::extras::{iso639_2, Extras};
use super::merge::{audio_codec, Container};
use super::source::Output;
use super::tracks::Track;
use crate::download::DownloadOptions;
use crate::error::{EngineError, FailureKind};
use crate::progress::PostStep;
use contract::clip::ClipRange;
use contract::media::SubtitleFormat;

/// A keyframe this close to the start counts as on it (a frame at 25 fps
/// lasts 40 ms).
const KEYFRAME_TOLERANCE: f64 = 0.02;
/// The longest description written into a file.
const MAX_DESCRIPTION_CHARS: usize = 5000;

/// How one selected format reaches ffmpeg.
#[derive(Debug)]
pub(crate) enum Part {
    /// Fetched into a local file; ffmpeg starts reading `seek` seconds in.
    Fetched { seek: f64 },
    /// Read by ffmpeg through a relay, demuxed as `demuxer` (never probed:
    /// a "video" that is really a playlist must not send ffmpeg elsewhere).
    Remote { track: Box<Track>, seek: f64, demuxer: &'static str },
}

/// Splits the planned tracks into what to fetch and how each reaches
/// ffmpeg. Without a clip everything is fetched whole.
pub(crate) fn cut(tracks: Vec<Track>, clip: Option<ClipRange>) -> (Vec<Track>, Vec<Part>) {
    let Some(clip) = clip else {
        let parts = tracks.iter().map(|_| Part::Fetched { seek: 0.0 }).collect();
        return (tracks, parts);
    };
    let (start, end) = (clip.start_ms as f64 / 1000.0, clip.end_ms as f64 / 1000.0);
    let mut fetch = Vec::new();
    let mut parts = Vec::new();
    for mut track in tracks {
        if let Some(first_kept) = keep_covering(&mut track, start, end) {
            parts.push(Part::Fetched { seek: (start - first_kept).max(0.0) });
            fetch.push(track);
            continue;
        }
        if track.direct {
            if let Some(demuxer) = container_demuxer(&track.head) {
                parts.push(Part::Remote { track: Box::new(track), seek: start, demuxer });
                continue;
            }
        }
        tracing::debug!(format = %track.format_id, "clip: the whole track is fetched (no segment times, no ranges)");
        parts.push(Part::Fetched { seek: start });
        fetch.push(track);
    }
    (fetch, parts)
}

/// Keeps the init sections and the media fragments overlapping
/// `[start, end)`; returns where the first kept one starts, or `None` (the
/// track untouched) when some fragment's duration is unknown.
fn keep_covering(track: &mut Track, start: f64, end: f64) -> Option<f64> {
    let media: Vec<_> = track.fragments.iter().filter(|f| !f.is_init).collect();
    if media.is_empty() || track.direct || media.iter().any(|f| f.duration.is_none_or(|d| d.is_nan() || d < 0.0)) {
        return None;
    }
    let mut at = 0.0;
    let mut first_kept = None;
    let mut kept = Vec::with_capacity(track.fragments.len());
    let mut kept_bytes: Option<u64> = Some(0);
    let total = track.fragments.len();
    for fragment in std::mem::take(&mut track.fragments) {
        if fragment.is_init {
            kept.push(fragment);
            continue;
        }
        let duration = fragment.duration.unwrap_or(0.0);
        let (from, to) = (at, at + duration);
        at = to;
        // A fragment ending exactly at the start holds nothing of the clip.
        if to > start + 1e-6 && from < end - 1e-6 {
            first_kept.get_or_insert(from);
            kept_bytes = kept_bytes.zip(fragment.size).map(|(a, b)| a + b);
            kept.push(fragment);
        }
    }
    for (i, fragment) in kept.iter_mut().enumerate() {
        fragment.index = i;
    }
    tracing::debug!(format = %track.format_id, kept = kept.len(), of = total, "clip: fragments that cover it");
    track.estimate = kept_bytes.filter(|b| *b > 0).or_else(|| {
        let whole = track.estimate?;
        (at > 0.0).then(|| (whole as f64 * ((end.min(at) - start).max(0.0) / at)) as u64)
    });
    track.fragments = kept;
    first_kept.or(Some(start))
}

/// The demuxer for a progressive file, from its first bytes (the size
/// probe brought them: `Track::head`): MP4 and Matroska only (ffmpeg seeks
/// in both by their index). Anything else, or too few bytes to tell, is
/// fetched whole and cut locally.
fn container_demuxer(head: &[u8]) -> Option<&'static str> {
    match super::merge::classify(head) {
        Container::Mp4 => Some("mov"),
        Container::Matroska => Some("matroska"),
        Container::Ts | Container::Other => None,
    }
}

/// One media input of the ffmpeg run.
#[derive(Debug, Clone)]
pub(crate) struct MediaInput {
    /// A local path, or a relay URL.
    pub location: OsString,
    /// Seconds into the input where the clip starts.
    pub seek: f64,
    /// Set for relay URLs: the forced demuxer.
    pub remote_demuxer: Option<&'static str>,
    pub container: Container,
    pub acodec: Option<String>,
}

impl MediaInput {
    fn options(&self, clip_len: Option<f64>) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        match self.remote_demuxer {
            // Loopback HTTP to the relay, and nothing a playlist could name;
            // the index describes the streams, so no media is read to probe.
            Some(demuxer) => {
                a.extend(["-protocol_whitelist", "http,tcp", "-f", demuxer, "-probesize", "65536"].map(OsString::from))
            }
            None => a.extend(["-protocol_whitelist", "file,pipe"].map(OsString::from)),
        }
        if let Some(len) = clip_len {
            if self.seek > 0.0 {
                a.push("-ss".into());
                a.push(secs(self.seek).into());
            }
            a.push("-t".into());
            a.push(secs(len).into());
        }
        a.push("-i".into());
        a.push(self.location.clone());
        a
    }
}

fn secs(value: f64) -> String {
    format!("{:.3}", value.max(0.0))
}

/// What the one ffmpeg run does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Recipe {
    pub step: PostStep,
    /// Everything between `ffmpeg` and the output path.
    pub args: Vec<OsString>,
}

/// The ffmpeg arguments that make `output` from `media` and `extras`.
/// `None` when renaming the single fetched track is all it takes (no clip,
/// no tags, nothing to embed, the container already right).
pub(crate) fn recipe(
    media: &[MediaInput],
    extras: &Extras,
    output: Output,
    options: &DownloadOptions,
    reencode_video: bool,
) -> Option<Recipe> {
    let clip_len = options.clip.map(|c| c.len_ms() as f64 / 1000.0);
    let clip_start = options.clip.map(|c| c.start_ms as f64 / 1000.0).unwrap_or(0.0);
    let is_audio = matches!(output, Output::Audio(_));
    let embed_subs = !is_audio && options.embed_subtitles() && !extras.subtitles.is_empty();
    let tagged = extras.tags.is_some();
    let plain = clip_len.is_none() && !embed_subs && !tagged && extras.cover.is_none();
    let tracks: Vec<(PathBuf, Container, Option<String>)> =
        media.iter().map(|m| (PathBuf::from(&m.location), m.container, m.acodec.clone())).collect();
    let simple = super::merge::recipe(&tracks, output, options.audio_bitrate);
    if plain && simple.is_none() && media.iter().all(|m| m.remote_demuxer.is_none()) {
        return None;
    }
    let step = match (&simple, media.len()) {
        (Some((step, _)), _) => *step,
        (None, n) if n >= 2 => PostStep::Merge,
        (None, _) => PostStep::Fixup,
    };

    let s = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
    let mut args: Vec<OsString> = Vec::new();
    for m in media {
        args.extend(m.options(clip_len));
    }
    let mut next_input = media.len();
    let mut sub_inputs = Vec::new();
    if embed_subs {
        for sub in &extras.subtitles {
            args.extend(s(&["-protocol_whitelist", "file,pipe"]));
            if let Some(len) = clip_len {
                args.extend(["-ss".into(), secs(clip_start).into(), "-t".into(), secs(len).into()]);
            }
            args.push("-i".into());
            args.push(sub.path.clone().into());
            sub_inputs.push(next_input);
            next_input += 1;
        }
    }
    let chapters_input = extras.chapters.as_ref().map(|path| {
        args.extend(s(&["-protocol_whitelist", "file,pipe", "-f", "ffmetadata", "-i"]));
        args.push(path.clone().into());
        next_input += 1;
        next_input - 1
    });
    let cover_input = match (is_audio, &extras.cover) {
        (true, Some(path)) => {
            args.extend(s(&["-protocol_whitelist", "file,pipe", "-i"]));
            args.push(path.clone().into());
            next_input += 1;
            Some(next_input - 1)
        }
        _ => None,
    };

    // Maps: the picture and the sound, then subtitles, then the cover.
    match output {
        Output::Audio(_) => args.extend(s(&["-map", "0:a:0"])),
        Output::Mp4 | Output::Mkv if media.len() >= 2 => args.extend(s(&["-map", "0:v:0", "-map", "1:a:0"])),
        Output::Mp4 | Output::Mkv => args.extend(s(&["-map", "0:v:0?", "-map", "0:a:0?"])),
    }
    for input in &sub_inputs {
        args.push("-map".into());
        args.push(format!("{input}:s:0").into());
    }
    if let Some(input) = cover_input {
        args.push("-map".into());
        args.push(format!("{input}:v:0").into());
    }

    // Codecs; the muxer goes last.
    let mut muxer: Vec<OsString> = Vec::new();
    match output {
        Output::Audio(format) => {
            let mut codec = audio_codec(format, options.audio_bitrate, media.first().and_then(|m| m.acodec.as_deref()));
            // `audio_codec` ends with the muxer; the cover's codec goes first.
            muxer = codec.split_off(codec.len().saturating_sub(2)).into_iter().map(OsString::from).collect();
            args.extend(codec.into_iter().map(OsString::from));
            if cover_input.is_some() {
                args.extend(s(&["-c:v", "copy", "-disposition:v:0", "attached_pic"]));
                args.extend(s(&["-metadata:s:v:0", "title=Cover (front)", "-metadata:s:v:0", "comment=Cover (front)"]));
            }
            if format == contract::media::AudioFormat::Mp3 {
                // ID3v2.3: what most players and tag editors read.
                args.extend(s(&["-id3v2_version", "3"]));
            }
        }
        Output::Mp4 | Output::Mkv => {
            if reencode_video {
                // Both streams decoded from the seek point and stamped from
                // zero: a copied sound would begin with the packets before
                // it (MPEG-TS seeks land early), a copied clock at the
                // source's offset.
                args.extend(s(&["-vf", "setpts=PTS-STARTPTS", "-af", "asetpts=PTS-STARTPTS"]));
                args.extend(s(&["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]));
                args.extend(s(&["-c:a", "aac", "-b:a", "192k"]));
            } else {
                args.extend(s(&["-c:v", "copy", "-c:a", "copy"]));
            }
            if !sub_inputs.is_empty() {
                let codec = if output == Output::Mp4 { "mov_text" } else { "copy" };
                args.extend(s(&["-c:s", codec]));
                for (i, sub) in extras.subtitles.iter().enumerate() {
                    if let Some(code) = iso639_2(&sub.lang) {
                        args.push(format!("-metadata:s:s:{i}").into());
                        args.push(format!("language={code}").into());
                    }
                    let title = sub.name.clone().unwrap_or_else(|| sub.lang.clone());
                    args.push(format!("-metadata:s:s:{i}").into());
                    args.push(format!("title={title}").into());
                }
            }
            if clip_len.is_some() {
                args.extend(s(&["-avoid_negative_ts", "make_zero"]));
            }
        }
    }

    // The source's own tags are dropped either way: with tags off nothing
    // is written, with tags on only what the site says. The chapters file
    // has no tags of its own, and `-map_metadata -1` would drop the
    // chapters' titles with the rest.
    match chapters_input {
        Some(input) => {
            args.extend([
                "-map_metadata".into(),
                input.to_string().into(),
                "-map_chapters".into(),
                input.to_string().into(),
            ]);
        }
        None => args.extend(s(&["-map_metadata", "-1", "-map_chapters", "-1"])),
    }
    if let Some(tags) = &extras.tags {
        let mut put = |key: &str, value: &Option<String>| {
            if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                args.push("-metadata".into());
                args.push(format!("{key}={v}").into());
            }
        };
        put("title", &tags.title);
        put("artist", &tags.artist);
        put("album_artist", &tags.artist);
        put("album", &tags.album);
        put("date", &tags.date);
        let description = tags.description.as_ref().map(|d| d.chars().take(MAX_DESCRIPTION_CHARS).collect::<String>());
        put("description", &description);
        put("comment", &tags.url);
    }
    if let Output::Mp4 | Output::Mkv = output {
        muxer = s(&["-f", if output == Output::Mp4 { "mp4" } else { "matroska" }]);
    }
    args.extend(muxer);
    Some(Recipe { step, args })
}

/// Whether the video of `input` has a keyframe at the clip's start (within
/// a frame), by its keyframe times around there. Unknown counts as no.
pub(crate) async fn starts_on_keyframe(ffprobe: &Path, input: &MediaInput) -> bool {
    // A file read through the relay starts at 0 (give or take an edit
    // list): one probe less, and each one costs the index again.
    let start_time = match input.remote_demuxer {
        Some(_) => Some(0.0),
        None => probe_json(ffprobe, input, &["-show_entries", "format=start_time"]).await.and_then(|v| {
            v.pointer("/format/start_time").and_then(|s| s.as_str().and_then(|s| s.parse::<f64>().ok()).or(s.as_f64()))
        }),
    };
    let guess = start_time.unwrap_or(0.0) + input.seek;
    // Packets, not frames: nothing is decoded. ffprobe seeks to the
    // keyframe at or before the window, so at most one GOP is read.
    let window = format!("{}%{}", secs((guess - 0.3).max(0.0)), secs(guess + 0.3));
    let packets = probe_json(
        ffprobe,
        input,
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time,flags:format=start_time",
            "-read_intervals",
            &window,
        ],
    )
    .await;
    let actual_start = packets.as_ref().and_then(|v| {
        v.pointer("/format/start_time").and_then(|s| s.as_str().and_then(|s| s.parse::<f64>().ok()).or(s.as_f64()))
    });
    let target = actual_start.or(start_time).unwrap_or(0.0) + input.seek;
    let times: Vec<f64> = packets
        .as_ref()
        .and_then(|v| v.get("packets"))
        .and_then(|f| f.as_array())
        .into_iter()
        .flatten()
        .filter(|p| p.get("flags").and_then(|f| f.as_str()).is_some_and(|f| f.starts_with('K')))
        .filter_map(|p| {
            let t = p.get("pts_time")?;
            t.as_str().and_then(|s| s.parse::<f64>().ok()).or(t.as_f64())
        })
        .collect();
    let on = times.iter().any(|t| (t - target).abs() <= KEYFRAME_TOLERANCE);
    tracing::debug!(target, keyframes = ?times, on, "clip start against keyframes");
    on
}

async fn probe_json(ffprobe: &Path, input: &MediaInput, show: &[&str]) -> Option<serde_json::Value> {
    let mut cmd = crate::process::command(ffprobe);
    cmd.args(["-v", "error", "-of", "json"]);
    cmd.args(show);
    match input.remote_demuxer {
        // The index says what the streams are: no need to read megabytes
        // of media to find out.
        Some(demuxer) => cmd.args(["-protocol_whitelist", "http,tcp", "-f", demuxer, "-probesize", "65536"]),
        None => cmd.args(["-protocol_whitelist", "file,pipe"]),
    };
    cmd.arg("-i").arg(&input.location);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).kill_on_drop(true);
    let out = cmd.output().await.ok()?;
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// The ffprobe beside `ffmpeg` (the same build), else the one on `PATH`.
pub(crate) fn ffprobe_for(ffmpeg: &Path) -> PathBuf {
    match (ffmpeg.parent(), ffmpeg.file_name().and_then(|n| n.to_str())) {
        (Some(dir), Some(name)) if name.contains("ffmpeg") && !dir.as_os_str().is_empty() => {
            let candidate = dir.join(name.replace("ffmpeg", "ffprobe"));
            if candidate.is_file() {
                return candidate;
            }
            crate::download::resolve_program(Path::new("ffprobe"))
        }
        _ => crate::download::resolve_program(Path::new("ffprobe")),
    }
}

/// A subtitle file as `.srt`/`.vtt`, cut to the clip.
pub(crate) async fn convert_subtitle(
    ffmpeg: &Path,
    input: &Path,
    clip: Option<ClipRange>,
    format: SubtitleFormat,
    out: &Path,
) -> Result<(), EngineError> {
    let mut args: Vec<OsString> = ["-protocol_whitelist", "file,pipe"].map(OsString::from).to_vec();
    if let Some(c) = clip {
        args.extend(["-ss".into(), secs(c.start_ms as f64 / 1000.0).into()]);
        args.extend(["-t".into(), secs(c.len_ms() as f64 / 1000.0).into()]);
    }
    args.push("-i".into());
    args.push(input.into());
    let (codec, muxer) = match format {
        SubtitleFormat::Srt => ("srt", "srt"),
        SubtitleFormat::Vtt => ("webvtt", "webvtt"),
    };
    args.extend(["-map", "0:s:0", "-c:s", codec, "-f", muxer].map(OsString::from));
    run(ffmpeg, &args, out, "The subtitles could not be converted.").await
}

/// Runs ffmpeg with `args` and the output `out` (replaced); `failure` is
/// the sentence people read when it fails (ffmpeg's words go to the log).
pub(crate) async fn run(ffmpeg: &Path, args: &[OsString], out: &Path, failure: &str) -> Result<(), EngineError> {
    let mut all = args.to_vec();
    all.push(out.into());
    let failure = EngineError::Fetch { kind: FailureKind::Other, message: failure.to_owned() };
    crate::process::run_ffmpeg(ffmpeg, &all, failure).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::extras::Tags;
    use crate::native::fragment::Fragment;
    use contract::media::AudioFormat;

    fn input(path: &str, container: Container) -> MediaInput {
        MediaInput {
            location: path.into(),
            seek: 0.0,
            remote_demuxer: None,
            container,
            acodec: Some("mp4a.40.2".into()),
        }
    }

    fn text(r: &Recipe) -> String {
        r.args.iter().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn nothing_to_do_is_a_rename() {
        let options = DownloadOptions { tags: false, ..DownloadOptions::default() };
        let r = recipe(&[input("v", Container::Mp4)], &Extras::default(), Output::Mp4, &options, false);
        assert_eq!(r, None);
    }

    #[test]
    fn tags_and_a_clip() {
        let options =
            DownloadOptions { clip: Some(ClipRange { start_ms: 4000, end_ms: 8000 }), ..DownloadOptions::default() };
        let extras = Extras {
            tags: Some(Tags { title: Some("T=1".into()), artist: Some("-A".into()), ..Tags::default() }),
            ..Extras::default()
        };
        let mut v = input("v", Container::Ts);
        v.seek = 1.5;
        let r = recipe(&[v, input("a", Container::Ts)], &extras, Output::Mp4, &options, false).unwrap_or_else(|| {
            panic!("a recipe");
        });
        let t = text(&r);
        assert!(t.contains("-ss 1.500 -t 4.000 -i v"), "{t}");
        assert!(t.contains("-t 4.000 -i a"), "{t}");
        assert!(t.contains("-map 0:v:0 -map 1:a:0 -c:v copy -c:a copy"), "{t}");
        // Values travel as one argument each: a leading dash is a value.
        assert!(r.args.iter().any(|a| a == "artist=-A"), "{t}");
        assert!(r.args.iter().any(|a| a == "title=T=1"), "{t}");
        assert!(t.ends_with("-f mp4"), "{t}");
        assert_eq!(r.step, PostStep::Merge);
    }

    #[test]
    fn audio_with_a_cover() {
        let options =
            DownloadOptions { audio_format: AudioFormat::Mp3, audio_bitrate: Some(128), ..DownloadOptions::default() };
        let extras = Extras {
            cover: Some(PathBuf::from("c.jpg")),
            tags: Some(Tags::default()),
            chapters: Some(PathBuf::from("ch.txt")),
            ..Extras::default()
        };
        let r = recipe(&[input("a", Container::Mp4)], &extras, Output::Audio(AudioFormat::Mp3), &options, false)
            .unwrap_or_else(|| panic!("a recipe"));
        let t = text(&r);
        assert!(t.contains("-f ffmetadata -i ch.txt"), "{t}");
        assert!(
            t.contains("-map 0:a:0 -map 2:v:0 -c:a libmp3lame -b:a 128k -c:v copy -disposition:v:0 attached_pic"),
            "{t}"
        );
        assert!(t.contains("-map_metadata 1 -map_chapters 1"), "{t}");
        assert!(t.ends_with("-f mp3"), "{t}");
    }

    #[test]
    fn relay_inputs_are_never_probed() {
        let mut v = input("http://127.0.0.1:9/t/media", Container::Mp4);
        v.remote_demuxer = Some("mov");
        let options = DownloadOptions {
            clip: Some(ClipRange { start_ms: 2000, end_ms: 3000 }),
            tags: false,
            ..DownloadOptions::default()
        };
        v.seek = 2.0;
        let r = recipe(&[v], &Extras::default(), Output::Mp4, &options, true).unwrap_or_else(|| panic!("a recipe"));
        let t = text(&r);
        assert!(
            t.starts_with("-protocol_whitelist http,tcp -f mov -probesize 65536 -ss 2.000 -t 1.000 -i http://"),
            "{t}"
        );
        assert!(t.contains("-c:v libx264"), "{t}");
    }

    fn frag(index: usize, duration: f64) -> Fragment {
        Fragment {
            index,
            url: url::Url::parse(&format!("http://x/{index}.ts")).unwrap_or_else(|e| panic!("{e}")),
            range: None,
            key: None,
            is_init: false,
            duration: Some(duration),
            size: Some(100),
        }
    }

    #[test]
    fn only_covering_segments_are_kept() {
        let mut track = Track {
            format_id: "v".into(),
            acodec: None,
            fragments: (0..10).map(|i| frag(i, 2.0)).collect(),
            headers: Default::default(),
            cookies: Default::default(),
            range_in_query: false,
            path: PathBuf::from("t"),
            direct: false,
            estimate: None,
            head: Vec::new(),
        };
        let first = keep_covering(&mut track, 4.0, 8.0);
        assert_eq!(first, Some(4.0));
        let urls: Vec<&str> = track.fragments.iter().map(|f| f.url.path()).collect();
        assert_eq!(urls, ["/2.ts", "/3.ts"]);
        assert_eq!(track.fragments.iter().map(|f| f.index).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(track.estimate, Some(200));
    }
}
