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
from s1kit.chatter import set_library_output
from s1kit.curate.config import CurateConfig
from s1kit.curate.traces import TracesConfig
from s1kit.errors import S1kitError
from s1kit.eval.config import SWEEP_LISTS, EvalConfig
from s1kit.generation import GenerateConfig
from s1kit.grading.command import GradeConfig
from s1kit.options import given, options, with_options
from s1kit.serve.config import ServeConfig
from s1kit.synth.build import SynthConfig

app = typer.Typer(
    help="s1-style test-time scaling: budget forcing for reasoning models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def user_errors(command):
    """Show S1kitError, and an OSError from a path, as one line on stderr (exit 2) instead of a
    traceback; Ctrl-C as one line saying what was saved, if the stage said (exit 130)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except S1kitError as exc:
            typer.echo(f"error: {exc}{flag_of(exc)}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt as exc:  # Ctrl-C; a stage re-raises it naming what it saved. 130: as shells report it
            typer.echo(f"interrupted; {exc}" if str(exc) else "interrupted", err=True)
            raise typer.Exit(130) from None
        except OSError as exc:  # a path the system refused: one line, not a traceback
            where = f" ({exc.filename})" if exc.filename else ""
            typer.echo(f"error: {exc.strerror or exc}{where}; check the path and its permissions", err=True)
            raise typer.Exit(2) from None

    return wrapper


def flag_of(exc: S1kitError) -> str:
    """The flag of the setting an error names, where its message does not say it: the settings'
    own messages are the same for recipes, the command line and the server."""
    field = getattr(exc, "field", None)
    flag = f"--{field.replace('_', '-')}" if isinstance(field, str) else None
    return f" ({flag})" if flag and flag not in str(exc) else ""


# The options no config holds: what a command reads its settings from, and how it talks. Every
# setting is an option made from its config's field (s1kit.options).
RecipeOption = Annotated[Optional[Path], typer.Option(help="YAML of settings (keys: the flags with underscores, or nested mappings); flags typed here win.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", help="Show the libraries' own log lines and progress bars (transformers, vLLM, ...); quiet by default.")]


@app.command("generate")
@user_errors
@with_options(options(GenerateConfig, skip=("prompts",)))
def generate_command(
    ctx: typer.Context,
    recipe: RecipeOption = None,
    prompts: Annotated[Optional[list[str]], typer.Argument(help="Questions to answer.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list, one object per prompt.")] = False,
    verbose: VerboseOption = False,
    **settings,
) -> None:
    """Answer questions with budget forcing: cap the thinking, or extend it with "Wait".

    Thinking tokens are every token between the start- and end-of-thinking delimiters, inserted wait strings included, delimiters excluded; the cap is exact.
    """
    set_library_output(verbose)
    from s1kit.generation import main, print_generations
    from s1kit.recipes import resolve

    results = main(resolve(GenerateConfig, recipe, given(ctx, {**settings, "prompts": prompts})))
    if as_json:
        json.dump([g.to_dict() for g in results], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
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
    verbose: VerboseOption = False,
) -> None:
    """Test-time scaling on the bundled s1-nano: a budget-forcing sweep and the baselines, as tables and plots."""
    set_library_output(verbose)
    from s1kit import demo as demo_module
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
@with_options(options(EvalConfig, as_text=("budgets", "num_ignore", "wait_string", *SWEEP_LISTS)))
def eval_command(
    ctx: typer.Context,
    recipe: Annotated[Optional[Path], typer.Option(help="YAML of settings (keys: these flags with underscores, e.g. recipes/eval/nano.yaml, or a run's config.yaml); flags given here win.")] = None,
    verbose: VerboseOption = False,
    **settings,
) -> None:
    """Test-time scaling curve of a model on a task: accuracy against thinking tokens, with the paper's metrics.

    Writes samples.jsonl, metrics.json, report.md, report.html, scaling.png, config.json and config.yaml to --out.
    """
    set_library_output(verbose)
    from s1kit.eval.config import resolve_run
    from s1kit.eval.report import report_markdown
    from s1kit.eval.run import main

    # Only the flags typed on the command line override the recipe; the defaults come from the
    # dataclasses themselves.
    config = resolve_run(recipe, given(ctx, settings))
    metrics = main(config)
    typer.echo(report_markdown(metrics))
    typer.echo(f"wrote {config.out}/samples.jsonl, metrics.json, report.md, report.html, scaling.png")


@app.command()
@user_errors
@with_options(options(GradeConfig, skip=("file",)))
def grade(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="JSONL file of model outputs.")],
    recipe: RecipeOption = None,
    verbose: VerboseOption = False,
    **settings,
) -> None:
    """Grade existing outputs; the file is written back with extracted_answer and correct fields."""
    set_library_output(verbose)
    from s1kit.grading.command import main
    from s1kit.recipes import resolve

    config = resolve(GradeConfig, recipe, {**given(ctx, settings), "file": str(file)})
    summary = main(config)
    judge = config.judge
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
    from s1kit.eval.plots import check_figure_path, plot_runs
    from s1kit.runs.directory import read_metrics

    check_figure_path(out)

    loaded = [(f"{name} ({metrics.get('model', '?')})", metrics) for name, metrics in read_metrics(runs)]
    typer.echo(f"wrote {plot_runs(loaded, out)}")


@app.command()
@user_errors
def compare(
    runs: Annotated[list[Path], typer.Argument(help="Eval output directories, one per method (each with metrics.json).")],
    out: Annotated[Path, typer.Option(help="PNG to write; the table goes next to it as .md, the page as .html.")] = Path("compare.png"),
) -> None:
    """Methods side by side: a table shaped like s1's Table 3 and every curve on one thinking-token axis."""
    from s1kit.eval.compare import main

    text, table, figure = main(runs, out)
    typer.echo(text)
    typer.echo(f"wrote {table}, {figure} and {figure.with_suffix('.html')}")


@app.command()
@user_errors
def view(
    runs: Annotated[list[Path], typer.Argument(help="Eval output directories (each with samples.jsonl and metrics.json).")],
    out: Annotated[Optional[Path], typer.Option(help="HTML file to write; default: RUN/report.html for one run, view.html here for several.")] = None,
) -> None:
    """One HTML page to read what the model thought: the curves, the paper's metrics, and every question's traces with the forced Waits and ends highlighted.

    Open it in any browser; it needs no network. Click a point of a curve to list its questions, filter them, open one to read its traces.
    """
    from s1kit.view.command import main

    typer.echo(f"wrote {main(runs, out)}")


@app.command()
@user_errors
@with_options(options(CurateConfig, as_text=("eval_sets", "classifier_codes")))
def curate(
    ctx: typer.Context,
    recipe: Annotated[Optional[Path], typer.Option(help="YAML recipe, e.g. recipes/curate/s1k.yaml; flags override it.")] = None,
    overrides: Annotated[Optional[list[str]], typer.Argument(
        help="Recipe settings to override as dotted keys, e.g. solvers.0.model=runs/weak quality.patterns=s1.",
        show_default=False)] = None,
    verbose: VerboseOption = False,
    **settings,
) -> None:
    """Curate an s1K-style dataset: quality, decontamination, difficulty, diversity (s1 Section 2)."""
    set_library_output(verbose)
    from s1kit.curate.pipeline import main
    from s1kit.recipes import resolve

    flags = given(ctx, settings)  # only the flags typed here override the recipe
    for name in ("eval_sets", "classifier_codes"):
        if flags.get(name) is not None:
            flags[name] = [s.strip() for s in flags[name].split(",") if s.strip()]
    config = resolve(CurateConfig, recipe, flags, overrides=overrides or [], where=str(recipe or "settings"))
    manifest = main(config)
    for stage in manifest["stages"]:
        reasons = ", ".join(f"{k} {v}" for k, v in stage["reasons"].items())
        typer.echo(f"{stage['name']:>16}: kept {stage['kept']}, dropped {stage['dropped']}" + (f" ({reasons})" if reasons else ""))
    typer.echo(f"model calls: {manifest['calls']['made']} made, {manifest['calls']['cached']} cached, "
               f"{manifest['calls']['failed']} failed")
    typer.echo(f"wrote {manifest['selected']} records to {config.out}/dataset.jsonl (+ .parquet, manifest.json, report.md, plots)")


@app.command()
@user_errors
@with_options(options(TracesConfig))
def traces(
    ctx: typer.Context,
    recipe: RecipeOption = None,
    verbose: VerboseOption = False,
    **settings,
) -> None:
    """Write reasoning traces (thinking_trajectories, attempt) for questions from any teacher model."""
    set_library_output(verbose)
    from s1kit.curate.traces import main
    from s1kit.recipes import resolve

    config = resolve(TracesConfig, recipe, given(ctx, settings))
    summary = main(config)
    typer.echo(f"{summary['traced']}/{summary['questions']} traced, {summary['failed']} failed "
               f"({summary['calls']} calls made, {summary['cached']} from the cache); wrote {config.out}")


@app.command()
@user_errors
@with_options(options(SynthConfig))
def synth(
    ctx: typer.Context,
    recipe: RecipeOption = None,
    mix: Annotated[Optional[str], typer.Option(help="pool: family shares, e.g. sum=0.45,count=0.35,find=0.2.")] = None,
    **settings,
) -> None:
    """Write procedural reasoning problems (sum, count, find) with step-by-step teacher traces."""
    from s1kit.recipes import resolve
    from s1kit.synth.build import main

    def shares(data: dict) -> dict:  # text on the command line, a mapping in a recipe
        if isinstance(data.get("mix"), str):
            data["mix"] = parse_shares(data["mix"])
        return data

    config = resolve(SynthConfig, recipe, given(ctx, {**settings, "mix": mix}), before=shares)
    summary = main(config)
    families = ", ".join(f"{name} {count}" for name, count in summary["families"].items())
    extra = (f"; teacher right on {summary['teacher_correct']}, gave up on {summary['gave_up']}, "
             f"{summary['waits']} Waits" if config.split == "pool" else "")
    if config.split == "steps":
        extra = (f"; {summary['steps']} steps, {summary['wrong_steps']} of them wrong, "
                 f"{summary['perturbed']} traces perturbed")
    typer.echo(f"wrote {summary['rows']} {config.split} rows to {config.out} ({families}){extra}")


@app.command()
@user_errors
@with_options(options(ServeConfig, skip=("model",)))
def serve(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model to serve: built-in alias (s1-nano, smollm2-135m), local checkpoint directory or hub id.")],
    recipe: RecipeOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the vLLM server command it would run (with its environment) and exit.")] = False,
    verbose: VerboseOption = False,
    **settings,
) -> None:
    """Serve a model on vLLM's OpenAI-compatible server with per-request thinking budgets.

    Requests may carry max_thinking_tokens, min_thinking_tokens, num_ignore, wait_string, answer_prefix, max_answer_tokens and reasoning_effort (top level or in vllm_xargs); replies carry the thinking in reasoning_content, the answer in content, and an s1kit field with the forced spans.
    """
    from s1kit.recipes import resolve
    from s1kit.serve.command import main

    set_library_output(verbose)
    main(resolve(ServeConfig, recipe, {**given(ctx, settings), "model": model}), dry_run=dry_run, verbose=verbose)


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
