//! Labelled activations for `leakypick evaluate`: the native CSV format and importers for
//! the label styles of real datasets.
//!
//! # Native CSV (`--labels-format native`)
//!
//! ```text
//! # leakypick labels v1: one labelled activation per line
//! mac,start,end,kind
//! 68:db:f5:00:00:01,1767225610.250000000,1767225615.870000000,voice
//! 68:db:f5:00:00:02,+20,+26,voice
//! 00:03:7f:96:d8:ec,,,
//! ```
//!
//! - Lines starting with `#` are comments; blank lines are ignored. The first other line
//!   is the header, `mac,start,end,kind` (or `mac,start,end`).
//! - `mac` is the device's MAC address (an IP address for captures without MACs). It
//!   must be a device seen in the capture; `evaluate` checks that.
//! - `start` and `end` are epoch seconds with up to nine decimals (read exactly, not
//!   through a float), `+S` seconds after the capture's first packet, an RFC 3339 time
//!   with an offset (`2026-01-01T00:00:10.25Z`) or a date (midnight UTC): the forms of
//!   [`crate::timespec`] without a time ago. The interval is `[start, end)`; `end` may
//!   equal `start` (an instant), never precede it.
//! - `kind` is free text (`voice`, `motion`) and may be empty or left out.
//! - A line with `start` and `end` both empty declares a device that was labelled and
//!   never activated: it is evaluated (its detections are false alarms) although it
//!   has no activation. Without such a line, only devices with activations are scored.
//!
//! Every error names the file and line: unknown MAC, end before start, unparseable
//! time or MAC, wrong number of columns.
//!
//! # Importers
//!
//! - [`parse_ifttt`] (`--labels-format ifttt`): IFTTT event logs, rows like
//!   `"March 08, 2021 at 01:05PM","wyze-cam-01","event_motion"` in a local time zone at
//!   minute resolution. A [`DeviceMap`] names the MAC of each device name; a time zone
//!   ([`time_zone`]) turns local minutes into instants. Each event becomes the
//!   activation `[minute, minute + 60 s)` of kind `motion` (the event name without
//!   `event_`). Rows of devices not in the map are ignored (and counted in a note);
//!   repeated rows for the same device, minute and kind are one activation, since a
//!   minute-resolution log cannot tell two of them apart in time.
//! - [`from_file_name`] (`--labels-format filename`): captures named like
//!   `haipeng_li__alexa_5_30s.pcap` say "5 utterances about 30 s apart", but not when
//!   the first one was. On the real captures the spacing does not hold (the `alexa`
//!   uploads are about 23 s apart, `set_volume_to_five` about 37 s), so turning the name
//!   into intervals would label the wrong seconds. The importer makes a *count label*
//!   instead: "N activations of this device somewhere in the capture". `evaluate`
//!   groups the device's detections (a detection starting within half the spacing of
//!   the previous group's end joins it, so a command and its answer are one) and scores
//!   `min(groups, N)` as detected and the groups beyond N as false alarms. Its weakness:
//!   it never checks *when* a detection happened, so a detector that fires N times at
//!   the wrong moments scores perfectly, and it gives no slot-level rates and no
//!   window pairs. Use it for a sanity check of counts, not for ROC curves.
//! - A camera's list of activation intervals: no capture in `../shared/captures` comes
//!   with one (the cameras' labels are the IFTTT log), so such lists are read in the
//!   native CSV format.

use crate::timespec::{Forms, TimeSpec};
use leakypick_core::{DeviceKey, Mac, Timestamp};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

/// The first line of a native label file written by leakypick.
pub const NATIVE_COMMENT: &str = "# leakypick labels v1: one labelled activation per line";
/// The header line of the native format.
pub const NATIVE_HEADER: &str = "mac,start,end,kind";

/// Where a label came from: file and 1-based line (0 when the whole file, or its name,
/// is the label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelOrigin {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for LabelOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.file)
        } else {
            write!(f, "{}:{}", self.file, self.line)
        }
    }
}

/// A label file that cannot be used, naming the file and, where there is one, the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct LabelError {
    pub origin: LabelOrigin,
    pub message: String,
}

impl LabelError {
    pub fn new(origin: LabelOrigin, message: impl Into<String>) -> LabelError {
        LabelError {
            origin,
            message: message.into(),
        }
    }

    fn at(file: &str, line: usize, message: impl Into<String>) -> LabelError {
        LabelError::new(
            LabelOrigin {
                file: file.to_string(),
                line,
            },
            message,
        )
    }
}

/// One labelled activation whose times may still be relative to the capture's first
/// packet (resolved by `evaluate`, which reads the capture).
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalLabel {
    pub device: DeviceKey,
    pub start: TimeSpec,
    pub end: TimeSpec,
    pub kind: String,
    pub origin: LabelOrigin,
}

/// "This device was activated `count` times somewhere in the capture" (see the module
/// documentation for how it is scored and why it is weak).
#[derive(Debug, Clone, PartialEq)]
pub struct CountLabel {
    /// The device; `None` means "the device that uploaded the most bytes to the cloud",
    /// for captures (like the haipeng_li ones) filtered to one device and its gateway.
    pub device: Option<DeviceKey>,
    pub count: u32,
    /// The nominal spacing of the activations, when the source gives one.
    pub spacing_nanos: Option<i64>,
    pub kind: String,
    pub origin: LabelOrigin,
}

/// All labels of an evaluation, possibly from several files.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LabelSet {
    pub intervals: Vec<IntervalLabel>,
    pub counts: Vec<CountLabel>,
    /// Devices declared as labelled but never activated.
    pub idle_devices: Vec<(DeviceKey, LabelOrigin)>,
    /// What the importers decided that the user should know (rows ignored or merged).
    pub notes: Vec<String>,
}

impl LabelSet {
    /// Adds the labels of another file.
    pub fn extend(&mut self, other: LabelSet) {
        self.intervals.extend(other.intervals);
        self.counts.extend(other.counts);
        self.idle_devices.extend(other.idle_devices);
        self.notes.extend(other.notes);
    }

    pub fn is_empty(&self) -> bool {
        self.intervals.is_empty() && self.counts.is_empty() && self.idle_devices.is_empty()
    }
}

/// Which label importer reads a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabelFormat {
    /// The native CSV format (the module documentation).
    #[default]
    Native,
    /// An IFTTT event log (needs a device map and a time zone).
    Ifttt,
    /// Utterance count and spacing from a capture's file name.
    FileName,
}

impl LabelFormat {
    pub fn name(self) -> &'static str {
        match self {
            LabelFormat::Native => "native",
            LabelFormat::Ifttt => "ifttt",
            LabelFormat::FileName => "filename",
        }
    }
}

/// A label format name that is not one of the importers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown label format '{0}' (choose native, ifttt or filename)")]
pub struct UnknownLabelFormat(pub String);

impl std::str::FromStr for LabelFormat {
    type Err = UnknownLabelFormat;

    fn from_str(s: &str) -> Result<LabelFormat, UnknownLabelFormat> {
        match s {
            "native" | "csv" => Ok(LabelFormat::Native),
            "ifttt" => Ok(LabelFormat::Ifttt),
            "filename" | "file-name" => Ok(LabelFormat::FileName),
            other => Err(UnknownLabelFormat(other.to_string())),
        }
    }
}

fn read_text(path: &Path) -> Result<String, LabelError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| LabelError::at(&file, 0, format!("cannot read the label file: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        LabelError::at(
            &file,
            valid.iter().filter(|&&b| b == b'\n').count() + 1,
            "the file is not UTF-8 text",
        )
    })
}

/// A device identifier that is neither a MAC nor an IP address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is neither a MAC address (like 68:db:f5:90:19:64) nor an IP address")]
pub struct BadDevice(pub String);

/// Parses a device identifier: a MAC address, or an IP address for captures without MACs
/// (`--device`, label files, device maps).
pub fn parse_device(s: &str) -> Result<DeviceKey, BadDevice> {
    let s = s.trim();
    if let Ok(m) = s.parse::<Mac>() {
        return Ok(DeviceKey::Mac(m));
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(DeviceKey::Ip(ip));
    }
    Err(BadDevice(s.to_string()))
}

/// Splits one line into CSV fields (quotes allowed, surrounding spaces trimmed).
///
/// Label files are read line by line rather than by one CSV reader over the whole file,
/// because every error must name the line, and the `csv` crate does not count comment
/// and blank lines in its positions.
fn csv_fields(line: &str) -> Result<Vec<String>, csv::Error> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(line.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => Ok(record.iter().map(str::to_string).collect()),
        Ok(false) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Reads a native label file.
pub fn read_native(path: &Path) -> Result<LabelSet, LabelError> {
    let text = read_text(path)?;
    parse_native(&path.display().to_string(), &text)
}

/// Parses the text of a native label file; `file` names it in errors.
pub fn parse_native(file: &str, text: &str) -> Result<LabelSet, LabelError> {
    let mut set = LabelSet::default();
    let mut columns: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let owned = csv_fields(trimmed)
            .map_err(|e| LabelError::at(file, line, format!("not valid CSV: {e}")))?;
        let fields: Vec<&str> = owned.iter().map(String::as_str).collect();
        if fields.iter().all(|f| f.is_empty()) {
            continue;
        }
        let Some(ncols) = columns else {
            let names: Vec<String> = fields.iter().map(|f| f.to_ascii_lowercase()).collect();
            if names == ["mac", "start", "end", "kind"] || names == ["mac", "start", "end"] {
                columns = Some(names.len());
                continue;
            }
            return Err(LabelError::at(
                file,
                line,
                format!(
                    "expected the header '{NATIVE_HEADER}' (found '{}'); see docs/evaluation-format.md",
                    fields.join(",")
                ),
            ));
        };
        if fields.len() < 3 || fields.len() > ncols {
            return Err(LabelError::at(
                file,
                line,
                format!(
                    "{} column{} where the header has {ncols} ({})",
                    fields.len(),
                    if fields.len() == 1 { "" } else { "s" },
                    if ncols == 4 {
                        NATIVE_HEADER
                    } else {
                        "mac,start,end"
                    }
                ),
            ));
        }
        let device =
            parse_device(fields[0]).map_err(|e| LabelError::at(file, line, e.to_string()))?;
        let origin = LabelOrigin {
            file: file.to_string(),
            line,
        };
        let kind = fields.get(3).copied().unwrap_or("").to_string();
        match (fields[1].is_empty(), fields[2].is_empty()) {
            (true, true) => {
                set.idle_devices.push((device, origin));
                continue;
            }
            (true, false) | (false, true) => {
                return Err(LabelError::at(
                    file,
                    line,
                    "start and end must both be given (or both be empty, for a device that was never activated)",
                ));
            }
            (false, false) => {}
        }
        // A time ago would change with every run: not in a file.
        let time = |which: &str, text: &str| {
            TimeSpec::parse_as(text, Forms::IN_CAPTURE)
                .map_err(|e| LabelError::at(file, line, format!("{which}: {e}")))
        };
        let start = time("start", fields[1])?;
        let end = time("end", fields[2])?;
        // Times of the same kind can be checked now; mixed ones once the capture is read.
        let before = match (start, end) {
            (TimeSpec::At(a), TimeSpec::At(b)) => b < a,
            (TimeSpec::AfterFirst(a), TimeSpec::AfterFirst(b)) => b < a,
            _ => false,
        };
        if before {
            return Err(LabelError::at(
                file,
                line,
                format!(
                    "the end ({}) is before the start ({})",
                    fields[2], fields[1]
                ),
            ));
        }
        set.intervals.push(IntervalLabel {
            device,
            start,
            end,
            kind,
            origin,
        });
    }
    if columns.is_none() {
        return Err(LabelError::at(
            file,
            0,
            format!("no header '{NATIVE_HEADER}' and no labels: the file is empty"),
        ));
    }
    Ok(set)
}

/// Formats one activation as a line of the native format (absolute epoch seconds with
/// nine decimals, as the simulator writes them).
pub fn native_line(device: DeviceKey, start: Timestamp, end: Timestamp, kind: &str) -> String {
    let t = |t: Timestamp| {
        let secs = t.0.div_euclid(Timestamp::NANOS_PER_SEC);
        let nanos = t.0.rem_euclid(Timestamp::NANOS_PER_SEC);
        format!("{secs}.{nanos:09}")
    };
    let kind = if kind.contains([',', '"', '\n']) {
        format!("\"{}\"", kind.replace('"', "\"\""))
    } else {
        kind.to_string()
    };
    format!("{device},{},{},{kind}", t(start), t(end))
}

/// A device map (`--device-map`) that cannot be used; the message names the entry.
#[derive(Debug, thiserror::Error)]
pub enum DeviceMapError {
    #[error(
        "'{0}' is not a device map entry: expected NAME=MAC, like blink-cam-01=f4:b8:5e:ff:2b:1b"
    )]
    NotAnEntry(String),
    #[error("'{0}' has no name before '='")]
    NoName(String),
    #[error("'{entry}': {device}")]
    Device { entry: String, device: BadDevice },
    #[error("the device map is empty: expected NAME=MAC entries")]
    Empty,
    #[error("cannot read the device map {}: {io}", path.display())]
    Read {
        path: std::path::PathBuf,
        io: std::io::Error,
    },
    #[error("{}: {error}", path.display())]
    InFile {
        path: std::path::PathBuf,
        error: Box<DeviceMapError>,
    },
}

/// Names of devices in a label source (camera names in an IFTTT log) mapped to devices.
///
/// Text form: `name=MAC` entries separated by commas or newlines; `#` starts a comment.
/// Example: `blink-cam-01=f4:b8:5e:ff:2b:1b, wyze-cam-01=2c:aa:8e:00:00:01`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceMap {
    map: BTreeMap<String, DeviceKey>,
}

impl DeviceMap {
    /// Parses the text form; an error names the entry.
    pub fn parse(text: &str) -> Result<DeviceMap, DeviceMapError> {
        let mut map = BTreeMap::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            for entry in line.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                let (name, dev) = entry
                    .split_once('=')
                    .ok_or_else(|| DeviceMapError::NotAnEntry(entry.to_string()))?;
                let name = name.trim();
                if name.is_empty() {
                    return Err(DeviceMapError::NoName(entry.to_string()));
                }
                let dev = parse_device(dev).map_err(|device| DeviceMapError::Device {
                    entry: entry.to_string(),
                    device,
                })?;
                map.insert(name.to_string(), dev);
            }
        }
        if map.is_empty() {
            return Err(DeviceMapError::Empty);
        }
        Ok(DeviceMap { map })
    }

    /// Reads a device map from a file (same text form; one entry per line is usual).
    pub fn load(path: &Path) -> Result<DeviceMap, DeviceMapError> {
        let text = std::fs::read_to_string(path).map_err(|io| DeviceMapError::Read {
            path: path.to_path_buf(),
            io,
        })?;
        DeviceMap::parse(&text).map_err(|e| DeviceMapError::InFile {
            path: path.to_path_buf(),
            error: Box::new(e),
        })
    }

    /// A map with one entry.
    pub fn single(name: impl Into<String>, device: DeviceKey) -> DeviceMap {
        DeviceMap {
            map: BTreeMap::from([(name.into(), device)]),
        }
    }

    pub fn get(&self, name: &str) -> Option<DeviceKey> {
        self.map.get(name).copied()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }
}

/// The time zone of a local-time label source.
///
/// Accepts an IANA name (`America/New_York`), looked up in the system database
/// (`/usr/share/zoneinfo`) or, when the system has none, in the copy of the IANA
/// database built into leakypick, so a clean machine works too; a POSIX TZ rule
/// (`EST5EDT,M3.2.0,M11.1.0`); `UTC`; or a fixed offset (`-05:00`).
pub fn time_zone(name: &str) -> Result<jiff::tz::TimeZone, UnknownTimeZone> {
    let name = name.trim();
    if name.eq_ignore_ascii_case("utc") || name == "Z" {
        return Ok(jiff::tz::TimeZone::UTC);
    }
    if let Ok(tz) = jiff::tz::TimeZone::get(name) {
        return Ok(tz);
    }
    if let Some(tz) = parse_fixed_offset(name) {
        return Ok(tz);
    }
    if let Ok(tz) = jiff::tz::TimeZone::posix(name) {
        return Ok(tz);
    }
    Err(UnknownTimeZone(name.to_string()))
}

/// A time zone that is not an IANA name, a POSIX rule, UTC or an offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown time zone '{0}': expected an IANA name (America/New_York), a POSIX TZ rule \
     (EST5EDT,M3.2.0,M11.1.0), UTC, or an offset (-05:00)"
)]
pub struct UnknownTimeZone(pub String);

fn parse_fixed_offset(s: &str) -> Option<jiff::tz::TimeZone> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..=25).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    let offset = jiff::tz::Offset::from_seconds(sign * (h * 3600 + m * 60)).ok()?;
    Some(jiff::tz::TimeZone::fixed(offset))
}

/// Reads an IFTTT event log.
pub fn read_ifttt(
    path: &Path,
    devices: &DeviceMap,
    tz: &jiff::tz::TimeZone,
) -> Result<LabelSet, LabelError> {
    let text = read_text(path)?;
    parse_ifttt(&path.display().to_string(), &text, devices, tz)
}

/// Parses an IFTTT event log (see the module documentation).
///
/// Local times that a daylight-saving change makes ambiguous (the repeated hour in
/// autumn) take the earlier instant, and times in the skipped hour in spring move
/// forward by the gap (RFC 5545's rule, jiff's "compatible"); both are counted in a note.
pub fn parse_ifttt(
    file: &str,
    text: &str,
    devices: &DeviceMap,
    tz: &jiff::tz::TimeZone,
) -> Result<LabelSet, LabelError> {
    let mut set = LabelSet::default();
    let mut seen: HashSet<(DeviceKey, i64, String)> = HashSet::new();
    let mut ignored: BTreeMap<String, u64> = BTreeMap::new();
    let mut used_names: HashSet<String> = HashSet::new();
    let (mut rows, mut merged, mut odd_local) = (0u64, 0u64, 0u64);
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let record = csv_fields(raw.trim())
            .map_err(|e| LabelError::at(file, line, format!("not valid CSV: {e}")))?;
        if record.len() != 3 {
            return Err(LabelError::at(
                file,
                line,
                format!(
                    "{} columns; an IFTTT event row has 3: \"TIME\",\"DEVICE\",\"EVENT\"",
                    record.len()
                ),
            ));
        }
        let (when, name, event) = (record[0].as_str(), record[1].as_str(), record[2].as_str());
        let dt = jiff::civil::DateTime::strptime("%B %d, %Y at %I:%M%p", when).map_err(|_| {
            LabelError::at(
                file,
                line,
                format!(
                    "'{when}' is not an IFTTT time (expected like 'March 08, 2021 at 01:05PM')"
                ),
            )
        })?;
        rows += 1;
        let Some(device) = devices.get(name) else {
            *ignored.entry(name.to_string()).or_insert(0) += 1;
            continue;
        };
        used_names.insert(name.to_string());
        let ambiguous = tz.to_ambiguous_timestamp(dt);
        if !matches!(
            ambiguous.offset(),
            jiff::tz::AmbiguousOffset::Unambiguous { .. }
        ) {
            odd_local += 1;
        }
        let start = ambiguous
            .compatible()
            .ok()
            .and_then(|t| i64::try_from(t.as_nanosecond()).ok())
            .map(Timestamp)
            .ok_or_else(|| LabelError::at(file, line, format!("'{when}' is out of range")))?;
        let kind = event.strip_prefix("event_").unwrap_or(event).to_string();
        if !seen.insert((device, start.0, kind.clone())) {
            merged += 1;
            continue;
        }
        set.intervals.push(IntervalLabel {
            device,
            start: TimeSpec::At(start),
            end: TimeSpec::At(Timestamp(start.0 + 60 * Timestamp::NANOS_PER_SEC)),
            kind,
            origin: LabelOrigin {
                file: file.to_string(),
                line,
            },
        });
    }
    if set.intervals.is_empty() {
        let names: Vec<&str> = devices.names().collect();
        return Err(LabelError::at(
            file,
            0,
            format!(
                "none of its {rows} events is for a device in the device map ({}); devices in the file: {}",
                names.join(", "),
                ignored.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    set.notes.push(format!(
        "{file}: {} from {} of {} (each [minute, minute + 60 s) in {})",
        crate::render::count(set.intervals.len(), "activation"),
        crate::render::count(set.intervals.len() as u64 + merged, "event"),
        used_names.iter().cloned().collect::<Vec<_>>().join(", "),
        tz.iana_name().unwrap_or("the given time zone"),
    ));
    if merged > 0 {
        set.notes.push(format!(
            "{file}: {} (same device, minute and kind) merged into the activation before them",
            crate::render::count(merged, "repeated event")
        ));
    }
    if !ignored.is_empty() {
        let total: u64 = ignored.values().sum();
        set.notes.push(format!(
            "{file}: {} of devices not in the device map ignored ({})",
            crate::render::count(total, "event"),
            ignored
                .iter()
                .map(|(n, c)| format!("{n}: {c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for name in devices.names() {
        if !used_names.contains(name) {
            set.notes
                .push(format!("{file}: no event for '{name}' of the device map"));
        }
    }
    if odd_local > 0 {
        set.notes.push(format!(
            "{file}: {odd_local} local times fall in a daylight-saving change (skipped or repeated hour) and were resolved the RFC 5545 way"
        ));
    }
    Ok(set)
}

/// A count label from a capture's file name, like `haipeng_li__alexa_5_30s.pcap`
/// (see the module documentation). `device` says whose activations they are; `None`
/// leaves it to `evaluate`, which takes the device that uploaded most to the cloud.
pub fn from_file_name(name: &str, device: Option<DeviceKey>) -> Result<LabelSet, LabelError> {
    let base = Path::new(name)
        .file_name()
        .map_or(name.to_string(), |f| f.to_string_lossy().into_owned());
    let stem = base
        .strip_suffix(".pcapng")
        .or_else(|| base.strip_suffix(".pcap"))
        .unwrap_or(&base);
    let err = || {
        LabelError::at(
            name,
            0,
            "the file name does not encode utterances: expected NAME_N_Ss.pcap, like haipeng_li__alexa_5_30s.pcap (N utterances about S seconds apart)",
        )
    };
    let mut parts = stem.rsplitn(3, '_');
    let (spacing, count, rest) = (parts.next(), parts.next(), parts.next());
    let spacing_s: u32 = spacing
        .and_then(|s| s.strip_suffix('s'))
        .and_then(|s| s.parse().ok())
        .ok_or_else(err)?;
    let count: u32 = count.and_then(|c| c.parse().ok()).ok_or_else(err)?;
    let rest = rest.ok_or_else(err)?;
    let what = rest.split_once("__").map_or(rest, |(_, cmd)| cmd);
    let origin = LabelOrigin {
        file: name.to_string(),
        line: 0,
    };
    let label = CountLabel {
        device,
        count,
        spacing_nanos: Some(i64::from(spacing_s) * Timestamp::NANOS_PER_SEC),
        kind: format!("voice: {}", what.replace('_', " ")),
        origin,
    };
    Ok(LabelSet {
        notes: vec![format!(
            "{base}: count label, {} about {spacing_s} s apart at unknown times; detections are grouped (within {} s) and counted, their times are not checked",
            crate::render::count(count, "activation"),
            spacing_s as f64 / 2.0
        )],
        counts: vec![label],
        ..LabelSet::default()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const S: i64 = Timestamp::NANOS_PER_SEC;

    #[test]
    fn native_example_parses_exactly() {
        let text = format!(
            "{NATIVE_COMMENT}\n{NATIVE_HEADER}\n68:db:f5:00:00:01,1767225610.250000000,1767225615.870000000,voice\n\n# a comment\n68:db:f5:00:00:02,+20,+26\n00:03:7f:96:d8:ec,,,\n"
        );
        let set = parse_native("l.csv", &text).unwrap();
        assert_eq!(set.intervals.len(), 2);
        let a = &set.intervals[0];
        assert_eq!(a.start, TimeSpec::At(Timestamp(1_767_225_610_250_000_000)));
        assert_eq!(a.end, TimeSpec::At(Timestamp(1_767_225_615_870_000_000)));
        assert_eq!((a.kind.as_str(), a.origin.line), ("voice", 3));
        assert_eq!(set.intervals[1].start, TimeSpec::AfterFirst(20 * S));
        assert_eq!(set.intervals[1].kind, "");
        assert_eq!(set.intervals[1].origin.to_string(), "l.csv:6");
        assert_eq!(set.idle_devices.len(), 1);
        assert_eq!(set.idle_devices[0].1.line, 7);
        // Round trip of the writer.
        let line = native_line(
            "68:db:f5:00:00:01"
                .parse::<Mac>()
                .map(DeviceKey::Mac)
                .unwrap(),
            Timestamp(1_767_225_610_250_000_000),
            Timestamp(1_767_225_615_870_000_000),
            "voice",
        );
        assert_eq!(
            line,
            "68:db:f5:00:00:01,1767225610.250000000,1767225615.870000000,voice"
        );
    }

    #[test]
    fn native_errors_name_the_line() {
        let h = format!("{NATIVE_HEADER}\n");
        let cases = [
            (
                format!("{h}68:db:f5:00:00:01,+5,+2,voice\n"),
                2,
                "before the start",
            ),
            (
                format!("{h}68:db:f5:00:00:01,+5,+6\nzz:db,+1,+2\n"),
                3,
                "neither a MAC",
            ),
            (
                format!("{h}68:db:f5:00:00:01,yesterday,+2\n"),
                2,
                "start: 'yesterday'",
            ),
            (
                format!("{h}68:db:f5:00:00:01,+1,+2,voice,extra\n"),
                2,
                "5 columns",
            ),
            (format!("{h}68:db:f5:00:00:01,+1\n"), 2, "2 columns"),
            (format!("{h}68:db:f5:00:00:01,+1,\n"), 2, "both be given"),
            (format!("{h}68:db:f5:00:00:01,5,-inf\n"), 2, "end: '-inf'"),
            (
                "68:db:f5:00:00:01,+1,+2\n".to_string(),
                1,
                "expected the header",
            ),
        ];
        for (text, line, needle) in cases {
            let e = parse_native("bad.csv", &text).unwrap_err();
            assert_eq!(e.origin.line, line, "{e}");
            assert!(
                e.to_string().contains(needle),
                "{e} should mention {needle}"
            );
            assert!(
                e.to_string().starts_with(&format!("bad.csv:{line}: ")),
                "{e}"
            );
        }
        assert!(parse_native("empty.csv", "# nothing\n").is_err());
    }

    #[test]
    fn times() {
        let parse_time = |s: &str| TimeSpec::parse_as(s, Forms::IN_CAPTURE);
        assert_eq!(parse_time("+0.5"), Ok(TimeSpec::AfterFirst(S / 2)));
        assert_eq!(
            parse_time("1.000000001"),
            Ok(TimeSpec::At(Timestamp(S + 1)))
        );
        assert_eq!(
            parse_time("2021-03-15T15:30:00Z"),
            Ok(TimeSpec::At(Timestamp(1_615_822_200 * S)))
        );
        assert!(parse_time("+-1").is_err());
        assert!(parse_time("1e3").is_err());
        assert!(parse_time(".").is_err());
        assert_eq!(
            parse_time("2021-03-15"),
            Ok(TimeSpec::At(Timestamp(1_615_766_400 * S)))
        );
        let e = parse_native(
            "l.csv",
            &format!("{NATIVE_HEADER}\n68:db:f5:00:00:01,2h,1h\n"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("l.csv:2: start: '2h' is a time ago"), "{e}");
    }

    #[test]
    fn ifttt_in_new_york_across_the_dst_change() {
        let tz = time_zone("America/New_York").unwrap();
        let map = DeviceMap::parse("blink-cam-01=f4:b8:5e:ff:2b:1b").unwrap();
        let text = "\"March 08, 2021 at 01:18PM\",\"blink-cam-01\",\"event_motion\"\n\
                    \"March 08, 2021 at 01:18PM\",\"blink-cam-02\",\"event_motion\"\n\
                    \"March 15, 2021 at 11:30AM\",\"blink-cam-01\",\"event_motion\"\n\
                    \"March 15, 2021 at 11:30AM\",\"blink-cam-01\",\"event_motion\"\n";
        let set = parse_ifttt("ifttt.csv", text, &map, &tz).unwrap();
        assert_eq!(set.intervals.len(), 2);
        // 13:18 EST (UTC-5) = 18:18 UTC = 1615227480.
        assert_eq!(
            set.intervals[0].start,
            TimeSpec::At(Timestamp(1_615_227_480 * S))
        );
        assert_eq!(
            set.intervals[0].end,
            TimeSpec::At(Timestamp(1_615_227_540 * S))
        );
        // 11:30 EDT (UTC-4, after 14 March) = 15:30 UTC = 1615822200.
        assert_eq!(
            set.intervals[1].start,
            TimeSpec::At(Timestamp(1_615_822_200 * S))
        );
        assert_eq!(set.intervals[1].kind, "motion");
        assert_eq!(set.intervals[1].origin.line, 3);
        assert!(
            set.notes.iter().any(|n| n.contains("1 repeated")),
            "{:?}",
            set.notes
        );
        assert!(
            set.notes.iter().any(|n| n.contains("blink-cam-02: 1")),
            "{:?}",
            set.notes
        );
        // A POSIX rule gives the same instants without any database.
        let posix = time_zone("EST5EDT,M3.2.0,M11.1.0").unwrap();
        let set2 = parse_ifttt("ifttt.csv", text, &map, &posix).unwrap();
        assert_eq!(set2.intervals[1].start, set.intervals[1].start);
        // Errors name the line.
        let e = parse_ifttt(
            "ifttt.csv",
            "\"March 8 2021\",\"blink-cam-01\",\"x\"\n",
            &map,
            &tz,
        )
        .unwrap_err();
        assert_eq!(e.origin.line, 1);
        let e = parse_ifttt("ifttt.csv", "\"a\",\"b\"\n", &map, &tz).unwrap_err();
        assert!(e.to_string().contains("ifttt.csv:1: 2 columns"), "{e}");
        let e = parse_ifttt(
            "ifttt.csv",
            "\"March 08, 2021 at 01:18PM\",\"x\",\"event_motion\"\n",
            &map,
            &tz,
        )
        .unwrap_err();
        assert!(e.to_string().contains("devices in the file: x"), "{e}");
    }

    #[test]
    fn time_zones_and_maps() {
        assert!(time_zone("Mars/Olympus").is_err());
        assert!(time_zone("-05:00").is_ok());
        assert!(time_zone("UTC").is_ok());
        let m =
            DeviceMap::parse("a=68:db:f5:00:00:01, b = 10.0.0.2 # c\nd=02:00:00:00:00:01").unwrap();
        assert_eq!(m.names().count(), 3);
        assert!(matches!(m.get("b"), Some(DeviceKey::Ip(_))));
        assert!(DeviceMap::parse("a").is_err());
        assert!(DeviceMap::parse("a=zz").is_err());
    }

    #[test]
    fn file_names() {
        let s = from_file_name("/x/haipeng_li__flip_a_coin_5_30s.pcap", None).unwrap();
        let c = &s.counts[0];
        assert_eq!((c.count, c.spacing_nanos), (5, Some(30 * S)));
        assert_eq!(c.kind, "voice: flip a coin");
        assert!(from_file_name("echodot3a_active.pcap", None).is_err());
        assert!(from_file_name("x_5_30.pcap", None).is_err());
    }
}
