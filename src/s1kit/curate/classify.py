"""Domains for the diversity stage: a label the pool carries, else a classifier model's MSC class.

s1 (Section 2.2, "Diversity") asks Claude 3.5 Sonnet for each question's Mathematics Subject
Classification domain. Here the classifier is any model on any backend, asked with
``templates/classify.txt`` (every top-level MSC2020 class listed) or your own template with
``{question}`` and ``{classes}``. A reply that names no known class, or a failed call, records the
domain ``unknown``; the stage counts how many, so a weak classifier shows in the manifest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from s1kit.curate.msc import MSC_CODES, parse_domain

UNKNOWN = "unknown"


def load_template(path: str | None = None) -> str:
    """The classifier prompt: s1kit's default, or a file that holds at least {question}."""
    from s1kit.prompts import load_template as load

    return load(path, "classify.txt", ("{question}",), "classifier", "the classifier needs the problem ({classes}, the list of MSC classes, is optional)")


def classify_prompt(question: str, template: str | None = None, codes: Sequence[str] | None = None) -> str:
    """The classifier's prompt for one question, listing ``codes`` (default: every MSC class)."""
    classes = "\n".join(f"{code} {MSC_CODES[str(code)]}" for code in (codes or MSC_CODES))
    # Plain replacement, not str.format: LaTeX braces in questions must stay as they are.
    return (template or load_template()).replace("{classes}", classes).replace("{question}", question.strip())


def unlabeled(records: Sequence[dict], field: str = "domain") -> list[dict]:
    """The records whose domain is missing or blank: the ones the classifier must see."""
    return [r for r in records if r.get(field) is None or (isinstance(r.get(field), str) and not r[field].strip())]


def assign_domains(records: Sequence[dict], replies: Sequence[str | None], field: str = "domain") -> dict:
    """Write each record's domain from the classifier's reply; counts for the manifest.

    The domain is the MSC code the reply names (see :func:`parse_domain`), else ``unknown``.
    """
    outcome = Counter()
    for record, reply in zip(records, replies, strict=True):
        code = None if reply is None else parse_domain(reply)
        record[field] = code or UNKNOWN
        outcome["failed" if reply is None else "classified" if code else UNKNOWN] += 1
    return {"asked": len(records), "classified": outcome["classified"], UNKNOWN: outcome[UNKNOWN],
            "failed": outcome["failed"]}


def domain_counts(records: Sequence[dict], field: str = "domain") -> dict[str, int]:
    """How many records per domain, most common first (ties by name)."""
    counts = Counter(str(r.get(field)) for r in records)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
