"""The baselines' mechanics on the scripted backend: prompts, caps, tries, votes, picks."""

from __future__ import annotations

import pytest

from s1kit.backends.scripted import ScriptedBackend
from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.errors import S1kitError
from s1kit.methods.conditional import LONG, SHORT, class_control
from s1kit.methods.parallel import parallel_points, sample_counts
from s1kit.methods.point_run import run_grouped
from s1kit.methods.points import method_points
from s1kit.methods.rejection import run_rejection


@pytest.mark.parametrize(
    "method, budgets, ignores, expected",
    [
        ("budget-forcing", [8, 16], [0, 1], [(8, 8, 0, ""), (8, 8, 1, ""), (16, 16, 0, ""), (16, 16, 1, "")]),
        ("budget-forcing", None, [0], [(None, None, 0, "")]),
        ("token-conditional", [512, 1024], [0], [(512, None, 0, "Think for up to 512 tokens."),
                                                 (1024, None, 0, "Think for up to 1024 tokens.")]),
        ("token-conditional+bf", [512], [0, 2], [(512, 512, 0, "Think for up to 512 tokens."),
                                                 (512, 512, 2, "Think for up to 512 tokens.")]),
        ("step-conditional", [250, 1600], [0], [(200, None, 0, "Think for up to 2 steps."),
                                                (1600, None, 0, "Think for up to 16 steps.")]),
        ("step-conditional+bf", [100], [0], [(100, 100, 0, "Think for up to 1 step.")]),
        ("rejection", [64, 32], [0], [(64, None, 0, ""), (32, None, 0, "")]),
        ("majority", [256], [0], [(256, 256, 0, "")]),
        ("best-of-n", None, [0], [(None, None, 0, "")]),
    ],
)
def test_method_points(method, budgets, ignores, expected):
    points = method_points(method, budgets, ignores, tokens_per_step=100)
    assert [(p.budget, p.cap, p.num_ignore, p.instruction) for p in points] == expected


def test_class_conditional_points_use_the_s1_instructions():
    points = method_points("class-conditional", None, [0], 100)
    assert [(p.variant, p.instruction, p.cap, p.budget) for p in points] == [
        ("default", "", None, None), ("short", SHORT, None, None), ("long", LONG, None, None)]
    assert SHORT.startswith("Answer after a short amount of thinking.")


@pytest.mark.parametrize(
    "method, budgets, ignores, fragment",
    [
        ("token-conditional", None, [0], "token-conditional needs budgets to aim at"),
        ("token-conditional", [512], [1], "drop it, or use token-conditional+bf"),
        ("class-conditional", [512], [0], "class-conditional states no budget"),
        ("rejection", [512], [2], "rejection does not force; drop it"),
        ("majority", [256, 512], [0], "majority scales over samples, not budgets"),
        ("step-conditional", [64], [0], "budget 64 is less than one step of 100 tokens"),
        ("step-conditional", [150, 199], [0], "give the same number of steps"),
    ],
)
def test_method_settings_it_cannot_use_are_named(method, budgets, ignores, fragment):
    with pytest.raises(S1kitError, match=fragment.replace("+", r"\+")):
        method_points(method, budgets, ignores, 100)


def test_eval_config_method_checks(tmp_path):
    from s1kit.eval.config import eval_config

    assert eval_config(task="aime24", method="rejection", budgets=[64]).sampling.temperature == 1.0
    assert eval_config(task="aime24", method="token-conditional", budgets=[64]).sampling.temperature == 0.0
    cases = [
        (dict(method="tree-of-thought"), "unknown method 'tree-of-thought'; choose from budget-forcing"),
        (dict(method="rejection", budgets=[64], temperature=0.0), "rejection needs samples"),
        (dict(method="majority", samples=1), "pass --samples K with K >= 2"),
        (dict(method="token-conditional", budgets=[64], min_thinking_tokens=8), "token-conditional does not force"),
        (dict(method="best-of-n", samples=4, scorer="nope"), "unknown scorer 'nope'; choose from shortest, longest"),
        (dict(method="best-of-n", samples=4, scorer="no_such_module_xyz:f"), "cannot import no_such_module_xyz"),
        (dict(method="rejection", budgets=[64], max_tries=0), "max_tries must be a positive integer"),
    ]
    for options, fragment in cases:
        with pytest.raises(S1kitError, match=fragment):
            eval_config(task="aime24", **options)


WORDS = " ".join(f"w{i}" for i in range(40))


def prompts_seen(backend) -> list[str]:
    return [backend.tokenizer.decode(ids) for ids in backend.calls]


def test_conditional_prompts_are_rendered_and_only_bf_caps():
    base, sampling = BudgetConfig(max_answer_tokens=4), SamplingConfig()
    script = f"{WORDS} </think> 7"
    for method, capped in (("token-conditional", False), ("token-conditional+bf", True)):
        backend = ScriptedBackend(script)
        points = method_points(method, [8, 16], [0], 100)
        runs = run_grouped(backend, ["What is 3+4?"], points, base, sampling, [0], "think-tags", None, 4)
        seen = prompts_seen(backend)
        assert any(p.count("What is 3+4?\n\nThink for up to 8 tokens.") == 1 for p in seen)
        assert any("Think for up to 16 tokens." in p for p in seen)
        for run in runs:
            [g] = run.generations
            assert (g.thinking_tokens == run.point.budget) if capped else (g.thinking_tokens == 41)  # 40 words and a space
            assert g.forced_end is capped


def test_class_conditional_runs_three_prompts_and_its_control():
    backend = ScriptedBackend("a b </think> 1")
    runs = run_grouped(backend, ["Q?"], method_points("class-conditional", None, [0], 100), BudgetConfig(max_answer_tokens=2),
                       SamplingConfig(), [0], "think-tags", None, 4)
    assert [r.point.variant for r in runs] == ["default", "short", "long"]
    seen = prompts_seen(backend)
    assert sum(SHORT in p for p in seen) == 1 and sum(LONG in p for p in seen) == 1 and len(seen) == 3
    def points(default, short, long):
        return [{"variant": "default", "avg_thinking_tokens": default}, {"variant": "short", "avg_thinking_tokens": short},
                {"variant": "long", "avg_thinking_tokens": long}]
    # s1 Table 13: short 8033, long 9651, default 6109 -> only long on its side: 50%.
    assert class_control(points(6109, 8033, 9651)) == 0.5
    assert class_control(points(100, 50, 200)) == 1.0
    assert class_control(points(100, 150, 90)) == 0.0
    assert class_control(points(100, 100, 100)) == 0.0  # equal is not on the instructed side


class TryScripted(ScriptedBackend):
    """Plays script number t on try t: the try is the seed's offset from its unit's base seed."""

    def run(self, prompt_ids, states, sampling, seeds, batch_size=16, progress=True):
        for ids, state, seed in zip(prompt_ids, states, seeds):
            scripted = ScriptedBackend(self.scripts[(seed % 1_000_003) % len(self.scripts)], self.tokenizer)
            scripted.run([ids], [state], sampling, [seed])
            self.calls.append(list(ids))


def words(n: int) -> str:
    return " ".join(f"t{i}" for i in range(n))


def test_rejection_takes_the_first_try_that_fits_each_budget_from_one_stream():
    backend = TryScripted([f"{words(30)}</think> 1", f"{words(10)}</think> 2", f"{words(3)}</think> 3"])
    points = method_points("rejection", [5, 20], [0], 100)
    base, sampling = BudgetConfig(max_answer_tokens=3), SamplingConfig(temperature=1.0)
    runs = run_rejection(backend, ["Q?"], points, base, sampling, [0], "think-tags", None, 4, max_tries=8)
    by_budget = {r.point.budget: r for r in runs}
    assert len(backend.calls) == 3  # tries stop once every budget has its sample
    assert by_budget[20].extras == [{"tries": 2, "accepted": True}]
    assert by_budget[5].extras == [{"tries": 3, "accepted": True}]
    assert by_budget[20].generations[0].thinking_tokens == 10 and by_budget[5].generations[0].thinking_tokens == 3
    first = by_budget[5].generations[0]
    assert not first.forced_end and "3" in first.answer
    # The first try was cut at the largest budget + 1: thinking further could not fit any budget.
    assert sum(by_budget[5].decoded) + sum(by_budget[20].decoded) > 21 + 10 + 3


def test_rejection_gives_up_after_max_tries_and_says_so():
    backend = TryScripted([f"{words(30)}</think> 1", f"{words(10)}</think> 2"])
    runs = run_rejection(backend, ["Q?"], method_points("rejection", [5, 20], [0], 100), BudgetConfig(max_answer_tokens=3),
                         SamplingConfig(temperature=1.0), [0], "think-tags", None, 4, max_tries=2)
    by_budget = {r.point.budget: r for r in runs}
    assert by_budget[5].extras == [{"tries": 2, "accepted": False}]
    assert by_budget[5].generations[0].thinking_tokens == 10  # the last try, over the budget
    assert by_budget[20].extras == [{"tries": 2, "accepted": True}]


def rows_of(answers_per_question, correct_per_question, thinking_per_question):
    rows = []
    for qi, (answers, correct, thinking) in enumerate(zip(answers_per_question, correct_per_question, thinking_per_question)):
        for s, (a, c, t) in enumerate(zip(answers, correct, thinking)):
            rows.append({"question_index": qi, "sample": s, "extracted_answer": a, "correct": c, "thinking_tokens": t,
                         "gold": "secret", "text": f"sample {s}"})
    return rows


def test_sample_counts():
    assert sample_counts(2) == [1, 2] and sample_counts(6) == [1, 2, 4, 6] and sample_counts(8) == [1, 2, 4, 8]


def test_majority_curve_over_k_with_total_thinking():
    rows = rows_of([["1", "2", "2", "2"], ["5", "5", "6", "6"]],
                   [[True, False, False, False], [True, True, False, False]],
                   [[10, 20, 30, 40], [1, 1, 1, 1]])
    entries = parallel_points("majority", rows, 4, seed=0)
    assert [e["k"] for e in entries] == [1, 2, 4]
    # k=1: both first samples right; k=4: q0 votes "2" (wrong); q1 ties 5/6, broken by the seed.
    assert entries[0]["accuracy"] == 1.0
    assert [e["avg_thinking_tokens"] for e in entries] == [(10 + 1) / 2, (30 + 2) / 2, (100 + 4) / 2]
    k4 = [parallel_points("majority", rows, 4, seed=s)[2]["accuracy"] for s in range(20)]
    assert set(k4) == {0.0, 0.5}  # q0 is always wrong; q1's tie goes either way across seeds
    assert parallel_points("majority", rows, 4, seed=3) == parallel_points("majority", rows, 4, seed=3)


def test_best_of_n_picks_by_the_scorer_which_never_sees_the_grade(monkeypatch):
    rows = rows_of([["1", "2", "3"]], [[False, True, False]], [[30, 5, 50]])
    assert [e["accuracy"] for e in parallel_points("best-of-n", rows, 3, 0, "shortest")] == [0.0, 1.0, 1.0]
    assert [e["accuracy"] for e in parallel_points("best-of-n", rows, 3, 0, "longest")] == [0.0, 0.0, 0.0]

    import sys
    import types

    seen = []
    module = types.ModuleType("my_scorers")
    module.peek = lambda row: seen.append(set(row)) or len(row["text"])
    monkeypatch.setitem(sys.modules, "my_scorers", module)
    parallel_points("best-of-n", rows, 3, 0, "my_scorers:peek")
    assert seen and all("gold" not in keys and "correct" not in keys and "text" in keys for keys in seen)


def test_an_incomplete_parallel_run_is_an_error():
    rows = rows_of([["1", "2"]], [[True, False]], [[1, 2]])
    with pytest.raises(S1kitError, match="needs 3 samples for every question"):
        parallel_points("majority", rows, 3, 0)


@pytest.mark.parametrize("function, message", [
    (lambda row: "high", r"scorer 'bad_scorers:f' returned 'high' for question 0; a scorer must return a finite number"),
    (lambda row: float("nan"), r"returned nan"),
    (lambda row: True, r"returned True"),
    (lambda row: row["no_such_field"], r"scorer 'bad_scorers:f' failed on question 0: KeyError"),
])
def test_a_broken_scorer_is_one_line_naming_it(monkeypatch, function, message):
    import sys
    import types

    module = types.ModuleType("bad_scorers")
    module.f = function
    monkeypatch.setitem(sys.modules, "bad_scorers", module)
    rows = rows_of([["1", "2"]], [[False, True]], [[30, 5]])
    with pytest.raises(S1kitError, match=message):
        parallel_points("best-of-n", rows, 2, 0, "bad_scorers:f")


def test_a_broken_scorer_stops_eval_after_the_first_chunk(tmp_path, monkeypatch):
    """Before the rest of the generation, not after it."""
    import json
    import sys
    import types

    pytest.importorskip("math_verify", reason="grading needs the [math] extra")
    from s1kit.backends.scripted import ScriptedBackend
    from s1kit.eval.config import eval_config
    from s1kit.eval.run import main

    module = types.ModuleType("bad_scorers")
    module.f = lambda row: None
    monkeypatch.setitem(sys.modules, "bad_scorers", module)
    task = tmp_path / "t.jsonl"
    task.write_text("".join(json.dumps({"id": i, "question": f"What is {i}+{i}?", "answer": str(2 * i)}) + "\n" for i in range(6)))
    backend = ScriptedBackend("so<|im_end|> 4<|im_end|>")
    config = eval_config(task=f"jsonl:{task}", id_field="id", method="best-of-n", samples=2, temperature=1.0,
                        scorer="bad_scorers:f", kind="integer", chunk_units=2, out=str(tmp_path / "run"))
    with pytest.raises(S1kitError, match=r"returned None"):
        main(config, backend=backend)
    assert len(backend.calls) <= 2 * 2  # one chunk of two units, not six questions
