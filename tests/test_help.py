"""`--help` on an 80-column terminal: every command's flag names stay whole (never
`--max-thinking-toke…`), and no line is wider than the terminal."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from s1kit.cli import app

COMMANDS = typer.main.get_command(app).commands


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_flag_names_stay_whole_at_80_columns(name):
    result = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    flags = [flag for param in COMMANDS[name].params for flag in param.opts + param.secondary_opts if flag.startswith("-")]
    # Whole: not only inside a longer flag (--max-thinking-tokens in --judge-max-thinking-tokens).
    cut = [flag for flag in flags if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", result.stdout)]
    assert flags and not cut, result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
