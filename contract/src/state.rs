//! Where a download stands.

use serde::{Deserialize, Serialize};

/// A job's state: the `status` of `GET /api/status/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for a free download slot.
    #[default]
    Queued,
    /// Fetching the media.
    Downloading,
    /// Post-processing: merging video and audio, extracting audio, fixing
    /// up the container (which one: [`PostStep`]).
    Merging,
    /// The file is ready.
    Completed,
    /// It failed.
    Error,
    /// Someone cancelled it.
    Cancelled,
}

impl JobState {
    /// Completed, failed or cancelled: nothing more will happen.
    pub fn is_finished(self) -> bool {
        matches!(self, JobState::Completed | JobState::Error | JobState::Cancelled)
    }

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Downloading => "downloading",
            JobState::Merging => "merging",
            JobState::Completed => "completed",
            JobState::Error => "error",
            JobState::Cancelled => "cancelled",
        }
    }
}

/// Which post-processing step runs while a job is [`JobState::Merging`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostStep {
    /// Video and audio into one file.
    Merge,
    /// The sound into an m4a/mp3.
    ExtractAudio,
    /// Repairing the container.
    Fixup,
    /// Any other step.
    Other,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_keep_the_seeds_names() {
        for (state, name) in [
            (JobState::Queued, "queued"),
            (JobState::Downloading, "downloading"),
            (JobState::Merging, "merging"),
            (JobState::Completed, "completed"),
            (JobState::Error, "error"),
            (JobState::Cancelled, "cancelled"),
        ] {
            assert_eq!(serde_json::to_string(&state).unwrap_or_default(), format!("\"{name}\""));
            assert_eq!(state.as_str(), name);
        }
        assert_eq!(serde_json::to_string(&PostStep::ExtractAudio).unwrap_or_default(), "\"extract_audio\"");
    }
}
