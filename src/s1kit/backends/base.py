"""The small interface every backend implements.

A backend owns a model and a tokenizer and runs the decode loop; the budget-forcing decisions
themselves live in :class:`s1kit.budget.state.SequenceState`, which the loop asks at every step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from s1kit.budget.config import SamplingConfig
from s1kit.budget.state import SequenceState
from s1kit.tokenizers import TokenizerLike


class Backend(Protocol):
    """A model that can decode many sequences under budget forcing."""

    name: str
    tokenizer: TokenizerLike
    context_length: int | None
    """Most tokens (prompt plus output) a sequence may hold; None if unknown."""

    def run(
        self,
        prompt_ids: Sequence[list[int]],
        states: Sequence[SequenceState],
        sampling: SamplingConfig,
        seeds: Sequence[int],
        batch_size: int,
        progress: bool = True,
    ) -> None:
        """Decode every sequence until its state is done.

        At each position the loop gives ``states[i].advance(model_token)`` the token the model
        picked (argmax, or a draw from the row's generator seeded with ``seeds[i]``) and feeds
        back the token it returns.

        A state may arrive with output already (a sweep continuing a shared trajectory, see
        sweep.py): it is then in its answer with nothing queued, ``prompt_ids[i]`` already ends
        with that output, and the backend only appends.
        """

    def text_mode(self) -> bool:
        """Whether budget forcing goes by text rounds (:class:`TextBackend`) instead of :meth:`run`."""

    def close(self) -> None:
        """Release the engine, its worker processes or connections; the backend is unusable after."""


class TextBackend(Backend, Protocol):
    """A backend that may have no token ids to work with (a server that returns text only, or no
    local tokenizer): when :meth:`text_mode` says so, the same control loop runs on text rounds."""

    def generate_text(self, questions: Sequence[str], budget, sampling: SamplingConfig, fmt: str,
                      system_prompt: str | None, progress: bool = True, seeds: Sequence[int] | None = None) -> list:
        """One :class:`~s1kit.budget.result.Generation` per question, in order."""
