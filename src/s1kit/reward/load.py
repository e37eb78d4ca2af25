"""The PRM ``--prm`` names: a built-in (nano-checker), a Python function, or a reward model."""

from __future__ import annotations

import importlib
import os

from s1kit.errors import S1kitError
from s1kit.reward.base import CheckedPRM


class FunctionPRM:
    """``module:function``: a Python scorer of (question, steps) -> one score per step."""

    def __init__(self, spec: str):
        module_name, _, function = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise S1kitError(f"--prm {spec}: cannot import {module_name} ({exc}); check the module is on PYTHONPATH") from None
        self.function = getattr(module, function, None)
        if not callable(self.function):
            raise S1kitError(f"--prm {spec}: {module_name} has no function {function}")
        self.name = spec

    def score(self, question, steps):
        return self.function(question, list(steps))


NANO_PRM = "s1-nano-prm"
"""The learned PRM for nano shipped in the package (recipes/nano/prm.yaml; its provenance.json)."""


def load_prm(spec: str, device: str = "auto") -> CheckedPRM:
    """The PRM ``spec`` names, checked on every call (reward.base.CheckedPRM)."""
    if spec == NANO_PRM:
        from s1kit.models import CHECKPOINTS
        from s1kit.reward.hf import load_hf_prm

        path = CHECKPOINTS / NANO_PRM
        if not (path / "config.json").is_file():
            raise S1kitError(f"--prm {NANO_PRM} is not in this installation ({path}); train one with "
                             "recipes/nano/prm.yaml and pass --prm DIR, or use --prm nano-checker")
        return CheckedPRM(load_hf_prm(str(path), device=device), spec)
    if spec == "nano-checker":
        from s1kit.synth.checker import NanoChecker

        return CheckedPRM(NanoChecker(), spec)
    module_name, colon, function = spec.partition(":")
    if colon and module_name and function and not os.path.exists(spec) and "/" not in module_name:
        return CheckedPRM(FunctionPRM(spec), spec)
    from s1kit.reward.hf import load_hf_prm

    return CheckedPRM(load_hf_prm(spec, device=device), spec)  # auto: the GPU where there is one
