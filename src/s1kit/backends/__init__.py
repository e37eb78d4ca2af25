"""Backends behind one interface (:class:`s1kit.backends.base.Backend`), chosen by name."""

from __future__ import annotations

from s1kit.errors import S1kitError

BACKENDS = ("hf",)
"""Backends users can pick with --backend. The scripted backend is for tests and is built directly."""


def load_backend(name: str, model: str, **options):
    """Build the backend called `name` for `model`."""
    if name == "hf":
        from s1kit.backends.hf import HFBackend

        return HFBackend(model, **options)
    raise S1kitError(f"unknown backend '{name}'; choose from {', '.join(BACKENDS)}")
