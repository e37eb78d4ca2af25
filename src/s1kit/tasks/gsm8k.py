"""GSM8K: 1,319 grade-school math word problems (test split).

- Paper: Cobbe et al. 2021, "Training Verifiers to Solve Math Word Problems" (arXiv 2110.14168).
- Hub: ``openai/gsm8k``, config ``main``, split ``test`` (public, MIT).
- Columns: ``question``, ``answer`` (the full worked solution ending with ``#### 72``), and in the
  local copy ``idx`` (0-1318, the hub row position; hub rows without it get their position).
- Gold answer: the number after the last ``####``, thousands separators removed
  (``#### 1,600`` -> ``1600``).
- Example: id ``0``, "Janet's ducks lay 16 eggs per day. ...", answer ``18``.
"""

import re

from s1kit.tasks.base import Columns, Task

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def final_number(solution: str) -> str:
    """The answer of a GSM8K solution: the number after its last ``####``, without commas."""
    if "####" not in solution:
        raise ValueError("no '#### <number>' line ends the solution")
    number = solution.rsplit("####", 1)[1].strip().replace(",", "")
    if not _NUMBER.fullmatch(number):
        raise ValueError(f"the text after '####' is not a number: {number!r}")
    return number


TASK = Task(
    name="gsm8k",
    kind="math",
    file="gsm8k.jsonl",
    hub_id="openai/gsm8k",
    hub_config="main",
    hub_split="test",
    parse=Columns(question="question", answer="answer", id="idx", answer_from=final_number),
    doc=__doc__,
)
