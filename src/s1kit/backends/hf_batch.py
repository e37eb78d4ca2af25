"""One batch of the transformers backend: KV-cache decoding of sequences and the probes they branch.

Every row of the batch decodes one token per step. A forced token is fed exactly like a sampled
one, continuing from the KV cache, so an intervention never re-encodes the context and never
makes the other rows wait. Rows that finish are dropped from the batch (and its cache).

A sequence with a probe plan (budget.probes) branches a probe where the plan says: the probe is a
new row of the batch whose cache is a copy of its sequence's rows so far, so it never re-encodes
the context either; it appends the plan's forced text, decodes a few tokens greedily, and lands in
the sequence's ``probes`` when it ends. The sequence goes on untouched in its own row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from s1kit.budget.config import SamplingConfig
from s1kit.budget.probes import Moment, Probe
from s1kit.budget.state import SequenceState
from s1kit.errors import require


@dataclass
class _Sequence:
    """A row decoding one sequence under its state."""

    state: SequenceState
    generator: object

    @property
    def done(self) -> bool:
        return self.state.done


@dataclass
class _ProbeRow:
    """A row decoding one probe of a sequence: forced text first, then greedy tokens."""

    owner: SequenceState
    position: int
    thinking_tokens: int
    queue: list[int]
    budget: int
    stops: frozenset[int]
    tokens: list[int] = field(default_factory=list)
    logprobs: list[float | None] = field(default_factory=list)
    done: bool = False

    def start(self) -> int:
        return self._forced()

    def step(self, pick: int, logprob: float) -> int | None:
        """The token to feed after the model's ``pick``; None when the probe is over."""
        if self.queue:
            return self._forced()
        decoded = len(self.logprobs) - self.logprobs.count(None)
        if pick not in self.stops and decoded < self.budget:
            self.tokens.append(pick)
            self.logprobs.append(logprob)
            if decoded + 1 < self.budget:
                return pick
        self.done = True
        self.owner.probes.append(Probe(self.position, self.thinking_tokens, self.tokens, self.logprobs))
        self.owner.probes.sort(key=lambda p: p.position)
        return None

    def _forced(self) -> int:
        token = self.queue.pop(0)
        self.tokens.append(token)
        self.logprobs.append(None)
        return token


def run_batch(backend, prompt_ids, states: list[SequenceState], sampling: SamplingConfig, seeds, bar) -> None:
    """Decode every state of the batch until it is done (see the module's docstring)."""
    torch, model = backend.torch, backend.model
    transformers = require("transformers", "hf")
    n = len(prompt_ids)
    width = max(len(p) for p in prompt_ids)
    # Left padding, so every row's next token lands in the same column.
    input_ids = torch.full((n, width), backend.pad_id, dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    for r, ids in enumerate(prompt_ids):
        input_ids[r, width - len(ids) :] = torch.tensor(ids)
        mask[r, width - len(ids) :] = 1
    input_ids, mask = input_ids.to(backend.device), mask.to(backend.device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    rows: list = [_Sequence(s, torch.Generator(device=backend.device).manual_seed(seed)) for s, seed in zip(states, seeds)]
    cache = transformers.DynamicCache(config=model.config)
    with torch.inference_mode():
        out = model(input_ids=input_ids, attention_mask=mask, position_ids=positions,
                    past_key_values=cache, use_cache=True, logits_to_keep=1)
        next_pos = positions[:, -1:] + 1
        while True:
            fed, spawned = _step(backend, out.logits[:, -1, :], rows, sampling)
            keep = [j for j, row in enumerate(rows) if not row.done]
            bar.update(sum(isinstance(rows[j], _Sequence) and rows[j].done for j in range(len(rows))))
            if not keep and not spawned:
                return
            index = keep + [source for source, _ in spawned]
            if index != list(range(len(rows))):
                # Finished rows leave (the tail of a batch costs only what is left); a probe takes
                # a copy of its sequence's cache rows.
                selected = torch.tensor(index, device=backend.device)
                cache.batch_select_indices(selected)
                mask, next_pos = mask[selected], next_pos[selected]
            fed = [fed[j] for j in keep] + [probe.start() for _, probe in spawned]
            rows = [rows[j] for j in keep] + [probe for _, probe in spawned]
            step = torch.tensor(fed, device=backend.device).unsqueeze(-1)
            mask = torch.cat([mask, mask.new_ones((len(rows), 1))], dim=-1)
            out = model(input_ids=step, attention_mask=mask, position_ids=next_pos, past_key_values=cache, use_cache=True)
            next_pos = next_pos + 1


def _step(backend, logits, rows: list, sampling: SamplingConfig) -> tuple[list, list]:
    """One position of every row: the token each feeds next (None for a row that is over) and the
    probes branched off here, as (the row they copy, the probe)."""
    torch = backend.torch
    seq = [j for j, row in enumerate(rows) if isinstance(row, _Sequence)]
    generators = [rows[j].generator for j in seq]
    picks = dict(zip(seq, backend._choose(logits[seq], list(range(len(seq))), sampling, generators))) if seq else {}
    scored = [j for j, row in enumerate(rows) if not isinstance(row, _Sequence) or row.state.scores is not None]
    logp = dict(zip(scored, torch.log_softmax(logits[scored].float(), dim=-1))) if scored else {}
    greedy = logits.argmax(-1).tolist() if len(seq) < len(rows) else None
    fed, spawned = [], []
    for j, row in enumerate(rows):
        if not isinstance(row, _Sequence):
            fed.append(row.step(greedy[j], float(logp[j][greedy[j]])))
            continue
        state, plan = row.state, row.state.probe_plan
        moment = Moment.of(state) if plan is not None else None
        token = state.advance(picks[j])
        while token is None:  # an end suppressed with nothing appended: the model picks again here
            token = state.advance(backend._choose(logits[j : j + 1], [0], sampling, [row.generator])[0])
        forced = state.forced[-1]
        if state.scores is not None:
            _score(state, logp[j], token, forced, torch)
        if plan is not None:
            position = len(state.output) - 1
            wait_start = bool(state.spans) and state.spans[-1].start == position and state.spans[-1].kind == "wait"
            if plan.due(moment, token, forced, wait_start, len(state.probes) + _pending(rows, spawned, state)):
                spawned.append((j, _ProbeRow(state, position, moment.thinking_tokens, list(plan.forced), plan.tokens,
                                             state.tokens.stop)))
        fed.append(token)
    return fed, spawned


def _pending(rows: list, spawned: list, state: SequenceState) -> int:
    """Probes of ``state`` still running: they count as taken."""
    return sum(isinstance(r, _ProbeRow) and r.owner is state and not r.done for r in rows) + sum(
        p.owner is state for _, p in spawned)


def _score(state: SequenceState, logp, token: int, forced: bool, torch) -> None:
    """The state's scores at the position just appended (nothing the model chose where forced)."""
    scores = state.scores
    if forced:
        scores.add(None, None)
        return
    confidence = None
    if scores.top_k > 1:
        confidence = -float(torch.topk(logp, scores.top_k).values.mean())
    scores.add(float(logp[token]), confidence)
