"""The budget decisions, as pure functions of a sequence's counts.

Every loop that forces a budget asks these: the token-by-token state (hf, and vLLM's logits
processor through it) and the text rounds of servers that return no token ids. Counts are in the
loop's own tokens; a wait string of ``wait_tokens`` tokens is one piece.
"""

from __future__ import annotations

from s1kit.budget.config import BudgetConfig

WAIT, CAP, END = "wait", "cap", "end"
"""What replaces an end of thinking the model picked (the forced span's kind)."""
EXIT = "exit"
"""The answer opener forced where a probe found the answer settled (budget.probes)."""


def at_cap(config: BudgetConfig, thinking_tokens: int) -> bool:
    """Thinking has used its budget: the cap text comes next, whatever the model wants."""
    cap = config.max_thinking_tokens
    return cap is not None and thinking_tokens >= cap


def thinking_left(config: BudgetConfig, thinking_tokens: int) -> int | None:
    """Thinking tokens left under the cap (None: no cap)."""
    cap = config.max_thinking_tokens
    return None if cap is None else cap - thinking_tokens


def answer_left(config: BudgetConfig, answer_sampled: int) -> int:
    """Answer tokens the model may still sample."""
    return config.max_answer_tokens - answer_sampled


def on_end(config: BudgetConfig, thinking_tokens: int, waits_inserted: int, wait_tokens: int) -> str:
    """The model picked an end of thinking: ``wait`` (extend), ``cap`` or ``end`` (let it answer).

    It is extended while fewer than ``num_ignore`` ends were suppressed or thinking is shorter than
    ``min_thinking_tokens``; a wait that no longer fits under the cap ends thinking the way the cap
    does. A wait may fill the budget to the last token; the cap then ends thinking right after it.
    """
    if waits_inserted >= config.num_ignore and thinking_tokens >= config.min_thinking_tokens:
        return END
    left = thinking_left(config, thinking_tokens)
    return WAIT if left is None or wait_tokens <= left else CAP
