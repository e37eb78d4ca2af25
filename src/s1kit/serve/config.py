"""What `s1kit serve` starts: vLLM's OpenAI-compatible server with s1kit's pieces loaded.

The server is vLLM's own (continuous batching, prefix caching, tensor and data parallel); s1kit
adds three things through vLLM's extension points:

- the logits processor that forces inside the engine (``--logits-processors``, with
  ``--logprobs-mode processed_logits`` so forced tokens can be told apart);
- the middleware that reads the budget fields and rewrites replies (``--middleware``, its
  settings in ``--additional-config``);
- the chat template with the thinking opener (``--chat-template``, see template.py);
- reasoning parsers that split the replies it does not force (``--reasoning-parser-plugin``,
  see reasoning.py).

``s1kit serve MODEL --dry-run`` prints the equivalent ``vllm serve`` command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from s1kit.backends import BackendConfig
from s1kit.errors import S1kitError, check_non_negative_int, check_positive_int, shown
from s1kit.serve.fields import ServerBudget
from s1kit.settings import SECRET, flatten, group

PROCESSOR = "s1kit.backends.vllm_processor:BudgetForcingProcessor"
MIDDLEWARE = "s1kit.serve.middleware.BudgetMiddleware"
ENGINE_OPTIONS = ("dtype", "tensor_parallel_size", "max_model_len", "gpu_memory_utilization", "block_size")
"""The backend options a vLLM server takes."""


@dataclass
class ServeConfig:
    model: str
    """Model to serve: built-in alias (s1-nano, smollm2-135m), local checkpoint directory or hub id."""
    host: str = "127.0.0.1"
    """Address to listen on (0.0.0.0 for every interface)."""
    port: int = 8000
    """Port to listen on."""
    format: str = "auto"
    """Chat format: s1, think-tags or auto (think-tags when the tokenizer has <think> tokens)."""
    budget: ServerBudget = group(ServerBudget)
    """What the server applies to requests: its default budget, effort levels and ceiling."""
    served_model_name: str | None = None
    """Model name clients send (default: MODEL as given)."""
    data_parallel_size: int = 1
    """vLLM: engine replicas."""
    engine: BackendConfig = group(BackendConfig, only=ENGINE_OPTIONS)
    """vLLM's engine: dtype, GPUs per model, context length, share of GPU memory, KV-cache block."""
    api_key: str | None = field(default=None, metadata={SECRET: True})
    """Key clients must send (Authorization: Bearer KEY) on every route but /health, /ping, /load,
    /metrics and /version; default $VLLM_API_KEY, else none. Passed to vLLM through its environment,
    never on a command line or in a log."""
    enforce_eager: bool = False
    """vLLM: no CUDA graphs or compilation (starts sooner; always on for CPU)."""
    seed: int = 0
    """vLLM's seed for requests that bring none."""

    def __post_init__(self) -> None:
        from s1kit.formats import check_format_name

        check_format_name(self.format)
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise S1kitError(f"port must be in 1..65535, got {shown(self.port)}")
        check_positive_int("data_parallel_size", self.data_parallel_size)
        check_non_negative_int("seed", self.seed)
        if self.api_key is not None and (not isinstance(self.api_key, str) or not self.api_key.strip()):
            raise S1kitError("api_key is empty (an unset variable in --api-key \"$KEY\"?); pass the key clients "
                             "must send, or leave --api-key out to serve without one")

    def budget_settings(self) -> dict:
        """What the middleware gets in --additional-config: the format and the budget's settings."""
        return {"format": self.format, **flatten(self.budget)}


def budget_settings(given: dict, where: str) -> ServerBudget:
    """The server's budget from --additional-config's mapping (flat or nested, as in a recipe); one
    line if it is unusable."""
    from s1kit.recipes import build

    return build(ServerBudget, given, where)


def vllm_args(config: ServeConfig, model_path: str, template: str | None, fmt_name: str | None = None) -> list[str]:
    """The arguments of vLLM's server for ``config`` (the API key goes by environment); ``fmt_name``:
    the format ``auto`` resolved to, whose reasoning parser splits the replies s1kit does not force."""
    import json
    from pathlib import Path

    import s1kit.serve

    fmt_name = fmt_name or config.format
    settings = {**config.budget_settings(), "format": fmt_name}

    args = ["--model", model_path, "--served-model-name", config.served_model_name or config.model,
            "--host", config.host, "--port", str(config.port), "--dtype", config.engine.dtype,
            "--tensor-parallel-size", str(config.engine.tensor_parallel_size),
            "--data-parallel-size", str(config.data_parallel_size),
            "--gpu-memory-utilization", str(config.engine.gpu_memory_utilization), "--seed", str(config.seed),
            "--logits-processors", PROCESSOR, "--logprobs-mode", "processed_logits",
            "--middleware", MIDDLEWARE,
            "--additional-config", json.dumps({"s1kit": settings}, separators=(",", ":"))]
    if fmt_name != "auto":
        plugin = Path(s1kit.serve.__file__).with_name("reasoning.py")
        args += ["--reasoning-parser-plugin", str(plugin), "--reasoning-parser", f"s1kit-{fmt_name}"]
    if template is not None:
        args += ["--chat-template", template]
    if config.engine.max_model_len is not None:
        args += ["--max-model-len", str(config.engine.max_model_len)]
    if config.engine.block_size is not None:
        args += ["--block-size", str(config.engine.block_size)]
    if config.enforce_eager:
        args.append("--enforce-eager")
    return args
