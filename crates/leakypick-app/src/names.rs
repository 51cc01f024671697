//! User-given device names: a small text file that maps MAC addresses to names.
//!
//! Format: one device per line, a MAC address, then whitespace, a comma, a semicolon or
//! a tab, then the name (the rest of the line, trimmed). Blank lines and lines starting
//! with `#` are ignored. The same MAC twice keeps the last name. Example:
//!
//! ```text
//! # kitchen
//! 68:db:f5:90:19:64  Echo Dot (kitchen)
//! 00:03:7f:96:d8:ec, Blink hub
//! ```

use leakypick_core::Mac;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Names the user gave to devices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceNames {
    names: HashMap<Mac, String>,
}

/// A names file that cannot be used, with the file and line (the message holds its
/// cause).
#[derive(Debug, thiserror::Error)]
pub enum NamesError {
    #[error("cannot read the names file {}: {io}", path.display())]
    Read { path: PathBuf, io: std::io::Error },
    #[error("{}:{line}: {message}", path.display())]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// A line of a names text that cannot be used (1-based line number and the problem).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct NamesLineError {
    pub line: usize,
    pub message: String,
}

impl NamesLineError {
    fn new(line: usize, message: String) -> NamesLineError {
        NamesLineError { line, message }
    }
}

impl DeviceNames {
    /// Reads a names file.
    pub fn load(path: &Path) -> Result<DeviceNames, NamesError> {
        let bytes = std::fs::read(path).map_err(|io| NamesError::Read {
            path: path.to_path_buf(),
            io,
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            NamesError::Line {
                path: path.to_path_buf(),
                line: valid.iter().filter(|&&b| b == b'\n').count() + 1,
                message: "the file is not UTF-8 text".to_string(),
            }
        })?;
        DeviceNames::parse(&text).map_err(|e| NamesError::Line {
            path: path.to_path_buf(),
            line: e.line,
            message: e.message,
        })
    }

    /// Parses the text of a names file; an error gives the 1-based line and the problem.
    pub fn parse(text: &str) -> Result<DeviceNames, NamesLineError> {
        let mut names = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let split = line
                .find(|c: char| c.is_whitespace() || c == ',' || c == ';')
                .ok_or_else(|| {
                    NamesLineError::new(i + 1, format!("expected 'MAC NAME', found only '{line}'"))
                })?;
            let (mac_text, rest) = line.split_at(split);
            let mac: Mac = mac_text
                .parse()
                .map_err(|e: leakypick_core::net::ParseMacError| {
                    NamesLineError::new(i + 1, e.to_string())
                })?;
            let name = rest
                .trim_start_matches(|c: char| c.is_whitespace() || c == ',' || c == ';')
                .trim();
            if name.is_empty() {
                return Err(NamesLineError::new(
                    i + 1,
                    format!("no name after the MAC address {mac}"),
                ));
            }
            names.insert(mac, name.to_string());
        }
        Ok(DeviceNames { names })
    }

    /// Names from (MAC, name) pairs; the same MAC twice keeps the last name.
    pub fn from_entries(entries: impl IntoIterator<Item = (Mac, String)>) -> DeviceNames {
        DeviceNames {
            names: entries.into_iter().collect(),
        }
    }

    /// Adds `other`'s names; where both name a device, `other`'s name wins.
    pub fn merge(&mut self, other: DeviceNames) {
        self.names.extend(other.names);
    }

    pub fn get(&self, mac: Mac) -> Option<&str> {
        self.names.get(&mac).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_separators_comments_and_short_octets() {
        let n = DeviceNames::parse(
            "# testbed\n68:db:f5:90:19:64 echodot3a\n\n4c:17:44:ec:b:82\thb-echodot-4\n00:03:7f:96:d8:ec, Blink hub \n",
        )
        .unwrap();
        assert_eq!(n.len(), 3);
        assert_eq!(
            n.get("68:db:f5:90:19:64".parse().unwrap()),
            Some("echodot3a")
        );
        assert_eq!(
            n.get("4c:17:44:ec:0b:82".parse().unwrap()),
            Some("hb-echodot-4")
        );
        assert_eq!(
            n.get("00:03:7f:96:d8:ec".parse().unwrap()),
            Some("Blink hub")
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = DeviceNames::parse("68:db:f5:90:19:64 ok\nnot-a-mac name\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("not-a-mac"), "{e}");
        let e = DeviceNames::parse("68:db:f5:90:19:64\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = DeviceNames::parse("68:db:f5:90:19:64 ,\n").unwrap_err();
        assert!(e.message.contains("no name"), "{e}");
    }
}
