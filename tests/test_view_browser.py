"""The viewer's pages in a real browser (Debian's Chromium, driven by Playwright): they open without
a console error, a 16,000-row MATH-500 sweep included; hovering a curve point shows its numbers and
clicking it selects it; a question shows its forced spans where samples.jsonl says they are, and two
points side by side part where their forced spans first differ; the filters keep the questions
Python finds in samples.jsonl; parallel samples show the vote or pick the metrics counted; a
probe-exit trace lists its probes, the one that fired marked, and its curve over thinking alone is
drawn dotted; hostile text is shown, never run."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from browser import FLAGS, chromium
from shared_data import shared_file
from view_runs import method_rows, nano_like_questions, synthetic_run, write_run

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need the [dev] extra (playwright)")
pytest.importorskip("math_verify", reason="eval runs need the [math] extra")

SHOTS = Path("/tmp/s1kit-view-shots")


@pytest.fixture(scope="module")
def browser():
    """One Chromium for every browser test. Closed with this module, not the session: while
    Playwright's sync API is running it holds an event loop, and asyncio.run in later tests would fail."""
    path = chromium()
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(path), args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A fresh page (its own context: no state from another test) that records console errors."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    opened.errors = []
    opened.on("console", lambda message: message.type == "error" and opened.errors.append(message.text))
    opened.on("pageerror", lambda error: opened.errors.append(str(error)))
    yield opened
    context.close()


def open_page(page, path: Path) -> float:
    """Seconds from navigation until the page has drawn everything."""
    start = time.perf_counter()
    page.goto(Path(path).resolve().as_uri())
    page.wait_for_function("window.s1kitReady === true")
    return time.perf_counter() - start


def rows_of(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "samples.jsonl").read_text(encoding="utf-8").splitlines()]


def point_index(run: Path) -> dict[tuple, int]:
    points = json.loads((run / "metrics.json").read_text())["points"]
    return {(p["budget"], p["num_ignore"], p["variant"]): i for i, p in enumerate(points)}


def key(row: dict) -> tuple:
    return row["budget"], row["num_ignore"], row["variant"]


def shown_questions(page) -> set[int]:
    return {int(q) for q in page.eval_on_selector_all("#questions li", "items => items.map(i => i.dataset.q)")}


def select_point(page, label: str) -> None:
    """Select a curve point from the keyboard: points of several curves can sit on one spot, where
    only the top one takes a mouse click."""
    page.focus(f'circle.pt[data-label="{label}"]')
    page.keyboard.press("Enter")


def trace_of(card) -> str:
    return card.query_selector("pre.trace").text_content()


@pytest.fixture(scope="module")
def nano_run(tmp_path_factory, nano_backend):
    """A real budget-forcing sweep of s1-nano: caps, and one and two forced Waits."""
    from s1kit.eval.config import eval_config
    from s1kit.eval.run import main

    out = tmp_path_factory.mktemp("view") / "nano"
    main(eval_config(task="nano", model="s1-nano", limit=8, budgets=[16, 128], num_ignore=[0, 1, 2],
                    max_answer_tokens=12, out=str(out)), backend=nano_backend)
    return out


def test_a_real_run_opens_cleanly_and_a_hovered_point_shows_its_numbers_and_a_clicked_one_is_selected(page, nano_run):
    assert (nano_run / "report.html").is_file()  # written by s1kit eval
    open_page(page, nano_run / "report.html")
    assert "budgets [16,128] · num_ignore [0,1,2]" in page.text_content("#config-summary")  # config.json
    point = json.loads((nano_run / "metrics.json").read_text())["points"][point_index(nano_run)[(128, 1, "")]]
    assert page.is_hidden("#plot-tip")
    page.hover('circle.pt[data-label="128, 1 ign."]')
    assert page.is_visible("#plot-tip")
    # One decimal, as JavaScript rounds it (72.25 is 72.3 there, 72.2 in Python).
    accuracy = re.fullmatch(r"accuracy (\S+)% ± (\S+) \(stderr\)", page.text_content("#plot-tip .tip-accuracy"))
    thinking = re.fullmatch(r"average thinking (\S+) tokens", page.text_content("#plot-tip .tip-thinking"))
    shown = [float(accuracy[1]), float(accuracy[2]), float(thinking[1])]
    assert shown == pytest.approx([100 * point["accuracy"], 100 * point["stderr"], point["avg_thinking_tokens"]], abs=0.051)
    page.click('circle.pt[data-label="128, 1 ign."]')
    selected = page.query_selector_all("circle.pt.selected")
    assert [c.get_attribute("data-label") for c in selected] == ["128, 1 ign."]
    assert selected[0].get_attribute("aria-pressed") == "true"
    assert page.text_content("#selection .selected-label") == "128, 1 ign."
    index = point_index(nano_run)[(128, 1, "")]
    assert page.get_attribute("#points tr.selected", "data-point") == str(index)
    assert page.errors == []


@pytest.fixture(scope="module")
def probe_run(tmp_path_factory, nano_backend):
    """A real probe-exit run of s1-nano: probes every 8 thinking tokens, two rules that exit."""
    from s1kit.eval.config import eval_config
    from s1kit.eval.run import main

    out = tmp_path_factory.mktemp("view") / "probe"
    main(eval_config(task="nano", model="s1-nano", method="probe-exit", limit=8, budgets=[128], probe_every=8,
                     probe_agree=[2, 3], probe_confidence=[0.9], max_answer_tokens=12, out=str(out)), backend=nano_backend)
    return out


PROBES = """rows => rows.map(r => [...r.cells].map(c => c.textContent).concat(r.classList.contains('fired')))"""
"""Each row of a probe table: its cells' text and whether it is marked as the one that fired."""


def test_a_probe_exit_trace_lists_its_probes_and_its_curves_over_both_axes(page, probe_run):
    rows = rows_of(probe_run)
    metrics = json.loads((probe_run / "metrics.json").read_text())
    open_page(page, probe_run / "report.html")  # written by s1kit eval
    # Each curve twice: over thinking + probe tokens (solid) and over thinking alone (dotted).
    alone = [c for c in metrics["curves"] if c["kind"] == "thinking-only"]
    assert len(alone) == len(metrics["curves"]) / 2 == len(page.query_selector_all("path.curve.thinking-only"))
    assert page.eval_on_selector("path.curve.thinking-only", "p => getComputedStyle(p).strokeDasharray") != "none"
    assert len(page.query_selector_all("#legend .swatch.thinking-only")) == len(alone)
    point = metrics["points"][0]
    for index, words, x in ((0, "thinking + probe", point["avg_thinking_and_probe_tokens"]),
                            (len(alone), "thinking", point["avg_thinking_tokens"])):
        page.hover(f'circle.pt[data-curve="{index}"][data-label="{point["label"]}"]')
        tip = page.text_content("#plot-tip .tip-thinking")
        assert tip.startswith(f"average {words} {x:.1f} tokens") and tip.endswith("(probes not counted)") == bool(index)
    exited = next(r for r in rows if r["exited"])
    went_on = next(r for r in rows if not r["exited"] and r["probes"])
    for row in (exited, went_on):
        select_point(page, row["variant"])
        page.click(f'#questions li[data-q="{row["question_index"]}"]')
        card = page.wait_for_selector(f'#detail section.sample[data-sample="{row["sample"]}"]')
        assert card.is_visible() and card.query_selector(".probes").is_visible()
        shown = card.eval_on_selector_all(".probe-table tbody tr", PROBES)
        assert shown == [[str(k + 1), str(p["thinking_tokens"]), str(p["position"]),
                          "(none)" if p["answer"] is None else p["answer"], f"{p['confidence']:.3f}",
                          "✓ exit here" if p["fired"] else "", p["fired"]] for k, p in enumerate(row["probes"])]
        marks = card.eval_on_selector_all("pre.trace > mark.forced", MARKS)
        assert [m[5] for m in marks] == [s["kind"] for s in row["forced_spans"]]
        assert ("exit" in [m[5] for m in marks]) == row["exited"]
        assert trace_of(card) == row["text"]
    assert page.is_visible('#detail .span-legend [data-kind="exit"] .key.exit')
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "view-probe-exit.png"))
    assert page.errors == []


MARKS = """marks => marks.map(m => {
  let at = 0;
  for (let node = m.previousSibling; node; node = node.previousSibling) at += node.textContent.length;
  return [m.textContent, at, at + m.textContent.length, Number(m.dataset.start), Number(m.dataset.end), m.dataset.kind];
})"""
"""Each highlighted span: its text, its place in the trace (UTF-16 units, as JavaScript counts), its
output tokens and kind."""


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_a_question_shows_its_forced_spans_where_samples_jsonl_puts_them(page, nano_run):
    rows = [r for r in rows_of(nano_run) if key(r) == (128, 2, "")]
    with_waits = [r for r in rows if r["waits_inserted"]][:3]
    assert with_waits, "s1-nano inserts Waits at cap 128 with two ignores"
    assert all("char_start" in s for r in with_waits for s in r["forced_spans"])  # eval records where each span sits
    open_page(page, nano_run / "report.html")
    select_point(page, "128, 2 ign.")
    for row in with_waits:
        page.click(f'#questions li[data-q="{row["question_index"]}"]')
        card = page.wait_for_selector(f'#detail section.sample[data-sample="{row["sample"]}"]')
        marks = card.eval_on_selector_all("pre.trace > mark.forced", MARKS)
        text = row["text"]
        assert marks == [[s["text"], utf16(text[: s["char_start"]]), utf16(text[: s["char_end"]]), s["start"], s["end"],
                          s["kind"]] for s in row["forced_spans"]]
        assert page.text_content("#detail .question") == row["question"]
        trace = trace_of(card)
        assert trace == row["text"]  # the whole output, every character, highlighted in place
    assert page.errors == []


def larger(a: tuple, b: tuple, kind: str) -> bool:
    """Point ``b`` allows more thinking than ``a`` by a larger budget (same Waits) or by more Waits
    (same budget); no budget is the largest."""
    (budget_a, ignores_a, variant_a), (budget_b, ignores_b, variant_b) = a, b
    if variant_a != variant_b:
        return False
    if kind == "budget":
        return ignores_a == ignores_b and budget_a is not None and (budget_b is None or budget_b > budget_a)
    return budget_a == budget_b and ignores_b > ignores_a


def across_points(shares: dict[tuple, float], change: str) -> bool:
    """The page's across-points filters, from their definitions, over every pair of points (the
    page reads them off neighbouring points only)."""
    if change == "any":
        return True
    if change == "wrong-everywhere":
        return all(share == 0 for share in shares.values())
    if change == "differs":
        return len(set(shares.values())) > 1
    verb, kind = change.split("-")
    return any(larger(a, b, kind) and (shares[a] < shares[b] if verb == "fixed" else shares[a] > shares[b])
               for a in shares for b in shares)


def expected(rows: list[dict], point: tuple, change="any", outcome="any", capped=False, waits=False, no_answer=False,
             overturned=False, rejected=False, search="") -> set[int]:
    """The questions each filter keeps, computed from samples.jsonl."""
    by_question: dict[int, list[dict]] = {}
    for row in rows:
        by_question.setdefault(row["question_index"], []).append(row)
    kept = set()
    for q, members in by_question.items():
        here = [r for r in members if key(r) == point]
        right = [bool(r["correct"]) for r in here]
        verdicts: dict[tuple, list[bool]] = {}
        for r in members:
            verdicts.setdefault(key(r), []).append(bool(r["correct"]))
        checks = {
            "right": all(right), "wrong": not any(right), "mixed": any(right) and not all(right), "any": True,
        }
        if not checks[outcome] or not across_points({k: sum(v) / len(v) for k, v in verdicts.items()}, change):
            continue
        if capped and not any(r["forced_end"] for r in here):
            continue
        if waits and not any(r["waits_inserted"] > 0 for r in here):
            continue
        if no_answer and not any(r["extracted_answer"] is None for r in here):
            continue
        if overturned and not any(r.get("judged") and r["correct"] != r["rule_correct"] for r in here):
            continue
        if rejected and not any(r.get("accepted") is False for r in here):
            continue
        if search and search.lower() not in (members[0]["question"] + "\n" + str(members[0]["question_id"])).lower():
            continue
        kept.add(q)
    return kept


FILTER_DEFAULTS = dict(change="any", outcome="any", capped=False, waits=False, no_answer=False, overturned=False,
                       rejected=False, search="")


def set_filters(page, **settings):
    """Set the filters as a user does, touching only the controls whose value changes (each action is
    a round trip to the browser)."""
    wanted = {**FILTER_DEFAULTS, **settings}
    current = page.evaluate("""() => ({
      change: document.getElementById('filter-change').value, outcome: document.getElementById('filter-outcome').value,
      search: document.getElementById('filter-search').value,
      ...Object.fromEntries(['capped', 'waits', 'no-answer', 'overturned', 'rejected'].map(
        name => [name.replace('-', '_'), document.getElementById('filter-' + name).checked])),
    })""")
    for name in ("change", "outcome"):
        if current[name] != wanted[name]:
            page.select_option(f"#filter-{name}", wanted[name])
    for name in ("capped", "waits", "no_answer", "overturned", "rejected"):
        if current[name] != wanted[name]:
            page.set_checked(f"#filter-{name.replace('_', '-')}", wanted[name])
    if current["search"] != wanted["search"]:
        page.fill("#filter-search", wanted["search"])


FORK = """pre => {
  const mark = pre.querySelector('.fork');
  if (!mark) return null;
  let at = 0;
  for (let node = mark.previousSibling; node; node = node.previousSibling) at += node.textContent.length;
  return at;
}"""
"""Where the fork marker sits in a trace (UTF-16 units), or null."""


def fork_of(a: dict, b: dict) -> tuple[int, int]:
    """(output token, character) where two rows of one trajectory part: the first forced span that
    one of them has and the other lacks."""
    def spans(row):
        return {tuple(s[k] for k in ("start", "end", "kind", "char_start", "char_end")) for s in row["forced_spans"]}
    first = min(spans(a) ^ spans(b))
    return first[0], first[3]


def test_two_points_side_by_side_part_where_their_forced_spans_first_differ(page, nano_run):
    rows = rows_of(nano_run)
    index = point_index(nano_run)
    by_key = {(r["question_index"], r["sample"], key(r)): r for r in rows}
    open_page(page, nano_run / "report.html")
    shown = 0
    for left, right in (((16, 0, ""), (128, 0, "")), ((128, 1, ""), (128, 2, ""))):
        pairs = [(r, by_key[(r["question_index"], r["sample"], right)]) for r in rows if key(r) == left]
        a, b = next((a, b) for a, b in pairs if a["text"] != b["text"])
        select_point(page, next(p["label"] for p in json.loads((nano_run / "metrics.json").read_text())["points"]
                                if (p["budget"], p["num_ignore"], p["variant"]) == left))
        page.click(f'#questions li[data-q="{a["question_index"]}"]')
        page.select_option("#compare-point", str(index[right]))
        pair = page.wait_for_selector(f'#detail .side-by-side[data-points="{index[left]},{index[right]}"] .pair')
        token, char = fork_of(a, b)
        assert pair.eval_on_selector(".fork-note", "n => n.dataset.token") == str(token)
        cards = pair.query_selector_all("section.sample")
        assert [card.get_attribute("data-point") for card in cards] == [str(index[left]), str(index[right])]
        for card, row in zip(cards, (a, b)):
            assert trace_of(card) == row["text"]  # the marker adds no text
            assert card.eval_on_selector("pre.trace", FORK) == utf16(row["text"][:char])
            assert a["text"][:char] == b["text"][:char]  # one trajectory up to the marker
        shown += 1
    page.locator("#detail .side-by-side").scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "view-side-by-side.png"))
    print(f"\nscreenshot: {SHOTS / 'view-side-by-side.png'}")
    # A question whose verdict a larger budget changed lists that step; it shows both points side by side.
    q = next(r["question_index"] for r in rows if key(r) == (16, 0, "")
             and r["correct"] != by_key[(r["question_index"], r["sample"], (128, 0, ""))]["correct"])
    page.click(f'#questions li[data-q="{q}"]')
    button = page.locator("#detail button.change", has_text="by a larger budget: 16 ").first
    text = button.text_content()
    button.click()
    assert text.split(": ")[1].startswith(page.text_content("#selection .selected-label") + " ")
    assert f"→ {page.text_content('#selection .compare-label')} " in text
    assert len(page.query_selector_all("#detail .side-by-side .pair")) == 1
    assert page.errors == []


CHANGES = ["wrong-everywhere", "fixed-budget", "fixed-wait", "broken-budget", "broken-wait", "differs"]
AT_POINT = [dict(outcome="right"), dict(outcome="wrong"), dict(capped=True), dict(waits=True), dict(no_answer=True),
            dict(outcome="wrong", waits=True), dict(search="SUM"), dict(outcome="right", search="count")]
ACROSS = [*(dict(change=change) for change in CHANGES), dict(change="fixed-wait", outcome="right")]


def check_filters(page, rows, label, point, cases, nonempty=False):
    select_point(page, label)
    for settings in cases:
        set_filters(page, **settings)
        found = expected(rows, point, **settings)
        assert found or not nonempty, f"the case {settings} keeps no question: it would test nothing"
        assert shown_questions(page) == found, (label, settings)


def test_filters_keep_the_questions_python_finds(page, nano_run, tmp_path):
    rows = rows_of(nano_run)
    open_page(page, nano_run / "report.html")
    check_filters(page, rows, "16", (16, 0, ""), AT_POINT)
    check_filters(page, rows, "128, 2 ign.", (128, 2, ""), AT_POINT + ACROSS)
    from s1kit.view.command import main as view

    # A sweep of two samples a question (verdicts are shares), a judge, and rejection's budgets
    # that no try fit.
    sweep = synthetic_run(tmp_path / "sweep", nano_like_questions(40), budgets=[32, 128, 512], num_ignore=[0, 1, 2],
                          samples=2, temperature=1.0)
    judged = synthetic_run(tmp_path / "judged", nano_like_questions(30), method="majority", samples=4, budgets=[64],
                           judge="a-judge", judge_mode="always")
    rejection = synthetic_run(tmp_path / "rejection", nano_like_questions(30), natural=(20, 200), method="rejection",
                              budgets=[40, 120], max_tries=3)
    for run, label, point, cases in (
        (sweep, "128, 1 ign.", (128, 1, ""), ACROSS),
        (judged, "k=2", (64, 0, ""), [dict(outcome="mixed"), dict(overturned=True), dict(outcome="right", overturned=True)]),
        (rejection, "40", (40, 0, ""), [dict(rejected=True), dict(rejected=True, outcome="right"), dict(outcome="wrong"),
                                        dict(change="fixed-budget"), dict(change="broken-budget")]),
    ):
        view([run])
        open_page(page, run / "report.html")
        check_filters(page, rows_of(run), label, point, cases, nonempty=True)
    # A run without Waits to add cannot have questions fixed by them.
    assert page.get_attribute('#filter-change option[value="fixed-wait"]', "disabled") is not None
    assert page.errors == []


def test_a_16000_row_math500_sweep_loads_fast(page, tmp_path):
    """MATH-500 x 8 points (4 caps x 0 or 1 Wait) x 4 samples, a few KB of thinking per row."""
    from s1kit.eval.config import eval_config

    problems = [json.loads(line) for line in shared_file("math500.jsonl").read_text(encoding="utf-8").splitlines()]
    questions = [{"id": p["unique_id"], "question": p["problem"], "gold": p["answer"]} for p in problems]
    config = eval_config(task="math500", model="scripted", budgets=[256, 512, 1024, 2048], num_ignore=[0, 1], samples=4,
                        temperature=1.0, out=str(tmp_path / "math500"))
    rows = method_rows(config, questions, natural=(150, 1500))
    run = write_run(tmp_path / "math500", config, rows)
    assert len(rows) == 16_000 and sum(len(r["thinking"]) for r in rows) / len(rows) > 2000
    from s1kit.view.command import main as view

    started = time.perf_counter()
    page_path = view([run])
    built = time.perf_counter() - started
    seconds = open_page(page, page_path)
    size = page_path.stat().st_size
    print(f"\n16,000-row page: built in {built:.1f} s, {size / 1e6:.1f} MB "
          f"(samples.jsonl {(run / 'samples.jsonl').stat().st_size / 1e6:.0f} MB), loaded in {seconds:.2f} s")
    assert seconds < 3.0
    assert page.text_content("#match-count") == "500 of 500 questions"
    select_point(page, "1024, 1 ign.")
    # A question past the first 200 and within the first page of the list (300 are drawn at first).
    row = next(r for r in rows if key(r) == (1024, 1, "") and r["waits_inserted"] and 200 <= r["question_index"] < 300)
    page.click(f'#questions li[data-q="{row["question_index"]}"]')
    card = page.wait_for_selector(f'#detail section.sample[data-sample="{row["sample"]}"]')
    assert trace_of(card) == row["text"]
    marks = card.eval_on_selector_all("mark.forced", "ms => ms.map(m => [m.textContent, Number(m.dataset.start)])")
    assert marks == [[s["text"], s["start"]] for s in row["forced_spans"]]
    for folder in (tmp_path, SHOTS):
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / "view-math500-16000.png"), full_page=False)
        print(f"screenshot: {folder / 'view-math500-16000.png'}")
    assert page.errors == []


HOSTILE_QUESTION = "<script>window.__pwned = 1</script></div><img src=x onerror=\"window.__pwned = 2\"> 'q' \"q\" 😀 𝑥 עברית"
HOSTILE_LEAD = "</script><script>window.__pwned = 3</script><!-- 😀𝑥 </pre><b onmouseover=\"window.__pwned = 4\">"


def test_hostile_text_is_shown_as_text_and_never_run(page, tmp_path):
    questions = [{"id": f"<i>{i}</i>", "question": f"{HOSTILE_QUESTION} #{i}", "gold": "<b>1</b>"} for i in range(4)]
    run = synthetic_run(tmp_path / "<img src=x onerror=window.__pwned=5>", questions, lead=HOSTILE_LEAD,
                        budgets=[16, 64], num_ignore=[0, 1], model="<svg onload=\"window.__pwned=6\">")
    from s1kit.view.command import main as view

    open_page(page, view([run], tmp_path / "hostile.html"))
    assert "<svg onload" in page.text_content("#title")
    select_point(page, "64, 1 ign.")
    row = next(r for r in rows_of(run) if key(r) == (64, 1, "") and r["waits_inserted"])
    page.click(f'#questions li[data-q="{row["question_index"]}"]')
    card = page.wait_for_selector(f'#detail section.sample[data-sample="{row["sample"]}"]')
    assert page.text_content("#detail .question") == row["question"]
    assert trace_of(card) == row["text"]
    # The spans sit after emoji and astral letters: offsets in UTF-16 units, as JavaScript counts.
    marks = card.eval_on_selector_all("mark.forced", "ms => ms.map(m => m.textContent)")
    assert marks == [s["text"] for s in row["forced_spans"]]
    # Side by side with the point of no Wait: both traces whole, the hostile text before the fork.
    page.select_option("#compare-point", str(point_index(run)[(64, 0, "")]))
    cards = page.query_selector_all("#detail .side-by-side .pair")[0].query_selector_all("section.sample")
    other = next(r for r in rows_of(run) if key(r) == (64, 0, "") and r["question_index"] == row["question_index"]
                 and r["sample"] == row["sample"])
    assert [trace_of(card) for card in cards] == [row["text"], other["text"]]
    page.hover("#detail pre.trace")
    page.click("#config-box summary")  # the settings, the hostile model name among them
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("document.querySelectorAll('#detail script, #detail img, #detail b, #detail svg, "
                         "header img, header svg, header script').length") == 0
    assert page.errors == []


@pytest.mark.parametrize("settings", [
    dict(method="rejection", budgets=[40, 80], max_tries=4),
    dict(method="majority", samples=4, budgets=[64], judge="a-judge", judge_mode="fallback"),
    dict(method="best-of-n", samples=3),
    dict(method="class-conditional"),
    dict(method="token-conditional", budgets=[32, 64]),
    dict(budgets=[64]),
], ids=["rejection", "majority judged", "best-of-n", "class-conditional", "token-conditional", "one point"])
def test_every_method_opens_and_shows_each_sample(page, tmp_path, settings):
    from s1kit.view.command import main as view

    run = synthetic_run(tmp_path / "run", nano_like_questions(8), **settings)
    open_page(page, view([run]))
    page.click("circle.pt:last-of-type")
    assert page.query_selector_all("circle.pt.selected") != []
    page.click("#questions li:first-child")
    assert len(page.query_selector_all("#detail section.sample")) == settings.get("samples", 1)
    if "judge" in settings:
        assert page.is_visible("#filter-overturned")
    if settings.get("method") == "rejection":
        assert "tries:" in page.text_content("#detail .facts")
    if settings.get("method") == "majority":
        assert page.text_content("#detail .combined").startswith(f"Majority vote of the {settings['samples']} samples (")
    if settings.get("method") == "best-of-n":  # the sample it picked, whose verdict is the question's
        picked = page.query_selector_all("#detail section.sample:has(.badge)")
        assert len(picked) == 1
        verdict = picked[0].eval_on_selector("h3 .mark-right, h3 .mark-wrong", "m => m.textContent")
        assert page.text_content("#detail .combined").endswith(verdict)
    assert page.errors == []


def test_the_compare_page_has_every_curve_and_a_view_of_several_runs_switches(page, nano_run, tmp_path):
    from typer.testing import CliRunner

    from s1kit.cli import app
    from s1kit.view.command import main as view

    majority = synthetic_run(tmp_path / "majority", nano_like_questions(10), method="majority", samples=4)
    result = CliRunner().invoke(app, ["compare", str(nano_run), str(majority), "--out", str(tmp_path / "compare.png")])
    assert result.exit_code == 0, result.output
    open_page(page, tmp_path / "compare.html")
    curves = [json.loads((run / "metrics.json").read_text())["curves"] for run in (nano_run, majority)]
    assert len(page.query_selector_all("path.curve")) == sum(len(c) for c in curves)
    assert len(page.query_selector_all("#table3 tbody tr")) == sum(len(c) for c in curves)
    assert page.is_hidden("#browser")
    assert page.get_attribute("#no-traces a", "href").endswith("/nano/report.html")

    open_page(page, view([nano_run, majority], tmp_path / "both.html"))
    page.click("#run-tabs button:nth-child(2)")
    assert page.text_content("#points-title") == "Points of majority"
    page.click("#questions li:first-child")
    assert len(page.query_selector_all("#detail section.sample")) == 4
    select_point(page, "16")  # a point of the other run switches back to it
    assert page.get_attribute("#run-tabs button:nth-child(1)", "aria-pressed") == "true"
    assert page.errors == []


def test_metrics_that_disagree_with_the_rows_are_shown_above_the_run(page, tmp_path):
    from s1kit.view.command import main as view

    run = synthetic_run(tmp_path / "run", nano_like_questions(3), budgets=[16, 64])
    open_page(page, view([run]))
    assert page.is_hidden("#warnings")
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["points"][0]["accuracy"] = 0.125
    (run / "metrics.json").write_text(json.dumps(metrics))
    open_page(page, view([run]))
    assert page.is_visible("#warnings")
    shown = page.eval_on_selector_all("#warnings li", "items => items.map(i => i.textContent)")
    assert len(shown) == 1 and "accuracy 0.125 in metrics.json" in shown[0]
    assert page.errors == []
