"""The curation recipe: which stages run, with which models, and what is selected.

Defaults < ``--recipe`` YAML (e.g. ``recipes/curate/s1k.yaml``) < command-line flags. The resolved
config is written into ``manifest.json``, so a dataset says how it was made.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from s1kit.backends import BackendConfig
from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.curate.quality import QualityConfig
from s1kit.errors import S1kitError, check_non_negative_int, check_positive_int, shown
from s1kit.settings import group

SELECTS = ("s1k", "diverse", "longest", "random", "all")
"""``--select`` presets: s1k (benchmark-quality picks first, then s1's diverse sampler), the
paper's ablations on the same pool (Table 2): diverse (the sampler alone), longest, random, and all
(every record that survived the earlier stages, shuffled by the seed; ``size`` is not used)."""


CALL_BUDGET = ("max_thinking_tokens", "max_answer_tokens", "min_thinking_tokens")
"""The budget settings a model call takes (its answer prefix is the pipeline's, per stage)."""


@dataclass
class ModelCallConfig:
    """A model the pipeline asks questions (solver, classifier, judge, teacher), through any backend."""

    model: str
    """Built-in alias, local checkpoint, hub id, or an OpenAI-compatible server's model name."""
    backend: str = "hf"
    """hf, vllm or openai."""
    format: str = "auto"
    """Chat format: s1, think-tags or auto."""
    budget: BudgetConfig = group(BudgetConfig, only=CALL_BUDGET, max_thinking_tokens=1024, max_answer_tokens=512)
    """Its thinking cap (None: up to the context length), the answer's length, and a minimum of
    thinking extended with "Wait" (e.g. a teacher that stops too early)."""
    sampling: SamplingConfig = group(SamplingConfig, only=("temperature", "seed"))
    """Greedy by default, so a call's result depends only on (model, prompt, settings) and caches exactly."""
    system_prompt: str | None = None
    """System message; default: the chat template's own."""
    batch_size: int = 16
    """Prompts per backend call; also how many results one cache commit holds."""
    backend_options: BackendConfig = group(BackendConfig)
    """The backend's options, e.g. {base_url: http://host:8000/v1, dtype: bfloat16}."""

    def __post_init__(self) -> None:
        from s1kit.backends import BACKENDS
        from s1kit.formats import check_format_name

        if not isinstance(self.model, str) or not self.model.strip():
            raise S1kitError(f"model must name a model, got {shown(self.model)}")
        if self.backend not in BACKENDS:
            raise S1kitError(f"unknown backend {self.backend!r} for {self.model}; choose from {', '.join(BACKENDS)}")
        check_format_name(self.format)
        check_positive_int("batch_size", self.batch_size)

    def budget_with(self, answer_prefix: str) -> BudgetConfig:
        """The call's budget with the stage's answer prefix."""
        return dataclasses.replace(self.budget, answer_prefix=answer_prefix)

    def cache_params(self, **extra) -> dict:
        """Everything besides model and prompt that changes a call's result (the cache key)."""
        b, s = self.budget, self.sampling
        return {"backend": self.backend, "format": self.format, "max_thinking_tokens": b.max_thinking_tokens,
                "min_thinking_tokens": b.min_thinking_tokens, "max_answer_tokens": b.max_answer_tokens,
                "temperature": s.temperature, "seed": s.seed, "system_prompt": self.system_prompt, **extra}


@dataclass
class JudgeCallConfig(ModelCallConfig):
    """A judge for the solvers' answers (see s1kit.grading.judge): the rules first, the judge where they say wrong."""

    budget: BudgetConfig = group(BudgetConfig, only=CALL_BUDGET, max_thinking_tokens=256, max_answer_tokens=16)
    """The judge's thinking before its verdict, and a one-word answer."""
    template: str | None = None
    """Judge prompt file with {question}, {gold} and {response}; default: s1kit's templates/judge.txt."""


@dataclass
class BenchmarkConfig:
    """s1's "benchmark-quality" picks, kept before the diversity draw (used by ``select: s1k``).

    Among the questions that pass every filter and whose teacher attempt is graded correct, s1
    picks those from GPQA and AIME, and those from MATH with a trace over 5,600 tokens (see
    s1kit.curate.benchmark). Sources match ``source_type`` case-insensitively as substrings.
    """

    correct_sources: list[str] = field(default_factory=lambda: ["Idavidrein/gpqa", "qq8933/AIME_1983_2024"])
    """Sources whose questions are picked (s1's pool names for GPQA and AIME)."""
    long_sources: list[str] = field(default_factory=lambda: ["qfq/openaimath"])
    """Sources whose questions are picked when their trace is long (s1's pool name for MATH)."""
    long_min_tokens: int = 5600
    """A long-source question is picked when its trace has more tokens than this."""


@dataclass
class CurateConfig:
    pool: str | None = None
    """The pool: a JSONL file or a Hugging Face dataset id (e.g. simplescaling/data_ablation_full59K)."""
    split: str = "train"
    """Split of a hub pool."""
    fields: dict = field(default_factory=dict)
    """s1 column -> the pool's column, for pools with other names, e.g. {question: problem}."""
    out: str | None = None
    """Output directory: dataset.jsonl/.parquet, manifest.json, report.md, plots, cache.sqlite."""
    size: int = 1000
    """Records in the curated dataset (not used by select: all, which keeps every survivor)."""
    seed: int = 0
    """Seed of the selection; the same seed and pool give the same dataset."""
    select: str = "s1k"
    """s1k, diverse, longest, random or all (see SELECTS)."""
    quality: QualityConfig = field(default_factory=QualityConfig)
    """The quality stage's checks."""
    eval_sets: list[str] = field(default_factory=lambda: ["aime24", "aime25", "math500", "gpqa_diamond"])
    """Evaluation sets to decontaminate against: task names, or jsonl:PATH for your own."""
    data_dir: str | None = None
    """Local directory of the evaluation sets' JSONL files (default: $S1KIT_DATA_DIR, else the hub)."""
    ngram: int = 8
    """Word n-gram length of decontamination (s1: 8)."""
    tokenizer: str = "smollm2-135m"
    """Tokenizer that counts trace lengths (s1: Qwen2.5's): a model alias, directory or hub id, or bytes."""
    solvers: list[ModelCallConfig] = field(default_factory=list)
    """Difficulty: questions any of these answers correctly are dropped (s1: Qwen2.5-7B/32B-Instruct).
    Empty: no solver runs, and the difficulty stage only counts trace lengths."""
    judge: JudgeCallConfig | None = None
    """Optional LLM judge for answers the rules grade wrong (s1 graded with Claude 3.5 Sonnet)."""
    answer_kind: str = "math"
    """How the rules compare answers: math, integer or choice."""
    classifier: ModelCallConfig | None = None
    """Model that names each question's MSC class; None: every record must carry its domain already."""
    classifier_codes: list[str] | None = None
    """MSC codes offered to the classifier (default: all 63); a short list makes prompts shorter,
    e.g. for a small CPU model. A reply naming another known class still counts as that class."""
    classifier_template: str | None = None
    """Classifier prompt file with {question} (and {classes}); default: s1kit's templates/classify.txt."""
    domain_field: str = "domain"
    """A record's domain: kept when the pool has it, else written by the classifier."""
    benchmark: BenchmarkConfig = field(default_factory=BenchmarkConfig)
    """The benchmark-quality picks of select: s1k."""

    def __post_init__(self) -> None:
        from s1kit.grading.rules import check_kind

        if self.select not in SELECTS:
            raise S1kitError(f"unknown selection {self.select!r}; choose from {', '.join(SELECTS)}")
        check_positive_int("size", self.size, "; pass --size N")
        check_non_negative_int("seed", self.seed)
        check_positive_int("ngram", self.ngram)
        check_kind(self.answer_kind)
        if isinstance(self.eval_sets, str):
            raise S1kitError(f"eval_sets must be a list, got the string {self.eval_sets!r}; write [{self.eval_sets!r}]")
        if self.classifier_codes is not None:
            from s1kit.curate.msc import MSC_CODES

            unknown = [c for c in self.classifier_codes if str(c) not in MSC_CODES]
            if unknown or not self.classifier_codes:
                raise S1kitError(f"classifier_codes {unknown or '[]'} are not MSC2020 top-level codes; use two-digit "
                                 "codes such as '05', '11', '60' (quote them in YAML), or leave the list out for all 63")
        if self.classifier_template is not None:
            from s1kit.curate.classify import load_template

            load_template(self.classifier_template)
        models = [s.model for s in self.solvers]
        if len(set(models)) != len(models):
            raise S1kitError(f"solvers name a model twice ({models}); list each once")

    def check_ready(self) -> None:
        """What a run needs beyond a valid recipe: a pool and an output directory."""
        if not self.pool:
            raise S1kitError("no pool given; pass --pool POOL.jsonl or a Hugging Face dataset id")
        if not self.out:
            raise S1kitError("no output directory given; pass --out DIR")
