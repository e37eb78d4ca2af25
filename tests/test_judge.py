"""The optional LLM judge: verdict parsing, prompts, modes on a scripted judge, and SmolLM2 end to end."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from s1kit.backends.scripted import ScriptedBackend
from s1kit.cli import app
from s1kit.errors import S1kitError
from s1kit.grading.judge import (
    Judge,
    JudgeConfig,
    judge_counts,
    judge_prompt,
    judged_part,
    load_template,
    parse_verdict,
)
from s1kit.recipes import build


@pytest.mark.parametrize(
    "reply, verdict",
    [
        ("YES", True), ("Verdict: no", False), (" Yes, they match.", True), ("NO. The answer is yes elsewhere", False),
        ("maybe", None), ("", None), ("yesterday nobody", None), ("**YES**", True),
    ],
)
def test_parse_verdict(reply, verdict):
    assert parse_verdict(reply) is verdict


def test_prompt_keeps_latex_braces_and_shows_the_answer_section():
    template = load_template(None)
    prompt = judge_prompt(template, "Find {x}.", "\\frac{1}{2}", "<think>long {thinking}</think>So \\boxed{0.5}")
    assert "Find {x}." in prompt and "\\frac{1}{2}" in prompt and "So \\boxed{0.5}" in prompt
    assert "long {thinking}" not in prompt  # only the answer section


def test_a_response_without_an_answer_section_is_shown_by_its_end():
    text = "a" * 5000 + " the answer is 7"
    part = judged_part(text)
    assert part.endswith("the answer is 7") and len(part) == 2003


def test_bad_judge_settings_are_named(tmp_path):
    with pytest.raises(S1kitError, match="unknown judge mode 'sometimes'; choose from fallback, always"):
        JudgeConfig(model="m", mode="sometimes")
    with pytest.raises(S1kitError, match="unknown judge backend 'tgi'"):
        JudgeConfig(model="m", backend="tgi")
    with pytest.raises(S1kitError, match="does not exist"):
        JudgeConfig(model="m", template=str(tmp_path / "nope.txt"))
    bad = tmp_path / "t.txt"
    bad.write_text("Is {response} right?")
    with pytest.raises(S1kitError, match=r"lacks \{question\}, \{gold\}"):
        JudgeConfig(model="m", template=str(bad))


def rows():
    return [
        {"question": "1+1?", "gold": "2", "text": "</think>2", "correct": True},
        {"question": "2+2?", "gold": "4", "text": "</think>four", "correct": False},
        {"question": "3+3?", "gold": "6", "text": "</think>half a dozen", "correct": False},
    ]


def scripted_judge(reply: str, mode: str) -> Judge:
    return Judge(build(JudgeConfig, {"judge": "scripted", "judge_mode": mode, "judge_max_thinking_tokens": 8}),
                 backend=ScriptedBackend(f"checking </think> {reply}"))


def test_fallback_asks_only_about_rows_the_rules_call_wrong():
    judge, graded = scripted_judge("YES", "fallback"), rows()
    judge.apply(graded)
    assert judge.calls == 2 and len(judge.backend.calls) == 2
    assert [r["correct"] for r in graded] == [True, True, True]
    assert [r["rule_correct"] for r in graded] == [True, False, False]
    assert [r["judged"] for r in graded] == [False, True, True]
    assert [r["judge_verdict"] for r in graded] == [None, True, True]
    assert judge_counts(graded) == {"judged": 2, "overturned": 2, "unreadable": 0}
    prompts = [judge.backend.tokenizer.decode(ids) for ids in judge.backend.calls]
    assert "2+2?" in prompts[0] and "four" in prompts[0] and "3+3?" in prompts[1]


def test_always_lets_the_judge_overrule_and_keeps_the_rules_where_it_is_unreadable():
    judge, graded = scripted_judge("NO", "always"), rows()
    judge.apply(graded)
    assert judge.calls == 3 and [r["correct"] for r in graded] == [False, False, False]
    assert judge_counts(graded) == {"judged": 3, "overturned": 1, "unreadable": 0}
    judge, graded = scripted_judge("perhaps", "always"), rows()
    judge.apply(graded)
    assert [r["correct"] for r in graded] == [True, False, False]
    assert judge_counts(graded) == {"judged": 3, "overturned": 0, "unreadable": 3}
    assert all(r["judge_reply"].endswith("perhaps") for r in graded)


runner = CliRunner()


def test_grade_with_a_smollm2_judge(tmp_path, smollm2_dir):
    path = tmp_path / "outputs.jsonl"
    path.write_text('{"question": "What is 1+1?", "response": "<think>so</think> 2", "answer": "2"}\n'
                    '{"question": "What is 2+2?", "response": "<think>hm</think> four", "answer": "4"}\n')
    result = runner.invoke(app, ["grade", str(path), "--kind", "integer", "--judge", "smollm2-135m",
                                 "--judge-mode", "always", "--judge-max-thinking-tokens", "8", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    graded = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["rule_correct"] for r in graded] == [True, False]
    assert all(r["judged"] and isinstance(r["judge_reply"], str) for r in graded)
    for r in graded:  # the combined verdict follows the judge where it was readable
        assert r["correct"] == (r["rule_correct"] if r["judge_verdict"] is None else r["judge_verdict"])
    counts = judge_counts(graded)
    assert f"{sum(r['correct'] for r in graded)}/2 correct" in result.output
    assert f"judge saw 2 rows, overturned {counts['overturned']}, unreadable {counts['unreadable']}" in result.output
