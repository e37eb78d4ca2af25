"""`s1kit compare`'s table from hand-made metrics: the Table 3 columns and the two numbers that set
each curve against budget forcing (tokens to match its best accuracy, accuracy at its natural length)."""

from __future__ import annotations

import pytest

from s1kit.eval.compare import markdown
from s1kit.runs.directory import table_rows


def point(budget, num_ignore, accuracy, tokens):
    label = ("no budget" if budget is None else str(budget)) + (f", {num_ignore} ign." if num_ignore else "")
    return {"budget": budget, "num_ignore": num_ignore, "variant": None, "label": label, "accuracy": accuracy,
            "avg_thinking_tokens": tokens}


def curve(label, xy, kind="sequential", control=1.0):
    series = [{"x": x, "accuracy": y, "stderr": 0.0, "label": str(x)} for x, y in xy]
    return {"label": label, "kind": kind, "series": series, "control": control, "scaling": None,
            "performance": max(y for _, y in xy)}


def run(method, curves, points=(), task="aime24", model="m"):
    return {"task": task, "model": model, "method": method, "points": list(points), "curves": curves}


# Budget forcing: its main curve's best accuracy is 0.5, its uncapped point without ignores (its
# natural length) thinks 2500 tokens; a second curve (2 ignores) goes further, to 4000 and 0.6.
BF = run("budget-forcing",
         [curve("budget-forcing, 0 ignores", [(900, 0.2), (1800, 0.4), (2500, 0.5)]),
          curve("budget-forcing, 2 ignores", [(4000, 0.6), (4200, 0.6)])],
         [point(1000, 0, 0.2, 900), point(2000, 0, 0.4, 1800), point(None, 0, 0.5, 2500),
          point(None, 2, 0.6, 4000), point(1000, 2, 0.6, 4200)])
MAJORITY = run("majority", [curve("majority", [(1000, 0.3), (2000, 0.45), (4000, 0.55)], kind="parallel")])
SHORT = run("token-conditional", [curve("token-conditional", [(500, 0.1), (1500, 0.3)])])


def numbers(runs):
    return [(r["run"], r["curve"], r["compared_with"], r["tokens_to_match"], r["accuracy_at_bf_length"])
            for r in table_rows(runs)]


def test_each_curve_is_set_against_budget_forcing_on_the_same_task_and_model():
    rows = numbers([("bf", BF), ("maj", MAJORITY), ("tcc", SHORT)])
    assert rows == [
        ("bf", "budget-forcing, 0 ignores", "bf", 2500.0, 0.5),  # its own best, at its own length
        ("bf", "budget-forcing, 2 ignores", "bf", 4000.0, None),  # 0.6 >= 0.5 from its first point; 2500 is left of it
        # 0.5 between (2000, 0.45) and (4000, 0.55): 2000 + 0.05 / 0.1 * 2000; at 2500: 0.45 + 500 / 2000 * 0.1
        ("maj", "majority", "bf", pytest.approx(3000.0), pytest.approx(0.475)),
        ("tcc", "token-conditional", "bf", None, None),  # never at 0.5; 2500 is past its last point
    ]


def test_without_an_uncapped_point_the_natural_length_is_the_main_curves_longest_point():
    capped = run("budget-forcing", [curve("budget-forcing, 0 ignores", [(900, 0.2), (1800, 0.4)]),
                                    curve("budget-forcing, 2 ignores", [(3000, 0.5), (3100, 0.5)])],
                 [point(1000, 0, 0.2, 900), point(2000, 0, 0.4, 1800), point(2000, 2, 0.5, 3000),
                  point(3000, 2, 0.5, 3100)])
    rows = numbers([("maj", MAJORITY), ("capped", capped)])  # 1800, not the Waits' 3100
    # best 0.4: 1000 + 0.1 / 0.15 * 1000; at 1800: 0.3 + 800 / 1000 * 0.15
    assert rows[0] == ("maj", "majority", "capped", pytest.approx(1000 + 1000 * 0.1 / 0.15), pytest.approx(0.42))


def test_runs_without_budget_forcing_on_their_task_and_model_have_nothing_to_compare_with():
    other_task = run("majority", MAJORITY["curves"], task="math500")
    other_model = run("majority", MAJORITY["curves"], model="m2")
    rows = numbers([("maj", MAJORITY), ("t", other_task), ("m", other_model), ("bf", BF)])
    assert [r[2:] for r in rows[1:3]] == [(None, None, None)] * 2
    assert [r[2] for r in rows] == ["bf", None, None, "bf", "bf"]  # listed before or after, the same
    assert [r[2:] for r in numbers([("maj", MAJORITY), ("tcc", SHORT)])] == [(None, None, None)] * 2


def test_the_first_budget_forcing_run_listed_is_the_one_compared_with():
    later = run("budget-forcing", [curve("budget-forcing", [(100, 0.9), (200, 1.0)])], [point(None, 0, 1.0, 200)])
    rows = numbers([("maj", MAJORITY), ("bf", BF), ("later", later)])
    assert [r[2] for r in rows] == ["bf"] * 4
    assert rows[-1] == ("later", "budget-forcing", "bf", 100.0, None)  # above 0.5 from its first point


def test_the_table_shows_the_two_numbers_and_defines_them():
    lines = markdown([("bf", BF), ("maj", MAJORITY), ("tcc", SHORT), ("t", run("majority", SHORT["curves"], task="x"))])
    lines = lines.splitlines()
    assert "| run | method | curve | kind | Control (%) | Scaling | Performance (%) | \\|A\\| | tokens to match | " \
           "acc. at BF natural length (%) |" in lines
    body = [line for line in lines if line.startswith("| ") and not line.startswith("| run ")]
    assert [line.rsplit("|", 3)[1:3] for line in body] == [
        [" 2500 ", " 50.0 "], [" 4000 ", " - "], [" 3000 ", " 47.5 "], [" never ", " - "], [" - ", " - "]]
    legend = next(line for line in lines if line.startswith("Control:"))
    assert "tokens to match: the fewest average thinking tokens at which the curve reaches the best accuracy of " \
           "the main curve of the first budget-forcing run (BF) on its task and model" in legend
    assert "acc. at BF natural length: the curve's accuracy (%) at BF's thinking tokens with no cap and no " \
           "ignores" in legend


def test_the_table_has_the_columns_without_a_budget_forcing_run():
    text = markdown([("maj", MAJORITY)])
    assert text.splitlines()[-1].endswith("| 3 | - | - |")
