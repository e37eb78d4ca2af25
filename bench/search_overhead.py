"""What reward-guided search costs in throughput: REBASE against plain sampling.

Workload: s1-nano on held-out nano questions, sampling at temperature 1, thinking capped at 256
tokens. REBASE grows a tree of width 16 per question (a step per line, the nano-checker PRM); plain
sampling draws 16 independent samples per question of the same budget in one batch. Both count every token they generated (REBASE: every node's step, pruned branches
included), and the rate compared is tokens per second. REBASE's time includes its PRM's, whose
share is printed (the checker is a program: a learned PRM costs more).

On vLLM each expansion is a request whose prompt holds its node's tokens, computed once for all
siblings through prefix caching, and a tree's next depth joins the engine's running batch as soon
as its own depth is done; on hf every request encodes its prompt again, a depth of every tree per
batch.

Last line: ``rebase/plain throughput ratio: X`` (target >= 0.7 on vllm).

    python bench/search_overhead.py [--backend hf|vllm] [--questions 16] [--width 16] [--repeats 1]
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="s1-nano")
    parser.add_argument("--backend", default="hf", choices=["hf", "vllm"])
    parser.add_argument("--questions", type=int, default=16)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--thinking", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    from forcing_overhead import timed

    from s1kit.backends import load_backend
    from s1kit.budget.config import BudgetConfig, SamplingConfig
    from s1kit.budget.forcing import generate_with_budget
    from s1kit.grading.rules import extract_answer, grade
    from s1kit.methods.points import MethodPoint
    from s1kit.methods.search import SearchConfig, run_search
    from s1kit.reward.load import load_prm
    from s1kit.tasks import get_task

    examples = get_task("nano").load(None, args.questions, 0)
    questions = [e.question for e in examples]
    backend = load_backend(args.backend, args.model)
    budget = BudgetConfig(max_thinking_tokens=args.thinking, max_answer_tokens=16)
    sampling = SamplingConfig(temperature=1.0)
    prm = load_prm("nano-checker")
    prm_seconds = [0.0]
    scorer = prm.score_many

    def timed_scores(items):
        start = time.perf_counter()
        try:
            return scorer(items)
        finally:
            prm_seconds[0] += time.perf_counter() - start

    prm.score_many = timed_scores
    config = SearchConfig(prm="nano-checker", width=[args.width])
    point = MethodPoint(args.thinking, args.thinking, 0, variant=f"width {args.width}", rule=("width", args.width))

    def rebase():
        [run] = run_search("rebase", backend, questions, [point], budget, sampling, list(range(len(questions))),
                           "s1", None, args.batch_size, config=config, prm=prm,
                           extract=lambda text: extract_answer(text, "integer"), delimiter="\n")
        return run

    def plain():
        prompts = [q for q in questions for _ in range(args.width)]  # each request its own seed
        return generate_with_budget(backend, prompts, budget, sampling, fmt="s1", batch_size=args.batch_size,
                                    progress=False)

    t_plain, plain_gens = timed(plain, args.repeats)
    prm_seconds[0] = 0.0
    t_rebase, run = timed(rebase, args.repeats)
    prm_share = prm_seconds[0] / ((args.repeats + 1) * t_rebase)  # the warm-up run scored too
    plain_tokens = sum(len(g.token_ids) for g in plain_gens)
    rebase_tokens = sum(run.decoded)
    accuracy = sum(grade(g.text, e.answer, "integer").correct for g, e in zip(run.generations, examples)) / len(examples)
    print(f"backend {args.backend}, model {args.model}, {len(questions)} nano questions, width {args.width}, "
          f"thinking cap {args.thinking}, temperature 1")
    print(f"plain sampling: {plain_tokens} tokens in {t_plain:.2f} s: {plain_tokens / t_plain:.1f} tok/s")
    print(f"rebase: {rebase_tokens} tokens in {t_rebase:.2f} s: {rebase_tokens / t_rebase:.1f} tok/s; "
          f"{sum(e['prm_calls'] for e in run.extras)} PRM calls, {100 * prm_share:.1f}% of its time in the PRM; "
          f"weighted vote right on {accuracy:.0%}")
    print(f"rebase/plain throughput ratio: {(rebase_tokens / t_rebase) / (plain_tokens / t_plain):.2f}")


if __name__ == "__main__":
    main()
