"""The fields of an eval run's files that their readers rely on, with their types: the rows of
samples.jsonl and metrics.json. A hand-edited or damaged file is named in one line (its line and
field, what the value is and what it should be) before any code trips over the value."""

from __future__ import annotations

import reprlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """What a field must hold."""

    test: Callable[[object], bool]
    """True for a value of this kind."""
    says: str
    """The kind in words, for the message: "an integer >= 0"."""

    def or_null(self) -> Kind:
        return Kind(lambda v: v is None or self.test(v), f"{self.says} or null")


def _is_int(value) -> bool:
    return type(value) is int  # not bool: JSON's true is no count


COUNT = Kind(lambda v: _is_int(v) and v >= 0, "an integer >= 0")
INTEGER = Kind(_is_int, "an integer")
BUDGET = Kind(lambda v: v is None or (_is_int(v) and v > 0), "a positive integer or null")
NUMBER = Kind(lambda v: type(v) in (int, float), "a number")
TEXT = Kind(lambda v: isinstance(v, str), "a string")
FLAG = Kind(lambda v: isinstance(v, bool) or (_is_int(v) and v in (0, 1)), "true or false")
MAPPING = Kind(lambda v: isinstance(v, dict), "an object")
LIST = Kind(lambda v: isinstance(v, list), "a list")
SCALAR = Kind(lambda v: v is None or isinstance(v, str) or _is_int(v), "a string, an integer or null")

SPAN = {"start": COUNT, "end": COUNT, "kind": TEXT, "text": TEXT.or_null()}
"""A forced span: output-token offsets, what forced it (wait, cap, end) and its text."""

ROW = {
    "question_index": COUNT, "question_id": SCALAR, "sample": COUNT, "method": TEXT, "budget": BUDGET,
    "variant": TEXT.or_null(), "max_thinking_tokens": COUNT.or_null(), "num_ignore": COUNT,
    "instruction": TEXT.or_null(), "seed": INTEGER.or_null(), "question": TEXT, "gold": TEXT.or_null(),
    "text": TEXT, "thinking": TEXT, "answer": TEXT.or_null(), "thinking_tokens": COUNT, "answer_tokens": COUNT,
    "output_tokens": COUNT, "decoded_tokens": COUNT, "waits_inserted": COUNT, "forced_end": FLAG,
    "finish_reason": TEXT.or_null(), "forced_spans": LIST.or_null(), "token_count_source": TEXT.or_null(),
    "extracted_answer": TEXT.or_null(), "correct": FLAG, "grading_timed_out": FLAG, "settings_sha256": TEXT,
    "tries": COUNT, "accepted": FLAG, "rule_correct": FLAG, "judged": FLAG, "judge_verdict": FLAG.or_null(),
    "judge_reply": TEXT.or_null(), "probe_tokens": COUNT, "probes": LIST, "exited": FLAG,
    "alpha_moment": COUNT, "confidence": MAPPING.or_null(), "stopped_at": COUNT.or_null(),
}
"""Every field a row of s1kit eval may hold (run.make_row, the methods' extras, the judge's)."""

SHOWN = ("question_index", "question", "sample", "budget", "num_ignore", "variant", "text", "thinking",
         "thinking_tokens", "answer_tokens", "correct")
"""Fields every row needs to be shown (s1kit view); the rest are read when present."""

SUMMED = SHOWN + ("gold", "extracted_answer", "waits_inserted", "forced_end", "decoded_tokens", "output_tokens")
"""Fields every row needs to be graded again and summed into metrics (eval --resume)."""

SERIES = {"x": NUMBER, "accuracy": NUMBER, "stderr": NUMBER, "label": TEXT}
CURVE = {"label": TEXT, "series": LIST, "control": NUMBER.or_null(), "scaling": NUMBER.or_null(),
         "performance": NUMBER}
CURVE_OPTIONAL = {"kind": TEXT}
POINT = {"budget": BUDGET, "num_ignore": COUNT, "variant": TEXT.or_null(), "label": TEXT, "accuracy": NUMBER,
         "avg_thinking_tokens": NUMBER}
POINT_OPTIONAL = {"max_thinking_tokens": COUNT.or_null(), "stderr": NUMBER, "questions": COUNT, "samples": COUNT,
                  "avg_answer_tokens": NUMBER, "avg_waits": NUMBER, "forced_end_share": NUMBER,
                  "no_answer_share": NUMBER, "control": NUMBER.or_null(), "avg_tries": NUMBER,
                  "accepted_share": NUMBER, "instruction": TEXT.or_null(), "avg_probe_tokens": NUMBER,
                  "avg_thinking_and_probe_tokens": NUMBER, "exited_share": NUMBER}
METRICS = {"task": TEXT, "model": TEXT, "points": LIST, "curves": LIST}
METRICS_OPTIONAL = {"backend": TEXT.or_null(), "method": TEXT.or_null(), "questions": COUNT,
                    "samples_per_question": COUNT, "tokens": MAPPING.or_null(), "grading": MAPPING.or_null()}

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 40
_REPR.maxlist = _REPR.maxdict = 4


def shown(value) -> str:
    """A value in a message: its JSON type and a short repr, whatever its size."""
    if value is None:
        return "null"
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "an object"}
    text = _REPR.repr(value)  # reprlib: bounded work whatever the value's size
    return f"{names.get(type(value), type(value).__name__)} {text if len(text) <= 80 else text[:77] + '...'}"


def problem(value: dict, fields: dict, required=(), optional: dict | None = None, prefix: str = "") -> str | None:
    """What is wrong with ``value``'s fields (``required`` missing, or a field not of its kind), or None."""
    missing = [name for name in required if name not in value]
    if missing:
        return f"lacks {', '.join(prefix + name for name in missing)}"
    for name, kind in {**fields, **(optional or {})}.items():
        if name in value and not kind.test(value[name]):
            return f"field {prefix}{name} is {shown(value[name])}, not {kind.says}"
    return None


def row_problem(row: dict, required=SHOWN) -> str | None:
    """What keeps a row of samples.jsonl from being read, or None."""
    found = problem(row, ROW, required)
    for i, span in enumerate((row.get("forced_spans") or []) if found is None else ()):
        found = found or _entry(span, f"forced_spans[{i}]", SPAN, {}, required=("start", "end", "kind"))
    return found


def metrics_problem(metrics) -> str | None:
    """What keeps a metrics.json from being read, or None."""
    if not isinstance(metrics, dict):
        return f"is {shown(metrics)}, not an object"
    found = problem(metrics, METRICS, tuple(METRICS), METRICS_OPTIONAL)
    for i, point in enumerate(metrics["points"] if found is None else ()):
        found = found or _entry(point, f"points[{i}]", POINT, POINT_OPTIONAL, at_k=True)
    for i, curve in enumerate(metrics["curves"] if found is None else ()):
        found = found or _entry(curve, f"curves[{i}]", CURVE, CURVE_OPTIONAL)
        for j, entry in enumerate(curve["series"] if found is None else ()):
            found = found or _entry(entry, f"curves[{i}].series[{j}]", SERIES, {})
    return found


def _entry(value, where: str, fields: dict, optional: dict, at_k: bool = False, required=None) -> str | None:
    if not isinstance(value, dict):
        return f"field {where} is {shown(value)}, not an object"
    if at_k:  # pass@k, maj@k, cov@k: one key per k
        optional = {**optional, **{name: NUMBER.or_null() for name in value if "@" in name}}
    return problem(value, fields, tuple(fields) if required is None else required, optional, prefix=where + ".")
