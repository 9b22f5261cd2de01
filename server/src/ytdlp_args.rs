//! Extra yt-dlp options from the settings: the JavaScript runtime
//! (`JS_RUNTIME`), plugin directories (`YTDLP_PLUGIN_DIRS`), extractor arguments
//! (`YTDLP_EXTRACTOR_ARGS`) and the cookies file (`COOKIES_FILE`); the
//! PO-token minter's address (`POT_PROVIDER_URL`) is checked here too. The
//! token service's own plugin directory and extractor argument are added by
//! [`crate::state`] once the service runs.
//!
//! The rules live in [`engine::ytdlp_options`]; this module reads the
//! settings, checks that the paths exist and names the variable in every
//! error, so a bad value stops the server at start with a clear message.

use crate::config::{Config, ConfigError};
use engine::cookies::check_cookies_file;
use engine::download::resolve_program;
use engine::ytdlp_options::{find_js_runtime, ExtractorArgs, JsRuntime, YtDlpOptions};
use std::ffi::OsString;
use std::path::PathBuf;

/// The options every yt-dlp run gets from the settings (everything but the
/// cookies, which go through [`cookies_file`] and `YtDlp::with_cookies_file`).
pub fn ytdlp_args(config: &Config) -> Result<Vec<OsString>, ConfigError> {
    let options = ytdlp_options(config)?;
    options.to_args().map_err(|e| ConfigError::invalid("YTDLP_EXTRACTOR_ARGS", e.to_string()))
}

/// The settings read and checked, before they become arguments.
pub fn ytdlp_options(config: &Config) -> Result<YtDlpOptions, ConfigError> {
    config.pot_minter_url()?;
    let extractor_args = match non_empty(config.ytdlp_extractor_args.as_deref()) {
        Some(text) => {
            ExtractorArgs::parse(text).map_err(|e| ConfigError::invalid("YTDLP_EXTRACTOR_ARGS", e.to_string()))?
        }
        None => ExtractorArgs::new(),
    };
    // The token service's address and credential change with every start:
    // only the server may set them.
    if extractor_args.entries().iter().any(|e| e.starts_with(&format!("{}:", crate::pot::EXTRACTOR_KEY))) {
        return Err(ConfigError::invalid(
            "YTDLP_EXTRACTOR_ARGS",
            format!("{} is set by Kachay itself", crate::pot::EXTRACTOR_KEY),
        ));
    }
    let options = YtDlpOptions {
        js_runtime: js_runtime(config)?,
        pot_service: None,
        plugin_dirs: plugin_dirs(config)?,
        extractor_args,
    };
    options.merged_extractor_args().map_err(|e| ConfigError::invalid("YTDLP_EXTRACTOR_ARGS", e.to_string()))?;
    Ok(options)
}

/// The JavaScript runtime: `JS_RUNTIME` (which must exist), else deno next
/// to yt-dlp or on PATH, else none (YouTube then loses most formats; the
/// health page says so).
pub fn js_runtime(config: &Config) -> Result<Option<JsRuntime>, ConfigError> {
    let Some(setting) = non_empty(config.js_runtime.as_deref()) else {
        return Ok(find_js_runtime(&config.ytdlp_program()));
    };
    let mut runtime = JsRuntime::parse(setting).map_err(|e| ConfigError::invalid("JS_RUNTIME", e.to_string()))?;
    let found = resolve_program(&runtime.path);
    if !found.is_file() {
        return Err(ConfigError::invalid("JS_RUNTIME", format!("{} does not exist", runtime.path.display())));
    }
    runtime.path = std::path::absolute(&found).unwrap_or(found);
    Ok(Some(runtime))
}

/// `YTDLP_PLUGIN_DIRS`, split like PATH; each must be a directory.
pub fn plugin_dirs(config: &Config) -> Result<Vec<PathBuf>, ConfigError> {
    let Some(setting) = non_empty(config.ytdlp_plugin_dirs.as_deref()) else {
        return Ok(Vec::new());
    };
    std::env::split_paths(setting)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| {
            if dir.is_dir() {
                Ok(std::path::absolute(&dir).unwrap_or(dir))
            } else {
                Err(ConfigError::invalid("YTDLP_PLUGIN_DIRS", format!("{} is not a directory", dir.display())))
            }
        })
        .collect()
}

/// `COOKIES_FILE`, checked: it must be a Netscape cookies.txt. Warns (in the
/// log, without any cookie) when others can read it or it holds no YouTube
/// cookies.
pub fn cookies_file(config: &Config) -> Result<Option<PathBuf>, ConfigError> {
    let Some(path) = config.cookies_file.as_ref().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(None);
    };
    let summary = check_cookies_file(path).map_err(|e| ConfigError::invalid("COOKIES_FILE", e.to_string()))?;
    if summary.youtube_cookies == 0 {
        tracing::warn!(
            cookies = summary.cookies,
            "COOKIES_FILE holds no youtube.com or google.com cookies; YouTube will not see a login"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!("COOKIES_FILE can be read by other users of this machine; chmod 600 it");
            }
        }
    }
    Ok(Some(std::path::absolute(path).unwrap_or_else(|_| path.clone())))
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[OsString]) -> Vec<String> {
        args.iter().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    /// A config whose yt-dlp sits in an empty directory, so no deno is found
    /// next to it (one on PATH still would be).
    fn bare(dir: &std::path::Path) -> Config {
        Config { ytdlp: Some(dir.join("yt-dlp")), ..Config::default() }
    }

    #[test]
    fn js_runtime_from_the_setting() {
        let dir = tempfile::tempdir().expect("tempdir");
        let deno = dir.path().join("deno");
        std::fs::write(&deno, "").expect("write");
        let config = Config { js_runtime: Some(deno.display().to_string()), ..bare(dir.path()) };
        let args = strings(&ytdlp_args(&config).expect("valid"));
        assert_eq!(args[..2], ["--js-runtimes".to_owned(), format!("deno:{}", deno.display())]);

        let missing = Config { js_runtime: Some("/no/such/deno".into()), ..bare(dir.path()) };
        let err = ytdlp_args(&missing).expect_err("missing").to_string();
        assert!(err.contains("JS_RUNTIME") && err.contains("/no/such/deno"), "{err}");
    }

    #[test]
    fn deno_beside_yt_dlp_is_used_by_default() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("yt-dlp"), "").expect("write");
        std::fs::write(dir.path().join("deno"), "").expect("write");
        let args = strings(&ytdlp_args(&bare(dir.path())).expect("valid"));
        assert_eq!(args[..2], ["--js-runtimes".to_owned(), format!("deno:{}", dir.path().join("deno").display())]);
    }

    #[test]
    fn extractor_args_merge_per_key_and_the_service_key_is_kachays() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            js_runtime: None,
            pot_provider_url: Some("http://127.0.0.1:4416/".into()),
            ytdlp_extractor_args: Some("youtube:player_client=web\n youtube:pot_trace=true".into()),
            ..bare(dir.path())
        };
        let args = strings(&ytdlp_args(&config).expect("valid"));
        let extractor: Vec<&String> = args
            .iter()
            .zip(args.iter().skip(1))
            .filter(|(flag, _)| *flag == "--extractor-args")
            .map(|(_, value)| value)
            .collect();
        // POT_PROVIDER_URL is the token service's business, not yt-dlp's.
        assert_eq!(extractor, ["youtube:player_client=web;pot_trace=true"]);
        let own =
            Config { ytdlp_extractor_args: Some("youtubepot-kachay:url=http://evil:1".into()), ..bare(dir.path()) };
        let err = ytdlp_args(&own).expect_err("reserved").to_string();
        assert!(err.contains("YTDLP_EXTRACTOR_ARGS") && err.contains("set by Kachay"), "{err}");
    }

    #[test]
    fn bad_settings_name_their_variable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cases = [
            (Config { pot_provider_url: Some("127.0.0.1:4416".into()), ..bare(dir.path()) }, "POT_PROVIDER_URL"),
            (
                Config { ytdlp_extractor_args: Some("player_client=web".into()), ..bare(dir.path()) },
                "YTDLP_EXTRACTOR_ARGS",
            ),
            (Config { pot_provider_url: Some("http://a:1/?x=1".into()), ..bare(dir.path()) }, "POT_PROVIDER_URL"),
            (
                Config { ytdlp_extractor_args: Some("youtube:a=1 youtube:a=2".into()), ..bare(dir.path()) },
                "YTDLP_EXTRACTOR_ARGS",
            ),
            (Config { ytdlp_plugin_dirs: Some("/no/such/plugins".into()), ..bare(dir.path()) }, "YTDLP_PLUGIN_DIRS"),
            (Config { js_runtime: Some("perl:/usr/bin/perl".into()), ..bare(dir.path()) }, "JS_RUNTIME"),
        ];
        for (config, name) in cases {
            let err = ytdlp_args(&config).expect_err(name).to_string();
            assert!(err.contains(name), "{name}: {err}");
        }
    }

    #[test]
    fn plugin_dirs_keep_the_default_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config { ytdlp_plugin_dirs: Some(format!("{}:", dir.path().display())), ..bare(dir.path()) };
        let args = strings(&ytdlp_args(&config).expect("valid"));
        let at = args.iter().position(|a| a == "--plugin-dirs").expect("flag");
        assert_eq!(args[at..at + 4], ["--plugin-dirs", "default", "--plugin-dirs", &dir.path().display().to_string()]);
    }

    #[test]
    // figment's Jail returns its own large error type; it only runs in tests.
    #[allow(clippy::result_large_err)]
    fn settings_come_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("POT_PROVIDER_URL", "http://127.0.0.1:4416");
            jail.set_env("YTDLP_EXTRACTOR_ARGS", "youtube:player_client=default,mweb youtube:pot_trace=true");
            jail.set_env("JS_RUNTIME", "");
            let config = Config::from_env().map_err(|e| e.to_string())?;
            let args = strings(&ytdlp_args(&config).map_err(|e| e.to_string())?);
            let joined = args.join(" ");
            assert!(joined.contains("--extractor-args youtube:player_client=default,mweb;pot_trace=true"), "{joined}");
            assert_eq!(
                config.pot_minter_url().map_err(|e| e.to_string())?.map(String::from).as_deref(),
                Some("http://127.0.0.1:4416/")
            );
            Ok(())
        });
    }

    #[test]
    fn cookies_file_is_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(cookies_file(&Config::default()).ok(), Some(None));
        let good = dir.path().join("good.txt");
        std::fs::write(&good, "# Netscape HTTP Cookie File\n.youtube.com\tTRUE\t/\tTRUE\t0\tA\tB\n").expect("write");
        let config = Config { cookies_file: Some(good.clone()), ..Config::default() };
        assert_eq!(cookies_file(&config).ok(), Some(Some(good)));
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "[]").expect("write");
        let config = Config { cookies_file: Some(bad), ..Config::default() };
        let err = cookies_file(&config).expect_err("json").to_string();
        assert!(err.contains("COOKIES_FILE") && err.contains("Netscape"), "{err}");
    }
}
