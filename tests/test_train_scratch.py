"""Training from scratch: the byte-level ChatML tokenizer, model configs from files, and their errors."""

from __future__ import annotations

import pytest

from s1kit.errors import S1kitError

pytest.importorskip("transformers", reason="training from scratch needs the [train] extra")

from s1kit.train.scratch import build_byte_tokenizer, load_tokenizer, model_config  # noqa: E402

NANO = {"model_type": "llama", "hidden_size": 256, "intermediate_size": 672, "num_hidden_layers": 4,
        "num_attention_heads": 4, "num_key_value_heads": 4, "head_dim": 64, "max_position_embeddings": 1024,
        "tie_word_embeddings": True}


@pytest.fixture(scope="module")
def tokenizer():
    return build_byte_tokenizer()


def test_byte_tokenizer_keeps_chatml_tokens_whole_and_every_byte_apart(tokenizer):
    assert tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]) == [0, 1, 2]
    assert len(tokenizer) == 259
    text = "<|im_start|>think\nb1+7=8 é\n<|im_start|>answer\nFinal Answer: 8<|im_end|>"
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert ids[0] == 1 and ids[-1] == 2 and ids.count(1) == 2
    plain = text.replace("<|im_start|>", "").replace("<|im_end|>", "")
    assert len(ids) == len(plain.encode()) + 3  # each special is one token, every other byte one token
    assert tokenizer.decode(ids) == text
    assert [tokenizer.decode([i]) for i in tokenizer.encode("12+9", add_special_tokens=False)] == list("12+9")


def test_bytes_tags_merges_each_tagged_item_and_nothing_else():
    tokenizer = load_tokenizer("bytes-tags")
    assert len(tokenizer) == 259 + 12 * 9
    def pieces(text):
        return [tokenizer.decode([i]) for i in tokenizer.encode(text, add_special_tokens=False)]
    assert pieces("A8 B9 L1: sum them.")[:5] == ["A8", " ", "B9", " ", "L1"]
    assert pieces("C2+17=19") == ["C2", "+", "1", "7", "=", "1", "9"]
    assert pieces("Final Answer: 8 M5 A0") == list("Final Answer: 8 M5 A0")  # A followed by a letter, M and 0 are no tags
    text = "<|im_start|>think\nB9+8=17\nWait\n<|im_start|>answer\nFinal Answer: 17<|im_end|>"
    assert tokenizer.decode(tokenizer.encode(text, add_special_tokens=False)) == text


def test_byte_tokenizer_chat_template_is_chatml_without_a_system_prompt(tokenizer):
    text = tokenizer.apply_chat_template([{"role": "user", "content": "Add a1 b2."}], tokenize=False,
                                         add_generation_prompt=True)
    assert text == "<|im_start|>user\nAdd a1 b2.<|im_end|>\n<|im_start|>assistant\n"
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"


def test_s1_format_resolves_on_the_byte_tokenizer(tokenizer):
    from s1kit.backends.hf import HFTokenizer
    from s1kit.formats import resolve_format

    assert resolve_format("auto", HFTokenizer(tokenizer, "bytes")).name == "s1"


def test_tokenizer_and_model_round_trip_through_save_pretrained(tmp_path, tokenizer):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from s1kit.train.scratch import new_model

    config = model_config(NANO, tokenizer)
    model = new_model(config, seed=0)
    assert new_model(config, seed=0).state_dict()["model.embed_tokens.weight"].equal(model.state_dict()["model.embed_tokens.weight"])
    assert sum(p.numel() for p in model.parameters()) == 3_181_568
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    text = "<|im_start|>user\nCount the 3s in a3 b7.<|im_end|>"
    assert again.encode(text) == tokenizer.encode(text)
    assert again.chat_template == tokenizer.chat_template
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path)
    ids = torch.tensor([tokenizer.encode(text)])
    with torch.no_grad():
        assert torch.equal(loaded(ids).logits, model(ids).logits)
    assert (loaded.config.vocab_size, loaded.config.eos_token_id, loaded.config.pad_token_id) == (259, 2, 0)


def test_a_tokenizer_directory_loads_and_a_bad_one_is_one_line(tmp_path, tokenizer):
    tokenizer.save_pretrained(tmp_path / "tok")
    assert load_tokenizer(str(tmp_path / "tok")).encode("a1") == tokenizer.encode("a1")
    (tmp_path / "empty").mkdir()
    with pytest.raises(S1kitError, match="holds no tokenizer.json"):
        load_tokenizer(str(tmp_path / "empty"))
    with pytest.raises(S1kitError, match="neither a built-in tokenizer"):
        load_tokenizer(str(tmp_path / "nowhere"))


@pytest.mark.parametrize("change, message", [
    ({"hidden_sise": 256}, "unknown key 'hidden_sise' for model_type llama; did you mean 'hidden_size'"),
    ({"hidden_size": 250}, "hidden_size 250 is not divisible by num_attention_heads 4"),
    ({"num_key_value_heads": 3}, "num_attention_heads 4 is not divisible by num_key_value_heads 3"),
    ({"num_hidden_layers": 0}, "num_hidden_layers must be a positive integer, got 0"),
    ({"vocab_size": 100}, "vocab_size 100 is smaller than the tokenizer's 259 tokens"),
    ({"model_type": "lama"}, "unknown model_type 'lama'"),
])
def test_a_bad_model_config_is_one_line_naming_the_value(tokenizer, change, message):
    with pytest.raises(S1kitError, match=message) as info:
        model_config({**NANO, **change}, tokenizer)
    assert "\n" not in str(info.value)


def test_train_config_requires_model_or_model_config_and_a_tokenizer_for_scratch():
    from s1kit.train.config import TrainConfig

    with pytest.raises(S1kitError, match="set model: null to train from scratch"):
        TrainConfig(model_config="m.yaml", tokenizer="bytes")
    with pytest.raises(S1kitError, match="needs a tokenizer"):
        TrainConfig(model=None, model_config="m.yaml")
    with pytest.raises(S1kitError, match="no model"):
        TrainConfig(model=None)
    with pytest.raises(S1kitError, match="only for models trained from scratch"):
        TrainConfig(model="smollm2-135m", tokenizer="bytes")
    assert TrainConfig(model=None, model_config="m.yaml", tokenizer="bytes").model_config == "m.yaml"


def test_train_cli_reports_a_bad_model_config_and_a_missing_file_in_one_line(tmp_path):
    pytest.importorskip("trl", reason="s1kit train needs the [train] extra")
    from typer.testing import CliRunner

    from s1kit.cli import app

    data = tmp_path / "d.jsonl"
    data.write_text('{"question": "q", "thinking_trajectories": ["t"], "attempt": "a"}\n')
    bad = tmp_path / "model.yaml"
    bad.write_text("hidden_size: 250\nnum_attention_heads: 4\n")
    base = ["train", "--data", str(data), "--output-dir", str(tmp_path / "run"), "model=null", "tokenizer=bytes"]
    result = CliRunner().invoke(app, [*base, f"model_config={bad}"])
    assert result.exit_code == 2, result.output
    assert "hidden_size 250 is not divisible by num_attention_heads 4" in result.output
    result = CliRunner().invoke(app, [*base, f"model_config={tmp_path / 'missing.yaml'}"])
    assert result.exit_code == 2 and "missing.yaml does not exist" in result.output


def test_bpe_tokenizer_merges_words_and_keeps_digits_and_chatml_tokens_single():
    texts = ["<|im_start|>user\nA3 B4: sum them.<|im_end|>\n<|im_start|>assistant\n<|im_start|>think\nB4+3=7\nWait\n"
             "<|im_start|>answer\nFinal Answer: 7<|im_end|>"] * 50
    tokenizer = load_tokenizer("bpe:300", texts)
    assert tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]) == [0, 1, 2]
    assert len(tokenizer) <= 300
    def pieces(text):
        return [tokenizer.decode([i]) for i in tokenizer.encode(text, add_special_tokens=False)]
    assert pieces("Wait") == ["Wait"] and pieces("assistant") == ["assistant"]
    assert pieces("B47+3=50") == ["B", "4", "7", "+", "3", "=", "5", "0"]
    assert tokenizer.decode(tokenizer.encode(texts[0], add_special_tokens=False)) == texts[0]
    with pytest.raises(S1kitError, match="bpe:N"):
        load_tokenizer("bpe:12", texts)


ORDER_CASES = [
    # (lengths, batch, epochs, max_steps, curriculum_steps, share, group) -> total examples
    (list(range(100)), 8, 1, -1, 0, 0.3, False, 104),
    (list(range(100)), 8, 2, -1, 0, 0.3, True, 200),
    (list(range(100)), 8, 1, 30, 5, 0.2, True, 240),
    (list(range(100)), 8, 1, -1, 5, 0.2, False, 144),
]


@pytest.mark.parametrize("lengths,batch,epochs,max_steps,curriculum,share,group,total", ORDER_CASES)
def test_training_order_is_seeded_and_has_the_expected_size(lengths, batch, epochs, max_steps, curriculum, share, group, total):
    from s1kit.train.order import training_order

    order = training_order(lengths, batch, epochs, seed=3, max_steps=max_steps, curriculum_steps=curriculum,
                           curriculum_share=share, group_by_length=group)
    assert len(order) == total
    assert order == training_order(lengths, batch, epochs, seed=3, max_steps=max_steps, curriculum_steps=curriculum,
                                   curriculum_share=share, group_by_length=group)
    assert order != training_order(lengths, batch, epochs, seed=4, max_steps=max_steps, curriculum_steps=curriculum,
                                   curriculum_share=share, group_by_length=group)
    shortest = set(sorted(range(len(lengths)), key=lambda i: lengths[i])[: max(batch, int(share * len(lengths)))])
    assert set(order[: curriculum * batch]) <= shortest  # the curriculum draws from the shortest share only
    if max_steps < 0:
        after = order[curriculum * batch:]
        counts = [after.count(i) for i in range(len(lengths))]
        assert min(counts) >= epochs and max(counts) <= epochs + 1  # then every example once per epoch


def test_length_buckets_keep_similar_lengths_together():
    import random

    from s1kit.train.order import training_order

    lengths = [random.Random(i).randint(1, 500) for i in range(800)]
    order = training_order(lengths, 16, 1, seed=0, group_by_length=True)
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b)
                 for b in (order[k:k + 16] for k in range(0, 800, 16))) / 50
    assert spread < 60  # shuffled batches would spread about 450
