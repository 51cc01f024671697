//! The configuration file of the live monitor (TOML).
//!
//! Every setting has a default, so an empty file (or no file) is a working
//! configuration; `docs/leakypick.example.toml` lists every key with its default.
//! Loading happens in two steps: serde reads the document into [`Config`] (unknown keys
//! and wrong types are refused there), then [`Config::validate`] checks ranges. Every
//! error, from either step, names the file, the line and column, and the key as a
//! dotted path (`alerts.mqtt.port`), and says what was expected.

use leakypick_core::baseline::BaselineConfig;
use leakypick_core::{BurstConfig, DestinationScope, Mac};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::names::DeviceNames;

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub capture: CaptureConfig,
    pub detect: DetectConfig,
    pub history: HistoryConfig,
    pub limits: LimitsConfig,
    pub alerts: AlertsConfig,
    pub logging: LoggingConfig,
    /// MAC address → device name.
    pub names: BTreeMap<String, String>,
}

/// `[capture]`: where packets come from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureConfig {
    /// Network interface; `None`: the system's default capture interface.
    pub interface: Option<String>,
    /// A BPF filter expression applied in the kernel; `None`: every packet.
    pub filter: Option<String>,
    /// Deliver packets as they arrive instead of in batches (at most a quarter second
    /// late). Batches cost far less CPU (docs/performance.md), and detections are
    /// seconds long, so batching is the default.
    pub immediate: bool,
    /// Capture 802.11 frames in monitor mode (for Wi-Fi devices on another network).
    pub monitor_mode: bool,
    /// Bytes kept of each packet (lengths come from the frame; 2048 keeps DHCP and mDNS).
    pub snaplen: u32,
    /// Size of the kernel's capture buffer in MiB: how long a stall of the monitor is
    /// ridden out without drops (32 MiB: a quarter second at 1 Gbit/s).
    pub buffer_mb: u32,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            interface: None,
            filter: None,
            immediate: false,
            monitor_mode: false,
            snaplen: 2048,
            buffer_mb: 32,
        }
    }
}

use crate::settings::BurstSettings;
pub use crate::settings::Preset;

/// Which destinations count as uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Destinations {
    /// Only destinations outside the local network.
    #[default]
    Cloud,
    /// Every unicast destination, LAN included.
    All,
}

/// `[detect]`: burst detection.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    pub preset: Preset,
    /// Overrides the preset's window length (seconds).
    pub window_s: Option<f64>,
    /// Overrides the preset's rate threshold (kbit/s).
    pub threshold_kbps: Option<f64>,
    /// Overrides the preset's number of consecutive hot windows.
    pub min_windows: Option<u32>,
    pub destinations: Destinations,
    /// Used with `preset = "adaptive"`.
    pub baseline: BaselineSection,
}

/// `[detect.baseline]`: the per-device threshold of the adaptive preset.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BaselineSection {
    pub floor_kbps: f64,
    pub factor: f64,
    pub quantile: f64,
    pub warmup_windows: u32,
    pub half_life_windows: f64,
}

impl Default for BaselineSection {
    fn default() -> Self {
        let b = BaselineConfig::product_default();
        BaselineSection {
            floor_kbps: b.floor_bps / 1000.0,
            factor: b.factor,
            quantile: b.quantile,
            warmup_windows: b.warmup_windows,
            half_life_windows: b.half_life_windows,
        }
    }
}

/// `[history]`: the SQLite store.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {
    /// `None`: [`crate::history::default_data_dir`].
    pub data_dir: Option<PathBuf>,
    /// Traffic and detections written more than this many days ago (wall clock, not
    /// packet time) are deleted; 0 keeps everything.
    pub retention_days: u32,
    /// Seconds between commits of the collected traffic.
    pub flush_interval_s: u32,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            data_dir: None,
            retention_days: 90,
            flush_interval_s: 5,
        }
    }
}

/// `[limits]`: caps on memory.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Devices tracked at most; traffic of further devices is counted but not analysed.
    pub max_devices: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig { max_devices: 4096 }
    }
}

/// `[alerts]`: where detections are sent.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// At most one alert per device in this many seconds; 0: no limit.
    pub min_interval_s: u32,
    pub webhook: Option<WebhookConfig>,
    pub mqtt: Option<MqttConfig>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            min_interval_s: 300,
            webhook: None,
            mqtt: None,
        }
    }
}

/// `[alerts.webhook]`: an HTTP POST with a JSON body per alert.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// `http://` or `https://` URL (required).
    pub url: String,
    #[serde(default = "default_timeout_s")]
    pub timeout_s: f64,
    /// Extra request headers (e.g. `Authorization`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

fn default_timeout_s() -> f64 {
    10.0
}

/// `[alerts.mqtt]`: MQTT messages with Home Assistant discovery.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// Broker host name or address (required).
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default)]
    pub username: Option<String>,
    /// A file holding the password (kept out of the config file).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default = "default_topic_prefix")]
    pub topic_prefix: String,
    #[serde(default = "default_discovery_prefix")]
    pub discovery_prefix: String,
    #[serde(default = "default_client_id")]
    pub client_id: String,
}

fn default_port() -> u16 {
    1883
}
fn default_topic_prefix() -> String {
    "leakypick".to_string()
}
fn default_discovery_prefix() -> String {
    "homeassistant".to_string()
}
fn default_client_id() -> String {
    "leakypick".to_string()
}

/// Log levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

/// `[logging]`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    pub level: LogLevel,
}

/// A setting out of range, found by [`Config::validate`]: the key path and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{}`: {message}", dotted(.path))]
pub struct InvalidSetting {
    /// Path segments, e.g. `["alerts", "mqtt", "port"]`.
    pub path: Vec<String>,
    pub message: String,
}

impl InvalidSetting {
    fn new(path: &[&str], message: impl Into<String>) -> InvalidSetting {
        InvalidSetting {
            path: path.iter().map(|s| s.to_string()).collect(),
            message: message.into(),
        }
    }

    /// The dotted key, e.g. `alerts.mqtt.port`.
    pub fn key(&self) -> String {
        dotted(&self.path)
    }
}

/// A configuration file that cannot be used (the message holds its cause).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {}: {io}", path.display())]
    Read { path: PathBuf, io: std::io::Error },
    /// A problem at a place in the file. `key` is the dotted path when known (a syntax
    /// error may have none); `line` and `column` are 1-based.
    #[error("{file}:{line}:{column}: {}{message}", key_prefix(key.as_deref()))]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        key: Option<String>,
        message: String,
    },
}

impl ConfigError {
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Invalid { line, .. } => Some(*line),
            ConfigError::Read { .. } => None,
        }
    }

    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => key.as_deref(),
            ConfigError::Read { .. } => None,
        }
    }
}

/// "`KEY`: " when the key is known.
fn key_prefix(key: Option<&str>) -> String {
    key.map(|k| format!("`{k}`: ")).unwrap_or_default()
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|io| ConfigError::Read {
            path: path.to_path_buf(),
            io,
        })?;
        Config::parse(&path.display().to_string(), &text)
    }

    /// Parses and validates the text of a config file; `name` names it in errors.
    pub fn parse(name: &str, text: &str) -> Result<Config, ConfigError> {
        let invalid = |pos: usize, key: Option<String>, message: String| {
            let (line, column) = line_col(text, pos);
            ConfigError::Invalid {
                file: name.to_string(),
                line,
                column,
                key,
                message,
            }
        };
        let doc = DeTable::parse(text).map_err(|e| {
            let pos = e.span().map_or(0, |s| s.start);
            invalid(pos, None, format!("invalid TOML: {}", e.message().trim()))
        })?;
        let config: Config = toml::from_str(text).map_err(|e| {
            let pos = e.span().map_or(0, |s| s.start);
            let mut path = Vec::new();
            find_key_at(doc.get_ref(), pos, &mut path);
            let (key, message) = explain(&path, e.message().trim());
            invalid(pos, key, message)
        })?;
        config.validate().map_err(|bad| {
            let pos = locate(doc.get_ref(), &bad.path).unwrap_or(0);
            invalid(pos, Some(bad.key()), bad.message.clone())
        })?;
        Ok(config)
    }

    /// Checks the ranges serde cannot, naming the first bad setting.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let c = &self.capture;
        if c.interface.as_deref().is_some_and(|i| i.trim().is_empty()) {
            return Err(InvalidSetting::new(
                &["capture", "interface"],
                "expected an interface name, found an empty string",
            ));
        }
        if !(64..=262_144).contains(&c.snaplen) {
            return Err(InvalidSetting::new(
                &["capture", "snaplen"],
                format!("expected 64 to 262144 bytes, found {}", c.snaplen),
            ));
        }
        if !(1..=2048).contains(&c.buffer_mb) {
            return Err(InvalidSetting::new(
                &["capture", "buffer_mb"],
                format!("expected 1 to 2048 MiB, found {}", c.buffer_mb),
            ));
        }
        self.burst_config()?;
        if self.history.flush_interval_s == 0 {
            return Err(InvalidSetting::new(
                &["history", "flush_interval_s"],
                "expected at least 1 second",
            ));
        }
        if self
            .history
            .data_dir
            .as_ref()
            .is_some_and(|d| d.as_os_str().is_empty())
        {
            return Err(InvalidSetting::new(
                &["history", "data_dir"],
                "expected a directory, found an empty string",
            ));
        }
        if self.limits.max_devices == 0 {
            return Err(InvalidSetting::new(
                &["limits", "max_devices"],
                "expected at least 1 device",
            ));
        }
        if let Some(w) = &self.alerts.webhook {
            if !(w.url.starts_with("http://") || w.url.starts_with("https://"))
                || w.url.len() <= "https://".len()
            {
                return Err(InvalidSetting::new(
                    &["alerts", "webhook", "url"],
                    format!(
                        "expected a URL starting with http:// or https://, found {:?}",
                        w.url
                    ),
                ));
            }
            if let Some(host) = placeholder_host(&w.url) {
                return Err(InvalidSetting::new(
                    &["alerts", "webhook", "url"],
                    format!(
                        "{:?} is a placeholder ({host} is reserved for examples and reaches \
                         no one): set the URL of your own webhook, or remove the \
                         [alerts.webhook] section to send no webhook alerts",
                        w.url
                    ),
                ));
            }
            if !(w.timeout_s.is_finite() && w.timeout_s > 0.0) {
                return Err(InvalidSetting::new(
                    &["alerts", "webhook", "timeout_s"],
                    format!(
                        "expected a positive number of seconds, found {}",
                        w.timeout_s
                    ),
                ));
            }
            for name in w.headers.keys() {
                let token = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
                let path = vec![
                    "alerts".into(),
                    "webhook".into(),
                    "headers".into(),
                    name.clone(),
                ];
                if !token {
                    return Err(InvalidSetting {
                        path,
                        message: format!("expected an HTTP header name, found {name:?}"),
                    });
                }
                if is_placeholder_secret(&w.headers[name]) {
                    return Err(InvalidSetting {
                        path,
                        message: format!(
                            "{:?} is the example's placeholder: set your own token, or \
                             remove the header",
                            w.headers[name]
                        ),
                    });
                }
            }
        }
        if let Some(m) = &self.alerts.mqtt {
            if m.host.trim().is_empty() {
                return Err(InvalidSetting::new(
                    &["alerts", "mqtt", "host"],
                    "expected a host name or address, found an empty string",
                ));
            }
            if m.port == 0 {
                return Err(InvalidSetting::new(
                    &["alerts", "mqtt", "port"],
                    "expected a port from 1 to 65535, found 0",
                ));
            }
            for (key, value) in [
                ("topic_prefix", &m.topic_prefix),
                ("discovery_prefix", &m.discovery_prefix),
            ] {
                if value.is_empty() || value.contains(['+', '#']) {
                    return Err(InvalidSetting::new(
                        &["alerts", "mqtt", key],
                        format!("expected a topic without wildcards (+, #), found {value:?}"),
                    ));
                }
            }
            if m.client_id.is_empty() {
                return Err(InvalidSetting::new(
                    &["alerts", "mqtt", "client_id"],
                    "expected a client id, found an empty string",
                ));
            }
        }
        for (mac, name) in &self.names {
            let path = vec!["names".to_string(), mac.clone()];
            if let Err(e) = mac.parse::<Mac>() {
                return Err(InvalidSetting {
                    path,
                    message: format!("expected a MAC address like \"aa:bb:cc:dd:ee:ff\": {e}"),
                });
            }
            if name.trim().is_empty() {
                return Err(InvalidSetting {
                    path,
                    message: "expected a device name, found an empty string".to_string(),
                });
            }
        }
        Ok(())
    }

    /// The burst detector's parameters: the preset with the overrides applied, checked
    /// by the same rules as the command line's (`crate::settings`).
    pub fn burst_config(&self) -> Result<BurstConfig, InvalidSetting> {
        let d = &self.detect;
        let b = &d.baseline;
        let bad = |key: &str, message: String| {
            Err(InvalidSetting::new(&["detect", "baseline", key], message))
        };
        if !(b.floor_kbps.is_finite() && b.floor_kbps >= 0.0) {
            return bad(
                "floor_kbps",
                format!(
                    "expected a non-negative rate in kbit/s, found {}",
                    b.floor_kbps
                ),
            );
        }
        if !(b.factor.is_finite() && b.factor > 0.0) {
            return bad(
                "factor",
                format!("expected a positive number, found {}", b.factor),
            );
        }
        if !(b.quantile > 0.0 && b.quantile < 1.0) {
            return bad(
                "quantile",
                format!(
                    "expected a number between 0 and 1 (exclusive), found {}",
                    b.quantile
                ),
            );
        }
        if !(b.half_life_windows.is_finite() && b.half_life_windows > 0.0) {
            return bad(
                "half_life_windows",
                format!(
                    "expected a positive number of windows, found {}",
                    b.half_life_windows
                ),
            );
        }
        let settings = BurstSettings {
            preset: d.preset,
            window_s: d.window_s,
            threshold_kbps: d.threshold_kbps,
            min_windows: d.min_windows,
            baseline: Some(BaselineConfig {
                floor_bps: b.floor_kbps * 1000.0,
                factor: b.factor,
                quantile: b.quantile,
                warmup_windows: b.warmup_windows,
                half_life_windows: b.half_life_windows,
            }),
        };
        settings.resolve().map_err(|e| {
            let key = match e.flag {
                "--burst-window" => "window_s",
                "--threshold-kbps" => "threshold_kbps",
                "--min-windows" => "min_windows",
                _ => "preset",
            };
            InvalidSetting::new(
                &["detect", key],
                format!("expected {}, found {}", e.expected, e.value),
            )
        })
    }

    /// Which destinations count as uploads.
    pub fn scope(&self) -> DestinationScope {
        match self.detect.destinations {
            Destinations::Cloud => DestinationScope::Cloud,
            Destinations::All => DestinationScope::All,
        }
    }

    /// The `[names]` table as device names (keys that are not MACs are skipped; they
    /// do not pass [`Config::validate`]).
    pub fn names(&self) -> DeviceNames {
        DeviceNames::from_entries(
            self.names
                .iter()
                .filter_map(|(mac, name)| Some((mac.parse().ok()?, name.trim().to_string()))),
        )
    }
}

/// The host of a URL when it is one reserved for documentation (RFC 2606: `example.com`,
/// `example.net`, `example.org` and their subdomains, the `.example` and `.invalid`
/// top-level domains): a URL copied from an example and never set.
fn placeholder_host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let reserved = [
        "example.com",
        "example.net",
        "example.org",
        "example",
        "invalid",
    ];
    reserved
        .iter()
        .any(|r| host == *r || host.ends_with(&format!(".{r}")))
        .then_some(host)
}

/// A header value that is still the example's placeholder (`Bearer change-me`).
fn is_placeholder_secret(value: &str) -> bool {
    let v = value.to_ascii_lowercase();
    ["change-me", "changeme", "change_me"]
        .iter()
        .any(|p| v.contains(p))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let mut pos = pos.min(text.len());
    while !text.is_char_boundary(pos) {
        pos -= 1;
    }
    let before = &text[..pos];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

fn dotted(path: &[String]) -> String {
    path.iter()
        .map(|s| {
            if !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                s.clone()
            } else {
                format!("{s:?}")
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Fills `path` with the deepest key whose name or value covers byte `pos`.
fn find_key_at(table: &DeTable<'_>, pos: usize, path: &mut Vec<String>) -> bool {
    for (k, v) in table {
        let covers = k.span().contains(&pos) || v.span().contains(&pos);
        path.push(k.get_ref().to_string());
        if let Some(t) = v.get_ref().as_table() {
            if find_key_at(t, pos, path) {
                return true;
            }
        }
        if covers {
            return true;
        }
        path.pop();
    }
    false
}

/// The byte offset of a key in the document: the key itself, else its nearest parent.
fn locate(table: &DeTable<'_>, path: &[String]) -> Option<usize> {
    let (first, rest) = path.split_first()?;
    let (k, v): (&Spanned<_>, &Spanned<DeValue<'_>>) =
        table.iter().find(|(k, _)| k.get_ref() == first)?;
    let here = k.span().start;
    match v.get_ref().as_table() {
        Some(t) if !rest.is_empty() => Some(locate(t, rest).unwrap_or(here)),
        _ => Some(here),
    }
}

/// Turns serde's message into the key and a message for the user.
fn explain(path: &[String], message: &str) -> (Option<String>, String) {
    let key = (!path.is_empty()).then(|| dotted(path));
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let expected: Vec<&str> = rest.split('`').skip(2).step_by(2).collect();
        let mut text = "unknown key".to_string();
        if let Some(best) = closest(field, &expected) {
            text.push_str(&format!(" (did you mean `{best}`?)"));
        }
        if !expected.is_empty() {
            text.push_str(&format!("; expected one of: {}", expected.join(", ")));
        }
        return (key, text);
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let mut full = path.to_vec();
        full.push(field.to_string());
        return (
            Some(dotted(&full)),
            "missing: this key is required in its section".to_string(),
        );
    }
    let message = message
        .replace("expected u16", "expected an integer from 0 to 65535")
        .replace("expected u32", "expected an integer from 0 to 4294967295")
        .replace("expected usize", "expected a non-negative integer")
        .replace("expected f64", "expected a number");
    (key, message)
}

/// The candidate nearest to `word`, when it is close enough to be a typo.
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("a\nbé=c", 5), (2, 3));
        assert_eq!(line_col("", 3), (1, 1));
    }

    #[test]
    fn placeholders_are_recognised() {
        for url in [
            "https://example.com/hooks/leakypick",
            "http://EXAMPLE.org",
            "https://hooks.example.net.:8443/x?y",
            "http://user:pw@example.com/",
            "https://home.example/hook",
            "https://x.invalid",
        ] {
            assert!(placeholder_host(url).is_some(), "{url}");
        }
        for url in [
            "https://hooks.slack.com/services/x",
            "http://127.0.0.1:8123/api/webhook/leakypick",
            "http://[::1]:80/",
            "https://myexample.com/x",
            "https://example.com.evil.org/",
            "http://homeassistant.local:8123/?next=example.com",
        ] {
            assert_eq!(placeholder_host(url), None, "{url}");
        }
        assert!(is_placeholder_secret("Bearer change-me"));
        assert!(is_placeholder_secret("CHANGEME"));
        assert!(!is_placeholder_secret("Bearer 0f3c9a7e"));
    }

    #[test]
    fn suggests_near_keys() {
        assert_eq!(
            closest("inteface", &["interface", "filter"]),
            Some("interface")
        );
        assert_eq!(closest("zzz", &["interface"]), None);
    }
}
