"""What budget forcing costs in throughput, against plain generation and client-side rounds.

Workload: SmolLM2-135M (the bundled default), greedy, fp32, batch 16, thinking forced to exactly
256 tokens (min = max = 256, so every early end becomes "Wait" and the cap ends thinking), then up
to 16 answer tokens. Three ways to produce it, on the backend chosen with --backend:

- plain:  the backend's own generation of the same number of new tokens, no forcing (the ceiling);
- forced: s1kit's budget forcing (hf: the KV-cache loop; vllm: the in-engine logits processor);
- naive:  rounds that stop at the end-of-thinking token, append the wait string or the cap text,
          and re-submit the whole context (the s1 reference's loop; hf re-encodes everything,
          vllm re-submits token ids with prefix caching). Each round waits for its slowest row.

With --backend openai, against a vLLM server that loads s1kit's processor: plain is completions
over HTTP, forced is server-side forcing (one request per sequence), naive is the openai
backend's own client-side rounds (each sequence on its own, re-submitted token ids).

Throughput is output tokens per second (forced tokens included). Measured on the project's 2-core
CPU machine (6.7 interventions per sequence on average), in tok/s:
  hf:     plain  94.4, forced  98.4 (1.04), naive (re-encode)         23.5 (0.25)
  vllm:   plain 173.3, forced 174.9 (1.01), naive (token-id rounds)   56.3 (0.33)
  openai: plain 181.7, forced 175.5 (0.97, server-side), client rounds 116.3 (0.64)
Last line: ``forced/plain throughput ratio: X`` (target >= 0.9).

    python bench/forcing_overhead.py [--backend hf|vllm] [--model smollm2-135m] [--batch-size 16] [--thinking 256]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from s1kit.budget.config import BudgetConfig
from s1kit.budget.forcing import generate_with_budget
from s1kit.budget.state import BudgetTokens
from s1kit.formats import render_prompt, resolve_format

QUESTIONS = [
    "What is 12 * 13?",
    "How many r's are in the word raspberry?",
    "Describe the water cycle in detail.",
    "What is the capital of France?",
    "A train travels 60 km in 45 minutes. What is its speed in km/h?",
    "Explain step by step how to solve a quadratic equation.",
    "Is 91 a prime number?",
    "What is the sum of the first 10 positive integers?",
    "Write a detailed essay about the history of mathematics.",
    "How many sides does a hexagon have?",
    "What is the derivative of x^3?",
    "Name three prime numbers greater than 20.",
    "Why is the sky blue?",
    "What is 2 to the power of 10?",
    "Convert 100 degrees Fahrenheit to Celsius.",
    "What is the area of a circle with radius 3?",
]


def timed(fn, repeats: int, warmup: bool = True):
    """Median wall time of fn over repeats (after one warm-up), and fn's last result."""
    if warmup:
        fn()
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def left_pad(rows: list[list[int]], pad: int):
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r) :] = torch.tensor(r)
        mask[i, width - len(r) :] = 1
    return ids, mask


def hf_plain(backend, prompt_ids: list[list[int]], new_tokens: int) -> int:
    ids, mask = left_pad(prompt_ids, backend.pad_id)
    with torch.inference_mode():
        out = backend.model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new_tokens,
                                     min_new_tokens=new_tokens, do_sample=False, pad_token_id=backend.pad_id)
    return (out.shape[1] - ids.shape[1]) * len(prompt_ids)


def hf_complete(backend, rows: list[list[int]], max_new: list[int], stop_ids: list[int]) -> list[list[int]]:
    """One batched round: every row continues until a stop id or the longest row's budget."""
    ids, mask = left_pad(rows, backend.pad_id)
    with torch.inference_mode():
        out = backend.model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max(max_new), do_sample=False,
                                     eos_token_id=stop_ids, pad_token_id=backend.pad_id)
    return [_until_stop(row, stop_ids) for row in out[:, ids.shape[1] :].tolist()]


def vllm_plain(backend, prompt_ids: list[list[int]], new_tokens: int) -> int:
    params = backend.vllm.SamplingParams(max_tokens=new_tokens, min_tokens=new_tokens, ignore_eos=True,
                                         temperature=0.0, detokenize=False)
    outs = backend.llm.generate([{"prompt_token_ids": p} for p in prompt_ids], params, use_tqdm=False)
    return sum(len(o.outputs[0].token_ids) for o in outs)


def vllm_complete(backend, rows: list[list[int]], max_new: list[int], stop_ids: list[int]) -> list[list[int]]:
    """One round of re-submitted token ids (prefix caching on): each row stops at its own limit."""
    params = [backend.vllm.SamplingParams(max_tokens=m, temperature=0.0, stop_token_ids=stop_ids,
                                          skip_special_tokens=False, detokenize=False) for m in max_new]
    outs = backend.llm.generate([{"prompt_token_ids": r} for r in rows], params, use_tqdm=False)
    return [_until_stop(list(o.outputs[0].token_ids), stop_ids) for o in outs]


def openai_plain(backend, prompt_ids: list[list[int]], new_tokens: int) -> int:
    """The same workload as plain completions over HTTP, all requests in flight at once."""
    from concurrent.futures import ThreadPoolExecutor

    def one(ids):
        reply = backend.client.completions.create(
            model=backend.model, prompt=ids, max_tokens=new_tokens, temperature=0.0,
            extra_body={"min_tokens": new_tokens, "ignore_eos": True, "return_token_ids": True})
        return len(reply.choices[0].token_ids)

    with ThreadPoolExecutor(max_workers=len(prompt_ids)) as pool:
        return sum(pool.map(one, prompt_ids))


def _until_stop(row: list[int], stop_ids: list[int]) -> list[int]:
    """Tokens up to and including the first stop id (padding after it dropped)."""
    cut = next((k for k, t in enumerate(row) if t in stop_ids), None)
    return row if cut is None else row[: cut + 1]


def naive(complete, prompt_ids: list[list[int]], budget: BudgetConfig, tokens: BudgetTokens) -> int:
    """Round-based budget forcing that re-submits prompt + output at every round."""
    outputs = [[] for _ in prompt_ids]
    thinking = [0] * len(prompt_ids)
    active = list(range(len(prompt_ids)))
    end_ids = sorted(tokens.end_of_thinking)
    while active:
        room = [budget.max_thinking_tokens - thinking[i] for i in active]
        news = complete([prompt_ids[i] + outputs[i] for i in active], room, end_ids)
        still = []
        for row, (i, new) in enumerate(zip(active, news)):
            ended = bool(new) and new[-1] in tokens.end_of_thinking and len(new) - 1 < room[row]
            piece = (new[:-1] if ended else new)[: room[row]]
            outputs[i] += piece
            thinking[i] += len(piece)
            if ended and thinking[i] + len(tokens.wait) <= budget.max_thinking_tokens and thinking[i] < budget.min_thinking_tokens:
                outputs[i] += tokens.wait
                thinking[i] += len(tokens.wait)
                still.append(i)
            else:
                outputs[i] += tokens.cap_delimiter + tokens.answer_prefix
        active = still
    stop = sorted(tokens.stop)
    answers = complete([p + o for p, o in zip(prompt_ids, outputs)], [budget.max_answer_tokens] * len(outputs), stop)
    return sum(len(o) + len(a) for o, a in zip(outputs, answers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--backend", default="hf", choices=["hf", "vllm", "openai"])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000/v1",
                        help="openai: a vLLM server started with s1kit's processor (see backends/openai_http.py)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--thinking", type=int, default=256)
    parser.add_argument("--answer", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-repeats", type=int, default=1,
                        help="the naive loop is ~4x slower and only a reference point: time it once by default")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from s1kit.backends import BackendConfig, load_backend

    if args.backend == "openai":
        # forced: the server's engine forces (one request per sequence); naive: the client forces by
        # rounds, re-submitting token ids (the server's prefix cache helps).
        config = BackendConfig(base_url=args.base_url, concurrency=args.batch_size)
        backend = load_backend("openai", args.model, BackendConfig(**{**config.__dict__, "server_forcing": True}))
        rounds = load_backend("openai", args.model, config)
        plain = openai_plain
    else:
        backend = load_backend(args.backend, args.model)
        plain, complete = (hf_plain, hf_complete) if args.backend == "hf" else (vllm_plain, vllm_complete)
    questions = (QUESTIONS * (args.batch_size // len(QUESTIONS) + 1))[: args.batch_size]
    budget = BudgetConfig(max_thinking_tokens=args.thinking, min_thinking_tokens=args.thinking, max_answer_tokens=args.answer)
    fmt = resolve_format("s1", backend.tokenizer)
    tokens = BudgetTokens.build(fmt, budget, backend.tokenizer)
    prompt_ids = [backend.tokenizer.encode(render_prompt(q, fmt, backend.tokenizer)) for q in questions]

    def forced():
        return generate_with_budget(backend, questions, budget, fmt="s1", batch_size=args.batch_size, progress=False)

    t_forced, gens = timed(forced, args.repeats)
    forced_tokens = sum(len(g.token_ids) for g in gens)
    interventions = [len(g.forced_spans) for g in gens]
    longest = max(len(g.token_ids) for g in gens)
    t_plain, plain_tokens = timed(lambda: plain(backend, prompt_ids, longest), args.repeats)
    if args.backend == "openai":
        t_naive, rounds_gens = timed(lambda: generate_with_budget(rounds, questions, budget, fmt="s1", progress=False),
                                     args.naive_repeats, warmup=False)
        naive_tokens = sum(len(g.token_ids) for g in rounds_gens)
        assert [g.token_ids for g in rounds_gens] == [g.token_ids for g in gens], "rounds and server forcing differ"
    else:
        t_naive, naive_tokens = timed(lambda: naive(lambda *a: complete(backend, *a), prompt_ids, budget, tokens),
                                      args.naive_repeats, warmup=False)

    print(f"backend {args.backend}, model {args.model}, batch {args.batch_size}, thinking {args.thinking} (min = max), answer <= {args.answer}, "
          f"torch threads {torch.get_num_threads()}, median of {args.repeats} (naive: {args.naive_repeats})")
    print(f"interventions per sequence: mean {statistics.mean(interventions):.2f} "
          f"(min {min(interventions)}, max {max(interventions)}); thinking tokens: "
          f"{sorted({g.thinking_tokens for g in gens})}")
    rows = [("plain generate", plain_tokens, t_plain), ("forced in-loop", forced_tokens, t_forced),
            ("naive rounds", naive_tokens, t_naive)]
    for name, n, t in rows:
        print(f"{name:>18}: {n:6d} tokens in {t:6.2f} s = {n / t:7.1f} tok/s")
    print(f"naive/plain throughput ratio: {(naive_tokens / t_naive) / (plain_tokens / t_plain):.3f}")
    print(f"forced/plain throughput ratio: {(forced_tokens / t_forced) / (plain_tokens / t_plain):.3f}")


if __name__ == "__main__":  # vLLM starts its workers with spawn
    main()
