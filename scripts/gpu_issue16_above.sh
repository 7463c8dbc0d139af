#!/usr/bin/env bash
# Issue 16 item 5 on the GPU: exact real existence just above rho = 1 (critical points of the
# distance, numerics/engine/homotopy_critical.py) paired with E1[k], k = 1..8, on the same
# instances. Usage (one NVIDIA H200):
#   OUT=runs/issue16-above bash scripts/gpu_issue16_above.sh probe                # CUDA = CPU test
#   OUT=runs/issue16-above LIMIT=450 bash scripts/gpu_issue16_above.sh above-r1   # repeat until "complete"
#   OUT=runs/issue16-above LIMIT=450 bash scripts/gpu_issue16_above.sh above-r2   # repeat until "complete"
#   OUT=runs/issue16-above bash scripts/gpu_issue16_above.sh summary              # partial summaries
# Every call resumes (--resume) what an earlier, interrupted call left in $OUT, so a call cut off
# by LIMIT (seconds) loses at most the batch in flight; run it again to continue. The critical
# count N of each cell is found once per process on the CPU by monodromy (seconds to a few
# minutes per cell; a resumed call finds it again, the same N from the same seed). When a record
# is complete the call itself writes summary.json beside it; until then `summary` summarises the
# partial record into "$OUT/exact-above/<run>-partial-<n>" (never the run folder).
# Tested on the CPU at tiny sizes with:
#   DEVICE=cpu SIZES_R1=2x2,2x3 SIZES_R2=3x3 TRIALS=4 TRIALS_R2=2 OUT=/tmp/i16a bash scripts/gpu_issue16_above.sh above-r1|above-r2|summary
# (results/ is written by no command; a run is committed by copying its folder there, with the
# record gzipped: gzip -9nc record.jsonl > results/exact-above/<run>/record.jsonl.gz, then
# python scripts/evidence_manifest.py --write and python scripts/readme_tables.py --write.)
set -euo pipefail
OUT=${OUT:?set OUT to the output folder}
LIMIT=${LIMIT:-100000}
DEVICE=${DEVICE:-cuda}
# d = 1 keeps rho = r(m+n-r)/(r(m+n-r)-1) <= 1.2 for r(m+n-r) >= 6; small N first (the runner
# goes cell by cell)
SIZES_R1=${SIZES_R1:-2x5,3x4,2x6,3x5,4x4,2x7,3x6,4x5}
SIZES_R2=${SIZES_R2:-3x3,3x4,4x4}
TRIALS=${TRIALS:-2000}
TRIALS_R2=${TRIALS_R2:-1000}
resume() { [ -f "$1/record.jsonl" ] && echo --resume || true; }
run_rank() {   # rank sizes trials run-name
  local DR="$OUT/exact-above/$4"
  mkdir -p "$OUT"
  timeout --signal=INT "$LIMIT" python3 -m lorank exact-above --device "$DEVICE" --sizes "$2" \
    --ranks "$1" --deficits 1 --trials "$3" --restarts 8 --max-iters 200 --seed 0 --retries 1 \
    --batch-size 128 --no-progress --out "$DR" $(resume "$DR") \
    || echo "$4: stopped (status $?); run again to continue"
  if [ -f "$DR/summary.json" ]; then echo "$4: complete: $DR/summary.json"; fi
}
case "${1:?probe, above-r1, above-r2 or summary}" in
  probe)
    # the GPU decisions equal the CPU ones (2x2 r = 1 and 3x3 r = 2, 8 instances each)
    LORANK_NO_LEDGER=1 python3 -m pytest -q -o addopts= -m cuda tests/test_exact_above.py -rs || true ;;
  above-r1) run_rank 1 "$SIZES_R1" "$TRIALS" h200-r1 ;;
  above-r2) run_rank 2 "$SIZES_R2" "$TRIALS_R2" h200-r2 ;;
  summary)
    for DR in "$OUT"/exact-above/h200-r1 "$OUT"/exact-above/h200-r2; do
      [ -f "$DR/record.jsonl" ] || continue
      [ -f "$DR/summary.json" ] && { echo "$DR: complete"; continue; }
      k=0; while [ -e "$DR-partial-$k" ]; do k=$((k + 1)); done
      python3 -m lorank exact-above --summarise "$DR" --out "$DR-partial-$k" --no-plot | tail -n 20
    done ;;
  *) echo "unknown mode $1 (probe, above-r1, above-r2 or summary)" >&2; exit 2 ;;
esac
