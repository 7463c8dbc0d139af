#!/usr/bin/env bash
# The larger runs of issue 4: R2 (PL* and E4 separability) on one H100; R3 (rank sweeps) on the CPU.
#
#   OUT=runs bash scripts/gpu_issue4.sh rademacher|separability|pl
#
# (The committed results/ were made by lorank 0.4.0 with its old flag names: --max-rank 8 for
# --ranks 1..8, --seeds for --trials, --rho-grid for --rho, --budget for --max-iters. No command
# writes into results/: runs go to runs/, and a result is committed by copying it there.)
#
# Each run stops at LIMIT seconds (SIGINT; the append-only record keeps every finished batch)
# and is then summarised from its record, so a summary always exists; an interrupted run says
# INCOMPLETE in its summary and can be continued with the same command plus RESUME=--resume.
set -uo pipefail
OUT=${OUT:?set OUT to the results folder}
LIMIT=${LIMIT:-240}
case "${1:?rademacher, separability or pl}" in
  rademacher)
    # runs on the CPU: the closed-form sweep's CUDA path is disabled (numerics/engine/rademacher.py,
    # "Scale"); noise 4, 8 at n = 256 keeps the class separation of the CPU default (noise 2, 4
    # at n = 64): the separation grows like sqrt(n)
    timeout --signal=INT "$LIMIT" python3 -m lorank rademacher --m 256 --n 256 \
      --ranks 1,2,3,4,5,6,7,8 --n-train 16,64,256 --noise 4,8 --n-test 2000 --trials 200 \
      --no-progress --out "$OUT/rademacher/cpu-256" ${RESUME:-} ${EXTRA:-} ;;
  separability)
    timeout --signal=INT "$LIMIT" python3 -m lorank separability --device cuda --dtype float64 \
      --sizes 8x8,16x16,32x32,8x32,16x64,64x64 --ranks 1,2 \
      --rho 0.2,0.25,0.28,0.3,0.32,0.34,0.36,0.38,0.4,0.43,0.46,0.5,0.6 \
      --trials 200 --restarts 4 --max-iters 100 --budgets 25,50 --batch-size 512 --canonical none \
      --no-plot --no-progress --out "$OUT/separability/h100" ${RESUME:-} ${EXTRA:-}
    python3 -m lorank separability --summarise "$OUT/separability/h100" \
      --out "$OUT/separability/h100-summary" --canonical 32,64,128 --canonical-trials 20 ;;
  pl)
    timeout --signal=INT "$LIMIT" python3 -m lorank pl --device cuda --sizes 32x32,64x64 \
      --ranks 1,2 --trials 40 --gd-trials 4 --gd-steps 100 --batch-size 8 --no-plot \
      --no-progress --out "$OUT/pl/h100" ${RESUME:-} ${EXTRA:-}
    python3 -m lorank pl --summarise "$OUT/pl/h100" --out "$OUT/pl/h100-summary" ;;
esac
