"""`eval --resume` trusts a run directory only when it is provably the same run: the same settings
and data (config.json), and rows whose question, sample and point are this run's. On the scripted
model, so each case takes milliseconds."""

from __future__ import annotations

import json
import shutil

import pytest

from s1kit.backends.scripted import ScriptedBackend
from s1kit.errors import S1kitError
from s1kit.eval.config import EvalConfig
from s1kit.eval.run import main

pytest.importorskip("math_verify", reason="grading needs the [math] extra")

SCRIPT = "two and two make four<|im_end|> 4<|im_end|>"


def write_task(path, questions):
    path.write_text("".join(json.dumps({"id": i, "question": q, "answer": "4"}) + "\n" for i, q in questions))
    return path


def run(tmp_path, task, **options):
    config = EvalConfig(task=f"jsonl:{task}", id_field="id", model="scripted", budgets=[4, 8], kind="integer",
                        max_answer_tokens=4, out=str(tmp_path / "run"), **options)
    return main(config, backend=ScriptedBackend(SCRIPT))


@pytest.fixture
def done(tmp_path):
    """A finished run of two questions."""
    task = write_task(tmp_path / "t.jsonl", [("a", "What is 2+2?"), ("b", "What is 3+1?")])
    run(tmp_path, task)
    return task, tmp_path / "run"


def test_resume_of_a_finished_run_keeps_every_row(tmp_path, done):
    task, out = done
    before = (out / "samples.jsonl").read_bytes()
    run(tmp_path, task, resume=True)
    assert (out / "samples.jsonl").read_bytes() == before


def test_resume_refuses_a_run_whose_data_changed(tmp_path, done):
    task, out = done
    write_task(task, [("a", "What is 2+2, in words?"), ("b", "What is 3+1?")])
    with pytest.raises(S1kitError, match=r"made with another config \(data: "):
        run(tmp_path, task, resume=True)


def test_resume_refuses_rows_of_another_question_even_without_a_data_record(tmp_path, done):
    """An older config.json has no data hash: the rows themselves still have to match."""
    task, out = done
    saved = json.loads((out / "config.json").read_text())
    write_task(task, [("a", "What is 2+2, in words?"), ("b", "What is 3+1?")])
    from s1kit.eval.run import data_identity
    from s1kit.tasks import get_task

    examples = get_task(f"jsonl:{task}", id_field="id", kind="integer").load(None, None, 0)
    saved["data"] = data_identity(examples)  # as if the record matched
    (out / "config.json").write_text(json.dumps(saved))
    with pytest.raises(S1kitError, match=r"line 1 has question 'What is 2\+2\?' where the task's question 0 has "
                                         r"'What is 2\+2, in words\?': the data changed"):
        run(tmp_path, task, resume=True)


def test_resume_refuses_rows_of_a_point_this_run_does_not_have(tmp_path, done):
    task, out = done
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    rows[0]["budget"] = rows[0]["max_thinking_tokens"] = 99
    (out / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(S1kitError, match=r"line 1 is a point \(budget 99, num_ignore 0\) this run does not have"):
        run(tmp_path, task, resume=True)


def test_a_broken_line_in_the_middle_is_reported_and_its_unit_generated_again(tmp_path, done, capsys):
    task, out = done
    path = out / "samples.jsonl"
    before = path.read_bytes()
    lines = path.read_text().splitlines()
    lines[1] = "{garbage"
    path.write_text("\n".join(lines) + "\n")
    run(tmp_path, task, resume=True)
    assert "dropped 1 line(s) that are not JSON rows (line 2)" in capsys.readouterr().err
    assert path.read_bytes() == before  # the unit came back whole


def test_samples_without_their_config_are_refused_for_another_task(tmp_path, done):
    task, out = done
    other = tmp_path / "other"
    shutil.copytree(out, other)
    (other / "config.json").unlink()
    config = EvalConfig(task=f"jsonl:{task}", id_field="id", model="scripted", budgets=[4, 8], kind="integer",
                        out=str(other), resume=True)
    with pytest.raises(S1kitError, match=r"holds samples.jsonl but no config.json"):
        main(config, backend=ScriptedBackend(SCRIPT))


def test_a_corrupt_config_json_is_one_line(tmp_path, done):
    task, out = done
    (out / "config.json").write_text('{"task": ')
    with pytest.raises(S1kitError, match=r"its config.json is not valid JSON"):
        run(tmp_path, task, resume=True)


def test_an_out_that_is_a_file_is_one_line_before_any_work(tmp_path):
    task = write_task(tmp_path / "t.jsonl", [("a", "What is 2+2?")])
    (tmp_path / "run").write_text("not a directory")
    with pytest.raises(S1kitError, match=r"--out .*run is a file; pass a directory"):
        run(tmp_path, task)


def test_an_api_key_never_reaches_a_run_directory(tmp_path):
    """A canary key given to the backend settings appears in no file the run writes."""
    from s1kit.backends import BackendConfig

    canary = "sk-canary-5f1e0c9a7b"
    task = write_task(tmp_path / "t.jsonl", [("a", "What is 2+2?")])
    config = EvalConfig(task=f"jsonl:{task}", id_field="id", model="scripted", budgets=[4], kind="integer",
                        out=str(tmp_path / "run"))
    main(config, BackendConfig(api_key=canary), backend=ScriptedBackend(SCRIPT))
    written = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"config.json", "config.yaml", "samples.jsonl", "metrics.json", "report.md"}
    assert not [p.name for p in written if canary.encode() in p.read_bytes()]
