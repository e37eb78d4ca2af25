"""Budget-forcing and sampling settings (s1 paper, section 3.1).

Definitions users rely on:

- **Thinking tokens** are every token between the start-of-thinking delimiter (which ends the
  prompt) and the end-of-thinking delimiter, inserted wait strings included, delimiters excluded.
  The cap is exact: a sequence never has more than ``max_thinking_tokens`` thinking tokens.
- **Answer tokens** are every token of the answer section: after the end-of-thinking delimiter,
  the forced answer prefix included, the final end-of-turn token excluded.
"""

from __future__ import annotations

from dataclasses import dataclass

from s1kit.errors import SettingError, check_non_negative_int, check_positive_int, json_kind, shown


@dataclass
class BudgetConfig:
    """How thinking is capped and extended."""

    max_thinking_tokens: int | None = None
    """Cap on thinking tokens. When thinking reaches it, the end-of-thinking delimiter and
    ``answer_prefix`` are forced and the model answers. None: no cap (the context length bounds it)."""

    min_thinking_tokens: int = 0
    """While thinking has fewer tokens than this, an attempt to end it is suppressed and
    ``wait_string`` appended instead."""

    num_ignore: int = 0
    """How many times to suppress the end of thinking (appending ``wait_string`` each time) before
    letting it end. s1's "Wait" extension, e.g. 2 gives two extra rounds of thinking."""

    wait_string: str = "Wait"
    """Appended in place of a suppressed end-of-thinking delimiter. s1 uses "Wait" directly after
    the thinking text, with no separator. Empty: the end is suppressed and nothing appended, the
    model picks again at the same place (s1's "without string" row of Table 4; greedy, it picks the
    end again, so only --num-ignore counts, not --min-thinking-tokens)."""

    answer_prefix: str = "Final Answer:"
    """Forced at the start of the answer section when the cap ends thinking, so the model answers
    instead of going on reasoning. Not forced when the model ends thinking by itself."""

    max_answer_tokens: int = 1024
    """Most tokens the model may sample in the answer section (the forced prefix does not count)."""

    @property
    def extends_without_string(self) -> bool:
        """Ends are suppressed with nothing appended (an empty wait string)."""
        return self.num_ignore > 0 and not self.wait_string

    def __post_init__(self) -> None:
        # The one check of these settings: the command line, recipes and the server (a 400 naming
        # the field) all report these messages.
        if self.max_thinking_tokens is not None:
            check_positive_int("max_thinking_tokens", self.max_thinking_tokens)
        check_positive_int("max_answer_tokens", self.max_answer_tokens)
        for name in ("min_thinking_tokens", "num_ignore"):
            check_non_negative_int(name, getattr(self, name))
        for name in ("wait_string", "answer_prefix"):
            if not isinstance(getattr(self, name), str):
                raise SettingError(name, f"{name} must be a string, got {json_kind(getattr(self, name))}")
        if self.max_thinking_tokens is not None and self.min_thinking_tokens > self.max_thinking_tokens:
            raise SettingError("min_thinking_tokens", f"min_thinking_tokens ({self.min_thinking_tokens}) exceeds "
                                                      f"max_thinking_tokens ({self.max_thinking_tokens}); lower one of them")
        if self.min_thinking_tokens > 0 and not self.wait_string:
            # Nothing appended, the thinking never grows: the minimum would never be reached.
            raise SettingError("wait_string", "wait_string is empty but min_thinking_tokens must be reached; an empty "
                                              "wait string extends only --num-ignore times (set it, e.g. to 'Wait')")


@dataclass
class SamplingConfig:
    """How the model's own tokens are chosen."""

    temperature: float | None = 0.0
    """0 means greedy decoding (the s1 evaluations are greedy). None: the command's default (an
    eval's method decides: 1 for the methods that sample, else 0)."""

    top_p: float = 1.0
    """Nucleus sampling: keep the smallest set of tokens whose probability adds up to top_p."""

    seed: int = 0
    """Base seed. Request i of a call samples with its own generator seeded from (seed, i), so a
    sequence does not depend on what else is in its batch."""

    def __post_init__(self) -> None:
        for name in ("temperature", "top_p"):
            value = getattr(self, name)
            if (value is not None or name == "top_p") and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise SettingError(name, f"{name} must be a number, got {shown(value)}")
        if self.temperature is not None and not self.temperature >= 0:
            raise SettingError("temperature", f"temperature must be >= 0, got {shown(self.temperature)}; use 0 for "
                                              "greedy decoding")
        if not 0 < self.top_p <= 1:
            raise SettingError("top_p", f"top_p must be in (0, 1], got {shown(self.top_p)}; use 1.0 to turn nucleus "
                                        "sampling off")
        check_non_negative_int("seed", self.seed)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0
