"""One config system for every command: flags made from the config dataclasses (default and help
written once), one reading of each kind of value, and a run's record of where its model came from."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re

import pytest
from typer.testing import CliRunner

from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.cli import app, curate, eval_command, generate_command, grade, serve, synth, traces
from s1kit.curate.config import CurateConfig
from s1kit.curate.traces import TracesConfig
from s1kit.errors import S1kitError
from s1kit.eval.config import EvalConfig
from s1kit.generation import GenerateConfig
from s1kit.grading.command import GradeConfig
from s1kit.grading.judge import JudgeConfig
from s1kit.options import _typer_can_hold
from s1kit.recipes import build, coerce
from s1kit.serve.config import ServeConfig
from s1kit.settings import leaves
from s1kit.synth.build import SynthConfig
from s1kit.synth.teacher import TeacherConfig
from s1kit.train.command import train
from s1kit.train.config import TrainConfig

runner = CliRunner()


# command, the config its flags come from, and the settings it takes as its own parameters
COMMANDS = [
    (curate, CurateConfig, ()),
    (synth, SynthConfig, ("mix",)),
    (traces, TracesConfig, ()),
    (grade, GradeConfig, ("file",)),
    (generate_command, GenerateConfig, ("prompts",)),
    (eval_command, EvalConfig, ()),
    (serve, ServeConfig, ("model",)),
]


@pytest.mark.parametrize("command, cls, own", COMMANDS, ids=lambda c: getattr(c, "__name__", ""))
def test_every_setting_is_a_flag_with_its_default_and_doc(command, cls, own):
    parameters = inspect.signature(command).parameters
    generated = 0
    for leaf in leaves(cls):
        if leaf.flat in own or not _typer_can_hold(leaf.hint):
            continue
        parameter = parameters[leaf.flat]
        expected = None if leaf.required else leaf.default
        if isinstance(expected, list):
            expected = ",".join(map(str, expected))  # list flags are comma-separated text
        assert parameter.default == expected, leaf.flat
        option = parameter.annotation.__metadata__[0]
        assert option.help == leaf.doc, leaf.flat
        generated += 1
    assert generated >= 3


def test_a_group_gives_its_settings_the_defaults_of_its_place():
    """A teacher writes whole traces: no cap and a long answer, unless asked; a judge thinks 256 tokens."""
    parameters = inspect.signature(traces).parameters
    assert parameters["max_thinking_tokens"].default is None and parameters["max_answer_tokens"].default == 2048
    assert parameters["teacher"].default is None  # the teacher's model, renamed in its place
    judge = inspect.signature(grade).parameters
    assert judge["judge_max_thinking_tokens"].default == 256 and judge["judge_mode"].default == "fallback"


def test_train_flags_are_every_field_as_text():
    parameters = inspect.signature(train).parameters
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    assert names <= set(parameters)
    assert parameters["learning_rate"].default == "1e-05" and parameters["max_examples"].default is None
    assert parameters["fields"].default == "{}"  # a mapping, read by the config like a recipe's


@pytest.mark.parametrize("hint, value, expected", [
    (float, "1e-5", 1e-5),
    (float, 3, 3.0),
    (int, "32", 32),
    (int, 32.0, 32),
    (bool, "off", False),
    (bool, True, True),
    (int | None, "null", None),
    (str | None, "null", None),
    (int | None, "none", None),
    (str | None, "none", "none"),  # a word a text setting may mean (--tokenizer none)
    (str, 7, "7"),
    (dict[str, str], "{a: b}", {"a": "b"}),
    (list[int], [1, 2], [1, 2]),   # other kinds pass through to the config's own checks
])
def test_coerce_reads_each_kind_once(hint, value, expected):
    assert coerce(hint, value, "x", "here") == expected


@pytest.mark.parametrize("hint, value, message", [
    (int, "sixteen", r"x in here must be int, got 'sixteen'"),
    (int, "2.5", r"must be int"),
    (int, True, r"must be int"),
    (float, "nan", r"must be float"),
    (bool, "maybe", r"must be bool"),
    (str, [1], r"must be str"),
    (int | None, "x", r"must be int or null"),
    (dict[str, str], "{a: 1}", r"must be dict"),
])
def test_coerce_names_the_value_and_the_kind(hint, value, message):
    with pytest.raises(S1kitError, match=message):
        coerce(hint, value, "x", "here")


def test_recipes_read_text_values_with_the_fields_types():
    assert build(SamplingConfig, {"temperature": "0.5", "seed": "3"}) == SamplingConfig(temperature=0.5, seed=3)
    with pytest.raises(S1kitError, match=r"seed in r.yaml must be int, got 'x'"):
        build(SamplingConfig, {"seed": "x"}, "r.yaml")


def test_the_judge_flags_build_the_judge_config():
    assert build(GradeConfig, {"file": "f", "judge_backend": "hf"}).judge is None  # every setting at its default
    config = build(GradeConfig, {"file": "f", "judge": "m", "judge_backend": "openai", "judge_mode": "always",
                                 "judge_batch_size": 4, "judge_max_thinking_tokens": 32})
    assert config.judge == JudgeConfig(model="m", backend="openai", mode="always", batch_size=4,
                                       budget=BudgetConfig(max_thinking_tokens=32, max_answer_tokens=16,
                                                           answer_prefix="Verdict:"))


def test_curate_flags_override_only_when_typed(tmp_path):
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps({"question": f"What is {i} plus {i}? Show the sum.", "solution": str(2 * i),
                                        "thinking_trajectories": ["Add them. " * 5], "attempt": f"{2 * i}",
                                        "domain": "arith"}) + "\n" for i in range(12)))
    held_out = tmp_path / "held_out.jsonl"
    held_out.write_text(json.dumps({"question": "Name the capital of France in one word.", "answer": "Paris"}) + "\n")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"pool: {pool}\nsize: 3\nselect: random\neval_sets: ['jsonl:{held_out}']\n"
                      "tokenizer: bytes\nseed: 5\nsolvers: []\n")
    result = runner.invoke(app, ["curate", "--recipe", str(recipe), "--out", str(tmp_path / "out"), "--size", "4"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["config"]["size"] == 4 and manifest["config"]["seed"] == 5  # typed flag wins, recipe stays


def test_synth_defaults_are_the_configs(tmp_path):
    """`s1kit synth` with no teacher flags writes what SynthConfig's defaults write."""
    from s1kit.synth.build import main

    result = runner.invoke(app, ["synth", "--size", "40", "--out", str(tmp_path / "cli.jsonl")])
    assert result.exit_code == 0, result.output
    main(SynthConfig(size=40), tmp_path / "lib.jsonl")
    assert (tmp_path / "cli.jsonl").read_bytes() == (tmp_path / "lib.jsonl").read_bytes()


def test_synth_reads_a_recipe_under_the_typed_flags(tmp_path):
    from s1kit.synth.build import main

    recipe = tmp_path / "pool.yaml"
    recipe.write_text(f"out: {tmp_path / 'cli.jsonl'}\nsize: 30\nseed: 1\ngive_up: 0.5\nmix: {{sum: 1.0}}\n")
    result = runner.invoke(app, ["synth", "--recipe", str(recipe), "--seed", "2"])
    assert result.exit_code == 0, result.output
    main(SynthConfig(size=30, seed=2, mix={"sum": 1.0}, teacher=TeacherConfig(give_up=0.5)), tmp_path / "lib.jsonl")
    assert (tmp_path / "cli.jsonl").read_bytes() == (tmp_path / "lib.jsonl").read_bytes()


@pytest.mark.parametrize("command, recipe_text, message", [
    (["generate", "What is 2+2?"], "max_thinking_tokns: 8\n", r"unknown key 'max_thinking_tokns'; did you mean 'max_thinking_tokens'"),
    (["traces"], "teachr: s1-nano\n", r"did you mean 'teacher'"),
    (["traces"], "teacher: s1-nano\n", r"no questions given; pass --questions or set questions in recipe .*r.yaml"),
    (["synth"], "size: 10\n", r"no output file given; pass --out FILE"),
    (["grade", "x.jsonl"], "judge_mod: always\n", r"did you mean 'judge_mode'"),
])
def test_recipes_of_every_command_fail_in_one_line(tmp_path, command, recipe_text, message):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(recipe_text)
    result = runner.invoke(app, [*command, "--recipe", str(recipe)])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and re.search(message, result.output), result.output


def test_tokenizer_none_on_the_command_line_reaches_the_backend():
    """`--tokenizer none` (count tokens from the server's usage) is a value, not a missing setting."""
    from s1kit.backends import BackendConfig
    from s1kit.eval.config import resolve_run
    from s1kit.recipes import build

    assert build(BackendConfig, {"tokenizer": "none"}, "the flags").tokenizer == "none"
    assert build(BackendConfig, {"tokenizer": "null"}, "the flags").tokenizer is None
    config = resolve_run(None, {"task": "nano", "backend": "openai", "tokenizer": "none"})
    assert config.backend_options.tokenizer == "none"
