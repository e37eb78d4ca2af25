"""Which questions an extension of thinking fixed and which it broke: the trace browser's filters.

A question's verdict at a point is the share of its samples graded right there (one sample: right
or wrong). A *step* goes from a point to the next one with more thinking allowed:

- a **larger budget**: the next larger budget with the same number of forced Waits (ignored ends)
  and the same variant (no budget counts as the largest);
- **Wait**: the next larger number of forced Waits at the same budget and variant.

A question is

- **wrong at every point** when no sample is right at any point;
- **fixed by a larger budget** (or **by Wait**) when some step of that kind raises its share of
  right samples (one sample: wrong at the smaller budget or with fewer Waits, right at the larger
  one or with more);
- **broken by a larger budget** (or **by Wait**) when some step of that kind lowers it (right,
  then wrong).

Steps join neighbours only, and that loses nothing: a question right at budget 512 and wrong at
2048 is wrong after some step between them. A question can be both fixed and broken (right at 1024
only). Methods without budgets or ignores to sweep (class-conditional) have no steps, so nothing
is fixed or broken there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence


def steps(points: Sequence[dict]) -> list[list]:
    """``[from_point, to_point, kind]`` for each step between ``points`` (indices into them; dicts
    with ``budget``, ``num_ignore`` and ``variant``): budget steps by number of Waits, then Wait
    steps by budget, each in sweep order."""
    by_ignores: dict[tuple, list[int]] = defaultdict(list)
    by_budget: dict[tuple, list[int]] = defaultdict(list)
    for i, p in enumerate(points):
        by_ignores[(p["num_ignore"], p["variant"] or "")].append(i)
        by_budget[(_budget_order(p["budget"]), p["variant"] or "")].append(i)
    found = []
    for kind, groups, order in (("budget", by_ignores, lambda i: _budget_order(points[i]["budget"])),
                                ("wait", by_budget, lambda i: points[i]["num_ignore"])):
        for _, members in sorted(groups.items()):
            members = sorted(members, key=order)
            found += [[a, b, kind] for a, b in zip(members, members[1:]) if order(a) != order(b)]
    return found


def _budget_order(budget: int | None) -> tuple:
    return (budget is None, budget or 0)


def question_changes(shares: Sequence[Sequence[float | None]], step_list: Sequence[Sequence]) -> list[list[list[int]]]:
    """Per question, ``[step, direction]`` for each step that changes its share of right samples
    (``shares[q][p]``; None where it has no rows): +1 fixed, -1 broken."""
    result = []
    for row in shares:
        found = []
        for index, (a, b, _) in enumerate(step_list):
            if row[a] is not None and row[b] is not None and row[a] != row[b]:
                found.append([index, 1 if row[b] > row[a] else -1])
        result.append(found)
    return result

