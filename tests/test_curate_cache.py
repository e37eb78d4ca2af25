"""The model-call cache: a re-run makes no call, an interruption keeps finished batches."""

from __future__ import annotations

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
