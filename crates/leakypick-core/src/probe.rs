//! Statistical probing (LeakyPick paper, section 4.1.2): is a device's traffic in a
//! probe window different from its traffic in an idle window?
//!
//! The paper's test ([`ProbeTest::Paper`]) bins the frame lengths of both windows on
//! common edges (`numpy.histogram_bin_edges(concat(idle, probe), bins='auto')`),
//! counts each window on those edges, and runs Student's two-sample t-test on the two
//! count vectors; inter-arrival times likewise. The better-founded tests compare the
//! raw samples directly (Welch, Mann–Whitney U, Kolmogorov–Smirnov) or test the binned
//! counts for homogeneity (chi-square). Each gives `p_size` and `p_iat`, combined with
//! Fisher's method. A missing p-value always comes with the reason.

use crate::stats::{self, AutoBinRule, AutoBins, StatsError, TestResult};
use crate::time::Timestamp;

/// The test used to compare an idle and a probe window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeTest {
    /// Exactly the paper's: Student's t-test on numpy `auto`-binned counts.
    Paper,
    /// Welch's t-test on the raw values (unequal variances).
    Welch,
    /// Mann–Whitney U on the raw values (asymptotic, tie- and continuity-corrected).
    MannWhitney,
    /// Two-sample Kolmogorov–Smirnov on the raw values.
    KolmogorovSmirnov,
    /// Chi-square test of homogeneity on the `auto`-binned counts.
    ChiSquare,
}

impl ProbeTest {
    pub const ALL: [ProbeTest; 5] = [
        ProbeTest::Paper,
        ProbeTest::Welch,
        ProbeTest::MannWhitney,
        ProbeTest::KolmogorovSmirnov,
        ProbeTest::ChiSquare,
    ];

    /// The stable name used on the command line and in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            ProbeTest::Paper => "paper",
            ProbeTest::Welch => "welch",
            ProbeTest::MannWhitney => "mann-whitney",
            ProbeTest::KolmogorovSmirnov => "ks",
            ProbeTest::ChiSquare => "chi2",
        }
    }

    pub fn from_name(name: &str) -> Option<ProbeTest> {
        ProbeTest::ALL.into_iter().find(|t| t.name() == name)
    }

    fn uses_bins(self) -> bool {
        matches!(self, ProbeTest::Paper | ProbeTest::ChiSquare)
    }
}

/// Which p-value decides whether the device reacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Decision {
    /// The packet-size p-value alone; the paper found it sufficient (section 4.1.2).
    #[default]
    Size,
    /// Fisher's combination of the size and inter-arrival p-values.
    Combined,
}

/// Parameters of one comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeConfig {
    pub test: ProbeTest,
    /// A p-value strictly below this means "reacted". The paper's value is 0.42.
    pub threshold: f64,
    pub decision: Decision,
    /// Which numpy version's `bins='auto'` rule bins the samples. The default,
    /// [`AutoBinRule::Legacy`], is the rule numpy had when the paper was written;
    /// numpy 2.3 changed it.
    pub bin_rule: AutoBinRule,
}

impl ProbeConfig {
    /// The paper's configuration: its t-test, threshold 0.42, decided on packet sizes.
    pub fn paper() -> ProbeConfig {
        ProbeConfig {
            test: ProbeTest::Paper,
            threshold: 0.42,
            decision: Decision::Size,
            bin_rule: AutoBinRule::Legacy,
        }
    }
}

/// The frames one device sent in one window: their lengths and times, in time order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowSample {
    pub sizes: Vec<f64>,
    pub times: Vec<Timestamp>,
}

impl WindowSample {
    pub fn push(&mut self, ts: Timestamp, wire_len: u32) {
        self.sizes.push(f64::from(wire_len));
        self.times.push(ts);
    }

    pub fn len(&self) -> usize {
        self.sizes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sizes.is_empty()
    }

    /// Differences of consecutive timestamps, in seconds (frames sorted by time first).
    pub fn inter_arrival_times(&self) -> Vec<f64> {
        let mut t = self.times.clone();
        t.sort_unstable();
        t.windows(2).map(|w| w[1].secs_since(w[0])).collect()
    }
}

/// Why a p-value is missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NoPValue(pub String);

/// The outcome of comparing an idle and a probe window.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub config: ProbeConfig,
    pub idle_packets: usize,
    pub probe_packets: usize,
    /// Number of bins of the packet-size histogram, for the binned tests.
    pub bins: Option<usize>,
    pub p_size: Result<f64, NoPValue>,
    pub p_iat: Result<f64, NoPValue>,
    pub p_combined: Result<f64, NoPValue>,
    /// `Some(true)` when the deciding p-value is below the threshold; `None` when that
    /// p-value does not exist.
    pub reacted: Option<bool>,
}

/// Compares the frames of one device in an idle and a probe window.
///
/// Each window needs at least two frames from the device; otherwise no p-value is
/// given and the reason names the window.
pub fn compare(idle: &WindowSample, probe: &WindowSample, config: ProbeConfig) -> Comparison {
    let (size, iat) = match too_few_packets(idle, probe) {
        Some(reason) => (
            FeatureP {
                p: Err(reason.clone()),
                bins: None,
            },
            FeatureP {
                p: Err(reason),
                bins: None,
            },
        ),
        None => (
            feature_p(config, &idle.sizes, &probe.sizes, "packet sizes"),
            feature_p(
                config,
                &idle.inter_arrival_times(),
                &probe.inter_arrival_times(),
                "inter-arrival times",
            ),
        ),
    };
    let p_combined = match (&size.p, &iat.p) {
        (Ok(a), Ok(b)) => stats::combine_pvalues_fisher(&[*a, *b])
            .map_err(|e| NoPValue(format!("cannot combine: {e}"))),
        (Err(e), _) | (_, Err(e)) => Err(NoPValue(format!("needs both p-values; {e}"))),
    };
    let deciding = match config.decision {
        Decision::Size => &size.p,
        Decision::Combined => &p_combined,
    };
    let reacted = deciding.as_ref().ok().map(|p| *p < config.threshold);
    Comparison {
        config,
        idle_packets: idle.len(),
        probe_packets: probe.len(),
        bins: size.bins,
        p_size: size.p,
        p_iat: iat.p,
        p_combined,
        reacted,
    }
}

fn too_few_packets(idle: &WindowSample, probe: &WindowSample) -> Option<NoPValue> {
    for (name, w) in [("idle", idle), ("probe", probe)] {
        if w.len() < 2 {
            return Some(NoPValue(format!(
                "the {name} window has {} packet{} from this device; at least 2 are needed",
                w.len(),
                if w.len() == 1 { "" } else { "s" }
            )));
        }
    }
    None
}

struct FeatureP {
    p: Result<f64, NoPValue>,
    bins: Option<usize>,
}

/// One feature's p-value under `test`.
fn feature_p(config: ProbeConfig, idle: &[f64], probe: &[f64], what: &str) -> FeatureP {
    let test = config.test;
    let explain = |e: StatsError| NoPValue(format!("{what}: {e}"));
    if test.uses_bins() {
        let mut all = Vec::with_capacity(idle.len() + probe.len());
        all.extend_from_slice(idle);
        all.extend_from_slice(probe);
        let edges = match stats::histogram_bin_edges_auto_with(
            &all,
            AutoBins {
                rule: config.bin_rule,
                integer_data: false,
            },
        ) {
            Ok(e) => e,
            Err(e) => {
                return FeatureP {
                    p: Err(explain(e)),
                    bins: None,
                }
            }
        };
        let bins = edges.len().saturating_sub(1);
        let (f_idle, f_probe) = match (
            stats::histogram(idle, &edges),
            stats::histogram(probe, &edges),
        ) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                return FeatureP {
                    p: Err(explain(e)),
                    bins: Some(bins),
                }
            }
        };
        let p = if test == ProbeTest::Paper {
            let a: Vec<f64> = f_idle.iter().map(|&c| c as f64).collect();
            let b: Vec<f64> = f_probe.iter().map(|&c| c as f64).collect();
            if bins < 2 {
                Err(NoPValue(format!(
                    "{what}: all values fall into one histogram bin, so the t-test on bin counts has one value per sample"
                )))
            } else {
                stats::ttest_ind_student(&a, &b)
                    .map(|r| r.p_value)
                    .map_err(explain)
            }
        } else {
            stats::chi2_homogeneity(&f_idle, &f_probe)
                .map(|r| r.p_value)
                .map_err(explain)
        };
        return FeatureP {
            p,
            bins: Some(bins),
        };
    }
    let r: Result<TestResult, StatsError> = match test {
        ProbeTest::Welch => stats::ttest_ind_welch(idle, probe),
        ProbeTest::MannWhitney => stats::mann_whitney_u(idle, probe),
        _ => stats::ks_2samp(idle, probe),
    };
    FeatureP {
        p: r.map(|r| r.p_value).map_err(explain),
        bins: None,
    }
}
