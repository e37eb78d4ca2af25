"""The generation stage behind ``s1kit generate``: load a backend by name, run budget forcing on
questions (budget.forcing.generate_with_budget), return the results; print them for people."""

from __future__ import annotations

from collections.abc import Sequence

from s1kit.backends import BackendConfig
from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.budget.result import Generation


def main(
    questions: Sequence[str],
    model: str = "smollm2-135m",
    backend: str = "hf",
    fmt: str = "auto",
    budget: BudgetConfig | None = None,
    sampling: SamplingConfig | None = None,
    batch_size: int = 16,
    system_prompt: str | None = None,
    backend_config: BackendConfig | None = None,
) -> list[Generation]:
    from s1kit.backends import load_backend
    from s1kit.budget.forcing import check_questions, generate_with_budget
    from s1kit.errors import check_positive_int
    from s1kit.formats import check_format_name

    # Cheap checks first: a typo should not cost a model load.
    check_format_name(fmt)
    check_questions(questions)
    check_positive_int("batch_size", batch_size)
    engine = load_backend(backend, model, backend_config)
    return generate_with_budget(engine, questions, budget, sampling, fmt=fmt, batch_size=batch_size, system_prompt=system_prompt)


def print_generations(results: Sequence[Generation]) -> None:
    """Human-readable output: each prompt with its thinking and answer."""
    from rich.console import Console
    from rich.markup import escape
    from rich.panel import Panel

    console = Console()
    for g in results:
        ending = "cap forced the end" if g.forced_end else "model ended it"
        console.print(Panel(escape(g.thinking) or "(empty)", title=f"[bold]{escape(g.prompt)}[/bold]",
                            subtitle=f"thinking: {g.thinking_tokens} tokens, {g.waits_inserted} Waits, {ending}"))
        console.print(Panel(escape(g.answer) or "(empty)", title="answer",
                            subtitle=f"{g.answer_tokens} tokens, finish: {g.finish_reason}"))
