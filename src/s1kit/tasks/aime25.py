"""AIME 2025: the 30 problems of the 2025 AIME I and II; answers are integers 0-999.

- Paper: s1.1 and the s1 repository's later evaluations (the harness task ``aime25_nofigures``).
- Hub: ``yentinglin/aime_2025``, split ``train`` (public; widely used, e.g. next to
  HuggingFaceH4/aime_2024 in open-r1-style evaluations). The s1 harness itself uses
  ``simplescaling/aime25_nofigures``.
- Columns: ``id`` (int, 90-119), ``problem``, ``solution``, ``answer`` (string), ``url``.
  ``problem`` and ``answer`` in split ``train`` are confirmed by public loaders of that dataset;
  ``id`` and ``url`` match the local copy in shared/data but were not checked on the hub offline,
  so they are optional here (a missing id falls back to the row position).
- Prompt: the problem text alone, as in the s1 harness.
- Example: id ``90``, "Find the sum of all integer bases $b>9$ for which $17_{b}$ is a divisor of
  $97_{b}$.", answer ``70``.
"""

from s1kit.tasks.base import Columns, Task

TASK = Task(
    name="aime25",
    kind="integer",
    file="aime25.jsonl",
    hub_id="yentinglin/aime_2025",
    hub_split="train",
    parse=Columns(question="problem", answer="answer", id="id", meta=("url",)),
    doc=__doc__,
)
