//! Progress bars on standard error, for work that takes more than a second.
//!
//! A bar is drawn only when standard error is a terminal, and only once the work has
//! run for [`DELAY`] (a timer thread shows it then): a short run, a pipe, a log file or a
//! test never sees one (nothing at all is written then). It is cleared when the work is
//! done, before the command prints its results. Updates come from the work itself (a
//! capture's reads, about one per megabyte; the simulator's clock every few thousand
//! events), so the per-packet path costs nothing; while the work goes on without
//! updates (scoring after reading), the spinner and the clock still move.

use crate::capture::{CaptureSource, ReadHook};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// How long work runs before its bar appears.
pub const DELAY: Duration = Duration::from_secs(1);

/// A progress bar (or nothing, when standard error is not a terminal). Cheap to clone:
/// clones update the same bar. Dropping the last clone clears it.
#[derive(Clone, Default)]
pub struct Progress {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    bar: ProgressBar,
    state: Mutex<State>,
    /// Said once the bar is full and the work goes on (e.g. scoring after reading).
    after: &'static str,
}

enum State {
    /// Not drawn yet; dropping the sender tells the timer thread the work is done.
    Waiting {
        _wake: Sender<()>,
    },
    Shown,
    Finished,
}

impl Progress {
    /// No bar at all.
    pub fn hidden() -> Progress {
        Progress { inner: None }
    }

    /// A bar over `len` units (or a counter without an end when `len` is `None`),
    /// described by `message`, drawn after [`DELAY`] if standard error is a terminal.
    /// `bytes`: the units are bytes (shown as KiB, MiB, ...).
    fn new(len: Option<u64>, bytes: bool, message: &'static str, after: &'static str) -> Self {
        if !std::io::stderr().is_terminal() {
            return Progress::hidden();
        }
        let template = match (len.is_some(), bytes) {
            (true, true) => {
                "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} ({elapsed}, {eta} left)"
            }
            (true, false) => "{spinner} {msg} [{bar:30}] {percent}% ({elapsed}, {eta} left)",
            (false, true) => "{spinner} {msg} {bytes} ({elapsed})",
            (false, false) => "{spinner} {msg} ({elapsed})",
        };
        Progress::with_template(len, template, message, after)
    }

    fn with_template(
        len: Option<u64>,
        template: &'static str,
        message: &'static str,
        after: &'static str,
    ) -> Self {
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::hidden())
            .with_style(style)
            .with_message(message);
        let (tx, rx) = mpsc::channel::<()>();
        let inner = Arc::new(Inner {
            bar,
            state: Mutex::new(State::Waiting { _wake: tx }),
            after,
        });
        let weak: Weak<Inner> = Arc::downgrade(&inner);
        let timer = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || {
                if let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(DELAY) {
                    if let Some(inner) = weak.upgrade() {
                        inner.show();
                    }
                }
            });
        if timer.is_err() {
            // No thread, no bar: the work goes on without one.
            return Progress::hidden();
        }
        Progress { inner: Some(inner) }
    }

    /// A bar over the bytes of these captures, fed by their reads: for `analyze`,
    /// `compare`, `evaluate` and `analyze --probe-log`. `after` is said once every byte
    /// is read while the work goes on. Streams of unknown size (standard input) count
    /// bytes without an end.
    pub fn reading(sources: &mut [CaptureSource], after: &'static str) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress::hidden();
        }
        let total = sources.iter().map(CaptureSource::size).sum::<Option<u64>>();
        let message = if sources.len() == 1 {
            "reading the capture"
        } else {
            "reading the captures"
        };
        let progress = Progress::new(total, true, message, after);
        for source in sources {
            let p = progress.clone();
            let hook: ReadHook = Arc::new(move |n| p.inc(n));
            source.on_read(hook);
        }
        progress
    }

    /// A bar over a span of simulated time, in nanoseconds (`simulate`).
    pub fn simulated_time(span_nanos: u64) -> Progress {
        Progress::new(
            Some(span_nanos.max(1)),
            false,
            "simulating",
            "writing the files",
        )
    }

    /// A bar over `len` items counted one by one (`fuzz`: words synthesized, attempts
    /// played), with the count and the time left; the message can change as the work
    /// goes ([`Progress::say`]).
    pub fn items(len: u64, message: &'static str) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress::hidden();
        }
        Progress::with_template(
            Some(len.max(1)),
            "{spinner} {msg} [{bar:30}] {pos}/{len} ({elapsed}, {eta} left)",
            message,
            "",
        )
    }

    /// Replaces the bar's message (e.g. "fuzzing: 3 words found").
    pub fn say(&self, message: String) {
        if let Some(i) = &self.inner {
            i.bar.set_message(message);
        }
    }

    /// Changes how many units the work has in all.
    pub fn set_length(&self, len: u64) {
        if let Some(i) = &self.inner {
            i.bar.set_length(len.max(1));
        }
    }

    /// Adds `n` units.
    pub fn inc(&self, n: u64) {
        if let Some(i) = &self.inner {
            i.bar.inc(n);
            i.after_full();
        }
    }

    /// Sets the position to `n` units.
    pub fn set_position(&self, n: u64) {
        if let Some(i) = &self.inner {
            i.bar.set_position(n);
            i.after_full();
        }
    }

    /// Clears the bar: the work is done (also when the last clone is dropped).
    pub fn finish(&self) {
        if let Some(i) = &self.inner {
            i.finish();
        }
    }

    /// Whether a bar may be drawn (standard error is a terminal).
    pub fn is_active(&self) -> bool {
        self.inner.is_some()
    }
}

impl Inner {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Draws the bar from now on (the timer thread, after [`DELAY`]).
    fn show(&self) {
        let mut state = self.state();
        if let State::Waiting { .. } = *state {
            *state = State::Shown;
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            // The spinner and the clock move also while the work sends no updates.
            self.bar.enable_steady_tick(Duration::from_millis(200));
        }
    }

    /// Once the bar is full, says what the work goes on with.
    fn after_full(&self) {
        if !self.after.is_empty()
            && self
                .bar
                .length()
                .is_some_and(|len| self.bar.position() >= len)
            && self.bar.message() != self.after
        {
            self.bar.set_message(self.after);
        }
    }

    fn finish(&self) {
        let mut state = self.state();
        if !matches!(*state, State::Finished) {
            // Dropping a waiting state's sender wakes the timer thread, which then ends.
            *state = State::Finished;
            self.bar.finish_and_clear();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.finish();
    }
}
