"""Budget forcing (s1 paper, section 3.1) through the scripted backend.

The scripted "model" picks the next token of its script wherever the controller does not force
one, and end-of-turn (``<|im_end|>``) once the script is exhausted. Forced tokens do not consume
the script. Every end-of-thinking pick is an end attempt, the end-of-turn picks of an exhausted
script included.
"""

from __future__ import annotations

import pytest

from s1kit.backends.scripted import ScriptedBackend, ToyTokenizer
from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.budget.forcing import generate_with_budget
from s1kit.errors import S1kitError

QUESTION = "What is 2+2?"
EOS = "<|im_end|>"
FORMATS = ("s1", "think-tags")
CAP_TEXT = {
    "s1": "\n<|im_start|>answer\nFinal Answer:",
    "think-tags": "\n</think>\n\nFinal Answer:",
}
END_TEXT = {"s1": "<|im_start|>answer\n", "think-tags": "</think>\n\n"}
PROMPT_TEXT = {
    "s1": f"<|im_start|>user\n{QUESTION}<|im_end|>\n<|im_start|>assistant\n<|im_start|>think\n",
    "think-tags": f"<|im_start|>user\n{QUESTION}<|im_end|>\n<|im_start|>assistant\n<think>\n",
}
THREE_ENDS = "a b<|im_end|> c d<|im_end|> e f<|im_end|>"


def words(n: int, start: int = 0) -> str:
    return "".join(f" w{i}" for i in range(start, start + n)).lstrip()


def run(script, fmt="s1", context_length=None, tokenizer=None, questions=(QUESTION,), **budget):
    backend = ScriptedBackend(script, tokenizer=tokenizer, context_length=context_length)
    gens = generate_with_budget(backend, list(questions), BudgetConfig(**budget), SamplingConfig(), fmt=fmt, progress=False)
    return gens[0], backend


def assert_consistent(g, tok):
    """The bookkeeping of one Generation agrees with its own token ids."""
    ids, mask, spans = g.token_ids, g.forced_mask, g.forced_spans
    assert len(mask) == len(ids)
    assert g.text == tok.decode(ids)

    # Spans and mask describe the same positions; spans are ordered and disjoint.
    in_span = [False] * len(ids)
    previous_end = 0
    for span in spans:
        assert previous_end <= span["start"] < span["end"] <= len(ids), spans
        assert span["kind"] in {"wait", "cap", "end"}
        assert span["text"] == tok.decode(ids[span["start"] : span["end"]])
        assert g.text[span["char_start"] : span["char_end"]] == span["text"]
        assert span["char_start"] == len(tok.decode(ids[: span["start"]]))  # the toy's tokens are whole words
        for i in range(span["start"], span["end"]):
            in_span[i] = True
        previous_end = span["end"]
    assert mask == in_span

    # At most one span ends thinking, and only wait spans come before it.
    kinds = [s["kind"] for s in spans]
    closers = [s for s in spans if s["kind"] != "wait"]
    assert len(closers) <= 1
    if closers:
        assert kinds[-1] == closers[0]["kind"]
    assert g.waits_inserted == kinds.count("wait")
    assert g.forced_end == ("cap" in kinds)

    # Thinking = everything before the closing delimiter (waits included, delimiters excluded).
    boundary = closers[0]["start"] if closers else len(ids)
    sampled_thinking = sum(not forced for forced in mask[:boundary])
    wait_tokens = sum(s["end"] - s["start"] for s in spans if s["kind"] == "wait")
    assert g.thinking_tokens == boundary == sampled_thinking + wait_tokens
    assert g.thinking == tok.decode(ids[:boundary])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("natural", [1, 2, 5, 8])
@pytest.mark.parametrize("cap", [1, 2, 3, 5, 8, 13])
def test_cap_is_exact(fmt, natural, cap):
    # The script thinks for `natural` tokens, then ends (exhausted script -> end-of-turn).
    g, backend = run(words(natural), fmt=fmt, max_thinking_tokens=cap)
    tok = backend.tokenizer
    assert_consistent(g, tok)

    assert g.thinking_tokens == min(cap, natural) <= cap
    assert g.thinking == words(min(cap, natural))
    assert g.forced_end == (natural >= cap)
    assert g.finish_reason == "stop"
    if g.forced_end:
        (span,) = g.forced_spans
        assert span["kind"] == "cap"
        assert span["text"] == CAP_TEXT[fmt]
        assert g.answer.startswith("Final Answer:")
        # The model goes on with its script after the forced prefix.
        rest = words(natural - cap, start=cap)
        assert g.answer == "Final Answer:" + (" " + rest if rest else "")
        delimiter = CAP_TEXT[fmt].removesuffix("Final Answer:")
    else:
        (span,) = g.forced_spans
        assert span["kind"] == "end"
        assert span["text"] == END_TEXT[fmt]
        assert g.answer == ""
        delimiter = END_TEXT[fmt]
    # The answer section starts right after the delimiter and runs to the end-of-turn token.
    assert g.text == g.thinking + delimiter + g.answer + EOS


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("num_ignore", [0, 1, 3, 10])
@pytest.mark.parametrize("min_thinking", [0, 2, 4])
@pytest.mark.parametrize("cap", [4, 5, 7])
@pytest.mark.parametrize("wait_string", ["Wait", "Hmm, wait"])
@pytest.mark.parametrize("script", [THREE_ENDS, "x<|im_end|>", words(20), "p<|im_start|>q</think>r"])
def test_cap_holds_whatever_the_extension_settings(fmt, num_ignore, min_thinking, cap, wait_string, script):
    g, backend = run(
        script,
        fmt=fmt,
        max_thinking_tokens=cap,
        num_ignore=num_ignore,
        min_thinking_tokens=min_thinking,
        wait_string=wait_string,
    )
    assert_consistent(g, backend.tokenizer)
    assert g.thinking_tokens <= cap
    assert g.finish_reason == "stop"
    # Thinking ends either by the cap or by the model; the model may only end once
    # every required wait has been inserted.
    if not g.forced_end:
        assert g.waits_inserted >= num_ignore
        assert g.thinking_tokens >= min_thinking


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "num_ignore, thinking, answer",
    [
        (0, "a b", " c d"),
        (1, "a bWait c d", " e f"),
        (2, "a bWait c dWait e f", ""),
        (3, "a bWait c dWait e fWait", ""),
    ],
)
def test_num_ignore_inserts_exactly_k_waits(fmt, num_ignore, thinking, answer):
    # The script tries to end three times, then keeps ending (exhausted -> end-of-turn).
    g, backend = run(THREE_ENDS, fmt=fmt, num_ignore=num_ignore)
    assert_consistent(g, backend.tokenizer)
    assert g.waits_inserted == num_ignore
    assert [s["text"] for s in g.forced_spans if s["kind"] == "wait"] == ["Wait"] * num_ignore
    assert g.thinking == thinking
    assert g.thinking.count("Wait") == num_ignore
    assert g.forced_end is False
    assert g.forced_spans[-1]["kind"] == "end"
    # After the last allowed end the model answers with the rest of its script.
    assert g.answer == answer
    assert g.finish_reason == "stop"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "script, num_ignore, thinking",
    [
        # One end in the script: the exhausted script keeps picking end-of-turn, and each of
        # those picks is an end attempt too, so it still takes K waits to get through.
        ("a b<|im_end|>", 0, "a b"),
        ("a b<|im_end|>", 1, "a bWait"),
        ("a b<|im_end|>", 3, "a bWaitWaitWait"),
        ("a b", 2, "a bWaitWait"),
        ("", 2, "WaitWait"),
        # Two ends, four ignores: two ends from the script, two from the exhausted script.
        ("a<|im_end|> b<|im_end|>", 4, "aWait bWaitWaitWait"),
    ],
)
def test_num_ignore_counts_end_attempts_of_an_exhausted_script(fmt, script, num_ignore, thinking):
    g, backend = run(script, fmt=fmt, num_ignore=num_ignore)
    assert_consistent(g, backend.tokenizer)
    assert g.waits_inserted == num_ignore
    assert g.thinking == thinking
    assert g.answer == ""
    assert g.finish_reason == "stop"


@pytest.mark.parametrize(
    "fmt, token, ends_thinking",
    [
        ("s1", "<|im_start|>", True),
        ("s1", "<|im_end|>", True),
        ("s1", "</think>", False),
        ("s1", "<think>", False),
        ("think-tags", "</think>", True),
        ("think-tags", "<|im_end|>", True),
        ("think-tags", "<|im_start|>", False),
        ("think-tags", "<think>", False),
    ],
)
def test_which_tokens_end_thinking(fmt, token, ends_thinking):
    g, backend = run(f"a b{token} c d", fmt=fmt, num_ignore=1)
    assert_consistent(g, backend.tokenizer)
    if ends_thinking:
        # The token is suppressed and replaced by the wait; the script goes on after it.
        assert g.thinking == "a bWait c d"
        assert token not in g.thinking
    else:
        # An ordinary thinking token: the only end attempt is the exhausted script's.
        assert g.thinking == f"a b{token} c dWait"
    assert g.waits_inserted == 1


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "script, min_thinking, cap, thinking, waits",
    [
        ("a b<|im_end|> c<|im_end|>", 0, None, "a b", 0),
        ("a b<|im_end|> c<|im_end|>", 2, None, "a b", 0),
        ("a b<|im_end|> c<|im_end|>", 3, None, "a bWait c", 1),
        ("a b<|im_end|> c<|im_end|>", 4, None, "a bWait c", 1),
        ("a b<|im_end|> c<|im_end|>", 5, None, "a bWait cWait", 2),
        ("a b<|im_end|> c<|im_end|>", 6, None, "a bWait cWaitWait", 3),
        ("a b<|im_end|> c<|im_end|>", 6, 10, "a bWait cWaitWait", 3),
        ("a b<|im_end|> c<|im_end|>", 6, 7, "a bWait cWaitWait", 3),
        ("", 3, None, "WaitWaitWait", 3),
        (words(5), 3, None, words(5), 0),
    ],
)
def test_min_thinking_tokens_is_honoured(fmt, script, min_thinking, cap, thinking, waits):
    g, backend = run(script, fmt=fmt, min_thinking_tokens=min_thinking, max_thinking_tokens=cap)
    assert_consistent(g, backend.tokenizer)
    assert g.thinking_tokens >= min_thinking
    assert g.thinking == thinking
    assert g.waits_inserted == waits
    assert g.forced_end is False


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("budget", [1, 2, 3, 6])
def test_min_equal_to_cap_fills_the_budget(fmt, budget):
    # min_thinking_tokens == max_thinking_tokens is a valid config, and a one-token wait that
    # brings thinking exactly to the cap stays within it: thinking must reach the budget.
    g, backend = run("a<|im_end|>", fmt=fmt, min_thinking_tokens=budget, max_thinking_tokens=budget)
    assert_consistent(g, backend.tokenizer)
    assert g.thinking_tokens == budget
    assert g.thinking == ("a" + "Wait" * (budget - 1))
    assert g.forced_end is True


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("min_thinking", [0, 1, 2, 3, 5, 8])
@pytest.mark.parametrize("natural", [0, 1, 3, 6])
def test_every_end_before_the_minimum_becomes_a_wait(fmt, min_thinking, natural):
    # The script thinks `natural` tokens then only ever ends; each end attempt below the
    # minimum adds one one-token wait, so thinking lands exactly on the minimum.
    g, backend = run(words(natural), fmt=fmt, min_thinking_tokens=min_thinking)
    assert_consistent(g, backend.tokenizer)
    assert g.thinking_tokens == max(natural, min_thinking)
    assert g.waits_inserted == max(0, min_thinking - natural)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "script, budget, thinking, waits",
    [
        # A five-token wait does not fit on two tokens of thinking under a cap of 6.
        ("a b<|im_end|> c", dict(num_ignore=1, wait_string="Hmm, wait, let me check", max_thinking_tokens=6), "a b", 0),
        ("a b<|im_end|> c", dict(min_thinking_tokens=6, wait_string="Hmm, wait, let me check", max_thinking_tokens=6), "a b", 0),
        # Two-token waits: 1 -> 3 -> 5, and the next one would reach 7 > 6.
        ("a<|im_end|>", dict(num_ignore=10, wait_string="Hmm wait", max_thinking_tokens=6), "aHmm waitHmm wait", 2),
        ("a<|im_end|>", dict(min_thinking_tokens=6, wait_string="Hmm wait", max_thinking_tokens=6), "aHmm waitHmm wait", 2),
    ],
)
def test_a_wait_that_does_not_fit_ends_thinking_like_the_cap(fmt, script, budget, thinking, waits):
    g, backend = run(script, fmt=fmt, **budget)
    assert_consistent(g, backend.tokenizer)
    assert g.forced_end is True
    assert g.thinking == thinking
    assert g.thinking_tokens <= budget["max_thinking_tokens"]
    assert g.waits_inserted == waits
    assert g.forced_spans[-1]["kind"] == "cap"
    assert g.forced_spans[-1]["text"] == CAP_TEXT[fmt]
    assert g.answer.startswith("Final Answer:")


@pytest.mark.parametrize("fmt", FORMATS)
def test_prompt_ends_with_the_thinking_opener(fmt):
    _, backend = run("x", fmt=fmt)
    (prompt_ids,) = backend.calls
    assert backend.tokenizer.decode(prompt_ids) == PROMPT_TEXT[fmt]


def test_system_prompt_is_rendered_before_the_question():
    backend = ScriptedBackend("x")
    generate_with_budget(backend, [QUESTION], fmt="s1", system_prompt="Be brief.", progress=False)
    assert backend.tokenizer.decode(backend.calls[0]) == "<|im_start|>system\nBe brief.<|im_end|>\n" + PROMPT_TEXT["s1"]


@pytest.mark.parametrize(
    "specials, picked",
    [
        (("<|im_start|>", "<|im_end|>", "<think>", "</think>"), "think-tags"),
        (("<|im_start|>", "<|im_end|>"), "s1"),
    ],
)
def test_auto_picks_the_format_the_tokenizer_can_express(specials, picked):
    g, backend = run("a b", fmt="auto", tokenizer=ToyTokenizer(specials=specials), max_thinking_tokens=1)
    assert backend.tokenizer.decode(backend.calls[0]) == PROMPT_TEXT[picked]
    assert g.forced_spans[-1]["text"] == CAP_TEXT[picked]


@pytest.mark.parametrize(
    "fmt, specials, fragments",
    [
        ("s2", None, ["'s2'", "s1", "think-tags", "auto"]),
        ("", None, ["unknown format", "s1", "think-tags", "auto"]),
        ("think-tags", ("<|im_start|>", "<|im_end|>"), ["'think-tags'", "'<think>'", "'</think>'", "s1"]),
        ("s1", ("<think>", "</think>"), ["'s1'", "'<|im_start|>'", "'<|im_end|>'", "think-tags"]),
        ("auto", ("<|im_start|>",), ["<think>", "<|im_start|>", "<|im_end|>", "--format"]),
    ],
)
def test_format_errors_name_the_choices_or_the_missing_token(fmt, specials, fragments):
    tokenizer = ToyTokenizer(specials=specials) if specials is not None else None
    backend = ScriptedBackend("x", tokenizer=tokenizer)
    with pytest.raises(S1kitError) as excinfo:
        generate_with_budget(backend, [QUESTION], fmt=fmt, progress=False)
    for fragment in fragments:
        assert fragment in str(excinfo.value)
    assert backend.calls == []


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "answer_words, max_answer, finish, sampled",
    [
        (0, 1, "stop", 0),
        (2, 5, "stop", 2),
        (4, 5, "stop", 4),
        (5, 5, "length", 5),  # cut before the model could pick its end-of-turn
        (6, 5, "length", 5),
        (9, 1, "length", 1),
    ],
)
@pytest.mark.parametrize("capped", [False, True])
def test_max_answer_tokens_limits_the_sampled_answer(fmt, answer_words, max_answer, finish, sampled, capped):
    if capped:
        # Cap after t0 t1; the model goes on with its script as the answer.
        script = words(2) + " " + words(answer_words, start=100) if answer_words else words(2)
        budget = dict(max_thinking_tokens=2)
        prefix = "Final Answer:"
        prefix_tokens = 2
    else:
        script = words(2) + "<|im_end|>" + (" " + words(answer_words, start=100) if answer_words else "")
        budget = {}
        prefix, prefix_tokens = "", 0
    g, backend = run(script, fmt=fmt, max_answer_tokens=max_answer, **budget)
    assert_consistent(g, backend.tokenizer)
    assert g.finish_reason == finish
    assert g.answer_tokens == prefix_tokens + sampled
    assert g.answer_tokens <= prefix_tokens + max_answer
    assert g.answer == prefix + (" " + words(sampled, start=100) if sampled else "")
    assert g.text.endswith(EOS) == (finish == "stop")


def prompt_length(fmt: str) -> int:
    return len(ToyTokenizer().encode(PROMPT_TEXT[fmt]))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "room, budget, in_answer",
    [
        (1, {}, False),
        (5, {}, False),
        (11, dict(num_ignore=3), False),  # ends on the wait that replaced the first end
        (13, {}, False),  # ends right after the answer opener
        (15, {}, True),  # ends in the sampled answer
        (7, dict(max_thinking_tokens=6), False),  # ends inside the forced cap delimiter
        (11, dict(max_thinking_tokens=6), True),  # ends inside the forced answer prefix
        (14, dict(max_thinking_tokens=6), True),  # ends in the sampled answer
    ],
)
def test_context_limit_stops_with_length(fmt, room, budget, in_answer):
    context = prompt_length(fmt) + room
    g, backend = run(words(10) + "<|im_end|>" + words(10, start=50), fmt=fmt, context_length=context, **budget)
    assert_consistent(g, backend.tokenizer)
    assert g.prompt_tokens + len(g.token_ids) == context
    assert len(g.token_ids) == room
    assert g.finish_reason == "length"
    assert (g.answer != "") == in_answer
    if "max_thinking_tokens" in budget:
        assert g.thinking_tokens <= budget["max_thinking_tokens"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_context_with_room_to_spare_does_not_cut(fmt):
    g, _ = run(words(3), fmt=fmt, context_length=prompt_length(fmt) + 100)
    assert g.finish_reason == "stop"
    assert g.thinking == words(3)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("shortfall", [0, 1, 5])
def test_prompt_that_fills_the_context_is_rejected(fmt, shortfall):
    length = prompt_length(fmt)
    context = length - shortfall
    backend = ScriptedBackend("x", context_length=context)
    with pytest.raises(S1kitError) as excinfo:
        generate_with_budget(backend, [QUESTION], fmt=fmt, progress=False)
    message = str(excinfo.value)
    assert f"{length} tokens" in message
    assert f"holds {context}" in message
    assert backend.calls == []


@pytest.mark.parametrize(
    "questions, fragment",
    [
        ([], "no prompts"),
        ([""], "empty prompt"),
        (["   "], "empty prompt"),
        (["\n\t"], "empty prompt"),
        ([QUESTION, ""], "empty prompt"),
    ],
)
def test_empty_questions_are_rejected(questions, fragment):
    backend = ScriptedBackend("x")
    with pytest.raises(S1kitError, match=fragment):
        generate_with_budget(backend, questions, progress=False)
    assert backend.calls == []


def test_golden_s1_one_ignore():
    script = "Let me think. 2+2 is 5.<|im_end|> No, it is 4.<|im_end|> The answer is 4.<|im_end|>"
    g, _ = run(script, fmt="s1", num_ignore=1)
    assert g.text == "Let me think. 2+2 is 5.Wait No, it is 4.<|im_start|>answer\n The answer is 4.<|im_end|>"
    assert g.thinking == "Let me think. 2+2 is 5.Wait No, it is 4."
    assert g.answer == " The answer is 4."
    assert (g.thinking_tokens, g.answer_tokens, g.waits_inserted, g.forced_end, g.finish_reason) == (11, 4, 1, False, "stop")
    assert g.forced_spans == [
        {"start": 6, "end": 7, "kind": "wait", "text": "Wait", "char_start": 23, "char_end": 27},
        {"start": 11, "end": 14, "kind": "end", "text": "<|im_start|>answer\n", "char_start": 40, "char_end": 59},
    ]
    assert g.forced_tokens == 4


def test_golden_think_tags_capped():
    script = "Let me think. 2+2 is 5.<|im_end|> No, it is 4.<|im_end|> The answer is 4.<|im_end|>"
    g, _ = run(script, fmt="think-tags", num_ignore=1, max_thinking_tokens=8)
    assert g.text == "Let me think. 2+2 is 5.Wait No,\n</think>\n\nFinal Answer: it is 4.<|im_end|>"
    assert g.thinking == "Let me think. 2+2 is 5.Wait No,"
    assert g.answer == "Final Answer: it is 4."
    assert (g.thinking_tokens, g.answer_tokens, g.waits_inserted, g.forced_end, g.finish_reason) == (8, 5, 1, True, "stop")
    assert g.forced_spans == [
        {"start": 6, "end": 7, "kind": "wait", "text": "Wait", "char_start": 23, "char_end": 27},
        {"start": 8, "end": 14, "kind": "cap", "text": "\n</think>\n\nFinal Answer:", "char_start": 31, "char_end": 55},
    ]
    assert g.forced_tokens == 7


def _state(max_new_tokens=None, **budget):
    from s1kit.budget.state import BudgetTokens, SequenceState
    from s1kit.formats import resolve_format

    tok = ToyTokenizer()
    config = BudgetConfig(**budget)
    return SequenceState(config, BudgetTokens.build(resolve_format("s1", tok), config, tok), max_new_tokens=max_new_tokens)


@pytest.mark.parametrize(
    "budget, context, thought, want_round, want_request",
    [
        (dict(max_thinking_tokens=10, max_answer_tokens=5), None, 0, 10, None),  # request: see below
        (dict(max_thinking_tokens=10, max_answer_tokens=5), None, 4, 6, None),
        (dict(max_thinking_tokens=10, max_answer_tokens=5), 8, 4, 4, 8),  # the context binds
        (dict(max_thinking_tokens=None, max_answer_tokens=5), None, 3, None, None),  # no cap, no context: no limit
        (dict(max_thinking_tokens=None, max_answer_tokens=5), 20, 3, 17, 20),
    ],
)
def test_tokens_left_for_the_next_request(budget, context, thought, want_round, want_request):
    state = _state(context, **budget)
    for _ in range(thought):
        state.advance(ToyTokenizer().encode("w")[0])
    assert state.round_tokens() == want_round
    if want_request is None and budget["max_thinking_tokens"] is not None:
        # thinking + the cap text + the answer prefix + the answer + its end token
        want_request = budget["max_thinking_tokens"] + len(state.tokens.cap_delimiter) + len(state.tokens.answer_prefix) + 5 + 1
    assert state.request_tokens() == want_request
    assert state.room() == (None if context is None else context - thought)


def test_tokens_left_in_the_answer_never_drop_below_one():
    state = _state(4, max_thinking_tokens=2, max_answer_tokens=8)
    word = ToyTokenizer().encode("w")[0]
    while not state.done and state.answer_start is None:
        state.advance(word)
    assert state.answer_request_tokens() == max(min(8 + 1, 4 - len(state.output)), 1)


@pytest.mark.parametrize(
    "budget, thought, waits, wait_tokens, want",
    [
        (dict(), 5, 0, 1, "end"),  # no extension asked for
        (dict(num_ignore=2), 5, 1, 1, "wait"),
        (dict(num_ignore=2), 5, 2, 1, "end"),  # the waits are spent
        (dict(min_thinking_tokens=8), 7, 5, 1, "wait"),  # below the minimum, however many waits
        (dict(min_thinking_tokens=8), 8, 0, 1, "end"),
        (dict(num_ignore=1, max_thinking_tokens=10), 8, 0, 2, "wait"),  # fills the budget to the last token
        (dict(num_ignore=1, max_thinking_tokens=10), 9, 0, 2, "cap"),  # no room: end like the cap
        (dict(num_ignore=1, max_thinking_tokens=None), 10_000, 0, 3, "wait"),
    ],
)
def test_what_replaces_an_end_of_thinking(budget, thought, waits, wait_tokens, want):
    from s1kit.budget import rules

    assert rules.on_end(BudgetConfig(**budget), thought, waits, wait_tokens) == want


@pytest.mark.parametrize(
    "cap, thought, at_cap, left",
    [(None, 50, False, None), (10, 9, False, 1), (10, 10, True, 0), (1, 1, True, 0)],
)
def test_cap_and_thinking_left(cap, thought, at_cap, left):
    from s1kit.budget import rules

    config = BudgetConfig(max_thinking_tokens=cap, max_answer_tokens=7)
    assert (rules.at_cap(config, thought), rules.thinking_left(config, thought)) == (at_cap, left)
    assert rules.answer_left(config, 3) == 4


@pytest.mark.parametrize("budget", [dict(num_ignore=1, max_thinking_tokens=6), dict(max_thinking_tokens=3),
                                    dict(min_thinking_tokens=5, max_thinking_tokens=12)])
def test_observing_a_finished_sequence_rebuilds_its_state(budget):
    """Replaying a sequence's tokens with their forced flags (what an engine reports) gives the same
    state as generating it: a forced token the replaying state did not queue stands for an end."""
    tok = ToyTokenizer()
    tokens = _state(**budget).tokens
    word, end, stop = tok.encode("w")[0], min(tokens.end_of_thinking), min(tokens.stop)
    original = _state(**budget)
    picks = iter([word, word, end, word, end, word, word, end, word, end, word, *[stop] * 40])
    while not original.done:
        original.advance(next(picks))
    replayed = _state(**budget)
    for token, forced in zip(original.output, original.forced):
        assert replayed.observe(token, forced) == token
    assert (replayed.output, replayed.forced, replayed.spans, replayed.finish_reason) == (
        original.output, original.forced, original.spans, original.finish_reason)
    assert replayed.spans, "the script must make the state force something"


@pytest.mark.parametrize("budget", [dict(), dict(max_thinking_tokens=7), dict(num_ignore=2, max_thinking_tokens=20),
                                    dict(min_thinking_tokens=9), dict(max_thinking_tokens=5, max_answer_tokens=3)])
@pytest.mark.parametrize("max_new_tokens", [None, 12, 40])
@pytest.mark.parametrize("seed", range(6))
def test_free_positions_taken_at_once_equal_them_one_by_one(budget, max_new_tokens, seed):
    """An engine that shows the state its model's tokens in runs (observe_free, then the rest one
    by one) gets the state it would get showing them one by one, whatever the runs hold: ends,
    stops, more than were free."""
    import random

    rng = random.Random(seed)
    tokens = _state(**budget).tokens
    word, end, stop = ToyTokenizer().encode("w")[0], min(tokens.end_of_thinking), min(tokens.stop)
    one, runs = _state(max_new_tokens, **budget), _state(max_new_tokens, **budget)
    bulk = 0
    while not one.done and len(one.output) < 60:
        free = runs.free_positions()
        size = rng.choice([1, 2, 5, free if free else 3])
        picks = [rng.choice([word] * 20 + [end, stop]) for _ in range(size)]
        for token in picks:
            if not one.done:
                one.observe(token, forced=False)
        taken = runs.observe_free(picks)
        bulk += taken > 0
        for token in picks[taken:]:
            if not runs.done:
                runs.observe(token, forced=False)
        assert (runs.output, runs.forced, runs.spans, runs.phase, runs.thinking_tokens, runs.answer_sampled,
                runs.waits_inserted, runs.finish_reason) == (
            one.output, one.forced, one.spans, one.phase, one.thinking_tokens, one.answer_sampled,
            one.waits_inserted, one.finish_reason)
        assert list(runs.queue) == list(one.queue)
    assert bulk, "some runs must have been taken at once"


@pytest.mark.parametrize("budget, max_new_tokens, picks, free", [
    (dict(max_thinking_tokens=10), None, ["w"] * 3, 7),             # under the cap
    (dict(max_thinking_tokens=10), 5, ["w"] * 3, 2),                # the context is nearer
    (dict(), None, ["w"] * 3, None),                                # no bound at all
    (dict(max_thinking_tokens=3), None, ["w"] * 3, 0),              # at the cap: its text comes next
    (dict(max_thinking_tokens=3), None, ["w"] * 4, 0),              # the cap text is queued
    (dict(max_thinking_tokens=2, max_answer_tokens=4), None, ["w"] * 2 + ["<cap text>", "w"], 3),  # answer left
    (dict(max_thinking_tokens=2, max_answer_tokens=4), 30, ["w"] * 2 + ["<cap text>"] + ["w"] * 4, 0),  # done
])
def test_free_positions(budget, max_new_tokens, picks, free):
    state = _state(max_new_tokens, **budget)
    tok = ToyTokenizer()
    for word in picks:
        if word == "<cap text>":  # the cap's first token, then the rest of its text
            state.advance(tok.encode("w")[0])
            while state.queue:
                state.advance(tok.encode("w")[0])
        else:
            state.advance(tok.encode(word)[0])
    assert state.free_positions() == free


@pytest.mark.parametrize("messages", [
    [{"role": "user", "content": "Q?"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?\nThink."}],
])
def test_chatml_text_rendering_equals_the_chatml_template(messages):
    """The text backends render ChatML by hand; models without a template get the Jinja one."""
    import jinja2

    from s1kit.formats import CHATML_TEMPLATE, render_chatml

    assert render_chatml(messages) == jinja2.Template(CHATML_TEMPLATE).render(messages=messages, add_generation_prompt=True)


@pytest.mark.parametrize("fmt, wait", [("s1", "<|im_end|>"), ("s1", "ok<|im_start|>"), ("think-tags", "hmm </think>"),
                                       ("think-tags", "<|im_end|>")])
def test_a_wait_string_holding_an_end_token_is_refused(fmt, wait):
    """It would end the thinking it extends, and be counted as a Wait."""
    with pytest.raises(S1kitError, match=r"holds an end-of-thinking or end-of-turn token"):
        run("a b<|im_end|> c", fmt=fmt, num_ignore=1, wait_string=wait)


@pytest.mark.parametrize("budget, picks, marked, diverges_at", [
    (dict(max_thinking_tokens=3), ["w"] * 3 + ["x"], (), 3),                  # the cap's text is not there
    (dict(num_ignore=1), ["w", "w", "<|im_end|>"], (), 2),                     # an end where a Wait was forced
    (dict(num_ignore=1), ["w", "w", "Wait"], (2,), None),                      # the Wait forced there
    (dict(num_ignore=1), ["w", "w", "Wait"], (), None),                        # a Wait the model wrote
    (dict(max_thinking_tokens=40), ["w"] * 30, (), None),                      # a free run, taken at once
    (dict(max_thinking_tokens=40), ["w"] * 5 + ["x"] * 5, (7,), 7),            # a forced mark the state did not make
])
def test_a_replay_names_where_the_engine_diverged(budget, picks, marked, diverges_at):
    from s1kit.backends.forcing_channel import FORCED_LOGIT, replay

    state = _state(**budget)
    tokens = state.tokens
    words = [t for t in range(3, 60) if t not in tokens.end_of_thinking and t not in tokens.wait]
    names = {"w": words[0], "x": words[1], "Wait": tokens.wait[0], "<|im_end|>": min(tokens.stop)}
    ids = [names[p] for p in picks]
    reported = [FORCED_LOGIT if i in marked else None for i in range(len(ids))]
    if diverges_at is None:
        replay(state, ids, reported)
        assert len(state.output) == len(ids)
    else:
        with pytest.raises(S1kitError, match=f"diverged from the budget-forcing state at output position {diverges_at} "):
            replay(state, ids, reported)
