//! The human strings the page shows for a progress.

use super::{Phase, PostStep, Progress};

/// `"512 B"`, `"1.50 KiB"`, `"100.00 MiB"`, `"1.20 GiB"`.
pub fn format_bytes(bytes: u64) -> String {
    contract::format::iec_bytes(bytes)
}

/// `"2.50 MiB/s"`, `"512 B/s"`.
pub fn format_speed(bytes_per_sec: f64) -> String {
    let b = if bytes_per_sec.is_finite() && bytes_per_sec > 0.0 { bytes_per_sec.round() as u64 } else { 0 };
    format!("{}/s", format_bytes(b))
}

/// `"10s"`, `"1m 05s"`, `"1h 02m"`.
pub fn format_eta(secs: u64) -> String {
    contract::format::short_span(secs)
}

/// One line for people: `"50.5% of ~100.00 MiB at 2.50 MiB/s, ETA 10s"`
/// while downloading, `"Merging video and audio…"` / `"Extracting audio…"`
/// while post-processing, and short words for the other phases.
pub fn status_text(progress: &Progress) -> String {
    match progress.phase {
        Phase::Queued => "Waiting for a free slot…".to_owned(),
        Phase::Downloading => {
            if progress.percent <= 0.0 && progress.downloaded_bytes == 0 {
                return "Starting download…".to_owned();
            }
            let mut text = format!("{:.1}%", progress.percent);
            if let Some(total) = progress.total_bytes {
                text.push_str(&format!(" of ~{}", format_bytes(total)));
            }
            if let Some(speed) = progress.speed {
                text.push_str(&format!(" at {}", format_speed(speed)));
            }
            if let Some(eta) = progress.eta {
                text.push_str(&format!(", ETA {}", format_eta(eta)));
            }
            text
        }
        Phase::Merging => match progress.post_step {
            Some(PostStep::Merge) => "Merging video and audio…".to_owned(),
            Some(PostStep::ExtractAudio) => "Extracting audio…".to_owned(),
            _ => "Finishing the file…".to_owned(),
        },
        Phase::Completed => match progress.total_bytes {
            Some(size) => format!("Done: {}", format_bytes(size)),
            None => "Done".to_owned(),
        },
        Phase::Error => "Failed".to_owned(),
        Phase::Cancelled => "Cancelled".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_strings() {
        assert_eq!(format_speed(2.5 * 1024.0 * 1024.0), "2.50 MiB/s");
        assert_eq!(format_speed(512.0), "512 B/s");
        assert_eq!(format_speed(f64::NAN), "0 B/s");
        assert_eq!(format_eta(10), "10s");
        assert_eq!(format_eta(65), "1m 05s");
        assert_eq!(format_eta(3720), "1h 02m");
        assert_eq!(format_bytes(100 * 1024 * 1024), "100.00 MiB");
        let p = Progress {
            phase: Phase::Downloading,
            percent: 50.5,
            downloaded_bytes: 50 * 1024 * 1024,
            total_bytes: Some(100 * 1024 * 1024),
            speed: Some(2.5 * 1024.0 * 1024.0),
            eta: Some(10),
            stage: 1,
            stages: 1,
            post_step: None,
        };
        assert_eq!(status_text(&p), "50.5% of ~100.00 MiB at 2.50 MiB/s, ETA 10s");
        let merging = Progress { phase: Phase::Merging, post_step: Some(PostStep::Merge), ..p.clone() };
        assert_eq!(status_text(&merging), "Merging video and audio…");
        let extracting = Progress { post_step: Some(PostStep::ExtractAudio), ..merging };
        assert_eq!(status_text(&extracting), "Extracting audio…");
    }
}
