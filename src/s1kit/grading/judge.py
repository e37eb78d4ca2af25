"""An optional LLM judge for grading, through any s1kit backend.

The rule-based grader (``s1kit.grading.rules``) is exact but literal: an answer written in a form it does
not parse ("x = 1/2 or x = -3", "B) 42 m/s") counts as wrong. The s1 reference fixed this with a
paid gpt-4o-mini; here the judge is any model an s1kit backend can run (hf, vllm, or an
OpenAI-compatible server), asked with a template file (``templates/judge.txt``, or your own with
``{question}``, ``{gold}`` and ``{response}`` in it) to answer YES or NO.

The judge is itself budget-forced: it thinks at most ``max_thinking_tokens`` (reasoning judges
decide better after a few hundred tokens), then answers in at most ``max_answer_tokens``. Its
verdict is the first YES or NO of its answer; anything else is *unreadable*.

Modes:

- ``fallback`` (default): the judge sees only rows the rules grade wrong; a YES makes them correct.
  One call per such row; the rules' correct verdicts stand (the rules do not give false positives
  on what they parse, the judge might).
- ``always``: the judge decides every row; where its verdict is unreadable the rules' verdict
  stands, and the row says so (``judge_verdict`` is null).

Every row keeps the rules' verdict in ``rule_correct`` and says whether the judge saw it
(``judged``); a judged row has the judge's verdict in ``judge_verdict`` (true, false, or null when
unreadable) and its reply in ``judge_reply``, so a run can be audited and re-scored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from s1kit.budget.config import BudgetConfig
from s1kit.errors import SettingError
from s1kit.settings import FLAT, HOW, group

JUDGE_MODES = ("fallback", "always")
RESPONSE_CHARS = 2000
"""Most characters of a response the judge sees when it has no answer section: thinking can be
tens of thousands of tokens, and its end is where the answer is."""

_VERDICT = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


def _named(flat: str, **options):
    """A judge setting named ``flat`` wherever it is (``--judge-backend`` beside a command's own
    ``--backend``)."""
    metadata = {FLAT: flat, **options.pop("metadata", {})}
    return field(metadata=metadata, **options)


@dataclass
class JudgeConfig:
    model: str = _named("judge")
    """An LLM judge model for grading (any backend): built-in alias, local checkpoint, hub id, or a
    server's model name; none: the rules alone."""
    backend: str = _named("judge_backend", default="hf")
    """Backend that runs the judge: hf, vllm or openai."""
    mode: str = _named("judge_mode", default="fallback")
    """fallback: the judge sees only rows the rules grade wrong; always: every row."""
    format: str = _named("judge_format", default="auto")
    """Chat format of the judge model: s1, think-tags or auto."""
    budget: BudgetConfig = group(BudgetConfig, prefix="judge_", only=("max_thinking_tokens", "max_answer_tokens"),
                                 max_thinking_tokens=256, max_answer_tokens=16, answer_prefix="Verdict:")
    """The judge's own budget: thinking before its verdict, and a one-word answer."""
    template: str | None = _named("judge_template", default=None)
    """Judge prompt template file with {question}, {gold} and {response}; default: s1kit's templates/judge.txt."""
    base_url: str | None = _named("judge_base_url", default=None, metadata={HOW: True})
    """openai judge: its server's URL (default: the model's --base-url)."""
    batch_size: int = _named("judge_batch_size", default=16)
    """Rows the judge reads at once."""

    def __post_init__(self) -> None:
        if self.mode not in JUDGE_MODES:
            raise SettingError("judge_mode", f"unknown judge mode '{self.mode}'; choose from {', '.join(JUDGE_MODES)}")
        from s1kit.backends import BACKENDS

        if self.backend not in BACKENDS:
            raise SettingError("judge_backend", f"unknown judge backend '{self.backend}'; choose from {', '.join(BACKENDS)}")
        if self.template is not None:
            load_template(self.template)


def load_template(path: str | None) -> str:
    """The judge prompt template; a custom one must hold every placeholder."""
    from s1kit.prompts import load_template as load

    return load(path, "judge.txt", ("{question}", "{gold}", "{response}"), "judge",
                "the judge needs the problem, the reference answer and the response")


def judged_part(response: str) -> str:
    """What the judge reads of a response: its answer section, else the end of the whole text."""
    from s1kit.grading.rules import answer_section

    section = answer_section(response)
    if section:
        return section
    text = response.strip()
    return text if len(text) <= RESPONSE_CHARS else "..." + text[-RESPONSE_CHARS:]


def judge_prompt(template: str, question: str, gold: str, response: str) -> str:
    # Plain replacement, not str.format: LaTeX braces in the values must stay as they are.
    return (template.replace("{question}", question.strip()).replace("{gold}", str(gold).strip())
            .replace("{response}", judged_part(response)))


def parse_verdict(reply: str) -> bool | None:
    """The first YES or NO of the judge's reply (any case, as a whole word); None if neither."""
    match = _VERDICT.search(reply)
    return None if match is None else match.group(1).lower() == "yes"


@dataclass
class Verdict:
    correct: bool | None
    """The judge's decision; None when its reply holds neither YES nor NO."""
    reply: str
    """The judge's answer text."""


class Judge:
    """Asks a judge model about (question, gold, response) triples, in batches.

    ``ask`` replaces the backend: a function from prompts to the judge's answer texts (None for a
    failed call, read as unreadable); curation passes one that goes through its call cache.
    """

    def __init__(self, config: JudgeConfig, backend=None, backend_config=None,
                 ask: Callable[[list[str]], list[str | None]] | None = None):
        self.config = config
        self.template = load_template(config.template)
        self._owns_backend = backend is None and ask is None  # a backend passed in is the caller's to close
        if backend is None and ask is None:
            from s1kit.backends import load_backend
            from s1kit.models import ModelLoadError

            try:
                backend = load_backend(config.backend, config.model, backend_config)
            except ModelLoadError as exc:
                raise exc.naming("--judge") from None
        self.backend = backend
        self.ask = ask or self._generate
        self.calls = 0

    def _generate(self, prompts: list[str]) -> list[str]:
        from s1kit.budget.config import SamplingConfig
        from s1kit.budget.forcing import generate_with_budget

        # Greedy: a grade must not depend on a seed.
        generations = generate_with_budget(self.backend, prompts, self.config.budget, SamplingConfig(),
                                           fmt=self.config.format, batch_size=self.config.batch_size, progress=False)
        return [g.answer for g in generations]

    def verdicts(self, items: Sequence[tuple[str, str, str]]) -> list[Verdict]:
        if not items:
            return []
        prompts = [judge_prompt(self.template, q, gold, response) for q, gold, response in items]
        answers = self.ask(prompts)
        self.calls += len(prompts)
        return [Verdict(None, "") if a is None else Verdict(parse_verdict(a), a.strip()) for a in answers]

    def apply(self, rows: list[dict], question_field: str = "question", response_field: str = "text",
              gold_field: str = "gold") -> None:
        """Judge graded rows in place: ``correct`` becomes the combined verdict (see the module doc)."""
        chosen = [r for r in rows if self.config.mode == "always" or not r["correct"]]
        verdicts = self.verdicts([(str(r.get(question_field) or ""), str(r[gold_field]), r[response_field])
                                  for r in chosen])
        for row in rows:
            row["rule_correct"] = bool(row["correct"])
            row["judged"] = False
            row["judge_verdict"] = None
            row["judge_reply"] = None
        for row, verdict in zip(chosen, verdicts):
            row["judged"] = True
            row["judge_verdict"] = verdict.correct
            row["judge_reply"] = verdict.reply
            if verdict.correct is not None:
                row["correct"] = verdict.correct

    def close(self) -> None:
        if self._owns_backend:
            self.backend.close()


def judge_counts(rows: list[dict]) -> dict:
    """What the judge did to graded rows: how many it saw, overturned, and could not read."""
    judged = [r for r in rows if r.get("judged")]
    return {"judged": len(judged), "overturned": sum(r["correct"] != r["rule_correct"] for r in judged),
            "unreadable": sum(r["judge_verdict"] is None for r in judged)}
