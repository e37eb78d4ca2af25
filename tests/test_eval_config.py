"""An eval run's settings: defaults < --recipe YAML < command-line flags, a config.json that is itself
a recipe, and --resume checks that cover the backend's settings too."""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s1kit.backends import BackendConfig
from s1kit.cli import app, eval_command
from s1kit.errors import S1kitError
from s1kit.eval.config import RECORDED, EvalConfig, resolve, saved, write_saved
from s1kit.eval.run import check_resume

ROOT = Path(__file__).resolve().parents[1]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("recipe, flags, want_eval, want_backend", [
    (None, {"task": "nano"}, {"budgets": None, "num_ignore": [0], "model": "smollm2-135m"}, {"dtype": "auto"}),
    ("task: nano\nbudgets: [8, 16]\ndtype: float32\n", {}, {"budgets": [8, 16]}, {"dtype": "float32"}),
    ("task: nano\nbudgets: 8,16\nnum_ignore: 1\n", {}, {"budgets": [8, 16], "num_ignore": [1]}, {}),
    ("task: nano\nbudgets: [8]\nmodel: a\n", {"model": "b", "budgets": "32,64"}, {"model": "b", "budgets": [32, 64]}, {}),
    ("task: nano\nconcurrency: 2\n", {"concurrency": 5}, {}, {"concurrency": 5}),  # flags win
])
def test_defaults_then_recipe_then_flags(tmp_path, recipe, flags, want_eval, want_backend):
    path = None if recipe is None else write(tmp_path / "r.yaml", recipe)
    config, backend = resolve(path, flags)
    assert {k: getattr(config, k) for k in want_eval} == want_eval
    assert {k: getattr(backend, k) for k in want_backend} == want_backend


@pytest.mark.parametrize("recipe, message", [
    ("task: nano\nbudget: [8]\n", r"unknown key 'budget'; did you mean 'budgets'\?"),
    ("model: s1-nano\n", r"no task given; pass --task"),
    ("task: nano\nbudgets: [8, -1]\n", r"budget -1 is not a positive integer"),
    ("task: nano\nnum_ignore: 0,x\n", r"'x' in --num-ignore '0,x' is not an integer >= 0"),
    ("- task\n", r"must be a mapping of settings"),
])
def test_a_bad_recipe_is_one_line_naming_the_value(tmp_path, recipe, message):
    with pytest.raises(S1kitError, match=message):
        resolve(write(tmp_path / "r.yaml", recipe))


def test_config_json_is_a_recipe_of_the_same_run_without_secrets(tmp_path):
    config, backend = resolve(None, {"task": "nano", "budgets": [8, 32], "num_ignore": [0, 1], "dtype": "float32",
                                     "api_key": "sk-secret", "out": str(tmp_path / "run")})
    record = saved(config, backend, "integer")
    assert "api_key" not in record and "sk-secret" not in json.dumps(record)
    assert record["grading"] == "integer" and set(record["versions"]) >= {"s1kit", "python", "torch", "transformers"}
    path = write(tmp_path / "config.json", json.dumps(record))
    again, backend_again = resolve(path)
    assert again == config
    assert backend_again == dataclasses.replace(backend, api_key=None)
    assert set(RECORDED) <= set(record)


def _run_dir(tmp_path, **backend) -> tuple[EvalConfig, Path]:
    config, settings = resolve(None, {"task": "nano", "budgets": [8], "out": str(tmp_path / "run"), **backend})
    out = Path(config.out)
    out.mkdir()
    (out / "config.json").write_text(json.dumps(saved(config, settings, "integer")))
    (out / "samples.jsonl").write_text('{"question_index": 0}\n')
    return config, out


@pytest.mark.parametrize("change, named", [
    ({"dtype": "bfloat16"}, "dtype: 'float32' there, 'bfloat16' now"),
    ({"server_forcing": True}, "server_forcing: False there, True now"),
])
def test_resume_refuses_other_backend_settings(tmp_path, change, named):
    config, out = _run_dir(tmp_path, dtype="float32")
    resumed = dataclasses.replace(config, resume=True)
    check_resume(resumed, BackendConfig(dtype="float32", concurrency=99, base_url="http://elsewhere/v1"), out)  # how, not what
    with pytest.raises(S1kitError, match=named):
        check_resume(resumed, BackendConfig(**{"dtype": "float32", **change}), out)


def test_config_yaml_reruns_the_run(tmp_path):
    config, backend = resolve(None, {"task": "nano", "budgets": [8, 32], "wait_string": "Hmm", "out": str(tmp_path / "run")})
    out = tmp_path / "run"
    out.mkdir()
    write_saved(out, saved(config, backend, "integer", {"path": "/m", "revision": "abc", "weights_sha256": None}))
    assert json.loads((out / "config.json").read_text())["model_source"]["revision"] == "abc"
    again, backend_again = resolve(out / "config.yaml")
    assert (again, backend_again) == (config, backend)


@pytest.mark.parametrize("field, value, named", [
    ("model_source", {"path": "/moved", "revision": None, "weights_sha256": "0ther"}, "model weights_sha256: '0ther' there"),
    ("versions", {"s1kit": "0.0.1"}, "versions: "),
])
def test_resume_refuses_other_weights_and_versions(tmp_path, field, value, named):
    source = {"path": "/here", "revision": None, "weights_sha256": "d89e"}
    config, settings = resolve(None, {"task": "nano", "budgets": [8], "out": str(tmp_path / "run")})
    out = tmp_path / "run"
    out.mkdir()
    record = saved(config, settings, "integer", source)
    (out / "config.json").write_text(json.dumps(record))
    resumed = dataclasses.replace(config, resume=True)
    check_resume(resumed, settings, out, {**source, "path": "/elsewhere"})  # the same weights, moved
    (out / "config.json").write_text(json.dumps({**record, field: value}))
    with pytest.raises(S1kitError, match=named):
        check_resume(resumed, settings, out, source)


def test_model_source_names_the_weights():
    from s1kit.models import model_source

    nano = model_source("s1-nano")
    provenance = json.loads((Path(nano["path"]) / "provenance.json").read_text())
    assert nano["weights_sha256"] == provenance["files"]["model.safetensors"]["sha256"]
    assert model_source("no-such-org/no-such-model") == {"path": None, "revision": None, "weights_sha256": None}


def test_model_source_reads_the_hub_commit_of_a_cached_model(monkeypatch):
    import huggingface_hub

    from s1kit.models import model_source

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache",
                        lambda repo, name: f"/hub/models--{repo.replace('/', '--')}/snapshots/0123abcd/{name}")
    assert model_source("org/model")["revision"] == "0123abcd"


def test_resume_refuses_samples_without_their_config(tmp_path):
    config, out = _run_dir(tmp_path)
    (out / "config.json").unlink()
    with pytest.raises(S1kitError, match=r"holds samples.jsonl but no config.json"):
        check_resume(dataclasses.replace(config, resume=True), BackendConfig(), out)


@pytest.mark.parametrize("recipe", sorted((ROOT / "recipes" / "eval").glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_eval_recipe_resolves(recipe):
    config, _ = resolve(recipe)
    assert config.task and config.out.startswith("runs/")


def test_the_eval_flags_default_to_the_configs_defaults():
    """resolve() fills unset flags from the dataclasses, so the defaults --help shows must be theirs."""
    defaults = {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
                for cls in (EvalConfig, BackendConfig) for f in dataclasses.fields(cls) if f.name != "task"}
    shown = {name: p.default for name, p in inspect.signature(eval_command).parameters.items()
             if name not in ("ctx", "recipe", "task", "verbose")}
    parsed = {"budgets": None, "num_ignore": [0]}  # flags that are text on the command line
    mismatched = {name: (value, defaults[name]) for name, value in shown.items()
                  if parsed.get(name, value) != defaults[name] and not (name in parsed and value == "0")}
    assert not mismatched
    assert set(shown) <= set(defaults)


def test_flags_typed_on_the_command_line_override_the_recipe(tmp_path, monkeypatch):
    seen = {}

    def fake_main(config, backend):
        seen.update(config=config, backend=backend)
        return {}

    monkeypatch.setattr("s1kit.eval.run.main", fake_main)
    monkeypatch.setattr("s1kit.eval.report.report_markdown", lambda metrics: "")
    recipe = write(tmp_path / "r.yaml", "task: nano\nmodel: from-recipe\nbudgets: [8]\nconcurrency: 3\nseed: 5\n")
    result = CliRunner().invoke(app, ["eval", "--recipe", str(recipe), "--budgets", "16,32", "--concurrency", "4"])
    assert result.exit_code == 0, result.output
    config, backend = seen["config"], seen["backend"]
    assert (config.model, config.budgets, config.seed, backend.concurrency) == ("from-recipe", [16, 32], 5, 4)


@pytest.mark.parametrize("flags, message", [
    ({"budgets": "4,4"}, r"budgets lists 4 more than once \(\[4, 4\]\)"),
    ({"budgets": "8,4,8", "num_ignore": "0,1"}, r"budgets lists 8 more than once"),
    ({"num_ignore": "1,1"}, r"num_ignore lists 1 more than once"),
    ({"budgets": ""}, r"--budgets is empty; pass e.g. --budgets 512,1024,2048"),
])
def test_points_given_twice_or_empty_are_refused(flags, message):
    with pytest.raises(S1kitError, match=message):
        resolve(None, {"task": "nano", **flags})


def test_a_new_setting_changes_the_results_unless_it_is_listed_as_one_that_does_not(tmp_path):
    """The settings --resume checks are every field of the configs but a few listed exceptions, so a
    field added later is checked without anyone having to remember it."""
    from s1kit.eval.config import identity

    extended = dataclasses.make_dataclass("Extended", [("new_knob", int, dataclasses.field(default=0))], bases=(EvalConfig,))
    record = saved(extended(task="nano", budgets=[8]), BackendConfig(), "integer")
    assert identity(record)["new_knob"] == 0
    assert identity({**record, "new_knob": 1}) != identity(record)


@pytest.mark.parametrize("name", [f.name for cls in (EvalConfig, BackendConfig) for f in dataclasses.fields(cls)])
def test_resume_checks_every_setting_but_those_that_only_say_how(tmp_path, name):
    from s1kit.eval.config import HOW_FIELDS, SECRET

    config, out = _run_dir(tmp_path)
    record = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**record, name: "something else"}))
    resumed = dataclasses.replace(config, resume=True)
    if name in HOW_FIELDS + SECRET:
        check_resume(resumed, BackendConfig(), out)
    else:
        with pytest.raises(S1kitError, match=rf"made with another config \({name}: 'something else' there"):
            check_resume(resumed, BackendConfig(), out)


def test_budgets_and_ignores_in_another_order_are_the_same_sweep(tmp_path):
    config, out = _run_dir(tmp_path)
    record = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**record, "budgets": [64, 16], "num_ignore": [2, 0]}))
    check_resume(dataclasses.replace(config, budgets=[16, 64], num_ignore=[0, 2], resume=True), BackendConfig(), out)
