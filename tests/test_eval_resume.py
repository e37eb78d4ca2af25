"""`eval --resume` trusts a run directory only when it is provably the same run: the same settings
and data (config.json), and rows whose question, sample and point are this run's. On the scripted
model, so each case takes milliseconds."""

from __future__ import annotations

import json
import shutil

import pytest

from s1kit.backends.scripted import ScriptedBackend
from s1kit.errors import S1kitError
from s1kit.eval.config import eval_config
from s1kit.eval.run import main
from s1kit.recipes import build

pytest.importorskip("math_verify", reason="grading needs the [math] extra")

SCRIPT = "two and two make four<|im_end|> 4<|im_end|>"


def write_task(path, questions):
    path.write_text("".join(json.dumps({"id": i, "question": q, "answer": "4"}) + "\n" for i, q in questions))
    return path


def run(tmp_path, task, out="run", script=SCRIPT, **options):
    config = eval_config(**{"task": f"jsonl:{task}", "id_field": "id", "model": "scripted", "budgets": [4, 8],
                           "kind": "integer", "max_answer_tokens": 4, "out": str(tmp_path / out), **options})
    return main(config, backend=ScriptedBackend(script))


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
    with pytest.raises(S1kitError, match=r"line 1 has question 'What is 2\+2\?' \(str\) where the task's question 0 has "
                                         r"'What is 2\+2, in words\?' \(str\): the data changed"):
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
    config = eval_config(task=f"jsonl:{task}", id_field="id", model="scripted", budgets=[4, 8], kind="integer",
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
    canary = "sk-canary-5f1e0c9a7b"
    task = write_task(tmp_path / "t.jsonl", [("a", "What is 2+2?")])
    config = eval_config(task=f"jsonl:{task}", id_field="id", model="scripted", budgets=[4], kind="integer",
                         out=str(tmp_path / "run"), api_key=canary)
    assert config.backend_options.api_key == canary
    main(config, backend=ScriptedBackend(SCRIPT))
    written = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"config.json", "config.yaml", "samples.jsonl", "metrics.json", "report.md"}
    assert not [p.name for p in written if canary.encode() in p.read_bytes()]


def read_rows(out):
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


def write_rows(out, rows):
    (out / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_resume_refuses_rows_made_with_other_settings(tmp_path, done):
    """samples.jsonl of a run with another wait string, copied into this run's directory: its
    config.json matches this run, its rows do not."""
    task, out = done
    run(tmp_path, task, out="other", wait_string="Hmm")
    shutil.copy(tmp_path / "other" / "samples.jsonl", out / "samples.jsonl")
    with pytest.raises(S1kitError, match=r"samples.jsonl line 1 was made with other settings than this run and "
                                         r"its config.json"):
        run(tmp_path, task, resume=True)


def test_resume_grades_every_kept_row_again(tmp_path, done, capsys):
    """A hand-set ``correct`` counts for nothing: the verdict comes from the output and the gold."""
    task, out = done
    before = json.loads((out / "metrics.json").read_text())
    assert [p["accuracy"] for p in before["points"]] == [0.0, 1.0]  # the cap at 4 cuts the answer off
    rows = read_rows(out)
    for row in rows:
        row["correct"], row["extracted_answer"] = True, "4"
    write_rows(out, rows)
    capsys.readouterr()
    after = run(tmp_path, task, resume=True)
    assert [p["accuracy"] for p in after["points"]] == [0.0, 1.0]
    assert [(r["budget"], r["correct"], r["extracted_answer"]) for r in read_rows(out)] == [
        (4, False, None), (8, True, "4")] * 2
    assert "2 kept row(s) held a verdict their output and gold do not give" in capsys.readouterr().err


def test_rows_saved_without_a_settings_hash_resume_when_the_config_matches(tmp_path, done):
    """Runs saved before rows carried their settings: config.json alone vouches for them."""
    task, out = done
    rows = read_rows(out)
    assert all("settings_sha256" in r for r in rows)
    old = [{k: v for k, v in r.items() if k != "settings_sha256"} for r in rows]
    write_rows(out, old[:-1])  # one unit short: the rest is generated with this run's hash
    run(tmp_path, task, resume=True)
    resumed = read_rows(out)
    assert resumed[:-2] == old[:-2] and resumed[-2:] == rows[-2:]
    write_rows(out, old)
    with pytest.raises(S1kitError, match=r"made with another config \(wait_string: \['Wait'\] there, \['Hmm'\] now\)"):
        run(tmp_path, task, resume=True, wait_string="Hmm")


def test_budgets_in_another_order_are_the_same_run(tmp_path, done):
    task, out = done
    before = (out / "samples.jsonl").read_bytes()
    run(tmp_path, task, resume=True, budgets=[8, 4])
    assert (out / "samples.jsonl").read_bytes() == before


def test_a_judged_row_keeps_the_judges_verdict_and_one_the_rules_now_grade_otherwise_is_judged_again(capsys):
    from s1kit.eval.run import grade_again
    from s1kit.grading.judge import Judge, JudgeConfig

    judge = Judge(build(JudgeConfig, {"judge": "scripted", "judge_mode": "fallback", "judge_max_thinking_tokens": 8}),
                  backend=ScriptedBackend("checking </think> YES"))
    unit = {"question_index": 0, "sample": 0, "budget": 4, "question": "What is 2+2?", "gold": "4"}
    rows = [
        # The rules call it wrong, the judge right; its correct was set to False by hand.
        {**unit, "text": "four, I think", "extracted_answer": None, "grading_timed_out": False, "correct": False,
         "rule_correct": False, "judged": True, "judge_verdict": True, "judge_reply": "YES"},
        # Saved as right by the rules (so never judged), but its output gives 5.
        {**unit, "sample": 1, "text": "\\boxed{5}", "extracted_answer": "4", "grading_timed_out": False, "correct": True,
         "rule_correct": True, "judged": False, "judge_verdict": None, "judge_reply": None},
        {**unit, "sample": 2, "text": "\\boxed{4}", "extracted_answer": "4", "grading_timed_out": False, "correct": True,
         "rule_correct": True, "judged": False, "judge_verdict": None, "judge_reply": None},
    ]
    changed = grade_again(rows, "integer", judge, "here")
    assert [r["sample"] for r in changed] == [0, 1]
    assert judge.calls == 1  # only the row whose rules' verdict changed
    assert [(r["correct"], r["rule_correct"], r["judged"], r["extracted_answer"]) for r in rows] == [
        (True, False, True, None), (True, False, True, "5"), (True, True, False, "4")]
    assert "here: 2 kept row(s) held a verdict" in capsys.readouterr().err


def test_a_row_carries_the_results_the_generation_marks_and_the_schema_types_them():
    """make_row copies the Generation fields marked as row fields; the file schema knows each one."""
    import dataclasses

    from s1kit.budget.result import Generation
    from s1kit.runs.schema import ROW

    marked = {f.name for f in dataclasses.fields(Generation) if f.metadata.get("s1kit.row")}
    assert {"thinking", "answer", "thinking_tokens", "forced_spans", "seed"} <= marked
    assert marked <= set(ROW)
