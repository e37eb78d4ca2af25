"""How the front end learns which output positions the engine forced, one way per request.

The replay of a forced reply follows from its token ids except where the engine replaced an end of
thinking the model picked (a forced "Wait" looks exactly like one the model wrote). Three ways to
learn those positions, chosen for each request by :func:`choose`:

- :class:`FromTokens`: a budget that only caps needs nothing but the ids (``return_token_ids``): the
  cap and the answer opener follow from the tokens;
- :class:`FromMarksFile`: a request of one sequence on a server with a marks directory gets a file
  of its own that the engine's processor writes (s1kit.backends.marks_file); the front end reads it
  when a reply holds a replacement's first token and removes it when the reply is done;
- :class:`FromLogprobs`: every other request (several sequences share one spec, or no directory)
  asks for each token's processed logit, forced ones at FORCED_LOGIT (forcing_channel.py), which
  costs vLLM's front end time on every token; logprobs the client asks for anyway carry the marks
  at no extra cost.
"""

from __future__ import annotations

from pathlib import Path

from s1kit.backends import marks_file
from s1kit.backends.forcing_channel import FORCED_LOGIT
from s1kit.budget.state import BudgetTokens, SequenceState
from s1kit.errors import S1kitError

CHAT, COMPLETIONS = "chat", "completions"
TOKEN_ID = "token_id:"
"""How vLLM writes a token in logprobs with return_tokens_as_token_ids."""


class FromTokens:
    """The ids alone: no position was forced in place of an end, or the state can tell which."""

    logprobs = False
    """Whether the marks travel in per-token logprobs."""
    path: Path | None = None
    """The marks file, for the one way that has one."""

    def ask(self, body: dict, endpoint: str, spec: dict) -> None:
        """What the request asks vLLM for (``body``) and the engine's processor (``spec``)."""
        body["return_token_ids"] = True

    def entries(self, choice: dict, endpoint: str, offset: int = 0) -> tuple[list[int], list[float | None]]:
        """The token ids in one choice (a reply, or a stream chunk whose first token is output
        position ``offset``) and each one's mark for the replay (None: not forced in place of an end)."""
        ids = choice.get("token_ids") or []
        if not isinstance(ids, list) or not set(map(type, ids)) <= {int}:  # JSON numbers: int or float
            raise S1kitError(f"the engine returned token_ids {str(ids)[:80]} where a list of ids was asked for; "
                             "is return_token_ids supported by this vLLM?")
        return list(ids), [None] * len(ids)

    def done(self) -> None:
        """The reply is done: remove what this way left."""


class FromMarksFile(FromTokens):
    """The ids, and a file of the positions the engine forced in place of an end."""

    def __init__(self, directory: Path, tokens: BudgetTokens):
        self.key = marks_file.new_key()
        self.path = directory / self.key
        self.starts = tokens.replacement_starts()

    def ask(self, body: dict, endpoint: str, spec: dict) -> None:
        super().ask(body, endpoint, spec)
        spec[marks_file.SPEC_KEY] = self.key

    def entries(self, choice: dict, endpoint: str, offset: int = 0) -> tuple[list[int], list[float | None]]:
        ids, values = super().entries(choice, endpoint, offset)
        # Only an output holding a replacement's first token can have one: the file is read then.
        if not self.starts.isdisjoint(ids):
            forced = marks_file.read_marks(self.path)
            values = [FORCED_LOGIT if offset + i in forced else None for i in range(len(ids))]
        return ids, values

    def done(self) -> None:
        self.path.unlink(missing_ok=True)


class FromLogprobs(FromTokens):
    """Each token's processed logit in the logprobs, forced ones at FORCED_LOGIT."""

    logprobs = True

    def ask(self, body: dict, endpoint: str, spec: dict) -> None:
        body["return_tokens_as_token_ids"] = True
        if endpoint == CHAT:
            body["logprobs"] = True
            body["top_logprobs"] = body.get("top_logprobs") or 0
        elif body.get("logprobs") is None:
            body["logprobs"] = 0

    def entries(self, choice: dict, endpoint: str, offset: int = 0) -> tuple[list[int], list[float | None]]:
        logprobs = choice.get("logprobs") or {}
        if endpoint == CHAT:
            entries = logprobs.get("content") or []
            names, values = [e.get("token", "") for e in entries], [e.get("logprob") for e in entries]
        else:
            names, values = logprobs.get("tokens") or [], logprobs.get("token_logprobs") or []
        ids = []
        for name in names:
            if not isinstance(name, str) or not name.startswith(TOKEN_ID):
                raise S1kitError(f"the engine returned token {str(name)[:80]!r} where a token id was asked for; "
                                 "is return_tokens_as_token_ids supported by this vLLM?")
            ids.append(int(name[len(TOKEN_ID):]))
        return ids, list(values)


def choose(state: SequenceState, body: dict, endpoint: str, client_logprobs: bool,
           marks_dir: Path | None) -> FromTokens:
    """The way a request learns its forced positions: the cheapest that is exact for it."""
    if client_logprobs:
        return FromLogprobs()
    if not state.replay_needs_marks():
        return FromTokens()
    if marks_dir is not None and one_sequence(body, endpoint):  # a file is named per request
        return FromMarksFile(marks_dir, state.tokens)
    return FromLogprobs()


def one_sequence(body: dict, endpoint: str) -> bool:
    """Whether the request makes one sequence in the engine: one choice, of one prompt."""
    if body.get("n") not in (None, 1):
        return False
    prompt = body.get("prompt")
    return endpoint == CHAT or isinstance(prompt, str) or (
        isinstance(prompt, list) and (len(prompt) == 1 or all(isinstance(t, int) for t in prompt)))
