#!/usr/bin/env bash
# The issue-12 GPU runs, as made on the device machine (one NVIDIA H200). Usage:
#   OUT=runs/issue12 bash scripts/gpu_issue12.sh xent-planted|xent-random|e4-budget|e4-restarts
# Every command resumes (--resume) what an earlier, interrupted call left in $OUT, so a job
# cut off by LIMIT (seconds) loses no finished batch; run it again to continue.
# (results/ is written by no command; a run is committed by copying its folder there.)
set -euo pipefail
OUT=${OUT:?set OUT to the output folder}
LIMIT=${LIMIT:-100000}
resume() { [ -f "$1/record.jsonl" ] && echo --resume || true; }
case "${1:?xent-planted, xent-random, e4-budget or e4-restarts}" in
  xent-planted)
    # R2 as an optimisation claim: cross-entropy LoRA recipe on planted rank-1 teacher labels,
    # separable by construction at every N (rho down to 0.05: N = 20 r(m+n-r))
    D="$OUT/xent-planted-h200"
    timeout --signal=INT "$LIMIT" python3 -m lorank xent --device cuda --labels planted \
      --sizes 16x16,32x32 --ranks 1,2 --rho 0.05,0.1,0.25,0.5,1 --trials 200 \
      --budgets 100,1000,10000 --batch-size 200 --seed 2026 --no-progress --out "$D" $(resume "$D") ;;
  xent-random)
    # the same recipe on fair random labels, on instances E4's solver certified separable
    D="$OUT/xent-random-h200"
    timeout --signal=INT "$LIMIT" python3 -m lorank xent --device cuda --labels random-separable \
      --sizes 16x16,32x32 --ranks 1,2 --rho 0.4,0.5,1 --trials 200 --restarts 8 --max-iters 200 \
      --budgets 100,1000,10000 --batch-size 200 --seed 2026 --no-progress --out "$D" $(resume "$D") ;;
  e4-budget)
    # E4's dependence on the Gauss-Newton budget (T = 50 .. 400, truncations of the same runs)
    # and on the number of starts (k = 1 .. 16), near the transition, at the two largest square
    # sizes of the H100 record
    D="$OUT/separability-budget-h200"
    timeout --signal=INT "$LIMIT" python3 -m lorank separability --device cuda \
      --sizes 32x32,64x64 --ranks 1,2 --rho 0.26,0.28,0.3,0.32,0.34,0.36,0.38,0.4 --trials 200 \
      --restarts 16 --max-iters 400 --budgets 50,100,200 --batch-size 512 --canonical none \
      --seed 2026 --no-progress --out "$D" $(resume "$D") ;;
  e4-restarts)
    # e4-budget showed T settled by 200 but C_sep still falling with the starts at k = 16:
    # the same r = 1 cells with up to 64 starts of 200 iterations
    D="$OUT/separability-restarts-h200"
    timeout --signal=INT "$LIMIT" python3 -m lorank separability --device cuda \
      --sizes 32x32,64x64 --ranks 1 --rho 0.26,0.28,0.3,0.32,0.34,0.36 --trials 200 \
      --restarts 64 --max-iters 200 --budgets 50,100 --batch-size 512 --canonical none \
      --seed 2026 --no-progress --out "$D" $(resume "$D") ;;
esac
