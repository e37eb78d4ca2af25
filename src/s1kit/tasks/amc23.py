"""AMC 2023: 40 problems of the AMC 12A and 12B 2023 with numeric answers.

- Source: the 40 AMC 2023 problems of AI-MO/aimo-validation-amc (AoPS wiki), the set used as
  "AMC23" in reasoning-model papers.
- Hub: ``math-ai/amc23``, split ``test`` (public).
- Columns: local ``id``, ``problem``, ``answer`` (float, e.g. 27.0), ``url``; the hub copy names the
  question ``question`` (confirmed by public loaders of math-ai/amc23; other hub columns not checked
  offline), so either is accepted. Whole answers are written without ``.0``: 27.0 -> ``27``. All 40
  answers are integers, some negative or above 999 (-1, 3159), hence kind "math" rather than the
  AIME-range "integer".
- Prompt: the problem text alone.
- Example: id ``0``, "Cities $A$ and $B$ are $45$ miles apart. ...", answer ``27``.
"""

from s1kit.tasks.base import Columns, Task

TASK = Task(
    name="amc23",
    kind="math",
    file="amc23.jsonl",
    hub_id="math-ai/amc23",
    hub_split="test",
    parse=Columns(question=("problem", "question"), answer="answer", id="id", meta=("url",)),
    doc=__doc__,
)
