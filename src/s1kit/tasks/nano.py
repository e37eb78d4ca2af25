"""nano: held-out problems of the three synth families (sum, count, find), shipped with s1kit.

- Source: ``s1kit synth --split test --size 360 --seed 0`` (``nano``) and ``--split dev --size 180
  --seed 0`` (``nano-dev``); the files in ``s1kit/tasks/data/`` are that output, and a test checks
  that the code still writes them byte for byte. The families take turns, so ``--limit 30`` holds
  ten problems of each.
- Use: the held-out set of the bundled reasoning model ``s1-nano``. Its training pool is drawn from
  another seed stream and decontaminated against both sets by ``s1kit curate``. Recipe choices are
  made on ``nano-dev``; ``nano`` only reports.
- Columns: ``id``, ``question``, ``answer`` (an integer), ``domain`` (the family), ``level`` (its
  size: items, or the answer's position among the candidates).
- Example: id ``test-00000``, "A8 B6 C5 D3 E9 F5 G9 H9 I5 J3: sum them.", answer ``62``.
"""

from s1kit.tasks.base import Columns, Task


def _split(name: str, file: str) -> Task:
    return Task(name=name, kind="integer", file=file, hub_id="", hub_split="", packaged=True,
                parse=Columns(question="question", answer="answer", id="id", meta=("domain", "level")), doc=__doc__)


TASK = _split("nano", "nano.jsonl")
DEV = _split("nano-dev", "nano-dev.jsonl")
TASKS = (TASK, DEV)
