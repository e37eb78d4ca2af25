"""Prompt rendering with real (transformers) tokenizers and chat templates."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from s1kit.errors import S1kitError
from s1kit.formats import render_prompt, resolve_format

pytest.importorskip("transformers", reason="the transformers backend needs the [hf] extra")

QWEN25_TEMPLATE = (Path(__file__).parent / "data" / "qwen2_5_chat_template.jinja").read_text()

# The prompt of the s1 reference (README of simplescaling/s1, and the contract) for Q.
S1_REFERENCE = (
    "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\n{q}<|im_end|>\n<|im_start|>assistant\n<|im_start|>think\n"
)


def _tokenizer(base, template: str | None, extra_tokens=()):
    from s1kit.backends.hf import HFTokenizer

    hf = copy.deepcopy(base)
    hf.chat_template = template
    if extra_tokens:
        hf.add_special_tokens({"additional_special_tokens": list(extra_tokens)})
    return HFTokenizer(hf, name="test-tokenizer")


@pytest.mark.parametrize("question", ["How many r in raspberry?", "Find $x$ if $2x + 3 = 7$.\nShow work."])
def test_s1_prompt_with_qwen25_template_is_byte_exact(smollm2_tokenizer, question):
    tok = _tokenizer(smollm2_tokenizer, QWEN25_TEMPLATE)
    assert render_prompt(question, resolve_format("s1", tok), tok) == S1_REFERENCE.format(q=question)


def test_system_prompt_replaces_the_default(smollm2_tokenizer):
    tok = _tokenizer(smollm2_tokenizer, QWEN25_TEMPLATE)
    text = render_prompt("Q", resolve_format("s1", tok), tok, system_prompt="Be brief.")
    assert text.startswith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n")


def test_think_tags_opener_is_not_doubled_when_the_template_opens_thinking(smollm2_tokenizer):
    # Some R1-distill templates end the generation prompt with "<think>\n" themselves.
    template = QWEN25_TEMPLATE.replace("'<|im_start|>assistant\\n'", "'<|im_start|>assistant\\n<think>\\n'")
    tok = _tokenizer(smollm2_tokenizer, template, extra_tokens=("<think>", "</think>"))
    text = render_prompt("Q", resolve_format("think-tags", tok), tok)
    assert text.endswith("<|im_start|>assistant\n<think>\n")
    assert text.count("<think>") == 1


def test_auto_and_expressibility_with_real_tokenizers(smollm2_tokenizer):
    plain = _tokenizer(smollm2_tokenizer, QWEN25_TEMPLATE)
    tags = _tokenizer(smollm2_tokenizer, QWEN25_TEMPLATE, extra_tokens=("<think>", "</think>"))
    assert resolve_format("auto", plain).name == "s1"
    assert resolve_format("auto", tags).name == "think-tags"
    with pytest.raises(S1kitError, match="cannot express format 'think-tags'.*'<think>'"):
        resolve_format("think-tags", plain)


def test_model_without_chat_template_is_a_clear_error(smollm2_tokenizer):
    tok = _tokenizer(smollm2_tokenizer, None)
    with pytest.raises(S1kitError, match="has no chat template"):
        render_prompt("Q", resolve_format("s1", tok), tok)


@pytest.mark.parametrize("model", ["smollm2-135m", "s1-nano"])
def test_decoding_is_what_transformers_decodes(model):
    """The adapter decodes through the fast tokenizer's backend: the same text as transformers'
    decode with special tokens kept and no clean-up, split characters and added tokens included."""
    import random

    from s1kit.backends.hf import tokenizer_with_generation_eos
    from s1kit.models import resolve_model

    tokenizer = tokenizer_with_generation_eos(resolve_model(model), model)
    assert tokenizer._backend is not None
    rng = random.Random(0)
    size = len(tokenizer.hf)
    specials = tokenizer.hf.all_special_ids
    pieces = [[], *([rng.randrange(size) for _ in range(rng.randrange(1, 40))] for _ in range(200)),
              specials, tokenizer.encode("café — 数学 e=mc² ✓")[:5], tokenizer.encode(" Wait, let me check. Final Answer: 42")]
    for ids in pieces:
        assert tokenizer.decode(ids) == tokenizer.hf.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False), ids
