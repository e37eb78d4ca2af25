"""Outputs are written as the files they name, never through a link someone planted there: a whole
file replaces the link (its target keeps its bytes and mode), an append refuses it, and no output
inherits a setuid, setgid or sticky bit."""

from __future__ import annotations

import os
import stat

import pytest

from s1kit.errors import S1kitError
from s1kit.files import open_append, write_text


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def victim(tmp_path):
    """A setuid program of someone's, the target of a link planted at an output path."""
    path = tmp_path / "victim"
    path.write_text("#!/bin/sh\n")
    path.chmod(0o4777)
    return path


def test_a_whole_file_write_replaces_a_link_and_leaves_its_target_alone(tmp_path, victim):
    page = tmp_path / "report.html"
    page.symlink_to(victim)
    write_text(page, "<html></html>\n")
    assert not page.is_symlink() and page.read_text() == "<html></html>\n"
    assert victim.read_text() == "#!/bin/sh\n" and mode(victim) == 0o4777
    assert mode(page) == 0o644


def test_a_rewritten_file_keeps_its_permissions_but_never_a_setuid_setgid_or_sticky_bit(tmp_path):
    page = tmp_path / "report.html"
    page.write_text("old\n")
    page.chmod(0o7640)
    write_text(page, "new\n")
    assert page.read_text() == "new\n"
    assert mode(page) == 0o640


def test_a_new_file_is_readable_by_others(tmp_path):
    write_text(tmp_path / "metrics.json", "{}\n")
    assert mode(tmp_path / "metrics.json") == 0o644


def test_an_append_writes_at_the_end_of_a_regular_file(tmp_path):
    rows = tmp_path / "samples.jsonl"
    rows.write_text("1\n")
    with open_append(rows) as sink:
        sink.write("2\n")
    with open_append(tmp_path / "new.jsonl") as sink:
        sink.write("1\n")
    assert rows.read_text() == "1\n2\n" and (tmp_path / "new.jsonl").read_text() == "1\n"


@pytest.mark.parametrize("dangling", [False, True], ids=["to-a-file", "dangling"])
def test_an_append_through_a_link_is_refused_and_writes_nothing(tmp_path, victim, dangling):
    target = tmp_path / "nowhere" if dangling else victim
    rows = tmp_path / "samples.jsonl"
    rows.symlink_to(target)
    with pytest.raises(S1kitError, match=rf"^{rows} is a symbolic link; remove it or pass another output path"):
        open_append(rows)
    assert victim.read_text() == "#!/bin/sh\n" and not (tmp_path / "nowhere").exists()


def test_an_append_to_a_fifo_is_refused_at_once(tmp_path):
    rows = tmp_path / "samples.jsonl"
    os.mkfifo(rows)
    with pytest.raises(S1kitError, match=rf"^{rows} is not a regular file; remove it or pass another output path"):
        open_append(rows)
