//! After yt-dlp: the finished file found and checked, what the download
//! options leave to do (a clip's subtitles and chapters shifted, a clip
//! yt-dlp could not cut itself cut, subtitle files bundled), a failed run
//! put into words, and the partial files removed.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use contract::clip::ClipRange;

use super::plan::{seconds, ClipCut, ClipPlan, DownloadPlan, SubtitlePlan};
use super::{DownloadedFile, SubtitleFormat, INFO_JSON, MEDIA_STEM};
use crate::error::{classify, EngineError, FailureKind};
use crate::package::Sidecar;
use crate::ytdlp::Probe;

/// Extensions of the files yt-dlp writes beside the media: subtitles,
/// thumbnails, descriptions. Never the finished file.
const SIDECAR_EXTS: [&str; 17] = [
    "srt", "vtt", "ass", "ssa", "ttml", "dfxp", "srv1", "srv2", "srv3", "json3", "lrc", "jpg", "jpeg", "png", "webp",
    "txt", "json",
];
/// Containers yt-dlp (and so this) embeds subtitles in, and the codec they
/// take there.
const SUBTITLE_CODECS: [(&str, &str); 7] = [
    ("mp4", "mov_text"),
    ("m4v", "mov_text"),
    ("mov", "mov_text"),
    ("m4a", "mov_text"),
    ("mkv", "copy"),
    ("mka", "copy"),
    ("webm", "webvtt"),
];

/// The error a failed yt-dlp run (its exit `status` and the tail of its
/// stderr) comes to.
pub(super) fn exit_failure(dir: &Path, status: ExitStatus, stderr_text: &str) -> EngineError {
    if let Some(protocol) = refused_protocol(stderr_text) {
        tracing::info!(dir = %dir.display(), protocol, "ffmpeg was refused a protocol");
        // As the native engine's refusals are: the server words them.
        return EngineError::Fetch { kind: crate::error::FailureKind::Other, message: protocol_refusal(protocol) };
    }
    // The ffmpeg yt-dlp started prints the egress proxy's refusal on
    // a line of its own, and yt-dlp ends with "ffmpeg exited with
    // code 8": the refusal is what people need to read.
    if let Some(refusal) =
        stderr_text.lines().find_map(|line| line.find(crate::native::REFUSAL_PREFIX).map(|at| &line[at..]))
    {
        tracing::debug!(dir = %dir.display(), %status, refusal, "download refused by the egress guard");
        return EngineError::Fetch { kind: crate::error::FailureKind::Other, message: refusal.to_owned() };
    }
    let (kind, message) = classify(stderr_text);
    // yt-dlp's last word on its ffmpeg says only the exit code.
    let message = if message.starts_with("ffmpeg exited with code") {
        "ffmpeg could not read this stream (a part of it is broken, or is somewhere this \
         server does not fetch from)"
            .to_owned()
    } else {
        message
    };
    let message = if stderr_text.trim().is_empty() { format!("yt-dlp exited with {status}") } else { message };
    tracing::debug!(dir = %dir.display(), %status, %message, "download failed");
    EngineError::YtDlp { kind, message }
}

/// The finished file of a successful run: the one yt-dlp `reported`,
/// checked to be in `dir`, or without a report the single `media.*` left.
pub(super) fn located(dir: &Path, reported: Option<PathBuf>) -> Result<PathBuf, EngineError> {
    let found = match reported {
        Some(reported) => match finished_file_in(dir, &reported) {
            Ok(path) => Some(path),
            Err(why) => {
                tracing::warn!(dir = %dir.display(), reported = %reported.display(), %why,
                    "yt-dlp reported a finished file outside the job's directory");
                return Err(EngineError::YtDlp {
                    kind: crate::error::FailureKind::Other,
                    message: "yt-dlp reported a finished file that is not in the download's own folder".to_owned(),
                });
            }
        },
        None => find_media(dir),
    };
    found.ok_or_else(|| EngineError::YtDlp {
        kind: crate::error::FailureKind::Other,
        message: "yt-dlp finished without leaving a file".to_owned(),
    })
}

/// Removes `info.json`, the cookies copy and every `media.*` from `dir` (not the directory).
pub(crate) fn remove_partials(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == INFO_JSON || name == crate::cookies::JOB_COPY_NAME || name.starts_with(&format!("{MEDIA_STEM}.")) {
            if let Err(e) = std::fs::remove_file(entry.path()) {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(file = %entry.path().display(), error = %e, "could not remove");
                }
            }
        }
    }
}

/// The finished file yt-dlp reported, checked: once every symlink and `..`
/// is resolved it must be a regular file directly inside `dir` (which is
/// absolute). Anything else is refused with the reason, for the log.
pub fn finished_file_in(dir: &Path, reported: &Path) -> Result<PathBuf, String> {
    let dir = dir.canonicalize().map_err(|e| format!("the job directory cannot be resolved: {e}"))?;
    let path = reported.canonicalize().map_err(|e| format!("the file cannot be resolved: {e}"))?;
    if path.parent() != Some(dir.as_path()) {
        return Err("it is not directly inside the job directory".to_owned());
    }
    let meta = std::fs::symlink_metadata(&path).map_err(|e| format!("cannot be read: {e}"))?;
    if !meta.file_type().is_file() {
        return Err("it is not a regular file".to_owned());
    }
    Ok(path)
}

/// The protocol ffmpeg says it was not allowed to open
/// (`Protocol 'httpproxy' not on whitelist 'http,tcp,crypto,data'!`).
fn refused_protocol(stderr: &str) -> Option<&str> {
    let line = stderr.lines().find(|l| l.contains("not on whitelist"))?;
    let rest = &line[line.find("Protocol '")? + "Protocol '".len()..];
    let name = &rest[..rest.find('\'')?];
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(name)
}

/// The sentence for a stream ffmpeg was not allowed to open, marked as an
/// egress refusal (so the server answers `destination_refused`).
fn protocol_refusal(protocol: &str) -> String {
    let prefix = crate::native::REFUSAL_PREFIX;
    if protocol == "httpproxy" || protocol == "https" || protocol == "tls" {
        format!(
            "{prefix}: This server does not download this stream: only ffmpeg could fetch it, and \
             ffmpeg may not open https or proxy tunnels of its own here (a playlist could point \
             them anywhere)."
        )
    } else {
        format!("{prefix}: This server only downloads http and https links, not {protocol}: links.")
    }
}

/// The single finished `media.*` in `dir`, ignoring leftovers of the run
/// and the subtitle and thumbnail files beside it.
fn find_media(dir: &Path) -> Option<PathBuf> {
    let mut found = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.starts_with(&format!("{MEDIA_STEM}."))
                && !name.ends_with(".part")
                && !name.ends_with(".ytdl")
                && !name.contains(".part-Frag")
                && !name.contains(".temp.")
                && !is_sidecar(&name)
                // Not through a symlink: only what yt-dlp wrote here.
                && std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_file())
        })
        .collect::<Vec<_>>();
    if found.len() == 1 {
        found.pop()
    } else {
        None
    }
}

/// Whether `name` (a `media.*` file) is a subtitle, thumbnail or other
/// file yt-dlp writes beside the media.
pub(super) fn is_sidecar(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(_, ext)| SIDECAR_EXTS.iter().any(|s| ext.eq_ignore_ascii_case(s)))
}

/// Removes every `media.*` in `dir` but `keep`: subtitle files that went
/// into the video, a thumbnail yt-dlp left.
pub(super) fn remove_leftovers(dir: &Path, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = entry.file_name().to_string_lossy().starts_with(&format!("{MEDIA_STEM}."));
        if ours && path != keep {
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::debug!(file = %path.display(), error = %e, "could not remove a leftover");
            }
        }
    }
}

/// What the download options leave to do once yt-dlp is done.
pub(super) struct Finishing<'a> {
    pub dir: &'a Path,
    pub ffmpeg: &'a Path,
    pub plan: &'a DownloadPlan,
    pub probe: &'a Probe,
}

impl Finishing<'_> {
    /// Whether there is more than removing leftovers to do (worth a
    /// progress step).
    pub(super) fn has_work(&self) -> bool {
        let files = self.plan.subtitles.as_ref().is_some_and(|s| s.mode.writes_files());
        self.plan.clip.is_some() && (self.plan.subtitles.is_some() || self.plan.tags) || files || self.cuts()
    }

    fn cuts(&self) -> bool {
        self.plan.clip.is_some_and(|c| c.cut == ClipCut::AfterDownload)
    }

    /// From yt-dlp's finished `media` to the job's finished file: a clip's
    /// subtitle files shifted to it, the clip cut or remuxed with them and
    /// its chapters, subtitle files bundled into a ZIP; then every other
    /// `media.*` removed.
    pub(super) async fn run(&self, media: PathBuf) -> Result<DownloadedFile, EngineError> {
        let subtitles = match &self.plan.subtitles {
            Some(subs) => self.subtitle_files(subs)?,
            None => Vec::new(),
        };
        let mut media = media;
        if let (Some(clip), Some(subs)) = (self.plan.clip, &self.plan.subtitles) {
            for (_, path) in &subtitles {
                shift_file(path, subs.format, clip.range).await?;
            }
        }
        if let Some(clip) = self.plan.clip {
            media = self.remux_clip(media, clip, &subtitles).await?;
        }
        let size = tokio::fs::metadata(&media).await?.len();
        let ext = media.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        let mut file = DownloadedFile { path: media, size, ext };
        if let Some(subs) = self.plan.subtitles.as_ref().filter(|s| s.mode.writes_files()) {
            let sidecars = subtitles
                .into_iter()
                .map(|(lang, path)| Sidecar { path, suffix: format!(".{lang}.{}", subs.format.as_str()) })
                .collect();
            let title = self.probe.info.title.as_deref().unwrap_or_default();
            let stem = crate::package::inner_stem(title, self.plan.clip.map(|c| c.range));
            file = crate::package::bundle(self.dir, file, sidecars, &stem).await?;
        }
        let (dir, keep) = (self.dir.to_owned(), file.path.clone());
        tokio::task::spawn_blocking(move || remove_leftovers(&dir, &keep))
            .await
            .map_err(|e| EngineError::Io(io::Error::other(e.to_string())))?;
        Ok(file)
    }

    /// The file yt-dlp left for each language (`media.{lang}.{format}`).
    /// One missing fails the download, as the native engine's would: the
    /// language was offered and chosen.
    fn subtitle_files(&self, subs: &SubtitlePlan) -> Result<Vec<(String, PathBuf)>, EngineError> {
        subs.langs
            .iter()
            .map(|lang| {
                let path = self.dir.join(subs.file_name(lang));
                let present = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file());
                if present {
                    Ok((lang.clone(), path))
                } else {
                    tracing::info!(lang, "yt-dlp left no subtitle file for a chosen language");
                    Err(EngineError::YtDlp {
                        kind: FailureKind::Other,
                        message: format!(
                            "The subtitles in {lang:?} could not be saved as {}.",
                            subs.format.as_str().to_ascii_uppercase()
                        ),
                    })
                }
            })
            .collect()
    }

    /// One local ffmpeg run over a clip: cut from the whole file (when
    /// yt-dlp downloaded it whole), the shifted subtitles embedded (when
    /// asked and the container takes them), the chapters shifted into it
    /// (with tags). Everything stream-copied; `media` is replaced. Nothing
    /// to do returns `media` as it is.
    async fn remux_clip(
        &self,
        media: PathBuf,
        clip: ClipPlan,
        subtitles: &[(String, PathBuf)],
    ) -> Result<PathBuf, EngineError> {
        let ext = media.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        let embed = self.plan.subtitles.as_ref().is_some_and(|s| s.mode.embeds());
        let codec = SUBTITLE_CODECS.iter().find(|(e, _)| *e == ext).map(|(_, c)| *c);
        let subtitles: &[(String, PathBuf)] = match codec {
            Some(_) if embed => subtitles,
            _ => {
                if embed && !subtitles.is_empty() {
                    tracing::info!(ext, "subtitles not embedded: the container does not take them");
                }
                &[]
            }
        };
        let chapters = match self.plan.tags {
            true => {
                let tags = crate::info::extras::tags(&self.probe.raw);
                let range = (clip.range.start_ms as f64 / 1000.0, clip.range.end_ms as f64 / 1000.0);
                crate::native::extras::chapters_file(&tags, Some(range))
            }
            false => None,
        };
        if !self.cuts() && subtitles.is_empty() && chapters.is_none() {
            return Ok(media);
        }
        let mut args: Vec<OsString> = Vec::new();
        let input = |args: &mut Vec<OsString>, path: &Path| {
            // Local files only: nothing in them may send ffmpeg elsewhere.
            args.extend(["-protocol_whitelist", "file", "-i"].map(OsString::from));
            args.push(path.into());
        };
        if self.cuts() {
            args.extend(["-ss".into(), seconds(clip.range.start_ms).into()]);
            args.extend(["-t".into(), seconds(clip.range.len_ms()).into()]);
        }
        input(&mut args, &media);
        for (_, path) in subtitles {
            input(&mut args, path);
        }
        let chapters_path = self.dir.join(format!("{MEDIA_STEM}.chapters.txt"));
        if let Some(text) = &chapters {
            tokio::fs::write(&chapters_path, text).await?;
            input(&mut args, &chapters_path);
        }
        // Ogg cannot carry the cover: the sound and its tags only.
        let maps: &[&str] = if matches!(ext.as_str(), "opus" | "ogg" | "oga") { &["0:a"] } else { &["0:v?", "0:a?"] };
        for map in maps {
            args.extend(["-map".into(), OsString::from(map)]);
        }
        for i in 0..subtitles.len() {
            args.extend(["-map".into(), format!("{}:s", i + 1).into()]);
        }
        args.extend(["-c".into(), "copy".into()]);
        if self.cuts() && ext == "flac" {
            // A copied FLAC keeps the whole file's length in its header,
            // which players show; encoding it again is lossless and cheap.
            args.extend(["-c:a".into(), "flac".into()]);
        }
        if let Some(codec) = codec.filter(|_| !subtitles.is_empty()) {
            args.extend(["-c:s".into(), codec.into()]);
        }
        for (i, (lang, _)) in subtitles.iter().enumerate() {
            let code = crate::native::extras::iso639_2(lang).unwrap_or(lang.as_str());
            args.extend([format!("-metadata:s:s:{i}").into(), format!("language={code}").into()]);
        }
        args.extend(["-map_metadata".into(), "0".into(), "-map_chapters".into()]);
        args.push(if chapters.is_some() { (subtitles.len() + 1).to_string() } else { "-1".to_owned() }.into());
        if matches!(ext.as_str(), "mp4" | "m4v" | "mov" | "m4a") {
            args.extend(["-movflags".into(), "+faststart".into()]);
        }
        let temp = self.dir.join(format!("{MEDIA_STEM}.temp.{ext}"));
        args.push(temp.clone().into());
        let ran = run_ffmpeg(self.ffmpeg, args).await;
        let _ = tokio::fs::remove_file(&chapters_path).await;
        ran?;
        tokio::fs::rename(&temp, &media).await?;
        Ok(media)
    }
}

/// Runs ffmpeg (local files only) with `args`.
async fn run_ffmpeg(ffmpeg: &Path, args: Vec<OsString>) -> Result<(), EngineError> {
    let failure = EngineError::YtDlp {
        kind: FailureKind::Other,
        message: "The clip could not be made from the downloaded video.".to_owned(),
    };
    crate::process::run_ffmpeg(ffmpeg, &args, failure).await
}

/// Shifts the subtitle file at `path` (SubRip or WebVTT, as yt-dlp
/// converted it) into `range`, in place.
async fn shift_file(path: &Path, format: SubtitleFormat, range: ClipRange) -> Result<(), EngineError> {
    let bytes = tokio::fs::read(path).await?;
    let shifted = shift_cues(&String::from_utf8_lossy(&bytes), format, range);
    tokio::fs::write(path, shifted).await?;
    Ok(())
}

/// The cues of a SubRip or WebVTT text moved `range.start_ms` earlier and
/// cut to the range: cues wholly outside go, cues across a bound are
/// clipped to it, SubRip cues are numbered again. WebVTT blocks without a
/// timing line (the header, `NOTE`, `STYLE`) stay.
fn shift_cues(text: &str, format: SubtitleFormat, range: ClipRange) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text).replace("\r\n", "\n").replace('\r', "\n");
    let start = i64::try_from(range.start_ms).unwrap_or(i64::MAX);
    let len = i64::try_from(range.len_ms()).unwrap_or(i64::MAX);
    let mut out = String::new();
    let mut number = 0;
    for block in text.split("\n\n").map(|b| b.trim_matches('\n')).filter(|b| !b.is_empty()) {
        let lines: Vec<&str> = block.lines().collect();
        let Some(at) = lines.iter().position(|l| l.contains("-->")) else {
            if format == SubtitleFormat::Vtt {
                out.push_str(block);
                out.push_str("\n\n");
            }
            continue;
        };
        let Some((from, to, settings)) = timing(lines[at]) else {
            continue;
        };
        let (from, to) = ((from - start).max(0), (to - start).min(len));
        if from >= to {
            continue;
        }
        number += 1;
        match format {
            SubtitleFormat::Srt => {
                out.push_str(&format!("{number}\n{} --> {}\n", timestamp(from, ','), timestamp(to, ',')));
            }
            SubtitleFormat::Vtt => {
                // A cue identifier stays with its cue.
                for line in &lines[..at] {
                    out.push_str(line);
                    out.push('\n');
                }
                let settings = if settings.is_empty() { String::new() } else { format!(" {settings}") };
                out.push_str(&format!("{} --> {}{settings}\n", timestamp(from, '.'), timestamp(to, '.')));
            }
        }
        for line in &lines[at + 1..] {
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// `00:00:01,000 --> 00:00:02,500 align:start` as milliseconds and the
/// WebVTT cue settings.
fn timing(line: &str) -> Option<(i64, i64, &str)> {
    let (from, rest) = line.split_once("-->")?;
    let rest = rest.trim_start();
    let (to, settings) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    Some((cue_ms(from.trim())?, cue_ms(to)?, settings.trim()))
}

/// `[HH:]MM:SS[.,]mmm` in milliseconds.
fn cue_ms(text: &str) -> Option<i64> {
    let (clock, frac) = match text.rfind(['.', ',']) {
        Some(at) => (&text[..at], &text[at + 1..]),
        None => (text, ""),
    };
    if !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let ms = format!("{frac:0<3}").get(..3)?.parse::<i64>().ok()?;
    let parts = clock.split(':').map(|p| p.trim().parse::<i64>().ok()).collect::<Option<Vec<_>>>()?;
    let (h, m, s) = match parts.as_slice() {
        [h, m, s] => (*h, *m, *s),
        [m, s] => (0, *m, *s),
        _ => return None,
    };
    // Ten million hours: far past any video, and far from overflowing.
    if !(0..10_000_000).contains(&h) || !(0..60).contains(&m) || !(0..60).contains(&s) {
        return None;
    }
    Some(((h * 60 + m) * 60 + s) * 1000 + ms)
}

/// Milliseconds as `HH:MM:SS,mmm` (`sep` `,` for SubRip, `.` for WebVTT).
fn timestamp(ms: i64, sep: char) -> String {
    let ms = ms.max(0);
    format!("{:02}:{:02}:{:02}{sep}{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::download::plan::plan;
    use crate::download::{AudioFormat, SubtitleMode};
    use crate::info::InfoJson;
    use crate::quality::QualityId;

    const SRT: &str = "1\r\n00:00:00,000 --> 00:00:02,000\r\nFirst\r\n\r\n2\r\n00:00:02,000 --> 00:00:04,000\r\nSecond\r\n\r\n\
                       3\r\n00:00:04,000 --> 00:00:06,000\r\nThird\r\nline two\r\n\r\n4\r\n00:00:06,000 --> 00:00:08,000\r\nFourth\r\n";

    #[test]
    fn subrip_cues_are_shifted_clipped_and_numbered_again() {
        let range = ClipRange { start_ms: 3000, end_ms: 6500 };
        let out = shift_cues(SRT, SubtitleFormat::Srt, range);
        assert_eq!(
            out,
            "1\n00:00:00,000 --> 00:00:01,000\nSecond\n\n2\n00:00:01,000 --> 00:00:03,000\nThird\nline two\n\n\
             3\n00:00:03,000 --> 00:00:03,500\nFourth\n\n"
        );
    }

    #[test]
    fn webvtt_keeps_its_header_identifiers_and_settings() {
        let vtt =
            "\u{feff}WEBVTT\nKind: captions\n\nNOTE a note\n\nc1\n00:01.000 --> 00:02.500 align:start line:0\nHi\n\n\
                   01:00:00.000 --> 01:00:01.000\nLate\n";
        let out = shift_cues(vtt, SubtitleFormat::Vtt, ClipRange { start_ms: 1500, end_ms: 10_000 });
        assert_eq!(
            out,
            "WEBVTT\nKind: captions\n\nNOTE a note\n\nc1\n00:00:00.000 --> 00:00:01.000 align:start line:0\nHi\n\n"
        );
    }

    #[test]
    fn cue_times_are_read_strictly() {
        assert_eq!(cue_ms("01:02:03,045"), Some(3_723_045));
        assert_eq!(cue_ms("02:03.5"), Some(123_500));
        assert_eq!(cue_ms("00:00:01.2345"), Some(1234));
        assert_eq!(cue_ms("00:61:00.000"), None);
        assert_eq!(cue_ms("99999999999999:00:00.000"), None);
        assert_eq!(cue_ms("a:b"), None);
        // An unreadable cue is dropped, not a failure.
        let broken = "1\n00:00:xx,000 --> 00:00:02,000\nBad\n\n2\n00:00:02,000 --> 00:00:03,000\nGood\n";
        let out = shift_cues(broken, SubtitleFormat::Srt, ClipRange { start_ms: 0, end_ms: 5000 });
        assert_eq!(out, "1\n00:00:02,000 --> 00:00:03,000\nGood\n\n");
    }

    #[test]
    fn subtitles_and_thumbnails_are_never_the_media() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        for name in ["media.en.srt", "media.ru.vtt", "media.jpg", "media.webp", "media.mp4", "media.f1.mp4.part"] {
            std::fs::write(dir.path().join(name), b"x").unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(find_media(dir.path()), Some(dir.path().join("media.mp4")));
        remove_leftovers(dir.path(), &dir.path().join("media.mp4"));
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["media.mp4"]);
    }

    fn ffmpeg(args: &[&str]) {
        let ok = std::process::Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y"])
            .args(args)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ffmpeg {args:?}");
    }

    fn ffprobe(path: &Path) -> serde_json::Value {
        let out = std::process::Command::new("ffprobe")
            .args(["-v", "error", "-show_streams", "-show_format", "-show_chapters", "-of", "json"])
            .arg(path)
            .output()
            .unwrap_or_else(|e| panic!("ffprobe: {e}"));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn a_whole_flac_is_cut_to_the_clip_length() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let media = dir.path().join("media.flac");
        let media_arg = media.to_string_lossy().into_owned();
        ffmpeg(&["-f", "lavfi", "-i", "sine", "-t", "10", "-c:a", "flac", &media_arg]);
        let mut p = plan(&InfoJson::default(), QualityId::Audio, AudioFormat::Flac);
        p.clip = Some(ClipPlan { range: ClipRange { start_ms: 3000, end_ms: 7000 }, cut: ClipCut::AfterDownload });
        let probe = Probe { info: InfoJson::default(), raw: "{}".into() };
        let finishing = Finishing { dir: dir.path(), ffmpeg: Path::new("ffmpeg"), plan: &p, probe: &probe };
        let file = finishing.run(media.clone()).await.unwrap_or_else(|e| panic!("{e}"));
        let duration: f64 =
            ffprobe(&file.path)["format"]["duration"].as_str().and_then(|d| d.parse().ok()).unwrap_or_default();
        assert!((duration - 4.0).abs() < 0.1, "{duration}");
    }

    /// The clip yt-dlp could not cut itself: cut here from the whole file,
    /// with the subtitles shifted and embedded and the chapters shifted.
    #[tokio::test]
    async fn a_whole_download_is_cut_with_its_subtitles_and_chapters() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let media = dir.path().join("media.mp4");
        let media_arg = media.to_string_lossy().into_owned();
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine",
            "-t",
            "10",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
            "-c:a",
            "aac",
            &media_arg,
        ]);
        std::fs::write(dir.path().join("media.en.srt"), SRT).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("media.jpg"), b"left by yt-dlp").unwrap_or_else(|e| panic!("{e}"));
        let mut p = plan(&InfoJson::default(), QualityId::Auto, AudioFormat::M4a);
        p.clip = Some(ClipPlan { range: ClipRange { start_ms: 3000, end_ms: 7000 }, cut: ClipCut::AfterDownload });
        p.subtitles = Some(SubtitlePlan {
            langs: vec!["en".into()],
            automatic: false,
            mode: SubtitleMode::Embed,
            format: SubtitleFormat::Srt,
        });
        p.tags = true;
        let raw = r#"{"title":"T","duration":10,"chapters":[{"start_time":0,"end_time":5,"title":"One"},{"start_time":5,"end_time":10,"title":"Two"}]}"#;
        let info: InfoJson = serde_json::from_str(raw).unwrap_or_else(|e| panic!("{e}"));
        let probe = Probe { info, raw: raw.into() };
        let finishing = Finishing { dir: dir.path(), ffmpeg: Path::new("ffmpeg"), plan: &p, probe: &probe };
        assert!(finishing.has_work());
        let file = finishing.run(media.clone()).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((file.path.as_path(), file.ext.as_str()), (media.as_path(), "mp4"));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["media.mp4"], "the subtitle file, the thumbnail and the temp files are gone");
        let probed = ffprobe(&media);
        let duration: f64 = probed["format"]["duration"].as_str().and_then(|d| d.parse().ok()).unwrap_or_default();
        assert!((duration - 4.0).abs() < 0.2, "{duration}");
        let streams = probed["streams"].as_array().cloned().unwrap_or_default();
        let subs: Vec<_> = streams.iter().filter(|s| s["codec_type"] == "subtitle").collect();
        assert_eq!(subs.len(), 1, "{streams:?}");
        assert_eq!(
            (subs[0]["codec_name"].as_str(), subs[0]["tags"]["language"].as_str()),
            (Some("mov_text"), Some("eng"))
        );
        let chapters = probed["chapters"].as_array().cloned().unwrap_or_default();
        let titles: Vec<_> = chapters.iter().filter_map(|c| c["tags"]["title"].as_str()).collect();
        assert_eq!(titles, ["One", "Two"]);
        assert_eq!(chapters[1]["start_time"].as_str(), Some("2.000000"), "{chapters:?}");
    }
}
