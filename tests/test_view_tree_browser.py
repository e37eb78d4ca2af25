"""A search's tree drawn in a real browser (Debian's Chromium, driven by Playwright): every node and
edge of a row's tree, each edge from its parent, depth from left to right, the path to the leaf
whose trace is shown highlighted, leaves labelled with their answers, colours by reward, a summary
line of the search; a tree of hundreds of nodes stays readable (no two nodes or labels overlap) and
opens on the chosen leaf, one too large to draw shows its summary, a row whose tree is malformed
shows its trace without one, and a real rebase run's report.html draws every row's tree."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from browser import FLAGS, chromium
from test_view_tree import HAND_TREE, grown_tree, hand_row, scripted_search
from view_runs import method_rows, nano_like_questions, write_run

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need the [dev] extra (playwright)")
pytest.importorskip("math_verify", reason="eval runs need the [math] extra")

SHOTS = Path("/tmp/s1kit-view-shots")


@pytest.fixture(scope="module")
def browser():
    """One Chromium for this module's tests (closed with the module: see test_view_browser.py)."""
    path = chromium()
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(path), args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A fresh page that records console errors."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    opened.errors = []
    opened.on("console", lambda message: message.type == "error" and opened.errors.append(message.text))
    opened.on("pageerror", lambda error: opened.errors.append(str(error)))
    yield opened
    context.close()


def open_page(page, path: Path) -> None:
    page.goto(Path(path).resolve().as_uri())
    page.wait_for_function("window.s1kitReady === true")


def rows_of(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "samples.jsonl").read_text(encoding="utf-8").splitlines()]


MALFORMED = {**hand_row(), "tree": [{**HAND_TREE[0], "parent": 1}, *HAND_TREE[1:]]}
"""HAND_TREE with its first node's parent listed after it."""


@pytest.fixture(scope="module")
def tree_run(tmp_path_factory):
    """A rebase run of three questions at widths 2 and 4, whose rows carry hand-made trees: HAND_TREE,
    grown trees of about 400 nodes (64 leaves), 60, 5,100 and 30 nodes, and a malformed tree."""
    from s1kit.eval.config import eval_config

    out = tmp_path_factory.mktemp("tree") / "rebase"
    config = eval_config(task="synthetic", model="scripted", method="rebase", prm="nano-checker", width=[2, 4],
                         out=str(out))
    rows = method_rows(config, nano_like_questions(3))
    searches = {(0, "width 2"): hand_row(), (0, "width 4"): grown_tree(3, 400, 64), (1, "width 2"): MALFORMED,
                (1, "width 4"): grown_tree(4, 60, 8), (2, "width 2"): grown_tree(5, 5100, 600),
                (2, "width 4"): grown_tree(6, 30, 4)}
    for row in rows:
        search = searches[(row["question_index"], row["variant"])]
        row.update(search, majority_correct=search["majority_answer"] == row["gold"],
                   best_leaf_correct=search["best_leaf_answer"] == row["gold"])
    return write_run(out, config, rows)


def open_card(page, run: Path, question: int, variant: str):
    """The sample card of ``question`` at the point ``variant``, on the page of ``run``."""
    from s1kit.view.command import main as view

    open_page(page, view([run]))
    page.focus(f'circle.pt[data-label="{variant}"]')
    page.keyboard.press("Enter")
    page.click(f'#questions li[data-q="{question}"]')
    return page.wait_for_selector("#detail section.sample")


DRAWN = """svg => {
  const center = e => e.tagName === 'rect' ? [Number(e.getAttribute('x')) + Number(e.getAttribute('width')) / 2,
    Number(e.getAttribute('y')) + Number(e.getAttribute('height')) / 2] : [Number(e.getAttribute('cx')), Number(e.getAttribute('cy'))];
  const nodes = [...svg.querySelectorAll('circle.tree-node')].map(c => ({
    node: Number(c.dataset.node), classes: [...c.classList].filter(k => k !== 'tree-node').sort(), at: center(c),
    r: Number(c.getAttribute('r')), fill: c.getAttribute('fill'), title: c.querySelector('title').textContent }));
  const edges = [...svg.querySelectorAll('path.tree-edge')].map(p => ({
    node: Number(p.dataset.node), chosen: p.classList.contains('chosen'),
    ends: p.getAttribute('d').match(/-?[\\d.]+/g).map(Number) }));
  const labels = [...svg.querySelectorAll('text.tree-label')].map(t => {
    const box = t.getBBox();
    return { node: Number(t.dataset.node), text: t.textContent, chosen: t.classList.contains('chosen'),
             box: [box.x, box.y, box.x + box.width, box.y + box.height] };
  });
  return { nodes, edges, labels, root: center(svg.querySelector('rect.tree-root')) };
}"""
"""What a tree's SVG draws: each node (its classes, centre, radius, fill and tooltip), each edge (the
node it leads to and the numbers of its path: its first two and last two are its ends) and each
leaf's label (its text and box), and the prompt's centre."""


def drawn(card) -> dict:
    return card.eval_on_selector(".search-tree svg.tree", DRAWN)


def check_tree(shown: dict, row: dict) -> None:
    """The SVG draws ``row``'s tree: one circle per node, one edge per node from its parent (the
    prompt for a child of it), each node a depth further right than its parent, the path from the
    prompt to the chosen leaf highlighted and nothing else, each leaf labelled with its answer."""
    tree, leaves = row["tree"], {leaf["node"]: leaf["answer"] for leaf in row["leaves"]}
    assert sorted(n["node"] for n in shown["nodes"]) == list(range(len(tree)))
    assert sorted(e["node"] for e in shown["edges"]) == list(range(len(tree)))
    at = {n["node"]: n["at"] for n in shown["nodes"]}
    for edge in shown["edges"]:
        parent = tree[edge["node"]]["parent"]
        start = shown["root"] if parent is None else at[parent]
        assert edge["ends"][:2] == pytest.approx(start) and edge["ends"][-2:] == pytest.approx(at[edge["node"]])
        assert at[edge["node"]][0] > start[0]
    path, k = set(), row["chosen_node"]
    while k is not None:
        path.add(k)
        k = tree[k]["parent"]
    assert {n["node"] for n in shown["nodes"] if "chosen" in n["classes"]} == path
    assert {e["node"] for e in shown["edges"] if e["chosen"]} == path
    assert {n["node"] for n in shown["nodes"] if "leaf" in n["classes"]} == set(leaves)
    assert {label["node"] for label in shown["labels"]} == set(leaves)  # labels on leaves only
    assert [label["node"] for label in shown["labels"] if label["chosen"]] == [row["chosen_node"]]


def test_a_rows_tree_is_drawn_with_its_chosen_path_its_leaves_answers_and_its_rewards(page, tree_run):
    [row] = [r for r in rows_of(tree_run) if r["question_index"] == 0 and r["variant"] == "width 2"]
    card = open_card(page, tree_run, 0, "width 2")
    assert card.query_selector(".tree-summary").text_content() == (
        "6 nodes, 3 leaves, 27 tokens, 6 PRM calls; weighted vote 4, majority 5, best leaf 4")
    shown = drawn(card)
    check_tree(shown, row)
    by_node = {n["node"]: n for n in shown["nodes"]}
    assert {label["node"]: label["text"] for label in shown["labels"]} == {2: "4", 4: "(none)", 5: "5"}
    assert [k for k, n in by_node.items() if "idle" in n["classes"]] == [1]  # not expanded, not a leaf
    # Depth from left to right: one column per depth.
    assert len({by_node[k]["at"][0] for k in (2, 3)}) == 1 and by_node[4]["at"][0] > by_node[3]["at"][0]
    # Colours on [0, 1]: the lowest reward red, the highest green, a middle one between.
    assert (by_node[4]["fill"], by_node[2]["fill"], by_node[3]["fill"]) == (
        "rgb(200,65,75)", "rgb(46,139,87)", "rgb(232,178,60)")
    assert by_node[3]["title"].startswith("node 3 · depth 2 · reward 0.500 · 3 tokens") and by_node[3]["title"].endswith("\nso")
    assert "leaf: answer 4" in by_node[2]["title"] and "the leaf whose trace is shown" in by_node[2]["title"]
    assert "first 😀" in by_node[0]["title"]
    legend = card.query_selector(".tree-legend").text_content()
    assert legend.startswith("Reward 0.00") and "1.00" in legend and "the path to the trace shown" in legend
    assert card.query_selector("pre.trace").text_content() == row["text"]  # the chosen leaf's trace, beside its tree
    SHOTS.mkdir(parents=True, exist_ok=True)
    card.screenshot(path=str(SHOTS / "view-tree.png"))
    assert page.errors == []


OVERLAPS = """svg => {
  const circles = [...svg.querySelectorAll('circle.tree-node')].map(c => [Number(c.getAttribute('cx')),
    Number(c.getAttribute('cy')), Number(c.getAttribute('r'))]);
  const boxes = [...svg.querySelectorAll('text.tree-label')].map(t => t.getBBox());
  let nodes = 0, labels = 0, covered = 0;
  for (let a = 0; a < circles.length; a++) for (let b = a + 1; b < circles.length; b++) {
    const [x1, y1, r1] = circles[a], [x2, y2, r2] = circles[b];
    if (Math.hypot(x1 - x2, y1 - y2) < r1 + r2) nodes++;
  }
  const meet = (p, q) => p.x < q.x + q.width && q.x < p.x + p.width && p.y < q.y + q.height && q.y < p.y + p.height;
  for (let a = 0; a < boxes.length; a++) for (let b = a + 1; b < boxes.length; b++) if (meet(boxes[a], boxes[b])) labels++;
  for (const box of boxes) for (const [x, y, r] of circles) if (meet(box, { x: x - r, y: y - r, width: 2 * r, height: 2 * r })) covered++;
  return { nodes, labels, covered };
}"""
"""Pairs of nodes that overlap, of leaf labels that overlap, and (label, node) pairs that overlap."""


VISIBLE = """node => {
  const box = node.closest('.tree-scroll').getBoundingClientRect(), at = node.getBoundingClientRect();
  return at.top >= box.top && at.bottom <= box.bottom && at.left >= box.left && at.right <= box.right;
}"""
"""Whether a node lies inside its tree's scrolled box."""


def test_a_tree_of_hundreds_of_nodes_stays_readable(page, tree_run):
    [row] = [r for r in rows_of(tree_run) if r["question_index"] == 0 and r["variant"] == "width 4"]
    assert len(row["tree"]) > 400 and len(row["leaves"]) == 64
    card = open_card(page, tree_run, 0, "width 4")
    shown = drawn(card)
    check_tree(shown, row)
    radii = {n["r"] for n in shown["nodes"]}
    assert len(radii) == 1 and 2.5 <= radii.pop() < 6  # smaller than a small tree's, not a dot
    assert card.eval_on_selector(".search-tree svg.tree", OVERLAPS) == {"nodes": 0, "labels": 0, "covered": 0}
    # Taller than its box, it scrolls there; the page stays usable around it.
    box = card.query_selector(".tree-scroll")
    assert box.evaluate("b => b.scrollHeight > b.clientHeight && b.clientHeight <= 0.7 * innerHeight + 1")
    # It opens on the leaf whose trace is shown.
    page.wait_for_function(VISIBLE, arg=card.query_selector(f'circle.tree-node[data-node="{row["chosen_node"]}"]'),
                           timeout=5000)
    summary = card.query_selector(".tree-summary").text_content()
    assert re.fullmatch(rf"{len(row['tree'])} nodes, 64 leaves, {row['search_tokens']:,} tokens, "
                        rf"{row['prm_calls']} PRM calls; weighted vote .+, majority .+, best leaf .+", summary)
    SHOTS.mkdir(parents=True, exist_ok=True)
    card.screenshot(path=str(SHOTS / "view-tree-large.png"))
    assert page.errors == []


def test_a_row_whose_tree_is_malformed_shows_its_trace_without_one(page, tree_run):
    [row] = [r for r in rows_of(tree_run) if r["question_index"] == 1 and r["variant"] == "width 2"]
    card = open_card(page, tree_run, 1, "width 2")
    assert card.query_selector(".search-tree") is None
    assert card.query_selector("pre.trace").text_content() == row["text"]
    assert page.errors == []


def test_a_real_rebase_runs_report_draws_every_rows_tree(page, tmp_path):
    run = scripted_search(tmp_path / "rebase", "rebase", width=[2, 4])
    open_page(page, run / "report.html")  # written by s1kit eval
    for row in rows_of(run):
        page.focus(f'circle.pt[data-label="{row["variant"]}"]')
        page.keyboard.press("Enter")
        page.click(f'#questions li[data-q="{row["question_index"]}"]')
        card = page.wait_for_selector("#detail section.sample")
        check_tree(drawn(card), row)
        assert card.query_selector(".tree-summary").text_content().startswith(f"{len(row['tree'])} nodes, ")
    assert page.errors == []


def test_a_tree_too_large_to_draw_shows_its_summary_alone(page, tree_run):
    [row] = [r for r in rows_of(tree_run) if r["question_index"] == 2 and r["variant"] == "width 2"]
    assert len(row["tree"]) > 5000
    card = open_card(page, tree_run, 2, "width 2")
    assert card.query_selector(".tree-summary").text_content().startswith(f"{len(row['tree']):,} nodes, ")
    assert card.query_selector(".search-tree svg") is None
    assert "Too large to draw here" in card.query_selector(".search-tree").text_content()
    assert page.errors == []
