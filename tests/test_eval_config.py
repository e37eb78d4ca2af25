"""An eval run's settings: defaults < --recipe YAML < command-line flags, a config.json that is itself
a recipe, and --resume checks that cover the backend's settings too."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s1kit.cli import app
from s1kit.errors import S1kitError
from s1kit.eval.config import RECORDED, EvalConfig, resolve_run, saved, write_saved
from s1kit.eval.run import check_resume
from s1kit.settings import HOW, SECRET, leaves

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
    config = resolve_run(path, flags)
    assert {k: getattr(config, k) for k in want_eval} == want_eval
    assert {k: getattr(config.backend_options, k) for k in want_backend} == want_backend


@pytest.mark.parametrize("recipe, message", [
    ("task: nano\nbudget: [8]\n", r"budget must be a mapping of BudgetConfig settings, got \[8\] \(list\); did you mean 'budgets'\?"),
    ("task: nano\nbudgest: [8]\n", r"unknown key 'budgest'"),
    ("model: s1-nano\n", r"no task given; pass --task"),
    ("task: nano\nbudgets: [8, -1]\n", r"budget -1 is not a positive integer"),
    ("task: nano\nnum_ignore: 0,x\n", r"'x' in --num-ignore '0,x' is not an integer >= 0"),
    ("- task\n", r"must be a mapping of settings"),
])
def test_a_bad_recipe_is_one_line_naming_the_value(tmp_path, recipe, message):
    with pytest.raises(S1kitError, match=message):
        resolve_run(write(tmp_path / "r.yaml", recipe))


def test_config_json_is_a_recipe_of_the_same_run_without_secrets(tmp_path):
    config = resolve_run(None, {"task": "nano", "budgets": [8, 32], "num_ignore": [0, 1], "dtype": "float32",
                                "api_key": "sk-secret", "out": str(tmp_path / "run")})
    record = saved(config, "integer")
    assert "api_key" not in record and "sk-secret" not in json.dumps(record)
    assert record["grading"] == "integer" and set(record["versions"]) >= {"s1kit", "python", "torch", "transformers"}
    path = write(tmp_path / "config.json", json.dumps(record))
    again = resolve_run(path)
    assert again == dataclasses.replace(config, backend_options=dataclasses.replace(config.backend_options, api_key=None))
    assert set(RECORDED) <= set(record)


def _run_dir(tmp_path, **backend) -> tuple[EvalConfig, Path]:
    config = resolve_run(None, {"task": "nano", "budgets": [8], "out": str(tmp_path / "run"), **backend})
    out = Path(config.out)
    out.mkdir()
    (out / "config.json").write_text(json.dumps(saved(config, "integer")))
    (out / "samples.jsonl").write_text('{"question_index": 0}\n')
    return config, out


@pytest.mark.parametrize("change, named", [
    ({"dtype": "bfloat16"}, "dtype: 'float32' there, 'bfloat16' now"),
    ({"server_forcing": True}, "server_forcing: False there, True now"),
])
def test_resume_refuses_other_backend_settings(tmp_path, change, named):
    config, out = _run_dir(tmp_path, dtype="float32")

    def resumed(**backend):
        return dataclasses.replace(config, resume=True, backend_options=dataclasses.replace(config.backend_options, **backend))

    check_resume(resumed(concurrency=99, base_url="http://elsewhere/v1"), out)  # how, not what
    with pytest.raises(S1kitError, match=named):
        check_resume(resumed(**change), out)


def test_config_yaml_reruns_the_run(tmp_path):
    config = resolve_run(None, {"task": "nano", "budgets": [8, 32], "wait_string": "Hmm", "out": str(tmp_path / "run")})
    out = tmp_path / "run"
    out.mkdir()
    write_saved(out, saved(config, "integer", {"path": "/m", "revision": "abc", "weights_sha256": None}))
    assert json.loads((out / "config.json").read_text())["model_source"]["revision"] == "abc"
    assert resolve_run(out / "config.yaml") == config


@pytest.mark.parametrize("field, value, named", [
    ("model_source", {"path": "/moved", "revision": None, "weights_sha256": "0ther"}, "model weights_sha256: '0ther' there"),
    ("versions", {"s1kit": "0.0.1"}, "versions: "),
])
def test_resume_refuses_other_weights_and_versions(tmp_path, field, value, named):
    source = {"path": "/here", "revision": None, "weights_sha256": "d89e"}
    config = resolve_run(None, {"task": "nano", "budgets": [8], "out": str(tmp_path / "run")})
    out = tmp_path / "run"
    out.mkdir()
    record = saved(config, "integer", source)
    (out / "config.json").write_text(json.dumps(record))
    resumed = dataclasses.replace(config, resume=True)
    check_resume(resumed, out, {**source, "path": "/elsewhere"})  # the same weights, moved
    (out / "config.json").write_text(json.dumps({**record, field: value}))
    with pytest.raises(S1kitError, match=named):
        check_resume(resumed, out, source)


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
        check_resume(dataclasses.replace(config, resume=True), out)


@pytest.mark.parametrize("recipe", sorted((ROOT / "recipes" / "eval").glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_eval_recipe_resolves(recipe):
    config = resolve_run(recipe)
    assert config.task and config.out.startswith("runs/")


def test_flags_typed_on_the_command_line_override_the_recipe(tmp_path, monkeypatch):
    seen = {}

    def fake_main(config):
        seen.update(config=config)
        return {}

    monkeypatch.setattr("s1kit.eval.run.main", fake_main)
    monkeypatch.setattr("s1kit.eval.report.report_markdown", lambda metrics: "")
    recipe = write(tmp_path / "r.yaml", "task: nano\nmodel: from-recipe\nbudgets: [8]\nconcurrency: 3\nseed: 5\n")
    result = CliRunner().invoke(app, ["eval", "--recipe", str(recipe), "--budgets", "16,32", "--concurrency", "4"])
    assert result.exit_code == 0, result.output
    config = seen["config"]
    assert (config.model, config.budgets, config.sampling.seed, config.backend_options.concurrency) == (
        "from-recipe", [16, 32], 5, 4)


@pytest.mark.parametrize("flags, message", [
    ({"budgets": "4,4"}, r"budgets lists 4 more than once \(\[4, 4\]\)"),
    ({"budgets": "8,4,8", "num_ignore": "0,1"}, r"budgets lists 8 more than once"),
    ({"num_ignore": "1,1"}, r"num_ignore lists 1 more than once"),
    ({"budgets": ""}, r"--budgets is empty; pass e.g. --budgets 512,1024,2048"),
])
def test_points_given_twice_or_empty_are_refused(flags, message):
    with pytest.raises(S1kitError, match=message):
        resolve_run(None, {"task": "nano", **flags})


def test_a_new_setting_changes_the_results_unless_it_is_marked_as_one_that_does_not(tmp_path):
    """The settings --resume checks are every setting of the configs but those marked HOW (or secret),
    so a field added later is checked without anyone having to remember it; a saved config that
    lacks it (made before it existed) counts at its default."""
    from s1kit.eval.config import identity

    record = saved(resolve_run(None, {"task": "nano", "budgets": [8]}), "integer")
    checked = {leaf.flat for leaf in leaves(EvalConfig) if not leaf.metadata.get(HOW) and not leaf.metadata.get(SECRET)}
    assert checked <= set(identity(record)) and "wait_string" in checked and "concurrency" not in checked
    assert identity({k: v for k, v in record.items() if k != "judge_format"}) == identity(record)  # its default


@pytest.mark.parametrize("name", [leaf.flat for leaf in leaves(EvalConfig)])
def test_resume_checks_every_setting_but_those_that_only_say_how(tmp_path, name):
    config, out = _run_dir(tmp_path)
    record = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**record, name: "something else"}))
    resumed = dataclasses.replace(config, resume=True)
    leaf = next(leaf for leaf in leaves(EvalConfig) if leaf.flat == name)
    if leaf.metadata.get(HOW) or leaf.metadata.get(SECRET):
        check_resume(resumed, out)
    else:
        with pytest.raises(S1kitError, match=rf"made with another config \({name}: \[?'something else'\]? there"):
            check_resume(resumed, out)


def test_budgets_and_ignores_in_another_order_are_the_same_sweep(tmp_path):
    config, out = _run_dir(tmp_path)
    record = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**record, "budgets": [64, 16], "num_ignore": [2, 0]}))
    check_resume(dataclasses.replace(config, budgets=[16, 64], num_ignore=[0, 2], resume=True), out)
