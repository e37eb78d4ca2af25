"""One declaration per setting: configs nest the configs they carry, their settings stay flat.

A config holds another config as a *group* (``budget: BudgetConfig = group(BudgetConfig)``), so
each setting is declared, documented and checked once, in the dataclass that owns it. Users still
name every setting by one flat name, as TRL's parser makes one set of flags from several
dataclasses: the flag ``--wait-string``, the recipe key ``wait_string`` and the saved config's key
are the same name, whichever config holds the field. A group may rename its settings with a prefix
(a judge's ``judge_max_thinking_tokens``), leave some out (an eval sweeps its caps, so its budget's
own cap is not a setting of it), or be absent until one of its settings is given (the judge).

:func:`leaves` lists a config's settings (the flags come from it), :func:`unflatten` turns flat or
nested recipe data into the nested shape (unknown keys fail, naming the closest one), and
:func:`flatten` is the saved form. s1kit.recipes builds configs from that data, along the one merge
path of every command (defaults < recipe < dotted overrides < typed flags).
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import inspect
import textwrap
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from s1kit.errors import S1kitError, shown

_GROUP = "s1kit.group"
"""Field metadata of a group: its options (see :func:`group`)."""
FLAT = "flat"
"""Leaf metadata: the setting's flat name, whatever the groups around it add."""
SECRET = "secret"
"""Leaf metadata: never written out (a saved config, a manifest)."""
HOW = "how"
"""Leaf metadata: the setting changes how results are obtained or where, not what they are (an
eval's --resume compares every other setting)."""


@dataclass(frozen=True)
class GroupOptions:
    cls: type
    prefix: str = ""
    only: tuple[str, ...] | None = None
    skip: tuple[str, ...] = ()
    optional: bool = False
    rename: tuple[tuple[str, str], ...] = ()
    defaults: tuple[tuple[str, Any], ...] = ()


def group(cls, *, prefix: str = "", only: Iterable[str] | None = None, skip: Iterable[str] = (),
          optional: bool = False, rename: dict[str, str] | None = None, **defaults):
    """A field holding config ``cls``. ``prefix`` starts its settings' flat names and ``rename``
    gives some another (``{"model": "teacher"}``); ``only`` and ``skip`` choose which of its
    settings are settings of the holder (the others keep their defaults); ``defaults`` replace
    ``cls``'s own in this place (a mapping for a group it holds); ``optional``: the field is None
    until one of its settings is given."""
    options = GroupOptions(cls, prefix, None if only is None else tuple(only), tuple(skip), optional,
                           tuple((rename or {}).items()), tuple(defaults.items()))
    metadata = {_GROUP: options}
    if optional:
        return field(default=None, metadata=metadata)
    built = {name: _built(cls, name, value) for name, value in defaults.items()}
    return field(default_factory=functools.partial(cls, **built), metadata=metadata)


def _built(cls, name: str, value):
    """A default given as a mapping for a group of ``cls``: that group built with it."""
    inner = groups(cls).get(name)
    return inner.cls(**{**group_defaults(cls, name), **value}) if inner is not None and isinstance(value, dict) else value


@dataclass(frozen=True)
class Leaf:
    """One setting of a config: a field of it or of a group it holds."""

    flat: str
    """The name users give it: the flag (with dashes), the recipe key, the saved key."""
    path: tuple[str, ...]
    """Attribute names from the config down to the field."""
    owner: type
    """The dataclass that declares the field."""
    hint: Any
    doc: str
    default: Any
    """Its default in this place (a group's defaults may differ from its class's)."""
    required: bool
    """It has no default: the config (or its group, once given) cannot be made without it."""
    metadata: Any

    @property
    def name(self) -> str:
        return self.path[-1]


@functools.cache
def field_docs(cls) -> dict[str, str]:
    """The docstring under each field of dataclass ``cls`` (whitespace collapsed), by field name."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body
    docs = {}
    for node, following in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant) and isinstance(following.value.value, str)):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs


@functools.cache
def leaves(cls) -> tuple[Leaf, ...]:
    """Every setting of config ``cls``, in field order, groups expanded."""
    found = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        options = f.metadata.get(_GROUP)
        if options is None:
            default = f.default if f.default is not dataclasses.MISSING else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            found.append(Leaf(f.metadata.get(FLAT, f.name), (f.name,), cls, hints[f.name], field_docs(cls).get(f.name, ""),
                              default, required, f.metadata))
            continue
        given, renamed = dict(options.defaults), dict(options.rename)
        for leaf in leaves(options.cls):
            if (options.only is not None and leaf.path[0] not in options.only) or leaf.path[0] in options.skip:
                continue
            default = _default_at(given, leaf.path, leaf.default)
            flat = renamed.get(leaf.flat) or (leaf.flat if FLAT in leaf.metadata else options.prefix + leaf.flat)
            found.append(dataclasses.replace(leaf, flat=flat, path=(f.name, *leaf.path), default=default))
    names = [leaf.flat for leaf in found]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise TypeError(f"{cls.__name__} has two settings named {', '.join(twice)}; give a group a prefix")
    return tuple(found)


def groups(cls) -> dict[str, GroupOptions]:
    """The group fields of ``cls`` by name."""
    return {f.name: f.metadata[_GROUP] for f in dataclasses.fields(cls) if _GROUP in f.metadata}


def group_defaults(cls, name: str) -> dict:
    """The defaults group ``name`` of ``cls`` replaces in its class's (see :func:`group`), as
    nested mappings."""
    options = next(f for f in dataclasses.fields(cls) if f.name == name).metadata[_GROUP]
    return {key: dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
            for key, value in options.defaults}


def _default_at(given: dict, path: tuple[str, ...], default):
    """The default a group's ``given`` defaults (mappings or configs) set at ``path``, else ``default``."""
    value = given
    for name in path:
        if isinstance(value, dict) and name in value:
            value = value[name]
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = getattr(value, name)
        else:
            return default
    return value


def unflatten(cls, data: dict, where: str = "recipe") -> dict:
    """``data`` (flat names, field names, or nested mappings for groups, mixed) in the nested shape
    of ``cls``'s fields. An unknown key fails, naming the closest setting."""
    if not isinstance(data, dict):
        raise S1kitError(f"{where} must be a mapping of {cls.__name__} settings, got {shown(data)}")
    by_flat = {leaf.flat: leaf for leaf in leaves(cls)}
    fields = {f.name for f in dataclasses.fields(cls)}
    grouped = groups(cls)
    check_keys(data, [*by_flat, *(name for name in fields if name not in by_flat)], cls.__name__, where)
    nested: dict = {}
    for key, value in data.items():
        # A mapping under a group's name is the group (a flat name may be the same: the judge's model).
        if key in grouped and isinstance(value, grouped[key].cls):
            nested[key] = value  # a config already made (a dataclass's own fields, passed on)
        elif key in grouped and (isinstance(value, dict) or (value is None and key not in by_flat)):
            nested[key] = None if value is None else _merge(nested.get(key) or {}, unflatten(grouped[key].cls, value,
                                                                                             f"{where}.{key}"))
        elif key in by_flat:
            _put(nested, by_flat[key].path, value)
        elif key in grouped:
            close = difflib.get_close_matches(str(key), [n for n in by_flat if n != key], n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise S1kitError(f"{where}: {key} must be a mapping of {grouped[key].cls.__name__} settings, got "
                             f"{shown(value)}{hint}")
        else:
            nested[key] = value
    return nested


def check_keys(data, known: list[str], owner: str, where: str = "", detail: str = "") -> None:
    """Refuse keys of ``data`` that are not in ``known``, naming the closest known one:
    ``{where}: unknown key 'k'{detail}; did you mean 'K'? {owner} takes ...``."""
    unknown = sorted(set(data) - set(known), key=str)
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), known, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise S1kitError(f"{where + ': ' if where else ''}unknown key{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(repr(str(k)[:80]) for k in unknown)}{detail}; {hint}{owner} takes {', '.join(known)}")


def _put(nested: dict, path: tuple[str, ...], value) -> None:
    for name in path[:-1]:
        nested = nested.setdefault(name, {})
        if not isinstance(nested, dict):
            return
    nested[path[-1]] = value


def _merge(base: dict, over: dict) -> dict:
    merged = dict(base)
    for key, value in over.items():
        merged[key] = _merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged


def flatten(config, secrets: bool = False) -> dict:
    """Every setting of ``config`` by its flat name (the saved form); secrets left out unless asked."""
    values = {}
    for leaf in leaves(type(config)):
        if leaf.metadata.get(SECRET) and not secrets:
            continue
        holder = config
        for name in leaf.path[:-1]:
            holder = getattr(holder, name)
            if holder is None:
                break
        values[leaf.flat] = getattr(holder, leaf.name) if holder is not None else leaf.default
    return values


def defaults(cls) -> dict:
    """Each setting's default, by flat name."""
    return {leaf.flat: leaf.default for leaf in leaves(cls)}
