"""Training examples: rendering in the s1 and think-tags formats, the label mask, padding, truncation,
and rows that cannot be trained on. SmolLM2's real tokenizer; no model weights are loaded."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from s1kit.errors import S1kitError
from s1kit.formats import FORMATS
from s1kit.train.data import IGNORE, Row, assistant_turn, encode_rows, load_rows, prepare_tokenizer

pytest.importorskip("transformers", reason="tokenizing examples needs the [train] extra")

QWEN25_TEMPLATE = (Path(__file__).parent / "data" / "qwen2_5_chat_template.jinja").read_text()
ROW = Row(question="What is 7 * 6?", thinking="7 * 6 means seven sixes.\nThat is 42.", attempt="The product is 42.")


def make_rows(count: int, seed: int = 0) -> list[dict]:
    """s1K-shaped rows about sums (also used by test_train_run.py)."""
    import random

    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        rows.append({"question": f"What is {a} + {b}?", "thinking_trajectories": [f"We add {a} and {b}.", f"{a} + {b} = {a + b}."],
                     "attempt": f"The sum is {a + b}."})
    return rows


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture
def tokenizer(smollm2_tokenizer):
    return copy.deepcopy(smollm2_tokenizer)  # prepare_tokenizer sets the pad token; keep the session one intact


@pytest.fixture
def think_tokenizer(smollm2_tokenizer):
    tokenizer = copy.deepcopy(smollm2_tokenizer)
    tokenizer.add_special_tokens({"additional_special_tokens": ["<think>", "</think>"]})
    return tokenizer


def split(example: dict) -> tuple[list[int], list[int]]:
    """(prompt ids, assistant ids) of an example, from its labels."""
    first = next(i for i, label in enumerate(example["labels"]) if label != IGNORE)
    return example["input_ids"][:first], example["input_ids"][first:]


@pytest.mark.parametrize("format_name, turn", [
    ("s1", "<|im_start|>think\n7 * 6 means seven sixes.\nThat is 42.\n<|im_start|>answer\nAnswer: The product is 42.<|im_end|>"),
    ("think-tags", "<think>\n7 * 6 means seven sixes.\nThat is 42.\n</think>\n\nThe product is 42.<|im_end|>"),
])
def test_label_mask_covers_exactly_the_assistant_turn(format_name, turn, tokenizer, think_tokenizer):
    tokenizer = think_tokenizer if format_name == "think-tags" else tokenizer
    fmt, eot = prepare_tokenizer(tokenizer, format_name, None, "smollm2")
    [example] = encode_rows([ROW], tokenizer, fmt, eot, block_size=4096).examples
    prompt_ids, turn_ids = split(example)
    # Every prompt token is ignored, every assistant token counts (its label is the token itself).
    assert example["labels"][:len(prompt_ids)] == [IGNORE] * len(prompt_ids)
    assert example["labels"][len(prompt_ids):] == turn_ids
    # The prompt is what inference renders (system, user, assistant header); the turn is the rest.
    assert tokenizer.decode(prompt_ids) == tokenizer.apply_chat_template(
        [{"role": "user", "content": ROW.question}], tokenize=False, add_generation_prompt=True)
    assert tokenizer.decode(turn_ids) == turn
    assert turn_ids[-1] == tokenizer.convert_tokens_to_ids("<|im_end|>")  # the model learns to stop


def test_padding_is_ignored_and_is_not_the_end_of_turn(tokenizer):
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    fmt, eot = prepare_tokenizer(tokenizer, "s1", None, "smollm2")
    short = Row("Hi?", "Short.", "Yes.")
    examples = encode_rows([ROW, short], tokenizer, fmt, eot, block_size=4096).examples
    pad_id, eot_id = tokenizer.pad_token_id, tokenizer.convert_tokens_to_ids(eot)
    assert tokenizer.pad_token == "<|endoftext|>" and pad_id != eot_id  # SmolLM2 ships pad = <|im_end|>
    batch = DataCollatorForLanguageModeling(pad_token_id=pad_id)(examples)  # what SFTTrainer collates with
    n = len(examples[1]["input_ids"])
    assert batch["input_ids"][1, n:].eq(pad_id).all() and batch["labels"][1, n:].eq(IGNORE).all()
    assert batch["attention_mask"][1, n:].eq(0).all() and batch["attention_mask"][1, :n].eq(1).all()
    assert batch["labels"][1, :n].tolist() == examples[1]["labels"]
    # The end-of-turn tokens of both rows are trained on.
    for row in range(2):
        assert eot_id in batch["labels"][row].tolist()


def test_s1_format_is_s1s_training_text(tokenizer, tmp_path):
    """s1's data/tokenization.py: the Qwen2.5 template over [user, assistant] with the assistant
    content "<|im_start|>think\\n" + trajectory + "\\n<|im_start|>answer\\n" + "Answer: " + attempt."""
    tokenizer.chat_template = QWEN25_TEMPLATE
    fmt, eot = prepare_tokenizer(tokenizer, "s1", None, "qwen-templated")
    trajectory = ["Step one.", "Step two. "]
    [row] = load_rows(str(write_rows(tmp_path / "d.jsonl", [{"question": "Q?", "thinking_trajectories": trajectory,
                                                              "attempt": " 42 "}])))
    s1_text = tokenizer.apply_chat_template([
        {"role": "user", "content": "Q?"},
        {"role": "assistant", "content": "<|im_start|>think\n" + "\n".join(trajectory).strip()
         + "\n<|im_start|>answer\n" + ("Answer: " + " 42 ").strip()}], tokenize=False)
    [example] = encode_rows([row], tokenizer, fmt, eot, block_size=4096).examples
    # Ours stops at <|im_end|>; the template's newline after it starts no trained token of ours.
    assert tokenizer.decode(example["input_ids"]) + "\n" == s1_text
    assert "You are Qwen, created by Alibaba Cloud." in tokenizer.decode(split(example)[0])


@pytest.mark.parametrize("attempt, expected", [
    ("42", "Answer: 42"),
    ("Answer: 42", "Answer: 42"),            # s1 added the prefix only when "Answer:" was absent
    ("So the Answer: is 42", "So the Answer: is 42"),
])
def test_answer_prefix_as_s1(attempt, expected):
    turn = assistant_turn(Row("q", "t", attempt), FORMATS["s1"], None)
    assert turn.endswith("<|im_start|>answer\n" + expected)
    assert assistant_turn(Row("q", "t", attempt), FORMATS["think-tags"], None).endswith("</think>\n\n" + attempt)


def test_rows_from_a_curate_directory_with_a_field_mapping(tmp_path):
    write_rows(tmp_path / "dataset.jsonl", [{"problem": "Q?", "deepseek_thinking_trajectory": "a plain string trace",
                                             "deepseek_attempt": "A"}])
    [row] = load_rows(str(tmp_path), fields={"question": "problem", "thinking_trajectories": "deepseek_thinking_trajectory",
                                              "attempt": "deepseek_attempt"})
    assert row == Row("Q?", "a plain string trace", "A")


def test_rows_without_thinking_or_answer_are_named(tmp_path):
    rows = make_rows(4)
    rows[1]["thinking_trajectories"] = []
    del rows[3]["attempt"]
    with pytest.raises(S1kitError) as info:
        load_rows(str(write_rows(tmp_path / "d.jsonl", rows)))
    message = str(info.value)
    assert "2 of 4 rows cannot be trained on" in message
    assert "row 1 (" in message and "d.jsonl line 2) has no text in thinking_trajectories" in message
    assert "row 3 (" in message and "line 4) has no text in attempt" in message


def test_unknown_field_mapping_and_empty_data(tmp_path):
    with pytest.raises(S1kitError, match=r"fields maps unknown columns \['solution'\]"):
        load_rows(str(tmp_path), fields={"solution": "x"})
    with pytest.raises(S1kitError, match="no rows in"):
        load_rows(str(write_rows(tmp_path / "empty.jsonl", [])))


def test_forced_spans_are_tokenized_alone_and_get_no_loss(tmp_path, tokenizer):
    """A Wait that budget forcing wrote is an input the model sees, never a target it learns."""
    thinking = "3+4=7\nWait\n3+4=7\nWait\n3+4=7"
    forced_at = thinking.index("Wait", 10)
    path = write_rows(tmp_path / "forced.jsonl", [
        {"question": "3 + 4?", "thinking_trajectories": [thinking], "attempt": "7",
         "thinking_forced_spans": [[forced_at, forced_at + 4]]},
        {"question": "3 + 4?", "thinking_trajectories": [thinking], "attempt": "7"}])
    forced, plain = load_rows(str(path))
    assert forced.forced == ((forced_at, forced_at + 4),) and plain.forced == ()
    fmt, eot = prepare_tokenizer(tokenizer, "s1", None, "m")
    a, b = encode_rows([forced, plain], tokenizer, fmt, eot, 512).examples
    wait = tokenizer.encode("Wait", add_special_tokens=False)
    ignored = [i for i, (x, y) in enumerate(zip(a["labels"], b["labels"])) if x != y]
    assert [a["input_ids"][i] for i in ignored] == wait and all(a["labels"][i] == IGNORE for i in ignored)
    # The model's own Wait (the first) keeps its loss; apart from the forced tokens, the labels agree.
    assert sum(label == IGNORE for label in a["labels"]) == sum(label == IGNORE for label in b["labels"]) + len(wait)


@pytest.mark.parametrize("spans, message", [
    ("0,4", "must be a list of [start, end] character offsets"),
    ([[5, 3]], "is not inside the thinking"),
    ([[0, 99]], "is not inside the thinking"),
    ([[6, 10], [0, 4]], "overlaps the one before"),
    ([[0, True]], "must be a list of"),
])
def test_bad_forced_spans_name_the_row(tmp_path, spans, message):
    path = write_rows(tmp_path / "bad.jsonl", [{"question": "q", "thinking_trajectories": ["3+4=7\nWait\n3+4=7"],
                                                "attempt": "7", "thinking_forced_spans": spans}])
    with pytest.raises(S1kitError, match=r"row 0 .*" + message.replace("[", r"\[").replace("]", r"\]")):
        load_rows(str(path))


def test_truncation_is_counted_and_a_full_prompt_is_dropped(tokenizer):
    fmt, eot = prepare_tokenizer(tokenizer, "s1", None, "smollm2")
    long_thinking = Row("Add these.", " ".join(["one more step"] * 200), "Done.")
    long_question = Row(" ".join(["word"] * 150), "t", "a")  # its prompt alone is over 100 tokens
    encoded = encode_rows([ROW, long_thinking, long_question], tokenizer, fmt, eot, block_size=100)
    assert (encoded.truncated, encoded.dropped, len(encoded.examples)) == (2, 1, 2)
    assert encoded.lengths[0] <= 100 < encoded.lengths[1] and encoded.longest == max(encoded.lengths) > 600
    kept = encoded.examples[1]
    assert len(kept["input_ids"]) == 100 and kept["labels"][-1] != IGNORE  # cut at the block, end not trained
    with pytest.raises(S1kitError, match="every prompt fills block_size 5"):
        encode_rows([ROW], tokenizer, fmt, eot, block_size=5)


def test_a_model_without_chat_template(tokenizer):
    tokenizer.chat_template = None
    with pytest.raises(S1kitError, match="has no chat template, so the format cannot be told from it; set format to s1 or think-tags"):
        prepare_tokenizer(tokenizer, "auto", None, "base-model")
    fmt, eot = prepare_tokenizer(tokenizer, "s1", None, "base-model")  # named format: ChatML is given and saved
    assert (fmt.name, eot) == ("s1", "<|im_end|>")
    assert tokenizer.apply_chat_template([{"role": "user", "content": "Q"}], tokenize=False,
                                         add_generation_prompt=True) == "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"


def test_pad_token_choice(tokenizer):
    with pytest.raises(S1kitError, match="pad_token '<|im_end|>' is a token the model must learn to emit"):
        prepare_tokenizer(tokenizer, "s1", "<|im_end|>", "smollm2")
    with pytest.raises(S1kitError, match="pad_token '<nope>' is not in the vocabulary"):
        prepare_tokenizer(tokenizer, "s1", "<nope>", "smollm2")
    prepare_tokenizer(tokenizer, "s1", "<empty_output>", "smollm2")
    assert tokenizer.pad_token == "<empty_output>"
    qwen_like = copy.deepcopy(tokenizer)
    qwen_like.add_special_tokens({"additional_special_tokens": ["<|fim_pad|>"]})
    prepare_tokenizer(qwen_like, "s1", None, "qwen-like")
    assert qwen_like.pad_token == "<|fim_pad|>"  # s1's choice for Qwen
