"""Forced spans' character offsets (``char_start``, ``char_end``) on real tokenizers: s1-nano's
byte-level BPE, where most non-ASCII characters are several tokens, and SmolLM2's; and on toy
tokenizers whose forced pieces read otherwise alone than inside the output.

A scripted pick list plays the model: the state forces what it forces, and every other position
takes the next pick (the end of turn once the picks run out). Expected texts and offsets are
written by hand, in characters, so one table holds for both tokenizers.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from s1kit.backends.hf import HFTokenizer
from s1kit.backends.scripted import ScriptedBackend, ToyTokenizer
from s1kit.budget.config import BudgetConfig
from s1kit.budget.forcing import generate_with_budget
from s1kit.budget.result import Generation
from s1kit.budget.state import BudgetTokens, SequenceState
from s1kit.formats import FORMATS
from test_text_state import text_rounds

END = object()
"""The model picks its end of thinking (<|im_start|>) here."""
CAP = object()
"""The thinking budget runs out here: max_thinking_tokens is the thinking tokens before it."""


@dataclass(frozen=True)
class Partial:
    """The tokens of ``text`` but its last one: with byte-level tokens, part of a character."""

    text: str


OPENER = "<|im_start|>answer\n"
CAP_TEXT = "\n<|im_start|>answer\nFinal Answer:"
EOS = "<|im_end|>"

CASES = {
    "plain Wait": ("Wait", ["A3 B8", END, " ok", END], {}, None,
                   "A3 B8Wait ok" + OPENER + EOS, [("wait", 5, 9), ("end", 12, 31)]),
    "the model writes Wait too": ("Wait", ["Wait, A3 Wait", END, " Wait", END], {}, None,
                                  "Wait, A3 WaitWait Wait" + OPENER + EOS, [("wait", 13, 17), ("end", 22, 41)]),
    "an em dash": ("Wait — ", ["x — y", END, "z", END], {}, None,
                   "x — yWait — z" + OPENER + EOS, [("wait", 5, 12), ("end", 13, 32)]),
    "Chinese": ("等等", ["答案", END, "好", END], {}, None,
                "答案等等好" + OPENER + EOS, [("wait", 2, 4), ("end", 5, 24)]),
    "after part of a character": ("等等", [Partial("😀"), END, "ok", END], {}, None,
                                  "\ufffd等等ok" + OPENER + EOS, [("wait", 1, 3), ("end", 5, 24)]),
    "the cap after a wait": ("Wait — ", ["x", END, "y z", CAP, " more"], {}, None,
                             "xWait — y z" + CAP_TEXT + " more" + EOS, [("wait", 1, 8), ("cap", 11, 44)]),
    "two waits among accents": ("等等", ["é", END, "ü", END, "ß", END, "ç"], {"num_ignore": 2}, None,
                               "é等等ü等等ß" + OPENER + "ç" + EOS, [("wait", 1, 3), ("wait", 4, 6), ("end", 7, 26)]),
    # The context ends one token into the second 等: the span is cut short, its text too.
    "cut short by the context": ("等等", ["ok", END], {}, "等",
                                 "ok等\ufffd", [("wait", 2, 4)]),
}


@pytest.fixture(params=["s1-nano", "smollm2"])
def tokenizer(request):
    if request.param == "s1-nano":
        return request.getfixturevalue("nano_backend").tokenizer
    return HFTokenizer(request.getfixturevalue("smollm2_tokenizer"), "smollm2")


def picks_and_budget(tok, wait: str, script: list, budget: dict) -> tuple[list[int], BudgetConfig]:
    """The model's picks, and the budget (num_ignore 1 unless given, the cap where CAP stands)."""
    end = tok.single_token_id("<|im_start|>")
    picks, thinking, cap = [], 0, None
    for piece in script:
        if piece is END:
            picks.append(end)
            thinking += len(tok.encode(wait))  # each end in the thinking is replaced by the wait
        elif piece is CAP:
            cap = thinking
        else:
            ids = tok.encode(piece.text)[:-1] if isinstance(piece, Partial) else tok.encode(piece)
            picks += ids
            thinking += len(ids)
    return picks, BudgetConfig(**{"num_ignore": 1, "max_thinking_tokens": cap, "wait_string": wait, **budget})


def generation(tok, picks: list[int], config: BudgetConfig, room: int | None = None) -> Generation:
    state = SequenceState(config, BudgetTokens.build(FORMATS["s1"], config, tok), max_new_tokens=room)
    eos = min(tok.eos_token_ids)
    script = iter(picks)
    while not state.done:
        state.advance(eos if state.next_is_forced() else next(script, eos))  # forced tokens take no pick
    return Generation.from_state("q", 0, state, tok, None)


@pytest.mark.parametrize("case", CASES)
def test_offsets_place_each_span_in_the_text(tokenizer, case):
    wait, script, budget, cut_after, text, want = CASES[case]
    picks, config = picks_and_budget(tokenizer, wait, script, budget)
    room = None
    if cut_after is not None:  # the context holds the picks before the first end, cut_after's tokens, one more
        room = picks.index(tokenizer.single_token_id("<|im_start|>")) + len(tokenizer.encode(cut_after)) + 1
    g = generation(tokenizer, picks, config, room)
    assert g.text == text
    assert [(s["kind"], s["char_start"], s["char_end"]) for s in g.forced_spans] == want
    for span in g.forced_spans:
        assert g.text[span["char_start"] : span["char_end"]] == span["text"]
    if cut_after is None:
        assert [s["text"] for s in g.forced_spans if s["kind"] == "wait"] == [wait] * g.waits_inserted
        # Text rounds (a server without token ids) place the same spans at the same characters.
        rounds = text_rounds(picks, "s1", config, tokenizer)
        assert rounds.spans == g.forced_spans
        assert rounds.output == g.text.removesuffix(EOS)
    else:
        assert g.finish_reason == "length" and g.forced_spans[-1]["end"] == len(g.token_ids)


class LeadingSpaceDropped(ToyTokenizer):
    """Decodes as SentencePiece does: the space a text starts with is dropped, so a forced " hmm"
    reads "hmm" alone and " hmm" inside the output."""

    def decode(self, ids) -> str:
        return super().decode(ids).removeprefix(" ")


class FirstLetterCapital(ToyTokenizer):
    """Writes a text's first letter as a capital: a forced "wait" reads "Wait" alone, "wait" inside."""

    def decode(self, ids) -> str:
        text = super().decode(ids)
        return text[:1].upper() + text[1:]


@pytest.mark.parametrize("tok, wait, text, want", [
    (LeadingSpaceDropped(), " hmm", "a b hmm c", [(4, 7), (9, 28)]),  # the span's own text, after the space
    (FirstLetterCapital(), "wait", "A bwait c", [(None, None), (9, 28)]),  # "Wait" is nowhere: no place
], ids=["leading space dropped", "first letter capital"])
def test_a_span_that_reads_otherwise_alone_gets_its_own_text_or_no_place(tok, wait, text, want):
    config = BudgetConfig(num_ignore=1, wait_string=wait)
    [g] = generate_with_budget(ScriptedBackend("a b<|im_end|> c<|im_end|>", tokenizer=tok), ["q"], config, fmt="s1", progress=False)
    assert g.text == text + OPENER + EOS
    assert [(s["char_start"], s["char_end"]) for s in g.forced_spans] == want
    for span in g.forced_spans:
        if span["char_start"] is not None:
            assert g.text[span["char_start"] : span["char_end"]] == span["text"]
