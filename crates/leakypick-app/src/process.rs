//! What a long-running command needs from the process it runs in: the wall clock as a
//! [`Timestamp`] (the one conversion of `SystemTime`), the stderr logger, and a stop
//! flag raised by SIGTERM and SIGINT.
//!
//! Everything else in leakypick takes time from packet timestamps; only live capture
//! (a silent network), probe playback and the logger read the clock, through
//! [`wall_clock`].

use leakypick_core::Timestamp;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The wall clock as a [`Timestamp`]; times before 1970 are negative, times past 2262
/// saturate.
pub fn wall_clock() -> Timestamp {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => Timestamp(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
        Err(e) => Timestamp(i64::try_from(e.duration().as_nanos()).map_or(i64::MIN, |n| -n)),
    }
}

/// Log records on stderr: `TIME LEVEL message` (UTC). Under systemd they go to the journal.
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        eprintln!(
            "{} {:<5} {}",
            crate::render::human_time(wall_clock()),
            record.level(),
            record.args()
        );
    }

    fn flush(&self) {}
}

static LOGGER: StderrLogger = StderrLogger;

/// Installs the stderr logger at `level`. Only the first call installs it; later calls
/// change the level.
pub fn init_logging(level: log::LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

/// A flag raised by SIGTERM or SIGINT; a second signal while stopping exits at once.
pub fn stop_on_signals() -> std::io::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register_conditional_shutdown(sig, 1, Arc::clone(&stop))?;
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    Ok(stop)
}
