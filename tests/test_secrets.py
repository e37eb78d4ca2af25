"""An API key, given by flag or by environment, reaches the server and nothing else: not stdout or
stderr, not a result, run directory, manifest, report, call cache or saved config, on every command
that takes one. Each run talks to the fake server of tests/fake_openai.py, which must have seen the
key (else the test proves nothing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fake_openai import MODEL, FakeOpenAI
from s1kit.cli import app

pytest.importorskip("openai", reason="the openai backend needs the [openai] extra")

CANARY = "sk-canary-3e9d41f07a"


@pytest.fixture(scope="module")
def shared_server():
    fake = FakeOpenAI()
    yield fake
    fake.close()


@pytest.fixture
def server(shared_server):
    """The fake server, its record of requests emptied for this test."""
    shared_server.seen.clear()
    return shared_server


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A working directory, and s1kit's cache inside it, so that both are searched for the key."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("S1KIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("VLLM_API_KEY", raising=False)
    (tmp_path / "questions.jsonl").write_text(
        "".join(json.dumps({"id": str(i), "question": q, "answer": "4", "domain": "toy", "solution": "\\boxed{4}",
                            "thinking_trajectories": ["2+2 is 4."], "attempt": "4"}) + "\n"
                for i, q in enumerate(["What is 2+2?", "What is 3+1?", "What is 5-1?"])))
    return tmp_path


def run(args: list[str], env: dict | None = None):
    result = CliRunner().invoke(app, [str(a) for a in args], env=env)
    assert result.exit_code == 0, result.output
    return result


def assert_kept(server: FakeOpenAI, result, root: Path, given: str | None = None) -> None:
    """The server saw the key; the command's output and the files under ``root`` (but the file
    ``given``, where the user wrote it) do not hold it."""
    assert any(auth == f"Bearer {CANARY}" for _, auth in server.seen), "the key never reached the server"
    assert CANARY not in result.stdout and CANARY not in result.stderr
    written = [p for p in root.rglob("*") if p.is_file() and p.name != given]
    assert written, "the command wrote nothing to search"
    assert not [str(p) for p in written if CANARY.encode() in p.read_bytes()]


def server_flags(server: FakeOpenAI) -> list[str]:
    return ["--backend", "openai", "--base-url", f"{server.url}/ok/v1", "--tokenizer", "none", "--format", "s1"]


@pytest.mark.parametrize("by", ["flag", "environment"])
def test_generate_json(server, work, by):
    key = ["--api-key", CANARY] if by == "flag" else []
    result = run(["generate", "What is 2+2?", "--model", MODEL, *server_flags(server), "--json", *key,
                  "--max-thinking-tokens", "8"], env={"OPENAI_API_KEY": CANARY} if by == "environment" else None)
    assert json.loads(result.stdout)[0]["answer"]
    assert_kept(server, result, work)


def test_eval_run_directory(server, work):
    result = run(["eval", "--task", "jsonl:questions.jsonl", "--model", MODEL, *server_flags(server), "--api-key", CANARY,
                  "--budgets", "4", "--out", "run"])
    assert (work / "run" / "config.json").is_file()
    assert_kept(server, result, work)


def test_traces_output_and_call_cache(server, work):
    result = run(["traces", "--questions", "questions.jsonl", "--teacher", MODEL, *server_flags(server),
                  "--api-key", CANARY, "--out", "traces.jsonl"])
    assert (work / "traces.jsonl.cache.sqlite").is_file()
    assert_kept(server, result, work)


def test_curate_manifest_report_and_call_cache(server, work):
    """The key set in a recipe's backend_options is used by the solver and left out of the
    manifest's copy of the recipe."""
    solver = {"model": MODEL, "backend": "openai", "format": "s1", "max_thinking_tokens": 8, "max_answer_tokens": 4,
              "backend_options": {"base_url": f"{server.url}/ok/v1", "api_key": CANARY, "tokenizer": "none"}}
    recipe = {"eval_sets": ["nano"], "tokenizer": "bytes", "select": "random", "size": 2, "solvers": [solver]}
    (work / "recipe.yaml").write_text(json.dumps(recipe))
    result = run(["curate", "--recipe", "recipe.yaml", "--pool", "questions.jsonl", "--out", "curated"])
    manifest = json.loads((work / "curated" / "manifest.json").read_text())
    assert manifest["config"]["solvers"][0]["backend_options"]["base_url"] == f"{server.url}/ok/v1"
    assert (work / "curated" / "cache.sqlite").is_file()
    assert_kept(server, result, work, given="recipe.yaml")


def test_grade_with_a_judge(server, work):
    (work / "graded.jsonl").write_text(json.dumps({"question": "2+2?", "response": "\\boxed{4}", "answer": "4"}) + "\n")
    result = run(["grade", "graded.jsonl", "--judge", MODEL, "--judge-backend", "openai", "--judge-format", "s1",
                  "--judge-base-url", f"{server.url}/ok/v1", "--judge-mode", "always", "--out", "out.jsonl"],
                 env={"OPENAI_API_KEY": CANARY})
    assert json.loads((work / "out.jsonl").read_text())["judged"] is True
    assert_kept(server, result, work)


@pytest.mark.parametrize("by", ["flag", "environment"])
def test_serve_dry_run(work, by):
    """The server's key goes to vLLM by environment: the printed command shows it as ***, and the
    chat template written to s1kit's cache does not hold it."""
    key = ["--api-key", CANARY] if by == "flag" else []
    result = run(["serve", "s1-nano", "--dry-run", *key], env={"VLLM_API_KEY": CANARY} if by == "environment" else None)
    assert "-m vllm.entrypoints.openai.api_server" in result.stdout
    assert ("VLLM_API_KEY='***'" in result.stdout) == (by == "flag")
    assert CANARY not in result.stdout + result.stderr
    assert not [p for p in work.rglob("*") if p.is_file() and CANARY.encode() in p.read_bytes()]
