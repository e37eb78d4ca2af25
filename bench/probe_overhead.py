"""What answer probes cost: budget forcing with a probe every 16 thinking tokens whose exit rule never
fires, against the same run without probes.

Workload: SmolLM2-135M (the bundled default), greedy, fp32, batch 16, thinking forced to exactly
256 tokens (min = max = 256), then up to 16 answer tokens; the probed run branches a probe of 8
answer tokens every 16 thinking tokens (about 15 per sequence) with an exit rule that needs 99
agreeing probes, so its sequences are the plain run's token for token (checked here). On hf a probe
branches off the KV cache beside its sequence (no re-encoding); on vllm the probes run after the
sequences as prefix-cached requests.

Throughput counts every token decoded as work done: tokens/s = (output tokens + probe tokens) /
seconds. Last line: ``probed/plain throughput ratio: X`` (target >= 0.9).

    python bench/probe_overhead.py [--backend hf|vllm] [--model smollm2-135m] [--batch-size 16] [--every 16]
                                   [--block-size N]  (vllm's KV-cache block; default s1kit's, 32 on a CPU)
"""

from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--backend", default="hf", choices=["hf", "vllm"])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--thinking", type=int, default=256)
    parser.add_argument("--answer", type=int, default=16)
    parser.add_argument("--every", type=int, default=16, help="thinking tokens between two probes")
    parser.add_argument("--probe-tokens", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--block-size", type=int, default=None, help="vllm: KV-cache block (default: s1kit's)")
    args = parser.parse_args()

    from forcing_overhead import QUESTIONS, timed

    from s1kit.backends import BackendConfig, load_backend
    from s1kit.budget.config import BudgetConfig, SamplingConfig
    from s1kit.budget.forcing import generate_with_budget
    from s1kit.grading.rules import extract_answer
    from s1kit.methods.points import MethodPoint
    from s1kit.methods.probe_exit import ProbeConfig, run_probe_exit

    backend = load_backend(args.backend, args.model, BackendConfig(block_size=args.block_size))
    questions = (QUESTIONS * (args.batch_size // len(QUESTIONS) + 1))[: args.batch_size]
    budget = BudgetConfig(max_thinking_tokens=args.thinking, min_thinking_tokens=args.thinking,
                          max_answer_tokens=args.answer)
    probe = ProbeConfig(probe_every=args.every, probe_tokens=args.probe_tokens, probe_agree=[99])
    point = MethodPoint(args.thinking, args.thinking, 0, variant="agree 99", rule=("agree", 99))

    def plain():
        return generate_with_budget(backend, questions, budget, fmt="s1", batch_size=args.batch_size, progress=False)

    def probed():
        [run] = run_probe_exit(backend, questions, [point], budget, SamplingConfig(), [0] * len(questions), "s1", None,
                               args.batch_size, probe, lambda text: extract_answer(text, "math"))
        return run

    t_plain, plain_gens = timed(plain, args.repeats)
    t_probed, run = timed(probed, args.repeats)
    same = [g.token_ids for g in run.generations] == [g.token_ids for g in plain_gens]
    if not same:
        raise SystemExit("error: the probed run's sequences differ from the plain run's; probes must not change them")
    if any(e["exited"] for e in run.extras):
        raise SystemExit("error: a probe exited; the rule was meant never to fire")
    main_tokens = sum(len(g.token_ids) for g in plain_gens)
    probe_tokens = sum(e["probe_tokens"] for e in run.extras)  # what the probes appended and decoded
    probes = sum(len(e["probes"]) for e in run.extras)
    plain_rate = main_tokens / t_plain
    probed_rate = (main_tokens + probe_tokens) / t_probed
    print(f"backend {args.backend}, model {args.model}, batch {args.batch_size}, thinking {args.thinking}, "
          f"block size {backend._options.get('block_size', 'default') if args.backend == 'vllm' else '-'}, "
          f"probe every {args.every} ({args.probe_tokens} tokens)")
    print(f"plain:  {main_tokens} tokens in {t_plain:.2f} s: {plain_rate:.1f} tok/s")
    print(f"probed: {main_tokens} + {probe_tokens} probe tokens ({probes} probes, {probes / len(questions):.1f} per "
          f"sequence) in {t_probed:.2f} s: {probed_rate:.1f} tok/s; main sequences alone {main_tokens / t_probed:.1f} tok/s")
    print(f"probed/plain throughput ratio: {probed_rate / plain_rate:.2f}")


if __name__ == "__main__":
    main()
