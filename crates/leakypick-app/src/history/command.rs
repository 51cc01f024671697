//! The commands that read or edit the history: `devices`, `events`, `name` and
//! `report` (the last probing session). What each was asked, and its run.

use super::render::{write_device_name, write_devices, write_events};
use super::{default_data_dir, OpenMode, Store};
use crate::error::{Error, Result};
use crate::process::wall_clock;
use crate::render::Format;
use crate::timespec::TimeSpec;
use leakypick_core::DeviceKey;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The data directory: `--data-dir` (or the configuration's), else the default.
pub fn data_dir(given: Option<&Path>) -> Result<PathBuf> {
    match given {
        Some(d) => Ok(d.to_path_buf()),
        None => default_data_dir().ok_or_else(|| {
            Error::usage(
                "no data directory: set --data-dir, LEAKYPICK_DATA_DIR, XDG_DATA_HOME or HOME",
            )
        }),
    }
}

/// Opens the history for a command that only reads it: read only, never created,
/// migrated or written.
pub fn open_for_reading(given: Option<&Path>) -> Result<Store> {
    Ok(Store::open_with(&data_dir(given)?, OpenMode::ReadOnly)?)
}

/// Opens the history for the monitor: created if missing, migrated.
pub fn open_for_writing(given: Option<&Path>) -> Result<Store> {
    Ok(Store::open_with(&data_dir(given)?, OpenMode::Create)?)
}

/// Opens an existing history to edit it (`name`): never created.
pub fn open_existing(given: Option<&Path>) -> Result<Store> {
    Ok(Store::open_with(&data_dir(given)?, OpenMode::Existing)?)
}

/// `leakypick devices`.
pub fn devices(data_dir: Option<&Path>, format: Format, out: &mut dyn Write) -> Result<()> {
    let devices = open_for_reading(data_dir)?.devices()?;
    write_devices(out, &devices, format)?;
    Ok(out.flush()?)
}

/// `leakypick events [--since T]`; a time ago counts back from the wall clock.
pub fn events(
    data_dir: Option<&Path>,
    since: Option<TimeSpec>,
    format: Format,
    out: &mut dyn Write,
) -> Result<()> {
    let since = since
        .map(|t| t.resolve(None, Some(wall_clock())))
        .transpose()
        .map_err(|e| Error::usage(format!("--since: {e}")))?;
    let events = open_for_reading(data_dir)?.detections(since)?;
    write_events(out, &events, format)?;
    Ok(out.flush()?)
}

/// `leakypick name DEVICE NAME`: names a device the history knows (an empty name removes
/// the name), and prints what it did.
pub fn name(
    data_dir: Option<&Path>,
    device: DeviceKey,
    name: &str,
    format: Format,
    out: &mut dyn Write,
) -> Result<()> {
    let mut st = open_existing(data_dir)?;
    if !st.set_name(device, Some(name))? {
        return Err(Error::usage(format!(
            "unknown device {device} in {}: only devices in the history can be named (see `leakypick devices`)",
            st.path().display()
        )));
    }
    write_device_name(out, device, name.trim(), format)?;
    Ok(out.flush()?)
}

/// `leakypick report`: the last probing session in the history.
pub fn report(data_dir: Option<&Path>, format: Format, out: &mut dyn Write) -> Result<()> {
    let st = open_for_reading(data_dir)?;
    let Some((id, summary, verdicts)) = st.last_probe_session()? else {
        return Err(Error::usage(format!(
            "no probing session in {} yet: run `leakypick probe -i IFACE` first",
            st.path().display()
        )));
    };
    crate::probing::render::write_stored_session(out, id, &summary, &verdicts, format)?;
    Ok(out.flush()?)
}
