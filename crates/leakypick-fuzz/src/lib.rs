//! Mutation fuzzing of leakypick on stable Rust (see `docs/fuzzing.md`).
//!
//! Seeds (the real captures, committed and generated regression seeds) are mutated
//! ([`mutate`]) and each input runs through the reader, decoding, `analyze`,
//! `evaluate` and `compare` ([`target`]). [`check`] watches one input: panics, a time
//! budget (and a hard limit for hangs), a memory budget (peak resident growth,
//! [`measure`]), the work of `evaluate`'s window pairs, and invariants. [`run`] is a
//! deterministic campaign: the same `seed` gives the same inputs in the same order.

pub mod layout;
pub mod measure;
pub mod mutate;
pub mod rng;
pub mod seeds;
pub mod target;

use mutate::Mutation;
use rng::Rng;
use seeds::Seed;
use std::collections::BTreeMap;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use target::Outcome;

/// What one input may cost. `None` is not watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    /// Wall time of one input. An input still running after four times this (at least
    /// ten seconds more) is a hang: it is reported and the campaign stops.
    pub time: Option<Duration>,
    /// Growth of the peak resident size over one input, in bytes.
    pub memory: Option<u64>,
}

impl Budgets {
    /// The defaults: 64 MiB, and 3 s per input in an optimised build or 30 s in a
    /// debug build (where the same work is about ten times slower). The largest seeds
    /// take about a tenth of that.
    pub fn default_for_build() -> Budgets {
        let secs = if cfg!(debug_assertions) { 30 } else { 3 };
        Budgets {
            time: Some(Duration::from_secs(secs)),
            memory: Some(64 * 1024 * 1024),
        }
    }

    /// Nothing timed or measured: only panics, work and invariants, which are
    /// deterministic (for tests).
    pub fn deterministic() -> Budgets {
        Budgets {
            time: None,
            memory: None,
        }
    }
}

/// Why an input is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    Panic,
    /// Still running at the hard limit; the campaign stops.
    Hang,
    /// Over the time budget.
    Slow,
    /// Over the memory budget.
    Memory,
    /// `evaluate`'s window pairs took more steps than the packets allow.
    Work,
    /// A broken invariant (a message without the file name, stages disagreeing).
    Invariant,
}

impl FindingKind {
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::Panic => "panic",
            FindingKind::Hang => "hang",
            FindingKind::Slow => "slow",
            FindingKind::Memory => "memory",
            FindingKind::Work => "work",
            FindingKind::Invariant => "invariant",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.detail)
    }
}

/// The result of checking one input.
#[derive(Debug, Clone)]
pub struct Checked {
    pub elapsed: Duration,
    /// Growth of the peak resident size, where it could be measured.
    pub memory: Option<u64>,
    /// `None` after a panic or a hang.
    pub outcome: Option<Outcome>,
    pub findings: Vec<Finding>,
    /// The input was abandoned still running (a hang): nothing else can be measured
    /// in this process.
    pub abandoned: bool,
}

static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Replaces the panic hook with one that only remembers the message and location, so
/// that a caught panic does not print a backtrace per input. For the binary only: a
/// test process keeps the normal hook.
pub fn install_quiet_panic_hook() {
    panic::set_hook(Box::new(|info| {
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some(info.to_string());
        }
    }));
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let hooked = LAST_PANIC.lock().ok().and_then(|mut l| l.take());
    hooked.unwrap_or_else(|| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_string())
    })
}

/// Runs one input through every stage on a worker thread and checks it against
/// `budgets`.
pub fn check(name: &str, data: &Arc<[u8]>, budgets: &Budgets) -> Checked {
    let before = measure::reset_peak();
    let start = Instant::now();
    let (tx, rx) = mpsc::channel();
    let (worker_name, worker_data) = (name.to_string(), Arc::clone(data));
    let spawned = std::thread::Builder::new()
        .name("fuzz-input".into())
        .spawn(move || {
            let r = panic::catch_unwind(AssertUnwindSafe(|| {
                target::exercise(&worker_name, &worker_data)
            }));
            let _ = tx.send(r.map_err(|p| panic_message(p.as_ref())));
        });
    let mut findings = Vec::new();
    let handle = match spawned {
        Ok(h) => h,
        Err(e) => {
            findings.push(Finding {
                kind: FindingKind::Invariant,
                detail: format!("cannot start a worker thread: {e}"),
            });
            return Checked {
                elapsed: start.elapsed(),
                memory: None,
                outcome: None,
                findings,
                abandoned: false,
            };
        }
    };
    let received = match budgets.time {
        Some(t) => {
            let hard = (t * 4).max(t + Duration::from_secs(10));
            match rx.recv_timeout(hard) {
                Ok(r) => Some(r),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    findings.push(Finding {
                        kind: FindingKind::Hang,
                        detail: format!("still running after {:.1} s", hard.as_secs_f64()),
                    });
                    return Checked {
                        elapsed: start.elapsed(),
                        memory: None,
                        outcome: None,
                        findings,
                        abandoned: true,
                    };
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => None,
            }
        }
        None => rx.recv().ok(),
    };
    let _ = handle.join();
    let elapsed = start.elapsed();
    let memory = before.and_then(|b| measure::peak().map(|p| p.saturating_sub(b)));
    let outcome = match received {
        Some(Ok(outcome)) => Some(outcome),
        Some(Err(message)) => {
            findings.push(Finding {
                kind: FindingKind::Panic,
                detail: message,
            });
            None
        }
        None => {
            findings.push(Finding {
                kind: FindingKind::Panic,
                detail: "the worker ended without a result".into(),
            });
            None
        }
    };
    if let Some(t) = budgets.time {
        if elapsed > t {
            findings.push(Finding {
                kind: FindingKind::Slow,
                detail: format!(
                    "{:.2} s, over the budget of {:.2} s",
                    elapsed.as_secs_f64(),
                    t.as_secs_f64()
                ),
            });
        }
    }
    if let (Some(limit), Some(used)) = (budgets.memory, memory) {
        if used > limit {
            findings.push(Finding {
                kind: FindingKind::Memory,
                detail: format!(
                    "peak memory grew by {} MiB, over the budget of {} MiB",
                    used >> 20,
                    limit >> 20
                ),
            });
        }
    }
    if let Some(o) = &outcome {
        if o.pair_steps > o.pair_step_bound {
            findings.push(Finding {
                kind: FindingKind::Work,
                detail: format!(
                    "evaluate's window pairs took {} steps, more than the {} that {} packets allow",
                    o.pair_steps, o.pair_step_bound, o.frames
                ),
            });
        }
        for p in &o.problems {
            findings.push(Finding {
                kind: FindingKind::Invariant,
                detail: p.clone(),
            });
        }
    }
    Checked {
        elapsed,
        memory,
        outcome,
        findings,
        abandoned: false,
    }
}

/// A campaign's settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    /// Stop after this long (the regression seeds are always checked).
    pub seconds: Option<f64>,
    /// Stop after this many mutated inputs.
    pub iterations: Option<u64>,
    /// Run only mutated input number `only` (to reproduce a finding).
    pub only: Option<u64>,
    pub budgets: Budgets,
    /// Where findings are saved (`None`: not saved).
    pub out_dir: Option<PathBuf>,
    /// Mutated inputs are cut to this many bytes.
    pub max_input: usize,
    /// Stop after this many findings.
    pub max_findings: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 1,
            seconds: None,
            iterations: None,
            only: None,
            budgets: Budgets::default_for_build(),
            out_dir: None,
            max_input: 8 * 1024 * 1024,
            max_findings: 20,
        }
    }
}

/// One reported input.
#[derive(Debug, Clone)]
pub struct Reported {
    pub input: String,
    pub finding: Finding,
    /// The saved input, when there is an output directory.
    pub saved: Option<PathBuf>,
}

/// What a campaign did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Seeds checked as they are.
    pub seeds: u64,
    /// Mutated inputs checked.
    pub inputs: u64,
    /// How often each mutation was applied.
    pub per_mutation: BTreeMap<&'static str, u64>,
    /// Inputs (seeds included) whose header was accepted, that gave frames, that
    /// `evaluate` scored, that gave reader warnings.
    pub opened: u64,
    pub with_frames: u64,
    pub evaluated: u64,
    pub with_warnings: u64,
    pub slowest: Option<(Duration, String)>,
    pub max_memory: Option<(u64, String)>,
    pub findings: Vec<Reported>,
    pub elapsed: Duration,
}

impl Summary {
    fn note(&mut self, input: &str, c: &Checked) {
        if let Some(o) = &c.outcome {
            self.opened += u64::from(o.opened);
            self.with_frames += u64::from(o.frames > 0);
            self.evaluated += u64::from(o.evaluated);
            self.with_warnings += u64::from(o.warnings > 0);
        }
        if self.slowest.as_ref().is_none_or(|(t, _)| c.elapsed > *t) {
            self.slowest = Some((c.elapsed, input.to_string()));
        }
        if let Some(m) = c.memory {
            if self.max_memory.as_ref().is_none_or(|(x, _)| m > *x) {
                self.max_memory = Some((m, input.to_string()));
            }
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "fuzz: {} seeds and {} mutated inputs in {:.1} s",
            self.seeds,
            self.inputs,
            self.elapsed.as_secs_f64()
        )?;
        let total = self.seeds + self.inputs;
        writeln!(
            f,
            "  of {total}: {} opened, {} gave frames, {} evaluated, {} with reader warnings",
            self.opened, self.with_frames, self.evaluated, self.with_warnings
        )?;
        let muts: Vec<String> = self
            .per_mutation
            .iter()
            .map(|(m, n)| format!("{m} {n}"))
            .collect();
        writeln!(f, "  mutations applied: {}", muts.join(", "))?;
        if let Some((t, name)) = &self.slowest {
            writeln!(f, "  slowest input: {:.3} s ({name})", t.as_secs_f64())?;
        }
        match &self.max_memory {
            Some((m, name)) => writeln!(
                f,
                "  largest peak-memory growth: {:.1} MiB ({name})",
                *m as f64 / 1048576.0
            )?,
            None => writeln!(f, "  memory: not measured (no /proc/self/clear_refs)")?,
        }
        if self.findings.is_empty() {
            write!(f, "  findings: none")
        } else {
            write!(f, "  findings: {}", self.findings.len())?;
            for r in &self.findings {
                write!(f, "\n    {}: {}", r.input, r.finding)?;
                if let Some(p) = &r.saved {
                    write!(f, " (saved as {})", p.display())?;
                }
            }
            Ok(())
        }
    }
}

/// Saves an input that gave findings, with a note on how it was made.
fn save(out_dir: &Path, stem: &str, data: &[u8], note: &str) -> Option<PathBuf> {
    std::fs::create_dir_all(out_dir).ok()?;
    let path = out_dir.join(format!("{stem}.bin"));
    std::fs::write(&path, data).ok()?;
    std::fs::write(out_dir.join(format!("{stem}.txt")), note).ok()?;
    Some(path)
}

/// Checks one input and records it in `summary`; returns false when the campaign
/// must stop (a hang, or enough findings).
fn run_one(
    input: &str,
    data: &Arc<[u8]>,
    how: &str,
    config: &Config,
    summary: &mut Summary,
) -> bool {
    let c = check(input, data, &config.budgets);
    summary.note(input, &c);
    if !c.findings.is_empty() {
        let kinds: Vec<&str> = c.findings.iter().map(|f| f.kind.name()).collect();
        let stem = format!("{}-{}", kinds.join("-"), sanitize(input));
        let mut note = format!("{input}\n{how}\n");
        for f in &c.findings {
            note.push_str(&format!("{f}\n"));
        }
        note.push_str(&format!("reproduce: leakypick-fuzz --replay {stem}.bin\n"));
        let saved = config
            .out_dir
            .as_deref()
            .and_then(|d| save(d, &stem, data, &note));
        for finding in c.findings {
            summary.findings.push(Reported {
                input: input.to_string(),
                finding,
                saved: saved.clone(),
            });
        }
    }
    !c.abandoned && summary.findings.len() < config.max_findings
}

fn sanitize(s: &str) -> String {
    let base = s.rsplit('/').next().unwrap_or(s);
    base.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Builds mutated input `i` of a campaign: `(input, description, mutations applied)`.
pub fn mutated_input(
    seeds: &[Seed],
    seed: u64,
    i: u64,
    max_input: usize,
) -> Option<(Vec<u8>, String, Vec<Mutation>)> {
    let pool: Vec<&Seed> = seeds.iter().filter(|s| s.mutate).collect();
    let mut rng = Rng::for_input(seed, i);
    let base = *rng.pick(&pool)?;
    let other = *rng.pick(&pool)?;
    let mut data = base.data.to_vec();
    data.truncate(max_input);
    let mut applied = Vec::new();
    for _ in 0..1 + rng.below(4) {
        let m = *rng.pick(&Mutation::ALL)?;
        if mutate::apply(m, &mut data, &other.data, &mut rng, max_input) {
            applied.push(m);
        }
    }
    let names: Vec<&str> = applied.iter().map(|m| m.name()).collect();
    let how = format!(
        "seed {} (splice partner {}), mutations: {}; campaign --seed {seed} --only {i}",
        base.name,
        other.name,
        names.join(", ")
    );
    Some((data, how, applied))
}

/// A campaign: every seed that is not mutated (the generated regression seeds) and then
/// every seed as it is, then mutated inputs until the time or iteration limit.
/// `progress` gets a line now and then.
pub fn run(seeds: &[Seed], config: &Config, progress: &mut dyn FnMut(&str)) -> Summary {
    let start = Instant::now();
    let deadline = config
        .seconds
        .map(|s| start + Duration::from_secs_f64(s.max(0.0)));
    let out_of_time = || deadline.is_some_and(|d| Instant::now() >= d);
    let mut summary = Summary::default();
    let mut last_progress = Instant::now();

    if let Some(i) = config.only {
        if let Some((data, how, applied)) = mutated_input(seeds, config.seed, i, config.max_input) {
            for m in applied {
                *summary.per_mutation.entry(m.name()).or_default() += 1;
            }
            summary.inputs = 1;
            let input = format!("input-{}-{i}", config.seed);
            run_one(&input, &data.into(), &how, config, &mut summary);
        }
        summary.elapsed = start.elapsed();
        return summary;
    }

    // Regression seeds first (committed and generated): they run even when time is short.
    let committed = seeds::committed_dir();
    let (regression, others): (Vec<&Seed>, Vec<&Seed>) = seeds
        .iter()
        .partition(|s| !s.mutate || Path::new(&s.name).starts_with(&committed));
    for (k, s) in regression.iter().chain(&others).enumerate() {
        if k >= regression.len() && out_of_time() {
            break;
        }
        summary.seeds += 1;
        if !run_one(
            &s.name,
            &s.data,
            "a seed, not mutated",
            config,
            &mut summary,
        ) {
            summary.elapsed = start.elapsed();
            return summary;
        }
    }
    for i in 0.. {
        if out_of_time() || config.iterations.is_some_and(|n| i >= n) {
            break;
        }
        let Some((data, how, applied)) = mutated_input(seeds, config.seed, i, config.max_input)
        else {
            break;
        };
        for m in applied {
            *summary.per_mutation.entry(m.name()).or_default() += 1;
        }
        summary.inputs += 1;
        let input = format!("input-{}-{i}", config.seed);
        if !run_one(&input, &data.into(), &how, config, &mut summary) {
            break;
        }
        if last_progress.elapsed() >= Duration::from_secs(10) {
            last_progress = Instant::now();
            progress(&format!(
                "fuzz: {:.0} s, {} inputs, {} findings",
                start.elapsed().as_secs_f64(),
                summary.inputs,
                summary.findings.len()
            ));
        }
    }
    summary.elapsed = start.elapsed();
    summary
}
