"""How a reward-guided search spends its samples over the live nodes of a tree: REBASE's balance
(Wu et al. 2024, arXiv 2408.00724, Section 3) and a step-level beam's cut.

Pure functions of the nodes' rewards; methods/search.py grows the tree with them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from s1kit.errors import S1kitError


def rebase_widths(rewards: Sequence[float], width: int, temperature: float) -> list[int]:
    """Expansions per live node: ``width`` shared in proportion to softmax(reward / temperature),
    rounded by largest remainder so they sum to ``width`` exactly (equal remainders: the earlier
    node first). A node given 0 is pruned."""
    if temperature <= 0 or not math.isfinite(temperature):
        raise S1kitError(f"rebase_temperature must be a positive number, got {temperature!r}")
    if width < 0:
        raise ValueError("width must be >= 0")
    if not rewards or width == 0:
        return [0] * len(rewards)
    top = max(rewards)
    weights = [math.exp((r - top) / temperature) for r in rewards]  # shifted: no overflow
    total = sum(weights)
    shares = [width * w / total for w in weights]
    counts = [math.floor(s) for s in shares]
    left = width - sum(counts)
    order = sorted(range(len(rewards)), key=lambda i: (-(shares[i] - counts[i]), i))
    for i in order[:left]:
        counts[i] += 1
    return counts


def beam_keep(rewards: Sequence[float], beam_width: int) -> list[int]:
    """The indexes of the ``beam_width`` best nodes, best first (equal rewards: the earlier node)."""
    return sorted(range(len(rewards)), key=lambda i: (-rewards[i], i))[:max(beam_width, 0)]
