#!/usr/bin/env bash
# The GPU-scale runs of issue 14 (the foundation papers), each on one H200.
#
#   OUT=runs bash scripts/gpu_issue14.sh jang
#
# No command writes into results/: runs go to $OUT, and a result is committed by copying it to
# results/<family>/<run>/ (record gzipped with gzip -9nc, summary.json, figures), then
# python scripts/evidence_manifest.py --write.
#
# Each run stops at LIMIT seconds (SIGINT; the append-only record keeps every finished batch)
# and is then summarised from its record, so a summary always exists; an interrupted run says
# INCOMPLETE in its summary and can be continued with the same command plus RESUME=--resume.
set -uo pipefail
OUT=${OUT:?set OUT to the results folder}
LIMIT=${LIMIT:-300}
case "${1:?jang}" in
  jang)
    # Seed 001 (Jang, Lee, Ryu). exist: 16x16 to 32x32, M up to 200 (r0 up to 19), 32 systems
    # per cell, ADMM 3000 iterations (certified to ~1e-14 at these sizes on the CPU) and the
    # Barvinok-Pataki reduction from rank 32; the SDP route (cvxpy + Clarabel, on the host's CPU,
    # about 5 s at 32x32, M = 200) on the first system of each cell when the sdp extra is
    # installed, else none (the record's spec says which). land: 12x12, M = 30 (J2 from r = 8),
    # 16 instances x 40 starts per rank, 20000 GD iterations (converged on the CPU at this size).
    # Expected: about 3 minutes on one H200.
    if python3 -c "import cvxpy, clarabel" 2>/dev/null; then SDP=1; else SDP=0; fi
    echo "jang: --sdp-trials $SDP"
    timeout --signal=INT "$LIMIT" python3 -m lorank jang --device cuda \
      --sizes 16x16,24x24,32x32 --examples 10,30,60,100,200 --trials 32 --sdp-trials "$SDP" \
      --admm-iters 3000 --land-m 12 --land-n 12 --land-examples 30 \
      --land-ranks 1,2,3,4,5,6,7,8,10,12 --land-trials 16 --starts 40 --gd-iters 20000 \
      --prox-iters 3000 --batch-size 16 --seed 1 --no-plot --no-progress \
      --out "$OUT/jang/h200" ${RESUME:-} ${EXTRA:-}
    python3 -m lorank jang --summarise "$OUT/jang/h200" --out "$OUT/jang/h200-summary" ;;
  *)
    echo "unknown run '$1' (known: jang)" >&2; exit 2 ;;
esac
