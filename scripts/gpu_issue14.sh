#!/usr/bin/env bash
# The issue-14 GPU runs (one NVIDIA H200 each; every case fits in about three minutes). Usage:
#   OUT=runs/issue14 bash scripts/gpu_issue14.sh jang|stable-rank|stable-rank-decay|learnable-rank|learnable-rank-adam
# (jang stops at LIMIT and then summarises what it has; LIMIT=300 for it is the setting used)
# Every command resumes (--resume) what an earlier, interrupted call left in $OUT, so a job
# cut off by LIMIT (seconds) loses no finished batch; run it again to continue.
# (results/ is written by no command; a run is committed by copying its folder there, with the
# record gzipped: gzip -9nc record.jsonl > results/<family>/<run>/record.jsonl.gz, then
# python scripts/evidence_manifest.py --write and python scripts/readme_tables.py --write.)
set -euo pipefail
OUT=${OUT:?set OUT to the output folder}
LIMIT=${LIMIT:-100000}
resume() { [ -f "$1/record.jsonl" ] && echo --resume || true; }
case "${1:?jang, stable-rank, stable-rank-decay, learnable-rank or learnable-rank-adam}" in
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
      --out "$OUT/jang/h200" ${RESUME:-} ${EXTRA:-} || echo "jang: stopped (status $?); summarising"
    python3 -m lorank jang --summarise "$OUT/jang/h200" --out "$OUT/jang/h200-summary" ;;
  stable-rank)
    # seed 003: sr(Delta), sr(W0 + Delta) against the nominal rank r = 1..d at d = 64
    # (Gaussian-iid teacher, N = 2 d^2 features of 64 x 64), both scalings, 16 seeds, 1000 GD steps
    D="$OUT/stable-rank-h200"
    timeout --signal=INT "$LIMIT" python3 -m lorank stable-rank --device cuda --d 64 \
      --ranks 1,2,3,4,5,6,7,8,12,16,20,24,28,32,36,40,44,48,52,56,60,64 --examples 8192 \
      --steps 1000 --trials 16 --batch-size 16 --seed 2026 --no-progress --out "$D" $(resume "$D") ;;
  stable-rank-decay)
    # the same probe with a power-law teacher D* = U diag(j^-1) V^T (a teacher of low stable rank)
    D="$OUT/stable-rank-decay-h200"
    timeout --signal=INT "$LIMIT" python3 -m lorank stable-rank --device cuda --d 64 \
      --ranks 1,2,3,4,5,6,7,8,12,16,20,24,28,32,36,40,44,48,52,56,60,64 --examples 8192 \
      --teacher-decay 1 --steps 1000 --trials 16 --batch-size 16 --seed 2026 --no-progress \
      --out "$D" $(resume "$D") ;;
  learnable-rank)
    # seed 004: learned rank of the gated layer (plain gradient steps) at n = m = 128, initial
    # rank 32 (lora_alpha 32: s = 1 as in the CPU default), 2/3/5/10 classes, four L1 weights
    D="$OUT/learnable-rank-h200"
    timeout --signal=INT "$LIMIT" python3 -m lorank learnable-rank --device cuda --n 128 --m 128 \
      --per-class 64 --rank 32 --lora-alpha 32 --classes 2,3,5,10 --lams 0.03,0.1,0.3,1 \
      --steps 1000 --prune-every 100 --patience 50 --trials 8 --batch-size 8 --seed 2026 \
      --no-progress --out "$D" $(resume "$D") ;;
  learnable-rank-adam)
    # the same with Adam on A and B (SoRA's practice; rank(Delta) is then not confined to the
    # gradients' range)
    D="$OUT/learnable-rank-adam-h200"
    timeout --signal=INT "$LIMIT" python3 -m lorank learnable-rank --device cuda --optimizer adam \
      --lr 0.01 --n 128 --m 128 --per-class 64 --rank 32 --lora-alpha 32 --classes 2,3,5,10 \
      --lams 0.03,0.1,0.3,1 --steps 1000 --prune-every 100 --patience 50 --trials 8 \
      --batch-size 8 --seed 2026 --no-progress --out "$D" $(resume "$D") ;;
esac
