"""Every backend implements the whole interface the control loop and the stages call: no probing."""

from __future__ import annotations

import inspect

import pytest

from s1kit.backends.base import Backend, TextBackend


def backend_classes():
    from s1kit.backends.hf import HFBackend
    from s1kit.backends.openai_http import OpenAIBackend
    from s1kit.backends.scripted import ScriptedBackend
    from s1kit.backends.vllm import VLLMBackend

    return {"hf": HFBackend, "vllm": VLLMBackend, "openai": OpenAIBackend, "scripted": ScriptedBackend}


def protocol_methods(protocol) -> set[str]:
    return {name for name, value in vars(protocol).items() if inspect.isfunction(value) and not name.startswith("_")}


@pytest.mark.parametrize("name", ["hf", "vllm", "openai", "scripted"])
def test_every_backend_has_the_methods_of_the_interface(name):
    pytest.importorskip("transformers", reason="the hf and vllm backend modules import with the [hf] extra")
    cls = backend_classes()[name]
    wanted = protocol_methods(Backend) | (protocol_methods(TextBackend) if name == "openai" else set())
    assert {"run", "text_mode", "close"} <= wanted
    missing = sorted(m for m in wanted if not callable(getattr(cls, m, None)))
    assert not missing, f"{cls.__name__} lacks {missing}"


def test_a_token_backend_is_never_in_text_mode_and_closes_quietly():
    from s1kit.backends.scripted import ScriptedBackend
    from s1kit.budget.forcing import generate_with_budget

    backend = ScriptedBackend("a b </think> c")
    assert backend.text_mode() is False
    [g] = generate_with_budget(backend, ["q"], fmt="think-tags", progress=False)
    assert g.answer
    backend.close()
