#!/usr/bin/env bash
# Regenerates docs/evaluation.md and docs/eval/<case>/ (report.md, summary.txt, SVG charts)
# by running `leakypick evaluate --out` on every labelled real capture in ../shared/captures
# and on two simulated homes.
#
# Needs only the built binary (cargo build --release -p leakypick) and the shared captures
# (../shared/captures, or LEAKYPICK_SHARED_CAPTURES); no tshark, no Python. Deterministic:
# the simulations use fixed seeds and every path given to leakypick is relative, so the
# same inputs give the same files. Takes well under a minute on two cores.
#
# Only derived numbers and charts go into docs/: the captures (some have no licence, like
# the Blink camera week) and the resolved label times are never copied.
#
#   scripts/evaluate-all.sh            # writes docs/evaluation.md and docs/eval/*/
#   LEAKYPICK=path/to/leakypick scripts/evaluate-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${LEAKYPICK:-$ROOT/target/release/leakypick}
[[ $BIN = /* ]] || BIN=$ROOT/$BIN
SHARED=${LEAKYPICK_SHARED_CAPTURES:-../shared/captures}
OUT=docs/eval
[[ -x $BIN ]] || { echo "evaluate-all: no binary at $BIN (cargo build --release -p leakypick)" >&2; exit 2; }
[[ -d $SHARED ]] || { echo "evaluate-all: the shared captures are missing: $SHARED" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/leakypick-eval.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

CASES=()
declare -A TITLE

# run CASE TITLE DIR -- evaluate ARGS...: runs `leakypick evaluate ARGS --out $WORK/CASE` in DIR
# and copies the human-readable part of the report into docs/eval/CASE/.
run() {
    local case=$1 title=$2 dir=$3
    shift 4
    echo "evaluate-all: $case" >&2
    (cd "$dir" && "$BIN" evaluate "$@" --out "$WORK/$case" >/dev/null 2>"$WORK/$case.log") || {
        cat "$WORK/$case.log" >&2
        exit 1
    }
    CASES+=("$case")
    TITLE[$case]=$title
    rm -rf "${OUT:?}/$case"
    mkdir -p "$OUT/$case"
    # The heading names the case; the rest of the report is as leakypick wrote it.
    { echo "# $title"; tail -n +2 "$WORK/$case/report.md"; } >"$OUT/$case/report.md"
    cp "$WORK/$case/summary.txt" "$WORK/$case"/*.svg "$OUT/$case/"
}

SS=$SHARED/smart-speakers
run echodot3a "Echo Dot, one voice command (bundled sample, native label)" "$ROOT" -- \
    "$SS/echodot3a_active.pcap" --labels "$OUT/labels/echodot3a_active.csv"
for f in haipeng_li__alexa haipeng_li__flip_a_coin haipeng_li__set_volume_to_five \
    haipeng_li__tell_me_a_joke haipeng_li__what_is_the_weather \
    sean_kennedy__flip_a_coin sean_kennedy__help; do
    run "$f" "Echo, $f: 5 utterances counted from the file name" "$ROOT" -- \
        "$SS/${f}_5_30s.pcap" --labels-format filename
done
run blink-camera-week "Blink camera, one week, IFTTT motion events" "$ROOT" -- \
    "$SHARED/cameras/blink-cam-01.pcap" --labels "$SHARED/cameras/ifttt-events.csv" \
    --labels-format ifttt --device-map blink-cam-01=f4:b8:5e:ff:2b:1b --tz America/New_York
run blink-hub-idle "Blink sync module, 9 idle hours (declared never activated)" "$ROOT" -- \
    "$SHARED/negatives/blink-security-hub_2019-04-25_idle.pcap" \
    --labels "$OUT/labels/blink-security-hub_idle.csv"

# Simulated homes (docs/simulator.md): written to the work directory, never to the repo.
SIM1="echo:2@6/h,camera@2/h,hub,plug:2"
SIM2="echo:3@10/h,echodot@4/h,camera:2@3/h,hub,plug:3"
"$BIN" simulate --devices "$SIM1" --duration 6h --seed 1 --out "$WORK/sim-home-1.pcap" >/dev/null
"$BIN" simulate --devices "$SIM2" --duration 6h --seed 2 --out "$WORK/sim-home-2.pcap" >/dev/null
run sim-home-1 "Simulated home 1: $SIM1, 6 h, seed 1" "$WORK" -- \
    sim-home-1.pcap --labels sim-home-1.labels.csv
run sim-home-2 "Simulated home 2: $SIM2, 6 h, seed 2" "$WORK" -- \
    sim-home-2.pcap --labels sim-home-2.labels.csv


# ---------------------------------------------------------------------------------------
# docs/evaluation.md: the measurements side by side with the paper's. Every number below
# is read from the reports just written, so the page cannot drift from the data.

# named CASE DETECTOR CONFIG FIELD: a cell of the overall row of a named configuration
# (FIELD: tp fp fn tn tpr fpr prec f1 detected fa).
named() {
    awk -F' *\\| *' -v det="$2" -v cfg="**$3**" -v f="$4" '
        $2 == det && $3 == cfg && $5 == "**overall**" {
            split("tp fp fn tn tpr fpr prec f1 detected fa", k, " ")
            for (i = 1; i <= 10; i++) if (k[i] == f) { print $(5 + i); exit }
        }' "$OUT/$1/report.md"
}
# stat CASE WINDOW TEST FIELD: a cell of the statistical-probing table
# (FIELD: pairs auc tpr fpr best btpr bfpr).
stat() {
    awk -F' *\\| *' -v w="$2 s" -v t="$3" -v f="$4" '
        $2 == w && $3 == t {
            split("pairs auc tpr fpr best btpr bfpr", k, " ")
            for (i = 1; i <= 7; i++) if (k[i] == f) { print $(3 + i); exit }
        }' "$OUT/$1/report.md"
}
# det CASE CONFIG: "detected / activations, false alarms" of a burst configuration.
det() { echo "$(named "$1" burst "$2" detected), $(named "$1" burst "$2" fa)"; }
slot() { echo "$(named "$1" burst "$2" tpr) / $(named "$1" burst "$2" fpr)"; }
# total CONFIG CASES...: detected and activations summed over cases.
total() {
    local cfg=$1 d=0 a=0 x y
    shift
    for c in "$@"; do
        IFS=/ read -r x y <<<"$(named "$c" burst "$cfg" detected | tr -d ' ')"
        d=$((d + x)); a=$((a + y))
    done
    echo "$d / $a"
}
link() { echo "[$1]($OUT_REL/$1/report.md)"; }
OUT_REL=eval
ECHO_COUNT=(haipeng_li__alexa haipeng_li__flip_a_coin haipeng_li__set_volume_to_five
    haipeng_li__tell_me_a_joke haipeng_li__what_is_the_weather sean_kennedy__flip_a_coin
    sean_kennedy__help)
TIMED=(echodot3a blink-camera-week blink-hub-idle sim-home-1 sim-home-2)
HAIPENG=("${ECHO_COUNT[@]:0:5}")

{
cat <<EOF
# Evaluation: leakypick against the LeakyPick paper

This page compares leakypick's detectors with the numbers the LeakyPick paper reports
(section 5, RQ1 and RQ3), on every labelled capture we have and on two simulated homes.
It is generated: \`scripts/evaluate-all.sh\` (needs the release binary and
\`../shared/captures\`; about ten seconds) rewrites this page and \`docs/eval/<case>/\`,
one full report per case (\`report.md\` with every table, the ROC curves, the p-values
and an upload timeline per device). Matching rule and metrics:
\`docs/evaluation-format.md\`; detectors: \`docs/detectors.md\`.

## The data

| case | what | labels |
|---|---|---|
| $(link echodot3a) | the bundled Echo Dot sample, 48 s, one voice command | native: \`docs/eval/labels/echodot3a_active.csv\` (derived from the upload; see the file) |
| haipeng_li (5 files), sean_kennedy (2 files) | Echo captures of 5 utterances each, about 2.5 min | \`--labels-format filename\`: a count of 5, no times |
| $(link blink-camera-week) | a Blink camera, 7 days | its IFTTT motion log, minute resolution (30 activations) |
| $(link blink-hub-idle) | the Blink sync module, 9 idle hours | native: declared never activated |
| $(link sim-home-1), $(link sim-home-2) | simulated homes, 6 h each (\`leakypick simulate\`, seeds 1 and 2) | the simulator's exact labels |

The paper's own data (hundreds of controlled activations of 4 devices, 52 days of
real-world use) is not public, so the comparison is between its published operating
points and our measurements on different data. The real captures are small: read them
as a check of behaviour, the simulated homes (models measured on the same captures,
\`docs/simulator.md\`) for rates.

## Burst detection (paper §5.2.1, figure 3)

The paper: with 1-s windows above 23 kbit/s, **n = 5** consecutive windows give **TPR 96%,
FPR 4%** averaged over its devices. Ours, per case: *detected / activations, false
alarms*, and slot-level TPR / FPR (10-s slots; count-labelled captures have no slots).

| case | \`default\` (n = 2) | slot TPR / FPR | \`paper\` (n = 5) | slot TPR / FPR | \`adaptive\` (n = 2, learned threshold) | slot TPR / FPR |
|---|---:|---:|---:|---:|---:|---:|
EOF
for c in echodot3a "${ECHO_COUNT[@]}" blink-camera-week blink-hub-idle sim-home-1 sim-home-2; do
    echo "| $(link "$c") | $(det "$c" default) | $(slot "$c" default) | $(det "$c" paper) | $(slot "$c" paper) | $(det "$c" adaptive) | $(slot "$c" adaptive) |"
done
echo "| **the 7 Echo captures (35 commands)** | $(total default "${ECHO_COUNT[@]}") | | $(total paper "${ECHO_COUNT[@]}") | | $(total adaptive "${ECHO_COUNT[@]}") | |"
cat <<EOF

Each case's report has the full sweep (n = 1..8 × 5-100 kbit/s) and its ROC chart with
the paper's operating point marked, e.g. simulated home 1:

![Burst detection ROC, simulated home 1]($OUT_REL/sim-home-1/roc-burst.svg)

**Where the paper's n = 5 fails on real data.** An Echo uploads a short command in 2-4
seconds (the haipeng_li audio spans 1.5-5.6 s, sean_kennedy's 1.0-2.3 s;
\`docs/simulator.md\`), so most commands never fill five 1-s windows above 23 kbit/s:
n = 5 finds $(total paper "${HAIPENG[@]}") haipeng_li commands and
$(total paper "${ECHO_COUNT[@]}") of all 35 Echo commands, n = 2 finds
$(total default "${ECHO_COUNT[@]}"). The camera's motion clips are short and fast too
(median 3.4 s at 1.2 Mbit/s): n = 5 detects $(named blink-camera-week burst paper detected)
labelled events, n = 2 $(named blink-camera-week burst default detected). The simulated homes
repeat it at scale: n = 5 finds $(named sim-home-1 burst paper detected) and
$(named sim-home-2 burst paper detected) activations, n = 2
$(named sim-home-1 burst default detected) and $(named sim-home-2 burst default detected).
What n = 5 buys is little on this data: with n = 2 the idle hub has no burst in 9 hours,
the camera none outside its clips, and the simulated homes
$(named sim-home-1 burst default fa) and $(named sim-home-2 burst default fa) false alarm
in 6 hours each (a single unlabelled upload of one Echo; n = 5:
$(named sim-home-1 burst paper fa) and $(named sim-home-2 burst paper fa)). The paper's 96% at n = 5 came from its controlled recordings (about 100
wake-word activations per device, each followed by a long answer); our short commands
are not that.

Slot-level TPR stays below 100% even at n = 2 because a slot is positive whenever it
overlaps a labelled activation, and the labels are wider than the upload (a camera's IFTTT
event is a whole minute for a 3-second clip, a simulated voice label includes the
device's listening before it uploads): the activation-level counts are the ones to read.

## Statistical probing (paper §5.2.2, figures 5, 6, 8)

The paper: the t-test on binned packet sizes of consecutive windows, threshold
**t = 0.42-0.43**, gives **TPR 94%, FPR 6%** on its controlled data (30-s windows,
figure 5) and **TPR 93%, FPR 7%** in the real world (figure 8). Ours, at t = 0.42, pooled
over the devices, with the area under the ROC curve (AUC) and the two-sample
Kolmogorov-Smirnov test on the raw sizes for comparison:

| case | pairs +/− (60 s) | paper t-test, d = 30 s: TPR / FPR | paper t-test, d = 60 s: TPR / FPR | AUC | KS, d = 60 s: TPR / FPR | AUC |
|---|---:|---:|---:|---:|---:|---:|
EOF
for c in "${TIMED[@]}"; do
    echo "| $(link "$c") | $(stat "$c" 60 "paper t-test" pairs) | $(stat "$c" 30 "paper t-test" tpr) / $(stat "$c" 30 "paper t-test" fpr) | $(stat "$c" 60 "paper t-test" tpr) / $(stat "$c" 60 "paper t-test" fpr) | $(stat "$c" 60 "paper t-test" auc) | $(stat "$c" 60 KS tpr) / $(stat "$c" 60 KS fpr) | $(stat "$c" 60 KS auc) |"
done
cat <<EOF

![Statistical probing ROC, simulated home 1]($OUT_REL/sim-home-1/roc-stat.svg)

![p-values per window pair, simulated home 1]($OUT_REL/sim-home-1/pvalues.svg)

**Where the paper's test fails.** Statistical probing compares a window *with* audio to the
window before it; it is a method for *probing* (play a sound, watch the next minute),
and the paper's numbers come from sound played at known times. On passive traffic it has two
problems:

- *The t-test on bin counts asks the wrong question.* Both count vectors have the same
  bins, so their means are the frame counts divided by the number of bins: the test
  mostly compares how many frames each window holds, not their sizes
  (\`docs/detectors.md\` has the worked example: on the Echo Dot sample the window with
  the command gets p = 0.739, *not* reacted, while two idle windows of different length
  get p = 0.376, reacted). On the simulated homes the paper's test at 60 s finds
  $(stat sim-home-1 60 "paper t-test" tpr) and $(stat sim-home-2 60 "paper t-test" tpr)
  of the positive pairs at FPR $(stat sim-home-1 60 "paper t-test" fpr) and
  $(stat sim-home-2 60 "paper t-test" fpr): about twice the paper's 6-7% false
  positives, i.e. $(named sim-home-1 stat paper fa) and $(named sim-home-2 stat paper fa)
  false alarms in 6 hours against $(named sim-home-1 burst default fa) and
  $(named sim-home-2 burst default fa) for burst detection (in the p-value chart above, the
  idle pairs of the simulated Echos cluster around p = 0.26, under the threshold). On the idle hub it flags
  $(stat blink-hub-idle 30 "paper t-test" fpr) of the 30-s pairs.
- *Windows much longer than the event.* A 3-second camera clip inside a 60-s window of a
  device that is otherwise silent gives too few frames in the idle window for any test
  (the camera week: $(stat blink-camera-week 60 "paper t-test" tpr) of
  $(stat blink-camera-week 60 "paper t-test" pairs | cut -d/ -f1) positive pairs at 60 s);
  with 10-s windows the t-test reacts to $(stat sim-home-1 10 "paper t-test" tpr) and
  $(stat sim-home-2 10 "paper t-test" tpr) of the positive pairs of the simulated homes.

The tests on raw samples (Welch, Mann-Whitney, KS) do not rescue passive detection: the
best, KS, reaches AUC $(stat sim-home-1 60 KS auc) / $(stat sim-home-2 60 KS auc) against the
t-test's $(stat sim-home-1 60 "paper t-test" auc) / $(stat sim-home-2 60 "paper t-test" auc) on
the simulated homes, with the same false-positive rate at t = 0.42.

### p-value against invocation frequency (figure 4)

The paper's figure 4: the more often the wake word is invoked, the lower the p-value of
the idle-versus-active comparison. \`scripts/figure4.sh\` simulates one Echo idle for an
hour, then the same Echo for the next hour at a given rate, and compares the two hours
with \`leakypick compare --test all\` (p-value of the packet sizes):

$("$ROOT/scripts/figure4.sh" "$BIN")

The paper's t-test on bin counts falls slowly and never below 0.2 here, because its two
count vectors mostly differ by how many frames each hour holds; the tests on the raw
sizes separate even one activation an hour from idle traffic (KS, chi-square).

## What leakypick uses by default, and why

- **Monitoring (\`analyze\`) uses burst detection with 1-s windows, 23 kbit/s and n = 2**
  (\`--preset default\`). On every case above it detects every labelled command and clip
  the capture holds ($(total default "${ECHO_COUNT[@]}") Echo commands,
  $(named blink-camera-week burst default detected) camera events — the two missing ones
  fall in a gap of the capture —, all simulated activations), with no false alarm on
  real idle traffic and about one in 6 hours on the simulated homes. The paper's n = 5
  (\`--preset paper\`) misses most short commands; n = 1 turns one command into several
  bursts (answers, follow-ups; \`docs/detectors.md\`).
- **The adaptive preset is not the default**: on this data it does not beat the static
  threshold. It detects the same activations and covers a few more slots (slot TPR
  $(named sim-home-1 burst adaptive tpr) vs $(named sim-home-1 burst default tpr) and
  $(named sim-home-2 burst adaptive tpr) vs $(named sim-home-2 burst default tpr)), but raises
  $(named sim-home-1 burst adaptive fa) and $(named sim-home-2 burst adaptive fa) false alarms
  instead of $(named sim-home-1 burst default fa) and $(named sim-home-2 burst default fa)
  (2-3 s uploads of the idle Echos that its lower learned threshold counts as hot); on the
  real captures it finds the same activations as the default (most are shorter than its
  300-window warm-up). It stays available for devices whose idle traffic differs a lot from these.
- **Statistical probing (\`compare\`) keeps the paper's test as its default** so results
  stay comparable with the paper, but it is a probing tool, not a monitor: on passive
  traffic its false-positive rate is far above burst detection's. KS on the raw sizes has
  the larger AUC on the simulated homes and is the better-founded test
  (\`--test ks\`); with no labelled probing data (sound played on purpose) we have not
  measured it where the method belongs, so we do not change the default yet.

## Limits of this evaluation

- Few real activations: 1 timed Echo command, 35 counted ones (no times: counts can
  match at the wrong moments), 30 minute-resolution camera events. The count labels
  cannot give false-positive rates; the idle hub and the simulated homes do.
- The simulated homes use device models measured on the same captures, so they test the
  detectors on realistic traffic, not on unseen devices; the Echo's large idle upload and
  the plugs are assumptions (\`docs/simulator.md\`).
- No probing data: the statistical tests are scored on passive traffic, which is harder
  than the paper's setting (sound played at known times).
EOF
} >docs/evaluation.md

echo "evaluate-all: wrote ${#CASES[@]} reports into $OUT/ and docs/evaluation.md" >&2
