"""MATH-500: 500 problems of the MATH test set chosen by OpenAI for "Let's Verify Step by Step".

- Papers: Hendrycks et al. 2021 (MATH, arXiv 2103.03874); Lightman et al. 2023 (the 500-problem
  split, arXiv 2305.20050). s1 reports MATH500 in Table 1 (harness task ``openai_math``, hub
  ``simplescaling/openaimath``, the same 500 problems).
- Hub: ``HuggingFaceH4/MATH-500``, split ``test`` (public, MIT).
- Columns: ``problem``, ``solution``, ``answer`` (LaTeX), ``subject``, ``level`` (1-5),
  ``unique_id`` (e.g. ``test/precalculus/807.json``, used as the id). Verified against the local
  copy in shared/data (same rows as the hub).
- Example: id ``test/precalculus/807.json``, "Convert the point $(0,3)$ in rectangular coordinates
  to polar coordinates. ...", answer ``\\left( 3, \\frac{\\pi}{2} \\right)``.
"""

from s1kit.tasks.base import Columns, Task

TASK = Task(
    name="math500",
    kind="math",
    file="math500.jsonl",
    hub_id="HuggingFaceH4/MATH-500",
    hub_split="test",
    parse=Columns(question="problem", answer="answer", id="unique_id", meta=("subject", "level")),
    doc=__doc__,
)
