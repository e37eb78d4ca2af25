"""`s1kit demo`: budget forcing on the bundled model at several budgets, as one table.

SmolLM2-135M was not trained to think, so left alone it ends its thinking at once. The demo sets
the minimum equal to the cap: every early end becomes "Wait" and the cap cuts thinking at exactly
the budget, which shows both halves of budget forcing on a model that fits any CPU. A 135M model
does not get these right; the point is the mechanics, not the accuracy.
"""

from __future__ import annotations

from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.budget.runner import generate

QUESTIONS = (
    "What is 12 * 13?",
    "How many r's are in the word raspberry?",
    "A train travels 60 km in 45 minutes. What is its speed in km/h?",
)
BUDGETS = (32, 64, 128)


def main(model: str = "smollm2-135m", budgets=BUDGETS, max_answer_tokens: int = 48, batch_size: int = 16,
         backend: str = "hf", backend_config=None, console=None):
    from rich.console import Console
    from rich.table import Table

    from s1kit.backends import load_backend

    # Rich assumes 80 columns when stdout is not a terminal (make, CI logs); the table needs more.
    console = console or Console(width=None if Console().is_terminal else 120)
    console.print(f"[bold]s1kit demo[/bold]: budget forcing on {model} with the {backend} backend "
                  f"({len(QUESTIONS)} questions x {len(budgets)} budgets)")
    engine = load_backend(backend, model, backend_config)
    table = Table(title="Budget forcing (min = max = budget)", show_lines=True)
    for column in ("question", "budget", "thinking tokens", "Waits", "forced end", "answer"):
        table.add_column(column, overflow="fold")
    rows = []
    for budget in budgets:
        config = BudgetConfig(max_thinking_tokens=budget, min_thinking_tokens=budget, max_answer_tokens=max_answer_tokens)
        for g in generate(engine, QUESTIONS, config, SamplingConfig(), batch_size=batch_size):
            rows.append(g)
            answer = " ".join(g.answer.split())
            table.add_row(g.prompt, str(budget), str(g.thinking_tokens), str(g.waits_inserted),
                          "yes" if g.forced_end else "no", answer[:80] + ("..." if len(answer) > 80 else ""))
    console.print(table)
    return rows
