//! A download that is more than one file, a video and its subtitle files,
//! reaches the browser as one ZIP: a browser saves one file per link.
//!
//! The video is stored as it is (it is compressed already, and deflating
//! gigabytes would cost minutes of CPU for nothing); text files are
//! deflated. The `zip` crate writes ZIP64 when a file needs it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

use crate::download::{DownloadedFile, MEDIA_STEM};
use crate::error::EngineError;

/// A file that goes beside the video, named after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sidecar {
    /// Where it is now (inside the job's directory).
    pub path: PathBuf,
    /// What follows the video's name in the ZIP: `.en.srt`.
    pub suffix: String,
}

/// The name files inside a ZIP take: the title (and a clip's range), made
/// safe for every file system, without an extension.
pub fn inner_stem(title: &str, clip: Option<contract::clip::ClipRange>) -> String {
    let label = clip.map(|c| c.label());
    crate::filename::sanitize_filename_tagged(title, label.as_deref(), "")
}

/// Puts `media` and its `sidecars` into `dir/media.zip` (the inputs are
/// removed) and returns the ZIP. Inside it they are called
/// `{stem}.{ext}` and `{stem}{suffix}`.
///
/// Dropping the future (a cancel) stops the copy and leaves no `.temp.zip`:
/// the blocking writer would otherwise go on after the job's directory was
/// swept, and a half-written ZIP of a whole video would sit there.
pub async fn bundle(
    dir: &Path,
    media: DownloadedFile,
    sidecars: Vec<Sidecar>,
    stem: &str,
) -> Result<DownloadedFile, EngineError> {
    let out = dir.join(format!("{MEDIA_STEM}.zip"));
    let temp = TempZip::new(dir.join(format!("{MEDIA_STEM}.temp.zip")));
    let job = ZipJob {
        out: temp.path.clone(),
        stop: Arc::clone(&temp.stop),
        media: media.path.clone(),
        ext: media.ext.clone(),
        sidecars: sidecars.clone(),
        stem: stem.to_owned(),
    };
    tokio::task::spawn_blocking(move || job.write())
        .await
        .map_err(|e| EngineError::Io(std::io::Error::other(e.to_string())))??;
    tokio::fs::rename(&temp.path, &out).await?;
    drop(temp);
    let _ = tokio::fs::remove_file(&media.path).await;
    for s in sidecars {
        let _ = tokio::fs::remove_file(&s.path).await;
    }
    let size = tokio::fs::metadata(&out).await?.len();
    Ok(DownloadedFile { path: out, size, ext: "zip".to_owned() })
}

/// The ZIP being written. Dropping it tells the writer to stop and removes
/// the file; the writer removes it too if it sees the signal after that (it
/// may create the file late). After the rename there is nothing to remove.
struct TempZip {
    path: PathBuf,
    stop: Arc<AtomicBool>,
}

impl TempZip {
    fn new(path: PathBuf) -> Self {
        Self { path, stop: Arc::new(AtomicBool::new(false)) }
    }
}

impl Drop for TempZip {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::fs::remove_file(&self.path);
    }
}

struct ZipJob {
    out: PathBuf,
    stop: Arc<AtomicBool>,
    media: PathBuf,
    ext: String,
    sidecars: Vec<Sidecar>,
    stem: String,
}

impl ZipJob {
    fn write(&self) -> std::io::Result<()> {
        let result = self.write_checked();
        if result.is_err() || self.stopped() {
            let _ = std::fs::remove_file(&self.out);
        }
        result
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn write_checked(&self) -> std::io::Result<()> {
        let file = std::fs::File::create(&self.out)?;
        let mut zip = zip::ZipWriter::new(std::io::BufWriter::with_capacity(1 << 20, file));
        let media_len = std::fs::metadata(&self.media)?.len();
        let stored = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(media_len >= u64::from(u32::MAX));
        zip.start_file(format!("{}.{}", self.stem, self.ext), stored).map_err(std::io::Error::other)?;
        self.copy(&self.media, &mut zip)?;
        let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        for s in &self.sidecars {
            zip.start_file(format!("{}{}", self.stem, s.suffix), deflated).map_err(std::io::Error::other)?;
            self.copy(&s.path, &mut zip)?;
        }
        let mut inner = zip.finish().map_err(std::io::Error::other)?;
        inner.flush()?;
        inner.into_inner().map_err(|e| e.into_error())?.sync_all()
    }

    /// `io::copy` in 1 MiB steps, so a cancel is seen within one step.
    fn copy(&self, from: &Path, to: &mut impl Write) -> std::io::Result<()> {
        let mut input = std::fs::File::open(from)?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            if self.stopped() {
                return Err(std::io::Error::other("cancelled"));
            }
            let n = input.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            to.write_all(&buf[..n])?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_video_and_its_subtitles_become_one_zip() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let video = dir.path().join("media.mp4");
        let subs = dir.path().join("media.en.srt");
        std::fs::write(&video, vec![7u8; 100_000]).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&subs, "1\n00:00:00,000 --> 00:00:01,000\nHi\n").unwrap_or_else(|e| panic!("{e}"));
        let media = DownloadedFile { path: video.clone(), size: 100_000, ext: "mp4".into() };
        let sidecar = Sidecar { path: subs.clone(), suffix: ".en.srt".into() };
        let stem = inner_stem("Clip: \"A/B\"", Some(contract::clip::ClipRange { start_ms: 4000, end_ms: 8000 }));
        let zip = bundle(dir.path(), media, vec![sidecar], &stem).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(zip.ext, "zip");
        assert!(!video.exists() && !subs.exists(), "the inputs are gone");
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip.path).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<String> = archive.file_names().map(str::to_owned).collect();
        assert!(names.contains(&"Clip 'A B' (0m04s-0m08s).mp4".to_owned()), "{names:?}");
        assert!(names.contains(&"Clip 'A B' (0m04s-0m08s).en.srt".to_owned()), "{names:?}");
        let mut text = String::new();
        archive
            .by_name("Clip 'A B' (0m04s-0m08s).en.srt")
            .unwrap_or_else(|e| panic!("{e}"))
            .read_to_string(&mut text)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(text.contains("Hi"));
    }

    /// A cancel while the ZIP is written leaves nothing behind, whether it
    /// lands during the copy or after it, before the rename.
    #[tokio::test]
    async fn a_cancelled_bundle_leaves_no_temp_zip() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let video = dir.path().join("media.mp4");
        std::fs::write(&video, vec![7u8; 64 << 20]).unwrap_or_else(|e| panic!("{e}"));
        let media = DownloadedFile { path: video.clone(), size: 64 << 20, ext: "mp4".into() };
        let temp = dir.path().join("media.temp.zip");
        let root = dir.path().to_owned();
        let task = tokio::spawn(async move { bundle(&root, media, Vec::new(), "x").await });
        let started = std::time::Instant::now();
        while !temp.exists() && !task.is_finished() {
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "the ZIP was never started");
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        task.abort();
        let _ = task.await;
        let started = std::time::Instant::now();
        while temp.exists() {
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "media.temp.zip was left behind");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        // The writer has stopped for good: nothing comes back.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(!temp.exists(), "media.temp.zip came back after the cancel");
        assert!(video.exists(), "a cancel does not remove the download's media by itself");
    }
}
