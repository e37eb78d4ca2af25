"""Backends behind one interface (:class:`s1kit.backends.base.Backend`), chosen by name."""

from __future__ import annotations

from dataclasses import dataclass, field

from s1kit.errors import S1kitError, check_positive_int, shown
from s1kit.settings import HOW, SECRET

BACKENDS = ("hf", "vllm", "openai")
"""Backends users can pick with --backend. The scripted backend is for tests and is built directly."""


@dataclass
class BackendConfig:
    """Options of the backends; each backend reads the ones it knows."""

    device: str = "auto"
    """hf: auto, cpu, cuda or cuda:N."""
    dtype: str = "auto"
    """auto (float32 on CPU, bfloat16 on GPU), float32, bfloat16, float16."""
    tensor_parallel_size: int = 1
    """vllm: GPUs one model is split over."""
    max_model_len: int | None = None
    """vllm: context length of the engine (default: the model's)."""
    gpu_memory_utilization: float = field(default=0.9, metadata={HOW: True})
    """vllm: share of GPU memory the engine may take."""
    block_size: int | None = field(default=None, metadata={HOW: True})
    """vllm: tokens per KV-cache block, the unit prefix caching shares (default: 32 on a CPU, where
    vLLM's own is 128; vLLM's own on a GPU)."""
    base_url: str = field(default="http://127.0.0.1:8000/v1", metadata={HOW: True})
    """openai: the server's URL."""
    api_key: str | None = field(default=None, metadata={SECRET: True})
    """openai: default $OPENAI_API_KEY, else "EMPTY" (what vLLM accepts without --api-key)."""
    concurrency: int = field(default=8, metadata={HOW: True})
    """openai: requests in flight at once."""
    timeout: float = field(default=600.0, metadata={HOW: True})
    """openai: seconds one request may take."""
    max_retries: int = field(default=3, metadata={HOW: True})
    """openai: retries (with backoff) on connection errors, 429 and 5xx."""
    tokenizer: str | None = None
    """openai: local tokenizer (path or hub id) for token-exact prompts; default: the model name,
    and when that loads none, tokens are counted from the server's usage figures; ``none`` forces that."""
    chat_template: str | None = None
    """openai: Jinja chat template file for servers reached without a local tokenizer
    (default: ChatML, as the Qwen family uses)."""
    server_forcing: bool = False
    """openai: the server forces in its engine (a vLLM server running s1kit's logits processor with
    --logprobs-mode processed_logits), one request per sequence instead of rounds."""

    def __post_init__(self) -> None:
        if self.tensor_parallel_size < 1:
            raise S1kitError(f"tensor_parallel_size must be >= 1, got {shown(self.tensor_parallel_size)}")
        if self.max_model_len is not None and self.max_model_len < 1:
            raise S1kitError(f"max_model_len must be a positive integer, got {shown(self.max_model_len)}")
        if not 0 < self.gpu_memory_utilization <= 1:
            raise S1kitError(f"gpu_memory_utilization must be in (0, 1], got {shown(self.gpu_memory_utilization)}")
        if self.block_size is not None:
            check_positive_int("block_size", self.block_size)


def load_backend(name: str, model: str, config: BackendConfig | None = None):
    """Build the backend called `name` for `model`."""
    config = config or BackendConfig()
    if name == "hf":
        from s1kit.backends.hf import HFBackend

        return HFBackend(model, device=config.device, dtype=config.dtype)
    if name == "vllm":
        from s1kit.backends.vllm import VLLMBackend

        return VLLMBackend(model, device=config.device, dtype=config.dtype,
                           tensor_parallel_size=config.tensor_parallel_size, max_model_len=config.max_model_len,
                           gpu_memory_utilization=config.gpu_memory_utilization, block_size=config.block_size)
    if name == "openai":
        from s1kit.backends.openai_http import OpenAIBackend

        return OpenAIBackend(model, base_url=config.base_url, api_key=config.api_key, concurrency=config.concurrency,
                             timeout=config.timeout, max_retries=config.max_retries, tokenizer=config.tokenizer,
                             server_forcing=config.server_forcing, chat_template=config.chat_template)
    raise S1kitError(f"unknown backend '{name}'; choose from {', '.join(BACKENDS)}")
