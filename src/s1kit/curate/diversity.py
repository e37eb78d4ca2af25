"""Diversity selection: s1's last curation stage, which draws the final s1K from the filtered pool.

s1 (Section 2.2, "Diversity", and Algorithm 1 in the appendix) repeats until 1,000 questions are
picked: choose a domain uniformly at random among the domains that still have questions, rank that
domain's questions by reasoning-trace length (longest = rank 0), and pick one with probability
proportional to 2^-rank. Drawing domains uniformly, not questions, is what spreads s1K over 50
domains however unevenly the pool covers them; the 2^-rank weight keeps the bias toward long,
hence difficult, traces. The 384 questions s1 took from datasets it trusted as benchmark quality
are kept first and count toward the 1,000 (``first``).

One difference from s1's released selection script: once it holds 700 questions, it draws domains
weighted by how often they occur among the AIME and GPQA questions (GPQA scaled to half of AIME's
count) instead of uniformly. The paper describes the uniform draw, which is what this
module does throughout.

``select`` also runs two of the paper's data ablations (Table 2): ``random`` ("1K-random", uniform
over the pool) and ``longest`` ("1K-longest", the longest traces). The paper's "1K-diverse"
samples domains uniformly but ignores length, which ``diverse`` here does not.

Example: ``diversity(records, size=1000, seed=0).kept`` is an s1K-style selection.
"""

from __future__ import annotations

import math
import random

from s1kit.curate.stage import StageResult
from s1kit.errors import S1kitError, shown

SELECTIONS = ("diverse", "longest", "random", "all")
"""The presets ``select`` understands."""


def diverse_sample(records: list[dict], size: int, seed: int, length_field: str = "trace_tokens",
                   domain_field: str = "domain", first=()) -> list[dict]:
    """s1's Algorithm 1: ``size`` records, ``first`` at the front, the rest drawn domain by domain.

    Within a domain, rank 0 is the longest trace; equal lengths rank by position in ``records``.
    A record in ``first`` that is also in ``records`` (the same object) is not drawn again. Every
    value of ``domain_field`` is a domain, ``unknown`` included; drop records beforehand to
    exclude one.
    """
    first, pool = _split(records, first)
    _check_size(size, len(first), len(pool))
    rng = random.Random(seed)
    by_domain: dict = {}
    for index, record in pool:
        _length(record, index, length_field)
        by_domain.setdefault(_domain(record, index, domain_field), []).append((index, record))
    # Sorted once, shortest first: rank 0 sits at the end, so popping rank r moves only r items,
    # and ranks are geometric, so each draw is short even for a 50k-record domain.
    queues = {domain: [record for _, record in sorted(
                  items, key=lambda item: (item[1][length_field], -item[0]))]
              for domain, items in by_domain.items()}
    active = sorted(queues, key=str)  # domain order independent of record order
    picked = list(first)
    while len(picked) < size and active:
        slot = rng.randrange(len(active))
        queue = queues[active[slot]]
        picked.append(queue.pop(len(queue) - 1 - _draw_rank(rng, len(queue))))
        if not queue:
            active.pop(slot)
    return picked


def select(records: list[dict], size: int, seed: int, how: str, *,
           length_field: str = "trace_tokens", domain_field: str = "domain",
           first=()) -> list[dict]:
    """``size`` records chosen the ``how`` way: ``diverse``, ``longest``, ``random`` or ``all``.

    ``random`` samples uniformly without replacement; ``longest`` takes the longest traces (equal
    lengths by position); ``diverse`` is :func:`diverse_sample`; ``all`` keeps every record whatever
    ``size`` says, in the seeded order ``random`` gives at full size (so training batches mix the
    domains). All keep ``first`` at the front.
    """
    if how not in SELECTIONS:
        raise S1kitError(f"unknown selection {how!r}; choose from {', '.join(SELECTIONS)}")
    if how == "diverse":
        return diverse_sample(records, size, seed, length_field, domain_field, first)
    first, pool = _split(records, first)
    if how == "all":
        how, size = "random", len(first) + len(pool)
    _check_size(size, len(first), len(pool))
    wanted = size - len(first)
    if how == "random":
        return first + [record for _, record in random.Random(seed).sample(pool, wanted)]
    ranked = sorted(pool, key=lambda item: (-_length(item[1], item[0], length_field), item[0]))
    return first + [record for _, record in ranked[:wanted]]


def diversity(records: list[dict], size: int, seed: int, how: str = "diverse", *,
              length_field: str = "trace_tokens", domain_field: str = "domain",
              first=()) -> StageResult:
    """The diversity stage: :func:`select`'s picks kept, all other records dropped, not selected."""
    kept = select(records, size, seed, how, length_field=length_field,
                  domain_field=domain_field, first=first)
    chosen = {id(record) for record in kept}
    return StageResult("diversity", kept=kept,
                       dropped=[(record, "not selected") for record in records
                                if id(record) not in chosen])


def _draw_rank(rng: random.Random, n: int) -> int:
    """A rank in [0, n) with probability 2^-rank / (2 - 2^(1-n)), from one uniform draw."""
    # Walk down the weights 1, 1/2, 1/4, ...: half the draws stop at rank 0, so the expected walk
    # is under two steps. The rank bound guards against float rounding on the last step.
    u = rng.random() * (2.0 - math.ldexp(1.0, 1 - n))
    rank, weight = 0, 1.0
    while u >= weight and rank < n - 1:
        u -= weight
        weight /= 2
        rank += 1
    return rank


def _split(records: list[dict], first) -> tuple[list[dict], list[tuple[int, dict]]]:
    """``first`` as a list, and the other records with their positions in ``records``."""
    first = list(first)
    taken = {id(record) for record in first}
    return first, [(index, record) for index, record in enumerate(records)
                   if id(record) not in taken]


def _check_size(size: int, n_first: int, n_pool: int) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise S1kitError(f"size must be a whole number of records, 0 or more, got {shown(size)}")
    if n_first > size:
        raise S1kitError(f"size ({size}) is smaller than the {n_first} records kept first; "
                         f"raise --size to at least {n_first}")
    if size > n_first + n_pool:
        raise S1kitError(f"size ({size}) exceeds the {n_first + n_pool} records that survived "
                         f"the earlier stages; lower --size to {n_first + n_pool} or less")


def _length(record: dict, index: int, field: str) -> float:
    value = record.get(field)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise S1kitError(f"record {index} has {field}={value!r}, not a token count; count each "
                         f"reasoning trace's tokens into '{field}' first, or pass the length "
                         f"field that holds them")
    return value


def _domain(record: dict, index: int, field: str):
    if field not in record:
        raise S1kitError(f"record {index} has no '{field}'; classify domains first (record "
                         f"'unknown' where the classifier names no MSC class), or pass the "
                         f"domain field that holds them")
    return record[field]
