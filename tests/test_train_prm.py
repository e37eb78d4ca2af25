"""`s1kit train --objective prm`: a reward head trained on CPU learns which steps are good, saves as a
PRM that `--prm DIR` loads, and bad rows are one line naming their line. A new 1-layer Llama of 19k
parameters with the bytes tokenizer trains 40 steps in about a second."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s1kit.cli import app
from s1kit.errors import S1kitError
from s1kit.train.config import TrainConfig
from s1kit.train.run_dir import CONFIG_FILE, SUMMARY_FILE

pytest.importorskip("trl", reason="s1kit train needs the [train] extra")

MODEL = {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
         "num_attention_heads": 2, "num_key_value_heads": 2, "head_dim": 16, "max_position_embeddings": 512}
# Same settings at every step, so that the loss is the data's and the model's only.
FAST = dict(objective="prm", max_steps=40, learning_rate=1e-2, lr_scheduler="constant", warmup_ratio=0.0,
            global_batch_size=8, per_device_batch_size=8, bf16=False, gradient_checkpointing=False,
            save_strategy="no", seed=0)


def make_rows(count: int, seed: int) -> list[dict]:
    """Traces of 2-4 sums; a step is good when its text says so (label: "good" in the step)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        verdicts = [rng.choice(["good", "bad"]) for _ in range(rng.randint(2, 4))]
        steps = [f"{a}+{b + i}={a + b + i}, {verdict}" for i, verdict in enumerate(verdicts)]
        rows.append({"question": f"Add {a} and {b}.", "steps": steps, "labels": ["good" in step for step in steps]})
    return rows


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def scratch_config(folder: Path, rows: list, model: dict = MODEL, **overrides) -> TrainConfig:
    import yaml

    (folder / "model.yaml").write_text(yaml.safe_dump(model))
    data = write_jsonl(folder / "rows.jsonl", rows)
    values = {**FAST, "model": None, "model_config": str(folder / "model.yaml"), "tokenizer": "bytes",
              "data": str(data), "output_dir": str(folder / "run"), **overrides}
    return TrainConfig(**values)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from s1kit.train.trainer import main

    folder = tmp_path_factory.mktemp("prm")
    config = scratch_config(folder, make_rows(40, seed=0))
    return main(config), Path(config.output_dir)


def test_the_loss_falls_and_the_summary_says_prm(trained):
    summary, out = trained
    losses = summary["losses"]
    assert summary["objective"] == "prm" and summary["steps"] == 40 and len(losses) == 40
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5, losses
    assert summary["step_accuracy"] >= 0.9
    assert summary["steps_labelled"] == sum(len(row["steps"]) for row in make_rows(40, seed=0))
    assert json.loads((out / SUMMARY_FILE).read_text()) == summary
    assert "objective: prm" in (out / CONFIG_FILE).read_text()


def test_the_saved_head_loads_as_a_prm_and_scores_good_steps_above_bad(trained):
    from s1kit.reward.load import load_prm

    _, out = trained
    config = json.loads((out / "config.json").read_text())
    assert (config["s1kit_prm"], config["s1kit_step_tag"]) == ("token-classification", "<step>")
    prm = load_prm(str(out), device="cpu")
    good, bad = [], []
    for row in make_rows(20, seed=1):  # held out: other sums, other verdicts
        for score, label in zip(prm.score(row["question"], row["steps"]), row["labels"]):
            (good if label else bad).append(score)
    assert good and bad and min(good) > max(bad), (good, bad)


def test_labels_sit_at_the_tags_scoring_reads_and_a_cut_row_keeps_the_tags_before_the_cut(trained):
    from s1kit.reward.hf import load_hf_prm
    from s1kit.train.prm import StepRow, encode

    prm = load_hf_prm(str(trained[1]))
    row = StepRow("here", "Add 1 and 2.", ("1+2=3, good", "1+3=4, bad", "1+4=5, good"), (True, False, True))
    tokens, tags = prm._encode(row.question, list(row.steps))
    [(kept_tokens, kept)], truncated = encode(prm, [row], block_size=len(tokens))
    assert kept_tokens == tokens and kept == list(zip(tags, [1, 0, 1])) and truncated == 0
    assert all(tokens[p] == prm.tokenizer.convert_tokens_to_ids("<step>") for p in tags)
    [(cut_tokens, cut)], truncated = encode(prm, [row], block_size=tags[1])  # the second tag falls just outside
    assert cut_tokens == tokens[:tags[1]] and cut == [(tags[0], 1)] and truncated == 1
    assert encode(prm, [row], block_size=tags[0]) == ([], 1)  # no tag left: the row is left out


def test_rows_beyond_the_models_context_are_cut_there_not_refused(tmp_path):
    from s1kit.train.trainer import main

    rows = make_rows(8, seed=5)
    summary = main(scratch_config(tmp_path, rows, {**MODEL, "max_position_embeddings": 150}, max_steps=1))
    assert summary["cut_at"] == 150 and summary["truncated"] > 0
    assert summary["examples"] + summary["dropped"] == len(rows)
    assert summary["steps_labelled"] < sum(len(row["steps"]) for row in rows)


def test_a_causal_lm_keeps_its_backbone_under_the_new_head(tmp_path):
    import torch
    from safetensors.torch import load_file
    from transformers import LlamaConfig, LlamaForCausalLM

    from s1kit.reward.hf import load_hf_prm
    from s1kit.train.scratch import build_byte_tokenizer
    from s1kit.train.trainer import main

    tokenizer = build_byte_tokenizer()
    torch.manual_seed(0)
    fields = {key: value for key, value in MODEL.items() if key != "model_type"}
    LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), pad_token_id=0, **fields)).save_pretrained(tmp_path / "lm")
    tokenizer.save_pretrained(tmp_path / "lm")
    data = write_jsonl(tmp_path / "rows.jsonl", make_rows(8, seed=2))
    # One step at a learning rate too small to move a weight: what is saved is what was loaded.
    main(TrainConfig(**{**FAST, "max_steps": 1, "learning_rate": 1e-12}, model=str(tmp_path / "lm"), data=str(data),
                     output_dir=str(tmp_path / "run"), step_tag="<check>"))
    before, after = load_file(tmp_path / "lm" / "model.safetensors"), load_file(tmp_path / "run" / "model.safetensors")
    assert torch.allclose(before["model.layers.0.self_attn.q_proj.weight"], after["model.layers.0.self_attn.q_proj.weight"])
    embeddings = after["model.embed_tokens.weight"]
    assert embeddings.shape[0] == len(tokenizer) + 1 and torch.allclose(before["model.embed_tokens.weight"], embeddings[:-1])
    assert after["score.weight"].shape == (2, MODEL["hidden_size"]) and "lm_head.weight" not in after
    prm = load_hf_prm(str(tmp_path / "run"))
    assert prm.step_tag == "<check>" and len(prm.score("Add 1 and 2.", ["1+2=3, good", "so 3"])) == 2


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path):
    import shutil

    from safetensors.torch import load_file

    from s1kit.train.trainer import main

    rows, steps = make_rows(40, seed=0), dict(max_steps=4, save_strategy="steps", save_steps=2)
    whole = main(scratch_config(tmp_path, rows, **steps))
    weights = load_file(tmp_path / "run" / "model.safetensors")
    shutil.rmtree(tmp_path / "run" / "checkpoint-4")  # as if stopped after step 3
    resumed = main(scratch_config(tmp_path, rows, resume=True, **steps))
    assert resumed["resumed_from"] == str(tmp_path / "run" / "checkpoint-2") and resumed["losses"] == whole["losses"]
    again = load_file(tmp_path / "run" / "model.safetensors")
    assert all(weights[name].equal(again[name]) for name in weights)


@pytest.mark.parametrize("bad, message", [
    ({"question": "q", "steps": ["a", "b"], "labels": [True]}, "line 2: 2 steps but labels 1; give a list of one label"),
    ({"question": "q", "steps": ["a"]}, "line 2: no labels; each row is"),
    ({"steps": ["a"], "labels": [True]}, "line 2: no question; each row is"),
    ({"question": "q", "steps": ["a", "b"], "labels": [True, 1]}, r"line 2: label 2 is 1 \(int\); each label is true"),
    ({"question": "q", "steps": "a", "labels": [True]}, r"line 2: steps must be a non-empty list of texts, got 'a'"),
    ({"question": "q", "steps": ["a <step> b"], "labels": [True]}, "line 2: .*step 1 contains the step tag '<step>'"),
])
def test_a_bad_row_is_one_line_naming_its_line(tmp_path, bad, message):
    from s1kit.train.trainer import main

    config = scratch_config(tmp_path, [make_rows(1, seed=3)[0], bad])
    with pytest.raises(S1kitError, match=message) as info:
        main(config)
    assert "\n" not in str(info.value) and str(tmp_path / "rows.jsonl") in str(info.value)
    assert not (tmp_path / "run" / CONFIG_FILE).exists()


def test_max_examples_reads_no_further(tmp_path):
    from s1kit.train.prm import read_rows

    data = write_jsonl(tmp_path / "rows.jsonl", [*make_rows(2, seed=4), {"question": "q"}])
    assert [row.where for row in read_rows(str(data), limit=2)] == [f"{data} line 1", f"{data} line 2"]
    with pytest.raises(S1kitError, match="line 3: no steps and no labels"):
        read_rows(str(data))


def test_an_unknown_objective_and_a_stray_step_tag_are_refused():
    result = CliRunner().invoke(app, ["train", "--objective", "nope"])
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2 and errors == ["error: unknown objective 'nope'; choose from sft, prm"], result.output
    with pytest.raises(S1kitError, match="step_tag '<s>' is read by objective prm only"):
        TrainConfig(step_tag="<s>")
    with pytest.raises(S1kitError, match="step_tag must be non-empty text"):
        TrainConfig(objective="prm", step_tag="")


def test_a_run_saved_before_the_objective_existed_still_resumes():
    from s1kit.train.config import TrainConfig
    from s1kit.train.run_dir import config_differences

    config = TrainConfig(model="smollm2-135m", data="d.jsonl")
    saved = {k: v for k, v in config.to_dict().items() if k not in ("objective", "step_tag")}
    assert config_differences(saved, config) == []
    assert config_differences(saved, TrainConfig(model="smollm2-135m", data="d.jsonl", objective="prm")) == [
        "objective: 'sft' there, 'prm' now"]
