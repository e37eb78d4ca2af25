"""What both training objectives need of the machine and the libraries around the Trainer: the
tracker checked before the model loads, the processes joined, training logs as plain lines."""

from __future__ import annotations

import os
import sys

from s1kit.errors import S1kitError, require
from s1kit.train.run_dir import note


def check_report_to(report_to: str) -> None:
    """The tracker is one transformers knows (none, all, wandb, tensorboard, ...): else the Trainer
    refuses it only after the model has loaded."""
    integrations = require("transformers.integrations", "train")
    try:
        integrations.get_reporting_integration_callbacks(report_to)
    except ValueError:
        known = ", ".join(["none", "all", *integrations.INTEGRATION_TO_CALLBACK])
        raise S1kitError(f"unknown report_to '{report_to}'; choose one of {known}") from None


def has_accelerator(torch) -> bool:
    accelerator = getattr(torch, "accelerator", None)  # torch >= 2.6: CUDA, XPU, MPS, ... alike
    return accelerator.is_available() if accelerator is not None else torch.cuda.is_available()


def distributed_state(accelerate, use_cpu: bool):
    """accelerate's view of the processes, checked against what the launcher started.

    Without an accelerator, accelerate joins the processes (gloo) only when told cpu=True; else
    each process would train alone on all the data and they would overwrite each other's output.
    """
    state = accelerate.PartialState(cpu=use_cpu)
    launched = int(os.environ.get("WORLD_SIZE", "1"))
    if state.num_processes != launched:
        raise S1kitError(f"the launcher started {launched} processes but accelerate joined {state.num_processes}; "
                         "launch with `accelerate launch` (or torchrun) and a matching config")
    return state


def log_lines_callback(transformers, bar: bool = False):
    """A callback class writing each training log as one plain line on stderr (main process only);
    with ``bar``, under transformers' progress bar (which it keeps, on stderr)."""

    base = transformers.ProgressCallback if bar else transformers.TrainerCallback

    class LogLines(base):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs:
                return
            fields = ", ".join(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"
                               for key, value in logs.items() if key != "total_flos")
            line = f"step {state.global_step}/{state.max_steps}: {fields}"
            if bar and getattr(self, "training_bar", None) is not None:
                self.training_bar.write(f"s1kit train: {line}", file=sys.stderr)
            else:
                note(line)

    return LogLines
