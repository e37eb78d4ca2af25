"""A run that diverged stops at once, before its NaN reaches a checkpoint or the final model.

One NaN or infinite loss makes every gradient NaN (clipping multiplies them by the NaN norm), and
one AdamW step with them makes every weight NaN: training on would save checkpoints and a model
that a later --resume or `s1kit eval` trusts, and that generate nothing. So:

- before each optimizer step, the step's losses and the gradients are checked; a NaN or infinite
  one stops the run with one line naming the step, and that step's update is never applied;
- before each checkpoint and the final model are written, the weights are checked: an update from
  finite gradients can still overflow them (a learning rate of 1e30, say).

transformers would also log a NaN loss as 0 (its logging_nan_inf_filter, which sft_args turns off).
Under several processes each checks its own shard and the verdicts are combined, so that all stop
together rather than leave the others waiting in a collective.
"""

from __future__ import annotations

from pathlib import Path

from s1kit.errors import S1kitError
from s1kit.train.run_dir import last_checkpoint


class Watch:
    """The checks, and the losses of the optimizer step under way (one per micro-batch)."""

    def __init__(self, torch, learning_rate: float, output_dir: str):
        self.torch = torch
        self.learning_rate = learning_rate
        self.output_dir = output_dir
        self.losses: list = []

    def check_step(self, optimizer, step: int, steps: int) -> None:
        """Stop before optimizer step ``step`` (from 1) if its losses or gradients are not finite."""
        losses, self.losses = self.losses, []
        grads = [local(p.grad) for p in parameters(optimizer) if p.grad is not None]
        if self.all_finite(losses + grads):
            return
        loss = self.torch.stack([value.float().mean() for value in losses]).mean().item() if losses else float("nan")
        self.stop(step, steps, f"the loss is {loss:.4g} and the gradients hold NaN or inf; this step's update was "
                               "not applied")

    def check_weights(self, optimizer_or_model, step: int, steps: int, what: str) -> None:
        """Stop before ``what`` is saved if the weights hold NaN or inf."""
        tensors = [local(p) for p in parameters(optimizer_or_model)]
        if not self.all_finite(tensors):
            self.stop(step, steps, f"its update left NaN or inf in the weights, so {what} was not saved")

    def all_finite(self, tensors: list) -> bool:
        """Whether every tensor here, and on every other process, holds finite numbers only."""
        torch = self.torch
        if not tensors:
            return True
        bad = torch.stack([(~torch.isfinite(t.detach())).any() for t in tensors]).any().to(torch.int32)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(bad, op=torch.distributed.ReduceOp.MAX)
        return not bad.item()

    def stop(self, step: int, steps: int, what: str) -> None:
        out = Path(self.output_dir)
        checkpoint = last_checkpoint(out) if out.is_dir() else None
        kept = f"the last checkpoint is {Path(checkpoint).name}" if checkpoint else "no checkpoint was saved before it"
        raise S1kitError(f"training diverged at step {step} of {steps}: {what}; {kept}. Lower learning_rate (now "
                         f"{self.learning_rate:g}) or check the data, and start over with --overwrite")


def parameters(holder) -> list:
    """The parameters an optimizer updates (what it steps, e.g. FSDP's shards), or a model's."""
    groups = getattr(holder, "param_groups", None)
    if groups is not None:
        return [p for group in groups for p in group["params"]]
    return list(holder.parameters())


def local(tensor):
    """This process's part of a sharded tensor (FSDP2's DTensor), without a collective per tensor."""
    to_local = getattr(tensor, "to_local", None)
    return to_local() if to_local is not None else tensor


def watched_trainer_class(trl, watch: Watch):
    """TRL's SFTTrainer that hands each micro-batch's loss to ``watch`` (training_step is the
    Trainer's documented place to hook into a step)."""

    class WatchedSFTTrainer(trl.SFTTrainer):
        def training_step(self, *args, **kwargs):
            loss = super().training_step(*args, **kwargs)
            watch.losses.append(loss.detach())
            return loss

    return WatchedSFTTrainer


def watch_callback(transformers, watch: Watch):
    """A callback running ``watch``'s checks: each step's before its update, the weights' before a
    checkpoint (DefaultFlowCallback, earlier in the list, has decided by then whether one is saved)."""

    class StopOnDivergence(transformers.TrainerCallback):
        def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
            watch.check_step(optimizer, state.global_step + 1, state.max_steps)

        def on_step_end(self, args, state, control, optimizer=None, **kwargs):
            if control.should_save:
                watch.check_weights(optimizer, state.global_step, state.max_steps, f"checkpoint-{state.global_step}")

        def on_epoch_end(self, args, state, control, optimizer=None, **kwargs):
            if control.should_save:
                watch.check_weights(optimizer, state.global_step, state.max_steps, f"checkpoint-{state.global_step}")

    return StopOnDivergence
