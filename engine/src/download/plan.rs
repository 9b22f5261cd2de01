//! Planning a yt-dlp download: the format selector, the container and the
//! expected sizes a quality turns into, what the download options add (a
//! clip, the audio bitrate, subtitles, tags), and the arguments yt-dlp gets.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use contract::clip::ClipRange;
use serde_json::Value;

use super::{AudioFormat, DownloadOptions, SubtitleFormat, SubtitleMode, FFMPEG_PROTOCOLS, INFO_JSON, MEDIA_STEM};
use crate::error::{EngineError, FailureKind};
use crate::info::{Format, InfoJson};
use crate::progress::progress_args;
use crate::quality::{choices, QualityChoice, QualityId};
use crate::ytdlp::{Probe, YtDlp};

/// Bitrate assumed for an audio-only format of unknown size (progress
/// weighting only), in kbit/s.
const ASSUMED_AUDIO_KBPS: f64 = 128.0;
/// Size assumed for one subtitle file (progress weighting only): next to
/// the video's, nothing.
const SUBTITLE_STAGE_BYTES: u64 = 50_000;
/// The longest subtitle language taken (`info::extras` lists no longer).
const MAX_LANG_CHARS: usize = 32;
/// Source audio of the asked codec is re-encoded down to the asked bitrate
/// only when it is this much above it: closer, copying costs a few
/// kilobytes and spares a second generation of lossy coding.
const REENCODE_ABOVE: f64 = 1.15;

/// The yt-dlp options a quality turns into.
#[derive(Debug, Clone, PartialEq)]
pub struct DownloadPlan {
    /// The `-f` selector: the exact formats from the quality picker first,
    /// then fallbacks that also work when heights are unknown.
    pub format: String,
    /// `--merge-output-format`: `mp4` when the planned codecs fit in MP4,
    /// else `mp4/mkv` (yt-dlp then picks); `None` for audio.
    pub merge_output_format: Option<&'static str>,
    /// `-x --audio-format …` for audio.
    pub extract_audio: Option<AudioFormat>,
    /// Expected size of each file yt-dlp will fetch (subtitles, video,
    /// audio), for weighting the progress.
    pub stage_sizes: Vec<Option<u64>>,
    /// `--audio-quality {N}K`: the bitrate when audio is re-encoded.
    pub audio_kbps: Option<u32>,
    /// The encoder that re-encodes audio yt-dlp would copy (the source has
    /// the asked codec at well above the asked bitrate).
    pub audio_encoder: Option<&'static str>,
    /// Only this part of the video, and how it is cut.
    pub clip: Option<ClipPlan>,
    /// Subtitles to fetch, and where they go.
    pub subtitles: Option<SubtitlePlan>,
    /// Title, artist, … (and for audio the cover) written into the file;
    /// chapters too, except in a clip (see [`ClipPlan`]).
    pub tags: bool,
}

/// A clip: the range and who cuts it.
///
/// yt-dlp's `--download-sections` hands the range to an ffmpeg that fetches
/// the media itself (only what covers the range). That ffmpeg cannot always
/// fetch: behind the egress proxy it may open plain http only (see
/// [`FFMPEG_PROTOCOLS`]: https would need `httpproxy`), and it cannot do
/// what some formats need (impersonation, POST data, extra query
/// parameters). Those are downloaded whole by yt-dlp and cut here.
///
/// Either way the cut is a stream copy from the keyframe before the start,
/// with an edit list that starts playback at the start: the duration is
/// the range's (±1 frame), and `--force-keyframes-at-cuts` (re-encoding the
/// whole clip on the server's CPU) buys nothing players show.
///
/// yt-dlp writes neither subtitles nor chapters shifted to a section: both
/// are shifted here (see `finish`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClipPlan {
    pub range: ClipRange,
    pub cut: ClipCut,
}

/// Who cuts a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClipCut {
    /// `--download-sections`: ffmpeg fetches only the range.
    Sections,
    /// yt-dlp downloads the whole video; ffmpeg cuts the local file.
    AfterDownload,
}

/// The subtitles of a download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubtitlePlan {
    /// The languages, checked (see [`sub_langs_arg`]), in the order asked.
    pub langs: Vec<String>,
    /// One of them is only an automatic track (`--write-auto-subs`).
    pub automatic: bool,
    pub mode: SubtitleMode,
    /// The format of the files (`--convert-subs`).
    pub format: SubtitleFormat,
}

impl SubtitlePlan {
    /// Where yt-dlp leaves the file of `lang`: `media.{lang}.{format}`.
    pub fn file_name(&self, lang: &str) -> String {
        format!("{MEDIA_STEM}.{lang}.{}", self.format.as_str())
    }
}

/// Works out the yt-dlp options for `quality` from a probe.
///
/// * A height the video offers: `"{exact}/bv*[height<=?Q]+ba/b[height<=?Q]/bv*+ba/b"`.
/// * A height it does not offer (e.g. 2160 for a 1080p video): the same
///   without the exact part, so the best at or below Q.
/// * `auto`: `"bv*+ba/b"`.
/// * `audio`: `"{exact}/ba/b"` with `-x --audio-format m4a|mp3`, which works
///   from an audio-only format and from a muxed one alike.
pub fn plan(info: &InfoJson, quality: QualityId, audio_format: AudioFormat) -> DownloadPlan {
    let offered = choices(info);
    let find = |id: QualityId| offered.iter().find(|c| c.id == id);

    match quality {
        QualityId::Audio => {
            let exact = find(QualityId::Audio);
            let format = match exact {
                Some(c) if !c.format.is_empty() => format!("{}/ba/b", c.format),
                _ => "ba/b".to_owned(),
            };
            DownloadPlan {
                format,
                merge_output_format: None,
                extract_audio: Some(audio_format),
                stage_sizes: vec![exact.and_then(|c| planned_sizes(info, c).pop().flatten())],
                ..DownloadPlan::formats_only()
            }
        }
        QualityId::Auto => {
            let model = model_in(&offered, QualityId::Auto);
            video_plan(info, "bv*+ba/b".to_owned(), model)
        }
        q => {
            let h = q.height().unwrap_or(u32::MAX);
            let fallback = format!("bv*[height<=?{h}]+ba/b[height<=?{h}]/bv*+ba/b");
            match find(q) {
                Some(exact) if !exact.format.is_empty() => {
                    video_plan(info, format!("{}/{fallback}", exact.format), Some(exact))
                }
                _ => video_plan(info, fallback, model_in(&offered, q)),
            }
        }
    }
}

impl DownloadPlan {
    /// The fields [`plan`] does not set: no options at all.
    fn formats_only() -> DownloadPlan {
        DownloadPlan {
            format: String::new(),
            merge_output_format: None,
            extract_audio: None,
            stage_sizes: Vec::new(),
            audio_kbps: None,
            audio_encoder: None,
            clip: None,
            subtitles: None,
            tags: false,
        }
    }
}

/// [`plan`] with the download options: the audio bitrate, the clip (cut by
/// whom: see [`ClipPlan`]; `proxied` says yt-dlp goes through an egress
/// proxy), subtitles and tags.
///
/// Fails, before anything is fetched, for a subtitle language the video
/// does not list or that could not be a file name.
pub fn plan_for(
    probe: &Probe,
    quality: QualityId,
    options: &DownloadOptions,
    proxied: bool,
) -> Result<DownloadPlan, EngineError> {
    let info = &probe.info;
    let mut p = plan(info, quality, options.audio_format);
    let model = model_choice(info, quality);
    let formats = model.as_ref().map(|c| lookup(info, &c.format)).unwrap_or_default();
    if let (Some(audio), Some(kbps)) = (p.extract_audio, options.audio_bitrate) {
        if audio.lossy() && kbps > 0 {
            p.audio_kbps = Some(kbps);
            p.audio_encoder = forced_encoder(audio, kbps, &formats);
        }
    }
    if let Some(range) = options.clip {
        let cut =
            if ffmpeg_fetches(&formats, &probe.raw, proxied) { ClipCut::Sections } else { ClipCut::AfterDownload };
        if cut == ClipCut::Sections {
            // One ffmpeg fetches every format of the range into one file:
            // one stage, the range's share of the whole.
            let share = info
                .duration
                .filter(|d| d.is_finite() && *d > 0.0)
                .map(|d| (range.len_ms() as f64 / 1000.0 / d).min(1.0));
            let whole = p.stage_sizes.iter().try_fold(0u64, |sum, s| s.map(|s| sum.saturating_add(s)));
            let size = match (whole, share) {
                (Some(w), Some(share)) if w > 0 => Some((w as f64 * share).round() as u64),
                _ => None,
            };
            p.stage_sizes = vec![size];
        }
        p.clip = Some(ClipPlan { range, cut });
    }
    if !options.subtitles.is_empty() {
        let subs = subtitle_plan(&probe.raw, options)?;
        // yt-dlp fetches the subtitles before the media.
        let mut sizes = vec![Some(SUBTITLE_STAGE_BYTES); subs.langs.len()];
        sizes.append(&mut p.stage_sizes);
        p.stage_sizes = sizes;
        p.subtitles = Some(subs);
    }
    p.tags = options.tags;
    Ok(p)
}

/// The encoder that makes yt-dlp re-encode audio it would copy: it copies
/// whenever the source has the asked codec (AAC for m4a, Opus, MP3),
/// `--audio-quality` or not. Worth it only when the source is well above
/// the asked bitrate.
fn forced_encoder(audio: AudioFormat, kbps: u32, formats: &[Option<&Format>]) -> Option<&'static str> {
    let (prefixes, encoder): (&[&str], _) = match audio {
        AudioFormat::M4a => (&["mp4a", "aac"], "aac"),
        AudioFormat::Opus => (&["opus"], "libopus"),
        AudioFormat::Mp3 => (&["mp3"], "libmp3lame"),
        AudioFormat::Flac => return None,
    };
    // The format the sound comes from: the audio-only one of a pair, else
    // the only one.
    let source = formats.iter().flatten().find(|f| f.is_audio_only()).or_else(|| formats.iter().flatten().next())?;
    let codec = source.acodec.as_deref()?.trim().to_ascii_lowercase();
    let source_kbps = source.abr.or(source.tbr.filter(|_| source.is_audio_only()))?;
    let same_codec = prefixes.iter().any(|p| codec.starts_with(p));
    (same_codec && source_kbps > f64::from(kbps) * REENCODE_ABOVE).then_some(encoder)
}

/// Whether the ffmpeg `--download-sections` starts can fetch `formats`
/// itself: protocols it reads, and what it may open (only http behind the
/// egress proxy), and nothing it cannot do (impersonation, POST data, extra
/// query parameters). Unknown formats count when there is no proxy.
fn ffmpeg_fetches(formats: &[Option<&Format>], raw: &str, proxied: bool) -> bool {
    if formats.is_empty() || formats.iter().any(Option::is_none) {
        return !proxied;
    }
    let top: Value = serde_json::from_str(raw).unwrap_or_default();
    let listed = top.get("formats").and_then(Value::as_array);
    formats.iter().flatten().all(|f| {
        let url = f.url.as_deref().unwrap_or_default();
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase()).unwrap_or_default();
        let reachable = scheme == "http" || (scheme == "https" && !proxied);
        let protocol = f.protocol.as_deref().unwrap_or(scheme.as_str());
        let readable = matches!(protocol, "http" | "https" | "m3u8" | "m3u8_native" | "http_dash_segments");
        let raw_format = listed
            .and_then(|l| l.iter().find(|r| r.get("format_id").and_then(Value::as_str) == f.format_id.as_deref()));
        const YTDLP_ONLY: [&str; 6] = [
            "impersonate",
            "request_data",
            "extra_param_to_segment_url",
            "extra_param_to_key_url",
            "hls_aes",
            "is_from_start",
        ];
        let special = raw_format.is_some_and(|r| YTDLP_ONLY.iter().any(|k| r.get(k).is_some_and(truthy)));
        reachable && readable && !special
    })
}

/// JSON truthiness as Python reads these fields.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// The chosen subtitle languages, checked against the video's list.
fn subtitle_plan(raw: &str, options: &DownloadOptions) -> Result<SubtitlePlan, EngineError> {
    let offered = crate::info::extras::subtitles(raw);
    let mut langs: Vec<String> = Vec::new();
    let mut automatic = false;
    for lang in &options.subtitles {
        if langs.contains(lang) {
            continue;
        }
        if !safe_lang(lang) {
            return Err(EngineError::YtDlp {
                kind: FailureKind::Other,
                message: format!("The subtitle language {lang:?} cannot be downloaded."),
            });
        }
        let source = offered.iter().find(|s| s.lang == *lang).ok_or_else(|| EngineError::YtDlp {
            kind: FailureKind::Other,
            message: format!("The video has no subtitles in {lang:?}."),
        })?;
        automatic |= source.automatic;
        langs.push(lang.clone());
    }
    Ok(SubtitlePlan { langs, automatic, mode: options.subtitle_mode, format: options.subtitle_format })
}

/// A language that can name a file: yt-dlp writes `media.{lang}.{ext}`
/// with the language as the site spells it, so no path separators, no
/// leading dot, no control characters.
fn safe_lang(lang: &str) -> bool {
    let chars = lang.chars().count();
    (1..=MAX_LANG_CHARS).contains(&chars)
        && !lang.starts_with('.')
        && !lang.chars().any(|c| c == '/' || c == '\\' || c.is_control())
}

/// `--sub-langs` for exactly these languages. yt-dlp splits the value at
/// commas, reads a leading `-` as "exclude" and `all` as every language,
/// and matches each item as a case-insensitive regex; so each language
/// becomes `(?-i:…)`, a case-sensitive group in which every ASCII character
/// but letters, digits, `_` and `-` is a `\xHH` escape: a literal, never
/// a pattern, a comma, an exclusion or `all`.
pub fn sub_langs_arg(langs: &[String]) -> String {
    langs
        .iter()
        .map(|lang| {
            let mut item = String::from("(?-i:");
            for c in lang.chars() {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' || !c.is_ascii() {
                    item.push(c);
                } else {
                    item.push_str(&format!("\\x{:02x}", u32::from(c)));
                }
            }
            item.push(')');
            item
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `*{start}-{end}` for `--download-sections`, in seconds with up to three
/// decimals.
pub fn section_arg(range: ClipRange) -> String {
    format!("*{}-{}", seconds(range.start_ms), seconds(range.end_ms))
}

/// `4`, `4.5`, `4.125`: milliseconds as seconds, without trailing zeros.
pub(crate) fn seconds(ms: u64) -> String {
    let (whole, frac) = (ms / 1000, ms % 1000);
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{frac:03}").trim_end_matches('0').to_owned()
    }
}

/// The choice whose formats yt-dlp will most likely take for `quality`:
/// the exact one when offered, for a height that is not offered the best
/// below it, for `auto` the highest. The native engine fetches exactly
/// these formats.
pub fn model_choice(info: &InfoJson, quality: QualityId) -> Option<QualityChoice> {
    let offered = choices(info);
    model_in(&offered, quality).cloned()
}

fn model_in(offered: &[QualityChoice], quality: QualityId) -> Option<&QualityChoice> {
    let find = |id: QualityId| offered.iter().find(|c| c.id == id);
    // The highest standard height: what "best" most likely means.
    let best_height = offered.iter().find(|c| c.id.height().is_some());
    match quality {
        QualityId::Audio => find(QualityId::Audio),
        QualityId::Auto => best_height.or_else(|| find(QualityId::Auto)),
        q => {
            let h = q.height().unwrap_or(u32::MAX);
            find(q)
                .filter(|c| !c.format.is_empty())
                .or_else(|| offered.iter().find(|c| c.id.height().is_some_and(|ch| ch <= h)))
                .or(best_height)
        }
    }
}

fn video_plan(info: &InfoJson, format: String, model: Option<&QualityChoice>) -> DownloadPlan {
    let formats = model.map(|c| lookup(info, &c.format)).unwrap_or_default();
    let fits_mp4 = !formats.is_empty() && formats.iter().all(|f| f.is_some_and(fits_mp4));
    let stage_sizes = match model {
        Some(c) => planned_sizes(info, c),
        None => vec![None],
    };
    DownloadPlan {
        format,
        merge_output_format: Some(if fits_mp4 { "mp4" } else { "mp4/mkv" }),
        extract_audio: None,
        stage_sizes,
        ..DownloadPlan::formats_only()
    }
}

/// The formats named in an exact selector like `"315+251"`.
fn lookup<'a>(info: &'a InfoJson, selector: &str) -> Vec<Option<&'a Format>> {
    let formats = match &info.formats {
        Some(f) if !f.is_empty() => f.as_slice(),
        _ => return Vec::new(),
    };
    selector.split('+').map(|id| formats.iter().find(|f| f.format_id.as_deref() == Some(id))).collect()
}

/// Expected size of each file of a choice: the format's size, or for an
/// audio-only format of unknown size a 128 kbit/s guess.
fn planned_sizes(info: &InfoJson, choice: &QualityChoice) -> Vec<Option<u64>> {
    let found = lookup(info, &choice.format);
    if found.is_empty() {
        return vec![choice.filesize_approx];
    }
    found
        .into_iter()
        .map(|f| {
            let f = f?;
            f.size_estimate(info.duration).or_else(|| {
                let seconds = info.duration.filter(|d| d.is_finite() && *d > 0.0)?;
                f.is_audio_only().then(|| (ASSUMED_AUDIO_KBPS * 1000.0 / 8.0 * seconds).round() as u64)
            })
        })
        .collect()
}

/// Whether a format's codecs can go into an MP4 without re-encoding. An
/// unnamed codec counts when the format itself is MP4.
pub(crate) fn fits_mp4(f: &Format) -> bool {
    const VIDEO: [&str; 9] = ["avc1", "avc3", "h264", "hev1", "hvc1", "hevc", "h265", "av01", "mp4v"];
    const AUDIO: [&str; 8] = ["mp4a", "aac", "mp3", "ac-3", "ac3", "ec-3", "eac3", "ac-4"];
    let mp4_ext = matches!(f.ext.as_deref(), Some("mp4" | "m4a" | "m4v" | "mov"));
    let ok = |codec: &Option<String>, known: &[&str]| match codec.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => mp4_ext,
        Some(c) if c.eq_ignore_ascii_case("none") => true,
        Some(c) => {
            let c = c.to_ascii_lowercase();
            known.iter().any(|k| c.starts_with(k))
        }
    };
    ok(&f.vcodec, &VIDEO) && ok(&f.acodec, &AUDIO)
}

impl YtDlp {
    /// Whether yt-dlp goes through a proxy: `--proxy URL` among the extra
    /// arguments (an empty URL means a direct connection).
    pub(super) fn proxied(&self) -> bool {
        let args = self.extra_args();
        args.iter().enumerate().any(|(i, arg)| match arg.to_str() {
            Some("--proxy") => args.get(i + 1).is_some_and(|v| !v.is_empty()),
            Some(a) => a.strip_prefix("--proxy=").is_some_and(|v| !v.is_empty()),
            None => false,
        })
    }

    pub(super) fn download_args(&self, dir: &Path, ffmpeg: &Path, plan: &DownloadPlan) -> Vec<OsString> {
        let mut args: Vec<OsString> =
            ["--ignore-config", "--no-update", "--no-playlist", "--socket-timeout", "20", "--no-mtime"]
                .iter()
                .map(OsString::from)
                .collect();
        args.extend(progress_args().iter().map(OsString::from));
        // yt-dlp takes `--ffmpeg-location` as a path: a bare `ffmpeg` would
        // be looked for in the current directory, and merging silently skipped.
        args.push("--ffmpeg-location".into());
        args.push(resolve_program(ffmpeg).into());
        // `-o` is a template: a `%` in the directory must be doubled.
        let mut template = OsString::from(dir.as_os_str().to_string_lossy().replace('%', "%%"));
        template.push(format!("/{MEDIA_STEM}.%(ext)s"));
        args.push("-o".into());
        args.push(template);
        args.push("-f".into());
        args.push(plan.format.clone().into());
        if let Some(merge) = plan.merge_output_format {
            args.push("--merge-output-format".into());
            args.push(merge.into());
        }
        if let Some(audio) = plan.extract_audio {
            args.push("-x".into());
            args.push("--audio-format".into());
            args.push(audio.as_str().into());
            if let Some(kbps) = plan.audio_kbps {
                args.push("--audio-quality".into());
                args.push(format!("{kbps}K").into());
                if let Some(encoder) = plan.audio_encoder {
                    // After yt-dlp's `-acodec copy`: the last codec wins.
                    args.push("--postprocessor-args".into());
                    args.push(format!("ExtractAudio:-c:a {encoder} -b:a {kbps}k").into());
                }
            }
        }
        if let Some(clip) = plan.clip.filter(|c| c.cut == ClipCut::Sections) {
            args.push("--download-sections".into());
            args.push(section_arg(clip.range).into());
        }
        if let Some(subs) = &plan.subtitles {
            args.push("--write-subs".into());
            if subs.automatic {
                args.push("--write-auto-subs".into());
            }
            args.push("--sub-langs".into());
            args.push(sub_langs_arg(&subs.langs).into());
            // The asked format first (nothing to convert), then what
            // `--convert-subs` turns into it; TTML only yt-dlp reads.
            let (first, other) = match subs.format {
                SubtitleFormat::Srt => ("srt", "vtt"),
                SubtitleFormat::Vtt => ("vtt", "srt"),
            };
            args.push("--sub-format".into());
            args.push(format!("{first}/{other}/ass/ssa/ttml/best").into());
            args.push("--convert-subs".into());
            args.push(subs.format.as_str().into());
            // A clip's subtitles are shifted first, then embedded (`finish`).
            if subs.mode.embeds() && plan.clip.is_none() {
                args.push("--embed-subs".into());
            }
        }
        if plan.tags {
            args.push("--embed-metadata".into());
            // A section keeps the whole video's chapter times: a clip's
            // chapters are shifted and embedded in `finish`.
            if plan.clip.is_none() {
                args.push("--embed-chapters".into());
            }
            // The cover goes into audio files only: in a video file it is
            // a second video stream, which players and editors take for
            // the picture (or refuse).
            if plan.extract_audio.is_some() {
                args.push("--embed-thumbnail".into());
                args.push("--convert-thumbnails".into());
                args.push("jpg".into());
            }
        }
        if let Some(limit) = self.max_filesize() {
            args.push("--max-filesize".into());
            args.push(limit.to_string().into());
        }
        // The ffmpeg yt-dlp starts for streams it does not fetch itself
        // (SAMPLE-AES and live HLS, rtmp …) may open only these protocols.
        // Left to itself, ffmpeg follows a playlist to `httpproxy://`,
        // `rtmp://`, `tcp://` … as readily as to http, and those connect
        // directly, never through the egress proxy.
        // `-loglevel warning` undoes the `-loglevel quiet` that yt-dlp's quiet
        // mode (`--print`) gives it: the proxy's refusals (which ffmpeg logs
        // as warnings) and the whitelist's are the error people read.
        args.push("--downloader-args".into());
        args.push(format!("ffmpeg_i:-loglevel warning -protocol_whitelist {FFMPEG_PROTOCOLS}").into());
        args.extend(self.extra_args().iter().cloned());
        args.push("--load-info-json".into());
        args.push(dir.join(INFO_JSON).into());
        args
    }
}

/// A bare program name (`ffmpeg`) looked up in `PATH`; anything with a
/// directory part, or a name not found, is returned as it is.
pub fn resolve_program(program: &Path) -> PathBuf {
    let mut parts = program.components();
    let bare = matches!((parts.next(), parts.next()), (Some(std::path::Component::Normal(_)), None));
    if !bare {
        return program.to_owned();
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| program.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(
        id: &str,
        ext: &str,
        vcodec: Option<&str>,
        acodec: Option<&str>,
        height: Option<u32>,
        tbr: Option<f64>,
    ) -> Format {
        Format {
            format_id: Some(id.into()),
            ext: Some(ext.into()),
            vcodec: vcodec.map(Into::into),
            acodec: acodec.map(Into::into),
            height,
            width: height.map(|h| h * 16 / 9),
            tbr,
            ..Format::default()
        }
    }

    fn split_info() -> InfoJson {
        InfoJson {
            duration: Some(20.0),
            formats: Some(vec![
                fmt("aud", "mp4", Some("none"), None, None, None),
                fmt("360", "mp4", Some("avc1.42c01e"), Some("none"), Some(360), Some(400.0)),
                fmt("720", "mp4", Some("avc1.42c01f"), Some("none"), Some(720), Some(1200.0)),
            ]),
            ..InfoJson::default()
        }
    }

    #[test]
    fn offered_height_starts_with_the_exact_formats() {
        let p = plan(&split_info(), QualityId::P720, AudioFormat::M4a);
        assert_eq!(p.format, "720+aud/bv*[height<=?720]+ba/b[height<=?720]/bv*+ba/b");
        assert_eq!(p.merge_output_format, Some("mp4"));
        assert_eq!(p.extract_audio, None);
        // 1200 kbit/s × 20 s, and 128 kbit/s assumed for the audio.
        assert_eq!(p.stage_sizes, vec![Some(3_000_000), Some(320_000)]);
    }

    #[test]
    fn missing_height_takes_the_best_below() {
        let p = plan(&split_info(), QualityId::P2160, AudioFormat::M4a);
        assert_eq!(p.format, "bv*[height<=?2160]+ba/b[height<=?2160]/bv*+ba/b");
        assert_eq!(p.stage_sizes.len(), 2);
        let p = plan(&split_info(), QualityId::P480, AudioFormat::M4a);
        assert_eq!(p.format, "bv*[height<=?480]+ba/b[height<=?480]/bv*+ba/b");
        assert_eq!(p.stage_sizes, vec![Some(1_000_000), Some(320_000)]);
    }

    #[test]
    fn auto_and_audio() {
        let p = plan(&split_info(), QualityId::Auto, AudioFormat::M4a);
        assert_eq!(p.format, "bv*+ba/b");
        assert_eq!(p.merge_output_format, Some("mp4"));
        let p = plan(&split_info(), QualityId::Audio, AudioFormat::Mp3);
        assert_eq!(p.format, "aud/ba/b");
        assert_eq!(p.extract_audio, Some(AudioFormat::Mp3));
        assert_eq!(p.merge_output_format, None);
        assert_eq!(p.stage_sizes, vec![Some(320_000)]);
    }

    #[test]
    fn webm_codecs_leave_the_container_to_yt_dlp() {
        let info = InfoJson {
            formats: Some(vec![
                fmt("251", "webm", Some("none"), Some("opus"), None, Some(130.0)),
                fmt("248", "webm", Some("vp9"), Some("none"), Some(1080), Some(2500.0)),
            ]),
            ..InfoJson::default()
        };
        let p = plan(&info, QualityId::P1080, AudioFormat::M4a);
        assert!(p.format.starts_with("248+251/"), "{}", p.format);
        assert_eq!(p.merge_output_format, Some("mp4/mkv"));
        // No duration: sizes unknown.
        assert_eq!(p.stage_sizes, vec![None, None]);
    }

    #[test]
    fn no_formats_at_all() {
        let p = plan(&InfoJson::default(), QualityId::P720, AudioFormat::M4a);
        assert_eq!(p.format, "bv*[height<=?720]+ba/b[height<=?720]/bv*+ba/b");
        assert_eq!(p.merge_output_format, Some("mp4/mkv"));
        assert_eq!(p.stage_sizes, vec![None]);
        let p = plan(&InfoJson::default(), QualityId::Audio, AudioFormat::M4a);
        assert_eq!(p.format, "ba/b");
    }

    #[test]
    fn bare_program_names_are_found_in_path() {
        let sh = resolve_program(Path::new("sh"));
        assert!(sh.is_absolute() && sh.is_file(), "{}", sh.display());
        assert_eq!(resolve_program(Path::new("/opt/x/ffmpeg")), PathBuf::from("/opt/x/ffmpeg"));
        assert_eq!(resolve_program(Path::new("./ffmpeg")), PathBuf::from("./ffmpeg"));
        assert_eq!(resolve_program(Path::new("no-such-program-kachay")), PathBuf::from("no-such-program-kachay"));
    }

    /// A probe like the fixture's `/watch/main` (split HLS at 20 s, AAC
    /// audio at 128 kbit/s) with an English and a Russian track, the
    /// Russian one automatic; `url` is the scheme and host of the formats.
    fn probe_with(url: &str, extra: &str) -> Probe {
        let raw = format!(
            r#"{{"title":"T","duration":20,"formats":[
                {{"format_id":"aud","ext":"mp4","protocol":"m3u8_native","url":"{url}/a.m3u8","vcodec":"none","acodec":"mp4a.40.2","abr":128{extra}}},
                {{"format_id":"720","ext":"mp4","protocol":"m3u8_native","url":"{url}/v.m3u8","vcodec":"avc1.42c01f","acodec":"none","height":720,"width":1280,"tbr":1200}}],
              "subtitles":{{"en":[{{"ext":"vtt","url":"{url}/en.vtt"}}]}},
              "automatic_captions":{{"ru":[{{"ext":"vtt","url":"{url}/ru.vtt"}}],"en":[{{"ext":"vtt","url":"{url}/en-auto.vtt"}}]}}}}"#
        );
        let info: InfoJson = serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{e}"));
        Probe { info, raw: raw.into() }
    }

    fn args_for(y: &YtDlp, p: &DownloadPlan) -> Vec<String> {
        y.download_args(Path::new("/tmp/job"), Path::new("/usr/bin/ffmpeg"), p)
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    fn has(args: &[String], seq: &[&str]) -> bool {
        args.windows(seq.len()).any(|w| w.iter().zip(seq).all(|(a, b)| a == b))
    }

    fn planned(options: DownloadOptions, quality: QualityId) -> (DownloadPlan, Vec<String>) {
        let p = plan_for(&probe_with("http://site", ""), quality, &options, false).unwrap_or_else(|e| panic!("{e}"));
        let args = args_for(&YtDlp::new("yt-dlp"), &p);
        (p, args)
    }

    fn untagged() -> DownloadOptions {
        DownloadOptions { tags: false, ..DownloadOptions::default() }
    }

    #[test]
    fn audio_formats_and_bitrates() {
        for f in AudioFormat::ALL {
            let (_, args) = planned(DownloadOptions { audio_format: f, ..untagged() }, QualityId::Audio);
            assert!(has(&args, &["-x", "--audio-format", f.as_str()]), "{args:?}");
            assert!(!args.iter().any(|a| a == "--audio-quality"), "no bitrate, no quality: {args:?}");
        }
        // MP3 from AAC is encoded anyway: the quality is the bitrate.
        let mp3 = DownloadOptions { audio_format: AudioFormat::Mp3, audio_bitrate: Some(128), ..untagged() };
        let (_, args) = planned(mp3, QualityId::Audio);
        assert!(has(&args, &["--audio-quality", "128K"]), "{args:?}");
        assert!(!args.iter().any(|a| a == "--postprocessor-args"), "{args:?}");
        // AAC at 128 asked as m4a at 96: yt-dlp would copy it.
        let m4a = DownloadOptions { audio_format: AudioFormat::M4a, audio_bitrate: Some(96), ..untagged() };
        let (p, args) = planned(m4a, QualityId::Audio);
        assert_eq!(p.audio_encoder, Some("aac"));
        assert!(has(&args, &["--postprocessor-args", "ExtractAudio:-c:a aac -b:a 96k"]), "{args:?}");
        // … but at 128 copying is the better file.
        let m4a = DownloadOptions { audio_format: AudioFormat::M4a, audio_bitrate: Some(128), ..untagged() };
        assert_eq!(planned(m4a, QualityId::Audio).0.audio_encoder, None);
        // FLAC is lossless: a bitrate means nothing.
        let flac = DownloadOptions { audio_format: AudioFormat::Flac, audio_bitrate: Some(320), ..untagged() };
        let (p, args) = planned(flac, QualityId::Audio);
        assert_eq!(p.audio_kbps, None);
        assert!(!args.iter().any(|a| a == "--audio-quality"), "{args:?}");
        // Video ignores the audio options.
        let (_, args) = planned(DownloadOptions { audio_bitrate: Some(128), ..untagged() }, QualityId::P720);
        assert!(!args.iter().any(|a| a == "-x" || a == "--audio-quality"), "{args:?}");
    }

    #[test]
    fn a_clip_is_a_download_section_when_ffmpeg_can_fetch_it() {
        let clip = Some(ClipRange { start_ms: 4000, end_ms: 8500 });
        let (p, args) = planned(DownloadOptions { clip, ..untagged() }, QualityId::P720);
        assert_eq!(p.clip.map(|c| c.cut), Some(ClipCut::Sections));
        assert!(has(&args, &["--download-sections", "*4-8.5"]), "{args:?}");
        assert!(!args.iter().any(|a| a == "--force-keyframes-at-cuts"), "{args:?}");
        // The whitelist stays, without httpproxy.
        let at = args.iter().position(|a| a == "--downloader-args").map(|i| i + 1);
        let whitelist = at.and_then(|i| args.get(i)).cloned().unwrap_or_default();
        assert!(whitelist.contains("-protocol_whitelist http,https,tls,tcp,crypto,data"), "{whitelist}");
        assert!(!whitelist.contains("httpproxy"), "{whitelist}");
        // One ffmpeg fetches both formats: one stage, 4.5 s of 20.
        assert_eq!(p.stage_sizes, vec![Some(((3_000_000.0 + 320_000.0) * 4.5 / 20.0_f64).round() as u64)]);
        assert_eq!(section_arg(ClipRange { start_ms: 1, end_ms: 61_250 }), "*0.001-61.25");
        assert_eq!(section_arg(ClipRange { start_ms: 3_600_000, end_ms: 3_600_120 }), "*3600-3600.12");
    }

    #[test]
    fn a_clip_ffmpeg_cannot_fetch_is_cut_after_the_download() {
        let options = DownloadOptions { clip: Some(ClipRange { start_ms: 4000, end_ms: 8000 }), ..untagged() };
        let cut = |probe: &Probe, proxied: bool| {
            let p = plan_for(probe, QualityId::P720, &options, proxied).unwrap_or_else(|e| panic!("{e}"));
            let sections = args_for(&YtDlp::new("yt-dlp"), &p).iter().any(|a| a == "--download-sections");
            assert_eq!(sections, p.clip.map(|c| c.cut) == Some(ClipCut::Sections));
            p.clip.map(|c| c.cut)
        };
        let https = probe_with("https://site", "");
        assert_eq!(cut(&https, false), Some(ClipCut::Sections));
        // Behind the egress proxy ffmpeg would need `httpproxy` for https.
        assert_eq!(cut(&https, true), Some(ClipCut::AfterDownload));
        assert_eq!(cut(&probe_with("http://site", ""), true), Some(ClipCut::Sections));
        // ffmpeg cannot impersonate a browser.
        assert_eq!(cut(&probe_with("http://site", r#","impersonate":true"#), false), Some(ClipCut::AfterDownload));
        assert_eq!(cut(&probe_with("http://site", r#","impersonate":false"#), false), Some(ClipCut::Sections));
        // The whole download: sizes as planned without a clip.
        let p = plan_for(&https, QualityId::P720, &options, true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.stage_sizes, vec![Some(3_000_000), Some(320_000)]);
    }

    #[test]
    fn the_proxy_is_read_from_the_extra_arguments() {
        let with = |args: &[&str]| YtDlp::new("yt-dlp").with_extra_args(args.iter().map(OsString::from).collect());
        assert!(with(&["--proxy", "http://127.0.0.1:3128"]).proxied());
        assert!(with(&["--proxy=http://127.0.0.1:3128"]).proxied());
        assert!(!with(&["--proxy", ""]).proxied());
        assert!(!with(&[]).proxied());
    }

    #[test]
    fn subtitles_per_mode() {
        let subs = |mode, format, clip| DownloadOptions {
            subtitles: vec!["en".into()],
            subtitle_mode: mode,
            subtitle_format: format,
            clip,
            ..untagged()
        };
        let (p, args) = planned(subs(SubtitleMode::Embed, SubtitleFormat::Srt, None), QualityId::P720);
        assert!(has(&args, &["--write-subs", "--sub-langs", "(?-i:en)"]), "{args:?}");
        assert!(has(&args, &["--sub-format", "srt/vtt/ass/ssa/ttml/best", "--convert-subs", "srt", "--embed-subs"]));
        assert!(!args.iter().any(|a| a == "--write-auto-subs"), "en has a track of its own: {args:?}");
        // A subtitle stage before the video's and the audio's.
        assert_eq!(p.stage_sizes, vec![Some(SUBTITLE_STAGE_BYTES), Some(3_000_000), Some(320_000)]);
        let (_, args) = planned(subs(SubtitleMode::Files, SubtitleFormat::Vtt, None), QualityId::P720);
        assert!(has(&args, &["--convert-subs", "vtt"]) && !args.iter().any(|a| a == "--embed-subs"), "{args:?}");
        let (_, args) = planned(subs(SubtitleMode::Both, SubtitleFormat::Srt, None), QualityId::P720);
        assert!(args.iter().any(|a| a == "--embed-subs"), "{args:?}");
        // A clip's subtitles are shifted before they are embedded.
        let clip = Some(ClipRange { start_ms: 1000, end_ms: 3000 });
        let (_, args) = planned(subs(SubtitleMode::Embed, SubtitleFormat::Srt, clip), QualityId::P720);
        assert!(args.iter().any(|a| a == "--write-subs") && !args.iter().any(|a| a == "--embed-subs"), "{args:?}");
        // ru is only automatic.
        let both = DownloadOptions { subtitles: vec!["en".into(), "ru".into(), "en".into()], ..untagged() };
        let (p, args) = planned(both, QualityId::P720);
        assert!(has(&args, &["--write-subs", "--write-auto-subs", "--sub-langs", "(?-i:en),(?-i:ru)"]), "{args:?}");
        assert_eq!(p.subtitles.map(|s| s.langs), Some(vec!["en".to_owned(), "ru".to_owned()]));
    }

    #[test]
    fn a_language_the_video_does_not_list_is_refused() {
        let options = DownloadOptions { subtitles: vec!["de".into()], ..untagged() };
        let err = plan_for(&probe_with("http://site", ""), QualityId::P720, &options, false).err();
        assert!(err.is_some_and(|e| e.to_string().contains("no subtitles in \"de\"")));
    }

    #[test]
    fn hostile_languages_never_reach_yt_dlp_as_options_or_patterns() {
        let langs = ["-o/etc/x", "en,.*", "all", "-all", ".*", "en|ru", "a b", "x\\y", "zh-Hans", "pt_BR", "日本語"];
        let arg = sub_langs_arg(&langs.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>());
        let items: Vec<&str> = arg.split(',').collect();
        assert_eq!(items.len(), langs.len(), "one item per language: {arg}");
        for (item, lang) in items.iter().zip(langs) {
            // A group yt-dlp reads neither as "exclude", nor as "all".
            assert!(item.starts_with("(?-i:") && item.ends_with(')'), "{item}");
            let inner = &item[5..item.len() - 1];
            // Nothing but literals: letters, digits, `_`, `-`, non-ASCII,
            // and `\xHH` escapes.
            let mut chars = inner.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    assert_eq!(chars.next(), Some('x'), "{item}");
                    let hex: String = chars.by_ref().take(2).collect();
                    assert!(u8::from_str_radix(&hex, 16).is_ok(), "{item}");
                } else {
                    assert!(c.is_ascii_alphanumeric() || c == '_' || c == '-' || !c.is_ascii(), "{c:?} in {item}");
                }
            }
            assert_eq!(unescape(inner), lang);
        }
        assert_eq!(items[0], "(?-i:-o\\x2fetc\\x2fx)");
        assert_eq!(items[1], "(?-i:en\\x2c\\x2e\\x2a)");
        assert_eq!(items[8], "(?-i:zh-Hans)");

        // And a language that cannot be a file name is refused outright,
        // even when the (hostile) site lists it.
        for lang in ["../../etc/x", "a/b", ".hidden", "a\u{0}b", "a\nb", "", &"x".repeat(33)] {
            let options = DownloadOptions { subtitles: vec![lang.to_owned()], ..untagged() };
            let json = serde_json::json!({"subtitles": {lang: [{"ext": "vtt", "url": "http://site/x.vtt"}]}});
            let probe = Probe { info: InfoJson::default(), raw: json.to_string().into() };
            let err = plan_for(&probe, QualityId::Auto, &options, false).err();
            assert!(err.is_some_and(|e| e.to_string().contains("cannot be downloaded")), "{lang:?}");
        }
        // The CLI form of an option is never a separate argument.
        let options = DownloadOptions { subtitles: vec!["-o/etc/x".into()], ..untagged() };
        let json = serde_json::json!({"subtitles": {"-o/etc/x": [{"ext": "vtt", "url": "http://site/x.vtt"}]}});
        let probe = Probe { info: InfoJson::default(), raw: json.to_string().into() };
        let err = plan_for(&probe, QualityId::Auto, &options, false).err();
        assert!(err.is_some(), "a slash is refused before yt-dlp runs");
    }

    fn unescape(inner: &str) -> String {
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                chars.next();
                let hex: String = chars.by_ref().take(2).collect();
                out.push(char::from(u8::from_str_radix(&hex, 16).unwrap_or(b'?')));
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn tags_on_and_off() {
        let (_, args) = planned(DownloadOptions::default(), QualityId::P720);
        assert!(has(&args, &["--embed-metadata", "--embed-chapters"]), "{args:?}");
        assert!(!args.iter().any(|a| a == "--embed-thumbnail"), "no cover in a video: {args:?}");
        let (_, args) = planned(DownloadOptions::default(), QualityId::Audio);
        assert!(has(
            &args,
            &["--embed-metadata", "--embed-chapters", "--embed-thumbnail", "--convert-thumbnails", "jpg"]
        ));
        let clip = Some(ClipRange { start_ms: 0, end_ms: 4000 });
        let (_, args) = planned(DownloadOptions { clip, ..DownloadOptions::default() }, QualityId::P720);
        assert!(args.iter().any(|a| a == "--embed-metadata") && !args.iter().any(|a| a == "--embed-chapters"));
        for q in [QualityId::P720, QualityId::Audio] {
            let (_, args) = planned(untagged(), q);
            assert!(!args.iter().any(|a| a.starts_with("--embed") || a == "--convert-thumbnails"), "{args:?}");
        }
    }

    #[test]
    fn seconds_keep_up_to_three_decimals() {
        assert_eq!(seconds(0), "0");
        assert_eq!(seconds(4000), "4");
        assert_eq!(seconds(4500), "4.5");
        assert_eq!(seconds(4050), "4.05");
        assert_eq!(seconds(4005), "4.005");
    }

    #[test]
    fn percent_in_the_directory_is_escaped() {
        let y = YtDlp::new("yt-dlp");
        let p = plan(&InfoJson::default(), QualityId::Auto, AudioFormat::M4a);
        let args = y.download_args(Path::new("/tmp/100%(title)s"), Path::new("/usr/bin/ffmpeg"), &p);
        let at = args.iter().position(|a| a == "-o").map(|i| i + 1);
        assert_eq!(
            at.and_then(|i| args.get(i)).map(|a| a.to_string_lossy().into_owned()),
            Some("/tmp/100%%(title)s/media.%(ext)s".to_owned())
        );
        assert!(!args.iter().any(|a| a == "http://127.0.0.1/x"), "no URL with a probe file");
    }
}
