"""The manual and the front page: the manual builds strictly (a broken link, a missing page or anchor
fails), its package map names every module in its layer and none that is gone, its flag tables are
the config dataclasses' settings, its API pages cover every package; the README stays a short front
page whose set-up commands are `make demo` and `make test` and whose s1-nano tables are RESULTS.md's."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
README = REPO / "README.md"
RESULTS = REPO / "recipes" / "nano" / "RESULTS.md"
FLAG_PAGES = {"generate": "stages/generate.md", "eval": "stages/eval.md", "grade": "stages/eval.md",
              "serve": "stages/serve.md", "train": "stages/train.md", "curate": "stages/curate.md",
              "synth": "stages/curate.md", "traces": "stages/traces.md"}
"""The commands whose settings come from a config dataclass, and the page that holds their flags."""
ENTRY = re.compile(r"^- `(s1kit(?:\.\w+)*)`: \S", re.MULTILINE)


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def shape():
    return _load("code_shape", REPO / "bench" / "code_shape.py")


@pytest.fixture(scope="module")
def hooks():
    return _load("docs_hooks", DOCS / "hooks.py")


@pytest.fixture(scope="module")
def modules(shape) -> set[str]:
    """Every module and package under src/s1kit/, by its dotted name."""
    return {shape.module_name(str(path.relative_to(REPO))) for path in (REPO / "src" / "s1kit").rglob("*.py")}


def _layer_entries() -> dict[int, list[str]]:
    """The modules the architecture page lists under each '## Layer N' heading."""
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    entries: dict[int, list[str]] = {}
    for section in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        layer = re.match(r"Layer (\d+)", section)
        if layer:
            entries[int(layer[1])] = ENTRY.findall(section)
    return entries


def test_architecture_page_names_every_module_in_its_layer(shape, modules):
    listed = {name: layer for layer, names in _layer_entries().items() for name in names}
    missing = sorted(f"{name} (layer {shape.rank(name)})" for name in modules if name != "s1kit" and name not in listed)
    misplaced = sorted(f"{name}: listed in layer {layer}, lives in layer {shape.rank(name)}"
                       for name, layer in listed.items() if name in modules and shape.rank(name) != layer)
    assert missing == [], "add a line for each to docs/architecture.md"
    assert misplaced == []


def test_architecture_page_names_no_module_that_is_gone(modules):
    listed = [name for names in _layer_entries().values() for name in names]
    assert sorted(name for name in listed if name not in modules) == []
    assert len(listed) == len(set(listed)), "a module is listed twice"


def test_architecture_page_has_every_layer_of_the_code(shape):
    assert sorted(_layer_entries()) == sorted(set(shape.LAYERS.values()))


def test_api_pages_cover_every_package_and_name_only_modules_that_exist(modules):
    directives = [line.split(None, 1)[1].strip() for page in sorted((DOCS / "api").glob("*.md"))
                  for line in page.read_text(encoding="utf-8").splitlines() if line.startswith("::: ")]
    # s1kit.synth has no __init__.py; mkdocs.yml has the collector find its modules as synth.*.
    shown = {name if name.startswith("s1kit") else f"s1kit.{name}" for name in directives}
    assert sorted(shown - modules) == []
    top = {name.split(".")[1] for name in modules if name.count(".")}
    covered = {name.split(".")[1] for name in shown if name.count(".")}
    assert sorted(top - covered) == []
    assert "s1kit" in shown


def test_flag_tables_hold_every_setting_of_the_config_dataclasses(hooks):
    from s1kit.settings import leaves

    configs = hooks.configs()
    assert set(FLAG_PAGES) == set(configs)
    for command, cls in configs.items():
        table = hooks.flag_table(command)
        flags = {param.name: param for param in hooks.commands()[command].params}
        for leaf in leaves(cls):
            if leaf.flat in flags:
                flag = hooks.flag_of(flags[leaf.flat])
                assert flag in ("--" + leaf.flat.replace("_", "-"), leaf.flat.upper(), leaf.flat.upper() + " ...")
                rows = [line for line in table.splitlines() if line.startswith(f"| `{flag}` |")]
                assert len(rows) == 1, f"{command}: no row for {flag}"
                assert rows[0].endswith(f"| {hooks.text(leaf.doc)} |"), f"{command} {flag}: not the field's docstring"
            else:
                assert f"| `{leaf.flat}` | {hooks.text(leaf.doc)} |" in table, f"{command}: {leaf.flat} missing"
        settings = {leaf.flat for leaf in leaves(cls)}
        for param in flags.values():  # the command's own options too, every one
            if param.name not in settings:
                assert f"| `{hooks.flag_of(param)}` |" in table and hooks.text(param.help or "") in table, param.name
        assert len([line for line in table.splitlines() if line.startswith("| `")]) == len(flags) + len(
            [leaf for leaf in leaves(cls) if leaf.flat not in flags])


def test_flag_table_cells_keep_markdown_and_html_intact(hooks):
    assert hooks.text("think-tags (<think> ... </think>) | a `<|im_start|>` span") == (
        "think-tags (&lt;think&gt; ... &lt;/think&gt;) \\| a `<|im_start|>` span")
    assert [hooks.code(v) for v in (None, False, True, "", 0, "Wait")] == ["", "", "``on``", "``''``", "``0``",
                                                                           "``Wait``"]


def test_each_command_page_asks_for_its_flag_table(hooks):
    for command, page in FLAG_PAGES.items():
        assert f"<!-- flags: {command} -->" in (DOCS / page).read_text(encoding="utf-8"), page
    with pytest.raises(ValueError, match="unknown command 'evaluate'"):
        hooks.flag_table("evaluate")


def test_the_manual_states_the_demo_as_make_demo_runs_it():
    from s1kit.demo import LIMIT, MAJORITY_SAMPLES, REJECTION_TRIES

    text = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    assert f"on {LIMIT} held-out problems" in text
    assert f"rejection sampling ({REJECTION_TRIES} tries) and majority vote ({MAJORITY_SAMPLES} samples)" in text


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def test_readme_is_a_short_front_page():
    text = _readme()
    assert len(text.splitlines()) <= 180
    assert not re.search(r"\b\d[\d,]* tests\b", text), "test counts belong in docs/benchmarks.md"
    assert not re.search(r"this release|previous(ly)?|used to be", text, flags=re.IGNORECASE), "history belongs in the manual"


def test_readme_set_up_commands_are_make_demo_and_make_test():
    text = _readme()
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", text, flags=re.DOTALL)
    commands = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    assert [c for c in commands if c.startswith("make")] == ["make demo", "make test"]
    assert not [c for c in commands if re.match(r"(pip|uv|python -m pip|python3? -m venv)\b", c)]
    assert set(re.findall(r"`make ([\w-]+)", text)) <= {"demo", "test"}


def _results_rows(section: str) -> list[list[str]]:
    part = RESULTS.read_text(encoding="utf-8").split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in part.splitlines()
            if line.startswith("| ") and not line.startswith("| point")]


def _readme_table(first_header: str) -> dict[str, list[str]]:
    lines = _readme().split(f"| {first_header} |", 1)[1].split("\n\n", 1)[0].splitlines()
    return {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip("|").split("|")] for line in lines[2:])}


def test_readme_s1_nano_tables_are_results_md():
    caps = _results_rows("Cap curve")
    table = _readme_table("thinking cap")
    assert table["accuracy (%)"] == [row[1].split(" ± ")[0] for row in caps]
    assert table["avg thinking tokens"] == [row[2] for row in caps]
    header = _readme().split("| thinking cap |", 1)[1].splitlines()[0]
    assert [c.strip() for c in header.strip("|").split("|")] == [row[0].removeprefix("cap ").replace(
        "no cap (natural)", "none") for row in caps]
    waits = _results_rows("Extension")
    table = _readme_table("forced Waits past the natural end (cap 256)")
    assert table["accuracy (%)"] == [row[1] for row in waits]
    assert table["avg thinking tokens"] == [row[2] for row in waits]
    assert table["gain (points)"] == ["" if row[5] == "+0.0" else row[5] for row in waits]


def test_readme_links_and_picture_exist():
    text = _readme()
    targets = [t for t in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text) if not t.startswith("http")]
    assert "docs/assets/s1-nano-scaling.png" in targets
    assert sorted(t for t in targets if not (REPO / t).exists()) == []


def _needs_mkdocs():
    for module, extra in (("mkdocs", "docs"), ("material", "docs"), ("mkdocstrings_handlers.python", "docs")):
        pytest.importorskip(module, reason=f"the manual is built with the [{extra}] extra")


def _build(config: Path, site: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config),
                           "--site-dir", str(site)], cwd=REPO, capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
def test_manual_builds_strictly(tmp_path):
    _needs_mkdocs()
    done = _build(REPO / "mkdocs.yml", tmp_path / "site")
    assert done.returncode == 0, done.stdout + done.stderr
    site = tmp_path / "site"
    pages = {path.relative_to(site).as_posix(): path.read_text(encoding="utf-8") for path in site.rglob("*.html")}
    assert not [name for name, html in pages.items() if "<!-- flags:" in html]
    assert "<code>--budgets</code>" in pages["stages/eval/index.html"]
    assert "Cap curve" in pages["s1-nano/results/index.html"]  # RESULTS.md, included where it stays
    assert "nano-dev" in pages["s1-nano/variants/index.html"]
    assert 'id="s1kit.budget.state.SequenceState"' in pages["api/budget/index.html"]
    assert (site / "assets" / "s1-nano-scaling.png").is_file()
    assert not (site / "hooks.py").exists()


@pytest.mark.parametrize("page, problem", [
    ("See [the rules](missing.md).\n", "missing.md"),
    ("See [the rules](#no-such-heading).\n", "no-such-heading"),
])
def test_the_manuals_checks_fail_a_broken_link(tmp_path, page, problem):
    """The manual's validation settings, under --strict, on a one-page manual with one broken link."""
    _needs_mkdocs()
    settings = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\n" + page, encoding="utf-8")
    config = tmp_path / "mkdocs.yml"
    config.write_text(yaml.safe_dump({"site_name": "check", "docs_dir": str(docs), "validation": settings["validation"],
                                      "nav": [{"Home": "index.md"}]}), encoding="utf-8")
    done = _build(config, tmp_path / "site")
    assert done.returncode != 0 and problem in done.stdout + done.stderr


def test_the_manuals_checks_fail_a_page_missing_from_the_nav(tmp_path):
    _needs_mkdocs()
    settings = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n", encoding="utf-8")
    config = tmp_path / "mkdocs.yml"
    config.write_text(yaml.safe_dump({"site_name": "check", "docs_dir": str(docs), "validation": settings["validation"],
                                      "nav": [{"Home": "index.md"}, {"Gone": "gone.md"}]}), encoding="utf-8")
    done = _build(config, tmp_path / "site")
    assert done.returncode != 0 and "gone.md" in done.stdout + done.stderr
