"""Errors users see. The CLI prints them as one line, without a traceback."""

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
