//! The application layer of leakypick: everything between the pure core and the
//! command line. It reads capture files, attaches vendors and user-given names to
//! devices, runs the core's detectors over a capture, keeps the history, and renders
//! results as a table, JSON Lines or CSV.
//!
//! One folder per feature, each with its options, its `run`-style entry points and its
//! own `render` module (the JSON shapes of that feature): [`capture`] reads files into
//! decoded packets (and holds the bundled [`capture::sample`]), [`analyze`],
//! [`compare`], [`evaluate`] (labels, report, plot), [`simulate`], [`monitor`] (config,
//! alert, live source, replay), [`history`] (the SQLite store behind `devices`, `events`,
//! `name`) and [`probing`] (sessions, probe audio). Shared services that import no
//! feature: [`render`] (the table/JSON/CSV toolkit), [`oui`] and [`names`] (vendors and
//! user names).

pub mod analyze;
pub mod campaign;
pub mod capture;
pub mod compare;
pub mod error;
pub mod evaluate;
pub mod files;
pub mod history;
pub mod monitor;
pub mod names;
pub mod oui;
pub mod phonetic;
pub mod probing;
pub mod process;
pub mod progress;
pub mod render;
#[cfg(feature = "live")]
pub mod replay;
pub mod settings;
pub mod simulate;
pub mod timespec;
