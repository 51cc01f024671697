//! What can go wrong while reading a capture: errors that stop a file, warnings that
//! do not.
//!
//! Every message starts with the source name and, where there is one, the byte offset,
//! because a user with twenty files needs to know which one to look at and where.

use std::fmt;
use std::io;

/// A capture that cannot be read at all, or an I/O failure while reading one.
///
/// Problems in the *contents* of a file after its header (a record cut short, a corrupt
/// block) are not errors: the packets before them are still good, so they become a
/// [`CaptureWarning`] and reading goes on with the other files.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be opened.
    #[error("{file}: cannot open: {error}")]
    Open { file: String, error: io::Error },

    /// Reading failed (a disk or pipe error, not a format problem).
    #[error("{file}: read error at byte {offset}: {error}")]
    Read {
        file: String,
        offset: u64,
        error: io::Error,
    },

    /// The file holds no bytes at all.
    #[error("{file}: the file is empty; leakypick reads pcap and pcapng captures")]
    Empty { file: String },

    /// The file ends before its first header is complete.
    #[error(
        "{file}: the file ends at byte {len}, inside the {what} ({needed} bytes needed); \
         it is cut short or not a capture"
    )]
    TooShort {
        file: String,
        len: u64,
        what: &'static str,
        needed: u64,
    },

    /// The first four bytes are not a pcap or pcapng magic number.
    #[error(
        "{file}: not a pcap or pcapng file (magic 0x{magic:08x} at byte 0){}; \
         leakypick reads pcap and pcapng",
        hint_suffix(.hint)
    )]
    UnknownFormat {
        file: String,
        magic: u32,
        /// What the bytes look like instead, when that is recognisable.
        hint: Option<&'static str>,
    },

    /// The file header is recognised but unusable.
    #[error("{file}: byte {offset}: {problem}")]
    BadHeader {
        file: String,
        offset: u64,
        problem: String,
    },
}

fn hint_suffix(hint: &Option<&'static str>) -> String {
    match hint {
        Some(h) => format!(": {h}"),
        None => String::new(),
    }
}

/// Why single records were skipped while the rest of the file was read.
///
/// Each kind is reported once per file, with a count, so a file with a million bad
/// records yields one warning, not a million.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// A pcapng packet names an interface that its section does not describe.
    UnknownInterface,
    /// The timestamp does not fit the years 1678 to 2262 that a [`leakypick_core::Timestamp`] covers.
    TimestampOverflow,
    /// A pcapng packet claims more captured bytes than its block holds.
    CapturedLengthBeyondBlock,
    /// A classic pcap record's microsecond or nanosecond field is not below one second.
    InvalidSubsecond,
    /// A pcapng block is shorter than the fixed fields of its type.
    MalformedBlock,
    /// A pcapng section describes more interfaces than leakypick keeps
    /// ([`MAX_INTERFACES`](super::MAX_INTERFACES)): the interface description blocks
    /// beyond the limit and the packets on those interfaces.
    InterfaceLimit,
}

impl SkipReason {
    /// Every reason, in the order warnings are reported.
    pub const ALL: [SkipReason; 6] = [
        SkipReason::UnknownInterface,
        SkipReason::TimestampOverflow,
        SkipReason::CapturedLengthBeyondBlock,
        SkipReason::InvalidSubsecond,
        SkipReason::MalformedBlock,
        SkipReason::InterfaceLimit,
    ];

    pub(crate) fn index(self) -> usize {
        match self {
            SkipReason::UnknownInterface => 0,
            SkipReason::TimestampOverflow => 1,
            SkipReason::CapturedLengthBeyondBlock => 2,
            SkipReason::InvalidSubsecond => 3,
            SkipReason::MalformedBlock => 4,
            SkipReason::InterfaceLimit => 5,
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SkipReason::UnknownInterface => "unknown interface",
            SkipReason::TimestampOverflow => "timestamp out of range",
            SkipReason::CapturedLengthBeyondBlock => "captured length beyond the block",
            SkipReason::InvalidSubsecond => "invalid sub-second field",
            SkipReason::MalformedBlock => "malformed block",
            SkipReason::InterfaceLimit => "interface beyond the limit per section",
        })
    }
}

/// A problem in one file that did not stop the others from being read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureWarning {
    /// The file ends in the middle of a record: the packets before it were read.
    #[error(
        "{file}: capture breaks off at byte {offset} ({what} needs {needed} bytes, {available} left); \
         {}",
        read_before(*.packets_before)
    )]
    Truncated {
        file: String,
        /// Offset of the record or block that is cut short.
        offset: u64,
        /// "record" (pcap) or "block" (pcapng).
        what: &'static str,
        needed: u64,
        available: u64,
        packets_before: u64,
    },

    /// The file's framing is broken part way (a corrupt length field, a mismatched
    /// block trailer), so nothing after that point can be found reliably.
    #[error(
        "{file}: unreadable from byte {offset} on ({problem}); {}",
        read_before(*.packets_before)
    )]
    Corrupt {
        file: String,
        offset: u64,
        problem: String,
        packets_before: u64,
    },

    /// Some records were skipped for one reason; the rest of the file was read.
    #[error(
        "{file}: skipped {}: {reason}, the first at byte {first_offset}: {detail}",
        crate::render::count(*.count, "record")
    )]
    Skipped {
        file: String,
        reason: SkipReason,
        count: u64,
        first_offset: u64,
        /// What was wrong with the first such record.
        detail: String,
    },
}

/// `1 packet before it was read`, `2 packets before it were read`.
fn read_before(packets: u64) -> String {
    if packets == 1 {
        "1 packet before it was read".to_string()
    } else {
        format!("{packets} packets before it were read")
    }
}
