"""The one JSONL reader: gzip read through, a UTF-8 byte-order mark skipped, other encodings and
broken files one line each."""

from __future__ import annotations

import gzip
import json

import pytest

from s1kit.errors import S1kitError
from s1kit.jsonl import read_lines

ROWS = [{"question": "Qu'est-ce que 2+2 ?", "answer": "4"}, {"question": "√16", "answer": "4"}]
TEXT = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS)


@pytest.mark.parametrize("name, data", [
    ("plain.jsonl", TEXT.encode()),
    ("bom.jsonl", b"\xef\xbb\xbf" + TEXT.encode()),
    ("rows.jsonl.gz", gzip.compress(TEXT.encode())),
    ("no-suffix.jsonl", gzip.compress(TEXT.encode())),  # compressed, whatever its name says
])
def test_readable_files(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    assert [value for _, value in read_lines(path)] == ROWS


@pytest.mark.parametrize("data, message", [
    (TEXT.encode("utf-16"), r"is not UTF-8 text \(UTF-16, by its byte-order mark\); convert it first, e.g. iconv -f UTF-16"),
    ('{"question": "caf\xe9"}\n'.encode("latin-1"), r"is not UTF-8 text \(line 1: invalid continuation byte\)"),
    (gzip.compress(TEXT.encode())[:20], r"starts like a gzip file but does not decompress"),
])
def test_unreadable_files_are_one_line(tmp_path, data, message):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(data)
    with pytest.raises(S1kitError, match=message):
        list(read_lines(path))
