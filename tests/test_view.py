"""The run viewer without a browser: texts stored once and back exactly, forced spans placed where
they were forced, the steps that fix or break a question, parallel methods' votes and picks as the
metrics count them, probe-exit's probes and DeepConf's confidences as the rows record them, data
that cannot break out of its script element, and `s1kit view`'s files and errors. The pages in a real browser: test_view_browser.py."""

from __future__ import annotations

import json
import random

import pytest
from typer.testing import CliRunner

from s1kit.cli import app
from s1kit.view import changes, compact, spans
from s1kit.view.command import main as view_main
from s1kit.view.data import load_run, run_data
from s1kit.view.page import embed_json, render
from view_runs import CAP_TEXT, nano_like_questions, synthetic_run

pytest.importorskip("math_verify", reason="metrics of synthetic runs need the [math] extra")


@pytest.mark.parametrize("texts", [
    [],
    [""],
    ["", "", "a"],
    ["same text " * 10] * 3,
    ["x" * 40, "x" * 40 + "y", "x" * 39],  # one a prefix of another, both ways
    ["emoji 😀 and 𝑥 " * 5 + "tail one", "emoji 😀 and 𝑥 " * 5 + "tail two", "emoji 😀"],
    ["line\r\nbreaks\u2028and\u2029separators" * 4, "line\r\nbreaks\u2028and\u2029separators" * 3 + "!"],
    ["\ud800 lone surrogate" * 4, "\ud800 lone surrogate" * 4 + "."],
])
def test_texts_round_trip_exactly(texts):
    encoded = compact.encode(texts, [0] * len(texts))
    assert compact.decode(encoded) == texts


def test_random_sweeps_round_trip_exactly():
    rng = random.Random(7)
    alphabet = "ab \n😀é<>&\"'"
    texts, groups = [], []
    for unit in range(30):
        trunk = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        for _ in range(rng.randint(1, 6)):
            texts.append(trunk[: rng.randint(0, len(trunk))] + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20))))
            groups.append(unit)
    assert compact.decode(compact.encode(texts, groups)) == texts


def test_a_sweep_stores_its_trajectory_once():
    trajectory = "".join(f"step {i}: x = {i * i}\n" for i in range(400))  # ~7 KB
    caps = [len(trajectory) // 8, len(trajectory) // 4, len(trajectory) // 2, len(trajectory)]
    texts = [trajectory[:c] + CAP_TEXT + f" {c}<|im_end|>" for c in caps]
    encoded = compact.encode(texts, ["unit"] * len(texts))
    tails = sum(len(tail) for _, _, tail in encoded)
    suffixes = sum(len(t) - c for t, c in zip(texts, caps))
    assert tails <= len(trajectory) + suffixes  # each character of the trajectory once
    assert all(base == index - 1 for index, (base, _, _) in enumerate(encoded[1:], 1))
    assert compact.decode(encoded) == texts


def test_texts_of_different_units_share_nothing():
    text = "the same long thinking " * 10
    encoded = compact.encode([text, text], ["question 0", "question 1"])
    assert [base for base, _, _ in encoded] == [-1, -1]


def test_offsets_count_utf16_units_as_the_page_does():
    texts = ["😀" * 40 + "a", "😀" * 40 + "b"]
    (_, _, _), (base, shared, tail) = compact.encode(texts, [0, 0])
    assert (base, shared, tail) == (0, 80, "b")  # 40 emoji are 80 UTF-16 units
    assert compact.slice_of("😀x<think>", "<think>") == [3, 7]
    assert compact.unslice("😀x<think>", [3, 7]) == "<think>"


def row(text: str, thinking: str, thinking_tokens: int, forced_spans: list[dict]) -> dict:
    return {"text": text, "thinking": thinking, "thinking_tokens": thinking_tokens, "forced_spans": forced_spans}


def two_waits_row():
    """Tokens: "a", " b", " Wait,", " c", " d", " e\n" (the model's own Wait is token 2), then the
    forced "Wait" at token 6, 16 one-character tokens and the forced end. Returns (thinking, text,
    spans with their recorded character offsets)."""
    thinking = "a b Wait, c d e\n" + "Wait" + "1234567890123456"
    text = thinking + "<|im_start|>answer\nFinal Answer: 1<|im_end|>"
    spans_ = [{"start": 6, "end": 7, "kind": "wait", "text": "Wait", "char_start": 16, "char_end": 20},
              {"start": 23, "end": 26, "kind": "end", "text": "<|im_start|>answer\n", "char_start": 36, "char_end": 55}]
    return thinking, text, spans_


def test_a_span_sits_at_its_recorded_offsets_not_at_the_models_own_wait():
    thinking, text, spans_ = two_waits_row()
    assert spans.locate(row(text, thinking, 23, spans_)) == [(16, 20), (36, 55)]
    # Offsets that are no range of the text (a hand-edited file) place nothing.
    broken = [{**spans_[0], "char_start": None, "char_end": None}, {**spans_[1], "char_end": len(text) + 1}]
    assert spans.locate(row(text, thinking, 23, broken)) == [None, None]


def test_a_span_without_recorded_offsets_is_listed_unplaced_not_guessed():
    thinking, text, spans_ = two_waits_row()
    unrecorded = [{k: v for k, v in span.items() if not k.startswith("char_")} for span in spans_]
    assert spans.locate(row(text, thinking, 23, unrecorded)) == [None, None]
    assert spans.locate(row(text, thinking, 23, [unrecorded[0], spans_[1]])) == [None, (36, 55)]


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_a_run_with_recorded_offsets_shows_each_span_where_it_was_forced(tmp_path):
    # Emoji and astral letters before every span, so that the page's offsets (UTF-16 units) differ
    # from Python's characters.
    run = load_run(synthetic_run(tmp_path / "run", nano_like_questions(40), natural=(30, 300), lead="😀 𝑥 ",
                                 budgets=[512], num_ignore=[2]))
    data = run_data(run)["rows"]
    texts = compact.decode(data["text"])
    by_question = {r["question_index"]: r for r in run.rows}
    questions = sorted(by_question)
    for i, text in enumerate(texts):
        source = by_question[questions[data["q"][i]]]
        assert text == source["text"]
        want = [[s["start"], s["end"], s["kind"], utf16(text[: s["char_start"]]), utf16(text[: s["char_end"]])]
                for s in source["forced_spans"]]
        assert data["spans"][i] == want
        assert all(text[s["char_start"] : s["char_end"]] == s["text"] for s in source["forced_spans"])


def test_every_span_of_a_synthetic_sweep_sits_where_it_was_forced(tmp_path):
    # The synthetic model's own Waits follow a space; forced Waits follow the line it tried to end.
    run = load_run(synthetic_run(tmp_path / "run", nano_like_questions(40), natural=(30, 300), budgets=[32, 128, 512],
                                 num_ignore=[0, 1, 2], samples=2, temperature=1.0))
    data = run_data(run)["rows"]
    texts = compact.decode(data["text"])
    own_waits = sum(text.count(" Wait,") for text in texts)
    assert own_waits > 100  # the case is a real one
    by_key = {(r["question_index"], r["sample"], r["budget"], r["num_ignore"]): r for r in run.rows}
    questions = sorted({r["question_index"] for r in run.rows})
    points = run.metrics["points"]
    for i, text in enumerate(texts):
        source = by_key[(questions[data["q"][i]], data["s"][i], points[data["p"][i]]["budget"], points[data["p"][i]]["num_ignore"])]
        assert text == source["text"]
        assert len(data["spans"][i]) == len(source["forced_spans"])
        for cell, span in zip(data["spans"][i], source["forced_spans"]):
            assert cell[:3] == [span["start"], span["end"], span["kind"]] and len(cell) == 5
            assert text[cell[3] : cell[4]] == span["text"]
            if span["kind"] == "wait":
                assert text[cell[3] - 1] == "\n"


@pytest.mark.parametrize("settings", [
    dict(budgets=[16, 64], num_ignore=[0, 1]),
    dict(budgets=[64]),
    dict(method="rejection", budgets=[30, 60, 120], max_tries=4),
    dict(method="majority", samples=4, budgets=[64], judge="some-judge", judge_mode="always"),
    dict(method="best-of-n", samples=3),
    dict(method="class-conditional"),
    dict(method="token-conditional", budgets=[32, 64]),
], ids=["sweep", "one point", "rejection", "majority judged", "best-of-n", "class-conditional", "token-conditional"])
def test_every_method_becomes_the_pages_columns(tmp_path, settings):
    run = load_run(synthetic_run(tmp_path / "run", nano_like_questions(6), **settings))
    data = run_data(run)
    rows = data["rows"]
    assert {len(column) for column in rows.values()} == {len(run.rows)}
    assert data["questions_data"]["question"] == [q["question"] for q in nano_like_questions(6)]
    assert sorted(compact.decode(rows["text"])) == sorted(r["text"] for r in run.rows)
    assert ("tries" in rows) == (settings.get("method") == "rejection")
    assert ("judged" in rows) == ("judge" in settings)
    for curve in data["curves"]:
        for entry in curve["series"]:
            assert entry["point"] is not None
            if curve["kind"] != "parallel":
                assert data["points"][entry["point"]]["label"] == entry["label"]
    if settings.get("method") == "token-conditional":
        assert [p["instruction"] for p in data["points"]] == ["Think for up to 32 tokens.", "Think for up to 64 tokens."]


def test_thinking_is_stored_as_a_slice_of_the_text(tmp_path):
    run = load_run(synthetic_run(tmp_path / "run", nano_like_questions(3), budgets=[16, 64]))
    rows = run_data(run)["rows"]
    by_text = {r["text"]: r for r in run.rows}
    for text, thinking in zip(compact.decode(rows["text"]), rows["thinking"]):
        assert isinstance(thinking, list) and compact.unslice(text, thinking) == by_text[text]["thinking"]


def point(budget, num_ignore=0, variant=""):
    return {"budget": budget, "num_ignore": num_ignore, "variant": variant}


@pytest.mark.parametrize("points, want", [
    # A sweep: budget steps at each number of Waits, Wait steps at each budget; listed out of order.
    ([point(64, 1), point(16), point(64), point(16, 1)],
     [[1, 2, "budget"], [3, 0, "budget"], [1, 3, "wait"], [2, 0, "wait"]]),
    # No budget is the largest; ignores 0, 2, 4 step to the next one present.
    ([point(None), point(512), point(None, 2), point(None, 4)], [[1, 0, "budget"], [0, 2, "wait"], [2, 3, "wait"]]),
    ([point(40), point(120), point(80)], [[0, 2, "budget"], [2, 1, "budget"]]),  # rejection
    ([point(None, 0, "default"), point(None, 0, "short"), point(None, 0, "long")], []),  # class-conditional
    ([point(64)], []),
])
def test_steps_join_neighbouring_points_of_one_kind(points, want):
    assert changes.steps(points) == want


@pytest.mark.parametrize("shares, want", [
    ([0, 1, 1], [[0, 1]]),  # wrong at 16, right at 64: fixed by the budget step
    ([1, 0, 1], [[0, -1], [1, 1]]),  # broken by the budget, fixed by the Wait
    ([0, 0, 0], []),
    ([0.25, 0.5, 0.5], [[0, 1]]),  # several samples: the share of right ones rises
    ([None, 1, 0], [[1, -1]]),  # no rows at a point: its steps say nothing
])
def test_a_question_changes_where_a_step_changes_its_share_of_right_samples(shares, want):
    # Points: 16, 64, and 64 with one Wait.
    step_list = [[0, 1, "budget"], [1, 2, "wait"]]
    assert changes.question_changes([shares], step_list) == [want]


@pytest.mark.parametrize("settings", [
    dict(method="majority", samples=4, budgets=[64], num_ignore=[0, 1]),
    dict(method="majority", samples=3, judge="a-judge", judge_mode="always"),
    dict(method="best-of-n", samples=4, scorer="shortest"),
    dict(method="best-of-n", samples=3, scorer="longest", budgets=[64]),
], ids=["majority", "majority judged", "best-of-n shortest", "best-of-n longest"])
def test_the_pages_votes_and_picks_are_the_ones_the_metrics_counted(tmp_path, settings):
    run = load_run(synthetic_run(tmp_path / "run", nano_like_questions(40), temperature=1.0, **settings))
    data = run_data(run)
    combined = data["combined"]
    parallel_curves = [c for c in data["curves"] if c["kind"] == "parallel"]
    assert len(parallel_curves) == len(data["points"]) == len(combined["right"])
    for curve, rights in zip(parallel_curves, combined["right"]):
        assert curve["series"][-1]["label"] == f"k={settings['samples']}"
        assert sum(rights) / len(rights) == pytest.approx(curve["series"][-1]["accuracy"])
    by_unit = {(r["question_index"], r["sample"], r["budget"], r["num_ignore"]): r for r in run.rows}
    for p, (choices, rights) in enumerate(zip(combined["choice"], combined["right"])):
        budget, ignores = data["points"][p]["budget"], data["points"][p]["num_ignore"]
        for q, choice, right in zip(data["questions_data"]["index"], choices, rights):
            samples = [by_unit[(q, s, budget, ignores)] for s in range(settings["samples"])]
            if settings["method"] == "best-of-n":
                tokens = [r["thinking_tokens"] for r in samples]
                best = min(tokens) if settings["scorer"] == "shortest" else max(tokens)
                assert samples[choice]["thinking_tokens"] == best and samples[choice]["correct"] == right
            else:
                answers = [r["extracted_answer"] for r in samples]
                assert choice is None or answers.count(choice) == max(answers.count(a) for a in answers if a is not None)
                assert right == any(r["correct"] for r in samples if choice is not None and r["extracted_answer"] == choice)


def test_without_its_seed_or_scorer_a_parallel_run_shows_no_verdict_it_cannot_reproduce(tmp_path):
    majority = synthetic_run(tmp_path / "majority", nano_like_questions(4), method="majority", samples=2)
    (majority / "config.json").unlink()
    assert run_data(load_run(majority))["combined"] == {"method": "majority", "k": 2, "scorer": None, "choice": None,
                                                        "right": None, "unknown": "config"}
    mine = synthetic_run(tmp_path / "mine", nano_like_questions(4), method="best-of-n", samples=2)
    config = json.loads((mine / "config.json").read_text())
    (mine / "config.json").write_text(json.dumps({**config, "scorer": "my_module:score"}))
    combined = run_data(load_run(mine))["combined"]
    assert (combined["choice"], combined["unknown"], combined["scorer"]) == (None, "scorer", "my_module:score")
    sweep = synthetic_run(tmp_path / "sweep", nano_like_questions(4), budgets=[16, 64])
    assert run_data(load_run(sweep))["combined"] is None


def test_the_page_holds_the_runs_config(tmp_path):
    run = synthetic_run(tmp_path / "run", nano_like_questions(3), budgets=[16, 64], seed=7)
    data = run_data(load_run(run))
    assert data["config"]["budgets"] == [16, 64] and data["config"]["seed"] == 7
    (run / "config.json").unlink()
    assert run_data(load_run(run))["config"] is None  # a run made without one: the page says so


def page_data(path) -> dict:
    page = path.read_text(encoding="utf-8")
    return json.loads(page.split('type="application/json">')[1].split("</script>")[0])


def probe_run(path, **settings):
    return synthetic_run(path, nano_like_questions(12), method="probe-exit", budgets=[32, 128], probe_every=8,
                         probe_agree=[2, 3], probe_confidence=[0.8], **settings)


def test_a_probe_exit_trace_carries_its_probes_and_its_exit_span(tmp_path):
    run = probe_run(tmp_path / "run", lead="<b>😀</b> ")
    rows = [json.loads(line) for line in (run / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    data = page_data(view_main([run]))["runs"][0]  # the report page's own data
    columns = data["rows"]
    by_key = {(r["question_index"], r["budget"], r["variant"]): r for r in rows}
    exits = fired_answers = 0
    for i, text in enumerate(compact.decode(columns["text"])):
        point = data["points"][columns["p"][i]]
        source = by_key[(data["questions_data"]["index"][columns["q"][i]], point["budget"], point["variant"])]
        assert text == source["text"]
        assert columns["probes"][i] == [[p["position"], p["thinking_tokens"], p["answer"], p["confidence"], int(p["fired"])]
                                        for p in source["probes"]]
        assert (columns["probe_tokens"][i], columns["exited"][i]) == (source["probe_tokens"], int(source["exited"]))
        fired = [p for p in columns["probes"][i] if p[4]]
        assert len(fired) == columns["exited"][i]  # one probe fired where the row exited, none elsewhere
        exit_spans = [cell for cell in columns["spans"][i] if cell[2] == "exit"]
        if fired:
            # The thinking ends at the probe that fired: the exit span starts there, placed in the text.
            [(start, _, _, char_start, char_end)] = exit_spans
            assert start == fired[0][0] == source["thinking_tokens"]
            assert compact.utf16_slice(text, char_start, char_end) == "<|im_start|>answer\n"
            assert source["extracted_answer"] == fired[0][2]
            exits += 1
            fired_answers += fired[0][2] is not None
        else:
            assert exit_spans == []
    assert 0 < exits < len(rows) and fired_answers == exits  # both cases are real ones


def test_a_curve_over_thinking_and_probe_tokens_names_its_points(tmp_path):
    # Two caps: every rule's label ("agree 2") names two points, told apart by the curve's x.
    data = run_data(load_run(probe_run(tmp_path / "run")))
    fields = {c["label"]: c["x_field"] for c in data["curves"]}
    assert set(fields.values()) == {"avg_thinking_and_probe_tokens", "avg_thinking_tokens"}
    for curve in data["curves"]:
        assert curve["x_field"] == ("avg_thinking_tokens" if curve["kind"] == "thinking-only"
                                    else "avg_thinking_and_probe_tokens")
        cap = 32 if "cap 32" in curve["label"] else 128
        for entry in curve["series"]:
            point = data["points"][entry["point"]]
            assert (point["label"], point["budget"], point[curve["x_field"]]) == (entry["label"], cap, entry["x"])
    assert any(p["avg_probe_tokens"] > 0 for p in data["points"])  # the two axes differ


def test_a_runs_report_lists_its_curves_over_thinking_alone_set_against_nothing(tmp_path):
    probe = probe_run(tmp_path / "probe")
    sweep = synthetic_run(tmp_path / "bf", nano_like_questions(12), budgets=[16, 64])
    table = page_data(view_main([probe]))["table"]
    assert [r["kind"] for r in table].count("thinking-only") == 4
    assert {r["compared_with"] for r in table} == {None}  # no budget-forcing run on the page
    # A page of both: every curve set against the budget-forcing run but those over thinking alone.
    both = page_data(view_main([probe, sweep], tmp_path / "both.html"))["table"]
    assert {(r["kind"] == "thinking-only", r["compared_with"]) for r in both} == {(True, None), (False, "bf")}


def test_confidences_and_where_a_sample_stopped_reach_the_page_where_rows_have_them(tmp_path):
    run = synthetic_run(tmp_path / "run", nano_like_questions(4), method="majority", samples=2)
    lines = (run / "samples.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert "confidence" not in run_data(load_run(run))["rows"]  # absent: no column, nothing fails
    for k, row in enumerate(rows):
        row["confidence"] = None if k % 3 == 2 else {"mean": 14.5 + k, "lowest_group": 9.25, "tail": 12.0, "window": 64}
        row["stopped_at"] = 40 + k if k % 2 else None
    (run / "samples.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    columns = run_data(load_run(run))["rows"]
    by_unit = {(r["question_index"], r["sample"]): r for r in rows}
    for i in range(len(rows)):
        source = by_unit[(columns["q"][i], columns["s"][i])]
        confidence = source["confidence"]
        assert columns["confidence"][i] == (None if confidence is None else
                                            [confidence[k] for k in ("mean", "lowest_group", "tail", "window")])
        assert columns["stopped_at"][i] == source["stopped_at"]
    rows[1]["confidence"] = "high"
    (run / "samples.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    error_line(runner.invoke(app, ["view", str(run)]), "line 2: field confidence is a string 'high', not an object or null")


def test_probes_a_hand_edited_row_garbled_are_shown_with_what_they_still_say():
    from s1kit.view.data import confidence_cell, probe_cells

    assert probe_cells([{"position": 8, "thinking_tokens": 8, "answer": "7", "confidence": 0.9, "fired": True},
                        {"position": "8", "answer": 7, "confidence": "high", "fired": 1}, "probe"]) == [
        [8, 8, "7", 0.9, 1], [None, None, "7", None, 0], [None, None, None, None, 0]]
    assert probe_cells(None) is None and probe_cells([]) == []
    assert confidence_cell({"mean": 3, "tail": "x"}) == [3, None, None, None]


@pytest.mark.parametrize("hostile", ["</script><script>alert(1)</script>", "<!--", "</SCRIPT >", "<\u2028>&amp;", "{{js}}",
                                     "lone \ud800 surrogate"])
def test_embedded_data_cannot_end_its_script_element(hostile):
    data = {"runs": [{"question": hostile, hostile: [hostile, float("nan")]}]}
    text = embed_json(data)
    assert "<" not in text and ">" not in text and "\u2028" not in text
    text.encode("utf-8")  # writable as it is
    assert json.loads(text) == {"runs": [{"question": hostile, hostile: [hostile, None]}]}
    page = render(data)
    assert page.count("</script>") == 2  # the data's element and the script's, nothing from the data
    assert page.count("function drawPlot(") == 1  # the data's "{{js}}" is not a marker


def test_the_page_fetches_nothing(tmp_path):
    page = render({"title": "t", "runs": []})
    for pattern in ('src="http', "src='http", 'href="http', "href='http", "@import", "url(http", "fetch(", "XMLHttpRequest"):
        assert pattern not in page
    assert "default-src 'none'" in page  # and the browser is told so


def test_eval_summary_writes_the_page_beside_the_report(tmp_path):
    from s1kit.eval.config import eval_config
    from s1kit.eval.run import summarize
    from view_runs import method_rows

    config = eval_config(task="synthetic", model="scripted", budgets=[16, 64], out=str(tmp_path))
    summarize(config, method_rows(config, nano_like_questions(4)), tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "Add " in page
    assert {"report.md", "metrics.json", "scaling.png", "report.html"} <= {p.name for p in tmp_path.iterdir()}


runner = CliRunner()


def error_line(result, *fragments: str) -> str:
    """A user error: exit 2, one `error:` line on stderr, nothing on stdout, no traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_view_writes_the_runs_page_and_prints_only_its_path(tmp_path, monkeypatch):
    one = synthetic_run(tmp_path / "one", nano_like_questions(3), budgets=[16, 64])
    two = synthetic_run(tmp_path / "two", nano_like_questions(3), method="majority", samples=2)
    result = runner.invoke(app, ["view", str(one)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {one / 'report.html'}\n"
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["view", str(one), str(two)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "wrote view.html\n"
    page = (tmp_path / "view.html").read_text(encoding="utf-8")
    assert '"name":"one"' in page and '"name":"two"' in page
    result = runner.invoke(app, ["view", str(one), "--out", str(tmp_path / "mine.html")])
    assert result.stdout == f"wrote {tmp_path / 'mine.html'}\n"


def test_runs_of_the_same_folder_name_are_told_apart(tmp_path, monkeypatch):
    a = synthetic_run(tmp_path / "a" / "run", nano_like_questions(2), budgets=[16])
    b = synthetic_run(tmp_path / "b" / "run", nano_like_questions(2), budgets=[32])
    view_main([a, b], tmp_path / "both.html")
    page = (tmp_path / "both.html").read_text(encoding="utf-8")
    assert json.dumps(str(a)) in page and json.dumps(str(b)) in page


def test_compare_writes_a_page_with_every_curve_linking_the_runs_pages(tmp_path):
    sweep = synthetic_run(tmp_path / "sweep", nano_like_questions(4), budgets=[16, 64], num_ignore=[0, 1])
    majority = synthetic_run(tmp_path / "majority", nano_like_questions(4), method="majority", samples=2)
    view_main([sweep])  # only the sweep has its own page
    result = runner.invoke(app, ["compare", str(sweep), str(majority), "--out", str(tmp_path / "compare.png")])
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith(f"and {tmp_path / 'compare.html'}")
    page = (tmp_path / "compare.html").read_text(encoding="utf-8")
    data = json.loads(page.split('type="application/json">')[1].split("</script>")[0])
    assert [len(run["curves"]) for run in data["runs"]] == [2, 1]
    assert [run["link"] for run in data["runs"]] == ["./sweep/report.html", None]
    assert all("rows" not in run for run in data["runs"])  # the traces stay in the runs' own pages


def _corrupt_metrics(run):
    (run / "metrics.json").write_text('{"points": [')


def _corrupt_config(run):
    (run / "config.json").write_text('{"task": ')


def _no_metrics(run):
    (run / "metrics.json").unlink()


def _broken_line(run):
    with (run / "samples.jsonl").open("a") as sink:
        sink.write("{not json\n")


def _foreign_point(run):
    rows = (run / "samples.jsonl").read_text().splitlines()
    row = json.loads(rows[0])
    row["budget"] = 999
    (run / "samples.jsonl").write_text("\n".join(rows + [json.dumps(row)]) + "\n")


def _row_without_text(run):
    rows = (run / "samples.jsonl").read_text().splitlines()
    row = json.loads(rows[0])
    del row["text"]
    (run / "samples.jsonl").write_text(json.dumps(row) + "\n")


def _edit_row(line: int, **fields):
    def damage(run):
        rows = (run / "samples.jsonl").read_text().splitlines()
        rows[line - 1] = json.dumps({**json.loads(rows[line - 1]), **fields})
        (run / "samples.jsonl").write_text("\n".join(rows) + "\n")

    return damage


def _edit_metrics(edit):
    def damage(run):
        metrics = json.loads((run / "metrics.json").read_text())
        edit(metrics)
        (run / "metrics.json").write_text(json.dumps(metrics))

    return damage


@pytest.mark.parametrize("damage, fragments", [
    (_edit_row(2, forced_spans="Wait"), ("samples.jsonl line 2: field forced_spans is a string 'Wait', not a list",)),
    (_edit_row(3, forced_spans=[{"start": "0", "end": 1, "kind": "wait"}]),
     ("line 3: field forced_spans[0].start is a string '0', not an integer >= 0",)),
    (_edit_row(1, question_index=0.5), ("line 1: field question_index is a number 0.5, not an integer >= 0",)),
    (_edit_row(4, budget=[16]), ("line 4: field budget is a list [16], not a positive integer or null",)),
    (_edit_row(5, thinking_tokens="many"), ("line 5: field thinking_tokens is a string 'many'",)),
    (_edit_row(1, instruction=["a"]), ("line 1: field instruction is a list",)),
    (_edit_metrics(lambda m: m["points"][0].update(budget=[16])), ("metrics.json: field points[0].budget is a list",)),
    (_edit_metrics(lambda m: m["curves"][0]["series"][0].update(x="wide")),
     ("metrics.json: field curves[0].series[0].x is a string 'wide', not a number",)),
    (_edit_metrics(lambda m: m.update(points=[1])), ("metrics.json: field points[0] is an integer 1, not an object",)),
    (_corrupt_metrics, ("metrics.json is not valid JSON",)),
    (_corrupt_config, ("config.json is not valid JSON",)),
    (_no_metrics, ("has no metrics.json",)),
    (_broken_line, ("samples.jsonl", "line 7")),
    (_foreign_point, ("line 7", "budget 999", "metrics.json does not list")),
    (_row_without_text, ("line 1: lacks text",)),
])
def test_a_damaged_run_is_one_error_line(tmp_path, damage, fragments):
    run = synthetic_run(tmp_path / "run", nano_like_questions(3), budgets=[16, 64])
    damage(run)
    error_line(runner.invoke(app, ["view", str(run)]), *fragments)
    assert not (run / "report.html").exists()


@pytest.mark.parametrize("fields, want", [
    ({}, None),
    ({"variant": None, "budget": None, "forced_spans": None}, None),
    ({"budget": [16], "forced_spans": 5}, "field budget is a list [16], not a positive integer or null"),
    ({"correct": "yes"}, "field correct is a string 'yes', not true or false"),
    ({"sample": -1}, "field sample is an integer -1, not an integer >= 0"),
    ({"thinking_tokens": True}, "field thinking_tokens is a boolean True, not an integer >= 0"),
    ({"forced_spans": [{"start": 0, "end": 1, "kind": "wait", "text": 3}]},
     "field forced_spans[0].text is an integer 3, not a string or null"),
])
def test_a_row_of_wrong_types_is_named_by_its_field(fields, want):
    from s1kit.runs.schema import row_problem

    row = {"question_index": 0, "question": "q", "sample": 0, "budget": 16, "num_ignore": 0, "variant": "",
           "text": "t", "thinking": "", "thinking_tokens": 0, "answer_tokens": 1, "correct": False}
    assert row_problem({**row, **fields}) == want
    huge = row_problem({**row, "text": [["x" * 10_000] * 1000] * 1000})  # named in a line, not in megabytes
    assert huge.startswith("field text is a list [['xxx") and huge.endswith("not a string") and len(huge) < 200


def _lower_accuracy(run):
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["points"][1]["accuracy"] = 0.125
    (run / "metrics.json").write_text(json.dumps(metrics))
    return metrics["points"][1]["label"]


@pytest.mark.parametrize("command", ["view", "compare"])
def test_metrics_that_disagree_with_the_rows_are_warned_about_in_the_page_and_on_stderr(tmp_path, command):
    run = synthetic_run(tmp_path / "run", nano_like_questions(3), budgets=[16, 64])
    label = _lower_accuracy(run)
    args = [str(run), "--out", str(tmp_path / "page.html")] if command == "view" else [str(run), "--out", str(tmp_path / "page.png")]
    result = runner.invoke(app, [command, *args])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and f"point {label}: accuracy 0.125 in metrics.json" in warnings[0], result.stderr
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    data = json.loads(page.split('type="application/json">')[1].split("</script>")[0])
    assert data["runs"][0]["warnings"] == [warnings[0].removeprefix("warning: ")]


@pytest.mark.parametrize("edit, want", [
    (lambda point: point.update(samples=99), "point 64: samples 99 in metrics.json, 3 from the rows"),
    (lambda point: point.update(questions=1, accuracy=1.0), "point 64: questions 1 in metrics.json, 3 from the rows; "
                                                            "accuracy 1 in metrics.json, 0.666667 from the rows"),
    (lambda point: point.update(avg_answer_tokens=2.5), "point 64: avg_answer_tokens 2.5 in metrics.json, 6 from the rows"),
    (lambda point: point.update(accuracy=2 / 3 + 1e-12), None),  # a float that went through JSON and back
])
def test_disagreements_name_the_point_and_both_numbers(edit, want):
    from s1kit.eval.config import eval_config
    from s1kit.eval.summary import compute_metrics
    from s1kit.runs.directory import disagreements
    from view_runs import method_rows

    config = eval_config(task="synthetic", model="scripted", budgets=[16, 64], seed=3)
    rows = method_rows(config, nano_like_questions(3))
    for row in rows:
        row["correct"] = row["question_index"] != 2
    metrics = compute_metrics(config, rows)
    assert disagreements(metrics, rows) == []
    edit(metrics["points"][1])
    assert disagreements(metrics, rows) == ([want] if want else [])
    assert disagreements(metrics, [r for r in rows if r["budget"] == 16]) == ["point 64: it has no rows in samples.jsonl"]


def test_metrics_that_agree_with_the_rows_give_no_warning(tmp_path):
    run = synthetic_run(tmp_path / "run", nano_like_questions(3), budgets=[16, 64], num_ignore=[0, 1])
    result = runner.invoke(app, ["view", str(run)])
    assert result.exit_code == 0 and "warning" not in result.stderr, result.output
    assert '"warnings":[]' in (run / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("args, fragments", [
    (["{tmp}/missing"], ("missing does not exist",)),
    (["{tmp}/file.txt"], ("is not a directory",)),
    (["{tmp}"], ("has no samples.jsonl",)),
    (["{run}", "--out", "{tmp}/page.txt"], ("end the name with .html",)),
    (["{run}", "--out", "{tmp}/nowhere/page.html"], ("does not exist",)),
    (["{run}", "--out", "{tmp}"], ("is a directory",)),
])
def test_bad_paths_are_one_error_line(tmp_path, args, fragments):
    run = synthetic_run(tmp_path / "run", nano_like_questions(2), budgets=[16])
    (tmp_path / "file.txt").write_text("x")
    error_line(runner.invoke(app, ["view", *(a.format(tmp=tmp_path, run=run) for a in args)]), *fragments)
