"""The output directory of a run: one writer at a time, never two runs mixed in one, and the
checkpoint to resume from.

A run is marked by train_config.yaml, written before the first step, so even a run interrupted
before its first checkpoint is recognised; train_summary.json is written after the final model,
so it says the model there is whole. Both are written whole or not at all (s1kit.files), so a
kill at any point leaves a directory that --resume continues.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import sys
from pathlib import Path

from s1kit.errors import S1kitError, check_output_dir, require
from s1kit.files import is_temporary, write_text
from s1kit.locks import LOCK_NAME, locked
from s1kit.train.config import RUN_CONTROL, TrainConfig

CONFIG_FILE = "train_config.yaml"
SUMMARY_FILE = "train_summary.json"


@contextlib.contextmanager
def locked_output_dir(config: TrainConfig):
    """Hold the lock of output_dir (s1kit.locks) while the block runs, from the first process only:
    under a launcher the others are the same run."""
    if os.environ.get("RANK", "0") != "0":
        yield
        return
    out = check_output_dir(config.output_dir, "output_dir", "the model and its checkpoints")
    with locked(out, "s1kit train"):
        yield


def contents(out: Path) -> list[Path]:
    """What a run directory holds, but its lock and the temporary file of a write a kill stopped."""
    return [entry for entry in out.iterdir() if entry.name != LOCK_NAME and not is_temporary(entry)]


def plan_output_dir(config: TrainConfig) -> tuple[str, str | None]:
    """What to do with output_dir: ("new" | "overwrite" | "resume", checkpoint to resume from or None).
    Reads only, so every process can ask and get the same answer."""
    out = Path(config.output_dir)
    if out.exists() and not out.is_dir():
        raise S1kitError(f"output_dir {out} is a file; pass a directory")
    if not out.exists() or not contents(out):
        if config.resume:
            note(f"--resume: {out} holds no run yet; starting a new one")
        return "new", None
    saved = out / CONFIG_FILE
    if not saved.is_file():
        raise S1kitError(f"output_dir {out} is not empty and holds no s1kit training run (no {CONFIG_FILE}); "
                         "choose a new or empty --output-dir")
    if config.overwrite:
        return "overwrite", None
    if not config.resume:
        raise S1kitError(f"output_dir {out} already holds a training run; pass --resume to continue it, "
                         "--overwrite to replace it, or choose another --output-dir")
    differing = config_differences(read_saved_config(saved), config)
    if differing:
        raise S1kitError(f"--resume: the run in {out} was started with other settings ({'; '.join(differing)}); "
                         "resume with the same recipe and overrides, or pass --overwrite to start over")
    checkpoint = last_checkpoint(out)
    if checkpoint is None:
        note(f"--resume: {out} has no checkpoint yet; training from the start")
    return "resume", checkpoint


def last_checkpoint(out: Path) -> str | None:
    """The newest checkpoint-N written to the end: the Trainer writes trainer_state.json last (in
    place), so a checkpoint cut short by an interruption lacks it, or holds it cut short, and is
    passed over."""
    complete = [(int(d.name[len("checkpoint-"):]), d) for d in out.glob("checkpoint-*")
                if d.name[len("checkpoint-"):].isdigit() and _state_is_whole(d / "trainer_state.json")]
    return str(max(complete)[1]) if complete else None


def _state_is_whole(path: Path) -> bool:
    try:
        return isinstance(json.loads(path.read_text(encoding="utf-8")), dict)
    except (OSError, ValueError):  # missing, cut short, or not text
        return False


def saved_steps(config: TrainConfig, total_steps: int | None) -> str:
    """What an interrupted run keeps, and how to go on: the line Ctrl-C prints."""
    out = Path(config.output_dir)
    checkpoint = last_checkpoint(out) if out.is_dir() else None
    of = f" of {total_steps}" if total_steps else ""
    if checkpoint is None:
        return f"0{of} steps saved (no checkpoint yet); rerun with --resume to start again"
    name = Path(checkpoint).name
    return f"{name[len('checkpoint-'):]}{of} steps saved ({name}); rerun with --resume"


def read_saved_config(path: Path) -> dict:
    from s1kit.recipes import parse_yaml

    require("yaml", "train")
    values = parse_yaml(path.read_text(encoding="utf-8"), f"the saved config {path}")
    return values if isinstance(values, dict) else {}


def config_differences(saved: dict, config: TrainConfig) -> list[str]:
    """'key: before there, now here' for each setting that changes what is trained. A setting the
    saved config lacks was added to s1kit after that run: it ran with the setting's default."""
    current = config.to_dict()
    defaults = {f.name: f.default_factory() if f.default is dataclasses.MISSING else f.default
                for f in dataclasses.fields(TrainConfig)}
    return [f"{key}: {saved.get(key, defaults.get(key))!r} there, {value!r} now" for key, value in current.items()
            if key not in RUN_CONTROL and saved.get(key, defaults.get(key)) != value]


def prepare_output_dir(config: TrainConfig, action: str) -> None:
    """Main process only: clear a replaced run, then record this run's config."""
    yaml = require("yaml", "train")
    out = Path(config.output_dir)
    if action == "overwrite":  # only reached when out holds our train_config.yaml (plan_output_dir)
        for entry in contents(out):  # the lock this run holds stays
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / CONFIG_FILE,
               "# Resolved s1kit train config of this run; reusable as a recipe (s1kit train --recipe THIS_FILE).\n"
               + yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True))


def note(message: str) -> None:
    """A line for the user, from the first process only (torchrun and accelerate set RANK)."""
    if os.environ.get("RANK", "0") == "0":
        print(f"s1kit train: {message}", file=sys.stderr, flush=True)
