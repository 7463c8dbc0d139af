#!/usr/bin/env bash
# The headline C* runs, as made on the device machine (one NVIDIA H100). Every number in the
# README's C* section is read from the summaries these commands write. Usage:
#   OUT=runs/cstar bash scripts/gpu_headline.sh lm          # E1 and E2
#   OUT=runs/cstar bash scripts/gpu_headline.sh recipe      # E3
# (results/ is written by no command; a run is committed by copying its folder there.)
#   OUT=runs/bench bash scripts/gpu_headline.sh bench       # engine vs CPU vs scipy, traces
#   OUT=runs/bench bash scripts/gpu_headline.sh sweep-bench # whole sweeps from fresh processes
#     (SYSTEMS=auto,library by default; the headline grids need more than one 10-minute call
#      for both systems: run SYSTEMS=auto and SYSTEMS=library as two records)
#   (benchmark scripts never overwrite a record: a run that is to replace one goes to a new file)
# Add RESUME=--resume to continue an interrupted run; finished trials are kept.
set -euo pipefail
OUT=${OUT:?set OUT to the output folder}
LIMIT=${LIMIT:-100000}   # seconds; an interrupted run resumes where it stopped
case "${1:?lm, recipe, bench or sweep-bench}" in
  lm)
    timeout --signal=INT "$LIMIT" python3 -m lorank cstar --device cuda --estimand lm \
      --sizes 8x8,16x16,32x32,64x64,8x32,16x64,32x128,128x128 --ranks 1,2,4 \
      --rho 0.95,0.98,1,1.02,1.05,1.1,1.2,1.35,1.5,2 --trials 200 --restarts 4 --max-iters 200 \
      --batch-size 512 --seed 2026 --no-progress --out "$OUT/headline-lm" ${RESUME:-} ${EXTRA:-} ;;
  recipe)
    timeout --signal=INT "$LIMIT" python3 -m lorank cstar --device cuda --estimand recipe \
      --sizes 8x8,16x16,32x32,8x32,16x64 --ranks 1,2 \
      --rho 1,1.1,1.2,1.35,1.5,1.75,2,2.5,3,4 --trials 100 --budgets 100,300,1000,3000,10000 \
      --eps 1e-3,1e-6 --batch-size 512 --seed 2026 --no-progress --out "$OUT/headline-recipe" ${RESUME:-} ${EXTRA:-} ;;
  bench)
    # OUT=results/bench: the two benchmark cells (the paper's rho = 1.35 and rho = 1, the
    # measured transition), each with the iteration trace of its whole solve (the engine's
    # default against the library's Cholesky and solves), the parts of one iteration, and the
    # step's linear algebra across batch sizes
    python3 benchmarks/bench_engine.py --out "$OUT/bench_engine_fp64.json" ${EXTRA:-}
    python3 benchmarks/bench_engine.py --rho 1 --trials 1024 --cpu-trials 64 --scipy-trials 3 \
      --out "$OUT/bench_engine_fp64_rho1.json" ${EXTRA:-}
    python3 benchmarks/trace_engine.py --systems auto,library --graph-rows 64 \
      --out "$OUT/trace_engine_rho135.json"
    python3 benchmarks/trace_engine.py --rho 1 --trials 1024 --systems auto,library \
      --graph-rows 64,0 --out "$OUT/trace_engine_rho1.json"
    python3 benchmarks/engine_components.py --out "$OUT/engine_components_rho135.json"
    python3 benchmarks/engine_components.py --M 252 --trials 1024 \
      --out "$OUT/engine_components_rho1.json"
    python3 benchmarks/cholesky_latency.py --out "$OUT/cholesky_latency.json" ;;
  sweep-bench)
    # the 40-cell sweep of issue 13, then the headline LM and recipe grids, each system in a
    # fresh process (benchmarks/bench_sweep.py), and the fused/library crossover of the SPD solve
    python3 benchmarks/system_crossover.py --out "$OUT/system_crossover.json"
    S=${SYSTEMS:-auto,library,baseline}
    python3 benchmarks/bench_sweep.py --device cuda --sizes 16x16,64x64 --ranks 1,2 \
      --rho 0.95,0.98,1,1.02,1.05,1.1,1.2,1.35,1.5,2 --trials 200 --restarts 4 --max-iters 200 \
      --batch-size 512 --seed 2026 --systems "$S" --out "$OUT/sweep-40-cells-${S//,/-}.json"
    # the headline LM grid in two records (one 10-minute call each): the 128 x 128 cells, then
    # the other seven sizes; the library path as it ran when issue 13 was filed ("baseline")
    # beside the default, in the same run
    H=${HSYSTEMS:-auto,baseline}
    python3 benchmarks/bench_sweep.py --device cuda --sizes 128x128 --ranks 1,2,4 \
      --rho 0.95,0.98,1,1.02,1.05,1.1,1.2,1.35,1.5,2 --trials 200 --restarts 4 --max-iters 200 \
      --batch-size 512 --seed 2026 --systems "$H" --out "$OUT/sweep-headline-lm-128-${H//,/-}.json"
    python3 benchmarks/bench_sweep.py --device cuda \
      --sizes 8x8,16x16,32x32,64x64,8x32,16x64,32x128 --ranks 1,2,4 \
      --rho 0.95,0.98,1,1.02,1.05,1.1,1.2,1.35,1.5,2 --trials 200 --restarts 4 --max-iters 200 \
      --batch-size 512 --seed 2026 --systems "$H" --out "$OUT/sweep-headline-lm-rest-${H//,/-}.json"
    # the recipe (E3): 16 x 16 against its lorank 0.5 baseline, then the whole headline grid
    python3 benchmarks/bench_sweep.py --device cuda --estimand recipe --systems auto,baseline \
      --sizes 16x16 --ranks 1,2 --rho 1,1.1,1.2,1.35,1.5,1.75,2,2.5,3,4 --trials 100 \
      --budgets 100,300,1000,3000,10000 --batch-size 512 --seed 2026 \
      --out "$OUT/sweep-recipe-16x16-auto-baseline.json"
    python3 benchmarks/bench_sweep.py --device cuda --estimand recipe --systems auto \
      --sizes 8x8,16x16,32x32,8x32,16x64 --ranks 1,2 --rho 1,1.1,1.2,1.35,1.5,1.75,2,2.5,3,4 \
      --trials 100 --budgets 100,300,1000,3000,10000 --batch-size 512 --seed 2026 \
      --out "$OUT/sweep-headline-recipe.json" ;;
esac
