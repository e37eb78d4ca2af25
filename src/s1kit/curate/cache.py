"""One cache for every model call of the curation pipeline: solver, judge, classifier, teacher.

A call is keyed by the sha256 of (model, prompt, parameters) in canonical JSON; its result (any
JSON value) is stored in SQLite. Misses are computed in batches and each batch is committed before
the next starts, so an interrupted run loses at most one batch, and a re-run with the same inputs
makes no call at all; a failed call (None) is not stored, so a re-run retries it. Parameters must hold everything that changes the result (budget, sampling,
seed, format, system prompt); the caller owns that list.

The cache file is opened only as a regular file of its own (a link there, or beside it where SQLite
puts its journal, is refused), and a damaged one is one line saying to delete it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import stat
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from s1kit.errors import S1kitError
from s1kit.jsonl import json_text


def call_key(model: str, prompt: str, params: dict) -> str:
    try:
        canonical = json.dumps([model, prompt, params], sort_keys=True, ensure_ascii=False)
    except TypeError as exc:
        raise S1kitError(f"cache parameters must be JSON values ({exc}); pass numbers, strings, lists or dicts") from None
    # surrogatepass: a prompt from JSON may hold a lone surrogate ("\ud800"), which strict UTF-8 refuses.
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


SIDE_FILES = ("", "-journal", "-wal", "-shm")
"""The cache file and the files SQLite writes beside it."""


def check_cache_file(path: Path) -> None:
    """``path`` (and SQLite's files beside it) hold no link and nothing but regular files: SQLite
    would write through a link to the file it points to."""
    for suffix in SIDE_FILES:
        side = path.with_name(path.name + suffix)
        try:
            mode = os.lstat(side).st_mode
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(mode):
            raise S1kitError(f"the call cache {side} is a symbolic link; remove it or pass another output path")
        if not stat.S_ISREG(mode):
            raise S1kitError(f"the call cache {side} is not a regular file; remove it or pass another output path")


class CallCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        check_cache_file(self.path)
        with self._database():
            self._db = sqlite3.connect(self.path)
        try:
            with self._database():  # the first read of the file: a damaged one stops here
                self._db.execute("CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, model TEXT NOT NULL, value TEXT NOT NULL)")
                self._db.commit()
        except S1kitError:
            self._db.close()
            raise
        self.calls = 0
        """Model calls made through this object (misses); 0 on a fully cached re-run."""
        self.hits = 0
        self.saved = 0
        """Prompts asked through this object whose result is in the cache, found there or stored after
        their call: what an interrupted run keeps."""

    @contextlib.contextmanager
    def _database(self):
        """SQLite's errors as one line naming the cache file."""
        try:
            yield
        except sqlite3.OperationalError as exc:  # locked, read-only, disk full ...
            raise S1kitError(f"cannot use the call cache {self.path} ({exc}); check that it is writable and that "
                             "no other program holds it") from None
        except sqlite3.DatabaseError as exc:  # exactly DatabaseError: damaged, truncated, not a database
            if type(exc) is not sqlite3.DatabaseError:
                raise
            raise S1kitError(f"the call cache {self.path} is damaged or not an SQLite database ({exc}); "
                             "delete it and run again (its calls are asked again)") from None

    def lookup(self, keys: Sequence[str]) -> dict[str, object]:
        found = {}
        with self._database():
            for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                for key, value in self._db.execute(f"SELECT key, value FROM calls WHERE key IN ({marks})", chunk):
                    found[key] = json.loads(value)
        return found

    def store(self, model: str, items: Sequence[tuple[str, object]]) -> None:
        with self._database():
            self._db.executemany("INSERT OR REPLACE INTO calls (key, model, value) VALUES (?, ?, ?)",
                                 [(key, model, json_text(value)) for key, value in items])
            self._db.commit()

    def run(self, model: str, prompts: Sequence[str], params: dict, call: Callable[[list[str]], list],
            batch_size: int = 64, progress: str | None = None) -> list:
        """Results for every prompt, in order: cached ones read, the rest computed by ``call`` in batches.

        ``call`` takes a list of prompts and returns one JSON-able result per prompt. A None result
        is a failed call: returned as None and not stored, so the next run asks again.
        """
        keys = [call_key(model, p, params) for p in prompts]
        results = self.lookup(sorted(set(keys)))
        self.hits += sum(k in results for k in keys)
        self.saved += sum(k in results for k in keys)
        asked = Counter(keys)
        missing = list(dict.fromkeys(k for k in keys if k not in results))  # each distinct call once
        prompt_of = dict(zip(keys, prompts))
        bar = None
        if progress and missing:
            from s1kit.progress import progress as counter

            bar = counter(len(missing), progress, "call")
        for start in range(0, len(missing), batch_size):
            batch = missing[start : start + batch_size]
            values = call([prompt_of[k] for k in batch])
            if len(values) != len(batch):
                raise RuntimeError(f"a model call returned {len(values)} results for {len(batch)} prompts")
            done = [(key, value) for key, value in zip(batch, values) if value is not None]
            self.store(model, done)
            self.saved += sum(asked[key] for key, _ in done)
            self.calls += len(batch)
            results.update(zip(batch, values))
            if bar is not None:
                bar.update(len(batch))
        if bar is not None:
            bar.close()
        return [results[k] for k in keys]

    def close(self) -> None:
        self._db.close()
