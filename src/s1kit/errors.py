"""Errors users see, and the common checks that raise them. The CLI prints them as one line, without a traceback."""

import importlib


class S1kitError(ValueError):
    """Bad input or an unusable setup; the message names the value and how to fix it."""


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


def check_positive_int(name: str, value, hint: str = "") -> None:
    """``value`` is a whole number of at least 1 (a bool is not), else one line naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise S1kitError(f"{name} must be a positive integer, got {value!r}{hint}")


def check_non_negative_int(name: str, value, hint: str = "") -> None:
    """``value`` is a whole number of at least 0 (a bool is not), else one line naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise S1kitError(f"{name} must be a non-negative integer, got {value!r}{hint}")
