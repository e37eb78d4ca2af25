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
