"""Test-time scaling methods: budget forcing and the baselines of s1 (Section 5.2, Table 3).

Each method says which points an evaluation has (:class:`~s1kit.methods.points.MethodPoint`: a
nominal thinking budget, the cap budget forcing applies, an instruction added to the question) and
how a point's samples are produced. Sequential methods give one accuracy per point; parallel ones
(majority, best-of-n, deepconf, esc, adaptive-consistency) spend K samples per question and give a
curve over k <= K. Search methods (rebase, beam) grow a tree of steps per question, guided by a
process reward model, and give one accuracy per tree size against the tokens the tree generated.
"""

from __future__ import annotations

from s1kit.errors import S1kitError

SEQUENTIAL = ("budget-forcing", "token-conditional", "token-conditional+bf", "step-conditional",
              "step-conditional+bf", "class-conditional", "rejection", "probe-exit", "no-thinking", "alpha-one")
PARALLEL = ("majority", "best-of-n", "deepconf", "esc", "adaptive-consistency")
SEARCH = ("rebase", "beam")
METHODS = SEQUENTIAL + PARALLEL + SEARCH
SAMPLING_METHODS = ("rejection", *PARALLEL, *SEARCH)
"""Methods that need samples (temperature above 0); their default temperature is 1."""


SCORED = ("probe-exit", "deepconf")
"""Methods that read the model's token probabilities (the hf and vllm backends record them)."""


def forces(method: str) -> bool:
    """Whether the method caps or extends thinking with budget forcing (so --num-ignore and
    --min-thinking-tokens apply to it)."""
    return method in ("budget-forcing", "probe-exit", *PARALLEL, *SEARCH) or method.endswith("+bf")


def check_method(name: str) -> None:
    if name not in METHODS:
        raise S1kitError(f"unknown method '{name}'; choose from {', '.join(METHODS)}")
