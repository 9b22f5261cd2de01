//! Moving a finished download to its final name without ever overwriting
//! a file: `Title.mp4`, then `Title (1).mp4`, `Title (2).mp4`, …

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Most numbered names tried before giving up.
const MAX_TRIES: u32 = 10_000;

/// `name` with ` (n)` before its extension (`n` = 0 leaves it as it is).
fn numbered(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_owned();
    }
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem} ({n}).{ext}"),
        _ => format!("{name} ({n})"),
    }
}

/// Moves `src` into `dir` as `name`, or the first numbered variant of it
/// that does not exist yet, and returns the new path.
///
/// Each candidate is claimed with an exclusive create before the rename, so
/// two downloads finishing at once with the same title never take the same
/// name, and an existing file is never replaced. When a rename is not
/// possible (another file system) the file is copied into the claimed name.
pub fn save_unique(src: &Path, dir: &Path, name: &str) -> io::Result<PathBuf> {
    for n in 0..MAX_TRIES {
        let dest = dir.join(numbered(name, n));
        match OpenOptions::new().write(true).create_new(true).open(&dest) {
            Ok(claim) => drop(claim),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
        return match fs::rename(src, &dest) {
            Ok(()) => Ok(dest),
            Err(e) if e.kind() == io::ErrorKind::CrossesDevices => match fs::copy(src, &dest) {
                Ok(_) => {
                    let _ = fs::remove_file(src);
                    Ok(dest)
                }
                Err(e) => {
                    let _ = fs::remove_file(&dest);
                    Err(e)
                }
            },
            Err(e) => {
                let _ = fs::remove_file(&dest);
                Err(e)
            }
        };
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{MAX_TRIES} files named like {name:?} already exist")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_goes_before_the_extension() {
        assert_eq!(numbered("Title.mp4", 0), "Title.mp4");
        assert_eq!(numbered("Title.mp4", 1), "Title (1).mp4");
        assert_eq!(numbered("a.b.m4a", 2), "a.b (2).m4a");
        assert_eq!(numbered("noext", 3), "noext (3)");
        assert_eq!(numbered(".hidden", 1), ".hidden (1)");
    }

    #[test]
    fn never_overwrites() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let work = dir.path().join("work");
        fs::create_dir(&work)?;
        let mut saved = Vec::new();
        for body in ["one", "two", "three"] {
            let src = work.join("media.mp4");
            fs::write(&src, body)?;
            saved.push(save_unique(&src, dir.path(), "Клип 🎬.mp4")?);
            assert!(!src.exists());
        }
        let names: Vec<String> =
            saved.iter().map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()).collect();
        assert_eq!(names, ["Клип 🎬.mp4", "Клип 🎬 (1).mp4", "Клип 🎬 (2).mp4"]);
        assert_eq!(fs::read_to_string(&saved[0])?, "one");
        assert_eq!(fs::read_to_string(&saved[2])?, "three");
        Ok(())
    }

    #[test]
    fn a_failed_move_leaves_no_placeholder() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let missing = dir.path().join("gone.mp4");
        assert!(save_unique(&missing, dir.path(), "x.mp4").is_err());
        assert!(!dir.path().join("x.mp4").exists());
        Ok(())
    }
}
