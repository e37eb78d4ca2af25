"""GPQA-Diamond: 198 graduate-level multiple-choice questions in biology, physics and chemistry.

- Paper: Rein et al. 2023, "GPQA: A Graduate-Level Google-Proof Q&A Benchmark" (arXiv 2311.12022);
  s1 reports GPQA Diamond in Table 1.
- Hub: ``Idavidrein/gpqa``, config ``gpqa_diamond``, split ``train`` (gated: accept the terms on
  the dataset page and log in). Its authors ask that the questions not be republished, so no copy
  ships with s1kit; tests use invented rows.
- Columns: ``Question``, ``Correct Answer``, ``Incorrect Answer 1`` .. ``Incorrect Answer 3``, and
  ``Record ID`` (used as the id; rows without it get their position).
- Choice order: the s1 harness (simplescaling/lm-evaluation-harness, tasks/gpqa/openai/utils.py)
  lists [Incorrect 1, Incorrect 2, Incorrect 3, Correct] and shuffles with the unseeded global
  ``random``. Here the same list is shuffled by a ``random.Random`` seeded from sha256 of
  (seed, question id): the same seed gives the same order on every machine, each question its own.
- Prompt: the harness's ``doc_to_text`` (the text the model sees), fields stripped::

      {Question}\\n\\nA) {choice1}\\nB) {choice2}\\nC) {choice3}\\nD) {choice4}

  (its ``Answer Choices:\\n(A) ...`` template only feeds the GPT-4o-mini answer extractor).
- Gold answer: the letter of the correct choice; ``meta["permutation"]`` gives the source column
  of each letter in order, ``meta["choices"]`` the option texts.
- Example: "What is 2 + 2?\\n\\nA) 3\\nB) 5\\nC) 4\\nD) 22", answer ``C``.
"""

import hashlib
import random

from s1kit.tasks.base import Example, Row, Task

LETTERS = "ABCD"
OPTIONS = ("Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3", "Correct Answer")


def choice_order(seed: int, example_id: str) -> list[str]:
    """The option columns in display order for one question: fixed by (seed, id), never by global state."""
    digest = hashlib.sha256(f"{seed}\x00{example_id}".encode()).digest()
    order = list(OPTIONS)
    random.Random(int.from_bytes(digest[:8], "big")).shuffle(order)
    return order


def render(question: str, choices: list[str]) -> str:
    return question + "\n\n" + "\n".join(f"{letter}) {choice}" for letter, choice in zip(LETTERS, choices))


def parse(row: Row, seed: int) -> Example:
    example_id = row.get("Record ID", required=False) or str(row.index)
    question = row.question("Question")
    texts = {column: row.get(column) for column in OPTIONS}
    order = choice_order(seed, example_id)
    choices = [texts[column] for column in order]
    answer = LETTERS[order.index("Correct Answer")]
    return Example(example_id, render(question, choices), answer, {"permutation": order, "choices": choices})


# Named in the messages about a missing or malformed data file.
parse.columns = "Record ID, Question, Correct Answer, Incorrect Answer 1, Incorrect Answer 2, Incorrect Answer 3"

TASK = Task(
    name="gpqa_diamond",
    kind="choice",
    file="gpqa_diamond.jsonl",
    hub_id="Idavidrein/gpqa",
    hub_config="gpqa_diamond",
    hub_split="train",
    gated=True,
    parse=parse,
    doc=__doc__,
)
