"""The pool a dataset is curated from: s1's columns, from a JSONL file or a Hugging Face dataset.

s1's pool (simplescaling/data_ablation_full59K) has ``question``, ``solution``, ``cot_type``,
``source_type`` and ``metadata``, plus ``thinking_trajectories`` and ``attempt`` once a teacher has
written traces. Other datasets map their own names onto these with ``fields`` (s1 column -> theirs,
e.g. ``{"question": "problem"}``). Each record also gets ``pool_index``, its position in the pool,
so that every stage and the manifest can point at it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from s1kit.errors import S1kitError
from s1kit.jsonl import check_file, read_lines

COLUMNS = ("question", "solution", "cot_type", "source_type", "metadata")
TRACE_COLUMNS = ("thinking_trajectories", "attempt")
REQUIRED = ("question",)
"""Columns every record needs; the quality stage checks the others."""


def load_pool(source: str, fields: Mapping[str, str] | None = None, split: str = "train") -> list[dict]:
    """Records of a pool: a local ``.jsonl`` file, or a hub dataset id (needs the [eval] extra)."""
    fields = dict(fields or {})
    unknown = sorted(set(fields) - set(COLUMNS) - set(TRACE_COLUMNS) - {"domain"})
    if unknown:
        raise S1kitError(f"field mapping names unknown s1 columns {unknown}; map onto "
                         f"{', '.join(COLUMNS + TRACE_COLUMNS)} or domain")
    if source.endswith(".jsonl") or Path(source).is_file():
        check_file(source, "pass a JSONL pool file or a Hugging Face dataset id")
        raw = ((f"{source} line {number}", row) for number, row in read_lines(source))
    else:
        raw = _hub_rows(source, split)
    records = []
    for index, (where, row) in enumerate(raw):
        records.append(_record(row, fields, where, index))
    if not records:
        raise S1kitError(f"pool {source} is empty; pass a file or dataset with rows")
    return records


def _hub_rows(source: str, split: str) -> Iterator[tuple[str, dict]]:
    from s1kit.hub import load_dataset

    dataset = load_dataset(source, split, what=f"pool {source}", local="pass a local .jsonl pool file instead")
    for index, row in enumerate(dataset):
        yield f"hub dataset {source} (split {split}) row {index}", dict(row)


def _record(row: dict, fields: Mapping[str, str], where: str, index: int) -> dict:
    record = {"pool_index": index}
    for column in (*COLUMNS, *TRACE_COLUMNS, "domain"):
        name = fields.get(column, column)
        if name in row:
            record[column] = row[name]
        elif column in fields or column in REQUIRED:
            raise S1kitError(f"{where}: no field '{name}' (mapped to s1's '{column}'); the row has fields "
                             f"{', '.join(map(repr, row)) or '(none)'}; fix the row or the field mapping")
    for name, value in row.items():  # keep the dataset's other fields: users filter on them later
        if name not in record and name not in fields.values():
            record.setdefault(name, value)
    if not isinstance(record["question"], str) or not record["question"].strip():
        raise S1kitError(f"{where}: the question ({fields.get('question', 'question')}) is empty or not text")
    return record
