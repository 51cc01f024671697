//! The application layer of leakypick: everything between the pure core and the
//! command line. It reads capture files, attaches vendors and user-given names to
//! devices, runs the core's detectors over a capture, and renders results as a
//! table, JSON Lines or CSV.
//!
//! Modules follow the data flow: [`capture`] reads files into decoded packets,
//! [`analyze`] and [`compare`] drive the core over them, [`output`] renders the
//! reports, and [`oui`], [`names`] and [`sample`] supply vendors, user names and the
//! bundled sample capture.

pub mod alert;
pub mod analyze;
pub mod capture;
pub mod compare;
pub mod config;
pub mod evaluate;
pub mod labels;
#[cfg(feature = "live")]
pub mod live;
pub mod monitor;
pub mod names;
pub mod oui;
pub mod output;
pub mod output_eval;
pub mod plot;
pub mod probe_audio;
pub mod probing;
pub mod report;
pub mod sample;
pub mod simulate;
pub mod source;
pub mod store;
