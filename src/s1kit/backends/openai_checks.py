"""What an OpenAI-compatible server supports, and the local tokenizer, found out once per backend.

- ``GET /models`` at start-up: the server is reachable, the key accepted, the model served, and
  its context length (vLLM's ``max_model_len``);
- the model's tokenizer, loaded locally: without one, budget forcing goes by text rounds with
  tokens counted from the server's usage figures;
- a one-token ``POST /completions`` before the first run: whether the server returns token ids
  (else text rounds) and takes vLLM's extra request fields (hosted APIs refuse them).
"""

from __future__ import annotations

import warnings

from s1kit.errors import S1kitError, one_line, require
from s1kit.models import ModelLoadError, resolve_model


def served_context_length(backend) -> int | None:
    """One cheap GET /models: reachable, key accepted, model served. Returns max_model_len."""
    openai = backend.openai
    try:
        page = backend.client.models.list()
    except openai.NotFoundError:
        return None  # no model list here; the first completion request will tell
    except openai.APIError as exc:
        raise backend.error(exc, "GET /models") from None
    if not isinstance(getattr(page, "data", None), list):
        raise S1kitError(f"the server at {backend.base_url} answered GET /models without a list of models (data); "
                         "check that it serves the OpenAI API at this URL")
    served = [getattr(m, "id", None) for m in page.data]
    if backend.model not in served:
        raise ModelLoadError(
            f"the server at {backend.base_url} does not serve model '{backend.model}'; it serves: "
            f"{', '.join(served) or '(nothing)'}; pass one of them as {ModelLoadError.SETTING}"
        )
    entry = next(m for m in page.data if m.id == backend.model)
    length = getattr(entry, "max_model_len", None)  # vLLM's extension of the model card
    return length if isinstance(length, int) and length > 0 else None


def probe_token_ids(backend) -> tuple[bool, bool]:
    """A one-token request: whether the server takes vLLM's extra fields, and whether it returns ids."""
    openai = backend.openai
    extra = {"return_token_ids": True, "skip_special_tokens": False}
    try:
        reply = backend.completion(prompt="Hi", max_tokens=1, temperature=0, extra_body=extra)
    except (openai.BadRequestError, openai.UnprocessableEntityError):
        return False, False  # a server that refuses unknown fields (hosted APIs)
    except openai.APIError as exc:
        raise backend.error(exc, f"POST /completions (model '{backend.model}')") from None
    return True, getattr(reply.choices[0], "token_ids", None) is not None


def load_tokenizer(name: str, explicit: bool):
    """The model's tokenizer, loaded here: thinking tokens are counted and forced text encoded with
    it. None (with a warning) when the model's own name loads none; one line when ``--tokenizer``
    (``explicit``) does not load."""
    require("transformers", "hf")
    from s1kit.backends.hf import tokenizer_with_generation_eos

    try:
        return tokenizer_with_generation_eos(resolve_model(name), name)
    except (OSError, ValueError) as exc:
        if not explicit:
            # stacklevel 3: the line that built the backend, past OpenAIBackend.__init__.
            warnings.warn(
                f"no local tokenizer for '{name}' ({type(exc).__name__}: {one_line(exc, 300)}): budget forcing "
                "goes by text rounds, with tokens counted from the server's usage figures (token_count_source: "
                "server-usage); pass --tokenizer to count them exactly", stacklevel=3)
            return None
        raise S1kitError(
            f"--tokenizer {name} did not load ({type(exc).__name__}: {one_line(exc, 300)}); pass a local "
            "tokenizer directory or a reachable hub id, or --tokenizer none to count tokens from the server's usage"
        ) from None
