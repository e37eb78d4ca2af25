"""`s1kit compare`'s table from hand-made metrics: the Table 3 columns and the two numbers that set
each curve against budget forcing (tokens to match its best accuracy, accuracy at its natural length);
probe-exit's curves over thinking alone left out of the table, the plot and the page; and the page
showing the table's numbers."""

from __future__ import annotations

import json

import pytest

from s1kit.eval.compare import markdown
from s1kit.runs.directory import read_metrics, table_rows


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


# probe-exit: its curve over thinking and probe tokens (what its runs spent) and the same points over
# thinking alone, which reaches 0.5 sooner than it honestly does.
PROBE = run("probe-exit", [curve("probe-exit (agree)", [(1200, 0.3), (3000, 0.5)]),
                           curve("probe-exit (agree), thinking tokens only", [(800, 0.3), (2000, 0.5)], kind="thinking-only")])


def test_curves_over_thinking_alone_are_left_out_of_the_table():
    # 0.5 first at 3000; at BF's 2500: 0.3 + 1300 / 1800 * 0.2
    assert numbers([("bf", BF), ("probe", PROBE)])[2:] == [
        ("probe", "probe-exit (agree)", "bf", 3000.0, pytest.approx(0.3 + 0.2 * 1300 / 1800))]
    # The viewer lists them (a run's report), with nothing set against budget forcing.
    listed = table_rows([("bf", BF), ("probe", PROBE)], every_kind=True)
    assert [(r["curve"], r["kind"], r["compared_with"], r["tokens_to_match"]) for r in listed[2:]] == [
        ("probe-exit (agree)", "sequential", "bf", 3000.0),
        ("probe-exit (agree), thinking tokens only", "thinking-only", None, None)]
    text = markdown([("bf", BF), ("probe", PROBE)])
    assert "thinking tokens only |" not in text
    assert "Left out: probe: probe-exit (agree), thinking tokens only (over thinking tokens alone" in text
    assert "Left out" not in markdown([("bf", BF)])


def drawn_axes(monkeypatch) -> list:
    """The axes plots.plot_runs draws on, once it has drawn (the figure is closed, its axes stay)."""
    from s1kit.eval import plots

    drawn = []
    subplots = plots.pyplot().subplots

    def spying(*args, **kwargs):
        fig, ax = subplots(*args, **kwargs)
        drawn.append(ax)
        return fig, ax

    monkeypatch.setattr(plots.pyplot(), "subplots", spying)
    return drawn


def page_data(path):
    page = path.read_text(encoding="utf-8")
    return json.loads(page.split('type="application/json">')[1].split("</script>")[0])


def md_rows(text: str) -> list[list[str]]:
    body = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| run ")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in body]


def test_compare_writes_the_same_rows_to_its_table_and_its_page_and_plots_no_curve_over_thinking_alone(tmp_path,
                                                                                                        monkeypatch):
    pytest.importorskip("math_verify", reason="metrics of synthetic runs need the [math] extra")
    from s1kit.eval import compare
    from view_runs import nano_like_questions, synthetic_run

    questions = nano_like_questions(12)
    dirs = [synthetic_run(tmp_path / "probe", questions, method="probe-exit", budgets=[64], probe_every=8,
                          probe_agree=[1, 2, 3], probe_confidence=[0.8]),
            synthetic_run(tmp_path / "bf", questions, budgets=[16, 32, 64, 128]),
            synthetic_run(tmp_path / "majority", questions, method="majority", samples=3)]
    drawn = drawn_axes(monkeypatch)
    text, _, _ = compare.main(dirs, tmp_path / "compare.png")
    data = page_data(tmp_path / "compare.html")
    metrics = read_metrics(dirs)
    # Every run set against the first budget-forcing run, though it is listed second.
    assert data["table"] == table_rows(metrics)
    assert {r["compared_with"] for r in data["table"]} == {"bf"}
    assert any(r["tokens_to_match"] is not None for r in data["table"] if r["run"] != "bf")
    shown = md_rows(text)
    assert len(shown) == len(data["table"]) == sum(c["kind"] != "thinking-only" for _, m in metrics for c in m["curves"])
    for cells, row in zip(shown, data["table"]):
        tokens = "never" if row["tokens_to_match"] is None else f"{row['tokens_to_match']:.0f}"
        accuracy = "-" if row["accuracy_at_bf_length"] is None else f"{100 * row['accuracy_at_bf_length']:.1f}"
        assert cells[0] == row["run"] and cells[2] == row["curve"] and cells[-2:] == [tokens, accuracy]
    # Over thinking alone: in metrics.json, nowhere in the comparison but named as left out.
    alone = [c["label"] for c in metrics[0][1]["curves"] if c["kind"] == "thinking-only"]
    assert len(alone) == 2
    assert all(r["kind"] != "thinking-only" for r in data["table"])
    assert [c["kind"] for run in data["runs"] for c in run["curves"]].count("thinking-only") == 0
    assert data["left_out"] == [f"probe: {label}" for label in alone] and data["compare"] is True
    [ax] = drawn
    labels = ax.get_legend_handles_labels()[1]
    assert len(labels) == len(data["table"]) and not any("thinking tokens only" in label for label in labels)


def test_a_runs_plot_draws_its_curve_over_thinking_alone_dotted_in_its_twins_colour(tmp_path, monkeypatch):
    from s1kit.eval import plots

    drawn = drawn_axes(monkeypatch)
    def rule(label, xy, labels, kind="sequential"):
        return {**curve(label, xy, kind), "series": [{"x": x, "accuracy": y, "stderr": 0.0, "label": name}
                                                     for (x, y), name in zip(xy, labels)]}

    # The same points ("agree 2", "agree 3") over thinking + probe tokens and over thinking alone.
    two_rules = run("probe-exit", [rule("agree", [(1200, 0.3), (3000, 0.5)], ["agree 2", "agree 3"]),
                                   rule("confidence", [(900, 0.2)], ["confidence 0.9"]),
                                   rule("agree, thinking only", [(800, 0.3), (2000, 0.5)], ["agree 2", "agree 3"],
                                        kind="thinking-only")],
                    [point(None, 0, 0.3, 800) | {"avg_thinking_and_probe_tokens": 1200}])
    plots.plot_runs([("probe", two_rules)], tmp_path / "scaling.png")
    [ax] = drawn
    lines = {container.get_label(): container.lines[0] for container in ax.containers}
    honest, other, alone = (lines[f"probe: {label}"] for label in ("agree", "confidence", "agree, thinking only"))
    assert (honest.get_linestyle(), other.get_linestyle(), alone.get_linestyle()) == ("-", "-", ":")
    assert alone.get_color() == honest.get_color() != other.get_color()
    assert "probe-exit: thinking + probe tokens; dotted: thinking alone" in ax.get_xlabel()
