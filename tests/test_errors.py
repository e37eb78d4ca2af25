"""Optional dependencies: a missing one names the extra that brings it."""

import pytest

from s1kit.backends import load_backend
from s1kit.errors import MissingExtraError, S1kitError, require


def test_missing_module_names_the_extra():
    with pytest.raises(MissingExtraError, match=r"pip install 's1kit\[vllm\]'") as info:
        require("s1kit_no_such_module_xyz", "vllm")
    assert "s1kit_no_such_module_xyz" in str(info.value)
    assert isinstance(info.value, S1kitError) and isinstance(info.value, ImportError)


def test_present_module_is_returned():
    assert require("json", "core").dumps([1]) == "[1]"


def test_unknown_backend_lists_the_choices():
    with pytest.raises(S1kitError, match="unknown backend 'tgi'; choose from hf"):
        load_backend("tgi", "smollm2-135m")


@pytest.mark.parametrize("name, alias", [("s1nano", "s1-nano"), ("S1-Nano", "s1-nano"), ("smollm2-135", "smollm2-135m"),
                                         ("smollm-135m", "smollm2-135m")])
def test_a_near_miss_of_a_builtin_alias_says_did_you_mean(name, alias):
    from s1kit.models import resolve_model

    with pytest.raises(S1kitError, match=rf"unknown model '{name}'; did you mean the built-in '{alias}'\?"):
        resolve_model(name)


def test_other_names_still_go_to_the_hub():
    from s1kit.models import resolve_model

    assert resolve_model("gpt2") == "gpt2" and resolve_model("Qwen/Qwen2.5-0.5B") == "Qwen/Qwen2.5-0.5B"
