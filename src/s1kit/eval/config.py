"""What an eval run is: its settings, from defaults < ``--recipe`` YAML < command-line flags.

:class:`EvalConfig` holds the configs it carries (the budget every point shares, the sampling, the
judge, the backend's options) as groups: each setting is declared once, in the config that owns it,
and named by one flat name (s1kit.settings). A recipe is a mapping of those names, flat or nested,
e.g. ``recipes/eval/nano.yaml``. The run's ``config.yaml`` (and ``config.json``) holds the same flat
names, resolved, plus what it records (``grading``, ``versions``, ``model_source``, ``data``), so
``s1kit eval --recipe RUN/config.yaml --out NEW`` repeats a run from its own directory.
"""

from __future__ import annotations

import dataclasses
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from s1kit.backends import BackendConfig
from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.errors import S1kitError, SettingError, check_positive_int, shown
from s1kit.grading.judge import JudgeConfig
from s1kit.methods.alpha_one import AlphaConfig
from s1kit.methods.conditional import TOKENS_PER_STEP
from s1kit.methods.deepconf import DeepConfConfig
from s1kit.methods.early_stop import EarlyStopConfig
from s1kit.methods.probe_exit import ProbeConfig
from s1kit.methods.search import SearchConfig
from s1kit.settings import HOW, SECRET, flatten, group, leaves

UNORDERED = "unordered"
"""Field metadata: the setting is a set; the same values in another order are the same sweep."""

RECORDED = ("grading", "versions", "model_source", "data")
"""Keys config.json records beside the settings; a recipe may hold them (a config.json is one).
--resume checks ``versions`` and ``model_source`` (the weights' revision and checksum) as well."""

PACKAGES = ("torch", "transformers", "trl", "accelerate", "vllm", "openai", "math-verify")


def _how(default, **options):
    return field(default=default, metadata={HOW: True}, **options)


@dataclass
class EvalConfig:
    task: str
    """nano, nano-dev, aime24, aime25, amc23, math500, gpqa_diamond, gsm8k, or jsonl:PATH."""
    method: str = "budget-forcing"
    """How thinking is scaled (methods/): budget-forcing, token-conditional(+bf), step-conditional(+bf),
    class-conditional, rejection, probe-exit, alpha-one, no-thinking, or over --samples: majority,
    best-of-n, deepconf, esc or adaptive-consistency, or a search a reward model guides: rebase, beam."""
    tokens_per_step: int = TOKENS_PER_STEP
    """step-conditional: tokens per step; a budget of N tokens is stated as N // tokens_per_step steps."""
    max_tries: int = 64
    """rejection: most tries per (question, sample) before giving up on a budget."""
    scorer: str = _how("shortest")
    """best-of-n: shortest, longest, or module:function scoring a row (higher is better). It ranks
    the saved rows when the metrics are computed, so a resume with another scorer scores them again."""
    model: str = "smollm2-135m"
    """Built-in alias (s1-nano, smollm2-135m), local checkpoint directory, or Hugging Face id."""
    backend: str = "hf"
    """Backend that runs the model: hf (transformers), vllm, or openai (any OpenAI-compatible server)."""
    format: str = "auto"
    """Chat format: s1, think-tags or auto."""
    budgets: list[int] | None = field(default=None, metadata={UNORDERED: True})
    """Thinking caps to sweep, e.g. 512,1024,2048,4096 (default: no cap)."""
    num_ignore: list[int] = field(default_factory=lambda: [0], metadata={UNORDERED: True})
    """Suppressed ends of thinking to sweep, e.g. 0,1,2,4."""
    wait_string: list[str] = field(default_factory=lambda: ["Wait"], metadata={UNORDERED: True})
    """Text appended in place of a suppressed end of thinking; several sweep them (budget-forcing, s1's
    Table 4: --wait-string ',Alternatively,Hmm,Wait'); empty: the end is suppressed and nothing
    appended (Table 4's "without string"). Given as text, it is split at commas."""
    budget: BudgetConfig = group(BudgetConfig, skip=("max_thinking_tokens", "num_ignore", "wait_string"))
    """What every point of the sweep shares: the minimum, the answer prefix and the answer's length
    (each point has its own cap, ignores and wait string)."""
    samples: int = 1
    """Samples per question (pass@k, maj@k, cov@k; K of majority and best-of-n)."""
    sampling: SamplingConfig = group(SamplingConfig, temperature=None)
    """How the model's tokens are drawn; the temperature defaults to 0 (greedy, as s1 evaluates), or 1
    for rejection, majority and best-of-n, which sample. Each (question, sample) gets its own seed."""
    limit: int | None = None
    """First N questions only."""
    data_dir: str | None = _how(None)
    """Local JSONL files instead of the hub (default: $S1KIT_DATA_DIR); the questions themselves
    are checked on resume, by their hash."""
    out: str = _how("runs/eval")
    """Output directory."""
    resume: bool = _how(False)
    """Continue an interrupted run in out."""
    system_prompt: str | None = None
    """System message; default: the chat template's own."""
    batch_size: int = _how(16)
    """Sequences decoded together."""
    question_field: str | None = None
    """jsonl:PATH tasks: the question field (default: question, problem or prompt)."""
    answer_field: str | None = None
    """jsonl:PATH tasks: the answer field (default: answer)."""
    id_field: str | None = None
    """jsonl:PATH tasks: the id field (default: the line number)."""
    kind: str | None = None
    """jsonl:PATH tasks: how answers are graded: math, integer or choice (default math)."""
    judge: JudgeConfig | None = group(JudgeConfig, optional=True, skip=("batch_size",))
    """An LLM judge for grading; None (no --judge): the rules alone. It reads --batch-size rows at once."""
    probe: ProbeConfig = group(ProbeConfig)
    """probe-exit: where the answer is probed and the exit rules swept."""
    alpha_one: AlphaConfig = group(AlphaConfig)
    """alpha-one: the alpha moments swept and the Wait schedule."""
    deepconf: DeepConfConfig = group(DeepConfConfig)
    """deepconf: the share of traces kept, the windows, the modes."""
    early_stop: EarlyStopConfig = group(EarlyStopConfig)
    """esc and adaptive-consistency: when they stop drawing samples."""
    search: SearchConfig = group(SearchConfig)
    """rebase and beam: the process reward model, the steps, the trees' sizes."""
    chunk_units: int = _how(32)
    """Units (question, sample) generated between two writes of samples.jsonl: the most work an
    interruption can cost."""
    backend_options: BackendConfig = group(BackendConfig)
    """The backend's own options (device, dtype, vLLM's engine, the server's URL, ...)."""

    def __post_init__(self) -> None:
        from s1kit.methods import PARALLEL, SAMPLING_METHODS, check_method, forces

        check_method(self.method)
        if isinstance(self.wait_string, str):
            self.wait_string = parse_waits(self.wait_string)
        if not isinstance(self.wait_string, list) or not self.wait_string or not all(
                isinstance(w, str) for w in self.wait_string):
            raise SettingError("wait_string", f"wait_string must be text or a list of texts, got {shown(self.wait_string)}")
        if len(self.wait_string) > 1 and self.method != "budget-forcing":
            raise SettingError("wait_string", f"--wait-string lists {len(self.wait_string)} strings; only budget-forcing "
                                              f"sweeps them, {self.method} takes one")
        if self.sampling.temperature is None:
            samples = self.method in SAMPLING_METHODS or (self.method == "no-thinking" and self.samples > 1)
            self.sampling = dataclasses.replace(self.sampling, temperature=1.0 if samples else 0.0)
        if self.judge is not None and self.judge.batch_size != self.batch_size:
            self.judge = dataclasses.replace(self.judge, batch_size=self.batch_size)
        temperature = self.sampling.temperature
        if self.method in SAMPLING_METHODS and temperature == 0:
            raise S1kitError(f"{self.method} needs samples, but --temperature 0 is greedy; pass --temperature 1 (as s1 does)")
        self._check_method_groups()
        if self.budget.min_thinking_tokens and not forces(self.method):
            raise S1kitError(f"--min-thinking-tokens is budget forcing's; {self.method} does not force; drop it")
        for name in ("tokens_per_step", "max_tries", "chunk_units", "batch_size", "samples"):
            check_positive_int(name, getattr(self, name))
        if self.method == "best-of-n":
            from s1kit.methods.parallel import get_scorer

            get_scorer(self.scorer)
        if self.budgets is not None:
            if not self.budgets:
                raise SettingError("budgets", "budgets is empty; pass e.g. --budgets 512,1024,2048")
            for b in self.budgets:
                if isinstance(b, bool) or not isinstance(b, int) or b <= 0:
                    raise SettingError("budgets", f"budget {repr(b)[:80]} is not a positive integer; pass e.g. --budgets 512,1024,2048")
        for k in self.num_ignore or [None]:
            if isinstance(k, bool) or not isinstance(k, int) or k < 0:
                raise SettingError("num_ignore", f"num_ignore {repr(k)[:80]} is not an integer >= 0; pass e.g. --num-ignore 0,1,2")
        for name, values in (("budgets", self.budgets or []), ("num_ignore", self.num_ignore),
                             ("wait_string", self.wait_string)):
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:  # a point given twice would count its rows twice
                raise SettingError(name, f"{name} lists {', '.join(map(str, twice))} more than once ({values}); "
                                         "list each value once")
        if self.samples > 1 and temperature == 0:
            raise S1kitError(f"--samples {self.samples} with --temperature 0 gives {self.samples} identical samples; "
                             "pass --temperature above 0 (e.g. 0.7) or --samples 1")
        if self.method in PARALLEL and self.samples < 2:
            raise S1kitError(f"{self.method} votes over samples; pass --samples K with K >= 2 (e.g. 16)")
        for wait in self.wait_string:  # the minimum against the smallest cap, each wait string: BudgetConfig's checks
            dataclasses.replace(self.base_budget(), wait_string=wait, num_ignore=max(self.num_ignore))
        self.points()  # the method's own checks (budgets it needs, flags it cannot use)

    def _check_method_groups(self) -> None:
        """A method group's settings are its methods' alone, and what the method needs of the backend
        and the samples is there."""
        from s1kit.methods import SCORED

        for name, owners in GROUP_OWNERS.items():
            settings = getattr(self, name)
            for f in dataclasses.fields(settings):
                methods = owners.get(f.name, owners.get("*"))
                if self.method not in methods and getattr(settings, f.name) != getattr(type(settings)(), f.name):
                    raise SettingError(f.name, f"--{f.name.replace('_', '-')} is {' and '.join(methods)}'s; drop it, "
                                               f"or pass --method {methods[0]}")
        if self.method in SCORED and self.backend == "openai":
            raise SettingError("backend", f"{self.method} reads the model's token probabilities, which the hf and vllm "
                                          "backends record and the openai backend (text rounds) does not; use --backend "
                                          "hf or vllm")
        from s1kit.methods import SEARCH

        if self.method in SEARCH:
            if self.backend == "openai":
                raise SettingError("backend", f"{self.method} stops each request at a step's end, which the hf and vllm "
                                              "backends do in their decoding and the openai backend cannot; use "
                                              "--backend hf or vllm")
            if self.search.prm is None:
                raise SettingError("prm", f"{self.method} is guided by a process reward model; pass --prm (nano-checker "
                                          "for nano tasks, a reward model's directory or id, or module:function)")
            if self.samples != 1:
                raise SettingError("samples", f"{self.method} grows one tree per question, whose leaves are its "
                                              f"samples; drop --samples (set its size with --"
                                              f"{'width' if self.method == 'rebase' else 'beam-width'})")
        warmup = self.deepconf.deepconf_warmup
        if self.method == "deepconf" and "online" in self.deepconf.deepconf_mode and warmup >= self.samples > 1:
            raise SettingError("deepconf_warmup", f"deepconf_warmup ({warmup}) warms up on every one of the --samples "
                                                  f"{self.samples}: online DeepConf would stop nothing; lower "
                                                  "--deepconf-warmup, raise --samples, or pass --deepconf-mode offline")

    def base_budget(self) -> BudgetConfig:
        """The shared budget with the smallest cap (the strictest for the minimum) and the first
        wait string (a point of another carries its own)."""
        return dataclasses.replace(self.budget, max_thinking_tokens=min(self.budgets) if self.budgets else None,
                                   wait_string=self.wait_string[0])

    def points(self):
        """The method's points (methods.points.MethodPoint)."""
        from s1kit.methods.points import method_points

        return method_points(self.method, self.budgets, self.num_ignore, self.tokens_per_step, self.probe.rules(),
                             self.wait_string, self.alpha_one.moments(), self.search.sizes(self.method))

    def step_delimiter(self) -> str:
        """The text that ends a search step: the setting, else a newline for nano tasks (one step a
        line), a blank line for others."""
        if self.search.step_delimiter is not None:
            return self.search.step_delimiter
        return "\n" if self.task in ("nano", "nano-dev") else "\n\n"


GROUP_OWNERS = {
    "probe": {"*": ("probe-exit",)},
    "alpha_one": {"*": ("alpha-one",)},
    "deepconf": {"*": ("deepconf",)},
    "early_stop": {"window": ("esc", "adaptive-consistency"), "consistency_threshold": ("adaptive-consistency",)},
    "search": {"*": ("rebase", "beam"), "width": ("rebase",), "rebase_temperature": ("rebase",),
               "beam_width": ("beam",), "expansions": ("beam",),
               **dict.fromkeys(("prm", "prm_aggregate", "step_delimiter"), ("rebase", "beam", "majority", "best-of-n"))},
}
"""Which methods read each method group's settings: any other method refuses a setting changed from
its default, naming the flag ("*": every setting of the group)."""


def eval_config(**settings) -> EvalConfig:
    """An EvalConfig from flat settings, as a recipe or the flags give them: ``eval_config(task="nano",
    wait_string="Hmm", judge="s1-nano")``."""
    from s1kit.recipes import build

    return build(EvalConfig, settings, "the settings")


def resolve_run(recipe: str | Path | None = None, flags: dict | None = None) -> EvalConfig:
    """The config of a run: the defaults, then the recipe's keys (a saved config.yaml's records
    left out), then ``flags``; --budgets and --num-ignore as text are read here."""
    from s1kit.recipes import resolve

    def text_forms(data: dict) -> dict:
        if data.get("task") is None:
            raise S1kitError("no task given; pass --task (e.g. --task nano) or a --recipe that names one")
        for name, parse in (("budgets", parse_budgets), ("num_ignore", lambda text: parse_counts(text, "--num-ignore"))):
            if isinstance(data.get(name), (str, int)) and not isinstance(data.get(name), bool):
                data[name] = parse(str(data[name]))
        for holder in (data, *(v for v in data.values() if isinstance(v, dict))):  # the method groups
            for name in SWEEP_LISTS:
                value = holder.get(name)
                if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                    holder[name] = parse_list(str(value), name)
        return data

    return resolve(EvalConfig, recipe, flags, drop=RECORDED, before=text_forms)


def saved_settings(config: EvalConfig) -> dict:
    """Every setting of ``config`` by its flat name, secrets left out."""
    return flatten(config)


def saved(config: EvalConfig, grading: str, model_source: dict | None = None, data: dict | None = None) -> dict:
    """config.json: every setting (secrets left out), how answers were graded, the versions, where
    the model came from (s1kit.models.model_source; None for a server's model), and which questions
    were asked (their number and hash, eval.run.data_identity)."""
    return {**saved_settings(config), "grading": grading, "versions": versions(), "model_source": model_source,
            "data": data}


def identity(record: dict, within: frozenset[str] | None = None) -> dict:
    """What a saved config must share with the present one for --resume: the settings that change
    the results (all but those marked HOW), the versions, the questions, and the weights (their
    revision and checksum; the path may move). A setting a record lacks (one s1kit added since
    the run was made) counts at its default; ``within``: only these settings (those a saved
    config.json of an earlier s1kit had)."""
    source = record.get("model_source") or {}
    settings = {}
    for leaf in leaves(EvalConfig):
        if leaf.metadata.get(HOW) or leaf.metadata.get(SECRET) or (within is not None and leaf.flat not in within):
            continue
        value = record.get(leaf.flat, leaf.default)
        if leaf.metadata.get(UNORDERED) and (within is None or isinstance(value, list)):
            value = _as_set(value)  # an earlier s1kit's hash saw a one-value setting as it was
        settings[leaf.flat] = value
    return {**settings, "versions": record.get("versions"), "data": record.get("data"),
            "model revision": source.get("revision"), "model weights_sha256": source.get("weights_sha256")}


def _as_set(value):
    """A list of integers (or texts) in order; one value as a list of it (a run saved when the
    setting was one value); anything else (a hand-edited file) as it is, to be named."""
    if type(value) in (int, str):
        value = [value]
    if isinstance(value, list) and (all(type(v) is int for v in value) or all(type(v) is str for v in value)):
        return sorted(value)
    return value


def settings_hash(record: dict, within: frozenset[str] | None = None) -> str:
    """The hash of a record's :func:`identity`, which each row of samples.jsonl carries: a row is
    kept by --resume only when it was made with this run's settings."""
    import hashlib
    import json

    text = json.dumps(identity(record, within), sort_keys=True, ensure_ascii=False, default=str)
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


SWEEP_LISTS = {"probe_agree": (int, "2,3,4"), "probe_confidence": (float, "0.9,0.95"), "alpha": (float, "1.0,1.4"),
               "alpha_tokens": (int, "256,512"), "deepconf_eta": (float, "10,90"), "deepconf_mode": (str, "offline,online"),
               "width": (int, "4,8,16"), "beam_width": (int, "2,4")}
"""The methods' sweep settings, given on the command line as comma-separated text (``--deepconf-eta 10,90``):
each one's kind of value and an example."""


def parse_list(text: str, name: str) -> list:
    """'10,90' -> [10.0, 90.0] for a sweep setting; a part that is not of its kind is an error naming it."""
    kind, example = SWEEP_LISTS[name]
    flag = "--" + name.replace("_", "-")
    parts = [part.strip() for part in text.split(",")]
    if not all(parts):
        raise SettingError(name, f"{flag} {text!r} has an empty value; pass e.g. {flag} {example}")
    if kind is str:
        return parts
    values = []
    for part in parts:
        try:
            values.append(kind(part))
        except ValueError:
            raise SettingError(name, f"{part!r} in {flag} {text!r} is not {'an integer' if kind is int else 'a number'}; "
                                     f"pass e.g. {flag} {example}") from None
    return values


def parse_waits(text: str) -> list[str]:
    """'Wait,Hmm' -> ['Wait', 'Hmm']; ',Hmm' -> ['', 'Hmm'] (an empty one: nothing appended)."""
    return [part.strip() for part in text.split(",")] if text.strip() else [""]


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
