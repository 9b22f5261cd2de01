//! The parts of the page, each in its own file, top to bottom: the
//! settings in the masthead, the link form, what the lookup found (a video
//! or a playlist card, with its quality picker and the download's other
//! choices), the downloads, and the status panel in the footer. `card` holds
//! what both cards share; `options` the choices besides the quality, and
//! `clip_range` the part of a video to download.

mod card;
mod clip_range;
mod download_list;
mod lookup_form;
mod lookup_result;
mod options;
mod playlist_card;
mod quality_picker;
mod settings;
mod status_panel;
mod video_card;

pub use download_list::DownloadList;
pub use lookup_form::LookupForm;
pub use lookup_result::LookupResult;
pub use settings::Settings;
pub use status_panel::StatusPanel;
