//! One overall progress across a download's stages.

use super::parse::{DownloadTick, PostStatus, TickStatus, YtDlpEvent};
use super::{Phase, PostStep, Progress};

/// Share of the overall percentage given to downloading; post-processing
/// (merge, audio extraction, fix-ups) fills the rest up to 100.
const DOWNLOAD_SHARE: f64 = 95.0;
/// Where the percentage stands once a post-processor has finished.
const POSTPROCESS_DONE: f64 = 99.0;

/// The stage being downloaded right now.
#[derive(Debug, Clone, Default)]
struct Stage {
    filename: Option<String>,
    downloaded: u64,
    /// Best guess of this file's size in bytes.
    total: Option<u64>,
    /// 0..=1, never decreasing.
    fraction: f64,
    finished: bool,
    /// `fragment_index` seen last, and `downloaded` when it began.
    fragment: Option<(u64, u64)>,
}

/// Turns a stream of [`YtDlpEvent`]s into one [`Progress`] that never goes
/// backwards.
///
/// The download stages (one per file yt-dlp fetches: the video, then the
/// audio of a `v+a` selection) share 95 % in proportion to their expected
/// sizes; post-processing takes the percentage to 99 %, and
/// [`complete`](Self::complete) to 100.
#[derive(Debug, Clone)]
pub struct ProgressTracker {
    /// Expected size of each stage, as planned.
    planned: Vec<Option<u64>>,
    /// Share of each planned stage, summing to 1.
    weights: Vec<f64>,
    /// Index of the current stage; `None` before the first tick.
    index: Option<usize>,
    stage: Stage,
    /// Bytes of the stages already finished.
    done_bytes: u64,
    percent: f64,
    phase: Phase,
    post_step: Option<PostStep>,
    speed: Option<f64>,
    eta: Option<u64>,
}

impl ProgressTracker {
    /// A tracker for a download of `stage_sizes.len()` files (at least one)
    /// with these expected sizes in bytes. Stages are weighted by size; an
    /// unknown size counts as the mean of the known ones, and with none
    /// known all stages weigh the same.
    pub fn new(stage_sizes: Vec<Option<u64>>) -> Self {
        let planned = if stage_sizes.is_empty() { vec![None] } else { stage_sizes };
        let known: Vec<f64> = planned.iter().flatten().map(|s| *s as f64).collect();
        let mean = if known.is_empty() { 1.0 } else { known.iter().sum::<f64>() / known.len() as f64 };
        let raw: Vec<f64> = planned.iter().map(|s| s.map_or(mean, |s| s as f64).max(1.0)).collect();
        let sum: f64 = raw.iter().sum();
        let weights = raw.iter().map(|w| w / sum).collect();
        ProgressTracker {
            planned,
            weights,
            index: None,
            stage: Stage::default(),
            done_bytes: 0,
            percent: 0.0,
            phase: Phase::Downloading,
            post_step: None,
            speed: None,
            eta: None,
        }
    }

    /// Takes one event; returns the new progress when it changed anything
    /// a person could see (ticks and post-processor steps), `None` for
    /// other events.
    pub fn feed(&mut self, event: &YtDlpEvent) -> Option<Progress> {
        match event {
            YtDlpEvent::Download(tick) => {
                self.tick(tick);
                Some(self.current())
            }
            YtDlpEvent::PostProcess(pp) => {
                let step = pp.step()?;
                self.finish_stage();
                self.phase = Phase::Merging;
                self.post_step = Some(step);
                self.speed = None;
                self.eta = None;
                let floor = match pp.status {
                    PostStatus::Finished => POSTPROCESS_DONE,
                    _ => DOWNLOAD_SHARE,
                };
                self.percent = self.percent.max(floor);
                Some(self.current())
            }
            YtDlpEvent::File(_) | YtDlpEvent::Warning(_) | YtDlpEvent::Error(_) => None,
        }
    }

    /// The progress as it stands.
    pub fn current(&self) -> Progress {
        let stages = self.stages();
        let stage = match (self.phase, self.index) {
            (Phase::Downloading, Some(i)) => u32::try_from(i + 1).unwrap_or(u32::MAX),
            (Phase::Downloading, None) => 0,
            _ => stages,
        };
        Progress {
            phase: self.phase,
            percent: round2(self.percent),
            downloaded_bytes: self.downloaded(),
            total_bytes: self.total(),
            speed: self.speed,
            eta: self.eta,
            stage,
            stages,
            post_step: if self.phase == Phase::Merging { self.post_step } else { None },
        }
    }

    /// The final progress: completed, 100 %, with the size of the file.
    pub fn complete(&mut self, file_size: u64) -> Progress {
        self.finish_stage();
        self.phase = Phase::Completed;
        self.percent = 100.0;
        self.speed = None;
        self.eta = Some(0);
        let mut p = self.current();
        p.downloaded_bytes = p.downloaded_bytes.max(file_size);
        p.total_bytes = Some(file_size);
        p
    }

    fn stages(&self) -> u32 {
        let seen = self.index.map_or(0, |i| i + 1);
        u32::try_from(self.planned.len().max(seen)).unwrap_or(u32::MAX)
    }

    fn downloaded(&self) -> u64 {
        self.done_bytes.saturating_add(self.stage.downloaded)
    }

    /// Everything expected: finished stages, the current one's estimate and
    /// the planned sizes of those to come. `None` when a part is unknown.
    fn total(&self) -> Option<u64> {
        let index = self.index.unwrap_or(0);
        let current = if self.index.is_some() {
            self.stage.total.or_else(|| self.planned.get(index).copied().flatten())?
        } else {
            self.planned.first().copied().flatten()?
        };
        let rest = self.planned.iter().skip(index + 1).try_fold(0u64, |acc, s| s.map(|s| acc.saturating_add(s)))?;
        Some(self.done_bytes.saturating_add(current.max(self.stage.downloaded)).saturating_add(rest))
    }

    fn finish_stage(&mut self) {
        if self.index.is_some() && !self.stage.finished {
            self.stage.finished = true;
            self.stage.fraction = 1.0;
            self.stage.total = Some(self.stage.downloaded);
            self.update_percent();
        }
    }

    fn tick(&mut self, tick: &DownloadTick) {
        let new_stage = match self.index {
            None => true,
            Some(_) => match (&tick.filename, &self.stage.filename) {
                (Some(new), Some(old)) => new != old,
                // Without names, a tick after a finished file starts the next.
                _ => self.stage.finished && tick.status != TickStatus::Finished,
            },
        };
        if new_stage {
            if let Some(i) = self.index {
                self.finish_stage();
                self.done_bytes = self.done_bytes.saturating_add(self.stage.downloaded);
                self.index = Some(i + 1);
            } else {
                self.index = Some(0);
            }
            self.stage = Stage { filename: tick.filename.clone(), ..Stage::default() };
        }
        self.phase = Phase::Downloading;
        self.post_step = None;

        let stage = &mut self.stage;
        stage.downloaded = tick.downloaded_bytes.max(stage.downloaded);
        let (fraction, total) = match tick.status {
            TickStatus::Finished => {
                stage.finished = true;
                let size = tick.total_bytes.unwrap_or(stage.downloaded).max(stage.downloaded);
                stage.downloaded = size;
                (1.0, Some(size))
            }
            _ => stage_estimate(stage, tick),
        };
        stage.fraction = stage.fraction.max(fraction.clamp(0.0, 1.0));
        if let Some(total) = total {
            stage.total = Some(total.max(stage.downloaded));
        }
        self.speed = tick.speed;
        self.update_percent();
        self.eta = self.overall_eta(tick);
    }

    fn update_percent(&mut self) {
        let Some(index) = self.index else { return };
        let before: f64 = self.weights.iter().take(index).sum();
        let here = self.weights.get(index).copied().unwrap_or(0.0);
        let overall = (before + here * self.stage.fraction).min(1.0);
        self.percent = self.percent.max(DOWNLOAD_SHARE * overall);
    }

    fn overall_eta(&self, tick: &DownloadTick) -> Option<u64> {
        if tick.status == TickStatus::Finished {
            return None;
        }
        let speed = self.speed.filter(|s| *s > 0.0);
        match (self.total(), speed) {
            (Some(total), Some(speed)) => {
                let remaining = total.saturating_sub(self.downloaded()) as f64;
                Some((remaining / speed).ceil() as u64)
            }
            // Only yt-dlp's own figure is left; it covers the last file only.
            _ if self.index.map_or(0, |i| i + 1) >= self.planned.len() => tick.eta,
            _ => None,
        }
    }
}

/// This file's completed fraction and size estimate from one tick.
fn stage_estimate(stage: &mut Stage, tick: &DownloadTick) -> (f64, Option<u64>) {
    if let (Some(index), Some(count)) = (tick.fragment_index, tick.fragment_count) {
        // Fragments: `index` of `count` are done. The running estimate swings,
        // so go by fragments, with the current one's share guessed from the
        // mean size of those before it.
        let start = match stage.fragment {
            Some((i, at)) if i == index => at,
            _ => {
                stage.fragment = Some((index, tick.downloaded_bytes));
                tick.downloaded_bytes
            }
        };
        if index >= count {
            return (1.0, Some(tick.downloaded_bytes));
        }
        let mean = if index > 0 {
            Some(start as f64 / index as f64)
        } else {
            tick.total_bytes_estimate.map(|t| t as f64 / count as f64)
        };
        let within = match mean {
            Some(m) if m > 0.0 => (tick.downloaded_bytes.saturating_sub(start) as f64 / m).min(0.99),
            _ => 0.0,
        };
        let fraction = (index as f64 + within) / count as f64;
        let total = match mean {
            Some(m) if index > 0 => Some((m * count as f64).round() as u64),
            _ => tick.total_bytes_estimate,
        };
        return (fraction, total);
    }
    if let Some(total) = tick.total_bytes.or(tick.total_bytes_estimate) {
        return (tick.downloaded_bytes as f64 / total as f64, Some(total));
    }
    (tick.percent.map_or(0.0, |p| p / 100.0), None)
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}
