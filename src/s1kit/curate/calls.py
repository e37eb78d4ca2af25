"""Asking models during curation: budget-forced generation on any backend, through the call cache.

Each backend is loaded on its first cache miss, so a fully cached re-run loads no model at all.
A batch whose call raises is retried; after the last retry each of its prompts is tried alone and
the ones that still fail come back as None (with the error logged), which the cache does not
store: the caller records them as failures, and the next run asks again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from s1kit.curate.cache import CallCache
from s1kit.curate.config import ModelCallConfig

logger = logging.getLogger(__name__)


def reply(generation) -> dict:
    """What the cache keeps of one generation: enough to grade it, count it and audit it."""
    return {"text": generation.text, "thinking": generation.thinking, "answer": generation.answer,
            "thinking_tokens": generation.thinking_tokens, "answer_tokens": generation.answer_tokens,
            "forced_end": generation.forced_end, "finish_reason": generation.finish_reason}


class ModelCalls:
    """The pipeline's models, asked through one :class:`CallCache`."""

    def __init__(self, cache: CallCache, backends: dict | None = None):
        self.cache = cache
        self._backends = dict(backends or {})
        """model name -> backend; tests pass scripted backends here."""
        self._loaded: list = []
        self.failures: list[dict] = []
        """Every call that failed for good: {model, prompt, error}."""

    def backend(self, spec: ModelCallConfig, setting: str = "model"):
        """The loaded backend of ``spec``; a model that does not load is one line naming ``setting``,
        where the user chose it (``--teacher``, ``solvers.0.model``)."""
        if spec.model not in self._backends:
            from s1kit.backends import load_backend
            from s1kit.models import ModelLoadError

            logger.info("loading %s on %s", spec.model, spec.backend)
            try:
                self._backends[spec.model] = load_backend(spec.backend, spec.model, spec.backend_options)
            except ModelLoadError as exc:
                raise exc.naming(setting) from None
            self._loaded.append(self._backends[spec.model])
        return self._backends[spec.model]

    def ask(self, spec: ModelCallConfig, prompts: Sequence[str], *, answer_prefix: str = "Final Answer:",
            retries: int = 0, progress: str | None = None, setting: str = "model") -> list[dict | None]:
        """One :func:`reply` per prompt, in order (None where the call failed ``retries + 1`` times).
        ``setting`` names where the model was chosen, for the error if it does not load."""
        from s1kit.budget.forcing import generate_with_budget

        def run(batch: list[str]) -> list[dict]:
            generations = generate_with_budget(self.backend(spec), batch, spec.budget_with(answer_prefix), spec.sampling,
                                               fmt=spec.format, batch_size=spec.batch_size,
                                               system_prompt=spec.system_prompt, progress=False)
            return [reply(g) for g in generations]

        def call(batch: list[str]) -> list[dict | None]:
            self.backend(spec, setting)  # a model that does not load is an error, not a failed call
            error = None
            for _ in range(retries + 1):
                try:
                    return run(batch)
                except Exception as exc:  # a server error, a prompt over the context ...: retried
                    error = exc
            if len(batch) == 1:
                return [self._failed(spec, batch[0], error)]
            return [item for prompt in batch for item in call([prompt])]

        params = spec.cache_params(answer_prefix=answer_prefix)
        return self.cache.run(spec.model, prompts, params, call, batch_size=spec.batch_size, progress=progress)

    def _failed(self, spec: ModelCallConfig, prompt: str, error: Exception) -> None:
        message = f"{type(error).__name__}: {error}"
        logger.warning("%s failed on a prompt after retries: %s", spec.model, message)
        self.failures.append({"model": spec.model, "prompt": prompt, "error": message})
        return None

    def close(self) -> None:
        """Close the backends this object loaded (not the ones passed in)."""
        for backend in self._loaded:
            backend.close()
        self._loaded.clear()
