#!/usr/bin/env bash
# Run the shared, implementation-agnostic benchmarks (/work/shared/bench) against Errbot and
# against this project, back to back, and print both summary tables plus a side-by-side view.
#
#   benchmarks/compare.sh
#   RUNS=1 N=1000 K=500 ONLY="dispatch concurrency startup" benchmarks/compare.sh
#
# Variables: REF_VENV (default /root/venvs/errbot-6.2.1), CANDIDATE_VENV (default this repo's
# .venv), BENCH_DIR (default /work/shared/bench), OUT_ROOT (default /tmp/errbench-compare/<stamp>);
# RUNS, N, K and ONLY are passed to run-all.sh unchanged (see its README).
#
# The shared suite has no `async def` burst (Errbot cannot run coroutine commands), so when
# ONLY is unset or names `concurrency`, this script also runs this repository's
# benchmarks/concurrency.py ASYNC_RUNS times (default 3), alternating: the `def` burst under
# Errbot, then the `async def` burst here, and prints the async target (>= 20x Errbot's
# `def` rate) from the medians.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
REF_VENV=${REF_VENV:-/root/venvs/errbot-6.2.1}
CANDIDATE_VENV=${CANDIDATE_VENV:-$REPO/.venv}
BENCH_DIR=${BENCH_DIR:-/work/shared/bench}
OUT_ROOT=${OUT_ROOT:-/tmp/errbench-compare/$(date +%Y%m%d-%H%M%S)}
export RUNS=${RUNS:-3} N=${N:-5000} K=${K:-2000}
if [ -n "${ONLY:-}" ]; then export ONLY; fi

for venv in "$REF_VENV" "$CANDIDATE_VENV"; do
  if [ ! -x "$venv/bin/python" ]; then
    echo "compare.sh: $venv/bin/python not found (set REF_VENV / CANDIDATE_VENV)" >&2
    exit 2
  fi
done
if [ ! -x "$BENCH_DIR/run-all.sh" ]; then
  echo "compare.sh: $BENCH_DIR/run-all.sh not found (set BENCH_DIR)" >&2
  exit 2
fi

echo "reference: $REF_VENV" >&2
echo "candidate: $CANDIDATE_VENV" >&2
echo "results:   $OUT_ROOT/{reference,candidate}  (RUNS=$RUNS N=$N K=$K ONLY=${ONLY:-all})" >&2

VENV=$REF_VENV OUT=$OUT_ROOT/reference "$BENCH_DIR/run-all.sh"
VENV=$CANDIDATE_VENV OUT=$OUT_ROOT/candidate "$BENCH_DIR/run-all.sh"

echo
echo "## reference ($REF_VENV)"
echo
cat "$OUT_ROOT/reference/summary.md"
echo
echo "## candidate ($CANDIDATE_VENV)"
echo
cat "$OUT_ROOT/candidate/summary.md"
echo
echo "## side by side (medians; ratio = candidate / reference)"
echo
python3 - "$OUT_ROOT/reference/summary.json" "$OUT_ROOT/candidate/summary.json" <<'PY'
import json
import sys

reference, candidate = (json.load(open(path)) for path in sys.argv[1:3])
print("| bench | figure | reference | candidate | ratio |")
print("|---|---|---:|---:|---:|")
for bench in sorted(set(reference) | set(candidate)):
    ref = reference.get(bench, {}).get("figures", {})
    cand = candidate.get(bench, {}).get("figures", {})
    for key in sorted(set(ref) | set(cand)):
        r = ref.get(key, {}).get("median")
        c = cand.get(key, {}).get("median")
        ratio = f"{c / r:.2f}" if r and c is not None else ""
        shown = ["" if v is None else f"{v:.6g}" for v in (r, c)]
        print(f"| {bench} | {key} | {shown[0]} | {shown[1]} | {ratio} |")
PY

case " ${ONLY:-concurrency} " in
  *" concurrency "*)
    ASYNC_RUNS=${ASYNC_RUNS:-3}
    echo
    echo "## async def burst: this project's benchmarks/concurrency.py (K=$K, $ASYNC_RUNS runs)"
    echo
    mkdir -p "$OUT_ROOT/async"
    for i in $(seq 1 "$ASYNC_RUNS"); do
      "$REF_VENV/bin/python" "$REPO/benchmarks/concurrency.py" --modes def --k "$K" \
        2>/dev/null | tail -n 1 >>"$OUT_ROOT/async/reference.jsonl"
      "$CANDIDATE_VENV/bin/python" "$REPO/benchmarks/concurrency.py" --modes async --k "$K" \
        2>/dev/null | tail -n 1 >>"$OUT_ROOT/async/candidate.jsonl"
    done
    python3 - "$OUT_ROOT/async/reference.jsonl" "$OUT_ROOT/async/candidate.jsonl" <<'PY'
import json
import statistics
import sys


def rates(path, mode):
    found = []
    for line in open(path):
        run = json.loads(line).get("modes", {}).get(mode, {})
        if run.get("errors") == 0 and run.get("replies") == run.get("k"):
            found.append(run["cmds_per_s"])
    return found


ref, cand = rates(sys.argv[1], "def"), rates(sys.argv[2], "async")
if not ref or not cand:
    print("no complete run on one side: see", sys.argv[1], sys.argv[2])
    sys.exit(0)
r, c = statistics.median(ref), statistics.median(cand)
print("| | median cmds/s | min | max |")
print("|---|---:|---:|---:|")
print(f"| Errbot 6.2.1, `def` burst | {r:,.0f} | {min(ref):,.0f} | {max(ref):,.0f} |")
print(f"| this project, `async def` burst | {c:,.0f} | {min(cand):,.0f} | {max(cand):,.0f} |")
verdict = "met" if c >= 20 * r else "NOT met"
print(f"\nasync burst / Errbot def burst: {c / r:.1f}x (target 20x: {verdict})")
PY
    ;;
esac
echo
echo "results: $OUT_ROOT" >&2
