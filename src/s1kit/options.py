"""Command-line options made from config dataclasses, so each default and help text is written once.

Every field becomes ``--field-name``: its default is the field's and its help the docstring written
under the field. A command declares its own parameters and adds the generated ones with
:func:`with_options`; the command receives them all as keyword arguments, :func:`given` tells the
flags typed on the command line from the defaults, and :func:`layered` lays them over a recipe.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from typing import Annotated, Optional

from s1kit.settings import field_docs


def options(cls, *, as_text=(), raw=False, skip=(), defaults=None, names=None) -> list[inspect.Parameter]:
    """Keyword parameters (typer options) for the fields of ``cls``, in field order.

    ``as_text`` names list fields given as comma-separated text (``--budgets 512,1024``; the config
    parses them); ``raw`` gives every field as text, for configs that read their own values
    (``--max-examples null``). ``skip`` leaves fields out, ``defaults`` replaces a field's default for
    this command, and ``names`` maps a field to another parameter name (``{"model": "judge"}``; the
    flag follows it). Fields typer cannot hold (mappings, nested configs) are left to recipes, except
    as ``raw`` text."""
    import typer

    hints, docs, defaults, names = typing.get_type_hints(cls), field_docs(cls), defaults or {}, names or {}
    parameters = []
    for f in dataclasses.fields(cls):
        kind = _plain(hints[f.name])
        if f.name in skip or (not raw and not _typer_can_hold(kind)):
            continue
        if f.name in defaults:
            default = defaults[f.name]
        elif f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:  # required: the config says so if neither a recipe nor the flag gives it
            kind, default = Optional[kind], None
        if f.name in as_text:
            kind, default = Optional[str], None if default is None else ",".join(map(str, default))
        elif raw:
            kind, default = Optional[str], None if default is None else str(default)
        name = names.get(f.name, f.name)
        option = typer.Option(f"--{name.replace('_', '-')}", help=docs.get(f.name, ""))
        parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
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


def layered(ctx, recipe) -> dict:
    """Every parameter of the running command: its default, then the ``recipe`` YAML's value (keys:
    the parameters' names), then the flag if it was typed. Unknown recipe keys fail, naming the
    closest one."""
    from s1kit.recipes import check_keys, load_yaml

    values = {name: value for name, value in ctx.params.items() if name != "recipe"}
    if recipe is None:
        return values
    data = load_yaml(recipe)
    check_keys(data, list(values), f"s1kit {ctx.command.name}", f"recipe {recipe}")
    return {**values, **data, **given(ctx, values)}


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
