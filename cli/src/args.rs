//! The command line: every option, its help text, and the exit codes
//! scripts can rely on.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use contract::media::{SubtitleFormat, SubtitleMode, AUDIO_BITRATES};
use engine::{AudioFormat, QualityId};

/// Exit code: everything asked for succeeded.
pub const EXIT_OK: u8 = 0;
/// Exit code: at least one URL failed (others may have succeeded).
pub const EXIT_FAILED: u8 = 1;
/// Exit code: bad arguments, no URLs, or an unreadable batch file. Also what
/// clap uses for its own usage errors.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: interrupted by Ctrl-C or SIGTERM.
pub const EXIT_INTERRUPTED: u8 = 130;

const EXAMPLES: &str = "\
Examples:
  kachay https://www.youtube.com/watch?v=dQw4w9WgXcQ
      the best quality, saved in the current directory as '<title>.mp4'
  kachay -q 720 -o ~/Videos URL1 URL2
      two videos at 720p (or the best below it), into ~/Videos
  kachay -q audio --audio-format mp3 URL
      the sound only, as an MP3
  kachay --list-qualities URL
      show the title, length, views and qualities with sizes; download nothing
  kachay -b links.txt -j 3
      every link in links.txt (one per line, '#' starts a comment), 3 at a time
  grep -o 'https://[^ ]*' notes.md | kachay -b - --json
      links from standard input, progress as JSON lines on stdout

Output:
  People: a summary and a progress bar per download on stderr (plain lines
  when stderr is not a terminal). The path of every saved file goes to stdout,
  one per line, when stdout is not a terminal or with --quiet.
  --json: only JSON lines on stdout, one object per event:
  {\"event\":\"info\"|\"progress\"|\"done\"|\"error\", \"url\":..., ...}

Exit codes:
  0    every download succeeded (with --list-qualities: every URL was read)
  1    some URLs failed (the others were still downloaded)
  2    usage error: bad option or quality, no URLs, unreadable batch file
  130  interrupted (Ctrl-C or SIGTERM): downloads stopped, partial files
       removed. A second Ctrl-C quits at once.";

/// Download videos with yt-dlp and ffmpeg: pick a quality, watch the progress,
/// get a file named after the video's title.
#[derive(Debug, Parser)]
#[command(name = "kachay", version, about, after_help = EXAMPLES, args_override_self = true)]
pub struct Args {
    /// Video page URLs (http or https).
    #[arg(value_name = "URL")]
    pub urls: Vec<String>,

    /// Quality to download. A height the video lacks gives the best below it.
    #[arg(short, long, value_enum, default_value_t = Quality::Auto, value_name = "QUALITY")]
    pub quality: Quality,

    /// Format for `--quality audio`.
    #[arg(long, value_enum, default_value_t = Audio::M4a, value_name = "FORMAT")]
    pub audio_format: Audio,

    /// Bitrate of lossy audio, kbit/s: 96, 128, 160, 192, 256 or 320.
    /// Without it, AAC and Opus are copied when the source already is one,
    /// else encoded at a good default.
    #[arg(long, value_name = "KBPS", value_parser = parse_bitrate)]
    pub audio_bitrate: Option<u32>,

    /// Download only from this time: seconds (75) or [HH:]MM:SS[.mmm].
    /// Only the parts of the video that cover the range are fetched.
    #[arg(long, value_name = "TIME", value_parser = parse_clip_time)]
    pub start: Option<u64>,

    /// Download only up to this time (same forms as --start).
    #[arg(long, value_name = "TIME", value_parser = parse_clip_time)]
    pub end: Option<u64>,

    /// Subtitle languages, comma-separated (en,ru). --list-qualities shows
    /// a video's languages.
    #[arg(long, value_name = "LANG,…", value_delimiter = ',')]
    pub subs: Vec<String>,

    /// Where subtitles go: into the video, as files beside it (the download
    /// is then a ZIP), or both.
    #[arg(long, value_enum, default_value_t = SubsMode::Embed, value_name = "MODE")]
    pub subs_mode: SubsMode,

    /// The format of subtitle files.
    #[arg(long, value_enum, default_value_t = SubsFormat::Srt, value_name = "FORMAT")]
    pub subs_format: SubsFormat,

    /// Do not write the title, artist, date, description, chapters and
    /// cover art into the file.
    #[arg(long)]
    pub no_tags: bool,

    /// Directory to save into (created if missing).
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub output: PathBuf,

    /// Show each video's details and qualities, download nothing.
    #[arg(short = 'l', long)]
    pub list_qualities: bool,

    /// Read URLs from FILE, one per line ('-' = standard input). Blank lines
    /// and lines starting with '#' are skipped.
    #[arg(short, long, value_name = "FILE")]
    pub batch_file: Option<PathBuf>,

    /// Machine-readable output: JSON lines on stdout, nothing else.
    #[arg(long)]
    pub json: bool,

    /// Downloads to run at the same time (and links looked up at once).
    #[arg(short, long, default_value_t = 2, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=16))]
    pub jobs: u16,

    /// The yt-dlp program.
    #[arg(long = "yt-dlp", env = "YTDLP", default_value = "yt-dlp", value_name = "PATH")]
    pub ytdlp: PathBuf,

    /// The ffmpeg program yt-dlp uses to merge and convert.
    #[arg(long, env = "FFMPEG", default_value = "ffmpeg", value_name = "PATH")]
    pub ffmpeg: PathBuf,

    /// Who fetches the media: `native` (Kachay's concurrent engine; yt-dlp
    /// only reads the page) or `yt-dlp` (yt-dlp's own downloader).
    #[arg(long, value_enum, env = "KACHAY_ENGINE", default_value_t = EngineChoice::Native, value_name = "ENGINE")]
    pub engine: EngineChoice,

    /// Connections each native download starts with (it adds more while
    /// that makes it faster, up to four times this).
    #[arg(long, default_value_t = 8, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub connections: u16,

    /// No summaries or progress; only errors (on stderr) and saved paths
    /// (on stdout).
    #[arg(short = 'Q', long, conflicts_with = "json")]
    pub quiet: bool,
}

/// `--quality`: the engine's quality ids, as the user types them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Quality {
    /// 2160p (4K)
    #[value(name = "2160", alias = "2160p", alias = "4k")]
    P2160,
    /// 1440p
    #[value(name = "1440", alias = "1440p")]
    P1440,
    /// 1080p
    #[value(name = "1080", alias = "1080p")]
    P1080,
    /// 720p
    #[value(name = "720", alias = "720p")]
    P720,
    /// 480p
    #[value(name = "480", alias = "480p")]
    P480,
    /// 360p
    #[value(name = "360", alias = "360p")]
    P360,
    /// the best available
    #[value(name = "auto", alias = "best")]
    Auto,
    /// sound only (see --audio-format)
    #[value(name = "audio")]
    Audio,
}

impl From<Quality> for QualityId {
    fn from(q: Quality) -> QualityId {
        match q {
            Quality::P2160 => QualityId::P2160,
            Quality::P1440 => QualityId::P1440,
            Quality::P1080 => QualityId::P1080,
            Quality::P720 => QualityId::P720,
            Quality::P480 => QualityId::P480,
            Quality::P360 => QualityId::P360,
            Quality::Auto => QualityId::Auto,
            Quality::Audio => QualityId::Audio,
        }
    }
}

/// `--engine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    /// Kachay's engine: segments and byte ranges over several connections
    Native,
    /// yt-dlp's own downloader
    #[value(name = "yt-dlp", alias = "ytdlp")]
    YtDlp,
}

/// `--audio-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Audio {
    /// AAC in MP4 (copied when the source is AAC)
    M4a,
    /// MP3 (encoded)
    Mp3,
    /// Opus in Ogg (copied when the source is Opus)
    Opus,
    /// FLAC, lossless (no bitrate)
    Flac,
}

impl From<Audio> for AudioFormat {
    fn from(a: Audio) -> AudioFormat {
        match a {
            Audio::M4a => AudioFormat::M4a,
            Audio::Mp3 => AudioFormat::Mp3,
            Audio::Opus => AudioFormat::Opus,
            Audio::Flac => AudioFormat::Flac,
        }
    }
}

/// `--subs-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SubsMode {
    /// Into the video (MP4: mov_text; MKV: as they are)
    Embed,
    /// Beside the video as .srt/.vtt (one ZIP)
    Files,
    /// Both
    Both,
}

impl From<SubsMode> for SubtitleMode {
    fn from(m: SubsMode) -> SubtitleMode {
        match m {
            SubsMode::Embed => SubtitleMode::Embed,
            SubsMode::Files => SubtitleMode::Files,
            SubsMode::Both => SubtitleMode::Both,
        }
    }
}

/// `--subs-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SubsFormat {
    /// SubRip
    Srt,
    /// WebVTT
    Vtt,
}

impl From<SubsFormat> for SubtitleFormat {
    fn from(f: SubsFormat) -> SubtitleFormat {
        match f {
            SubsFormat::Srt => SubtitleFormat::Srt,
            SubsFormat::Vtt => SubtitleFormat::Vtt,
        }
    }
}

fn parse_bitrate(text: &str) -> Result<u32, String> {
    let digits = text.trim().trim_end_matches(['k', 'K']);
    match digits.parse::<u32>() {
        Ok(rate) if AUDIO_BITRATES.contains(&rate) => Ok(rate),
        _ => Err(format!("one of {AUDIO_BITRATES:?} kbit/s")),
    }
}

fn parse_clip_time(text: &str) -> Result<u64, String> {
    contract::clip::parse_time(text).map_err(|_| "seconds (75) or [HH:]MM:SS[.mmm] (1:15, 1:02:03.5)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_is_well_formed() {
        Args::command().debug_assert();
    }

    #[test]
    fn every_engine_quality_can_be_typed() {
        for id in QualityId::ALL {
            let q = Quality::from_str(id.as_str(), false);
            assert_eq!(q.map(QualityId::from), Ok(id));
        }
        assert_eq!(Quality::from_str("1080p", false), Ok(Quality::P1080));
        assert!(Quality::from_str("721", false).is_err());
    }

    #[test]
    fn defaults() {
        let args = Args::try_parse_from(["kachay", "http://x/"]).map_err(|e| e.to_string());
        let args = args.as_ref().map(|a| (a.quality, a.audio_format, a.jobs, a.output.clone()));
        assert_eq!(args, Ok((Quality::Auto, Audio::M4a, 2, PathBuf::from("."))));
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for argv in [
            &["kachay", "-q", "721", "http://x/"][..],
            &["kachay", "--jobs", "0", "http://x/"],
            &["kachay", "--audio-format", "ogg", "http://x/"],
            &["kachay", "--json", "--quiet", "http://x/"],
        ] {
            let err = Args::try_parse_from(argv).err().map(|e| e.exit_code());
            assert_eq!(err, Some(i32::from(EXIT_USAGE)), "{argv:?}");
        }
    }
}
