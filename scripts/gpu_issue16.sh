#!/usr/bin/env bash
# The issue-16 GPU runs: E0 (certified real existence at rho = 1, homotopy continuation) paired
# with E1[k], k = 1..8, on the same instances, r = 1, every m <= n <= 8 (28 cells, degree up to
# C(14, 7) = 3432). Usage (one NVIDIA H200):
#   OUT=runs/issue16 LIMIT=450 bash scripts/gpu_issue16.sh probe     # CUDA = CPU test + timings
#   OUT=runs/issue16 LIMIT=450 bash scripts/gpu_issue16.sh e0        # repeat until "complete"
#   OUT=runs/issue16 LIMIT=450 bash scripts/gpu_issue16.sh e0-r2     # r = 2 (also e0-r3, e0-r4)
#   OUT=runs/issue16 [RUN=h200-r2] bash scripts/gpu_issue16.sh summary   # summary of a partial run
# Every e0 call resumes (--resume) what an earlier, interrupted call left in $OUT, so a call cut
# off by LIMIT (seconds) loses at most the batch in flight; run it again to continue. When the
# record is complete the e0 call itself writes summary.json beside it; until then `summary`
# summarises the partial record into "$OUT/exact-existence/<run>-partial-<n>" (never the run
# folder).
#   OUT=runs/issue16 REST="3:150 5:150" bash scripts/gpu_issue16.sh rest   # the cells v2 did not reach
# Tested on the CPU at tiny sizes with:
#   DEVICE=cpu PROBE=2x3:4,3x3:4 SIZES=2x2,2x3 TRIALS=4 OUT=/tmp/i16 bash scripts/gpu_issue16.sh probe|e0|summary
# (results/ is written by no command; a run is committed by copying its folder there, with the
# record gzipped: gzip -9nc record.jsonl > results/exact-existence/<run>/record.jsonl.gz, then
# python scripts/evidence_manifest.py --write and python scripts/readme_tables.py --write.)
set -euo pipefail
OUT=${OUT:?set OUT to the output folder}
LIMIT=${LIMIT:-100000}
DEVICE=${DEVICE:-cuda}
TRIALS=${TRIALS:-2000}
# every m <= n <= 8 with m >= 2, small degrees first (the runner goes cell by cell)
PROBE=${PROBE:-4x4:256,6x6:64,7x7:32,8x8:32}
SIZES=${SIZES:-2x2,2x3,2x4,2x5,3x3,2x6,2x7,2x8,3x4,3x5,4x4,3x6,3x7,4x5,3x8,4x6,5x5,4x7,5x6,4x8,5x7,6x6,5x8,6x7,6x8,7x7,7x8,8x8}
D="$OUT/exact-existence/h200"
# start solutions of r >= 2 (monodromy) are kept here between calls and re-certified when read
# (numerics.engine.homotopy_rank._cached_start), so a resumed call does not solve them again
export LORANK_START_CACHE=${LORANK_START_CACHE:-$OUT/start-cache}
resume() { [ -f "$1/record.jsonl" ] && echo --resume || true; }
# r >= 2 (numerics/engine/homotopy_rank.py): every m <= n <= 8 whose start system has at most
# 200000 paths, one run per rank (the cells of a run are all sizes x all ranks)
SIZES_R2=${SIZES_R2:-3x3,3x4,3x5,3x6,3x7,3x8,4x4,4x5,4x6,4x7,4x8,5x5,5x6,5x7,5x8,6x6}
SIZES_R3=${SIZES_R3:-4x4,4x5,4x6,4x7,4x8,5x5,5x6}
SIZES_R4=${SIZES_R4:-5x5,5x6,5x7,5x8}
TRIALS_R=${TRIALS_R:-1000}
# The certificate of numerics.engine.homotopy_certify (second chart, --retries, monodromy start
# solutions): runs "h200-v2-r<r>", one per rank, every cell m <= n <= 8 with degree <= 10000.
# `v2` runs all seven ranks at once as separate processes sharing the GPU (their wall times are
# therefore not benchmarks), each resumable: repeat until every one says "complete".
V2_R1=${V2_R1:-$SIZES}
V2_R2=${V2_R2:-3x3,3x4,3x5,3x6,3x7,3x8,4x4,4x5,4x6,4x7,4x8,5x5,5x6,5x7,5x8,6x6,6x7}
V2_R3=${V2_R3:-4x4,4x5,4x6,4x7,4x8,5x5,5x6,5x7,5x8,6x6,6x7}
V2_R4=${V2_R4:-5x5,5x6,5x7,5x8,6x6,6x7,6x8,7x7}
V2_R5=${V2_R5:-6x6,6x7,6x8,7x7,7x8}
V2_R6=${V2_R6:-7x7,7x8,8x8}
V2_R7=${V2_R7:-8x8}
TRIALS_V2_R1=${TRIALS_V2_R1:-1000}
TRIALS_V2_R2=${TRIALS_V2_R2:-250}
TRIALS_V2=${TRIALS_V2:-100}   # r >= 3 (the device budget of one session)
# paths at once per rank: each batch well below half of the H200's memory (preflight), as seven
# processes share it
MAXP_V2=(0 200000 100000 30000 20000 15000 12000 20000)
v2_one() {   # rank
  local R=$1 var="V2_R$1" DR="$OUT/exact-existence/h200-v2-r$1" T=$TRIALS_V2
  [ "$R" = 1 ] && T=$TRIALS_V2_R1
  [ "$R" = 2 ] && T=$TRIALS_V2_R2
  timeout --signal=INT "$LIMIT" python3 -m lorank exact --device "$DEVICE" --sizes "${!var}" \
    --ranks "$R" --trials "$T" --restarts 8 --max-iters 200 --seed 0 --retries 1 \
    --batch-size 128 --max-paths "${MAXP_V2[$R]}" --no-progress --out "$DR" $(resume "$DR") \
    > "$OUT/v2-r$R.log" 2>&1 || echo "v2 r=$R: stopped (status $?); run again to continue" >> "$OUT/v2-r$R.log"
  if [ -f "$DR/summary.json" ]; then echo "v2 r=$R: complete" >> "$OUT/v2-r$R.log"; fi
}
# `rest`: the cells the v2 runs had not reached, one run per rank ("h200-v2-r<r>-rest"), run
# ONE PROCESS AT A TIME (processes sharing the GPU time-slice it: in stop 25, with five at once,
# 6x6 r = 4 took 110 s for 100 instances, start solve, retries and E1 included; one process alone
# on an H100 tracked and certified 64 of them in 2.7 s, without those, in
# results/bench/e0-tracker-profile-h100.json: not like for like, but far apart), with the v2 options and the same instances, in batches
# of REST_BATCH instances so that a run cut off by its time limit keeps what it finished. r = 3 and
# r = 5 continue the committed runs, tracked in the identity chart; r = 2, 4 and 6 start new
# ones in a random complex chart (--tracking-chart random: fewer failed paths, the same
# certificate). REST="<r>:<seconds> ..." gives each rank its own time limit, in order (LIMIT is
# not used here; the default shares take 550 s in all, under one device call's 600 s).
REST_R2=${REST_R2:-5x8,6x6,6x7} REST_R3=${REST_R3:-5x8,6x6,6x7} REST_R4=${REST_R4:-6x7,6x8,7x7}
REST_R5=${REST_R5:-7x7,7x8} REST_R6=${REST_R6:-8x8}
REST_CHART=(- - random identity random identity random)
REST_MAXP=(0 0 80000 40000 15000 5000 10000)
rest_one() {   # rank, seconds
  local R=$1 var="REST_R$1" DR="$OUT/exact-existence/h200-v2-r$1-rest" T=$TRIALS_V2
  [ "$R" = 2 ] && T=$TRIALS_V2_R2
  timeout --signal=INT "$2" python3 -m lorank exact --device "$DEVICE" --sizes "${!var}" \
    --ranks "$R" --trials "$T" --restarts 8 --max-iters 200 --seed 0 --retries 1 \
    --tracking-chart "${REST_CHART[$R]}" --batch-size "${REST_BATCH:-20}" \
    --max-paths "${REST_MAXP[$R]}" --no-progress --out "$DR" $(resume "$DR") \
    >> "$OUT/rest-r$R.log" 2>&1 || echo "rest r=$R: stopped (status $?); run again to continue" >> "$OUT/rest-r$R.log"
  if [ -f "$DR/summary.json" ]; then echo "rest r=$R: complete" >> "$OUT/rest-r$R.log"; fi
}
case "${1:?probe, e0, e0-r2, e0-r3, e0-r4, v2, rest or summary}" in
  rest)
    mkdir -p "$OUT"
    for job in ${REST:-3:110 5:110 4:110 2:110 6:110}; do rest_one "${job%%:*}" "${job##*:}"; done
    tail -n 3 "$OUT"/rest-r*.log ;;
  v2)
    mkdir -p "$OUT"
    for R in ${RANKS:-1 2 3 4 5 6 7}; do v2_one "$R" & done
    wait
    tail -n 3 "$OUT"/v2-r*.log ;;
  e0-r2|e0-r3|e0-r4)
    R=${1#e0-r}; var="SIZES_R$R"; DR="$OUT/exact-existence/h200-r$R"
    timeout --signal=INT "$LIMIT" python3 -m lorank exact --device "$DEVICE" --sizes "${!var}" \
      --ranks "$R" --trials "$TRIALS_R" --restarts 8 --max-iters 200 --seed 0 --batch-size 128 \
      --max-paths 200000 --no-progress --out "$DR" $(resume "$DR") \
      || echo "e0-r$R: stopped (status $?); run again to continue"
    if [ -f "$DR/summary.json" ]; then echo "e0-r$R: complete: $DR/summary.json"; fi ;;
  probe)
    # 1. the homotopy on the GPU equals the CPU on 8 instances of 3x3 (r = 1) and of 4x4 (r = 2);
    # 2. seconds per path on this device at 4x4, 6x6, 7x7 and 8x8 (start system on the CPU
    #    once per size, then a batch), to size the e0 calls.
    LORANK_NO_LEDGER=1 python3 -m pytest -q -o addopts= tests/test_exact_existence.py -k cuda_equals_cpu -rs || true
    LORANK_NO_LEDGER=1 python3 -m pytest -q -o addopts= -m cuda tests/test_exact_existence_family.py -rs || true
    timeout --signal=INT "$LIMIT" python3 - "$DEVICE" "$PROBE" <<'EOF'
import sys, time, torch
import numerics.engine.homotopy as H
dev = sys.argv[1]
cases = [(*map(int, s.split(":")[0].split("x")), int(s.split(":")[1])) for s in sys.argv[2].split(",")]
H.e0_on_e1_instances(2, 2, range(2), device=dev)   # warm-up (imports, kernels)
for m, n, T in cases:
    t0 = time.perf_counter(); H.start_solutions(m, n); start_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    r = H.e0_on_e1_instances(m, n, range(T), device=dev)
    if dev.startswith("cuda"):
        torch.cuda.synchronize()
    s = time.perf_counter() - t0
    print(f"{m}x{n}: degree {r.degree}, {T} instances, start system {start_s:.1f} s (CPU), "
          f"tracking+certification {s:.2f} s = {1e6 * s / (T * r.degree):.1f} us/path; "
          f"certified {int(r.certified.sum())}/{T}; steps {H.LAST_TRACK}", flush=True)
EOF
    ;;
  e0)
    # 2000 instances per cell (Wilson 95% half-width <= 0.022 at any p, <= 0.002 at p = 1),
    # E1 with 8 LM restarts of 200 iterations on each instance; batches (checkpoints) of 256
    # instances, tracked in cuts of
    # at most 200000 paths (8x8: 58 instances per cut; about 20 GB of GPU memory).
    timeout --signal=INT "$LIMIT" python3 -m lorank exact --device "$DEVICE" --sizes "$SIZES" \
      --trials "$TRIALS" --restarts 8 --max-iters 200 --seed 0 --batch-size 256 \
      --max-paths 200000 --no-progress --out "$D" $(resume "$D") \
      || echo "e0: stopped (status $?); run again to continue"
    if [ -f "$D/summary.json" ]; then echo "e0: complete: $D/summary.json"; fi ;;
  summary)
    # RUN=h200 (default), h200-r2, h200-r3 or h200-r4
    S="$OUT/exact-existence/${RUN:-h200}"
    k=0; while [ -e "$S-partial-$k" ]; do k=$((k + 1)); done
    python3 -m lorank exact --summarise "$S" --out "$S-partial-$k" ;;
esac
