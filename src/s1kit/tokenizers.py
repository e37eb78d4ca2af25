"""What the control loop and the chat formats need from a tokenizer: one small Protocol that every
backend's tokenizer adapter meets (backends/hf.py wraps a transformers tokenizer)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class TokenizerLike(Protocol):
    """What the control loop needs from a tokenizer."""

    name: str
    """Model or tokenizer name, for error messages."""

    eos_token_ids: frozenset[int]
    """Tokens that end a turn."""

    def encode(self, text: str) -> list[int]:
        """Token ids of text; special-token strings map to their ids; no BOS/EOS added."""

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ids, special tokens kept."""

    def single_token_id(self, text: str) -> int | None:
        """The id of text if the vocabulary holds it as one token, else None."""

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        """The chat prompt for messages, ending with the opened assistant turn."""

    def has_chat_template(self) -> bool:
        """Whether apply_chat_template uses the model's own template."""
