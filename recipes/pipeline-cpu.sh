#!/usr/bin/env bash
# The whole s1 lifecycle on one CPU, offline, with the bundled SmolLM2-135M:
#   pool -> teacher traces -> curation -> SFT -> budget-forced evaluation.
# It shows the mechanics end to end (about 2-3 minutes on 2 cores with the defaults below); a 135M
# model neither writes useful traces nor learns to reason from 16 of them.
#   bash recipes/pipeline-cpu.sh                 # after `make install` (or `make demo`)
#   OUT=runs/x QUESTIONS=8 SIZE=4 EVAL_LIMIT=2 bash recipes/pipeline-cpu.sh
set -euo pipefail

S1KIT=${S1KIT:-.venv/bin/s1kit}
PYTHON=${PYTHON:-.venv/bin/python}
DATA=${S1KIT_DATA_DIR:-../shared/data}    # local benchmark files: gsm8k (the pool), aime24/25, math500
OUT=${OUT:-runs/pipeline-cpu}
QUESTIONS=${QUESTIONS:-24}                # pool size
SIZE=${SIZE:-16}                          # curated examples
EVAL_LIMIT=${EVAL_LIMIT:-8}               # MATH-500 questions in the final evaluation
mkdir -p "$OUT"

# 1. A pool in s1's columns: GSM8K questions, their worked solutions with the answer boxed.
"$PYTHON" - "$DATA/gsm8k.jsonl" "$QUESTIONS" > "$OUT/pool.jsonl" <<'EOF'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, encoding="utf-8") as rows:
    for line, _ in zip(rows, range(n)):
        row = json.loads(line)
        work, answer = row["answer"].split("####")
        print(json.dumps({"question": row["question"], "solution": work.strip() + "\n\\boxed{" + answer.strip() + "}",
                          "cot_type": "math", "source_type": "openai/gsm8k", "metadata": "{}"}))
EOF

# 2. Reasoning traces from a teacher (here SmolLM2 itself, made to think 48-96 tokens).
"$S1KIT" traces --questions "$OUT/pool.jsonl" --teacher smollm2-135m --format s1 \
  --min-thinking-tokens 48 --max-thinking-tokens 96 --max-answer-tokens 32 --out "$OUT/traces.jsonl"

# 3. Curation: quality, decontamination (against the eval sets, not GSM8K: that is the pool),
#    difficulty with SmolLM2 as solver, domains from SmolLM2 as classifier, s1's sampler.
"$S1KIT" curate --recipe recipes/curate/tiny-cpu.yaml --pool "$OUT/traces.jsonl" --out "$OUT/curated" \
  --size "$SIZE" --eval-sets aime24,aime25,math500 --data-dir "$DATA"

# 4. SFT on the curated set (the s1 recipe scaled to a CPU).
"$S1KIT" train --recipe recipes/sft/tiny-cpu.yaml --data "$OUT/curated" --output-dir "$OUT/model" --overwrite

# 5. The fine-tuned model, budget-forced at two caps (a fresh evaluation: the model was just trained).
rm -rf "$OUT/eval"
"$S1KIT" eval --task math500 --limit "$EVAL_LIMIT" --model "$OUT/model" --budgets 32,64 \
  --data-dir "$DATA" --out "$OUT/eval"
echo "pipeline done: $OUT/curated/report.md, $OUT/model/train_summary.json, $OUT/eval/report.md"
