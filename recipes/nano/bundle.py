"""Copy a model trained by recipes/nano/run.sh into the package as the built-in s1-nano, or the
process reward model it trains as the built-in s1-nano-prm.

    python recipes/nano/bundle.py runs/nano
    python recipes/nano/bundle.py --prm runs/nano/prm

Writes src/s1kit/checkpoints/s1-nano/: the files every backend loads (weights, config, tokenizer,
chat template), and provenance.json with the recipe files, the training summary, the held-out
headline and a SHA-256 of every file, so a checkpoint in the repo says how it was made.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "src" / "s1kit" / "checkpoints" / "s1-nano"
FILES = ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
         "chat_template.jinja")
RECIPES = ("recipes/nano/run.sh", "recipes/nano/pool.yaml", "recipes/nano/model.yaml", "recipes/nano/train.yaml",
           "recipes/nano/curate.yaml")
LIMIT_BYTES = 20 * 1024 * 1024


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(run: Path) -> None:
    model = run / "model"
    missing = [name for name in FILES if not (model / name).is_file()]
    if missing:
        sys.exit(f"error: {model} lacks {', '.join(missing)}; run recipes/nano/run.sh first")
    if TARGET.exists():
        shutil.rmtree(TARGET)
    TARGET.mkdir(parents=True)
    for name in FILES:
        shutil.copyfile(model / name, TARGET / name)
    size = sum((TARGET / name).stat().st_size for name in FILES)
    if size > LIMIT_BYTES:
        sys.exit(f"error: the checkpoint is {size / 2**20:.1f} MiB, over the {LIMIT_BYTES // 2**20} MiB a bundled model may take")
    summary = json.loads((model / "train_summary.json").read_text())
    evaluation = json.loads((run / "eval" / "metrics.json").read_text()) if (run / "eval" / "metrics.json").is_file() else None
    provenance = {
        "model": "s1-nano",
        "made_by": "bash recipes/nano/run.sh (then python recipes/nano/bundle.py)",
        "train_config": (model / "train_config.yaml").read_text(),
        "recipes": {path: {"sha256": sha256(ROOT / path)} for path in RECIPES},
        "curation": json.loads((run / "curated" / "manifest.json").read_text())["stages"],
        "training": {key: summary[key] for key in ("examples", "steps", "tokens", "train_seconds", "first_loss", "final_loss")},
        "held_out": None if evaluation is None else {
            "task": evaluation["task"], "questions": evaluation["questions"],
            "points": {p["label"]: {"accuracy": p["accuracy"], "avg_thinking_tokens": p["avg_thinking_tokens"]}
                       for p in evaluation["points"]}},
        "files": {name: {"bytes": (TARGET / name).stat().st_size, "sha256": sha256(TARGET / name)} for name in FILES},
    }
    (TARGET / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(f"bundled {model} as s1-nano in {TARGET} ({size / 2**20:.1f} MiB)")


PRM_TARGET = ROOT / "src" / "s1kit" / "checkpoints" / "s1-nano-prm"
PRM_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja")
PRM_RECIPES = ("recipes/nano/prm.sh", "recipes/nano/prm.yaml")
PRM_LIMIT_BYTES = 15 * 1024 * 1024


def main_prm(run: Path) -> None:
    """s1-nano-prm from RUN/model (s1kit train --recipe recipes/nano/prm.yaml) and its agreement
    with the checker, RUN/prm.json (recipes/nano/prm.py)."""
    model = run / "model"
    missing = [name for name in PRM_FILES if not (model / name).is_file()] + [
        name for name in ("train_summary.json", "train_config.yaml") if not (model / name).is_file()]
    if missing or not (run / "prm.json").is_file():
        sys.exit(f"error: {run} lacks {', '.join(missing or ['prm.json'])}; train it (recipes/nano/prm.yaml) and "
                 "measure it (recipes/nano/prm.py --prm RUN/model) first")
    if PRM_TARGET.exists():
        shutil.rmtree(PRM_TARGET)
    PRM_TARGET.mkdir(parents=True)
    for name in PRM_FILES:
        shutil.copyfile(model / name, PRM_TARGET / name)
    size = sum((PRM_TARGET / name).stat().st_size for name in PRM_FILES)
    if size > PRM_LIMIT_BYTES:
        sys.exit(f"error: the PRM is {size / 2**20:.1f} MiB, over the {PRM_LIMIT_BYTES // 2**20} MiB it may take")
    summary = json.loads((model / "train_summary.json").read_text())
    provenance = {
        "model": "s1-nano-prm",
        "made_by": "bash recipes/nano/prm.sh (then python recipes/nano/bundle.py --prm)",
        "train_config": (model / "train_config.yaml").read_text(),
        "recipes": {path: {"sha256": sha256(ROOT / path)} for path in PRM_RECIPES},
        "training": summary,
        "agreement_with_nano_checker": json.loads((run / "prm.json").read_text()),
        "files": {name: {"bytes": (PRM_TARGET / name).stat().st_size, "sha256": sha256(PRM_TARGET / name)}
                  for name in PRM_FILES},
    }
    (PRM_TARGET / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(f"bundled {model} as s1-nano-prm in {PRM_TARGET} ({size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--prm":
        main_prm(Path(sys.argv[2]))
    elif len(sys.argv) == 2:
        main(Path(sys.argv[1]))
    else:
        sys.exit("usage: python recipes/nano/bundle.py RUN_DIR (the OUT of recipes/nano/run.sh), or --prm RUN_DIR/prm")
