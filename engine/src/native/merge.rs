//! What a fetched track holds ([`sniff`]), and how the simple cases turn
//! tracks into the finished file ([`recipe`], [`audio_codec`]): whether a
//! rename does (a progressive MP4, an fMP4 HLS stream that already is a
//! valid MP4) or which ffmpeg step it takes. [`super::assemble`] builds the
//! one ffmpeg run on these, with clips, subtitles and tags.

use std::path::{Path, PathBuf};

use super::source::Output;
use crate::download::AudioFormat;
use crate::progress::PostStep;

/// What a fetched track file holds, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// MPEG transport stream (HLS `.ts` segments).
    Ts,
    /// ISO BMFF: MP4, fragmented MP4, M4A.
    Mp4,
    /// Matroska or WebM.
    Matroska,
    /// Anything else (ADTS audio, MP3 …): ffmpeg will tell.
    Other,
}

/// Looks at the first bytes of a file.
pub async fn sniff(path: &Path) -> std::io::Result<Container> {
    use tokio::io::AsyncReadExt;
    let mut file = tokio::fs::File::open(path).await?;
    let mut head = [0u8; 376];
    let mut read = 0;
    while read < head.len() {
        let n = file.read(&mut head[read..]).await?;
        if n == 0 {
            break;
        }
        read += n;
    }
    Ok(classify(&head[..read]))
}

pub(crate) fn classify(head: &[u8]) -> Container {
    if head.len() >= 189 && head[0] == 0x47 && head[188] == 0x47 {
        return Container::Ts;
    }
    if head.len() >= 8 && matches!(&head[4..8], b"ftyp" | b"styp" | b"moof" | b"moov" | b"sidx") {
        return Container::Mp4;
    }
    if head.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        return Container::Matroska;
    }
    Container::Other
}

/// The step and ffmpeg arguments (after the inputs) that turn `tracks`
/// into `output`; `None` when a rename does.
pub fn recipe(
    tracks: &[(PathBuf, Container, Option<String>)],
    output: Output,
    bitrate: Option<u32>,
) -> Option<(PostStep, Vec<String>)> {
    let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    match output {
        Output::Audio(format) => {
            let mut a = args(&["-map", "0:a:0", "-vn"]);
            a.extend(audio_codec(format, bitrate, tracks.first().and_then(|t| t.2.as_deref())));
            Some((PostStep::ExtractAudio, a))
        }
        Output::Mp4 | Output::Mkv => {
            let muxer = if output == Output::Mp4 { "mp4" } else { "matroska" };
            if tracks.len() >= 2 {
                let mut a = args(&["-map", "0:v:0", "-map", "1:a:0", "-c", "copy"]);
                a.extend(args(&["-f", muxer]));
                return Some((PostStep::Merge, a));
            }
            let container = tracks.first().map(|t| t.1).unwrap_or(Container::Other);
            let renamable =
                matches!((output, container), (Output::Mp4, Container::Mp4) | (Output::Mkv, Container::Matroska));
            if renamable {
                return None;
            }
            let mut a = args(&["-map", "0:v:0?", "-map", "0:a:0?", "-c", "copy"]);
            a.extend(args(&["-f", muxer]));
            Some((PostStep::Fixup, a))
        }
    }
}

/// The codec and muxer arguments of an audio file: the source's stream
/// copied when it already is what is asked for and no bitrate is named,
/// else encoded (at `bitrate` kbit/s, or the encoder's good default).
pub fn audio_codec(format: AudioFormat, bitrate: Option<u32>, source_codec: Option<&str>) -> Vec<String> {
    let source = source_codec.map(str::to_ascii_lowercase).unwrap_or_default();
    let rate = |default: u32| format!("{}k", bitrate.unwrap_or(default));
    let list: Vec<String> = match format {
        AudioFormat::M4a if bitrate.is_none() && (source.starts_with("mp4a") || source == "aac") => {
            vec!["-c:a".into(), "copy".into()]
        }
        AudioFormat::M4a => vec!["-c:a".into(), "aac".into(), "-b:a".into(), rate(192)],
        // VBR quality 2 (~190 kbit/s) unless a constant rate is asked for.
        AudioFormat::Mp3 => match bitrate {
            Some(_) => vec!["-c:a".into(), "libmp3lame".into(), "-b:a".into(), rate(192)],
            None => vec!["-c:a".into(), "libmp3lame".into(), "-q:a".into(), "2".into()],
        },
        AudioFormat::Opus if bitrate.is_none() && source == "opus" => vec!["-c:a".into(), "copy".into()],
        AudioFormat::Opus => vec!["-c:a".into(), "libopus".into(), "-b:a".into(), rate(160)],
        AudioFormat::Flac => vec!["-c:a".into(), "flac".into()],
    };
    let muxer = match format {
        AudioFormat::M4a => "ipod",
        AudioFormat::Mp3 => "mp3",
        AudioFormat::Opus => "opus",
        AudioFormat::Flac => "flac",
    };
    let mut out = list;
    out.extend(["-f".to_owned(), muxer.to_owned()]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_are_told_apart_by_their_first_bytes() {
        let mut ts = vec![0u8; 376];
        ts[0] = 0x47;
        ts[188] = 0x47;
        assert_eq!(classify(&ts), Container::Ts);
        assert_eq!(classify(b"\0\0\0\x18ftypisom...."), Container::Mp4);
        assert_eq!(classify(&[0x1a, 0x45, 0xdf, 0xa3, 0]), Container::Matroska);
        assert_eq!(classify(b"ID3"), Container::Other);
        assert_eq!(classify(&[]), Container::Other);
    }

    #[test]
    fn recipes() {
        let t = |c| (PathBuf::from("x"), c, Some("mp4a.40.2".to_owned()));
        assert!(recipe(&[t(Container::Mp4)], Output::Mp4, None).is_none());
        assert_eq!(recipe(&[t(Container::Ts)], Output::Mp4, None).map(|r| r.0), Some(PostStep::Fixup));
        assert_eq!(
            recipe(&[t(Container::Mp4), t(Container::Mp4)], Output::Mp4, None).map(|r| r.0),
            Some(PostStep::Merge)
        );
        let (step, args) = recipe(&[t(Container::Ts)], Output::Audio(AudioFormat::M4a), None).expect("audio");
        assert_eq!(step, PostStep::ExtractAudio);
        assert!(args.windows(2).any(|w| w == ["-c:a", "copy"]));
        let opus = (PathBuf::from("x"), Container::Matroska, Some("opus".to_owned()));
        let (_, args) = recipe(&[opus], Output::Audio(AudioFormat::M4a), None).expect("audio");
        assert!(args.windows(2).any(|w| w == ["-c:a", "aac"]));
    }
}
