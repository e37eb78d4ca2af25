"""What the libraries under s1kit print by themselves: the log lines and progress bars of
transformers, huggingface_hub, datasets, accelerate, TRL and vLLM ("Loading weights: 100%|...",
vLLM's dozens of INFO lines per engine start). Quiet by default, errors only; ``--verbose`` on a
command that loads models brings it all back. s1kit's own lines (its progress, warnings and
errors) are not affected, and all of it goes to stderr either way.

Libraries read these settings once: from the environment when they are first imported (also in
child processes, such as vLLM's engine), from their own calls once imported. Both are set here.
"""

from __future__ import annotations

import logging
import os
import sys

LOGGERS = {"transformers": "TRANSFORMERS_VERBOSITY", "huggingface_hub": "HF_HUB_VERBOSITY",
           "datasets": "DATASETS_VERBOSITY", "vllm": "VLLM_LOGGING_LEVEL", "accelerate": None, "trl": None}
"""The libraries' root loggers, and the environment variable that sets each one's level (a level
the user set there is kept)."""

QUIET_ENVIRONMENT = {
    "TRANSFORMERS_VERBOSITY": "error",
    "HF_HUB_VERBOSITY": "error",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # transformers' bars follow huggingface_hub's setting
    "DATASETS_VERBOSITY": "error",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "VLLM_LOGGING_LEVEL": "ERROR",
}
"""Read by each library when it is imported; a value the user set is kept."""

_set_here: set[str] = set()
"""Environment variables this process set (and may take back for --verbose)."""
_levels: dict[str, int] = {}
"""Logger levels as they were before quieting."""
_bars_off_here = False
"""Whether this process turned the progress bars of imported libraries off."""


def set_library_output(verbose: bool) -> None:
    """Libraries quiet (errors only, no progress bars), or with ``verbose`` as they are by default."""
    if verbose:
        _speak()
    else:
        _quiet()


def set_by_user(name: str) -> bool:
    """Whether environment variable ``name`` is the user's setting (not one made quiet here)."""
    return name in os.environ and name not in _set_here


def _quiet() -> None:
    global _bars_off_here
    user_set = set(os.environ) - _set_here
    for name, value in QUIET_ENVIRONMENT.items():
        if name not in os.environ:
            os.environ[name] = value
            _set_here.add(name)
    for name, variable in LOGGERS.items():
        if variable not in user_set:
            logger = logging.getLogger(name)
            _levels.setdefault(name, logger.level)
            logger.setLevel(logging.ERROR)
    if "HF_HUB_DISABLE_PROGRESS_BARS" not in user_set:
        _progress_bars(False)
        _bars_off_here = True


def _speak() -> None:
    global _bars_off_here
    for name in _set_here:
        os.environ.pop(name, None)
    _set_here.clear()
    for name, level in _levels.items():
        logging.getLogger(name).setLevel(level)
    _levels.clear()
    if _bars_off_here:
        _progress_bars(True)
        _bars_off_here = False


def _progress_bars(shown: bool) -> None:
    """The bars of the libraries already imported; the others read the environment."""
    if "huggingface_hub" in sys.modules:
        from huggingface_hub import utils

        utils.enable_progress_bars() if shown else utils.disable_progress_bars()
    if "transformers" in sys.modules:
        from transformers.utils import logging as transformers_logging

        transformers_logging.enable_progress_bar() if shown else transformers_logging.disable_progress_bar()
    if "datasets" in sys.modules:
        import datasets

        datasets.enable_progress_bars() if shown else datasets.disable_progress_bars()
