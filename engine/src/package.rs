//! A download that is more than one file, a video and its subtitle files,
//! reaches the browser as one ZIP: a browser saves one file per link.
//!
//! The video is stored as it is (it is compressed already, and deflating
//! gigabytes would cost minutes of CPU for nothing); text files are
//! deflated. The `zip` crate writes ZIP64 when a file needs it.

use std::io::Write;
use std::path::{Path, PathBuf};

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
pub async fn bundle(
    dir: &Path,
    media: DownloadedFile,
    sidecars: Vec<Sidecar>,
    stem: &str,
) -> Result<DownloadedFile, EngineError> {
    let out = dir.join(format!("{MEDIA_STEM}.zip"));
    let temp = dir.join(format!("{MEDIA_STEM}.temp.zip"));
    let stem = stem.to_owned();
    let (media_path, media_ext) = (media.path.clone(), media.ext.clone());
    let inputs = sidecars.clone();
    let temp_for_task = temp.clone();
    tokio::task::spawn_blocking(move || write_zip(&temp_for_task, &media_path, &media_ext, &inputs, &stem))
        .await
        .map_err(|e| EngineError::Io(std::io::Error::other(e.to_string())))??;
    tokio::fs::rename(&temp, &out).await?;
    let _ = tokio::fs::remove_file(&media.path).await;
    for s in sidecars {
        let _ = tokio::fs::remove_file(&s.path).await;
    }
    let size = tokio::fs::metadata(&out).await?.len();
    Ok(DownloadedFile { path: out, size, ext: "zip".to_owned() })
}

fn write_zip(out: &Path, media: &Path, ext: &str, sidecars: &[Sidecar], stem: &str) -> std::io::Result<()> {
    let file = std::fs::File::create(out)?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::with_capacity(1 << 20, file));
    let media_len = std::fs::metadata(media)?.len();
    let stored = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .large_file(media_len >= u64::from(u32::MAX));
    zip.start_file(format!("{stem}.{ext}"), stored).map_err(std::io::Error::other)?;
    std::io::copy(&mut std::fs::File::open(media)?, &mut zip)?;
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for s in sidecars {
        zip.start_file(format!("{stem}{}", s.suffix), deflated).map_err(std::io::Error::other)?;
        std::io::copy(&mut std::fs::File::open(&s.path)?, &mut zip)?;
    }
    let mut inner = zip.finish().map_err(std::io::Error::other)?;
    inner.flush()?;
    inner.into_inner().map_err(|e| e.into_error())?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

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
}
