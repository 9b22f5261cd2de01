//! The yt-dlp options that keep YouTube working: a JavaScript runtime, PO-token
//! provider plugins and extractor arguments.
//!
//! Everything here is a pure function from settings to arguments, so the
//! server and the CLI build the same command lines and the rules are unit
//! tested. yt-dlp is never started through a shell, so shell metacharacters
//! are harmless; what is refused is what yt-dlp would misread: control
//! characters, entries that are not `KEY:ARGS`, and the same argument given
//! two different values.
//!
//! yt-dlp keeps only the *last* `--extractor-args` of each extractor key, so
//! [`ExtractorArgs`] merges everything for one key into a single flag.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::download::resolve_program;

/// The JavaScript runtimes yt-dlp 2026 knows, in its order of preference.
pub const JS_RUNTIMES: &[&str] = &["deno", "node", "quickjs", "bun"];

/// A setting yt-dlp would misread.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// A control character (newline inside an entry, NUL, escape, …).
    #[error("{what} contains a control character")]
    ControlCharacter { what: &'static str },
    /// An entry without the `KEY:ARGS` shape.
    #[error("{entry:?} is not KEY:ARGS (for example youtube:player_client=web)")]
    NotKeyArgs { entry: String },
    /// An extractor key with characters yt-dlp does not accept.
    #[error("{key:?} is not an extractor key (letters, digits, '_' and '-' only)")]
    BadKey { key: String },
    /// `KEY:` with nothing after it, or an empty `;;` part.
    #[error("{entry:?} has an empty argument")]
    EmptyArg { entry: String },
    /// An argument name with characters yt-dlp does not accept.
    #[error("{name:?} (in {key}) is not an argument name (letters, digits, '_' and '-' only)")]
    BadArgName { key: String, name: String },
    /// The same argument of one extractor given two different values.
    #[error("{key}:{name} is given twice, as {first:?} and as {second:?}")]
    Conflict { key: String, name: String, first: String, second: String },
    /// A PO-token provider URL that is not a plain `http(s)://host[:port][/path]`.
    #[error("{url:?} is not a provider address like http://127.0.0.1:4416 ({why})")]
    BadProviderUrl { url: String, why: &'static str },
    /// A `JS_RUNTIME` that names no runtime yt-dlp knows.
    #[error("{name:?} is not a JavaScript runtime yt-dlp knows (deno, node, quickjs, bun)")]
    UnknownRuntime { name: String },
    /// A path that does not exist (a JS runtime, a plugin directory).
    #[error("{what} {} does not exist", .path.display())]
    Missing { what: &'static str, path: PathBuf },
}

/// A JavaScript runtime for yt-dlp (`--js-runtimes NAME:PATH`). YouTube's
/// player needs one to solve its challenges; without it most formats vanish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsRuntime {
    /// `deno`, `node`, `quickjs` or `bun`.
    pub name: String,
    /// The program.
    pub path: PathBuf,
}

impl JsRuntime {
    /// Reads a `JS_RUNTIME` setting: `NAME:PATH` (`node:/usr/bin/node`), or
    /// just a path, the runtime named after the file (`deno`, `node`, `bun`,
    /// `qjs`/`quickjs`; anything else counts as deno).
    pub fn parse(setting: &str) -> Result<JsRuntime, OptionsError> {
        let setting = setting.trim();
        if setting.chars().any(char::is_control) {
            return Err(OptionsError::ControlCharacter { what: "JS_RUNTIME" });
        }
        if let Some((name, path)) = setting.split_once(':') {
            // `C:` style prefixes do not occur on the systems Kachay runs on;
            // a prefix without a slash is a runtime name.
            if !name.contains('/') {
                let name = name.to_ascii_lowercase();
                if !JS_RUNTIMES.contains(&name.as_str()) {
                    return Err(OptionsError::UnknownRuntime { name });
                }
                return Ok(JsRuntime { name, path: PathBuf::from(path) });
            }
        }
        let path = PathBuf::from(setting);
        let stem = path.file_stem().map(|s| s.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        let name = match stem.as_str() {
            "node" | "nodejs" => "node",
            "bun" => "bun",
            "qjs" | "quickjs" => "quickjs",
            _ => "deno",
        };
        Ok(JsRuntime { name: name.to_owned(), path })
    }

    /// The value of `--js-runtimes`: `deno:/path/to/deno`.
    pub fn arg(&self) -> OsString {
        let mut arg = OsString::from(format!("{}:", self.name));
        arg.push(self.path.as_os_str());
        arg
    }
}

/// Finds deno for a yt-dlp: next to it first (the project's `.venv/bin/deno`
/// beside `.venv/bin/yt-dlp`), then on `PATH`. The path is made absolute.
pub fn find_js_runtime(ytdlp_program: &Path) -> Option<JsRuntime> {
    let beside = resolve_program(ytdlp_program)
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join("deno"))
        .filter(|p| p.is_file());
    let on_path = || Some(resolve_program(Path::new("deno"))).filter(|p| p.is_file());
    let path = beside.or_else(on_path)?;
    let path = std::path::absolute(&path).unwrap_or(path);
    Some(JsRuntime { name: "deno".to_owned(), path })
}

/// One argument of an extractor: `name=value`, or a bare `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Arg {
    name: String,
    value: Option<String>,
}

/// Extractor arguments grouped by extractor key, each key once.
///
/// Keys and argument names are normalised the way yt-dlp reads them (lower
/// case, `-` in names becomes `_`); values are kept as written, including
/// yt-dlp's own `,` lists and `\,` escapes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractorArgs {
    keys: Vec<(String, Vec<Arg>)>,
}

impl ExtractorArgs {
    /// No arguments.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a `YTDLP_EXTRACTOR_ARGS` setting: entries `KEY:NAME=VALUE[;NAME=VALUE…]`
    /// separated by spaces or newlines (so values cannot contain spaces), for
    /// example `youtube:player_client=default,mweb youtubepot-bgutilhttp:base_url=http://pot:4416`.
    /// Entries of the same key are merged.
    pub fn parse(text: &str) -> Result<ExtractorArgs, OptionsError> {
        if text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            return Err(OptionsError::ControlCharacter { what: "YTDLP_EXTRACTOR_ARGS" });
        }
        let mut args = ExtractorArgs::new();
        for entry in text.split_whitespace() {
            args.add_entry(entry)?;
        }
        Ok(args)
    }

    /// Adds one `KEY:ARGS` entry.
    pub fn add_entry(&mut self, entry: &str) -> Result<(), OptionsError> {
        if entry.chars().any(char::is_control) {
            return Err(OptionsError::ControlCharacter { what: "an extractor argument" });
        }
        let Some((key, args)) = entry.split_once(':') else {
            return Err(OptionsError::NotKeyArgs { entry: entry.to_owned() });
        };
        if key.is_empty() {
            return Err(OptionsError::NotKeyArgs { entry: entry.to_owned() });
        }
        if !is_word(key) {
            return Err(OptionsError::BadKey { key: key.to_owned() });
        }
        if args.trim().is_empty() {
            return Err(OptionsError::EmptyArg { entry: entry.to_owned() });
        }
        for part in args.split(';') {
            let (name, value) = match part.split_once('=') {
                Some((name, value)) => (name.trim(), Some(value.trim())),
                None => (part.trim(), None),
            };
            if name.is_empty() {
                return Err(OptionsError::EmptyArg { entry: entry.to_owned() });
            }
            if !is_word(name) {
                return Err(OptionsError::BadArgName { key: key.to_ascii_lowercase(), name: name.to_owned() });
            }
            self.insert(key, name, value)?;
        }
        Ok(())
    }

    /// Sets `key:name=value`; the same value twice is fine, another value is
    /// a [`OptionsError::Conflict`].
    pub fn set(&mut self, key: &str, name: &str, value: &str) -> Result<(), OptionsError> {
        if !is_word(key) {
            return Err(OptionsError::BadKey { key: key.to_owned() });
        }
        if !is_word(name) {
            return Err(OptionsError::BadArgName { key: key.to_ascii_lowercase(), name: name.to_owned() });
        }
        self.insert(key, name, Some(value))
    }

    /// Adds everything of `other`, with the same conflict rule as [`set`](Self::set).
    pub fn merge(&mut self, other: &ExtractorArgs) -> Result<(), OptionsError> {
        for (key, args) in &other.keys {
            for arg in args {
                self.insert(key, &arg.name, arg.value.as_deref())?;
            }
        }
        Ok(())
    }

    fn insert(&mut self, key: &str, name: &str, value: Option<&str>) -> Result<(), OptionsError> {
        let key = key.to_ascii_lowercase();
        let name = name.to_ascii_lowercase().replace('-', "_");
        let at = match self.keys.iter().position(|(k, _)| *k == key) {
            Some(at) => at,
            None => {
                self.keys.push((key.clone(), Vec::new()));
                self.keys.len() - 1
            }
        };
        let args = &mut self.keys[at].1;
        let value = value.map(str::to_owned);
        match args.iter().find(|a| a.name == name) {
            Some(existing) if existing.value == value => Ok(()),
            Some(existing) => Err(OptionsError::Conflict {
                key,
                name,
                first: existing.value.clone().unwrap_or_default(),
                second: value.unwrap_or_default(),
            }),
            None => {
                args.push(Arg { name, value });
                Ok(())
            }
        }
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The value of `key:name`, if set (a bare name gives `""`).
    pub fn get(&self, key: &str, name: &str) -> Option<&str> {
        let key = key.to_ascii_lowercase();
        let name = name.to_ascii_lowercase().replace('-', "_");
        self.keys
            .iter()
            .find(|(k, _)| *k == key)?
            .1
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_deref().unwrap_or(""))
    }

    /// One `KEY:ARGS` string per key, in the order keys were first seen.
    pub fn entries(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|(key, args)| {
                let args: Vec<String> = args
                    .iter()
                    .map(|a| match &a.value {
                        Some(v) => format!("{}={v}", a.name),
                        None => a.name.clone(),
                    })
                    .collect();
                format!("{key}:{}", args.join(";"))
            })
            .collect()
    }

    /// `--extractor-args KEY:ARGS` once per key.
    pub fn to_args(&self) -> Vec<OsString> {
        self.entries()
            .into_iter()
            .flat_map(|entry| [OsString::from("--extractor-args"), OsString::from(entry)])
            .collect()
    }
}

impl fmt::Display for ExtractorArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.entries().join(" "))
    }
}

/// ASCII letters, digits, `_` and `-`, at least one.
fn is_word(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Checks a bgutil HTTP server address (`POT_PROVIDER_URL`) and returns it
/// without a trailing `/` (the minter's `/ping` and `/get_pot` are appended).
pub fn provider_base_url(url: &str) -> Result<String, OptionsError> {
    let bad = |why| OptionsError::BadProviderUrl { url: url.to_owned(), why };
    let trimmed = url.trim();
    if trimmed.chars().any(char::is_control) {
        return Err(OptionsError::ControlCharacter { what: "POT_PROVIDER_URL" });
    }
    let lower = trimmed.to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &trimmed[7..]
    } else if lower.starts_with("https://") {
        &trimmed[8..]
    } else {
        return Err(bad("it must start with http:// or https://"));
    };
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err(bad("it has no host"));
    }
    if trimmed.contains(char::is_whitespace) {
        return Err(bad("it contains a space"));
    }
    // `,` and `;` separate values and arguments in --extractor-args.
    if trimmed.contains([',', ';']) {
        return Err(bad("it contains ',' or ';'"));
    }
    if trimmed.contains(['?', '#']) {
        return Err(bad("it has a query or fragment"));
    }
    Ok(trimmed.trim_end_matches('/').to_owned())
}

/// Everything Kachay adds to each yt-dlp run for YouTube.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct YtDlpOptions {
    /// `--js-runtimes NAME:PATH`.
    pub js_runtime: Option<JsRuntime>,
    /// Kachay's PO-token plugin settings, a whole extractor-argument entry
    /// (`youtubepot-kachay:url=…;key=…;mint=1`, from the server's token service).
    pub pot_service: Option<String>,
    /// `--plugin-dirs` each (after `--plugin-dirs default`, so plugins
    /// installed next to yt-dlp keep loading).
    pub plugin_dirs: Vec<PathBuf>,
    /// Further extractor arguments.
    pub extractor_args: ExtractorArgs,
}

impl YtDlpOptions {
    /// The merged extractor arguments: the token service's first, then the
    /// user's; the same argument with two values is an error.
    pub fn merged_extractor_args(&self) -> Result<ExtractorArgs, OptionsError> {
        let mut merged = ExtractorArgs::new();
        if let Some(entry) = &self.pot_service {
            merged.add_entry(entry)?;
        }
        merged.merge(&self.extractor_args)?;
        Ok(merged)
    }

    /// The arguments, ready for [`YtDlp::with_extra_args`](crate::YtDlp::with_extra_args).
    pub fn to_args(&self) -> Result<Vec<OsString>, OptionsError> {
        let mut args = Vec::new();
        if let Some(runtime) = &self.js_runtime {
            args.push(OsString::from("--js-runtimes"));
            args.push(runtime.arg());
        }
        if !self.plugin_dirs.is_empty() {
            args.push("--plugin-dirs".into());
            args.push("default".into());
            for dir in &self.plugin_dirs {
                args.push("--plugin-dirs".into());
                args.push(dir.as_os_str().to_owned());
            }
        }
        args.extend(self.merged_extractor_args()?.to_args());
        Ok(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[OsString]) -> Vec<String> {
        args.iter().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn one_flag_per_extractor_key() {
        let args = ExtractorArgs::parse("youtube:player_client=web\nyoutube:pot_trace=true   generic:impersonate")
            .expect("valid");
        assert_eq!(
            strings(&args.to_args()),
            ["--extractor-args", "youtube:player_client=web;pot_trace=true", "--extractor-args", "generic:impersonate",]
        );
    }

    #[test]
    fn a_users_youtube_arg_stays_alone() {
        let options = YtDlpOptions {
            extractor_args: ExtractorArgs::parse("youtube:player_client=web").expect("valid"),
            ..YtDlpOptions::default()
        };
        assert_eq!(strings(&options.to_args().expect("valid")), ["--extractor-args", "youtube:player_client=web"]);
    }

    #[test]
    fn the_service_entry_merges_with_the_same_key() {
        let options = YtDlpOptions {
            pot_service: Some("youtubepot-kachay:url=http://127.0.0.1:4000;mint=1".into()),
            extractor_args: ExtractorArgs::parse("youtubepot-kachay:extra=1 youtube:player_client=default,mweb")
                .expect("valid"),
            ..YtDlpOptions::default()
        };
        assert_eq!(
            strings(&options.to_args().expect("valid")),
            [
                "--extractor-args",
                "youtubepot-kachay:url=http://127.0.0.1:4000;mint=1;extra=1",
                "--extractor-args",
                "youtube:player_client=default,mweb",
            ]
        );
    }

    #[test]
    fn two_values_for_one_argument_are_refused() {
        let options = YtDlpOptions {
            pot_service: Some("youtubepot-kachay:url=http://127.0.0.1:4000".into()),
            extractor_args: ExtractorArgs::parse("youtubepot-kachay:url=http://other:1").expect("valid on its own"),
            ..YtDlpOptions::default()
        };
        let err = options.to_args().expect_err("conflict");
        assert!(matches!(err, OptionsError::Conflict { .. }), "{err}");
        assert!(err.to_string().contains("url"), "{err}");
        // The same value twice is no conflict.
        assert!(ExtractorArgs::parse("youtube:a=1 youtube:a=1").is_ok());
        assert!(ExtractorArgs::parse("youtube:a=1 youtube:a=2").is_err());
    }

    #[test]
    fn keys_and_names_are_read_like_yt_dlp_reads_them() {
        let args = ExtractorArgs::parse("YouTube:Player-Client=web youtube:player_client=web")
            .expect("same after normalising");
        assert_eq!(args.entries(), ["youtube:player_client=web"]);
        assert_eq!(args.get("youtube", "player-client"), Some("web"));
    }

    #[test]
    fn malformed_entries_are_refused() {
        type Check = fn(&OptionsError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("player_client=web", |e| matches!(e, OptionsError::NotKeyArgs { .. })),
            (":a=1", |e| matches!(e, OptionsError::NotKeyArgs { .. })),
            ("you/tube:a=1", |e| matches!(e, OptionsError::BadKey { .. })),
            ("youtube:", |e| matches!(e, OptionsError::EmptyArg { .. })),
            ("youtube:a=1;;b=2", |e| matches!(e, OptionsError::EmptyArg { .. })),
            ("youtube:a b=1", |e| matches!(e, OptionsError::NotKeyArgs { .. })),
            ("youtube:$(rm)=1", |e| matches!(e, OptionsError::BadArgName { .. })),
            ("youtube:a=\u{1b}[31m", |e| matches!(e, OptionsError::ControlCharacter { .. })),
            ("youtube:a=\0", |e| matches!(e, OptionsError::ControlCharacter { .. })),
        ];
        for (text, expected) in cases {
            let err = ExtractorArgs::parse(text).expect_err(text);
            assert!(expected(&err), "{text:?} gave {err:?}");
        }
        assert!(ExtractorArgs::parse("").expect("empty is fine").is_empty());
        // Values are yt-dlp's business: lists, escapes and `=` pass unchanged.
        let args = ExtractorArgs::parse(r"youtube:po_token=web.gvs+AB\,C=;skip=dash,hls").expect("valid");
        assert_eq!(args.entries(), [r"youtube:po_token=web.gvs+AB\,C=;skip=dash,hls"]);
    }

    #[test]
    fn provider_urls() {
        assert_eq!(
            provider_base_url(" https://pot.example:4416/base/ ").as_deref(),
            Ok("https://pot.example:4416/base")
        );
        for bad in [
            "127.0.0.1:4416",
            "ftp://x",
            "http://",
            "http://:80",
            "http://a b",
            "http://a,b",
            "http://a;b",
            "http://a/?x=1",
            "http://a\nb",
        ] {
            assert!(provider_base_url(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn js_runtime_settings() {
        assert_eq!(
            JsRuntime::parse("/opt/deno/bin/deno"),
            Ok(JsRuntime { name: "deno".into(), path: "/opt/deno/bin/deno".into() })
        );
        assert_eq!(JsRuntime::parse("/usr/bin/node").map(|r| r.name), Ok("node".into()));
        assert_eq!(JsRuntime::parse("bun:/x/y").map(|r| (r.name, r.path)), Ok(("bun".into(), "/x/y".into())));
        assert!(matches!(JsRuntime::parse("perl:/usr/bin/perl"), Err(OptionsError::UnknownRuntime { .. })));
        let arg = JsRuntime::parse("/a/deno").map(|r| r.arg());
        assert_eq!(arg, Ok(OsString::from("deno:/a/deno")));
    }

    #[test]
    fn all_options_in_order() {
        let options = YtDlpOptions {
            js_runtime: Some(JsRuntime { name: "deno".into(), path: "/v/bin/deno".into() }),
            pot_service: Some("youtubepot-kachay:url=http://127.0.0.1:4000;mint=0".into()),
            plugin_dirs: vec!["/srv/plugins".into()],
            extractor_args: ExtractorArgs::new(),
        };
        assert_eq!(
            strings(&options.to_args().expect("valid")),
            [
                "--js-runtimes",
                "deno:/v/bin/deno",
                "--plugin-dirs",
                "default",
                "--plugin-dirs",
                "/srv/plugins",
                "--extractor-args",
                "youtubepot-kachay:url=http://127.0.0.1:4000;mint=0",
            ]
        );
        assert!(YtDlpOptions::default().to_args().expect("valid").is_empty());
    }

    #[test]
    fn deno_is_found_beside_yt_dlp() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ytdlp = dir.path().join("yt-dlp");
        std::fs::write(&ytdlp, "").expect("write");
        assert_ne!(
            find_js_runtime(&ytdlp).map(|r| r.path.parent().map(Path::to_owned)),
            Some(Some(dir.path().to_owned())),
            "no deno there yet"
        );
        std::fs::write(dir.path().join("deno"), "").expect("write");
        assert_eq!(find_js_runtime(&ytdlp), Some(JsRuntime { name: "deno".into(), path: dir.path().join("deno") }));
    }
}
