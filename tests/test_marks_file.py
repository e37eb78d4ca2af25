"""The marks file between s1kit's logits processor and the server's front end."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from s1kit.backends import marks_file
from s1kit.backends.marks_file import MarksWriter, file_for, read_marks, remove_stale_dirs
from s1kit.errors import S1kitError


def test_the_last_decision_for_a_position_wins(tmp_path):
    writer = MarksWriter(tmp_path / "k")
    assert read_marks(tmp_path / "k") == set()  # made when the engine takes the request
    writer.note(0, True)   # a partial prefill's pass, redone
    writer.note(0, False)
    writer.note(5, True)
    writer.note(9, True)
    assert read_marks(tmp_path / "k") == {5, 9}


def test_only_changes_are_written(tmp_path):
    writer = MarksWriter(tmp_path / "k")
    for position in range(50):
        writer.note(position, False)  # the common case: every step, nothing replaced
    writer.note(7, True)
    writer.note(7, True)
    assert (tmp_path / "k").read_text() == "7 1\n"


def test_a_line_still_being_written_is_not_read(tmp_path):
    (tmp_path / "k").write_text("3 1\n4")
    assert read_marks(tmp_path / "k") == {3}


def test_a_writer_does_not_bring_back_a_file_the_front_end_removed(tmp_path):
    writer = MarksWriter(tmp_path / "k")
    (tmp_path / "k").unlink()  # the client went away; the engine still has the request for a step
    writer.note(3, True)
    assert not (tmp_path / "k").exists()


def test_a_second_writer_keeps_what_the_first_wrote(tmp_path):
    MarksWriter(tmp_path / "k").note(2, True)
    MarksWriter(tmp_path / "k")  # another tensor-parallel rank, or a request back from preemption
    assert read_marks(tmp_path / "k") == {2}


def test_a_missing_file_says_what_the_engine_needs(tmp_path):
    with pytest.raises(S1kitError, match=r"S1KIT_MARKS_DIR.*s1kit's logits processor"):
        read_marks(tmp_path / "gone")


@pytest.mark.parametrize("key", ["../../etc/passwd", "a" * 31, "A" * 32, None, 7, "0" * 32 + "/x"])
def test_a_key_the_channel_did_not_make_names_no_file(tmp_path, key):
    assert file_for(tmp_path, key) is None


def test_a_new_key_names_a_file_in_the_directory(tmp_path):
    assert file_for(tmp_path, marks_file.new_key()).parent == tmp_path


def test_directories_of_servers_that_are_gone_are_removed(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = tmp_path / f"{marks_file.SERVER_PREFIX}{gone.stdout.strip()}"
    live = tmp_path / f"{marks_file.SERVER_PREFIX}{os.getpid()}"
    other = tmp_path / f"{marks_file.SERVER_PREFIX}notapid"
    for directory in (dead, live, other):
        directory.mkdir()
        (directory / "f").write_text("1 1\n")
    remove_stale_dirs(tmp_path)
    assert not dead.exists() and live.exists() and other.exists()


def test_only_an_empty_directory_is_removed(tmp_path):
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "users-file").write_text("x")
    marks_file.remove_dir(tmp_path / "keep")
    assert (tmp_path / "keep" / "users-file").exists()
    (tmp_path / "empty").mkdir()
    marks_file.remove_dir(tmp_path / "empty")
    assert not (tmp_path / "empty").exists()
