"""AlphaOne's schedule, NoThinking, and s1's extension strings (Table 4): the decisions on the
scripted model, and greedy equality across hf and vLLM."""

from __future__ import annotations

import json

import pytest

from cross_backend import NANO_QUESTIONS, assert_same
from s1kit.backends.scripted import ScriptedBackend
from s1kit.budget.alpha import AlphaPlan
from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.budget.forcing import generate_with_budget
from s1kit.budget.state import BudgetTokens, SequenceState
from s1kit.errors import S1kitError, SettingError
from s1kit.eval.config import eval_config
from s1kit.formats import FORMATS

TOKENIZER = ScriptedBackend("").tokenizer


def scripted_state(budget=None, alpha=None):
    budget = budget or BudgetConfig()
    state = SequenceState(budget, BudgetTokens.build(FORMATS["s1"], budget, TOKENIZER))
    state.alpha = alpha
    return state


def play(state, script: str) -> str:
    """The scripted model's picks through ``state``: the output's text."""
    ScriptedBackend(script, tokenizer=TOKENIZER).run([[0]], [state], SamplingConfig(), [0], progress=False)
    return TOKENIZER.decode(state.output)


# --- AlphaOne ----------------------------------------------------------------------------------

def plan(moment, p=1.0, seed=0):
    breaks = frozenset({TOKENIZER.encode("\n")[0]})
    transitions = frozenset({TOKENIZER.encode(" Wait")[0], TOKENIZER.encode("Wait")[0]})
    return AlphaPlan(moment, p, breaks, transitions, seed)


@pytest.mark.parametrize("thinking, p, chance", [(0, 0.5, 0.5), (5, 0.5, 0.25), (10, 0.5, 0.0), (20, 1.0, 0.0)])
def test_the_wait_probability_falls_linearly_to_the_moment(thinking, p, chance):
    assert plan(10, p).wait_probability(thinking) == pytest.approx(chance)


def test_before_the_moment_waits_follow_breaks_after_it_a_transition_ends_the_thinking():
    state = scripted_state(alpha=plan(6, p=1.0, seed=1))
    text = play(state, "a\nb\nc Wait d e<|im_end|>42<|im_end|>")
    # Both breaks come before the moment (chances 2/3 and 1/6; seed 1 draws a wait after each); the
    # model's " Wait" at 7 thinking tokens lies past it, so the end of thinking takes its place.
    assert text == "a\nWaitb\nWaitc<|im_start|>answer\n d e<|im_end|>"
    assert [s.kind for s in state.spans] == ["wait", "wait", "end"] and state.waits_inserted == 2


def test_a_break_at_or_past_the_moment_never_draws_a_wait():
    for seed in range(20):
        state = scripted_state(alpha=plan(2, p=1.0, seed=seed))
        assert play(state, "a\nb\nc\nd<|im_end|>42<|im_end|>") == "a\nb\nc\nd<|im_start|>answer\n42<|im_end|>"
        assert state.waits_inserted == 0


def test_the_schedule_draws_alike_with_a_seed_and_otherwise_with_another():
    script = "a\nb\nc\nd\ne\nf\ng\nh<|im_end|>42<|im_end|>"
    runs = {seed: play(scripted_state(alpha=plan(40, p=0.5, seed=seed)), script) for seed in (1, 1, 2, 3, 4)}
    assert play(scripted_state(alpha=plan(40, p=0.5, seed=1)), script) == runs[1]
    assert len(set(runs.values())) > 1


def test_a_replay_of_the_tokens_draws_the_same_waits():
    """The engine's processor and its front end replay the schedule from the tokens: the same draws."""
    state = scripted_state(alpha=plan(12, p=0.7, seed=5))
    play(state, "a\nb\nc\nd\ne Wait f\ng<|im_end|>42<|im_end|>")
    again = scripted_state(alpha=plan(12, p=0.7, seed=5))
    forced = [i for i, f in enumerate(state.forced) if f]
    assert again.observe_all(state.output, forced) is None
    assert (again.spans, again.waits_inserted) == (state.spans, state.waits_inserted)


@pytest.mark.parametrize("settings, message", [
    ({"method": "alpha-one", "alpha": [0]}, "alpha must be above 0"),
    ({"method": "alpha-one", "alpha_tokens": [0]}, "alpha_tokens must be a positive integer"),
    ({"method": "alpha-one", "alpha_p": 1.5}, "alpha_p must be a probability"),
    ({"method": "alpha-one", "alpha": [1.0], "alpha_tokens": [64]}, "pass --alpha or --alpha-tokens, not both"),
    ({"method": "alpha-one", "alpha_tokens": [600], "budgets": [512]}, "lies past the cap 512"),
    ({"alpha": [1.2]}, "--alpha is alpha-one's; drop it, or pass --method alpha-one"),
    ({"method": "no-thinking", "budgets": [64]}, "no-thinking does not think"),
    ({"method": "probe-exit", "wait_string": "Wait,Hmm"}, "only budget-forcing sweeps them"),
])
def test_bad_settings_of_these_methods_stop_before_a_model_loads(settings, message):
    with pytest.raises(S1kitError, match=message):
        eval_config(task="nano", **settings)


# --- s1's extension strings --------------------------------------------------------------------

def test_an_empty_wait_string_suppresses_the_end_and_appends_nothing():
    plain = play(scripted_state(), "a b<|im_end|>42<|im_end|>")
    state = scripted_state(BudgetConfig(num_ignore=2, wait_string=""))
    # Greedy, the model picks the end again at once: two suppressions, nothing appended (Table 4).
    assert play(state, "a b<|im_end|>42<|im_end|>") == plain
    assert state.waits_inserted == 2 and [s.kind for s in state.spans] == ["end"]
    assert scripted_state(BudgetConfig(num_ignore=2, wait_string="")).replacement_for_end() == \
        BudgetTokens.build(FORMATS["s1"], BudgetConfig(), TOKENIZER).answer_opener[0]


def test_an_empty_wait_string_cannot_reach_a_minimum():
    with pytest.raises(SettingError, match="min_thinking_tokens must be reached"):
        BudgetConfig(min_thinking_tokens=5, wait_string="")


def test_table_4_is_one_command(tmp_path):
    from s1kit.eval.run import main

    task = tmp_path / "t.jsonl"
    task.write_text("".join(json.dumps({"id": i, "question": f"q{i}", "answer": "42"}) + "\n" for i in range(2)))
    config = eval_config(task=f"jsonl:{task}", id_field="id", kind="integer", model="scripted", format="s1",
                         num_ignore=[0, 2], wait_string=",Alternatively,Hmm,Wait", out=str(tmp_path / "run"))
    metrics = main(config, backend=ScriptedBackend("a b<|im_end|>42<|im_end|>"))
    labels = [(p["num_ignore"], p["label"]) for p in metrics["points"]]
    assert labels == [(0, "no budget"), (2, "no string"), (2, "wait 'Alternatively'"), (2, "wait 'Hmm'"),
                      (2, "wait 'Wait'")]
    assert [c["label"] for c in metrics["curves"]] == ["budget-forcing, no string", "budget-forcing, wait 'Alternatively'",
                                                       "budget-forcing, wait 'Hmm'", "budget-forcing, wait 'Wait'"]


def test_the_wait_strings_parse_from_text():
    assert eval_config(task="nano", wait_string=",Hmm").wait_string == ["", "Hmm"]
    assert eval_config(task="nano", wait_string="").wait_string == [""]
    with pytest.raises(SettingError, match="wait_string lists Hmm more than once"):
        eval_config(task="nano", wait_string="Hmm,Hmm")


# --- NoThinking ----------------------------------------------------------------------------------

def test_no_thinking_answers_at_once():
    from s1kit.methods.no_thinking import run_no_thinking
    from s1kit.methods.points import MethodPoint

    [run] = run_no_thinking(ScriptedBackend("so 42<|im_end|>"), ["q?"], [MethodPoint(None, None, variant="no thinking")],
                            BudgetConfig(), SamplingConfig(), [0], "s1", None, 4)
    g = run.generations[0]
    assert g.thinking == "" and g.thinking_tokens == 0 and g.answer == "so 42" and g.forced_spans[0]["kind"] == "exit"


# --- across backends --------------------------------------------------------------------------------

def test_scheduled_and_stringless_extensions_are_the_same_on_vllm_and_hf(vllm_nano, nano_backend):
    from s1kit.methods.alpha_one import AlphaConfig, run_alpha_one
    from s1kit.methods.no_thinking import run_no_thinking
    from s1kit.methods.points import MethodPoint

    budget = BudgetConfig(max_thinking_tokens=160, max_answer_tokens=8)
    seeds = [3, 4, 5, 6]
    points = [MethodPoint(160, 160, 0, variant="a", rule=("alpha", 1.0)), MethodPoint(160, 160, 0, variant="b",
                                                                                          rule=("alpha_tokens", 20))]
    config = AlphaConfig(alpha_p=0.8)
    alpha = [run_alpha_one(b, NANO_QUESTIONS, points, budget, SamplingConfig(), seeds, "s1", None, 4, config)
             for b in (nano_backend, vllm_nano)]
    for on_hf, on_vllm in zip(*alpha):
        assert_same(on_vllm.generations, on_hf.generations)
        assert on_hf.extras == on_vllm.extras
    stringless = BudgetConfig(max_thinking_tokens=160, num_ignore=2, wait_string="", max_answer_tokens=8)
    assert_same(generate_with_budget(vllm_nano, NANO_QUESTIONS, stringless, fmt="s1", progress=False),
                generate_with_budget(nano_backend, NANO_QUESTIONS, stringless, fmt="s1", progress=False))
    nothing = [run_no_thinking(b, NANO_QUESTIONS, [MethodPoint(None, None, variant="n")], budget, SamplingConfig(), seeds,
                               "s1", None, 4)[0] for b in (nano_backend, vllm_nano)]
    assert_same(nothing[1].generations, nothing[0].generations)
    with pytest.raises(S1kitError, match="empty wait string extends thinking only greedily"):
        generate_with_budget(vllm_nano, NANO_QUESTIONS[:1], stringless, SamplingConfig(temperature=1.0), fmt="s1",
                             progress=False)
