"""`s1kit train` configuration: recipes, precedence, overrides, gradient accumulation, the output
directory rules and bad input. No model is loaded here; every test takes milliseconds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s1kit.cli import app
from s1kit.errors import MissingExtraError, S1kitError
from s1kit.locks import LOCK_NAME, locked
from s1kit.train.config import TrainConfig, gradient_accumulation_steps, load_config, parse_overrides
from s1kit.train.run_dir import CONFIG_FILE, plan_output_dir, prepare_output_dir, saved_steps

pytest.importorskip("yaml", reason="recipes are YAML; PyYAML comes with the [train] extra")

RECIPES = Path(__file__).resolve().parent.parent / "recipes"

# The s1 recipe (paper section 4.1, appendix D; the reference's train/sft.sh).
S1_VALUES = {"model": "Qwen/Qwen2.5-32B-Instruct", "num_epochs": 5.0, "learning_rate": 1e-5, "lr_scheduler": "cosine",
             "warmup_ratio": 0.05, "global_batch_size": 16, "adam_beta1": 0.9, "adam_beta2": 0.95,
             "weight_decay": 1e-4, "bf16": True, "block_size": 32768}


def test_defaults_are_the_s1_recipe():
    config = TrainConfig()
    assert {key: getattr(config, key) for key in S1_VALUES} == S1_VALUES


@pytest.mark.parametrize("name, expected", [
    ("s1-32b.yaml", {**S1_VALUES, "format": "s1", "data": "simplescaling/s1K"}),
    ("s1.1-32b.yaml", {**S1_VALUES, "format": "s1", "block_size": 20000, "data": "simplescaling/s1K-1.1",
                       "fields": {"thinking_trajectories": "deepseek_thinking_trajectory", "attempt": "deepseek_attempt"}}),
    ("tiny-cpu.yaml", {"model": "smollm2-135m", "block_size": 512, "bf16": False, "dtype": "float32", "format": "s1"}),
])
def test_recipes_load_with_their_values(name, expected):
    config = load_config(RECIPES / "sft" / name)
    assert {key: getattr(config, key) for key in expected} == expected


def test_precedence_defaults_then_recipe_then_overrides(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("learning_rate: 2.0e-5\nnum_epochs: 3\nformat: think-tags\n")
    config = load_config(recipe, {"num_epochs": "1", "seed": "7"})
    assert config.learning_rate == 2e-5            # recipe over default
    assert config.num_epochs == 1.0                # override over recipe
    assert config.seed == 7                        # override over default
    assert config.format == "think-tags"           # recipe
    assert config.weight_decay == 1e-4             # default


def test_unknown_recipe_key_names_the_key_and_a_close_match(tmp_path):
    recipe = tmp_path / "typo.yaml"
    recipe.write_text("learnin_rate: 1.0e-5\n")
    with pytest.raises(S1kitError, match=r"recipe .*typo.yaml: unknown key 'learnin_rate'; did you mean 'learning_rate'"):
        load_config(recipe)


def test_unknown_override_key_fails():
    with pytest.raises(S1kitError, match=r"the command line: unknown key 'epochs'; did you mean 'num_epochs'"):
        load_config(None, {"epochs": "3"})


@pytest.mark.parametrize("key, text, value", [
    ("learning_rate", "1e-5", 1e-5),          # YAML 1.1 reads 1e-5 as a string; it must still be a float
    ("global_batch_size", "32", 32),
    ("bf16", "false", False),
    ("max_examples", "null", None),
    ("fields", "{attempt: deepseek_attempt}", {"attempt": "deepseek_attempt"}),
    ("system_prompt", "You are Qwen.", "You are Qwen."),
])
def test_values_take_the_fields_type(key, text, value):
    assert getattr(load_config(None, {key: text}), key) == value


@pytest.mark.parametrize("key, text, message", [
    ("global_batch_size", "sixteen", r"global_batch_size in the command line must be int, got 'sixteen'"),
    ("global_batch_size", "2.5", r"must be int"),
    ("bf16", "maybe", r"bf16 .* must be bool"),
    ("learning_rate", "0", r"learning_rate must be a finite number above 0"),
    ("warmup_ratio", "1.5", r"warmup_ratio must be in \[0, 1\)"),
    ("format", "chatml", r"unknown format 'chatml'; choose from auto, s1, think-tags"),
    ("block_size", "0", r"block_size must be a positive integer"),
])
def test_bad_values_say_what_is_expected(key, text, message):
    with pytest.raises(S1kitError, match=message):
        load_config(None, {key: text})


INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize("values, message", [
    ({"learning_rate": INF}, r"learning_rate must be a finite number above 0, got inf \(float\)"),
    ({"learning_rate": NAN}, r"learning_rate must be a finite number above 0, got nan"),
    ({"learning_rate": -1e-5}, r"learning_rate must be a finite number above 0, got -1e-05"),
    ({"learning_rate": "1e-5"}, r"learning_rate must be a finite number above 0, got '1e-5' \(str\)"),
    ({"num_epochs": INF}, r"num_epochs must be a finite number of at least 0, got inf"),
    ({"num_epochs": -1.0, "max_steps": 10}, r"num_epochs must be a finite number of at least 0, got -1.0"),
    ({"max_steps": 0}, r"max_steps must be -1 \(run num_epochs\) or a positive integer, got 0"),
    ({"max_steps": -5}, r"max_steps must be -1 .* got -5"),
    ({"max_steps": 2.5}, r"max_steps must be -1 .* got 2.5 \(float\)"),
    ({"warmup_ratio": NAN}, r"warmup_ratio must be in \[0, 1\), got nan"),
    ({"adam_beta1": 1.0}, r"adam_beta1 must be in \[0, 1\), got 1.0 \(float\); s1 used 0.9"),
    ({"adam_beta1": -0.1}, r"adam_beta1 must be in \[0, 1\), got -0.1"),
    ({"adam_beta2": INF}, r"adam_beta2 must be in \[0, 1\), got inf"),
    ({"weight_decay": -1e-4}, r"weight_decay must be a finite number of at least 0, got -0.0001"),
    ({"weight_decay": NAN}, r"weight_decay must be a finite number of at least 0, got nan"),
    ({"max_grad_norm": -1.0}, r"max_grad_norm must be a finite number of at least 0 \(0: no clipping\), got -1.0"),
    ({"max_grad_norm": INF}, r"max_grad_norm must be a finite number .* got inf"),
    ({"curriculum_share": NAN}, r"curriculum_share must be in \(0, 1\], got nan"),
    ({"seed": -1}, r"seed must be an integer from 0 to 4294967295, got -1 \(int\)"),
    ({"seed": 2 ** 32}, r"seed must be an integer from 0 to 4294967295, got 4294967296"),
    ({"seed": True}, r"seed must be an integer .* got True \(bool\)"),
    ({"output_dir": ""}, r"output_dir is empty; pass the directory for the model and its checkpoints"),
    ({"data_split": ""}, r"data_split is empty; pass the split of a hub dataset, e.g. train"),
    ({"lr_scheduler": "cosine_with_min_lr"}, r"unknown lr_scheduler 'cosine_with_min_lr'; choose from linear, cosine"),
    ({"lr_scheduler": "warmup_stable_decay"}, r"unknown lr_scheduler 'warmup_stable_decay'"),
])
def test_impossible_values_are_refused_naming_the_field(values, message):
    with pytest.raises(S1kitError, match=message):
        TrainConfig(**values)


@pytest.mark.parametrize("key, text, message", [
    ("learning_rate", "inf", r"learning_rate must be a finite number above 0, got inf"),
    ("learning_rate", "-1", r"learning_rate must be a finite number above 0, got -1.0"),
    ("seed", "-1", r"seed must be an integer from 0 to 4294967295, got -1"),
    ("adam_beta2", "1", r"adam_beta2 must be in \[0, 1\), got 1.0"),
])
def test_impossible_values_from_the_command_line_are_refused(key, text, message):
    with pytest.raises(S1kitError, match=message):
        load_config(None, {key: text})


def test_the_edges_of_each_range_are_accepted():
    TrainConfig(learning_rate=10.0, num_epochs=0.0, max_steps=1, adam_beta1=0.0, adam_beta2=0.999, weight_decay=0.0,
                max_grad_norm=0.0, seed=0, warmup_ratio=0.0)
    TrainConfig(seed=2 ** 32 - 1, max_steps=-1)


def test_overrides_accept_three_spellings():
    assert parse_overrides(["learning_rate=2e-5", "--num-epochs", "1", "--seed=3"]) == {
        "learning_rate": "2e-5", "num_epochs": "1", "seed": "3"}
    with pytest.raises(S1kitError, match="has no value"):
        parse_overrides(["--seed"])
    with pytest.raises(S1kitError, match="write key=value"):
        parse_overrides(["seed"])


@pytest.mark.parametrize("global_batch, processes, per_device, accumulation", [
    (16, 1, 1, 16),   # one GPU: all of s1's batch by accumulation
    (16, 16, 1, 1),   # s1's 16 H100s
    (16, 8, 1, 2),    # one 8-GPU node
    (16, 2, 4, 2),
    (8, 2, 4, 1),
    (16, 4, 2, 2),
])
def test_gradient_accumulation_keeps_the_global_batch(global_batch, processes, per_device, accumulation):
    assert gradient_accumulation_steps(global_batch, processes, per_device) == accumulation
    assert accumulation * processes * per_device == global_batch


@pytest.mark.parametrize("global_batch, processes, per_device", [(16, 3, 1), (16, 32, 1), (10, 4, 1), (16, 2, 3)])
def test_indivisible_global_batch_names_the_numbers_and_the_fix(global_batch, processes, per_device):
    with pytest.raises(S1kitError) as info:
        gradient_accumulation_steps(global_batch, processes, per_device)
    message = str(info.value)
    assert f"global_batch_size {global_batch} is not divisible by {processes} process(es) x " \
           f"per_device_batch_size {per_device} = {processes * per_device}" in message
    assert f"set global_batch_size to a multiple of {processes * per_device}" in message


def test_per_device_batch_must_divide_the_global_batch_already_in_the_config():
    with pytest.raises(S1kitError, match="global_batch_size 16 is not divisible"):
        TrainConfig(per_device_batch_size=3)


def test_resume_and_overwrite_together_are_refused():
    with pytest.raises(S1kitError, match="pass one of them"):
        TrainConfig(resume=True, overwrite=True)


def config_in(out: Path, **overrides) -> TrainConfig:
    return TrainConfig(data="d.jsonl", output_dir=str(out), **overrides)


def test_output_dir_rules(tmp_path):
    out = tmp_path / "run"
    assert plan_output_dir(config_in(out)) == ("new", None)
    prepare_output_dir(config_in(out), "new")
    assert (out / CONFIG_FILE).is_file()
    with pytest.raises(S1kitError, match="already holds a training run; pass --resume to continue it, --overwrite"):
        plan_output_dir(config_in(out))
    assert plan_output_dir(config_in(out, overwrite=True)) == ("overwrite", None)
    assert plan_output_dir(config_in(out, resume=True)) == ("resume", None)  # no checkpoint yet: from the start
    with pytest.raises(S1kitError, match=r"other settings \(learning_rate: 1e-05 there, 0.001 now\)"):
        plan_output_dir(config_in(out, resume=True, learning_rate=1e-3))
    # Settings that do not change what is trained may differ.
    assert plan_output_dir(config_in(out, resume=True, logging_steps=5))[0] == "resume"


def make_checkpoints(out: Path, states: dict) -> None:
    """checkpoint-STEP folders; a state of None leaves out trainer_state.json (the Trainer writes it last)."""
    for step, state in states.items():
        (out / f"checkpoint-{step}").mkdir()
        if state is not None:
            (out / f"checkpoint-{step}" / "trainer_state.json").write_text(state)


def test_resume_picks_the_newest_complete_checkpoint(tmp_path):
    out = tmp_path / "run"
    prepare_output_dir(config_in(out), "new")
    # checkpoint-6 was cut short before its trainer state, checkpoint-8 while writing it
    make_checkpoints(out, {2: "{}", 4: '{"global_step": 4}', 6: None, 8: '{"global_step": 8, "log_hist'})
    assert plan_output_dir(config_in(out, resume=True)) == ("resume", str(out / "checkpoint-4"))


def test_a_run_killed_before_its_config_was_written_is_a_new_run(tmp_path):
    """A kill can leave the lock and the temporary file of the config's write, and nothing else."""
    (tmp_path / LOCK_NAME).write_text("PID 4321 (s1kit train)\n")
    (tmp_path / f".{CONFIG_FILE}.k2j4x9ab.tmp.yaml").write_text("")
    for flags in ({}, {"resume": True}):
        assert plan_output_dir(config_in(tmp_path, **flags)) == ("new", None)


def test_overwrite_clears_the_old_run_but_not_its_lock(tmp_path):
    out = tmp_path / "run"
    prepare_output_dir(config_in(out), "new")
    (out / "checkpoint-2").mkdir()
    with locked(out, "s1kit train"):
        prepare_output_dir(config_in(out, overwrite=True), "overwrite")
        assert sorted(p.name for p in out.iterdir()) == sorted([LOCK_NAME, CONFIG_FILE])
        with pytest.raises(S1kitError, match="is in use by PID"):  # still one writer
            with locked(out, "s1kit train"):
                pass


def test_ctrl_c_names_the_checkpoint_a_resume_continues_from(tmp_path):
    config = config_in(tmp_path)
    assert saved_steps(config, 6) == "0 of 6 steps saved (no checkpoint yet); rerun with --resume to start again"
    make_checkpoints(tmp_path, {2: "{}", 4: "{}", 6: None})
    assert saved_steps(config, 6) == "4 of 6 steps saved (checkpoint-4); rerun with --resume"
    assert saved_steps(config, None) == "4 steps saved (checkpoint-4); rerun with --resume"


def test_a_foreign_directory_is_never_overwritten(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    for flags in ({}, {"overwrite": True}, {"resume": True}):
        with pytest.raises(S1kitError, match="not empty and holds no s1kit training run"):
            plan_output_dir(config_in(tmp_path, **flags))
    assert (tmp_path / "notes.txt").read_text() == "mine"


def invoke(*args):
    return CliRunner().invoke(app, ["train", *map(str, args)])


@pytest.mark.parametrize("args, fragment", [
    (["learnin_rate=1"], "the command line: unknown key 'learnin_rate'; did you mean 'learning_rate'"),
    (["--learnin-rate", "1"], "the command line: unknown key 'learnin_rate'"),  # unknown flags reach the overrides
    (["--resume", "--overwrite"], "pass one of them"),
    (["--model", "smollm2-135m"], "no training data; pass --data"),
    (["--data", "x.jsonl", "global_batch_size=16", "per_device_batch_size=3"], "global_batch_size 16 is not divisible"),
])
def test_cli_bad_input_is_one_error_line(args, fragment):
    pytest.importorskip("trl", reason="s1kit train needs the [train] extra")
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and fragment in errors[0], result.output


def test_cli_refuses_an_existing_run_before_loading_anything(tmp_path):
    pytest.importorskip("trl", reason="s1kit train needs the [train] extra")
    prepare_output_dir(config_in(tmp_path / "run"), "new")
    data = tmp_path / "d.jsonl"
    data.write_text('{"question": "q", "thinking_trajectories": ["t"], "attempt": "a"}\n')
    result = invoke("--data", data, "--output-dir", tmp_path / "run", "--model", "no-such-model-anywhere")
    assert result.exit_code == 2 and "already holds a training run" in result.output, result.output


def test_a_second_train_on_the_same_output_dir_stops_naming_the_first(tmp_path):
    pytest.importorskip("trl", reason="s1kit train needs the [train] extra")
    out = tmp_path / "run"
    out.mkdir()
    with locked(out, "s1kit train (the first)"):
        result = invoke("--data", tmp_path / "d.jsonl", "--output-dir", out, "--model", "no-such-model-anywhere")
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {out} is in use by PID {os.getpid()} (s1kit train (the first)); wait for it to "
                      "finish, or pass another output path"], result.output
    assert not (out / CONFIG_FILE).exists()


def test_training_all_in_warmup_warns_with_both_numbers(capsys):
    from s1kit.train.trainer import warn_if_all_warmup

    warn_if_all_warmup(1, 1)
    warning = capsys.readouterr().err
    assert "warning: all 1 optimizer step(s) fall within the 1 warmup step(s)" in warning
    assert "the first step's is 0" in warning and "lower warmup_ratio" in warning
    warn_if_all_warmup(20, 1)
    assert capsys.readouterr().err == ""


def test_block_size_beyond_the_context_warns_and_says_what_happens(capsys):
    from types import SimpleNamespace

    from s1kit.train.trainer import warn_if_beyond_context

    model = SimpleNamespace(config=SimpleNamespace(max_position_embeddings=512))
    warn_if_beyond_context(model, 1024, [100, 600, 700])
    warning = capsys.readouterr().err
    assert "block_size 1024 exceeds the model's context (512 positions); 2 example(s) are longer than 512" in warning
    assert "lower block_size to 512" in warning
    warn_if_beyond_context(model, 512, [700])
    assert capsys.readouterr().err == ""


def test_missing_trl_names_the_train_extra(monkeypatch):
    from s1kit.train.trainer import main

    monkeypatch.setitem(sys.modules, "trl", None)  # import trl now raises ImportError
    with pytest.raises(MissingExtraError, match=r"pip install 's1kit\[train\]'"):
        main(TrainConfig(data="d.jsonl"))


def test_cli_import_stays_light():
    code = ("import sys, s1kit.cli, s1kit.train.command; "
            "heavy = [m for m in ('torch', 'transformers', 'trl', 'datasets', 'accelerate') if m in sys.modules]; "
            "sys.exit(f'imported {heavy}' if heavy else 0)")
    subprocess.run([sys.executable, "-c", code], check=True)
