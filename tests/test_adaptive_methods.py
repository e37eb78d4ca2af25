"""DeepConf, ESC and Adaptive-Consistency as eval methods: what a row keeps of a trace's
confidences, where online DeepConf stops, what each vote answers and what it spends; then the
methods end to end on the scripted model, whose confidences each test sets."""

from __future__ import annotations

import json

import pytest

from s1kit.backends.scripted import ScriptedBackend
from s1kit.errors import S1kitError, SettingError
from s1kit.eval.config import eval_config, resolve_run
from s1kit.methods.deepconf import DeepConfConfig, deepconf_points, online_vote, stop_at, trace_summary
from s1kit.methods.early_stop import EarlyStopConfig, early_stop_points

# --- what a row keeps ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "confidences, thinking, window, expected",
    [
        # Full windows of 2: groups 2.5, 1.5, 1.0, 2.0; record lows at the 2nd, 3rd and 4th tokens.
        ([3.0, 2.0, 1.0, 1.0, 3.0], 5, 2,
         {"mean": 2.0, "tail": 2.0, "lowest_group": 1.0, "window": 2, "lows": [[2, 2.5], [3, 1.5], [4, 1.0]]}),
        # Forced positions (None) are skipped; a low's position counts them; thinking ends after 3 tokens.
        ([None, 4.0, None, 2.0, 1.0], 3, 2,
         {"mean": 7 / 3, "tail": 1.5, "lowest_group": 1.5, "window": 2, "lows": [[3, 3.0], [3, 1.5]]}),
        # Shorter than the window: one group of every token, at the last.
        ([2.0, 4.0], 1, 8, {"mean": 3.0, "tail": 3.0, "lowest_group": 3.0, "window": 8, "lows": [[1, 3.0]]}),
        ([None, None], 2, 4, None),
    ],
)
def test_trace_summary(confidences, thinking, window, expected):
    summary = trace_summary(confidences, thinking, window)
    if expected is None:
        assert summary is None
        return
    assert summary.pop("lows") == expected.pop("lows")  # stored rounded to 6 digits
    assert summary == pytest.approx(expected)


@pytest.mark.parametrize("threshold, expected", [(3.0, 2), (2.0, 3), (1.5, 4), (1.0, None), (0.5, None)])
def test_online_stop_is_the_first_low_under_the_threshold(threshold, expected):
    summary = trace_summary([3.0, 2.0, 1.0, 1.0, 3.0], 5, 2)
    assert stop_at(summary, threshold) == expected


def test_the_lows_stop_where_the_groups_do():
    """The lows are a compression: the first group under any threshold is the first low under it."""
    import random

    from s1kit.methods.adaptive import group_confidences, online_stop

    draws = random.Random(3)
    for _ in range(200):
        values = [round(draws.uniform(0, 5), 3) for _ in range(draws.randint(4, 30))]
        window = draws.randint(1, 4)
        groups = [round(g, 6) for g in group_confidences(values, window)[window - 1:]]
        summary = trace_summary(values, len(values), window)
        for threshold in (0.5, 1.5, 2.5, 3.5):
            index = online_stop(groups, threshold)
            assert stop_at(summary, threshold) == (None if index is None else index + window)


# --- votes over handmade rows --------------------------------------------------------------------


def row(q, sample, answer, correct, thinking, lowest, lows=None, tail=None):
    lows = lows if lows is not None else [[thinking, lowest]]
    return {"question_index": q, "sample": sample, "extracted_answer": answer, "correct": correct,
            "thinking_tokens": thinking, "confidence": {"mean": lowest, "tail": lowest if tail is None else tail,
                                                        "lowest_group": lowest, "window": 2, "lows": lows}}


def test_offline_keeps_the_confident_and_weighs_them():
    # Two confident "4"s against three unsure "5"s: majority says 5, DeepConf at eta 40 keeps the 4s.
    rows = [row(0, 0, "5", False, 10, 1.0), row(0, 1, "4", True, 10, 3.0), row(0, 2, "5", False, 10, 1.1),
            row(0, 3, "4", True, 10, 2.9), row(0, 4, "5", False, 10, 1.2)]
    [*_, five] = deepconf_points(rows, 5, DeepConfConfig(), "offline", 40, seed=0)
    assert five["k"] == 5 and five["accuracy"] == 1.0 and five["avg_thinking_tokens"] == 50
    [*_, everything] = deepconf_points(rows, 5, DeepConfConfig(), "offline", 100, seed=0)
    assert everything["accuracy"] == 1.0  # weighted: 5.9 for "4" against 3.3 for "5"
    tail = DeepConfConfig(deepconf_measure="tail")
    rows[1]["confidence"]["tail"] = rows[3]["confidence"]["tail"] = 0.1
    [*_, by_tail] = deepconf_points(rows, 5, tail, "offline", 40, seed=0)
    assert by_tail["accuracy"] == 0.0


def test_online_stops_samples_under_the_warmups_threshold_and_counts_what_they_generated():
    warm = [row(0, 0, "4", True, 20, 3.0), row(0, 1, "4", True, 20, 2.0)]
    late = [row(0, 2, "5", False, 20, 1.0, lows=[[6, 3.2], [9, 1.0]]),  # stops at 9 thinking tokens (1.0 < 3.0)
            row(0, 3, "4", True, 20, 3.5, lows=[[20, 3.5]])]  # never under it: it votes
    answer, spent, stopped = online_vote(warm + late, warmup=2, eta=50, seed=0)
    # eta 50 of two warm-up traces: the threshold is the most confident one's, 3.0; only it passes.
    assert (answer, spent, stopped) == ("4", 20 + 20 + 9 + 20, 1)
    config = DeepConfConfig(deepconf_warmup=2)
    points = deepconf_points(warm + late, 4, config, "online", 50, seed=0)
    assert [p["k"] for p in points] == [1, 2, 4]
    assert points[-1]["avg_thinking_tokens"] == 69 and points[-1]["stopped_share"] == 0.25
    assert points[0]["stopped_share"] == 0 and points[0]["avg_thinking_tokens"] == 20  # k = 1: the warm-up alone


def test_a_row_without_confidences_is_named():
    rows = [row(0, 0, "4", True, 3, 1.0), {**row(0, 1, "4", True, 3, 1.0), "confidence": None}]
    with pytest.raises(S1kitError, match="question 0 sample 1 has no confidence"):
        deepconf_points(rows, 2, DeepConfConfig(), "offline", 10, seed=0)


@pytest.mark.parametrize(
    "method, answers, window, expected_samples, expected_accuracy",
    [
        # No agreeing first window: all 8, where "4" wins 5 to 3.
        ("esc", ["5", "5", "5", "4", "4", "4", "4", "4"], 4, [1, 2, 4, 8], [0.0, 0.0, 0.0, 1.0]),
        ("esc", ["4", "4", "4", "4", "5", "5", "5", "5"], 4, [1, 2, 4, 4], [1.0, 1.0, 1.0, 1.0]),
        ("esc", ["4", "4", "4", "4", "5", "5", "5", "5"], 2, [1, 2, 2, 2], [1.0, 1.0, 1.0, 1.0]),
        # Beta rule: 4 unanimous votes give 0.96875 >= 0.95 (3 give 0.9375).
        ("adaptive-consistency", ["4"] * 8, None, [1, 2, 4, 4], [1.0] * 4),
        ("adaptive-consistency", ["4"] * 8, 3, [1, 2, 4, 6], [1.0] * 4),
    ],
)
def test_early_stop_curves(method, answers, window, expected_samples, expected_accuracy):
    rows = [row(0, i, a, a == "4", 10 + i, 1.0) for i, a in enumerate(answers)]
    points = early_stop_points(method, rows, len(answers), EarlyStopConfig(window=window), seed=0)
    assert [p["avg_samples"] for p in points] == expected_samples
    assert [p["accuracy"] for p in points] == expected_accuracy
    assert [p["avg_thinking_tokens"] for p in points] == [sum(10 + i for i in range(n)) for n in expected_samples]


# --- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings, field, message",
    [
        ({"method": "deepconf", "samples": 8, "deepconf_eta": [0.1]}, "deepconf_eta", "from 1 to 100"),
        ({"method": "deepconf", "samples": 8, "deepconf_window": 0}, "deepconf_window", "deepconf_window"),
        ({"method": "deepconf", "samples": 8, "deepconf_mode": ["offline", "sometimes"]}, "deepconf_mode", "sometimes"),
        ({"method": "deepconf", "samples": 8}, "deepconf_warmup", "online DeepConf would stop nothing"),
        ({"method": "deepconf", "samples": 8, "deepconf_top_k": 1}, "deepconf_top_k", "at least 2"),
        ({"method": "deepconf", "samples": 32, "backend": "openai"}, "backend", "openai backend"),
        ({"method": "probe-exit", "backend": "openai"}, "backend", "openai backend"),
        ({"method": "majority", "samples": 4, "deepconf_eta": [50]}, "deepconf_eta", "is deepconf's"),
        ({"method": "esc", "samples": 4, "window": 0}, "window", "window"),
        ({"method": "majority", "samples": 4, "window": 2}, "window", "is esc and adaptive-consistency's"),
        ({"method": "esc", "samples": 4, "consistency_threshold": 0.9}, "consistency_threshold",
         "is adaptive-consistency's"),
        ({"method": "adaptive-consistency", "samples": 4, "consistency_threshold": 1.0}, "consistency_threshold",
         r"in \(0.5, 1\)"),
        ({"method": "esc", "samples": 1}, None, "pass --samples K with K >= 2"),
        ({"method": "esc", "samples": 4, "temperature": 0}, None, "--temperature 0 is greedy"),
        ({"method": "deepconf", "samples": 32, "num_ignore": [0, 1]}, None, "at most one --num-ignore"),
    ],
)
def test_bad_settings_are_one_line_naming_the_field(settings, field, message):
    with pytest.raises(S1kitError, match=message) as caught:
        eval_config(task="nano", **settings)
    if field is not None:
        assert isinstance(caught.value, SettingError) and caught.value.field == field


def test_sweeps_are_given_as_comma_separated_text():
    config = resolve_run(None, {"task": "nano", "method": "deepconf", "samples": "32", "deepconf_eta": "10,90",
                                "deepconf_mode": "online"})
    assert config.deepconf.deepconf_eta == [10.0, 90.0] and config.deepconf.deepconf_mode == ["online"]
    assert resolve_run(None, {"task": "nano", "method": "probe-exit", "probe_agree": "2,3"}).probe.probe_agree == [2, 3]
    with pytest.raises(SettingError, match=r"'x' in --deepconf-eta '10,x' is not a number"):
        resolve_run(None, {"task": "nano", "method": "deepconf", "samples": 32, "deepconf_eta": "10,x"})


# --- end to end on the scripted model ------------------------------------------------------------

pytest.importorskip("math_verify", reason="grading needs the [math] extra")

# Sample s of every question plays SCRIPTS[s]: two sure and right, two unsure and wrong.
SCRIPTS = [" sure sure sure<|im_end|> 4<|im_end|>", " maybe maybe maybe maybe<|im_end|> 5<|im_end|>",
           " sure sure sure<|im_end|> 4<|im_end|>", " maybe maybe maybe maybe<|im_end|> 5<|im_end|>"] * 2
CONFIDENCES = {" sure": 3.0, " maybe": 0.5, " 4": 3.0, " 5": 0.5}


def evaluate(tmp_path, method, out="run", scripts=SCRIPTS, **options):
    from s1kit.eval.run import main

    task = tmp_path / "t.jsonl"
    task.write_text("".join(json.dumps({"id": i, "question": f"What is {i}+4-{i}?", "answer": "4"}) + "\n"
                            for i in range(3)))
    config = eval_config(task=f"jsonl:{task}", id_field="id", model="scripted", kind="integer", method=method,
                         max_answer_tokens=4, out=str(tmp_path / out), **options)
    main(config, backend=ScriptedBackend(scripts, confidences=CONFIDENCES))
    rows = [json.loads(line) for line in (tmp_path / out / "samples.jsonl").read_text().splitlines()]
    return rows, json.loads((tmp_path / out / "metrics.json").read_text())


def test_deepconf_end_to_end(tmp_path):
    rows, metrics = evaluate(tmp_path, "deepconf", samples=8, deepconf_warmup=4, deepconf_window=2,
                             deepconf_eta=[50, 100])
    assert len(rows) == 3 * 8
    # The end of turn is unlisted (confidence 0): a sure trace's last window is (3.0 + 0) / 2.
    sure = [r for r in rows if r["sample"] % 2 == 0]
    assert all(r["confidence"]["lowest_group"] == 1.5 and r["correct"] for r in sure)
    assert all(r["confidence"]["lowest_group"] == 0.25 and not r["correct"] for r in rows if r["sample"] % 2)
    curves = {c["label"]: c for c in metrics["curves"]}
    assert set(curves) == {"deepconf offline (eta 50)", "deepconf offline (eta 100)", "deepconf online (eta 50)",
                           "deepconf online (eta 100)", "majority, the same samples"}
    assert all(c["kind"] == "parallel" for c in curves.values())
    # The sure answers win every k where DeepConf weighs them; at eta 50 online stops the unsure
    # samples after their first window: 2 of their 4 thinking tokens.
    assert [s["accuracy"] for s in curves["deepconf offline (eta 50)"]["series"]] == [1.0, 1.0, 1.0, 1.0]
    online = curves["deepconf online (eta 50)"]["series"][-1]
    assert online["accuracy"] == 1.0 and online["stopped_share"] == 2 / 8
    # Warm-up: 2 sure (3 thinking tokens) and 2 unsure (4); its threshold is 1.5; then 2 sure and 2
    # unsure, stopped at their first window (0.5): 2 tokens.
    assert online["x"] == 2 * 3 + 2 * 4 + 2 * 3 + 2 * 2


def test_esc_and_adaptive_consistency_end_to_end(tmp_path):
    _, esc = evaluate(tmp_path, "esc", out="esc", samples=8, window=2)
    [curve, majority] = esc["curves"]
    assert curve["label"] == "esc" and majority["label"] == "majority, the same samples"
    assert [s["avg_samples"] for s in curve["series"]] == [1, 2, 4, 8]  # windows of 2 never agree here
    _, ac = evaluate(tmp_path, "adaptive-consistency", out="ac", samples=8)
    assert [s["avg_samples"] for s in ac["curves"][0]["series"]] == [1, 2, 4, 8]


@pytest.mark.parametrize("method, settings", [
    ("deepconf", dict(samples=8, deepconf_warmup=4, deepconf_window=2)),
    ("esc", dict(samples=8, window=2)),
    ("adaptive-consistency", dict(samples=8)),
    ("probe-exit", dict(probe_every=1, probe_tokens=2, probe_agree=[2, 3], num_ignore=[0, 1])),
    ("alpha-one", dict(alpha=[0.5, 2.0])),
    ("no-thinking", dict(samples=4)),
])
def test_each_adaptive_method_resumes_to_the_rows_of_an_uninterrupted_run(tmp_path, method, settings):
    # A script per question (the fake's script list would follow the order of requests, not units).
    options = dict(chunk_units=2, scripts=lambda prompt: SCRIPTS["What is 1+" in prompt], **settings)
    evaluate(tmp_path, method, out="whole", **options)
    whole = (tmp_path / "whole" / "samples.jsonl").read_bytes()
    evaluate(tmp_path, method, out="cut", **options)
    path = tmp_path / "cut" / "samples.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    half = len(lines) // 2
    path.write_bytes(b"".join(lines[:half]) + lines[half][:40])  # a torn line and what followed, as after a kill
    evaluate(tmp_path, method, out="cut", resume=True, **options)
    assert path.read_bytes() == whole


@pytest.mark.slow
def test_vllm_deepconf_equals_hf_greedy(vllm_nano, nano_backend):
    """The same tokens, and the same confidences from vLLM's top-k log-probabilities as from the hf
    backend's logits."""
    from cross_backend import NANO_QUESTIONS, assert_same
    from s1kit.budget.config import BudgetConfig, SamplingConfig
    from s1kit.methods.deepconf import run_deepconf
    from s1kit.methods.points import MethodPoint

    budget = BudgetConfig(max_thinking_tokens=120, num_ignore=1, max_answer_tokens=8)
    point = MethodPoint(120, 120, 1)

    def run(backend):
        [result] = run_deepconf(backend, NANO_QUESTIONS, [point], budget, SamplingConfig(), [1, 2, 3, 4], "s1", None, 4,
                                DeepConfConfig(deepconf_window=8))
        return result

    on_hf, on_vllm = run(nano_backend), run(vllm_nano)
    assert_same(on_vllm.generations, on_hf.generations)
    for got, want in zip(on_vllm.extras, on_hf.extras):
        got, want = got["confidence"], want["confidence"]
        for name in ("mean", "tail", "lowest_group"):
            assert got[name] == pytest.approx(want[name], abs=1e-3)
        assert [t for t, _ in got["lows"]] == [t for t, _ in want["lows"]]
