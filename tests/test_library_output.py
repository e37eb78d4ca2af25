"""What the libraries print by themselves stays out of the way: stdout holds only what was asked
for, stderr only s1kit's own lines, unless --verbose asks for the libraries' log lines and bars."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from s1kit.chatter import QUIET_ENVIRONMENT, set_library_output
from s1kit.cli import app

GENERATE = ["generate", "What is 2+3?", "--model", "s1-nano", "--json", "--max-thinking-tokens", "8",
            "--max-answer-tokens", "4"]


@pytest.mark.slow  # loads s1-nano (under a second)
def test_generate_json_prints_the_json_and_only_s1kits_own_progress():
    pytest.importorskip("transformers", reason="the hf backend needs the [hf] extra")
    result = CliRunner().invoke(app, GENERATE)
    assert result.exit_code == 0, result.output
    [generation] = json.loads(result.stdout)
    assert generation["prompt"] == "What is 2+3?"
    # "Loading weights: 100%|...", log lines, warnings: none of them.
    assert [line for line in result.stderr.splitlines() if not re.fullmatch(r"generating: 1/1 seq \(100%\), \d+ s", line)] == []


@pytest.mark.slow
def test_verbose_brings_the_libraries_back():
    pytest.importorskip("transformers", reason="the hf backend needs the [hf] extra")
    try:
        result = CliRunner().invoke(app, [*GENERATE, "--verbose"])
    finally:
        set_library_output(False)  # as every command leaves it
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)
    assert "Loading weights" in result.stderr


@pytest.fixture
def clean_environment(monkeypatch):
    """The libraries as they are by default, and none of the variables quieting sets: a user's
    setting is put back afterwards, quieting's own are not."""
    set_library_output(True)  # takes back what earlier commands of this session set
    for name in QUIET_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch
    set_library_output(True)


def test_quiet_reaches_libraries_imported_later_and_child_processes(clean_environment):
    set_library_output(False)
    import os

    assert {name: os.environ.get(name) for name in QUIET_ENVIRONMENT} == QUIET_ENVIRONMENT
    set_library_output(True)
    assert not [name for name in QUIET_ENVIRONMENT if name in os.environ]


def test_a_level_the_user_set_is_kept(clean_environment):
    import logging
    import os

    clean_environment.setenv("VLLM_LOGGING_LEVEL", "DEBUG")
    level = logging.getLogger("vllm").level
    set_library_output(False)
    assert os.environ["VLLM_LOGGING_LEVEL"] == "DEBUG" and logging.getLogger("vllm").level == level
    assert logging.getLogger("transformers").level == logging.ERROR
    set_library_output(True)
    assert os.environ["VLLM_LOGGING_LEVEL"] == "DEBUG"


@pytest.mark.parametrize("verbose, user, level", [(False, None, "WARNING"), (True, None, None), (False, "INFO", "INFO")])
def test_a_server_keeps_its_warnings_and_verbose_all_of_its_lines(clean_environment, verbose, user, level):
    from s1kit.serve.command import server_env
    from s1kit.serve.config import ServeConfig

    if user:
        clean_environment.setenv("VLLM_LOGGING_LEVEL", user)
    set_library_output(verbose)  # as the command does before it builds the environment
    assert server_env(ServeConfig(model="s1-nano"), verbose).get("VLLM_LOGGING_LEVEL") == level
