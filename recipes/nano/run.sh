#!/usr/bin/env bash
# s1-nano: the s1 recipe in miniature, every stage an s1kit command, offline on a CPU.
#   pool -> curation -> SFT from scratch -> budget-forced evaluation
#
#   bash recipes/nano/run.sh                    # after `make install`; about 17 minutes on 2 cores
#   BUNDLE=1 bash recipes/nano/run.sh           # and copy the model into the package as s1-nano
#   CURATION=s1 bash recipes/nano/run.sh        # s1's curation: a weak solver, difficulty, s1's sampler
#   OUT=runs/x POOL=300 SIZE=60 WEAK_STEPS=2 STEPS=4 EVAL_LIMIT=6 CURATION=s1 bash recipes/nano/run.sh  # a smoke run
#
# The bundled model trains on the whole clean pool (curate.yaml says why: chosen on nano-dev, where s1's
# difficulty filter trained a worse model on this toy).
#
# Seeded throughout (pool, teacher, weights, data order): the same machine gives the same model.
set -euo pipefail
# Torch's threads sleep while they wait instead of spinning: a few percent faster on 2 cores, several times
# faster when anything else runs beside the training. Results are the same either way.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

S1KIT=${S1KIT:-.venv/bin/s1kit}
PYTHON=${PYTHON:-.venv/bin/python}
OUT=${OUT:-runs/nano}
POOL=${POOL:-20000}            # problems in the pool, each with a teacher trace
CURATION=${CURATION:-pool}    # pool: the whole clean pool (curate.yaml); s1: difficulty + s1's sampler (curate-s1.yaml)
SIZE=${SIZE:-10000}           # training set size of CURATION=s1
WEAK_STEPS=${WEAK_STEPS:-}    # optimizer steps of the weak solver (default: weak.yaml's)
STEPS=${STEPS:-}              # optimizer steps of s1-nano (default: train.yaml's)
EVAL_LIMIT=${EVAL_LIMIT:-}    # held-out problems to evaluate (default: all 360)
BUDGETS=${BUDGETS:-8,16,32,64,128}
case "$CURATION" in
  pool|s1) ;;
  *) echo "error: CURATION=$CURATION is not a curation; use pool (the bundled model's) or s1" >&2; exit 2 ;;
esac
mkdir -p "$OUT"

# 1. The pool: procedural problems (sum, count, find) with traces by the program teacher, 30% of them
#    budget-forced (pool.yaml says why).
"$S1KIT" synth --recipe recipes/nano/pool.yaml --size "$POOL" --out "$OUT/pool.jsonl"

# 2. Curation: quality and decontamination against the held-out sets; with CURATION=s1 also difficulty
#    against a weak solver (the same architecture, trained briefly on a slice) and s1's sampler.
#    Fresh every time: a retrained weak solver would make cached answers stale.
rm -rf "$OUT/curated"
case "$CURATION" in
  pool)
    "$S1KIT" curate --recipe recipes/nano/curate.yaml --pool "$OUT/pool.jsonl" --out "$OUT/curated" ;;
  s1)
    "$S1KIT" train --recipe recipes/nano/weak.yaml --data "$OUT/pool.jsonl" --output-dir "$OUT/weak" --overwrite \
      ${WEAK_STEPS:+max_steps=$WEAK_STEPS}
    "$S1KIT" curate --recipe recipes/nano/curate-s1.yaml --pool "$OUT/pool.jsonl" --out "$OUT/curated" \
      --size "$SIZE" "solvers.0.model=$OUT/weak" ;;
esac

# 3. SFT from scratch on the curated set, in the s1 format.
"$S1KIT" train --recipe recipes/nano/train.yaml --data "$OUT/curated" --output-dir "$OUT/model" --overwrite \
  ${STEPS:+max_steps=$STEPS}

# 4. Budget forcing on the held-out task (recipes/eval/nano.yaml): caps, and 1, 2, 4 forced Waits.
rm -rf "$OUT/eval"
"$S1KIT" eval --recipe recipes/eval/nano.yaml --model "$OUT/model" --budgets "$BUDGETS" --out "$OUT/eval" \
  ${EVAL_LIMIT:+--limit $EVAL_LIMIT}

if [ "${BUNDLE:-0}" = 1 ]; then
  "$PYTHON" recipes/nano/bundle.py "$OUT"
fi
echo "nano done: $OUT/curated/report.md, $OUT/model/train_summary.json, $OUT/eval/report.md"
