"""The text-round control loop (budget/text_state.py) decides exactly as the token loop does.

A scripted "server" plays the scripted model of tests/test_budget.py in rounds: it writes script
tokens until the round's max_tokens or a stop (an end-of-thinking token while thinking, the end of
turn always), and returns the text without the stop token, as OpenAI-compatible servers do. The
text loop, fed those rounds, must give the same thinking, answer, counts and spans as the token
loop on the same script.
"""

from __future__ import annotations

import itertools

import pytest

from s1kit.backends.scripted import ScriptedBackend, ToyTokenizer
from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.budget.forcing import generate_with_budget
from s1kit.budget.state import Phase
from s1kit.budget.text_state import PieceCounts, TextPieces, TextState
from s1kit.formats import FORMATS

QUESTION = "What is 2+2?"
SCRIPTS = [
    "a b<|im_end|> c d<|im_end|> e f<|im_end|>",
    "one two three four five six seven eight nine ten",
    "x<|im_end|>",
    "p<|im_start|>q</think>r s t u<|im_end|> v w",
    "<|im_end|>",
    "a b c d e f g h i j k l m n o p<|im_end|>ans wer<|im_end|> more",
]
BUDGETS = [
    dict(max_thinking_tokens=cap, num_ignore=k, min_thinking_tokens=m, max_answer_tokens=a, wait_string=w)
    for cap, k, m, a, w in itertools.product((None, 1, 3, 8), (0, 1, 3), (0, 5), (2, 50), ("Wait", " hmm wait"))
    if cap is None or m <= cap
]


def text_rounds(script: str | list[int], fmt: str, budget: BudgetConfig, tok) -> TextState:
    """The text loop fed the script (text, or the token ids the model picks) in server rounds."""
    chat_format = FORMATS[fmt]
    pieces = TextPieces.build(chat_format, budget)
    counts = PieceCounts(*(len(tok.encode(getattr(pieces, n))) for n in ("wait", "answer_opener", "cap_delimiter", "answer_prefix")))
    state = TextState(budget, pieces, counts)
    ids = tok.encode(script) if isinstance(script, str) else list(script)
    eos = set(tok.eos_token_ids)
    cursor = 0
    for _ in range(1000):
        if state.done:
            return state
        wanted, stop_strings = state.next_request()
        stops = eos | {tok.single_token_id(s) for s in stop_strings}
        written, finish = [], "length"
        while wanted is None or len(written) < wanted:
            pick = ids[cursor] if cursor < len(ids) else min(eos)
            cursor += 1
            if pick in stops:
                finish = "stop"
                break
            written.append(pick)
        state.consume(tok.decode(written), len(written), finish)
    raise AssertionError("the text loop did not finish")


@pytest.mark.parametrize("fmt", ["s1", "think-tags"])
@pytest.mark.parametrize("script", SCRIPTS)
def test_text_rounds_decide_as_the_token_loop(fmt, script):
    for options in BUDGETS:
        budget = BudgetConfig(**options)
        tok = ToyTokenizer()
        [want] = generate_with_budget(ScriptedBackend(script, tokenizer=tok), [QUESTION], budget, SamplingConfig(), fmt=fmt, progress=False)
        got = text_rounds(script, fmt, budget, tok)
        case = f"{options} on {script!r}"
        assert got.thinking == want.thinking, case
        assert got.answer == want.answer, case
        assert (got.thinking_tokens, got.answer_tokens, got.waits_inserted, got.forced_end, got.finish_reason) == (
            want.thinking_tokens, want.answer_tokens, want.waits_inserted, want.forced_end, want.finish_reason), case
        assert got.spans == want.forced_spans, case
        # The server's text leaves out the end-of-turn token the token loop keeps.
        assert got.output == want.text.removesuffix("<|im_end|>"), case


def _state(**budget) -> TextState:
    counts = PieceCounts(wait=1, answer_opener=3, cap_delimiter=4, answer_prefix=3)
    return TextState(BudgetConfig(**budget), TextPieces.build(FORMATS["s1"], BudgetConfig(**budget)), counts)


def test_requests_ask_for_what_is_left():
    state = _state(max_thinking_tokens=10, num_ignore=1, max_answer_tokens=6)
    assert state.next_request() == (10, ("<|im_start|>", "<|im_end|>"))
    state.consume("a b c", 3, "stop")  # an end: suppressed, Wait appended (1 token)
    assert (state.thinking_tokens, state.waits_inserted, state.output) == (4, 1, "a b cWait")
    assert state.next_request() == (6, ("<|im_start|>", "<|im_end|>"))
    state.consume(" d", 2, "length")  # short of what was asked (a local count): ask for the rest
    assert state.phase is Phase.THINKING and state.next_request()[0] == 4
    state.consume(" e f", 4, "length")  # at the cap: delimiter and prefix forced
    assert state.forced_end and state.answer_tokens == 3
    assert state.next_request() == (6, ())
    state.consume(" 4", 1, "stop")
    assert (state.finish_reason, state.answer, state.answer_tokens) == ("stop", "Final Answer: 4", 4)
    with pytest.raises(RuntimeError, match="finished"):
        state.consume("x", 1, "stop")


@pytest.mark.parametrize("in_answer", [False, True])
def test_a_full_context_ends_with_length(in_answer):
    state = _state(max_thinking_tokens=None)
    if in_answer:
        state.consume("a", 1, "stop")  # the model ends thinking: the answer opener follows
    state.consume(" b c", 2, "context")
    assert (state.done, state.finish_reason) == (True, "length")
    assert (state.answer_tokens, state.thinking_tokens) == ((2, 1) if in_answer else (0, 2))


def test_unknown_finish_is_a_bug():
    with pytest.raises(ValueError, match="finish must be"):
        _state().consume("a", 1, "eos")
