"""YAML recipes onto dataclass configs: defaults < recipe < command-line overrides.

A recipe is a YAML mapping whose keys are the config's field names; a nested dataclass field takes
a nested mapping, a list of dataclasses takes a list of mappings. Unknown keys fail with the key's
dotted path and the names that would be accepted, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path

from s1kit import settings
from s1kit.errors import S1kitError, shown
from s1kit.settings import check_keys  # noqa: F401 - the one check of a mapping's keys, for the configs that read their own

MAX_YAML_VALUES = 100_000
"""Most values (scalars, lists and mappings, each alias counted as what it repeats) a YAML file of
settings may stand for; s1kit's largest recipe holds about a hundred."""


def load_yaml(path: str | Path) -> dict:
    """The mapping a recipe file holds (an empty file is an empty recipe)."""
    import yaml

    file = Path(path)
    if not file.is_file():
        raise S1kitError(f"recipe {path} does not exist; pass a YAML file such as the ones in recipes/")
    try:
        data = parse_yaml(file.read_text(encoding="utf-8"), f"recipe {path}")
    except yaml.YAMLError as exc:
        raise S1kitError(f"recipe {path} is not valid YAML: {yaml_problem(exc)}") from None
    except UnicodeDecodeError as exc:
        raise S1kitError(f"recipe {path} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise S1kitError(f"recipe {path} must be a mapping of settings, got a {type(data).__name__}")
    return data


def parse_yaml(text: str, where: str):
    """What YAML ``text`` holds (``yaml.safe_load``), refused in one line naming ``where`` when it
    stands for more than MAX_YAML_VALUES values or nests too deep. Aliases make a few hundred bytes
    stand for billions of values ("billion laughs"): loading shares them, but anything that walks
    the result (a message's repr, a saved config) would not, so their expansion is counted first."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node) > MAX_YAML_VALUES:
            raise S1kitError(f"{where} stands for more than {MAX_YAML_VALUES:,} values once its aliases (*name) are "
                             "expanded; a file of settings is far smaller, so write the values out instead of "
                             "nesting aliases")
        return loader.construct_document(node)
    except RecursionError:
        raise S1kitError(f"{where} nests its lists and mappings too deep to read; flatten it") from None
    finally:
        loader.dispose()


def _expanded_size(root) -> int:
    """How many values the YAML node ``root`` stands for, aliases expanded (at most MAX_YAML_VALUES + 1):
    each shared node is counted once and its count reused, so the work follows the file, not the
    expansion. A node that holds itself counts as too many."""
    import yaml

    sizes: dict[int, int] = {}
    cap = MAX_YAML_VALUES + 1

    def size(node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = cap  # while its children are counted: a node within itself is endless
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        else:
            children = []
        total = 1
        for child in children:
            total = min(total + size(child), cap)
        sizes[id(node)] = total
        return total

    return size(root)


def yaml_problem(exc) -> str:
    """A YAML parse error in one line, with where it is: "expected ',' or ']', but got ':' (while
    parsing a flow sequence) at line 3, column 5"."""
    problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
    context = getattr(exc, "context", None)
    mark = getattr(exc, "problem_mark", None)
    text = f"{problem} ({context})" if context else problem
    return f"{text} at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else text


def build(cls, data: dict, where: str = "recipe"):
    """An instance of dataclass ``cls`` from ``data``: keys are its settings' flat names, its field
    names, or nested mappings for the configs it holds (s1kit.settings); those are built in their
    place, with their defaults there, and lists of configs item by item."""
    if isinstance(data, cls):
        return data
    data = settings.unflatten(cls, data, where)
    hints = typing.get_type_hints(cls)
    grouped = settings.groups(cls)
    values = {}
    _check_required(cls, data, where)
    for name, value in data.items():
        options = grouped.get(name)
        if options is None:
            values[name] = _value(hints[name], value, f"{where}.{name}")
        elif value is None or isinstance(value, options.cls):
            values[name] = value
        elif options.optional and unset(cls, name, value):
            values[name] = None  # absent while each of its settings is at its default
        else:
            values[name] = build(options.cls, merge(settings.group_defaults(cls, name), value), where)
    try:
        return cls(**values)
    except TypeError as exc:  # a required field left out
        raise S1kitError(f"{where}: {exc}") from None


def _check_required(cls, data: dict, where: str) -> None:
    """Each setting without a default is given (in a group only where the group is given): else
    one line naming its flag."""
    for leaf in settings.leaves(cls):
        if not leaf.required:
            continue
        holder = data
        for name in leaf.path[:-1]:
            holder = holder.get(name) if isinstance(holder, dict) else None
        group_absent = len(leaf.path) > 1 and (holder is None or unset(cls, leaf.path[0], data.get(leaf.path[0]) or {}))
        if not group_absent and (not isinstance(holder, dict) or holder.get(leaf.name) is None):
            raise S1kitError(f"no {leaf.flat} given; pass --{leaf.flat.replace('_', '-')}"
                             + ("" if where in ("the settings", "the command line") else f" or set {leaf.flat} in {where}"))


def unset(cls, name: str, data: dict) -> bool:
    """Whether nested ``data`` for group ``name`` of ``cls`` gives each setting its default there."""
    defaults = {leaf.path[1:]: leaf.default for leaf in settings.leaves(cls) if leaf.path[0] == name}

    def walk(value, path):
        if isinstance(value, dict) and path not in defaults:
            return all(walk(v, (*path, k)) for k, v in value.items())
        return path in defaults and value == defaults[path]

    return walk(data, ())


def resolve(cls, recipe: str | Path | None = None, flags: dict | None = None, *, overrides=(), drop=(),
            where: str | None = None, before=None):
    """Config ``cls`` from its defaults, then ``recipe`` (a YAML file, flat or nested), then dotted
    ``overrides`` (``solvers.0.model=DIR``), then ``flags`` (the flags typed on the command line, by
    flat name). ``drop``: recipe keys that are records, not settings (a saved config's versions);
    ``before``: a hook that may rewrite the merged data (a command's text forms) before the config
    is built. The one path from what a user wrote to a config, for every command."""
    data = load_yaml(recipe) if recipe is not None else {}
    where = where or (f"recipe {recipe}" if recipe is not None else "the settings")
    dropped = set(drop)
    data = settings.unflatten(cls, {k: v for k, v in data.items() if k not in dropped}, where)
    for override in overrides:
        set_dotted(data, override)
    data = merge(data, settings.unflatten(cls, flags or {}, "the command line"))
    if before is not None:
        data = before(data)
    return build(cls, data, where)


def merge(base: dict, overrides: dict) -> dict:
    """``base`` with ``overrides`` laid over it; nested mappings merge key by key."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def set_dotted(data: dict, assignment: str) -> None:
    """Apply ``a.b.0.c=value`` to ``data`` in place: the value is read as YAML (``5``, ``null``,
    ``[a, b]``); a number indexes a list that must already hold that item."""
    import yaml

    path, sep, text = assignment.partition("=")
    if not sep or not path.strip():
        raise S1kitError(f"cannot read override {assignment!r}; write key=value, e.g. size=500 or solvers.0.model=DIR")
    try:
        value = parse_yaml(text, f"override {assignment!r}")
    except yaml.YAMLError:
        value = text
    keys = path.strip().split(".")
    node = data
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        where = ".".join(keys[: depth + 1])
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise S1kitError(f"override {assignment!r}: {where} is not an item of a {len(node)}-item list; "
                                 f"index it from 0 to {len(node) - 1}")
            key = int(key)
        elif not isinstance(node, dict):
            raise S1kitError(f"override {assignment!r}: {'.'.join(keys[:depth])} is {shown(node)}, not a mapping or list")
        if last:
            node[key] = value
        else:
            if isinstance(node, dict) and not isinstance(node.get(key), (dict, list)):
                node[key] = {}
            node = node[key]


def as_dict(config) -> dict:
    """A config as plain JSON-able data (for manifests and saved configs), the settings marked
    secret left out at any depth (a model's backend options may hold an API key)."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {f.name: as_dict(getattr(config, f.name)) for f in dataclasses.fields(config)
                if not f.metadata.get(settings.SECRET)}
    if isinstance(config, dict):
        return {key: as_dict(value) for key, value in config.items()}
    if isinstance(config, (list, tuple)):
        return [as_dict(item) for item in config]
    return config


def coerce(hint, value, name: str, where: str):
    """``value`` as type ``hint`` says, or one line naming ``name``, ``where`` and the expected type.

    The one reading of scalar settings for every config: flags and dotted overrides arrive as text,
    and YAML 1.1 reads ``1e-5`` as a string. Types other than bool, int, float, str and mappings
    (lists, nested configs, literals) pass through for the config to check."""
    args = typing.get_args(hint)
    optional = typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args
    kinds = [a for a in args if a is not type(None)] if optional else [hint]
    if len(kinds) != 1:
        return value
    kind = kinds[0]
    # "none" is a null too, except for text settings, where it can be a value (--tokenizer none).
    nulls = ("null", "~") if kind is str else ("none", "null", "~")
    if optional and (value is None or (isinstance(value, str) and value.strip().lower() in nulls)):
        return None
    try:
        return _read(kind, value, f"{name} in {where}")
    except S1kitError:  # the value's own problem (too big to read), said better than "must be"
        raise
    except (TypeError, ValueError, OverflowError):
        pass
    expected = getattr(kind, "__name__", str(kind)) + (" or null" if optional else "")
    raise S1kitError(f"{name} in {where} must be {expected}, got {shown(value)}")


def _read(kind, value, where: str):
    """``value`` read as ``kind`` (bool, int, float, str or a mapping; others as they are); a
    ValueError or TypeError when it is not one."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise ValueError
    if kind is int:
        number = float(value) if isinstance(value, str) else value
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not float(number).is_integer():
            raise ValueError
        return int(number)
    if kind is float:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
        if math.isnan(number):
            raise ValueError
        return number
    if kind is str:
        if isinstance(value, (dict, list)):
            raise ValueError
        return str(value)
    if kind is dict or typing.get_origin(kind) is dict:
        if isinstance(value, str):
            import yaml

            try:
                value = parse_yaml(value, where)
            except yaml.YAMLError:
                raise ValueError from None
        textual = typing.get_args(kind) == (str, str)
        if not isinstance(value, dict) or (textual and not all(isinstance(k, str) and isinstance(v, str)
                                                               for k, v in value.items())):
            raise ValueError
        return dict(value)
    return value


def _value(hint, value, where: str):
    """``value`` built into the dataclass(es) its type hint names, else read as its type says."""
    target = _dataclass_in(hint)
    if target is not None and isinstance(value, dict):
        return build(target, value, where)
    origin = typing.get_origin(hint)
    if origin in (list, tuple) or (origin in (typing.Union, types.UnionType)
                                   and any(typing.get_origin(a) in (list, tuple) for a in typing.get_args(hint))):
        item = next((_dataclass_in(a) for a in _list_items(hint) if _dataclass_in(a)), None)
        if item is not None and isinstance(value, list):
            return [build(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if target is not None:
        return value
    owner, _, name = where.rpartition(".")
    return coerce(hint, value, name, owner or where)


def _dataclass_in(hint):
    if dataclasses.is_dataclass(hint):
        return hint
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return next((a for a in typing.get_args(hint) if dataclasses.is_dataclass(a)), None)
    return None


def _list_items(hint):
    if typing.get_origin(hint) in (list, tuple):
        return typing.get_args(hint)
    return [item for arg in typing.get_args(hint) if typing.get_origin(arg) in (list, tuple)
            for item in typing.get_args(arg)]
