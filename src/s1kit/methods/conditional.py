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


def class_control(points: list[dict]) -> float | None:
    """CCC's Control: the share of {short, long} on the instructed side of the default's thinking."""
    by_variant = {p["variant"]: p["avg_thinking_tokens"] for p in points}
    if "default" not in by_variant:
        return None
    default = by_variant["default"]
    sides = [by_variant[v] < default if v == "short" else by_variant[v] > default for v in ("short", "long") if v in by_variant]
    return sum(sides) / len(sides) if sides else None
