//! The real `kachay` binary against the fixture site, real yt-dlp and
//! ffmpeg: what a user or a script would notice — files, names, picture
//! heights, output, exit codes, and a clean stop on Ctrl-C.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::{heights_and_audio, list, run, run_with_stdin, site_url};
use fixture::{MAIN, MUXED};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

/// `Тестовое видео 🎬 "Кавычки" / Slash` as a file name.
const MAIN_MP4: &str = "Тестовое видео 🎬 'Кавычки' Slash.mp4";
/// `Muxed clip — ёжик 🦔 'single' quotes` as a file name.
const MUXED_MP4: &str = "Muxed clip — ёжик 🦔 'single' quotes.mp4";

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

fn events<'a>(all: &'a [Value], name: &str) -> Vec<&'a Value> {
    all.iter().filter(|e| e["event"] == name).collect()
}

#[test]
fn help_lists_examples_and_exit_codes() {
    let dir = tempdir();
    let r = run(dir.path(), &["--help"]);
    r.expect_code(0);
    for needle in ["--quality", "--list-qualities", "--batch-file", "Examples:", "Exit codes:", "130"] {
        assert!(r.stdout.contains(needle), "{needle} missing\n{r}");
    }
    let r = run(dir.path(), &["--version"]);
    r.expect_code(0);
    assert!(r.stdout.starts_with("kachay "), "{r}");
}

#[test]
fn list_qualities_shows_exactly_the_fixture_qualities_and_writes_nothing() {
    let dir = tempdir();
    let out = dir.path().join("never-created");
    let url = site_url("/watch/main");

    let r = run(dir.path(), &["--list-qualities", "--json", "-o", path_str(&out), &url]);
    r.expect_code(0);
    let all = r.json();
    assert_eq!(all.len(), 1, "one info event\n{r}");
    let info = &all[0];
    assert_eq!(info["event"], "info");
    assert_eq!(info["url"], url.as_str());
    assert_eq!(info["title"], MAIN.title);
    assert_eq!(info["uploader"], MAIN.uploader);
    assert_eq!(info["duration"].as_f64(), Some(f64::from(MAIN.duration_secs)));
    assert_eq!(info["view_count"].as_u64(), Some(MAIN.view_count));
    let ids: Vec<&str> =
        info["qualities"].as_array().expect("qualities").iter().filter_map(|q| q["id"].as_str()).collect();
    assert_eq!(ids, ["1080", "720", "480", "360", "auto", "audio"]);
    assert!(info.get("selected").is_none(), "nothing is downloaded: {info}");

    // The table for people: one row per quality, first column the id.
    let r = run(dir.path(), &["-l", "-o", path_str(&out), &url]);
    r.expect_code(0);
    assert!(r.stdout.contains(MAIN.title), "{r}");
    assert!(r.stdout.contains("1,234,567"), "views with separators\n{r}");
    assert!(r.stdout.contains("0:20"), "duration\n{r}");
    let rows: BTreeSet<&str> = r
        .stdout
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("QUALITY"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let expected: BTreeSet<&str> = ["1080", "720", "480", "360", "auto", "audio"].into();
    assert_eq!(rows, expected, "{r}");

    assert!(!out.exists(), "--list-qualities created the output directory");
    assert!(list(dir.path()).is_empty(), "files written: {:?}", list(dir.path()));
}

#[test]
fn quality_360_saves_a_file_named_after_the_title() {
    let dir = tempdir();
    let out = dir.path().join("videos/new");
    let r = run(dir.path(), &["-q", "360", "-o", path_str(&out), &site_url("/watch/main")]);
    r.expect_code(0);

    assert_eq!(list(&out), [MAIN_MP4], "only the file, no work directory\n{r}");
    assert!(!MAIN_MP4.contains('/') && !MAIN_MP4.contains('"'));
    let file = out.join(MAIN_MP4);
    assert_eq!(heights_and_audio(&file), (vec![360], 1), "360p with sound");
    // stdout is a pipe: the saved path, for scripts.
    assert_eq!(r.stdout.trim(), file.display().to_string(), "{r}");
    // People got the summary and plain progress lines on stderr.
    assert!(r.stderr.contains(MAIN.title) && r.stderr.contains("1,234,567 views"), "{r}");
    assert!(r.stderr.contains("saved"), "{r}");
    assert!(list(dir.path()) == ["videos"], "nothing outside --output");
}

#[test]
fn audio_is_an_m4a_without_video_and_mp3_on_request() {
    let dir = tempdir();
    let url = site_url("/watch/main");
    run(dir.path(), &["-q", "audio", &url]).expect_code(0);
    let m4a = MAIN_MP4.replace(".mp4", ".m4a");
    assert_eq!(list(dir.path()), [m4a.as_str()], "saved in the current directory");
    let streams = common::ffprobe(&dir.path().join(&m4a));
    // The only picture is the cover art (the thumbnail, as a JPEG).
    let pictures: Vec<&str> =
        streams.iter().filter(|s| s.codec_type == "video").map(|s| s.codec_name.as_str()).collect();
    assert_eq!(pictures, ["mjpeg"], "{streams:?}");
    assert_eq!(streams.iter().filter(|s| s.codec_type == "audio").count(), 1);

    let mp3dir = dir.path().join("mp3");
    let r = run(dir.path(), &["-q", "audio", "--audio-format", "mp3", "--quiet", "-o", path_str(&mp3dir), &url]);
    r.expect_code(0);
    let mp3 = MAIN_MP4.replace(".mp4", ".mp3");
    assert_eq!(list(&mp3dir), [mp3.as_str()], "{r}");
    assert!(r.stderr.is_empty(), "--quiet says nothing on success\n{r}");
    assert_eq!(r.stdout.trim(), mp3dir.join(&mp3).display().to_string(), "{r}");
    let streams = common::ffprobe(&mp3dir.join(&mp3));
    assert_eq!(
        streams.iter().map(|s| (s.codec_type.as_str(), s.codec_name.as_str())).collect::<Vec<_>>(),
        [("audio", "mp3"), ("video", "mjpeg")]
    );
}

#[test]
fn a_clip_subtitle_files_and_untagged_opus_from_the_command_line() {
    let dir = tempdir();
    let r = run(dir.path(), &["-q", "360", "--start", "0:04", "--end", "8", &site_url("/watch/main")]);
    r.expect_code(0);
    let clip = MAIN_MP4.replace(".mp4", " (0m04s-0m08s).mp4");
    assert_eq!(list(dir.path()), [clip.as_str()], "{r}");
    assert_eq!(heights_and_audio(&dir.path().join(&clip)), (vec![360], 1));

    let subs = dir.path().join("subs");
    let r = run(
        dir.path(),
        &[
            "--subs",
            "en,ru",
            "--subs-mode",
            "files",
            "--subs-format",
            "vtt",
            "-o",
            path_str(&subs),
            &site_url("/subtitled"),
        ],
    );
    r.expect_code(0);
    assert_eq!(list(&subs), ["Subtitled clip (1).zip"], "{r}");

    let opus = dir.path().join("opus");
    let r = run(
        dir.path(),
        &[
            "-q",
            "audio",
            "--audio-format",
            "opus",
            "--audio-bitrate",
            "96k",
            "--no-tags",
            "-o",
            path_str(&opus),
            &site_url("/watch/main"),
        ],
    );
    r.expect_code(0);
    let name = MAIN_MP4.replace(".mp4", ".opus");
    let streams = common::ffprobe(&opus.join(&name));
    assert_eq!(
        streams.iter().map(|s| (s.codec_type.as_str(), s.codec_name.as_str())).collect::<Vec<_>>(),
        [("audio", "opus")]
    );

    // A language the video does not have fails that video, in words.
    let r = run(dir.path(), &["--subs", "de", &site_url("/subtitled")]);
    r.expect_code(1);
    assert!(r.stderr.contains("no subtitles in \"de\"") && r.stderr.contains("en, ru"), "{r}");
}

#[test]
fn two_urls_two_files_and_a_missing_height_falls_back() {
    let dir = tempdir();
    let r = run(dir.path(), &["-q", "1080", "--json", &site_url("/watch/muxed"), &site_url("/watch/progressive")]);
    r.expect_code(0);
    let all = r.json();
    let infos = events(&all, "info");
    assert_eq!(infos.len(), 2, "{r}");
    let muxed = infos.iter().find(|i| i["title"] == MUXED.title).expect("an info event for muxed");
    assert_eq!((muxed["requested"].as_str(), muxed["selected"].as_str()), (Some("1080"), Some("720")));
    assert!(muxed["note"].as_str().unwrap_or_default().contains("best below"), "{muxed}");
    assert_eq!(events(&all, "done").len(), 2, "{r}");

    let names = list(dir.path());
    let progressive = common::file_name(&fixture::PROGRESSIVE, "mp4");
    let mut expected = [MUXED_MP4, progressive.as_str()];
    expected.sort_unstable();
    assert_eq!(names, expected, "{r}");
    assert_eq!(heights_and_audio(&dir.path().join(MUXED_MP4)), (vec![720], 1));
}

#[test]
fn json_lines_have_progress_and_done() {
    let dir = tempdir();
    // The whole site at 400 kB/s, so that the download lasts long enough
    // for several progress lines however many connections it uses.
    let url = site_url("/k/total=400001/watch/main");
    let r = run(dir.path(), &["--json", "-q", "480", &url]);
    r.expect_code(0);
    let all = r.json();
    assert!(r.stderr.trim().is_empty(), "nothing for people with --json\n{r}");
    assert_eq!(all.first().map(|e| &e["event"]), Some(&Value::from("info")), "{r}");

    let progress = events(&all, "progress");
    assert!(progress.len() >= 3, "{r}");
    let percents: Vec<f64> = progress.iter().filter_map(|p| p["percent"].as_f64()).collect();
    assert_eq!(percents.len(), progress.len(), "every progress has a percent");
    for w in percents.windows(2) {
        assert!(w[1] >= w[0], "percent went down: {percents:?}");
    }
    assert!(percents.iter().all(|p| (0.0..=100.0).contains(p)));
    let phases: BTreeSet<&str> = progress.iter().filter_map(|p| p["phase"].as_str()).collect();
    assert!(phases.contains("downloading"), "{phases:?}");
    let known: BTreeSet<&str> = ["downloading", "merging", "extracting_audio", "finishing"].into();
    assert!(phases.is_subset(&known), "{phases:?}");
    for p in &progress {
        assert_eq!(p["url"], url.as_str());
        assert!(p.get("speed").is_some() && p.get("eta").is_some(), "{p}");
    }
    // At most 5 a second (plus the first).
    let limit = 1 + (r.took.as_secs_f64() * 5.0).ceil() as usize;
    assert!(progress.len() <= limit, "{} progress events in {:?}", progress.len(), r.took);

    let done = events(&all, "done");
    assert_eq!(done.len(), 1, "{r}");
    assert_eq!(all.last(), Some(done[0]), "done comes last");
    let path = Path::new(done[0]["path"].as_str().expect("path"));
    assert!(path.is_absolute());
    assert_eq!(path, dir.path().join(MAIN_MP4));
    let size = std::fs::metadata(path).expect("the file exists").len();
    assert_eq!(done[0]["size"].as_u64(), Some(size));
}

#[test]
fn batch_file_goes_on_past_a_broken_line_and_a_failing_url() {
    let dir = tempdir();
    let failing = site_url("/k/status=404/watch/main");
    let batch = format!(
        "# fixture videos\n\n   {}   \nnot a url at all\n{failing}\n{}\n",
        site_url("/watch/muxed"),
        site_url("/watch/progressive"),
    );
    std::fs::write(dir.path().join("links.txt"), batch).expect("write the batch file");
    let out = dir.path().join("out");
    let r = run(dir.path(), &["-b", "links.txt", "-q", "360", "-o", path_str(&out)]);
    r.expect_code(1);
    assert!(r.stderr.contains("line 4"), "the broken line by number\n{r}");
    assert!(r.stderr.contains(&failing) && r.stderr.contains("404"), "the failing URL\n{r}");
    assert!(!r.stderr.contains("Error {") && !r.stderr.contains("Os {"), "no debug dumps\n{r}");
    let progressive = common::file_name(&fixture::PROGRESSIVE, "mp4");
    let mut expected = [MUXED_MP4, progressive.as_str()];
    expected.sort_unstable();
    assert_eq!(list(&out), expected, "the others were saved\n{r}");
    assert_eq!(r.stdout.lines().count(), 2, "two saved paths\n{r}");

    // The same, as JSON events.
    let out = dir.path().join("json");
    let r = run(dir.path(), &["-b", "links.txt", "-q", "360", "--json", "-o", path_str(&out)]);
    r.expect_code(1);
    let all = r.json();
    let errors = events(&all, "error");
    assert_eq!(errors.len(), 2, "{r}");
    let line = errors.iter().find(|e| e["line"] == 4).expect("an error for line 4");
    assert_eq!(line["url"], "not a url at all");
    let http = errors.iter().find(|e| e["url"] == failing.as_str()).expect("an error for the 404");
    assert_eq!((http["kind"].as_str(), http["status"].as_u64()), (Some("http"), Some(404)));
    // The same names the server's API uses.
    assert_eq!((line["code"].as_str(), http["code"].as_str()), (Some("invalid_url"), Some("remote_not_found")));
    assert_eq!(events(&all, "done").len(), 2, "{r}");
}

#[test]
fn urls_from_standard_input() {
    let dir = tempdir();
    let input = format!("{}\n# done\n", site_url("/watch/muxed"));
    let r = run_with_stdin(dir.path(), &["-b", "-", "-l", "--json"], &input);
    r.expect_code(0);
    let all = r.json();
    assert_eq!(all.len(), 1, "{r}");
    assert_eq!(all[0]["title"], MUXED.title);
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    let dir = tempdir();
    let url = site_url("/watch/main");
    let cases: [(&[&str], &str); 10] = [
        (&["--start", "1:75", &url], "--start"),
        (&["--start", "8", "--end", "4", &url], "--end must come after --start"),
        (&["--audio-format", "flac", "--audio-bitrate", "192", &url], "lossless"),
        (&["--audio-bitrate", "100", &url], "--audio-bitrate"),
        (&["--quality", "721", &url], "721"),
        (&[], "no URLs"),
        (&["-b", "no-such-file.txt"], "no-such-file.txt"),
        (&["ftp://example.invalid/x"], "not an http(s) URL"),
        (&["--jobs", "0", &url], "--jobs"),
        (&["--audio-format", "ogg", &url], "ogg"),
    ];
    for (args, needle) in cases {
        let r = run(dir.path(), args);
        r.expect_code(2);
        assert!(r.stderr.contains(needle), "{args:?}: {needle:?} not in\n{r}");
        assert!(r.stdout.is_empty(), "{args:?}\n{r}");
    }
    let r = run(dir.path(), &["-q", "721", &url]);
    assert!(r.stderr.contains("720") && r.stderr.contains("audio"), "possible values\n{r}");
    std::fs::write(dir.path().join("empty.txt"), "# nothing here\n\n").expect("write");
    run(dir.path(), &["-b", "empty.txt"]).expect_code(2);
    assert!(list(dir.path()) == ["empty.txt"], "{:?}", list(dir.path()));
}

#[test]
fn failures_are_told_in_words() {
    let dir = tempdir();
    let r = run(dir.path(), &["--yt-dlp", "/no/such/yt-dlp", &site_url("/watch/main")]);
    r.expect_code(1);
    assert!(r.stderr.contains("yt-dlp was not found at /no/such/yt-dlp"), "{r}");
    assert!(r.stderr.contains("--yt-dlp"), "a hint\n{r}");

    let r = run(dir.path(), &["--json", &site_url("/playlist.rss")]);
    r.expect_code(1);
    let all = r.json();
    assert_eq!(all.len(), 1, "{r}");
    assert_eq!(all[0]["kind"], "playlist");
    assert!(list(dir.path()).is_empty(), "{:?}", list(dir.path()));
}

#[test]
fn the_same_name_twice_gets_a_number_and_nothing_is_overwritten() {
    let dir = tempdir();
    std::fs::write(dir.path().join(MUXED_MP4), "mine").expect("write");
    let url = site_url("/watch/muxed");
    let r = run(dir.path(), &["-q", "360", &url, &url]);
    r.expect_code(0);
    let first = MUXED_MP4.replace(".mp4", " (1).mp4");
    let second = MUXED_MP4.replace(".mp4", " (2).mp4");
    let names: BTreeSet<String> = list(dir.path()).into_iter().collect();
    let expected: BTreeSet<String> = [MUXED_MP4.to_owned(), first.clone(), second.clone()].into();
    assert_eq!(names, expected, "{r}");
    assert_eq!(std::fs::read_to_string(dir.path().join(MUXED_MP4)).ok().as_deref(), Some("mine"));
    for name in [first, second] {
        assert_eq!(heights_and_audio(&dir.path().join(name)), (vec![360], 1));
    }
}

/// Starts a slow download, waits until yt-dlp is writing into `out`, and
/// sends `signals` SIGINTs; returns the exit status and how long it took.
fn interrupt(out: &Path, signals: usize, engine: &str) -> (Option<i32>, Duration, String) {
    let url = site_url("/k/rate=100000/watch/main");
    let mut child =
        common::spawn(out.parent().expect("parent"), &["-q", "1080", "--engine", engine, "-o", path_str(out), &url]);
    let writing = common::eventually(Duration::from_secs(60), || {
        common::files_below(out)
            .iter()
            .any(|f| f.file_name().is_some_and(|n| n.to_string_lossy().starts_with("media.")))
    });
    assert!(writing, "yt-dlp never started writing");
    std::thread::sleep(Duration::from_millis(500));
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid fits"));
    let started = std::time::Instant::now();
    for _ in 0..signals {
        kill(pid, Signal::SIGINT).expect("SIGINT sent");
        std::thread::sleep(Duration::from_millis(30));
    }
    let status = common::wait_for(&mut child, Duration::from_secs(10));
    let took = started.elapsed();
    if status.is_none() {
        let _ = child.kill();
    }
    let output = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (status.and_then(|s| s.code()), took, stderr)
}

fn assert_clean(out: &Path) {
    assert!(
        common::eventually(Duration::from_secs(2), || common::processes_mentioning(path_str(out)).is_empty()),
        "processes left: {:?}",
        common::processes_mentioning(path_str(out))
    );
    assert!(list(out).is_empty(), "left in the output directory: {:?}", common::files_below(out));
}

#[test]
fn ctrl_c_stops_cleanly_with_130() {
    let dir = tempdir();
    let out = dir.path().join("out");
    let (code, took, stderr) = interrupt(&out, 1, "native");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(stderr.contains("Interrupted"), "{stderr}");
    assert_clean(&out);
}

#[test]
fn a_second_ctrl_c_quits_at_once() {
    let dir = tempdir();
    let out = dir.path().join("out");
    // yt-dlp's downloader takes a moment to stop (the native engine stops
    // before a second signal arrives), which is when a second Ctrl-C counts.
    let (code, took, stderr) = interrupt(&out, 2, "yt-dlp");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(stderr.contains("Quitting at once"), "{stderr}");
    assert_clean(&out);
}
