"""Command-line options made from config dataclasses, so each default and help text is written once.

Every setting (s1kit.settings.leaves: a config's fields and those of the configs it holds) becomes
``--flat-name``: its default is the field's and its help the docstring written under the field. A
command declares its own parameters and adds the generated ones with :func:`with_options`; the
command receives them all as keyword arguments, and :func:`given` tells the flags typed on the
command line from the defaults, which s1kit.recipes.resolve lays over the defaults and a recipe.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from typing import Annotated, Optional

from s1kit.settings import field_docs, leaves  # noqa: F401 - field_docs: the docs the options show


def options(cls, *, as_text=(), raw=False, skip=(), defaults=None) -> list[inspect.Parameter]:
    """Keyword parameters (typer options) for the settings of ``cls`` (s1kit.settings.leaves: its
    fields and those of the configs it holds, by their flat names), in field order.

    ``as_text`` names list settings given as comma-separated text (``--budgets 512,1024``; the config
    parses them); ``raw`` gives every setting as text, for configs that read their own values
    (``--max-examples null``). ``skip`` leaves settings out and ``defaults`` replaces a setting's
    default for this command. Settings typer cannot hold (mappings, nested configs) are left to
    recipes, except as ``raw`` text."""
    import typer

    defaults = defaults or {}
    parameters = []
    for leaf in leaves(cls):
        kind = _plain(leaf.hint)
        if leaf.flat in skip or (not raw and not _typer_can_hold(kind)):
            continue
        default = defaults.get(leaf.flat, leaf.default)
        if leaf.required:  # the config says so if neither a recipe nor the flag gives it
            kind, default = Optional[kind], None
        if leaf.flat in as_text:
            kind, default = Optional[str], None if default is None else ",".join(map(str, default))
        elif raw:
            kind, default = Optional[str], None if default is None else str(default)
        option = typer.Option(f"--{leaf.flat.replace('_', '-')}", help=leaf.doc)
        parameters.append(inspect.Parameter(leaf.flat, inspect.Parameter.KEYWORD_ONLY, default=default,
                                            annotation=Annotated[kind, option]))
    return parameters


def with_options(*groups: list[inspect.Parameter]):
    """Give the decorated command the options in ``groups`` after its own parameters."""

    def decorate(command):
        hints = typing.get_type_hints(command, include_extras=True)  # annotations may be strings
        own = [p.replace(annotation=hints.get(p.name, p.annotation))
               for p in inspect.signature(command).parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        taken = {p.name for p in own}
        added = [p for group in groups for p in group if p.name not in taken]
        command.__signature__ = inspect.Signature(own + added)  # what typer reads the parameters from
        command.__annotations__ = {p.name: p.annotation for p in command.__signature__.parameters.values()}
        return command

    return decorate


def given(ctx, values: dict) -> dict:
    """The entries of ``values`` whose flags were typed on the command line (not defaults)."""
    # By the source's name: typer carries its own copy of click, whose enum is another class.
    return {name: value for name, value in values.items()
            if getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"}


def _typer_can_hold(kind) -> bool:
    """Whether typer can parse an option of type ``kind``: no mappings and no dataclasses."""
    args = typing.get_args(kind) or (kind,)
    return not any(dataclasses.is_dataclass(a) or typing.get_origin(a) is dict or a is dict
                   or any(dataclasses.is_dataclass(b) for b in typing.get_args(a)) for a in args)


def _plain(hint):
    """``X | None`` as ``Optional[X]`` (the spelling typer reads)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return Optional[args[0]]
    return hint
