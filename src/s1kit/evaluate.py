"""The `eval` stage: a task, a model, a sweep of budgets; graded samples, the paper's
metrics, a scaling plot and a report, written as they come so an interrupted run resumes.

Outputs in ``out``: ``config.json`` (the resolved config), ``samples.jsonl`` (one row per question,
sample and point), ``metrics.json``, ``report.md`` and ``scaling.png``.

Work goes in chunks of units (a question and a sample index); each chunk's rows are appended and
flushed before the next starts. ``--resume`` keeps every complete unit, drops a torn last line or
a half-written unit, and generates the rest; every unit's seed depends only on its index, and the
file is rewritten in canonical order at the end, so a resumed run ends with the rows of an
uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from s1kit.backends import BackendConfig
from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.errors import S1kitError
from s1kit.methods.conditional import TOKENS_PER_STEP

RESULT_FIELDS = ("method", "tokens_per_step", "max_tries", "task", "model", "backend", "format", "budgets", "num_ignore", "min_thinking_tokens", "wait_string",
                 "answer_prefix", "max_answer_tokens", "samples", "temperature", "top_p", "seed", "limit",
                 "system_prompt", "question_field", "answer_field", "id_field", "kind", "judge", "judge_backend",
                 "judge_mode", "judge_max_thinking_tokens", "judge_template")
"""Fields that change the results: --resume refuses a directory made with other values."""


@dataclass
class EvalConfig:
    task: str
    """aime24, aime25, amc23, math500, gpqa_diamond, gsm8k, or jsonl:PATH."""
    method: str = "budget-forcing"
    """How thinking is scaled (methods/): budget-forcing, token-conditional(+bf), step-conditional(+bf),
    class-conditional, rejection, majority or best-of-n."""
    tokens_per_step: int = TOKENS_PER_STEP
    """step-conditional: tokens per step; a budget of N tokens is stated as N // tokens_per_step steps."""
    max_tries: int = 64
    """rejection: most tries per (question, sample) before giving up on a budget."""
    scorer: str = "shortest"
    """best-of-n: shortest, longest, or module:function scoring a row (higher is better)."""
    model: str = "smollm2-135m"
    backend: str = "hf"
    format: str = "auto"
    budgets: list[int] | None = None
    """Thinking caps to sweep; None: no cap."""
    num_ignore: list[int] = field(default_factory=lambda: [0])
    """Numbers of suppressed ends to sweep."""
    min_thinking_tokens: int = 0
    wait_string: str = "Wait"
    answer_prefix: str = "Final Answer:"
    max_answer_tokens: int = 1024
    samples: int = 1
    """Samples per question (pass@k, maj@k and cov@k use them)."""
    temperature: float | None = None
    """Default: 0 (greedy, as s1 evaluates), or 1 for rejection, majority and best-of-n, which sample."""
    top_p: float = 1.0
    seed: int = 0
    limit: int | None = None
    """First N questions only."""
    data_dir: str | None = None
    """Local JSONL files instead of the hub (default: $S1KIT_DATA_DIR)."""
    out: str = "runs/eval"
    resume: bool = False
    system_prompt: str | None = None
    batch_size: int = 16
    question_field: str | None = None
    """jsonl:PATH tasks: the question field (default: question, problem or prompt)."""
    answer_field: str | None = None
    id_field: str | None = None
    kind: str | None = None
    """jsonl:PATH tasks: how answers are graded: math, integer or choice (default math)."""
    judge: str | None = None
    """An LLM judge model for grading (see judge.py); None: the rules alone."""
    judge_backend: str = "hf"
    """Backend that runs the judge: hf, vllm or openai."""
    judge_mode: str = "fallback"
    """fallback: the judge sees only rows the rules grade wrong; always: every row."""
    judge_max_thinking_tokens: int = 256
    """Cap on the judge's thinking before its verdict."""
    judge_template: str | None = None
    """Judge prompt template file; default: s1kit's templates/judge.txt."""
    judge_base_url: str | None = None
    """openai judge: its server's URL (default: the model's --base-url)."""
    chunk_units: int = 32
    """Units (question, sample) generated between two writes of samples.jsonl: the most work an
    interruption can cost."""

    def __post_init__(self) -> None:
        from s1kit.methods import PARALLEL, SAMPLING_METHODS, check_method, forces

        check_method(self.method)
        if self.temperature is None:
            self.temperature = 1.0 if self.method in SAMPLING_METHODS else 0.0
        if self.method in SAMPLING_METHODS and self.temperature == 0:
            raise S1kitError(f"{self.method} needs samples, but --temperature 0 is greedy; pass --temperature 1 (as s1 does)")
        if self.min_thinking_tokens and not forces(self.method):
            raise S1kitError(f"--min-thinking-tokens is budget forcing's; {self.method} does not force; drop it")
        for name in ("tokens_per_step", "max_tries", "chunk_units"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise S1kitError(f"{name} must be a positive integer, got {value!r}")
        if self.method == "best-of-n":
            from s1kit.methods.parallel import get_scorer

            get_scorer(self.scorer)
        if self.budgets is not None:
            if not self.budgets:
                raise S1kitError("budgets is empty; pass e.g. --budgets 512,1024,2048")
            for b in self.budgets:
                if isinstance(b, bool) or not isinstance(b, int) or b <= 0:
                    raise S1kitError(f"budget {b!r} is not a positive integer; pass e.g. --budgets 512,1024,2048")
        for k in self.num_ignore or [None]:
            if isinstance(k, bool) or not isinstance(k, int) or k < 0:
                raise S1kitError(f"num_ignore {k!r} is not an integer >= 0; pass e.g. --num-ignore 0,1,2")
        if isinstance(self.samples, bool) or not isinstance(self.samples, int) or self.samples < 1:
            raise S1kitError(f"samples must be a positive integer, got {self.samples!r}")
        if self.samples > 1 and self.temperature == 0:
            raise S1kitError(f"--samples {self.samples} with --temperature 0 gives {self.samples} identical samples; "
                             "pass --temperature above 0 (e.g. 0.7) or --samples 1")
        if self.method in PARALLEL and self.samples < 2:
            raise S1kitError(f"{self.method} votes over samples; pass --samples K with K >= 2 (e.g. 16)")
        if self.judge is not None:
            self.judge_config()
        self.base_budget()  # min vs caps, answer limits: BudgetConfig's own checks
        SamplingConfig(temperature=self.temperature, top_p=self.top_p, seed=self.seed)
        self.points()  # the method's own checks (budgets it needs, flags it cannot use)

    def base_budget(self) -> BudgetConfig:
        # Checked against the smallest cap, the strictest for min_thinking_tokens.
        return BudgetConfig(max_thinking_tokens=min(self.budgets) if self.budgets else None,
                            min_thinking_tokens=self.min_thinking_tokens, wait_string=self.wait_string,
                            answer_prefix=self.answer_prefix, max_answer_tokens=self.max_answer_tokens)

    def judge_config(self):
        from s1kit.judge import JudgeConfig

        return JudgeConfig(model=self.judge, backend=self.judge_backend, mode=self.judge_mode,
                           max_thinking_tokens=self.judge_max_thinking_tokens, template=self.judge_template,
                           batch_size=self.batch_size)

    def points(self):
        """The method's points (methods.base.MethodPoint)."""
        from s1kit.methods.points import method_points

        return method_points(self.method, self.budgets, self.num_ignore, self.tokens_per_step)

    def result_fields(self) -> dict:
        return {name: getattr(self, name) for name in RESULT_FIELDS}


def check_resume(config: EvalConfig, out: Path) -> None:
    """Refuse to mix runs: an existing run needs --resume and the same result fields."""
    saved_path, samples = out / "config.json", out / "samples.jsonl"
    if not config.resume:
        if samples.exists() and samples.stat().st_size:
            raise S1kitError(f"{out} already holds samples; pass --resume to continue that run, or another --out")
        return
    if not saved_path.exists():
        return  # nothing to resume: start fresh
    saved = json.loads(saved_path.read_text())
    wanted = json.loads(json.dumps(config.result_fields()))
    differences = [f"{name}: {saved.get(name)!r} there, {wanted[name]!r} now" for name in RESULT_FIELDS
                   if saved.get(name) != wanted[name]]
    if differences:
        raise S1kitError(f"--resume on {out}, made with another config ({'; '.join(differences)}); "
                         "use the same settings, or another --out")


def main(config: EvalConfig, backend_config=None) -> dict:
    """Run the evaluation; return the metrics (also written to out/metrics.json)."""
    from s1kit.backends import load_backend
    from s1kit.formats import check_format_name
    from s1kit.tasks import get_task

    # Cheap checks first: a typo should not cost a model load.
    check_format_name(config.format)
    task = get_task(config.task, question_field=config.question_field, answer_field=config.answer_field,
                    id_field=config.id_field, kind=config.kind)
    out = Path(config.out)
    check_resume(config, out)
    examples = task.load(config.data_dir, config.limit, config.seed)
    if not examples:
        raise S1kitError(f"task {config.task} has no examples; check --data-dir and --limit")
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps({**dataclasses.asdict(config), "grading": task.kind}, indent=2) + "\n")

    from s1kit.eval_run import run_units, summarize

    engine = load_backend(config.backend, config.model, backend_config)
    judge = None
    try:
        if config.judge is not None:
            from s1kit.judge import Judge

            if (config.judge, config.judge_backend, config.judge_base_url) == (config.model, config.backend, None):
                # The model judges its own outputs: one loaded engine serves both (a second vLLM
                # engine of the same model would ask for the GPU memory twice).
                judge = Judge(config.judge_config(), backend=engine)
            else:
                judge_backend = dataclasses.replace(backend_config or BackendConfig(),
                                                    **({"base_url": config.judge_base_url} if config.judge_base_url else {}))
                judge = Judge(config.judge_config(), backend_config=judge_backend)
        rows = run_units(engine, config, task, examples, out, judge)
    finally:
        for model in (engine, judge):
            if model is not None:
                model.close()
    return summarize(config, rows, out)
