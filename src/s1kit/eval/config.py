"""What an eval run is: its settings, from defaults < ``--recipe`` YAML < command-line flags.

A recipe is a flat mapping of :class:`EvalConfig` and :class:`~s1kit.backends.BackendConfig` field
names (the flags' names with underscores), e.g. ``recipes/eval/nano.yaml``. The run's
``config.yaml`` (and ``config.json``) holds the same keys, resolved, plus what it records
(``grading``, ``versions``, ``model_source``), so ``s1kit eval --recipe RUN/config.yaml --out NEW``
repeats a run from its own directory.
"""

from __future__ import annotations

import dataclasses
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from s1kit.backends import BackendConfig
from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.errors import S1kitError, check_positive_int
from s1kit.methods.conditional import TOKENS_PER_STEP

HOW_FIELDS = ("out", "resume", "data_dir", "batch_size", "chunk_units", "judge_base_url", "scorer",
              "gpu_memory_utilization", "base_url", "concurrency", "timeout", "max_retries")
"""Settings that only change how the results are obtained, or where: every other field of
:class:`EvalConfig` and :class:`~s1kit.backends.BackendConfig` changes the rows, and --resume
refuses a directory made with other values. The data is checked by its content (``data``), not by
``data_dir``; ``scorer`` ranks the saved rows when the metrics are computed (best-of-n's rows do not
depend on it), so a resume with another scorer scores the same rows again."""

UNORDERED = ("budgets", "num_ignore")
"""Settings that are sets: the same values in another order are the same sweep."""

RECORDED = ("grading", "versions", "model_source", "data")
"""Keys config.json records beside the settings; a recipe may hold them (a config.json is one).
--resume checks ``versions`` and ``model_source`` (the weights' revision and checksum) as well."""

SECRET = ("api_key",)
"""Settings never written to config.json."""

PACKAGES = ("torch", "transformers", "trl", "accelerate", "vllm", "openai", "math-verify")


@dataclass
class EvalConfig:
    task: str
    """nano, nano-dev, aime24, aime25, amc23, math500, gpqa_diamond, gsm8k, or jsonl:PATH."""
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
    """Built-in alias (s1-nano, smollm2-135m), local checkpoint directory, or Hugging Face id."""
    backend: str = "hf"
    """Backend that runs the model: hf (transformers), vllm, or openai (any OpenAI-compatible server)."""
    format: str = "auto"
    """Chat format: s1, think-tags or auto."""
    budgets: list[int] | None = None
    """Thinking caps to sweep, e.g. 512,1024,2048,4096 (default: no cap)."""
    num_ignore: list[int] = field(default_factory=lambda: [0])
    """Suppressed ends of thinking to sweep, e.g. 0,1,2,4."""
    min_thinking_tokens: int = 0
    """Suppress the end of thinking (append the wait string) until this many thinking tokens."""
    wait_string: str = "Wait"
    """Text appended in place of a suppressed end of thinking."""
    answer_prefix: str = "Final Answer:"
    """Text forced to open the answer when the cap ends thinking."""
    max_answer_tokens: int = 1024
    """Most tokens the model may write in the answer."""
    samples: int = 1
    """Samples per question (pass@k, maj@k, cov@k; K of majority and best-of-n)."""
    temperature: float | None = None
    """Default: 0 (greedy, as s1 evaluates), or 1 for rejection, majority and best-of-n, which sample."""
    top_p: float = 1.0
    """Nucleus sampling threshold."""
    seed: int = 0
    """Base seed; each (question, sample) gets its own."""
    limit: int | None = None
    """First N questions only."""
    data_dir: str | None = None
    """Local JSONL files instead of the hub (default: $S1KIT_DATA_DIR)."""
    out: str = "runs/eval"
    """Output directory."""
    resume: bool = False
    """Continue an interrupted run in out."""
    system_prompt: str | None = None
    """System message; default: the chat template's own."""
    batch_size: int = 16
    """Sequences decoded together."""
    question_field: str | None = None
    """jsonl:PATH tasks: the question field (default: question, problem or prompt)."""
    answer_field: str | None = None
    """jsonl:PATH tasks: the answer field (default: answer)."""
    id_field: str | None = None
    """jsonl:PATH tasks: the id field (default: the line number)."""
    kind: str | None = None
    """jsonl:PATH tasks: how answers are graded: math, integer or choice (default math)."""
    judge: str | None = None
    """An LLM judge model for grading (any backend); None: the rules alone."""
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
        for name in ("tokens_per_step", "max_tries", "chunk_units", "batch_size"):
            check_positive_int(name, getattr(self, name))
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
        for name, values in (("budgets", self.budgets or []), ("num_ignore", self.num_ignore)):
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:  # a point given twice would count its rows twice
                raise S1kitError(f"{name} lists {', '.join(map(str, twice))} more than once ({values}); list each value once")
        check_positive_int("samples", self.samples)
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
        from s1kit.grading.judge import from_flags

        return from_flags(vars(self), batch_size=self.batch_size)

    def points(self):
        """The method's points (methods.points.MethodPoint)."""
        from s1kit.methods.points import method_points

        return method_points(self.method, self.budgets, self.num_ignore, self.tokens_per_step)


def resolve(recipe: str | Path | None = None, flags: dict | None = None) -> tuple[EvalConfig, BackendConfig]:
    """The configs of a run: the dataclasses' defaults, then the recipe's keys, then ``flags``."""
    from s1kit.recipes import build_each, check_keys, load_yaml

    data = load_yaml(recipe) if recipe is not None else {}
    where = f"recipe {recipe}" if recipe is not None else "the settings"
    data = {key: value for key, value in data.items() if key not in RECORDED}
    data.update(flags or {})
    check_keys(data, [f.name for cls in (EvalConfig, BackendConfig) for f in dataclasses.fields(cls)], "eval", where)
    if data.get("task") is None:
        raise S1kitError("no task given; pass --task (e.g. --task nano) or a --recipe that names one")
    for name, parse in (("budgets", parse_budgets), ("num_ignore", lambda text: parse_counts(text, "--num-ignore"))):
        if isinstance(data.get(name), (str, int)) and not isinstance(data.get(name), bool):
            data[name] = parse(str(data[name]))
    return build_each((EvalConfig, BackendConfig), data, where)


def saved(config: EvalConfig, backend: BackendConfig, grading: str, model_source: dict | None = None,
          data: dict | None = None) -> dict:
    """config.json: every setting (secrets left out), how answers were graded, the versions, where
    the model came from (s1kit.models.model_source; None for a server's model), and which questions
    were asked (their number and hash, eval.run.data_identity)."""
    settings = {**dataclasses.asdict(config), **dataclasses.asdict(backend)}
    for name in SECRET:
        settings.pop(name)
    return {**settings, "grading": grading, "versions": versions(), "model_source": model_source, "data": data}


def identity(record: dict) -> dict:
    """What a saved config must share with the present one for --resume: the settings that change
    the results (all but :data:`HOW_FIELDS`), the versions, the questions, and the weights (their
    revision and checksum; the path may move)."""
    source = record.get("model_source") or {}
    settings = {name: _as_set(value) if name in UNORDERED else value
                for name, value in record.items() if name not in HOW_FIELDS + SECRET + RECORDED}
    return {**settings, "versions": record.get("versions"), "data": record.get("data"),
            "model revision": source.get("revision"), "model weights_sha256": source.get("weights_sha256")}


def _as_set(value):
    """A list of integers in order; anything else (a hand-edited file) as it is, to be named."""
    if isinstance(value, list) and all(type(v) is int for v in value):
        return sorted(value)
    return value


def settings_hash(record: dict) -> str:
    """The hash of a record's :func:`identity`, which each row of samples.jsonl carries: a row is
    kept by --resume only when it was made with this run's settings."""
    import hashlib
    import json

    text = json.dumps(identity(record), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def write_saved(out: Path, record: dict) -> None:
    """The record as config.json and config.yaml in ``out``."""
    import json

    import yaml

    from s1kit.files import write_text

    # Whole or not at all: a config.json cut short by a kill would leave samples no --resume accepts.
    write_text(out / "config.json", json.dumps(record, indent=2) + "\n")
    write_text(out / "config.yaml", "# The resolved settings of this run; rerun it with s1kit eval --recipe THIS_FILE.\n"
               + yaml.safe_dump(record, sort_keys=False, allow_unicode=True))


def versions() -> dict:
    """Versions of s1kit, Python and the libraries behind the numbers (None: not installed)."""
    found = {"s1kit": _version("s1kit"), "python": platform.python_version()}
    return found | {name: _version(name) for name in PACKAGES}


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def parse_counts(text: str, flag: str) -> list[int]:
    """'0,1,2' -> [0, 1, 2]; anything but integers >= 0 is an error naming the value."""
    if not text.strip():
        raise S1kitError(f"{flag} is empty; pass e.g. {flag} 0,1,2 (or leave the flag out)")
    values = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit():
            raise S1kitError(f"{part!r} in {flag} {text!r} is not an integer >= 0; pass e.g. {flag} 0,1,2")
        values.append(int(part))
    return values


def parse_budgets(text: str) -> list[int]:
    """'512,1024' -> [512, 1024]; anything but positive integers is an error naming the value."""
    if not text.strip():  # not "no cap": that is what leaving the flag out means
        raise S1kitError("--budgets is empty; pass e.g. --budgets 512,1024,2048 (or leave the flag out)")
    values = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) <= 0:
            raise S1kitError(f"budget {part!r} in {text!r} is not a positive integer; pass e.g. --budgets 512,1024,2048")
        values.append(int(part))
    return values
