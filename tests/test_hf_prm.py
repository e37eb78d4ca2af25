"""Hugging Face PRMs in both shapes, on tiny random models with SmolLM2's real tokenizer: each is
checked against the reading its model card gives (Qwen2.5-Math-PRM, Math-Shepherd)."""

from __future__ import annotations

import copy
import json
import math
import shutil
import sys

import pytest

from s1kit.errors import MissingExtraError, S1kitError

QUESTION = "What is 2 + 3?"
STEPS = ["Add the two numbers.", "2 + 3 = 5.", "So the answer is \\boxed{5}."]
TRACES = [(QUESTION, STEPS), ("Name a prime.", ["Two is prime."]), (QUESTION, STEPS[:2]),
          ("Is 9 prime?", ["9 = 3 * 3.", "So no.", "It is not.", "\\boxed{no}"]), ("Empty?", [])]


def _save(path, model_cls, config_cls, tokenizer, seed, **overrides):
    import torch

    torch.manual_seed(seed)
    config = config_cls(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                        num_attention_heads=2, num_key_value_heads=1, head_dim=16, max_position_embeddings=256,
                        tie_word_embeddings=False, pad_token_id=tokenizer.pad_token_id, **overrides)
    model_cls(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def head_dirs(tmp_path_factory, smollm2_tokenizer):
    """Qwen2 reward heads with 2 labels and with 1, whose tokenizer has <extra_0> as one token."""
    from transformers import Qwen2Config, Qwen2ForTokenClassification

    tokenizer = copy.deepcopy(smollm2_tokenizer)
    tokenizer.add_special_tokens({"additional_special_tokens": ["<extra_0>"]})
    return {labels: _save(tmp_path_factory.mktemp(f"head-{labels}"), Qwen2ForTokenClassification, Qwen2Config,
                          tokenizer, seed=labels, num_labels=labels) for labels in (2, 1)}


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory, smollm2_tokenizer):
    """A Llama causal LM with SmolLM2's tokenizer as is: "ки" is two tokens there, "+" and "-" one each."""
    from transformers import LlamaConfig, LlamaForCausalLM

    return _save(tmp_path_factory.mktemp("lm"), LlamaForCausalLM, LlamaConfig, smollm2_tokenizer, seed=3)


@pytest.fixture(scope="module")
def head_prm(head_dirs):
    from s1kit.reward.hf import load_hf_prm

    return load_hf_prm(str(head_dirs[2]), batch_size=2)


@pytest.fixture(scope="module")
def lm_prm(lm_dir):
    from s1kit.reward.hf import load_hf_prm

    return load_hf_prm(str(lm_dir), batch_size=2)


def _variant(source, target, **config):
    """A copy of a checkpoint with keys of its config.json changed."""
    shutil.copytree(source, target)
    path = target / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **config}))
    return target


def _qwen_prm_reference(prm, question, steps):
    """Qwen2.5-Math-PRM's model card: the steps joined by <extra_0> as the assistant's reply, label 1's
    probability at each <extra_0>."""
    import torch

    tokenizer, model = prm.tokenizer, prm.model
    messages = [{"role": "system", "content": "Please reason step by step, and put your final answer within \\boxed{}."},
                {"role": "user", "content": question}, {"role": "assistant", "content": "<extra_0>".join(steps) + "<extra_0>"}]
    input_ids = tokenizer.encode(tokenizer.apply_chat_template(messages, tokenize=False), return_tensors="pt")
    with torch.no_grad():
        logits = model(input_ids).logits[0][input_ids[0] == tokenizer.encode("<extra_0>")[0]]
    return (logits[:, 0].sigmoid() if logits.shape[-1] == 1 else logits.softmax(-1)[:, 1]).tolist()


def _math_shepherd_reference(prm, question, steps, good="+", bad="-"):
    """Math-Shepherd's model card: "question step ки\\nstep ки", softmax over (+, -) after each ки."""
    import torch

    tokenizer, model = prm.tokenizer, prm.model
    input_ids = torch.tensor([tokenizer.encode(f"{question} " + " ки\n".join(steps) + " ки")])
    with torch.no_grad():
        logits = model(input_ids).logits[:, :, tokenizer.convert_tokens_to_ids([good, bad])]
    return logits.softmax(-1)[:, :, 0][input_ids == tokenizer.encode("ки")[-1]].tolist()


def _check_probabilities(scores, steps):
    assert len(scores) == len(steps)
    assert all(math.isfinite(s) and 0.0 <= s <= 1.0 for s in scores)
    assert len(set(scores)) == len(scores)  # random weights: each step's tag sees a different prefix


@pytest.mark.parametrize("labels", [2, 1])
def test_a_reward_head_scores_each_step_at_its_tag_as_its_model_card_does(head_dirs, labels):
    from s1kit.reward.hf import load_hf_prm

    prm = load_hf_prm(str(head_dirs[labels]))
    assert (prm.shape, prm.step_tag) == ("token-classification", "<extra_0>")
    scores = prm.score(QUESTION, STEPS)
    _check_probabilities(scores, STEPS)
    assert scores == pytest.approx(_qwen_prm_reference(prm, QUESTION, STEPS), abs=1e-6)


def test_a_causal_lm_scores_each_step_by_its_good_token_as_math_shepherd_does(lm_prm):
    assert (lm_prm.shape, lm_prm.step_tag) == ("good-token", "ки")
    scores = lm_prm.score(QUESTION, STEPS)
    _check_probabilities(scores, STEPS)
    assert scores == pytest.approx(_math_shepherd_reference(lm_prm, QUESTION, STEPS), abs=1e-6)


def test_swapping_the_good_and_bad_tokens_in_the_config_turns_each_score_around(lm_dir, lm_prm, tmp_path):
    from s1kit.reward.hf import load_hf_prm

    swapped = _variant(lm_dir, tmp_path / "swapped", s1kit_good_token="-", s1kit_bad_token="+")
    scores = lm_prm.score(QUESTION, STEPS)
    assert load_hf_prm(str(swapped)).score(QUESTION, STEPS) == pytest.approx([1 - s for s in scores], abs=1e-6)


@pytest.mark.parametrize("shape", ["head", "lm"])
def test_batched_scores_equal_one_by_one_and_repeat_exactly(request, shape):
    prm = request.getfixturevalue(f"{shape}_prm")
    assert prm.batch_size == 2  # the traces fill three batches
    one_by_one = [prm.score(question, steps) for question, steps in TRACES]
    batched = prm.score_many(TRACES)
    assert [len(s) for s in batched] == [len(steps) for _, steps in TRACES]
    for alone, together in zip(one_by_one, batched):
        assert together == pytest.approx(alone, abs=1e-6)
    assert prm.score_many(TRACES) == batched


@pytest.mark.parametrize("shape", ["head", "lm"])
def test_a_step_is_scored_the_same_whatever_steps_follow_it(request, shape):
    prm = request.getfixturevalue(f"{shape}_prm")
    whole = prm.score(QUESTION, STEPS)
    for k in range(1, len(STEPS)):
        assert prm.score(QUESTION, STEPS[:k]) == pytest.approx(whole[:k], abs=1e-6)


def test_without_extra_0_or_a_chat_template_a_head_reads_plain_text_tagged_by_blank_lines(head_dirs, smollm2_tokenizer, tmp_path):
    """The plain layout, "question\\n\\nstep1\\n\\nstep2\\n\\n", read at the blank lines' token."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from s1kit.reward.hf import load_hf_prm

    path = tmp_path / "plain"
    shutil.copytree(head_dirs[2], path)
    plain = copy.deepcopy(smollm2_tokenizer)
    plain.chat_template = None
    plain.save_pretrained(path)
    (path / "chat_template.jinja").unlink(missing_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(path)
    prm = load_hf_prm(str(path))
    assert prm.step_tag == "\n\n" and not prm.layout.chat
    input_ids = torch.tensor([tokenizer.encode(QUESTION + "\n\n" + "".join(step + "\n\n" for step in STEPS))])
    with torch.no_grad():
        logits = AutoModelForTokenClassification.from_pretrained(path)(input_ids).logits[0]
    expected = logits.softmax(-1)[:, 1][input_ids[0] == tokenizer.encode("\n\n")[0]][1:]  # the first ends the question
    assert prm.score(QUESTION, STEPS) == pytest.approx(expected.tolist(), abs=1e-6)
    with pytest.raises(S1kitError, match=r"step 2 contains the step tag '\\n\\n' itself"):
        prm.score(QUESTION, ["a", "b\n\nc"])
    with pytest.raises(S1kitError, match=r"found 1 of the step tag '\\n\\n' \(token 'ĊĊ'\) in a trace of 2 steps;"
                                         r".*make the tag one special token"):
        prm.score(QUESTION, ["ends in a newline\n", "b"])  # "\n" + "\n\n" is one other token


def test_a_config_can_declare_a_reward_head_and_its_step_tag(head_dirs, head_prm, tmp_path):
    from s1kit.reward.hf import load_hf_prm

    declared = _variant(head_dirs[2], tmp_path / "declared", architectures=["Qwen2ForProcessRewardModel"],
                        s1kit_prm="token-classification", s1kit_step_tag="<extra_0>")
    assert load_hf_prm(str(declared)).score(QUESTION, STEPS) == pytest.approx(head_prm.score(QUESTION, STEPS), abs=1e-6)
    assert load_hf_prm(str(declared), step_tag="\n\n").step_tag == "\n\n"


def test_a_step_holding_the_tag_is_refused(lm_prm):
    with pytest.raises(S1kitError, match=r"^--prm .*lm\d*: step 1 contains the step tag 'ки' itself"):
        lm_prm.score(QUESTION, ["1 ки 2", "3"])


def test_a_trace_longer_than_the_model_is_refused_naming_both_lengths(lm_prm):
    with pytest.raises(S1kitError, match=r"^--prm .*: a trace of \d{3} tokens exceeds the model's 256 positions"):
        lm_prm.score(QUESTION, ["one two three four five six seven eight nine ten " * 3] * 10)


def test_a_model_that_is_neither_shape_is_refused(tmp_path):
    from transformers import LlamaConfig

    from s1kit.reward.hf import load_hf_prm

    LlamaConfig(architectures=["LlamaForSequenceClassification"]).save_pretrained(tmp_path)
    with pytest.raises(S1kitError, match=r"^--prm .*: LlamaForSequenceClassification is neither a token-classification "
                                         r"reward head nor a causal LM; pass a checkpoint whose architecture ends in"):
        load_hf_prm(str(tmp_path))


@pytest.mark.parametrize(("config", "message"), [
    (dict(s1kit_good_token="good!"), r"s1kit_good_token 'good!' is 2 tokens of its tokenizer \(\[.*\]\); set "
                                     r"s1kit_good_token in its config.json to a single token"),
    (dict(s1kit_bad_token="+"), r"its good and bad tokens are the same token"),
    (dict(s1kit_prm="reward"), r"its config.json says s1kit_prm 'reward'; the only value is 'token-classification'"),
    (dict(s1kit_prm="token-classification"), r"the checkpoint has no weights for score.bias, score.weight of a "
                                             r"LlamaForTokenClassification; it is not a PRM of that shape"),
])
def test_a_config_that_cannot_work_is_refused_in_one_line(lm_dir, tmp_path, config, message):
    from s1kit.reward.hf import load_hf_prm

    with pytest.raises(S1kitError, match=message) as caught:
        load_hf_prm(str(_variant(lm_dir, tmp_path / "variant", **config)))
    assert str(caught.value).startswith("--prm ") and "\n" not in str(caught.value)


@pytest.mark.parametrize(("options", "message"), [
    (dict(batch_size=0), r"batch_size must be a positive integer, got 0"),
    (dict(step_tag=""), r"the step tag must be non-empty text, got '' \(str\)"),
    (dict(device="abacus"), r"unknown device 'abacus'; use auto, cpu, cuda or cuda:N"),
])
def test_bad_options_are_refused(lm_dir, options, message):
    from s1kit.reward.hf import load_hf_prm

    with pytest.raises(S1kitError, match=message):
        load_hf_prm(str(lm_dir), **options)


def test_a_missing_directory_names_prm(tmp_path):
    pytest.importorskip("transformers")
    from s1kit.reward.hf import load_hf_prm

    with pytest.raises(S1kitError, match=r"holds no config.json; point --prm at a transformers checkpoint"):
        load_hf_prm(str(tmp_path))


def test_without_transformers_the_error_names_the_hf_extra(monkeypatch):
    from s1kit.reward.hf import load_hf_prm

    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MissingExtraError, match=r"pip install 's1kit\[hf\]'"):
        load_hf_prm("any/prm")


def test_prm_loads_a_checkpoint_behind_the_checks_every_prm_passes(lm_dir, lm_prm):
    from s1kit.reward.load import load_prm

    prm = load_prm(str(lm_dir), device="auto")
    for checked, direct in zip(prm.score_many(TRACES), lm_prm.score_many(TRACES), strict=True):
        assert checked == pytest.approx(direct, abs=1e-6)
    assert prm.calls == len(TRACES)
