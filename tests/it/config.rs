//! The config file: the documented example, defaults, and errors that name the key and
//! the line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use leakypick_app::monitor::config::{
    AlertsConfig, Config, ConfigError, Destinations, LogLevel, MqttConfig, Preset, WebhookConfig,
};
use leakypick_core::baseline::BaselineConfig;
use leakypick_core::{BurstConfig, DestinationScope};

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/leakypick.example.toml")
}

/// Parses `text`, expects an error, and returns (line, key, message).
fn error(text: &str) -> (usize, Option<String>, String) {
    let e = Config::parse("test.toml", text).unwrap_err();
    let shown = e.to_string();
    assert!(shown.starts_with("test.toml:"), "{shown}");
    match e {
        ConfigError::Invalid {
            line, key, message, ..
        } => (line, key, message),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn example_is_the_defaults_except_where_it_says_so() {
    let c = Config::load(&example_path()).unwrap();
    let d = Config::default();
    assert_eq!(c.capture, d.capture);
    assert_eq!(c.detect, d.detect);
    assert_eq!(c.history, d.history);
    assert_eq!(c.limits, d.limits);
    assert_eq!(c.logging, d.logging);
    assert_eq!(c.alerts.min_interval_s, d.alerts.min_interval_s);
    // The alert channels are off in the example too, shown commented out: a copy of it
    // sends nothing anywhere until its user sets a real destination.
    assert_eq!(d.alerts.webhook, None);
    assert_eq!(d.alerts.mqtt, None);
    assert_eq!(c.alerts, d.alerts);
    assert!(d.names.is_empty());
    // Uncommented ("#key" lines; "# key" lines are comments or optional keys), the
    // webhook is refused until its placeholder URL is replaced, and MQTT has the
    // defaults.
    let text = std::fs::read_to_string(example_path()).unwrap();
    let uncomment = |section: &str| -> String {
        let mut out = String::new();
        let mut inside = false;
        for line in text.lines() {
            if line.starts_with("#[") {
                inside = line.starts_with(&format!("#[{section}"));
            } else if line.trim().is_empty() {
                inside = false;
            }
            let on = inside && line.starts_with('#') && !line.starts_with("# ");
            out.push_str(if on { &line[1..] } else { line });
            out.push('\n');
        }
        out
    };
    let e = Config::parse("t", &uncomment("alerts.webhook")).unwrap_err();
    assert_eq!(e.key(), Some("alerts.webhook.url"), "{e}");
    let with_url = uncomment("alerts.webhook").replace(
        "https://example.com/hooks/leakypick",
        "http://127.0.0.1:8123/api/webhook/leakypick",
    );
    let e = Config::parse("t", &with_url).unwrap_err();
    assert_eq!(e.key(), Some("alerts.webhook.headers.Authorization"), "{e}");
    let with_token = with_url.replace("Bearer change-me", "Bearer 0f3c9a7e");
    assert_eq!(
        Config::parse("t", &with_token).unwrap().alerts.webhook,
        Some(WebhookConfig {
            url: "http://127.0.0.1:8123/api/webhook/leakypick".into(),
            timeout_s: 10.0,
            headers: BTreeMap::from([("Authorization".into(), "Bearer 0f3c9a7e".into())]),
        })
    );
    let mqtt = Config::parse("t", &uncomment("alerts.mqtt"))
        .unwrap()
        .alerts
        .mqtt
        .unwrap();
    assert_eq!(
        mqtt,
        MqttConfig {
            host: "homeassistant.local".into(),
            port: 1883,
            username: None,
            password_file: None,
            topic_prefix: "leakypick".into(),
            discovery_prefix: "homeassistant".into(),
            client_id: "leakypick".into(),
        }
    );
    // The mqtt defaults of a section with only a host are the example's values.
    let only_host = Config::parse("t", "[alerts.mqtt]\nhost = \"homeassistant.local\"\n").unwrap();
    assert_eq!(only_host.alerts.mqtt, Some(mqtt));
    let only_url = Config::parse(
        "t",
        "[alerts.webhook]\nurl = \"http://127.0.0.1:8123/api/webhook/leakypick\"\n",
    )
    .unwrap();
    assert_eq!(only_url.alerts.webhook.unwrap().timeout_s, 10.0);
    let names = c.names();
    assert_eq!(names.len(), 2);
    assert_eq!(
        names.get("68:db:f5:90:19:64".parse().unwrap()),
        Some("Echo Dot (kitchen)")
    );
}

#[test]
fn empty_file_gives_the_defaults() {
    let c = Config::parse("empty.toml", "").unwrap();
    assert_eq!(c, Config::default());
    assert_eq!(c.detect.preset, Preset::Default);
    assert_eq!(c.detect.destinations, Destinations::Cloud);
    assert_eq!(c.scope(), DestinationScope::Cloud);
    assert_eq!(c.burst_config().unwrap(), BurstConfig::product_default());
    assert_eq!(c.logging.level, LogLevel::Info);
    assert_eq!(c.alerts, AlertsConfig::default());
    assert!(c.names().is_empty());
    assert!(!c.capture.immediate);
    assert_eq!(c.capture.buffer_mb, 32);
    assert!(!c.capture.monitor_mode);
    assert_eq!(c.alerts.min_interval_s, 300);
    // A comment-only file too.
    assert_eq!(
        Config::parse("c", "# nothing\n").unwrap(),
        Config::default()
    );
}

#[test]
fn presets_and_overrides_map_to_the_detector() {
    let c = Config::parse("t", "[detect]\npreset = \"paper\"\n").unwrap();
    assert_eq!(c.burst_config().unwrap(), BurstConfig::paper());
    let c = Config::parse(
        "t",
        "[detect]\npreset = \"adaptive\"\nwindow_s = 2.5\nthreshold_kbps = 30\nmin_windows = 3\ndestinations = \"all\"\n[detect.baseline]\nquantile = 0.95\nfloor_kbps = 4\n",
    )
    .unwrap();
    let b = c.burst_config().unwrap();
    assert_eq!(b.window_nanos, 2_500_000_000);
    assert_eq!(b.threshold_bps, 30_000.0);
    assert_eq!(b.min_windows, 3);
    assert_eq!(
        b.baseline,
        Some(BaselineConfig {
            quantile: 0.95,
            floor_bps: 4_000.0,
            ..BaselineConfig::product_default()
        })
    );
    assert_eq!(c.scope(), DestinationScope::All);
}

#[test]
fn unknown_key_names_key_line_and_suggestion() {
    let (line, key, msg) = error("# comment\n[capture]\ninteface = \"eth0\"\n");
    assert_eq!(line, 3);
    assert_eq!(key.as_deref(), Some("capture.inteface"));
    assert!(
        msg.contains("unknown key") && msg.contains("did you mean `interface`"),
        "{msg}"
    );
    let (line, key, _) = error("[capture]\n\n[captur]\n");
    assert_eq!(line, 3);
    assert_eq!(key.as_deref(), Some("captur"));
}

#[test]
fn wrong_type_names_key_and_line() {
    let (line, key, msg) = error("[alerts.mqtt]\nhost = \"h\"\nport = \"x\"\n");
    assert_eq!(line, 3);
    assert_eq!(key.as_deref(), Some("alerts.mqtt.port"));
    assert!(msg.contains("expected"), "{msg}");
    let (line, key, msg) = error("[detect]\n\npreset = \"fast\"\n");
    assert_eq!(line, 3);
    assert_eq!(key.as_deref(), Some("detect.preset"));
    assert!(msg.contains("adaptive"), "{msg}");
}

#[test]
fn out_of_range_names_key_and_line() {
    let (line, key, msg) =
        error("[detect]\npreset = \"adaptive\"\n\n[detect.baseline]\nfactor = 2.0\nquantile = 2\n");
    assert_eq!(line, 6);
    assert_eq!(key.as_deref(), Some("detect.baseline.quantile"));
    assert!(msg.contains("between 0 and 1"), "{msg}");
    let (line, key, _) = error("[alerts.mqtt]\nhost = \"h\"\nport = 0\n");
    assert_eq!((line, key.as_deref()), (3, Some("alerts.mqtt.port")));
    let (line, key, _) = error("[alerts.mqtt]\nhost = \"h\"\nport = 70000\n");
    assert_eq!((line, key.as_deref()), (3, Some("alerts.mqtt.port")));
    let (line, key, _) = error("\n[detect]\nmin_windows = 0\n");
    assert_eq!((line, key.as_deref()), (3, Some("detect.min_windows")));
    // Dotted keys and inline tables are located too.
    let (line, key, _) = error("\n\ndetect.baseline.quantile = 1.0\n");
    assert_eq!(
        (line, key.as_deref()),
        (3, Some("detect.baseline.quantile"))
    );
}

#[test]
fn bad_mac_in_names() {
    let (line, key, msg) =
        error("[names]\n\"68:db:f5:90:19:64\" = \"ok\"\n\"68:db:f5:90:19:zz\" = \"x\"\n");
    assert_eq!(line, 3);
    assert_eq!(key.as_deref(), Some("names.\"68:db:f5:90:19:zz\""));
    assert!(msg.contains("MAC"), "{msg}");
}

#[test]
fn bad_url_and_missing_required_key() {
    let (line, key, msg) = error("[alerts]\n[alerts.webhook]\nurl = \"ftp://x\"\n");
    assert_eq!(line, 3);
    assert_eq!(key.as_deref(), Some("alerts.webhook.url"));
    assert!(msg.contains("http://"), "{msg}");
    let (line, key, msg) = error("[alerts.webhook]\ntimeout_s = 3.0\n");
    assert_eq!(key.as_deref(), Some("alerts.webhook.url"));
    assert!(line <= 2, "{line}");
    assert!(msg.contains("required"), "{msg}");
}

#[test]
fn syntax_error_names_the_line() {
    let (line, _, msg) = error("[capture]\nimmediate = true\nsnaplen = = 3\n");
    assert_eq!(line, 3);
    assert!(msg.contains("TOML"), "{msg}");
}

#[test]
fn missing_file_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let e = Config::load(&path).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }));
    assert!(e.to_string().contains("nope.toml"), "{e}");
}

#[test]
fn load_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[limits]\nmax_devices = 0\n").unwrap();
    let e = Config::load(&path).unwrap_err();
    let shown = e.to_string();
    assert!(shown.contains("bad.toml:2:"), "{shown}");
    assert!(shown.contains("limits.max_devices"), "{shown}");
    assert_eq!(e.line(), Some(2));
}
