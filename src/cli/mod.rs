//! The command line: clap definitions only (the "low" phase). Each command's arguments
//! map field by field onto the application's command struct (`leakypick_app::*::command`),
//! which checks every value once. No rule about a value lives here beyond its type.
//!
//! One vocabulary: the same concept has the same flag in every command (`--format`,
//! `--data-dir`, `--names`, `--preset`, `--burst-window`, `--threshold-kbps`,
//! `--min-windows`, `--include-lan`, `--probe-test`, `--p-threshold`, `--decide-by`,
//! `--device`, `--filter`); times take the forms of `leakypick_app::timespec`.

mod args;

pub use args::*;
