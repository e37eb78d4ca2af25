"""MkDocs hook: each command page's flag table, made at build time from the command itself.

A page writes ``<!-- flags: eval -->`` and gets the table of ``s1kit eval``'s flags in its place.
The table is read off the command that ``s1kit eval --help`` shows, whose options s1kit.options
makes from the config dataclasses: a setting's help is the docstring under its field
(s1kit.settings.leaves) and its default the one the command uses, so nothing is typed twice.
Settings of the config that no flag can hold (mappings, lists of configs) are listed after the
table as recipe keys.
"""

from __future__ import annotations

import html
import re

FLAGS = re.compile(r"<!--\s*flags:\s*([\w-]+)\s*-->")
CODE = re.compile(r"(``.+?``|`[^`]+`)")


def configs() -> dict:
    """The config dataclass behind each command that has one (the others take only their own options)."""
    from s1kit.curate.config import CurateConfig
    from s1kit.curate.traces import TracesConfig
    from s1kit.eval.config import EvalConfig
    from s1kit.generation import GenerateConfig
    from s1kit.grading.command import GradeConfig
    from s1kit.serve.config import ServeConfig
    from s1kit.synth.build import SynthConfig
    from s1kit.train.config import TrainConfig

    return {"generate": GenerateConfig, "eval": EvalConfig, "grade": GradeConfig, "serve": ServeConfig,
            "train": TrainConfig, "curate": CurateConfig, "traces": TracesConfig, "synth": SynthConfig}


def commands() -> dict:
    """The click commands of ``s1kit``, by name: what ``--help`` prints."""
    import typer.main

    from s1kit.cli import app

    return dict(typer.main.get_command(app).commands)


def text(cell) -> str:
    """Prose for a table cell: code spans kept, everything else safe in Markdown and HTML."""
    parts = CODE.split(" ".join(str(cell or "").split()))
    return "".join(part if CODE.fullmatch(part) else
                   html.escape(part, quote=False).replace("|", "\\|").replace("*", "\\*").replace("[", "\\[")
                   for part in parts)


def code(value) -> str:
    """A default as a code span ('' when there is none)."""
    if value is None or value is False or value == ():
        return ""
    shown = "on" if value is True else (repr(value) if value == "" else str(value))
    return f"``{shown}``" if "`" not in shown else text(shown)


def flag_rows(command: str) -> list[tuple[str, str, str, str]]:
    """(name, flag, default, meaning) for each parameter of ``command``, in --help's order; a setting
    of the command's config gets its field's docstring."""
    from s1kit.settings import leaves

    cls = configs().get(command)
    docs = {leaf.flat: leaf.doc for leaf in leaves(cls)} if cls else {}
    return [(param.name, flag_of(param), code(param.default), docs.get(param.name, param.help or ""))
            for param in commands()[command].params]


def flag_of(param) -> str:
    """How --help names a parameter: its flags, or an argument's name in capitals."""
    if param.param_type_name == "argument":
        return param.name.upper() + (" ..." if param.nargs == -1 else "")
    return ", ".join([*param.opts, *param.secondary_opts])


def recipe_only(command: str) -> list:
    """The settings of ``command``'s config that no flag holds: a recipe (or a dotted override) gives them."""
    from s1kit.settings import leaves

    cls = configs().get(command)
    flags = {param.name for param in commands()[command].params}
    return [leaf for leaf in leaves(cls) if leaf.flat not in flags] if cls else []


def flag_table(command: str) -> str:
    """The Markdown of ``command``'s flags: a table, then its recipe-only settings."""
    if command not in commands():
        raise ValueError(f"unknown command {command!r} in a flags marker; choose from {', '.join(commands())}")
    lines = ["| flag | default | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{flag}` | {default} | {text(doc)} |" for _, flag, default, doc in flag_rows(command)]
    rest = recipe_only(command)
    if rest:
        lines += ["", "Settings a recipe gives (no flag holds them):", "",
                  "| recipe key | meaning |", "| --- | --- |"]
        lines += [f"| `{leaf.flat}` | {text(leaf.doc)} |" for leaf in rest]
    return "\n".join(lines) + "\n"


def on_page_markdown(markdown: str, page, config, files) -> str:
    return FLAGS.sub(lambda match: flag_table(match.group(1)), markdown)
