"""The `train` stage: supervised fine-tuning on reasoning traces with TRL's SFTTrainer.

main(config) reads top to bottom: check the output directory, load and tokenize the rows (loss on
the assistant turn only, see data.py), load the model, work out gradient accumulation from the
global batch and the number of processes, train, save a checkpoint every s1kit backend loads.

One process or many: under `accelerate launch --config_file recipes/accelerate/fsdp.yaml -m
s1kit.train` every process runs this same function; accelerate shards the model (FSDP full shard,
wrapping each decoder layer) and the Trainer gathers the full weights when saving.

Code that depends on the TRL version (SFTConfig's fields, the token counter) lives here only;
it is tested on trl 1.16 with transformers 5.19.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from s1kit.errors import S1kitError, require
from s1kit.files import write_text
from s1kit.models import load_causal_lm, load_tokenizer
from s1kit.progress import on_terminal
from s1kit.train import scratch
from s1kit.train.config import TrainConfig, gradient_accumulation_steps
from s1kit.train.data import encode_rows, load_rows, prepare_tokenizer
from s1kit.train.divergence import Watch, watch_callback, watched_trainer_class
from s1kit.train.order import training_order
from s1kit.train.run_dir import SUMMARY_FILE, locked_output_dir, note, plan_output_dir, prepare_output_dir, saved_steps
from s1kit.train.runtime import check_report_to, distributed_state, has_accelerator, log_lines_callback

DTYPES = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}


def main(config: TrainConfig) -> dict:
    """Train, save the model to config.output_dir, and return the run's summary. One run at a time
    writes output_dir: it holds the directory's lock (s1kit.locks) throughout."""
    torch = require("torch", "train")
    accelerate = require("accelerate", "train")
    require("trl", "train")
    if config.data is None:
        raise S1kitError("no training data; pass --data DIR/dataset.jsonl (or set data: in the recipe)")

    if config.num_threads is not None:
        torch.set_num_threads(config.num_threads)
    with locked_output_dir(config):
        return train(config, torch, accelerate)


def train(config: TrainConfig, torch, accelerate) -> dict:
    """The run itself, in the locked output directory."""
    if config.objective == "prm":
        from s1kit.train.prm import train_prm

        return train_prm(config, torch, accelerate)
    # Cheap checks before the model loads: the directory, the trackers, a new model's config, then the rows.
    action, checkpoint = plan_output_dir(config)
    check_report_to(config.report_to)
    rows, tokenizer, new_config = rows_and_tokenizer(config)
    name = config.model or f"a new {config.model_config} model"
    fmt, eot = prepare_tokenizer(tokenizer, config.format, config.pad_token, name)
    encoded = encode_rows(rows, tokenizer, fmt, eot, config.block_size, config.system_prompt, config.answer_prefix)
    note(f"{len(rows)} rows in format {fmt.name}; truncated {encoded.truncated} at block_size {config.block_size} "
         f"(longest {encoded.longest} tokens)" + (f", {encoded.dropped} dropped (prompt alone fills the block)" if encoded.dropped else "")
         + ("; truncated examples lose their end, answer included, so raise block_size if you can" if encoded.truncated else ""))

    # Join the processes before loading: under FSDP with cpu_ram_efficient_loading, transformers
    # then reads the weights on rank 0 only instead of once per process.
    use_cpu = not has_accelerator(torch)
    state = distributed_state(accelerate, use_cpu)
    accumulation = gradient_accumulation_steps(config.global_batch_size, state.num_processes, config.per_device_batch_size)
    model = build_model(config, new_config, tokenizer, torch)
    warn_if_beyond_context(model, config.block_size, encoded.lengths)

    note(f"global batch {config.global_batch_size} = {state.num_processes} process(es) x {config.per_device_batch_size} "
         f"per device x {accumulation} accumulation steps; pad token {tokenizer.pad_token!r}, end of turn {eot!r}")
    if state.is_main_process:
        prepare_output_dir(config, action)
    state.wait_for_everyone()

    trainer = None
    try:
        trainer, throughput, watch = build_trainer(config, model, tokenizer, encoded.examples, accumulation, use_cpu)
        result = trainer.train(resume_from_checkpoint=checkpoint)
        watch.check_weights(trainer.optimizer, trainer.state.global_step, trainer.state.max_steps, "the final model")

        # The weights (gathered from FSDP shards), config, generation config and the tokenizer with
        # its chat template and pad token: what `s1kit generate --model OUT` loads. The summary says
        # they are whole: the one of an earlier run goes first, this run's comes last.
        if state.is_main_process:
            Path(config.output_dir, SUMMARY_FILE).unlink(missing_ok=True)
        trainer.accelerator.unwrap_model(trainer.model).config.use_cache = True
        trainer.save_model(config.output_dir)
        summary = run_summary(config, trainer, result, encoded, fmt.name, eot, tokenizer.pad_token,
                              state.num_processes, accumulation, checkpoint)
        summary["tokens_per_second_per_log"] = throughput.rates
        if state.is_main_process:
            write_text(Path(config.output_dir, SUMMARY_FILE), json.dumps(summary, indent=2) + "\n")
    except KeyboardInterrupt:  # Ctrl-C: say which checkpoint a --resume continues from
        raise KeyboardInterrupt(saved_steps(config, trainer.state.max_steps if trainer is not None else None)) from None
    state.wait_for_everyone()
    note(f"trained {summary['steps']} steps, {summary['tokens']} tokens in {summary['train_seconds']:.1f} s "
         f"({summary['tokens_per_second']:.0f} tokens/s); loss {summary['first_loss']} -> {summary['final_loss']}; "
         f"model saved to {config.output_dir}")
    return summary


def rows_and_tokenizer(config: TrainConfig):
    """The training rows, the tokenizer, and for a model trained from scratch its transformers config
    (None when fine-tuning). A new model's config is checked before the rows load."""
    if config.model_config is None:
        rows = load_rows(config.data, config.fields, config.data_split, config.max_examples)
        return rows, load_tokenizer(config.model), None
    where = f"model_config {config.model_config}"
    values = scratch.read_model_config(config.model_config)
    if scratch.bpe_size(config.tokenizer) is None:
        tokenizer = scratch.load_tokenizer(config.tokenizer)
    else:  # checked against the bytes it starts from; trained on the rows below
        tokenizer = scratch.build_byte_tokenizer()
    scratch.model_config(values, tokenizer, where)
    rows = load_rows(config.data, config.fields, config.data_split, config.max_examples)
    if scratch.bpe_size(config.tokenizer) is not None:
        tokenizer = scratch.load_tokenizer(config.tokenizer,
                                           scratch.chatml_texts(rows, config.answer_prefix, config.system_prompt))
    return rows, tokenizer, scratch.model_config(values, tokenizer, where)


def build_model(config: TrainConfig, new_config, tokenizer, torch):
    """The model to train: a new one from ``new_config`` (seeded), or the one ``config.model`` names."""
    dtype = "auto" if config.dtype == "auto" else getattr(torch, DTYPES[config.dtype])
    if new_config is None:
        return load_causal_lm(config.model, dtype)
    model = scratch.new_model(new_config, config.seed)
    if dtype != "auto":
        model.to(dtype)
    note(f"new {scratch.describe(model)} from {config.model_config}, tokenizer {config.tokenizer} ({len(tokenizer)} tokens)")
    return model


def build_trainer(config: TrainConfig, model, tokenizer, examples: list[dict], accumulation: int, use_cpu: bool):
    """TRL's SFTTrainer over the encoded examples (in schedule order when the config has one), with
    s1kit's throughput, divergence and log-line callbacks; returns it, the throughput callback and
    the divergence watch (train/divergence.py)."""
    transformers, trl, datasets, torch = (require(name, "train") for name in ("transformers", "trl", "datasets", "torch"))
    sequential = bool(config.curriculum_steps or config.group_by_length)
    if sequential:
        # The schedule is the data's order (train/order.py); the Trainer reads it front to back.
        order = training_order([len(e["input_ids"]) for e in examples], config.global_batch_size, config.num_epochs,
                               config.seed, max_steps=config.max_steps, curriculum_steps=config.curriculum_steps,
                               curriculum_share=config.curriculum_share, group_by_length=config.group_by_length)
        examples = [examples[i] for i in order]
    watch = Watch(torch, config.learning_rate, config.output_dir)
    trainer = watched_trainer_class(trl, watch)(
        model=model, args=sft_args(trl, config, accumulation, use_cpu, sequential),
        train_dataset=datasets.Dataset.from_list(examples), processing_class=tokenizer)
    warn_if_fsdp_dropped(trainer.accelerator)
    throughput = throughput_callback(transformers)()
    # First in line, so that the progress bar prints the tokens/s this callback adds to each log.
    trainer.callback_handler.callbacks.insert(0, throughput)
    trainer.add_callback(warmup_check_callback(transformers))
    trainer.add_callback(watch_callback(transformers, watch))
    # transformers prints each log dict on stdout (under its bar, or bare without one): stdout is
    # for what a user asked for, so each log becomes one line on stderr.
    if on_terminal():
        trainer.remove_callback(transformers.ProgressCallback)
        trainer.add_callback(log_lines_callback(transformers, bar=True)())
    else:
        trainer.remove_callback(transformers.PrinterCallback)
        trainer.add_callback(log_lines_callback(transformers)())
    return trainer, throughput, watch


def warn_if_fsdp_dropped(accelerator) -> None:
    """accelerate (1.15) turns FSDP on only for GPU-like devices (AcceleratorState: MULTI_CPU is not
    among the types it converts): an FSDP config on CPU silently runs data-parallel."""
    wanted = os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true"
    if wanted and accelerator.distributed_type.name != "FSDP":
        note(f"warning: the accelerate config asks for FSDP, but accelerate runs {accelerator.distributed_type.name} "
             f"here (it shards models only on GPUs and other accelerators); the {accelerator.num_processes} "
             "process(es) each hold the whole model")


def sft_args(trl, config: TrainConfig, accumulation: int, use_cpu: bool, sequential: bool = False):
    """TRL's SFTConfig for the recipe. The dataset arrives tokenized with its labels, so TRL only
    pads (right, with the pad token; labels -100) and never re-renders or re-masks it. A
    ``sequential`` dataset is already in training order, epochs included: one pass over it."""
    return trl.SFTConfig(
        output_dir=config.output_dir,
        num_train_epochs=1 if sequential else config.num_epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.per_device_batch_size,
        gradient_accumulation_steps=accumulation,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio,  # a float in [0, 1) is a share of the steps in transformers 5
        adam_beta1=config.adam_beta1,
        adam_beta2=config.adam_beta2,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        bf16=config.bf16,
        gradient_checkpointing=config.gradient_checkpointing,
        train_sampling_strategy="sequential" if sequential else "random",
        seed=config.seed,
        logging_steps=config.logging_steps,
        save_strategy=config.save_strategy,
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        report_to=config.report_to,
        logging_nan_inf_filter=False,  # transformers would log a NaN loss as the mean of the last ones (0 after a log)
        max_length=config.block_size,  # already truncated; TRL's default (1024) would cut again
        packing=False,
        ddp_find_unused_parameters=False,  # every parameter gets a gradient; the search costs a graph pass
        use_cpu=use_cpu,
        dataloader_pin_memory=not use_cpu,
        disable_tqdm=not on_terminal(),  # away from a terminal, log_lines_callback writes plain lines
    )


def warn_if_beyond_context(model, block_size: int, lengths: list[int]) -> None:
    context = getattr(model.config, "max_position_embeddings", None)
    if context and block_size > context:
        longer = sum(length > context for length in lengths)
        note(f"warning: block_size {block_size} exceeds the model's context ({context} positions); {longer} example(s) "
             f"are longer than {context} tokens and train on positions the model never saw (rotary models "
             f"extrapolate, often poorly; models with learned positions fail); lower block_size to {context} "
             "or extend the model's context first")


def warn_if_all_warmup(steps: int, warmup_steps: int) -> None:
    """A run whose every optimizer step is a warmup step never reaches its learning rate (the
    first step's is 0): with a single step, the model does not change at all."""
    if steps <= warmup_steps:
        note(f"warning: all {steps} optimizer step(s) fall within the {warmup_steps} warmup step(s), so the learning "
             "rate never reaches learning_rate (the first step's is 0) and the model barely learns; train on more "
             "data or more steps (max_steps, num_epochs), or lower warmup_ratio")


def warmup_check_callback(transformers):
    """A callback that runs :func:`warn_if_all_warmup` once the Trainer knows its number of steps."""

    class WarmupCheck(transformers.TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            warn_if_all_warmup(state.max_steps, args.get_warmup_steps(state.max_steps))

    return WarmupCheck


def throughput_callback(transformers):
    """A callback class adding tokens_per_second (non-padding tokens, all processes) to each log."""

    class Throughput(transformers.TrainerCallback):
        def __init__(self):
            self.last = None
            self.rates: list[float] = []

        def on_train_begin(self, args, state, control, **kwargs):
            self.last = (time.perf_counter(), 0)

        def on_log(self, args, state, control, logs=None, **kwargs):
            # TRL's num_tokens counts every non-padding token seen since train() began.
            if logs is None or "num_tokens" not in logs or self.last is None:
                return
            now, tokens = time.perf_counter(), logs["num_tokens"]
            rate = (tokens - self.last[1]) / max(now - self.last[0], 1e-9)
            self.last = (now, tokens)
            self.rates.append(rate)
            logs["tokens_per_second"] = round(rate, 1)

    return Throughput


def run_summary(config, trainer, result, encoded, format_name, eot, pad_token, processes, accumulation, checkpoint) -> dict:
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    seconds = float(result.metrics.get("train_runtime", 0.0))
    tokens = int(getattr(trainer, "_total_train_tokens", 0))  # TRL's counter, since this train() call
    return {
        "model": config.model, "model_config": config.model_config, "format": format_name, "end_of_turn": eot, "pad_token": pad_token,
        "examples": len(encoded.examples), "example_tokens": sum(len(e["input_ids"]) for e in encoded.examples),
        "truncated": encoded.truncated, "dropped": encoded.dropped,
        "longest_tokens": encoded.longest, "block_size": config.block_size, "num_processes": processes,
        "per_device_batch_size": config.per_device_batch_size, "gradient_accumulation_steps": accumulation,
        "global_batch_size": config.global_batch_size, "steps": trainer.state.global_step,
        "resumed_from": checkpoint, "train_seconds": seconds, "tokens": tokens,
        "tokens_per_second": tokens / seconds if seconds else 0.0,
        "first_loss": losses[0] if losses else None, "final_loss": losses[-1] if losses else None, "losses": losses,
    }
