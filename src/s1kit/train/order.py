"""The order examples are trained in: seeded shuffles, length buckets, and a short-first curriculum.

The Trainer then reads the examples in exactly this order (sequential sampling), so the schedule
is data, written once, the same on every run with the same seed:

1. **Curriculum** (``curriculum_steps``): the first steps draw only from the shortest
   ``curriculum_share`` of the examples. A small model trained from scratch learns to find a tagged
   item in its prompt (an induction-style lookup) several times sooner on short examples, where
   the item is near and few positions compete for attention; on long ones it plateaus for hundreds
   of steps first.
2. **Epochs**: then every example once per epoch, reshuffled each epoch.
3. **Length buckets** (``group_by_length``): within windows of 50 batches, examples of similar length
   share a batch (less padding); the batches themselves are then shuffled.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

BUCKET_WINDOW = 50
"""Batches per window whose examples are sorted by length before they are cut into batches."""


def training_order(lengths: Sequence[int], batch_size: int, epochs: float, seed: int, *, max_steps: int = -1,
                   curriculum_steps: int = 0, curriculum_share: float = 0.3, group_by_length: bool = False) -> list[int]:
    """Example indices in training order, a whole number of batches of ``batch_size``.

    ``epochs`` passes over the data follow the curriculum; ``max_steps`` > 0 instead sets the total
    number of batches (curriculum included), cycling through epochs as needed.
    """
    rng = random.Random(seed)
    n = len(lengths)
    order: list[int] = []
    if curriculum_steps > 0:
        shortest = sorted(range(n), key=lambda i: (lengths[i], i))[: max(batch_size, math.ceil(curriculum_share * n))]
        for _ in range(curriculum_steps):
            order += rng.sample(shortest, min(batch_size, len(shortest)))
    total = max_steps * batch_size if max_steps > 0 else len(order) + math.ceil(epochs * n / batch_size) * batch_size
    while len(order) < total:
        epoch = list(range(n))
        rng.shuffle(epoch)
        if group_by_length:
            epoch = _bucketed(epoch, lengths, batch_size, rng)
        order += epoch
    return order[:total]


def _bucketed(indices: list[int], lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[int]:
    batches = []
    window = batch_size * BUCKET_WINDOW
    for start in range(0, len(indices), window):
        chunk = sorted(indices[start : start + window], key=lambda i: lengths[i])
        batches += [chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    # A window's last, partial batch goes to the end, so every other batch stays whole.
    batches.sort(key=lambda batch: len(batch) < batch_size)
    return [i for batch in batches for i in batch]
