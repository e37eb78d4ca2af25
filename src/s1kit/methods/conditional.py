"""Conditional length control: the budget stated in the prompt (s1, Section 3.1 and Appendix D.1).

- token-conditional (TCC): "Think for up to N tokens." after the question. s1 trained a model on
  traces bucketed by length for it; prompted models mostly ignore it (s1: Control 40%, Scaling -24).
  ``+bf`` also caps thinking at N with budget forcing (Control 100% by construction).
- step-conditional (SCC): "Think for up to S steps.", S = budget // tokens_per_step. s1 split
  traces into steps at blank lines and found steps of about 100 tokens, hence the default of 100
  tokens per step and the paper's Control proxy: a point is in control when its average thinking
  stays within S x 100 tokens. ``+bf`` caps thinking there.
- class-conditional (CCC): generic short or long thinking instructions (the s1 evaluation's
  wording), against the same model without an instruction. Control: the share of the two classes
  on the instructed side of the default (s1: 50%).

Not supported: s1's step-conditional *model* writes a countdown ``<|im_start|>63 steps left`` between
steps; in the s1 chat format ``<|im_start|>`` ends thinking, so that model's countdown would be
cut at its first step. The step budget here is stated in the prompt and enforced in tokens.
"""

from __future__ import annotations

from s1kit.errors import S1kitError
from s1kit.methods.base import MethodPoint

TOKENS_PER_STEP = 100
"""Default tokens per step (s1, Section 3.1: "each step is around 100 tokens")."""

SHORT = "Answer after a short amount of thinking. Do not spend excessive time double-checking your work."
LONG = ("Answer after a long amount of thinking. If you feel like you are finished early, spend the extra time "
        "trying to double-check your work until you are absolutely sure that you have the correct answer.")


def token_instruction(budget: int) -> str:
    return f"Think for up to {budget} tokens."


def step_instruction(steps: int) -> str:
    return f"Think for up to {steps} step{'s' if steps != 1 else ''}."


def steps_for(budget: int, tokens_per_step: int) -> int:
    steps = budget // tokens_per_step
    if steps < 1:
        raise S1kitError(f"budget {budget} is less than one step of {tokens_per_step} tokens; "
                         "pass larger --budgets or a smaller --tokens-per-step")
    return steps


def method_points(method: str, budgets: list[int] | None, num_ignore: list[int], tokens_per_step: int) -> list[MethodPoint]:
    """The points of a method; settings it cannot use are errors that say what to pass instead."""
    forced = method.endswith("+bf") or method in ("budget-forcing", "majority", "best-of-n")
    if not forced and num_ignore != [0]:
        hint = f", or use {method}+bf" if method in ("token-conditional", "step-conditional") else ""
        raise S1kitError(f"--num-ignore {num_ignore} is budget forcing's extension and {method} does not force; "
                         f"drop it{hint}")
    if method == "class-conditional":
        if budgets:
            raise S1kitError("class-conditional states no budget (short or long thinking); drop --budgets")
        return [MethodPoint(None, None, variant=v, instruction=i) for v, i in (("default", ""), ("short", SHORT), ("long", LONG))]
    if method in ("majority", "best-of-n"):
        if budgets and len(budgets) > 1:
            raise S1kitError(f"{method} scales over samples, not budgets: pass at most one --budgets value "
                             f"(a cap on each sample), got {budgets}")
        return [MethodPoint(b, b, k) for b in (budgets or [None]) for k in num_ignore]
    if method == "budget-forcing":
        return [MethodPoint(b, b, k) for b in (budgets or [None]) for k in num_ignore]
    if not budgets:
        raise S1kitError(f"{method} needs budgets to aim at; pass e.g. --budgets 512,1024,2048")
    if method == "rejection":
        return [MethodPoint(b, None) for b in budgets]
    if method.startswith("token-conditional"):
        return [MethodPoint(b, b if forced else None, k, instruction=token_instruction(b)) for b in budgets for k in num_ignore]
    if method.startswith("step-conditional"):
        points = []
        for b in budgets:
            steps = steps_for(b, tokens_per_step)
            limit = steps * tokens_per_step
            points += [MethodPoint(limit, limit if forced else None, k, instruction=step_instruction(steps)) for k in num_ignore]
        if len({p.key() for p in points}) < len(points):
            raise S1kitError(f"--budgets {budgets} give the same number of steps of {tokens_per_step} tokens twice; "
                             "pass budgets that differ by at least one step")
        return points
    raise S1kitError(f"unknown method '{method}'")


def class_control(points: list[dict]) -> float | None:
    """CCC's Control: the share of {short, long} on the instructed side of the default's thinking."""
    by_variant = {p["variant"]: p["avg_thinking_tokens"] for p in points}
    if "default" not in by_variant:
        return None
    default = by_variant["default"]
    sides = [by_variant[v] < default if v == "short" else by_variant[v] > default for v in ("short", "long") if v in by_variant]
    return sum(sides) / len(sides) if sides else None
