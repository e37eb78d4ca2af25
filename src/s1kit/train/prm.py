"""The prm objective: a process reward model's head learns to score steps, on transformers' Trainer
(TRL has no PRM trainer).

Rows are JSONL, one trace each: ``{"question": "...", "steps": ["...", ...], "labels": [true, false, ...]}``,
one label per step (true: a good step). The model is a token-classification model with 2 labels
(bad, good): a new one (model_config and tokenizer), or a causal LM's backbone under a new head
(model). Every row is encoded by the code that scores it (reward/hf.py, HFPRM._encode under
head_layout): its label sits at each step's tag and -100 everywhere else, so that training and
scoring read the same positions. The saved directory is a reward head `--prm DIR` loads: its
config.json says s1kit_prm and s1kit_step_tag.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from s1kit.errors import S1kitError, require, shown
from s1kit.files import write_text
from s1kit.jsonl import check_file, read_lines
from s1kit.models import describe_load_failure, load_tokenizer, resolve_model
from s1kit.progress import on_terminal
from s1kit.reward.hf import HFPRM, REWARD_HEAD, check_template, head_layout
from s1kit.train import scratch
from s1kit.train.config import TrainConfig, gradient_accumulation_steps
from s1kit.train.data import IGNORE
from s1kit.train.divergence import Watch, watch_callback
from s1kit.train.run_dir import SUMMARY_FILE, note, plan_output_dir, prepare_output_dir, saved_steps
from s1kit.train.runtime import check_report_to, distributed_state, has_accelerator, log_lines_callback

DEFAULT_TAG = "<step>"
ROW_SHAPE = 'each row is {"question": "...", "steps": ["...", ...], "labels": [true, false, ...]}, one label per step'


@dataclass(frozen=True)
class StepRow:
    where: str
    """File and line, for messages."""
    question: str
    steps: tuple[str, ...]
    labels: tuple[bool, ...]
    """One per step: true for a good step."""


def train_prm(config: TrainConfig, torch, accelerate) -> dict:
    """Train a reward head on config.data's rows, save it to config.output_dir, return the run's summary."""
    transformers = require("transformers", "train")
    action, checkpoint = plan_output_dir(config)
    check_report_to(config.report_to)
    values = scratch.read_model_config(config.model_config) if config.model_config is not None else None
    rows = read_rows(config.data, config.max_examples)
    use_cpu = not has_accelerator(torch)
    state = distributed_state(accelerate, use_cpu)
    accumulation = gradient_accumulation_steps(config.global_batch_size, state.num_processes, config.per_device_batch_size)
    tokenizer, model, tag, added = build(config, values, rows, torch, transformers)

    # load_hf_prm reads the shape and the tag from the config: set them before encoding, as it will.
    model.config.s1kit_prm, model.config.s1kit_step_tag = REWARD_HEAD, tag
    layout = head_layout(config.output_dir, tokenizer, model.config)
    prm = HFPRM(config.output_dir, REWARD_HEAD, model, tokenizer, layout, "cpu", config.per_device_batch_size)
    check_template(prm)
    # Rows longer than the model's context are cut there, as at block_size: on a causal backbone a
    # step's score reads only what precedes its tag, so the steps before the cut train as they score.
    context, prm.max_positions = prm.max_positions, None
    cut_at = min(config.block_size, context or config.block_size)
    encoded, truncated = encode(prm, rows, cut_at)
    labels = [label for _, kept in encoded for _, label in kept]
    note(f"{len(rows)} rows, {len(labels)} steps ({sum(labels) / max(len(labels), 1):.0%} good), step tag {tag!r}"
         + (" (added to the tokenizer)" if added else "") + (f"; {truncated} row(s) cut at {cut_at} tokens, "
         f"{len(rows) - len(encoded)} of them left with no step" if truncated else ""))
    if not encoded:
        raise S1kitError(f"every row of {config.data} is cut before its first step's tag at {cut_at} tokens; "
                         "raise block_size or shorten the questions")
    bf16 = bool(config.bf16 and not use_cpu and torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    note(f"global batch {config.global_batch_size} = {state.num_processes} process(es) x {config.per_device_batch_size} "
         f"per device x {accumulation} accumulation steps; bf16 {'on' if bf16 else 'off'}")
    if state.is_main_process:
        prepare_output_dir(config, action)
    state.wait_for_everyone()

    trainer = None
    try:
        trainer, watch = build_trainer(transformers, torch, config, model, tokenizer, encoded, accumulation, use_cpu, bf16)
        result = trainer.train(resume_from_checkpoint=checkpoint)
        watch.check_weights(trainer.optimizer, trainer.state.global_step, trainer.state.max_steps, "the final model")
        if state.is_main_process:  # the summary says the model is whole: the old one goes first
            Path(config.output_dir, SUMMARY_FILE).unlink(missing_ok=True)
        trainer.save_model(config.output_dir)  # the model and, as its processing class, the tokenizer
        prm.model, prm.device = trainer.model, str(trainer.args.device)
        losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
        summary = {
            "objective": "prm", "model": config.model, "model_config": config.model_config, "step_tag": tag,
            "tag_added": added, "examples": len(encoded), "steps_labelled": len(labels), "good_steps": sum(labels),
            "truncated": truncated, "dropped": len(rows) - len(encoded), "cut_at": cut_at,
            "num_processes": state.num_processes, "per_device_batch_size": config.per_device_batch_size,
            "gradient_accumulation_steps": accumulation, "global_batch_size": config.global_batch_size,
            "steps": trainer.state.global_step, "resumed_from": checkpoint,
            "train_seconds": float(result.metrics.get("train_runtime", 0.0)),
            "first_loss": losses[0] if losses else None, "final_loss": losses[-1] if losses else None, "losses": losses,
            "step_accuracy": step_accuracy(prm, encoded),
        }
        if state.is_main_process:
            write_text(Path(config.output_dir, SUMMARY_FILE), json.dumps(summary, indent=2) + "\n")
    except KeyboardInterrupt:  # Ctrl-C: say which checkpoint a --resume continues from
        raise KeyboardInterrupt(saved_steps(config, trainer.state.max_steps if trainer is not None else None)) from None
    state.wait_for_everyone()
    note(f"trained {summary['steps']} steps in {summary['train_seconds']:.1f} s; loss {summary['first_loss']} -> "
         f"{summary['final_loss']}; step accuracy on the training rows {summary['step_accuracy']:.1%}; "
         f"reward head saved to {config.output_dir}")
    return summary


def read_rows(source: str, limit: int | None = None) -> list[StepRow]:
    """The first ``limit`` rows (all: None) of a JSONL file, each checked; one line naming a bad one."""
    path = check_file(source, "objective prm reads a JSONL file of rows with question, steps and labels")
    rows: list[StepRow] = []
    for number, record in read_lines(path):
        if limit is not None and len(rows) == limit:
            break
        rows.append(_row(f"{path} line {number}", record))
    if not rows:
        raise S1kitError(f"no rows in {path}; {ROW_SHAPE}")
    return rows


def _row(where: str, record: dict) -> StepRow:
    missing = [key for key in ("question", "steps", "labels") if key not in record]
    if missing:
        raise S1kitError(f"{where}: no {' and no '.join(missing)}; {ROW_SHAPE}")
    question, steps, labels = record["question"], record["steps"], record["labels"]
    if not isinstance(question, str) or not question.strip():
        raise S1kitError(f"{where}: question must be non-empty text, got {shown(question)}")
    if not isinstance(steps, list) or not steps or not all(isinstance(step, str) for step in steps):
        raise S1kitError(f"{where}: steps must be a non-empty list of texts, got {shown(steps)}")
    if not isinstance(labels, list) or len(labels) != len(steps):
        count = len(labels) if isinstance(labels, list) else shown(labels)
        raise S1kitError(f"{where}: {len(steps)} steps but labels {count}; give a list of one label (true or false) per step")
    bad = next((n for n, label in enumerate(labels, 1) if not isinstance(label, bool)), None)
    if bad is not None:
        raise S1kitError(f"{where}: label {bad} is {shown(labels[bad - 1])}; each label is true (a good step) or false")
    return StepRow(where, question, tuple(steps), tuple(labels))


def build(config: TrainConfig, values: dict | None, rows: list[StepRow], torch, transformers):
    """The tokenizer (its step tag one token: added as a special token if need be), the 2-label
    token-classification model, the tag, and whether it was added."""
    if values is not None:
        texts = (row.question + "\n\n" + "\n\n".join(row.steps) for row in rows)  # what bpe:N learns from
        tokenizer = scratch.load_tokenizer(config.tokenizer, texts)
    else:
        tokenizer = load_tokenizer(config.model)
    tag = config.step_tag or DEFAULT_TAG
    ids = tokenizer.encode(tag, add_special_tokens=False)
    added = len(ids) != 1 or ids[0] == tokenizer.unk_token_id
    if added:
        tokenizer.add_tokens([tag], special_tokens=True)
    if tokenizer.pad_token is None:  # padding is masked out and unlabelled: any token does
        tokenizer.pad_token = tokenizer.eos_token or tag
    tokenizer.padding_side = "right"  # as HFPRM pads: real tokens keep their positions
    dtype = "auto" if config.dtype == "auto" else getattr(torch, config.dtype)
    if values is not None:
        new_config = scratch.model_config(values, tokenizer, f"model_config {config.model_config}")
        new_config.num_labels = 2
        torch.manual_seed(config.seed)
        model = transformers.AutoModelForTokenClassification.from_config(new_config)
        if dtype != "auto":
            model.to(dtype)
        note(f"new {scratch.describe(model)} from {config.model_config}, tokenizer {config.tokenizer} ({len(tokenizer)} tokens)")
        return tokenizer, model, tag, added
    transformers.set_seed(config.seed)  # the new head's weights
    try:
        model = transformers.AutoModelForTokenClassification.from_pretrained(resolve_model(config.model), num_labels=2,
                                                                             dtype=dtype)
    except (OSError, ValueError) as exc:
        raise describe_load_failure(config.model, exc) from None
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
    note(f"{config.model}: its backbone under a new 2-label {type(model).__name__} head")
    return tokenizer, model, tag, added


def encode(prm: HFPRM, rows: list[StepRow], block_size: int):
    """Per row, its token ids (at most block_size) and (tag position, label) of each step whose tag
    is kept; and how many rows were cut. A row that keeps no step is left out."""
    encoded, truncated = [], 0
    for row in rows:
        try:
            tokens, tags = prm._encode(row.question, list(row.steps))
        except S1kitError as exc:
            raise S1kitError(f"{row.where}: {exc}") from None
        truncated += len(tokens) > block_size
        kept = [(position, int(label)) for position, label in zip(tags, row.labels) if position < block_size]
        if kept:
            encoded.append((tokens[:block_size], kept))
    return encoded, truncated


def build_trainer(transformers, torch, config, model, tokenizer, encoded, accumulation: int, use_cpu: bool, bf16: bool):
    """transformers' Trainer over the examples (labels at the tags only), with the divergence watch
    and one plain log line per log; returns it and the watch."""
    examples = []
    for tokens, kept in encoded:
        labels = [IGNORE] * len(tokens)
        for position, label in kept:
            labels[position] = label
        examples.append({"input_ids": tokens, "labels": labels})
    args = transformers.TrainingArguments(
        output_dir=config.output_dir, num_train_epochs=config.num_epochs, max_steps=config.max_steps,
        per_device_train_batch_size=config.per_device_batch_size, gradient_accumulation_steps=accumulation,
        learning_rate=config.learning_rate, lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio,  # a float in [0, 1) is a share of the steps in transformers 5
        adam_beta1=config.adam_beta1, adam_beta2=config.adam_beta2, weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm, bf16=bf16, gradient_checkpointing=config.gradient_checkpointing,
        seed=config.seed, logging_steps=config.logging_steps, save_strategy=config.save_strategy,
        save_steps=config.save_steps, save_total_limit=config.save_total_limit, report_to=config.report_to,
        logging_nan_inf_filter=False, ddp_find_unused_parameters=False, use_cpu=use_cpu,
        dataloader_pin_memory=not use_cpu, disable_tqdm=not on_terminal())
    trainer = transformers.Trainer(model=model, args=args, train_dataset=examples, processing_class=tokenizer,
                                   data_collator=transformers.DataCollatorForTokenClassification(tokenizer))
    watch = Watch(torch, config.learning_rate, config.output_dir)
    trainer.add_callback(watch_callback(transformers, watch))
    # Each log is one line on stderr (under the bar on a terminal): stdout is for what a user asked for.
    bar = on_terminal()
    trainer.remove_callback(transformers.ProgressCallback if bar else transformers.PrinterCallback)
    trainer.add_callback(log_lines_callback(transformers, bar)())
    return trainer, watch


def step_accuracy(prm: HFPRM, encoded) -> float:
    """Share of the labelled steps whose likelier label (good: a score above 1/2) is their label."""
    prm.model.eval()
    right = total = 0
    for start in range(0, len(encoded), prm.batch_size):
        chunk = encoded[start:start + prm.batch_size]
        for (_, kept), scores in zip(chunk, prm._forward([(tokens, [p for p, _ in kept]) for tokens, kept in chunk])):
            right += sum((score > 0.5) == bool(label) for score, (_, label) in zip(scores, kept))
            total += len(kept)
    return right / total
