//! The capture line every command that reads captures prints under its tables.

use super::CaptureStats;
use crate::render::human_time;
use std::io::{self, Write};

pub(crate) fn write_capture_line(out: &mut dyn Write, c: &CaptureStats) -> io::Result<()> {
    let span = match (c.first, c.last) {
        (Some(a), Some(b)) => format!(
            ", {} to {} UTC ({:.1} s)",
            human_time(a),
            human_time(b),
            b.secs_since(a)
        ),
        _ => String::new(),
    };
    writeln!(
        out,
        "Read {} packet{} from {} file{}, {} skipped{span}.",
        c.packets,
        if c.packets == 1 { "" } else { "s" },
        c.files,
        if c.files == 1 { "" } else { "s" },
        c.skipped
    )
}
