"""Every method end to end on s1-nano (the bundled reasoning model, fast to load and run) with small
budgets, then `s1kit compare` over all of them."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from typer.testing import CliRunner

from s1kit.cli import app
from s1kit.methods import PARALLEL

pytest.importorskip("math_verify", reason="grading needs the [math] extra")

METHODS = {
    "budget-forcing": dict(budgets=[8, 32], num_ignore=[0, 1], min_thinking_tokens=4),
    "token-conditional": dict(budgets=[8, 32]),
    "token-conditional+bf": dict(budgets=[8, 32]),
    "step-conditional": dict(budgets=[16, 32], tokens_per_step=8),
    "step-conditional+bf": dict(budgets=[16, 32], tokens_per_step=8),
    "class-conditional": dict(),
    "rejection": dict(budgets=[4, 32], max_tries=3, seed=1),
    "majority": dict(budgets=[16], samples=4, seed=2),
    "best-of-n": dict(budgets=[16], samples=4, seed=2, scorer="shortest"),
    "deepconf": dict(budgets=[16], samples=4, seed=2, deepconf_warmup=2, deepconf_window=4),
    "esc": dict(budgets=[16], samples=4, seed=2, window=2),
    "adaptive-consistency": dict(budgets=[16], samples=4, seed=2),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, nano_backend):
    from s1kit.eval.config import eval_config
    from s1kit.eval.run import main

    root = tmp_path_factory.mktemp("methods")
    for method, options in METHODS.items():
        main(eval_config(task="nano", model="s1-nano", limit=2, max_answer_tokens=8, method=method,
                        out=str(root / method), **options), backend=nano_backend)
    return root


def load(root, method):
    out = root / method
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    return rows, json.loads((out / "metrics.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("method", list(METHODS))
def test_each_method_writes_files_consistent_with_its_samples(runs, method):
    from s1kit.eval.config import eval_config

    rows, metrics = load(runs, method)
    config = eval_config(task="nano", method=method, **METHODS[method])
    points = config.points()
    assert len(rows) == 2 * config.samples * len(points)
    assert {r["method"] for r in rows} == {method} and metrics["method"] == method
    by_point = defaultdict(list)
    for r in rows:
        by_point[(r["budget"], r["num_ignore"], r["variant"])].append(r)
    assert set(by_point) == {(p.budget, p.num_ignore, p.variant) for p in points}
    for point in metrics["points"]:
        mine = by_point[(point["budget"], point["num_ignore"], point["variant"])]
        assert point["avg_thinking_tokens"] == sum(r["thinking_tokens"] for r in mine) / len(mine)
        assert point["accuracy"] == pytest.approx(sum(r["correct"] for r in mine) / len(mine))
        for r in mine:
            if r["max_thinking_tokens"] is not None:
                assert r["thinking_tokens"] <= r["max_thinking_tokens"]
    for p in points:  # the prompt each point states
        mine = by_point[(p.budget, p.num_ignore, p.variant)]
        assert all(r["instruction"] == p.instruction for r in mine)
    if method == "rejection":
        for r in rows:
            assert 1 <= r["tries"] <= 3
            assert r["accepted"] == (not r["forced_end"] and r["thinking_tokens"] <= r["budget"])
    if method == "deepconf":  # the model's own confidences, recorded by the hf backend
        for r in rows:
            lows = [value for _, value in r["confidence"]["lows"]]
            assert 0 < r["confidence"]["lowest_group"] == lows[-1] and lows == sorted(lows, reverse=True)
    if method in PARALLEL:
        curve = metrics["curves"][-1] if method in ("deepconf", "esc", "adaptive-consistency") else metrics["curves"][0]
        if curve is not metrics["curves"][0]:  # an adaptive method's last curve: majority over its samples
            assert curve["label"] == "majority, the same samples"
        else:
            assert len(metrics["curves"]) == 1
        assert [s["label"] for s in curve["series"]] == ["k=1", "k=2", "k=4"]
        by_question = defaultdict(list)
        for r in sorted(rows, key=lambda r: (r["question_index"], r["sample"])):
            by_question[r["question_index"]].append(r)
        for s, k in zip(curve["series"], (1, 2, 4)):
            total = sum(sum(r["thinking_tokens"] for r in q[:k]) for q in by_question.values()) / len(by_question)
            assert s["x"] == pytest.approx(total)
    out = runs / method
    assert (out / "scaling.png").read_bytes()[:4] == b"\x89PNG"
    assert f"· {method}" in (out / "report.md").read_text()


@pytest.mark.slow
def test_compare_puts_every_method_in_one_table_and_one_plot(runs, tmp_path):
    result = CliRunner().invoke(app, ["compare", *[str(runs / m) for m in METHODS], "--out", str(tmp_path / "all.png")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "all.png").read_bytes()[:4] == b"\x89PNG"
    table = (tmp_path / "all.md").read_text()
    assert "| run | method | curve | kind | Control (%) | Scaling | Performance (%) |" in table
    for method in METHODS:
        _, metrics = load(runs, method)
        curve = metrics["curves"][0]
        control = "-" if curve["control"] is None else f"{100 * curve['control']:.0f}"
        assert f"| {method} | {method} | {curve['label']} | {curve['kind']} | {control} |" in table
    parallel = sum(len(load(runs, m)[1]["curves"]) for m in PARALLEL)
    assert table.count("| parallel |") == parallel
    _, bf = load(runs, "budget-forcing")
    assert all(c["control"] == 1.0 for c in bf["curves"])  # budget forcing's cap is exact
