"""Reward-guided search: the allocation rules, steps, the state's step stops, the PRM's checks, and
rebase's and beam's whole course on the scripted model with a scripted PRM."""

import json
import math
import random

import pytest

from s1kit import metrics
from s1kit.backends.forcing_channel import SpecError, check_spec, request_spec, state_from_spec
from s1kit.backends.scripted import ScriptedBackend, ToyTokenizer
from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.budget.search import beam_keep, rebase_widths
from s1kit.budget.state import BudgetTokens, Phase, SequenceState
from s1kit.budget.steps import StepPlan, split_steps, step_end_ids
from s1kit.errors import S1kitError
from s1kit.eval.config import eval_config
from s1kit.formats import FORMATS
from s1kit.reward.base import CheckedPRM


@pytest.mark.parametrize("rewards, width, temperature, expected", [
    ([1.0, 1.0, 0.0, 0.0], 4, 0.1, [2, 2, 0, 0]),   # the low ones get (almost) nothing
    ([0.0, 0.0, 0.0], 4, 1.0, [2, 1, 1]),           # equal rewards: equal shares, the remainder to the first
    ([0.0, 0.0, 0.0], 0, 1.0, [0, 0, 0]),           # no width left
    ([0.5], 7, 0.3, [7]),                           # one live node takes all
    ([1.0, 0.0], 10, 1.0, [7, 3]),                  # e/(e+1) of 10 = 7.3
    ([0.0, 0.0], 3, 1e-9, [2, 1]),                  # a tiny temperature over ties stays even
    ([1000.0, 0.0], 2, 1.0, [2, 0]),                # large rewards do not overflow
    ([], 5, 1.0, []),
])
def test_rebase_shares_the_width_by_softmax_of_rewards(rewards, width, temperature, expected):
    counts = rebase_widths(rewards, width, temperature)
    assert counts == expected
    assert sum(counts) == (width if rewards else 0)


@pytest.mark.parametrize("temperature", [0, -1.0, float("nan")])
def test_rebase_refuses_a_temperature_that_is_not_positive(temperature):
    with pytest.raises(S1kitError, match="rebase_temperature must be a positive number"):
        rebase_widths([0.1], 2, temperature)


@pytest.mark.parametrize("rewards, beam, expected", [
    ([0.2, 0.9, 0.5], 2, [1, 2]),
    ([0.5, 0.5, 0.5], 2, [0, 1]),   # ties: the earlier
    ([0.1], 3, [0]),
    ([0.3, 0.2], 0, []),
])
def test_beam_keeps_the_best(rewards, beam, expected):
    assert beam_keep(rewards, beam) == expected


@pytest.mark.parametrize("text, delimiter, expected", [
    ("a\nb\n\nc", "\n", ["a", "b", "c"]),
    ("one.\n\ntwo\nmore\n\n", "\n\n", ["one.", "two\nmore"]),
    ("", "\n", []),
    ("  \n \n", "\n", []),
])
def test_split_steps(text, delimiter, expected):
    assert split_steps(text, delimiter) == expected


@pytest.mark.parametrize("scores, aggregate, expected", [
    ([0.9, 0.2, 0.7], "min", 0.2), ([0.9, 0.2, 0.7], "last", 0.7), ([0.9, 0.2, 0.7], "mean", 0.6),
    ([0.5, 0.5], "prod", 0.25), ([], "min", 0.0),
])
def test_trace_score(scores, aggregate, expected):
    assert metrics.trace_score(scores, aggregate) == pytest.approx(expected)


def tokens(config, tok):
    return BudgetTokens.build(FORMATS["think-tags"], config, tok)


def test_the_step_ends_are_the_tokens_holding_the_delimiter():
    tok = ToyTokenizer()
    tok.encode("a\nb \n\n")
    ends = step_end_ids(tok, "\n")
    assert ends == {tok.vocab["\n"]}
    with pytest.raises(S1kitError, match=r"no token of scripted's vocabulary holds the step delimiter '§'"):
        step_end_ids(tok, "§")


def feed(state, tok, text):
    """The model writes ``text``; forced positions take none of it (as the scripted model does)."""
    script = tok.encode(text)
    while script and not state.done:
        if state.next_is_forced():
            state.advance(script[0])
        else:
            state.advance(script.pop(0))


def test_a_step_stops_at_its_delimiter_or_its_length_and_the_trace_goes_on_where_it_stopped():
    tok = ToyTokenizer()
    config = BudgetConfig(max_thinking_tokens=6, max_answer_tokens=4)
    budget_tokens = tokens(config, tok)
    plan = StepPlan(step_end_ids(tok, "\n") if tok.encode("\n") else None, max_tokens=3)
    root = SequenceState(config, budget_tokens)
    step = root.resumed(plan)
    feed(step, tok, " a b\n c d")
    assert step.finish_reason == "step" and tok.decode(step.output) == " a b\n"
    child = root.fork()
    child.observe_all(step.output, [])
    assert child.phase is Phase.THINKING and child.thinking_tokens == 3 and root.output == []
    # The next step resumes the trace's budget: the cap (6 thinking tokens) falls inside it.
    step = child.resumed(plan)
    assert step.free_positions() == 3
    feed(step, tok, " c d e f")
    assert step.finish_reason == "step" and len(step.output) == 3  # the step's length
    child.observe_all(step.output, [])
    step = child.resumed(plan)
    feed(step, tok, " g 7<|im_end|>")
    assert step.phase is Phase.DONE and step.finish_reason == "stop" and step.forced_end  # capped, then answered
    assert child.observe_all(step.output, [i for i, f in enumerate(step.forced) if f]) is None
    assert child.done and child.output == [*child.output[:6], *step.output]


def test_a_resumed_step_travels_to_the_engine_and_back():
    tok = ToyTokenizer()
    config = BudgetConfig(max_thinking_tokens=64, num_ignore=1)
    state = SequenceState(config, tokens(config, tok))
    feed(state, tok, " a b c")
    step = state.resumed(StepPlan(frozenset({3, 9}), 16), max_new_tokens=40)
    spec = check_spec(json.dumps(request_spec(step, 5)), vocab_size=100)
    back = state_from_spec(spec)
    assert (back.thinking_tokens, back.waits_inserted, back.step, back.max_new_tokens) == (3, 0, step.step, 40)


@pytest.mark.parametrize("change, message", [
    ({"resume": {"thinking_tokens": -1, "waits_inserted": 0}}, "resume must be an object"),
    ({"resume": {"thinking_tokens": 1}}, "resume must be an object"),
    ({"step": {"ends": [], "max_tokens": 4}}, "step.ends must be a list of 1 to"),
    ({"step": {"ends": [100], "max_tokens": 4}}, "step.ends must be a list"),
    ({"step": {"ends": [1], "max_tokens": 0}}, "step.max_tokens must be null or an integer >= 1"),
    ({"step": [1, 2]}, "step must be an object"),
])
def test_a_bad_step_or_resume_is_refused_before_the_engine(change, message):
    tok = ToyTokenizer()
    config = BudgetConfig()
    spec = {**request_spec(SequenceState(config, tokens(config, tok)), 1), **change}
    with pytest.raises(SpecError, match=message):
        check_spec(spec, vocab_size=100)


class Listed:
    name = "listed"

    def __init__(self, result):
        self.result = result

    def score(self, question, steps):
        return self.result(steps) if callable(self.result) else self.result


@pytest.mark.parametrize("result, message", [
    ([0.5], r"--prm listed scored 1 steps of a trace of 2; a PRM returns one score per step"),
    ([0.5, float("nan")], r"--prm listed returned the score nan; scores must be finite"),
    ([0.5, float("inf")], r"--prm listed returned the score inf"),
    ("ab", r"--prm listed returned 'ab'; a PRM returns one number per step"),
    (lambda steps: 1 / 0, r"--prm listed failed: ZeroDivisionError: division by zero"),
])
def test_a_prm_that_misbehaves_stops_with_one_line_naming_it(result, message):
    with pytest.raises(S1kitError, match=message):
        CheckedPRM(Listed(result), "listed").score("q", ["a", "b"])


def test_a_checked_prm_counts_the_traces_it_scored():
    prm = CheckedPRM(Listed(lambda steps: [1.0] * len(steps)), "listed")
    assert prm.score_many([("q", ["a"]), ("q", ["a", "b"])]) == [[1.0], [1.0, 1.0]]
    assert prm.calls == 2


# --- the whole course on the scripted model --------------------------------------------------------
# Each request writes one line of thinking, " good" or " bad" as its seed draws (good 3 times in
# 5); after three lines the model ends its thinking and answers 4 if every line was good, else 5.

def script(prompt, seed):
    thinking = prompt.rsplit("<think>", 1)[-1] if "<think>" in prompt else prompt.rsplit("assistant", 1)[-1]
    lines = [line for line in thinking.split("\n") if line.strip() in ("good", "bad")]
    if len(lines) >= 3:
        return "<|im_end|> " + ("4" if all(line.strip() == "good" for line in lines) else "5") + "<|im_end|>"
    return (" good" if random.Random(seed).random() < 0.6 else " bad") + "\n more words that a step never reaches\n"


def good_lines(question, steps):
    """A PRM for the scripted world: good lines and the answer 4 are right."""
    return [1.0 if step.strip() in ("good", "4") else 0.0 for step in steps]


def run_method(method, **search):
    from s1kit.grading.rules import extract_answer
    from s1kit.methods.points import MethodPoint
    from s1kit.methods.search import SearchConfig, run_search

    backend = ScriptedBackend(script)
    backend.tokenizer.encode("\n")
    config = SearchConfig(prm="test_search:good_lines", **search)
    size = config.sizes(method)[0]
    point = MethodPoint(None, None, 0, variant=f"x {size}", rule=("width" if method == "rebase" else "beam", size))
    prm = CheckedPRM(Listed(lambda steps: good_lines("", steps)), "listed")
    [run] = run_search(method, backend, ["q one", "q two"], [point], BudgetConfig(max_answer_tokens=4),
                       SamplingConfig(temperature=1.0), [10, 11], "think-tags", None, 16, config=config, prm=prm,
                       extract=lambda text: extract_answer(text, "integer"), delimiter="\n")
    return run, prm


def test_rebase_spends_its_width_on_the_rewarded_nodes():
    run, prm = run_method("rebase", width=[4], rebase_temperature=0.1)
    for generation, extra in zip(run.generations, run.extras):
        tree = extra["tree"]
        leaves = [n for n in tree if "answer" in n]
        assert len(extra["leaves"]) == len(leaves) == 4
        # Depth by depth the width goes to good nodes only: no bad node has children.
        parents = {n["parent"] for n in tree if n["parent"] is not None}
        assert all(tree[p]["reward"] == 1.0 for p in parents)
        assert sum(1 for n in tree if n["depth"] == 1) == 4
        assert all(sum(1 for n in tree if n["depth"] == d) == 4 for d in (2, 3))  # 2 good nodes x 2
        assert extra["weighted_answer"] == "4" and extra["best_leaf_answer"] == "4"
        assert generation.answer.strip() == "4" and "bad" not in generation.thinking
        assert extra["search_tokens"] == sum(n["tokens"] for n in tree) == run.decoded[run.generations.index(generation)]
        assert extra["prm_calls"] == len(tree)
    assert prm.calls == sum(e["prm_calls"] for e in run.extras)


def test_a_hot_rebase_spreads_its_width_and_majority_can_lose_to_the_weighted_vote():
    run, _ = run_method("rebase", width=[4], rebase_temperature=100.0)
    for extra in run.extras:
        depth_one = [n for n in extra["tree"] if n["depth"] == 1]
        parents = {n["parent"] for n in extra["tree"] if n["depth"] == 2}
        assert len(parents) == len(depth_one) == 4  # every first step kept one expansion
        answers = [leaf["answer"] for leaf in extra["leaves"]]
        assert extra["weighted_answer"] == ("4" if "4" in answers else "5")  # only an all-good trace scores
    # Most traces hold a bad line, and majority follows them where the PRM does not.
    assert any(e["majority_answer"] == "5" and e["weighted_answer"] == "4" for e in run.extras)


def test_beam_keeps_its_best_nodes_and_narrows_as_leaves_finish():
    run, _ = run_method("beam", beam_width=[2], expansions=2)
    for extra in run.extras:
        tree = extra["tree"]
        assert sum(1 for n in tree if n["depth"] == 1) == 4  # the root: beam width x expansions
        for depth in (2, 3):
            parents = {n["parent"] for n in tree if n["depth"] == depth}
            assert len(parents) == 2 and all(tree[p]["reward"] == 1.0 for p in parents)
        assert len(extra["leaves"]) == 4 and extra["weighted_answer"] == "4"


# --- in an evaluation --------------------------------------------------------------------------------

pytest.importorskip("math_verify", reason="grading needs the [math] extra")


def evaluate(tmp_path, method, out="run", **options):
    from s1kit.eval.run import main

    task = tmp_path / "t.jsonl"
    task.write_text("".join(json.dumps({"id": i, "question": f"q {i}", "answer": "4"}) + "\n" for i in range(3)))
    config = eval_config(task=f"jsonl:{task}", id_field="id", model="scripted", kind="integer", method=method,
                         max_answer_tokens=4, out=str(tmp_path / out), prm="test_search:good_lines",
                         step_delimiter="\n", format="think-tags", **options)
    backend = ScriptedBackend(script)
    backend.tokenizer.encode("\n")
    main(config, backend=backend)
    rows = [json.loads(line) for line in (tmp_path / out / "samples.jsonl").read_text().splitlines()]
    return rows, json.loads((tmp_path / out / "metrics.json").read_text())


def test_rebase_in_an_evaluation_curves_its_votes_over_the_tokens_its_trees_generated(tmp_path):
    rows, result = evaluate(tmp_path, "rebase", width=[2, 4], rebase_temperature=100.0)
    assert len(rows) == 3 * 2
    assert all(r["correct"] == ("4" in [leaf["answer"] for leaf in r["leaves"]]) for r in rows)
    assert all("vote_texts" not in r and isinstance(r["majority_correct"], bool) for r in rows)
    curves = {c["label"]: c for c in result["curves"]}
    assert set(curves) == {"rebase, reward-weighted vote", "rebase, majority of leaves", "rebase, best leaf"}
    assert all(c["kind"] == "parallel" for c in curves.values())
    weighted = curves["rebase, reward-weighted vote"]["series"]
    assert [s["label"] for s in weighted] == ["width 2", "width 4"]
    by_width = {w: [r for r in rows if r["variant"] == f"width {w}"] for w in (2, 4)}
    assert [s["x"] for s in weighted] == [sum(r["search_tokens"] for r in by_width[w]) / 3 for w in (2, 4)]
    assert [s["accuracy"] for s in weighted] == [sum(r["correct"] for r in by_width[w]) / 3 for w in (2, 4)]
    for vote in ("majority", "best_leaf"):
        name = "majority of leaves" if vote == "majority" else "best leaf"
        series = curves[f"rebase, {name}"]["series"]
        assert [s["accuracy"] for s in series] == [sum(r[f"{vote}_correct"] for r in by_width[w]) / 3 for w in (2, 4)]
    assert all(r["majority_correct"] == (r["majority_answer"] == "4") for r in rows)
    assert any(r["correct"] and not r["majority_correct"] for r in rows)  # the PRM's vote wins one majority loses
    report = (tmp_path / "run" / "report.md").read_text()
    assert "### rebase, reward-weighted vote: accuracy per tree size (tokens = all the tree generated)" in report
    assert f"| width 4 | {100 * weighted[1]['accuracy']:.1f} ± " in report


@pytest.mark.parametrize("method, settings", [("rebase", dict(width=[2, 3])), ("beam", dict(beam_width=[2]))])
def test_a_search_resumes_to_the_rows_of_an_uninterrupted_run(tmp_path, method, settings):
    evaluate(tmp_path, method, out="whole", chunk_units=1, **settings)
    whole = (tmp_path / "whole" / "samples.jsonl").read_bytes()
    evaluate(tmp_path, method, out="cut", chunk_units=1, **settings)
    path = tmp_path / "cut" / "samples.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    half = len(lines) // 2
    path.write_bytes(b"".join(lines[:half]) + lines[half][:40])
    evaluate(tmp_path, method, out="cut", resume=True, chunk_units=1, **settings)
    assert path.read_bytes() == whole


@pytest.mark.parametrize("settings, message", [
    (dict(method="rebase"), r"rebase is guided by a process reward model; pass --prm"),
    (dict(method="rebase", prm="nano-checker", samples=4), r"rebase grows one tree per question.*--width"),
    (dict(method="beam", prm="nano-checker", samples=2), r"--beam-width"),
    (dict(method="rebase", prm="nano-checker", temperature=0.0), r"rebase needs samples"),
    (dict(method="budget-forcing", width=[4]), r"--width is rebase's"),
    (dict(method="rebase", prm="nano-checker", beam_width=[2]), r"--beam-width is beam's"),
    (dict(method="rebase", prm="nano-checker", width=[0]), r"width must be a positive integer"),
    (dict(method="rebase", prm="nano-checker", prm_aggregate="max"), r"unknown prm_aggregate 'max'"),
    (dict(method="rebase", prm="nano-checker", rebase_temperature=0), r"rebase_temperature must be a positive"),
    (dict(method="beam", prm="nano-checker", step_delimiter=""), r"step_delimiter is empty"),
    (dict(method="rebase", prm="nano-checker", backend="openai"), r"rebase stops each request at a step's end.*--backend hf or vllm"),
])
def test_bad_search_settings_are_one_line(settings, message):
    with pytest.raises(S1kitError, match=message):
        eval_config(task="nano", **settings)


def test_the_step_delimiter_defaults_to_a_line_for_nano_and_a_blank_line_elsewhere():
    assert eval_config(task="nano", method="rebase", prm="nano-checker").step_delimiter() == "\n"
    assert eval_config(task="math500", method="rebase", prm="x:y").step_delimiter() == "\n\n"
    assert eval_config(task="math500", method="rebase", prm="x:y", step_delimiter="\n").step_delimiter() == "\n"


def test_softmax_shares_sum_to_width_over_many_random_cases():
    import random

    rng = random.Random(0)
    for _ in range(300):
        rewards = [rng.uniform(-3, 3) for _ in range(rng.randint(1, 9))]
        width = rng.randint(0, 40)
        counts = rebase_widths(rewards, width, rng.choice([0.05, 0.3, 1.0, 5.0]))
        assert sum(counts) == width and all(c >= 0 for c in counts)
        best = max(range(len(rewards)), key=lambda i: rewards[i])
        assert counts[best] == max(counts)
        assert not math.isnan(sum(counts))


def step_lengths(question, steps):
    """A PRM that needs no model: longer steps score higher (to 20 characters)."""
    return [min(len(step), 20) / 20 for step in steps]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["rebase", "beam"])
def test_vllm_search_equals_hf_greedy(method, vllm_nano, nano_backend):
    """Steps stop, resume their budget and come back alike from vLLM's engine and from hf."""
    from cross_backend import NANO_QUESTIONS, assert_same
    from s1kit.grading.rules import extract_answer
    from s1kit.methods.points import MethodPoint
    from s1kit.methods.search import SearchConfig, run_search

    config = SearchConfig(prm="lengths", width=[3], beam_width=[2], expansions=2, max_step_tokens=12)
    point = MethodPoint(60, 60, 1, variant="size", rule=("width", 3) if method == "rebase" else ("beam", 2))

    def run(backend):
        prm = CheckedPRM(Listed(lambda steps: step_lengths("", steps)), "lengths")
        [result] = run_search(method, backend, NANO_QUESTIONS, [point], BudgetConfig(max_thinking_tokens=60, num_ignore=1,
                              max_answer_tokens=8), SamplingConfig(), [1, 2, 3, 4], "s1", None, 16, config=config,
                              prm=prm, extract=lambda text: extract_answer(text, "integer"), delimiter="\n")
        return result

    got, want = run(vllm_nano), run(nano_backend)
    assert_same(got.generations, want.generations)
    assert got.extras == want.extras
    trees = [e["tree"] for e in want.extras]
    assert any(n["tokens"] == 12 for tree in trees for n in tree)  # some step ran to its length
    assert any(g.waits_inserted for g in want.generations) and any(g.forced_end for g in want.generations)


def whole_trace(prompt, seed):
    """One sample's whole trace in the scripted world: three drawn lines, then the answer."""
    draws = random.Random(seed)
    lines = [" good" if draws.random() < 0.6 else " bad" for _ in range(3)]
    return "\n".join(lines) + "\n<|im_end|> " + ("4" if all(line == " good" for line in lines) else "5") + "<|im_end|>"


@pytest.mark.parametrize("method, plain, scored", [("majority", "majority", "majority, PRM-weighted"),
                                                   ("best-of-n", None, "best-of-n, PRM-picked")])
def test_majority_and_best_of_n_weigh_or_pick_by_the_prm(tmp_path, method, plain, scored):
    from s1kit.eval.run import main

    task = tmp_path / "t.jsonl"
    task.write_text("".join(json.dumps({"id": i, "question": f"q {i}", "answer": "4"}) + "\n" for i in range(4)))
    config = eval_config(task=f"jsonl:{task}", id_field="id", model="scripted", kind="integer", method=method,
                         samples=4, max_answer_tokens=4, out=str(tmp_path / "run"), prm="test_search:good_lines",
                         step_delimiter="\n", format="think-tags")
    main(config, backend=ScriptedBackend(whole_trace))
    rows = [json.loads(line) for line in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    for r in rows:  # three lines and the answer, each scored; the trace by its lowest step
        assert len(r["prm_scores"]) == 4 and r["prm_score"] == min(r["prm_scores"]) == float(r["correct"])
    curves = {c["label"]: c for c in json.loads((tmp_path / "run" / "metrics.json").read_text())["curves"]}
    assert set(curves) == {scored} | ({plain} if plain else set())
    by_question = [[r for r in rows if r["question_index"] == q] for q in range(4)]
    # The PRM knows a right trace when it sees one: any right sample among the first k wins.
    expected = [sum(any(r["correct"] for r in q[:k]) for q in by_question) / 4 for k in (1, 2, 4)]
    assert [s["accuracy"] for s in curves[scored]["series"]] == expected
    if plain:
        assert [s["accuracy"] for s in curves[plain]["series"]][-1] <= expected[-1]


def test_a_step_delimiter_typed_in_a_shell_is_read_with_its_escapes():
    from s1kit.methods.search import SearchConfig

    assert SearchConfig(step_delimiter="\\n\\n").step_delimiter == "\n\n"
    assert SearchConfig(step_delimiter="\\t;").step_delimiter == "\t;"
    assert SearchConfig(step_delimiter="\n").step_delimiter == "\n"


@pytest.mark.slow
def test_vllm_samples_a_wide_search_whose_prompts_overflow_one_engine_step(vllm_nano):
    """Hundreds of seeded requests at once: their prompts fill more than one engine step, which
    vLLM's CPU runner cannot prefill in chunks for seeded requests."""
    from s1kit.grading.rules import extract_answer
    from s1kit.methods.points import MethodPoint
    from s1kit.methods.search import SearchConfig, run_search
    from s1kit.reward.load import load_prm
    from s1kit.tasks import get_task

    questions = [e.question for e in get_task("nano").load(None, 24, 0)]
    [run] = run_search("rebase", vllm_nano, questions, [MethodPoint(64, 64, 0, rule=("width", 16))],
                       BudgetConfig(max_thinking_tokens=64, max_answer_tokens=8), SamplingConfig(temperature=1.0),
                       list(range(24)), "s1", None, 512, config=SearchConfig(prm="nano-checker"),
                       prm=load_prm("nano-checker"), extract=lambda text: extract_answer(text, "integer"),
                       delimiter="\n")
    assert all(len(extra["leaves"]) == 16 for extra in run.extras)
    assert len({g.text for g in run.generations}) > 1


@pytest.mark.slow
def test_a_search_that_fails_on_vllm_leaves_nothing_running_in_the_engine(vllm_nano):
    from cross_backend import NANO_QUESTIONS
    from s1kit.grading.rules import extract_answer
    from s1kit.methods.points import MethodPoint
    from s1kit.methods.search import SearchConfig, run_search

    calls = []

    def failing(steps):
        calls.append(steps)
        if len(calls) > 1:
            raise ValueError("the reward model fell over")
        return [0.5] * len(steps)

    with pytest.raises(S1kitError, match="--prm flaky failed: ValueError: the reward model fell over"):
        run_search("rebase", vllm_nano, NANO_QUESTIONS, [MethodPoint(64, 64, 0, rule=("width", 4))],
                   BudgetConfig(max_thinking_tokens=64, max_answer_tokens=8), SamplingConfig(temperature=1.0),
                   [1, 2, 3, 4], "s1", None, 16, config=SearchConfig(prm="flaky"), prm=CheckedPRM(Listed(failing), "flaky"),
                   extract=lambda text: extract_answer(text, "integer"), delimiter="\n")
    assert not vllm_nano.llm.llm_engine.has_unfinished_requests()


def test_a_reward_model_loads_on_the_device_the_run_names(monkeypatch):
    import s1kit.reward.hf
    from s1kit.reward.load import load_prm

    asked = []
    monkeypatch.setattr(s1kit.reward.hf, "load_hf_prm", lambda spec, device: asked.append((spec, device)) or Listed([]))
    load_prm("some/reward-model", "cuda:1")
    load_prm("some/reward-model")
    assert asked == [("some/reward-model", "cuda:1"), ("some/reward-model", "auto")]


def test_the_learned_nano_prm_missing_from_an_installation_is_one_line(tmp_path, monkeypatch):
    import s1kit.models
    from s1kit.reward.load import load_prm

    monkeypatch.setattr(s1kit.models, "CHECKPOINTS", tmp_path)
    with pytest.raises(S1kitError, match=r"--prm s1-nano-prm is not in this installation .*recipes/nano/prm.yaml"):
        load_prm("s1-nano-prm")


def test_the_shipped_nano_prm_tells_a_backed_answer_from_a_guess():
    pytest.importorskip("transformers", reason="a Hugging Face PRM needs the [hf] extra")
    from s1kit.reward.load import load_prm

    prm = load_prm("s1-nano-prm")
    question = "A3 B8 C5 D1: which plus 6 makes 11?"
    work = ["A3+6=9 vs 11 no", "B8+6=14 vs 11 no", "C5+6=11 vs 11 yes"]
    backed, guessed = prm.score_many([(question, [*work, "Final Answer: 5"]), (question, [*work[:2], "Final Answer: 1"])])
    assert len(backed) == 4 and len(guessed) == 3
    assert backed[-1] > 0.5 > guessed[-1]


def test_the_shipped_nano_prm_names_the_recipe_it_was_made_with():
    """Change a recipe file and the PRM must be trained (and bundled) again with it."""
    import hashlib
    from pathlib import Path

    from s1kit.models import CHECKPOINTS

    root = Path(__file__).resolve().parents[1]
    provenance = json.loads((CHECKPOINTS / "s1-nano-prm" / "provenance.json").read_text())
    for path, facts in provenance["recipes"].items():
        assert hashlib.sha256((root / path).read_bytes()).hexdigest() == facts["sha256"], f"{path} changed since bundling"
    for name, facts in provenance["files"].items():
        assert hashlib.sha256((CHECKPOINTS / "s1-nano-prm" / name).read_bytes()).hexdigest() == facts["sha256"]
    assert sum(f["bytes"] for f in provenance["files"].values()) <= 15 * 2**20
    assert provenance["training"]["objective"] == "prm" and provenance["agreement_with_nano_checker"]
