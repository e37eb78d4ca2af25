"""Loading a pool: s1 columns, field mappings, and errors that name the column and the row."""

from __future__ import annotations

import json
import re

import pytest

from s1kit.curate.pool import load_pool
from s1kit.errors import S1kitError


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_s1_columns_load_with_their_pool_index(tmp_path):
    pool = write(tmp_path / "p.jsonl", [{"question": "Q1", "solution": "S1", "cot_type": "math", "source_type": "a",
                                         "metadata": "{}", "extra": 3}, {"question": "Q2"}])
    records = load_pool(pool)
    assert records[0]["pool_index"] == 0 and records[0]["solution"] == "S1" and records[0]["extra"] == 3
    assert records[1] == {"pool_index": 1, "question": "Q2"}


def test_a_field_mapping_renames_and_a_missing_mapped_column_names_the_row(tmp_path):
    pool = write(tmp_path / "p.jsonl", [{"problem": "Q1", "answer": "4"}, {"problem": "Q2"}])
    with pytest.raises(S1kitError, match=r"p.jsonl line 2: no field 'answer' \(mapped to s1's 'solution'\)"):
        load_pool(pool, {"question": "problem", "solution": "answer"})
    records = load_pool(pool, {"question": "problem"})
    assert [r["question"] for r in records] == ["Q1", "Q2"] and "problem" not in records[0]


@pytest.mark.parametrize(
    "rows, fields, fragment",
    [
        ([{"prompt": "Q"}], None, "line 1: no field 'question'"),
        ([{"question": " "}], None, "line 1: the question (question) is empty"),
        ([{"question": "Q"}], {"answer": "x"}, "unknown s1 columns ['answer']"),
        ([], None, "is empty"),
    ],
)
def test_bad_pools_are_named(tmp_path, rows, fields, fragment):
    with pytest.raises(S1kitError, match=re.escape(fragment)):
        load_pool(write(tmp_path / "p.jsonl", rows), fields)


def test_hub_pool_errors_share_the_tasks_messages(monkeypatch):
    """A gated or unreachable hub pool gets the same guidance as a benchmark task (s1kit.hub)."""
    datasets = pytest.importorskip("datasets", reason="hub pools need the [eval] extra")

    def unreachable(*args, **kwargs):
        raise ConnectionError("offline")

    monkeypatch.setattr(datasets, "load_dataset", unreachable)
    with pytest.raises(S1kitError, match="pool some/pool: could not reach the Hugging Face hub for some/pool .* "
                                         "work offline: pass a local .jsonl pool file instead"):
        load_pool("some/pool")

    def gated(*args, **kwargs):
        raise FileNotFoundError("Dataset 'some/pool' is a gated dataset on the Hub.")

    monkeypatch.setattr(datasets, "load_dataset", gated)
    with pytest.raises(S1kitError, match="pool some/pool: the hub dataset some/pool is gated .*`hf auth login`"):
        load_pool("some/pool")
