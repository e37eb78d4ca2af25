#!/usr/bin/env bash
# s1-nano: the s1 recipe in miniature, every stage an s1kit command, offline on a CPU.
#   pool -> weak solver -> curation -> SFT from scratch -> budget-forced evaluation
#
#   bash recipes/nano/run.sh                    # after `make install`; about 22 minutes on 2 cores
#   OUT=runs/x POOL=300 SIZE=60 WEAK_STEPS=2 STEPS=4 EVAL_LIMIT=6 bash recipes/nano/run.sh   # a smoke run
#   BUNDLE=1 bash recipes/nano/run.sh           # and copy the model into the package as s1-nano
#
# Seeded throughout (pool, teacher, weights, data order): the same machine gives the same model.
set -euo pipefail

S1KIT=${S1KIT:-.venv/bin/s1kit}
PYTHON=${PYTHON:-.venv/bin/python}
OUT=${OUT:-runs/nano}
POOL=${POOL:-20000}            # problems in the pool, each with a teacher trace
SIZE=${SIZE:-10000}           # curated training set
WEAK_STEPS=${WEAK_STEPS:-}    # optimizer steps of the weak solver (default: weak.yaml's)
STEPS=${STEPS:-}              # optimizer steps of s1-nano (default: train.yaml's)
EVAL_LIMIT=${EVAL_LIMIT:-}    # held-out problems to evaluate (default: all 360)
BUDGETS=${BUDGETS:-8,16,32,64,128}
mkdir -p "$OUT"

# 1. The pool: procedural problems (sum, count, find) with traces by the program teacher.
"$S1KIT" synth --split pool --size "$POOL" --seed 0 --out "$OUT/pool.jsonl"

# 2. A weak solver for the difficulty stage: the same architecture, trained briefly on a slice.
"$S1KIT" train --recipe recipes/nano/weak.yaml --data "$OUT/pool.jsonl" --output-dir "$OUT/weak" --overwrite \
  ${WEAK_STEPS:+max_steps=$WEAK_STEPS}

# 3. Curation: quality, decontamination against the held-out sets, difficulty, s1's sampler.
#    Fresh every time: the weak solver was just retrained, so cached answers would be stale.
rm -rf "$OUT/curated"
"$S1KIT" curate --recipe recipes/nano/curate.yaml --pool "$OUT/pool.jsonl" --out "$OUT/curated" --size "$SIZE" \
  "solvers.0.model=$OUT/weak"

# 4. SFT from scratch on the curated set, in the s1 format.
"$S1KIT" train --recipe recipes/nano/train.yaml --data "$OUT/curated" --output-dir "$OUT/model" --overwrite \
  ${STEPS:+max_steps=$STEPS}

# 5. Budget forcing on the held-out task: caps, and 1, 2, 4 forced Waits.
rm -rf "$OUT/eval"
"$S1KIT" eval --task nano --model "$OUT/model" --budgets "$BUDGETS" --num-ignore 0,1,2,4 --batch-size 64 \
  --max-answer-tokens 24 --out "$OUT/eval" ${EVAL_LIMIT:+--limit $EVAL_LIMIT}

if [ "${BUNDLE:-0}" = 1 ]; then
  "$PYTHON" recipes/nano/bundle.py "$OUT"
fi
echo "nano done: $OUT/curated/report.md, $OUT/model/train_summary.json, $OUT/eval/report.md"
