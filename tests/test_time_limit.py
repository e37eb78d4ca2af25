"""Running a function under a time limit (s1kit.grading.time_limit): a result, None included, comes
back as it is; a call past its limit gives TIMED_OUT, in the main thread and in a worker process."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

import s1kit
from s1kit.grading.time_limit import TIMED_OUT, Worker, WorkerPool, call_with_time_limit, call_with_timer


def spin(seconds: float) -> str:
    """Pure Python for ``seconds``: the timer's signal lands between bytecodes."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass
    return "done"


def in_a_thread(fn):
    results = []
    thread = threading.Thread(target=lambda: results.append(fn()))
    thread.start()
    thread.join(timeout=60)
    return results[0]


def test_the_timer_gives_the_result_or_timed_out():
    assert call_with_timer(spin, 5.0, 0.0) == "done"
    assert call_with_timer(dict.get, 5.0, {}, "missing") is None  # a result of None is not a timeout
    start = time.monotonic()
    assert call_with_timer(spin, 0.2, 10.0) is TIMED_OUT
    assert time.monotonic() - start < 3


def test_a_worker_thread_gets_the_same_from_a_worker_process():
    pool = WorkerPool()
    assert in_a_thread(lambda: call_with_time_limit(os.getenv, 5.0, "S1KIT_NO_SUCH_VARIABLE", workers=pool)) is None
    start = time.monotonic()
    # The child sleeps until its own timer stops it: a child that failed would answer at once.
    assert in_a_thread(lambda: call_with_time_limit(time.sleep, 0.5, 10.0, workers=pool)) is TIMED_OUT
    assert 0.5 <= time.monotonic() - start < 5
    assert in_a_thread(lambda: call_with_time_limit(os.getenv, 5.0, "S1KIT_NO_SUCH_VARIABLE", "x", workers=pool)) == "x"


def test_a_worker_imports_s1kit_from_where_the_parent_did():
    # Only the folder that holds the package goes first on the child's path: the package folder
    # itself would make s1kit's modules top-level ones (its tokenizers.py shadowing HF's tokenizers).
    worker = Worker()
    try:
        path = worker.call(os.getenv, ["PYTHONPATH"], timeout=5.0)
    finally:
        worker.close()
    assert path.split(os.pathsep)[0] == str(Path(s1kit.__file__).resolve().parents[1])


def test_a_function_no_child_can_import_is_refused():
    worker = Worker()
    try:
        with pytest.raises(TypeError, match="pass a module-level function"):
            worker.call(lambda: 1, [], timeout=5.0)
        assert worker.alive
    finally:
        worker.close()
