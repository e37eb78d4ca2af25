"""The model-facing curation stages as pure functions: difficulty, domains, benchmark picks, and
the recipe loader. The pipeline tests (test_curate_pipeline.py) run them together."""

from __future__ import annotations

import pytest

from s1kit.curate.benchmark import benchmark_picks, needs_teacher_grade
from s1kit.curate.classify import UNKNOWN, assign_domains, classify_prompt, domain_counts, unlabeled
from s1kit.curate.config import BenchmarkConfig, CurateConfig, ModelCallConfig
from s1kit.curate.difficulty import difficulty, gold_answer, rule_verdicts, trace_text
from s1kit.errors import S1kitError
from s1kit.recipes import build, load_yaml, merge


@pytest.mark.parametrize("solution, gold", [
    (r"So the sum is $\boxed{\frac{1}{2}}$.", r"\frac{1}{2}"),
    (r"First \boxed{3}, then \boxed{5}", "5"),
    ("204", "204"),
    ("  B  ", "B"),
    ("x" * 65, None),  # a long worked solution without \boxed: no readable answer
    ("", None),
    (None, None),
    (["not", "text"], None),
])
def test_gold_answer(solution, gold):
    assert gold_answer(solution) == gold


@pytest.mark.parametrize("value, text", [
    (["first", "second"], "first\n\nsecond"),
    ("one trace", "one trace"),
    ([], None),
    ("   ", None),
    (None, None),
])
def test_trace_text(value, text):
    assert trace_text({"thinking_trajectories": value}) == text


def test_rule_verdicts_grade_against_the_solutions_answer():
    records = [{"solution": r"Thus $\boxed{4}$."}, {"solution": r"\boxed{4}"}, {"solution": "y" * 100},
               {"solution": "17"}]
    responses = [r"think</think>\boxed{4}", r"think</think>\boxed{5}", r"think</think>\boxed{4}", None]
    assert rule_verdicts(records, responses, "math") == [True, False, False, False]


def test_difficulty_drops_what_any_solver_solves_and_names_the_first():
    records = [{"q": i, "trace_tokens": 10 * i} for i in range(4)]
    result = difficulty(records, {"small": [True, False, False, True], "big": [True, True, False, False]})
    assert [r["q"] for r in result.kept] == [2]
    assert [(r["q"], reason) for r, reason in result.dropped] == [
        (0, "solved by small"), (1, "solved by big"), (3, "solved by small")]
    assert records[0]["difficulty"] == {"solvers": ["small", "big"], "solved_by": ["small", "big"], "trace_tokens": 0}
    assert records[2]["difficulty"]["solved_by"] == []
    assert result.counts()["reasons"] == {"solved by big": 1, "solved by small": 2}


def test_difficulty_without_solvers_keeps_all_and_rejects_misaligned_verdicts():
    records = [{"q": 0}, {"q": 1}]
    assert len(difficulty(records, {}).kept) == 2
    with pytest.raises(S1kitError, match="1 verdicts for 2 records"):
        difficulty(records, {"small": [True]})


def test_assign_domains_counts_unknown_and_failed_calls():
    records = [{"question": str(i)} for i in range(4)]
    counts = assign_domains(records, ["Final Answer: 11", "**05** Combinatorics", "I am not sure", None])
    assert [r["domain"] for r in records] == ["11", "05", UNKNOWN, UNKNOWN]
    assert counts == {"asked": 4, "classified": 2, "unknown": 1, "failed": 1}
    assert domain_counts(records) == {"unknown": 2, "05": 1, "11": 1}


def test_unlabeled_and_the_classifier_prompt_keep_latex():
    assert unlabeled([{"domain": "11"}, {"domain": " "}, {}, {"domain": None}]) == [{"domain": " "}, {}, {"domain": None}]
    prompt = classify_prompt(r"Find $\frac{a}{b}$ {when} a=1.")
    assert r"Find $\frac{a}{b}$ {when} a=1." in prompt
    assert "11 Number theory" in prompt and "97 Mathematics education" in prompt and "{classes}" not in prompt


def test_benchmark_picks_follow_s1s_rules():
    config = BenchmarkConfig(long_min_tokens=100)
    records = [
        {"source_type": "qq8933/AIME_1983_2024", "trace_tokens": 10},      # correct attempt: picked
        {"source_type": "qq8933/AIME_1983_2024", "trace_tokens": 9999},    # wrong attempt: not picked
        {"source_type": "Idavidrein/GPQA", "trace_tokens": 10},            # correct (case-insensitive source)
        {"source_type": "qfq/openaimath/Algebra", "trace_tokens": 101},    # long MATH, correct: picked
        {"source_type": "qfq/openaimath/Algebra", "trace_tokens": 102},    # long MATH, wrong attempt
        {"source_type": "qfq/openaimath/Algebra", "trace_tokens": 100},    # not over the threshold
        {"source_type": "AI-MO/NuminaMath-CoT/olympiads", "trace_tokens": 9999},
    ]
    graded = needs_teacher_grade(records, config)
    assert graded == records[:5]
    correct = {id(records[0]): True, id(records[1]): False, id(records[2]): True, id(records[3]): True,
               id(records[4]): False}
    picks, reasons = benchmark_picks(records, config, correct)
    assert picks == [records[0], records[2], records[3]]
    assert reasons == {"qq8933/AIME_1983_2024": 1, "Idavidrein/gpqa": 1, "long qfq/openaimath": 1}
    assert records[3]["pick"] == "benchmark-quality: long qfq/openaimath" and "pick" not in records[4]


def test_recipe_builds_nested_configs_and_rejects_unknown_keys(tmp_path):
    config = build(CurateConfig, {"size": 5, "solvers": [{"model": "a"}, {"model": "b", "max_thinking_tokens": 64}],
                                  "classifier": {"model": "c"}, "quality": {"drop_asy": False}})
    assert [s.model for s in config.solvers] == ["a", "b"] and isinstance(config.solvers[1], ModelCallConfig)
    assert config.solvers[1].budget.max_thinking_tokens == 64 and config.classifier.model == "c"
    assert config.quality.drop_asy is False
    with pytest.raises(S1kitError, match=r"recipe.solvers\[1\]: unknown key 'max_thinking'; did you mean 'max_thinking_tokens'\? ModelCallConfig takes model"):
        build(CurateConfig, {"solvers": [{"model": "a"}, {"model": "b", "max_thinking": 64}]})
    with pytest.raises(S1kitError, match=r"recipe: unknown key 'sise'"):
        build(CurateConfig, {"sise": 5})
    with pytest.raises(S1kitError, match="recipe.quality: unknown key 'drop_asyy'"):
        build(CurateConfig, {"quality": {"drop_asyy": True}})
    with pytest.raises(S1kitError, match="unknown selection 'best'; choose from s1k, diverse, longest, random"):
        build(CurateConfig, {"select": "best"})
    with pytest.raises(S1kitError, match="unknown backend 'tgi'"):
        build(CurateConfig, {"solvers": [{"model": "a", "backend": "tgi"}]})
    with pytest.raises(S1kitError, match=r"solvers\[0\].backend_options: unknown key 'base'; did you mean 'base_url'\?"):
        build(CurateConfig, {"solvers": [{"model": "a", "backend_options": {"base": "x"}}]})
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    with pytest.raises(S1kitError, match="must be a mapping"):
        load_yaml(bad)
    with pytest.raises(S1kitError, match="does not exist"):
        load_yaml(tmp_path / "missing.yaml")
    assert merge({"a": {"b": 1, "c": 2}, "d": 1}, {"a": {"b": 3}}) == {"a": {"b": 3, "c": 2}, "d": 1}


@pytest.mark.parametrize("name", ["s1k.yaml", "tiny-cpu.yaml"])
def test_shipped_recipes_build(name):
    from pathlib import Path

    recipe = Path(__file__).resolve().parents[1] / "recipes" / "curate" / name
    config = build(CurateConfig, load_yaml(recipe), name)
    assert config.solvers and config.classifier is not None and config.select == "s1k"


def test_classifier_codes_and_template(tmp_path):
    prompt = classify_prompt("Q?", codes=["05", "11"])
    assert "05 Combinatorics\n11 Number theory\n" in prompt and "26 " not in prompt
    with pytest.raises(S1kitError, match=r"classifier_codes \['5', '99'\] are not MSC2020"):
        CurateConfig(classifier_codes=["5", "99", "11"])
    with pytest.raises(S1kitError, match="classifier_codes \\[\\] are not"):
        CurateConfig(classifier_codes=[])
    template = tmp_path / "t.txt"
    template.write_text("Domain of: {question}")
    assert CurateConfig(classifier_template=str(template)).classifier_template == str(template)
    assert classify_prompt("Q?", template.read_text()) == "Domain of: Q?"
    template.write_text("no placeholder")
    with pytest.raises(S1kitError, match="lacks \\{question\\}"):
        CurateConfig(classifier_template=str(template))
    with pytest.raises(S1kitError, match="does not exist"):
        CurateConfig(classifier_template=str(tmp_path / "none.txt"))
