"""What a parallel method made of each question's samples at each point: majority's voted answer,
best-of-n's pick. Computed as the run's metrics compute the curve's last entry (all K samples,
methods/parallel.py): the same vote, the same scorer, the same seeded tie-breaks, so the page's
verdict for a question is the one its accuracy at k=K counted."""

from __future__ import annotations

from collections import defaultdict

from s1kit.methods.parallel import builtin_scorers
from s1kit.metrics import best_pick, majority_vote, tie_seeds, voted_right


def combined(method: str, rows: list[dict], keys: list[tuple], questions: list[int], point_key, samples: int,
             seed: int | None, scorer: str | None) -> dict | None:
    """``{"method", "k", "scorer", "choice", "right", "unknown"}``: per point (in the order of
    ``keys``) and question (in the order of ``questions``, question indices), the voted answer
    (majority) or the picked sample (best-of-n), and whether it is right. None for a sequential
    method. ``choice`` and ``right`` are None, and ``unknown`` says why, for best-of-n with a scorer
    of the user's own ("scorer": its code is not run to draw a page) and for a run without its
    config ("config": no seed to break ties as the metrics broke them)."""
    if method not in ("majority", "best-of-n"):
        return None
    if seed is None:
        return {"method": method, "k": samples, "scorer": scorer, "choice": None, "right": None, "unknown": "config"}
    score = builtin_scorers().get(scorer or "shortest") if method == "best-of-n" else None
    by_point: dict[tuple, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        by_point[point_key(row)][row["question_index"]].append(row)
    choices, rights = [], []
    for key in keys:
        per_question = by_point[key]
        seeds = dict(zip(sorted(per_question), tie_seeds(seed, len(per_question))))  # as parallel_points
        point_choices, point_rights = [], []
        for question in questions:
            if question not in per_question:
                point_choices.append(None)
                point_rights.append(None)
                continue
            members = sorted(per_question[question], key=lambda r: r["sample"])[:samples]
            tie_seed = seeds[question]
            if method == "majority":
                voted = majority_vote([r["extracted_answer"] for r in members], tie_seed)
                right = voted_right(voted, members)
                point_choices.append(voted)
            elif score is not None:
                pick = best_pick([score(r) for r in members], tie_seed)
                right = bool(members[pick]["correct"])
                point_choices.append(members[pick]["sample"])
            else:
                right = None
            point_rights.append(None if right is None else int(right))
        choices.append(point_choices)
        rights.append(point_rights)
    known = method == "majority" or score is not None
    return {"method": method, "k": samples, "scorer": scorer if method == "best-of-n" else None,
            "choice": choices if known else None, "right": rights if known else None,
            "unknown": None if known else "scorer"}
