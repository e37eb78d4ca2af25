"""Answer probing with early exit: where probes sit, what the rules decide, that a probe never
changes its sequence, and that the backends probe alike (hf beside the sequence, vLLM after it)."""

from __future__ import annotations

import dataclasses

import pytest

from cross_backend import NANO_QUESTIONS, assert_same
from s1kit.backends.scripted import ScriptedBackend
from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.budget.forcing import generate_with_budget
from s1kit.budget.probes import Moment, ProbePlan, Reading, exit_index, replay_positions
from s1kit.budget.state import BudgetTokens, Phase, SequenceState
from s1kit.errors import SettingError
from s1kit.formats import FORMATS
from s1kit.grading.rules import extract_answer
from s1kit.methods.points import MethodPoint
from s1kit.methods.probe_exit import ProbeConfig, run_probe_exit


def readings(*answers, confidences=None):
    confidences = confidences or [1.0] * len(answers)
    return [Reading(a, c) for a, c in zip(answers, confidences)]


@pytest.mark.parametrize("probes, rule, value, fired", [
    (readings("7", "7"), "agree", 2, 1),
    (readings("7", "8", "8"), "agree", 2, 2),
    (readings("7", None, "7"), "agree", 2, None),      # no answer breaks the run
    (readings("7", "7", "7"), "agree", 1, 0),
    (readings("7", "7"), "agree", 3, None),
    (readings("7", "8", confidences=[0.5, 0.95]), "confidence", 0.9, 1),
    (readings("7", confidences=[0.9]), "confidence", 0.9, 0),  # at the threshold fires
    (readings(None, "8", confidences=[0.99, 0.2]), "confidence", 0.9, None),
    ([], "agree", 1, None),
])
def test_exit_rules(probes, rule, value, fired):
    assert exit_index(probes, rule, value) == fired


PLAN = ProbePlan("every", 4, 3, (90, 91), frozenset({50}))


@pytest.mark.parametrize("plan, moment, token, forced, wait_start, taken, due", [
    (PLAN, Moment(Phase.THINKING, False, 4), 7, False, False, 0, True),
    (PLAN, Moment(Phase.THINKING, False, 3), 7, False, False, 0, False),
    (PLAN, Moment(Phase.THINKING, False, 5), 7, False, False, 1, False),   # the next is at 8
    (PLAN, Moment(Phase.THINKING, False, 9), 7, False, False, 1, True),    # a forced stretch pushed it on
    (PLAN, Moment(Phase.THINKING, True, 8), 7, True, False, 1, False),     # inside forced text: not a choice
    (PLAN, Moment(Phase.ANSWER, False, 8), 7, False, False, 1, False),
    (dataclasses.replace(PLAN, at="transitions"), Moment(Phase.THINKING, False, 2), 50, False, False, 0, True),
    (dataclasses.replace(PLAN, at="transitions"), Moment(Phase.THINKING, False, 2), 51, False, False, 0, False),
    (dataclasses.replace(PLAN, at="waits"), Moment(Phase.THINKING, False, 2), 51, True, True, 0, True),
    (dataclasses.replace(PLAN, at="waits"), Moment(Phase.THINKING, False, 2), 51, True, False, 0, False),
])
def test_where_probes_sit(plan, moment, token, forced, wait_start, taken, due):
    assert plan.due(moment, token, forced, wait_start, taken) is due


def scripted(prompt: str) -> str:
    """A model that thinks ten words and answers 42; probed, it says 7 until it has thought six."""
    if prompt.endswith("Final Answer:"):
        words = prompt.split("<|im_start|>think\n")[-1].split("<|im_start|>")[0].split()
        return " 42" if len(words) >= 6 else " 7"
    if prompt.endswith("<|im_start|>answer\n"):
        return "so 42<|im_end|>"
    return "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9<|im_end|>so 42<|im_end|>"


def probe_run(rules, probe=None, cap=None, backend=None, budget=None, ignores=0):
    points = [MethodPoint(cap, cap, ignores, variant=f"{r[0]} {r[1]:g}", rule=r) for r in rules]
    return run_probe_exit(backend or ScriptedBackend(scripted), ["q?"], points, budget or BudgetConfig(), SamplingConfig(),
                          [1], "s1", None, 4, probe or ProbeConfig(probe_every=2, probe_tokens=3),
                          lambda text: extract_answer(text, "integer"))


def test_the_thinking_ends_at_the_probe_where_the_rule_fires():
    agree2, agree9 = probe_run([("agree", 2), ("agree", 9)])
    exited = agree2.generations[0]
    # Probes at 2, 4 (7, 7: agree) ... the rule fires at the probe of 4 words.
    assert exited.thinking == "w0 w1 w2 w3" and exited.answer == "so 42" and exited.forced_spans[0]["kind"] == "exit"
    assert agree2.extras[0]["exited"] and [p["fired"] for p in agree2.extras[0]["probes"]] == [False, True]
    assert agree2.extras[0]["probe_tokens"] == 2 * (len(BudgetTokens.build(FORMATS["s1"], BudgetConfig(),
                                                                          ScriptedBackend("").tokenizer).cap_delimiter) + 2 + 1)
    never = agree9.generations[0]
    assert never.thinking_tokens == 10 and not agree9.extras[0]["exited"] and len(agree9.extras[0]["probes"]) == 4


def test_a_rule_that_never_fires_is_the_plain_run():
    backend = ScriptedBackend(scripted)
    [g] = generate_with_budget(backend, ["q?"], BudgetConfig(), fmt="s1", progress=False)
    [never] = probe_run([("agree", 99)], backend=backend)
    assert never.generations[0].token_ids == g.token_ids and never.generations[0].forced_mask == g.forced_mask


def test_a_cap_before_the_exit_ends_the_thinking_first():
    [run] = probe_run([("agree", 2)], cap=3)
    g = run.generations[0]
    assert g.thinking_tokens == 3 and g.forced_end and not run.extras[0]["exited"]
    assert [p["position"] for p in run.extras[0]["probes"]] == [2]  # only the probes its own run makes


def test_probes_at_forced_waits():
    [run] = probe_run([("agree", 1)], probe=ProbeConfig(probe_at="waits", probe_tokens=3), ignores=1)
    # The model ends after ten words, the Wait replaces it, a probe sits there and fires (42).
    assert run.extras[0]["probes"][0]["thinking_tokens"] == 10 and run.extras[0]["exited"]
    assert run.generations[0].waits_inserted == 0  # it exited where the Wait would have gone


@pytest.mark.parametrize("settings, field", [
    ({"probe_every": 0}, "probe_every"),
    ({"probe_tokens": -1}, "probe_tokens"),
    ({"probe_at": "always"}, "probe_at"),
    ({"probe_confidence": [1.5]}, "probe_confidence"),
    ({"probe_confidence": [0]}, "probe_confidence"),
    ({"probe_agree": [0]}, "probe_agree"),
])
def test_bad_probe_settings_name_the_field(settings, field):
    with pytest.raises(SettingError) as info:
        ProbeConfig(**settings)
    assert info.value.field == field


def test_a_probe_setting_on_a_method_that_does_not_probe_is_refused():
    from s1kit.eval.config import eval_config

    with pytest.raises(SettingError, match=r"--probe-every is probe-exit's; drop it, or pass --method probe-exit"):
        eval_config(task="nano", probe_every=16)


class After:
    """A backend that runs probes after its sequences (as vLLM does), wrapping one that would not."""

    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        if name == "probes_beside":
            return False
        return getattr(self.inner, name)


def test_hf_probes_beside_its_sequences_as_after_them(tiny_llama):
    """The same probes, whether branched off the KV cache as the sequence goes or run afterwards."""
    budget = BudgetConfig(max_thinking_tokens=40, num_ignore=1, max_answer_tokens=6)
    probe = ProbeConfig(probe_every=8, probe_tokens=4)
    points = [MethodPoint(40, 40, 1, variant="agree 2", rule=("agree", 2))]
    questions = ["What is 2+2?", "Name a color.", "Count to three."]

    def probes(backend):
        [run] = run_probe_exit(backend, questions, points, budget, SamplingConfig(), [1, 2, 3], "s1", None, 4, probe,
                               lambda text: extract_answer(text, "integer"))
        return run

    beside, after = probes(tiny_llama), probes(After(tiny_llama))
    assert_same(beside.generations, after.generations)
    assert beside.extras == after.extras and any(e["probes"] for e in beside.extras)


@pytest.mark.parametrize("rule", [("agree", 2), ("agree", 99), ("confidence", 0.5)], ids=str)
def test_vllm_probes_equal_hf(vllm_nano, nano_backend, rule):
    budget = BudgetConfig(max_thinking_tokens=120, num_ignore=1, max_answer_tokens=8)
    probe = ProbeConfig(probe_every=12, probe_tokens=4)
    points = [MethodPoint(120, 120, 1, variant="rule", rule=rule)]

    def run(backend):
        [result] = run_probe_exit(backend, NANO_QUESTIONS, points, budget, SamplingConfig(), [1, 2, 3, 4], "s1", None,
                                  4, probe, lambda text: extract_answer(text, "integer"))
        return result

    on_hf, on_vllm = run(nano_backend), run(vllm_nano)
    assert_same(on_vllm.generations, on_hf.generations)
    for got, want in zip(on_vllm.extras, on_hf.extras):
        assert [p["position"] for p in got["probes"]] == [p["position"] for p in want["probes"]]
        assert [p["answer"] for p in got["probes"]] == [p["answer"] for p in want["probes"]]
        assert [p["confidence"] for p in got["probes"]] == pytest.approx([p["confidence"] for p in want["probes"]], abs=1e-3)
    if rule == ("agree", 99):  # never fires: the plain run
        assert_same(on_hf.generations, generate_with_budget(nano_backend, NANO_QUESTIONS, budget, fmt="s1", progress=False))


def test_replayed_positions_are_where_the_state_probes(tiny_llama):
    budget = BudgetConfig(max_thinking_tokens=30, num_ignore=1)
    tokens = BudgetTokens.build(FORMATS["s1"], budget, tiny_llama.tokenizer)
    state = SequenceState(budget, tokens)
    plan = ProbePlan("every", 7, 2, tuple(tokens.cap_delimiter))
    state.probe_plan = plan
    ids = tiny_llama.tokenizer.encode("hello")
    tiny_llama.run([ids], [state], SamplingConfig(), [0], progress=False)
    assert [(p.position, p.thinking_tokens) for p in state.probes] == replay_positions(plan, state)
    assert all(t >= 7 * (i + 1) for i, (_, t) in enumerate(replay_positions(plan, state)))
