//! Planning a yt-dlp download: the format selector, the container and the
//! expected sizes a quality turns into, and the arguments yt-dlp gets.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{AudioFormat, FFMPEG_PROTOCOLS, INFO_JSON, MEDIA_STEM};
use crate::info::{Format, InfoJson};
use crate::progress::progress_args;
use crate::quality::{choices, QualityChoice, QualityId};
use crate::ytdlp::YtDlp;

/// Bitrate assumed for an audio-only format of unknown size (progress
/// weighting only), in kbit/s.
const ASSUMED_AUDIO_KBPS: f64 = 128.0;

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
    /// Expected size of each file yt-dlp will fetch (video, audio), for
    /// weighting the progress.
    pub stage_sizes: Vec<Option<u64>>,
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
