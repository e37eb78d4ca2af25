"""BudgetConfig and SamplingConfig validate at the boundary; errors name the value and the fix."""

from __future__ import annotations

import math

import pytest

from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.errors import S1kitError, SettingError


def cases(*rows):
    """Table rows whose first item is the config kwargs, with ids like ``max_thinking_tokens=0``."""
    rows = [row if isinstance(row, tuple) else (row,) for row in rows]
    return [pytest.param(*row, id=",".join(f"{k}={v!r}" for k, v in row[0].items()) or "defaults") for row in rows]


@pytest.mark.parametrize(
    "kwargs, fragments",
    cases(
        (dict(max_thinking_tokens=0), ["max_thinking_tokens", "got 0", "positive integer"]),
        (dict(max_thinking_tokens=-512), ["max_thinking_tokens", "got -512"]),
        (dict(max_thinking_tokens=True), ["max_thinking_tokens", "got True"]),
        (dict(max_thinking_tokens=2.5), ["max_thinking_tokens", "got 2.5"]),
        (dict(max_thinking_tokens=512.0), ["max_thinking_tokens", "got 512.0"]),
        (dict(max_thinking_tokens="512"), ["max_thinking_tokens", "got '512'"]),
        (dict(max_answer_tokens=0), ["max_answer_tokens", "got 0", "positive integer"]),
        (dict(max_answer_tokens=-1), ["max_answer_tokens", "got -1"]),
        (dict(max_answer_tokens=False), ["max_answer_tokens", "got False"]),
        (dict(max_answer_tokens=1.0), ["max_answer_tokens", "got 1.0"]),
        (dict(max_answer_tokens=None), ["max_answer_tokens", "got None"]),
        (dict(min_thinking_tokens=-1), ["min_thinking_tokens", "non-negative", "got -1"]),
        (dict(min_thinking_tokens=True), ["min_thinking_tokens", "got True"]),
        (dict(min_thinking_tokens=1.5), ["min_thinking_tokens", "got 1.5"]),
        (dict(min_thinking_tokens=None), ["min_thinking_tokens", "got None"]),
        (dict(num_ignore=-2), ["num_ignore", "non-negative", "got -2"]),
        (dict(num_ignore=True), ["num_ignore", "got True"]),
        (dict(num_ignore=0.5), ["num_ignore", "got 0.5"]),
        (dict(num_ignore="2"), ["num_ignore", "got '2'"]),
        (
            dict(min_thinking_tokens=600, max_thinking_tokens=512),
            ["min_thinking_tokens (600)", "max_thinking_tokens (512)", "lower one of them"],
        ),
        (
            dict(min_thinking_tokens=2, max_thinking_tokens=1),
            ["min_thinking_tokens (2)", "max_thinking_tokens (1)", "lower one of them"],
        ),
        (dict(min_thinking_tokens=10, wait_string=""), ["wait_string is empty", "min_thinking_tokens", "e.g. to 'Wait'"]),
    ),
)
def test_budget_config_rejects(kwargs, fragments):
    with pytest.raises(SettingError) as excinfo:
        BudgetConfig(**kwargs)
    message = str(excinfo.value)
    for fragment in fragments:
        assert fragment in message
    # The field it names, as a server's 400 names it in ``param``.
    assert excinfo.value.field == fragments[0].split()[0].removesuffix(" (600)").split(" (")[0]


@pytest.mark.parametrize(
    "kwargs",
    cases(
        dict(),
        dict(max_thinking_tokens=1),
        dict(max_thinking_tokens=32768),
        dict(max_thinking_tokens=None, min_thinking_tokens=4000),
        dict(max_thinking_tokens=512, min_thinking_tokens=512),
        dict(max_thinking_tokens=512, min_thinking_tokens=0),
        dict(num_ignore=0),
        dict(num_ignore=6),
        dict(max_answer_tokens=1),
        # No extension requested, so an empty wait string is never used.
        dict(wait_string=""),
        # s1's "without string": ends suppressed with nothing appended.
        dict(wait_string="", num_ignore=2),
        dict(answer_prefix=""),
        dict(wait_string="Hmm, wait", answer_prefix="The answer is", num_ignore=2, min_thinking_tokens=100),
    ),
)
def test_budget_config_accepts(kwargs):
    config = BudgetConfig(**kwargs)
    for name, value in kwargs.items():
        assert getattr(config, name) == value


def test_budget_config_defaults():
    config = BudgetConfig()
    assert config.max_thinking_tokens is None
    assert (config.min_thinking_tokens, config.num_ignore) == (0, 0)
    assert config.wait_string == "Wait"
    assert config.answer_prefix == "Final Answer:"


@pytest.mark.parametrize(
    "kwargs, fragments",
    cases(
        (dict(temperature=-0.1), ["temperature", "got -0.1", "use 0 for greedy"]),
        (dict(temperature=-1), ["temperature", "got -1"]),
        (dict(temperature=math.nan), ["temperature", "got nan"]),
        (dict(top_p=0), ["top_p", "(0, 1]", "got 0", "1.0"]),
        (dict(top_p=0.0), ["top_p", "got 0.0"]),
        (dict(top_p=-0.5), ["top_p", "got -0.5"]),
        (dict(top_p=1.01), ["top_p", "got 1.01"]),
        (dict(top_p=math.nan), ["top_p", "got nan"]),
        (dict(seed=-1), ["seed", "non-negative", "got -1"]),
        (dict(seed=True), ["seed", "got True"]),
        (dict(seed=1.5), ["seed", "got 1.5"]),
        (dict(seed="0"), ["seed", "got '0'"]),
        (dict(seed=None), ["seed", "got None"]),
        # Values of the wrong type (a quoted YAML value, a missing one) must fail with the
        # project's error naming the field, not a TypeError from a comparison.
        (dict(temperature="0.7"), ["temperature", "'0.7'"]),
        (dict(top_p="0.9"), ["top_p", "'0.9'"]),
        (dict(top_p=None), ["top_p", "None"]),
    ),
)
def test_sampling_config_rejects(kwargs, fragments):
    with pytest.raises(S1kitError) as excinfo:
        SamplingConfig(**kwargs)
    message = str(excinfo.value)
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize(
    "kwargs, greedy",
    cases(
        (dict(), True),
        (dict(temperature=0), True),
        (dict(temperature=0.0, top_p=0.5), True),
        (dict(temperature=0.7, top_p=0.95, seed=42), False),
        (dict(temperature=1, top_p=1), False),
        (dict(temperature=2.0, top_p=1e-6, seed=0), False),
        (dict(seed=2**40), True),
    ),
)
def test_sampling_config_accepts(kwargs, greedy):
    config = SamplingConfig(**kwargs)
    for name, value in kwargs.items():
        assert getattr(config, name) == value
    assert config.greedy is greedy


def test_a_temperature_of_none_is_left_to_the_command():
    """An eval's method decides it (1 for the methods that sample); the config only holds it."""
    assert SamplingConfig(temperature=None).temperature is None
