"""Errors users see, and the common checks that raise them. The CLI prints them as one line, without a traceback."""

import importlib
import os
import reprlib
from pathlib import Path
from typing import Any


class S1kitError(ValueError):
    """Bad input or an unusable setup; the message names the value and how to fix it."""


class SettingError(S1kitError):
    """A setting with a value its config refuses; ``field`` names it (a server's 400 names it as
    ``param``), so the command line, recipes and the server report it alike."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class MissingExtraError(S1kitError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


def require(module: str, extra: str):
    """Import an optional dependency or say which extra brings it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"'{module}' is not installed ({exc}); install it with: pip install 's1kit[{extra}]'"
        ) from exc


class _ShortRepr(reprlib.Repr):
    """reprlib's bounded repr (a few items of each container, a few levels deep), and no digits of
    a huge integer: CPython refuses to write more than 4,300 of them."""

    def repr_int(self, x, level):
        digits = int(x.bit_length() * 0.30103) + 1  # log10(2): about as many as str(x) has
        return f"<an integer of about {digits:,} digits>" if digits > self.maxlong else super().repr_int(x, level)


_SHORT_REPR = _ShortRepr()
_SHORT_REPR.maxlevel = 3
_SHORT_REPR.maxstring = _SHORT_REPR.maxlong = _SHORT_REPR.maxother = 80


def shown(value: Any, limit: int = 80) -> str:
    """``value`` as a message shows it: its repr, at most about ``limit`` characters of it, and its
    type: ``'fast' (str)``, ``[1, 2] (list)``. The work is bounded however big the value is (only its
    first items and levels are looked at), so a huge or deeply shared value cannot fill memory."""
    if value is None:
        return "None"
    text = _SHORT_REPR.repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{text} ({type(value).__name__})"


def check_positive_int(name: str, value, hint: str = "") -> None:
    """``value`` is a whole number of at least 1 (a bool is not), else one line naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SettingError(name, f"{name} must be a positive integer, got {shown(value)}{hint}")


def check_non_negative_int(name: str, value, hint: str = "") -> None:
    """``value`` is a whole number of at least 0 (a bool is not), else one line naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SettingError(name, f"{name} must be a non-negative integer, got {shown(value)}{hint}")


def one_line(text, limit: int = 600) -> str:
    """A library's message as one line: its lines joined, whitespace collapsed, and only a very long
    one shortened (at a word, marked "..."), so that no sentence is cut off unseen."""
    flat = " ".join(str(text).split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + " ..."


def check_output_file(path: str | Path, flag: str = "--out", example: str = "out.jsonl") -> Path:
    """``path`` can take an output file: it is not a directory, and its folder exists (made here if
    need be) and is writable. Checked before any work."""
    path = Path(path)
    if path.is_dir():
        raise S1kitError(f"{flag} {path} is a directory; pass the file to write, e.g. {path / example}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise S1kitError(f"{flag} {path}: its folder {path.parent} cannot be created ({exc.strerror}); "
                         "pass a path you can write") from None
    if not os.access(path.parent, os.W_OK):
        raise S1kitError(f"{flag} {path}: its folder {path.parent} is not writable; pass a path you can write")
    return path


def check_output_dir(path: str | Path, flag: str = "--out", what: str = "its outputs") -> Path:
    """``path`` can hold a command's output directory: it is one, or one can be made there, and it is
    writable. Made here if need be; checked before any work."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise S1kitError(f"{flag} {path} is a file; pass a directory for {what}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise S1kitError(f"{flag} {path} cannot be created ({exc.strerror}); pass a directory you can write") from None
    if not os.access(path, os.W_OK):
        raise S1kitError(f"{flag} {path} is not writable; pass a directory you can write")
    return path


def not_text(where: str, field: str, value: Any) -> S1kitError:
    """A question field that holds something else than text: its repr would reach the model."""
    return S1kitError(f"{where}: field {field!r} is {json_kind(value)}, not text; every question must be a string")


def json_kind(value: Any) -> str:
    """How messages name a JSON value's type: "a number", "a list", "a dict", "a boolean", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return f"a {type(value).__name__}"
