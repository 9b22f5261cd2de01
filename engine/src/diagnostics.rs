//! What the health page reports about the tools: yt-dlp's version and age,
//! the JavaScript runtime and PO-token providers it loads, ffmpeg, and the
//! free space of a directory.
//!
//! [`YtDlp::diagnose`] runs `yt-dlp -v` on a YouTube address through a proxy
//! address on 127.0.0.1 where nothing listens: yt-dlp starts its YouTube
//! extractor (which lists the PO-token providers it loaded) and then fails at
//! once, without a single packet leaving the machine.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::EngineError;
use crate::ytdlp::YtDlp;

/// A YouTube page used only to make yt-dlp start its YouTube extractor.
const PROBE_PAGE: &str = "https://www.youtube.com/watch?v=jNQXAC9IVRw";
/// How long a `--version` of ffmpeg or the JS runtime may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

/// A PO-token provider as yt-dlp lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PotProvider {
    /// E.g. `bgutil:http`.
    pub name: String,
    /// The plugin's version, e.g. `2.0.2` (none for built-in providers).
    pub version: Option<String>,
    /// From a plugin rather than yt-dlp itself.
    pub external: bool,
    /// yt-dlp says it can be used (for bgutil:http: its server answered
    /// recently or has not been asked yet).
    pub available: bool,
}

/// What `yt-dlp -v` says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerboseReport {
    /// `2026.10.26`.
    pub version: Option<String>,
    /// `stable`, `nightly`, `master`.
    pub channel: Option<String>,
    /// JavaScript runtimes yt-dlp found, e.g. `["deno-2.9.8"]`; empty when none.
    pub js_runtimes: Vec<String>,
    /// PO-token providers loaded; `None` when the line was missing (the
    /// YouTube extractor did not start).
    pub pot_providers: Option<Vec<PotProvider>>,
    /// PO-token cache providers loaded (`memory`, `kachay`, …); `None` when
    /// the line was missing.
    #[serde(default)]
    pub pot_cache_providers: Option<Vec<PotProvider>>,
    /// Plugin directories yt-dlp searched (`none` when empty).
    pub plugin_dirs: Vec<String>,
}

/// Reads the `[debug]` lines of `yt-dlp -v`.
pub fn parse_verbose(stderr: &str) -> VerboseReport {
    let mut report = VerboseReport::default();
    for line in stderr.lines() {
        let Some(rest) = line.trim().strip_prefix("[debug] ") else {
            continue;
        };
        if let Some(v) = rest.strip_prefix("yt-dlp version ") {
            // `stable@2026.10.26 from yt-dlp/yt-dlp [c91f8de0b] (pip)`
            let first = v.split_whitespace().next().unwrap_or_default();
            let (channel, version) = match first.split_once('@') {
                Some((c, v)) => (Some(c.to_owned()), v),
                None => (None, first),
            };
            report.channel = channel;
            report.version = Some(version.to_owned()).filter(|v| !v.is_empty());
        } else if let Some(v) = rest.strip_prefix("JS runtimes: ") {
            report.js_runtimes = if v.starts_with("none") { Vec::new() } else { split_top_level(v) };
        } else if let Some(v) = rest.strip_prefix("[youtube] [pot] PO Token Providers: ") {
            report.pot_providers = Some(if v.trim() == "none" {
                Vec::new()
            } else {
                split_top_level(v).iter().map(|p| parse_provider(p)).collect()
            });
        } else if let Some(v) = rest.strip_prefix("[youtube] [pot] PO Token Cache Providers: ") {
            report.pot_cache_providers = Some(if v.trim() == "none" {
                Vec::new()
            } else {
                split_top_level(v).iter().map(|p| parse_provider(p)).collect()
            });
        } else if let Some(v) = rest.strip_prefix("Plugin directories: ") {
            report.plugin_dirs =
                if v.starts_with("none") { Vec::new() } else { v.split(", ").map(str::to_owned).collect() };
        }
    }
    report
}

/// Splits `a (x, y), b` at the commas outside parentheses.
fn split_top_level(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(current.trim().to_owned());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_owned());
    }
    parts
}

/// `bgutil:script-node-2.0.2 (external, unavailable)`, `memory`.
fn parse_provider(text: &str) -> PotProvider {
    let (head, statuses) = match text.split_once(" (") {
        Some((head, rest)) => (head, rest.trim_end_matches(')')),
        None => (text, ""),
    };
    let statuses: Vec<&str> = statuses.split(',').map(str::trim).collect();
    let (name, version) = match head.rsplit_once('-') {
        Some((name, version)) if version.starts_with(|c: char| c.is_ascii_digit()) => {
            (name.to_owned(), Some(version.to_owned()))
        }
        _ => (head.to_owned(), None),
    };
    PotProvider {
        name,
        version,
        external: statuses.contains(&"external"),
        available: !statuses.contains(&"unavailable"),
    }
}

/// Days from 1970-01-01 to a date (proleptic Gregorian), for dates from
/// year 1 on.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The release date in a yt-dlp version (`2026.10.26`, nightly
/// `2026.10.26.232456`, `2026.10.26.1`), as days since the Unix epoch.
pub fn release_day(version: &str) -> Option<i64> {
    let mut parts = version.trim().split('.');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if !(2000..=9999).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Days since the Unix epoch, today (UTC).
pub fn today() -> i64 {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    i64::try_from(secs / 86_400).unwrap_or(i64::MAX)
}

/// How many days old a yt-dlp version is on `today`; never negative.
pub fn version_age_days(version: &str, today: i64) -> Option<u64> {
    let released = release_day(version)?;
    Some(u64::try_from(today - released).unwrap_or(0))
}

/// Free space for this user in the file system holding `path`, in bytes.
pub fn free_space(path: &Path) -> std::io::Result<u64> {
    let stat = nix::sys::statvfs::statvfs(path).map_err(std::io::Error::from)?;
    #[allow(clippy::useless_conversion)] // the field types differ between platforms
    let bytes = u64::from(stat.blocks_available()).saturating_mul(u64::from(stat.fragment_size()));
    Ok(bytes)
}

/// The first line `program args…` prints, or `None` if it cannot run, fails
/// or takes more than 10 s.
pub async fn first_line(program: &Path, args: &[&str]) -> Option<String> {
    let output = crate::process::command(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(VERSION_TIMEOUT, output).await.ok()?.ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8_lossy(&output.stdout).lines().next().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty())
}

/// ffmpeg's version (`5.1.9-0+deb12u1` from `ffmpeg version 5.1.9-0+deb12u1 Copyright …`).
pub async fn ffmpeg_version(ffmpeg: &Path) -> Option<String> {
    let line = first_line(ffmpeg, &["-hide_banner", "-version"]).await?;
    let rest = line.strip_prefix("ffmpeg version ")?;
    rest.split_whitespace().next().map(str::to_owned)
}

/// A JavaScript runtime's version: `2.9.8` from `deno 2.9.8 (stable, …)`,
/// `20.19.2` from node's `v20.19.2`.
pub async fn js_runtime_version(program: &Path) -> Option<String> {
    let line = first_line(program, &["--version"]).await?;
    let word = line.split_whitespace().find(|w| w.trim_start_matches('v').starts_with(|c: char| c.is_ascii_digit()))?;
    Some(word.trim_start_matches('v').to_owned())
}

impl YtDlp {
    /// Runs `yt-dlp -v` with this yt-dlp's extra arguments on a YouTube
    /// address, through a dead proxy on 127.0.0.1, and reads what it says
    /// about itself (see the module documentation). Takes about a second.
    pub async fn diagnose(&self) -> Result<VerboseReport, EngineError> {
        let dead_proxy = format!("http://127.0.0.1:{}", closed_port()?);
        let mut cmd = self.command();
        cmd.args(["-v", "--ignore-config", "--no-update", "--no-cache-dir"])
            .args(self.extra_args())
            // Last, so that it wins over any --proxy in the extra arguments.
            .args(["--proxy", &dead_proxy])
            .args(["--extractor-retries", "0", "--socket-timeout", "5"])
            .args(["--simulate", "--"])
            .arg(OsStr::new(PROBE_PAGE));
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
        let output = match tokio::time::timeout(self.probe_timeout(), cmd.output()).await {
            Err(_elapsed) => return Err(EngineError::Timeout(self.probe_timeout())),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(EngineError::YtDlpMissing(self.program().to_owned()))
            }
            Ok(Err(e)) => return Err(EngineError::Spawn(e)),
            Ok(Ok(output)) => output,
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        let report = parse_verbose(&stderr);
        if report.version.is_none() {
            // Not yt-dlp at all, or it failed before saying anything.
            let (kind, message) = crate::error::classify(&stderr);
            return Err(EngineError::YtDlp { kind, message });
        }
        Ok(report)
    }
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
fn closed_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    drop(listener);
    Ok(port)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from yt-dlp 2026.10.26 with bgutil-ytdlp-pot-provider 2.0.2.
    const VERBOSE: &str = "\
[debug] Command-line config: ['-v', '--ignore-config', '--no-update', '--proxy', 'http://127.0.0.1:9', '--simulate', '--', 'https://www.youtube.com/watch?v=aqz-KE-bpKQ']
[debug] Encodings: locale UTF-8, fs utf-8, pref UTF-8, out utf-8 (No ANSI), error utf-8 (No ANSI), screen utf-8 (No ANSI)
[debug] yt-dlp version stable@2026.10.26 from yt-dlp/yt-dlp [c91f8de0b] (pip)
[debug] Python 3.11.7 (CPython x86_64 64bit) - Linux-6.18.44-fc-v669-x86_64-with-glibc2.36 (OpenSSL 3.0.19 27 Jan 2026, glibc 2.36)
[debug] exe versions: ffmpeg 5.1.9-0 (setts), ffprobe 5.1.9-0
[debug] JS runtimes: deno-2.9.8
[debug] Proxy map: {'all': 'http://127.0.0.1:9'}
[debug] Plugin directories: /work/main/.venv/lib/python3.11/site-packages/yt_dlp_plugins
[debug] Loaded 1747 extractors
[debug] [youtube] [pot] PO Token Providers: bgutil:http-2.0.2 (external), bgutil:script-node-2.0.2 (external, unavailable), bgutil:script-deno-2.0.2 (external, unavailable)
[debug] [youtube] [pot] PO Token Cache Providers: memory
[debug] [youtube] [jsc] JS Challenge Providers: bun (unavailable), deno, node (unavailable), quickjs (unavailable)
ERROR: [youtube] aqz-KE-bpKQ: Unable to download API page: ('Unable to connect to proxy')
";

    #[test]
    fn reads_the_verbose_header() {
        let r = parse_verbose(VERBOSE);
        assert_eq!(r.version.as_deref(), Some("2026.10.26"));
        assert_eq!(r.channel.as_deref(), Some("stable"));
        assert_eq!(r.js_runtimes, ["deno-2.9.8"]);
        assert_eq!(r.plugin_dirs.len(), 1);
        let providers = r.pot_providers.expect("listed");
        assert_eq!(providers.len(), 3);
        assert_eq!(
            providers[0],
            PotProvider { name: "bgutil:http".into(), version: Some("2.0.2".into()), external: true, available: true }
        );
        assert_eq!(providers[1].name, "bgutil:script-node");
        assert!(!providers[1].available);
        let caches = r.pot_cache_providers.expect("listed");
        assert_eq!(caches, [PotProvider { name: "memory".into(), version: None, external: false, available: true }]);
    }

    #[test]
    fn reads_nothing_found() {
        let r = parse_verbose(
            "[debug] yt-dlp version 2025.01.15 [abc] (zip)\n[debug] JS runtimes: none\n\
             [debug] Plugin directories: none\n[debug] [youtube] [pot] PO Token Providers: none\n",
        );
        assert_eq!(r.version.as_deref(), Some("2025.01.15"));
        assert_eq!(r.channel, None);
        assert!(r.js_runtimes.is_empty());
        assert!(r.plugin_dirs.is_empty());
        assert_eq!(r.pot_providers, Some(Vec::new()));
        assert_eq!(parse_verbose("").pot_providers, None);
    }

    #[test]
    fn version_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(release_day("2000.01.01"), Some(10_957));
        assert_eq!(release_day("2026.10.26"), Some(20_752));
        assert_eq!(release_day("2026.10.26.232456"), Some(20_752));
        assert_eq!(release_day("2024.02.29"), Some(19_782));
        assert_eq!(release_day("2026.13.01"), None);
        assert_eq!(release_day("nightly"), None);
        assert_eq!(version_age_days("2026.10.26", 20_752 + 61), Some(61));
        assert_eq!(version_age_days("2026.10.26", 20_000), Some(0), "clock behind");
    }

    #[test]
    fn free_space_of_the_temp_dir() {
        let free = free_space(&std::env::temp_dir()).expect("statvfs");
        assert!(free > 0);
        assert!(free_space(Path::new("/no/such/dir")).is_err());
    }
}
