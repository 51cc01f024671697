//! The output contract (README, "Output formats"): `--format csv` carries exactly the
//! fields of `--format json`. For every command that prints records, on real captures,
//! each CSV section's header is the keys of the JSON records of its type, in order, and
//! each row holds the same values as the JSON record in the same place, written by the
//! documented cell rules:
//!
//! - `null` is an empty cell; a string is itself; a number or boolean is its JSON text;
//! - a list of strings or numbers is its items joined with `;`;
//! - the parameter objects `params` and `curve` are `key=value` pairs joined with `;`;
//! - any other object or list (`missing`, `details`, a session's `reacted`) is its
//!   compact JSON text.
//!
//! Two documented reshapings: `evaluate`'s `rate` records (a list of points each) are
//! `rate_point` rows, one per point; `report`'s rows carry a `session` column (the
//! session's number in the history) after `type`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::util::{leakypick, shared_capture};
use serde_json::{Map, Value};
use std::path::Path;

const ECHO: &str = "68:db:f5:90:19:64";
/// A device of the Echo Dot capture that sent only 3 frames (all between +19 s and
/// +24 s), so windows around them have no p-value: `missing` is filled.
const QUIET: &str = "68:db:f5:b9:5d:01";

fn capture(rel: &str) -> String {
    shared_capture(rel).display().to_string()
}

/// Runs `leakypick ARGS --format json` and `--format csv` and returns both outputs.
fn both(args: &[&str]) -> (Vec<Value>, String) {
    let json = leakypick(args.iter().copied().chain(["--format", "json"])).json();
    let csv = leakypick(args.iter().copied().chain(["--format", "csv"]))
        .ok()
        .to_string();
    (json, csv)
}

/// One CSV section: its header and rows.
struct Section {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// Splits CSV output into its sections (separated by an empty line) and parses each.
fn sections(csv_text: &str) -> Vec<Section> {
    csv_text
        .split("\n\n")
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(true)
                .from_reader(s.as_bytes());
            let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
            let rows = r
                .records()
                .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
                .collect();
            Section { header, rows }
        })
        .collect()
}

/// Whether a CSV cell holds `value` under the documented rules (see the module doc).
fn cell_holds(column: &str, cell: &str, value: &Value) -> bool {
    let scalar = |v: &Value| match v {
        Value::Null => Some(String::new()),
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(v.to_string()),
        _ => None,
    };
    match value {
        Value::Object(m) if column == "params" || column == "curve" => {
            let pairs: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}={}", scalar(v).unwrap()))
                .collect();
            cell == pairs.join(";")
        }
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_number) => {
            let parts: Vec<&str> = cell.split(';').collect();
            parts.len() == items.len()
                && parts
                    .iter()
                    .zip(items)
                    .all(|(part, item)| cell_holds(column, part, item))
        }
        Value::Array(items) if items.iter().all(|v| scalar(v).is_some()) => {
            let joined: Vec<String> = items.iter().map(|v| scalar(v).unwrap()).collect();
            cell == joined.join(";")
        }
        Value::Array(_) | Value::Object(_) => {
            serde_json::from_str::<Value>(cell).is_ok_and(|parsed| &parsed == value)
        }
        // A number is compared as JSON reads it: both texts go through the same parser.
        Value::Number(_) => {
            serde_json::from_str::<Value>(cell).is_ok_and(|parsed| &parsed == value)
        }
        other => scalar(other).is_some_and(|s| s == cell),
    }
}

/// Checks CSV output against JSON records: every type of record is a section with the
/// records' keys as its header, every row holds its record's values, and no section is
/// left over.
fn assert_same_records(what: &str, json: &[Value], csv_text: &str) {
    assert!(!json.is_empty(), "{what}: no JSON records");
    let mut types: Vec<&str> = Vec::new();
    for v in json {
        let t = v["type"].as_str().unwrap();
        if !types.contains(&t) {
            types.push(t);
        }
    }
    let sections = sections(csv_text);
    for section in &sections {
        assert_eq!(section.header[0], "type", "{what}: {:?}", section.header);
    }
    for t in &types {
        let records: Vec<&Value> = json.iter().filter(|v| v["type"] == *t).collect();
        let section = sections
            .iter()
            .find(|s| s.rows.first().is_some_and(|r| r[0] == *t))
            .unwrap_or_else(|| panic!("{what}: no CSV section of `{t}` records"));
        let keys: Vec<&str> = records[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            section.header, keys,
            "{what}: the CSV header of `{t}` is not the JSON keys"
        );
        assert_eq!(
            section.rows.len(),
            records.len(),
            "{what}: `{t}`: {} CSV rows, {} JSON records",
            section.rows.len(),
            records.len()
        );
        for (row, record) in section.rows.iter().zip(&records) {
            let record_keys: Vec<&str> = record
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(record_keys, keys, "{what}: `{t}` records differ in keys");
            for (column, cell) in section.header.iter().zip(row) {
                assert!(
                    cell_holds(column, cell, &record[column.as_str()]),
                    "{what}: `{t}`.{column}: CSV cell {cell:?}, JSON {}",
                    record[column.as_str()]
                );
            }
        }
    }
    // Every non-empty section is one of the JSON types (empty sections are headers of
    // record types that happen to have no records, like `count_label`).
    for section in sections.iter().filter(|s| !s.rows.is_empty()) {
        let t = section.rows[0][0].as_str();
        assert!(
            types.contains(&t),
            "{what}: CSV section `{t}` has no JSON records"
        );
        assert!(
            section.rows.iter().all(|r| r[0] == t),
            "{what}: mixed section `{t}`"
        );
    }
}

#[test]
fn analyze_csv_carries_the_json_fields() {
    let names = tempfile::tempdir().unwrap();
    let names_file = names.path().join("names.txt");
    std::fs::write(&names_file, format!("{ECHO} Kitchen Echo\n")).unwrap();
    let names_arg = names_file.display().to_string();
    for args in [
        vec![
            "analyze".to_string(),
            capture("smart-speakers/echodot3a_active.pcap"),
        ],
        vec![
            "analyze".to_string(),
            capture("smart-speakers/echodot3a_active.pcap"),
            "--names".to_string(),
            names_arg.clone(),
            "--include-lan".to_string(),
        ],
        vec![
            "analyze".to_string(),
            capture("smart-speakers/haipeng_li__alexa_5_30s.pcap"),
            "--preset".to_string(),
            "adaptive".to_string(),
        ],
        // A file with skipped records: the summary's warnings list.
        vec![
            "analyze".to_string(),
            capture("parse-robustness/tcpdump-tests/timestamp_invalid_micro.pcap"),
        ],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (json, csv) = both(&args);
        assert_same_records(&args.join(" "), &json, &csv);
    }
}

#[test]
fn compare_csv_carries_bin_rule_and_missing() {
    let echo = capture("smart-speakers/echodot3a_active.pcap");
    let all_tests = [
        "compare",
        &echo,
        "--device",
        ECHO,
        "--idle",
        "+0,+19",
        "--probe",
        "+19,+38",
        "--probe-test",
        "all",
        "--bin-rule",
        "numpy-2.3",
    ];
    let (json, csv) = both(&all_tests);
    assert_same_records("compare --probe-test all", &json, &csv);
    assert!(csv.lines().next().unwrap().contains(",bin_rule,"));

    // No frame in the idle window: p-values are missing, and why is in both formats.
    let quiet = [
        "compare", &echo, "--device", QUIET, "--idle", "+0,+19", "--probe", "+19,+38",
    ];
    let (json, csv) = both(&quiet);
    assert_same_records("compare (missing p-values)", &json, &csv);
    let missing = json[0]["missing"].as_object().unwrap();
    assert!(missing.contains_key("p_size"), "{missing:?}");
    let row = &sections(&csv)[0].rows[0];
    let cell: Value = serde_json::from_str(row.last().unwrap()).unwrap();
    assert_eq!(cell, Value::Object(missing.clone()));
}

/// A probe log over the Echo Dot capture: "alexa" with the upload in its probe window,
/// "computer" without (the same log as the snapshots').
const PROBE_LOG: &str = r#"{"type":"attempt","probe":"alexa","attempt":1,"idle":[1573894008,1573894023],"window":[1573894024,1573894039]}
{"type":"attempt","probe":"computer","attempt":1,"idle":[1573894034,1573894044],"window":[1573894044,1573894054]}
"#;

#[test]
fn probing_verdicts_and_report_csv_carry_the_json_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("probes.jsonl");
    std::fs::write(&log, PROBE_LOG).unwrap();
    let log = log.display().to_string();
    let echo = capture("smart-speakers/echodot3a_active.pcap");
    let args = [
        "analyze",
        &echo,
        "--probe-log",
        &log,
        "--decide-by",
        "either",
    ];
    let (json, csv) = both(&args);
    assert_same_records("analyze --probe-log", &json, &csv);
    let reacted = json
        .iter()
        .find(|v| v["type"] == "verdict" && v["id"] == ECHO && v["probe"] == "alexa")
        .unwrap();
    assert_eq!(reacted["reacted"], true);

    // `report` reads the session back from the history: the same records, with the
    // session's number beside each type.
    let data_dir = tmp.path().join("history");
    store_session(&data_dir, &json);
    let dir = data_dir.display().to_string();
    let (stored, csv) = both(&["report", "--data-dir", &dir]);
    let numbered: Vec<Value> = stored
        .iter()
        .map(|v| {
            let mut m = Map::new();
            for (k, x) in v.as_object().unwrap() {
                m.insert(k.clone(), x.clone());
                if k == "type" {
                    m.insert("session".to_string(), Value::from(1));
                }
            }
            Value::Object(m)
        })
        .collect();
    assert_same_records("report", &numbered, &csv);
}

/// Stores a probing session the way `probe` does, so that `report` has one to show.
fn store_session(data_dir: &Path, records: &[Value]) {
    use leakypick_app::history::Store;
    use leakypick_core::Timestamp;
    let summary = records.iter().find(|v| v["type"] == "session").unwrap();
    let verdicts: Vec<(String, String, bool, Value)> = records
        .iter()
        .filter(|v| v["type"] == "verdict")
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_string(),
                v["probe"].as_str().unwrap().to_string(),
                v["reacted"].as_bool().unwrap(),
                v.clone(),
            )
        })
        .collect();
    let time = |key: &str| Timestamp::from_secs_f64(summary[key].as_f64().unwrap()).unwrap();
    let mut store = Store::open(data_dir).unwrap();
    store
        .add_probe_session(time("start"), time("end"), summary, &verdicts)
        .unwrap();
    store.close().unwrap();
}

#[test]
fn simulate_and_evaluate_csv_carry_the_json_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let pcap = tmp.path().join("home.pcap").display().to_string();
    let labels = tmp.path().join("home.labels.csv").display().to_string();
    let (json, csv) = both(&[
        "simulate",
        "--devices",
        "echo@20s+80s,echodot@50s,camera@100s,hub,plug",
        "--duration",
        "2m",
        "--seed",
        "1",
        "--out",
        &pcap,
    ]);
    assert_same_records("simulate", &json, &csv);
    assert_eq!(
        json.iter()
            .filter(|v| v["type"] == "simulated_device")
            .count(),
        5
    );

    // Every record type of an evaluation: labels, metrics of every sweep point, ROC
    // points, AUCs, detections, p-values, rates (as rate points) and the summary.
    let (json, csv) = both(&["evaluate", &pcap, "--labels", &labels, "--full"]);
    let mut expected: Vec<Value> = Vec::new();
    for v in &json {
        if v["type"] != "rate" {
            expected.push(v.clone());
            continue;
        }
        for point in v["points"].as_array().unwrap() {
            expected.push(serde_json::json!({
                "type": "rate_point",
                "mac": v["mac"],
                "id": v["id"],
                "window_s": v["window_s"],
                "step_s": v["step_s"],
                "t": point[0],
                "bps": point[1],
            }));
        }
    }
    for t in [
        "label",
        "metrics",
        "roc",
        "auc",
        "detection",
        "pvalue",
        "rate_point",
    ] {
        assert!(
            expected.iter().any(|v| v["type"] == t),
            "evaluate --full printed no `{t}` record"
        );
    }
    assert_same_records("evaluate --full", &expected, &csv);

    // Count labels (from the file name) and the plain (not --full) records.
    let haipeng = capture("smart-speakers/haipeng_li__alexa_5_30s.pcap");
    let (json, csv) = both(&["evaluate", &haipeng, "--labels-format", "filename"]);
    assert!(json.iter().any(|v| v["type"] == "count_label"));
    assert_same_records("evaluate (count label)", &json, &csv);
}

#[test]
fn name_csv_carries_the_device_name_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().display().to_string();
    let echo = capture("smart-speakers/echodot3a_active.pcap");
    leakypick(["monitor", "--replay", &echo, "--data-dir", &dir]).ok();
    let (json, csv) = both(&["name", ECHO, "Kitchen Echo", "--data-dir", &dir]);
    assert_eq!(json[0]["type"], "device_name");
    assert_eq!(json[0]["name"], "Kitchen Echo");
    assert_same_records("name", &json, &csv);
}

#[test]
fn fuzz_report_csv_carries_the_json_fields() {
    let tmp = tempfile::tempdir().unwrap();
    crate::fuzz::simulated_history(tmp.path(), "adaptive", 1, None);
    let dir = tmp.path().display().to_string();
    let (json, csv) = both(&["fuzz", "report", "--data-dir", &dir, "--attempts"]);
    assert_same_records("fuzz report", &json, &csv);
    let (json, csv) = both(&[
        "fuzz",
        "--device",
        ECHO,
        "--words",
        "elixir,mixer",
        "--dry-run",
        "--data-dir",
        &dir,
    ]);
    assert_same_records("fuzz --dry-run", &json, &csv);
}
