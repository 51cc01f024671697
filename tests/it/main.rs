//! The one integration-test binary. Each module tests one capability on real captures
//! from `../shared/captures` (see `util::shared_captures`).

mod alerts;
mod analyze;
mod capture;
mod cli_eval;
mod compare;
mod config;
mod errors;
mod evaluate;
mod fuzz;
#[cfg(feature = "live")]
mod live;
mod monitor;
#[cfg(feature = "live")]
mod monitor_live;
mod output_contract;
mod phonetic;
mod probe_audio;
#[cfg(feature = "live")]
mod probing;
mod regressions;
mod report;
mod simulate;
mod snapshots;
mod store;
mod testbed;
mod tidy;
mod util;
mod vocabulary;
mod wifi;
