"""A search's tree as the viewer stores it (view/data.py tree_cell): a rebase or beam row's tree
kept whole and compact, and a row without one, or with one that is not a tree the page can draw,
given None. A real search's rows pass; the page's rows carry the tree beside each sample. The tree
drawn in a real browser: test_view_tree_browser.py."""

from __future__ import annotations

import copy
import json
import random
from collections import Counter

import pytest

from s1kit.view.data import load_run, run_data, tree_cell

HAND_TREE = [
    {"parent": None, "depth": 1, "tokens": 5, "reward": 0.9, "step": "first 😀"},            # 0
    {"parent": None, "depth": 1, "tokens": 4, "reward": 0.2, "step": "other"},              # 1: not expanded
    {"parent": 0, "depth": 2, "tokens": 6, "reward": 1.0, "step": "good", "answer": "4"},   # 2: chosen leaf
    {"parent": 0, "depth": 2, "tokens": 3, "reward": 0.5, "step": "so"},                    # 3
    {"parent": 3, "depth": 3, "tokens": 2, "reward": 0, "step": "", "answer": None},        # 4: leaf, no answer
    {"parent": 3, "depth": 3, "tokens": 7, "reward": 0.75, "step": "five", "answer": "5"},  # 5: leaf
]
"""A small tree of each kind of node: inner, not expanded, leaves with and without an answer."""


def hand_row() -> dict:
    """The search fields of a row (methods/search.py tree_outcome) over HAND_TREE."""
    return {
        "tree": copy.deepcopy(HAND_TREE),
        "leaves": [{"node": n, "answer": HAND_TREE[n]["answer"], "reward": HAND_TREE[n]["reward"]} for n in (2, 4, 5)],
        "chosen_node": 2, "search_tokens": 27, "prm_calls": 6,
        "weighted_answer": "4", "majority_answer": "5", "best_leaf_answer": "4",
    }


HAND_CELL = {
    "nodes": [[None, 5, 0.9, "first 😀"], [None, 4, 0.2, "other"], [0, 6, 1.0, "good"], [0, 3, 0.5, "so"],
              [3, 2, 0, ""], [3, 7, 0.75, "five"]],
    "leaves": [[2, "4"], [4, None], [5, "5"]],
    "chosen": 2, "tokens": 27, "prm_calls": 6, "votes": ["4", "5", "4"],
}
"""HAND_TREE's cell, written out by hand."""


def test_a_tree_is_kept_whole_in_its_compact_cell():
    assert tree_cell(hand_row()) == HAND_CELL


def test_a_tree_of_one_leaf_and_rewards_of_any_scale_are_kept():
    one = {"tree": [{"parent": None, "depth": 1, "tokens": 3, "reward": -2.5, "step": "x", "answer": "7"}],
           "leaves": [{"node": 0, "answer": "7", "reward": -2.5}], "chosen_node": 0, "search_tokens": 3,
           "prm_calls": 1, "weighted_answer": "7", "majority_answer": "7", "best_leaf_answer": "7"}
    assert tree_cell(one) == {"nodes": [[None, 3, -2.5, "x"]], "leaves": [[0, "7"]], "chosen": 0, "tokens": 3,
                              "prm_calls": 1, "votes": ["7", "7", "7"]}


def test_a_row_without_a_tree_has_none():
    assert tree_cell({"text": "a budget-forcing row"}) is None


DROP = object()
"""In the table below: the field is removed."""


@pytest.mark.parametrize("path, value", [
    (("tree",), None),
    (("tree",), []),
    (("tree",), {"0": HAND_TREE[0]}),
    (("tree", 1), "node"),
    (("tree", 2, "parent"), 3),          # a parent listed after its child
    (("tree", 3, "parent"), 3),          # its own parent
    (("tree", 3, "parent"), -1),
    (("tree", 3, "parent"), "0"),
    (("tree", 3, "parent"), True),
    (("tree", 3, "depth"), 3),           # not its parent's depth plus one
    (("tree", 0, "depth"), 0),           # a child of the prompt is at depth 1
    (("tree", 0, "depth"), True),
    (("tree", 4, "depth"), DROP),
    (("tree", 1, "tokens"), -1),
    (("tree", 1, "tokens"), 4.0),
    (("tree", 1, "reward"), float("nan")),
    (("tree", 1, "reward"), float("inf")),
    (("tree", 1, "reward"), "0.2"),
    (("tree", 1, "reward"), False),
    (("tree", 1, "step"), None),
    (("tree", 1, "step"), DROP),
    (("leaves",), []),
    (("leaves",), DROP),
    (("leaves", 0), 2),
    (("leaves", 1, "node"), 6),          # past the last node
    (("leaves", 1, "node"), 3),          # a node with children
    (("leaves", 1, "node"), 2),          # one leaf twice
    (("leaves", 1, "answer"), 4),
    (("chosen_node",), 3),               # not a leaf
    (("chosen_node",), None),
    (("chosen_node",), 2.0),
    (("search_tokens",), DROP),
    (("prm_calls",), -6),
    (("weighted_answer",), 4),
], ids=lambda part: ".".join(map(str, part)) if isinstance(part, tuple) else "removed" if part is DROP else repr(part))
def test_a_tree_that_cannot_be_drawn_as_one_gives_none(path, value):
    assert tree_cell(hand_row()) == HAND_CELL  # unedited, the row is drawn
    row = hand_row()
    target = row
    for key in path[:-1]:
        target = target[key]
    if value is DROP:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    assert tree_cell(row) is None


def test_the_cell_holds_nothing_of_the_row_it_was_made_from():
    row = hand_row()
    cell = tree_cell(row)
    row["tree"][0]["step"] = "edited"
    row["leaves"][0]["answer"] = "edited"
    assert cell == HAND_CELL


def grown_tree(seed: int, size: int, width: int = 16) -> dict:
    """A row's search fields over a random tree of about ``size`` nodes, grown depth by depth as
    rebase does: the width left (``width`` less the leaves so far) shared among the live nodes at
    random, some children finishing (leaves); once ``size`` nodes are made, the last depth ends
    (every node of it a leaf, as at a cap)."""
    rng = random.Random(seed)
    nodes: list[dict] = []
    live: list[int | None] = [None]
    leaves = 0
    while live and leaves < width:
        born = []
        for _ in range(width - leaves):
            parent = rng.choice(live)
            node = {"parent": parent, "depth": 1 if parent is None else nodes[parent]["depth"] + 1,
                    "tokens": rng.randint(1, 40), "reward": round(rng.random(), 4),
                    "step": f"step {len(nodes)} " + "words " * rng.randint(0, 30)}
            nodes.append(node)
            if len(nodes) >= size or rng.random() < 0.08:
                node["answer"] = rng.choice(["12", "13", "\\frac{1}{2}", None])
                leaves += 1
            else:
                born.append(len(nodes) - 1)
        if len(nodes) >= size:
            for k in born:
                nodes[k]["answer"] = "12"
            break
        live = born
    leaves = [k for k, node in enumerate(nodes) if "answer" in node]
    chosen = max(leaves, key=lambda k: (nodes[k]["reward"], -k))
    answers = Counter(nodes[k]["answer"] for k in leaves)
    return {"tree": nodes, "leaves": [{"node": k, "answer": nodes[k]["answer"], "reward": nodes[k]["reward"]}
                                      for k in leaves],
            "chosen_node": chosen, "search_tokens": sum(node["tokens"] for node in nodes), "prm_calls": len(nodes),
            "weighted_answer": nodes[chosen]["answer"], "majority_answer": answers.most_common(1)[0][0],
            "best_leaf_answer": nodes[chosen]["answer"]}


@pytest.mark.parametrize("seed", range(5))
def test_random_trees_of_hundreds_of_nodes_are_kept(seed):
    row = grown_tree(seed, 300)
    cell = tree_cell(row)
    assert cell is not None and len(cell["nodes"]) == len(row["tree"]) >= 150
    assert [[n["parent"], n["tokens"], n["reward"], n["step"]] for n in row["tree"]] == cell["nodes"]
    assert cell["leaves"] == [[leaf["node"], leaf["answer"]] for leaf in row["leaves"]]


# A real search on the scripted model: each request writes one line of thinking, " good" or " bad"
# as its seed draws; after three lines the model answers 4 if every line was good, else 5.

def script(prompt, seed):
    thinking = prompt.rsplit("<think>", 1)[-1]
    lines = [line for line in thinking.split("\n") if line.strip() in ("good", "bad")]
    if len(lines) >= 3:
        return "<|im_end|> " + ("4" if all(line.strip() == "good" for line in lines) else "5") + "<|im_end|>"
    return (" good" if random.Random(seed).random() < 0.6 else " bad") + "\n"


def good_lines(question, steps):
    """A PRM for the scripted model (--prm test_view_tree:good_lines): good lines and the answer 4."""
    return [1.0 if step.strip() in ("good", "4") else 0.0 for step in steps]


def scripted_search(out, method: str, **sizes):
    """A real eval of ``method`` on three questions with the scripted model: its run directory."""
    from s1kit.backends.scripted import ScriptedBackend
    from s1kit.eval.config import eval_config
    from s1kit.eval.run import main

    task = out.parent / f"{out.name}-task.jsonl"
    task.write_text("".join(json.dumps({"id": i, "question": f"q {i}", "answer": "4"}) + "\n" for i in range(3)))
    config = eval_config(task=f"jsonl:{task}", id_field="id", model="scripted", kind="integer", method=method,
                         max_answer_tokens=4, out=str(out), prm="test_view_tree:good_lines", step_delimiter="\n",
                         format="think-tags", **sizes)
    main(config, backend=ScriptedBackend(script))
    return out


@pytest.mark.parametrize("method, sizes", [("rebase", dict(width=[2, 4])), ("beam", dict(beam_width=[2], expansions=2))])
def test_a_real_searchs_rows_are_trees_the_page_carries_beside_each_sample(tmp_path, method, sizes):
    pytest.importorskip("math_verify", reason="grading needs the [math] extra")
    run = load_run(scripted_search(tmp_path / method, method, **sizes))
    rows = run_data(run)["rows"]
    assert len(rows["tree"]) == len(rows["q"]) == len(run.rows) > 0
    by_unit = {(r["question_index"], r["variant"]): r for r in run.rows}
    questions = run_data(run)["questions_data"]["index"]
    for k, cell in enumerate(rows["tree"]):
        row = by_unit[(questions[rows["q"][k]], run.metrics["points"][rows["p"][k]]["variant"])]
        assert cell == tree_cell(row) is not None
        assert len(cell["nodes"]) == len(row["tree"]) and cell["tokens"] == row["search_tokens"]


def test_a_page_of_rows_without_trees_has_no_tree_column(tmp_path):
    pytest.importorskip("math_verify", reason="metrics of synthetic runs need the [math] extra")
    from view_runs import nano_like_questions, synthetic_run

    run = load_run(synthetic_run(tmp_path / "bf", nano_like_questions(2), budgets=[16]))
    assert "tree" not in run_data(run)["rows"]


def test_a_searchs_curves_name_the_points_whose_trees_they_count(tmp_path):
    # Each entry of each vote's curve is one tree size's point (its rows carry the trees).
    pytest.importorskip("math_verify", reason="grading needs the [math] extra")
    data = run_data(load_run(scripted_search(tmp_path / "rebase", "rebase", width=[2, 4])))
    assert len(data["curves"]) == 3
    for curve in data["curves"]:
        points = [data["points"][entry["point"]] for entry in curve["series"]]
        assert [p["label"] for p in points] == [entry["label"] for entry in curve["series"]] == ["width 2", "width 4"]
        assert [p["avg_search_tokens"] for p in points] == [entry["x"] for entry in curve["series"]]
