"""The SFT recipe: one dataclass, filled from defaults < a YAML recipe < command-line overrides.

The defaults are the s1 recipe (Muennighoff et al. 2025, section 4.1 and appendix D; the reference's
train/sft.sh): 5 epochs, lr 1e-5 with cosine decay and 5% warmup, global batch 16, AdamW betas
0.9/0.95, weight decay 1e-4, bf16, block size 32,768, Qwen2.5-32B-Instruct. Recipes in recipes/sft/
restate them, so a recipe file reads as the whole run.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

from s1kit.errors import S1kitError, check_non_negative_int, check_positive_int, shown

FORMATS = ("auto", "s1", "think-tags")
DTYPES = ("auto", "float32", "bfloat16", "float16")
SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
              "inverse_sqrt")
"""transformers' schedulers that need no arguments beyond warmup and length (cosine_with_min_lr and
warmup_stable_decay need lr_scheduler_kwargs, which a recipe cannot give)."""
MAX_SEED = 2**32 - 1
"""numpy's seeds (transformers' set_seed seeds numpy too) stop here."""
SAVE_STRATEGIES = ("no", "steps", "epoch")
OBJECTIVES = ("sft", "prm")


@dataclass
class TrainConfig:
    objective: str = "sft"
    """sft: the model learns the traces (s1's SFT); prm: a reward head learns to score steps, from
    rows of question, steps and labels (see train/prm.py)."""
    model: str | None = "Qwen/Qwen2.5-32B-Instruct"
    """Model to fine-tune: a built-in alias (smollm2-135m), a local checkpoint directory or a hub id.
    null when model_config trains a new model from scratch."""
    model_config: str | None = None
    """Train a new model from scratch: a YAML/JSON file with model_type (default llama) and the
    fields of that transformers config (e.g. recipes/nano/model.yaml); needs tokenizer, and model null."""
    tokenizer: str | None = None
    """Tokenizer of a from-scratch model, built with the tokenizers library (see train/scratch.py):
    bytes (byte-level with the ChatML tokens), bpe:N (a BPE of at most N tokens trained on the
    training texts), or a directory holding tokenizer.json. Fine-tuning uses the model's own."""
    step_tag: str | None = None
    """prm: the text written after every step, read by the head (default: a new special token
    <step> added to the tokenizer)."""
    data: str | None = None
    """Training rows in s1K's columns: a JSONL file, a directory holding dataset.jsonl (what
    `s1kit curate` writes), or a Hugging Face dataset id (e.g. simplescaling/s1K). prm: a JSONL file
    of {question, steps, labels} rows, one true/false label per step."""
    data_split: str = "train"
    """Split of a hub dataset."""
    fields: dict[str, str] = field(default_factory=dict)
    """s1 column -> this dataset's column, e.g. {attempt: deepseek_attempt} for s1K-1.1."""
    max_examples: int | None = None
    """Train on the first N rows only (None: all)."""
    format: str = "auto"
    """How the assistant turn is written: s1 (<|im_start|>think ... <|im_start|>answer, as s1-32B),
    think-tags (<think> ... </think>), or auto: think-tags if the tokenizer has <think> and </think>
    as single tokens, else s1. Needs the model's chat template; a model without one needs s1 or
    think-tags, and gets a ChatML template saved with it."""
    system_prompt: str | None = None
    """System message of every example; None: the chat template's own default (as s1 trained)."""
    answer_prefix: str | None = None
    """Text before the answer; None: "Answer: " for s1 (s1 added it unless the answer already had
    "Answer:"), nothing for think-tags."""
    pad_token: str | None = None
    """Padding token; None: one that is not the end-of-turn token (<|fim_pad|> for Qwen as s1 did,
    <|endoftext|> for SmolLM2), so that end-of-turn is still learned."""
    block_size: int = 32768
    """Longest sequence in tokens; longer examples are truncated (their end is not trained) and counted."""
    num_epochs: float = 5.0
    """Passes over the data."""
    max_steps: int = -1
    """Stop after this many optimizer steps (-1: run num_epochs)."""
    learning_rate: float = 1e-5
    """Peak learning rate, reached after warmup."""
    lr_scheduler: str = "cosine"
    """Decay after warmup (transformers scheduler name)."""
    warmup_ratio: float = 0.05
    """Share of the steps spent warming up linearly from 0."""
    global_batch_size: int = 16
    """Examples per optimizer step over all processes; gradient accumulation =
    global_batch_size / (processes x per_device_batch_size)."""
    per_device_batch_size: int = 1
    """Examples one process runs through the model at once."""
    adam_beta1: float = 0.9
    adam_beta2: float = 0.95
    weight_decay: float = 1e-4
    max_grad_norm: float = 1.0
    """Gradient clipping (transformers' default, which s1 kept)."""
    bf16: bool = True
    """bf16 mixed precision (s1: --bf16=True); off for exact float32 on CPU."""
    dtype: str = "float32"
    """dtype the weights are loaded and kept in: float32 master weights under bf16 autocast, as
    s1's script loaded them; auto: the checkpoint's own."""
    gradient_checkpointing: bool = True
    """Recompute activations in the backward pass: less memory for 32K-token blocks, ~20% slower."""
    group_by_length: bool = False
    """Batch examples of similar length together (less padding; the order stays seeded)."""
    curriculum_steps: int = 0
    """Optimizer steps at the start that draw only from the shortest examples (0: none). Helps a
    model trained from scratch find items in its prompt sooner (see train/order.py)."""
    curriculum_share: float = 0.3
    """Share of the examples, shortest first, that the curriculum steps draw from."""
    num_threads: int | None = None
    """CPU threads torch may use (None: its default); 1 per process when several share a CPU."""
    seed: int = 42
    """Seeds model init of new weights, data order and dropout."""
    logging_steps: int = 1
    """Optimizer steps between two log lines (loss, learning rate, tokens/s)."""
    save_strategy: str = "epoch"
    """When checkpoints for --resume are written: no, steps (every save_steps) or epoch."""
    save_steps: int = 100
    """Optimizer steps between checkpoints with save_strategy steps."""
    save_total_limit: int | None = 2
    """Checkpoints kept (oldest deleted first); None: all."""
    output_dir: str = "runs/sft"
    """Where checkpoints, the final model, its tokenizer and train_config.yaml go."""
    resume: bool = False
    """Continue the run in output_dir from its last checkpoint."""
    overwrite: bool = False
    """Replace the run in output_dir."""
    report_to: str = "none"
    """Experiment trackers for transformers (none, wandb, tensorboard, ...)."""

    def __post_init__(self) -> None:
        for name in ("block_size", "global_batch_size", "per_device_batch_size", "logging_steps", "save_steps"):
            check_positive_int(name, getattr(self, name))
        for name in ("max_examples", "save_total_limit"):
            if getattr(self, name) is not None:
                check_positive_int(name, getattr(self, name))
        _check_choice("objective", self.objective, OBJECTIVES)
        if self.step_tag is not None and (not isinstance(self.step_tag, str) or not self.step_tag):
            raise S1kitError(f"step_tag must be non-empty text, got {shown(self.step_tag)}; e.g. <step>, or null for "
                             "the default")
        if self.step_tag is not None and self.objective != "prm":
            raise S1kitError(f"step_tag {self.step_tag!r} is read by objective prm only; drop it, or set objective: prm")
        _check_choice("format", self.format, FORMATS)
        _check_choice("dtype", self.dtype, DTYPES)
        _check_choice("lr_scheduler", self.lr_scheduler, SCHEDULERS)
        _check_choice("save_strategy", self.save_strategy, SAVE_STRATEGIES)
        self._check_optimizer()
        self._check_length()
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise S1kitError(f"seed must be an integer from 0 to {MAX_SEED}, got {shown(self.seed)}")
        for name, what in (("output_dir", "the directory for the model and its checkpoints"),
                           ("data_split", "the split of a hub dataset, e.g. train")):
            if not str(getattr(self, name)).strip():
                raise S1kitError(f"{name} is empty; pass {what}")
        if self.resume and self.overwrite:
            raise S1kitError("--resume continues the run in output_dir and --overwrite replaces it; pass one of them")
        if self.global_batch_size % self.per_device_batch_size:
            gradient_accumulation_steps(self.global_batch_size, 1, self.per_device_batch_size)
        check_non_negative_int("curriculum_steps", self.curriculum_steps)
        if not _is_number(self.curriculum_share) or not 0 < self.curriculum_share <= 1:
            raise S1kitError(f"curriculum_share must be in (0, 1], got {shown(self.curriculum_share)}; e.g. 0.3 for the shortest 30%")
        if self.num_threads is not None:
            check_positive_int("num_threads", self.num_threads)
        if self.tokenizer is not None:
            from s1kit.train.scratch import bpe_size

            bpe_size(self.tokenizer)
        if self.model_config is not None:
            if self.model is not None:
                raise S1kitError(f"model is {self.model!r} and model_config {self.model_config!r}: a run either fine-tunes "
                                 "a model or trains a new one from a config; set model: null to train from scratch")
            if self.tokenizer is None:
                raise S1kitError("model_config trains a new model, which needs a tokenizer; set tokenizer: bytes "
                                 "or a directory holding tokenizer.json")
        elif self.model is None:
            raise S1kitError("no model: set model to fine-tune one, or model_config (and tokenizer) to train one from scratch")
        elif self.tokenizer is not None:
            raise S1kitError(f"tokenizer {self.tokenizer!r} is only for models trained from scratch (model_config); "
                             f"fine-tuning {self.model} uses its own tokenizer, so drop tokenizer")

    def _check_optimizer(self) -> None:
        """AdamW's settings: a value outside these ranges fails in torch after the model loaded, or
        trains on NaN (an infinite learning rate)."""
        if not _is_number(self.learning_rate) or not self.learning_rate > 0:
            raise S1kitError(f"learning_rate must be a finite number above 0, got {shown(self.learning_rate)}; s1 used 1e-5")
        for name, s1_value in (("adam_beta1", 0.9), ("adam_beta2", 0.95)):
            value = getattr(self, name)
            if not _is_number(value) or not 0 <= value < 1:
                raise S1kitError(f"{name} must be in [0, 1), got {shown(value)}; s1 used {s1_value}")
        for name, what in (("weight_decay", ""), ("max_grad_norm", " (0: no clipping)")):
            value = getattr(self, name)
            if not _is_number(value) or value < 0:
                raise S1kitError(f"{name} must be a finite number of at least 0{what}, got {shown(value)}")
        if not _is_number(self.warmup_ratio) or not 0 <= self.warmup_ratio < 1:
            raise S1kitError(f"warmup_ratio must be in [0, 1), got {shown(self.warmup_ratio)}; s1 used 0.05")

    def _check_length(self) -> None:
        """How long the run is: num_epochs, or max_steps when set."""
        if not _is_number(self.num_epochs) or self.num_epochs < 0:
            raise S1kitError(f"num_epochs must be a finite number of at least 0, got {shown(self.num_epochs)}")
        if isinstance(self.max_steps, bool) or not isinstance(self.max_steps, int) or self.max_steps == 0 or self.max_steps < -1:
            raise S1kitError(f"max_steps must be -1 (run num_epochs) or a positive integer, got {shown(self.max_steps)}")
        if self.num_epochs == 0 and self.max_steps == -1:
            raise S1kitError(f"num_epochs is {self.num_epochs} and max_steps {self.max_steps}: nothing to train; set one above 0")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


RUN_CONTROL = ("resume", "overwrite", "output_dir", "report_to", "logging_steps", "save_strategy", "save_steps", "num_threads",
               "save_total_limit")
"""Fields that do not change what is trained: --resume accepts a run whose config differs only here."""


def gradient_accumulation_steps(global_batch_size: int, num_processes: int, per_device_batch_size: int) -> int:
    """Micro-batches each process accumulates per optimizer step, so that every step sees exactly
    global_batch_size examples (s1's script fixed accumulation at 1 and let the batch follow the
    GPU count)."""
    per_pass = num_processes * per_device_batch_size
    if global_batch_size % per_pass:
        fits = max(per_pass, global_batch_size // per_pass * per_pass)
        raise S1kitError(
            f"global_batch_size {global_batch_size} is not divisible by {num_processes} process(es) x "
            f"per_device_batch_size {per_device_batch_size} = {per_pass}; set global_batch_size to a multiple "
            f"of {per_pass} (e.g. {fits}), or change per_device_batch_size or the number of processes")
    return global_batch_size // per_pass


def load_config(recipe: str | Path | None = None, overrides: dict | None = None) -> TrainConfig:
    """The config of a run: defaults, then the recipe's keys, then overrides (flags win)."""
    from s1kit.recipes import resolve

    return resolve(TrainConfig, recipe, overrides, where=f"recipe {recipe}" if recipe is not None else "the command line")


def parse_overrides(tokens: list[str]) -> dict[str, str]:
    """`key=value`, `--key=value` or `--key value` tokens -> {key: value}; dashes become underscores."""
    values: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("--") and "=" not in token:
            if i + 1 >= len(tokens):
                raise S1kitError(f"override {token} has no value; write {token} VALUE or {token[2:]}=VALUE")
            key, value = token[2:], tokens[i + 1]
            i += 2
        elif "=" in token:
            key, value = token.lstrip("-").split("=", 1)
            i += 1
        else:
            raise S1kitError(f"cannot read override {token!r}; write key=value, e.g. learning_rate=2e-5")
        values[key.replace("-", "_")] = value
    return values


def _is_number(value) -> bool:
    """A finite int or float (a bool is not a number here, nor is NaN or infinity)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise S1kitError(f"unknown {name} '{value}'; choose from {', '.join(choices)}")
