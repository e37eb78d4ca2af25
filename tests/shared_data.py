"""The benchmark files of ../shared/data, for tests that read them.

Absent files skip the test with the path in the reason, except where S1KIT_REQUIRE_SHARED_DATA=1
(CI sets it in .ci/run, since CI always has the files): there a missing file is a failure, so a
moved data folder cannot turn tests into silent skips.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_file(name: str) -> Path:
    """SHARED_DATA / name, or skip (fail in CI) when it is absent."""
    path = SHARED_DATA / name
    if not path.is_file():
        message = f"{path} is absent (the shared benchmark copy)"
        if os.environ.get("S1KIT_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(message + "; CI requires it (S1KIT_REQUIRE_SHARED_DATA=1)")
        pytest.skip(message)
    return path
