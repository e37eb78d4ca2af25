"""JSON Lines in and out, with errors that name the file and line, and writes that cannot leave
half a file behind."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from s1kit.errors import S1kitError
from s1kit.files import replacing


def check_file(path: str | Path, fix: str) -> Path:
    """path as a Path if it is a readable file, else an error ending with how to fix it."""
    path = Path(path)
    if not path.is_file():
        problem = "is a directory" if path.is_dir() else "does not exist"
        raise S1kitError(f"{path} {problem}; {fix}")
    return path


GZIP_MAGIC = b"\x1f\x8b"


def open_text(path: str | Path):
    """A UTF-8 text file for reading: gzip-compressed ones (by their first bytes) are read through
    gzip, and a UTF-8 byte-order mark is skipped."""
    import gzip

    with open(path, "rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    return gzip.open(path, "rt", encoding="utf-8-sig") if compressed else open(path, encoding="utf-8-sig")


def read_lines(path: str | Path, objects: bool = True) -> Iterator[tuple[int, Any]]:
    """(line number, value) for every non-blank line; with objects, each value must be a JSON object.
    Plain or gzip-compressed UTF-8; any other encoding is one line saying how to convert it."""
    import gzip

    number = 0
    try:
        with open_text(path) as lines:
            for number, text in enumerate(lines, start=1):
                if not text.strip():
                    continue
                yield number, _value(path, number, text, objects)
    except UnicodeDecodeError as exc:
        utf16 = exc.object[:2] in (b"\xff\xfe", b"\xfe\xff")
        what = "UTF-16, by its byte-order mark" if utf16 else f"line {number + 1}: {exc.reason}"
        source = "UTF-16" if utf16 else "LATIN1"
        raise S1kitError(f"{path} is not UTF-8 text ({what}); convert it first, e.g. "
                         f"iconv -f {source} -t UTF-8 {path} > converted.jsonl") from None
    except (gzip.BadGzipFile, EOFError) as exc:
        raise S1kitError(f"{path} starts like a gzip file but does not decompress ({exc}); recompress or decompress it") from None


def _value(path, number: int, text: str, objects: bool):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise S1kitError(f"{path} line {number}: invalid JSON ({exc.msg} at column {exc.colno}); "
                         "each line must be one JSON value") from None
    if objects and not isinstance(value, dict):
        raise S1kitError(f"{path} line {number}: expected a JSON object, got {type(value).__name__}")
    return value


SURROGATE = re.compile("[\ud800-\udfff]")
"""A lone surrogate: JSON input can hold one ("\\ud800"), UTF-8 cannot encode it."""


def json_text(value: Any) -> str:
    """``value`` as JSON text that encodes as UTF-8: non-ASCII characters as they are, unless the
    text holds a lone surrogate; then all of them as \\u escapes, which read back as the same string."""
    text = json.dumps(value, ensure_ascii=False)
    return json.dumps(value) if SURROGATE.search(text) else text


def json_line(row: dict) -> str:
    """One JSONL line of ``row`` (see :func:`json_text`)."""
    return json_text(row) + "\n"


def write_atomic(path: str | Path, rows: Iterable[dict]) -> None:
    """Write rows as JSONL whole or not at all (see s1kit.files): readers see the old or the new file."""
    with replacing(path) as temporary, open(temporary, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json_line(row))
