"""The model-call cache: a re-run makes no call, an interruption keeps finished batches."""

from __future__ import annotations

import os

import pytest

from s1kit.curate.cache import CallCache, call_key
from s1kit.errors import S1kitError


class Model:
    def __init__(self, fail_at_batch: int | None = None):
        self.batches = []
        self.fail_at_batch = fail_at_batch

    def __call__(self, prompts):
        if self.fail_at_batch is not None and len(self.batches) == self.fail_at_batch:
            raise KeyboardInterrupt
        self.batches.append(list(prompts))
        return [{"answer": p.upper()} for p in prompts]


def test_second_run_makes_zero_calls(tmp_path):
    prompts = ["a", "b", "a", "c"]
    first = CallCache(tmp_path / "c.sqlite")
    model = Model()
    assert first.run("m", prompts, {"t": 0}, model, batch_size=2) == [{"answer": x} for x in "ABAC"]
    assert first.calls == 3 and sum(map(len, model.batches)) == 3  # "a" asked once
    first.close()
    again, model = CallCache(tmp_path / "c.sqlite"), Model()
    assert again.run("m", prompts, {"t": 0}, model) == [{"answer": x} for x in "ABAC"]
    assert again.calls == 0 and model.batches == [] and again.hits == 4


def test_model_prompt_and_parameters_are_all_in_the_key(tmp_path):
    cache, model = CallCache(tmp_path / "c.sqlite"), Model()
    cache.run("m", ["a"], {"t": 0}, model)
    cache.run("m", ["a"], {"t": 1}, model)
    cache.run("other", ["a"], {"t": 0}, model)
    cache.run("m", ["a "], {"t": 0}, model)
    assert cache.calls == 4
    assert call_key("m", "a", {"x": 1, "y": 2}) == call_key("m", "a", {"y": 2, "x": 1})
    with pytest.raises(S1kitError, match="must be JSON values"):
        call_key("m", "a", {"x": object()})


def test_an_interrupted_run_keeps_its_finished_batches(tmp_path):
    cache = CallCache(tmp_path / "c.sqlite")
    with pytest.raises(KeyboardInterrupt):
        cache.run("m", list("abcdef"), {}, Model(fail_at_batch=2), batch_size=2)
    cache.close()
    resumed, model = CallCache(tmp_path / "c.sqlite"), Model()
    assert resumed.run("m", list("abcdef"), {}, model, batch_size=2) == [{"answer": x} for x in "ABCDEF"]
    assert model.batches == [["e", "f"]] and resumed.calls == 2


def real_cache(path, rows: int = 200):
    """A cache file of ``rows`` stored calls, several pages long."""
    cache = CallCache(path)
    cache.store("m", [(f"key{i}", {"text": "x" * 300}) for i in range(rows)])
    cache.close()
    return path


def test_a_cache_through_a_link_is_refused_and_its_target_untouched(tmp_path):
    target = real_cache(tmp_path / "elsewhere.sqlite")
    before = target.read_bytes()
    (tmp_path / "cache.sqlite").symlink_to(target)
    with pytest.raises(S1kitError, match=rf"^the call cache {tmp_path / 'cache.sqlite'} is a symbolic link; "
                                         "remove it or pass another output path"):
        CallCache(tmp_path / "cache.sqlite")
    assert target.read_bytes() == before


@pytest.mark.parametrize("suffix", ["-journal", "-wal"])
def test_a_link_where_sqlite_puts_its_journal_is_refused(tmp_path, suffix):
    real_cache(tmp_path / "cache.sqlite")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / f"cache.sqlite{suffix}").symlink_to(victim)
    with pytest.raises(S1kitError, match=rf"cache.sqlite{suffix} is a symbolic link"):
        CallCache(tmp_path / "cache.sqlite")
    assert victim.read_text() == "precious\n"


def test_a_cache_that_is_not_a_regular_file_is_refused(tmp_path):
    os.mkfifo(tmp_path / "cache.sqlite")
    with pytest.raises(S1kitError, match=r"cache.sqlite is not a regular file; remove it"):
        CallCache(tmp_path / "cache.sqlite")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "header-only"])
def test_a_corrupt_cache_is_one_line_saying_to_delete_it(tmp_path, damage):
    path = real_cache(tmp_path / "cache.sqlite")
    data = path.read_bytes()
    path.write_bytes({"garbage": b"not a database\n" * 10, "truncated": data[: len(data) // 2],
                      "header-only": data[:100]}[damage])
    before = path.read_bytes()
    with pytest.raises(S1kitError, match=rf"^the call cache {path} is damaged or not an SQLite database \(.+\); "
                                         "delete it and run again"):
        CallCache(path)
    assert path.read_bytes() == before


def test_damage_found_after_opening_is_one_line_too(tmp_path):
    path = real_cache(tmp_path / "cache.sqlite")
    cache = CallCache(path)
    with open(path, "r+b") as handle:  # the pages after the first, overwritten while the cache is open
        handle.seek(4096)
        handle.write(b"\xff" * (path.stat().st_size - 4096))
    for use in (lambda: cache.lookup(["key1"]), lambda: cache.store("m", [("new", 1)])):
        with pytest.raises(S1kitError, match=r"is damaged or not an SQLite database \(database disk image is malformed\)"):
            use()


def test_a_prompt_holding_a_lone_surrogate_is_cached(tmp_path):
    """JSON input may hold "\\ud800", which UTF-8 cannot encode: it keys and stores as any prompt."""
    cache, model = CallCache(tmp_path / "c.sqlite"), Model()
    assert cache.run("m", ["a\ud800", "a\udc00"], {}, model) == [{"answer": "A\ud800"}, {"answer": "A\udc00"}]
    cache.close()
    again, model = CallCache(tmp_path / "c.sqlite"), Model()
    assert again.run("m", ["a\ud800", "a\udc00"], {}, model) == [{"answer": "A\ud800"}, {"answer": "A\udc00"}]
    assert model.batches == []
