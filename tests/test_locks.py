"""One writer per output: a second command on the same run directory or file stops in one line
naming the PID that holds it; a lock left by a killed process is taken over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from s1kit.errors import S1kitError
from s1kit.locks import lock_path, locked


def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    with locked(tmp_path, "s1kit eval --task nano"):
        with pytest.raises(S1kitError, match=rf"{tmp_path} is in use by PID {os.getpid()} \(s1kit eval --task nano\)"):
            with locked(tmp_path, "s1kit eval"):
                pass
    with locked(tmp_path, "s1kit eval"):  # released when the first one ended
        pass


def test_a_file_is_locked_beside_it(tmp_path):
    target = tmp_path / "traces.jsonl"
    assert lock_path(target) == tmp_path / ".traces.jsonl.lock"
    with locked(target, "s1kit traces"):
        with pytest.raises(S1kitError, match="is in use by PID"):
            with locked(target, "s1kit traces"):
                pass


def test_the_lock_of_a_killed_process_is_taken_over(tmp_path):
    code = ("import sys, time; from s1kit.locks import locked\n"
            "with locked(sys.argv[1], 'holder'):\n    print('held', flush=True); time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(S1kitError, match=rf"in use by PID {holder.pid} \(holder\)"):
            with locked(tmp_path, "second"):
                pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        assert "holder" in lock_path(tmp_path).read_text()  # what the dead process left
        with locked(tmp_path, "second"):
            assert f"PID {os.getpid()} (second)" in lock_path(tmp_path).read_text()
    finally:
        holder.kill()


def test_two_evals_on_one_out_the_second_stops(tmp_path):
    """The repro: two `s1kit eval` on the same --out; the second gets one line, the first's files stand."""
    pytest.importorskip("math_verify", reason="grading needs the [math] extra")
    from s1kit.backends.scripted import ScriptedBackend
    from s1kit.eval.config import eval_config
    from s1kit.eval.run import main

    task = tmp_path / "t.jsonl"
    task.write_text(json.dumps({"id": "a", "question": "What is 2+2?", "answer": "4"}) + "\n")
    out = tmp_path / "run"
    out.mkdir()
    first = eval_config(task=f"jsonl:{task}", id_field="id", budgets=[4], kind="integer", out=str(out))
    with locked(out, "s1kit eval (the first)"):
        with pytest.raises(S1kitError, match=r"is in use by PID \d+ \(s1kit eval \(the first\)\)"):
            main(eval_config(**{**first.__dict__, "budgets": [8]}), backend=ScriptedBackend("four<|im_end|> 4<|im_end|>"))
    assert not (out / "config.json").exists() and not (out / "samples.jsonl").exists()


def test_taking_the_lock_removes_what_a_killed_writer_left(tmp_path):
    """A writer killed mid-write leaves its hidden temporary file; the next writer of that output
    removes it, and leaves every other file alone."""
    run = tmp_path / "run"
    run.mkdir()
    leftovers = [run / ".samples.jsonl.k2j4x.tmp.jsonl", run / ".report.html.a81f.tmp"]
    kept = [run / "samples.jsonl", run / ".notes.txt", run / "tmp.jsonl"]
    for path in leftovers + kept:
        path.write_text("x")
    with locked(run, "s1kit eval"):
        assert not any(path.exists() for path in leftovers)
        assert all(path.exists() for path in kept)
    traces = tmp_path / "traces.jsonl"
    mine, other = tmp_path / ".traces.jsonl.q1w2.tmp.jsonl", tmp_path / ".pool.jsonl.q1w2.tmp.jsonl"
    for path in (mine, other):
        path.write_text("x")
    with locked(traces, "s1kit traces"):
        assert not mine.exists()
        assert other.exists()  # another output's, with a writer of its own


@pytest.fixture
def victim(tmp_path):
    """A setuid file of someone's, where a planted link at a lock path points."""
    path = tmp_path / "victim.txt"
    path.write_text("precious\n")
    path.chmod(0o4755)
    return path


@pytest.mark.parametrize("directory", [True, False], ids=["run-directory", "output-file"])
def test_a_symlink_at_the_lock_path_is_refused_and_its_target_untouched(tmp_path, victim, directory):
    target = tmp_path / "run" if directory else tmp_path / "traces.jsonl"
    if directory:
        target.mkdir()
    lock_path(target).symlink_to(victim)
    with pytest.raises(S1kitError, match=rf"^the lock file {lock_path(target)} is a symbolic link; remove it"):
        with locked(target, "s1kit eval"):
            pytest.fail("the lock was taken through a link")
    assert victim.read_text() == "precious\n"
    assert victim.stat().st_mode & 0o7777 == 0o4755


def test_a_dangling_symlink_at_the_lock_path_creates_nothing(tmp_path):
    elsewhere = tmp_path / "elsewhere" / "made.txt"
    elsewhere.parent.mkdir()
    lock_path(tmp_path).symlink_to(elsewhere)
    with pytest.raises(S1kitError, match="is a symbolic link; remove it"):
        with locked(tmp_path, "s1kit curate"):
            pass
    assert not elsewhere.exists()


@pytest.mark.parametrize("make", [os.mkfifo, os.mkdir], ids=["fifo", "directory"])
def test_a_lock_path_that_is_not_a_regular_file_is_refused_at_once(tmp_path, make):
    make(lock_path(tmp_path))  # a FIFO must not block the command waiting for a writer
    with pytest.raises(S1kitError, match=rf"^the lock file {lock_path(tmp_path)} is not a regular file; remove it"):
        with locked(tmp_path, "s1kit eval"):
            pass


def test_an_eval_on_a_run_with_a_planted_lock_link_stops_in_one_line(tmp_path, victim):
    from s1kit.backends.scripted import ScriptedBackend
    from s1kit.eval.config import eval_config
    from s1kit.eval.run import main

    task = tmp_path / "t.jsonl"
    task.write_text(json.dumps({"id": "a", "question": "What is 2+2?", "answer": "4"}) + "\n")
    out = tmp_path / "run"
    out.mkdir()
    (out / ".s1kit.lock").symlink_to(victim)
    config = eval_config(task=f"jsonl:{task}", id_field="id", budgets=[4], kind="integer", out=str(out))
    with pytest.raises(S1kitError, match="is a symbolic link; remove it"):
        main(config, backend=ScriptedBackend("four<|im_end|> 4<|im_end|>"))
    assert victim.read_text() == "precious\n" and not (out / "config.json").exists()
