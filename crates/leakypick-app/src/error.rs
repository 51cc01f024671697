//! The error of a command run through the application layer: one variant per module
//! error, each with its own message (naming the file, key or flag and what to do).
//! The binary prints it with its causes; a closed stdout pipe is not an error there.

use std::io;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Capture(#[from] crate::capture::CaptureError),
    #[error(transparent)]
    Setting(#[from] crate::settings::SettingError),
    #[error(transparent)]
    File(#[from] crate::files::FileError),
    #[error(transparent)]
    Names(#[from] crate::names::NamesError),
    #[error(transparent)]
    Store(#[from] crate::history::StoreError),
    #[error(transparent)]
    Labels(#[from] crate::evaluate::labels::LabelError),
    #[error(transparent)]
    Eval(#[from] crate::evaluate::EvalError),
    #[error(transparent)]
    Simulate(#[from] crate::simulate::SimError),
    #[error(transparent)]
    Spec(#[from] crate::simulate::SpecError),
    #[error(transparent)]
    Window(#[from] crate::compare::WindowSpecError),
    #[error(transparent)]
    Compare(#[from] crate::compare::CompareError),
    #[error(transparent)]
    Config(#[from] crate::monitor::config::ConfigError),
    #[error(transparent)]
    Alert(#[from] crate::monitor::alert::AlertError),
    #[error(transparent)]
    Source(#[from] crate::monitor::source::SourceError),
    #[error(transparent)]
    Monitor(#[from] crate::monitor::MonitorError),
    #[error(transparent)]
    ProbeLog(#[from] crate::probing::ProbeLogError),
    #[error(transparent)]
    Session(#[from] crate::probing::SessionError),
    #[error(transparent)]
    Audio(#[from] crate::probing::audio::AudioError),
    /// Writing the output (a closed pipe is reported as this too). The message holds
    /// the cause, so it is not also given as the source.
    #[error("cannot write the output: {0}")]
    Output(io::Error),
    /// A request that the options make impossible, e.g. `--labels` missing.
    #[error("{0}")]
    Usage(String),
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Output(e)
    }
}

impl Error {
    /// A usage error: what is missing or contradictory, and what to do.
    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage(message.into())
    }

    /// True when the output's reader went away (`leakypick analyze | head`,
    /// `leakypick simulate --out - | head`).
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            Error::Output(e) | Error::Simulate(crate::simulate::SimError::Pcap(e)) => {
                e.kind() == io::ErrorKind::BrokenPipe
            }
            _ => false,
        }
    }
}

/// The result of a command.
pub type Result<T, E = Error> = std::result::Result<T, E>;
