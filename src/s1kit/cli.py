"""The `s1kit` command. Thin: parse flags, build configs, call the stage's main. Heavy imports
happen inside the commands, so `s1kit --help` stays fast."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from s1kit.backends import BackendConfig
from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.errors import S1kitError
from s1kit.eval.config import EvalConfig
from s1kit.options import given, options, with_options

app = typer.Typer(
    help="s1-style test-time scaling: budget forcing for reasoning models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def user_errors(command):
    """Show S1kitError as one line on stderr (exit 2) instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except S1kitError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper

# Options that several commands share, declared once; each command gives its own default, and the
# flag name comes from the parameter's name.
ModelOption = Annotated[str, typer.Option(help="Built-in alias, local checkpoint directory, or Hugging Face id.")]
BackendOption = Annotated[str, typer.Option(help="Backend that runs the model: hf (transformers), vllm, or openai (any OpenAI-compatible server).")]
FormatOption = Annotated[str, typer.Option("--format", help="Chat format: s1, think-tags or auto.")]
MinThinkingOption = Annotated[int, typer.Option(help="Suppress the end of thinking (append the wait string) until this many thinking tokens.")]
MaxAnswerOption = Annotated[int, typer.Option(help="Most tokens the model may write in the answer.")]
TemperatureOption = Annotated[float, typer.Option(help="0 for greedy decoding.")]
BatchSizeOption = Annotated[int, typer.Option(help="Sequences decoded together.")]
SystemPromptOption = Annotated[Optional[str], typer.Option(help="System message; default: the chat template's own.")]
DeviceOption = Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:1 ...")]
DtypeOption = Annotated[str, typer.Option(help="auto (float32 on CPU, bfloat16 on GPU), float32, bfloat16, float16.")]
BaseUrlOption = Annotated[str, typer.Option(help="openai: server URL.")]
ApiKeyOption = Annotated[Optional[str], typer.Option(help="openai: API key (default: $OPENAI_API_KEY, else EMPTY).")]
JudgeOption = Annotated[Optional[str], typer.Option(help="LLM judge model for grading (any backend); default: the rules alone.")]
JudgeBackendOption = Annotated[str, typer.Option(help="Backend of the judge: hf, vllm or openai.")]
JudgeModeOption = Annotated[str, typer.Option(help="fallback: judge only rows the rules grade wrong; always: every row.")]
JudgeThinkingOption = Annotated[int, typer.Option(help="Cap on the judge's thinking tokens before its verdict.")]
JudgeTemplateOption = Annotated[Optional[Path], typer.Option(help="Judge prompt file with {question}, {gold}, {response} (default: built in).")]


def backend_config(options: dict | None = None, **overrides):
    """The BackendConfig of a command's backend flags: its parameters named like BackendConfig fields
    (pass ``locals()``), then ``overrides``."""
    import dataclasses

    from s1kit.backends import BackendConfig

    names = {f.name for f in dataclasses.fields(BackendConfig)}
    picked = {k: v for k, v in {**(options or {}), **overrides}.items() if k in names}
    if picked.get("chat_template") is not None:
        picked["chat_template"] = str(picked["chat_template"])
    return BackendConfig(**picked)


@app.command()
@user_errors
@with_options(options(BudgetConfig), options(SamplingConfig), options(BackendConfig))
def generate(
    prompts: Annotated[Optional[list[str]], typer.Argument(help="Questions to answer.", show_default=False)] = None,
    file: Annotated[Optional[Path], typer.Option("--file", help="JSONL file of questions (field prompt, question or problem).")] = None,
    field: Annotated[Optional[str], typer.Option(help="Field of --file rows holding the question.")] = None,
    model: ModelOption = "smollm2-135m",
    backend: BackendOption = "hf",
    format: FormatOption = "auto",
    batch_size: BatchSizeOption = 16,
    system_prompt: SystemPromptOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list, one object per prompt.")] = False,
    **settings,
) -> None:
    """Answer questions with budget forcing: cap the thinking, or extend it with "Wait".

    Thinking tokens are every token between the start- and end-of-thinking delimiters, inserted wait strings included, delimiters excluded; the cap is exact.
    """
    from s1kit.generate import main
    from s1kit.recipes import build_each

    budget, sampling, config = build_each((BudgetConfig, SamplingConfig, BackendConfig), settings, "the flags")
    questions = list(prompts or [])
    if file is not None:
        from s1kit.prompts import read_questions

        questions += read_questions(file, field)
    results = main(questions, model=model, backend=backend, fmt=format, budget=budget, sampling=sampling,
                   batch_size=batch_size, system_prompt=system_prompt, backend_config=config)
    if as_json:
        json.dump([g.to_dict() for g in results], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        from s1kit.generate import print_generations

        print_generations(results)


@app.command()
@user_errors
def demo(
    model: Annotated[Optional[str], typer.Option(help="Model to run (default: s1-nano; with --mechanics, smollm2-135m).")] = None,
    task: Annotated[str, typer.Option(help="Held-out task of the scaling demo.")] = "nano",
    limit: Annotated[Optional[int], typer.Option(help="Problems of the task to evaluate (default: 60, 20 per family).")] = None,
    out: Annotated[Path, typer.Option(help="Output directory (replaced files: samples, metrics, report, plots).")] = Path("runs/demo"),
    backend: Annotated[str, typer.Option(help="hf, vllm, or openai (a server at --base-url).")] = "hf",
    base_url: Annotated[str, typer.Option(help="openai: server URL.")] = "http://127.0.0.1:8000/v1",
    mechanics: Annotated[bool, typer.Option("--mechanics", help="Show the cap and the Wait extension on built-in questions instead (any chat model).")] = False,
    budgets: Annotated[str, typer.Option(help="--mechanics: comma-separated thinking budgets.")] = "32,64,128",
) -> None:
    """Test-time scaling on the bundled s1-nano: a budget-forcing sweep and the baselines, as tables and plots."""
    from s1kit import demo as demo_module
    from s1kit.backends import BackendConfig
    from s1kit.eval.config import parse_budgets

    config = BackendConfig(base_url=base_url)
    if mechanics:
        demo_module.mechanics(model=model or "smollm2-135m", budgets=parse_budgets(budgets), backend=backend,
                              backend_config=config)
        return
    demo_module.main(model=model or "s1-nano", task=task, limit=demo_module.LIMIT if limit is None else limit, out=out,
                     backend=backend, backend_config=config)


@app.command("eval")
@user_errors
@with_options(options(EvalConfig, as_text=("budgets", "num_ignore")), options(BackendConfig))
def eval_command(
    ctx: typer.Context,
    recipe: Annotated[Optional[Path], typer.Option(help="YAML of settings (keys: these flags with underscores, e.g. recipes/eval/nano.yaml, or a run's config.json); flags given here win.")] = None,
    **settings,
) -> None:
    """Test-time scaling curve of a model on a task: accuracy against thinking tokens, with the paper's metrics.

    Writes samples.jsonl, metrics.json, report.md, scaling.png and config.json to --out.
    """
    from s1kit.eval.config import resolve
    from s1kit.eval.report import report_markdown
    from s1kit.eval.run import main

    # Only the flags typed on the command line override the recipe; the defaults come from the
    # dataclasses themselves, in resolve().
    config, backend_settings = resolve(recipe, given(ctx, settings))
    metrics = main(config, backend_settings)
    typer.echo(report_markdown(metrics))
    typer.echo(f"wrote {config.out}/samples.jsonl, metrics.json, report.md, scaling.png")


@app.command()
@user_errors
def grade(
    file: Annotated[Path, typer.Argument(help="JSONL file of model outputs.")],
    response_field: Annotated[str, typer.Option(help="Field holding the model's output.")] = "response",
    answer_field: Annotated[str, typer.Option(help="Field holding the gold answer.")] = "answer",
    kind: Annotated[str, typer.Option(help="math (math-verify), integer (AIME) or choice (A-D).")] = "math",
    out: Annotated[Optional[Path], typer.Option(help="Write here instead of in place.")] = None,
    question_field: Annotated[str, typer.Option(help="Field holding the question (shown to a judge; optional).")] = "question",
    judge: JudgeOption = None,
    judge_backend: JudgeBackendOption = "hf",
    judge_mode: JudgeModeOption = "fallback",
    judge_max_thinking_tokens: JudgeThinkingOption = 256,
    judge_template: JudgeTemplateOption = None,
    judge_base_url: BaseUrlOption = "http://127.0.0.1:8000/v1",
    device: DeviceOption = "auto",
) -> None:
    """Grade existing outputs; the file is written back with extracted_answer and correct fields."""
    from s1kit.grading.command import main

    judge_config = None
    if judge is not None:
        from s1kit.grading.judge import JudgeConfig

        judge_config = JudgeConfig(model=judge, backend=judge_backend, mode=judge_mode,
                                   max_thinking_tokens=judge_max_thinking_tokens,
                                   template=None if judge_template is None else str(judge_template))
    summary = main(file, response_field, answer_field, kind, out, question_field=question_field, judge=judge_config,
                   backend_config=backend_config(base_url=judge_base_url, device=device))
    typer.echo(f"{summary['correct']}/{summary['rows']} correct ({100 * summary['accuracy']:.1f}%); "
               f"no answer: {summary['no_answer']}; grading timeouts: {summary['timeouts']}"
               + (f"; judge saw {summary['judged']} rows, overturned {summary['overturned']}, "
                  f"unreadable {summary['unreadable']}" if judge is not None else ""))


@app.command()
@user_errors
def plot(
    runs: Annotated[list[Path], typer.Argument(help="Eval output directories (each with metrics.json).")],
    out: Annotated[Path, typer.Option(help="PNG to write.")] = Path("scaling.png"),
) -> None:
    """Overlay the scaling curves of several eval runs on one log2 thinking-token axis."""
    from s1kit.eval.compare import load_runs
    from s1kit.eval.plots import plot_runs

    loaded = [(f"{name} ({metrics.get('model', '?')})", metrics) for name, metrics in load_runs(runs)]
    typer.echo(f"wrote {plot_runs(loaded, out)}")


@app.command()
@user_errors
def compare(
    runs: Annotated[list[Path], typer.Argument(help="Eval output directories, one per method (each with metrics.json).")],
    out: Annotated[Path, typer.Option(help="PNG to write; the table goes next to it as .md.")] = Path("compare.png"),
) -> None:
    """Methods side by side: a table shaped like s1's Table 3 and every curve on one thinking-token axis."""
    from s1kit.eval.compare import main

    text, table, figure = main(runs, out)
    typer.echo(text)
    typer.echo(f"wrote {table} and {figure}")


@app.command()
@user_errors
def curate(
    pool: Annotated[Optional[str], typer.Option(help="Pool: a JSONL file or a Hugging Face dataset id (default: the recipe's).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Output directory (dataset.jsonl/.parquet, manifest.json, report.md, plots, cache).")] = None,
    recipe: Annotated[Optional[Path], typer.Option(help="YAML recipe, e.g. recipes/curate/s1k.yaml; flags override it.")] = None,
    size: Annotated[Optional[int], typer.Option(help="Records to select (default: the recipe's, else 1000).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Selection seed (default: the recipe's, else 0).")] = None,
    select: Annotated[Optional[str], typer.Option(help="s1k, diverse, longest, random or all (default: the recipe's, else s1k).")] = None,
    eval_sets: Annotated[Optional[str], typer.Option(help="Comma-separated sets to decontaminate against, e.g. aime24,math500,jsonl:mine.jsonl.")] = None,
    data_dir: Annotated[Optional[str], typer.Option(help="Local JSONL files of the eval sets (default: $S1KIT_DATA_DIR, else the hub).")] = None,
    tokenizer: Annotated[Optional[str], typer.Option(help="Tokenizer that counts trace lengths (default: the recipe's, else smollm2-135m).")] = None,
    overrides: Annotated[Optional[list[str]], typer.Argument(
        help="Recipe settings to override as dotted keys, e.g. solvers.0.model=runs/weak quality.patterns=s1.",
        show_default=False)] = None,
) -> None:
    """Curate an s1K-style dataset: quality, decontamination, difficulty, diversity (s1 Section 2)."""
    from s1kit.curate.config import CurateConfig
    from s1kit.curate.pipeline import main
    from s1kit.recipes import build, load_yaml, merge, set_dotted

    flags = {"pool": pool, "out": None if out is None else str(out), "size": size, "seed": seed, "select": select,
             "data_dir": data_dir, "tokenizer": tokenizer,
             "eval_sets": None if eval_sets is None else [s.strip() for s in eval_sets.split(",") if s.strip()]}
    data = load_yaml(recipe) if recipe else {}
    for override in overrides or []:
        set_dotted(data, override)
    data = merge(data, {k: v for k, v in flags.items() if v is not None})
    manifest = main(build(CurateConfig, data, str(recipe or "settings")))
    for stage in manifest["stages"]:
        reasons = ", ".join(f"{k} {v}" for k, v in stage["reasons"].items())
        typer.echo(f"{stage['name']:>16}: kept {stage['kept']}, dropped {stage['dropped']}" + (f" ({reasons})" if reasons else ""))
    typer.echo(f"model calls: {manifest['calls']['made']} made, {manifest['calls']['cached']} cached, "
               f"{manifest['calls']['failed']} failed")
    typer.echo(f"wrote {manifest['selected']} records to {data['out']}/dataset.jsonl (+ .parquet, manifest.json, report.md, plots)")


@app.command()
@user_errors
def traces(
    questions: Annotated[Path, typer.Option(help="JSONL file of questions (a pool file works).")],
    teacher: Annotated[str, typer.Option(help="Teacher model: alias, checkpoint, hub id or server model name.")],
    out: Annotated[Path, typer.Option(help="Output JSONL: the rows plus thinking_trajectories and attempt.")],
    backend: BackendOption = "hf",
    format: FormatOption = "auto",
    question_field: Annotated[str, typer.Option(help="Field of the rows holding the question.")] = "question",
    max_thinking_tokens: Annotated[Optional[int], typer.Option(help="Cap on the teacher's thinking. Default: no cap.")] = None,
    min_thinking_tokens: MinThinkingOption = 0,
    max_answer_tokens: MaxAnswerOption = 2048,
    temperature: TemperatureOption = 0.0,
    seed: Annotated[int, typer.Option(help="Base sampling seed (temperature > 0).")] = 0,
    batch_size: BatchSizeOption = 16,
    system_prompt: SystemPromptOption = None,
    retries: Annotated[int, typer.Option(help="Extra tries of a failed call before it is recorded as a failure.")] = 2,
    cache: Annotated[Optional[Path], typer.Option(help="SQLite call cache (default: OUT.cache.sqlite); a re-run resumes from it.")] = None,
    device: DeviceOption = "auto",
    dtype: DtypeOption = "auto",
    base_url: BaseUrlOption = "http://127.0.0.1:8000/v1",
    api_key: ApiKeyOption = None,
) -> None:
    """Write reasoning traces (thinking_trajectories, attempt) for questions from any teacher model."""
    from s1kit.curate.config import ModelCallConfig
    from s1kit.curate.traces import TracesConfig, main

    options = {k: v for k, v in {"device": device, "dtype": dtype, "base_url": base_url, "api_key": api_key}.items()
               if v is not None}
    spec = ModelCallConfig(model=teacher, backend=backend, format=format, max_thinking_tokens=max_thinking_tokens,
                           min_thinking_tokens=min_thinking_tokens, max_answer_tokens=max_answer_tokens, temperature=temperature, seed=seed,
                           system_prompt=system_prompt, batch_size=batch_size, backend_options=options)
    summary = main(TracesConfig(questions=str(questions), out=str(out), teacher=spec, question_field=question_field,
                                retries=retries, cache=None if cache is None else str(cache)))
    typer.echo(f"{summary['traced']}/{summary['questions']} traced, {summary['failed']} failed "
               f"({summary['calls']} calls made, {summary['cached']} from the cache); wrote {out}")


@app.command()
@user_errors
def synth(
    out: Annotated[Path, typer.Option(help="JSONL file to write.")],
    split: Annotated[str, typer.Option(help="pool (problems with teacher traces), dev or test (questions and answers).")] = "pool",
    size: Annotated[int, typer.Option(help="Rows to write.")] = 8000,
    seed: Annotated[int, typer.Option(help="Seed of the problems and of the teacher's choices.")] = 0,
    mix: Annotated[Optional[str], typer.Option(help="pool: family shares, e.g. sum=0.45,count=0.35,find=0.2.")] = None,
    patience: Annotated[int, typer.Option(help="Teacher: failed candidates between two chances to give up.")] = 4,
    give_up: Annotated[float, typer.Option(help="Teacher: chance it stops and guesses at such a point (else it writes Wait).")] = 0.7,
    check: Annotated[float, typer.Option(help="Teacher: chance a finished trace gets Wait and a re-check of its last line.")] = 0.2,
) -> None:
    """Write procedural reasoning problems (sum, count, find) with step-by-step teacher traces."""
    from s1kit.synth.build import POOL_MIX, SynthConfig, main
    from s1kit.synth.teacher import TeacherConfig

    shares = dict(POOL_MIX) if mix is None else parse_shares(mix)
    config = SynthConfig(split=split, size=size, seed=seed, mix=shares,
                         teacher=TeacherConfig(patience=patience, give_up=give_up, check=check))
    summary = main(config, out)
    families = ", ".join(f"{name} {count}" for name, count in summary["families"].items())
    extra = (f"; teacher right on {summary['teacher_correct']}, gave up on {summary['gave_up']}, "
             f"{summary['waits']} Waits" if split == "pool" else "")
    typer.echo(f"wrote {summary['rows']} {split} rows to {out} ({families}){extra}")


def parse_shares(text: str) -> dict[str, float]:
    """'sum=0.3,find=0.7' -> {'sum': 0.3, 'find': 0.7}; anything else is an error naming the part."""
    shares = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            shares[name.strip()] = float(value)
        except ValueError:
            raise S1kitError(f"{part!r} in --mix {text!r} is not family=share; pass e.g. --mix sum=0.5,find=0.5") from None
    return shares


def main() -> None:
    app(prog_name="s1kit")


# `s1kit train`. Its module imports only typer at load time; overrides (key=value, --key value)
# arrive as extra arguments, hence its context settings.
from s1kit.train.command import CONTEXT_SETTINGS as TRAIN_CONTEXT_SETTINGS  # noqa: E402
from s1kit.train.command import train as train_command  # noqa: E402

app.command("train", context_settings=TRAIN_CONTEXT_SETTINGS)(user_errors(train_command))
