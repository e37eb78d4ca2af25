"""Bad input to every command, as a new user types it: the cases in tests/bad_inputs/*.yaml.

Each case must end with a non-zero exit, exactly one ``error:`` line on stderr (its last line,
matching the case's ``error`` pattern), no traceback, nothing on stdout (or valid JSON, for a case
marked ``json``), and no file written or changed that a later run would trust: the case's working
directory and the shared inputs are compared before and after (lock files aside; a case lists in
``leaves`` what it may leave, with the reason beside it).

A case's keys: ``args`` (the command line; ``{tmp}`` is the case's own directory, also the working
directory, ``{in}`` the shared inputs made by :func:`inputs`, ``{openai}`` the fake server of
tests/fake_openai.py, ``{repo}`` the repository, ``{closed}`` a URL where nothing listens), ``error``, and optionally ``setup``
(hooks in :data:`SETUPS`, run first), ``files`` (name: text, written into ``{tmp}`` after the
hooks), ``remove``, ``env``, ``json``, ``leaves``, ``slow`` (it loads a model) and ``process`` (run
as a real ``python -m s1kit`` process: for what only a fresh interpreter shows).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from fake_openai import FakeOpenAI
from s1kit.cli import app
from servers import free_port

pytest.importorskip("transformers", reason="most commands need the [hf] extra")

CASES = Path(__file__).parent / "bad_inputs"
REPO = Path(__file__).resolve().parents[1]


def load_cases() -> list:
    params = []
    for file in sorted(CASES.glob("*.yaml")):
        for case in yaml.safe_load(file.read_text(encoding="utf-8")):
            marks = [pytest.mark.slow] if case.get("slow") else []
            params.append(pytest.param(case, id=case["id"], marks=marks))
    return params


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Input files the cases share; a case that changes one of them fails."""
    root = tmp_path_factory.mktemp("inputs")
    rows = [{"id": "a", "question": "What is 2+2?", "answer": "4"}, {"id": "b", "question": "What is 3+1?", "answer": "4"}]
    text = "".join(json.dumps(r) + "\n" for r in rows)
    (root / "questions.jsonl").write_text(text)
    (root / "utf16.jsonl").write_bytes(text.encode("utf-16"))
    (root / "latin1.jsonl").write_bytes('{"question": "caf\xe9?", "answer": "4"}\n'.encode("latin-1"))
    (root / "corrupt.jsonl.gz").write_bytes(gzip.compress(text.encode())[:20])
    (root / "broken-line.jsonl.gz").write_bytes(gzip.compress((text + '{"question": oops}\n').encode()))
    (root / "number.jsonl").write_text(json.dumps({"question": 42, "answer": "4"}) + "\n")
    (root / "list.jsonl").write_text(json.dumps({"question": ["a", "b"], "answer": "4"}) + "\n")
    (root / "graded.jsonl").write_text(json.dumps({"question": "2+2?", "response": "\\boxed{4}", "answer": "4"}) + "\n")
    pool = {"question": "What is 2+2?", "solution": "\\boxed{4}", "cot_type": "math", "source_type": "toy",
            "metadata": "{}", "thinking_trajectories": ["2+2 is 4."], "attempt": "4"}
    (root / "pool.jsonl").write_text(json.dumps(pool) + "\n")
    (root / "pool-utf16.jsonl").write_bytes((json.dumps(pool) + "\n").encode("utf-16"))
    (root / "broken.yaml").write_text("max_thinking_tokens: 64\nbudgets: [4, 8\nseed: 0\n")
    (root / "not-a-dir").write_text("a file where a directory goes\n")
    run = root / "run"
    run.mkdir()
    point = {"x": 8, "accuracy": 0.5, "stderr": 0.1, "label": "8"}
    metrics = {"model": "m", "task": "t", "method": "budget-forcing", "points": [],
               "curves": [{"label": "cap", "kind": "sequential", "series": [point], "control": 1.0, "scaling": None,
                           "performance": 0.5}]}
    (run / "metrics.json").write_text(json.dumps(metrics))
    (root / "model-without-config").mkdir()
    return root


@pytest.fixture(scope="module")
def fake_openai():
    server = FakeOpenAI()
    yield server
    server.close()


def eval_run(tmp: Path, stack) -> None:
    """A finished eval run in tmp/run of the two questions in tmp/t.jsonl (budget 4, s1-nano's
    settings), made by the scripted model: the directory a resume case starts from."""
    from s1kit.backends.scripted import ScriptedBackend
    from s1kit.eval.config import eval_config
    from s1kit.eval.run import main

    (tmp / "t.jsonl").write_text("".join(json.dumps({"id": i, "question": q, "answer": "4"}) + "\n"
                                         for i, q in (("a", "What is 2+2?"), ("b", "What is 3+1?"))))
    config = eval_config(task=f"jsonl:{tmp / 't.jsonl'}", id_field="id", model="s1-nano", budgets=[4], out=str(tmp / "run"))
    main(config, backend=ScriptedBackend("two and two make four<|im_end|> 4<|im_end|>"))


def lock_holder(target: str, directory: bool):
    """Another live process holding the lock of ``target`` (a run directory, made here, or an
    output file) until the case ends."""

    def hook(tmp: Path, stack) -> None:
        path = Path(target.format(tmp=tmp))
        if directory:
            path.mkdir()
        code = ("import sys, time; from s1kit.locks import locked\n"
                "with locked(sys.argv[1], 's1kit test holder'):\n    print('held', flush=True); time.sleep(120)\n")
        holder = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
        stack.callback(holder.stdout.close)
        stack.callback(holder.wait)
        stack.callback(holder.kill)
        assert holder.stdout.readline().strip() == "held"

    return hook


def tokenizerless_model(tmp: Path, stack) -> None:
    """tmp/model: s1-nano's weights and config without its tokenizer files."""
    from s1kit.models import builtin_path

    (tmp / "model").mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(builtin_path("s1-nano") / name, tmp / "model" / name)


def scorer_module(tmp: Path, stack) -> None:
    """An importable best-of-n scorer, badscorer:text, that returns text instead of a number."""
    (tmp / "badscorer.py").write_text("def text(row):\n    return 'long'\n")
    patch = stack.enter_context(pytest.MonkeyPatch.context())
    patch.syspath_prepend(str(tmp))
    stack.callback(sys.modules.pop, "badscorer", None)


def no_vllm_engine(tmp: Path, stack) -> None:
    """Starting a vLLM engine fails the case; the settings vLLM's backend puts in the environment
    are taken back after it (the session's engines want their own, e.g. a smaller KV cache)."""
    from s1kit.backends import vllm

    saved = {name: os.environ.get(name) for name in ("VLLM_LOGGING_STREAM", "VLLM_USE_V2_MODEL_RUNNER",
                                                     "VLLM_CPU_KVCACHE_SPACE", "VLLM_ENABLE_V1_MULTIPROCESSING")}

    def restore():
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)

    stack.callback(restore)

    def refuse(self):
        raise AssertionError("the vLLM engine started before the prompts were checked")

    stack.enter_context(pytest.MonkeyPatch.context()).setattr(vllm.VLLMBackend, "_start_engine", refuse)


def planted_link(link: str):
    """A symbolic link at ``link`` (in the case's directory) to tmp/victim.txt, someone's file that
    the command must leave as it is."""

    def hook(tmp: Path, stack) -> None:
        (tmp / "victim.txt").write_text("not the command's to write\n")
        (tmp / link).parent.mkdir(parents=True, exist_ok=True)
        (tmp / link).symlink_to(tmp / "victim.txt")

    return hook


def planted_fifo(path: str):
    """A FIFO at ``path``: opening it to write would block without O_NONBLOCK."""

    def hook(tmp: Path, stack) -> None:
        (tmp / path).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(tmp / path)

    return hook


def truncated_cache(path: str):
    """A real call cache at ``path`` holding 200 calls, cut to half its size."""

    def hook(tmp: Path, stack) -> None:
        from s1kit.curate.cache import CallCache

        (tmp / path).parent.mkdir(parents=True, exist_ok=True)
        cache = CallCache(tmp / path)
        cache.store("m", [(f"key{i}", {"text": "x" * 300}) for i in range(200)])
        cache.close()
        data = (tmp / path).read_bytes()
        (tmp / path).write_bytes(data[: len(data) // 2])

    return hook


SETUPS = {
    "eval_run": eval_run,
    "lock_run": lock_holder("{tmp}/run", directory=True),
    "lock_out": lock_holder("{tmp}/out", directory=True),
    "lock_traces": lock_holder("{tmp}/traces.jsonl", directory=False),
    "tokenizerless_model": tokenizerless_model,
    "scorer_module": scorer_module,
    "no_vllm_engine": no_vllm_engine,
    "lock_link_out": planted_link("out/.s1kit.lock"),
    "lock_link_traces": planted_link(".traces.jsonl.lock"),
    "lock_fifo_traces": planted_fifo(".traces.jsonl.lock"),
    "cache_link_out": planted_link("out/cache.sqlite"),
    "cache_link_traces": planted_link("traces.jsonl.cache.sqlite"),
    "truncated_cache_out": truncated_cache("out/cache.sqlite"),
    "truncated_cache_traces": truncated_cache("traces.jsonl.cache.sqlite"),
}


EMPTY = hashlib.sha256(b"").hexdigest()
"""A new empty file holds nothing a later run could trust."""


def snapshot(*roots: Path) -> dict[str, str]:
    """Every file under ``roots`` with its content hash; lock files and bytecode left out."""
    files = {}
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.name.endswith(".lock") and "__pycache__" not in path.parts:
                files[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


@pytest.mark.parametrize("case", load_cases())
def test_bad_input_is_one_line(case, inputs, fake_openai, tmp_path, monkeypatch):
    tmp = tmp_path / "case"
    tmp.mkdir()
    monkeypatch.chdir(tmp)
    places = {"tmp": str(tmp), "in": str(inputs), "repo": str(REPO), "openai": fake_openai.url,
              "closed": f"http://127.0.0.1:{free_port()}/v1"}
    expand = lambda text: str(text).format(**places)  # noqa: E731
    with contextlib.ExitStack() as stack:
        for hook in case.get("setup", []):
            SETUPS[hook](tmp, stack)
        for name, text in (case.get("files") or {}).items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(expand(text))
        for name in case.get("remove", []):
            target = tmp / name
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        args = [expand(a) for a in case["args"]]
        env = {k: expand(v) for k, v in (case.get("env") or {}).items()}
        before = snapshot(tmp, inputs)
        code, stdout, stderr = (run_process if case.get("process") else run_in_process)(args, env)
    check_one_line(case, code, stdout, stderr, expand(case["error"]))
    after = snapshot(tmp, inputs)
    allowed = {str(tmp / name) for name in case.get("leaves", [])}
    written = sorted(p for p, digest in after.items()
                     if before.get(p) != digest and p not in allowed and not (p not in before and digest == EMPTY))
    assert not written, f"a failed command left or changed {written}"


def run_in_process(args: list[str], env: dict) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args, env=env or None)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        pytest.fail("Traceback (uncaught exception):\n" + "".join(traceback.format_exception(*result.exc_info)))
    return result.exit_code, result.stdout, result.stderr


def run_process(args: list[str], env: dict) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "s1kit", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})
    return proc.returncode, proc.stdout, proc.stderr


def check_one_line(case: dict, code: int, stdout: str, stderr: str, pattern: str) -> None:
    shown = f"exit {code}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    assert code == 2, shown
    assert "Traceback" not in stderr + stdout, shown
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, shown
    assert stderr.rstrip("\n").splitlines()[-1] == errors[0], "the error line comes last\n" + shown
    assert re.search(pattern, errors[0]), f"{pattern!r} not in {errors[0]!r}"
    if case.get("json") and stdout.strip():
        json.loads(stdout)
    else:
        assert stdout == "", shown
