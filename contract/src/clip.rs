//! Clip times: what `start` and `end` of a download may be, read the same
//! way by the server, the page and the CLI.
//!
//! Times are whole milliseconds: the page's WASM stays free of float
//! printing, and a range survives a round trip through text unchanged.

use serde::{Deserialize, Serialize};

/// The shortest clip taken, in milliseconds: less is not a clip a person
/// can watch, and ffmpeg may write no frame at all.
pub const MIN_CLIP_MS: u64 = 500;

/// A time range of a video, in milliseconds from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClipRange {
    pub start_ms: u64,
    pub end_ms: u64,
}

impl ClipRange {
    /// The clip's length in milliseconds.
    pub fn len_ms(&self) -> u64 {
        self.end_ms.saturating_sub(self.start_ms)
    }

    /// `0m04s-0m08s`: what a clip's file name carries. Milliseconds show
    /// only when a bound has them (`0m04.500s-0m08s`).
    pub fn label(&self) -> String {
        format!("{}-{}", name_time(self.start_ms), name_time(self.end_ms))
    }

    /// `start` and `end` of a request as a range: `None` when neither is
    /// given (the whole video). A missing start is 0; a missing end is the
    /// video's `duration_ms`, when known. `duration_ms` also bounds the end.
    pub fn from_bounds(
        start: Option<u64>,
        end: Option<u64>,
        duration_ms: Option<u64>,
    ) -> Result<Option<ClipRange>, ClipError> {
        if start.is_none() && end.is_none() {
            return Ok(None);
        }
        let start_ms = start.unwrap_or(0);
        let end_ms = match (end, duration_ms) {
            (Some(e), _) => e,
            (None, Some(d)) => d,
            (None, None) => return Err(ClipError::EndUnknown),
        };
        if duration_ms.is_some_and(|d| start_ms >= d) {
            return Err(ClipError::PastEnd { duration_ms: duration_ms.unwrap_or(0) });
        }
        if end_ms <= start_ms {
            return Err(ClipError::Reversed);
        }
        if let Some(d) = duration_ms {
            // A second of slack: sites round durations to whole seconds.
            if start_ms >= d || end_ms > d + 1000 {
                return Err(ClipError::PastEnd { duration_ms: d });
            }
        }
        if end_ms - start_ms < MIN_CLIP_MS {
            return Err(ClipError::TooShort);
        }
        if start_ms == 0 && duration_ms.is_some_and(|d| end_ms >= d) {
            // The whole video: not a clip.
            return Ok(None);
        }
        Ok(Some(ClipRange { start_ms, end_ms }))
    }
}

/// Why a range was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClipError {
    /// A bound is not a time.
    BadTime,
    /// The end is not after the start.
    Reversed,
    /// The range starts at or after the video's end.
    PastEnd { duration_ms: u64 },
    /// Shorter than [`MIN_CLIP_MS`].
    TooShort,
    /// Only a start, and the video's length is unknown.
    EndUnknown,
}

// By hand, not `thiserror`: this crate stays serde only for the page's WASM.
impl std::error::Error for ClipError {}

impl core::fmt::Display for ClipError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ClipError::BadTime => "a clip time is not a time",
            ClipError::Reversed => "the clip ends before it starts",
            ClipError::PastEnd { .. } => "the clip is past the end of the video",
            ClipError::TooShort => "the clip is too short",
            ClipError::EndUnknown => "the clip needs an end",
        })
    }
}

/// A JSON bound: seconds as a number (`4`, `4.25`) or text
/// (`"[HH:]MM:SS[.mmm]"`, or plain seconds `"4.5"`). Null means absent.
pub fn parse_bound(value: &serde_json::Value) -> Result<Option<u64>, ClipError> {
    match value {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Number(n) => {
            let secs = n.as_f64().ok_or(ClipError::BadTime)?;
            seconds_to_ms(secs).map(Some)
        }
        serde_json::Value::String(s) if s.trim().is_empty() => Ok(None),
        serde_json::Value::String(s) => parse_time(s).map(Some),
        _ => Err(ClipError::BadTime),
    }
}

fn seconds_to_ms(secs: f64) -> Result<u64, ClipError> {
    // Ten days: far past any video, and far from u64's edge.
    if !secs.is_finite() || !(0.0..=864_000.0).contains(&secs) {
        return Err(ClipError::BadTime);
    }
    Ok((secs * 1000.0).round() as u64)
}

/// `"1:02:03.5"`, `"02:03"`, `"2:03.250"`, `"75"`, `"75.5"` → milliseconds.
/// Minutes and seconds after the first field are below 60.
pub fn parse_time(text: &str) -> Result<u64, ClipError> {
    let text = text.trim();
    if text.is_empty() || text.len() > 16 {
        return Err(ClipError::BadTime);
    }
    let (whole, frac) = match text.split_once(['.', ',']) {
        Some((w, f)) => (w, Some(f)),
        None => (text, None),
    };
    let frac_ms = match frac {
        None => 0,
        Some(f) if f.is_empty() || f.len() > 3 || !f.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(ClipError::BadTime)
        }
        Some(f) => {
            let digits: u64 = f.parse().map_err(|_| ClipError::BadTime)?;
            digits * 10u64.pow(3 - f.len() as u32)
        }
    };
    let fields: Vec<&str> = whole.split(':').collect();
    if fields.len() > 3 || fields.iter().any(|f| f.is_empty() || f.len() > 6 || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(ClipError::BadTime);
    }
    let numbers: Vec<u64> = fields.iter().map(|f| f.parse().unwrap_or(u64::MAX)).collect();
    if numbers.iter().skip(1).any(|n| *n >= 60) {
        return Err(ClipError::BadTime);
    }
    let secs = numbers.iter().fold(0u64, |acc, n| acc.saturating_mul(60).saturating_add(*n));
    if secs > 864_000 {
        return Err(ClipError::BadTime);
    }
    Ok(secs * 1000 + frac_ms)
}

/// `4000` → `0:04`, `3_723_500` → `1:02:03.5`: how the page writes a time
/// in its fields (and `parse_time` reads it back).
pub fn clock_ms(ms: u64) -> String {
    let (secs, rest) = (ms / 1000, ms % 1000);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") };
    if rest > 0 {
        let mut frac = format!("{rest:03}");
        while frac.ends_with('0') {
            frac.pop();
        }
        out.push('.');
        out.push_str(&frac);
    }
    out
}

/// `4000` → `0m04s`, `3_723_500` → `1h02m03.5s`.
fn name_time(ms: u64) -> String {
    let (secs, rest) = (ms / 1000, ms % 1000);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = if h > 0 { format!("{h}h{m:02}m{s:02}") } else { format!("{m}m{s:02}") };
    if rest > 0 {
        let mut frac = format!("{rest:03}");
        while frac.ends_with('0') {
            frac.pop();
        }
        out.push('.');
        out.push_str(&frac);
    }
    out.push('s');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_are_read_in_every_written_form() {
        assert_eq!(parse_time("4"), Ok(4000));
        assert_eq!(parse_time("4.5"), Ok(4500));
        assert_eq!(parse_time("0:04"), Ok(4000));
        assert_eq!(parse_time("00:04.250"), Ok(4250));
        assert_eq!(parse_time("1:02:03.5"), Ok(3_723_500));
        assert_eq!(parse_time("90"), Ok(90_000));
        assert_eq!(parse_time(" 1:30 "), Ok(90_000));
        for bad in ["", "x", "1:60", "1:2:3:4", "-1", "1.2345", "1:", ":5", "1e3", "٣", "0:04.", "99999999"] {
            assert_eq!(parse_time(bad), Err(ClipError::BadTime), "{bad:?}");
        }
    }

    #[test]
    fn json_bounds_are_numbers_or_text() {
        assert_eq!(parse_bound(&json!(4)), Ok(Some(4000)));
        assert_eq!(parse_bound(&json!(4.25)), Ok(Some(4250)));
        assert_eq!(parse_bound(&json!("0:08")), Ok(Some(8000)));
        assert_eq!(parse_bound(&json!(null)), Ok(None));
        assert_eq!(parse_bound(&json!("")), Ok(None));
        assert_eq!(parse_bound(&json!(-1)), Err(ClipError::BadTime));
        assert_eq!(parse_bound(&json!(1e300)), Err(ClipError::BadTime));
        assert_eq!(parse_bound(&json!(true)), Err(ClipError::BadTime));
        assert_eq!(parse_bound(&json!([4])), Err(ClipError::BadTime));
    }

    #[test]
    fn ranges_are_checked_against_the_video() {
        let d = Some(12_000);
        assert_eq!(
            ClipRange::from_bounds(Some(4000), Some(8000), d),
            Ok(Some(ClipRange { start_ms: 4000, end_ms: 8000 }))
        );
        assert_eq!(ClipRange::from_bounds(None, None, d), Ok(None));
        assert_eq!(ClipRange::from_bounds(Some(0), Some(12_000), d), Ok(None), "the whole video");
        assert_eq!(ClipRange::from_bounds(Some(4000), None, d), Ok(Some(ClipRange { start_ms: 4000, end_ms: 12_000 })));
        assert_eq!(ClipRange::from_bounds(Some(8000), Some(4000), d), Err(ClipError::Reversed));
        assert_eq!(ClipRange::from_bounds(Some(4000), Some(4000), d), Err(ClipError::Reversed));
        assert_eq!(ClipRange::from_bounds(Some(4000), Some(4200), d), Err(ClipError::TooShort));
        assert_eq!(
            ClipRange::from_bounds(Some(4000), Some(30_000), d),
            Err(ClipError::PastEnd { duration_ms: 12_000 })
        );
        assert_eq!(ClipRange::from_bounds(Some(12_000), None, d), Err(ClipError::PastEnd { duration_ms: 12_000 }));
        assert_eq!(ClipRange::from_bounds(Some(4000), None, None), Err(ClipError::EndUnknown));
    }

    #[test]
    fn labels_and_clocks() {
        let r = ClipRange { start_ms: 4000, end_ms: 8000 };
        assert_eq!(r.label(), "0m04s-0m08s");
        assert_eq!(ClipRange { start_ms: 4500, end_ms: 3_723_000 }.label(), "0m04.5s-1h02m03s");
        assert_eq!(clock_ms(4000), "0:04");
        assert_eq!(clock_ms(3_723_500), "1:02:03.5");
        for ms in [0, 4000, 4250, 59_999, 3_723_500] {
            assert_eq!(parse_time(&clock_ms(ms)), Ok(ms));
        }
    }
}
