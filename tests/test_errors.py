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
