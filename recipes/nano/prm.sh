#!/usr/bin/env bash
# s1-nano-prm: the nano lifecycle's process reward model, after recipes/nano/run.sh:
#   labelled steps (s1kit synth --split steps) -> a reward head on the model's backbone (prm.yaml)
#   -> how often it agrees with the nano-checker (prm.py)
#
#   bash recipes/nano/prm.sh                          # on the bundled s1-nano; about 4 minutes on 2 cores
#   MODEL=runs/nano/model bash recipes/nano/prm.sh    # on the model a fresh run.sh trained
#   BUNDLE=1 bash recipes/nano/prm.sh                 # and copy it into the package as s1-nano-prm
#
# Seeded throughout (the steps, the head's weights, the data order).
set -euo pipefail
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

S1KIT=${S1KIT:-.venv/bin/s1kit}
PYTHON=${PYTHON:-.venv/bin/python}
OUT=${OUT:-runs/nano}
MODEL=${MODEL:-s1-nano}        # whose backbone the head goes on
PRM_SIZE=${PRM_SIZE:-20000}   # traces of labelled steps
PRM_STEPS=${PRM_STEPS:-}      # optimizer steps (default: prm.yaml's)
SAMPLES=${SAMPLES:-}          # an eval run of the model's own traces to measure agreement on as well, e.g.
                              # runs/nano/search-nano/majority (recipes/nano/search.py makes it)
mkdir -p "$OUT/prm"

"$S1KIT" synth --split steps --size "$PRM_SIZE" --out "$OUT/prm/steps.jsonl"
"$S1KIT" train --recipe recipes/nano/prm.yaml --model "$MODEL" --data "$OUT/prm/steps.jsonl" \
  --output-dir "$OUT/prm/model" --overwrite ${PRM_STEPS:+max_steps=$PRM_STEPS}
"$PYTHON" recipes/nano/prm.py --prm "$OUT/prm/model" --samples "$SAMPLES" --out "$OUT/prm"

if [ "${BUNDLE:-0}" = 1 ]; then
  "$PYTHON" recipes/nano/bundle.py --prm "$OUT/prm"
fi
echo "s1-nano-prm done: $OUT/prm/model/train_summary.json, $OUT/prm/prm.md"
