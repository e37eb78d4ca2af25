"""`s1kit traces` and the model-call layer: retries, failures recorded (and dropped by the quality
stage), resume from the cache, and the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from s1kit.backends.scripted import ScriptedBackend
from s1kit.cli import app
from s1kit.curate.cache import CallCache
from s1kit.curate.calls import ModelCalls
from s1kit.curate.config import ModelCallConfig
from s1kit.curate.quality import quality
from s1kit.curate.traces import TracesConfig, main
from s1kit.errors import S1kitError
from s1kit.recipes import build

TEACHER = build(ModelCallConfig, dict(model="teacher", format="think-tags", max_thinking_tokens=16, max_answer_tokens=8, batch_size=2))


class Flaky(ScriptedBackend):
    """Fails on every batch holding a BROKEN prompt, and on the first try of each FLAKY prompt."""

    def __init__(self):
        super().__init__(lambda prompt: "Let me see. </think> It is \\boxed{7}.")
        self.tried: list[str] = []

    def run(self, prompt_ids, *args, **kwargs):
        texts = [self.tokenizer.decode(ids) for ids in prompt_ids]
        self.tried += texts
        if any("BROKEN" in t for t in texts) or any("FLAKY" in t and self.tried.count(t) == 1 for t in texts):
            raise RuntimeError("server said 503")
        return super().run(prompt_ids, *args, **kwargs)


def write_questions(path, questions):
    path.write_text("".join(json.dumps({"question": q, "source_type": "mine"}) + "\n" for q in questions))
    return path


def test_traces_retry_record_failures_and_resume(tmp_path):
    questions = write_questions(tmp_path / "q.jsonl", ["one", "FLAKY two", "BROKEN three", "four", "five"])
    out = tmp_path / "traces.jsonl"
    backend = Flaky()
    summary = main(TracesConfig(questions=str(questions), out=str(out), teacher=TEACHER, retries=1), {"teacher": backend})
    assert summary == {"questions": 5, "traced": 4, "failed": 1, "calls": 5, "cached": 0}
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["question"] for r in rows] == ["one", "FLAKY two", "BROKEN three", "four", "five"]
    good = rows[0]
    assert good["thinking_trajectories"] == ["Let me see. "] and "\\boxed{7}" in good["attempt"]
    assert good["teacher"] == "teacher" and good["source_type"] == "mine" and good["thinking_tokens"] > 0
    broken = rows[2]
    assert broken["thinking_trajectories"] is None and broken["attempt"] is None
    assert broken["trace_error"] == "RuntimeError: server said 503"
    # The quality stage drops the failure, and only it.
    result = quality([{**r, "solution": "7"} for r in rows])
    assert [reason for _, reason in result.dropped] == ["failed generation"] and len(result.kept) == 4
    # BROKEN is tried twice in its batch of 2, then twice alone; a re-run asks only for it again.
    assert sum("BROKEN" in t for t in backend.tried) == 4
    again = Flaky()
    summary = main(TracesConfig(questions=str(questions), out=str(out), teacher=TEACHER, retries=0), {"teacher": again})
    assert summary == {"questions": 5, "traced": 4, "failed": 1, "calls": 1, "cached": 4}
    assert len(again.tried) == 1 and "BROKEN" in again.tried[0]


def test_a_model_that_fails_to_load_is_an_error_not_a_failed_call(tmp_path):
    calls = ModelCalls(CallCache(tmp_path / "c.sqlite"))
    spec = build(ModelCallConfig, dict(model=str(tmp_path / "no-such-model"), max_thinking_tokens=4))
    with pytest.raises(S1kitError, match="no-such-model"):
        calls.ask(spec, ["a question"])
    assert calls.failures == []


@pytest.mark.parametrize("rows, message", [
    ([{"problem": "x"}], "line 1: no question text in field 'question' \\(fields: 'problem'\\)"),
    ([], "holds no questions"),
])
def test_bad_question_files(tmp_path, rows, message):
    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(S1kitError, match=message):
        main(TracesConfig(questions=str(path), out=str(tmp_path / "o.jsonl"), teacher=TEACHER), {"teacher": Flaky()})


def test_traces_cli_with_the_bundled_model(tmp_path, smollm2_dir):
    questions = write_questions(tmp_path / "q.jsonl", ["What is 3 + 4?", "Name a prime number."])
    out = tmp_path / "t.jsonl"
    result = CliRunner().invoke(app, ["traces", "--questions", str(questions), "--teacher", "smollm2-135m",
                                      "--out", str(out), "--format", "s1", "--max-thinking-tokens", "16",
                                      "--max-answer-tokens", "8"])
    assert result.exit_code == 0, result.output
    assert "2/2 traced, 0 failed (2 calls made, 0 from the cache)" in result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r["teacher"] == "smollm2-135m" and r["thinking_tokens"] <= 16 for r in rows)
    result = CliRunner().invoke(app, ["traces", "--questions", str(questions), "--teacher", "smollm2-135m",
                                      "--out", str(out), "--format", "s1", "--max-thinking-tokens", "16",
                                      "--max-answer-tokens", "8"])
    assert "(0 calls made, 2 from the cache)" in result.output
    assert [json.loads(line) for line in out.read_text().splitlines()] == rows
