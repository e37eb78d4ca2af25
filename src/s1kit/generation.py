"""The generation stage behind ``s1kit generate``: load a backend by name, run budget forcing on
questions (budget.forcing.generate_with_budget), return the results; print them for people."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from s1kit.backends import BackendConfig
from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.budget.result import Generation
from s1kit.errors import check_positive_int
from s1kit.settings import group


@dataclass
class GenerateConfig:
    """What `s1kit generate` answers, with which model, under which budget."""

    prompts: list[str] | None = None
    """Questions to answer."""
    file: str | None = None
    """JSONL file of questions (field prompt, question or problem)."""
    field: str | None = None
    """Field of --file rows holding the question."""
    model: str = "smollm2-135m"
    """Built-in alias, local checkpoint directory, or Hugging Face id."""
    backend: str = "hf"
    """Backend that runs the model: hf (transformers), vllm, or openai (any OpenAI-compatible server)."""
    format: str = "auto"
    """Chat format: s1, think-tags or auto."""
    batch_size: int = 16
    """Sequences decoded together."""
    system_prompt: str | None = None
    """System message; default: the chat template's own."""
    budget: BudgetConfig = group(BudgetConfig)
    """The thinking budget: its cap, minimum and extensions, the wait string and the answer."""
    sampling: SamplingConfig = group(SamplingConfig)
    """How the model's own tokens are drawn (greedy by default)."""
    backend_options: BackendConfig = group(BackendConfig)
    """The backend's own options."""

    def __post_init__(self) -> None:
        from s1kit.formats import check_format_name

        check_format_name(self.format)
        check_positive_int("batch_size", self.batch_size)

    def questions(self) -> list[str]:
        """The prompts, then the questions of --file."""
        questions = list(self.prompts or [])
        if self.file is not None:
            from s1kit.prompts import read_questions

            questions += read_questions(Path(self.file), self.field)
        return questions


def main(config: GenerateConfig) -> list[Generation]:
    from s1kit.backends import load_backend
    from s1kit.budget.forcing import check_questions, generate_with_budget

    # Cheap checks first: a typo should not cost a model load.
    questions = config.questions()
    check_questions(questions)
    engine = load_backend(config.backend, config.model, config.backend_options)
    return generate_with_budget(engine, questions, config.budget, config.sampling, fmt=config.format,
                                batch_size=config.batch_size, system_prompt=config.system_prompt)


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
