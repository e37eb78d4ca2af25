"""AIME 2024: the 30 problems of the 2024 AIME I and II; answers are integers 0-999.

- Paper: s1 (arXiv 2501.19393) reports AIME24 as its main benchmark (Table 1, Figures 1 and 4).
- Hub: ``HuggingFaceH4/aime_2024``, split ``train`` (public; 30 rows taken from
  AI-MO/aimo-validation-aime). The s1 harness uses ``simplescaling/aime24_nofigures``, the same
  problems with figures described in text.
- Columns: ``id`` (int, 60-89), ``problem``, ``solution``, ``answer`` (string), ``url``, ``year``
  (hub only). Verified against the hub dataset card and the local copy in shared/data.
- Prompt: the problem text alone, as in the s1 harness (``QUERY_TEMPLATE = '{Question}'``).
- Example: id ``60``, "Every morning Aya goes for a $9$-kilometer-long walk ...", answer ``204``.
"""

from s1kit.tasks.base import Columns, Task

TASK = Task(
    name="aime24",
    kind="integer",
    file="aime24.jsonl",
    hub_id="HuggingFaceH4/aime_2024",
    hub_split="train",
    parse=Columns(question="problem", answer="answer", id="id", meta=("url",)),
    doc=__doc__,
)
